// The background jobs Argus runs: which kinds exist, what each does, and which run on a
// schedule. app/ owns the wiring so the runners can use any module (auth, pipeline, ...).
//
// Kinds: vacuum (store maintenance), retention (audit log, expired refresh tokens, old
// finished jobs; analytics and media once the store offers them), analyze (a video file
// under <data>/videos through the pipeline). rollup and export are not registered yet.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/status.h"
#include "jobs/job_manager.h"
#include "jobs/scheduler.h"

namespace argus {
class Store;
namespace auth {
class AuthService;
}
}  // namespace argus

namespace argus::app {

struct MaintenanceDeps {
  Store* store = nullptr;             // required
  auth::AuthService* auth = nullptr;  // required: expired refresh tokens
  const Config* config = nullptr;     // required: retention settings; must outlive the runners
  const Clock* clock = &system_clock();
};

// Registers vacuum and retention (and, after the query API lands, rollup and export).
Status register_maintenance_runners(jobs::JobManager& jobs, const MaintenanceDeps& deps);

// Registers analyze. Params: {"file": path relative to <data_dir>/videos (required),
// "camera": camera settings as `argus analyze --camera-settings` takes them (optional),
// "fps": frames per second to analyze (optional, 0.1..120)}. The result is the analysis
// summary (analyze_summary_json); events found are not stored, since a file is not a live
// camera. Creates <data_dir>/videos if missing.
Status register_analyze_runner(jobs::JobManager& jobs, const Config& config);

// The scheduled tasks for the kinds `jobs` has registered: retention every
// jobs.retention_interval (first run at start) and rollup every jobs.rollup_interval.
std::vector<jobs::ScheduledTask> scheduled_tasks(const Config& config, const jobs::JobManager& jobs);

// `relative` resolved under `root` (both after following symlinks). InvalidArgument if it is
// empty, absolute, has a ".." part or leads outside `root`; NotFound if there is no regular
// file there. Messages name `relative`, never the server's paths.
Result<std::filesystem::path> resolve_video(const std::filesystem::path& root, const std::string& relative);

}  // namespace argus::app
