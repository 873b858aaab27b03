#include "cli/credentials.h"

#include <sys/stat.h>

#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace argus::cli {
namespace {

namespace fs = std::filesystem;

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

ino_t inode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

StoredCredential credential(const std::string& suffix) {
  return {"admin", "at-" + suffix, 1'800'000'000'123, "rt-" + suffix};
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

TEST(CredentialsPath, ExplicitThenXdgThenHome) {
  EXPECT_EQ(*credentials_path("/x/creds.json", "/xdg", "/home/u"), "/x/creds.json");
  EXPECT_EQ(*credentials_path("", "/xdg", "/home/u"), "/xdg/argus/credentials.json");
  EXPECT_EQ(*credentials_path("", "", "/home/u"), "/home/u/.config/argus/credentials.json");
  EXPECT_EQ(credentials_path("", "", "").status().code(), StatusCode::kFailedPrecondition);
}

TEST(CredentialStore, MissingFileIsEmpty) {
  argus::testing::TempDir dir;
  CredentialStore store(dir.file("none/credentials.json"));
  auto all = store.load();
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  EXPECT_TRUE(all->empty());
}

TEST(CredentialStore, CreatesPrivateFileAndDirectories) {
  argus::testing::TempDir dir;
  const std::string path = dir.file("config/argus/credentials.json");
  CredentialStore store(path);
  {
    auto lock = store.lock();
    ASSERT_TRUE(lock.ok()) << lock.status().to_string();
    ASSERT_TRUE(store.put(*lock, "http://a:1", credential("a")).ok());
  }
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(dir.file("config")), 0700u);
  EXPECT_EQ(mode_of(dir.file("config/argus")), 0700u);
  EXPECT_EQ(mode_of(path + ".lock"), 0600u);
  auto got = store.get("http://a:1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->username, "admin");
  EXPECT_EQ((*got)->access_token, "at-a");
  EXPECT_EQ((*got)->refresh_token, "rt-a");
  EXPECT_EQ((*got)->access_expires_at, 1'800'000'000'123);
}

TEST(CredentialStore, KeepsSeveralServersAndRemovesOne) {
  argus::testing::TempDir dir;
  CredentialStore store(dir.file("credentials.json"));
  auto lock = store.lock();
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(store.put(*lock, "http://a:1", credential("a")).ok());
  ASSERT_TRUE(store.put(*lock, "https://b:2", credential("b")).ok());
  ASSERT_TRUE(store.put(*lock, "http://a:1", credential("a2")).ok());  // replaces a's entry only
  auto all = store.load();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at("http://a:1").access_token, "at-a2");
  EXPECT_EQ(all->at("https://b:2").access_token, "at-b");

  auto removed = store.remove(*lock, "http://a:1");
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(*store.remove(*lock, "http://a:1"));
  all = store.load();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->count("https://b:2"), 1u);
}

TEST(CredentialStore, ReplacesTheFileAtomically) {
  argus::testing::TempDir dir;
  const std::string path = dir.file("credentials.json");
  CredentialStore store(path);
  auto lock = store.lock();
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(store.put(*lock, "http://a:1", credential("old")).ok());
  const std::string before = argus::testing::read_file(path);
  const ino_t old_inode = inode_of(path);
  // A hard link keeps the old file reachable: a rename leaves it whole, an in-place write
  // would change it.
  fs::create_hard_link(path, dir.file("old-link"));

  ASSERT_TRUE(store.put(*lock, "http://a:1", credential("new")).ok());
  EXPECT_NE(inode_of(path), old_inode);
  EXPECT_EQ(argus::testing::read_file(dir.file("old-link")), before);
  EXPECT_NE(argus::testing::read_file(path).find("at-new"), std::string::npos);
  // No temporary file is left behind.
  EXPECT_EQ(names_in(dir.path()), (std::set<std::string>{"credentials.json", "credentials.json.lock", "old-link"}));
}

TEST(CredentialStore, TightensTheModeOfAnExistingFile) {
  argus::testing::TempDir dir;
  const std::string path = dir.file("credentials.json");
  argus::testing::write_file(path, R"({"version":1,"servers":{}})");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  CredentialStore store(path);
  auto lock = store.lock();
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(store.put(*lock, "http://a:1", credential("a")).ok());
  EXPECT_EQ(mode_of(path), 0600u);
}

TEST(CredentialStore, DamagedFileIsReportedAndLeftAlone) {
  argus::testing::TempDir dir;
  const std::string path = dir.file("credentials.json");
  argus::testing::write_file(path, "{not json");
  CredentialStore store(path);
  auto all = store.load();
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.status().code(), StatusCode::kCorruption);
  EXPECT_NE(all.status().message().find(path), std::string::npos);
  auto lock = store.lock();
  ASSERT_TRUE(lock.ok());
  EXPECT_FALSE(store.put(*lock, "http://a:1", credential("a")).ok());
  EXPECT_EQ(argus::testing::read_file(path), "{not json");
}

TEST(CredentialStore, SkipsMalformedEntries) {
  argus::testing::TempDir dir;
  const std::string path = dir.file("credentials.json");
  argus::testing::write_file(path, R"({"version":1,"servers":{
      "http://bad:1": {"username": "x"},
      "http://good:1": {"username": "admin", "access_token": "a", "refresh_token": "r",
                        "access_expires_at": "2030-01-01T00:00:00.000Z"}}})");
  auto all = CredentialStore(path).load();
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->count("http://good:1"), 1u);
}

}  // namespace
}  // namespace argus::cli
