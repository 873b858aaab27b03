#include "api/uploads.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "testing/testing.h"

namespace argus::api {
namespace {

namespace fs = std::filesystem;

TEST(UploadsTest, NamesArePlainVideoFileNames) {
  for (const char* ok : {"lobby.mp4", "Door_2.MKV", "a.b-c.webm", "x.avi"}) EXPECT_TRUE(is_video_file_name(ok)) << ok;
  for (const char* bad : {"", ".mp4", "-x.mp4", "a/b.mp4", "..\\x.mp4", "notes.txt", "mp4", "a b.mp4", "x.mp4\n"}) {
    EXPECT_FALSE(is_video_file_name(bad)) << bad;
  }
  EXPECT_FALSE(is_video_file_name(std::string(125, 'a') + ".mp4"));
  EXPECT_TRUE(has_video_extension("with space.mp4"));  // listed when someone put it there
}

TEST(UploadsTest, AppendsInOrderCompletesIntoPlaceAndListsIt) {
  argus::testing::TempDir dir;
  argus::testing::ManualClock clock;
  Uploads uploads(dir.path(), 100, &clock);
  auto u = uploads.create("clip.mp4", 6, "u1");
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(uploads.append(u->id, 0, "abc")->received, 3);
  auto wrong = uploads.append(u->id, 0, "abc");
  EXPECT_EQ(wrong.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(uploads.append(u->id, 3, "defg").status().code(), StatusCode::kInvalidArgument);  // past the size
  auto done = uploads.append(u->id, 3, "def");
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->file, "uploads/clip.mp4");
  std::ifstream in(fs::path(dir.path()) / "uploads" / "clip.mp4");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "abcdef");
  auto videos = uploads.list_videos(10);
  ASSERT_TRUE(videos.ok());
  ASSERT_EQ(videos->size(), 1u);
  EXPECT_EQ((*videos)[0].file, "uploads/clip.mp4");
  EXPECT_EQ((*videos)[0].size, 6);
  EXPECT_EQ(uploads.create("clip.mp4", 101, "u1").status().code(), StatusCode::kInvalidArgument);
}

TEST(UploadsTest, AbandonedUploadsAreDeletedADayLaterByTheNextCreate) {
  argus::testing::TempDir dir;
  argus::testing::ManualClock clock;
  Uploads uploads(dir.path(), 1000, &clock);
  auto old = uploads.create("old.mp4", 10, "u1");
  ASSERT_TRUE(uploads.append(old->id, 0, "12345").ok());
  auto finished = uploads.create("kept.mp4", 1, "u1");
  ASSERT_TRUE(uploads.append(finished->id, 0, "k").ok());
  clock.advance(Uploads::kStaleAfterMs - 1);
  ASSERT_TRUE(uploads.create("new.mp4", 10, "u1").ok());
  EXPECT_TRUE(uploads.get(old->id).ok());  // not a day yet
  clock.advance(2);
  ASSERT_TRUE(uploads.create("newer.mp4", 10, "u1").ok());
  EXPECT_EQ(uploads.get(old->id).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(fs::path(dir.path()) / ".uploads" / (old->id + ".part")));
  // A finished upload's record goes; its video stays.
  EXPECT_EQ(uploads.get(finished->id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(fs::exists(fs::path(dir.path()) / "uploads" / "kept.mp4"));
}

}  // namespace
}  // namespace argus::api
