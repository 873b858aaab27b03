#include "vision/scene.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace argus::vision {
namespace {

using Strings = std::vector<std::string>;

constexpr UnixMillis kT0 = 1'700'000'000'000;

// A box whose ground point (bottom centre) is (x, y).
Box at(double x, double y) { return {x - 0.05, y - 0.2, x + 0.05, y}; }

Line line(const std::string& name, Point a, Point b, LineSide in = LineSide::kLeft) { return {name, a, b, in}; }

const std::vector<Point> kSquare{{0.2, 0.2}, {0.6, 0.2}, {0.6, 0.6}, {0.2, 0.6}};

TEST(PointInPolygonTest, InsideOutside) {
  EXPECT_TRUE(point_in_polygon({0.4, 0.4}, kSquare));
  EXPECT_TRUE(point_in_polygon({0.21, 0.59}, kSquare));
  EXPECT_FALSE(point_in_polygon({0.1, 0.4}, kSquare));
  EXPECT_FALSE(point_in_polygon({0.7, 0.4}, kSquare));
  EXPECT_FALSE(point_in_polygon({0.4, 0.1}, kSquare));
  EXPECT_FALSE(point_in_polygon({0.4, 0.9}, kSquare));
}

TEST(PointInPolygonTest, EdgesAndVerticesCountAsInside) {
  EXPECT_TRUE(point_in_polygon({0.4, 0.2}, kSquare));  // top edge
  EXPECT_TRUE(point_in_polygon({0.6, 0.5}, kSquare));  // right edge
  EXPECT_TRUE(point_in_polygon({0.4, 0.6}, kSquare));  // bottom edge
  EXPECT_TRUE(point_in_polygon({0.2, 0.3}, kSquare));  // left edge
  EXPECT_TRUE(point_in_polygon({0.2, 0.2}, kSquare));  // vertex
  EXPECT_TRUE(point_in_polygon({0.6, 0.6}, kSquare));
  std::vector<Point> triangle{{0.1, 0.9}, {0.5, 0.1}, {0.9, 0.9}};
  EXPECT_TRUE(point_in_polygon({0.3, 0.5}, triangle));  // on the slanted edge
  EXPECT_FALSE(point_in_polygon({0.29, 0.5}, triangle));
}

TEST(PointInPolygonTest, ConcavePolygon) {
  // A "U": the notch between the arms (x 0.4..0.6, y 0.1..0.6) is outside.
  std::vector<Point> u{{0.1, 0.1}, {0.4, 0.1}, {0.4, 0.6}, {0.6, 0.6}, {0.6, 0.1}, {0.9, 0.1}, {0.9, 0.9}, {0.1, 0.9}};
  EXPECT_TRUE(point_in_polygon({0.2, 0.3}, u));   // left arm
  EXPECT_TRUE(point_in_polygon({0.8, 0.3}, u));   // right arm
  EXPECT_TRUE(point_in_polygon({0.5, 0.8}, u));   // base
  EXPECT_FALSE(point_in_polygon({0.5, 0.3}, u));  // in the notch
  EXPECT_FALSE(point_in_polygon({0.5, 0.05}, u));
  EXPECT_TRUE(point_in_polygon({0.5, 0.6}, u));  // the notch's bottom edge
}

TEST(PointInPolygonTest, RayThroughVerticesAndDegeneratePolygons) {
  std::vector<Point> diamond{{0.5, 0.2}, {0.8, 0.5}, {0.5, 0.8}, {0.2, 0.5}};
  EXPECT_FALSE(point_in_polygon({0.1, 0.5}, diamond));  // the ray passes through two vertices
  EXPECT_TRUE(point_in_polygon({0.5, 0.5}, diamond));
  EXPECT_FALSE(point_in_polygon({0.9, 0.5}, diamond));
  EXPECT_FALSE(point_in_polygon({0.5, 0.5}, {}));
  EXPECT_FALSE(point_in_polygon({0.5, 0.5}, {{0.1, 0.1}, {0.9, 0.9}}));
}

TEST(SegmentsIntersectTest, Cases) {
  // Proper crossing.
  EXPECT_TRUE(segments_intersect({0, 0}, {1, 1}, {0, 1}, {1, 0}));
  // Parallel, apart.
  EXPECT_FALSE(segments_intersect({0, 0}, {1, 0}, {0, 0.1}, {1, 0.1}));
  // Would cross if extended, but do not reach.
  EXPECT_FALSE(segments_intersect({0, 0}, {0.4, 0.4}, {0, 1}, {1, 0}));
  EXPECT_FALSE(segments_intersect({0.2, 0.4}, {0.2, 0.6}, {0.3, 0.5}, {0.9, 0.5}));
  // Touching: an endpoint on the other segment (T), and endpoint to endpoint.
  EXPECT_TRUE(segments_intersect({0.5, 0.2}, {0.5, 0.5}, {0, 0.5}, {1, 0.5}));
  EXPECT_TRUE(segments_intersect({0, 0}, {0.5, 0.5}, {0.5, 0.5}, {1, 0}));
  // Collinear: overlapping, one inside the other, touching at one point, apart.
  EXPECT_TRUE(segments_intersect({0, 0.5}, {0.6, 0.5}, {0.4, 0.5}, {1, 0.5}));
  EXPECT_TRUE(segments_intersect({0, 0}, {1, 1}, {0.2, 0.2}, {0.3, 0.3}));
  EXPECT_TRUE(segments_intersect({0, 0.5}, {0.5, 0.5}, {0.5, 0.5}, {1, 0.5}));
  EXPECT_FALSE(segments_intersect({0, 0.5}, {0.4, 0.5}, {0.6, 0.5}, {1, 0.5}));
  // A point segment on, and off, the other segment.
  EXPECT_TRUE(segments_intersect({0.3, 0.5}, {0.3, 0.5}, {0, 0.5}, {1, 0.5}));
  EXPECT_FALSE(segments_intersect({0.3, 0.6}, {0.3, 0.6}, {0, 0.5}, {1, 0.5}));
  // Argument order does not matter.
  EXPECT_TRUE(segments_intersect({0, 1}, {1, 0}, {1, 1}, {0, 0}));
}

TEST(GroundPointTest, BottomCentre) {
  Point g = ground_point(Box{0.2, 0.1, 0.4, 0.7});
  EXPECT_DOUBLE_EQ(g.x, 0.3);
  EXPECT_DOUBLE_EQ(g.y, 0.7);
}

TEST(SceneTest, ZoneEnterExitAndDwell) {
  Scene scene({{"door", kSquare}, {"far", {{0.8, 0.8}, {0.9, 0.8}, {0.9, 0.9}}}}, {});
  auto c = scene.update(1, at(0.1, 0.4), kT0);
  EXPECT_TRUE(c.entered.empty());
  EXPECT_TRUE(scene.zones_of(1).empty());

  c = scene.update(1, at(0.3, 0.4), kT0 + 1000);
  EXPECT_EQ(c.entered, Strings{"door"});
  EXPECT_TRUE(c.exited.empty());
  EXPECT_EQ(scene.zones_of(1), Strings{"door"});
  EXPECT_EQ(scene.dwell_ms(1, "door", kT0 + 1500), 500);

  c = scene.update(1, at(0.5, 0.5), kT0 + 2000);  // still inside: nothing changes
  EXPECT_TRUE(c.entered.empty());
  EXPECT_TRUE(c.exited.empty());

  c = scene.update(1, at(0.7, 0.5), kT0 + 4000);
  EXPECT_EQ(c.exited, Strings{"door"});
  EXPECT_TRUE(scene.zones_of(1).empty());
  EXPECT_EQ(scene.dwell_ms(1, "door", kT0 + 9000), 3000);  // finished stay only

  c = scene.update(1, at(0.4, 0.4), kT0 + 5000);
  EXPECT_EQ(c.entered, Strings{"door"});
  EXPECT_EQ(scene.dwell_ms(1, "door", kT0 + 6000), 4000);  // finished + current
  EXPECT_EQ(scene.dwell_ms(1, "far", kT0 + 6000), 0);
  EXPECT_EQ(scene.dwell_ms(2, "door", kT0 + 6000), 0);  // unknown object
}

TEST(SceneTest, OverlappingZonesAndOccupancy) {
  // "empty" shows that every zone is listed, even with nobody inside.
  Scene scene({{"a", kSquare},
               {"b", {{0.4, 0.4}, {0.9, 0.4}, {0.9, 0.9}, {0.4, 0.9}}},
               {"empty", {{0.0, 0.9}, {0.1, 0.9}, {0.1, 1.0}}}},
              {});
  EXPECT_EQ(scene.occupancy(), (std::map<std::string, int>{{"a", 0}, {"b", 0}, {"empty", 0}}));
  auto c = scene.update(1, at(0.5, 0.5), kT0);  // in both a and b
  EXPECT_EQ(c.entered, (Strings{"a", "b"}));
  scene.update(2, at(0.3, 0.3), kT0);   // a only
  scene.update(3, at(0.8, 0.8), kT0);   // b only
  scene.update(4, at(0.95, 0.1), kT0);  // nowhere
  EXPECT_EQ(scene.occupancy(), (std::map<std::string, int>{{"a", 2}, {"b", 2}, {"empty", 0}}));
  EXPECT_EQ(scene.zones_of(1), (Strings{"a", "b"}));

  c = scene.remove(1, kT0 + 1000);
  EXPECT_EQ(c.exited, (Strings{"a", "b"}));
  EXPECT_TRUE(c.entered.empty());
  EXPECT_TRUE(scene.zones_of(1).empty());
  EXPECT_EQ(scene.occupancy(), (std::map<std::string, int>{{"a", 1}, {"b", 1}, {"empty", 0}}));
  EXPECT_TRUE(scene.remove(1, kT0 + 1000).exited.empty());  // already gone
  EXPECT_TRUE(scene.remove(4, kT0 + 1000).exited.empty());  // was in no zone
  // A removed id that comes back starts afresh.
  c = scene.update(1, at(0.3, 0.3), kT0 + 2000);
  EXPECT_EQ(c.entered, Strings{"a"});
}

// One object walking from `from` to `to` over a few updates; returns all crossings.
std::vector<LineCrossing> walk(Scene& scene, std::uint64_t id, std::vector<Point> path) {
  std::vector<LineCrossing> out;
  UnixMillis t = kT0;
  for (const Point& p : path) {
    auto c = scene.update(id, at(p.x, p.y), t);
    out.insert(out.end(), c.crossings.begin(), c.crossings.end());
    t += 100;
  }
  return out;
}

TEST(SceneTest, HorizontalLineLeftIsAbove) {
  // a→b points right; as seen on the image, left of it is up (y < 0.5).
  Scene scene({}, {line("gate", {0, 0.5}, {1, 0.5}, LineSide::kLeft)});
  auto down = walk(scene, 1, {{0.5, 0.3}, {0.5, 0.45}, {0.5, 0.55}, {0.5, 0.7}});
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].line, "gate");
  EXPECT_FALSE(down[0].in);  // ended on the right
  EXPECT_EQ(down[0].time, kT0 + 200);
  auto up = walk(scene, 2, {{0.5, 0.7}, {0.5, 0.3}});
  ASSERT_EQ(up.size(), 1u);
  EXPECT_TRUE(up[0].in);  // ended on the left
}

