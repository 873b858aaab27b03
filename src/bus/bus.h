// EventBus: how what Argus sees reaches everything that reacts to it.
//
// Publishers (the pipeline, the API on camera changes, jobs) publish a message on a topic;
// each subscriber receives the messages of the topics (and cameras) it asked for through
// its own bounded queue, so a slow subscriber never slows the publisher or the others.
// When a subscriber's queue is full its oldest message is dropped and counted (or, with
// kReject, the new one is), and the subscriber can see how many it lost.
//
// A message is serialized once, at publish, into the envelope
// {"id", "topic", "time", "data"} that streams send as is; all subscribers share the bytes.
//
// Implementations: in-process (memory://, default). Thread-safe throughout.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/bounded_queue.h"
#include "core/clock.h"
#include "core/status.h"

namespace argus::metrics {
class Registry;
}

namespace argus::bus {

// Well-known topics.
inline constexpr std::string_view kDetections = "detections";
inline constexpr std::string_view kEvents = "events";
inline constexpr std::string_view kCounts = "counts";
inline constexpr std::string_view kCameras = "cameras";
inline constexpr std::string_view kSystem = "system";
inline constexpr std::string_view kJobs = "jobs";
inline constexpr std::string_view kAlerts = "alerts";
// Credentials changed: {"user_id", "api_key_id", "reason"} ("" = not about one). Internal:
// never streamed to clients; the stream hub ends the streams those credentials opened.
inline constexpr std::string_view kAuth = "auth";

struct Message {
  std::uint64_t id = 0;  // increasing per bus, from BusOptions::first_id
  std::string topic;
  std::string camera;  // "" when not about one camera
  UnixMillis time = 0;
  nlohmann::json data;
  std::string envelope;  // the serialized {"id","topic","time","data"}
};
using MessagePtr = std::shared_ptr<const Message>;

struct SubscribeOptions {
  std::vector<std::string> topics;   // empty = all topics
  std::vector<std::string> cameras;  // empty = all cameras (messages without a camera always pass)
  std::size_t capacity = 1024;
  OverflowPolicy overflow = OverflowPolicy::kDropOldest;  // kBlock is not allowed
  std::string name = "subscriber";                        // for metrics and logs
};

// One subscriber's queue. Destroying it unsubscribes.
class Subscription {
 public:
  virtual ~Subscription() = default;
  // Waits up to `timeout` for the next message; nullopt on timeout or once closed and drained.
  virtual std::optional<MessagePtr> next(std::chrono::milliseconds timeout) = 0;
  virtual std::optional<MessagePtr> try_next() = 0;
  // Messages this subscriber lost to overflow so far.
  virtual std::uint64_t dropped() const = 0;
  virtual std::size_t pending() const = 0;
  // Stops delivery and wakes a waiting next().
  virtual void close() = 0;
};

class EventBus {
 public:
  virtual ~EventBus() = default;
  // Publishes to every matching subscriber without blocking; returns the message.
  virtual MessagePtr publish(std::string_view topic, std::string camera, nlohmann::json data) = 0;
  virtual std::unique_ptr<Subscription> subscribe(const SubscribeOptions& options) = 0;
  virtual std::size_t subscriber_count() const = 0;
  // Closes every subscription; later publishes are dropped.
  virtual void close() = 0;
};

struct BusOptions {
  std::string url = "memory://";
  const Clock* clock = &system_clock();
  metrics::Registry* metrics = nullptr;  // optional
  // Id of the first message. 0: the clock's Unix milliseconds x 1000, so that ids keep
  // increasing across restarts (stream clients resume with the last id they saw, and an id
  // from an earlier run must read as older than anything this run holds).
  std::uint64_t first_id = 0;
};

// memory:// is the in-process bus. Anything else: InvalidArgument naming what is supported.
Result<std::unique_ptr<EventBus>> open_bus(const BusOptions& options);

}  // namespace argus::bus
