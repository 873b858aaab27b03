#include "pipeline/processor.h"

#include <set>

#include <gtest/gtest.h>

namespace argus::pipeline {
namespace {

// Records everything a processor emits.
class RecordingSink final : public ProcessorSink {
 public:
  struct Ev {
    EventPhase phase;
    EventRecord record;
  };
  std::vector<Ev> events;
  std::vector<CountDelta> counts;
  std::vector<FrameResult> frames;
  int snapshots = 0;

  void on_event(EventPhase phase, const EventRecord& e) override { events.push_back({phase, e}); }
  std::string on_snapshot(const EventRecord& e, const std::string& jpeg) override {
    EXPECT_GT(jpeg.size(), 100u);
    ++snapshots;
    return "snapshots/" + e.id + ".jpg";
  }
  void on_counts(const std::vector<CountDelta>& d) override { counts.insert(counts.end(), d.begin(), d.end()); }
  void on_frame(const FrameResult& r) override { frames.push_back(r); }

  std::int64_t total(const std::string& scope, const std::string& name, const std::string& label,
                     std::int64_t CountDelta::*field) const {
    std::int64_t sum = 0;
    for (const auto& c : counts) {
      if (c.scope == scope && c.name == name && c.label == label) sum += c.*field;
    }
    return sum;
  }
  std::int64_t peak(const std::string& scope, const std::string& name, const std::string& label) const {
    std::int64_t p = 0;
    for (const auto& c : counts) {
      if (c.scope == scope && c.name == name && c.label == label) p = std::max(p, c.peak);
    }
    return p;
  }
};

Camera test_camera() {
  Camera c;
  c.id = "cam";
  c.detection.fps = 10;
  c.detection.labels = {"person"};
  c.detection.min_score = 0.5;
  // A vertical line in the middle; walking left-to-right (onto its left side) is "in".
  // a→b points down the image, so its left-hand side is the right half of the image.
  c.lines.push_back({"door", {0.5, 0.0}, {0.5, 1.0}, LineSide::kLeft});
  c.zones.push_back({"right-half", {{0.5, 0.0}, {1.0, 0.0}, {1.0, 1.0}, {0.5, 1.0}}});
  return c;
}

vision::FramePtr frame_at(std::uint64_t seq, UnixMillis t) {
  auto f = std::make_shared<vision::Frame>();
  f->camera_id = "cam";
  f->seq = seq;
  f->time = t;
  f->media_seconds = static_cast<double>(seq) / 10;
  f->image = cv::Mat(120, 160, CV_8UC3, cv::Scalar(40, 40, 40));
  return f;
}

vision::Detection person(double x, double y, float score = 0.9f) {
  return {"person", score, {x - 0.05, y - 0.2, x + 0.05, y}};
}

ProcessorOptions options() {
  ProcessorOptions o;
  o.tracker.min_hits = 2;
  o.tracker.max_missed_ms = 500;
  o.event_update_interval_ms = 1000;
  return o;
}

TEST(CameraProcessor, PersonWalkingAcrossTheLineIsOneEventAndOneCrossingIn) {
  RecordingSink sink;
  CameraProcessor p(test_camera(), options(), &sink);
  UnixMillis t = 1'700'000'000'000;
  // Walk from x=0.2 to x=0.8 in 0.03 steps, one frame per 100 ms.
  std::uint64_t seq = 0;
  for (double x = 0.2; x <= 0.8; x += 0.03, ++seq) {
    p.on_detections(frame_at(seq, t + static_cast<UnixMillis>(seq) * 100), {person(x, 0.9)});
  }
  // Disappear: after the timeout the track ends.
  for (int i = 0; i < 8; ++i, ++seq) p.on_detections(frame_at(seq, t + static_cast<UnixMillis>(seq) * 100), {});
  p.flush_counts();

  ASSERT_GE(sink.events.size(), 2u);
  EXPECT_EQ(sink.events.front().phase, EventPhase::kNew);
  EXPECT_EQ(sink.events.back().phase, EventPhase::kEnd);
  const std::string id = sink.events.front().record.id;
  for (const auto& e : sink.events) EXPECT_EQ(e.record.id, id);  // one lifecycle, one id
  const EventRecord& end = sink.events.back().record;
  ASSERT_EQ(end.crossings.size(), 1u);
  EXPECT_EQ(end.crossings[0].line, "door");
  EXPECT_EQ(end.crossings[0].direction, "in");
  EXPECT_EQ(end.zones, std::vector<std::string>{"right-half"});
  // current_zones (live, for the bus): empty at the start (left half), the zone once
  // entered, and empty again when the object is gone.
  EXPECT_TRUE(sink.events.front().record.current_zones.empty());
  bool seen_inside = false;
  for (const auto& e : sink.events) {
    if (e.record.current_zones == std::vector<std::string>{"right-half"}) seen_inside = true;
  }
  EXPECT_TRUE(seen_inside);
  EXPECT_TRUE(end.current_zones.empty());
  EXPECT_GT(end.end_time, end.start_time);
  EXPECT_NEAR(end.top_score, 0.9, 1e-6);
  EXPECT_EQ(end.snapshot, "snapshots/" + id + ".jpg");
  EXPECT_GE(sink.snapshots, 1);
  EXPECT_EQ(p.open_events(), 0u);

  EXPECT_EQ(sink.total("camera", "", "person", &CountDelta::seen), 1);
  EXPECT_EQ(sink.total("line", "door", "person", &CountDelta::in), 1);
  EXPECT_EQ(sink.total("line", "door", "person", &CountDelta::out), 0);
  EXPECT_EQ(sink.total("zone", "right-half", "person", &CountDelta::seen), 1);
  EXPECT_EQ(sink.peak("camera", "", "person"), 1);
  EXPECT_EQ(sink.peak("zone", "right-half", "person"), 1);
  for (const auto& c : sink.counts) EXPECT_EQ(c.bucket % 60'000, 0);
}

TEST(CameraProcessor, WalkingBackIsOut) {
  RecordingSink sink;
  CameraProcessor p(test_camera(), options(), &sink);
  UnixMillis t = 1'700'000'000'000;
  std::uint64_t seq = 0;
  for (double x = 0.8; x >= 0.2; x -= 0.03, ++seq) {
    p.on_detections(frame_at(seq, t + static_cast<UnixMillis>(seq) * 100), {person(x, 0.9)});
  }
  p.finish(t + static_cast<UnixMillis>(seq) * 100);
  EXPECT_EQ(sink.total("line", "door", "person", &CountDelta::out), 1);
  EXPECT_EQ(sink.total("line", "door", "person", &CountDelta::in), 0);
  EXPECT_EQ(sink.events.back().phase, EventPhase::kEnd);
}

TEST(CameraProcessor, FiltersLabelsAndLowScores) {
  RecordingSink sink;
  CameraProcessor p(test_camera(), options(), &sink);
  UnixMillis t = 1'700'000'000'000;
  for (std::uint64_t i = 0; i < 10; ++i) {
    vision::Detection car{"car", 0.95f, {0.1, 0.1, 0.3, 0.3}};
    p.on_detections(frame_at(i, t + static_cast<UnixMillis>(i) * 100), {car, person(0.7, 0.9, 0.3f)});
  }
  p.finish(t + 2000);
  EXPECT_TRUE(sink.events.empty());
  EXPECT_EQ(sink.total("camera", "", "car", &CountDelta::seen), 0);
}

TEST(CameraProcessor, OneFrameFalsePositiveIsNoEvent) {
  RecordingSink sink;
  CameraProcessor p(test_camera(), options(), &sink);
  UnixMillis t = 1'700'000'000'000;
  p.on_detections(frame_at(0, t), {person(0.3, 0.9)});
  for (std::uint64_t i = 1; i < 10; ++i) p.on_detections(frame_at(i, t + static_cast<UnixMillis>(i) * 100), {});
  p.finish(t + 2000);
  EXPECT_TRUE(sink.events.empty());
}

TEST(CameraProcessor, TwoPeopleTwoEventsAndPeakTwo) {
  RecordingSink sink;
  CameraProcessor p(test_camera(), options(), &sink);
  UnixMillis t = 1'700'000'000'000;
  for (std::uint64_t i = 0; i < 10; ++i) {
    double dx = 0.01 * static_cast<double>(i);
    p.on_detections(frame_at(i, t + static_cast<UnixMillis>(i) * 100), {person(0.2 + dx, 0.9), person(0.7 - dx, 0.6)});
  }
  ASSERT_EQ(sink.frames.back().objects.size(), 2u);
  EXPECT_NE(sink.frames.back().objects[0].event_id, sink.frames.back().objects[1].event_id);
  p.finish(t + 1000);
  std::set<std::string> ids;
  for (const auto& e : sink.events) ids.insert(e.record.id);
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(sink.total("camera", "", "person", &CountDelta::seen), 2);
  EXPECT_EQ(sink.peak("camera", "", "person"), 2);
}

TEST(CameraProcessor, RateLimitAndSkippedFramesReportTrackedObjects) {
  RecordingSink sink;
  Camera cam = test_camera();
  cam.detection.fps = 5;  // every 200 ms
  ProcessorOptions o = options();
  o.motion_gate = false;
  CameraProcessor p(cam, o, &sink);
  UnixMillis t = 1'700'000'000'000;
  int detected = 0;
  for (std::uint64_t i = 0; i < 20; ++i) {
    auto f = frame_at(i, t + static_cast<UnixMillis>(i) * 100);
    if (p.plan(*f).detect) {
      ++detected;
      p.on_detections(f, {person(0.3 + 0.01 * static_cast<double>(i), 0.9)});
    } else {
      p.on_skipped(f);
    }
  }
  EXPECT_EQ(detected, 10);
  ASSERT_EQ(sink.frames.size(), 20u);
  EXPECT_FALSE(sink.frames.back().detected);
  EXPECT_EQ(sink.frames.back().objects.size(), 1u);  // still tracked between detections
}

TEST(CameraProcessor, TickEndsTracksWhenFramesStop) {
  RecordingSink sink;
  CameraProcessor p(test_camera(), options(), &sink);
  UnixMillis t = 1'700'000'000'000;
  for (std::uint64_t i = 0; i < 5; ++i)
    p.on_detections(frame_at(i, t + static_cast<UnixMillis>(i) * 100), {person(0.3, 0.9)});
  EXPECT_EQ(p.open_events(), 1u);
  p.tick(t + 450);  // not yet past the timeout
  EXPECT_EQ(p.open_events(), 1u);
  p.tick(t + 5000);
  EXPECT_EQ(p.open_events(), 0u);
  EXPECT_EQ(sink.events.back().phase, EventPhase::kEnd);
}

TEST(EventJson, ShapeForApiAndBus) {
  EventRecord e;
  e.id = "cam-abc";
  e.camera_id = "cam";
  e.label = "person";
  e.start_time = 1'700'000'000'000;
  e.crossings.push_back({"door", "in", 1'700'000'001'000});
  e.snapshot = "snapshots/x.jpg";
  auto j = event_to_json(e);
  EXPECT_EQ(j["id"], "cam-abc");
  EXPECT_TRUE(j["active"].get<bool>());
  EXPECT_TRUE(j["end_time"].is_null());
  EXPECT_EQ(j["snapshot_url"], "/api/v1/events/cam-abc/snapshot.jpg");
  EXPECT_EQ(j["crossings"][0]["direction"], "in");
  EXPECT_EQ(j["start_time"], "2023-11-14T22:13:20.000Z");
}

}  // namespace
}  // namespace argus::pipeline
