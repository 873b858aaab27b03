// The resource commands: cameras, events (with the live tail), counts, alerts, dlq, users
// and keys. Each is a thin mapping of flags onto one documented route (docs/openapi.yaml).
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/runner.h"
#include "cli/terminal.h"

namespace argus::cli {
namespace {

using nlohmann::json;
using EnvPtr = std::shared_ptr<const Environment>;
using Query = std::vector<std::pair<std::string, std::string>>;

template <typename Options, typename Fn>
void on_run(CLI::App* cmd, std::shared_ptr<Options> o, int* exit_code, EnvPtr env, Fn fn) {
  cmd->callback([o, exit_code, env, fn] { *exit_code = fn(*o, *env); });
}

// Options of a paged list.
struct Paging {
  int limit = 0;
  std::string cursor;
  bool all = false;
};

void add_paging(CLI::App* cmd, Paging& p) {
  cmd->add_option("--limit", p.limit, "Page size (at most 500)")->check(CLI::PositiveNumber);
  cmd->add_option("--cursor", p.cursor, "Continue from the next_cursor of a previous page");
  cmd->add_flag("--all", p.all, "Follow the cursors and list every page");
}

std::string id_path(const std::string& collection, const std::string& id) { return collection + "/" + url_encode(id); }

// Reads a JSON document from FILE, or standard input for "-".
Result<json> read_json_file(const Environment& env, const std::string& file) {
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(*env.in), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file);
    if (!in) return Status::invalid_argument("cannot read " + file);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::invalid_argument((file == "-" ? std::string("standard input") : file) + " is not a JSON object");
  }
  return doc;
}

// ---------------------------------------------------------------- cameras

struct CameraOptions {
  Common c;
  Paging paging;
  std::string id;
  std::string name;
  std::string kind;
  std::string url;
  double fps = 0;
  std::vector<std::string> labels;
  double min_score = -1;
  bool enable = false;
  bool disable = false;
  std::string file;
};

const std::vector<Column> kCameraColumns = {{"ID", "/id"},
                                            {"NAME", "/name"},
                                            {"ENABLED", "/enabled"},
                                            {"STATE", "/status/state"},
                                            {"FPS IN", "/status/fps_in"},
                                            {"FPS OUT", "/status/fps_out"},
                                            {"SOURCE", "/source/url"}};

// The camera document the flags describe, on top of --file when given.
Result<json> camera_body(const CameraOptions& o, const Environment& env, bool create) {
  json doc = json::object();
  if (!o.file.empty()) {
    ARGUS_ASSIGN_OR_RETURN(doc, read_json_file(env, o.file));
  }
  if (create && !o.id.empty()) doc["id"] = o.id;
  if (!o.name.empty()) doc["name"] = o.name;
  if (!o.kind.empty() || !o.url.empty()) {
    json source = doc.contains("source") && doc["source"].is_object() ? doc["source"] : json::object();
    if (!o.kind.empty()) source["kind"] = o.kind;
    if (!o.url.empty()) source["url"] = o.url;
    doc["source"] = source;
  }
  if (o.fps > 0 || !o.labels.empty() || o.min_score >= 0) {
    json det = doc.contains("detection") && doc["detection"].is_object() ? doc["detection"] : json::object();
    if (o.fps > 0) det["fps"] = o.fps;
    if (!o.labels.empty()) det["labels"] = o.labels;
    if (o.min_score >= 0) det["min_score"] = o.min_score;
    doc["detection"] = det;
  }
  if (o.enable) doc["enabled"] = true;
  if (o.disable) doc["enabled"] = false;
  if (create && !doc.contains("id")) return Status::invalid_argument("a camera needs an id (argument ID or in --file)");
  if (!create && doc.empty()) return Status::invalid_argument("nothing to change: give flags or --file");
  return doc;
}

int run_cameras_list(const CameraOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  auto page = r.list("/api/v1/cameras", {}, o.paging.limit, o.paging.cursor, o.paging.all);
  if (!page.reply.ok()) return page.reply.code;
  return r.print_list(page, kCameraColumns);
}

int run_cameras_show(const CameraOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Reply cam = r.call("GET", id_path("/api/v1/cameras", o.id));
  if (!cam.ok()) return cam.code;
  return r.print_doc(cam.doc);
}

int run_cameras_add(const CameraOptions& o, const Environment& env) {
  auto body = camera_body(o, env, true);
  if (!body.ok()) return fail(env, body.status());
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Reply cam = r.call("POST", "/api/v1/cameras", *body);
  if (!cam.ok()) return cam.code;
  if (!r.json_output()) r.note("created camera " + field(cam.doc, "/id"));
  return r.print_doc(cam.doc);
}

int patch_camera(Runner& r, const std::string& id, const json& patch) {
  Reply cam = r.call("PATCH", id_path("/api/v1/cameras", id), patch, false, {}, "application/merge-patch+json");
  if (!cam.ok()) return cam.code;
  return r.print_doc(cam.doc);
}

int run_cameras_update(const CameraOptions& o, const Environment& env) {
  auto body = camera_body(o, env, false);
  if (!body.ok()) return fail(env, body.status());
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  return patch_camera(r, o.id, *body);
}

int run_cameras_enable(const CameraOptions& o, const Environment& env, bool enabled) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  return patch_camera(r, o.id, json{{"enabled", enabled}});
}

