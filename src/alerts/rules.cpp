#include "alerts/rules.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <mutex>
#include <set>

namespace argus::alerts {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 7> kDayNames = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
constexpr std::size_t kMaxListItems = 100;
constexpr std::size_t kMaxStringChars = 200;
constexpr std::int64_t kMaxSeconds = 7 * 86'400;
constexpr std::int64_t kMaxCount = 100'000;

std::size_t utf8_chars(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

std::string ptr(std::string_view base, std::string_view key) {
  return std::string(base) + "/" + json_pointer_escape(key);
}

// A non-empty string of at most kMaxStringChars characters.
bool get_name(const json& v, const std::string& pointer, std::string& out, FieldErrors& errors) {
  if (!v.is_string() || v.get<std::string>().empty()) {
    errors.push_back({pointer, "must be a non-empty string"});
    return false;
  }
  if (utf8_chars(v.get<std::string>()) > kMaxStringChars) {
    errors.push_back({pointer, "must be at most " + std::to_string(kMaxStringChars) + " characters"});
    return false;
  }
  out = v.get<std::string>();
  return true;
}

void get_int(const json& v, const std::string& pointer, std::int64_t min, std::int64_t max, std::int64_t& out,
             FieldErrors& errors) {
  bool ok =
      v.is_number_integer() && (v.is_number_unsigned() ? v.get<std::uint64_t>() <= static_cast<std::uint64_t>(max)
                                                       : v.get<std::int64_t>() >= min && v.get<std::int64_t>() <= max);
  if (ok && v.get<std::int64_t>() < min) ok = false;
  if (!ok) {
    errors.push_back({pointer, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max)});
    return;
  }
  out = v.get<std::int64_t>();
}

void get_list(const json& v, const std::string& pointer, std::vector<std::string>& out, FieldErrors& errors) {
  if (!v.is_array()) {
    errors.push_back({pointer, "must be an array of strings"});
    return;
  }
  if (v.size() > kMaxListItems) {
    errors.push_back({pointer, "must have at most " + std::to_string(kMaxListItems) + " items"});
    return;
  }
  std::vector<std::string> items;
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::string s;
    if (!get_name(v[i], pointer + "/" + std::to_string(i), s, errors)) continue;
    if (std::find(items.begin(), items.end(), s) == items.end()) items.push_back(std::move(s));
  }
  out = std::move(items);
}

