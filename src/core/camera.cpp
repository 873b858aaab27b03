#include "core/camera.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <set>

#include "core/ids.h"

namespace argus {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxNameLength = 100;
constexpr std::size_t kMaxUrlLength = 2048;
constexpr std::size_t kMaxZones = 32;
constexpr std::size_t kMaxLines = 32;
constexpr std::size_t kMaxPolygonPoints = 64;
constexpr std::size_t kMaxLabels = 32;

struct Ctx {
  FieldErrors& errors;
  void add(std::string pointer, std::string detail) { errors.push_back({std::move(pointer), std::move(detail)}); }
};

std::string type_name(const json& v) { return v.type_name(); }

// Rejects members of `obj` that are not in `allowed`.
void check_members(const json& obj, std::initializer_list<std::string_view> allowed, const std::string& ptr, Ctx& ctx) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (auto a : allowed) {
        if (!list.empty()) list += ", ";
        list += a;
      }
      ctx.add(ptr + "/" + json_pointer_escape(key), "unknown member; allowed: " + list);
    }
  }
}

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

bool has_control_chars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool is_valid_label(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ' || c == '_' || c == '-';
  });
}

bool get_number(const json& v, double& out) {
  if (!v.is_number()) return false;
  out = v.get<double>();
  return std::isfinite(out);
}

void parse_point(const json& v, const std::string& ptr, Point& out, Ctx& ctx) {
  if (!v.is_array() || v.size() != 2) {
    ctx.add(ptr, "must be a point [x, y] with 0 <= x, y <= 1");
    return;
  }
  double c[2];
  for (int i = 0; i < 2; ++i) {
    if (!get_number(v[static_cast<std::size_t>(i)], c[i]) || c[i] < 0 || c[i] > 1) {
      ctx.add(ptr + "/" + std::to_string(i), "must be a number between 0 and 1 (normalized image coordinate)");
      return;
    }
  }
  out = {c[0], c[1]};
}

// URL syntax: scheme://[user[:pass]@]host[:port][/path...]. Returns "" if valid, else why.
std::string check_network_url(const std::string& url, std::string_view scheme) {
  std::string rest = url.substr(scheme.size() + 3);
  std::size_t end = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, end);
  std::size_t at = authority.rfind('@');
  std::string hostport = at == std::string::npos ? authority : authority.substr(at + 1);
  if (hostport.empty()) return "has no host";
  std::string host = hostport;
  std::string port;
  if (hostport.front() == '[') {
    std::size_t close = hostport.find(']');
    if (close == std::string::npos) return "has an unterminated IPv6 address";
    host = hostport.substr(1, close - 1);
    std::string after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "has junk after the IPv6 address";
      port = after.substr(1);
    }
  } else {
    std::size_t colon = hostport.rfind(':');
    if (colon != std::string::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
    }
  }
  if (host.empty()) return "has no host";
  for (char c : host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':' || c == '%')) {
      return "has an invalid character in the host";
    }
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), is_ascii_digit)) {
      return "has an invalid port";
    }
    int p = std::stoi(port);
    if (p < 1 || p > 65535) return "has a port outside 1..65535";
  }
  return "";
}

SourceKind default_kind_for(std::string_view scheme) {
  if (scheme == "file") return SourceKind::kFile;
  return SourceKind::kStream;
}

bool parse_kind(std::string_view s, SourceKind& out) {
  static const std::pair<std::string_view, SourceKind> kKinds[] = {
      {"stream", SourceKind::kStream}, {"mjpeg", SourceKind::kMjpeg}, {"snapshot", SourceKind::kSnapshot},
      {"folder", SourceKind::kFolder}, {"file", SourceKind::kFile},   {"push", SourceKind::kPush}};
  for (const auto& [name, kind] : kKinds) {
    if (name == s) {
      out = kind;
      return true;
    }
  }
  return false;
}

std::vector<std::string_view> allowed_schemes(SourceKind kind) {
  switch (kind) {
    case SourceKind::kStream:
      return {"rtsp", "rtsps", "http", "https"};
    case SourceKind::kMjpeg:
    case SourceKind::kSnapshot:
      return {"http", "https"};
    case SourceKind::kFolder:
    case SourceKind::kFile:
      return {"file"};
    case SourceKind::kPush:
      return {};
  }
  return {};
}

