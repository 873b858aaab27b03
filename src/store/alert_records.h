// Record types of the alerts section of the Store: alert rules (kept as a JSON document
// the alerts module owns) and alerts (one per firing of a rule, firing → resolved).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"

namespace argus {

// One alert rule. The store keeps the rule's definition as an opaque JSON object (`spec`);
// alerts/rules.h parses and validates it.
struct AlertRuleRecord {
  std::string id;             // unique, URL-safe
  std::string spec;           // a JSON object
  UnixMillis created_at = 0;  // set by the store on create
  UnixMillis updated_at = 0;  // set by the store on every write
  bool operator==(const AlertRuleRecord&) const = default;
};

// One alert: a rule's condition held for a camera (and label, zone or line) from
// started_at until resolved_at. States: "firing", "resolved".
struct AlertRecord {
  std::string id;  // unique, URL-safe
  std::string rule_id;
  std::string rule_name;
  std::string camera_id;
  std::string label;     // "" when the rule is not about one label
  std::string zone;      // "" if none
  std::string line;      // "" if none
  std::string severity;  // "info", "warning", "critical"
  std::string state;     // "firing", "resolved"
  UnixMillis started_at = 0;
  UnixMillis resolved_at = 0;      // 0 while firing
  UnixMillis acknowledged_at = 0;  // 0 until acknowledged
  std::string acknowledged_by;     // actor ("" until acknowledged)
  double value = 0;                // what triggered it: a count or seconds
  std::string message;             // human-readable
  bool operator==(const AlertRecord&) const = default;
};

struct AlertQuery {
  std::string state;                                // "" = all
  std::string severity;                             // "" = all
  std::string rule_id;                              // "" = all
  std::string camera;                               // "" = all
  std::optional<std::vector<std::string>> cameras;  // only these cameras (nullopt = all; empty = none)
  std::optional<bool> acknowledged;
  UnixMillis from = 0;  // started_at >= from (0 = unbounded)
  UnixMillis to = 0;    // started_at < to (0 = unbounded)
  std::string after;    // paging key from a previous page ("" = newest first)
  std::size_t limit = 50;
};

}  // namespace argus