TEST(SceneTest, DirectionFollowsTheLineOrientation) {
  struct Case {
    const char* what;
    Line l;
    Point from, to;
    bool in;
  };
  const Case cases[] = {
      // b→a reversed: left is now below.
      {"reversed horizontal, moving down", line("l", {1, 0.5}, {0, 0.5}), {0.5, 0.3}, {0.5, 0.7}, true},
      {"reversed horizontal, moving up", line("l", {1, 0.5}, {0, 0.5}), {0.5, 0.7}, {0.5, 0.3}, false},
      // Going down the image, the left-hand side is the image's right.
      {"vertical down, moving right", line("l", {0.5, 0}, {0.5, 1}), {0.3, 0.5}, {0.7, 0.5}, true},
      {"vertical down, moving left", line("l", {0.5, 0}, {0.5, 1}), {0.7, 0.5}, {0.3, 0.5}, false},
      {"vertical up, moving right", line("l", {0.5, 1}, {0.5, 0}), {0.3, 0.5}, {0.7, 0.5}, false},
      // Diagonal top-left to bottom-right: left is the upper-right half.
      {"diagonal, moving up-right", line("l", {0, 0}, {1, 1}), {0.3, 0.7}, {0.7, 0.3}, true},
      {"diagonal, moving down-left", line("l", {0, 0}, {1, 1}), {0.7, 0.3}, {0.3, 0.7}, false},
      // in = right flips the answer.
      {"in right, moving down", line("l", {0, 0.5}, {1, 0.5}, LineSide::kRight), {0.5, 0.3}, {0.5, 0.7}, true},
  };
  for (const Case& c : cases) {
    Scene scene({}, {c.l});
    auto crossings = walk(scene, 1, {c.from, c.to});
    ASSERT_EQ(crossings.size(), 1u) << c.what;
    EXPECT_EQ(crossings[0].in, c.in) << c.what;
  }
}

