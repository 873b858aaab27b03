#include "pipeline/pipeline.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "bus/bus.h"
#include "store/store.h"
#include "testing/testing.h"

namespace argus::pipeline {
namespace {

// A camera that asks for detection on every frame (no motion gate, high fps).
Camera busy_camera(const std::string& id) {
  Camera c;
  c.id = id;
  c.detection.fps = 100;
  c.detection.labels = {"person"};
  c.detection.min_score = 0.5;
  return c;
}

vision::FramePtr noise_frame(const std::string& camera, std::uint64_t seq, UnixMillis t) {
  auto f = std::make_shared<vision::Frame>();
  f->camera_id = camera;
  f->seq = seq;
  f->time = t;
  f->image = cv::Mat(480, 640, CV_8UC3);
  cv::randu(f->image, cv::Scalar::all(0), cv::Scalar::all(255));
  return f;
}

class PipelineOverflow : public ::testing::TestWithParam<OverflowPolicy> {
 protected:
  void SetUp() override {
    StoreOptions so;
    so.config.url = "sqlite://" + dir_.file("argus.db");
    auto store = open_store(so);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    auto bus = bus::open_bus({});
    ASSERT_TRUE(bus.ok());
    bus_ = std::move(bus).value();
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<bus::EventBus> bus_;
};

// Four cameras share one HOG worker whose queue holds one job: the queue overflows, and
// each camera's status says how many of its frames the policy cost it, by reason.
TEST_P(PipelineOverflow, FullDetectorQueueIsCountedPerCameraByPolicy) {
  PipelineOptions o;
  o.pool.workers = 1;
  o.pool.queue_capacity = 1;
  o.pool.overflow = GetParam();
  o.pool.detector.hog_upscale = 1.5;  // slow enough that frames pile up
  o.processor.motion_gate = false;
  o.processor.snapshots = false;
  o.media_dir = dir_.path().string();
  auto created = Pipeline::create(o, store_.get(), bus_.get(), nullptr);
  ASSERT_TRUE(created.ok()) << created.status().message();
  auto& p = *created.value();
  EXPECT_EQ(p.detectors().overflow(), GetParam());

  const std::vector<std::string> cams{"a", "b", "c", "d"};
  for (const auto& c : cams) p.upsert_camera(busy_camera(c));
  UnixMillis t = system_clock().now_ms();
  for (std::uint64_t i = 0; i < 4; ++i) {
    for (const auto& c : cams) p.on_frame(noise_frame(c, i, t + static_cast<UnixMillis>(i) * 100));
  }
  // Wait for the pool to drain.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (p.detectors().queue_depth() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  std::uint64_t processed = 0, busy = 0, dropped = 0, rejected = 0;
  for (const auto& c : cams) {
    auto s = p.stats(c);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->frames_dropped, s->dropped_busy + s->dropped_queue_full + s->rejected_queue_full) << c;
    processed += s->frames_processed;
    busy += s->dropped_busy;
    dropped += s->dropped_queue_full;
    rejected += s->rejected_queue_full;
  }
  EXPECT_GT(processed, 0u);
  EXPECT_GT(busy, 0u);  // frames 2 and 3 of a camera replace each other behind frame 1
  if (GetParam() == OverflowPolicy::kReject) {
    EXPECT_GT(rejected, 0u);
    EXPECT_EQ(dropped, 0u);
  } else {
    EXPECT_GT(dropped, 0u);
    EXPECT_EQ(rejected, 0u);
  }
  p.stop();
}

INSTANTIATE_TEST_SUITE_P(Policies, PipelineOverflow,
                         ::testing::Values(OverflowPolicy::kReject, OverflowPolicy::kDropOldest),
                         [](const ::testing::TestParamInfo<OverflowPolicy>& p) {
                           return p.param == OverflowPolicy::kReject ? "reject" : "drop_oldest";
                         });

}  // namespace
}  // namespace argus::pipeline
