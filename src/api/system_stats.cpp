// GET /api/v1/system/stats: the operator's overview in one document (what `argus status`
// shows). Everything here is read from live parts at request time; nothing is cached, so a
// scrape costs one camera listing from the store and a /proc read.
#include <argus_version.h>

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>

#include "api/api.h"
#include "api/problem.h"
#include "api/stream_hub.h"
#include "auth/permissions.h"
#include "auth/principal.h"
#include "jobs/job_manager.h"
#include "metrics/process.h"
#include "pipeline/pipeline.h"
#include "store/store.h"

namespace argus::api {
namespace {

double round1(double v) { return std::round(v * 10) / 10; }

// Turns cumulative counters (CPU seconds, detector busy seconds) into a percentage of the
// time since the previous request, or since the start for the first one.
class RateWindow {
 public:
  // `total`: the counter now; `capacity`: how many seconds of it fit in one second (cores,
  // workers). Returns percent, 0..100 x capacity clamped to 0..100 of capacity.
  double percent(double total, double capacity, std::chrono::steady_clock::time_point now) {
    std::lock_guard lock(mu_);
    double seconds = std::chrono::duration<double>(now - last_time_).count();
    double used = total - last_total_;
    if (seconds < 1.0 && has_rate_) return last_percent_;  // too short a window: keep the last answer
    last_time_ = now;
    last_total_ = total;
    if (seconds <= 0 || capacity <= 0) return 0;
    last_percent_ = std::clamp(used / (seconds * capacity) * 100.0, 0.0, 100.0);
    has_rate_ = true;
    return last_percent_;
  }
  void reset(std::chrono::steady_clock::time_point start) {
    std::lock_guard lock(mu_);
    last_time_ = start;
  }

 private:
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_time_{};
  double last_total_ = 0;
  double last_percent_ = 0;
  bool has_rate_ = false;
};

}  // namespace

struct Api::StatsState {
  RateWindow cpu;
  RateWindow detector;
};

void Api::add_stats_route() {
  stats_ = std::make_shared<StatsState>();
  stats_->cpu.reset(started_);
  stats_->detector.reset(started_);
  router_.add(Method::kGet, "/api/v1/system/stats", Access::needs(auth::Permission::system_read),
              [this](Request& req) { return system_stats(req); });
}

Response Api::system_stats(Request& req) {
  const auto now = std::chrono::steady_clock::now();
  nlohmann::json doc;
  doc["time"] = format_rfc3339(deps_.clock->now_ms());
  doc["version"] = ARGUS_VERSION;
  doc["started_at"] = format_rfc3339(started_at_);
  doc["uptime_seconds"] = std::floor(std::chrono::duration<double>(now - started_).count());

  const metrics::ProcessSample p = metrics::sample_process();
  nlohmann::json process = nlohmann::json::object();
  if (p.cpu_seconds) {
    process["cpu_seconds"] = round1(*p.cpu_seconds);
    // Percent of one core, like top(1): 200 is two cores busy.
    process["cpu_percent"] = round1(stats_->cpu.percent(*p.cpu_seconds, 1.0, now));
  }
  if (p.resident_bytes) process["resident_memory_bytes"] = static_cast<std::int64_t>(*p.resident_bytes);
  if (p.open_fds) process["open_fds"] = static_cast<std::int64_t>(*p.open_fds);
  if (p.max_fds && std::isfinite(*p.max_fds)) process["max_fds"] = static_cast<std::int64_t>(*p.max_fds);
  doc["process"] = std::move(process);

  // Cameras the caller may see, with their live status; counted by state.
  nlohmann::json cameras = nlohmann::json::array();
  std::map<std::string, int> by_state;
  PageRequest page{"", 500};
  for (;;) {
    auto got = deps_.store->list_cameras(page);
    if (!got.ok()) return status_problem(got.status(), req);
    for (const Camera& c : got->items) {
      if (req.principal && !req.principal->can_see_camera(c.id)) continue;
      nlohmann::json s = deps_.status->status(c);
      auto num = [&s](const char* key) { return s.contains(key) ? s[key] : nlohmann::json(0); };
      std::string state = s.value("state", "unknown");
      by_state[state]++;
      cameras.push_back({{"id", c.id},
                         {"name", c.name},
                         {"enabled", c.enabled},
                         {"state", state},
                         {"reason", s.contains("reason") ? s["reason"] : nlohmann::json(nullptr)},
                         {"fps_in", num("fps_in")},
                         {"fps_processed", num("fps_out")},
                         {"frames_in", num("frames_in")},
                         {"frames_processed", num("frames_processed")},
                         {"frames_dropped", num("frames_dropped")},
                         {"open_events", num("open_events")},
                         {"last_frame_at", s.contains("last_frame_at") ? s["last_frame_at"] : nlohmann::json(nullptr)}});
    }
    if (!got->next_after) break;
    page.after = *got->next_after;
  }
  doc["cameras"] = std::move(cameras);
  doc["cameras_by_state"] = by_state;

  if (deps_.pipeline != nullptr) {
    pipeline::DetectorPool& pool = deps_.pipeline->detectors();
    doc["detector"] = {{"kind", pool.kind()},
                       {"workers", pool.workers()},
                       {"queue_depth", pool.queue_depth()},
                       {"queue_capacity", pool.capacity()},
                       {"busy_percent", round1(stats_->detector.percent(pool.busy_seconds(), pool.workers(), now))}};
  }

  StoreStats st = deps_.store->stats();
  doc["store"] = {{"kind", st.kind},
                  {"schema_version", st.schema_version},
                  {"size_bytes", st.size_bytes},
                  {"pending_writes", st.pending_writes}};
  if (deps_.streams != nullptr) doc["streams"] = {{"subscribers", deps_.streams->subscribers()}};
  if (deps_.jobs != nullptr) {
    jobs::JobManager::Load l = deps_.jobs->load();
    doc["jobs"] = {{"queued", l.queued}, {"running", l.running}, {"workers", l.workers}};
  }
  if (deps_.extra_stats) {
    nlohmann::json extra = deps_.extra_stats();
    if (extra.is_object()) {
      for (auto& [key, value] : extra.items()) doc[key] = value;
    }
  }
  Response r = Response::json(200, doc);
  r.set_header("Cache-Control", "no-store");
  return r;
}

}  // namespace argus::api
