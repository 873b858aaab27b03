// Engine: evaluates alert rules against what the bus carries and keeps alerts' state.
//
// Reads the `events` topic (objects starting, entering zones, crossing lines, ending) and
// the `cameras` topic (status changes, deletions) through its own bounded subscription,
// keeps per-rule state, and on each change and each tick (for conditions that need time
// to pass) fires and resolves alerts as the rules in alerts/rules.h describe, honouring
// schedules and cooldowns (per rule and camera). Every fire and resolve is written to the
// store, published on the `alerts` topic as {"type": "firing"|"resolved", "alert": {...}}
// and handed to the NotificationSink for each of the rule's channels.
//
// Threading: after start(), one evaluation thread owns all rule state; a second thread
// writes what it produced (store, bus, notifications) from a bounded queue, so the
// evaluation never waits on I/O beyond that queue's bound (it blocks when the writer is
// 1024 alerts behind; the bus subscription in front of it drops oldest when full).
// reload() and firing_count() are thread-safe. Without start(), poll() does the same work
// on the caller's thread (tests drive time with an injected Clock).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

#include "core/clock.h"
#include "core/status.h"

namespace argus {
class Store;
namespace metrics {
class Registry;
}
namespace bus {
class EventBus;
}
}  // namespace argus

namespace argus::alerts {

class NotificationSink;

struct EngineOptions {
  const Clock* clock = &system_clock();  // not owned
  metrics::Registry* metrics = nullptr;  // optional
  NotificationSink* sink = nullptr;      // optional: without it, nothing is notified
  std::chrono::milliseconds tick{1000};  // how often time-based conditions are checked
  std::size_t queue = 1024;              // bus subscription and writer queue capacity
};

class Engine {
 public:
  // Subscribes to the bus at once, so nothing published after construction is missed.
  // `store` and `bus` must outlive the engine.
  Engine(Store* store, bus::EventBus* bus, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Resolves alerts a previous process left firing (their state was lost with it), loads
  // the rules and starts the two threads. Fails if the store cannot be read.
  Status start();
  // Stops evaluating, then writes everything already produced and joins the threads.
  // Alerts still firing stay firing in the store (the next start() resolves them).
  void stop();

  // The rules changed in the store: re-read them before the next evaluation. Alerts of a
  // rule that was deleted, disabled or changed are resolved; a changed rule starts afresh.
  void reload();

  // Without start() only: processes every message queued on the subscription, evaluates
  // every rule at the clock's now, and writes what that produced before returning.
  Status poll();

  // Alerts firing now.
  std::size_t firing_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace argus::alerts
