#include "alerts/channels.h"

#include <algorithm>
#include <cctype>

#include "core/ids.h"
#include "core/url_guard.h"

namespace argus::alerts {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxName = 200;
constexpr std::size_t kMaxText = 2048;
constexpr std::size_t kMaxPem = 64 * 1024;
constexpr std::size_t kMaxRecipients = 20;
constexpr std::size_t kMaxHeaders = 20;

// Write-only members of each type.
bool is_secret(ChannelType type, std::string_view key) {
  return type == ChannelType::kWebhook ? key == "secret" : key == "password";
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// A plain mailbox: local@domain, no spaces, angle brackets or control characters.
bool is_mailbox(std::string_view s) {
  if (s.empty() || s.size() > 254 || has_control(s)) return false;
  auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size() || s.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return c == ' ' || c == '<' || c == '>' || c == ',' || c == ';'; });
}

class Checker {
 public:
  Checker(json& config, std::string pointer, FieldErrors& errors)
      : config_(config), pointer_(std::move(pointer)), errors_(errors) {}

  void error(const std::string& key, std::string detail) {
    errors_.push_back({pointer_ + "/" + json_pointer_escape(key), std::move(detail)});
  }

  // A string member; `required` reports it missing. Returns the value ("" when absent).
  std::string text(const std::string& key, bool required, std::size_t max = kMaxText) {
    auto it = config_.find(key);
    if (it == config_.end() || it->is_null()) {
      if (required) error(key, "is required");
      config_.erase(key);
      return "";
    }
    if (!it->is_string()) {
      error(key, "must be a string");
      return "";
    }
    const std::string& v = it->get_ref<const std::string&>();
    if (required && v.empty()) error(key, "must not be empty");
    if (v.size() > max) error(key, "must be at most " + std::to_string(max) + " characters");
    if (has_control(v)) error(key, "must not contain control characters");
    return v;
  }

  // PEM certificates: printable ASCII lines, at least one certificate block.
  void pem(const std::string& key) {
    auto it = config_.find(key);
    if (it == config_.end() || it->is_null()) {
      config_.erase(key);
      return;
    }
    if (!it->is_string()) return error(key, "must be a string of PEM certificates");
    const std::string& v = it->get_ref<const std::string&>();
    if (v.size() > kMaxPem) return error(key, "must be at most " + std::to_string(kMaxPem) + " characters");
    for (char ch : v) {
      if (ch != '\n' && ch != '\r' && (ch < 0x20 || ch > 0x7e)) {
        return error(key, "must be PEM text (printable ASCII lines)");
      }
    }
    if (v.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      error(key, "must contain at least one -----BEGIN CERTIFICATE----- block");
    }
  }

  void integer(const std::string& key, std::int64_t lo, std::int64_t hi, std::int64_t dflt) {
    auto it = config_.find(key);
    if (it == config_.end() || it->is_null()) {
      config_[key] = dflt;
      return;
    }
    if (!it->is_number_integer() || it->get<std::int64_t>() < lo || it->get<std::int64_t>() > hi) {
      error(key, "must be an integer " + std::to_string(lo) + ".." + std::to_string(hi));
    }
  }

  void boolean(const std::string& key, bool dflt) {
    auto it = config_.find(key);
    if (it == config_.end() || it->is_null()) {
      config_[key] = dflt;
      return;
    }
    if (!it->is_boolean()) error(key, "must be true or false");
  }

  void url(const std::string& key, const std::vector<std::string>& schemes) {
    std::string v = text(key, true);
    if (v.empty()) return;
    auto parsed = parse_guarded_url(v, schemes, /*allow_credentials=*/false);
    if (!parsed.ok()) {
      error(key, parsed.status().message());
      return;
    }
  }

  void only(std::initializer_list<std::string_view> known) {
    for (const auto& [k, v] : config_.items()) {
      if (std::find(known.begin(), known.end(), k) == known.end()) {
        std::string list;
        for (auto name : known) list += (list.empty() ? "" : ", ") + std::string(name);
        error(k, "unknown member; allowed: " + list);
      }
    }
  }

 private:
  json& config_;
  std::string pointer_;
  FieldErrors& errors_;
};

