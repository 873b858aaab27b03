// The analyze job's file check: only regular files under the videos directory.
#include "app/jobs_wiring.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace argus::app {
namespace {

namespace fs = std::filesystem;

class ResolveVideoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() / "videos";
    testing::write_file(root_ / "a.avi", "x");
    testing::write_file(root_ / "sub" / "b.avi", "x");
    testing::write_file(dir_.path() / "outside.avi", "x");
    fs::create_symlink(dir_.path() / "outside.avi", root_ / "link_out.avi");
    fs::create_symlink(root_ / "sub" / "b.avi", root_ / "link_in.avi");
    fs::create_directory_symlink(dir_.path(), root_ / "dir_out");
  }
  StatusCode code(const std::string& relative) { return resolve_video(root_, relative).status().code(); }

  testing::TempDir dir_;
  fs::path root_;
};

TEST_F(ResolveVideoTest, AcceptsFilesUnderTheRoot) {
  auto a = resolve_video(root_, "a.avi");
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(*a, fs::canonical(root_ / "a.avi"));
  EXPECT_TRUE(resolve_video(root_, "sub/b.avi").ok());
  EXPECT_TRUE(resolve_video(root_, "./sub/b.avi").ok());
  auto in = resolve_video(root_, "link_in.avi");
  ASSERT_TRUE(in.ok()) << "a symlink that stays inside is fine";
  EXPECT_EQ(*in, fs::canonical(root_ / "sub" / "b.avi"));
}

TEST_F(ResolveVideoTest, RefusesEverythingElse) {
  for (const char* bad : {"", "../outside.avi", "sub/../../outside.avi", "sub/../a.avi", "/etc/passwd"}) {
    EXPECT_EQ(code(bad), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(code((dir_.path() / "outside.avi").string()), StatusCode::kInvalidArgument) << "absolute";
  EXPECT_EQ(code("link_out.avi"), StatusCode::kInvalidArgument) << "symlink out";
  EXPECT_EQ(code("dir_out/outside.avi"), StatusCode::kInvalidArgument) << "directory symlink out";
  EXPECT_EQ(code("missing.avi"), StatusCode::kNotFound);
  EXPECT_EQ(code("sub"), StatusCode::kNotFound) << "a directory is not a video";
  auto s = resolve_video(root_, "link_out.avi").status();
  EXPECT_EQ(s.message().find(dir_.path().string()), std::string::npos) << "no server paths: " << s.message();
}

}  // namespace
}  // namespace argus::app
