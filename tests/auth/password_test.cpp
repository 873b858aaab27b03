// Password hashing, verification and policy (real argon2id, at the production cost).
#include "auth/password.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace argus::auth {
namespace {

constexpr std::string_view kPassword = "correct horse battery";

double millis_of(const std::function<void()>& f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

TEST(PasswordTest, HashesWithArgon2idAtTheMinimumCostAndVerifies) {
  Result<std::string> hash = hash_password(kPassword);
  ASSERT_TRUE(hash.ok()) << hash.status().to_string();
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *hash;
  EXPECT_EQ(hash->find(kPassword), std::string::npos);
  EXPECT_TRUE(verify_password(kPassword, *hash));
  EXPECT_FALSE(verify_password("correct horse battery ", *hash));
  EXPECT_FALSE(verify_password("", *hash));
  EXPECT_FALSE(password_needs_rehash(*hash));

  // A fresh salt every time.
  Result<std::string> again = hash_password(kPassword);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, *hash);
  EXPECT_TRUE(verify_password(kPassword, *again));
}

TEST(PasswordTest, RefusesACostBelowTheMinimum) {
  EXPECT_EQ(hash_password(kPassword, {.opslimit = 1, .memlimit = kMinPasswordMemLimit}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(hash_password(kPassword, {.opslimit = 2, .memlimit = 8 * 1024 * 1024}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(kMinPasswordMemLimit, 19922944u);
  EXPECT_EQ(kMinPasswordOpsLimit, 2u);
}

TEST(PasswordTest, NeedsRehashWhenTheParametersOrAlgorithmDiffer) {
  Result<std::string> hash = hash_password(kPassword);
  ASSERT_TRUE(hash.ok());
  EXPECT_FALSE(password_needs_rehash(*hash, {}));
  EXPECT_TRUE(password_needs_rehash(*hash, {.opslimit = 3, .memlimit = kMinPasswordMemLimit}));
  EXPECT_TRUE(password_needs_rehash("not a hash"));

  // argon2i (not ours): neither accepted nor kept.
  ASSERT_EQ(sodium_init() < 0, false);
  char argon2i[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str_alg(argon2i, kPassword.data(), kPassword.size(), 3, kMinPasswordMemLimit,
                                  crypto_pwhash_ALG_ARGON2I13),
            0);
  EXPECT_FALSE(verify_password(kPassword, argon2i));
  EXPECT_TRUE(password_needs_rehash(argon2i));
}

TEST(PasswordTest, MalformedHashesNeverVerify) {
  for (const std::string& hash : {std::string(), std::string("plain"), std::string("$argon2id$"),
                                  std::string("$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB"), std::string(200, 'x')}) {
    EXPECT_FALSE(verify_password(kPassword, hash)) << hash;
  }
}

TEST(PasswordTest, PolicyCountsCharactersAndExplainsItself) {
  EXPECT_TRUE(check_password_policy("abcdefghij").ok());
  Status short_one = check_password_policy("abcdefghi");
  EXPECT_EQ(short_one.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(short_one.message().find("at least 10 characters"), std::string::npos) << short_one.message();
  EXPECT_EQ(short_one.message().find("abcdefghi"), std::string::npos) << "never echoes the password";

  // Characters, not bytes: nine two-byte letters are still too short, ten are fine.
  std::string nine, ten;
  for (int i = 0; i < 9; ++i) nine += "\xc3\xa9";  // é
  ten = nine + "\xc3\xa9";
  EXPECT_FALSE(check_password_policy(nine).ok());
  EXPECT_TRUE(check_password_policy(ten).ok());

  EXPECT_TRUE(check_password_policy(std::string(1024, 'a')).ok());
  Status long_one = check_password_policy(std::string(1025, 'a'));
  EXPECT_EQ(long_one.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(long_one.message().find("at most 1024"), std::string::npos);
  EXPECT_FALSE(check_password_policy(std::string(100'000, 'a')).ok());

  EXPECT_EQ(check_password_policy("abcdefghij\xff").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(check_password_policy("abcdefghij\xc0\xaf").code(), StatusCode::kInvalidArgument) << "overlong";
  Status same = check_password_policy("Operator-1", "operator-1");
  EXPECT_EQ(same.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(same.message().find("username"), std::string::npos);
  EXPECT_TRUE(check_password_policy("operator-1x", "operator-1").ok());
}

TEST(PasswordTest, BurningTimeCostsAboutAsMuchAsAVerify) {
  Result<std::string> hash = hash_password(kPassword);
  ASSERT_TRUE(hash.ok());
  burn_equivalent_time("warm-up");  // the first call computes the reference hash
  std::vector<double> verify, burn;
  for (int i = 0; i < 3; ++i) {
    verify.push_back(millis_of([&] { (void)verify_password("wrong password", *hash); }));
    burn.push_back(millis_of([&] { burn_equivalent_time("wrong password"); }));
  }
  std::sort(verify.begin(), verify.end());
  std::sort(burn.begin(), burn.end());
  // Medians; loose bounds because the machine is shared.
  EXPECT_GT(burn[1], verify[1] / 4) << "burn " << burn[1] << " ms, verify " << verify[1] << " ms";
  EXPECT_LT(burn[1], verify[1] * 4) << "burn " << burn[1] << " ms, verify " << verify[1] << " ms";
}

TEST(PasswordTest, HashingAndVerifyingIsThreadSafe) {
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string password = "password-of-thread-" + std::to_string(t);
      Result<std::string> hash = hash_password(password);
      if (hash.ok() && verify_password(password, *hash) && !verify_password(kPassword, *hash)) ++good;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 4);
}

}  // namespace
}  // namespace argus::auth
