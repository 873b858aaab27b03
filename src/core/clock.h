// Time: an injectable wall clock, and RFC 3339 formatting/parsing used by the API and logs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace argus {

// Milliseconds since the Unix epoch, UTC. The unit of every stored timestamp.
using UnixMillis = std::int64_t;

// The wall clock. Thread-safe. Injected so tests can control time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixMillis now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  UnixMillis now_ms() const override;
};

// Shared process-wide system clock (stateless, so no lifetime concerns).
const Clock& system_clock();

// "2026-11-25T12:14:39.123Z" (UTC, millisecond precision).
std::string format_rfc3339(UnixMillis ms);

// Parses RFC 3339 with 'Z' or a numeric offset and optional fraction; nullopt if invalid.
std::optional<UnixMillis> parse_rfc3339(std::string_view text);

// Parses a duration: a number of seconds ("2.5") or with a unit ("500ms", "10s", "5m",
// "1h", "7d"). Returns milliseconds, nullopt if malformed or negative.
std::optional<std::int64_t> parse_duration_ms(std::string_view text);

}  // namespace argus
