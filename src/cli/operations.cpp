// The operator's commands: status, health (and its benchmark), jobs and maintenance.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/runner.h"

namespace argus::cli {
namespace {

using nlohmann::json;
using EnvPtr = std::shared_ptr<const Environment>;

// ---------------------------------------------------------------- status

struct StatusOptions {
  Common c;
  double watch = 0;
};

const char* const kStatusFooter =
    R"(Shows GET /api/v1/system/stats: uptime, version, process CPU, memory and open files,
each camera's state and frame rates, the detector's queue, the store's size, stream
subscribers, jobs, notifications and MQTT. Older servers without that route: the same
view from /api/v1/system/info and /api/v1/cameras.

Examples:
  argus status
  argus status --watch 2              # redraw every 2 s until Ctrl-C
  argus status --json | jq .cameras
  argus status --watch 10 >> stats.log  # piped: one snapshot after another)";

// A stats-shaped document from the routes every server has.
Reply fallback_stats(Runner& r, json& stats) {
  Reply info = r.call("GET", "/api/v1/system/info");
  if (!info.ok()) return info;
  auto cameras = r.list("/api/v1/cameras", {}, 500, "", true);
  if (!cameras.reply.ok()) return cameras.reply;
  stats = json::object();
  for (const char* key : {"version", "uptime_seconds"}) {
    if (info.doc.is_object() && info.doc.contains(key)) stats[key] = info.doc[key];
  }
  if (info.doc.is_object() && info.doc.contains("storage"))
    stats["store"] = {{"kind", info.doc["storage"].value("kind", "")}};
  stats["cameras"] = json::array();
  for (const auto& c : cameras.items) {
    json st = c.value("status", json::object());
    stats["cameras"].push_back({{"id", c.value("id", "")},
                                {"name", c.value("name", "")},
                                {"state", st.value("state", "")},
                                {"fps_in", st.value("fps_in", 0.0)},
                                {"fps_processed", st.value("fps_out", 0.0)},
                                {"frames_dropped", st.value("frames_dropped", 0)}});
  }
  return info;
}

Reply fetch_stats(Runner& r, json& stats) {
  const std::string path = "/api/v1/system/stats";
  Reply s = r.call("GET", path, nullptr, true);
  if (s.ok()) {
    stats = s.doc.is_object() ? s.doc : json::object();
    return s;
  }
  if (s.status != 404) {
    r.report("GET", path, s);
    return s;
  }
  return fallback_stats(r, stats);
}

std::string num(const json& doc, const char* key) {
  return doc.is_object() && doc.contains(key) ? text_of(doc[key]) : "-";
}

// The text of one snapshot.
std::string render_stats(const json& st, const Style& style, const std::string& server) {
  std::vector<std::pair<std::string, std::string>> f;
  f.emplace_back("server", server);
  if (st.contains("version")) f.emplace_back("version", text_of(st["version"]));
  if (st.contains("uptime_seconds") && st["uptime_seconds"].is_number()) {
    f.emplace_back("uptime", format_duration(st["uptime_seconds"].get<double>()));
  }
  if (const auto p = st.value("process", json()); p.is_object()) {
    std::string text;
    if (p.contains("cpu_seconds")) text += "cpu " + num(p, "cpu_seconds") + " s";
    if (p.contains("resident_memory_bytes") && p["resident_memory_bytes"].is_number()) {
      text +=
          (text.empty() ? "" : ", ") + std::string("memory ") + format_bytes(p["resident_memory_bytes"].get<double>());
    }
    if (p.contains("open_fds")) text += (text.empty() ? "" : ", ") + std::string("open files ") + num(p, "open_fds");
    f.emplace_back("process", text);
  }
  if (const auto d = st.value("detector", json()); d.is_object()) {
    std::string text = num(d, "kind");
    if (d.contains("workers")) text += ", " + num(d, "workers") + " workers";
    if (d.contains("queue_depth")) text += ", queue " + num(d, "queue_depth") + "/" + num(d, "queue_capacity");
    f.emplace_back("detector", text);
  }
  if (const auto s = st.value("store", json()); s.is_object()) {
    std::string text = num(s, "kind");
    if (s.contains("size_bytes") && s["size_bytes"].is_number()) {
      text += ", " + format_bytes(s["size_bytes"].get<double>());
    }
    f.emplace_back("store", text);
  }
  if (const auto s = st.value("streams", json()); s.is_object()) {
    f.emplace_back("streams", num(s, "subscribers") + " subscribers");
  }
  if (const auto j = st.value("jobs", json()); j.is_object()) {
    f.emplace_back("jobs", num(j, "queued") + " queued, " + num(j, "running") + " running");
  }
  // Members this client does not know yet: shown flattened.
  static const std::vector<std::string> kKnown = {"version", "uptime_seconds", "process", "detector",
                                                  "store",   "streams",        "jobs",    "cameras"};
  for (const auto& [key, value] : st.items()) {
    if (std::find(kKnown.begin(), kKnown.end(), key) != kKnown.end()) continue;
    if (value.is_object()) {
      std::string text;
      for (const auto& [name, v] : flatten(value)) text += (text.empty() ? "" : ", ") + name + " " + v;
      f.emplace_back(key, text.empty() ? "-" : text);
    } else {
      f.emplace_back(key, text_of(value));
    }
  }
  std::ostringstream out;
  print_fields(out, style, f);
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : st.value("cameras", json::array())) {
    if (!c.is_object()) continue;
    rows.push_back({field(c, "/id"), field(c, "/name"), paint_state(style, field(c, "/state")), field(c, "/fps_in"),
                    field(c, "/fps_processed"), field(c, "/frames_dropped")});
    if (!style.terminal) rows.back().insert(rows.back().begin(), "camera");
  }
  if (style.terminal) {
    out << "\n";
    if (rows.empty()) {
      out << "no cameras\n";
    } else {
      print_table(out, style, {"CAMERA", "NAME", "STATE", "FPS IN", "FPS PROCESSED", "DROPPED"}, rows);
    }
  } else {
    print_table(out, style, {}, rows);
  }
  return out.str();
}

int run_status(const StatusOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  if (o.watch <= 0) {
    json stats;
    Reply reply = fetch_stats(r, stats);
    if (!reply.ok()) return reply.code;
    if (r.json_output()) return r.print_doc(stats);
    r.out() << render_stats(stats, r.style(), r.session().server());
    return kExitOk;
  }
  if (env.catch_interrupts) env.catch_interrupts();
  const long period_ms = std::max(100L, static_cast<long>(o.watch * 1000));
  while (!r.interrupted()) {
    json stats;
    Reply reply = fetch_stats(r, stats);
    if (reply.code == kExitUnauthorized) return reply.code;  // will not get better by waiting
    if (reply.ok()) {
      std::string text = r.json_output() ? stats.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"
                                         : render_stats(stats, r.style(), r.session().server());
      if (r.style().terminal) {
        r.out() << "\x1b[H\x1b[2J" << text << std::flush;
      } else {
        r.out() << text << (r.json_output() ? "" : "\n") << std::flush;
      }
    }
    if (!r.nap(period_ms)) break;
  }
  return kExitOk;
}

// ---------------------------------------------------------------- health

struct HealthOptions {
  Common c;
  bool verbose = false;
  int benchmark = 0;
};

const char* const kHealthFooter =
    R"(GET /health (the process answers) and GET /ready (its store works); exit 0 when both
pass, 1 when not. --verbose lists the readiness checks. --benchmark N sends N requests to
each of /health, /ready and the main API routes over one kept-alive connection and prints
latency percentiles (p50, p99, max) and requests per second per route.

Examples:
  argus health
  argus health --verbose
  argus health --benchmark 200
  argus health --benchmark 100 --json | jq '.routes[] | {route, p99_ms}')";

