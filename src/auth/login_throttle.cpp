#include "auth/login_throttle.h"

#include <algorithm>

namespace argus::auth::internal {

LoginThrottle::Lru::iterator LoginThrottle::find(std::string_view key, std::int64_t now_ms) {
  auto it = index_.find(key);
  if (it == index_.end()) return lru_.end();
  Lru::iterator entry = it->second;
  if (now_ms - entry->last_failure_ms > options_.forget_after_ms && entry->locked_until_ms <= now_ms) {
    index_.erase(it);
    lru_.erase(entry);
    return lru_.end();
  }
  return entry;
}

std::optional<std::int64_t> LoginThrottle::locked_for_ms(std::string_view key, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  Lru::iterator entry = find(key, now_ms);
  if (entry == lru_.end() || entry->locked_until_ms <= now_ms) return std::nullopt;
  return entry->locked_until_ms - now_ms;
}

std::int64_t LoginThrottle::record_failure(std::string_view key, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  Lru::iterator entry = find(key, now_ms);
  if (entry == lru_.end()) {
    if (index_.size() >= std::max<std::size_t>(1, options_.max_keys)) {
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
    lru_.push_front(Entry{std::string(key)});
    entry = lru_.begin();
    index_.emplace(entry->key, entry);
  } else {
    lru_.splice(lru_.begin(), lru_, entry);
  }
  entry->failures += 1;
  entry->last_failure_ms = now_ms;
  std::int64_t lock_ms = 0;
  if (entry->failures >= options_.free_failures) {
    int doublings = std::min(entry->failures - options_.free_failures, 40);
    lock_ms = options_.base_ms;
    for (int i = 0; i < doublings && lock_ms < options_.max_ms; ++i) lock_ms *= 2;
    lock_ms = std::min(lock_ms, options_.max_ms);
    entry->locked_until_ms = now_ms + lock_ms;
  }
  return lock_ms;
}

void LoginThrottle::record_success(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return;
  Lru::iterator entry = it->second;
  index_.erase(it);
  lru_.erase(entry);
}

std::size_t LoginThrottle::size() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

}  // namespace argus::auth::internal
