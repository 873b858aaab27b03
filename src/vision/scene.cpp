#include "vision/scene.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace argus::vision {
namespace {

// Normalized coordinates are in 0..1, so cross products of exact-on-line points come out
// within a few ulps of zero; anything smaller than this counts as collinear.
constexpr double kEpsilon = 1e-12;

// Sign of the cross product (b - a) x (p - a) in image coordinates (y grows downwards):
// negative when p is on the left of a→b as seen on the image, positive on the right,
// 0 on the line through a and b.
int orientation(const Point& a, const Point& b, const Point& p) {
  double c = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
  if (c > kEpsilon) return 1;
  if (c < -kEpsilon) return -1;
  return 0;
}

// p is collinear with a-b: is it within the segment's bounding box?
bool within(const Point& a, const Point& b, const Point& p) {
  return p.x >= std::min(a.x, b.x) - kEpsilon && p.x <= std::max(a.x, b.x) + kEpsilon &&
         p.y >= std::min(a.y, b.y) - kEpsilon && p.y <= std::max(a.y, b.y) + kEpsilon;
}

bool on_segment(const Point& a, const Point& b, const Point& p) { return orientation(a, b, p) == 0 && within(a, b, p); }

}  // namespace

// Ray casting to the right of p; a point on an edge or vertex counts as inside, so an
// object standing exactly on a zone's border is in the zone.
bool point_in_polygon(const Point& p, const std::vector<Point>& polygon) {
  std::size_t n = polygon.size();
  if (n < 3) return false;
  for (std::size_t i = 0, j = n - 1; i < n; j = i++) {
    if (on_segment(polygon[j], polygon[i], p)) return true;
  }
  bool inside = false;
  for (std::size_t i = 0, j = n - 1; i < n; j = i++) {
    const Point& a = polygon[i];
    const Point& b = polygon[j];
    // Half-open rule on y so a ray through a vertex counts its two edges once.
    if ((a.y > p.y) != (b.y > p.y)) {
      double x = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y);
      if (p.x < x) inside = !inside;
    }
  }
  return inside;
}

bool segments_intersect(const Point& p1, const Point& p2, const Point& q1, const Point& q2) {
  int o1 = orientation(p1, p2, q1);
  int o2 = orientation(p1, p2, q2);
  int o3 = orientation(q1, q2, p1);
  int o4 = orientation(q1, q2, p2);
  if (o1 * o2 < 0 && o3 * o4 < 0) return true;  // proper crossing
  // Touching and collinear cases: an endpoint lying on the other segment.
  if (o1 == 0 && within(p1, p2, q1)) return true;
  if (o2 == 0 && within(p1, p2, q2)) return true;
  if (o3 == 0 && within(q1, q2, p1)) return true;
  if (o4 == 0 && within(q1, q2, p2)) return true;
  return false;
}

Point ground_point(const Box& b) { return {(b.x1 + b.x2) / 2, b.y2}; }

Scene::Scene(std::vector<Zone> zones, std::vector<Line> lines) : zones_(std::move(zones)), lines_(std::move(lines)) {}

SceneChanges Scene::update(std::uint64_t id, const Box& box, UnixMillis now) {
  SceneChanges out;
  ObjectState& s = objects_[id];
  Point g = ground_point(box);

  for (const Zone& z : zones_) {
    bool inside = point_in_polygon(g, z.polygon);
    auto it = s.inside_since.find(z.name);
    bool was_inside = it != s.inside_since.end();
    if (inside && !was_inside) {
      s.inside_since.emplace(z.name, now);
      out.entered.push_back(z.name);
    } else if (!inside && was_inside) {
      s.dwell_done[z.name] += std::max<std::int64_t>(0, now - it->second);
      s.inside_since.erase(it);
      out.exited.push_back(z.name);
    }
  }

  // A crossing needs a movement that meets the segment and ends strictly on one side:
  // a point exactly on the line has no side yet, and the next movement off it decides.
  if (s.has_last) {
    for (const Line& l : lines_) {
      if (s.crossed.count(l.name) != 0) continue;
      int side = orientation(l.a, l.b, g);
      if (side == 0 || !segments_intersect(s.last_ground, g, l.a, l.b)) continue;
      LineSide now_on = side < 0 ? LineSide::kLeft : LineSide::kRight;
      s.crossed.insert(l.name);
      out.crossings.push_back({l.name, now_on == l.in_side, now});
    }
  }
  s.last_ground = g;
  s.has_last = true;
  return out;
}

// Nothing is kept about a removed object, so its exit time needs no bookkeeping.
SceneChanges Scene::remove(std::uint64_t id, UnixMillis /*now*/) {
  SceneChanges out;
  auto it = objects_.find(id);
  if (it == objects_.end()) return out;
  for (const Zone& z : zones_) {
    if (it->second.inside_since.count(z.name) != 0) out.exited.push_back(z.name);
  }
  objects_.erase(it);
  return out;
}

std::map<std::string, int> Scene::occupancy() const {
  std::map<std::string, int> out;
  for (const Zone& z : zones_) out[z.name] = 0;
  for (const auto& [id, s] : objects_) {
    for (const auto& [zone, since] : s.inside_since) ++out[zone];
  }
  return out;
}

std::int64_t Scene::dwell_ms(std::uint64_t id, const std::string& zone, UnixMillis now) const {
  auto it = objects_.find(id);
  if (it == objects_.end()) return 0;
  std::int64_t total = 0;
  if (auto done = it->second.dwell_done.find(zone); done != it->second.dwell_done.end()) total += done->second;
  if (auto since = it->second.inside_since.find(zone); since != it->second.inside_since.end()) {
    total += std::max<std::int64_t>(0, now - since->second);
  }
  return total;
}

std::vector<std::string> Scene::zones_of(std::uint64_t id) const {
  std::vector<std::string> out;
  auto it = objects_.find(id);
  if (it == objects_.end()) return out;
  for (const Zone& z : zones_) {
    if (it->second.inside_since.count(z.name) != 0) out.push_back(z.name);
  }
  return out;
}

}  // namespace argus::vision
