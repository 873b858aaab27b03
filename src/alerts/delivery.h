// DeliveryService: the NotificationSink that carries notifications to their channels.
//
// enqueue() ─▶ schedule (bounded: notifications.queue items, ordered by due time)
//   ─▶ N workers (notifications.workers) take the earliest due item
//   ─▶ circuit breaker of its channel: closed → attempt; open → the item waits until the
//      cool-down ends (not counted as an attempt); half-open → one trial at a time
//   ─▶ Sender (one attempt, bounded by the channel's timeout)
//   ─▶ delivered | retry: back into the schedule at now + backoff (full jitter), without
//      holding a worker | dead letter (attempts exhausted, permanent failure, channel
//      deleted or disabled) in the store.
//
// Overflow: a full schedule refuses enqueue() with ResourceExhausted and keeps the
// notification as a dead letter (reason "queue_full"): enqueue() itself never writes to
// the store; a worker does (a second bound of the same size guards that hand-off; beyond it
// the notification is dropped and counted, the only loss, under sustained overload).
//
// Shutdown (stop): no new notifications; attempts in flight get kStopGrace to finish, then
// the sender cancels them (they count as not delivered), then whatever is still scheduled
// or was cut off is written as dead
// letters with reason "shutdown". start() queues those again and deletes them: nothing is
// lost across a restart, and an operator sees them in /api/v1/dlq if the server stays down.
//
// Threading: every public method is thread-safe. One mutex guards the schedule, the
// breakers and the counters; it is never held during a send or a store call.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "alerts/notification.h"
#include "alerts/senders.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/status.h"
#include "store/store.h"

namespace argus::metrics {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace argus::metrics

namespace argus::alerts {

// Exponential backoff with full jitter: after `failures` failed attempts (1, 2, ...) the
// next waits a uniformly random time in [0, ceiling], ceiling = min(max, initial × 2^(failures-1)).
struct BackoffPolicy {
  std::int64_t initial_ms = 1000;
  std::int64_t max_ms = 300'000;

  std::int64_t ceiling_ms(int failures) const;
  std::int64_t delay_ms(int failures, std::mt19937_64& rng) const;
};

// A circuit breaker for one channel. Closed: attempts run; `threshold` consecutive failures
// open it for `cooldown_ms`. Open: no attempt starts (callers postpone to retry_at). After
// the cool-down: half-open, one trial attempt at a time; its success closes the breaker, its
// failure opens it for another cool-down. Not thread-safe (the service's mutex guards it).
class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  CircuitBreaker(int threshold, std::int64_t cooldown_ms) : threshold_(threshold), cooldown_ms_(cooldown_ms) {}

  // Whether an attempt may start at `now`. When not, *retry_at is when to ask again.
  // A true answer in half-open makes this the trial: report its outcome.
  bool allow(UnixMillis now, UnixMillis* retry_at);
  void on_success();
  void on_failure(UnixMillis now);
  State state(UnixMillis now) const;
  bool open() const { return state_ != State::kClosed; }

 private:
  const int threshold_;
  const std::int64_t cooldown_ms_;
  State state_ = State::kClosed;
  int failures_ = 0;
  UnixMillis open_until_ = 0;
  bool trial_in_flight_ = false;
};

std::string_view breaker_state_name(CircuitBreaker::State s);

struct DeliveryOptions {
  NotificationsConfig config;
  const Clock* clock = &system_clock();  // not owned
  metrics::Registry* metrics = nullptr;  // not owned; optional
  std::uint64_t seed = 0;                // jitter; 0 = random
};

struct DeliveryStats {
  std::size_t queued = 0;     // scheduled, including those waiting for a retry
  std::size_t capacity = 0;   // notifications.queue
  std::size_t in_flight = 0;  // attempts running
  std::int64_t dead_letters = 0;
  std::vector<std::string> open_circuits;  // channel ids whose breaker is open or half-open
  std::uint64_t delivered = 0;
  std::uint64_t retried = 0;
  std::uint64_t failed = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t dropped = 0;
};

// What the first attempt of a test-send did.
struct AttemptReport {
  bool delivered = false;
  std::string error;
};

class DeliveryService final : public NotificationSink {
 public:
  // `store` and `sender` are required; the store must outlive the service.
  DeliveryService(DeliveryOptions options, Store* store, std::unique_ptr<Sender> sender);
  ~DeliveryService() override;
  DeliveryService(const DeliveryService&) = delete;
  DeliveryService& operator=(const DeliveryService&) = delete;

