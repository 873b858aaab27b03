#include "core/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>

#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include "core/url_guard.h"

extern char** environ;

namespace argus {
namespace {

using Setter = std::function<std::string(const std::string& raw, Config& c)>;

// One configuration key. `set` parses the raw text and stores it, returning "" or a
// description of what is allowed.
struct Key {
  std::string path;
  std::string env;
  std::string allowed;
  std::string default_text;
  Setter set;
  bool list = false;  // also takes a YAML sequence (else comma-separated text)
};

std::string trim(std::string s) {
  auto ws = [](unsigned char ch) { return std::isspace(ch) != 0; };
  s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), ws));
  s.erase(std::find_if_not(s.rbegin(), s.rend(), ws).base(), s.end());
  return s;
}

template <typename Int>
Setter integer(std::function<Int&(Config&)> field, long long lo, long long hi) {
  return [field, lo, hi](const std::string& raw, Config& c) -> std::string {
    long long v = 0;
    auto [p, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
    if (ec != std::errc() || p != raw.data() + raw.size() || v < lo || v > hi) {
      return "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi);
    }
    field(c) = static_cast<Int>(v);
    return "";
  };
}

// Sizes accept plain bytes or a k/m/g suffix (powers of 1024).
Setter size_bytes(std::function<std::size_t&(Config&)> field, std::size_t lo, std::size_t hi) {
  return [field, lo, hi](const std::string& raw, Config& c) -> std::string {
    std::string s = raw;
    std::size_t mult = 1;
    if (!s.empty()) {
      char u = static_cast<char>(std::tolower(static_cast<unsigned char>(s.back())));
      if (u == 'b' && s.size() > 1) {
        s.pop_back();
        u = static_cast<char>(std::tolower(static_cast<unsigned char>(s.back())));
      }
      if (u == 'k')
        mult = 1024;
      else if (u == 'm')
        mult = 1024 * 1024;
      else if (u == 'g')
        mult = 1024 * 1024 * 1024;
      if (mult != 1) s.pop_back();
    }
    unsigned long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    std::string why = "must be a size between " + std::to_string(lo) + " and " + std::to_string(hi) +
                      " bytes (suffixes k, m, g allowed)";
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return why;
    unsigned long long bytes = v * mult;
    if (v != 0 && bytes / mult != v) return why;
    if (bytes < lo || bytes > hi) return why;
    field(c) = static_cast<std::size_t>(bytes);
    return "";
  };
}

Setter duration(std::function<std::int64_t&(Config&)> field, std::int64_t lo_ms, std::int64_t hi_ms) {
  return [field, lo_ms, hi_ms](const std::string& raw, Config& c) -> std::string {
    auto ms = parse_duration_ms(raw);
    if (!ms || *ms < lo_ms || *ms > hi_ms) {
      return "must be a duration between " + std::to_string(lo_ms) + "ms and " + std::to_string(hi_ms / 1000) +
             "s, e.g. \"30s\", \"500ms\", \"2m\"";
    }
    field(c) = *ms;
    return "";
  };
}

Setter number(std::function<double&(Config&)> field, double lo, double hi) {
  return [field, lo, hi](const std::string& raw, Config& c) -> std::string {
    double v = 0;
    auto [p, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
    if (raw.empty() || ec != std::errc() || p != raw.data() + raw.size() || !(v >= lo && v <= hi)) {
      std::ostringstream why;
      why << "must be a number between " << lo << " and " << hi;
      return why.str();
    }
    field(c) = v;
    return "";
  };
}

Setter boolean(std::function<bool&(Config&)> field) {
  return [field](const std::string& raw, Config& c) -> std::string {
    std::string v = raw;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (v == "true" || v == "yes" || v == "on" || v == "1")
      field(c) = true;
    else if (v == "false" || v == "no" || v == "off" || v == "0")
      field(c) = false;
    else
      return "must be true or false";
    return "";
  };
}

// "N/s", "N/min" or "N/h" (N a positive number) into a rate and its period.
Setter rate(std::function<RateConfig&(Config&)> field) {
  return [field](const std::string& raw, Config& c) -> std::string {
    auto slash = raw.find('/');
    const std::string what = "must be a rate like 10/s, 30/min or 100/h";
    if (slash == std::string::npos) return what;
    std::string n = trim(raw.substr(0, slash)), unit = trim(raw.substr(slash + 1));
    std::int64_t period = unit == "s" ? 1000 : unit == "min" ? 60'000 : unit == "h" ? 3'600'000 : 0;
    char* end = nullptr;
    double v = std::strtod(n.c_str(), &end);
    if (period == 0 || n.empty() || end != n.c_str() + n.size() || !(v > 0) || v > 1e6) return what;
    field(c).rate = v;
    field(c).period_ms = period;
    return "";
  };
}

// A comma-separated list of browser origins: scheme://host[:port], no path.
std::string set_cors_origins(const std::string& raw, Config& c) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= raw.size()) {
    std::size_t comma = raw.find(',', start);
    if (comma == std::string::npos) comma = raw.size();
    std::string item = trim(raw.substr(start, comma - start));
    if (!item.empty()) {
      bool scheme = item.rfind("http://", 0) == 0 || item.rfind("https://", 0) == 0;
      std::string rest = scheme ? item.substr(item.find("://") + 3) : "";
      if (!scheme || rest.empty() || rest.find('/') != std::string::npos || item.find('*') != std::string::npos) {
        return "\"" + item + "\" is not an origin; must be a comma-separated list of origins like https://dash.example.com";
      }
      out.push_back(item);
    }
    start = comma + 1;
  }
  c.server.cors_origins = std::move(out);
  return "";
}

std::string set_listen(const std::string& raw, Config& c) {
  const std::string why = "must be HOST:PORT with a port between 0 and 65535, e.g. 0.0.0.0:8080 or [::1]:8080";
  std::size_t colon = raw.rfind(':');
  if (colon == std::string::npos || colon == 0) return why;
  std::string host = raw.substr(0, colon);
  std::string port = raw.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.find_first_of("[]") != std::string::npos) return why;  // unbalanced brackets
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || v > 65535) return why;
  if (host.empty() || host.find_first_of(" /\t") != std::string::npos) return why;
  c.server.listen_host = host;
  c.server.listen_port = static_cast<std::uint16_t>(v);
  return "";
}

// The items of a list value: comma-separated, trimmed, empty items dropped.
std::vector<std::string> split_list(const std::string& raw) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = raw.find(',', start);
    std::string item = trim(raw.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// A list whose every item passes `check` ("" or what is wrong with it).
Setter string_list(std::function<std::vector<std::string>&(Config&)> field,
                   std::function<std::string(const std::string&)> check, std::string what) {
  return [field, check, what](const std::string& raw, Config& c) -> std::string {
    std::vector<std::string> items = split_list(raw);
    for (const auto& item : items) {
      std::string why = check(item);
      if (!why.empty()) return "\"" + item + "\" " + why + "; must be a list of " + what;
    }
    field(c) = std::move(items);
    return "";
  };
}

// A DNS name for a certificate: letters, digits and '-' in dot-separated labels; the first
// label may be "*".
std::string check_dns_name(const std::string& name) {
  if (name.empty() || name.size() > 253) return "is not a host name";
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = name.find('.', start);
    std::string label = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool ok = !label.empty() && label.size() <= 63;
    for (char ch : label) {
      ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '-' || (ch == '*' && start == 0));
    }
    if (label.find('*') != std::string::npos && label != "*") ok = false;
    if (!ok) return "is not a host name";
    if (dot == std::string::npos) return "";
    start = dot + 1;
  }
}

