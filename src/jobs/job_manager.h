// JobManager: background jobs with a bounded queue, a bounded worker pool, persistent state
// and progress on the bus.
//
// A job is one run of a registered kind ("vacuum", "analyze", "retention", ...) with JSON
// params. Its state moves queued → running → succeeded | failed | cancelled; every change,
// and progress at most every `progress_interval` per job, is written to the Store and
// published on the bus topic `jobs` with the job's JSON (job_to_json) as data.
//
// Kinds are registered before start() as a Runner, a function that does the work on a
// worker thread and reports through its JobContext: progress, a result, and a cancellation
// flag it must poll. A runner returns a Status: ok → succeeded, an error → failed with the
// message; if cancellation was requested meanwhile the job is cancelled whatever it returns.
//
// Restart: start() marks jobs a previous process left `running` as failed ("interrupted:
// ...", retryable) and queues those it left `queued` again, in their original order.
// Shutdown (stop): refuses new jobs, asks running jobs to stop (they end failed with the
// same "interrupted" error and retryable, so a retry can pick them up), leaves queued jobs
// queued in the store for the next start, and joins the workers.
//
// Retry creates a new job with the same kind and params (retry_of = the old id, attempts
// carried over); the failed or cancelled job stays as it was, so the history is kept.
//
// Threading: every public method is thread-safe, except register_kind (before start) and
// start/stop (from the controlling thread).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"

namespace argus::bus {
class EventBus;
}
namespace argus::metrics {
class Counter;
class Gauge;
class Registry;
}  // namespace argus::metrics

namespace argus::jobs {

enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

std::string_view job_state_name(JobState s);
std::optional<JobState> parse_job_state(std::string_view name);
// succeeded, failed and cancelled.
bool is_finished(std::string_view state);

// The error of a job that was running when the server stopped.
inline constexpr std::string_view kInterruptedError = "interrupted: the server stopped while this job was running";

// The job as the API and the bus show it: id, kind, state, progress, message, params,
// result, error, retryable, attempts, retry_of, created_at, started_at, finished_at (RFC
// 3339 or null), created_by.
nlohmann::json job_to_json(const JobRecord& job);

// What a runner sees of its job. Used by one runner on its worker thread; the methods are
// nonetheless safe to call from threads the runner starts, until the runner returns.
class JobContext {
 public:
  virtual ~JobContext() = default;
  virtual const std::string& id() const = 0;
  virtual const nlohmann::json& params() const = 0;
  // Reports progress in percent (clamped to 0..100) with an optional message. Stored and
  // published at most every progress_interval; the latest value is never lost (the final
  // state carries it).
  virtual void progress(int percent, std::string message = "") = 0;
  // True once the job was cancelled or the server is stopping: return soon (any status).
  virtual bool cancelled() const = 0;
  // The job's result (any JSON value), stored with the final state.
  virtual void set_result(nlohmann::json result) = 0;
};

using Runner = std::function<Status(JobContext&)>;
// Checks params at submit, before anything is stored: InvalidArgument with a message for
// the API client. Must be thread-safe.
using ParamsCheck = std::function<Status(const nlohmann::json& params)>;

struct JobManagerOptions {
  int workers = 1;                                   // jobs running at once
  std::size_t queue = 100;                           // jobs waiting; submit answers ResourceExhausted beyond
  std::chrono::milliseconds progress_interval{500};  // per job, between stored progress steps
  // stop(): how long running jobs get to notice cancellation before the manager records
  // them as interrupted (it then still waits for them to return).
  std::chrono::milliseconds stop_grace{10'000};
  const Clock* clock = &system_clock();  // not owned
  metrics::Registry* metrics = nullptr;  // not owned; optional
};

class JobManager {
 public:
  // `store` and `bus` are not owned and must outlive the manager; `bus` may be null.
  JobManager(Store* store, bus::EventBus* bus, JobManagerOptions options);
  ~JobManager();  // stop()
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Before start(). AlreadyExists if `kind` is registered; InvalidArgument if it is empty.
  Status register_kind(const std::string& kind, Runner runner, ParamsCheck check = nullptr);
  // Registered kinds, sorted.
  std::vector<std::string> kinds() const;

