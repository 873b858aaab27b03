// Scheduler: submits jobs at fixed intervals (retention every hour, rollups every five
// minutes, ...), never piling them up: a task whose kind still has a job queued or running
// is skipped until that job finishes.
//
// Threading: start/stop from the controlling thread; tick() from one thread at a time (the
// scheduler's own thread once started, or a test).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "jobs/job_manager.h"

namespace argus::jobs {

struct ScheduledTask {
  std::string kind;
  nlohmann::json params = nlohmann::json::object();
  std::chrono::milliseconds interval{3'600'000};
  bool run_at_start = false;  // first run at start() rather than one interval later
};

class Scheduler {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // `jobs` is not owned and must outlive the scheduler. Tasks with a non-positive interval
  // are ignored.
  Scheduler(JobManager* jobs, std::vector<ScheduledTask> tasks);
  ~Scheduler();  // stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Plans every task from `now` and starts the thread that calls tick() when one is due.
  void start();
  void stop();

  // Submits each task due at `now` whose kind has no job queued or running, and plans its
  // next run one interval later. A skipped or refused task is tried again at its next
  // interval. Returns how many jobs were submitted. Before start(), plans from `now` first.
  int tick(TimePoint now);

 private:
  struct Planned {
    ScheduledTask task;
    TimePoint due{};
  };
  void plan(TimePoint now);
  void run();

  JobManager* const jobs_;
  std::vector<Planned> tasks_;  // used by the ticking thread only
  bool planned_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace argus::jobs
