#include "app/jobs_wiring.h"

#include <algorithm>
#include <fstream>
#include <system_error>

#include "app/analyze.h"
#include "auth/auth_service.h"
#include "core/camera.h"
#include "core/log.h"
#include "store/export.h"
#include "store/store.h"

namespace argus::app {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kDayMs = 86'400'000;

fs::path videos_dir(const Config& config) { return fs::path(config.data_dir) / "videos"; }

// The analysis camera from the job's params: the settings under "camera" and "fps" on top
// of a push camera with id "analyze" (as `argus analyze` builds it).
Result<Camera> analyze_camera(const nlohmann::json& params) {
  nlohmann::json doc = {{"id", "analyze"}, {"source", {{"kind", "push"}}}};
  auto camera = params.find("camera");
  if (camera != params.end() && !camera->is_null()) {
    if (!camera->is_object()) return Status::invalid_argument("params.camera must be an object of camera settings");
    doc.merge_patch(*camera);
    doc["id"] = "analyze";
    doc["source"] = {{"kind", "push"}};
  } else {
    doc["detection"] = {{"fps", 60}};  // every decoded frame, unless the settings say otherwise
  }
  auto fps = params.find("fps");
  if (fps != params.end() && !fps->is_null()) {
    if (!fps->is_number() || !(fps->get<double>() >= 0.1 && fps->get<double>() <= 120)) {
      return Status::invalid_argument("params.fps must be a number between 0.1 and 120");
    }
    doc["detection"]["fps"] = *fps;
  }
  Camera out;
  FieldErrors errors;
  camera_from_json(doc, out, errors);
  if (!errors.empty()) {
    return Status::invalid_argument("params.camera" + errors.front().pointer + ": " + errors.front().detail);
  }
  return out;
}

Result<fs::path> analyze_file(const Config& config, const nlohmann::json& params) {
  auto file = params.find("file");
  if (file == params.end() || !file->is_string()) {
    return Status::invalid_argument("params.file is required: a video path relative to the videos directory");
  }
  return resolve_video(videos_dir(config), file->get<std::string>());
}

// At submit a missing file is the request's fault: InvalidArgument (400), like a bad path.
Status check_analyze(const Config& config, const nlohmann::json& params) {
  Status file = analyze_file(config, params).status();
  if (file.code() == StatusCode::kNotFound) return Status::invalid_argument(file.message());
  ARGUS_RETURN_IF_ERROR(file);
  return analyze_camera(params).status();
}

Status run_analyze(const Config& config, jobs::JobContext& ctx) {
  ARGUS_ASSIGN_OR_RETURN(fs::path video, analyze_file(config, ctx.params()));
  ARGUS_ASSIGN_OR_RETURN(Camera camera, analyze_camera(ctx.params()));
  AnalyzeOptions options;
  options.video = video.string();
  options.camera = std::move(camera);
  options.config = config;
  options.workers = 1;  // a background job: leave the other cores to the live cameras
  AnalyzeCallbacks callbacks;
  callbacks.cancelled = [&ctx] { return ctx.cancelled(); };
  callbacks.on_progress = [&ctx](long done, long total, double) {
    if (total > 0) {
      ctx.progress(static_cast<int>(done * 100 / total),
                   "frame " + std::to_string(done) + " of " + std::to_string(total));
    } else {
      ctx.progress(0, "frame " + std::to_string(done));
    }
  };
  Result<AnalyzeSummary> summary = analyze_video(options, callbacks);
  if (!summary.ok()) {
    const Status& s = summary.status();
    // Not the server's paths: the file as the client named it.
    const std::string name = ctx.params().value("file", "");
    if (s.code() == StatusCode::kNotFound) return Status::not_found("video '" + name + "' no longer exists");
    if (s.code() == StatusCode::kInvalidArgument) {
      return Status::invalid_argument("'" + name + "' is not a video this server can read");
    }
    return s;
  }
  nlohmann::json result = analyze_summary_json(*summary);
  result["file"] = ctx.params().value("file", "");
  ctx.set_result(std::move(result));
  return Status::ok_status();
}

Status run_vacuum(Store& store, jobs::JobContext& ctx) {
  ctx.progress(0, "compacting the database");
  ARGUS_ASSIGN_OR_RETURN(MaintenanceReport report, store.maintenance());
  ctx.set_result({{"bytes_before", report.bytes_before},
                  {"bytes_after", report.bytes_after},
                  {"bytes_freed", std::max<std::int64_t>(0, report.bytes_before - report.bytes_after)}});
  return Status::ok_status();
}

struct MediaRemoval {
  std::int64_t files = 0;
  std::int64_t bytes = 0;
};

// Deletes files named relative to the media root. A name that is absolute or has a ".."
// part is skipped; a symlink is removed itself, never what it points to.
MediaRemoval remove_media_files(const std::string& media_dir, const std::vector<std::string>& relative) {
  MediaRemoval out;
  if (media_dir.empty()) return out;
  for (const auto& name : relative) {
    fs::path rel(name);
    if (name.empty() || rel.is_absolute() || std::any_of(rel.begin(), rel.end(), [](const fs::path& p) {
          return p == "..";
        })) {
      continue;
    }
    fs::path full = fs::path(media_dir) / rel;
    std::error_code ec;
    auto st = fs::symlink_status(full, ec);
    if (ec || !(fs::is_regular_file(st) || fs::is_symlink(st))) continue;
    std::uintmax_t size = fs::is_regular_file(st) ? fs::file_size(full, ec) : 0;
    if (fs::remove(full, ec) && !ec) {
      ++out.files;
      out.bytes += static_cast<std::int64_t>(size);
    }
  }
  return out;
}

Status run_rollup(const MaintenanceDeps& deps, jobs::JobContext& ctx) {
  ctx.progress(0, "rolling minute counts up into hours and days");
  ARGUS_ASSIGN_OR_RETURN(RollupStats r, deps.store->rollup_counts(deps.clock->now_ms()));
  ctx.set_result({{"hourly_rows", r.hourly_rows},
                  {"daily_rows", r.daily_rows},
                  {"hourly_watermark", format_rfc3339(r.hourly_watermark)},
                  {"daily_watermark", format_rfc3339(r.daily_watermark)}});
  return Status::ok_status();
}

Result<UnixMillis> time_param(const nlohmann::json& params, const char* key) {
  auto it = params.find(key);
  if (it == params.end() || it->is_null()) return UnixMillis{0};
  if (it->is_string()) {
    if (auto t = parse_rfc3339(it->get<std::string>())) return *t;
  }
  return Status::invalid_argument(std::string("params.") + key + " must be an RFC 3339 time (2026-01-31T08:00:00Z)");
}

std::string string_param(const nlohmann::json& params, const char* key) {
  auto it = params.find(key);
  return it != params.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Status check_export(const nlohmann::json& params) {
  const std::string what = string_param(params, "what");
  if (what != "events" && what != "counts") return Status::invalid_argument("params.what must be events or counts");
  const std::string format = string_param(params, "format");
  if (!format.empty() && !parse_export_format(format)) return Status::invalid_argument("params.format must be csv or json");
  ARGUS_RETURN_IF_ERROR(time_param(params, "from").status());
  ARGUS_RETURN_IF_ERROR(time_param(params, "to").status());
  if (what == "counts" && string_param(params, "camera").empty()) {
    return Status::invalid_argument("params.camera is required for a counts export");
  }
  const std::string bucket = string_param(params, "bucket");
  if (!bucket.empty() && bucket != "minute" && bucket != "hour" && bucket != "day") {
    return Status::invalid_argument("params.bucket must be minute, hour or day");
  }
  return Status::ok_status();
}

// Writes the export next to the other media (exports/<job id>.<ext>), through a temporary
// file renamed at the end, so a half-written export is never served.
Status run_export(const MaintenanceDeps& deps, jobs::JobContext& ctx) {
  const nlohmann::json& params = ctx.params();
  ARGUS_RETURN_IF_ERROR(check_export(params));
  const std::string what = string_param(params, "what");
  const ExportFormat format = parse_export_format(string_param(params, "format")).value_or(ExportFormat::kCsv);
  const char* ext = format == ExportFormat::kCsv ? "csv" : "json";
  std::optional<std::vector<std::string>> scope;
  if (auto it = params.find("scope"); it != params.end() && it->is_array()) {
    scope.emplace();
    for (const auto& c : *it) {
      if (c.is_string()) scope->push_back(c.get<std::string>());
    }
  }
  const std::string camera = string_param(params, "camera");
  if (scope && !camera.empty() && std::find(scope->begin(), scope->end(), camera) == scope->end()) {
    return Status::not_found("no camera '" + camera + "'");
  }
  fs::path dir = fs::path(deps.media_dir) / "exports";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::io_error("cannot create the exports directory: " + ec.message());
  const std::string name = ctx.id() + "." + ext;
  fs::path tmp = dir / (name + ".part");
  fs::path final_path = dir / name;
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) return Status::io_error("cannot write " + name);
  ctx.progress(10, "writing " + what);
  constexpr std::size_t kMaxRows = 10'000'000;
  Result<ExportSummary> summary = Status::internal("no export");
  if (what == "events") {
    EventQuery q;
    q.camera = camera;
    q.cameras = scope;
    q.label = string_param(params, "label");
    q.from = *time_param(params, "from");
    q.to = *time_param(params, "to");
    q.ascending = true;
    summary = export_events(*deps.store, q, format, kMaxRows, out);
  } else {
    CountSeriesQuery q;
    q.camera = camera;
    q.label = string_param(params, "label");
    const std::string bucket = string_param(params, "bucket");
    q.bucket = bucket == "hour" ? CountBucket::kHour : bucket == "day" ? CountBucket::kDay : CountBucket::kMinute;
    q.from = *time_param(params, "from");
    q.to = *time_param(params, "to");
    summary = export_counts(*deps.store, q, format, kMaxRows, out);
  }
  out.close();
  if (!summary.ok() || !out || ctx.cancelled()) {
    fs::remove(tmp, ec);
    if (!summary.ok()) return summary.status();
    if (ctx.cancelled()) return Status::cancelled("export cancelled");
    return Status::io_error("writing " + name + " failed (disk full?)");
  }
  fs::rename(tmp, final_path, ec);
  if (ec) return Status::io_error("cannot finish " + name + ": " + ec.message());
  ctx.set_result({{"path", "exports/" + name},
                  {"url", "/api/v1/media/exports/" + name},
                  {"rows", summary->rows},
                  {"truncated", summary->truncated},
                  {"bytes", static_cast<std::int64_t>(fs::file_size(final_path, ec))}});
  return Status::ok_status();
}

// One mechanism for everything that ages out (it replaces the old hourly housekeeping
// thread): audit lines past auth.audit_retention, expired refresh tokens, and jobs (and
// analytics, and resolved alerts) that finished more than jobs.retention_days ago.
Status run_retention(const MaintenanceDeps& deps, jobs::JobContext& ctx) {
  const Config& c = *deps.config;
  const UnixMillis now = deps.clock->now_ms();
  nlohmann::json result = {{"retention_days", c.jobs.retention_days}};

  ctx.progress(0, "audit log");
  ARGUS_ASSIGN_OR_RETURN(std::int64_t audit, deps.store->delete_audit_before(now - c.auth.audit_retention_ms));
  result["audit_rows_deleted"] = audit;
  if (ctx.cancelled()) return Status::cancelled("retention cancelled");

  ctx.progress(25, "refresh tokens");
  ARGUS_ASSIGN_OR_RETURN(std::int64_t tokens, deps.auth->purge_expired_refresh_tokens());
  result["refresh_tokens_deleted"] = tokens;
  if (ctx.cancelled()) return Status::cancelled("retention cancelled");

  std::int64_t jobs_deleted = 0;
  if (c.jobs.retention_days > 0) {
    const UnixMillis cutoff = now - static_cast<std::int64_t>(c.jobs.retention_days) * kDayMs;
    ctx.progress(50, "finished jobs");
    ARGUS_ASSIGN_OR_RETURN(jobs_deleted, deps.store->delete_jobs_finished_before(cutoff));
    result["cutoff"] = format_rfc3339(cutoff);
    ctx.progress(60, "events, detections and counts");
    ARGUS_ASSIGN_OR_RETURN(PurgeStats purged, deps.store->purge_analytics_before(cutoff));
    result["events_deleted"] = purged.events;
    result["detections_deleted"] = purged.detections;
    result["count_rows_deleted"] = purged.count_rows + purged.hourly_rows + purged.daily_rows;
    ctx.progress(80, "snapshot files");
    MediaRemoval removed = remove_media_files(deps.media_dir, purged.snapshots);
    result["media_files_deleted"] = removed.files;
    result["media_bytes_freed"] = removed.bytes;
    ARGUS_ASSIGN_OR_RETURN(std::int64_t alerts_deleted, deps.store->delete_alerts_resolved_before(cutoff));
    result["alerts_deleted"] = alerts_deleted;
    DeadLetterFilter old_letters;
    old_letters.failed_before = cutoff;
    ARGUS_ASSIGN_OR_RETURN(std::int64_t letters_deleted, deps.store->delete_dead_letters(old_letters));
    result["dead_letters_deleted"] = letters_deleted;
  }
  result["jobs_deleted"] = jobs_deleted;
  if (audit > 0 || tokens > 0 || jobs_deleted > 0 || result.value("events_deleted", 0) > 0 ||
      result.value("count_rows_deleted", 0) > 0) {
    log::info("retention", result);
  }
  ctx.set_result(std::move(result));
  return Status::ok_status();
}

}  // namespace

