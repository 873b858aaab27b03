#include "store/records_doc.h"

#include <charconv>
#include <cmath>
#include <exception>
#include <nlohmann/json.hpp>
#include <string_view>
#include <system_error>

namespace argus::store_internal {
namespace {

using nlohmann::json;

bool valid_utf8(const std::string& text) {
  try {
    (void)json(text).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

// How an event is named in an error: by id when it has a printable one.
std::string event_name(const EventRecord& event, std::size_t index) {
  if (event.id.empty() || !valid_utf8(event.id)) return "events[" + std::to_string(index) + "]";
  return "event '" + event.id + "'";
}

Status bad_event(const EventRecord& event, std::size_t index, const std::string& problem) {
  return Status::invalid_argument(event_name(event, index) + ": " + problem);
}

Status malformed_key() {
  return Status::invalid_argument(
      "the paging key is not one this store handed out: start from the first page or pass "
      "the previous page's next key unchanged");
}

// Parses all of `text` as a decimal integer.
template <typename Int>
bool parse_int(std::string_view text, Int& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<EncodedEvent> encode_event(const EventRecord& event, std::size_t index) {
  if (event.id.empty()) return bad_event(event, index, "id is empty");
  for (const auto& [field, text] : {std::pair<const char*, const std::string*>{"id", &event.id},
                                    {"camera_id", &event.camera_id},
                                    {"label", &event.label},
                                    {"snapshot", &event.snapshot},
                                    {"note", &event.note}}) {
    if (!valid_utf8(*text)) return bad_event(event, index, std::string(field) + " is not valid UTF-8");
  }
  if (event.camera_id.empty()) return bad_event(event, index, "camera_id is empty");
  if (event.label.empty()) return bad_event(event, index, "label is empty");
  if (!std::isfinite(event.score)) return bad_event(event, index, "score is not a finite number");
  if (!std::isfinite(event.top_score)) {
    return bad_event(event, index, "top_score is not a finite number");
  }
  for (double v : event.box) {
    if (!std::isfinite(v)) return bad_event(event, index, "box has a coordinate that is not finite");
  }
  EncodedEvent out;
  try {
    out.box = json(event.box).dump();
    out.zones = json(event.zones).dump();
  } catch (const json::exception&) {
    return bad_event(event, index, "a zone name is not valid UTF-8");
  }
  json crossings = json::array();
  for (std::size_t i = 0; i < event.crossings.size(); ++i) {
    const CrossingRecord& c = event.crossings[i];
    std::string where = "crossings[" + std::to_string(i) + "]";
    if (c.line.empty()) return bad_event(event, index, where + ": line is empty");
    if (c.direction != "in" && c.direction != "out") {
      return bad_event(event, index, where + ": direction must be \"in\" or \"out\"");
    }
    crossings.push_back({{"line", c.line}, {"direction", c.direction}, {"time", c.time}});
  }
  try {
    out.crossings = crossings.dump();
  } catch (const json::exception&) {
    return bad_event(event, index, "a crossing's line name is not valid UTF-8");
  }
  return out;
}

Status decode_event_columns(const std::string& box, const std::string& zones, const std::string& crossings,
                            EventRecord& event) {
  auto corrupt = [&](const std::string& column, const std::string& problem) {
    return Status::corruption("stored event '" + event.id + "' has an unreadable " + column + " column: " + problem);
  };
  auto parse = [](const std::string& text, json& out) -> std::string {
    if (text.empty()) {
      out = json::array();
      return {};
    }
    try {
      out = json::parse(text);
      return {};
    } catch (const json::exception& e) {
      return e.what();
    }
  };

  json j;
  if (std::string err = parse(box, j); !err.empty()) return corrupt("box", err);
  if (!box.empty()) {
    if (!j.is_array() || j.size() != event.box.size()) {
      return corrupt("box", "expected an array of 4 numbers");
    }
    for (std::size_t i = 0; i < event.box.size(); ++i) {
      if (!j[i].is_number()) return corrupt("box", "expected an array of 4 numbers");
      event.box[i] = j[i].get<double>();
    }
  } else {
    event.box = {};
  }

  if (std::string err = parse(zones, j); !err.empty()) return corrupt("zones", err);
  if (!j.is_array()) return corrupt("zones", "expected an array of strings");
  event.zones.clear();
  for (const json& z : j) {
    if (!z.is_string()) return corrupt("zones", "expected an array of strings");
    event.zones.push_back(z.get<std::string>());
  }

  if (std::string err = parse(crossings, j); !err.empty()) return corrupt("crossings", err);
  if (!j.is_array()) return corrupt("crossings", "expected an array");
  event.crossings.clear();
  for (const json& c : j) {
    if (!c.is_object() || !c.contains("line") || !c["line"].is_string() || !c.contains("direction") ||
        !c["direction"].is_string() || !c.contains("time") || !c["time"].is_number_integer()) {
      return corrupt("crossings", "expected objects with line, direction and time");
    }
    event.crossings.push_back(
        {c["line"].get<std::string>(), c["direction"].get<std::string>(), c["time"].get<UnixMillis>()});
  }
  return Status::ok_status();
}

std::string event_page_key(UnixMillis start_time, const std::string& id, bool ascending) {
  return (ascending ? "+" : "") + std::to_string(start_time) + ":" + id;
}

Result<EventPageKey> parse_event_page_key(const std::string& key) {
  std::size_t colon = key.find(':');
  if (colon == std::string::npos) return malformed_key();
  EventPageKey out;
  std::string_view time = std::string_view(key).substr(0, colon);
  if (!time.empty() && time.front() == '+') {
    out.ascending = true;
    time.remove_prefix(1);
  }
  if (!parse_int(time, out.start_time)) return malformed_key();
  out.id = key.substr(colon + 1);
  if (out.id.empty()) return malformed_key();
  return out;
}

Status validate_detection(const DetectionRecord& d, std::size_t index) {
  std::string where = "detections[" + std::to_string(index) + "]";
  auto bad = [&](const std::string& problem) { return Status::invalid_argument(where + ": " + problem); };
  for (const auto& [field, text] : {std::pair<const char*, const std::string*>{"event_id", &d.event_id},
                                    {"camera_id", &d.camera_id},
                                    {"label", &d.label}}) {
    if (text->empty()) return bad(std::string(field) + " is empty");
    if (!valid_utf8(*text)) return bad(std::string(field) + " is not valid UTF-8");
  }
  if (!std::isfinite(d.score)) return bad("score is not a finite number");
  for (double v : d.box) {
    if (!std::isfinite(v)) return bad("box has a coordinate that is not finite");
  }
  return Status::ok_status();
}

bool is_count_scope(const std::string& scope) { return scope == "camera" || scope == "zone" || scope == "line"; }

Status validate_count_delta(const CountDelta& delta, std::size_t index) {
  std::string where = "counts[" + std::to_string(index) + "]";
  auto bad = [&](const std::string& problem) { return Status::invalid_argument(where + ": " + problem); };
  for (const auto& [field, text] : {std::pair<const char*, const std::string*>{"camera_id", &delta.camera_id},
                                    {"scope", &delta.scope},
                                    {"name", &delta.name},
                                    {"label", &delta.label}}) {
    if (!valid_utf8(*text)) return bad(std::string(field) + " is not valid UTF-8");
  }
  if (delta.camera_id.empty()) return bad("camera_id is empty");
  where += " (camera '" + delta.camera_id + "')";
  if (!is_count_scope(delta.scope)) {
    return bad("scope '" + delta.scope + "' is not one of camera, zone, line");
  }
  if (delta.scope == "camera" && !delta.name.empty()) {
    return bad("name must be empty for scope camera (got '" + delta.name + "')");
  }
  if (delta.scope != "camera" && delta.name.empty()) {
    return bad("name is empty; scope " + delta.scope + " needs the " + delta.scope + "'s name");
  }
  if (delta.label.empty()) return bad("label is empty");
  if (delta.bucket < 0 || delta.bucket % 60'000 != 0) {
    return bad("bucket " + std::to_string(delta.bucket) +
               " is not the start of a minute (milliseconds since the epoch, a multiple of "
               "60000)");
  }
  for (const auto& [field, value] : {std::pair<const char*, std::int64_t>{"seen", delta.seen},
                                     {"in", delta.in},
                                     {"out", delta.out},
                                     {"peak", delta.peak}}) {
    if (value < 0) return bad(std::string(field) + " is negative (" + std::to_string(value) + ")");
  }
  return Status::ok_status();
}

std::string count_page_key(const CountRow& row) {
  return std::to_string(row.bucket) + ":" + row.scope + ":" + std::to_string(row.name.size()) + ":" + row.name + ":" +
         row.label;
}

Result<CountPageKey> parse_count_page_key(const std::string& key) {
  std::string_view rest = key;
  auto take_field = [&rest](std::string_view& field) {
    std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return false;
    field = rest.substr(0, colon);
    rest.remove_prefix(colon + 1);
    return true;
  };
  std::string_view bucket, scope, length;
  if (!take_field(bucket) || !take_field(scope) || !take_field(length)) return malformed_key();
  CountPageKey out;
  std::size_t name_size = 0;
  if (!parse_int(bucket, out.bucket) || !parse_int(length, name_size)) return malformed_key();
  out.scope = std::string(scope);
  if (!is_count_scope(out.scope)) return malformed_key();
  if (name_size >= rest.size() || rest[name_size] != ':') return malformed_key();
  out.name = std::string(rest.substr(0, name_size));
  out.label = std::string(rest.substr(name_size + 1));
  return out;
}

}  // namespace argus::store_internal
