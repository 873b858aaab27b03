#include "api/json_body.h"

#include <cctype>
#include <charconv>
#include <cstdio>

#include "api/problem.h"
#include "core/ids.h"

namespace argus::api {
namespace {

struct TooDeep {};

bool media_type_is(const std::string& header, std::string_view type) {
  std::string_view v(header);
  std::size_t semi = v.find(';');
  v = v.substr(0, semi);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  if (v.size() != type.size()) return false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(v[i])) != type[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<Response> parse_json_body(const Request& req, nlohmann::json& out,
                                        std::initializer_list<std::string_view> extra_types) {
  const std::string* ct = req.header("content-type");
  bool type_ok = ct != nullptr && media_type_is(*ct, "application/json");
  for (auto t : extra_types) type_ok = type_ok || (ct != nullptr && media_type_is(*ct, t));
  if (!type_ok) {
    std::string allowed = "application/json";
    for (auto t : extra_types) allowed += " or " + std::string(t);
    Response r = problem(415, "unsupported-media-type", "the request body must be " + allowed, req);
    r.set_header("Accept-Patch", "application/merge-patch+json");
    return r;
  }
  if (req.body.empty())
    return problem(400, "malformed-json", "the request body is empty; a JSON document is required", req);
  try {
    out = nlohmann::json::parse(req.body, [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > 32) throw TooDeep{};
      return true;
    });
  } catch (const TooDeep&) {
    return problem(400, "malformed-json", "the JSON document is nested deeper than 32 levels", req);
  } catch (const nlohmann::json::parse_error& e) {
    return problem(400, "malformed-json", "the request body is not valid JSON (at byte " + std::to_string(e.byte) + ")",
                   req);
  } catch (const std::exception&) {
    return problem(400, "malformed-json", "the request body is not valid JSON", req);
  }
  return std::nullopt;
}

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

std::optional<Response> parse_paging(const Request& req, Paging& out) {
  if (auto limit = req.query_param("limit")) {
    long long v = 0;
    auto [p, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), v);
    if (limit->empty() || !std::isdigit(static_cast<unsigned char>(limit->front())) ||
        p != limit->data() + limit->size() || (ec != std::errc() && ec != std::errc::result_out_of_range) ||
        (ec == std::errc() && v < 1)) {
      return problem(400, "bad-request", "limit must be an integer of at least 1 (at most 500 are returned)", req);
    }
    out.limit = ec == std::errc::result_out_of_range || v > 500 ? 500 : static_cast<std::size_t>(v);
  }
  if (auto cursor = req.query_param("cursor")) {
    auto decoded = base64url_decode(*cursor);
    nlohmann::json doc;
    if (decoded) doc = nlohmann::json::parse(*decoded, nullptr, false);
    if (!decoded || !doc.is_object() || !doc.contains("k") || !doc["k"].is_string()) {
      return problem(400, "bad-request", "cursor is not valid; use the next_cursor of a previous page", req);
    }
    out.after = doc["k"].get<std::string>();
  }
  return std::nullopt;
}

std::string encode_cursor(const std::string& key) { return base64url_encode(nlohmann::json{{"k", key}}.dump()); }

std::string make_etag(std::string_view bytes) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

bool etag_matches(const std::string& header_value, const std::string& etag) {
  std::string_view v(header_value);
  while (!v.empty()) {
    std::size_t comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == "*") return true;
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);  // weak comparison
    if (item == etag) return true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace argus::api
