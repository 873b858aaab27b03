// MqttBridge: what Argus sees, published to an MQTT broker (Home Assistant, Node-RED, ...).
//
// Topics (P = mqtt.topic_prefix, default "argus"):
//   P/available                 "online" (retained) on connect; "offline" as the last will
//                               (so a killed server reads offline) and on a clean stop
//   P/events                    {"type":"new|update|end","before":{...},"after":{...}} per
//                               tracked object, same id throughout; at most one update per
//                               object per second (the latest state wins)
//   P/<camera>/<label>          objects of that label tracked now (retained)
//   P/<camera>/<zone>/<label>   objects of that label in the zone now (retained)
//   P/<camera>/<line>/in, /out  line crossings, running totals over the stored history (retained)
//   P/<camera>/status           the camera's source state: online, offline, ... (retained)
//   P/stats                     every mqtt.stats_interval
// and, with discovery on, Home Assistant discovery configs (retained) under
// <discovery_prefix>/{sensor,binary_sensor}/<node>/<object>/config for every camera,
// replaced when a camera changes and removed (empty retained payload) when it is deleted or
// loses a zone, line or label. For 5 s after each connect the bridge also listens to the
// discovery configs on the broker and removes those of its own (its node prefix and
// availability topic) that it no longer has: cameras deleted while it was away.
//
// Threading: the bridge subscribes to the bus topics events, counts and cameras; the bus
// gives it its own bounded queue, so publishers never wait for it. One bridge thread owns
// the libmosquitto client and all state: it translates bus messages, keeps a bounded
// backlog (mqtt.backlog; drop oldest, counted) while the broker is away, reconnects with
// exponential backoff, and on every (re)connect republishes the retained state in full.
// A slow or absent broker therefore never slows detection. stats() is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "core/status.h"

namespace argus {
class Store;
}
namespace argus::bus {
class EventBus;
}
namespace argus::metrics {
class Registry;
}

namespace argus::alerts {

struct MqttBridgeOptions {
  MqttConfig config;
  std::string sw_version;  // for Home Assistant device info
  const Clock* clock = &system_clock();
  metrics::Registry* metrics = nullptr;          // optional
  std::size_t bus_queue = 4096;                  // the bridge's bus subscription capacity
  std::int64_t event_update_interval_ms = 1000;  // at most one "update" per object per interval
  std::int64_t reconnect_initial_ms = 500;
  std::int64_t stop_grace_ms = 3000;  // how long stop() tries to deliver what is queued
};

struct MqttBridgeStats {
  bool connected = false;
  std::size_t backlog = 0;       // messages the broker has not acknowledged yet (queued or in flight)
  std::uint64_t published = 0;   // acknowledged by the broker (QoS 1) or written (QoS 0)
  std::uint64_t dropped = 0;     // lost to a full backlog or a full bus queue
  std::uint64_t reconnects = 0;  // connections made after the first
};

class MqttBridge {
 public:
  // Checks the options (URL, TLS files, password file) and builds the client; does not
  // connect. InvalidArgument with a message naming the mqtt.* key at fault.
  static Result<std::unique_ptr<MqttBridge>> create(const MqttBridgeOptions& options, Store* store, bus::EventBus* bus);
  ~MqttBridge();  // stop()
  MqttBridge(const MqttBridge&) = delete;
  MqttBridge& operator=(const MqttBridge&) = delete;

  // Subscribes to the bus, reads the cameras from the store and starts the bridge thread,
  // which connects in the background (an unreachable broker is not an error here).
  Status start();
  // Publishes what the bus still holds and the backlog (for up to stop_grace_ms while
  // connected), then "offline" on P/available, disconnects and joins the thread. Call it
  // after the publishers stopped and before the bus closes. Idempotent.
  void stop();

  MqttBridgeStats stats() const;

  struct State;

 private:
  explicit MqttBridge(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

// The MQTT topic level for a name: '/', '+', '#' and control characters become '_'.
std::string mqtt_topic_level(const std::string& name);

}  // namespace argus::alerts
