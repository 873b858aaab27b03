// Notifications: what the alert engine (and a channel's test-send) hands to delivery.
//
// The seam between rules and channels. The alert engine decides *that* something must be
// said and to which channels; a NotificationSink (the delivery service, alerts/delivery.h)
// decides *how*: its own bounded queue, retries with backoff, a circuit breaker per channel
// and the dead-letter queue in the store. enqueue() never blocks the caller, so detection
// and rule evaluation never wait on a slow webhook or mail server.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/status.h"

namespace argus::alerts {

// "alert.firing", "alert.resolved", "test"; is_notification_kind() says which are known.
struct Notification {
  std::string channel_id;
  std::string kind;
  UnixMillis time = 0;     // when it happened (not when it is delivered)
  nlohmann::json payload;  // for alerts: the alert document as GET /api/v1/alerts/{id} shows it
};

bool is_notification_kind(std::string_view kind);

class NotificationSink {
 public:
  virtual ~NotificationSink() = default;
  // Queues `n` for delivery and returns at once. NotFound if the channel does not exist,
  // FailedPrecondition if it is disabled, ResourceExhausted if the queue is full (the
  // notification is then kept as a dead letter, not lost). Thread-safe.
  virtual Status enqueue(Notification n) = 0;
};

}  // namespace argus::alerts