int run_benchmark(Runner& r, int n) {
  std::vector<std::string> routes = {
      "/health", "/ready", "/api/v1/system/info", "/api/v1/cameras", "/api/v1/events?limit=1", "/api/v1/jobs?limit=1"};
  Reply first = r.call("GET", "/api/v1/cameras?limit=1", nullptr, true);
  if (first.ok() && first.doc.is_object() && !first.doc.value("items", json::array()).empty()) {
    routes.push_back("/api/v1/counts?camera=" + url_encode(first.doc["items"][0].value("id", "")) + "&limit=1");
  }
  r.session().client().set_retry_policy({.attempts = 1});
  json results = json::array();
  bool all_ok = true;
  bool any_limited = false;
  for (const auto& route : routes) {
    std::vector<double> ms;
    ms.reserve(static_cast<std::size_t>(n));
    int errors = 0;
    int limited = 0;  // 429: the server's per-caller rate limit (auth.read_rate)
    auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < n && !r.interrupted(); ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto answer = r.session().request("GET", route);
      auto t1 = std::chrono::steady_clock::now();
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      if (!answer.ok() || answer->status >= 400) ++errors;
      if (answer.ok() && answer->status == 429) ++limited;
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::sort(ms.begin(), ms.end());
    auto round3 = [](double v) { return std::round(v * 1000) / 1000; };
    results.push_back({{"route", route},
                       {"requests", ms.size()},
                       {"errors", errors},
                       {"rate_limited", limited},
                       {"p50_ms", round3(percentile(ms, 50))},
                       {"p99_ms", round3(percentile(ms, 99))},
                       {"max_ms", round3(ms.empty() ? 0 : ms.back())},
                       {"requests_per_second", round3(seconds > 0 ? static_cast<double>(ms.size()) / seconds : 0)}});
    if (errors > 0) all_ok = false;
    if (limited > 0) any_limited = true;
  }
  if (r.json_output()) {
    r.out() << json{{"server", r.session().server()}, {"requests_per_route", n}, {"routes", results}}.dump() << "\n";
  } else {
    Runner::Page page;
    page.items = results;
    r.print_list(page, {{"ROUTE", "/route"},
                        {"REQUESTS", "/requests"},
                        {"ERRORS", "/errors"},
                        {"P50 MS", "/p50_ms"},
                        {"P99 MS", "/p99_ms"},
                        {"MAX MS", "/max_ms"},
                        {"REQ/S", "/requests_per_second"}});
  }
  if (!all_ok) r.note("argus: some requests failed (see ERRORS)");
  if (any_limited) {
    r.note("argus: the server's rate limit answered 429 (its auth.read_rate setting); the figures include those");
  }
  return all_ok ? kExitOk : kExitFailed;
}

