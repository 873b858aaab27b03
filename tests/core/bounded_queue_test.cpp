#include "core/bounded_queue.h"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace argus {
namespace {

using namespace std::chrono_literals;

// Long enough that a thread which should be blocked has had every chance to run.
constexpr auto kSettle = 50ms;
// Upper bound for something that should happen promptly; generous for loaded CI machines.
constexpr auto kPrompt = 10s;

TEST(BoundedQueueTest, FifoOrderAndSize) {
  BoundedQueue<int> q(4, OverflowPolicy::kReject);
  EXPECT_EQ(q.capacity(), 4u);
  EXPECT_EQ(q.size(), 0u);
  EXPECT_FALSE(q.closed());
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(q.push(i), PushResult::kOk);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.pop(), 1);
  EXPECT_EQ(q.try_pop(), 2);
  EXPECT_EQ(q.pop_for(1ms), 3);
  EXPECT_EQ(q.try_pop(), std::nullopt);
  EXPECT_EQ(q.size(), 0u);
}

TEST(BoundedQueueTest, ZeroCapacityBecomesOne) {
  BoundedQueue<int> q(0, OverflowPolicy::kReject);
  EXPECT_EQ(q.capacity(), 1u);
  EXPECT_EQ(q.push(1), PushResult::kOk);
  EXPECT_EQ(q.push(2), PushResult::kRejected);
}

TEST(BoundedQueueTest, MoveOnlyItems) {
  BoundedQueue<std::unique_ptr<int>> q(2, OverflowPolicy::kDropOldest);
  EXPECT_EQ(q.push(std::make_unique<int>(1)), PushResult::kOk);
  EXPECT_EQ(q.push(std::make_unique<int>(2)), PushResult::kOk);
  std::unique_ptr<int> dropped;
  EXPECT_EQ(q.push(std::make_unique<int>(3), &dropped), PushResult::kDroppedOldest);
  ASSERT_NE(dropped, nullptr);
  EXPECT_EQ(*dropped, 1);
  auto a = q.pop();
  ASSERT_TRUE(a && *a);
  EXPECT_EQ(**a, 2);
}

TEST(BoundedQueueTest, RejectKeepsExistingContent) {
  BoundedQueue<std::string> q(2, OverflowPolicy::kReject);
  EXPECT_EQ(q.push("a"), PushResult::kOk);
  EXPECT_EQ(q.push("b"), PushResult::kOk);
  std::string dropped = "untouched";
  EXPECT_EQ(q.push("c", &dropped), PushResult::kRejected);
  EXPECT_EQ(q.push("d"), PushResult::kRejected);
  EXPECT_EQ(dropped, "untouched");
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.pop(), "a");
  // Room again after a pop.
  EXPECT_EQ(q.push("e"), PushResult::kOk);
  EXPECT_EQ(q.pop(), "b");
  EXPECT_EQ(q.pop(), "e");
  EXPECT_EQ(q.try_pop(), std::nullopt);
}

TEST(BoundedQueueTest, DropOldestReturnsTheDroppedItem) {
  BoundedQueue<int> q(3, OverflowPolicy::kDropOldest);
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(q.push(i), PushResult::kOk);
  int dropped = -1;
  EXPECT_EQ(q.push(4, &dropped), PushResult::kDroppedOldest);
  EXPECT_EQ(dropped, 1);
  EXPECT_EQ(q.push(5, &dropped), PushResult::kDroppedOldest);
  EXPECT_EQ(dropped, 2);
  // Without an out-parameter the oldest is still dropped.
  EXPECT_EQ(q.push(6), PushResult::kDroppedOldest);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.pop(), 4);
  EXPECT_EQ(q.pop(), 5);
  EXPECT_EQ(q.pop(), 6);
}

TEST(BoundedQueueTest, BlockWaitsUntilAPop) {
  BoundedQueue<int> q(1, OverflowPolicy::kBlock);
  ASSERT_EQ(q.push(1), PushResult::kOk);
  std::atomic<bool> pushed{false};
  auto producer = std::async(std::launch::async, [&] {
    PushResult r = q.push(2);
    pushed = true;
    return r;
  });
  std::this_thread::sleep_for(kSettle);
  EXPECT_FALSE(pushed.load()) << "push into a full kBlock queue must wait";
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.pop(), 1);
  ASSERT_EQ(producer.wait_for(kPrompt), std::future_status::ready);
  EXPECT_EQ(producer.get(), PushResult::kOk);
  EXPECT_TRUE(pushed.load());
  EXPECT_EQ(q.pop(), 2);
}