TEST(SceneTest, CrossingCountedOncePerObjectEvenWhenJittering) {
  Scene scene({}, {line("gate", {0, 0.5}, {1, 0.5}), line("other", {0.5, 0}, {0.5, 1})});
  auto crossings = walk(scene, 7, {{0.2, 0.45}, {0.2, 0.55}, {0.2, 0.45}, {0.2, 0.55}, {0.2, 0.46}, {0.2, 0.9}});
  ASSERT_EQ(crossings.size(), 1u);
  EXPECT_EQ(crossings[0].line, "gate");
  EXPECT_FALSE(crossings[0].in);
  // The same object can still cross another line once; another object counts on its own.
  crossings = walk(scene, 7, {{0.2, 0.9}, {0.8, 0.9}, {0.2, 0.9}});
  ASSERT_EQ(crossings.size(), 1u);
  EXPECT_EQ(crossings[0].line, "other");
  crossings = walk(scene, 8, {{0.2, 0.45}, {0.2, 0.55}});
  ASSERT_EQ(crossings.size(), 1u);
}

TEST(SceneTest, FirstUpdateOnlyRecordsThePosition) {
  Scene scene({}, {line("gate", {0, 0.5}, {1, 0.5})});
  EXPECT_TRUE(scene.update(1, at(0.5, 0.7), kT0).crossings.empty());
  EXPECT_TRUE(scene.update(1, at(0.5, 0.8), kT0 + 100).crossings.empty());
}