// "HH:MM" → minutes after midnight.
std::optional<int> parse_hhmm(const json& v) {
  if (!v.is_string()) return std::nullopt;
  const std::string s = v.get<std::string>();
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  for (std::size_t i : {0u, 1u, 3u, 4u}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return h * 60 + m;
}

std::string format_hhmm(int minutes) {
  const int h = minutes / 60;
  const int m = minutes % 60;
  return {static_cast<char>('0' + h / 10), static_cast<char>('0' + h % 10), ':', static_cast<char>('0' + m / 10),
          static_cast<char>('0' + m % 10)};
}

Schedule parse_schedule(const json& v, FieldErrors& errors) {
  Schedule s;
  s.days = {0, 1, 2, 3, 4, 5, 6};
  if (!v.is_object()) {
    errors.push_back({"/schedule", "must be an object {days, start, end, timezone} or null"});
    return s;
  }
  for (const auto& [key, value] : v.items()) {
    const std::string p = ptr("/schedule", key);
    if (key == "days") {
      if (!value.is_array() || value.empty()) {
        errors.push_back({p, "must be a non-empty array of mon, tue, wed, thu, fri, sat, sun"});
        continue;
      }
      std::set<int> days;
      for (std::size_t i = 0; i < value.size(); ++i) {
        auto it = value[i].is_string() ? std::find(kDayNames.begin(), kDayNames.end(), value[i].get<std::string>())
                                       : kDayNames.end();
        if (it == kDayNames.end()) {
          errors.push_back({p + "/" + std::to_string(i), "must be one of mon, tue, wed, thu, fri, sat, sun"});
        } else {
          days.insert(static_cast<int>(it - kDayNames.begin()));
        }
      }
      s.days.assign(days.begin(), days.end());
    } else if (key == "start" || key == "end") {
      auto m = parse_hhmm(value);
      if (!m) {
        errors.push_back({p, "must be a time of day HH:MM (00:00 to 23:59)"});
      } else {
        (key == "start" ? s.start : s.end) = *m;
      }
    } else if (key == "timezone") {
      if (!value.is_string() || !is_known_timezone(value.get<std::string>())) {
        errors.push_back({p, "must be an IANA time zone name such as UTC or Europe/Berlin"});
      } else {
        s.timezone = value.get<std::string>();
      }
    } else {
      errors.push_back({p, "is not a schedule field (days, start, end, timezone)"});
    }
  }
  return s;
}

struct ConditionFields {
  ConditionType type;
  std::string_view name;
  std::vector<std::string_view> fields;
};

const std::array<ConditionFields, 5>& condition_table() {
  static const std::array<ConditionFields, 5> kTable = {{
      {ConditionType::kEventStart, "event_start", {}},
      {ConditionType::kOccupancy, "occupancy", {"min", "for_seconds"}},
      {ConditionType::kCrossings, "crossings", {"min", "window_seconds", "direction"}},
      {ConditionType::kDwell, "dwell", {"min_seconds"}},
      {ConditionType::kCameraOffline, "camera_offline", {"for_seconds"}},
  }};
  return kTable;
}

Condition parse_condition(const json& v, FieldErrors& errors) {
  Condition c;
  if (!v.is_object()) {
    errors.push_back({"/condition", "must be an object with a type"});
    return c;
  }
  auto type = v.find("type");
  const ConditionFields* def = nullptr;
  if (type != v.end() && type->is_string()) {
    for (const auto& d : condition_table()) {
      if (d.name == type->get<std::string>()) def = &d;
    }
  }
  if (def == nullptr) {
    errors.push_back({"/condition/type", "must be one of event_start, occupancy, crossings, dwell, camera_offline"});
    return c;
  }
  c.type = def->type;
  for (const auto& [key, value] : v.items()) {
    if (key == "type") continue;
    const std::string p = ptr("/condition", key);
    if (std::find(def->fields.begin(), def->fields.end(), key) == def->fields.end()) {
      std::string allowed;
      for (auto f : def->fields) allowed += (allowed.empty() ? "" : ", ") + std::string(f);
      errors.push_back({p, "is not a field of a " + std::string(def->name) + " condition" +
                               (allowed.empty() ? " (it has none)" : " (" + allowed + ")")});
    } else if (key == "min") {
      get_int(value, p, 1, kMaxCount, c.min, errors);
    } else if (key == "for_seconds") {
      get_int(value, p, 0, kMaxSeconds, c.for_seconds, errors);
    } else if (key == "window_seconds") {
      get_int(value, p, 1, kMaxSeconds, c.window_seconds, errors);
    } else if (key == "min_seconds") {
      get_int(value, p, 1, kMaxSeconds, c.min_seconds, errors);
    } else if (key == "direction") {
      if (!value.is_string() || (value != "in" && value != "out" && value != "any")) {
        errors.push_back({p, "must be in, out or any"});
      } else {
        c.direction = value.get<std::string>();
      }
    }
  }
  auto required = [&](std::string_view field) {
    if (!v.contains(field))
      errors.push_back({ptr("/condition", field), "is required for a " + std::string(def->name) + " condition"});
  };
  if (c.type == ConditionType::kOccupancy) required("min");
  if (c.type == ConditionType::kCrossings) {
    required("min");
    required("window_seconds");
  }
  if (c.type == ConditionType::kDwell) required("min_seconds");
  return c;
}

json condition_to_json(const Condition& c) {
  json j{{"type", condition_type_name(c.type)}};
  switch (c.type) {
    case ConditionType::kEventStart:
      break;
    case ConditionType::kOccupancy:
      j["min"] = c.min;
      j["for_seconds"] = c.for_seconds;
      break;
    case ConditionType::kCrossings:
      j["min"] = c.min;
      j["window_seconds"] = c.window_seconds;
      j["direction"] = c.direction;
      break;
    case ConditionType::kDwell:
      j["min_seconds"] = c.min_seconds;
      break;
    case ConditionType::kCameraOffline:
      j["for_seconds"] = c.for_seconds;
      break;
  }
  return j;
}

json or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }
json time_or_null(UnixMillis t) { return t == 0 ? json(nullptr) : json(format_rfc3339(t)); }