void parse_source(const json& v, const std::string& ptr, SourceSpec& out, Ctx& ctx) {
  json obj = v;
  if (v.is_string()) obj = json{{"url", v}};
  if (!obj.is_object()) {
    ctx.add(ptr, "must be an object {kind, url, interval} or a URL string");
    return;
  }
  // A source given as a plain URL string has no "url" member: its problems point at the
  // source itself, so the pointer resolves in the document the client sent.
  const std::string url_ptr = v.is_string() ? ptr : ptr + "/url";
  check_members(obj, {"kind", "url", "interval"}, ptr, ctx);
  std::string url;
  if (obj.contains("url")) {
    if (!obj["url"].is_string()) {
      ctx.add(url_ptr, "must be a string");
      return;
    }
    url = obj["url"].get<std::string>();
  }
  std::string scheme;
  std::size_t sep = url.find("://");
  if (sep != std::string::npos) {
    scheme = url.substr(0, sep);
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  SourceKind kind = default_kind_for(scheme);
  if (obj.contains("kind")) {
    if (!obj["kind"].is_string() || !parse_kind(obj["kind"].get<std::string>(), kind)) {
      ctx.add(ptr + "/kind", "must be one of stream, mjpeg, snapshot, folder, file, push");
      return;
    }
  } else if (url.empty()) {
    ctx.add(url_ptr, "is required (or set kind to push)");
    return;
  }
  out.kind = kind;
  if (kind == SourceKind::kPush) {
    if (!url.empty()) ctx.add(url_ptr, "must be absent for a push source");
    out.url.clear();
  } else {
    auto schemes = allowed_schemes(kind);
    std::string allowed;
    for (auto s : schemes) {
      if (!allowed.empty()) allowed += ", ";
      allowed += s;
    }
    if (url.empty()) {
      ctx.add(url_ptr, "is required for a " + std::string(source_kind_name(kind)) + " source");
    } else if (url.size() > kMaxUrlLength) {
      ctx.add(url_ptr, "is longer than 2048 characters");
    } else if (has_control_chars(url) || url.find(' ') != std::string::npos) {
      ctx.add(url_ptr, "must not contain spaces or control characters");
    } else if (scheme.empty() || std::find(schemes.begin(), schemes.end(), scheme) == schemes.end()) {
      ctx.add(url_ptr,
              "scheme must be one of " + allowed + " for a " + std::string(source_kind_name(kind)) + " source");
    } else if (scheme == "file") {
      std::string path = url.substr(7);
      if (path.empty() || path.front() != '/') {
        ctx.add(url_ptr, "must be file:///absolute/path");
      }
    } else if (std::string why = check_network_url(url, scheme); !why.empty()) {
      ctx.add(url_ptr, "is not a valid URL: it " + why);
    }
    out.url = url;
  }
  if (obj.contains("interval")) {
    const json& iv = obj["interval"];
    std::optional<std::int64_t> ms;
    if (iv.is_number()) {
      double secs = iv.get<double>();
      // Bound before converting: llround of an out-of-range value is unspecified.
      if (std::isfinite(secs) && secs >= 0 && secs <= 1e9) {
        ms = static_cast<std::int64_t>(std::llround(secs * 1000));
      }
    } else if (iv.is_string()) {
      ms = parse_duration_ms(iv.get<std::string>());
    }
    if (!ms || *ms < 100 || *ms > 3'600'000) {
      ctx.add(ptr + "/interval", "must be a duration between 100ms and 1h (e.g. \"2s\" or 2)");
    } else {
      out.interval_ms = *ms;
    }
  }
}

void parse_detection(const json& v, const std::string& ptr, DetectionSettings& out, Ctx& ctx) {
  if (!v.is_object()) {
    ctx.add(ptr, "must be an object {fps, labels, min_score}");
    return;
  }
  check_members(v, {"fps", "labels", "min_score"}, ptr, ctx);
  if (v.contains("fps")) {
    double fps;
    if (!get_number(v["fps"], fps) || fps < 0.1 || fps > 60) {
      ctx.add(ptr + "/fps", "must be a number between 0.1 and 60");
    } else {
      out.fps = fps;
    }
  }
  if (v.contains("min_score")) {
    double s;
    if (!get_number(v["min_score"], s) || s < 0 || s > 1) {
      ctx.add(ptr + "/min_score", "must be a number between 0 and 1");
    } else {
      out.min_score = s;
    }
  }
  if (v.contains("labels")) {
    const json& labels = v["labels"];
    if (!labels.is_array() || labels.empty() || labels.size() > kMaxLabels) {
      ctx.add(ptr + "/labels", "must be a list of 1 to 32 labels");
      return;
    }
    out.labels.clear();
    std::set<std::string> seen;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const json& l = labels[i];
      std::string lp = ptr + "/labels/" + std::to_string(i);
      if (!l.is_string() || !is_valid_label(l.get<std::string>())) {
        ctx.add(lp, "must be a label of 1 to 32 lowercase letters, digits, spaces, '_' or '-'");
        continue;
      }
      if (!seen.insert(l.get<std::string>()).second) {
        ctx.add(lp, "duplicates an earlier label");
        continue;
      }
      out.labels.push_back(l.get<std::string>());
    }
  }
}

