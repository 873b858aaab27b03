// The GCRA rate limiter: its arithmetic, its key bound and its thread safety.
#include "auth/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace argus::auth {
namespace {

std::unique_ptr<RateLimiter> make(RateLimitPolicy policy, RateLimiterOptions options = {}) {
  Result<std::unique_ptr<RateLimiter>> r = RateLimiter::create(policy, options);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(r).value() : nullptr;
}

TEST(RateLimiterTest, BurstThenSteadyRateWithExactRetryAfter) {
  // 1 request per second, bursts of 3.
  auto limiter = make({.name = "test", .rate = 1, .period_ms = 1000, .burst = 3});
  ASSERT_NE(limiter, nullptr);
  const std::int64_t t0 = 1'000'000;
  for (int i = 0; i < 3; ++i) {
    RateLimitDecision d = limiter->check("ip-1", t0);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 3);
    EXPECT_EQ(d.remaining, 2 - i);
    EXPECT_EQ(d.retry_after_ms, 0);
    EXPECT_EQ(d.reset_after_ms, (i + 1) * 1000);
  }
  RateLimitDecision denied = limiter->check("ip-1", t0);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.remaining, 0);
  EXPECT_EQ(denied.retry_after_ms, 1000);
  EXPECT_EQ(denied.retry_after_s, 1);
  EXPECT_EQ(denied.reset_after_ms, 3000);
  EXPECT_EQ(denied.reset_after_s, 3);

  // Denied requests do not count: 400 ms later the wait is 600 ms, not more.
  RateLimitDecision later = limiter->check("ip-1", t0 + 400);
  EXPECT_FALSE(later.allowed);
  EXPECT_EQ(later.retry_after_ms, 600);
  EXPECT_EQ(later.retry_after_s, 1);

  // Steady state: one request per second passes, the next one in the same second waits.
  for (int s = 1; s <= 5; ++s) {
    RateLimitDecision ok = limiter->check("ip-1", t0 + s * 1000);
    EXPECT_TRUE(ok.allowed) << s;
    EXPECT_EQ(ok.remaining, 0);
    RateLimitDecision again = limiter->check("ip-1", t0 + s * 1000 + 1);
    EXPECT_FALSE(again.allowed) << s;
    EXPECT_EQ(again.retry_after_ms, 999);
  }
  // After a long pause, the full burst is back.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter->check("ip-1", t0 + 60'000).allowed);
  EXPECT_FALSE(limiter->check("ip-1", t0 + 60'000).allowed);
}

TEST(RateLimiterTest, FractionalRatesAndIndependentKeys) {
  // 10 per minute = one every 6 s; burst 1.
  auto limiter = make({.name = "login", .rate = 10, .period_ms = 60'000, .burst = 1});
  ASSERT_NE(limiter, nullptr);
  EXPECT_TRUE(limiter->check("a", 0).allowed);
  RateLimitDecision d = limiter->check("a", 1000);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 5000);
  EXPECT_TRUE(limiter->check("b", 1000).allowed) << "keys do not share a budget";
  EXPECT_TRUE(limiter->check("a", 6000).allowed);

  // 3 per second: intervals of 333.333 ms (kept in microseconds).
  auto fast = make({.name = "api", .rate = 3, .period_ms = 1000, .burst = 1});
  ASSERT_NE(fast, nullptr);
  int allowed = 0;
  for (std::int64_t t = 0; t < 10'000; t += 10) allowed += fast->check("k", t).allowed ? 1 : 0;
  EXPECT_EQ(allowed, 30);
}

TEST(RateLimiterTest, InvalidPoliciesAreRefused) {
  EXPECT_EQ(RateLimiter::create({.name = "x", .rate = 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RateLimiter::create({.name = "x", .rate = -1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RateLimiter::create({.name = "x", .period_ms = 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RateLimiter::create({.name = "x", .burst = 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RateLimiter::create({.name = "x"}, {.max_keys = 0}).status().code(), StatusCode::kInvalidArgument);
  Status s = RateLimiter::create({.name = "login", .rate = 0}).status();
  EXPECT_NE(s.message().find("login"), std::string::npos);
}

TEST(RateLimiterTest, RemembersAtMostMaxKeys) {
  auto limiter = make({.name = "t", .rate = 1, .period_ms = 60'000, .burst = 1}, {.max_keys = 100, .shards = 4});
  ASSERT_NE(limiter, nullptr);
  for (int i = 0; i < 5000; ++i) {
    EXPECT_TRUE(limiter->check("key-" + std::to_string(i), i).allowed);
    ASSERT_LE(limiter->size(), 100u) << i;
  }
  EXPECT_GT(limiter->size(), 50u);
}

TEST(RateLimiterTest, EvictsExpiredEntriesBeforeLiveOnes) {
  // One shard of two keys; each allowed request blocks its key for 60 s.
  auto limiter = make({.name = "t", .rate = 1, .period_ms = 60'000, .burst = 1}, {.max_keys = 2, .shards = 1});
  ASSERT_NE(limiter, nullptr);
  EXPECT_TRUE(limiter->check("old", 0).allowed);         // free again at 60 s
  EXPECT_TRUE(limiter->check("busy", 50'000).allowed);   // blocked until 110 s
  EXPECT_FALSE(limiter->check("busy", 50'001).allowed);  // "busy" is now the most recent
  EXPECT_FALSE(limiter->check("old", 50'002).allowed);   // "old" is now the most recent
  // At 70 s "old" has expired although it was used last: it goes, "busy" stays limited.
  EXPECT_TRUE(limiter->check("new", 70'000).allowed);
  EXPECT_EQ(limiter->size(), 2u);
  EXPECT_FALSE(limiter->check("busy", 70'001).allowed);

  // With nothing expired, the least recently used key goes.
  EXPECT_TRUE(limiter->check("newer", 70'002).allowed);  // evicts "new" (busy was touched later)
  EXPECT_FALSE(limiter->check("busy", 70'003).allowed);
  EXPECT_TRUE(limiter->check("new", 70'004).allowed) << "forgotten, so it may burst again";
}

TEST(RateLimiterTest, ConcurrentChecksNeverExceedTheBurst) {
  auto limiter = make({.name = "t", .rate = 1, .period_ms = 3'600'000, .burst = 50});
  ASSERT_NE(limiter, nullptr);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        if (limiter->check("shared", 1000).allowed) ++allowed;
        (void)limiter->check("own-" + std::to_string(t), 1000);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 50);
}

}  // namespace
}  // namespace argus::auth
