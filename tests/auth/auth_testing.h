// Helpers shared by the auth tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/clock.h"
#include "core/ids.h"

namespace argus::auth::testing_support {

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixMillis start = 1'700'000'000'000) : now_(start) {}
  UnixMillis now_ms() const override { return now_.load(); }
  void advance(std::int64_t ms) { now_ += ms; }
  void set(UnixMillis ms) { now_ = ms; }

 private:
  std::atomic<UnixMillis> now_;
};

// "<base64url(header)>.<base64url(payload)>" for hand-made tokens.
inline std::string unsigned_part(const nlohmann::json& header, const nlohmann::json& payload) {
  return base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
}

}  // namespace argus::auth::testing_support
