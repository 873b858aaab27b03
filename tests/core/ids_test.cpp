#include "core/ids.h"

#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace argus {
namespace {

TEST(SlugTest, AcceptsValidSlugs) {
  for (const char* s : {"a", "0", "cam-1", "front_door", "a-b_c-9", "9lives", "x-", "x_"}) {
    EXPECT_TRUE(is_valid_slug(s)) << s;
  }
  EXPECT_TRUE(is_valid_slug(std::string(64, 'a')));
}

TEST(SlugTest, RejectsInvalidSlugs) {
  const char* bad[] = {"",      "-a", "_a",    "Cam", "cam 1", "cam.1", "cam/1",
                       "cam:1", "é",  "cam\n", "ABC", "a+b",   "a@b",   " a"};
  for (const char* s : bad) {
    EXPECT_FALSE(is_valid_slug(s)) << '"' << s << '"';
  }
  EXPECT_FALSE(is_valid_slug(std::string(65, 'a'))) << "longer than 64";
  EXPECT_FALSE(is_valid_slug(std::string("a\0b", 3))) << "embedded NUL";
}

TEST(Base64UrlTest, Rfc4648TestVectors) {
  // RFC 4648 §10 vectors; base64url (§5) without padding.
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64url_encode(plain), encoded) << plain;
    EXPECT_EQ(base64url_decode(encoded), std::string(plain)) << encoded;
  }
}

TEST(Base64UrlTest, UsesUrlAlphabet) {
  // These bytes are "+/+/" and "+/8=" in standard base64.
  const std::string a("\xfb\xff\xbf", 3);
  const std::string b("\xfb\xff", 2);
  EXPECT_EQ(base64url_encode(a), "-_-_");
  EXPECT_EQ(base64url_encode(b), "-_8");
  EXPECT_EQ(base64url_decode("-_-_"), a);
  EXPECT_EQ(base64url_decode("-_8"), b);
  // Every output character is from the URL-safe alphabet, over all byte values.
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const std::string enc = base64url_encode(all);
  EXPECT_EQ(enc.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_EQ(base64url_decode(enc), all);
}

TEST(Base64UrlTest, AcceptsPaddedInput) {
  EXPECT_EQ(base64url_decode("Zg=="), std::string("f"));
  EXPECT_EQ(base64url_decode("Zm8="), std::string("fo"));
  EXPECT_EQ(base64url_decode("Zm9v"), std::string("foo"));
  EXPECT_EQ(base64url_decode("-_8="), std::string("\xfb\xff", 2));
}

TEST(Base64UrlTest, RoundTripsRandomBytesOfEveryLength) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int trial = 0; trial < 50; ++trial) {
    for (std::size_t len = 0; len <= 20; ++len) {
      std::string data;
      for (std::size_t i = 0; i < len; ++i) data.push_back(static_cast<char>(byte(rng)));
      const std::string enc = base64url_encode(data);
      // Unpadded length: 4 chars per 3 bytes, plus 2 or 3 for a remainder of 1 or 2.
      const std::size_t expect_len = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
      ASSERT_EQ(enc.size(), expect_len) << "len " << len;
      EXPECT_EQ(enc.find('='), std::string::npos);
      auto dec = base64url_decode(enc);
      ASSERT_TRUE(dec.has_value()) << enc;
      ASSERT_EQ(*dec, data) << "len " << len;
      // Padding to a multiple of 4 decodes the same.
      std::string padded = enc + std::string((4 - enc.size() % 4) % 4, '=');
      EXPECT_EQ(base64url_decode(padded), data) << padded;
    }
  }
}

TEST(Base64UrlTest, RejectsInvalidCharacters) {
  const char* bad[] = {"Zm9v+g",  // standard-alphabet '+'
                       "Zm9v/g",  // standard-alphabet '/'
                       "Zm 9v",  "Zm9v\n", "Zm9*", "Zm=9v", "=Zm9", "Zm9v.", "Z\xc3\xa9v"};
  for (const char* s : bad) {
    EXPECT_EQ(base64url_decode(s), std::nullopt) << '"' << s << '"';
  }
  EXPECT_EQ(base64url_decode(std::string("Zm\0v", 4)), std::nullopt) << "embedded NUL";
}

TEST(Base64UrlTest, RejectsImpossibleLength) {
  // 4k+1 characters can never come from an encoder.
  EXPECT_EQ(base64url_decode("Z"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm9vY"), std::nullopt);
  EXPECT_EQ(base64url_decode("Z==="), std::nullopt);
}

TEST(RandomHexIdTest, LengthAndCharset) {
  for (std::size_t bytes : {0u, 1u, 7u, 8u, 9u, 16u, 32u}) {
    const std::string id = random_hex_id(bytes);
    EXPECT_EQ(id.size(), bytes * 2);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
  EXPECT_EQ(random_hex_id().size(), 16u) << "default is 8 bytes";
}

TEST(RandomHexIdTest, UniqueOver1000Draws) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(random_hex_id());
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RandomHexIdTest, AllHexDigitsAppear) {
  // 1000 ids of 16 hex digits: every digit value should appear (a stuck nibble would not).
  std::set<char> chars;
  for (int i = 0; i < 1000; ++i) {
    for (char c : random_hex_id()) chars.insert(c);
  }
  EXPECT_EQ(chars.size(), 16u);
}

TEST(RandomHexIdTest, ThreadsDrawDistinctIds) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      for (int i = 0; i < kPerThread; ++i) ids[static_cast<std::size_t>(t)].push_back(random_hex_id());
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace argus
