#include "jobs/job_manager.h"

#include <algorithm>
#include <array>
#include <exception>
#include <system_error>
#include <utility>

#include "bus/bus.h"
#include "core/ids.h"
#include "core/log.h"
#include "metrics/metrics.h"

namespace argus::jobs {
namespace {

constexpr std::array<std::string_view, 5> kStateNames = {"queued", "running", "succeeded", "failed", "cancelled"};

nlohmann::json time_or_null(UnixMillis t) { return t > 0 ? nlohmann::json(format_rfc3339(t)) : nlohmann::json(); }

nlohmann::json text_or_null(const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); }

// Failures a later retry may get past.
bool transient(StatusCode code) {
  switch (code) {
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kIOError:
    case StatusCode::kCancelled:
      return true;
    default:
      return false;
  }
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out.empty() ? "(none)" : out;
}

}  // namespace

std::string_view job_state_name(JobState s) { return kStateNames[static_cast<std::size_t>(s)]; }

std::optional<JobState> parse_job_state(std::string_view name) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<JobState>(i);
  }
  return std::nullopt;
}

bool is_finished(std::string_view state) { return state == "succeeded" || state == "failed" || state == "cancelled"; }

nlohmann::json job_to_json(const JobRecord& j) {
  nlohmann::json params = nlohmann::json::parse(j.params.empty() ? "{}" : j.params, nullptr, false);
  if (params.is_discarded()) params = nlohmann::json::object();
  nlohmann::json result;
  if (!j.result.empty()) {
    result = nlohmann::json::parse(j.result, nullptr, false);
    if (result.is_discarded()) result = nullptr;
  }
  return {{"id", j.id},
          {"kind", j.kind},
          {"state", j.state},
          {"progress", j.progress},
          {"message", text_or_null(j.message)},
          {"params", std::move(params)},
          {"result", std::move(result)},
          {"error", text_or_null(j.error)},
          {"retryable", j.retryable},
          {"attempts", j.attempts},
          {"retry_of", text_or_null(j.retry_of)},
          {"created_at", time_or_null(j.created_at)},
          {"started_at", time_or_null(j.started_at)},
          {"finished_at", time_or_null(j.finished_at)},
          {"created_by", j.created_by}};
}

// ---------------------------------------------------------------------------------------
// Context

class JobManager::Context final : public JobContext {
 public:
  Context(JobManager* manager, std::shared_ptr<Active> active, nlohmann::json params)
      : manager_(manager), active_(std::move(active)), id_(active_->record.id), params_(std::move(params)) {}

  const std::string& id() const override { return id_; }
  const nlohmann::json& params() const override { return params_; }
  void progress(int percent, std::string message) override {
    manager_->on_progress(*active_, percent, std::move(message));
  }
  bool cancelled() const override { return active_->cancel_requested.load() || active_->interrupted.load(); }
  void set_result(nlohmann::json result) override {
    std::lock_guard lock(manager_->mu_);
    active_->result = std::move(result);
  }

 private:
  JobManager* const manager_;
  const std::shared_ptr<Active> active_;
  const std::string id_;
  const nlohmann::json params_;
};

// ---------------------------------------------------------------------------------------
// Construction and lifecycle

JobManager::JobManager(Store* store, bus::EventBus* bus, JobManagerOptions options)
    : store_(store),
      bus_(bus),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : &system_clock()) {
  if (metrics::Registry* r = options_.metrics; r != nullptr) {
    const std::string help = "Background jobs that reached a final state.";
    finished_metric_[0] = &r->counter("argus_jobs_finished_total", help, {{"state", "succeeded"}});
    finished_metric_[1] = &r->counter("argus_jobs_finished_total", help, {{"state", "failed"}});
    finished_metric_[2] = &r->counter("argus_jobs_finished_total", help, {{"state", "cancelled"}});
    rejected_metric_ = &r->counter("argus_jobs_rejected_total", "Job submissions refused because the queue was full.");
    queued_metric_ = &r->gauge("argus_jobs_queued", "Background jobs waiting for a worker.");
    running_metric_ = &r->gauge("argus_jobs_running", "Background jobs running.");
  }
}

JobManager::~JobManager() { stop(); }

