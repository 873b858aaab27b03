// File and stream sources (OpenCV videoio + FFmpeg).
//
// RTSP goes through exactly the same VideoCapture path as HTTP; Debian packages no RTSP
// server to test against, so the stream test uses ffmpeg as an HTTP (MPEG-TS) server.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "fixtures.h"
#include "ingest/ingest.h"
#include "ingest_test_util.h"
#include "testing/testing.h"

namespace argus::ingest {
namespace {

using namespace std::chrono_literals;
using testutil::fast_options;
using testutil::FrameCollector;
using testutil::make_camera;
using testutil::media;
using testutil::state_of;
using testutil::wait_until;

TEST(FileSourceTest, ReplaysAtTheFilesFrameRateAndLoops) {
  const auto& m = media();
  FrameCollector frames;
  CameraManager manager(fast_options(), frames.sink());
  manager.upsert(make_camera("file", SourceKind::kFile, "file://" + m.avi));

  ASSERT_TRUE(frames.wait_for("file", 1, 5s)) << manager.status("file")->reason;
  auto first = std::chrono::steady_clock::now();
  // 20 frames in the file: frame 25 proves the loop; at 10 fps it takes ~2.4 s.
  ASSERT_TRUE(frames.wait_for("file", 25, 6s));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - first).count();
  EXPECT_GT(secs, 1.8) << "faster than the file's 10 fps";
  EXPECT_LT(secs, 4.0) << "much slower than the file's 10 fps";

  auto got = frames.frames("file");
  bool went_back = false;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i]->seq, i);
    EXPECT_EQ(got[i]->camera_id, "file");
    EXPECT_EQ(got[i]->image.cols, 160);
    EXPECT_EQ(got[i]->image.rows, 120);
    EXPECT_EQ(got[i]->image.type(), CV_8UC3);
    EXPECT_GT(got[i]->time, 0);
    EXPECT_FALSE(got[i]->jpeg);
    if (i > 0 && got[i]->media_seconds < got[i - 1]->media_seconds) went_back = true;
  }
  EXPECT_TRUE(went_back) << "media_seconds should restart when the file loops";
  EXPECT_NEAR(got[1]->media_seconds - got[0]->media_seconds, 0.1, 0.02);

  auto st = manager.status("file");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, SourceState::kOnline);
  EXPECT_TRUE(st->reason.empty());
  EXPECT_GE(st->frames_in, 25u);
  EXPECT_GT(st->last_frame_at, 0);
  EXPECT_NEAR(st->fps_in, 10, 3);
  EXPECT_EQ(st->reconnects, 0u);
}

TEST(FileSourceTest, MissingCorruptAndTruncatedFilesAreErrors) {
  const auto& m = media();
  FrameCollector frames;
  CameraManager manager(fast_options(), frames.sink());
  manager.upsert(make_camera("missing", SourceKind::kFile, "file://" + m.dir + "/nope.mp4"));
  manager.upsert(make_camera("corrupt", SourceKind::kFile, "file://" + m.corrupt));
  manager.upsert(make_camera("truncated", SourceKind::kFile, "file://" + m.truncated));
  manager.upsert(make_camera("directory", SourceKind::kFile, "file://" + m.dir));

  for (const char* id : {"missing", "corrupt", "truncated", "directory"}) {
    EXPECT_TRUE(wait_until([&] { return state_of(manager, id) == "error"; }, 5s))
        << id << ": " << state_of(manager, id);
  }
  EXPECT_NE(manager.status("missing")->reason.find("does not exist"), std::string::npos)
      << manager.status("missing")->reason;
  EXPECT_NE(manager.status("missing")->reason.find("nope.mp4"), std::string::npos);
  EXPECT_NE(manager.status("corrupt")->reason.find("cannot open"), std::string::npos)
      << manager.status("corrupt")->reason;
  EXPECT_NE(manager.status("truncated")->reason.find("truncated.mp4"), std::string::npos)
      << manager.status("truncated")->reason;
  EXPECT_NE(manager.status("directory")->reason.find("not a regular file"), std::string::npos)
      << manager.status("directory")->reason;
  EXPECT_EQ(frames.count("missing") + frames.count("corrupt") + frames.count("directory"), 0u);
}

TEST(StreamSourceTest, ReadsAnHttpStreamServedByFfmpeg) {
  const auto& m = media();
  const std::uint16_t port = argus::testing::free_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/live.ts";
  // `timeout`: ffmpeg never exits on its own while nobody connects, even if we crash.
  testutil::ChildProcess ffmpeg({"timeout", "60", "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop",
                                 "-1", "-i", m.avi, "-c", "copy", "-f", "mpegts", "-listen", "1", url},
                                false, true);
  ASSERT_TRUE(ffmpeg.started());

  FrameCollector frames;
  IngestOptions options = fast_options();
  options.read_timeout_ms = 5000;
  CameraManager manager(options, frames.sink());
  // Until ffmpeg listens, the camera is refused and retries with backoff.
  manager.upsert(make_camera("stream", SourceKind::kStream, url));
  ASSERT_TRUE(frames.wait_for("stream", 10, 20s))
      << state_of(manager, "stream") << ": " << manager.status("stream")->reason;
  auto got = frames.frames("stream");
  EXPECT_EQ(got.front()->image.cols, 160);
  EXPECT_EQ(got.front()->image.rows, 120);
  EXPECT_EQ(state_of(manager, "stream"), "online");

  auto start = std::chrono::steady_clock::now();
  manager.remove("stream");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace argus::ingest
