// Folder (inotify) and push sources.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "ingest/ingest.h"
#include "ingest_test_util.h"
#include "testing/testing.h"

namespace argus::ingest {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testutil::fast_options;
using testutil::FrameCollector;
using testutil::make_camera;
using testutil::state_of;
using testutil::test_jpeg;
using testutil::test_png;
using testutil::wait_until;

// Writes `content` under a temporary name, then renames it to `dest` (as uploaders do).
void drop(const fs::path& staging, const fs::path& dest, const std::string& content) {
  fs::path tmp = staging / (".upload-" + dest.filename().string());
  argus::testing::write_file(tmp, content);
  fs::rename(tmp, dest);
}

TEST(FolderSourceTest, DeliversDroppedImagesAndSortsThemOut) {
  argus::testing::TempDir tmp;
  const fs::path dir = tmp.path() / "drop";
  const fs::path outside = tmp.path() / "secret.jpg";
  fs::create_directories(dir);
  const std::string a = test_jpeg(80, 60, 1), b = test_png(80, 60), a2 = test_jpeg(80, 60, 2);
  argus::testing::write_file(dir / "a.jpg", a);  // there before the camera starts
  argus::testing::write_file(outside, test_jpeg(80, 60, 9));
  fs::create_symlink(outside, dir / "link.jpg");  // must not be followed

  FrameCollector frames;
  CameraManager manager(fast_options(), frames.sink());
  manager.upsert(make_camera("folder", SourceKind::kFolder, "file://" + dir.string()));
  ASSERT_TRUE(frames.wait_for("folder", 1, 5s)) << manager.status("folder")->reason;
  EXPECT_EQ(state_of(manager, "folder"), "online");

  drop(tmp.path(), dir / "b.png", b);  // renamed in from outside
  drop(dir, dir / "c.jpg", a);         // duplicate content of a.jpg (temp name inside)
  argus::testing::write_file(dir / "bad.jpg", "this is not a jpeg at all");
  argus::testing::write_file(dir / "notes.txt", "ignored");
  ASSERT_TRUE(frames.wait_for("folder", 2, 5s));
  drop(tmp.path(), dir / "a.jpg", a2);  // same name as a processed file, new content
  ASSERT_TRUE(frames.wait_for("folder", 3, 5s));

  const fs::path processed = dir / "processed", failed = dir / "failed";
  ASSERT_TRUE(wait_until([&] { return fs::exists(processed / "c.jpg") && fs::exists(failed / "bad.jpg"); }, 5s));
  std::this_thread::sleep_for(200ms);
  auto got = frames.frames("folder");
  ASSERT_EQ(got.size(), 3u) << "the duplicate must be skipped";
  EXPECT_EQ(*got[0]->jpeg, a);
  EXPECT_FALSE(got[1]->jpeg);  // the PNG
  EXPECT_EQ(got[1]->image.cols, 80);
  EXPECT_EQ(*got[2]->jpeg, a2);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i]->seq, i);

  EXPECT_EQ(argus::testing::read_file(processed / "a.jpg"), a);
  EXPECT_EQ(argus::testing::read_file(processed / "a-1.jpg"), a2);
  EXPECT_TRUE(fs::exists(processed / "b.png"));
  EXPECT_TRUE(fs::exists(processed / "c.jpg"));
  EXPECT_TRUE(fs::exists(failed / "bad.jpg"));
  EXPECT_TRUE(fs::is_symlink(failed / "link.jpg"));
  EXPECT_TRUE(fs::exists(outside)) << "the symlink's target must be left alone";
  EXPECT_TRUE(fs::exists(dir / "notes.txt"));
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    EXPECT_TRUE(name == "processed" || name == "failed" || name == "notes.txt") << name << " left behind";
  }
  EXPECT_EQ(manager.status("folder")->frames_in, 3u);
}

TEST(FolderSourceTest, MissingFolderIsAnError) {
  argus::testing::TempDir tmp;
  FrameCollector frames;
  CameraManager manager(fast_options(), frames.sink());
  manager.upsert(make_camera("folder", SourceKind::kFolder, "file://" + tmp.file("nope")));
  ASSERT_TRUE(wait_until([&] { return state_of(manager, "folder") == "error"; }, 3s));
  EXPECT_NE(manager.status("folder")->reason.find("does not exist"), std::string::npos);

  // Once it appears, the slow retry picks it up.
  fs::create_directories(tmp.path() / "nope");
  EXPECT_TRUE(wait_until([&] { return state_of(manager, "folder") == "online"; }, 3s)) << state_of(manager, "folder");
}

TEST(PushSourceTest, PushedFramesReachTheSink) {
  FrameCollector frames;
  CameraManager manager(fast_options(), frames.sink());
  manager.upsert(make_camera("door", SourceKind::kPush, ""));
  manager.upsert(make_camera("snap", SourceKind::kSnapshot, "http://127.0.0.1:9/x.jpg"));
  Camera off = make_camera("off", SourceKind::kPush, "");
  off.enabled = false;
  manager.upsert(off);
  EXPECT_EQ(state_of(manager, "door"), "starting");

  const std::string jpeg = test_jpeg(64, 48);
  ASSERT_TRUE(manager.push_frame("door", jpeg).ok());
  ASSERT_EQ(frames.count("door"), 1u) << "delivered on the caller's thread";
  auto f = frames.frames("door").front();
  EXPECT_EQ(f->seq, 0u);
  EXPECT_EQ(*f->jpeg, jpeg);
  EXPECT_EQ(f->image.cols, 64);
  ASSERT_TRUE(manager.push_frame("door", test_png(64, 48)).ok());
  EXPECT_EQ(frames.frames("door").back()->seq, 1u);
  EXPECT_EQ(state_of(manager, "door"), "online");
  EXPECT_EQ(manager.status("door")->frames_in, 2u);

  EXPECT_EQ(manager.push_frame("door", "garbage").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(manager.push_frame("door", "\xff\xd8\xff\xe0 truncated").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(manager.push_frame("door", "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(manager.push_frame("nope", jpeg).code(), StatusCode::kNotFound);
  EXPECT_EQ(manager.push_frame("snap", jpeg).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(manager.push_frame("off", jpeg).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(frames.count("door"), 2u);

  // Pushes from several threads at once.
  std::vector<std::thread> pushers;
  for (int t = 0; t < 4; ++t) {
    pushers.emplace_back([&] {
      for (int i = 0; i < 10; ++i) EXPECT_TRUE(manager.push_frame("door", jpeg).ok());
    });
  }
  for (auto& t : pushers) t.join();
  EXPECT_EQ(frames.count("door"), 42u);
  EXPECT_GT(manager.status("door")->fps_in, 0);

  // Silence longer than offline_after (1 s) -> offline; the next push brings it back.
  EXPECT_TRUE(wait_until([&] { return state_of(manager, "door") == "offline"; }, 3s));
  ASSERT_TRUE(manager.push_frame("door", jpeg).ok());
  EXPECT_EQ(state_of(manager, "door"), "online");
}

}  // namespace
}  // namespace argus::ingest