int run_health(const HealthOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  if (o.benchmark > 0) return run_benchmark(r, o.benchmark);
  Reply health = r.call("GET", "/health", nullptr, true);
  if (health.status == 0) {
    r.report("GET", "/health", health);
    return health.code;
  }
  Reply ready = r.call("GET", "/ready", nullptr, true);
  if (ready.status == 0) {
    r.report("GET", "/ready", ready);
    return ready.code;
  }
  const bool has_ready = ready.status != 404;
  const std::string health_status = health.doc.is_object() ? health.doc.value("status", "fail") : "fail";
  const std::string ready_status = ready.doc.is_object() ? ready.doc.value("status", "fail") : "fail";
  const bool ok = health.status == 200 && health_status == "pass" &&
                  (!has_ready || (ready.status == 200 && ready_status == "pass"));
  if (r.json_output()) {
    r.out() << json{{"server", r.session().server()}, {"health", health.doc}, {"ready", has_ready ? ready.doc : json()}}
                   .dump()
            << "\n";
    return ok ? kExitOk : kExitFailed;
  }
  std::vector<std::pair<std::string, std::string>> f = {{"server", r.session().server()},
                                                        {"health", paint_state(r.style(), health_status)}};
  if (has_ready) {
    f.emplace_back("ready", paint_state(r.style(), ready_status));
    if (ready.doc.is_object() && ready.doc.contains("version"))
      f.emplace_back("version", text_of(ready.doc["version"]));
  }
  print_fields(r.out(), r.style(), f);
  if (o.verbose && has_ready && ready.doc.is_object()) {
    std::vector<std::vector<std::string>> rows;
    const json checks = ready.doc.value("checks", json::object());
    for (const auto& [name, list] : checks.items()) {
      for (const auto& check : list) {
        std::string observed = field(check, "/observedValue");
        if (observed != "-" && check.contains("observedUnit")) observed += " " + text_of(check["observedUnit"]);
        if (check.contains("output")) observed = text_of(check["output"]);
        rows.push_back(
            {name, field(check, "/componentType"), paint_state(r.style(), field(check, "/status")), observed});
        if (!r.style().terminal) rows.back().insert(rows.back().begin(), "check");
      }
    }
    if (r.style().terminal) r.out() << "\n";
    print_table(r.out(), r.style(), {"CHECK", "TYPE", "STATUS", "OBSERVED"}, rows);
  }
  return ok ? kExitOk : kExitFailed;
}

