#include "api/stream_hub.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "metrics/metrics.h"

namespace argus::api {
namespace {

using std::chrono::milliseconds;

std::uint32_t bits(std::initializer_list<std::string_view> topics) {
  std::uint32_t b = 0;
  for (auto t : topics) b |= *stream_topic_bit(t);
  return b;
}

class StreamHubTest : public ::testing::Test {
 protected:
  void SetUp() override { open({}); }

  void open(StreamsConfig config) {
    hub_.reset();
    bus::BusOptions o;
    o.first_id = 100;
    bus_ = std::move(bus::open_bus(o)).value();
    hub_ = std::make_unique<StreamHub>(*bus_, StreamHubOptions{config, &registry_});
    ASSERT_TRUE(hub_->start().ok());
  }

  void TearDown() override {
    hub_.reset();
    bus_.reset();
  }

  // Publishes and waits until the hub has seen the message.
  std::uint64_t publish(std::string_view topic, std::string camera, nlohmann::json data = nlohmann::json::object()) {
    auto m = bus_->publish(topic, std::move(camera), std::move(data));
    for (int i = 0; i < 2000 && hub_->last_id() < m->id; ++i) std::this_thread::sleep_for(milliseconds(1));
    EXPECT_EQ(hub_->last_id(), m->id);
    return m->id;
  }

  static std::vector<std::uint64_t> ids(StreamSubscriber& s) {
    StreamSubscriber::Batch b;
    s.take(b);
    std::vector<std::uint64_t> out;
    for (auto& e : b.entries) out.push_back(e->message->id);
    return out;
  }

  metrics::Registry registry_;
  std::unique_ptr<bus::EventBus> bus_;
  std::unique_ptr<StreamHub> hub_;
};

TEST_F(StreamHubTest, FiltersByTopicCameraAndScope) {
  StreamFilter all{bits({"events", "system"}), {}, std::nullopt};
  StreamFilter one_camera{bits({"events"}), {"a"}, std::nullopt};
  StreamFilter scoped{bits({"events", "system"}), {}, std::vector<std::string>{"b"}};
  auto s1 = std::move(hub_->attach(all, std::nullopt, nullptr)).value();
  auto s2 = std::move(hub_->attach(one_camera, std::nullopt, nullptr)).value();
  auto s3 = std::move(hub_->attach(scoped, std::nullopt, nullptr)).value();
  auto ea = publish(bus::kEvents, "a");
  auto eb = publish(bus::kEvents, "b");
  auto sys = publish(bus::kSystem, "");
  publish(bus::kCounts, "a");
  EXPECT_EQ(ids(*s1), (std::vector<std::uint64_t>{ea, eb, sys}));
  EXPECT_EQ(ids(*s2), (std::vector<std::uint64_t>{ea}));
  EXPECT_EQ(ids(*s3), (std::vector<std::uint64_t>{eb, sys}));  // messages without a camera pass the scope
}

TEST_F(StreamHubTest, EntriesShareTheBusBytesAndPrecomputeFraming) {
  StreamFilter f{bits({"system"}), {}, std::nullopt};
  auto a = std::move(hub_->attach(f, std::nullopt, nullptr)).value();
  auto b = std::move(hub_->attach(f, std::nullopt, nullptr)).value();
  publish(bus::kSystem, "", {{"x", 1}});
  StreamSubscriber::Batch ba, bb;
  a->take(ba);
  b->take(bb);
  ASSERT_EQ(ba.entries.size(), 1u);
  ASSERT_EQ(bb.entries.size(), 1u);
  EXPECT_EQ(ba.entries[0].get(), bb.entries[0].get());
  const auto& e = *ba.entries[0];
  EXPECT_EQ(e.sse_prefix, "id: " + std::to_string(e.message->id) + "\ndata: ");
  EXPECT_EQ(e.ws_header.size(), e.message->envelope.size() < 126 ? 2u : 4u);
}

TEST_F(StreamHubTest, ReplayHasNoGapAndNoDuplicateWithLiveMessages) {
  StreamsConfig c;
  c.queue = 100'000;  // nothing is dropped: every id must arrive
  open(c);
  StreamFilter f{bits({"system"}), {}, std::nullopt};
  auto first = publish(bus::kSystem, "");
  // A publisher keeps going while subscribers attach with a replay.
  std::atomic<bool> stop{false};
  // Fewer messages than the ring holds (10,000), so the replay is never truncated.
  std::thread publisher([&] {
    for (int i = 0; i < 5000 && !stop; ++i) bus_->publish(bus::kSystem, "", nlohmann::json::object());
  });
  std::vector<std::shared_ptr<StreamSubscriber>> subs;
  for (int i = 0; i < 20; ++i) {
    bool truncated = true;
    subs.push_back(std::move(hub_->attach(f, first, &truncated)).value());
    EXPECT_FALSE(truncated);
    std::this_thread::sleep_for(milliseconds(1));
  }
  stop = true;
  publisher.join();
  auto last = publish(bus::kSystem, "");
  for (auto& s : subs) {
    std::vector<std::uint64_t> got;
    for (int i = 0; i < 100; ++i) {
      auto more = ids(*s);
      got.insert(got.end(), more.begin(), more.end());
      if (!got.empty() && got.back() == last) break;
    }
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.front(), first + 1);
    EXPECT_EQ(got.back(), last);
    for (std::size_t i = 1; i < got.size(); ++i) ASSERT_EQ(got[i], got[i - 1] + 1) << "gap or duplicate";
  }
}

TEST_F(StreamHubTest, ReplayBeyondTheRingIsTruncated) {
  StreamsConfig c;
  c.ring_size = 5;
  c.queue = 100;
  open(c);
  StreamFilter f{bits({"system"}), {}, std::nullopt};
  bool truncated = false;
  // Before any message, any id is unknown.
  auto s0 = std::move(hub_->attach(f, 7, &truncated)).value();
  EXPECT_TRUE(truncated);
  std::vector<std::uint64_t> published;
  for (int i = 0; i < 10; ++i) published.push_back(publish(bus::kSystem, ""));
  // Still held: the last five.
  auto r = hub_->replay(published[4], f, 100);
  EXPECT_FALSE(r.truncated);
  EXPECT_EQ(r.entries.size(), 5u);
  // The sixth-newest is gone: asking from the fourth misses one.
  r = hub_->replay(published[3], f, 100);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.entries.size(), 5u);
  // Ids from the future or an earlier run.
  EXPECT_TRUE(hub_->replay(published.back() + 10, f, 100).truncated);
  EXPECT_TRUE(hub_->replay(3, f, 100).truncated);
  // Up to date: nothing, not truncated.
  r = hub_->replay(published.back(), f, 100);
  EXPECT_FALSE(r.truncated);
  EXPECT_TRUE(r.entries.empty());
  // The limit says more follow.
  r = hub_->replay(published[4], f, 2);
  EXPECT_TRUE(r.more);
  EXPECT_EQ(r.entries.size(), 2u);
}