Status JobManager::register_kind(const std::string& kind, Runner runner, ParamsCheck check) {
  if (kind.empty() || !runner) return Status::invalid_argument("a job kind needs a name and a runner");
  std::lock_guard lock(mu_);
  if (started_) return Status::failed_precondition("job kinds are registered before the manager starts");
  if (!kinds_.emplace(kind, Kind{std::move(runner), std::move(check)}).second) {
    return Status::already_exists("job kind '" + kind + "' is already registered");
  }
  return Status::ok_status();
}

std::vector<std::string> JobManager::kinds() const {
  std::vector<std::string> out;
  for (const auto& [name, kind] : kinds_) out.push_back(name);
  return out;
}

Status JobManager::start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || stopping_) return Status::ok_status();
  }
  ARGUS_ASSIGN_OR_RETURN(std::vector<JobRecord> left, store_->list_unfinished_jobs());
  std::vector<std::shared_ptr<Active>> requeue;
  int interrupted = 0, unknown = 0;
  for (JobRecord& j : left) {
    if (j.state == "running" || kinds_.count(j.kind) == 0) {
      const bool was_running = j.state == "running";
      j.state = "failed";
      j.error = was_running ? std::string(kInterruptedError)
                            : "job kind '" + j.kind + "' is not known to this server; known kinds: " + join(kinds());
      j.retryable = was_running;
      j.finished_at = clock_->now_ms();
      ARGUS_ASSIGN_OR_RETURN(JobRecord stored, store_->update_job(j));
      publish(stored);
      (was_running ? interrupted : unknown) += 1;
      continue;
    }
    auto a = std::make_shared<Active>();
    a->record = std::move(j);
    requeue.push_back(std::move(a));
  }
  if (interrupted > 0 || unknown > 0 || !requeue.empty()) {
    log::info("jobs left by the previous run",
              {{"interrupted", interrupted}, {"unknown_kind", unknown}, {"queued_again", requeue.size()}});
  }
  {
    std::lock_guard lock(mu_);
    // Recovered jobs are queued even beyond the queue bound: they were accepted before.
    for (auto& a : requeue) {
      queue_.push_back(a->record.id);
      active_[a->record.id] = std::move(a);
    }
    started_ = true;
    refresh_gauges();
  }
  try {
    for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { worker_loop(); });
  } catch (const std::system_error& e) {
    stop();
    return Status::resource_exhausted("start the job workers: " + std::string(e.what()));
  }
  work_cv_.notify_all();
  return Status::ok_status();
}

void JobManager::stop() {
  std::vector<std::shared_ptr<Active>> running;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, a] : active_) {
      if (a->running) {
        a->interrupted = true;
        running.push_back(a);
      }
    }
  }
  work_cv_.notify_all();
  std::vector<JobRecord> stuck;
  {
    std::unique_lock lock(mu_);
    idle_cv_.wait_for(lock, options_.stop_grace, [&] {
      return std::none_of(active_.begin(), active_.end(), [](const auto& kv) { return kv.second->running; });
    });
    for (auto& [id, a] : active_) {
      if (!a->running || a->finished) continue;
      JobRecord r = a->record;
      r.state = "failed";
      r.error = std::string(kInterruptedError);
      r.retryable = true;
      r.finished_at = clock_->now_ms();
      stuck.push_back(std::move(r));
    }
  }
  // The store should say what happened even if this process dies waiting for them.
  for (const JobRecord& r : stuck) {
    log::error("a job did not stop within the shutdown grace period; waiting for it",
               {{"job", r.id}, {"kind", r.kind}, {"grace_ms", options_.stop_grace.count()}});
    persist(r);
  }
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
  std::lock_guard lock(mu_);
  // Queued jobs stay queued in the store: the next start queues them again.
  queue_.clear();
  active_.clear();
  refresh_gauges();
}

// ---------------------------------------------------------------------------------------
// Workers

void JobManager::worker_loop() {
  for (;;) {
    std::shared_ptr<Active> a;
    JobRecord started;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      std::string id = std::move(queue_.front());
      queue_.pop_front();
      auto it = active_.find(id);
      if (it == active_.end()) continue;
      a = it->second;
      a->running = true;
      a->record.state = "running";
      a->record.started_at = clock_->now_ms();
      a->record.attempts += 1;
      a->last_write = a->record.started_at;
      started = a->record;
      refresh_gauges();
    }
    persist(started);
    run_job(a);
  }
}

