// StoreWriter against a real SQLite store: detections are sampled per event (one per
// second of frame time, at most 600) and land in the store after their event.
#include "pipeline/store_writer.h"

#include <gtest/gtest.h>

#include "store/store.h"
#include "testing/testing.h"

namespace argus::pipeline {
namespace {

constexpr UnixMillis kT0 = 1'700'000'000'000;

class StoreWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions so;
    so.config.url = "sqlite://" + dir_.file("argus.db");
    auto store = open_store(so);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
  }

  std::size_t stored(const std::string& event_id) {
    auto page = store_->list_detections(event_id, {"", 100'000});
    EXPECT_TRUE(page.ok()) << page.status().to_string();
    return page.ok() ? page->items.size() : 0;
  }

  EventRecord event(const std::string& id) {
    EventRecord e;
    e.id = id;
    e.camera_id = "front";
    e.label = "person";
    e.start_time = kT0;
    e.updated_at = kT0;
    return e;
  }

  DetectionRecord detection(const std::string& event_id, UnixMillis t) {
    return {event_id, "front", "person", t, 0.8, {0.1, 0.2, 0.3, 0.4}};
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreWriterTest, DetectionsAreSampledOncePerSecondPerEvent) {
  StoreWriter writer(store_.get(), 10'000, nullptr);
  writer.enqueue(event("a"));
  writer.enqueue(event("b"));
  int queued = 0;
  // 10 frames a second for 5 seconds, two events interleaved.
  for (int i = 0; i < 50; ++i) {
    queued += writer.enqueue(detection("a", kT0 + i * 100)) ? 1 : 0;
    queued += writer.enqueue(detection("b", kT0 + 50 + i * 100)) ? 1 : 0;
  }
  writer.flush();
  EXPECT_EQ(queued, 10);
  EXPECT_EQ(stored("a"), 5u);
  EXPECT_EQ(stored("b"), 5u);
  auto page = store_->list_detections("a", {"", 10});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items[1].time, kT0 + 1'000);
}

TEST_F(StoreWriterTest, DetectionsPerEventAreBoundedAndTheBudgetEndsWithTheEvent) {
  StoreWriter writer(store_.get(), 10'000, nullptr);
  EventRecord e = event("long");
  writer.enqueue(e);
  for (int i = 0; i < StoreWriter::kMaxDetectionsPerEvent + 100; ++i) {
    writer.enqueue(detection("long", kT0 + i * StoreWriter::kDetectionIntervalMs));
  }
  writer.flush();
  EXPECT_EQ(stored("long"), static_cast<std::size_t>(StoreWriter::kMaxDetectionsPerEvent));
  // The event ends: its budget is forgotten, and the store keeps what it has.
  e.end_time = kT0 + 1'000'000;
  writer.enqueue(e);
  writer.flush();
  EXPECT_EQ(stored("long"), static_cast<std::size_t>(StoreWriter::kMaxDetectionsPerEvent));
  auto got = store_->get_event("long");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->end_time, kT0 + 1'000'000);
}

}  // namespace
}  // namespace argus::pipeline
