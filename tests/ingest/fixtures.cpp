#include "fixtures.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <random>

#include "ingest_test_util.h"
#include "testing/testing.h"

namespace argus::ingest::testutil {
namespace {

struct MediaHolder {
  argus::testing::TempDir tmp;
  Media media;
  bool ok = false;

  MediaHolder() {
    media.dir = tmp.path().string();
    media.avi = tmp.file("video.avi");
    media.mp4 = tmp.file("video.mp4");
    media.truncated = tmp.file("truncated.mp4");
    media.corrupt = tmp.file("corrupt.avi");
    media.jpeg_path = tmp.file("camera.jpg");
    media.png_path = tmp.file("camera.png");
    for (const std::string& out : {media.avi, media.mp4}) {
      int rc = run_command({"ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                            "testsrc=size=160x120:rate=10", "-t", "2", "-c:v", "mpeg4", "-g", "10", "-pix_fmt",
                            "yuv420p", out});
      if (rc != 0) return;
    }
    std::string mp4 = argus::testing::read_file(media.mp4);
    argus::testing::write_file(media.truncated, mp4.substr(0, mp4.size() / 2));
    std::mt19937 rng(7);
    std::string junk(50000, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    argus::testing::write_file(media.corrupt, junk);
    media.jpeg = test_jpeg(160, 120, 3);
    argus::testing::write_file(media.jpeg_path, media.jpeg);
    argus::testing::write_file(media.png_path, test_png(160, 120));
    ok = true;
  }
};

struct FakeCameraHolder {
  std::unique_ptr<ChildProcess> proc;
  FakeCamera camera;

  FakeCameraHolder() {
    const Media& m = media();
    proc = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/python3", ARGUS_INGEST_TEST_DIR "/fake_camera.py", "--jpeg", m.jpeg_path,
                                 "--png", m.png_path, "--user", "admin", "--password", "secret"},
        true, false);
    auto line = proc->read_line(std::chrono::seconds(10));
    if (line && line->rfind("PORT ", 0) == 0) camera.port = static_cast<std::uint16_t>(std::stoi(line->substr(5)));
  }
};

}  // namespace

const Media& media() {
  static MediaHolder holder;
  EXPECT_TRUE(holder.ok) << "could not generate the test videos with ffmpeg";
  return holder.media;
}

std::string FakeCamera::url(const std::string& path, const std::string& userinfo) const {
  return "http://" + (userinfo.empty() ? "" : userinfo + "@") + "127.0.0.1:" + std::to_string(port) + path;
}

const FakeCamera& fake_camera() {
  static FakeCameraHolder holder;
  EXPECT_NE(holder.camera.port, 0) << "fake_camera.py did not start";
  return holder.camera;
}

}  // namespace argus::ingest::testutil
