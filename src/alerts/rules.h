// Alert rules: the model, its JSON form (as the API shows and accepts it) and validation,
// and schedules with IANA time zones.
//
// Everything here is a pure function of its arguments and thread-safe, except that
// Schedule::active() consults the system time zone database (see there).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "core/validation.h"
#include "store/alert_records.h"

namespace argus::alerts {

enum class ConditionType { kEventStart, kOccupancy, kCrossings, kDwell, kCameraOffline };
std::string_view condition_type_name(ConditionType t);

// What must hold for a rule to fire. Only the fields of `type` are used:
//  event_start     a matching event starts (with a zone: enters the zone; with a line:
//                  crosses it); resolves when the event ends. Instantaneous: an event that
//                  starts outside the schedule or during the cooldown never fires.
//  occupancy       at least `min` matching objects are present (in the zone, if any) for
//                  `for_seconds` without interruption; resolves when fewer are present.
//  crossings       at least `min` matching crossings (of the line, if any, in `direction`)
//                  within the last `window_seconds`; resolves when the window holds fewer.
//  dwell           a matching object stays (in the zone, if any) for `min_seconds`;
//                  resolves when it leaves (its event ends).
//  camera_offline  the camera is reconnecting, offline or in error for `for_seconds`;
//                  resolves when it is online again (or disabled or deleted).
struct Condition {
  ConditionType type = ConditionType::kEventStart;
  std::int64_t min = 1;
  std::int64_t for_seconds = 0;
  std::int64_t window_seconds = 60;
  std::string direction = "any";  // in, out, any
  std::int64_t min_seconds = 0;
  bool operator==(const Condition&) const = default;
};

// When a rule may fire: on `days` (0 = Monday … 6 = Sunday), from `start` to `end`
// (minutes after local midnight; end <= start wraps past midnight, so 22:00–06:00 on
// Friday covers Friday 22:00 to Saturday 06:00; start == end is the whole day), in the
// IANA `timezone`.
struct Schedule {
  std::vector<int> days;  // sorted, unique
  int start = 0;
  int end = 0;
  std::string timezone = "UTC";
  bool operator==(const Schedule&) const = default;

  // True if `t` falls inside the schedule. Local time comes from the system time zone
  // database (/usr/share/zoneinfo) through localtime_r with TZ switched under a process-wide
  // mutex (GCC 12's libstdc++ has no std::chrono::locate_zone); "UTC" needs no lookup.
  bool active(UnixMillis t) const;
};

struct Rule {
  std::string id;
  std::string name;
  bool enabled = true;
  std::vector<std::string> cameras;  // empty = every camera
  std::vector<std::string> labels;   // empty = any label
  std::string zone;                  // "" = none
  std::string line;                  // "" = none
  Condition condition;
  std::optional<Schedule> schedule;   // nullopt = always
  std::string severity = "warning";   // info, warning, critical
  std::int64_t cooldown_seconds = 0;  // after a firing, no new alert for the same camera
  std::vector<std::string> channels;  // notification channel ids
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  bool operator==(const Rule&) const = default;

  bool matches_camera(const std::string& camera) const;
  bool matches_label(const std::string& label) const;
};

// True if `name` names a time zone of the system database ("UTC", "Europe/Berlin").
bool is_known_timezone(const std::string& name);

// Parses and validates a rule document as POST /api/v1/alerts/rules accepts it (id,
// created_at and updated_at are not part of it). Appends every problem to `errors` with a
// JSON Pointer; the returned rule is meaningful only when no error was added.
Rule parse_rule(const nlohmann::json& doc, FieldErrors& errors);

// The rule's document without id and timestamps (what parse_rule accepts and the store keeps).
nlohmann::json rule_spec(const Rule& rule);
// The API's view: the spec plus id, created_at and updated_at.
nlohmann::json rule_to_json(const Rule& rule);

// The stored form and back. InvalidArgument if the stored spec does not validate (it was
// written by this module, so that means a newer or damaged database).
AlertRuleRecord rule_to_record(const Rule& rule);
Result<Rule> rule_from_record(const AlertRuleRecord& record);

// The API's view of an alert (also the bus and notification payload).
nlohmann::json alert_to_json(const AlertRecord& alert);

}  // namespace argus::alerts