  // Queues the dead letters a previous stop() left (reason "shutdown") again, then starts
  // the workers. Call once.
  Status start();
  // How long stop() lets attempts in flight finish before it cancels them.
  static constexpr std::chrono::milliseconds kStopGrace{2000};

  // See the file comment. Returns within about kStopGrace plus a second. Idempotent.
  void stop();

  // NotificationSink. InvalidArgument for an unknown kind; Unavailable once stopping.
  Status enqueue(Notification n) override;

  // Queues a "test" notification for `channel_id` (disabled channels too) and waits for
  // its first attempt, at most the channel's timeout plus a second and never more than
  // 15 s (the caller is usually an HTTP I/O thread). NotFound if no such
  // channel; ResourceExhausted if the queue is full. A failed test is retried and
  // dead-lettered like any notification.
  Result<AttemptReport> test_send(const std::string& channel_id, nlohmann::json data);

  // Queues dead letter `id` again (attempts start over) and deletes it. NotFound;
  // ResourceExhausted if the queue is full (the letter stays).
  Status requeue(std::int64_t id);
  // The same for every dead letter matching `filter`, newest first, until the queue is
  // full; returns how many were queued.
  Result<std::int64_t> requeue_matching(const DeadLetterFilter& filter);

  DeliveryStats stats() const;

 private:
  struct Item {
    std::string delivery_id;
    Notification n;
    int attempts = 0;
    UnixMillis created_at = 0;
    UnixMillis due = 0;
    std::uint64_t seq = 0;  // FIFO among equal due times
    std::string last_error;
    std::shared_ptr<std::promise<AttemptReport>> waiter;  // test-send: the first attempt's outcome
  };
  struct Later {
    bool operator()(const std::shared_ptr<Item>& a, const std::shared_ptr<Item>& b) const {
      return a->due != b->due ? a->due > b->due : a->seq > b->seq;
    }
  };

  Status check_channel(const std::string& channel_id, bool allow_disabled);
  // Schedules `item` now; ResourceExhausted if full. Takes mu_.
  Status push(std::shared_ptr<Item> item);
  void worker_loop();
  // Runs one attempt (no lock held) and files its outcome.
  void attempt(std::shared_ptr<Item> item);
  void dead_letter(const Item& item, const std::string& reason, const std::string& error);
  void write_dead_letters(std::vector<DeadLetterRecord> letters);
  static DeadLetterRecord to_dead_letter(const Item& item, const std::string& reason, const std::string& error);
  static Result<std::shared_ptr<Item>> from_dead_letter(const DeadLetterRecord& d);
  CircuitBreaker& breaker(const std::string& channel_id);  // mu_ held
  void count(const std::string& channel_id, const char* outcome);
  void set_circuit_gauge(const std::string& channel_id, bool open);
  void update_depth();  // mu_ held

  // Constant after construction.
  const NotificationsConfig config_;
  const Clock* const clock_;
  metrics::Registry* const metrics_;
  Store* const store_;
  const std::unique_ptr<Sender> sender_;
  const BackoffPolicy backoff_;
  metrics::Histogram* delivery_seconds_ = nullptr;
  metrics::Gauge* depth_gauge_ = nullptr;
  std::uint64_t collector_id_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<std::shared_ptr<Item>, std::vector<std::shared_ptr<Item>>, Later> schedule_;  // guarded by mu_
  std::vector<DeadLetterRecord> spill_;                    // guarded by mu_: to be written by a worker
  std::map<std::string, CircuitBreaker> breakers_;         // guarded by mu_
  std::map<std::string, metrics::Counter*> counters_;      // guarded by mu_: "channel\noutcome"
  std::map<std::string, metrics::Gauge*> circuit_gauges_;  // guarded by mu_
  std::mt19937_64 rng_;                                    // guarded by mu_
  std::uint64_t next_seq_ = 0;                             // guarded by mu_
  std::size_t in_flight_ = 0;                              // guarded by mu_
  bool running_ = false;                                   // guarded by mu_
  bool stopping_ = false;                                  // guarded by mu_
  DeliveryStats totals_;                                   // guarded by mu_: the counters only
  std::vector<std::thread> workers_;
};

}  // namespace argus::alerts
