#include "vision/tracker.h"

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace argus::vision {
namespace {

constexpr UnixMillis kStart = 1'700'000'000'000;
constexpr UnixMillis kFrameMs = 100;  // 10 fps

Detection det(const std::string& label, double cx, double cy, double w = 0.1, double h = 0.2, float score = 0.8f) {
  return {label, score, Box{cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2}};
}

UnixMillis frame_time(int i) { return kStart + i * kFrameMs; }

const Track* find(const std::vector<Track>& tracks, std::uint64_t id) {
  for (const Track& t : tracks) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

TEST(TrackerTest, ObjectMovingRightKeepsOneIdOver50Frames) {
  Tracker tracker;
  std::set<std::uint64_t> ids;
  int started = 0;
  for (int i = 0; i < 50; ++i) {
    auto u = tracker.update({det("person", 0.02 + 0.02 * i, 0.5)}, frame_time(i));
    started += static_cast<int>(u.started.size());
    EXPECT_TRUE(u.ended.empty());
    if (i == 0) {
      EXPECT_TRUE(u.active.empty()) << "not confirmed after one hit";
      continue;
    }
    ASSERT_EQ(u.active.size(), 1u) << "frame " << i;
    const Track& t = u.active[0];
    ids.insert(t.id);
    EXPECT_TRUE(t.matched);
    EXPECT_EQ(t.hits, i + 1);
    EXPECT_EQ(t.first_seen, frame_time(0));
    EXPECT_EQ(t.last_seen, frame_time(i));
    EXPECT_NEAR(t.vx, 0.2, 1e-9);  // 0.02 per 100 ms
    EXPECT_NEAR(t.vy, 0.0, 1e-9);
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(started, 1);
  EXPECT_EQ(tracker.size(), 1u);
}

TEST(TrackerTest, StartedIsReportedOnceWhenConfirmed) {
  Tracker tracker(TrackerOptions{.min_hits = 3});
  EXPECT_TRUE(tracker.update({det("person", 0.5, 0.5)}, frame_time(0)).started.empty());
  EXPECT_TRUE(tracker.update({det("person", 0.5, 0.5)}, frame_time(1)).started.empty());
  auto u = tracker.update({det("person", 0.5, 0.5)}, frame_time(2));
  ASSERT_EQ(u.started.size(), 1u);
  EXPECT_EQ(u.started[0].id, 1u);
  EXPECT_TRUE(u.started[0].confirmed);
  ASSERT_EQ(u.active.size(), 1u);
  EXPECT_TRUE(tracker.update({det("person", 0.5, 0.5)}, frame_time(3)).started.empty());
}

TEST(TrackerTest, TwoObjectsCrossingPathsKeepTheirIds) {
  Tracker tracker;
  std::uint64_t left_id = 0, right_id = 0;
  for (int i = 0; i <= 40; ++i) {
    // A walks right, B walks left on nearly the same row; they overlap around i = 20.
    double ax = 0.1 + 0.02 * i, bx = 0.9 - 0.02 * i;
    auto u = tracker.update({det("person", ax, 0.50), det("person", bx, 0.52)}, frame_time(i));
    if (i == 0) continue;
    ASSERT_EQ(u.active.size(), 2u) << "frame " << i;
    for (const Track& t : u.active) {
      double cx = (t.box.x1 + t.box.x2) / 2;
      if (std::abs(cx - ax) < 1e-9 && t.vx > 0) {
        if (left_id == 0) left_id = t.id;
        EXPECT_EQ(t.id, left_id) << "frame " << i;
      } else {
        EXPECT_NEAR(cx, bx, 1e-9) << "frame " << i;
        if (right_id == 0) right_id = t.id;
        EXPECT_EQ(t.id, right_id) << "frame " << i;
      }
    }
  }
  EXPECT_NE(left_id, 0u);
  EXPECT_NE(right_id, 0u);
  EXPECT_NE(left_id, right_id);
}

TEST(TrackerTest, OneFrameFalsePositiveIsNeverConfirmed) {
  Tracker tracker;
  int started = 0;
  for (int i = 0; i < 10; ++i) {
    std::vector<Detection> dets{det("person", 0.3, 0.5)};
    if (i == 4) dets.push_back(det("person", 0.8, 0.2));  // appears once
    auto u = tracker.update(dets, frame_time(i));
    started += static_cast<int>(u.started.size());
    EXPECT_TRUE(u.ended.empty());
    for (const Track& t : u.active) EXPECT_EQ(t.id, 1u);
  }
  EXPECT_EQ(started, 1);
  EXPECT_EQ(tracker.size(), 1u);  // the tentative track was dropped silently
}

TEST(TrackerTest, ShortMissCoastsOnThePredictionAndKeepsTheId) {
  Tracker tracker;
  for (int i = 0; i < 5; ++i) tracker.update({det("person", 0.1 + 0.02 * i, 0.5)}, frame_time(i));
  // Missed for 3 frames: the track coasts on its constant-velocity prediction.
  for (int i = 5; i < 8; ++i) {
    auto u = tracker.update({}, frame_time(i));
    ASSERT_EQ(u.active.size(), 1u);
    const Track& t = u.active[0];
    EXPECT_EQ(t.id, 1u);
    EXPECT_FALSE(t.matched);
    EXPECT_EQ(t.last_seen, frame_time(4));
    EXPECT_NEAR((t.box.x1 + t.box.x2) / 2, 0.1 + 0.02 * i, 1e-9);
    EXPECT_TRUE(u.ended.empty());
  }
  auto u = tracker.update({det("person", 0.1 + 0.02 * 8, 0.5)}, frame_time(8));
  ASSERT_EQ(u.active.size(), 1u);
  EXPECT_EQ(u.active[0].id, 1u);
  EXPECT_TRUE(u.active[0].matched);
  EXPECT_EQ(u.active[0].hits, 6);
  EXPECT_NEAR(u.active[0].vx, 0.2, 1e-9);
  EXPECT_TRUE(u.started.empty());
}

TEST(TrackerTest, TrackEndsAfterMaxMissedAndIsReportedOnce) {
  Tracker tracker(TrackerOptions{.max_missed_ms = 500});
  tracker.update({det("car", 0.5, 0.5, 0.2, 0.1, 0.6f)}, frame_time(0));
  tracker.update({det("car", 0.5, 0.5, 0.2, 0.1, 0.9f)}, frame_time(1));
  tracker.update({det("car", 0.5, 0.5, 0.2, 0.1, 0.7f)}, frame_time(2));
  int ended = 0;
  for (int i = 3; i < 20; ++i) {
    auto u = tracker.update({}, frame_time(i));
    UnixMillis unseen = frame_time(i) - frame_time(2);
    if (unseen <= 500) {
      EXPECT_TRUE(u.ended.empty()) << "unseen " << unseen;
      EXPECT_EQ(u.active.size(), 1u);
    }
    for (const Track& t : u.ended) {
      ++ended;
      EXPECT_GT(unseen, 500);
      EXPECT_EQ(t.id, 1u);
      EXPECT_EQ(t.label, "car");
      EXPECT_EQ(t.hits, 3);
      EXPECT_FLOAT_EQ(t.score, 0.7f);
      EXPECT_FLOAT_EQ(t.top_score, 0.9f);
      EXPECT_EQ(t.last_seen, frame_time(2));
      EXPECT_TRUE(u.active.empty());
    }
  }
  EXPECT_EQ(ended, 1);
  EXPECT_EQ(tracker.size(), 0u);
  // A new detection at the same place is a new object.
  tracker.update({det("car", 0.5, 0.5, 0.2, 0.1)}, frame_time(20));
  auto u = tracker.update({det("car", 0.5, 0.5, 0.2, 0.1)}, frame_time(21));
  ASSERT_EQ(u.active.size(), 1u);
  EXPECT_GT(u.active[0].id, 1u);
}

TEST(TrackerTest, UnconfirmedTrackEndsSilently) {
  Tracker tracker(TrackerOptions{.min_hits = 3});
  tracker.update({det("person", 0.5, 0.5)}, frame_time(0));
  tracker.update({det("person", 0.5, 0.5)}, frame_time(1));
  auto u = tracker.update({}, frame_time(2));
  EXPECT_TRUE(u.ended.empty());
  EXPECT_TRUE(u.active.empty());
  EXPECT_EQ(tracker.size(), 0u);
}

TEST(TrackerTest, DifferentLabelsNeverAssociate) {
  Tracker tracker;
  tracker.update({det("person", 0.5, 0.5)}, frame_time(0));
  tracker.update({det("person", 0.5, 0.5)}, frame_time(1));
  // The same box, now labelled car: the person coasts, the car starts a new track.
  auto u = tracker.update({det("car", 0.5, 0.5)}, frame_time(2));
  ASSERT_EQ(u.active.size(), 1u);
  EXPECT_EQ(u.active[0].label, "person");
  EXPECT_FALSE(u.active[0].matched);
  EXPECT_EQ(tracker.size(), 2u);
  u = tracker.update({det("car", 0.5, 0.5)}, frame_time(3));
  ASSERT_EQ(u.started.size(), 1u);
  EXPECT_EQ(u.started[0].label, "car");
  EXPECT_NE(u.started[0].id, 1u);
  ASSERT_EQ(u.active.size(), 2u);
  for (const Track& t : u.active) EXPECT_EQ(t.matched, t.label == "car");
}

TEST(TrackerTest, FastMoverAssociatesByCentreDistance) {
  // Boxes 0.05 wide moving 0.08 per frame never overlap their previous position.
  TrackerOptions options;
  Tracker tracker(options);
  std::set<std::uint64_t> ids;
  for (int i = 0; i < 10; ++i) {
    auto u = tracker.update({det("car", 0.05 + 0.08 * i, 0.5, 0.05, 0.05)}, frame_time(i));
    for (const Track& t : u.active) ids.insert(t.id);
  }
  EXPECT_EQ(ids.size(), 1u);

  // Without the centre-distance fallback, the second frame would start a new track.
  options.max_center_distance = 0.05;
  Tracker strict(options);
  strict.update({det("car", 0.05, 0.5, 0.05, 0.05)}, frame_time(0));
  auto u = strict.update({det("car", 0.13, 0.5, 0.05, 0.05)}, frame_time(1));
  EXPECT_TRUE(u.active.empty());
  EXPECT_EQ(strict.size(), 1u);  // the first tentative track was dropped, a new one started
}

TEST(TrackerTest, PrefersTheBestOverlapWhenTracksCompete) {
  Tracker tracker(TrackerOptions{.min_hits = 1});
  auto u = tracker.update({det("person", 0.30, 0.5), det("person", 0.36, 0.5)}, frame_time(0));
  ASSERT_EQ(u.started.size(), 2u);
  // Overlapping objects, detections listed in the other order: each track takes the
  // detection it overlaps most, not the first one listed.
  u = tracker.update({det("person", 0.37, 0.5), det("person", 0.31, 0.5)}, frame_time(1));
  ASSERT_EQ(u.active.size(), 2u);
  const Track* a = find(u.active, 1);
  const Track* b = find(u.active, 2);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NEAR((a->box.x1 + a->box.x2) / 2, 0.31, 1e-9);
  EXPECT_NEAR((b->box.x1 + b->box.x2) / 2, 0.37, 1e-9);
  EXPECT_TRUE(u.started.empty());
}

TEST(TrackerTest, FinishEndsEveryConfirmedTrack) {
  Tracker tracker;
  tracker.update({det("person", 0.2, 0.5), det("car", 0.7, 0.5)}, frame_time(0));
  tracker.update({det("person", 0.2, 0.5), det("car", 0.7, 0.5), det("dog", 0.5, 0.9)}, frame_time(1));
  auto u = tracker.finish(frame_time(2));
  ASSERT_EQ(u.ended.size(), 2u);  // the tentative dog is not reported
  EXPECT_TRUE(u.active.empty());
  EXPECT_TRUE(u.started.empty());
  EXPECT_EQ(tracker.size(), 0u);
  EXPECT_TRUE(tracker.finish(frame_time(3)).ended.empty());
}

}  // namespace
}  // namespace argus::vision
