// Scene: where tracked objects are relative to a camera's zones and lines.
//
// An object is in a zone when its ground point (bottom centre of its box) is inside the
// zone's polygon. A line crossing happens when the ground point's movement between two
// updates intersects the line segment; it is counted once per object and line, "in" when
// the object moves onto the line's `in` side of the directed segment a→b ("left" is the
// left-hand side as seen on the image when going from a to b), "out" otherwise.
// One Scene per camera; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/camera.h"
#include "vision/frame.h"

namespace argus::vision {

struct LineCrossing {
  std::string line;
  bool in = true;
  UnixMillis time = 0;
};

struct SceneChanges {
  std::vector<std::string> entered;     // zones entered at this update
  std::vector<std::string> exited;      // zones left at this update
  std::vector<LineCrossing> crossings;  // new crossings at this update
};

bool point_in_polygon(const Point& p, const std::vector<Point>& polygon);
// True if segments p1-p2 and q1-q2 intersect (touching counts).
bool segments_intersect(const Point& p1, const Point& p2, const Point& q1, const Point& q2);
// Ground point of a box: bottom centre.
Point ground_point(const Box& b);

class Scene {
 public:
  Scene(std::vector<Zone> zones, std::vector<Line> lines);

  // Updates object `id` (a track) at its new box; returns what changed for it.
  SceneChanges update(std::uint64_t id, const Box& box, UnixMillis now);
  // The object is gone: it exits every zone it was in.
  SceneChanges remove(std::uint64_t id, UnixMillis now);

  // Objects currently in each zone (every zone listed, possibly 0).
  std::map<std::string, int> occupancy() const;
  // Milliseconds object `id` has spent in `zone` so far (including the current stay).
  std::int64_t dwell_ms(std::uint64_t id, const std::string& zone, UnixMillis now) const;
  // Zones the object is in now.
  std::vector<std::string> zones_of(std::uint64_t id) const;

  const std::vector<Zone>& zones() const { return zones_; }
  const std::vector<Line>& lines() const { return lines_; }

 private:
  struct ObjectState {
    Point last_ground;
    bool has_last = false;
    std::map<std::string, UnixMillis> inside_since;  // zone -> entry time
    std::map<std::string, std::int64_t> dwell_done;  // zone -> ms of finished stays
    std::set<std::string> crossed;                   // lines already counted
  };
  std::vector<Zone> zones_;
  std::vector<Line> lines_;
  std::map<std::uint64_t, ObjectState> objects_;
};

}  // namespace argus::vision