void JobManager::run_job(const std::shared_ptr<Active>& a) {
  const JobRecord& rec = a->record;  // id, kind and params never change while active
  nlohmann::json params = nlohmann::json::parse(rec.params, nullptr, false);
  if (params.is_discarded()) params = nlohmann::json::object();
  const Kind& kind = kinds_.at(rec.kind);
  Context ctx(this, a, std::move(params));
  Status s;
  try {
    s = kind.run(ctx);
  } catch (const std::exception& e) {
    s = Status::internal("the job failed unexpectedly: " + std::string(e.what()));
  } catch (...) {
    s = Status::internal("the job failed unexpectedly");
  }

  JobRecord final_record;
  int outcome = 0;
  {
    std::lock_guard lock(mu_);
    JobRecord& r = a->record;
    r.finished_at = clock_->now_ms();
    if (a->result) r.result = a->result->dump();
    if (a->cancel_requested) {
      r.state = "cancelled";
      r.error.clear();
      r.retryable = false;
      outcome = 2;
    } else if (s.ok()) {
      r.state = "succeeded";
      r.progress = 100;
      r.error.clear();
      r.retryable = false;
    } else if (a->interrupted) {
      r.state = "failed";
      r.error = std::string(kInterruptedError);
      r.retryable = true;
      outcome = 1;
    } else {
      r.state = "failed";
      r.error = s.message();
      r.retryable = transient(s.code());
      outcome = 1;
    }
    a->finished = true;
    final_record = r;
  }
  persist(final_record);
  if (finished_metric_[outcome] != nullptr) finished_metric_[outcome]->inc();
  if (!s.ok() && outcome == 1) {
    log::warn("job failed", {{"job", final_record.id}, {"kind", final_record.kind}, {"error", final_record.error}});
  }
  {
    std::lock_guard lock(mu_);
    active_.erase(final_record.id);
    a->running = false;
    refresh_gauges();
  }
  idle_cv_.notify_all();
}

void JobManager::on_progress(Active& a, int percent, std::string message) {
  percent = std::clamp(percent, 0, 100);
  JobRecord copy;
  {
    std::lock_guard lock(mu_);
    if (a.finished) return;
    a.record.progress = percent;
    if (!message.empty()) a.record.message = std::move(message);
    UnixMillis now = clock_->now_ms();
    if (now - a.last_write < options_.progress_interval.count()) return;  // kept for the next write
    a.last_write = now;
    copy = a.record;
  }
  persist(copy);
}

// ---------------------------------------------------------------------------------------
// Storage and publishing

void JobManager::publish(const JobRecord& job) {
  if (bus_ != nullptr) bus_->publish(bus::kJobs, "", job_to_json(job));
}

void JobManager::persist(const JobRecord& job) {
  Result<JobRecord> stored = store_->update_job(job);
  if (!stored.ok()) {
    log::error("storing a job's state failed",
               {{"job", job.id}, {"state", job.state}, {"error", stored.status().message()}});
    publish(job);
    return;
  }
  publish(*stored);
}

JobManager::Load JobManager::load() const {
  std::lock_guard lock(mu_);
  Load l;
  l.queued = queue_.size();
  for (const auto& [id, a] : active_) l.running += a->running ? 1 : 0;
  l.workers = static_cast<int>(workers_.size());
  return l;
}

void JobManager::refresh_gauges() {
  if (queued_metric_ == nullptr) return;
  std::size_t running = 0;
  for (const auto& [id, a] : active_) running += a->running ? 1 : 0;
  queued_metric_->set(static_cast<double>(queue_.size()));
  running_metric_->set(static_cast<double>(running));
}

// ---------------------------------------------------------------------------------------
// Requests

Result<JobRecord> JobManager::submit(const std::string& kind, nlohmann::json params, const std::string& created_by) {
  auto k = kinds_.find(kind);
  if (k == kinds_.end()) {
    return Status::invalid_argument("unknown job kind '" + kind + "'; known kinds: " + join(kinds()));
  }
  if (params.is_null()) params = nlohmann::json::object();
  if (!params.is_object()) return Status::invalid_argument("params must be a JSON object");
  if (k->second.check) ARGUS_RETURN_IF_ERROR(k->second.check(params));
  JobRecord j;
  j.id = random_hex_id(12);
  j.kind = kind;
  j.state = "queued";
  j.params = params.dump();
  j.created_by = created_by;
  return enqueue_new(std::move(j));
}

