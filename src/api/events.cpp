// Events and counts: /api/v1/events (list, get, review, delete, detections, snapshot,
// export) and /api/v1/counts (series, export).
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>
#include <tuple>
#include <variant>

#include "api/api.h"
#include "api/file_serve.h"
#include "api/json_body.h"
#include "api/problem.h"
#include "auth/principal.h"
#include "bus/bus.h"
#include "core/log.h"
#include "pipeline/processor.h"
#include "store/export.h"
#include "store/store.h"

namespace argus::api {
namespace {

// Rows one export request may return; more is a 413 that suggests a narrower range or an
// export job. The export is built in memory, so this bounds the response size too.
constexpr std::size_t kMaxExportRows = 50'000;
constexpr std::size_t kMaxNoteChars = 2000;

// from and to, with from before to when both are given.
std::optional<Response> parse_time_range(const Request& req, UnixMillis& from, UnixMillis& to) {
  if (auto err = parse_time_param(req, "from", from)) return err;
  if (auto err = parse_time_param(req, "to", to)) return err;
  if (from != 0 && to != 0 && from >= to) return problem(400, "bad-request", "from must be before to", req);
  return std::nullopt;
}

// A query parameter that, when present, must not be empty.
std::optional<Response> non_empty_param(const Request& req, std::string_view name, std::string& out) {
  auto v = req.query_param(name);
  if (!v) return std::nullopt;
  if (v->empty()) return problem(400, "bad-request", std::string(name) + " must not be empty when given", req);
  out = *v;
  return std::nullopt;
}

std::size_t utf8_chars(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

nlohmann::json detection_to_json(const DetectionRecord& d) {
  return {{"time", format_rfc3339(d.time)}, {"label", d.label}, {"score", d.score}, {"box", d.box}};
}

// A filename-safe UTC timestamp for Content-Disposition ("20260131T080000Z").
std::string file_stamp(UnixMillis now) {
  std::string t = format_rfc3339(now);  // 2026-01-31T08:00:00.000Z
  std::string out;
  for (char c : t.substr(0, 19)) {
    if (c != '-' && c != ':') out += c;
  }
  return out + "Z";
}

Response export_response(std::string body, ExportFormat format, const std::string& what, UnixMillis now) {
  Response r = Response::text(200, std::move(body), std::string(export_content_type(format)));
  r.set_header("Content-Disposition", "attachment; filename=\"argus-" + what + "-" + file_stamp(now) +
                                          (format == ExportFormat::kCsv ? ".csv\"" : ".json\""));
  return r;
}

std::optional<Response> parse_format(const Request& req, ExportFormat& out) {
  auto v = req.query_param("format");
  auto f = parse_export_format(v.value_or("csv"));
  if (!f) return problem(400, "bad-request", "format must be csv or json", req);
  out = *f;
  return std::nullopt;
}

Response too_many_rows(const Request& req) {
  return problem(413, "export-too-large",
                 "more than " + std::to_string(kMaxExportRows) +
                     " rows match; narrow the time range (from, to) or the filters, or run an export job",
                 req);
}

// Fills `q` from the filters of GET /api/v1/events (and its export): camera (one id or a
// comma-separated list), label, zone, line, from, to, min_score, reviewed, sort. The
// caller's camera scope applies: one hidden camera is 404, hidden cameras in a list are
// left out, and no camera means every camera the caller may see.
std::optional<Response> parse_event_query(const Request& req, EventQuery& q,
                                          const std::function<std::optional<Response>(const std::string&)>& hide) {
  if (auto camera = req.query_param("camera")) {
    if (camera->find(',') == std::string::npos) {
      if (camera->empty()) return problem(400, "bad-request", "camera must not be empty when given", req);
      if (auto hidden = hide(*camera)) return hidden;
      q.camera = *camera;
    } else {
      std::vector<std::string> list;
      std::string_view rest = *camera;
      while (true) {
        std::size_t comma = rest.find(',');
        std::string id(rest.substr(0, comma));
        if (id.empty()) return problem(400, "bad-request", "camera must be a comma-separated list of camera ids", req);
        if (!req.principal || req.principal->can_see_camera(id)) list.push_back(std::move(id));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      q.cameras = std::move(list);
    }
  } else if (req.principal && req.principal->cameras) {
    q.cameras = req.principal->cameras;  // only what the caller may see
  }
  q.label = req.query_param("label").value_or("");
  if (auto err = non_empty_param(req, "zone", q.zone)) return err;
  if (auto err = non_empty_param(req, "line", q.line)) return err;
  if (auto err = parse_time_range(req, q.from, q.to)) return err;
  if (auto v = req.query_param("min_score")) {
    double score = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), score);
    if (v->empty() || ec != std::errc() || p != v->data() + v->size() || !std::isfinite(score) || score < 0 ||
        score > 1) {
      return problem(400, "bad-request", "min_score must be a number from 0 to 1", req);
    }
    q.min_score = score;
  }
  if (auto v = req.query_param("reviewed")) {
    if (*v != "true" && *v != "false") return problem(400, "bad-request", "reviewed must be true or false", req);
    q.reviewed = *v == "true";
  }
  if (auto v = req.query_param("sort")) {
    if (*v != "desc" && *v != "asc") {
      return problem(400, "bad-request", "sort must be desc (newest first) or asc (oldest first)", req);
    }
    q.ascending = *v == "asc";
  }
  return std::nullopt;
}

// Fills `q` from the parameters of GET /api/v1/counts (and its export): camera (required),
// zone or line or scope, label, bucket (minute, hour, day), from, to.
std::optional<Response> parse_count_query(const Request& req, CountSeriesQuery& q,
                                          const std::function<std::optional<Response>(const std::string&)>& hide) {
  auto camera = req.query_param("camera");
  if (!camera || camera->empty()) return problem(400, "bad-request", "camera is required", req);
  q.camera = *camera;
  if (auto hidden = hide(q.camera)) return hidden;
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
  if (auto bucket = req.query_param("bucket")) {
    if (*bucket == "minute") {
      q.bucket = CountBucket::kMinute;
    } else if (*bucket == "hour") {
      q.bucket = CountBucket::kHour;
    } else if (*bucket == "day") {
      q.bucket = CountBucket::kDay;
    } else {
      return problem(400, "bad-request", "bucket must be minute, hour or day", req);
    }
  }
  return parse_time_range(req, q.from, q.to);
}

// Removes the snapshot file of a deleted event; true if one was removed. The path must
// pass resolve_media_path; a symlink is removed itself, never its target.
bool remove_snapshot(const std::string& media_dir, const std::string& relative, const std::string& event_id) {
  if (relative.empty() || !resolve_media_path(media_dir, relative)) return false;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path rel(relative);
  fs::path root = fs::canonical(media_dir, ec);
  fs::path dir = ec ? fs::path() : fs::canonical(root / rel.parent_path(), ec);
  if (ec) return false;
  // The folder holding the file (or link) must itself lie inside the media root.
  auto [r, d] = std::mismatch(root.begin(), root.end(), dir.begin(), dir.end());
  if (r != root.end()) return false;
  bool removed = fs::remove(dir / rel.filename(), ec);
  if (ec) log::warn("cannot delete the snapshot of a deleted event", {{"event", event_id}, {"error", ec.message()}});
  return removed;
}

}  // namespace

void Api::add_event_routes() {
  auto hide = [this](const Request& req) {
    return [this, &req](const std::string& camera) { return hide_camera(req, camera); };
  };
  // The event if it exists and the caller may see its camera; else a 404 response.
  auto visible_event = [this](const Request& req) -> std::variant<EventRecord, Response> {
    auto e = deps_.store->get_event(req.param("id"));
    if (!e.ok()) return status_problem(e.status(), req);
    if (req.principal && !req.principal->can_see_camera(e->camera_id)) {
      return problem(404, "not-found", "event '" + req.param("id") + "' does not exist", req);
    }
    return std::move(e).value();
  };

  router_.add(Method::kGet, "/api/v1/events", Access::needs(auth::Permission::events_read), [this, hide](Request& req) {
    // Polling fallback for stream clients: the messages after a stream id.
    if (req.query_param("after_id")) return poll_stream(req);
    Paging paging;
    if (auto err = parse_paging(req, paging)) return *err;
    EventQuery q;
    if (auto err = parse_event_query(req, q, hide(req))) return *err;
    q.limit = paging.limit;
    q.after = paging.after;
    auto page = deps_.store->list_events(q);
    if (!page.ok()) return status_problem(page.status(), req);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& e : page->items) items.push_back(pipeline::event_to_json(e));
    nlohmann::json doc{{"items", std::move(items)}};
    if (page->next_after) doc["next_cursor"] = encode_cursor(*page->next_after);
    return Response::json(200, doc);
  });

