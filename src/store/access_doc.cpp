#include "store/access_doc.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

namespace argus::store_internal {
namespace {

using nlohmann::json;

bool valid_utf8(std::string_view text) {
  try {
    (void)json(std::string(text)).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

// InvalidArgument "<what>: <field> is empty" / "is not valid UTF-8" for the first bad field.
Status check_text(std::string_view what, std::string_view field, const std::string& text, bool required) {
  if (required && text.empty())
    return Status::invalid_argument(std::string(what) + ": " + std::string(field) + " is empty");
  if (!valid_utf8(text)) {
    return Status::invalid_argument(std::string(what) + ": " + std::string(field) + " is not valid UTF-8");
  }
  return Status::ok_status();
}

Status check_list(std::string_view what, std::string_view field, const std::optional<std::vector<std::string>>& list) {
  if (!list) return Status::ok_status();
  for (const std::string& item : *list) {
    ARGUS_RETURN_IF_ERROR(check_text(what, field, item, true));
  }
  return Status::ok_status();
}

}  // namespace

std::optional<std::string> encode_string_list(const std::optional<std::vector<std::string>>& list) {
  if (!list) return std::nullopt;
  return json(*list).dump();
}

Result<std::vector<std::string>> decode_string_list(const std::string& text, std::string_view what) {
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_array()) return Status::corruption(std::string(what) + " is not a JSON array");
  std::vector<std::string> out;
  out.reserve(doc.size());
  for (const json& item : doc) {
    if (!item.is_string()) return Status::corruption(std::string(what) + " holds a non-string item");
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<std::string> normalize_json_object(const std::string& text, std::string_view what) {
  if (text.empty()) return std::string("{}");
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) return Status::invalid_argument(std::string(what) + " is not a JSON object");
  return doc.dump();
}

Status validate_user(const UserRecord& user, bool require_username) {
  const std::string what = valid_utf8(user.id) && !user.id.empty() ? "user '" + user.id + "'" : "user";
  ARGUS_RETURN_IF_ERROR(check_text(what, "id", user.id, true));
  ARGUS_RETURN_IF_ERROR(check_text(what, "username", user.username, require_username));
  ARGUS_RETURN_IF_ERROR(check_text(what, "display_name", user.display_name, false));
  ARGUS_RETURN_IF_ERROR(check_text(what, "role", user.role, true));
  // The hash is never quoted in a message; only its presence and encoding are checked.
  if (user.password_hash.empty()) return Status::invalid_argument(what + ": password_hash is empty");
  if (!valid_utf8(user.password_hash)) return Status::invalid_argument(what + ": password_hash is not valid UTF-8");
  ARGUS_RETURN_IF_ERROR(check_list(what, "cameras", user.cameras));
  return normalize_json_object(user.settings, what + ": settings").status();
}

Status validate_refresh_token(const RefreshTokenRecord& token) {
  const std::string what = "refresh token";
  ARGUS_RETURN_IF_ERROR(check_text(what, "id", token.id, true));
  ARGUS_RETURN_IF_ERROR(check_text(what, "token_hash", token.token_hash, true));
  ARGUS_RETURN_IF_ERROR(check_text(what, "user_id", token.user_id, true));
  ARGUS_RETURN_IF_ERROR(check_text(what, "family_id", token.family_id, true));
  ARGUS_RETURN_IF_ERROR(check_text(what, "ip", token.ip, false));
  ARGUS_RETURN_IF_ERROR(check_text(what, "user_agent", token.user_agent, false));
  if (token.expires_at <= 0) return Status::invalid_argument(what + ": expires_at is not set");
  return Status::ok_status();
}

Status validate_api_key(const ApiKeyRecord& key) {
  const std::string what = valid_utf8(key.id) && !key.id.empty() ? "API key '" + key.id + "'" : "API key";
  ARGUS_RETURN_IF_ERROR(check_text(what, "id", key.id, true));
  ARGUS_RETURN_IF_ERROR(check_text(what, "user_id", key.user_id, true));
  ARGUS_RETURN_IF_ERROR(check_text(what, "name", key.name, true));
  ARGUS_RETURN_IF_ERROR(check_text(what, "secret_hash", key.secret_hash, true));
  ARGUS_RETURN_IF_ERROR(check_list(what, "permissions", key.permissions));
  return check_list(what, "cameras", key.cameras);
}

Status validate_audit(const AuditRecord& record) {
  const std::string what = "audit record";
  ARGUS_RETURN_IF_ERROR(check_text(what, "action", record.action, true));
  ARGUS_RETURN_IF_ERROR(check_text(what, "outcome", record.outcome, true));
  for (const auto& [field, text] : {std::pair<const char*, const std::string*>{"actor", &record.actor},
                                    {"actor_kind", &record.actor_kind},
                                    {"ip", &record.ip},
                                    {"request_id", &record.request_id},
                                    {"target", &record.target}}) {
    ARGUS_RETURN_IF_ERROR(check_text(what, field, *text, false));
  }
  return normalize_json_object(record.details, what + ": details").status();
}

std::string audit_page_key(std::int64_t id) { return std::to_string(id); }

Result<std::int64_t> parse_audit_page_key(const std::string& key) {
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
  if (key.empty() || ec != std::errc() || end != key.data() + key.size() || id <= 0) {
    return Status::invalid_argument(
        "the paging key is not one this store handed out: start from the first page or pass "
        "the previous page's next key unchanged");
  }
  return id;
}

}  // namespace argus::store_internal