void check_headers(json& config, const std::string& pointer, FieldErrors& errors) {
  auto it = config.find("headers");
  if (it == config.end() || it->is_null()) {
    config["headers"] = json::object();
    return;
  }
  const std::string p = pointer + "/headers";
  if (!it->is_object()) {
    errors.push_back({p, "must be an object of header names to string values"});
    return;
  }
  if (it->size() > kMaxHeaders) errors.push_back({p, "at most " + std::to_string(kMaxHeaders) + " headers"});
  for (const auto& [name, value] : it->items()) {
    const std::string hp = p + "/" + json_pointer_escape(name);
    bool token = !name.empty() && name.size() <= 100 && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
    if (!token) {
      errors.push_back({hp, "a header name is letters, digits, '-' and '_'"});
      continue;
    }
    std::string l = lower(name);
    if (l == "content-type" || l == "content-length" || l == "host" || l == "transfer-encoding" ||
        l.rfind("x-argus-", 0) == 0) {
      errors.push_back({hp, "is set by Argus and cannot be overridden"});
    }
    if (!value.is_string() || value.get_ref<const std::string&>().size() > kMaxText ||
        has_control(value.get_ref<const std::string&>())) {
      errors.push_back({hp, "must be a string without control characters"});
    }
  }
}

void check_recipients(json& config, const std::string& pointer, FieldErrors& errors) {
  auto it = config.find("to");
  const std::string p = pointer + "/to";
  if (it == config.end() || it->is_null()) {
    errors.push_back({p, "is required: a list of 1.." + std::to_string(kMaxRecipients) + " addresses"});
    return;
  }
  if (it->is_string()) *it = json::array({*it});
  if (!it->is_array() || it->empty() || it->size() > kMaxRecipients) {
    errors.push_back({p, "must be a list of 1.." + std::to_string(kMaxRecipients) + " addresses"});
    return;
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& a = (*it)[i];
    if (!a.is_string() || !is_mailbox(a.get_ref<const std::string&>())) {
      errors.push_back({p + "/" + std::to_string(i), "must be an address like ops@example.com"});
    }
  }
}

}  // namespace

std::string_view channel_type_name(ChannelType t) {
  switch (t) {
    case ChannelType::kWebhook:
      return "webhook";
    case ChannelType::kEmail:
      return "email";
    case ChannelType::kMqtt:
      return "mqtt";
  }
  return "webhook";
}

std::optional<ChannelType> parse_channel_type(std::string_view name) {
  if (name == "webhook") return ChannelType::kWebhook;
  if (name == "email") return ChannelType::kEmail;
  if (name == "mqtt") return ChannelType::kMqtt;
  return std::nullopt;
}

std::int64_t Channel::timeout_ms() const { return config.value("timeout_seconds", std::int64_t{10}) * 1000; }

void validate_channel_config(ChannelType type, json& config, const std::string& pointer, FieldErrors& errors) {
  if (!config.is_object()) {
    errors.push_back({pointer, "must be an object"});
    return;
  }
  Checker c(config, pointer, errors);
  c.integer("timeout_seconds", 1, 60, 10);
  switch (type) {
    case ChannelType::kWebhook:
      c.only({"url", "secret", "timeout_seconds", "headers", "ca_pem"});
      c.url("url", {"http", "https"});
      c.pem("ca_pem");
      c.text("secret", false, 512);
      check_headers(config, pointer, errors);
      break;
    case ChannelType::kEmail: {
      c.only({"smtp_url", "from", "to", "username", "password", "starttls", "timeout_seconds", "ca_pem"});
      c.url("smtp_url", {"smtp", "smtps"});
      c.pem("ca_pem");
      std::string from = c.text("from", true, 254);
      if (!from.empty() && !is_mailbox(from)) c.error("from", "must be an address like argus@example.com");
      check_recipients(config, pointer, errors);
      c.text("username", false, 256);
      c.text("password", false, 512);
      c.boolean("starttls", true);
      break;
    }
    case ChannelType::kMqtt: {
      c.only({"url", "topic", "qos", "retain", "username", "password", "timeout_seconds"});
      c.url("url", {"mqtt", "mqtts"});
      std::string topic = c.text("topic", true, 512);
      if (topic.find_first_of("+#") != std::string::npos) c.error("topic", "must not contain the wildcards + or #");
      c.integer("qos", 0, 2, 1);
      c.boolean("retain", false);
      c.text("username", false, 256);
      c.text("password", false, 512);
      break;
    }
  }
}

