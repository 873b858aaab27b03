// How access-control records (users, refresh tokens, API keys, audit lines) are checked
// and encoded, independent of SQL. Shared by every Store backend, so that they accept the
// same input and hand out the same paging keys.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/records.h"

namespace argus::store_internal {

// A list of strings as a JSON array (`["a","b"]`); nullopt stays nullopt (SQL NULL).
std::optional<std::string> encode_string_list(const std::optional<std::vector<std::string>>& list);
// Corruption naming `what` if `text` is not a JSON array of strings.
Result<std::vector<std::string>> decode_string_list(const std::string& text, std::string_view what);

// `text` as a compact JSON object ("" = "{}"). InvalidArgument naming `what` otherwise.
Result<std::string> normalize_json_object(const std::string& text, std::string_view what);

// InvalidArgument naming the record and the problem: an empty required field or text that
// is not valid UTF-8. A user's settings must be a JSON object; its username may be empty
// only when `require_username` is false (an update, which never writes it).
Status validate_user(const UserRecord& user, bool require_username);
Status validate_refresh_token(const RefreshTokenRecord& token);
Status validate_api_key(const ApiKeyRecord& key);
// Also: details must be a JSON object.
Status validate_audit(const AuditRecord& record);

// Audit lines page newest first by id; the key is the decimal id.
std::string audit_page_key(std::int64_t id);
// InvalidArgument if `key` is not a key made by audit_page_key.
Result<std::int64_t> parse_audit_page_key(const std::string& key);

}  // namespace argus::store_internal