// ---------------------------------------------------------------- jobs

bool final_state(const std::string& state) { return state == "succeeded" || state == "failed" || state == "cancelled"; }

// Polls a job until it ends; progress on stderr (a bar on a terminal, lines otherwise).
// kExitOk when it succeeded, kExitFailed when it failed, was cancelled, or `timeout_s`
// passed, or Ctrl-C stopped the wait; other codes when the server could not tell.
int wait_job(Runner& r, const std::string& id, double timeout_s, json* final_doc) {
  const bool bar = r.env().err_terminal;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  std::string last;
  while (true) {
    Reply j = r.call("GET", "/api/v1/jobs/" + url_encode(id));
    if (!j.ok()) {
      if (bar) r.err() << "\n";
      return j.code;
    }
    const std::string state = field(j.doc, "/state");
    const int progress = j.doc.value("progress", 0);
    std::string message =
        j.doc.contains("message") && j.doc["message"].is_string() ? j.doc["message"].get<std::string>() : "";
    if (bar) {
      if (message.size() > 40) message = message.substr(0, 39) + "~";
      r.err() << "\r" << id << " " << progress_bar(progress, 30) << " " << state << (message.empty() ? "" : " ")
              << message << "\x1b[K" << std::flush;
    } else {
      std::string line =
          "job " + id + ": " + state + " " + std::to_string(progress) + "%" + (message.empty() ? "" : " " + message);
      if (line != last) r.err() << line << "\n" << std::flush;
      last = line;
    }
    if (final_state(state)) {
      if (bar) r.err() << "\n";
      if (final_doc != nullptr) *final_doc = j.doc;
      if (state != "succeeded") {
        r.note("argus: job " + id + " " + state +
               (j.doc.contains("error") && j.doc["error"].is_string() ? ": " + j.doc["error"].get<std::string>() : ""));
        return kExitFailed;
      }
      return kExitOk;
    }
    if (timeout_s > 0 && std::chrono::steady_clock::now() >= deadline) {
      if (bar) r.err() << "\n";
      r.note("argus: timed out waiting for job " + id + " (still " + state + ")");
      if (final_doc != nullptr) *final_doc = j.doc;
      return kExitFailed;
    }
    if (!r.nap(500)) {
      if (bar) r.err() << "\n";
      r.note("argus: stopped waiting; job " + id + " goes on");
      return kExitFailed;
    }
  }
}

struct JobsOptions {
  Common c;
  std::string kind;
  std::vector<std::string> params;
  std::string body;
  std::string id;
  std::string state;
  int limit = 0;
  std::string cursor;
  bool all = false;
  bool wait = false;
  double timeout = 0;
};

const std::vector<Column> kJobColumns = {{"ID", "/id"},
                                         {"KIND", "/kind"},
                                         {"STATE", "/state"},
                                         {"PROGRESS", "/progress"},
                                         {"CREATED", "/created_at"},
                                         {"MESSAGE", "/message"}};