// DELETE of one resource: prints {"deleted": id} with --json, a note otherwise.
int delete_one(Runner& r, const std::string& path, const std::string& id, const std::string& what,
               const char* key = "deleted") {
  Reply reply = r.call("DELETE", path);
  if (!reply.ok()) return reply.code;
  if (r.json_output()) {
    r.out() << json{{key, id}}.dump() << "\n";
  } else {
    r.note(what + " " + id + " " + key);
  }
  return kExitOk;
}

int run_cameras_rm(const CameraOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  return delete_one(r, id_path("/api/v1/cameras", o.id), o.id, "camera");
}

void add_camera_flags(CLI::App* cmd, CameraOptions& o) {
  cmd->add_option("--name", o.name, "Display name");
  cmd->add_option("--kind", o.kind, "Source kind: stream, mjpeg, snapshot, folder, file, push");
  cmd->add_option("--url", o.url, "Source URL (rtsp://, http(s)://, file:///...)");
  cmd->add_option("--fps", o.fps, "Detection frames per second (0.1 to 60)")->check(CLI::PositiveNumber);
  cmd->add_option("--label", o.labels, "A label to detect (repeat for several)")->allow_extra_args(false);
  cmd->add_option("--min-score", o.min_score, "Lowest detection score kept (0 to 1)")->check(CLI::Range(0.0, 1.0));
  auto* en = cmd->add_flag("--enable", o.enable, "Enabled (running)");
  cmd->add_flag("--disable", o.disable, "Disabled (stopped)")->excludes(en);
  cmd->add_option("-f,--file", o.file,
                  "A JSON document with the camera's members ('-': standard input); flags override it");
}