TEST_F(StreamHubTest, SlowSubscriberDropsOldestAndIsCounted) {
  StreamsConfig c;
  c.queue = 3;
  open(c);
  StreamFilter f{bits({"system"}), {}, std::nullopt};
  auto slow = std::move(hub_->attach(f, std::nullopt, nullptr)).value();
  auto fast = std::move(hub_->attach(f, std::nullopt, nullptr)).value();
  std::vector<std::uint64_t> published;
  std::vector<std::uint64_t> fast_got;
  for (int i = 0; i < 10; ++i) {
    published.push_back(publish(bus::kSystem, ""));
    auto got = ids(*fast);
    fast_got.insert(fast_got.end(), got.begin(), got.end());
  }
  EXPECT_EQ(fast_got, published);
  StreamSubscriber::Batch b;
  slow->take(b);
  ASSERT_EQ(b.entries.size(), 3u);
  EXPECT_EQ(b.entries.back()->message->id, published.back());
  EXPECT_EQ(b.dropped, 7u);
  EXPECT_FALSE(b.overflowed);
  slow->take(b);
  EXPECT_EQ(b.dropped, 0u);  // told once
  EXPECT_EQ(slow->dropped_total(), 7u);
  EXPECT_NE(registry_.expose().find("argus_stream_messages_dropped_total 7"), std::string::npos);
}

TEST_F(StreamHubTest, DisconnectPolicyClosesTheSlowSubscriber) {
  StreamsConfig c;
  c.queue = 2;
  c.slow_policy = StreamSlowPolicy::kDisconnect;
  open(c);
  auto s = std::move(hub_->attach({bits({"system"}), {}, std::nullopt}, std::nullopt, nullptr)).value();
  for (int i = 0; i < 3; ++i) publish(bus::kSystem, "");
  StreamSubscriber::Batch b;
  s->take(b);
  EXPECT_TRUE(b.overflowed);
  EXPECT_TRUE(b.closed);
  EXPECT_TRUE(b.entries.empty());
}

TEST_F(StreamHubTest, WakesAWaitingConnectionOnce) {
  auto s = std::move(hub_->attach({bits({"system"}), {}, std::nullopt}, std::nullopt, nullptr)).value();
  std::atomic<int> wakes{0};
  s->set_hooks([&] { ++wakes; }, [] {});
  EXPECT_TRUE(ids(*s).empty());  // the connection now waits
  publish(bus::kSystem, "");
  publish(bus::kSystem, "");
  EXPECT_EQ(wakes.load(), 1);  // the second message joins the pending batch
  EXPECT_EQ(ids(*s).size(), 2u);
  EXPECT_TRUE(ids(*s).empty());
  publish(bus::kSystem, "");
  EXPECT_EQ(wakes.load(), 2);
}