int print_job_result(Runner& r, const json& job, int code) {
  if (r.json_output()) {
    r.print_doc(job);
  } else {
    r.print_doc(
        job, std::vector<std::pair<std::string, std::string>>{{"id", field(job, "/id")},
                                                              {"kind", field(job, "/kind")},
                                                              {"state", paint_state(r.style(), field(job, "/state"))},
                                                              {"progress", field(job, "/progress")},
                                                              {"error", field(job, "/error")},
                                                              {"result", field(job, "/result")}});
  }
  return code;
}

int run_jobs_submit(const JobsOptions& o, const Environment& env) {
  json params = json::object();
  if (!o.body.empty()) {
    params = json::parse(o.body, nullptr, false);
    if (params.is_discarded() || !params.is_object()) {
      return fail(env, Status::invalid_argument("--body must be a JSON object (the job's params)"));
    }
  }
  for (const auto& p : o.params) {
    auto kv = parse_param(p);
    if (!kv.ok()) return fail(env, kv.status());
    params[kv->first] = kv->second;
  }
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  json body{{"kind", o.kind}};
  if (!params.empty()) body["params"] = params;
  Reply job = r.call("POST", "/api/v1/jobs", body);
  if (!job.ok()) return job.code;
  const std::string id = field(job.doc, "/id");
  if (!o.wait) {
    if (r.json_output()) return r.print_doc(job.doc);
    r.out() << id << "\n";
    r.note("queued job " + id + " (" + o.kind + "); follow it with: argus jobs wait " + id);
    return kExitOk;
  }
  if (env.catch_interrupts) env.catch_interrupts();
  json final_doc = job.doc;
  int code = wait_job(r, id, o.timeout, &final_doc);
  return print_job_result(r, final_doc, code);
}

// ---------------------------------------------------------------- videos

struct VideosOptions {
  Common c;
  std::string path;
  std::string name;
  bool analyze = false;
  double fps = 0;
  bool wait = false;
  double timeout = 0;
  int limit = 0;
};

int run_videos_list(const VideosOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  std::string path = "/api/v1/videos";
  if (o.limit > 0) path += "?limit=" + std::to_string(o.limit);
  Runner::Page page;
  page.reply = r.call("GET", path);
  if (!page.reply.ok()) return page.reply.code;
  if (page.reply.doc.contains("items")) page.items = page.reply.doc["items"];
  return r.print_list(page, {{"FILE", "/file"}, {"SIZE", "/size"}, {"MODIFIED", "/modified"}});
}

