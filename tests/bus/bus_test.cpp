#include "bus/bus.h"

#include <thread>

#include <gtest/gtest.h>

#include "metrics/metrics.h"
#include "testing/testing.h"

namespace argus::bus {
namespace {

std::unique_ptr<EventBus> memory_bus(metrics::Registry* registry = nullptr) {
  BusOptions o;
  o.metrics = registry;
  o.first_id = 1;
  auto bus = open_bus(o);
  EXPECT_TRUE(bus.ok());
  return std::move(bus).value();
}

TEST(MemoryBus, DeliversEnvelopeSerializedOnce) {
  auto bus = memory_bus();
  auto a = bus->subscribe({.topics = {"events"}});
  auto b = bus->subscribe({});
  auto published = bus->publish(kEvents, "cam-1", {{"label", "person"}});
  auto ma = a->next(std::chrono::milliseconds(100));
  auto mb = b->next(std::chrono::milliseconds(100));
  ASSERT_TRUE(ma && mb);
  EXPECT_EQ(ma->get(), mb->get());  // the same shared message, not a copy
  EXPECT_EQ((*ma)->id, 1u);
  auto env = nlohmann::json::parse((*ma)->envelope);
  EXPECT_EQ(env["id"], "1");
  EXPECT_EQ(env["topic"], "events");
  EXPECT_EQ(env["data"]["label"], "person");
  EXPECT_TRUE(env["time"].get<std::string>().ends_with("Z"));
}

TEST(MemoryBus, IdsContinueAcrossRestartsByDefault) {
  // Without first_id, ids start from the clock (ms x 1000): a later process starts above
  // an earlier one, so a stream client's old id reads as older than anything new.
  testing::ManualClock clock(1'700'000'000'000);
  BusOptions o;
  o.clock = &clock;
  auto first = std::move(open_bus(o)).value();
  auto a = first->publish(kSystem, "", 1);
  EXPECT_EQ(a->id, 1'700'000'000'000'000u);
  clock.advance(1);
  auto second = std::move(open_bus(o)).value();
  EXPECT_GT(second->publish(kSystem, "", 1)->id, a->id);
}

TEST(MemoryBus, FiltersTopicsAndCameras) {
  auto bus = memory_bus();
  auto sub = bus->subscribe({.topics = {"events", "counts"}, .cameras = {"a"}});
  bus->publish(kEvents, "a", 1);
  bus->publish(kEvents, "b", 2);
  bus->publish(kDetections, "a", 3);
  bus->publish(kCounts, "", 4);  // not about a camera: passes the camera filter
  std::vector<int> got;
  while (auto m = sub->try_next()) got.push_back((*m)->data.get<int>());
  EXPECT_EQ(got, (std::vector<int>{1, 4}));
}

TEST(MemoryBus, SlowSubscriberDropsOldestAndIsCounted) {
  metrics::Registry registry;
  auto bus = memory_bus(&registry);
  auto slow = bus->subscribe({.capacity = 3});
  auto fast = bus->subscribe({.capacity = 100});
  for (int i = 1; i <= 10; ++i) bus->publish(kEvents, "", i);
  EXPECT_EQ(slow->dropped(), 7u);
  EXPECT_EQ(fast->dropped(), 0u);
  std::vector<int> got;
  while (auto m = slow->try_next()) got.push_back((*m)->data.get<int>());
  EXPECT_EQ(got, (std::vector<int>{8, 9, 10}));
  EXPECT_EQ(fast->pending(), 10u);
  EXPECT_NE(registry.expose().find("argus_bus_messages_dropped_total 7"), std::string::npos);
}

TEST(MemoryBus, RejectPolicyKeepsOldMessages) {
  auto bus = memory_bus();
  auto sub = bus->subscribe({.capacity = 2, .overflow = OverflowPolicy::kReject});
  for (int i = 1; i <= 4; ++i) bus->publish(kEvents, "", i);
  EXPECT_EQ(sub->dropped(), 2u);
  EXPECT_EQ((*sub->try_next())->data.get<int>(), 1);
}

TEST(MemoryBus, UnsubscribeOnDestructionAndCloseWakesWaiters) {
  auto bus = memory_bus();
  {
    auto sub = bus->subscribe({});
    EXPECT_EQ(bus->subscriber_count(), 1u);
  }
  EXPECT_EQ(bus->subscriber_count(), 0u);
  auto sub = bus->subscribe({});
  std::thread waiter([&] { EXPECT_FALSE(sub->next(std::chrono::seconds(30))); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  bus->close();
  waiter.join();
  bus->publish(kEvents, "", 1);  // after close: dropped, no crash
  EXPECT_EQ(bus->subscriber_count(), 0u);
}

TEST(MemoryBus, ConcurrentPublishersKeepIdsUniqueAndOrderedPerSubscriber) {
  auto bus = memory_bus();
  auto sub = bus->subscribe({.capacity = 100000});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) bus->publish(kDetections, "", i);
    });
  }
  for (auto& t : threads) t.join();
  std::uint64_t last = 0;
  std::size_t n = 0;
  while (auto m = sub->try_next()) {
    EXPECT_GT((*m)->id, last);
    last = (*m)->id;
    ++n;
  }
  EXPECT_EQ(n, 4000u);
}

TEST(OpenBus, RejectsUnknownUrl) {
  BusOptions o;
  o.url = "kafka://x";
  auto bus = open_bus(o);
  ASSERT_FALSE(bus.ok());
  EXPECT_NE(bus.status().message().find("memory://"), std::string::npos);
}

}  // namespace
}  // namespace argus::bus