Result<JobRecord> JobManager::enqueue_new(JobRecord job) {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_)
      return Status::unavailable("jobs are not accepted now: the server is starting or stopping");
    if (queue_.size() + reserved_ >= options_.queue) {
      if (rejected_metric_ != nullptr) rejected_metric_->inc();
      return Status::resource_exhausted("the job queue is full (" + std::to_string(options_.queue) +
                                        " jobs waiting); try again later");
    }
    ++reserved_;
  }
  Result<JobRecord> created = store_->create_job(std::move(job));
  if (created.ok()) publish(*created);
  {
    std::lock_guard lock(mu_);
    --reserved_;
    if (!created.ok()) return created.status();
    // Stopping meanwhile: the job stays queued in the store for the next start.
    if (!stopping_) {
      auto a = std::make_shared<Active>();
      a->record = *created;
      active_[created->id] = std::move(a);
      queue_.push_back(created->id);
      refresh_gauges();
    }
  }
  work_cv_.notify_one();
  return created;
}

Result<JobRecord> JobManager::cancel(const std::string& id) {
  std::shared_ptr<Active> a;
  JobRecord copy;
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(id);
    if (it != active_.end()) {
      a = it->second;
      if (a->finished) return Status::failed_precondition("job '" + id + "' has already finished");
      if (a->running) {
        a->cancel_requested = true;
        return a->record;  // still running; cancelled once the runner returns
      }
      queue_.erase(std::remove(queue_.begin(), queue_.end(), id), queue_.end());
      a->record.state = "cancelled";
      a->record.finished_at = clock_->now_ms();
      a->finished = true;
      copy = a->record;
      refresh_gauges();
    }
  }
  if (a) {
    persist(copy);
    if (finished_metric_[2] != nullptr) finished_metric_[2]->inc();
    std::lock_guard lock(mu_);
    active_.erase(id);
    return copy;
  }
  ARGUS_ASSIGN_OR_RETURN(JobRecord stored, store_->get_job(id));
  if (is_finished(stored.state)) {
    return Status::failed_precondition("job '" + id + "' has already finished (" + stored.state + ")");
  }
  return Status::failed_precondition("job '" + id + "' is not queued in this server yet; try again");
}

Result<JobRecord> JobManager::retry(const std::string& id, const std::string& created_by) {
  ARGUS_ASSIGN_OR_RETURN(JobRecord old, get(id));
  if (old.state != "failed" && old.state != "cancelled") {
    return Status::failed_precondition("only a failed or cancelled job can be retried; job '" + id + "' is " +
                                       old.state);
  }
  auto k = kinds_.find(old.kind);
  if (k == kinds_.end()) {
    return Status::invalid_argument("job kind '" + old.kind +
                                    "' is not known to this server; known kinds: " + join(kinds()));
  }
  nlohmann::json params = nlohmann::json::parse(old.params, nullptr, false);
  if (params.is_discarded() || !params.is_object()) params = nlohmann::json::object();
  if (k->second.check) ARGUS_RETURN_IF_ERROR(k->second.check(params));
  JobRecord j;
  j.id = random_hex_id(12);
  j.kind = old.kind;
  j.state = "queued";
  j.params = params.dump();
  j.created_by = created_by;
  j.retry_of = old.id;
  j.attempts = old.attempts;
  return enqueue_new(std::move(j));
}

Result<JobRecord> JobManager::get(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(id);
    if (it != active_.end()) return it->second->record;
  }
  return store_->get_job(id);
}

Result<Page<JobRecord>> JobManager::list(const JobQuery& query) {
  ARGUS_ASSIGN_OR_RETURN(Page<JobRecord> page, store_->list_jobs(query));
  std::lock_guard lock(mu_);
  for (JobRecord& j : page.items) {
    auto it = active_.find(j.id);
    if (it != active_.end() && it->second->record.state == j.state) j = it->second->record;
  }
  return page;
}

bool JobManager::has_active(const std::string& kind) const {
  std::lock_guard lock(mu_);
  return std::any_of(active_.begin(), active_.end(),
                     [&](const auto& kv) { return kv.second->record.kind == kind && !kv.second->finished; });
}

}  // namespace argus::jobs