// Sends a file through a resumable upload (POST /api/v1/uploads, then PUT chunks); a 409
// (a retried chunk that had arrived, another client) resumes from the server's offset.
int run_videos_upload(const VideosOptions& o, const Environment& env) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(o.path, ec);
  if (ec) return fail(env, Status::not_found("cannot read " + o.path + ": " + ec.message()));
  std::ifstream in(o.path, std::ios::binary);
  if (!in) return fail(env, Status::not_found("cannot open " + o.path));
  const std::string name = o.name.empty() ? std::filesystem::path(o.path).filename().string() : o.name;
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Reply up = r.call("POST", "/api/v1/uploads", {{"name", name}, {"size", size}});
  if (!up.ok()) return up.code;
  const std::string id = field(up.doc, "/id");
  const auto chunk = std::max<std::size_t>(up.doc.value("chunk_bytes", std::size_t{1} << 20), 1);
  const bool bar = env.err_terminal;
  std::int64_t offset = 0;
  int resyncs = 0;
  std::string buffer(chunk, '\0');
  json done = up.doc;
  while (offset < static_cast<std::int64_t>(size)) {
    if (r.interrupted()) {
      if (bar) r.err() << "\n";
      r.note("argus: upload " + id + " stopped at byte " + std::to_string(offset) + "; it is kept for a day");
      return kExitFailed;
    }
    in.clear();
    in.seekg(offset);
    in.read(buffer.data(), static_cast<std::streamsize>(chunk));
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n == 0) return fail(env, Status::io_error("cannot read " + o.path + " at byte " + std::to_string(offset)));
    const std::string path = "/api/v1/uploads/" + url_encode(id) + "?offset=" + std::to_string(offset);
    Reply put = r.call_bytes("PUT", path, buffer.substr(0, n), "application/octet-stream", true);
    if (put.status == 409 && put.http.header("upload-offset") != nullptr && ++resyncs <= 5) {
      offset = std::stoll(*put.http.header("upload-offset"));
      continue;
    }
    if (!put.ok()) {
      if (bar) r.err() << "\n";
      r.report("PUT", path, put);
      return put.code;
    }
    offset = put.doc.value("received", offset + static_cast<std::int64_t>(n));
    done = put.doc;
    const int percent = size == 0 ? 100 : static_cast<int>(offset * 100 / static_cast<std::int64_t>(size));
    if (bar) r.err() << "\r" << name << " " << progress_bar(percent, 30) << "\x1b[K" << std::flush;
  }
  if (bar) r.err() << "\n";
  const std::string file = field(done, "/file");
  if (!o.analyze) {
    if (r.json_output()) return r.print_doc(done);
    r.out() << file << "\n";
    r.note("uploaded " + std::to_string(size) + " bytes as " + file + "; analyze it with: argus jobs submit analyze -p file=" +
           file);
    return kExitOk;
  }
  json params{{"file", file}};
  if (o.fps > 0) params["fps"] = o.fps;
  Reply job = r.call("POST", "/api/v1/jobs", {{"kind", "analyze"}, {"params", params}});
  if (!job.ok()) return job.code;
  const std::string job_id = field(job.doc, "/id");
  if (!o.wait) {
    if (r.json_output()) return r.print_doc(job.doc);
    r.out() << job_id << "\n";
    r.note("uploaded " + file + "; analysis queued as job " + job_id + ": argus jobs wait " + job_id);
    return kExitOk;
  }
  if (env.catch_interrupts) env.catch_interrupts();
  json final_doc = job.doc;
  int code = wait_job(r, job_id, o.timeout, &final_doc);
  return print_job_result(r, final_doc, code);
}

int run_jobs_list(const JobsOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  auto page = r.list("/api/v1/jobs", {{"kind", o.kind}, {"state", o.state}}, o.limit, o.cursor, o.all);
  if (!page.reply.ok()) return page.reply.code;
  return r.print_list(page, kJobColumns);
}

int run_jobs_show(const JobsOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Reply job = r.call("GET", "/api/v1/jobs/" + url_encode(o.id));
  if (!job.ok()) return job.code;
  return r.print_doc(job.doc);
}

int run_jobs_wait(const JobsOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  if (env.catch_interrupts) env.catch_interrupts();
  json final_doc;
  int code = wait_job(r, o.id, o.timeout, &final_doc);
  if (final_doc.is_null()) return code;
  return print_job_result(r, final_doc, code);
}

int run_jobs_cancel(const JobsOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Reply job = r.call("POST", "/api/v1/jobs/" + url_encode(o.id) + "/cancel");
  if (!job.ok()) return job.code;
  return print_job_result(r, job.doc, kExitOk);
}

// ---------------------------------------------------------------- maintenance

struct MaintenanceOptions {
  Common c;
  bool retention = false;
  bool vacuum = false;
  bool wait = false;
  double timeout = 0;
};

int run_maintenance(const MaintenanceOptions& o, const Environment& env) {
  std::vector<std::string> kinds;
  if (o.retention || !o.vacuum) kinds.push_back("retention");
  if (o.vacuum || !o.retention) kinds.push_back("vacuum");
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  json jobs = json::array();
  for (const auto& kind : kinds) {
    Reply job = r.call("POST", "/api/v1/jobs", json{{"kind", kind}});
    if (!job.ok()) return job.code;
    jobs.push_back(job.doc);
    r.note("queued " + kind + " job " + field(job.doc, "/id"));
  }
  int code = kExitOk;
  if (o.wait) {
    if (env.catch_interrupts) env.catch_interrupts();
    for (auto& job : jobs) {
      json final_doc = job;
      int c = wait_job(r, field(job, "/id"), o.timeout, &final_doc);
      job = final_doc;
      if (c != kExitOk && code == kExitOk) code = c;
      if (c != kExitOk && c != kExitFailed) break;
    }
  }
  Runner::Page page;
  page.items = jobs;
  r.print_list(page, {{"ID", "/id"}, {"KIND", "/kind"}, {"STATE", "/state"}, {"RESULT", "/result"}});
  return code;
}