void add_cameras(CLI::App& cli, int* exit_code, EnvPtr env) {
  CLI::App* g = cli.add_subcommand("cameras", "Cameras: list, show, add, update, rm, enable, disable");
  g->require_subcommand(1);
  g->footer(R"(Examples:
  argus cameras list
  argus cameras add front-door --url rtsp://user:pass@192.168.1.20/stream1 --fps 5 --label person --label car
  argus cameras add --file camera.json
  argus cameras update front-door --name "Front door" --min-score 0.6
  argus cameras disable front-door
  argus cameras rm front-door)");
  auto o = std::make_shared<CameraOptions>();

  CLI::App* list = g->add_subcommand("list", "List cameras with their state");
  add_connection_options(list, o->c);
  add_paging(list, o->paging);
  list->footer(
      "Examples:\n  argus cameras list\n  argus cameras list --json | jq -r '.[].id'\n  argus cameras list | cut "
      "-f1,4");
  on_run(list, o, exit_code, env, run_cameras_list);

  CLI::App* show = g->add_subcommand("show", "Show one camera: configuration and live status");
  add_connection_options(show, o->c);
  show->add_option("id", o->id, "The camera id")->required();
  show->footer("Examples:\n  argus cameras show front-door\n  argus cameras show front-door --json | jq .status");
  on_run(show, o, exit_code, env, run_cameras_show);

  CLI::App* add = g->add_subcommand("add", "Create a camera");
  add_connection_options(add, o->c);
  add->add_option("id", o->id, "The camera id (a-z, 0-9, - and _)");
  add_camera_flags(add, *o);
  add->footer(R"(Examples:
  argus cameras add yard --url rtsp://10.0.0.5/live --fps 2
  argus cameras add pusher --kind push --disable
  argus cameras add --file camera.json
  cat camera.json | argus cameras add --file - --name "Overridden name")");
  on_run(add, o, exit_code, env, run_cameras_add);

  CLI::App* update = g->add_subcommand("update", "Change a camera (a JSON merge patch of the given members)");
  add_connection_options(update, o->c);
  update->add_option("id", o->id, "The camera id")->required();
  add_camera_flags(update, *o);
  update->footer(R"(Examples:
  argus cameras update yard --fps 1 --label person
  argus cameras update yard --file patch.json        # e.g. {"zones": [...]})");
  on_run(update, o, exit_code, env, run_cameras_update);

  CLI::App* rm = g->add_subcommand("rm", "Delete a camera (its events and counts stay)");
  add_connection_options(rm, o->c);
  rm->add_option("id", o->id, "The camera id")->required();
  rm->footer("Examples:\n  argus cameras rm yard");
  on_run(rm, o, exit_code, env, run_cameras_rm);

  for (bool enabled : {true, false}) {
    CLI::App* cmd = g->add_subcommand(enabled ? "enable" : "disable", enabled ? "Start a camera" : "Stop a camera");
    add_connection_options(cmd, o->c);
    cmd->add_option("id", o->id, "The camera id")->required();
    cmd->footer(std::string("Examples:\n  argus cameras ") + (enabled ? "enable" : "disable") + " yard");
    cmd->callback([o, exit_code, env, enabled] { *exit_code = run_cameras_enable(*o, *env, enabled); });
  }
}

// ---------------------------------------------------------------- events

struct EventOptions {
  Common c;
  Paging paging;
  std::string id;
  std::string camera;
  std::string label;
  std::string zone;
  std::string line;
  std::string from;
  std::string to;
  std::string min_score;
  std::string reviewed;
  std::string sort;
  std::string topics = "events";
  int count = 0;
  double timeout = 0;
};

const std::vector<Column> kEventColumns = {{"ID", "/id"},           {"CAMERA", "/camera"},    {"LABEL", "/label"},
                                           {"SCORE", "/top_score"}, {"START", "/start_time"}, {"END", "/end_time"},
                                           {"ZONES", "/zones"},     {"REVIEWED", "/reviewed"}};

int run_events_list(const EventOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Query q = {{"camera", o.camera},       {"label", o.label},       {"zone", o.zone},
             {"line", o.line},           {"from", o.from},         {"to", o.to},
             {"min_score", o.min_score}, {"reviewed", o.reviewed}, {"sort", o.sort}};
  auto page = r.list("/api/v1/events", q, o.paging.limit, o.paging.cursor, o.paging.all);
  if (!page.reply.ok()) return page.reply.code;
  return r.print_list(page, kEventColumns);
}

int run_events_show(const EventOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Reply e = r.call("GET", id_path("/api/v1/events", o.id));
  if (!e.ok()) return e.code;
  return r.print_doc(e.doc);
}

// One stream message as a line: time, topic, and what it is about.
std::string tail_line(const json& env, const Style& style) {
  const json data = env.value("data", json());
  std::string what;
  if (env.value("topic", "") == "events" && data.is_object() && data.contains("event")) {
    const json& e = data["event"];
    what = field(data, "/type") + " " + field(e, "/id") + " " + field(e, "/camera") + " " + field(e, "/label") + " " +
           field(e, "/score");
  } else {
    what = text_of(data);
  }
  std::ostringstream out;
  print_table(out, style, {}, {{field(env, "/time"), field(env, "/topic"), what}});
  std::string s = out.str();
  if (style.terminal) {
    // The table printer pads cells; one header-less row still has its header line ("").
    auto nl = s.find('\n');
    if (nl != std::string::npos) s = s.substr(nl + 1);
  }
  return s;
}

int run_events_tail(const EventOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  if (env.catch_interrupts) env.catch_interrupts();
  const auto started = std::chrono::steady_clock::now();
  auto timed_out = [&] {
    return o.timeout > 0 &&
           std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(static_cast<long>(o.timeout * 1000));
  };
  const std::string path = "/api/v1/events/stream" + query_string({{"topics", o.topics}, {"cameras", o.camera}});
  std::string last_id;
  int seen = 0;
  bool connected_once = false;
  long backoff_ms = 500;
  SseParser parser;
  while (true) {
    RequestOptions ro;
    if (!last_id.empty()) ro.headers.emplace_back("Last-Event-ID", last_id);
    parser = SseParser();
    auto end = r.session().stream(
        path, ro,
        [&](std::string_view bytes) {
          for (const auto& m : parser.feed(bytes)) {
            json envelope = json::parse(m.data, nullptr, false);
            if (envelope.is_discarded()) continue;
            if (r.json_output()) {
              r.out() << envelope.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
            } else {
              r.out() << tail_line(envelope, r.style());
            }
            r.out().flush();
            if (!m.id.empty()) {
              last_id = m.id;
              ++seen;
              if (o.count > 0 && seen >= o.count) return false;
            }
          }
          return true;
        },
        [&] { return r.interrupted() || timed_out(); });
    if (!end.ok()) {
      if (!connected_once || end.status().code() != StatusCode::kUnavailable) return fail(env, end.status());
    } else if (end->status != 0 && (end->status < 200 || end->status > 299)) {
      Reply failed;
      failed.status = end->status;
      failed.http = end->answer;
      failed.code = (end->status == 401 || end->status == 403) ? kExitUnauthorized : kExitFailed;
      if (end->status != 503) {
        r.report("GET", path, failed);
        return failed.code;
      }
    } else {
      connected_once = true;
      backoff_ms = parser.retry_ms() > 0 ? parser.retry_ms() : 500;
    }
    if (o.count > 0 && seen >= o.count) return kExitOk;
    if (r.interrupted()) return kExitOk;
    if (timed_out()) {
      if (o.count > 0) {
        r.note("argus: timed out after " + std::to_string(seen) + " of " + std::to_string(o.count) + " messages");
        return kExitFailed;
      }
      return kExitOk;
    }
    // The stream ended or broke: resume after the last message seen.
    r.note("argus: stream interrupted; reconnecting" + (last_id.empty() ? "" : " after message " + last_id));
    if (!r.nap(std::min(backoff_ms, 5000L))) return kExitOk;
  }
}

void add_event_filters(CLI::App* cmd, EventOptions& o) {
  cmd->add_option("--camera", o.camera, "A camera id, or several comma-separated");
  cmd->add_option("--label", o.label, "Only this label (person, car, ...)");
  cmd->add_option("--zone", o.zone, "Only events that entered this zone");
  cmd->add_option("--line", o.line, "Only events that crossed this line");
  cmd->add_option("--from", o.from, "From this time (RFC 3339 or Unix seconds), inclusive");
  cmd->add_option("--to", o.to, "Until this time, exclusive");
  cmd->add_option("--min-score", o.min_score, "Only events whose top score is at least this (0 to 1)");
  cmd->add_option("--reviewed", o.reviewed, "Only reviewed (true) or unreviewed (false) events")
      ->check(CLI::IsMember({"true", "false"}));
  cmd->add_option("--sort", o.sort, "desc (newest first, default) or asc")->check(CLI::IsMember({"asc", "desc"}));
}

void add_events(CLI::App& cli, int* exit_code, EnvPtr env) {
  CLI::App* g = cli.add_subcommand("events", "Events (tracked objects): list, show, tail the live stream");
  g->require_subcommand(1);
  g->footer(R"(Examples:
  argus events list --camera front-door --label person --from 2026-01-31T00:00:00Z
  argus events show 01HV...
  argus events tail --camera front-door)");
  auto o = std::make_shared<EventOptions>();

  CLI::App* list = g->add_subcommand("list", "List events, newest first, filtered");
  add_connection_options(list, o->c);
  add_event_filters(list, *o);
  add_paging(list, o->paging);
  list->footer(R"(Examples:
  argus events list --limit 20
  argus events list --camera front,yard --zone porch --min-score 0.7 --reviewed false
  argus events list --from 2026-01-31T00:00:00Z --to 2026-02-01T00:00:00Z --all --json > day.json)");
  on_run(list, o, exit_code, env, run_events_list);

  CLI::App* show = g->add_subcommand("show", "Show one event");
  add_connection_options(show, o->c);
  show->add_option("id", o->id, "The event id")->required();
  show->footer("Examples:\n  argus events show 01HV...\n  argus events show 01HV... --json | jq .crossings");
  on_run(show, o, exit_code, env, run_events_show);

  CLI::App* tail = g->add_subcommand("tail", "Follow the live stream (Server-Sent Events) until Ctrl-C");
  add_connection_options(tail, o->c);
  tail->add_option("--camera", o->camera, "Only messages about these cameras (comma-separated)");
  tail->add_option("--topics", o->topics,
                   "Comma-separated topics (default events): events, detections, counts, "
                   "cameras, system, jobs, alerts");
  tail->add_option("-n,--count", o->count, "Exit 0 after N messages")->check(CLI::PositiveNumber);
  tail->add_option("--timeout", o->timeout, "Stop after SECONDS (exit 1 if --count was not reached)")
      ->check(CLI::PositiveNumber);
  tail->footer(R"(One line per message: time, topic, and for events the lifecycle type, id, camera, label
and score; --json prints each message's envelope as one JSON line. A broken connection is
resumed where it stopped (Last-Event-ID).
Examples:
  argus events tail
  argus events tail --camera front-door --topics events,alerts
  argus events tail --json --count 1 --timeout 60 | jq .data)");
  on_run(tail, o, exit_code, env, run_events_tail);
}

// ---------------------------------------------------------------- counts

struct CountOptions {
  Common c;
  Paging paging;
  std::string camera;
  std::string zone;
  std::string line;
  std::string scope;
  std::string label;
  std::string bucket;
  std::string from;
  std::string to;
};

int run_counts(const CountOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Query q = {{"camera", o.camera}, {"zone", o.zone},     {"line", o.line}, {"scope", o.scope},
             {"label", o.label},   {"bucket", o.bucket}, {"from", o.from}, {"to", o.to}};
  auto page = r.list("/api/v1/counts", q, o.paging.limit, o.paging.cursor, o.paging.all);
  if (!page.reply.ok()) return page.reply.code;
  return r.print_list(page, {{"TIME", "/time"},
                             {"SCOPE", "/scope"},
                             {"NAME", "/name"},
                             {"LABEL", "/label"},
                             {"SEEN", "/seen"},
                             {"IN", "/in"},
                             {"OUT", "/out"},
                             {"OCCUPANCY", "/occupancy"}});
}

void add_counts(CLI::App& cli, int* exit_code, EnvPtr env) {
  auto o = std::make_shared<CountOptions>();
  CLI::App* cmd = cli.add_subcommand("counts", "Count series of a camera per minute, hour or day");
  add_connection_options(cmd, o->c);
  cmd->add_option("--camera", o->camera, "The camera id")->required();
  auto* zone = cmd->add_option("--zone", o->zone, "Only this zone's series");
  cmd->add_option("--line", o->line, "Only this line's series")->excludes(zone);
  cmd->add_option("--scope", o->scope, "Only camera, zone or line series")
      ->check(CLI::IsMember({"camera", "zone", "line"}));
  cmd->add_option("--label", o->label, "Only this label");
  cmd->add_option("--bucket", o->bucket, "minute (default), hour or day")
      ->check(CLI::IsMember({"minute", "hour", "day"}));
  cmd->add_option("--from", o->from, "From this time (RFC 3339 or Unix seconds)");
  cmd->add_option("--to", o->to, "Until this time, exclusive");
  add_paging(cmd, o->paging);
  cmd->footer(R"(One row per bucket and series; --json prints the rows (CountRow) as an array.
Examples:
  argus counts --camera front-door --bucket hour --from 2026-01-31T00:00:00Z
  argus counts --camera front-door --line door --bucket day --all --json)");
  on_run(cmd, o, exit_code, env, run_counts);
}

// ---------------------------------------------------------------- alerts

struct AlertOptions {
  Common c;
  Paging paging;
  std::string id;
  std::string state;
  std::string severity;
  std::string camera;
  std::string rule;
  std::string acknowledged;
};

int run_alerts_list(const AlertOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Query q = {{"state", o.state},
             {"severity", o.severity},
             {"camera", o.camera},
             {"rule_id", o.rule},
             {"acknowledged", o.acknowledged}};
  auto page = r.list("/api/v1/alerts", q, o.paging.limit, o.paging.cursor, o.paging.all);
  if (!page.reply.ok()) return page.reply.code;
  return r.print_list(page, {{"ID", "/id"},
                             {"SEVERITY", "/severity"},
                             {"STATE", "/state"},
                             {"RULE", "/rule_name"},
                             {"CAMERA", "/camera"},
                             {"LABEL", "/label"},
                             {"STARTED", "/started_at"},
                             {"ACKNOWLEDGED", "/acknowledged_at"},
                             {"MESSAGE", "/message"}});
}

int run_alerts_ack(const AlertOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  RequestOptions once;
  once.idempotent = true;  // acknowledging twice leaves it acknowledged
  Reply a = r.call("POST", id_path("/api/v1/alerts", o.id) + "/ack", nullptr, false, once);
  if (!a.ok()) return a.code;
  return r.print_doc(a.doc);
}

void add_alerts(CLI::App& cli, int* exit_code, EnvPtr env) {
  CLI::App* g = cli.add_subcommand("alerts", "Alerts raised by the alert rules: list, ack");
  g->require_subcommand(1);
  g->footer("Examples:\n  argus alerts list --state firing\n  argus alerts ack 01HV...");
  auto o = std::make_shared<AlertOptions>();
  CLI::App* list = g->add_subcommand("list", "List alerts, newest first");
  add_connection_options(list, o->c);
  list->add_option("--state", o->state, "firing or resolved")->check(CLI::IsMember({"firing", "resolved"}));
  list->add_option("--severity", o->severity, "info, warning or critical")
      ->check(CLI::IsMember({"info", "warning", "critical"}));
  list->add_option("--camera", o->camera, "Only this camera");
  list->add_option("--rule", o->rule, "Only alerts of this rule id");
  list->add_option("--acknowledged", o->acknowledged, "true or false")->check(CLI::IsMember({"true", "false"}));
  add_paging(list, o->paging);
  list->footer(R"(Examples:
  argus alerts list --state firing --severity critical
  argus alerts list --camera yard --all --json)");
  on_run(list, o, exit_code, env, run_alerts_list);
  CLI::App* ack = g->add_subcommand("ack", "Acknowledge an alert");
  add_connection_options(ack, o->c);
  ack->add_option("id", o->id, "The alert id")->required();
  ack->footer("Examples:\n  argus alerts ack 01HV...");
  on_run(ack, o, exit_code, env, run_alerts_ack);
}

// ---------------------------------------------------------------- dlq

struct DlqOptions {
  Common c;
  Paging paging;
  std::string id;
  std::string channel;
  std::string kind;
  bool all = false;
  bool yes = false;
};

int run_dlq_list(const DlqOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  auto page =
      r.list("/api/v1/dlq", {{"channel", o.channel}, {"kind", o.kind}}, o.paging.limit, o.paging.cursor, o.paging.all);
  if (!page.reply.ok()) return page.reply.code;
  return r.print_list(page, {{"ID", "/id"},
                             {"KIND", "/kind"},
                             {"CHANNEL", "/channel_id"},
                             {"ATTEMPTS", "/attempts"},
                             {"FAILED", "/failed_at"},
                             {"ERROR", "/error"}});
}

int run_dlq_show(const DlqOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Reply d = r.call("GET", id_path("/api/v1/dlq", o.id));
  if (!d.ok()) return d.code;
  return r.print_doc(d.doc);
}

int run_dlq_requeue(const DlqOptions& o, const Environment& env) {
  if (o.id.empty() == !o.all) {
    return fail(env, Status::invalid_argument("requeue takes one letter's ID or --all"));
  }
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  if (!o.all) {
    RequestOptions once;
    once.idempotent = true;  // a letter requeued once is gone; again is 404, not a duplicate
    Reply d = r.call("POST", id_path("/api/v1/dlq", o.id) + "/requeue", nullptr, false, once);
    if (!d.ok()) return d.code;
    if (r.json_output()) return r.print_doc(d.doc.is_null() ? json{{"requeued", 1}} : d.doc);
    r.note("requeued " + o.id);
    return kExitOk;
  }
  Reply d = r.call("POST", "/api/v1/dlq/requeue" + query_string({{"channel", o.channel}, {"kind", o.kind}}));
  if (!d.ok()) return d.code;
  if (r.json_output()) return r.print_doc(d.doc);
  r.out() << field(d.doc, "/requeued") << "\n";
  r.note("requeued " + field(d.doc, "/requeued") + " dead letters");
  return kExitOk;
}

int run_dlq_purge(const DlqOptions& o, const Environment& env) {
  if (o.id.empty() && !o.yes) {
    if (!env.ask) {
      return fail(env, Status::invalid_argument("purging every dead letter needs --yes (no terminal to ask)"));
    }
    auto answer = env.ask(
        "Delete every dead letter" + std::string(o.channel.empty() && o.kind.empty() ? "" : " matching") + "? [y/N] ",
        true);
    if (!answer.ok() || (*answer != "y" && *answer != "yes")) {
      env.err->write("argus: nothing purged\n", 22);
      return kExitFailed;
    }
  }
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  if (!o.id.empty()) return delete_one(r, id_path("/api/v1/dlq", o.id), o.id, "dead letter", "purged");
  Reply d = r.call("DELETE", "/api/v1/dlq" + query_string({{"channel", o.channel}, {"kind", o.kind}}));
  if (!d.ok()) return d.code;
  if (r.json_output()) return r.print_doc(d.doc);
  r.out() << field(d.doc, "/purged") << "\n";
  r.note("purged " + field(d.doc, "/purged") + " dead letters");
  return kExitOk;
}

void add_dlq(CLI::App& cli, int* exit_code, EnvPtr env) {
  CLI::App* g =
      cli.add_subcommand("dlq", "Dead letters (notifications that ran out of retries): list, show, requeue, purge");
  g->require_subcommand(1);
  g->footer(R"(Examples:
  argus dlq list --channel ops-webhook
  argus dlq requeue --all --channel ops-webhook
  argus dlq purge --yes)");
  auto o = std::make_shared<DlqOptions>();
  CLI::App* list = g->add_subcommand("list", "List dead letters");
  add_connection_options(list, o->c);
  list->add_option("--channel", o->channel, "Only this channel id");
  list->add_option("--kind", o->kind, "Only this kind (webhook, email, mqtt)");
  add_paging(list, o->paging);
  list->footer("Examples:\n  argus dlq list\n  argus dlq list --kind webhook --json");
  on_run(list, o, exit_code, env, run_dlq_list);

  CLI::App* show = g->add_subcommand("show", "Show one dead letter with its payload");
  add_connection_options(show, o->c);
  show->add_option("id", o->id, "The dead letter id")->required();
  show->footer("Examples:\n  argus dlq show 17 --json | jq .payload");
  on_run(show, o, exit_code, env, run_dlq_show);

  CLI::App* requeue = g->add_subcommand("requeue", "Send dead letters again: one ID, or --all (filtered)");
  add_connection_options(requeue, o->c);
  requeue->add_option("id", o->id, "The dead letter id");
  requeue->add_flag("--all", o->all, "Every dead letter (matching --channel/--kind)");
  requeue->add_option("--channel", o->channel, "With --all: only this channel");
  requeue->add_option("--kind", o->kind, "With --all: only this kind");
  requeue->footer("Examples:\n  argus dlq requeue 17\n  argus dlq requeue --all --kind webhook");
  on_run(requeue, o, exit_code, env, run_dlq_requeue);

  CLI::App* purge = g->add_subcommand("purge", "Delete one dead letter, or all (matching) with --yes");
  add_connection_options(purge, o->c);
  purge->add_option("id", o->id, "The dead letter id (none: every one)");
  purge->add_option("--channel", o->channel, "Only this channel");
  purge->add_option("--kind", o->kind, "Only this kind");
  purge->add_flag("-y,--yes", o->yes, "Do not ask for confirmation");
  purge->footer("Examples:\n  argus dlq purge 17\n  argus dlq purge --channel old-hook --yes");
  on_run(purge, o, exit_code, env, run_dlq_purge);
}

// ---------------------------------------------------------------- users

struct UserOptions {
  Common c;
  Paging paging;
  std::string user;
  std::string role;
  std::vector<std::string> cameras;
  bool all_cameras = false;
  std::string display_name;
  bool disable = false;
  bool enable = false;
  bool password_stdin = false;
  std::string password_file;
};

// The user named by id or username.
Reply find_user(Runner& r, const std::string& who) {
  Reply by_id = r.call("GET", id_path("/api/v1/users", who), nullptr, true);
  if (by_id.ok() || by_id.status != 404) {
    if (!by_id.ok()) r.report("GET", "/api/v1/users/" + who, by_id);
    return by_id;
  }
  auto all = r.list("/api/v1/users", {}, 500, "", true);
  if (!all.reply.ok()) return all.reply;
  for (const auto& u : all.items) {
    if (u.value("username", "") == who) {
      Reply found = all.reply;
      found.doc = u;
      return found;
    }
  }
  r.report("GET", "/api/v1/users/" + who, by_id);
  return by_id;
}

int run_users_list(const UserOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  auto page = r.list("/api/v1/users", {}, o.paging.limit, o.paging.cursor, o.paging.all);
  if (!page.reply.ok()) return page.reply.code;
  Runner::Page shown = page;
  if (!r.json_output()) {  // a null scope means every camera
    for (auto& u : shown.items) {
      if (u.is_object() && u.contains("cameras") && u["cameras"].is_null()) u["cameras"] = "all";
    }
  }
  return r.print_list(shown, {{"ID", "/id"},
                              {"USERNAME", "/username"},
                              {"ROLE", "/role"},
                              {"CAMERAS", "/cameras"},
                              {"DISABLED", "/disabled"},
                              {"LAST LOGIN", "/last_login_at"}});
}

int run_users_show(const UserOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Reply u = find_user(r, o.user);
  if (!u.ok()) return u.code;
  return r.print_doc(u.doc);
}

int run_users_add(const UserOptions& o, const Environment& env) {
  auto password = read_password(env, o.password_file, o.password_stdin, "Password for " + o.user + ": ", true);
  if (!password.ok()) return fail(env, password.status());
  json body{{"username", o.user}, {"password", *password}};
  wipe(*password);
  if (!o.role.empty()) body["role"] = o.role;
  if (!o.display_name.empty()) body["display_name"] = o.display_name;
  if (!o.cameras.empty()) body["cameras"] = o.cameras;
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Reply u = r.call("POST", "/api/v1/users", body);
  if (!u.ok()) return u.code;
  if (!r.json_output()) r.note("created user " + field(u.doc, "/username") + " (" + field(u.doc, "/id") + ")");
  return r.print_doc(u.doc);
}

int run_users_update(const UserOptions& o, const Environment& env) {
  json body = json::object();
  if (!o.role.empty()) body["role"] = o.role;
  if (!o.display_name.empty()) body["display_name"] = o.display_name;
  if (!o.cameras.empty()) body["cameras"] = o.cameras;
  if (o.all_cameras) body["cameras"] = nullptr;
  if (o.disable) body["disabled"] = true;
  if (o.enable) body["disabled"] = false;
  if (body.empty())
    return fail(env, Status::invalid_argument("nothing to change: give --role, --camera, ... (see --help)"));
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Reply u = find_user(r, o.user);
  if (!u.ok()) return u.code;
  Reply changed = r.call("PATCH", id_path("/api/v1/users", field(u.doc, "/id")), body);
  if (!changed.ok()) return changed.code;
  return r.print_doc(changed.doc);
}

int run_users_rm(const UserOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Reply u = find_user(r, o.user);
  if (!u.ok()) return u.code;
  return delete_one(r, id_path("/api/v1/users", field(u.doc, "/id")), field(u.doc, "/id"), "user");
}

int run_users_passwd(const UserOptions& o, const Environment& env) {
  auto password = read_password(env, o.password_file, o.password_stdin, "New password for " + o.user + ": ", true);
  if (!password.ok()) return fail(env, password.status());
  Runner r(o.c, env);
  if (!r.open()) {
    wipe(*password);
    return r.code();
  }
  Reply u = find_user(r, o.user);
  if (!u.ok()) {
    wipe(*password);
    return u.code;
  }
  json body{{"password", *password}};
  wipe(*password);
  Reply done = r.call("POST", id_path("/api/v1/users", field(u.doc, "/id")) + "/password", body);
  body.clear();
  if (!done.ok()) return done.code;
  if (r.json_output()) {
    r.out() << json{{"password_reset", field(u.doc, "/id")}}.dump() << "\n";
  } else {
    r.note("password of " + field(u.doc, "/username") + " reset; their sessions are signed out");
  }
  return kExitOk;
}

void add_password_flags(CLI::App* cmd, UserOptions& o) {
  auto* s =
      cmd->add_flag("--password-stdin", o.password_stdin, "Read the password from the first line of standard input");
  cmd->add_option("--password-file", o.password_file, "Read the password from the first line of FILE")->excludes(s);
}

void add_users(CLI::App& cli, int* exit_code, EnvPtr env) {
  CLI::App* g = cli.add_subcommand("users", "Users (administrators): list, show, add, update, rm, passwd");
  g->require_subcommand(1);
  g->footer(R"(USER is a user id or a username. Passwords come from the terminal (asked twice),
--password-stdin or --password-file; never from a flag.
Examples:
  argus users add front-desk --role viewer --camera front-door --camera lobby
  argus users update front-desk --role operator --all-cameras
  argus users passwd front-desk --password-file new.txt
  argus users rm front-desk)");
  auto o = std::make_shared<UserOptions>();

  CLI::App* list = g->add_subcommand("list", "List users");
  add_connection_options(list, o->c);
  add_paging(list, o->paging);
  list->footer("Examples:\n  argus users list\n  argus users list --json | jq -r '.[].username'");
  on_run(list, o, exit_code, env, run_users_list);

  CLI::App* show = g->add_subcommand("show", "Show a user");
  add_connection_options(show, o->c);
  show->add_option("user", o->user, "User id or username")->required();
  show->footer("Examples:\n  argus users show front-desk");
  on_run(show, o, exit_code, env, run_users_show);

  CLI::App* add = g->add_subcommand("add", "Create a user");
  add_connection_options(add, o->c);
  add->add_option("username", o->user, "3 to 64 of a-z, 0-9, _ . -")->required();
  add->add_option("--role", o->role, "viewer (default), operator or admin");
  add->add_option("--camera", o->cameras, "Limit the user to this camera (repeat; default: every camera)")
      ->allow_extra_args(false);
  add->add_option("--display-name", o->display_name, "Display name");
  add_password_flags(add, *o);
  add->footer(
      "Examples:\n  argus users add alice --role operator\n  echo \"$PW\" | argus users add ci --password-stdin");
  on_run(add, o, exit_code, env, run_users_add);

  CLI::App* update = g->add_subcommand("update", "Change a user's role, cameras, name or disabled state");
  add_connection_options(update, o->c);
  update->add_option("user", o->user, "User id or username")->required();
  update->add_option("--role", o->role, "viewer, operator or admin");
  auto* cams = update->add_option("--camera", o->cameras, "Limit to this camera (repeat)")->allow_extra_args(false);
  update->add_flag("--all-cameras", o->all_cameras, "Every camera")->excludes(cams);
  update->add_option("--display-name", o->display_name, "Display name");
  auto* dis = update->add_flag("--disable", o->disable, "Disable (signs the user out)");
  update->add_flag("--enable", o->enable, "Enable again")->excludes(dis);
  update->footer("Examples:\n  argus users update alice --disable\n  argus users update alice --camera yard");
  on_run(update, o, exit_code, env, run_users_update);

  CLI::App* rm = g->add_subcommand("rm", "Delete a user, their sessions and API keys");
  add_connection_options(rm, o->c);
  rm->add_option("user", o->user, "User id or username")->required();
  rm->footer("Examples:\n  argus users rm alice");
  on_run(rm, o, exit_code, env, run_users_rm);

  CLI::App* passwd = g->add_subcommand("passwd", "Set a user's password (signs them out everywhere)");
  add_connection_options(passwd, o->c);
  passwd->add_option("user", o->user, "User id or username")->required();
  add_password_flags(passwd, *o);
  passwd->footer("Examples:\n  argus users passwd alice\n  argus users passwd alice --password-file pw.txt");
  on_run(passwd, o, exit_code, env, run_users_passwd);
}

// ---------------------------------------------------------------- keys

struct KeyOptions {
  Common c;
  Paging paging;
  std::string id;
  std::string name;
  std::vector<std::string> permissions;
  std::vector<std::string> cameras;
  std::string expires;
  bool all_users = false;
};

int run_keys_list(const KeyOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  auto page =
      r.list("/api/v1/keys", {{"all", o.all_users ? "true" : ""}}, o.paging.limit, o.paging.cursor, o.paging.all);
  if (!page.reply.ok()) return page.reply.code;
  return r.print_list(page, {{"ID", "/id"},
                             {"NAME", "/name"},
                             {"USER", "/user_id"},
                             {"PERMISSIONS", "/permissions"},
                             {"EXPIRES", "/expires_at"},
                             {"LAST USED", "/last_used_at"},
                             {"REVOKED", "/revoked_at"}});
}

int run_keys_create(const KeyOptions& o, const Environment& env) {
  json body{{"name", o.name}, {"permissions", o.permissions}};
  if (!o.cameras.empty()) body["cameras"] = o.cameras;
  if (!o.expires.empty()) body["expires_at"] = o.expires;
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  Reply k = r.call("POST", "/api/v1/keys", body);
  if (!k.ok()) return k.code;
  if (r.json_output()) return r.print_doc(k.doc);
  r.out() << field(k.doc, "/key") << "\n";
  r.note("created API key " + field(k.doc, "/id") + " (" + o.name + "); the key above is shown only once");
  return kExitOk;
}

int run_keys_revoke(const KeyOptions& o, const Environment& env) {
  Runner r(o.c, env);
  if (!r.open()) return r.code();
  return delete_one(r, id_path("/api/v1/keys", o.id), o.id, "API key", "revoked");
}

void add_keys(CLI::App& cli, int* exit_code, EnvPtr env) {
  CLI::App* g = cli.add_subcommand("keys", "API keys for integrations: list, create, revoke");
  g->require_subcommand(1);
  g->footer(R"(Examples:
  argus keys create home-assistant --permission cameras:read --permission events:read --permission streams:read
  argus keys list
  argus keys revoke 3f2a...)");
  auto o = std::make_shared<KeyOptions>();
  CLI::App* list = g->add_subcommand("list", "List your API keys (never their secrets)");
  add_connection_options(list, o->c);
  list->add_flag("--all-users", o->all_users, "Everyone's keys (administrators)");
  add_paging(list, o->paging);
  list->footer("Examples:\n  argus keys list\n  argus keys list --all-users --json");
  on_run(list, o, exit_code, env, run_keys_list);

  CLI::App* create = g->add_subcommand("create", "Create an API key; prints the key (shown only once)");
  add_connection_options(create, o->c);
  create->add_option("name", o->name, "A name for the key")->required();
  create->add_option("-p,--permission", o->permissions, "A permission it carries (repeat), e.g. events:read")
      ->allow_extra_args(false)
      ->required();
  create->add_option("--camera", o->cameras, "Limit it to this camera (repeat)")->allow_extra_args(false);
  create->add_option("--expires", o->expires, "Expiry time (RFC 3339)");
  create->footer(R"(Prints only the key on stdout (--json: the whole answer), so it can be captured.
Examples:
  KEY=$(argus keys create ci --permission jobs:write --permission jobs:read)
  argus keys create ha -p events:read -p streams:read --camera front-door --expires 2027-01-01T00:00:00Z)");
  on_run(create, o, exit_code, env, run_keys_create);

  CLI::App* revoke = g->add_subcommand("revoke", "Revoke an API key at once");
  add_connection_options(revoke, o->c);
  revoke->add_option("id", o->id, "The key id")->required();
  revoke->footer("Examples:\n  argus keys revoke 3f2a...");
  on_run(revoke, o, exit_code, env, run_keys_revoke);
}

}  // namespace

void add_resource_commands(CLI::App& cli, int* exit_code, EnvPtr env) {
  add_cameras(cli, exit_code, env);
  add_events(cli, exit_code, env);
  add_counts(cli, exit_code, env);
  add_alerts(cli, exit_code, env);
  add_dlq(cli, exit_code, env);
  add_users(cli, exit_code, env);
  add_keys(cli, exit_code, env);
}

}  // namespace argus::cli