Result<Channel> channel_from_json(const json& body, FieldErrors& errors) {
  Channel ch;
  if (!body.is_object()) {
    errors.push_back({"", "must be an object {name, type, config}"});
    return Status::invalid_argument("invalid channel");
  }
  if (auto it = body.find("id"); it != body.end() && !it->is_null()) {
    if (!it->is_string() || !is_valid_slug(it->get_ref<const std::string&>())) {
      errors.push_back({"/id", "must be 1..64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit"});
    } else {
      ch.id = it->get<std::string>();
    }
  } else {
    ch.id = "ch-" + random_hex_id(6);
  }
  for (const auto& [k, v] : body.items()) {
    if (k != "id" && k != "name" && k != "type" && k != "enabled" && k != "config") {
      errors.push_back({"/" + json_pointer_escape(k), "unknown member; allowed: id, name, type, enabled, config"});
    }
  }
  auto type = body.find("type");
  std::optional<ChannelType> t;
  if (type == body.end() || !type->is_string() || !(t = parse_channel_type(type->get<std::string>()))) {
    errors.push_back({"/type", "must be one of webhook, email, mqtt"});
  } else {
    ch.type = *t;
  }
  Channel merged = ch;
  json patch = body;
  patch.erase("id");
  patch.erase("type");
  if (!patch.contains("name")) errors.push_back({"/name", "is required"});
  if (!patch.contains("config")) patch["config"] = json::object();
  if (t) {
    apply_channel_patch(merged, patch, errors);
  }
  if (!errors.empty()) return Status::invalid_argument("invalid channel");
  return merged;
}

bool apply_channel_patch(Channel& channel, const json& patch, FieldErrors& errors) {
  const std::size_t before = errors.size();
  if (!patch.is_object()) {
    errors.push_back({"", "must be an object"});
    return false;
  }
  Channel next = channel;
  for (const auto& [k, v] : patch.items()) {
    if (k == "name") {
      if (!v.is_string() || v.get_ref<const std::string&>().empty() ||
          v.get_ref<const std::string&>().size() > kMaxName || has_control(v.get_ref<const std::string&>())) {
        errors.push_back({"/name", "must be a non-empty string of at most 200 characters"});
      } else {
        next.name = v.get<std::string>();
      }
    } else if (k == "enabled") {
      if (!v.is_boolean()) {
        errors.push_back({"/enabled", "must be true or false"});
      } else {
        next.enabled = v.get<bool>();
      }
    } else if (k == "config") {
      if (!v.is_object()) {
        errors.push_back({"/config", "must be an object"});
        continue;
      }
      for (const auto& [ck, cv] : v.items()) {
        if (cv.is_null()) {
          next.config.erase(ck);
        } else {
          next.config[ck] = cv;
        }
      }
    } else if (k == "id" || k == "type") {
      if (!(v.is_string() &&
            v.get<std::string>() == (k == "id" ? channel.id : std::string(channel_type_name(channel.type))))) {
        errors.push_back({"/" + k, "cannot be changed; create another channel"});
      }
    } else if (k == "created_at" || k == "updated_at" || k == "version") {
      // Read-only members a client may send back unchanged; ignored.
    } else {
      errors.push_back({"/" + json_pointer_escape(k), "unknown member; allowed: name, enabled, config"});
    }
  }
  // Redacted markers a client may send back from a GET are not settings.
  next.config.erase("secret_set");
  next.config.erase("password_set");
  validate_channel_config(next.type, next.config, "/config", errors);
  if (errors.size() != before) return false;
  channel = std::move(next);
  return true;
}

json channel_to_json(const Channel& channel) {
  json config = json::object();
  for (const auto& [k, v] : channel.config.items()) {
    if (is_secret(channel.type, k)) continue;
    config[k] = v;
  }
  if (channel.type == ChannelType::kWebhook) {
    config["secret_set"] = channel.config.contains("secret") && !channel.config["secret"].get<std::string>().empty();
  } else {
    config["password_set"] =
        channel.config.contains("password") && !channel.config["password"].get<std::string>().empty();
  }
  return {{"id", channel.id},
          {"name", channel.name},
          {"type", channel_type_name(channel.type)},
          {"enabled", channel.enabled},
          {"config", std::move(config)},
          {"created_at", format_rfc3339(channel.created_at)},
          {"updated_at", format_rfc3339(channel.updated_at)},
          {"version", channel.version}};
}

NotificationChannelRecord channel_to_record(const Channel& channel) {
  NotificationChannelRecord r;
  r.id = channel.id;
  r.name = channel.name;
  r.type = std::string(channel_type_name(channel.type));
  r.enabled = channel.enabled;
  r.config = channel.config.dump();
  r.created_at = channel.created_at;
  r.updated_at = channel.updated_at;
  r.version = channel.version;
  return r;
}

Result<Channel> channel_from_record(const NotificationChannelRecord& record) {
  Channel c;
  c.id = record.id;
  c.name = record.name;
  auto t = parse_channel_type(record.type);
  if (!t) return Status::corruption("channel '" + record.id + "' has an unknown type '" + record.type + "'");
  c.type = *t;
  c.enabled = record.enabled;
  c.config = json::parse(record.config, nullptr, false);
  if (c.config.is_discarded() || !c.config.is_object()) {
    return Status::corruption("channel '" + record.id + "' has an unreadable config");
  }
  c.created_at = record.created_at;
  c.updated_at = record.updated_at;
  c.version = record.version;
  return c;
}

}  // namespace argus::alerts