template <typename Options, typename Fn>
void on_run(CLI::App* cmd, std::shared_ptr<Options> o, int* exit_code, EnvPtr env, Fn fn) {
  cmd->callback([o, exit_code, env, fn] { *exit_code = fn(*o, *env); });
}

}  // namespace

void add_operation_commands(CLI::App& cli, int* exit_code, EnvPtr env) {
  {
    auto o = std::make_shared<StatusOptions>();
    CLI::App* cmd =
        cli.add_subcommand("status", "Show the server's overview: uptime, cameras, detector, store, streams");
    add_connection_options(cmd, o->c);
    cmd->add_option("-w,--watch", o->watch, "Redraw every SECONDS until Ctrl-C (piped: print each snapshot)")
        ->check(CLI::PositiveNumber);
    cmd->footer(kStatusFooter);
    on_run(cmd, o, exit_code, env, run_status);
  }
  {
    auto o = std::make_shared<HealthOptions>();
    CLI::App* cmd = cli.add_subcommand("health", "Check the server's health and readiness, or benchmark its routes");
    add_connection_options(cmd, o->c);
    cmd->add_flag("-v,--verbose", o->verbose, "List every readiness check");
    cmd->add_option("--benchmark", o->benchmark, "Send N requests to each main route and print latencies")
        ->check(CLI::Range(1, 1'000'000));
    cmd->footer(kHealthFooter);
    on_run(cmd, o, exit_code, env, run_health);
  }
  {
    CLI::App* jobs = cli.add_subcommand("jobs", "Background jobs: submit, list, show, wait for, cancel");
    jobs->require_subcommand(1);
    jobs->footer(R"(Examples:
  argus jobs submit vacuum --wait
  argus jobs submit analyze --param file=entrance/2026-01-31.mp4 --param fps=5
  argus jobs submit export --body '{"what": "events", "format": "csv"}'
  argus jobs list --state running
  argus jobs wait 01HV... --timeout 600)");
    auto o = std::make_shared<JobsOptions>();

    CLI::App* submit =
        jobs->add_subcommand("submit", "Queue a job of KIND (analyze, export, retention, vacuum, rollup)");
    add_connection_options(submit, o->c);
    submit->add_option("kind", o->kind, "The job kind")->required();
    submit->add_option("-p,--param", o->params, "A parameter key=value (the value is JSON if it parses, else text)")
        ->allow_extra_args(false);
    submit->add_option("--body", o->body, "All parameters as one JSON object");
    submit->add_flag("--wait", o->wait, "Wait for the job to end (exit 1 unless it succeeds)");
    submit->add_option("--timeout", o->timeout, "With --wait: give up after SECONDS");
    submit->footer(R"(Prints the new job's id (--json: the job). With --wait, the final job.
Examples:
  argus jobs submit vacuum --wait
  argus jobs submit analyze -p file=clips/a.mp4 -p fps=5
  id=$(argus jobs submit retention) && argus jobs wait "$id")");
    on_run(submit, o, exit_code, env, run_jobs_submit);

    CLI::App* list = jobs->add_subcommand("list", "List jobs, newest first");
    add_connection_options(list, o->c);
    list->add_option("--kind", o->kind, "Only this kind");
    list->add_option("--state", o->state, "Only this state (queued, running, succeeded, failed, cancelled)");
    list->add_option("--limit", o->limit, "Page size (server default 50, at most 500)")->check(CLI::PositiveNumber);
    list->add_option("--cursor", o->cursor, "Continue from a previous page");
    list->add_flag("--all", o->all, "Follow every page");
    list->footer("Examples:\n  argus jobs list\n  argus jobs list --kind analyze --state failed --json");
    on_run(list, o, exit_code, env, run_jobs_list);

    CLI::App* show = jobs->add_subcommand("show", "Show one job");
    add_connection_options(show, o->c);
    show->add_option("id", o->id, "The job id")->required();
    show->footer("Examples:\n  argus jobs show 01HV...\n  argus jobs show 01HV... --json | jq .result");
    on_run(show, o, exit_code, env, run_jobs_show);

    CLI::App* wait = jobs->add_subcommand("wait", "Wait for a job to end; exit 1 when it fails or is cancelled");
    add_connection_options(wait, o->c);
    wait->add_option("id", o->id, "The job id")->required();
    wait->add_option("--timeout", o->timeout, "Give up after SECONDS (exit 1)");
    wait->footer(R"(A progress bar on stderr when it is a terminal, else one line per change.
Examples:
  argus jobs wait 01HV...
  argus jobs wait 01HV... --timeout 300 --json)");
    on_run(wait, o, exit_code, env, run_jobs_wait);

    CLI::App* cancel = jobs->add_subcommand("cancel", "Cancel a queued or running job");
    add_connection_options(cancel, o->c);
    cancel->add_option("id", o->id, "The job id")->required();
    cancel->footer("Examples:\n  argus jobs cancel 01HV...");
    on_run(cancel, o, exit_code, env, run_jobs_cancel);
  }
  {
    auto o = std::make_shared<VideosOptions>();
    CLI::App* videos = cli.add_subcommand("videos", "Videos for analysis: list them, upload one");
    videos->require_subcommand(1);
    videos->footer(R"(Examples:
  argus videos list
  argus videos upload lobby.mp4
  argus videos upload lobby.mp4 --analyze --fps 5 --wait)");
    CLI::App* list = videos->add_subcommand("list", "List the videos analyze jobs can read");
    add_connection_options(list, o->c);
    list->add_option("--limit", o->limit, "At most this many (server default 1000, at most 500 per call)")
        ->check(CLI::PositiveNumber);
    list->footer("Examples:\n  argus videos list\n  argus videos list --json | jq -r '.[].file'");
    on_run(list, o, exit_code, env, run_videos_list);

    CLI::App* upload = videos->add_subcommand("upload", "Upload a video file in resumable chunks");
    add_connection_options(upload, o->c);
    upload->add_option("file", o->path, "The video file to send")->required();
    upload->add_option("--name", o->name, "The name to store it under (default: the file's name)");
    upload->add_flag("--analyze", o->analyze, "Queue an analyze job for it once uploaded");
    upload->add_option("--fps", o->fps, "With --analyze: frames per second to analyze")->check(CLI::PositiveNumber);
    upload->add_flag("--wait", o->wait, "With --analyze: wait for the job (exit 1 unless it succeeds)");
    upload->add_option("--timeout", o->timeout, "With --wait: give up after SECONDS");
    upload->footer(R"(Prints the stored path (videos/uploads/NAME, relative to the videos directory);
with --analyze the job id, and with --wait the finished job. A progress bar on a terminal.
Examples:
  argus videos upload lobby.mp4
  argus videos upload lobby.mp4 --analyze --fps 5 --wait --json | jq .result)");
    on_run(upload, o, exit_code, env, run_videos_upload);
  }
  {
    auto o = std::make_shared<MaintenanceOptions>();
    CLI::App* cmd = cli.add_subcommand("maintenance", "Run retention and/or vacuum as background jobs");
    add_connection_options(cmd, o->c);
    cmd->add_flag("--retention", o->retention, "Delete what is past its retention (audit, sessions, old data)");
    cmd->add_flag("--vacuum", o->vacuum, "Compact the database");
    cmd->add_flag("--wait", o->wait, "Wait for the jobs to end (exit 1 unless all succeed)");
    cmd->add_option("--timeout", o->timeout, "With --wait: give up after SECONDS per job");
    cmd->footer(R"(Without --retention or --vacuum, both run (retention first).
Examples:
  argus maintenance --wait
  argus maintenance --vacuum --wait --json)");
    on_run(cmd, o, exit_code, env, run_maintenance);
  }
}

}  // namespace argus::cli