  router_.add(Method::kGet, "/api/v1/events/{id}", Access::needs(auth::Permission::events_read),
              [visible_event](Request& req) {
                auto e = visible_event(req);
                if (auto* r = std::get_if<Response>(&e)) return std::move(*r);
                return Response::json(200, pipeline::event_to_json(std::get<EventRecord>(e)));
              });

  // Body {"reviewed": bool, "note": string of at most 2000 characters}; either may be left
  // out. Answers the event as stored and publishes {"type":"reviewed","event":…} on events.
  router_.add(Method::kPatch, "/api/v1/events/{id}", Access::needs(auth::Permission::events_review),
              [this, visible_event](Request& req) {
                nlohmann::json body;
                if (auto err = parse_json_body(req, body, {"application/merge-patch+json"})) return *err;
                if (!body.is_object()) return validation_problem({{"", "the body must be a JSON object"}}, req);
                FieldErrors errors;
                EventReview review;
                for (const auto& [key, value] : body.items()) {
                  if (key == "reviewed") {
                    if (value.is_boolean()) {
                      review.reviewed = value.get<bool>();
                    } else {
                      errors.push_back({"/reviewed", "must be true or false"});
                    }
                  } else if (key == "note") {
                    if (!value.is_string()) {
                      errors.push_back({"/note", "must be a string"});
                    } else if (utf8_chars(value.get<std::string>()) > kMaxNoteChars) {
                      errors.push_back({"/note", "must be at most " + std::to_string(kMaxNoteChars) + " characters"});
                    } else {
                      review.note = value.get<std::string>();
                    }
                  } else {
                    errors.push_back({"/" + json_pointer_escape(key), "is not a review field (reviewed, note)"});
                  }
                }
                if (errors.empty() && !review.reviewed && !review.note) {
                  errors.push_back({"", "give reviewed, note or both"});
                }
                if (!errors.empty()) return validation_problem(errors, req);
                auto e = visible_event(req);
                if (auto* r = std::get_if<Response>(&e)) return std::move(*r);
                auto saved = deps_.store->review_event(req.param("id"), review);
                if (!saved.ok()) {
                  if (saved.status().code() != StatusCode::kNotFound) {
                    audit(req, "event.review", req.param("id"), "failed", {{"reason", saved.status().message()}});
                  }
                  return status_problem(saved.status(), req);
                }
                nlohmann::json view = pipeline::event_to_json(*saved);
                nlohmann::json details = nlohmann::json::object();
                if (review.reviewed) details["reviewed"] = *review.reviewed;
                if (review.note) details["note_chars"] = utf8_chars(*review.note);
                audit(req, "event.review", saved->id, "ok", details);
                if (deps_.bus != nullptr)
                  deps_.bus->publish(bus::kEvents, saved->camera_id, {{"type", "reviewed"}, {"event", view}});
                return Response::json(200, view);
              });