void check_item_name(const json& item, const std::string& ptr, std::set<std::string>& seen, std::string& out,
                     Ctx& ctx) {
  if (!item.contains("name")) {
    ctx.add(ptr + "/name", "is required");
    return;
  }
  const json& n = item["name"];
  if (!n.is_string() || !is_valid_slug(n.get<std::string>())) {
    ctx.add(ptr + "/name",
            "must be 1 to 64 characters of lowercase letters, digits, '-' or '_', starting with "
            "a letter or digit");
    return;
  }
  if (!seen.insert(n.get<std::string>()).second) {
    ctx.add(ptr + "/name", "duplicates an earlier name");
    return;
  }
  out = n.get<std::string>();
}

void parse_zones(const json& v, const std::string& ptr, std::vector<Zone>& out, Ctx& ctx) {
  if (!v.is_array() || v.size() > kMaxZones) {
    ctx.add(ptr, "must be a list of at most 32 zones");
    return;
  }
  out.clear();
  std::set<std::string> names;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const json& z = v[i];
    std::string zp = ptr + "/" + std::to_string(i);
    if (!z.is_object()) {
      ctx.add(zp, "must be an object {name, polygon}");
      continue;
    }
    check_members(z, {"name", "polygon"}, zp, ctx);
    Zone zone;
    check_item_name(z, zp, names, zone.name, ctx);
    if (!z.contains("polygon") || !z["polygon"].is_array() || z["polygon"].size() < 3 ||
        z["polygon"].size() > kMaxPolygonPoints) {
      ctx.add(zp + "/polygon", "must be a list of 3 to 64 points [x, y] inside 0..1");
      continue;
    }
    const json& poly = z["polygon"];
    std::size_t before = ctx.errors.size();
    for (std::size_t k = 0; k < poly.size(); ++k) {
      Point p;
      parse_point(poly[k], zp + "/polygon/" + std::to_string(k), p, ctx);
      zone.polygon.push_back(p);
    }
    if (ctx.errors.size() == before) {
      // Shoelace area: a degenerate polygon can contain nothing.
      double area = 0;
      for (std::size_t k = 0; k < zone.polygon.size(); ++k) {
        const Point& a = zone.polygon[k];
        const Point& b = zone.polygon[(k + 1) % zone.polygon.size()];
        area += a.x * b.y - b.x * a.y;
      }
      if (std::abs(area) / 2 < 1e-6) ctx.add(zp + "/polygon", "has no area (points are collinear)");
    }
    out.push_back(std::move(zone));
  }
}

void parse_lines(const json& v, const std::string& ptr, std::vector<Line>& out, Ctx& ctx) {
  if (!v.is_array() || v.size() > kMaxLines) {
    ctx.add(ptr, "must be a list of at most 32 lines");
    return;
  }
  out.clear();
  std::set<std::string> names;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const json& l = v[i];
    std::string lp = ptr + "/" + std::to_string(i);
    if (!l.is_object()) {
      ctx.add(lp, "must be an object {name, points, in}");
      continue;
    }
    check_members(l, {"name", "points", "in"}, lp, ctx);
    Line line;
    check_item_name(l, lp, names, line.name, ctx);
    if (!l.contains("points") || !l["points"].is_array() || l["points"].size() != 2) {
      ctx.add(lp + "/points", "must be two points [[x1, y1], [x2, y2]] inside 0..1");
    } else {
      std::size_t before = ctx.errors.size();
      parse_point(l["points"][0], lp + "/points/0", line.a, ctx);
      parse_point(l["points"][1], lp + "/points/1", line.b, ctx);
      if (ctx.errors.size() == before && std::hypot(line.a.x - line.b.x, line.a.y - line.b.y) < 1e-6) {
        ctx.add(lp + "/points", "the two points must differ");
      }
    }
    if (l.contains("in")) {
      const json& side = l["in"];
      if (side == "left")
        line.in_side = LineSide::kLeft;
      else if (side == "right")
        line.in_side = LineSide::kRight;
      else
        ctx.add(lp + "/in", "must be \"left\" or \"right\" (the side of a→b that counts as in)");
    }
    out.push_back(std::move(line));
  }
}

json point_json(const Point& p) { return json::array({p.x, p.y}); }

}  // namespace

std::string_view source_kind_name(SourceKind kind) {
  switch (kind) {
    case SourceKind::kStream:
      return "stream";
    case SourceKind::kMjpeg:
      return "mjpeg";
    case SourceKind::kSnapshot:
      return "snapshot";
    case SourceKind::kFolder:
      return "folder";
    case SourceKind::kFile:
      return "file";
    case SourceKind::kPush:
      return "push";
  }
  return "stream";
}

