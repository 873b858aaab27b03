#include "ingest/backoff.h"

#include <algorithm>
#include <cmath>

namespace argus::ingest {

Backoff::Backoff(std::int64_t initial_ms, std::int64_t max_ms, std::uint64_t seed)
    : initial_ms_(std::max<std::int64_t>(1, initial_ms)),
      max_ms_(std::max(initial_ms_, max_ms)),
      base_ms_(initial_ms_),
      rng_(seed) {}

std::chrono::milliseconds Backoff::next() {
  std::uniform_real_distribution<double> jitter(1.0 - kJitter, 1.0 + kJitter);
  double delay = static_cast<double>(base_ms_) * jitter(rng_);
  auto ms = std::clamp<std::int64_t>(std::llround(delay), 1, max_ms_);
  base_ms_ = base_ms_ >= max_ms_ / 2 ? max_ms_ : base_ms_ * 2;
  return std::chrono::milliseconds(ms);
}

}  // namespace argus::ingest
