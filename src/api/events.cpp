// Events and counts: /api/v1/events, /api/v1/events/{id}, /api/v1/events/{id}/snapshot.jpg,
// /api/v1/counts.
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/api.h"
#include "api/json_body.h"
#include "api/problem.h"
#include "auth/principal.h"
#include "pipeline/processor.h"
#include "store/store.h"

namespace argus::api {
namespace {

// A time parameter: RFC 3339, or an integer number of Unix seconds.
std::optional<Response> parse_time_param(const Request& req, std::string_view name, UnixMillis& out) {
  auto v = req.query_param(name);
  if (!v) return std::nullopt;
  if (auto t = parse_rfc3339(*v)) {
    out = *t;
    return std::nullopt;
  }
  long long secs = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), secs);
  if (!v->empty() && ec == std::errc() && p == v->data() + v->size() && secs >= 0 && secs < 100'000'000'000LL) {
    out = secs * 1000;
    return std::nullopt;
  }
  return problem(400, "bad-request",
                 std::string(name) + " must be an RFC 3339 time (2026-01-31T08:00:00Z) or Unix seconds", req);
}

// Reads a file that must lie under `root` (after resolving symlinks). nullopt if not.
std::optional<std::string> read_media(const std::string& root, const std::string& relative) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path base = fs::canonical(root, ec);
  if (ec) return std::nullopt;
  fs::path full = fs::weakly_canonical(base / relative, ec);
  if (ec) return std::nullopt;
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (b != base.end()) return std::nullopt;
  if (!fs::is_regular_file(full, ec)) return std::nullopt;
  std::ifstream in(full, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in.good() && !in.eof()) return std::nullopt;
  return ss.str();
}

}  // namespace

void Api::add_event_routes() {
  router_.add(Method::kGet, "/api/v1/events", Access::needs(auth::Permission::events_read), [this](Request& req) {
    // Polling fallback for stream clients: the messages after a stream id.
    if (req.query_param("after_id")) return poll_stream(req);
    Paging paging;
    if (auto err = parse_paging(req, paging)) return *err;
    EventQuery q;
    q.limit = paging.limit;
    q.after = paging.after;
    q.camera = req.query_param("camera").value_or("");
    q.label = req.query_param("label").value_or("");
    if (req.principal && req.principal->cameras) {
      if (!q.camera.empty()) {
        if (auto hidden = hide_camera(req, q.camera)) return *hidden;
      } else {
        q.cameras = req.principal->cameras;  // only what the caller may see
      }
    }
    if (auto err = parse_time_param(req, "from", q.from)) return *err;
    if (auto err = parse_time_param(req, "to", q.to)) return *err;
    auto page = deps_.store->list_events(q);
    if (!page.ok()) return status_problem(page.status(), req);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& e : page->items) items.push_back(pipeline::event_to_json(e));
    nlohmann::json doc{{"items", std::move(items)}};
    if (page->next_after) doc["next_cursor"] = encode_cursor(*page->next_after);
    return Response::json(200, doc);
  });

  router_.add(Method::kGet, "/api/v1/events/{id}", Access::needs(auth::Permission::events_read), [this](Request& req) {
    auto e = deps_.store->get_event(req.param("id"));
    if (!e.ok()) return status_problem(e.status(), req);
    if (req.principal && !req.principal->can_see_camera(e->camera_id)) {
      return problem(404, "not-found", "no event '" + req.param("id") + "'", req);
    }
    return Response::json(200, pipeline::event_to_json(*e));
  });

  router_.add(Method::kGet, "/api/v1/events/{id}/snapshot.jpg", Access::needs(auth::Permission::media_read), [this](Request& req) {
    auto e = deps_.store->get_event(req.param("id"));
    if (!e.ok()) return status_problem(e.status(), req);
    if (req.principal && !req.principal->can_see_camera(e->camera_id)) {
      return problem(404, "not-found", "no event '" + req.param("id") + "'", req);
    }
    if (e->snapshot.empty() || deps_.media_dir.empty()) {
      return problem(404, "not-found", "event " + e->id + " has no snapshot (yet)", req);
    }
    auto bytes = read_media(deps_.media_dir, e->snapshot);
    if (!bytes) return problem(404, "not-found", "the snapshot of event " + e->id + " is no longer stored", req);
    std::string etag = make_etag(*bytes);
    if (const std::string* inm = req.header("if-none-match"); inm != nullptr && etag_matches(*inm, etag)) {
      Response r = Response::empty(304);
      r.set_header("ETag", etag);
      return r;
    }
    Response r = Response::text(200, std::move(*bytes), "image/jpeg");
    r.set_header("ETag", etag);
    r.set_header("Cache-Control", "private, max-age=60");
    return r;
  });

  router_.add(Method::kGet, "/api/v1/counts", Access::needs(auth::Permission::counts_read), [this](Request& req) {
    CountQuery q;
    auto camera = req.query_param("camera");
    if (!camera || camera->empty()) return problem(400, "bad-request", "camera is required", req);
    q.camera = *camera;
    if (auto hidden = hide_camera(req, q.camera)) return *hidden;
    auto zone = req.query_param("zone");
    auto line = req.query_param("line");
    if (zone && line) return problem(400, "bad-request", "give zone or line, not both", req);
    if (zone) {
      q.scope = "zone";
      q.name = *zone;
    } else if (line) {
      q.scope = "line";
      q.name = *line;
    } else if (auto scope = req.query_param("scope")) {
      if (*scope != "camera" && *scope != "zone" && *scope != "line") {
        return problem(400, "bad-request", "scope must be camera, zone or line", req);
      }
      q.scope = *scope;
    }
    q.label = req.query_param("label").value_or("");
    if (auto err = parse_time_param(req, "from", q.from)) return *err;
    if (auto err = parse_time_param(req, "to", q.to)) return *err;
    Paging paging;
    paging.limit = 1000;
    if (auto err = parse_paging(req, paging)) return *err;
    q.limit = paging.limit;
    q.after = paging.after;
    auto page = deps_.store->query_counts(q);
    if (!page.ok()) return status_problem(page.status(), req);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& c : page->items) items.push_back(pipeline::count_to_json(c));
    nlohmann::json doc{{"items", std::move(items)}};
    if (page->next_after) doc["next_cursor"] = encode_cursor(*page->next_after);
    return Response::json(200, doc);
  });
}

}  // namespace argus::api
