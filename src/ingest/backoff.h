// Backoff: the delays between a failing camera's reconnect attempts.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace argus::ingest {

// Exponential backoff with jitter: the base delay starts at `initial_ms` and doubles after
// every attempt up to `max_ms`; each returned delay is the base times a random factor in
// [0.8, 1.2], clamped to [1 ms, max_ms]. Not thread-safe (one per supervisor).
class Backoff {
 public:
  Backoff(std::int64_t initial_ms, std::int64_t max_ms, std::uint64_t seed);

  // The delay before the next attempt; advances the base.
  std::chrono::milliseconds next();
  // Back to the initial delay (after a success).
  void reset() { base_ms_ = initial_ms_; }
  std::int64_t base_ms() const { return base_ms_; }

  static constexpr double kJitter = 0.2;

 private:
  const std::int64_t initial_ms_;
  const std::int64_t max_ms_;
  std::int64_t base_ms_;
  std::mt19937_64 rng_;
};

}  // namespace argus::ingest
