// LoginThrottle: per-account backoff after consecutive failed sign-ins. Private to the
// auth module (AuthService uses it).
//
// Keys are usernames as typed (normalized), whether or not the account exists, so a lock
// answers the same for every name and does not reveal which exist. After `free_failures`
// consecutive failures each further failure locks the key for base * 2^(n - free_failures)
// milliseconds, capped at max. A success clears the key; a key idle for longer than
// `forget_after_ms` starts again from zero.
//
// Threading: every method may be called from any thread (one mutex; called once per sign-in).
// Bound: at most `max_keys` keys; when full, the least recently failed key is forgotten.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace argus::auth::internal {

struct LoginThrottleOptions {
  int free_failures = 5;
  std::int64_t base_ms = 1000;
  std::int64_t max_ms = 15 * 60 * 1000;
  std::int64_t forget_after_ms = 24LL * 3600 * 1000;
  std::size_t max_keys = 10'000;
};

class LoginThrottle {
 public:
  explicit LoginThrottle(const LoginThrottleOptions& options) : options_(options) {}

  // Milliseconds until `key` may try again, or nullopt if it may try now.
  std::optional<std::int64_t> locked_for_ms(std::string_view key, std::int64_t now_ms);
  // Counts a failure; returns the lock it starts (0 if none yet).
  std::int64_t record_failure(std::string_view key, std::int64_t now_ms);
  void record_success(std::string_view key);
  std::size_t size() const;

 private:
  struct Entry {
    std::string key;
    int failures = 0;
    std::int64_t last_failure_ms = 0;
    std::int64_t locked_until_ms = 0;
  };
  using Lru = std::list<Entry>;

  // The live entry for `key` (mu_ held), or null; forgets an idle one.
  Lru::iterator find(std::string_view key, std::int64_t now_ms);

  const LoginThrottleOptions options_;
  mutable std::mutex mu_;
  Lru lru_;                                                    // most recent failure first; guarded by mu_
  std::unordered_map<std::string_view, Lru::iterator> index_;  // into lru_; guarded by mu_
};

}  // namespace argus::auth::internal