TEST(SceneTest, ParallelMovementAndPassingBeyondTheEndAreNotCrossings) {
  Scene scene({}, {line("gate", {0.2, 0.5}, {0.6, 0.5})});
  EXPECT_TRUE(walk(scene, 1, {{0.1, 0.4}, {0.5, 0.4}, {0.9, 0.4}}).empty());    // parallel, above
  EXPECT_TRUE(walk(scene, 2, {{0.1, 0.5}, {0.4, 0.5}, {0.9, 0.5}}).empty());    // along the line itself
  EXPECT_TRUE(walk(scene, 3, {{0.7, 0.3}, {0.7, 0.7}}).empty());                // beyond b
  EXPECT_TRUE(walk(scene, 4, {{0.1, 0.3}, {0.15, 0.7}}).empty());               // before a
  EXPECT_TRUE(walk(scene, 5, {{0.3, 0.3}, {0.3, 0.45}, {0.35, 0.3}}).empty());  // approaches, turns back
  EXPECT_EQ(walk(scene, 6, {{0.3, 0.3}, {0.4, 0.7}}).size(), 1u);               // crosses
}

TEST(SceneTest, StoppingOnTheLineWaitsForTheSide) {
  Scene scene({}, {line("gate", {0, 0.5}, {1, 0.5})});
  EXPECT_TRUE(scene.update(1, at(0.5, 0.4), kT0).crossings.empty());
  EXPECT_TRUE(scene.update(1, at(0.5, 0.5), kT0 + 100).crossings.empty());  // on the line: no side yet
  auto c = scene.update(1, at(0.5, 0.6), kT0 + 200);
  ASSERT_EQ(c.crossings.size(), 1u);
  EXPECT_FALSE(c.crossings[0].in);
  EXPECT_EQ(c.crossings[0].time, kT0 + 200);
}

}  // namespace
}  // namespace argus::vision
