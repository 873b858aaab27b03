// Shared test helpers: hermetic temporary directories, free loopback ports, a manual clock.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/clock.h"

namespace argus::testing {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close).
std::uint16_t free_port();

// Writes `content` to `path`, creating parent directories.
void write_file(const std::filesystem::path& path, const std::string& content);
std::string read_file(const std::filesystem::path& path);

// A Clock that moves only when told to: now_ms() returns the start time until set() or
// advance*() changes it, and never ticks on its own (reading it has no side effect).
// Thread-safe: the code under test may read it while the test moves it.
class ManualClock final : public Clock {
 public:
  static constexpr UnixMillis kDefaultStart = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

  explicit ManualClock(UnixMillis start = kDefaultStart) : now_(start) {}
  UnixMillis now_ms() const override { return now_.load(); }
  void set(UnixMillis ms) { now_.store(ms); }
  void advance(std::int64_t ms) { now_.fetch_add(ms); }
  void advance_s(std::int64_t s) { now_.fetch_add(s * 1000); }

 private:
  std::atomic<UnixMillis> now_;
};

}  // namespace argus::testing
