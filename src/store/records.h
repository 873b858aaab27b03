// Stored analytics records: events (one per tracked object) and per-minute counts.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"

namespace argus {

struct CrossingRecord {
  std::string line;
  std::string direction;  // "in" | "out"
  UnixMillis time = 0;
  bool operator==(const CrossingRecord&) const = default;
};

// One tracked object of a configured label, from its first confirmed sighting to its end.
struct EventRecord {
  std::string id;  // unique, URL-safe
  std::string camera_id;
  std::string label;
  double score = 0;  // latest
  double top_score = 0;
  std::array<double, 4> box{};            // latest box, normalized x1, y1, x2, y2
  std::vector<std::string> zones;         // zones entered so far, in order
  std::vector<CrossingRecord> crossings;  // lines crossed, in order
  UnixMillis start_time = 0;
  UnixMillis end_time = 0;  // 0 while the object is still tracked
  UnixMillis updated_at = 0;
  std::string snapshot;  // path of the best snapshot relative to the media root ("" if none)
  bool reviewed = false;
  std::string note;
  bool operator==(const EventRecord&) const = default;
};

struct EventQuery {
  std::string camera;   // "" = all
  std::string label;    // "" = all
  UnixMillis from = 0;  // start_time >= from (0 = unbounded)
  UnixMillis to = 0;    // start_time < to (0 = unbounded)
  std::string after;    // paging key from a previous page ("" = newest first)
  std::size_t limit = 50;
};

// Per-minute counters. scope "camera" (name ""), "zone" (name = zone) or "line" (name = line).
struct CountDelta {
  std::string camera_id;
  std::string scope;
  std::string name;
  std::string label;
  UnixMillis bucket = 0;  // start of the minute, ms
  std::int64_t seen = 0;  // objects that appeared (camera) or entered (zone)
  std::int64_t in = 0;    // line crossings in
  std::int64_t out = 0;   // line crossings out
  std::int64_t peak = 0;  // peak simultaneous objects (camera, zone); merged with max
  bool operator==(const CountDelta&) const = default;
};

struct CountQuery {
  std::string camera;  // required
  std::string scope;   // "" = all scopes
  std::string name;    // zone or line name ("" = all)
  std::string label;   // "" = all labels
  UnixMillis from = 0;
  UnixMillis to = 0;  // 0 = unbounded
  std::string after;  // paging key from a previous page ("" = from the start)
  std::size_t limit = 1000;
};

// One stored per-minute row (same fields as a delta, with totals).
using CountRow = CountDelta;

}  // namespace argus
