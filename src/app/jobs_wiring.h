// The background jobs Argus runs: which kinds exist, what each does, and which run on a
// schedule. app/ owns the wiring so the runners can use any module (auth, pipeline, ...).
//
// Kinds: vacuum (store maintenance), retention (events, detections, counts and their
// snapshot files older than jobs.retention_days, audit lines, expired refresh tokens, old
// finished jobs), rollup (hourly and daily count rollups), export (events or count series
// as CSV/JSON into <media>/exports/), analyze (a video file under <data>/videos through the
// pipeline).
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
  std::string media_dir;  // required: snapshots to delete, exports to write
};

// Registers vacuum, retention, rollup and export.
//   export params: {"what": "events"|"counts", "format": "csv"|"json" (default csv), "from",
//   "to" (RFC 3339), "camera" (required for counts), "label", "bucket" (counts:
//   minute|hour|day), "scope" (set by the API for scoped callers: the cameras allowed)};
//   result: {"path": "exports/<job id>.<ext>" under the media root, "url", "rows"}.
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