  // Deletes the event, its detections and its snapshot file; publishes
  // {"type":"deleted","id":…} on events.
  router_.add(Method::kDelete, "/api/v1/events/{id}", Access::needs(auth::Permission::events_delete),
              [this, visible_event](Request& req) {
                auto e = visible_event(req);
                if (auto* r = std::get_if<Response>(&e)) return std::move(*r);
                auto deleted = deps_.store->delete_event(req.param("id"));
                if (!deleted.ok()) {
                  if (deleted.status().code() != StatusCode::kNotFound) {
                    audit(req, "event.delete", req.param("id"), "failed", {{"reason", deleted.status().message()}});
                  }
                  return status_problem(deleted.status(), req);
                }
                bool snapshot_removed = remove_snapshot(deps_.media_dir, deleted->snapshot, deleted->id);
                audit(req, "event.delete", deleted->id, "ok",
                      {{"camera", deleted->camera_id}, {"snapshot_removed", snapshot_removed}});
                if (deps_.bus != nullptr) {
                  deps_.bus->publish(bus::kEvents, deleted->camera_id, {{"type", "deleted"}, {"id", deleted->id}});
                }
                return Response::empty(204);
              });

  // The stored detections of an event, oldest first: {"items": [{time, label, score, box}]}.
  router_.add(Method::kGet, "/api/v1/events/{id}/detections", Access::needs(auth::Permission::events_read),
              [this, visible_event](Request& req) {
                Paging paging;
                paging.limit = 500;
                if (auto err = parse_paging(req, paging)) return *err;
                auto e = visible_event(req);
                if (auto* r = std::get_if<Response>(&e)) return std::move(*r);
                auto page = deps_.store->list_detections(req.param("id"), {paging.after, paging.limit});
                if (!page.ok()) return status_problem(page.status(), req);
                nlohmann::json items = nlohmann::json::array();
                for (const auto& d : page->items) items.push_back(detection_to_json(d));
                nlohmann::json doc{{"items", std::move(items)}};
                if (page->next_after) doc["next_cursor"] = encode_cursor(*page->next_after);
                return Response::json(200, doc);
              });

