// RateLimiter: a GCRA (generic cell rate algorithm) limiter over many keys (client IPs,
// users, API keys), for the API to apply per route group.
//
// A policy allows `burst` requests at once and then `rate` requests per `period_ms` on
// average. Per key the limiter keeps one number, the theoretical arrival time (TAT): a
// request at `now` is allowed if TAT + interval - burst * interval <= now, and then moves
// TAT to max(TAT, now) + interval, where interval = period / rate.
//
// Threading: check() may be called from any thread. Keys are spread over shards, each
// with its own mutex, so threads rarely contend.
//
// Bound: at most `max_keys` keys are remembered. When a shard is full, entries whose TAT
// has passed are dropped first (forgetting them changes no decision), then the least
// recently used one (which may let that key burst again: the bound wins over precision).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace argus::auth {

struct RateLimitPolicy {
  std::string name;               // for logs and metrics, e.g. "login", "api"
  double rate = 10;               // requests per period, sustained (> 0)
  std::int64_t period_ms = 1000;  // > 0
  std::int64_t burst = 20;        // requests allowed at once (>= 1)
};

struct RateLimiterOptions {
  std::size_t max_keys = 100'000;  // >= 1
  std::size_t shards = 16;         // >= 1; capped at max_keys
};

// The answer to one request, with what the RateLimit-* and Retry-After headers need.
struct RateLimitDecision {
  bool allowed = false;
  std::int64_t limit = 0;           // the burst
  std::int64_t remaining = 0;       // further requests allowed right now
  std::int64_t reset_after_ms = 0;  // until the key is back to a full burst
  std::int64_t retry_after_ms = 0;  // until the next request would be allowed (0 if allowed)
  std::int64_t reset_after_s = 0;   // the same, rounded up to whole seconds
  std::int64_t retry_after_s = 0;
};

class RateLimiter {
 public:
  // InvalidArgument naming the policy if it or the options are out of range.
  static Result<std::unique_ptr<RateLimiter>> create(const RateLimitPolicy& policy,
                                                     const RateLimiterOptions& options = {});

  // Counts one request for `key` at `now_ms` (any monotonic or wall-clock milliseconds,
  // the same for every call) and says whether it is allowed. Denied requests are not
  // counted.
  RateLimitDecision check(std::string_view key, std::int64_t now_ms);

  // Keys remembered now (at most options.max_keys).
  std::size_t size() const;
  const RateLimitPolicy& policy() const { return policy_; }

 private:
  struct Entry {
    std::string key;
    std::int64_t tat_us = 0;
  };
  struct Shard {
    std::mutex mu;
    std::list<Entry> lru;                                                    // most recently used first; guarded by mu
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // into lru; guarded by mu
    std::int64_t last_sweep_us = 0;                                          // guarded by mu
  };

  RateLimiter(const RateLimitPolicy& policy, std::size_t shards, std::size_t per_shard, std::int64_t interval_us);
  // Makes room for one more entry in a full shard (its mutex held).
  void evict(Shard& shard, std::int64_t now_us);

  // Constant after construction.
  const RateLimitPolicy policy_;
  const std::size_t per_shard_;
  const std::int64_t interval_us_;   // emission interval T
  const std::int64_t tolerance_us_;  // burst * T
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace argus::auth