std::string check_ip(const std::string& ip) {
  return IpAddress::parse(ip) ? "" : "is not an IPv4 or IPv6 address (no zone id)";
}

std::string check_url_rule(const std::string& rule) {
  return UrlRule::parse(rule).ok() ? "" : "is not a CIDR, an address, a host name or *.domain";
}

Setter text(std::function<std::string&(Config&)> field) {
  return [field](const std::string& raw, Config& c) -> std::string {
    field(c) = raw;
    return "";
  };
}

std::string set_tls_mode(const std::string& raw, Config& c) {
  if (raw == "disabled")
    c.tls.mode = TlsMode::kDisabled;
  else if (raw == "self_signed")
    c.tls.mode = TlsMode::kSelfSigned;
  else if (raw == "provided")
    c.tls.mode = TlsMode::kProvided;
  else
    return "must be disabled, self_signed or provided";
  return "";
}

Setter url_scope(std::function<UrlScope&(Config&)> field) {
  return [field](const std::string& raw, Config& c) -> std::string {
    if (raw == "private")
      field(c) = UrlScope::kPrivate;
    else if (raw == "public")
      field(c) = UrlScope::kPublic;
    else
      return "must be private (LAN, link-local and loopback addresses allowed) or public (public addresses only)";
    return "";
  };
}

std::string_view url_scope_name(UrlScope s) { return s == UrlScope::kPrivate ? "private" : "public"; }

std::string check_mqtt_url(const std::string& raw, Config& c) {
  if (raw.empty()) {
    c.mqtt.url.clear();
    return "";
  }
  const std::string why = "must be mqtt://host[:port] or mqtts://host[:port] (no path or credentials; "
                          "use mqtt.username and mqtt.password_file)";
  std::string rest;
  if (raw.rfind("mqtt://", 0) == 0) {
    rest = raw.substr(7);
  } else if (raw.rfind("mqtts://", 0) == 0) {
    rest = raw.substr(8);
  } else {
    return why;
  }
  if (rest.empty() || rest.find_first_of("/@?# ") != std::string::npos) return why;
  std::string host = rest, port;
  if (rest.front() == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string::npos || close == 1) return why;
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return why;
      port = rest.substr(close + 2);
    }
  } else if (std::size_t colon = rest.find(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.empty()) return why;
  }
  if (!port.empty() || rest.back() == ':') {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) return why;
  }
  c.mqtt.url = raw;
  return "";
}

// Topic levels for a prefix: no wildcards, no empty level, no NUL.
Setter mqtt_prefix(std::function<std::string&(Config&)> field) {
  return [field](const std::string& raw, Config& c) -> std::string {
    bool bad = raw.empty() || raw.front() == '/' || raw.back() == '/' || raw.find("//") != std::string::npos ||
               raw.find_first_of(std::string("+#\0", 3)) != std::string::npos || raw.size() > 200;
    if (bad) return "must be 1..200 characters of MQTT topic levels separated by /, without + or #";
    field(c) = raw;
    return "";
  };
}

// localhost and this machine's name (if it is a valid DNS name).
std::vector<std::string> default_tls_hostnames() {
  std::vector<std::string> out = {"localhost"};
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) == 0) {
    std::string name = buf;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (name != "localhost" && check_dns_name(name).empty()) out.push_back(name);
  }
  return out;
}