TEST_F(StreamHubTest, LimitsSubscribersAndStops) {
  StreamsConfig c;
  c.max_subscribers = 2;
  open(c);
  StreamFilter f{bits({"system"}), {}, std::nullopt};
  auto a = std::move(hub_->attach(f, std::nullopt, nullptr)).value();
  auto b = std::move(hub_->attach(f, std::nullopt, nullptr)).value();
  auto c3 = hub_->attach(f, std::nullopt, nullptr);
  EXPECT_EQ(c3.status().code(), StatusCode::kResourceExhausted);
  hub_->detach(a);
  EXPECT_EQ(hub_->subscribers(), 1u);
  EXPECT_TRUE(hub_->attach(f, std::nullopt, nullptr).ok());
  hub_->stop();
  StreamSubscriber::Batch batch;
  b->take(batch);
  EXPECT_TRUE(batch.closed);
  EXPECT_EQ(hub_->attach(f, std::nullopt, nullptr).status().code(), StatusCode::kUnavailable);
}

TEST_F(StreamHubTest, AuthMessagesEndTheStreamsOfThoseCredentialsAndAreNeverStreamed) {
  auto opened_by = [&](std::string user, std::string key) {
    StreamFilter f{kAllStreamTopics, {}, std::nullopt};
    f.user_id = std::move(user);
    f.api_key_id = std::move(key);
    return std::move(hub_->attach(f, std::nullopt, nullptr)).value();
  };
  auto alice = opened_by("u-alice", "");
  auto alice_key = opened_by("u-alice", "k-1");
  auto bob_key = opened_by("u-bob", "k-2");
  auto bob = opened_by("u-bob", "");
  auto taken = [](StreamSubscriber& s) {
    StreamSubscriber::Batch b;
    s.take(b);
    return b;
  };

  // Revoking Bob's key ends that stream only; the auth message reaches no one as data.
  bus_->publish(bus::kAuth, "", {{"user_id", ""}, {"api_key_id", "k-2"}, {"reason", "the API key was revoked"}});
  auto after = publish(bus::kSystem, "");  // the hub handles messages in order
  StreamSubscriber::Batch b = taken(*bob_key);
  EXPECT_TRUE(b.closed);
  EXPECT_EQ(b.revoked, "the API key was revoked");
  EXPECT_TRUE(b.entries.empty());
  for (auto* s : {alice.get(), alice_key.get(), bob.get()}) {
    b = taken(*s);
    EXPECT_FALSE(b.closed);
    EXPECT_TRUE(b.revoked.empty());
    ASSERT_EQ(b.entries.size(), 1u);  // the system message, not the auth one
    EXPECT_EQ(b.entries[0]->message->id, after);
  }
  EXPECT_TRUE(hub_->replay(0, StreamFilter{kAllStreamTopics, {}, std::nullopt}, 100).entries.size() == 1);

  // A change to Alice (disabled, deleted, new password) ends her streams, keys included.
  bus_->publish(bus::kAuth, "", {{"user_id", "u-alice"}, {"api_key_id", ""}, {"reason", "the user was deleted"}});
  publish(bus::kSystem, "");
  EXPECT_EQ(taken(*alice).revoked, "the user was deleted");
  EXPECT_EQ(taken(*alice_key).revoked, "the user was deleted");
  b = taken(*bob);
  EXPECT_FALSE(b.closed);
  EXPECT_EQ(b.entries.size(), 1u);
  EXPECT_NE(registry_.expose().find("argus_stream_disconnects_total{reason=\"revoked\"} 3"), std::string::npos)
      << registry_.expose();
}

TEST_F(StreamHubTest, WatchdogAbortsAStuckWrite) {
  StreamsConfig c;
  c.write_timeout_ms = 1000;
  open(c);
  auto s = std::move(hub_->attach({bits({"system"}), {}, std::nullopt}, std::nullopt, nullptr)).value();
  std::atomic<int> aborted{0};
  s->set_hooks([] {}, [&] { ++aborted; });
  s->write_started(std::chrono::steady_clock::now());
  for (int i = 0; i < 400 && aborted == 0; ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(aborted.load(), 1);
  // A write that finishes in time is left alone.
  auto t = std::move(hub_->attach({bits({"system"}), {}, std::nullopt}, std::nullopt, nullptr)).value();
  std::atomic<int> t_aborted{0};
  t->set_hooks([] {}, [&] { ++t_aborted; });
  t->write_started(std::chrono::steady_clock::now());
  t->write_finished();
  std::this_thread::sleep_for(milliseconds(2200));
  EXPECT_EQ(t_aborted.load(), 0);
}

}  // namespace
}  // namespace argus::api
