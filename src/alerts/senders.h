// Senders: one delivery attempt of a notification over a channel (webhook, email, MQTT).
//
// The delivery service (alerts/delivery.h) decides when to try and what to do with the
// outcome; a Sender only tries once, within the channel's timeout, and says whether a
// retry may help.
//
//  - webhook: JSON POST of {"kind","channel","time","data"} with Content-Type
//    application/json, `X-Argus-Delivery: <delivery id>` and, when the channel has a secret,
//    `X-Argus-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>`; the channel's
//    own headers too. 2xx delivered; 4xx other than 408 and 429 permanent; anything else
//    (5xx, 408, 429, timeouts, connection errors) retry. Redirects are not followed.
//  - email: one plain-text mail through libcurl's SMTP (smtps:// is TLS from the start;
//    smtp:// with starttls requires STARTTLS). Login and recipient refusals (5xx SMTP
//    replies) are permanent; the rest retry.
//  - mqtt: a short-lived libmosquitto connection per delivery: connect, publish the same
//    JSON document as the webhook with the channel's QoS and retain flag, wait for the
//    broker's acknowledgement (QoS 1/2), disconnect. Refused credentials are permanent.
//
// Every destination host is checked with a UrlGuard (security.webhook_urls and the
// allow/deny lists) at send time and connected to at exactly the vetted addresses.
//
// Threading: a Sender is used by several delivery workers at once; send() is thread-safe.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "alerts/channels.h"
#include "alerts/notification.h"
#include "core/status.h"
#include "core/url_guard.h"

namespace argus::alerts {

struct SendOutcome {
  enum class Kind { kDelivered, kRetry, kPermanent };
  Kind kind = Kind::kRetry;
  std::string error;  // "" when delivered

  static SendOutcome delivered() { return {Kind::kDelivered, ""}; }
  static SendOutcome retry(std::string e) { return {Kind::kRetry, std::move(e)}; }
  static SendOutcome permanent(std::string e) { return {Kind::kPermanent, std::move(e)}; }
};

// The document every channel sends: {"kind","channel","time","data"} (time as RFC 3339).
nlohmann::json notification_document(const Notification& n);

// Lower-case hex of HMAC-SHA256(key, data) (OpenSSL).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

class Sender {
 public:
  virtual ~Sender() = default;
  // One attempt of `n` over `channel`, bounded by the channel's timeout.
  virtual SendOutcome send(const Channel& channel, const std::string& delivery_id, const Notification& n) = 0;
  // Makes every attempt in progress, and every later one, end within about a second with
  // a retry outcome ("cancelled"). Used once, by a stopping delivery service. Thread-safe.
  virtual void cancel() = 0;
};

// The real senders, dispatching by channel type. Every destination is vetted against
// `policy` (its schemes are replaced by each type's own). InvalidArgument if the policy's
// allow or deny lists do not parse.
Result<std::unique_ptr<Sender>> make_sender(const UrlGuardPolicy& policy);

}  // namespace argus::alerts