Result<fs::path> resolve_video(const fs::path& root, const std::string& relative) {
  const std::string bad = "params.file must be a path relative to the videos directory, without '..'";
  if (relative.empty() || relative.find('\0') != std::string::npos) return Status::invalid_argument(bad);
  fs::path rel(relative);
  if (rel.is_absolute() || rel.has_root_name() || rel.has_root_directory()) return Status::invalid_argument(bad);
  for (const auto& part : rel) {
    if (part == "..") return Status::invalid_argument(bad);
  }
  std::error_code ec;
  fs::path base = fs::canonical(root, ec);
  if (ec) return Status::not_found("no video '" + relative + "' (the videos directory does not exist)");
  fs::path full = fs::canonical(base / rel, ec);
  if (ec) return Status::not_found("no video '" + relative + "' in the videos directory");
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (b != base.end()) {
    return Status::invalid_argument("params.file '" + relative + "' leads outside the videos directory");
  }
  if (!fs::is_regular_file(full, ec)) return Status::not_found("'" + relative + "' is not a video file");
  return full;
}

Status register_maintenance_runners(jobs::JobManager& jobs, const MaintenanceDeps& deps) {
  ARGUS_RETURN_IF_ERROR(
      jobs.register_kind("vacuum", [store = deps.store](jobs::JobContext& ctx) { return run_vacuum(*store, ctx); }));
  ARGUS_RETURN_IF_ERROR(
      jobs.register_kind("retention", [deps](jobs::JobContext& ctx) { return run_retention(deps, ctx); }));
  ARGUS_RETURN_IF_ERROR(jobs.register_kind("rollup", [deps](jobs::JobContext& ctx) { return run_rollup(deps, ctx); }));
  ARGUS_RETURN_IF_ERROR(jobs.register_kind(
      "export", [deps](jobs::JobContext& ctx) { return run_export(deps, ctx); },
      [](const nlohmann::json& params) { return check_export(params); }));
  return Status::ok_status();
}

Status register_analyze_runner(jobs::JobManager& jobs, const Config& config) {
  std::error_code ec;
  fs::create_directories(videos_dir(config), ec);
  if (ec) return Status::io_error("cannot create the videos directory under " + config.data_dir + ": " + ec.message());
  return jobs.register_kind(
      "analyze", [&config](jobs::JobContext& ctx) { return run_analyze(config, ctx); },
      [&config](const nlohmann::json& params) { return check_analyze(config, params); });
}

std::vector<jobs::ScheduledTask> scheduled_tasks(const Config& config, const jobs::JobManager& jobs) {
  std::vector<jobs::ScheduledTask> out;
  std::vector<std::string> kinds = jobs.kinds();
  auto has = [&](const char* kind) { return std::find(kinds.begin(), kinds.end(), kind) != kinds.end(); };
  if (has("retention")) {
    out.push_back({.kind = "retention",
                   .interval = std::chrono::milliseconds(config.jobs.retention_interval_ms),
                   .run_at_start = true});
  }
  if (has("rollup")) {
    out.push_back({.kind = "rollup", .interval = std::chrono::milliseconds(config.jobs.rollup_interval_ms)});
  }
  return out;
}

}  // namespace argus::app
