// Notification channels: where notifications go (a webhook, a mailbox, an MQTT topic), their
// validation, and their JSON form in the API.
//
// API form: {"id", "name", "type", "enabled", "config": {...}, "created_at", "updated_at",
// "version"}. `config` by type:
//   webhook: url (http/https), secret (write-only), timeout_seconds (1..60, default 10),
//            headers (object of string values; not Content-Type, X-Argus-*, Host,
//            Content-Length), ca_pem
//   email:   smtp_url (smtp:// or smtps://, host[:port]), from, to (1..20 addresses),
//            username, password (write-only), starttls (default true), timeout_seconds,
//            ca_pem
//   ca_pem: PEM certificates (up to 64 KiB) that verify the server's TLS certificate
//           instead of the system's CAs, for a private CA or a self-signed server.
//   mqtt:    url (mqtt://host[:port]), topic (no wildcards), qos (0..2, default 1),
//            retain (default false), username, password (write-only), timeout_seconds
// Secrets are stored but never shown: the API shows "secret_set"/"password_set" instead.
// A PATCH leaves a secret alone when it is absent and clears it when it is null.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "core/validation.h"
#include "store/store.h"

namespace argus::alerts {

enum class ChannelType { kWebhook, kEmail, kMqtt };

std::string_view channel_type_name(ChannelType t);
std::optional<ChannelType> parse_channel_type(std::string_view name);

struct Channel {
  std::string id;
  std::string name;
  ChannelType type = ChannelType::kWebhook;
  bool enabled = true;
  nlohmann::json config = nlohmann::json::object();  // validated and normalized, secrets included
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  std::int64_t version = 0;

  // The delivery timeout of this channel in milliseconds (config.timeout_seconds).
  std::int64_t timeout_ms() const;
};

// Builds a channel from a POST body. Field errors (JSON Pointers into the body) when
// invalid; `id` may be absent (then one is generated).
Result<Channel> channel_from_json(const nlohmann::json& body, FieldErrors& errors);

// Applies a PATCH body (name, enabled, config members; type and id cannot change) to
// `channel`. Members of `config` replace the stored ones; a secret absent is kept, null
// clears it. Field errors when the result is invalid.
bool apply_channel_patch(Channel& channel, const nlohmann::json& patch, FieldErrors& errors);

// Checks and normalizes (fills defaults) a type's config in place; errors are reported
// under `pointer` ("/config").
void validate_channel_config(ChannelType type, nlohmann::json& config, const std::string& pointer, FieldErrors& errors);

// The API form, secrets redacted.
nlohmann::json channel_to_json(const Channel& channel);

// Store conversions. from_record: Corruption if the stored type or config is unreadable.
NotificationChannelRecord channel_to_record(const Channel& channel);
Result<Channel> channel_from_record(const NotificationChannelRecord& record);

}  // namespace argus::alerts