  router_.add(Method::kGet, "/api/v1/events/{id}/snapshot.jpg", Access::needs(auth::Permission::media_read),
              [this, visible_event](Request& req) {
                auto e = visible_event(req);
                if (auto* r = std::get_if<Response>(&e)) return std::move(*r);
                const EventRecord& event = std::get<EventRecord>(e);
                if (event.snapshot.empty() || deps_.media_dir.empty()) {
                  return problem(404, "not-found", "event " + event.id + " has no snapshot (yet)", req);
                }
                auto file = resolve_media_path(deps_.media_dir, event.snapshot);
                if (!file) {
                  return problem(404, "not-found", "the snapshot of event " + event.id + " is no longer stored", req);
                }
                return serve_file(req, *file, "private, max-age=60", "image/jpeg");
              });

  // ?format=csv|json (default csv) and the filters of GET /api/v1/events.
  router_.add(Method::kGet, "/api/v1/events/export", Access::needs(auth::Permission::events_read),
              [this, hide](Request& req) {
                ExportFormat format;
                if (auto err = parse_format(req, format)) return *err;
                EventQuery q;
                if (auto err = parse_event_query(req, q, hide(req))) return *err;
                std::ostringstream out;
                auto summary = export_events(*deps_.store, q, format, kMaxExportRows, out);
                if (!summary.ok()) return status_problem(summary.status(), req);
                if (summary->truncated) return too_many_rows(req);
                return export_response(std::move(out).str(), format, "events", deps_.clock->now_ms());
              });

  // A time series of counts. Parameters: camera (required), zone | line | scope, label,
  // bucket = minute (default) | hour | day (UTC), from, to (widened to whole buckets),
  // limit (default 1000) and cursor (paging rows).
  //
  // Answer: {"camera", "bucket",
  //          "items":  [{"time", "camera", "scope", "name", "label", "in", "out", "seen",
  //                      "occupancy", "bucket", "peak"}, …]   one row per bucket and series,
  //                      ordered by time, scope, name, label ("bucket" and "peak" repeat
  //                      "time" and "occupancy" under their older names),
  //          "series": [{"scope", "name", "label",
  //                      "points": [{"time", "in", "out", "seen", "occupancy"}, …]}, …]
  //                      the same rows of this page grouped per series (scope "camera":
  //                      seen and peak occupancy of the whole view; "zone": entries and peak
  //                      occupancy of a zone; "line": crossings in and out),
  //          "next_cursor"}                                   when more rows follow.
  router_.add(Method::kGet, "/api/v1/counts", Access::needs(auth::Permission::counts_read), [this, hide](Request& req) {
    CountSeriesQuery q;
    if (auto err = parse_count_query(req, q, hide(req))) return *err;
    Paging paging;
    paging.limit = 1000;
    if (auto err = parse_paging(req, paging)) return *err;
    q.limit = paging.limit;
    q.after = paging.after;
    auto page = deps_.store->query_count_series(q);
    if (!page.ok()) return status_problem(page.status(), req);
    nlohmann::json items = nlohmann::json::array();
    nlohmann::json series = nlohmann::json::array();
    std::map<std::tuple<std::string, std::string, std::string>, std::size_t> series_index;
    for (const auto& c : page->items) {
      nlohmann::json row = pipeline::count_to_json(c);
      row["time"] = row["bucket"];
      row["occupancy"] = c.peak;
      items.push_back(std::move(row));
      auto [it, fresh] = series_index.try_emplace({c.scope, c.name, c.label}, series.size());
      if (fresh) {
        series.push_back(
            {{"scope", c.scope}, {"name", c.name}, {"label", c.label}, {"points", nlohmann::json::array()}});
      }
      series[it->second]["points"].push_back(
          {{"time", format_rfc3339(c.bucket)}, {"in", c.in}, {"out", c.out}, {"seen", c.seen}, {"occupancy", c.peak}});
    }
    static constexpr std::array<std::string_view, 3> kBucketNames = {"minute", "hour", "day"};
    nlohmann::json doc{{"camera", q.camera},
                       {"bucket", kBucketNames[static_cast<std::size_t>(q.bucket)]},
                       {"items", std::move(items)},
                       {"series", std::move(series)}};
    if (page->next_after) doc["next_cursor"] = encode_cursor(*page->next_after);
    return Response::json(200, doc);
  });

  // ?format=csv|json (default csv) and the parameters of GET /api/v1/counts.
  router_.add(Method::kGet, "/api/v1/counts/export", Access::needs(auth::Permission::counts_read),
              [this, hide](Request& req) {
                ExportFormat format;
                if (auto err = parse_format(req, format)) return *err;
                CountSeriesQuery q;
                if (auto err = parse_count_query(req, q, hide(req))) return *err;
                std::ostringstream out;
                auto summary = export_counts(*deps_.store, q, format, kMaxExportRows, out);
                if (!summary.ok()) return status_problem(summary.status(), req);
                if (summary->truncated) return too_many_rows(req);
                return export_response(std::move(out).str(), format, "counts", deps_.clock->now_ms());
              });
}

}  // namespace argus::api
