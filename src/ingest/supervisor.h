// Supervisor: keeps one camera's source running and reports its health.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ingest/ingest.h"
#include "ingest/source.h"

namespace argus::metrics {
class Counter;
class Gauge;
class Histogram;
}  // namespace argus::metrics

namespace argus::ingest {

// One camera's supervisor. start() runs its thread (none for a disabled camera): open the
// source, deliver frames to the sink, and on failure reconnect with backoff, moving
// through the states starting -> online -> reconnecting -> offline, or error for
// configuration problems (retried every backoff_max_ms). Push cameras have no source: their
// frames arrive through push() on the caller's thread, and the thread only watches for
// silence.
//
// Thread-safety: status(), push() and stop() may be called from any thread. The sink is
// called on the supervisor thread (or push()'s caller) without any lock held.
class Supervisor {
 public:
  // `sink` and `revision` must outlive the supervisor. `revision` is bumped on every
  // change of state or reason.
  Supervisor(Camera camera, const IngestOptions& options, const FrameSink* sink, std::atomic<std::uint64_t>* revision);
  ~Supervisor();  // stops
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  void start();
  // Asks the thread to stop without waiting (so many supervisors stop in parallel).
  void request_stop() { stop_.raise(); }
  // Stops and joins. Idempotent.
  void stop();

  SourceStatus status() const;
  // For push cameras: decode and deliver. InvalidArgument for undecodable bytes.
  Status push(std::string bytes);

  const Camera& camera() const { return camera_; }

 private:
  using SteadyClock = std::chrono::steady_clock;

  void run();
  void run_push();
  // Runs the source once, turning exceptions into a Status; `crashed` tells which.
  Status run_source_once(bool& crashed);
  void deliver(SourceFrame f);
  void set_state(SourceState state, std::string reason);
  std::string scrub(std::string reason) const;

  // Constant after construction.
  const Camera camera_;
  const IngestOptions options_;
  const SourceOptions source_options_;
  const FrameSink* const sink_;
  std::atomic<std::uint64_t>* const revision_;
  metrics::Counter* frames_metric_ = nullptr;
  metrics::Histogram* decode_metric_ = nullptr;
  metrics::Counter* reconnects_metric_ = nullptr;
  metrics::Gauge* up_metric_ = nullptr;

  StopSignal stop_;
  std::thread thread_;
  std::unique_ptr<Source> source_;  // supervisor thread only

  // Per run of the source (a push camera has one run for its lifetime).
  std::atomic<std::uint64_t> seq_{0};
  std::atomic<std::uint64_t> frames_this_run_{0};
  std::atomic<bool> healthy_this_run_{false};    // a frame arrived or the source said ready
  std::atomic<std::int64_t> run_started_ns_{0};  // steady clock

  mutable std::mutex mu_;
  SourceStatus status_;  // guarded by mu_
  // Frame arrival times within the fps window, trimmed by status() too. Guarded by mu_.
  mutable std::deque<SteadyClock::time_point> recent_;
  SteadyClock::time_point online_since_{};       // guarded by mu_
  SteadyClock::time_point last_frame_steady_{};  // guarded by mu_
};

}  // namespace argus::ingest