  // Recovers what a previous process left (see the top) and starts the workers. An error
  // reading or writing the store is returned; nothing is started then.
  Status start();

  // Stores a new queued job and queues it. InvalidArgument: unknown kind (the message names
  // the known ones), params not an object, or the kind's check failed. ResourceExhausted:
  // the queue is full. Unavailable: not started or stopping. Store errors as they are.
  Result<JobRecord> submit(const std::string& kind, nlohmann::json params, const std::string& created_by);
  // A queued job is cancelled at once (returned in state cancelled); a running one is asked
  // to stop and returned still running. NotFound if absent; FailedPrecondition if finished.
  Result<JobRecord> cancel(const std::string& id);
  // A new job with the kind and params of `id`. NotFound if absent; FailedPrecondition
  // unless it failed or was cancelled; otherwise as submit().
  Result<JobRecord> retry(const std::string& id, const std::string& created_by);
  // The job with its latest progress (which may be ahead of the store). NotFound if absent.
  Result<JobRecord> get(const std::string& id);
  Result<Page<JobRecord>> list(const JobQuery& query);
  // True while a job of `kind` is queued or running in this process.
  bool has_active(const std::string& kind) const;
  // Jobs queued and running in this process now.
  struct Load {
    std::size_t queued = 0;
    std::size_t running = 0;
    int workers = 0;
  };
  Load load() const;

  // Ordered shutdown (see the top). Idempotent.
  void stop();

 private:
  class Context;
  struct Kind {
    Runner run;
    ParamsCheck check;
  };
  // A queued or running job. Fields other than the atomics are guarded by mu_.
  struct Active {
    JobRecord record;  // as it will next be stored (latest progress included)
    bool running = false;
    bool finished = false;  // its final state is being stored; leaves active_ right after
    std::optional<nlohmann::json> result;
    UnixMillis last_write = 0;  // when progress or state was last stored (throttle)
    std::atomic<bool> cancel_requested{false};
    std::atomic<bool> interrupted{false};  // the manager is stopping
  };

  void worker_loop();
  void run_job(const std::shared_ptr<Active>& a);
  // Stores `job` and publishes it. Failures are logged: the job goes on in memory.
  void persist(const JobRecord& job);
  void on_progress(Active& a, int percent, std::string message);
  void publish(const JobRecord& job);
  Result<JobRecord> enqueue_new(JobRecord job);
  void refresh_gauges();  // with mu_ held

  // Constant after construction.
  Store* const store_;
  bus::EventBus* const bus_;
  const JobManagerOptions options_;
  const Clock* const clock_;
  metrics::Counter* finished_metric_[3] = {nullptr, nullptr, nullptr};  // succeeded, failed, cancelled
  metrics::Counter* rejected_metric_ = nullptr;
  metrics::Gauge* queued_metric_ = nullptr;
  metrics::Gauge* running_metric_ = nullptr;

  // Set before start(), then read-only.
  std::map<std::string, Kind> kinds_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;                        // a job was queued, or stopping
  std::condition_variable idle_cv_;                        // a running job finished
  std::deque<std::string> queue_;                          // ids of queued jobs, oldest first; guarded by mu_
  std::size_t reserved_ = 0;                               // queue slots held by submits in progress; guarded by mu_
  std::map<std::string, std::shared_ptr<Active>> active_;  // queued and running; guarded by mu_
  bool started_ = false;                                   // guarded by mu_
  bool stopping_ = false;                                  // guarded by mu_
  std::vector<std::thread> workers_;                       // started and joined by the controlling thread
};

}  // namespace argus::jobs