std::string mask_url_credentials(const std::string& url) {
  std::size_t sep = url.find("://");
  if (sep == std::string::npos) return url;
  std::size_t auth_start = sep + 3;
  std::size_t auth_end = url.find_first_of("/?#", auth_start);
  if (auth_end == std::string::npos) auth_end = url.size();
  std::size_t at = url.rfind('@', auth_end);
  if (at == std::string::npos || at < auth_start) return url;
  std::size_t colon = url.find(':', auth_start);
  if (colon == std::string::npos || colon > at) return url;  // user only, no password
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::string unmask_url(const std::string& incoming, const std::string& stored) {
  if (incoming != stored && incoming == mask_url_credentials(stored)) return stored;
  return incoming;
}

json camera_to_json(const Camera& c, const CameraJsonOptions& options) {
  json source{{"kind", source_kind_name(c.source.kind)}};
  if (c.source.kind != SourceKind::kPush) {
    source["url"] = options.mask_credentials ? mask_url_credentials(c.source.url) : c.source.url;
  }
  if (c.source.kind == SourceKind::kSnapshot) source["interval"] = c.source.interval_ms / 1000.0;
  json zones = json::array();
  for (const auto& z : c.zones) {
    json poly = json::array();
    for (const auto& p : z.polygon) poly.push_back(point_json(p));
    zones.push_back({{"name", z.name}, {"polygon", std::move(poly)}});
  }
  json lines = json::array();
  for (const auto& l : c.lines) {
    lines.push_back({{"name", l.name},
                     {"points", json::array({point_json(l.a), point_json(l.b)})},
                     {"in", l.in_side == LineSide::kLeft ? "left" : "right"}});
  }
  json j{
      {"id", c.id},
      {"name", c.name},
      {"source", std::move(source)},
      {"enabled", c.enabled},
      {"detection", {{"fps", c.detection.fps}, {"labels", c.detection.labels}, {"min_score", c.detection.min_score}}},
      {"zones", std::move(zones)},
      {"lines", std::move(lines)}};
  if (options.include_meta) {
    j["created_at"] = format_rfc3339(c.created_at);
    j["updated_at"] = format_rfc3339(c.updated_at);
  }
  return j;
}

void camera_from_json(const json& doc, Camera& out, FieldErrors& errors, bool allow_read_only,
                      const std::string& prefix) {
  Ctx ctx{errors};
  if (!doc.is_object()) {
    ctx.add(prefix, "must be a JSON object, not " + type_name(doc));
    return;
  }
  static const std::initializer_list<std::string_view> kReadOnly = {"created_at", "updated_at", "status", "version"};
  for (const auto& [key, value] : doc.items()) {
    bool known = key == "id" || key == "name" || key == "source" || key == "enabled" || key == "detection" ||
                 key == "zones" || key == "lines";
    bool read_only = std::find(kReadOnly.begin(), kReadOnly.end(), key) != kReadOnly.end();
    if (read_only && !allow_read_only) {
      ctx.add(prefix + "/" + key, "is read-only");
    } else if (!known && !read_only) {
      ctx.add(prefix + "/" + json_pointer_escape(key),
              "unknown member; allowed: id, name, source, enabled, detection, zones, lines");
    }
  }
  if (!doc.contains("id")) {
    ctx.add(prefix + "/id", "is required");
  } else if (!doc["id"].is_string() || !is_valid_slug(doc["id"].get<std::string>())) {
    ctx.add(prefix + "/id",
            "must be 1 to 64 characters of lowercase letters, digits, '-' or '_', starting with a "
            "letter or digit");
  } else {
    out.id = doc["id"].get<std::string>();
  }
  if (doc.contains("name")) {
    const json& n = doc["name"];
    if (!n.is_string() || n.get<std::string>().empty() || n.get<std::string>().size() > kMaxNameLength ||
        has_control_chars(n.get<std::string>())) {
      ctx.add(prefix + "/name", "must be a string of 1 to 100 characters without control characters");
    } else {
      out.name = n.get<std::string>();
    }
  } else {
    out.name = out.id;
  }
  if (!doc.contains("source")) {
    ctx.add(prefix + "/source", "is required");
  } else {
    parse_source(doc["source"], prefix + "/source", out.source, ctx);
  }
  if (doc.contains("enabled")) {
    if (!doc["enabled"].is_boolean())
      ctx.add(prefix + "/enabled", "must be true or false");
    else
      out.enabled = doc["enabled"].get<bool>();
  }
  if (doc.contains("detection")) parse_detection(doc["detection"], prefix + "/detection", out.detection, ctx);
  if (doc.contains("zones")) parse_zones(doc["zones"], prefix + "/zones", out.zones, ctx);
  if (doc.contains("lines")) parse_lines(doc["lines"], prefix + "/lines", out.lines, ctx);
}

}  // namespace argus