TEST(BoundedQueueTest, BlockedPushIsWokenByTryPopAndPopFor) {
  BoundedQueue<int> q(1, OverflowPolicy::kBlock);
  ASSERT_EQ(q.push(1), PushResult::kOk);
  auto p1 = std::async(std::launch::async, [&] { return q.push(2); });
  std::this_thread::sleep_for(kSettle);
  EXPECT_EQ(q.try_pop(), 1);
  ASSERT_EQ(p1.wait_for(kPrompt), std::future_status::ready);
  EXPECT_EQ(p1.get(), PushResult::kOk);
  auto p2 = std::async(std::launch::async, [&] { return q.push(3); });
  std::this_thread::sleep_for(kSettle);
  EXPECT_EQ(q.pop_for(1s), 2);
  ASSERT_EQ(p2.wait_for(kPrompt), std::future_status::ready);
  EXPECT_EQ(p2.get(), PushResult::kOk);
  EXPECT_EQ(q.pop(), 3);
}

TEST(BoundedQueueTest, CloseWakesBlockedPop) {
  BoundedQueue<int> q(2, OverflowPolicy::kReject);
  auto consumer = std::async(std::launch::async, [&] { return q.pop(); });
  std::this_thread::sleep_for(kSettle);
  EXPECT_EQ(consumer.wait_for(0ms), std::future_status::timeout) << "pop on empty must wait";
  q.close();
  ASSERT_EQ(consumer.wait_for(kPrompt), std::future_status::ready);
  EXPECT_EQ(consumer.get(), std::nullopt);
  EXPECT_TRUE(q.closed());
}

TEST(BoundedQueueTest, CloseWakesBlockedPushWhichFails) {
  BoundedQueue<int> q(1, OverflowPolicy::kBlock);
  ASSERT_EQ(q.push(1), PushResult::kOk);
  auto producer = std::async(std::launch::async, [&] { return q.push(2); });
  std::this_thread::sleep_for(kSettle);
  EXPECT_EQ(producer.wait_for(0ms), std::future_status::timeout);
  q.close();
  ASSERT_EQ(producer.wait_for(kPrompt), std::future_status::ready);
  EXPECT_EQ(producer.get(), PushResult::kClosed);
  // The blocked item was not enqueued; the earlier one still drains.
  EXPECT_EQ(q.pop(), 1);
  EXPECT_EQ(q.pop(), std::nullopt);
}

TEST(BoundedQueueTest, CloseDrainsRemainingItemsThenReturnsNullopt) {
  BoundedQueue<int> q(8, OverflowPolicy::kReject);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(q.push(i), PushResult::kOk);
  q.close();
  EXPECT_TRUE(q.closed());
  EXPECT_EQ(q.push(99), PushResult::kClosed);
  EXPECT_EQ(q.size(), 5u);
  EXPECT_EQ(q.pop(), 0);
  EXPECT_EQ(q.try_pop(), 1);
  EXPECT_EQ(q.pop_for(1ms), 2);
  EXPECT_EQ(q.pop(), 3);
  EXPECT_EQ(q.pop(), 4);
  EXPECT_EQ(q.pop(), std::nullopt);
  EXPECT_EQ(q.try_pop(), std::nullopt);
  EXPECT_EQ(q.pop_for(1s), std::nullopt);  // returns at once: closed and empty
}

TEST(BoundedQueueTest, PushAfterCloseFailsForEveryPolicy) {
  for (auto policy : {OverflowPolicy::kReject, OverflowPolicy::kDropOldest, OverflowPolicy::kBlock}) {
    BoundedQueue<int> q(1, policy);
    ASSERT_EQ(q.push(1), PushResult::kOk);
    q.close();
    int dropped = -1;
    EXPECT_EQ(q.push(2, &dropped), PushResult::kClosed);
    EXPECT_EQ(dropped, -1);
    EXPECT_EQ(q.pop(), 1);
  }
}

TEST(BoundedQueueTest, PopForTimesOut) {
  BoundedQueue<int> q(1, OverflowPolicy::kReject);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(q.pop_for(100ms), std::nullopt);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 100ms);
  EXPECT_LT(elapsed, kPrompt);
}

TEST(BoundedQueueTest, PopForReturnsEarlyWhenAnItemArrives) {
  BoundedQueue<int> q(1, OverflowPolicy::kReject);
  const auto start = std::chrono::steady_clock::now();
  auto consumer = std::async(std::launch::async, [&] { return q.pop_for(30s); });
  std::this_thread::sleep_for(kSettle);
  ASSERT_EQ(q.push(7), PushResult::kOk);
  ASSERT_EQ(consumer.wait_for(kPrompt), std::future_status::ready);
  EXPECT_EQ(consumer.get(), 7);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
}

