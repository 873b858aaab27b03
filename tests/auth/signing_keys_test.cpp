// The token signing key ring and its file.
#include "auth/signing_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "auth/jwt.h"
#include "auth_testing.h"
#include "testing/testing.h"

namespace argus::auth {
namespace {

using argus::testing::ManualClock;

unsigned file_mode(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_mode & 07777;
}

class SigningKeysTest : public ::testing::Test {
 protected:
  std::unique_ptr<SigningKeys> open(SigningKeysOptions options = {}) {
    Result<std::unique_ptr<SigningKeys>> keys = SigningKeys::open(data_dir(), options, &clock_);
    EXPECT_TRUE(keys.ok()) << keys.status().to_string();
    return keys.ok() ? std::move(keys).value() : nullptr;
  }
  std::filesystem::path data_dir() const { return dir_.path() / "data"; }
  std::filesystem::path key_file() const { return data_dir() / "jwt-keys.json"; }

  testing::TempDir dir_;
  ManualClock clock_;
};

TEST_F(SigningKeysTest, FirstStartCreatesOnePrivateKeyAndReloadsIt) {
  auto keys = open();
  ASSERT_NE(keys, nullptr);
  EXPECT_EQ(keys->path(), key_file());
  EXPECT_EQ(file_mode(key_file()), 0600u);
  SigningKey current = keys->current();
  EXPECT_EQ(current.secret.size(), kSigningKeyBytes);
  EXPECT_FALSE(current.id.empty());
  EXPECT_EQ(current.created_at, clock_.now_ms());
  EXPECT_EQ(keys->key_ids(), std::vector<std::string>{current.id});
  // No temporary files are left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(data_dir()), {}), 1);

  auto again = open();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->current().id, current.id);
  EXPECT_EQ(again->current().secret, current.secret);
  // Two fresh directories get different keys.
  testing::TempDir other;
  auto other_keys = SigningKeys::open(other.path(), {}, &clock_);
  ASSERT_TRUE(other_keys.ok());
  EXPECT_NE((*other_keys)->current().secret, current.secret);
}

TEST_F(SigningKeysTest, RotateKeepsRetiredKeysForTheirMaxAge) {
  auto keys = open({.retired_max_age_ms = 60'000});
  ASSERT_NE(keys, nullptr);
  SigningKey first = keys->current();
  clock_.advance(1000);
  ASSERT_TRUE(keys->rotate().ok());
  SigningKey second = keys->current();
  EXPECT_NE(second.id, first.id);
  EXPECT_EQ(keys->key_ids(), (std::vector<std::string>{second.id, first.id}));
  std::optional<SigningKey> old = keys->find(first.id);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->retired_at, clock_.now_ms());
  EXPECT_EQ(old->secret, first.secret);
  EXPECT_EQ(file_mode(key_file()), 0600u);

  // The file has both; a reopened ring agrees.
  auto reopened = open({.retired_max_age_ms = 60'000});
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->current().id, second.id);
  EXPECT_TRUE(reopened->find(first.id).has_value());

  // Past its max age the retired key stops verifying, and the next rotation drops it.
  clock_.advance(60'000);
  EXPECT_FALSE(keys->find(first.id).has_value());
  EXPECT_TRUE(keys->find(second.id).has_value());
  ASSERT_TRUE(keys->rotate().ok());
  nlohmann::json doc = nlohmann::json::parse(testing::read_file(key_file()));
  ASSERT_EQ(doc["keys"].size(), 2u);
  for (const auto& k : doc["keys"]) EXPECT_NE(k["id"], first.id);
}

TEST_F(SigningKeysTest, TokensSignedBeforeARotationStillVerify) {
  auto keys = open();
  ASSERT_NE(keys, nullptr);
  std::int64_t now = clock_.now_ms() / 1000;
  AccessTokenClaims claims{.issuer = "argus",
                           .audience = "argus-api",
                           .subject = "u1",
                           .username = "alice",
                           .role = "viewer",
                           .token_id = "j1",
                           .issued_at = now,
                           .not_before = now,
                           .expires_at = now + 900};
  Result<std::string> token = sign_access_token(claims, keys->current());
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(keys->rotate().ok());
  Result<AccessTokenClaims> verified = verify_access_token(*token, *keys, {}, now);
  ASSERT_TRUE(verified.ok()) << verified.status().to_string();
  EXPECT_NE(verified->key_id, keys->current().id);
}

TEST_F(SigningKeysTest, RefusesAFileOthersCanRead) {
  ASSERT_NE(open(), nullptr);
  std::filesystem::permissions(key_file(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                               std::filesystem::perms::group_read |
                                               std::filesystem::perms::others_read);
  Result<std::unique_ptr<SigningKeys>> keys = SigningKeys::open(data_dir(), {}, &clock_);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(keys.status().message().find("0644"), std::string::npos) << keys.status().message();
  EXPECT_NE(keys.status().message().find("chmod 600"), std::string::npos) << keys.status().message();
}

TEST_F(SigningKeysTest, RefusesBadContentWithAClearError) {
  std::filesystem::create_directories(data_dir());
  const std::string good_secret = base64url_encode(std::string(32, 'k'));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "not a JSON object"},
      {R"({"format": 2, "keys": []})", "format"},
      {R"({"format": 1, "keys": []})", "keys"},
      {R"({"format": 1, "keys": [{"id": "k1", "secret": "c2hvcnQ"}]})", "32"},
      {R"({"format": 1, "keys": [{"id": "bad id!", "secret": ")" + good_secret + R"("}]})", "id"},
      {R"({"format": 1, "keys": [{"id": "k1", "secret": ")" + good_secret + R"("}, {"id": "k2", "secret": ")" +
           good_secret + R"("}]})",
       "exactly one key must be current"},
      {R"({"format": 1, "keys": [{"id": "k1", "secret": ")" + good_secret + R"("}, {"id": "k1", "secret": ")" +
           good_secret + R"(", "retired_at": 5}]})",
       "twice"},
  };
  for (const auto& [content, expected] : cases) {
    testing::write_file(key_file(), content);
    std::filesystem::permissions(key_file(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    Result<std::unique_ptr<SigningKeys>> keys = SigningKeys::open(data_dir(), {}, &clock_);
    ASSERT_FALSE(keys.ok()) << content;
    EXPECT_EQ(keys.status().code(), StatusCode::kCorruption) << content;
    EXPECT_NE(keys.status().message().find(expected), std::string::npos) << keys.status().message();
    EXPECT_NE(keys.status().message().find(key_file().string()), std::string::npos);
    EXPECT_EQ(keys.status().message().find(good_secret), std::string::npos) << "never quotes a secret";
  }
}

TEST_F(SigningKeysTest, ReloadPicksUpAnotherProcessRotation) {
  auto a = open();
  auto b = open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->rotate().ok());
  EXPECT_FALSE(b->find(a->current().id).has_value());
  ASSERT_TRUE(b->reload().ok());
  EXPECT_EQ(b->current().id, a->current().id);
}

}  // namespace
}  // namespace argus::auth