const std::vector<Key>& schema() {
  static const std::vector<Key> keys = {
      {"data_dir", "ARGUS_DATA_DIR", "a directory path (created if missing)", "./data",
       [](const std::string& raw, Config& c) -> std::string {
         if (raw.empty()) return "must be a non-empty directory path";
         c.data_dir = raw;
         return "";
       }},
      {"server.listen", "ARGUS_LISTEN", "HOST:PORT", "0.0.0.0:8080", set_listen},
      {"server.io_threads", "ARGUS_IO_THREADS", "integer 1..64", "2",
       integer<int>([](Config& c) -> int& { return c.server.io_threads; }, 1, 64)},
      {"server.max_connections", "ARGUS_MAX_CONNECTIONS", "integer 1..100000", "1024",
       integer<std::size_t>([](Config& c) -> std::size_t& { return c.server.max_connections; }, 1, 100000)},
      {"server.max_body_bytes", "ARGUS_MAX_BODY_BYTES", "size 1k..1g", "1m",
       size_bytes([](Config& c) -> std::size_t& { return c.server.max_body_bytes; }, 1024, std::size_t{1} << 30)},
      {"server.max_header_bytes", "ARGUS_MAX_HEADER_BYTES", "size 1k..1m", "8k",
       size_bytes([](Config& c) -> std::size_t& { return c.server.max_header_bytes; }, 1024, std::size_t{1} << 20)},
      {"server.header_timeout", "ARGUS_HEADER_TIMEOUT", "duration 100ms..1h", "60s",
       duration([](Config& c) -> std::int64_t& { return c.server.header_timeout_ms; }, 100, 3'600'000)},
      {"server.body_timeout", "ARGUS_BODY_TIMEOUT", "duration 100ms..1h", "60s",
       duration([](Config& c) -> std::int64_t& { return c.server.body_timeout_ms; }, 100, 3'600'000)},
      {"server.idle_timeout", "ARGUS_IDLE_TIMEOUT", "duration 100ms..1h", "75s",
       duration([](Config& c) -> std::int64_t& { return c.server.idle_timeout_ms; }, 100, 3'600'000)},
      {"server.shutdown_timeout", "ARGUS_SHUTDOWN_TIMEOUT", "duration 0..10m", "10s",
       duration([](Config& c) -> std::int64_t& { return c.server.shutdown_timeout_ms; }, 0, 600'000)},
      {"server.access_log", "ARGUS_ACCESS_LOG", "true|false", "false",
       boolean([](Config& c) -> bool& { return c.server.access_log; })},
      {"server.cors_origins", "ARGUS_CORS_ORIGINS", "origins, comma-separated", "(none)", set_cors_origins},
      {"server.metrics_public", "ARGUS_METRICS_PUBLIC", "true|false", "false",
       boolean([](Config& c) -> bool& { return c.server.metrics_public; })},
      {"auth.access_ttl", "ARGUS_AUTH_ACCESS_TTL", "duration 1m..24h", "15m",
       duration([](Config& c) -> std::int64_t& { return c.auth.access_ttl_ms; }, 60'000, 86'400'000)},
      {"auth.refresh_ttl", "ARGUS_AUTH_REFRESH_TTL", "duration 1h..365d", "30d",
       duration([](Config& c) -> std::int64_t& { return c.auth.refresh_ttl_ms; }, 3'600'000, 365LL * 86'400'000)},
      {"auth.admin_password_file", "ARGUS_ADMIN_PASSWORD_FILE", "path", "(none)",
       [](const std::string& raw, Config& c) -> std::string {
         c.auth.admin_password_file = raw;
         return "";
       }},
      {"auth.audit_retention", "ARGUS_AUTH_AUDIT_RETENTION", "duration 1d..3650d", "365d",
       duration([](Config& c) -> std::int64_t& { return c.auth.audit_retention_ms; }, 86'400'000,
                3650LL * 86'400'000)},
      {"auth.login_rate", "ARGUS_AUTH_LOGIN_RATE", "N/s|N/min|N/h", "10/min",
       rate([](Config& c) -> RateConfig& { return c.auth.login_rate; })},
      {"auth.login_burst", "ARGUS_AUTH_LOGIN_BURST", "integer 1..100000", "5",
       integer<std::int64_t>([](Config& c) -> std::int64_t& { return c.auth.login_rate.burst; }, 1, 100000)},
      {"auth.read_rate", "ARGUS_AUTH_READ_RATE", "N/s|N/min|N/h", "100/s",
       rate([](Config& c) -> RateConfig& { return c.auth.read_rate; })},
      {"auth.read_burst", "ARGUS_AUTH_READ_BURST", "integer 1..1000000", "200",
       integer<std::int64_t>([](Config& c) -> std::int64_t& { return c.auth.read_rate.burst; }, 1, 1'000'000)},
      {"auth.write_rate", "ARGUS_AUTH_WRITE_RATE", "N/s|N/min|N/h", "20/s",
       rate([](Config& c) -> RateConfig& { return c.auth.write_rate; })},
      {"auth.write_burst", "ARGUS_AUTH_WRITE_BURST", "integer 1..1000000", "40",
       integer<std::int64_t>([](Config& c) -> std::int64_t& { return c.auth.write_rate.burst; }, 1, 1'000'000)},
      {"log.level", "ARGUS_LOG_LEVEL", "trace|debug|info|warn|error|off", "info",
       [](const std::string& raw, Config& c) -> std::string {
         return log::parse_level(raw, c.log.level) ? "" : "must be one of trace, debug, info, warn, error, off";
       }},
      {"log.format", "ARGUS_LOG_FORMAT", "json|text", "json",
       [](const std::string& raw, Config& c) -> std::string {
         return log::parse_format(raw, c.log.format) ? "" : "must be json or text";
       }},
      {"store.url", "ARGUS_STORE_URL", "sqlite:///path/argus.db", "sqlite://<data_dir>/argus.db",
       [](const std::string& raw, Config& c) -> std::string {
         if (raw.rfind("sqlite://", 0) != 0 || raw.size() <= 9) {
           return "must be sqlite:///path/to/argus.db (postgresql:// is not supported by this build yet)";
         }
         c.store.url = raw;
         return "";
       }},
      {"store.synchronous", "ARGUS_STORE_SYNCHRONOUS", "off|normal|full", "normal",
       [](const std::string& raw, Config& c) -> std::string {
         if (raw == "off")
           c.store.synchronous = SqliteSync::kOff;
         else if (raw == "normal")
           c.store.synchronous = SqliteSync::kNormal;
         else if (raw == "full")
           c.store.synchronous = SqliteSync::kFull;
         else
           return "must be off, normal or full (see README: Durability)";
         return "";
       }},
      {"store.busy_timeout", "ARGUS_STORE_BUSY_TIMEOUT", "duration 0..10m", "5s",
       duration([](Config& c) -> std::int64_t& { return c.store.busy_timeout_ms; }, 0, 600'000)},
      {"store.write_queue", "ARGUS_STORE_WRITE_QUEUE", "integer 1..1000000", "4096",
       integer<std::size_t>([](Config& c) -> std::size_t& { return c.store.write_queue; }, 1, 1'000'000)},
      {"store.write_batch_max", "ARGUS_STORE_WRITE_BATCH_MAX", "integer 1..100000", "256",
       integer<std::size_t>([](Config& c) -> std::size_t& { return c.store.write_batch_max; }, 1, 100'000)},
      {"store.read_connections", "ARGUS_STORE_READ_CONNECTIONS", "integer 1..64", "4",
       integer<int>([](Config& c) -> int& { return c.store.read_connections; }, 1, 64)},
      {"detector.kind", "ARGUS_DETECTOR", "hog|onnx|remote", "hog",
       [](const std::string& raw, Config& c) -> std::string {
         if (raw != "hog" && raw != "onnx" && raw != "remote") return "must be hog, onnx or remote";
         c.detector.kind = raw;
         return "";
       }},
      {"detector.workers", "ARGUS_DETECTOR_WORKERS", "integer 1..64", "1",
       integer<int>([](Config& c) -> int& { return c.detector.workers; }, 1, 64)},
      {"detector.queue", "ARGUS_DETECTOR_QUEUE", "integer 1..10000", "16",
       integer<std::size_t>([](Config& c) -> std::size_t& { return c.detector.queue; }, 1, 10'000)},
      {"detector.overflow", "ARGUS_DETECTOR_OVERFLOW", "drop_oldest|reject", "drop_oldest",
       [](const std::string& raw, Config& c) -> std::string {
         if (raw == "drop_oldest")
           c.detector.overflow_reject = false;
         else if (raw == "reject")
           c.detector.overflow_reject = true;
         else
           return "must be drop_oldest or reject";
         return "";
       }},
      {"detector.min_score", "ARGUS_DETECTOR_MIN_SCORE", "number 0..1", "0.2",
       number([](Config& c) -> double& { return c.detector.min_score; }, 0, 1)},
      {"detector.hog_model", "ARGUS_DETECTOR_HOG_MODEL", "default|daimler", "default",
       [](const std::string& raw, Config& c) -> std::string {
         if (raw != "default" && raw != "daimler") return "must be default (64x128 window) or daimler (48x96)";
         c.detector.hog_model = raw;
         return "";
       }},
      {"detector.hog_upscale", "ARGUS_DETECTOR_HOG_UPSCALE", "number 0.25..4", "1",
       number([](Config& c) -> double& { return c.detector.hog_upscale; }, 0.25, 4)},
      {"detector.model", "ARGUS_DETECTOR_MODEL", "path to an .onnx file", "",
       [](const std::string& raw, Config& c) -> std::string {
         c.detector.model = raw;
         return "";
       }},
      {"detector.labels", "ARGUS_DETECTOR_LABELS", "path to a label file, one per line", "(COCO)",
       [](const std::string& raw, Config& c) -> std::string {
         c.detector.labels = raw;
         return "";
       }},
      {"detector.input_width", "ARGUS_DETECTOR_INPUT_WIDTH", "integer 32..4096", "640",
       integer<int>([](Config& c) -> int& { return c.detector.input_width; }, 32, 4096)},
      {"detector.input_height", "ARGUS_DETECTOR_INPUT_HEIGHT", "integer 32..4096", "640",
       integer<int>([](Config& c) -> int& { return c.detector.input_height; }, 32, 4096)},
      {"detector.nms", "ARGUS_DETECTOR_NMS", "number 0..1", "0.45",
       number([](Config& c) -> double& { return c.detector.nms; }, 0, 1)},
      {"detector.url", "ARGUS_DETECTOR_URL", "http(s) URL of a DeepStack-compatible detector", "",
       [](const std::string& raw, Config& c) -> std::string {
         if (!raw.empty() && raw.rfind("http://", 0) != 0 && raw.rfind("https://", 0) != 0) {
           return "must be an http:// or https:// URL";
         }
         c.detector.url = raw;
         return "";
       }},
      {"detector.timeout", "ARGUS_DETECTOR_TIMEOUT", "duration 100ms..5m", "5s",
       duration([](Config& c) -> std::int64_t& { return c.detector.timeout_ms; }, 100, 300'000)},
      {"detector.retries", "ARGUS_DETECTOR_RETRIES", "integer 0..10", "2",
       integer<int>([](Config& c) -> int& { return c.detector.retries; }, 0, 10)},
      {"pipeline.motion_gate", "ARGUS_MOTION_GATE", "true|false", "true",
       boolean([](Config& c) -> bool& { return c.pipeline.motion_gate; })},
      {"pipeline.motion_width", "ARGUS_MOTION_WIDTH", "integer 64..1920", "320",
       integer<int>([](Config& c) -> int& { return c.pipeline.motion_width; }, 64, 1920)},
      {"pipeline.track_timeout", "ARGUS_TRACK_TIMEOUT", "duration 100ms..1m", "1s",
       duration([](Config& c) -> std::int64_t& { return c.pipeline.track_timeout_ms; }, 100, 60'000)},
      {"pipeline.count_flush", "ARGUS_COUNT_FLUSH", "duration 1s..5m", "10s",
       duration([](Config& c) -> std::int64_t& { return c.pipeline.count_flush_ms; }, 1000, 300'000)},
      {"pipeline.snapshot_quality", "ARGUS_SNAPSHOT_QUALITY", "integer 10..100", "85",
       integer<int>([](Config& c) -> int& { return c.pipeline.snapshot_quality; }, 10, 100)},
      {"pipeline.snapshots", "ARGUS_SNAPSHOTS", "true|false", "true",
       boolean([](Config& c) -> bool& { return c.pipeline.snapshots; })},
      {"ingest.backoff_initial", "ARGUS_INGEST_BACKOFF_INITIAL", "duration 10ms..1m", "500ms",
       duration([](Config& c) -> std::int64_t& { return c.ingest.backoff_initial_ms; }, 10, 60'000)},
      {"ingest.backoff_max", "ARGUS_INGEST_BACKOFF_MAX", "duration 10ms..1h", "30s",
       duration([](Config& c) -> std::int64_t& { return c.ingest.backoff_max_ms; }, 10, 3'600'000)},
      {"ingest.read_timeout", "ARGUS_INGEST_READ_TIMEOUT", "duration 100ms..10m", "10s",
       duration([](Config& c) -> std::int64_t& { return c.ingest.read_timeout_ms; }, 100, 600'000)},
      {"ingest.offline_after", "ARGUS_INGEST_OFFLINE_AFTER", "duration 100ms..1d", "60s",
       duration([](Config& c) -> std::int64_t& { return c.ingest.offline_after_ms; }, 100, 86'400'000)},
      // WebSocket and SSE streams (api/stream_hub.h).
      {"streams.ring_size", "ARGUS_STREAMS_RING_SIZE", "integer 0..1000000 (recent messages kept for replay)",
       "10000", integer<std::size_t>([](Config& c) -> std::size_t& { return c.streams.ring_size; }, 0, 1'000'000)},
      {"streams.queue", "ARGUS_STREAMS_QUEUE", "integer 1..100000 (messages waiting per subscriber)", "1024",
       integer<std::size_t>([](Config& c) -> std::size_t& { return c.streams.queue; }, 1, 100'000)},
      {"streams.slow_policy", "ARGUS_STREAMS_SLOW_POLICY",
       "drop_oldest|disconnect (a subscriber whose queue is full loses its oldest messages and is told, "
       "or is disconnected)",
       "drop_oldest",
       [](const std::string& raw, Config& c) -> std::string {
         if (raw == "drop_oldest") {
           c.streams.slow_policy = StreamSlowPolicy::kDropOldest;
         } else if (raw == "disconnect") {
           c.streams.slow_policy = StreamSlowPolicy::kDisconnect;
         } else {
           return "must be drop_oldest or disconnect";
         }
         return "";
       }},
      {"streams.max_subscribers", "ARGUS_STREAMS_MAX_SUBSCRIBERS", "integer 1..1000000", "10000",
       integer<std::size_t>([](Config& c) -> std::size_t& { return c.streams.max_subscribers; }, 1, 1'000'000)},
      {"streams.heartbeat", "ARGUS_STREAMS_HEARTBEAT", "duration 1s..10m", "15s",
       duration([](Config& c) -> std::int64_t& { return c.streams.heartbeat_ms; }, 1000, 600'000)},
      {"streams.write_timeout", "ARGUS_STREAMS_WRITE_TIMEOUT", "duration 1s..1h", "60s",
       duration([](Config& c) -> std::int64_t& { return c.streams.write_timeout_ms; }, 1000, 3'600'000)},
      {"streams.max_message_bytes", "ARGUS_STREAMS_MAX_MESSAGE_BYTES", "size 1k..16m", "64k",
       size_bytes([](Config& c) -> std::size_t& { return c.streams.max_message_bytes; }, 1024, std::size_t{16} << 20)},
      // The MQTT bridge (alerts/mqtt_bridge.h).
      {"mqtt.enabled", "ARGUS_MQTT_ENABLED", "true|false (the bridge runs when enabled and mqtt.url is set)", "true",
       boolean([](Config& c) -> bool& { return c.mqtt.enabled; })},
      {"mqtt.url", "ARGUS_MQTT_URL", "mqtt://host[:port] or mqtts://host[:port] of the broker (\"\" = no bridge)", "",
       check_mqtt_url},
      {"mqtt.username", "ARGUS_MQTT_USERNAME", "user name at the broker (\"\" = anonymous)", "",
       text([](Config& c) -> std::string& { return c.mqtt.username; })},
      {"mqtt.password", "ARGUS_MQTT_PASSWORD", "password at the broker (prefer mqtt.password_file)", "",
       text([](Config& c) -> std::string& { return c.mqtt.password; })},
      {"mqtt.password_file", "ARGUS_MQTT_PASSWORD_FILE", "path to a file holding the broker password", "",
       text([](Config& c) -> std::string& { return c.mqtt.password_file; })},
      {"mqtt.tls.ca_file", "ARGUS_MQTT_TLS_CA_FILE", "mqtts: PEM CA bundle that signed the broker's certificate",
       "(the system's CAs)", text([](Config& c) -> std::string& { return c.mqtt.ca_file; })},
      {"mqtt.tls.insecure", "ARGUS_MQTT_TLS_INSECURE", "true|false (mqtts: do not check the broker's host name)",
       "false", boolean([](Config& c) -> bool& { return c.mqtt.tls_insecure; })},
      {"mqtt.client_id", "ARGUS_MQTT_CLIENT_ID", "1..128 characters", "argus-<hostname>",
       [](const std::string& raw, Config& c) -> std::string {
         if (raw.empty() || raw.size() > 128) return "must be 1 to 128 characters";
         c.mqtt.client_id = raw;
         return "";
       }},
      {"mqtt.topic_prefix", "ARGUS_MQTT_TOPIC_PREFIX", "MQTT topic levels without wildcards (e.g. argus or site/argus)",
       "argus", mqtt_prefix([](Config& c) -> std::string& { return c.mqtt.topic_prefix; })},
      {"mqtt.discovery", "ARGUS_MQTT_DISCOVERY", "true|false (Home Assistant MQTT discovery)", "true",
       boolean([](Config& c) -> bool& { return c.mqtt.discovery; })},
      {"mqtt.discovery_prefix", "ARGUS_MQTT_DISCOVERY_PREFIX", "MQTT topic levels without wildcards", "homeassistant",
       mqtt_prefix([](Config& c) -> std::string& { return c.mqtt.discovery_prefix; })},
      {"mqtt.stats_interval", "ARGUS_MQTT_STATS_INTERVAL", "duration 1s..1d (<prefix>/stats)", "60s",
       duration([](Config& c) -> std::int64_t& { return c.mqtt.stats_interval_ms; }, 1000, 86'400'000)},
      {"mqtt.backlog", "ARGUS_MQTT_BACKLOG", "integer 1..1000000 (messages kept while the broker is away; "
       "beyond, the oldest are dropped and counted)", "10000",
       integer<std::size_t>([](Config& c) -> std::size_t& { return c.mqtt.backlog; }, 1, 1'000'000)},
      {"mqtt.keepalive", "ARGUS_MQTT_KEEPALIVE", "duration 5s..1h", "60s",
       duration([](Config& c) -> std::int64_t& { return c.mqtt.keepalive_ms; }, 5000, 3'600'000)},
      {"mqtt.reconnect_max", "ARGUS_MQTT_RECONNECT_MAX", "duration 1s..1h (reconnect delays double up to this)",
       "30s", duration([](Config& c) -> std::int64_t& { return c.mqtt.reconnect_max_ms; }, 1000, 3'600'000)},
      {"mqtt.qos", "ARGUS_MQTT_QOS", "0|1", "1", integer<int>([](Config& c) -> int& { return c.mqtt.qos; }, 0, 1)},
      // Background jobs (jobs/job_manager.h) and the scheduler's intervals.
      {"jobs.workers", "ARGUS_JOBS_WORKERS", "integer 1..16", "1",
       integer<int>([](Config& c) -> int& { return c.jobs.workers; }, 1, 16)},
      {"jobs.queue", "ARGUS_JOBS_QUEUE", "integer 1..100000", "100",
       integer<std::size_t>([](Config& c) -> std::size_t& { return c.jobs.queue; }, 1, 100'000)},
      {"jobs.retention_interval", "ARGUS_JOBS_RETENTION_INTERVAL", "duration 1m..7d", "1h",
       duration([](Config& c) -> std::int64_t& { return c.jobs.retention_interval_ms; }, 60'000, 7LL * 86'400'000)},
      {"jobs.rollup_interval", "ARGUS_JOBS_ROLLUP_INTERVAL", "duration 1m..1d", "5m",
       duration([](Config& c) -> std::int64_t& { return c.jobs.rollup_interval_ms; }, 60'000, 86'400'000)},
      {"jobs.retention_days", "ARGUS_JOBS_RETENTION_DAYS", "integer 0..36500 (0 = keep forever)", "30",
       integer<int>([](Config& c) -> int& { return c.jobs.retention_days; }, 0, 36'500)},
      // Notification delivery (alerts/delivery.h).
      {"notifications.queue", "ARGUS_NOTIFICATIONS_QUEUE", "integer 1..100000", "1000",
       integer<std::size_t>([](Config& c) -> std::size_t& { return c.notifications.queue; }, 1, 100'000)},
      {"notifications.workers", "ARGUS_NOTIFICATIONS_WORKERS", "integer 1..32", "2",
       integer<int>([](Config& c) -> int& { return c.notifications.workers; }, 1, 32)},
      {"notifications.max_attempts", "ARGUS_NOTIFICATIONS_MAX_ATTEMPTS", "integer 1..100", "5",
       integer<int>([](Config& c) -> int& { return c.notifications.max_attempts; }, 1, 100)},
      {"notifications.backoff_initial", "ARGUS_NOTIFICATIONS_BACKOFF_INITIAL", "duration 10ms..1h", "1s",
       duration([](Config& c) -> std::int64_t& { return c.notifications.backoff_initial_ms; }, 10, 3'600'000)},
      {"notifications.backoff_max", "ARGUS_NOTIFICATIONS_BACKOFF_MAX", "duration 10ms..1d", "5m",
       duration([](Config& c) -> std::int64_t& { return c.notifications.backoff_max_ms; }, 10, 86'400'000)},
      {"notifications.breaker_threshold", "ARGUS_NOTIFICATIONS_BREAKER_THRESHOLD", "integer 1..1000", "5",
       integer<int>([](Config& c) -> int& { return c.notifications.breaker_threshold; }, 1, 1000)},
      {"notifications.breaker_cooldown", "ARGUS_NOTIFICATIONS_BREAKER_COOLDOWN", "duration 100ms..1h", "30s",
       duration([](Config& c) -> std::int64_t& { return c.notifications.breaker_cooldown_ms; }, 100, 3'600'000)},
      // TLS for the HTTP server (api/tls.h).
      {"tls.mode", "ARGUS_TLS_MODE",
       "disabled|self_signed|provided (self_signed: a key and certificate made on first start under "
       "<data_dir>/tls and reused; provided: tls.cert_file and tls.key_file, reloaded on SIGHUP)",
       "disabled", set_tls_mode},
      {"tls.cert_file", "ARGUS_TLS_CERT_FILE", "path to a PEM certificate chain (required when provided)",
       "<data_dir>/tls/cert.pem for self_signed", text([](Config& c) -> std::string& { return c.tls.cert_file; })},
      {"tls.key_file", "ARGUS_TLS_KEY_FILE", "path to a PEM private key (required when provided)",
       "<data_dir>/tls/key.pem for self_signed", text([](Config& c) -> std::string& { return c.tls.key_file; })},
      {"tls.hostnames", "ARGUS_TLS_HOSTNAMES", "list of DNS names for the self-signed certificate",
       "localhost and the machine's host name",
       string_list([](Config& c) -> std::vector<std::string>& { return c.tls.hostnames; }, check_dns_name,
                   "host names (a YAML list or comma-separated)"),
       true},
      {"tls.ips", "ARGUS_TLS_IPS", "list of IP addresses for the self-signed certificate", "127.0.0.1, ::1",
       string_list([](Config& c) -> std::vector<std::string>& { return c.tls.ips; }, check_ip,
                   "IP addresses (a YAML list or comma-separated)"),
       true},
      {"tls.min_version", "ARGUS_TLS_MIN_VERSION", "1.2|1.3", "1.2",
       [](const std::string& raw, Config& c) -> std::string {
         if (raw == "1.2")
           c.tls.min_version = 12;
         else if (raw == "1.3")
           c.tls.min_version = 13;
         else
           return "must be 1.2 or 1.3 (older versions are not supported)";
         return "";
       }},
      // Where outbound URLs may point (core/url_guard.h): refuses loopback, private,
      // link-local, metadata and reserved destinations unless allowed.
      {"security.camera_urls", "ARGUS_SECURITY_CAMERA_URLS",
       "private|public: camera and snapshot URLs may reach LAN, link-local and loopback addresses (private) "
       "or public addresses only",
       "private", url_scope([](Config& c) -> UrlScope& { return c.security.camera_urls; })},
      {"security.webhook_urls", "ARGUS_SECURITY_WEBHOOK_URLS", "private|public: the same for webhook URLs", "public",
       url_scope([](Config& c) -> UrlScope& { return c.security.webhook_urls; })},
      {"security.detector_urls", "ARGUS_SECURITY_DETECTOR_URLS", "private|public: the same for remote detector URLs",
       "private", url_scope([](Config& c) -> UrlScope& { return c.security.detector_urls; })},
      {"security.url_allow", "ARGUS_SECURITY_URL_ALLOW",
       "list of CIDRs (10.1.0.0/16), addresses, host names (cam1.lan) or *.domain always allowed; cloud "
       "metadata (169.254.169.254) only when listed as that exact address",
       "(none)",
       string_list([](Config& c) -> std::vector<std::string>& { return c.security.url_allow; }, check_url_rule,
                   "CIDRs, addresses, host names or *.domain (a YAML list or comma-separated)"),
       true},
      {"security.url_deny", "ARGUS_SECURITY_URL_DENY", "list of the same forms, always refused (wins over url_allow)",
       "(none)",
       string_list([](Config& c) -> std::vector<std::string>& { return c.security.url_deny; }, check_url_rule,
                   "CIDRs, addresses, host names or *.domain (a YAML list or comma-separated)"),
       true},
  };
  return keys;
}

const Key* find_key(const std::string& path) {
  for (const auto& k : schema()) {
    if (k.path == path) return &k;
  }
  return nullptr;
}

// The immediate children of a section path ("" = top level), for "allowed keys" messages.
std::vector<std::string> children_of(const std::string& section) {
  std::set<std::string> out;
  std::string prefix = section.empty() ? "" : section + ".";
  for (const auto& k : schema()) {
    if (k.path.rfind(prefix, 0) != 0) continue;
    std::string rest = k.path.substr(prefix.size());
    out.insert(rest.substr(0, rest.find('.')));
  }
  if (section.empty()) out.insert("cameras");
  return {out.begin(), out.end()};
}

bool is_section(const std::string& path) {
  std::string prefix = path + ".";
  return std::any_of(schema().begin(), schema().end(), [&](const Key& k) { return k.path.rfind(prefix, 0) == 0; });
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::string quote(const std::string& v) {
  nlohmann::json j = v;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct Loader {
  Config config;
  std::vector<std::string> problems;

  void apply(const Key& key, const std::string& raw, const std::string& origin) {
    std::string why = key.set(trim(raw), config);
    if (!why.empty()) {
      problems.push_back(key.path + " = " + quote(raw) + " (" + origin + "): " + why);
    }
  }
};

// YAML scalars are untyped in yaml-cpp: quoted ones are strings; plain ones are read as
// null, bool, integer, float or string, in that order.
nlohmann::json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& item : node) arr.push_back(yaml_to_json(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      nlohmann::json obj = nlohmann::json::object();
      for (const auto& kv : node) obj[kv.first.Scalar()] = yaml_to_json(kv.second);
      return obj;
    }
    case YAML::NodeType::Scalar:
      break;
  }
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  // Only decimal number syntax is a number: from_chars alone would also take "inf",
  // "nan" or "infinity", turning a camera named `nan` into a floating-point value.
  std::string_view num = s;
  if (!num.empty() && num.front() == '+') num.remove_prefix(1);
  const bool numeric =
      !num.empty() &&
      (std::isdigit(static_cast<unsigned char>(num.front())) != 0 || num.front() == '-' || num.front() == '.') &&
      num.find_first_not_of("0123456789+-.eE") == std::string_view::npos &&
      num.find_first_of("0123456789") != std::string_view::npos;
  if (!numeric) return s;
  long long i = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), i);
  if (ec == std::errc() && p == num.data() + num.size()) return i;
  double d = 0;
  auto [p2, ec2] = std::from_chars(num.data(), num.data() + num.size(), d);
  if (ec2 == std::errc() && p2 == num.data() + num.size()) return d;
  return s;
}

// Undoes json_pointer_escape: "~1" -> '/', "~0" -> '~'.
std::string pointer_unescape(const std::string& token) {
  std::string out;
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
      out += token[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      out += token[i];
    }
  }
  return out;
}

// "/zones/0/polygon" -> ".zones[0].polygon"
std::string pointer_to_path(const std::string& pointer) {
  std::string out;
  std::size_t i = 0;
  while (i < pointer.size()) {
    std::size_t next = pointer.find('/', i + 1);
    std::string token = pointer.substr(i + 1, next == std::string::npos ? std::string::npos : next - i - 1);
    bool numeric =
        !token.empty() && std::all_of(token.begin(), token.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    out += numeric ? "[" + token + "]" : "." + pointer_unescape(token);
    if (next == std::string::npos) break;
    i = next;
  }
  return out;
}

void load_cameras(const YAML::Node& node, const std::string& origin, Loader& L) {
  if (node.IsNull()) return;  // "cameras:" with every entry commented out
  if (!node.IsSequence()) {
    L.problems.push_back("cameras (" + origin + "): must be a list of cameras");
    return;
  }
  std::set<std::string> ids;
  for (std::size_t i = 0; i < node.size(); ++i) {
    nlohmann::json doc = yaml_to_json(node[i]);
    Camera cam;
    FieldErrors errors;
    std::string prefix = "/" + std::to_string(i);
    camera_from_json(doc, cam, errors, false, prefix);
    for (const auto& e : errors) {
      L.problems.push_back("cameras" + pointer_to_path(e.pointer) + " (" + origin + "): " + e.detail);
    }
    if (errors.empty()) {
      if (!ids.insert(cam.id).second) {
        L.problems.push_back("cameras[" + std::to_string(i) + "].id (" + origin +
                             "): duplicates an earlier camera id " + quote(cam.id));
      }
      L.config.cameras.push_back(std::move(cam));
    }
  }
}

void walk_yaml(const YAML::Node& node, const std::string& section, const std::string& origin, Loader& L) {
  for (const auto& kv : node) {
    std::string name = kv.first.Scalar();
    std::string path = section.empty() ? name : section + "." + name;
    if (section.empty() && name == "cameras") {
      load_cameras(kv.second, origin, L);
      continue;
    }
    if (const Key* key = find_key(path)) {
      if (key->list && (kv.second.IsSequence() || kv.second.IsNull())) {
        std::string joined;
        bool scalars = true;
        for (const auto& item : kv.second) {
          scalars = scalars && item.IsScalar();
          if (scalars) joined += (joined.empty() ? "" : ",") + item.Scalar();
        }
        if (scalars) {
          L.apply(*key, joined, origin);
        } else {
          L.problems.push_back(path + " (" + origin + "): must be a list of single values (" + key->allowed + ")");
        }
        continue;
      }
      if (!kv.second.IsScalar()) {
        L.problems.push_back(path + " (" + origin + "): must be a single value (" + key->allowed + ")");
        continue;
      }
      L.apply(*key, kv.second.Scalar(), origin);
    } else if (is_section(path)) {
      if (kv.second.IsNull()) continue;
      if (!kv.second.IsMap()) {
        L.problems.push_back(path + " (" + origin + "): must be a mapping of keys: " + join(children_of(path)));
        continue;
      }
      walk_yaml(kv.second, path, origin, L);
    } else {
      L.problems.push_back(path + " (" + origin + "): unknown key; allowed " +
                           (section.empty() ? "top-level keys" : "keys under " + section) + ": " +
                           join(children_of(section)));
    }
  }
}

// Emits a JSON value as YAML that yaml_to_json reads back to the same value. Strings are
// always double-quoted: a plain `123`, `true` or `null` would come back as another type.
void emit_json(YAML::Emitter& out, const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, x] : v.items()) {
        out << YAML::Key << k << YAML::Value;
        emit_json(out, x);
      }
      out << YAML::EndMap;
      return;
    case nlohmann::json::value_t::array: {
      const bool scalars = std::none_of(v.begin(), v.end(), [](const nlohmann::json& x) { return x.is_structured(); });
      if (scalars) out << YAML::Flow;  // points and label lists stay on one line
      out << YAML::BeginSeq;
      for (const auto& x : v) emit_json(out, x);
      out << YAML::EndSeq;
      return;
    }
    case nlohmann::json::value_t::string:
      out << YAML::DoubleQuoted << v.get_ref<const std::string&>();
      return;
    case nlohmann::json::value_t::boolean:
      out << v.get<bool>();
      return;
    case nlohmann::json::value_t::number_integer:
      out << v.get<std::int64_t>();
      return;
    case nlohmann::json::value_t::number_unsigned:
      out << v.get<std::uint64_t>();
      return;
    case nlohmann::json::value_t::number_float:
      out << v.dump();  // shortest text that reads back to the same double
      return;
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::binary:
    case nlohmann::json::value_t::discarded:
      out << YAML::Null;
      return;
  }
}

}  // namespace

std::string_view tls_mode_name(TlsMode m) {
  switch (m) {
    case TlsMode::kDisabled:
      return "disabled";
    case TlsMode::kSelfSigned:
      return "self_signed";
    case TlsMode::kProvided:
      return "provided";
  }
  return "disabled";
}

std::string_view sqlite_sync_name(SqliteSync s) {
  switch (s) {
    case SqliteSync::kOff:
      return "off";
    case SqliteSync::kNormal:
      return "normal";
    case SqliteSync::kFull:
      return "full";
  }
  return "normal";
}

std::map<std::string, std::string> argus_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (kv.rfind("ARGUS_", 0) != 0) continue;
    std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

Result<Config> load_config(const ConfigSources& sources) {
  Loader L;
  if (!sources.file.empty()) {
    std::string origin = "file " + sources.file;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(sources.file, ec)) {
      return Status::invalid_argument("config file " + quote(sources.file) + " does not exist or is not a file");
    }
    try {
      YAML::Node root = YAML::LoadFile(sources.file);
      if (root.IsMap()) {
        walk_yaml(root, "", origin, L);
      } else if (!root.IsNull()) {
        L.problems.push_back("(" + origin + "): the top level must be a mapping of keys: " + join(children_of("")));
      }
    } catch (const YAML::Exception& e) {
      return Status::invalid_argument("config file " + quote(sources.file) + " is not valid YAML: line " +
                                      std::to_string(e.mark.line + 1) + ", column " +
                                      std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
  }
  for (const auto& key : schema()) {
    auto it = sources.env.find(key.env);
    if (it != sources.env.end()) L.apply(key, it->second, "environment " + key.env);
  }
  for (const auto& [path, value] : sources.flags) {
    const Key* key = find_key(path);
    if (key == nullptr) {
      std::vector<std::string> all;
      for (const auto& k : schema()) all.push_back(k.path);
      L.problems.push_back(path + " (flag): unknown key; known keys: " + join(all));
      continue;
    }
    L.apply(*key, value, "flag");
  }
  if (L.config.tls.mode == TlsMode::kProvided) {
    for (auto [path, value] :
         {std::pair{"tls.cert_file", &L.config.tls.cert_file}, std::pair{"tls.key_file", &L.config.tls.key_file}}) {
      if (value->empty()) {
        L.problems.push_back(std::string(path) + ": required when tls.mode is provided (a PEM file path)");
      }
    }
  }
  if (!L.problems.empty()) {
    std::string msg = "invalid configuration:";
    for (const auto& p : L.problems) msg += "\n  " + p;
    return Status::invalid_argument(msg);
  }
  Config c = std::move(L.config);
  std::error_code ec;
  auto abs = std::filesystem::absolute(c.data_dir, ec);
  if (!ec) c.data_dir = abs.lexically_normal().string();
  while (c.data_dir.size() > 1 && c.data_dir.back() == '/') c.data_dir.pop_back();
  if (c.store.url.empty()) c.store.url = "sqlite://" + (c.data_dir == "/" ? "" : c.data_dir) + "/argus.db";
  if (c.tls.cert_file.empty()) c.tls.cert_file = (std::filesystem::path(c.data_dir) / "tls" / "cert.pem").string();
  if (c.tls.key_file.empty()) c.tls.key_file = (std::filesystem::path(c.data_dir) / "tls" / "key.pem").string();
  if (c.tls.hostnames.empty()) c.tls.hostnames = default_tls_hostnames();
  if (c.mqtt.client_id.empty()) {
    char buf[256] = {0};
    std::string host = ::gethostname(buf, sizeof buf - 1) == 0 && buf[0] != '\0' ? buf : "host";
    c.mqtt.client_id = ("argus-" + host).substr(0, 128);
  }
  return c;
}

std::string config_reference() {
  std::ostringstream out;
  out << "Configuration keys (YAML path | environment | allowed | default).\n"
      << "Precedence: flags (--set path=value and the named flags) > environment > file > defaults.\n\n";
  for (const auto& k : schema()) {
    out << "  " << k.path << "\n      env " << k.env << "; " << k.allowed << "; default " << k.default_text << "\n";
  }
  out << "  cameras\n      a list of cameras, same fields as POST /api/v1/cameras; upserted at start\n";
  return out.str();
}

std::string config_to_yaml(const Config& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "data_dir" << YAML::Value << c.data_dir;
  out << YAML::Key << "server" << YAML::Value << YAML::BeginMap;
  std::string host =
      c.server.listen_host.find(':') != std::string::npos ? "[" + c.server.listen_host + "]" : c.server.listen_host;
  out << YAML::Key << "listen" << YAML::Value << host + ":" + std::to_string(c.server.listen_port);
  out << YAML::Key << "io_threads" << YAML::Value << c.server.io_threads;
  out << YAML::Key << "max_connections" << YAML::Value << c.server.max_connections;
  out << YAML::Key << "max_body_bytes" << YAML::Value << c.server.max_body_bytes;
  out << YAML::Key << "max_header_bytes" << YAML::Value << c.server.max_header_bytes;
  out << YAML::Key << "header_timeout" << YAML::Value << std::to_string(c.server.header_timeout_ms) + "ms";
  out << YAML::Key << "body_timeout" << YAML::Value << std::to_string(c.server.body_timeout_ms) + "ms";
  out << YAML::Key << "idle_timeout" << YAML::Value << std::to_string(c.server.idle_timeout_ms) + "ms";
  out << YAML::Key << "shutdown_timeout" << YAML::Value << std::to_string(c.server.shutdown_timeout_ms) + "ms";
  out << YAML::Key << "access_log" << YAML::Value << c.server.access_log;
  if (!c.server.cors_origins.empty()) {
    std::string joined;
    for (const auto& o : c.server.cors_origins) joined += (joined.empty() ? "" : ",") + o;
    out << YAML::Key << "cors_origins" << YAML::Value << joined;
  }
  out << YAML::Key << "metrics_public" << YAML::Value << c.server.metrics_public;
  out << YAML::EndMap;
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
  out << YAML::Key << "log" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "level" << YAML::Value << kLevels[static_cast<int>(c.log.level)];
  out << YAML::Key << "format" << YAML::Value << (c.log.format == log::Format::kJson ? "json" : "text");
  out << YAML::EndMap;
  out << YAML::Key << "store" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "url" << YAML::Value << c.store.url;
  out << YAML::Key << "synchronous" << YAML::Value << std::string(sqlite_sync_name(c.store.synchronous));
  out << YAML::Key << "busy_timeout" << YAML::Value << std::to_string(c.store.busy_timeout_ms) + "ms";
  out << YAML::Key << "write_queue" << YAML::Value << c.store.write_queue;
  out << YAML::Key << "write_batch_max" << YAML::Value << c.store.write_batch_max;
  out << YAML::Key << "read_connections" << YAML::Value << c.store.read_connections;
  out << YAML::EndMap;
  const DetectorSettings& d = c.detector;
  out << YAML::Key << "detector" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "kind" << YAML::Value << d.kind;
  out << YAML::Key << "workers" << YAML::Value << d.workers;
  out << YAML::Key << "queue" << YAML::Value << d.queue;
  out << YAML::Key << "overflow" << YAML::Value << (d.overflow_reject ? "reject" : "drop_oldest");
  out << YAML::Key << "min_score" << YAML::Value << d.min_score;
  out << YAML::Key << "hog_model" << YAML::Value << d.hog_model;
  out << YAML::Key << "hog_upscale" << YAML::Value << d.hog_upscale;
  if (!d.model.empty()) out << YAML::Key << "model" << YAML::Value << d.model;
  if (!d.labels.empty()) out << YAML::Key << "labels" << YAML::Value << d.labels;
  out << YAML::Key << "input_width" << YAML::Value << d.input_width;
  out << YAML::Key << "input_height" << YAML::Value << d.input_height;
  out << YAML::Key << "nms" << YAML::Value << d.nms;
  if (!d.url.empty()) out << YAML::Key << "url" << YAML::Value << mask_url_credentials(d.url);
  out << YAML::Key << "timeout" << YAML::Value << std::to_string(d.timeout_ms) + "ms";
  out << YAML::Key << "retries" << YAML::Value << d.retries;
  out << YAML::EndMap;
  const PipelineSettings& p = c.pipeline;
  out << YAML::Key << "pipeline" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "motion_gate" << YAML::Value << p.motion_gate;
  out << YAML::Key << "motion_width" << YAML::Value << p.motion_width;
  out << YAML::Key << "track_timeout" << YAML::Value << std::to_string(p.track_timeout_ms) + "ms";
  out << YAML::Key << "count_flush" << YAML::Value << std::to_string(p.count_flush_ms) + "ms";
  out << YAML::Key << "snapshot_quality" << YAML::Value << p.snapshot_quality;
  out << YAML::Key << "snapshots" << YAML::Value << p.snapshots;
  out << YAML::EndMap;
  const IngestSettings& g = c.ingest;
  const AuthConfig& a = c.auth;
  auto rate_text = [](const RateConfig& r) {
    std::ostringstream t;
    t << r.rate << (r.period_ms == 1000 ? "/s" : r.period_ms == 60'000 ? "/min" : "/h");
    return t.str();
  };
  out << YAML::Key << "auth" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "access_ttl" << YAML::Value << std::to_string(a.access_ttl_ms) + "ms";
  out << YAML::Key << "refresh_ttl" << YAML::Value << std::to_string(a.refresh_ttl_ms) + "ms";
  out << YAML::Key << "audit_retention" << YAML::Value << std::to_string(a.audit_retention_ms) + "ms";
  if (!a.admin_password_file.empty()) out << YAML::Key << "admin_password_file" << YAML::Value << a.admin_password_file;
  out << YAML::Key << "login_rate" << YAML::Value << rate_text(a.login_rate);
  out << YAML::Key << "login_burst" << YAML::Value << a.login_rate.burst;
  out << YAML::Key << "read_rate" << YAML::Value << rate_text(a.read_rate);
  out << YAML::Key << "read_burst" << YAML::Value << a.read_rate.burst;
  out << YAML::Key << "write_rate" << YAML::Value << rate_text(a.write_rate);
  out << YAML::Key << "write_burst" << YAML::Value << a.write_rate.burst;
  out << YAML::EndMap;
  out << YAML::Key << "ingest" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "backoff_initial" << YAML::Value << std::to_string(g.backoff_initial_ms) + "ms";
  out << YAML::Key << "backoff_max" << YAML::Value << std::to_string(g.backoff_max_ms) + "ms";
  out << YAML::Key << "read_timeout" << YAML::Value << std::to_string(g.read_timeout_ms) + "ms";
  out << YAML::Key << "offline_after" << YAML::Value << std::to_string(g.offline_after_ms) + "ms";
  out << YAML::EndMap;
  const JobsConfig& jc = c.jobs;
  out << YAML::Key << "jobs" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "workers" << YAML::Value << jc.workers;
  out << YAML::Key << "queue" << YAML::Value << jc.queue;
  out << YAML::Key << "retention_interval" << YAML::Value << std::to_string(jc.retention_interval_ms) + "ms";
  out << YAML::Key << "rollup_interval" << YAML::Value << std::to_string(jc.rollup_interval_ms) + "ms";
  out << YAML::Key << "retention_days" << YAML::Value << jc.retention_days;
  out << YAML::EndMap;
  const NotificationsConfig& nc = c.notifications;
  out << YAML::Key << "notifications" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "queue" << YAML::Value << nc.queue;
  out << YAML::Key << "workers" << YAML::Value << nc.workers;
  out << YAML::Key << "max_attempts" << YAML::Value << nc.max_attempts;
  out << YAML::Key << "backoff_initial" << YAML::Value << std::to_string(nc.backoff_initial_ms) + "ms";
  out << YAML::Key << "backoff_max" << YAML::Value << std::to_string(nc.backoff_max_ms) + "ms";
  out << YAML::Key << "breaker_threshold" << YAML::Value << nc.breaker_threshold;
  out << YAML::Key << "breaker_cooldown" << YAML::Value << std::to_string(nc.breaker_cooldown_ms) + "ms";
  out << YAML::EndMap;
  auto string_seq = [&out](const std::vector<std::string>& items) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : items) out << YAML::DoubleQuoted << item;
    out << YAML::EndSeq;
  };
  const TlsConfig& t = c.tls;
  out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "mode" << YAML::Value << std::string(tls_mode_name(t.mode));
  out << YAML::Key << "cert_file" << YAML::Value << t.cert_file;
  out << YAML::Key << "key_file" << YAML::Value << t.key_file;
  out << YAML::Key << "hostnames" << YAML::Value;
  string_seq(t.hostnames);
  out << YAML::Key << "ips" << YAML::Value;
  string_seq(t.ips);
  out << YAML::Key << "min_version" << YAML::Value << YAML::DoubleQuoted << (t.min_version == 13 ? "1.3" : "1.2");
  out << YAML::EndMap;
  const SecurityConfig& sec = c.security;
  out << YAML::Key << "security" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "camera_urls" << YAML::Value << std::string(url_scope_name(sec.camera_urls));
  out << YAML::Key << "webhook_urls" << YAML::Value << std::string(url_scope_name(sec.webhook_urls));
  out << YAML::Key << "detector_urls" << YAML::Value << std::string(url_scope_name(sec.detector_urls));
  out << YAML::Key << "url_allow" << YAML::Value;
  string_seq(sec.url_allow);
  out << YAML::Key << "url_deny" << YAML::Value;
  string_seq(sec.url_deny);
  out << YAML::EndMap;
  // The MQTT password is never emitted (mqtt.password_file is).
  const MqttConfig& mq = c.mqtt;
  out << YAML::Key << "mqtt" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "enabled" << YAML::Value << mq.enabled;
  out << YAML::Key << "url" << YAML::Value << YAML::DoubleQuoted << mq.url;
  out << YAML::Key << "username" << YAML::Value << YAML::DoubleQuoted << mq.username;
  if (!mq.password_file.empty()) out << YAML::Key << "password_file" << YAML::Value << mq.password_file;
  out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "ca_file" << YAML::Value << YAML::DoubleQuoted << mq.ca_file;
  out << YAML::Key << "insecure" << YAML::Value << mq.tls_insecure;
  out << YAML::EndMap;
  out << YAML::Key << "client_id" << YAML::Value << YAML::DoubleQuoted << mq.client_id;
  out << YAML::Key << "topic_prefix" << YAML::Value << YAML::DoubleQuoted << mq.topic_prefix;
  out << YAML::Key << "discovery" << YAML::Value << mq.discovery;
  out << YAML::Key << "discovery_prefix" << YAML::Value << YAML::DoubleQuoted << mq.discovery_prefix;
  out << YAML::Key << "stats_interval" << YAML::Value << std::to_string(mq.stats_interval_ms) + "ms";
  out << YAML::Key << "backlog" << YAML::Value << mq.backlog;
  out << YAML::Key << "keepalive" << YAML::Value << std::to_string(mq.keepalive_ms) + "ms";
  out << YAML::Key << "reconnect_max" << YAML::Value << std::to_string(mq.reconnect_max_ms) + "ms";
  out << YAML::Key << "qos" << YAML::Value << mq.qos;
  out << YAML::EndMap;
  out << YAML::Key << "cameras" << YAML::Value << YAML::BeginSeq;
  for (const auto& cam : c.cameras) {
    emit_json(out, camera_to_json(cam, {.mask_credentials = true, .include_meta = false}));
  }
  out << YAML::EndSeq;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace argus