TEST(BoundedQueueTest, CloseWakesManyBlockedConsumersAndProducers) {
  BoundedQueue<int> empty(4, OverflowPolicy::kBlock);
  BoundedQueue<int> full(1, OverflowPolicy::kBlock);
  ASSERT_EQ(full.push(0), PushResult::kOk);
  std::vector<std::future<std::optional<int>>> pops;
  std::vector<std::future<PushResult>> pushes;
  for (int i = 0; i < 4; ++i) {
    pops.push_back(std::async(std::launch::async, [&] { return empty.pop(); }));
    pushes.push_back(std::async(std::launch::async, [&, i] { return full.push(i + 1); }));
  }
  std::this_thread::sleep_for(kSettle);
  empty.close();
  full.close();
  for (auto& f : pops) {
    ASSERT_EQ(f.wait_for(kPrompt), std::future_status::ready);
    EXPECT_EQ(f.get(), std::nullopt);
  }
  for (auto& f : pushes) {
    ASSERT_EQ(f.wait_for(kPrompt), std::future_status::ready);
    EXPECT_EQ(f.get(), PushResult::kClosed);
  }
}

// Several producers and consumers through a small blocking queue: every item is
// delivered exactly once.
TEST(BoundedQueueTest, MultiProducerMultiConsumerBlockDeliversEveryItemOnce) {
  constexpr int kProducers = 4;
  constexpr int kConsumers = 4;
  constexpr int kPerProducer = 20'000;
  BoundedQueue<int> q(16, OverflowPolicy::kBlock);
  std::vector<std::atomic<int>> seen(kProducers * kPerProducer);
  std::atomic<long long> sum{0};
  std::atomic<int> consumed{0};

  std::vector<std::thread> consumers;
  for (int c = 0; c < kConsumers; ++c) {
    consumers.emplace_back([&] {
      while (auto v = q.pop()) {
        seen[static_cast<std::size_t>(*v)].fetch_add(1);
        sum += *v;
        ++consumed;
      }
    });
  }
  std::vector<std::thread> producers;
  std::atomic<int> not_ok{0};
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        if (q.push(p * kPerProducer + i) != PushResult::kOk) ++not_ok;
      }
    });
  }
  for (auto& t : producers) t.join();
  q.close();
  for (auto& t : consumers) t.join();

  constexpr long long n = static_cast<long long>(kProducers) * kPerProducer;
  EXPECT_EQ(not_ok.load(), 0);
  EXPECT_EQ(consumed.load(), n);
  EXPECT_EQ(sum.load(), n * (n - 1) / 2);
  int wrong = 0;
  for (auto& s : seen) wrong += s.load() != 1;
  EXPECT_EQ(wrong, 0) << "items delivered zero or several times";
}

// With kReject and kDropOldest, items either arrive, or are accounted for as rejected /
// dropped: produced == consumed + rejected + dropped, exactly.
TEST(BoundedQueueTest, MultiProducerMultiConsumerLossyPoliciesAccountForEveryItem) {
  for (auto policy : {OverflowPolicy::kReject, OverflowPolicy::kDropOldest}) {
    SCOPED_TRACE(policy == OverflowPolicy::kReject ? "reject" : "drop-oldest");
    constexpr int kProducers = 4;
    constexpr int kConsumers = 3;
    constexpr int kPerProducer = 20'000;
    BoundedQueue<int> q(8, policy);
    std::vector<std::atomic<int>> seen(kProducers * kPerProducer);
    std::atomic<int> consumed{0}, rejected{0}, dropped{0};

    std::vector<std::thread> consumers;
    for (int c = 0; c < kConsumers; ++c) {
      consumers.emplace_back([&] {
        while (auto v = q.pop()) {
          seen[static_cast<std::size_t>(*v)].fetch_add(1);
          ++consumed;
        }
      });
    }
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        for (int i = 0; i < kPerProducer; ++i) {
          int out = -1;
          switch (q.push(p * kPerProducer + i, &out)) {
            case PushResult::kOk:
              break;
            case PushResult::kRejected:
              ++rejected;
              break;
            case PushResult::kDroppedOldest:
              ++dropped;
              // The dropped item is counted as "seen" through the drop path instead.
              seen[static_cast<std::size_t>(out)].fetch_add(1);
              break;
            case PushResult::kClosed:
              ADD_FAILURE() << "closed too early";
              break;
          }
        }
      });
    }
    for (auto& t : producers) t.join();
    q.close();
    for (auto& t : consumers) t.join();

    const int n = kProducers * kPerProducer;
    EXPECT_EQ(consumed + rejected + dropped, n);
    if (policy == OverflowPolicy::kReject) {
      EXPECT_EQ(dropped.load(), 0);
    } else {
      EXPECT_EQ(rejected.load(), 0);
    }
    int seen_once = 0, seen_more = 0;
    for (auto& s : seen) {
      seen_once += s.load() == 1;
      seen_more += s.load() > 1;
    }
    EXPECT_EQ(seen_more, 0);
    // Rejected items were never enqueued, so they are the only ones never seen.
    EXPECT_EQ(seen_once, n - rejected.load());
  }
}

}  // namespace
}  // namespace argus
