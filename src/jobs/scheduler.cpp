#include "jobs/scheduler.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "core/log.h"

namespace argus::jobs {

Scheduler::Scheduler(JobManager* jobs, std::vector<ScheduledTask> tasks) : jobs_(jobs) {
  for (auto& t : tasks) {
    if (t.interval.count() > 0) tasks_.push_back({std::move(t), {}});
  }
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::plan(TimePoint now) {
  for (auto& p : tasks_) p.due = p.task.run_at_start ? now : now + p.task.interval;
  planned_ = true;
}

void Scheduler::start() {
  if (thread_.joinable()) return;
  plan(std::chrono::steady_clock::now());
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error& e) {
    log::error("the job scheduler could not start; scheduled jobs will not run", {{"error", e.what()}});
  }
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int Scheduler::tick(TimePoint now) {
  if (!planned_) plan(now);
  int submitted = 0;
  for (auto& p : tasks_) {
    if (now < p.due) continue;
    // Due: plan the next run from now, so a late tick does not fire a burst of catch-ups.
    p.due = now + p.task.interval;
    if (jobs_->has_active(p.task.kind)) {
      log::debug("scheduled job skipped: one is still queued or running", {{"kind", p.task.kind}});
      continue;
    }
    Result<JobRecord> job = jobs_->submit(p.task.kind, p.task.params, "system");
    if (!job.ok()) {
      log::warn("scheduled job not submitted", {{"kind", p.task.kind}, {"error", job.status().message()}});
      continue;
    }
    ++submitted;
  }
  return submitted;
}

void Scheduler::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    TimePoint next = TimePoint::max();
    for (const auto& p : tasks_) next = std::min(next, p.due);
    if (next == TimePoint::max()) {
      cv_.wait(lock, [this] { return stop_; });
      break;
    }
    if (cv_.wait_until(lock, next, [this] { return stop_; })) break;
    lock.unlock();
    tick(std::chrono::steady_clock::now());
    lock.lock();
  }
}

}  // namespace argus::jobs