// Local weekday (0 = Monday) and minute of the day of `t` in `tz`.
std::pair<int, int> local_day_minute(UnixMillis t, const std::string& tz) {
  std::time_t secs = static_cast<std::time_t>(t >= 0 ? t / 1000 : (t - 999) / 1000);
  std::tm tm{};
  if (tz == "UTC" || tz == "Etc/UTC") {
    gmtime_r(&secs, &tm);
  } else {
    // TZ is process-wide state: switch it, convert and restore under one lock.
    static std::mutex mu;
    std::lock_guard lock(mu);
    const char* old = std::getenv("TZ");
    std::string saved = old != nullptr ? old : "";
    ::setenv("TZ", tz.c_str(), 1);
    ::tzset();
    localtime_r(&secs, &tm);
    if (old != nullptr) {
      ::setenv("TZ", saved.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  return {(tm.tm_wday + 6) % 7, tm.tm_hour * 60 + tm.tm_min};
}

}  // namespace

std::string_view condition_type_name(ConditionType t) {
  for (const auto& d : condition_table()) {
    if (d.type == t) return d.name;
  }
  return "event_start";
}

bool is_known_timezone(const std::string& name) {
  if (name == "UTC") return true;
  if (name.empty() || name.size() > 64 || name.front() == '/') return false;
  for (char ch : name) {
    bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-' || ch == '+' || ch == '/';
    if (!ok) return false;
  }
  if (name.find("..") != std::string::npos || name.find("//") != std::string::npos) return false;
  std::ifstream f("/usr/share/zoneinfo/" + name, std::ios::binary);
  char magic[4] = {};
  return f.read(magic, 4) && std::string_view(magic, 4) == "TZif";
}

bool Schedule::active(UnixMillis t) const {
  auto [day, minute] = local_day_minute(t, timezone);
  auto on = [this](int d) { return std::find(days.begin(), days.end(), d) != days.end(); };
  if (start == end) return on(day);
  if (start < end) return on(day) && minute >= start && minute < end;
  return (on(day) && minute >= start) || (on((day + 6) % 7) && minute < end);
}

bool Rule::matches_camera(const std::string& camera) const {
  return cameras.empty() || std::find(cameras.begin(), cameras.end(), camera) != cameras.end();
}

bool Rule::matches_label(const std::string& label) const {
  return labels.empty() || std::find(labels.begin(), labels.end(), label) != labels.end();
}

Rule parse_rule(const json& doc, FieldErrors& errors) {
  Rule r;
  if (!doc.is_object()) {
    errors.push_back({"", "must be a JSON object"});
    return r;
  }
  bool has_condition = false;
  for (const auto& [key, value] : doc.items()) {
    const std::string p = ptr("", key);
    if (key == "name") {
      get_name(value, p, r.name, errors);
    } else if (key == "enabled") {
      if (value.is_boolean()) {
        r.enabled = value.get<bool>();
      } else {
        errors.push_back({p, "must be true or false"});
      }
    } else if (key == "cameras") {
      get_list(value, p, r.cameras, errors);
    } else if (key == "labels") {
      get_list(value, p, r.labels, errors);
    } else if (key == "channels") {
      get_list(value, p, r.channels, errors);
    } else if (key == "zone" || key == "line") {
      if (!value.is_null()) get_name(value, p, key == "zone" ? r.zone : r.line, errors);
    } else if (key == "condition") {
      has_condition = true;
      r.condition = parse_condition(value, errors);
    } else if (key == "schedule") {
      if (!value.is_null()) r.schedule = parse_schedule(value, errors);
    } else if (key == "severity") {
      if (!value.is_string() || (value != "info" && value != "warning" && value != "critical")) {
        errors.push_back({p, "must be info, warning or critical"});
      } else {
        r.severity = value.get<std::string>();
      }
    } else if (key == "cooldown_seconds") {
      get_int(value, p, 0, kMaxSeconds, r.cooldown_seconds, errors);
    } else if (key == "id" || key == "created_at" || key == "updated_at") {
      errors.push_back({p, "is set by the server"});
    } else {
      errors.push_back({p,
                        "is not a rule field (name, enabled, cameras, labels, zone, line, condition, schedule, "
                        "severity, cooldown_seconds, channels)"});
    }
  }
  if (!doc.contains("name")) errors.push_back({"/name", "is required"});
  if (!has_condition) errors.push_back({"/condition", "is required"});
  if (!r.zone.empty() && !r.line.empty()) errors.push_back({"/line", "give a zone or a line, not both"});
  switch (r.condition.type) {
    case ConditionType::kOccupancy:
    case ConditionType::kDwell:
      if (!r.line.empty()) errors.push_back({"/line", "objects are present in zones, not on lines; use zone"});
      break;
    case ConditionType::kCrossings:
      if (!r.zone.empty()) errors.push_back({"/zone", "crossings are counted on lines; use line"});
      break;
    case ConditionType::kCameraOffline:
      if (!r.labels.empty()) errors.push_back({"/labels", "does not apply to a camera_offline condition"});
      if (!r.zone.empty()) errors.push_back({"/zone", "does not apply to a camera_offline condition"});
      if (!r.line.empty()) errors.push_back({"/line", "does not apply to a camera_offline condition"});
      break;
    case ConditionType::kEventStart:
      break;
  }
  return r;
}

json rule_spec(const Rule& r) {
  json schedule = nullptr;
  if (r.schedule) {
    json days = json::array();
    for (int d : r.schedule->days) days.push_back(kDayNames[static_cast<std::size_t>(d)]);
    schedule = {{"days", std::move(days)},
                {"start", format_hhmm(r.schedule->start)},
                {"end", format_hhmm(r.schedule->end)},
                {"timezone", r.schedule->timezone}};
  }
  return {{"name", r.name},
          {"enabled", r.enabled},
          {"cameras", r.cameras},
          {"labels", r.labels},
          {"zone", or_null(r.zone)},
          {"line", or_null(r.line)},
          {"condition", condition_to_json(r.condition)},
          {"schedule", std::move(schedule)},
          {"severity", r.severity},
          {"cooldown_seconds", r.cooldown_seconds},
          {"channels", r.channels}};
}

json rule_to_json(const Rule& r) {
  json j{{"id", r.id}};
  j.update(rule_spec(r));
  j["created_at"] = format_rfc3339(r.created_at);
  j["updated_at"] = format_rfc3339(r.updated_at);
  return j;
}

AlertRuleRecord rule_to_record(const Rule& r) { return {r.id, rule_spec(r).dump(), r.created_at, r.updated_at}; }

Result<Rule> rule_from_record(const AlertRuleRecord& record) {
  json doc = json::parse(record.spec, nullptr, false);
  FieldErrors errors;
  Rule r = parse_rule(doc, errors);
  if (!errors.empty()) {
    return Status::invalid_argument("stored alert rule '" + record.id + "' is not valid: " + errors.front().pointer +
                                    " " + errors.front().detail);
  }
  r.id = record.id;
  r.created_at = record.created_at;
  r.updated_at = record.updated_at;
  return r;
}

json alert_to_json(const AlertRecord& a) {
  return {{"id", a.id},
          {"rule_id", a.rule_id},
          {"rule_name", a.rule_name},
          {"camera", a.camera_id},
          {"label", or_null(a.label)},
          {"zone", or_null(a.zone)},
          {"line", or_null(a.line)},
          {"severity", a.severity},
          {"state", a.state},
          {"started_at", format_rfc3339(a.started_at)},
          {"resolved_at", time_or_null(a.resolved_at)},
          {"acknowledged", a.acknowledged_at != 0},
          {"acknowledged_at", time_or_null(a.acknowledged_at)},
          {"acknowledged_by", or_null(a.acknowledged_by)},
          {"value", a.value},
          {"message", a.message}};
}

}  // namespace argus::alerts
