// The delivery service against real parts: a SQLite store in a temporary directory, the
// real senders, and an HTTP receiver on a loopback port.
#include "alerts/delivery.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "alerts/channels.h"
#include "alerts/http_receiver.h"
#include "metrics/metrics.h"
#include "store/store.h"
#include "testing/testing.h"

namespace argus::alerts {
namespace {

using nlohmann::json;
using testing_support::HttpReceiver;

// --- backoff ---

TEST(BackoffTest, CeilingDoublesFromTheInitialDelayUpToTheMaximum) {
  BackoffPolicy b{1000, 30'000};
  EXPECT_EQ(b.ceiling_ms(1), 1000);
  EXPECT_EQ(b.ceiling_ms(2), 2000);
  EXPECT_EQ(b.ceiling_ms(3), 4000);
  EXPECT_EQ(b.ceiling_ms(5), 16'000);
  EXPECT_EQ(b.ceiling_ms(6), 30'000);
  EXPECT_EQ(b.ceiling_ms(60), 30'000);  // no overflow for many failures
}

TEST(BackoffTest, FullJitterStaysWithinZeroAndTheCeilingAndSpreadsOverIt) {
  BackoffPolicy b{1000, 300'000};
  std::mt19937_64 rng(42);
  for (int failures = 1; failures <= 12; ++failures) {
    const std::int64_t ceiling = b.ceiling_ms(failures);
    std::int64_t lo = ceiling, hi = 0;
    for (int i = 0; i < 2000; ++i) {
      std::int64_t d = b.delay_ms(failures, rng);
      ASSERT_GE(d, 0);
      ASSERT_LE(d, ceiling);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Full jitter: the whole range is used, not just the top (as "equal jitter" would).
    EXPECT_LT(lo, ceiling / 10) << failures;
    EXPECT_GT(hi, ceiling * 9 / 10) << failures;
  }
}

// --- circuit breaker ---

TEST(CircuitBreakerTest, OpensAfterThresholdFailuresThenAllowsOneTrialAfterTheCooldown) {
  argus::testing::ManualClock clock;
  CircuitBreaker b(3, 10'000);
  UnixMillis retry_at = 0;
  EXPECT_TRUE(b.allow(clock.now_ms(), &retry_at));
  b.on_failure(clock.now_ms());
  b.on_failure(clock.now_ms());
  EXPECT_EQ(b.state(clock.now_ms()), CircuitBreaker::State::kClosed);
  b.on_failure(clock.now_ms());
  EXPECT_EQ(b.state(clock.now_ms()), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.allow(clock.now_ms(), &retry_at));
  EXPECT_EQ(retry_at, clock.now_ms() + 10'000);

  clock.advance(9'999);
  EXPECT_FALSE(b.allow(clock.now_ms(), &retry_at));
  clock.advance(1);
  EXPECT_EQ(b.state(clock.now_ms()), CircuitBreaker::State::kHalfOpen);
  EXPECT_TRUE(b.allow(clock.now_ms(), &retry_at));   // the trial
  EXPECT_FALSE(b.allow(clock.now_ms(), &retry_at));  // only one at a time
  EXPECT_GT(retry_at, clock.now_ms());

  // The trial fails: open for another cool-down.
  b.on_failure(clock.now_ms());
  EXPECT_EQ(b.state(clock.now_ms()), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.allow(clock.now_ms(), &retry_at));
  clock.advance(10'000);
  EXPECT_TRUE(b.allow(clock.now_ms(), &retry_at));
  // The trial succeeds: closed, and the failure count starts over.
  b.on_success();
  EXPECT_EQ(b.state(clock.now_ms()), CircuitBreaker::State::kClosed);
  b.on_failure(clock.now_ms());
  b.on_failure(clock.now_ms());
  EXPECT_TRUE(b.allow(clock.now_ms(), &retry_at));
}

TEST(CircuitBreakerTest, ASuccessResetsTheConsecutiveCount) {
  CircuitBreaker b(2, 1000);
  UnixMillis retry_at = 0;
  b.on_failure(0);
  b.on_success();
  b.on_failure(0);
  EXPECT_TRUE(b.allow(0, &retry_at));
  b.on_failure(0);
  EXPECT_FALSE(b.allow(0, &retry_at));
}

// --- the service ---

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions opts;
    opts.config.url = "sqlite://" + dir_.file("argus.db");
    auto s = open_store(opts);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(s).value();
  }

  std::unique_ptr<DeliveryService> make(NotificationsConfig config) {
    UrlGuardPolicy policy;
    policy.allow_loopback = true;
    auto sender = make_sender(policy);
    EXPECT_TRUE(sender.ok());
    DeliveryOptions o;
    o.config = config;
    o.metrics = &registry_;
    o.seed = 7;
    return std::make_unique<DeliveryService>(o, store_.get(), std::move(sender).value());
  }

  void add_webhook(const std::string& id, const std::string& url, const std::string& secret) {
    FieldErrors errors;
    json body{{"id", id}, {"name", id}, {"type", "webhook"}, {"config", {{"url", url}, {"timeout_seconds", 2}}}};
    if (!secret.empty()) body["config"]["secret"] = secret;
    auto ch = channel_from_json(body, errors);
    ASSERT_TRUE(ch.ok()) << (errors.empty() ? "" : errors[0].detail);
    ASSERT_TRUE(store_->create_channel(channel_to_record(*ch)).ok());
  }

  // Polls the store (bounded) until `n` dead letters exist.
  bool wait_dead_letters(std::int64_t n) {
    for (int i = 0; i < 500; ++i) {
      auto c = store_->count_dead_letters({});
      if (c.ok() && *c >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  argus::testing::TempDir dir_;
  metrics::Registry registry_;
  std::unique_ptr<Store> store_;
};

TEST_F(DeliveryTest, WebhookCarriesTheDocumentSignedWithTheChannelSecret) {
  HttpReceiver receiver;
  add_webhook("ops", receiver.url(), "s3cret");
  auto svc = make({});
  ASSERT_TRUE(svc->start().ok());
  json alert{{"id", "a1"}, {"severity", "critical"}, {"rule_name", "door"}};
  ASSERT_TRUE(svc->enqueue({"ops", "alert.firing", 1'700'000'000'000, alert}).ok());
  ASSERT_TRUE(receiver.wait_for(1));
  auto req = receiver.requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/hook");
  EXPECT_EQ(req.headers["content-type"], "application/json");
  // The signature is over the exact bytes received.
  EXPECT_EQ(req.headers["x-argus-signature"], "sha256=" + hmac_sha256_hex("s3cret", req.body));
  EXPECT_EQ(req.headers["x-argus-delivery"].size(), 16u);
  json doc = json::parse(req.body);
  EXPECT_EQ(doc["kind"], "alert.firing");
  EXPECT_EQ(doc["channel"], "ops");
  EXPECT_EQ(doc["time"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(doc["data"], alert);
  svc->stop();
  EXPECT_NE(registry_.expose().find("argus_notifications_total{channel=\"ops\",outcome=\"delivered\"} 1"),
            std::string::npos)
      << registry_.expose();
}

TEST_F(DeliveryTest, HmacMatchesAKnownVector) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_F(DeliveryTest, FailingReceiverExhaustsRetriesIntoTheDeadLetterQueueThenRequeueDelivers) {
  HttpReceiver receiver;
  receiver.set_status(500);
  add_webhook("flaky", receiver.url(), "");
  NotificationsConfig config;
  config.max_attempts = 3;
  config.backoff_initial_ms = 10;
  config.backoff_max_ms = 50;
  config.breaker_threshold = 100;
  auto svc = make(config);
  ASSERT_TRUE(svc->start().ok());
  ASSERT_TRUE(svc->enqueue({"flaky", "alert.firing", 0, json{{"n", 1}}}).ok());
  ASSERT_TRUE(wait_dead_letters(1));
  EXPECT_EQ(receiver.requests().size(), 3u);  // every attempt reached the receiver
  auto page = store_->list_dead_letters({});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  const DeadLetterRecord d = page->items[0];
  EXPECT_EQ(d.kind, "notification");
  EXPECT_EQ(d.channel_id, "flaky");
  EXPECT_EQ(d.reason, "exhausted");
  EXPECT_EQ(d.attempts, 3);
  EXPECT_NE(d.error.find("HTTP 500"), std::string::npos) << d.error;
  EXPECT_EQ(json::parse(d.payload)["data"], json({{"n", 1}}));

  receiver.set_status(204);
  ASSERT_TRUE(svc->requeue(d.id).ok());
  ASSERT_TRUE(receiver.wait_for(4));
  auto reqs = receiver.requests();
  // The same delivery id throughout, so a receiver can drop duplicates.
  EXPECT_EQ(reqs[3].headers["x-argus-delivery"], reqs[0].headers["x-argus-delivery"]);
  EXPECT_EQ(store_->get_dead_letter(d.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(svc->requeue(d.id).code(), StatusCode::kNotFound);
  svc->stop();
  EXPECT_EQ(*store_->count_dead_letters({}), 0);
}

TEST_F(DeliveryTest, ClientErrorsArePermanentAndSkipTheRetries) {
  HttpReceiver receiver;
  receiver.set_status(404);
  add_webhook("gone", receiver.url(), "");
  auto svc = make({});
  ASSERT_TRUE(svc->start().ok());
  auto report = svc->test_send("gone", json::object());
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->delivered);
  EXPECT_NE(report->error.find("HTTP 404"), std::string::npos);
  ASSERT_TRUE(wait_dead_letters(1));
  auto page = store_->list_dead_letters({});
  EXPECT_EQ(page->items.at(0).reason, "permanent");
  EXPECT_EQ(page->items.at(0).attempts, 1);
  EXPECT_EQ(receiver.requests().size(), 1u);
}

TEST_F(DeliveryTest, OpenCircuitHoldsDeliveriesInsteadOfHammering) {
  HttpReceiver receiver;
  receiver.set_status(503);
  add_webhook("down", receiver.url(), "");
  NotificationsConfig config;
  config.max_attempts = 100;
  config.backoff_initial_ms = 10;
  config.backoff_max_ms = 10;
  config.breaker_threshold = 2;
  config.breaker_cooldown_ms = 3'600'000;  // stays open for the test
  auto svc = make(config);
  ASSERT_TRUE(svc->start().ok());
  ASSERT_TRUE(svc->enqueue({"down", "alert.firing", 0, json::object()}).ok());
  ASSERT_TRUE(receiver.wait_for(2));
  // Wait until the service reports the open circuit, then make sure no third attempt ran.
  for (int i = 0; i < 200 && svc->stats().open_circuits.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto stats = svc->stats();
  ASSERT_EQ(stats.open_circuits, std::vector<std::string>{"down"});
  EXPECT_EQ(stats.queued, 1u);  // held, not dropped
  EXPECT_FALSE(receiver.wait_for(3, std::chrono::milliseconds(300)));
  EXPECT_NE(registry_.expose().find("argus_notification_circuit_open{channel=\"down\"} 1"), std::string::npos);
  // Stopping keeps it as a dead letter for the next start ("no data lost").
  svc->stop();
  auto page = store_->list_dead_letters({});
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].reason, "shutdown");
  EXPECT_EQ(page->items[0].attempts, 2);

  receiver.set_status(200);
  auto again = make({});
  ASSERT_TRUE(again->start().ok());
  ASSERT_TRUE(receiver.wait_for(3));
  again->stop();
  EXPECT_EQ(*store_->count_dead_letters({}), 0);
}

TEST_F(DeliveryTest, StopCancelsAnAttemptThatWouldWaitOutALongTimeout) {
  // A receiver that accepts connections (the kernel does, from the backlog) and never
  // answers: the attempt would wait the channel's full 60 s.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/hook";
  FieldErrors errors;
  auto ch = channel_from_json(
      {{"id", "mute"}, {"name", "mute"}, {"type", "webhook"}, {"config", {{"url", url}, {"timeout_seconds", 60}}}},
      errors);
  ASSERT_TRUE(ch.ok());
  ASSERT_TRUE(store_->create_channel(channel_to_record(*ch)).ok());

  auto svc = make({});
  ASSERT_TRUE(svc->start().ok());
  ASSERT_TRUE(svc->enqueue({"mute", "alert.firing", 0, json::object()}).ok());
  for (int i = 0; i < 500 && svc->stats().in_flight == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(svc->stats().in_flight, 1u);
  const auto started = std::chrono::steady_clock::now();
  svc->stop();
  const auto took = std::chrono::steady_clock::now() - started;
  ::close(fd);
  // The grace plus libcurl's progress interval, far from the 60 s timeout.
  EXPECT_LT(took, DeliveryService::kStopGrace + std::chrono::seconds(8));
  EXPECT_GE(took, DeliveryService::kStopGrace - std::chrono::milliseconds(50));
  auto page = store_->list_dead_letters({});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);  // kept for the next start, not lost
  EXPECT_EQ(page->items[0].reason, "shutdown");
  EXPECT_NE(page->items[0].error.find("cancelled"), std::string::npos) << page->items[0].error;
}

TEST_F(DeliveryTest, AFullQueueKeepsTheNotificationAsADeadLetter) {
  HttpReceiver receiver;
  add_webhook("ops", receiver.url(), "");
  NotificationsConfig config;
  config.queue = 1;
  auto svc = make(config);  // not started: nothing drains the queue
  ASSERT_TRUE(svc->enqueue({"ops", "alert.firing", 0, json{{"n", 1}}}).ok());
  Status full = svc->enqueue({"ops", "alert.firing", 0, json{{"n", 2}}});
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  ASSERT_TRUE(svc->start().ok());
  ASSERT_TRUE(wait_dead_letters(1));
  auto page = store_->list_dead_letters({});
  EXPECT_EQ(page->items.at(0).reason, "queue_full");
  EXPECT_EQ(json::parse(page->items.at(0).payload)["data"]["n"], 2);
  ASSERT_TRUE(receiver.wait_for(1));
}

TEST_F(DeliveryTest, EnqueueChecksTheChannelAndKind) {
  HttpReceiver receiver;
  add_webhook("ops", receiver.url(), "");
  auto svc = make({});
  EXPECT_EQ(svc->enqueue({"nope", "alert.firing", 0, json::object()}).code(), StatusCode::kNotFound);
  EXPECT_EQ(svc->enqueue({"ops", "bogus", 0, json::object()}).code(), StatusCode::kInvalidArgument);
  auto ch = store_->get_channel("ops");
  ch->enabled = false;
  ASSERT_TRUE(store_->update_channel(*ch, std::nullopt).ok());
  EXPECT_EQ(svc->enqueue({"ops", "alert.firing", 0, json::object()}).code(), StatusCode::kFailedPrecondition);
}

TEST_F(DeliveryTest, RefusedDestinationIsPermanent) {
  add_webhook("meta", "http://169.254.169.254/latest", "");
  auto svc = make({});
  ASSERT_TRUE(svc->start().ok());
  auto report = svc->test_send("meta", json::object());
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->delivered);
  EXPECT_NE(report->error.find("169.254.169.254"), std::string::npos) << report->error;
  ASSERT_TRUE(wait_dead_letters(1));
  EXPECT_EQ(store_->list_dead_letters({})->items.at(0).reason, "permanent");
}

}  // namespace
}  // namespace argus::alerts
