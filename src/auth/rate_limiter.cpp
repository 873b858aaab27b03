#include "auth/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace argus::auth {
namespace {

constexpr std::int64_t kSweepEveryUs = 1'000'000;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

}  // namespace

Result<std::unique_ptr<RateLimiter>> RateLimiter::create(const RateLimitPolicy& policy,
                                                         const RateLimiterOptions& options) {
  std::string what = "rate limit policy '" + policy.name + "': ";
  if (!(policy.rate > 0) || !std::isfinite(policy.rate)) return Status::invalid_argument(what + "rate must be > 0");
  if (policy.period_ms <= 0) return Status::invalid_argument(what + "period must be > 0");
  if (policy.burst < 1) return Status::invalid_argument(what + "burst must be at least 1");
  if (options.max_keys < 1) return Status::invalid_argument(what + "max_keys must be at least 1");
  if (options.shards < 1) return Status::invalid_argument(what + "shards must be at least 1");
  double interval = static_cast<double>(policy.period_ms) * 1000.0 / policy.rate;
  if (interval > 1e15 || static_cast<double>(policy.burst) * interval > 4e18) {
    return Status::invalid_argument(what + "period / rate * burst is too large");
  }
  auto interval_us = std::max<std::int64_t>(1, std::llround(interval));
  std::size_t shards = std::min(options.shards, options.max_keys);
  std::size_t per_shard = options.max_keys / shards;
  return std::unique_ptr<RateLimiter>(new RateLimiter(policy, shards, per_shard, interval_us));
}

RateLimiter::RateLimiter(const RateLimitPolicy& policy, std::size_t shards, std::size_t per_shard,
                         std::int64_t interval_us)
    : policy_(policy), per_shard_(per_shard), interval_us_(interval_us), tolerance_us_(interval_us * policy.burst) {
  for (std::size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

RateLimitDecision RateLimiter::check(std::string_view key, std::int64_t now_ms) {
  const std::int64_t now_us = now_ms * 1000;
  Shard& shard = *shards_[std::hash<std::string_view>{}(key) % shards_.size()];
  std::lock_guard lock(shard.mu);

  auto found = shard.index.find(key);
  std::int64_t tat = found != shard.index.end() ? std::max(found->second->tat_us, now_us) : now_us;
  std::int64_t new_tat = tat + interval_us_;
  std::int64_t allow_at = new_tat - tolerance_us_;

  RateLimitDecision d;
  d.limit = policy_.burst;
  if (now_us < allow_at) {
    d.allowed = false;
    d.remaining = 0;
    d.retry_after_ms = ceil_div(allow_at - now_us, 1000);
    d.reset_after_ms = ceil_div(tat - now_us, 1000);
    if (found != shard.index.end()) shard.lru.splice(shard.lru.begin(), shard.lru, found->second);
  } else {
    d.allowed = true;
    d.remaining = (tolerance_us_ - (new_tat - now_us)) / interval_us_;
    d.retry_after_ms = 0;
    d.reset_after_ms = ceil_div(new_tat - now_us, 1000);
    if (found != shard.index.end()) {
      found->second->tat_us = new_tat;
      shard.lru.splice(shard.lru.begin(), shard.lru, found->second);
    } else {
      if (shard.index.size() >= per_shard_) evict(shard, now_us);
      shard.lru.push_front(Entry{std::string(key), new_tat});
      shard.index.emplace(shard.lru.front().key, shard.lru.begin());
    }
  }
  d.retry_after_s = ceil_div(d.retry_after_ms, 1000);
  d.reset_after_s = ceil_div(d.reset_after_ms, 1000);
  return d;
}

void RateLimiter::evict(Shard& shard, std::int64_t now_us) {
  // Cheap first: the least recently used entries are the likeliest to have expired.
  while (!shard.lru.empty() && shard.lru.back().tat_us <= now_us) {
    shard.index.erase(shard.lru.back().key);
    shard.lru.pop_back();
  }
  if (shard.index.size() < per_shard_) return;
  // A full sweep for expired entries elsewhere, at most once a second per shard.
  if (now_us - shard.last_sweep_us >= kSweepEveryUs) {
    shard.last_sweep_us = now_us;
    for (auto it = shard.lru.begin(); it != shard.lru.end();) {
      if (it->tat_us <= now_us) {
        shard.index.erase(it->key);
        it = shard.lru.erase(it);
      } else {
        ++it;
      }
    }
    if (shard.index.size() < per_shard_) return;
  }
  shard.index.erase(shard.lru.back().key);
  shard.lru.pop_back();
}

std::size_t RateLimiter::size() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    n += shard->index.size();
  }
  return n;
}

}  // namespace argus::auth
