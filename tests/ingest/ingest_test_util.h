// Helpers for the ingest tests: child processes (fake camera, ffmpeg), a frame collector,
// test images and polling waits.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/camera.h"
#include "ingest/ingest.h"
#include "vision/frame.h"

namespace argus::ingest::testutil {

// A child process started with posix_spawn; killed (SIGTERM, then SIGKILL) and reaped on
// destruction. Its stdout can be captured; stderr is inherited unless `quiet`.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, bool capture_stdout, bool quiet);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  // The next line of stdout (without newline), nullopt on timeout or EOF.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Waits for exit; the exit code, or -1.
  int wait();
  void kill();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string pending_;
};

// Runs a command to completion with output discarded; its exit code (or -1).
int run_command(const std::vector<std::string>& argv);

// Collects the frames a CameraManager delivers. Thread-safe.
class FrameCollector {
 public:
  FrameSink sink();
  std::vector<vision::FramePtr> frames(const std::string& camera) const;
  std::size_t count(const std::string& camera) const;
  // Waits until `camera` has at least n frames; false on timeout.
  bool wait_for(const std::string& camera, std::size_t n, std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, std::vector<vision::FramePtr>> frames_;
};

// Polls `pred` every 10 ms until true or the timeout; returns the last result.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// A camera with the given source.
Camera make_camera(const std::string& id, SourceKind kind, const std::string& url, std::int64_t interval_ms = 1000);

// Small, fast settings: backoff 50..400 ms, read timeout 2 s, offline after 1 s.
IngestOptions fast_options();

// A test picture of the given size with some structure, encoded as JPEG / PNG.
std::string test_jpeg(int width = 160, int height = 120, int seed = 0);
std::string test_png(int width = 160, int height = 120);

// The state of `camera` in `m`, or "absent".
std::string state_of(const CameraManager& m, const std::string& camera);

}  // namespace argus::ingest::testutil
