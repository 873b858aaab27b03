#include "auth/auth_service.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <system_error>
#include <utility>

#include "auth/crypto.h"
#include "auth/login_throttle.h"
#include "core/ids.h"
#include "core/log.h"
#include "metrics/metrics.h"

namespace argus::auth {
namespace {

using nlohmann::json;

constexpr std::string_view kRefreshPrefix = "argr_";
constexpr std::string_view kApiKeyPrefix = "argus_";
constexpr std::string_view kTicketPrefix = "argt_";
constexpr std::size_t kSecretBytes = 32;    // 256 bits
constexpr std::size_t kSecretChars = 43;    // base64url of 32 bytes, no padding
constexpr std::size_t kApiKeyIdChars = 16;  // hex of 8 bytes
constexpr std::string_view kAdminUsername = "admin";
constexpr std::string_view kInitialPasswordFile = "initial-admin-password";
constexpr std::size_t kMaxDisplayName = 128;
constexpr std::size_t kMaxKeyName = 100;
constexpr std::size_t kMaxClientText = 256;  // stored ip / user agent
constexpr int kUpdateAttempts = 3;

// The one message for every failed sign-in, whatever the reason.
constexpr std::string_view kBadCredentials = "invalid username or password";
// login_retry_after_s() reads the number back from this shape.
constexpr std::string_view kRetryAfterPrefix = "too many failed sign-in attempts; retry after ";
constexpr std::string_view kRetryAfterSuffix = " seconds";

Status unauthenticated(std::string_view reason) { return Status::unauthenticated(std::string(reason)); }

// A store failure on a credential path: the client did nothing wrong, so never 401/429.
Status store_failure(const Status& s, std::string_view what) {
  if (s.code() == StatusCode::kResourceExhausted) {
    return Status::unavailable(std::string(what) + ": the server is busy; retry shortly");
  }
  return s.with_context(what);
}

bool is_base64url_text(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// ASCII lowercase; other bytes unchanged (they fail check_username anyway).
std::string normalize_username(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Client-supplied text for storage: at most kMaxClientText bytes of printable ASCII.
std::string client_text(std::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), kMaxClientText));
  for (char c : text.substr(0, kMaxClientText)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

// users.tokens_valid_after (ms) is the instant of the last cut-off: refresh tokens
// created before it are void. Access tokens carry iat in whole seconds, so one issued in
// the cut-off's own second cannot be placed before or after it: those are void too, and
// tokens issued after a cut-off carry an iat of at least the next second.
std::int64_t first_valid_iat(UnixMillis tokens_valid_after) {
  return tokens_valid_after > 0 ? tokens_valid_after / 1000 + 1 : 0;
}

Result<std::vector<std::string>> clean_camera_list(const std::vector<std::string>& cameras) {
  std::vector<std::string> out;
  for (const std::string& id : cameras) {
    if (!is_valid_slug(id)) {
      return Status::invalid_argument("camera id '" + id + "' is not valid (1-64 of a-z, 0-9, '-', '_')");
    }
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return out;
}

Result<std::optional<std::vector<std::string>>> clean_cameras(const std::optional<std::vector<std::string>>& cameras) {
  if (!cameras) return std::optional<std::vector<std::string>>();
  ARGUS_ASSIGN_OR_RETURN(std::vector<std::string> list, clean_camera_list(*cameras));
  return std::optional<std::vector<std::string>>(std::move(list));
}

// Counts UTF-8 code points (continuation bytes are not counted).
std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

Status check_display_name(const std::string& name) {
  if (utf8_length(name) > kMaxDisplayName) {
    return Status::invalid_argument("display name is longer than " + std::to_string(kMaxDisplayName) + " characters");
  }
  return Status::ok_status();
}

Result<std::string> settings_text(const json& settings) {
  if (!settings.is_object()) return Status::invalid_argument("settings must be a JSON object");
  try {
    return settings.dump();
  } catch (const json::exception&) {
    return Status::invalid_argument("settings hold text that is not valid UTF-8");
  }
}

Result<User> to_user(const UserRecord& r) {
  std::optional<Role> role = parse_role(r.role);
  if (!role) return Status::corruption("user '" + r.id + "' has unknown role '" + r.role + "'");
  User u;
  u.id = r.id;
  u.username = r.username;
  u.display_name = r.display_name;
  u.role = *role;
  u.cameras = r.cameras;
  u.disabled = r.disabled;
  u.settings = json::parse(r.settings.empty() ? "{}" : r.settings, nullptr, false);
  if (!u.settings.is_object()) return Status::corruption("user '" + r.id + "' has settings that are not an object");
  u.created_at = r.created_at;
  u.updated_at = r.updated_at;
  u.password_changed_at = r.password_changed_at;
  u.last_login_at = r.last_login_at;
  u.version = r.version;
  return u;
}

// Permission names from the store; names this build does not know are ignored (a newer
// Argus may have written them), which can only narrow a key.
PermissionSet lenient_permissions(const std::vector<std::string>& names) {
  PermissionSet out;
  for (const std::string& n : names) {
    if (std::optional<Permission> p = parse_permission(n)) out.add(*p);
  }
  return out;
}

ApiKeyInfo to_key_info(const ApiKeyRecord& r) {
  ApiKeyInfo k;
  k.id = r.id;
  k.user_id = r.user_id;
  k.name = r.name;
  k.permissions = lenient_permissions(r.permissions);
  k.cameras = r.cameras;
  k.created_at = r.created_at;
  k.expires_at = r.expires_at;
  k.revoked_at = r.revoked_at;
  k.last_used_at = r.last_used_at;
  return k;
}

// 20 characters from an alphabet without look-alikes (0/O, 1/l/I): about 115 bits.
std::string generate_password() {
  static constexpr std::string_view kAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  std::string out;
  for (int i = 0; i < 20; ++i) {
    out.push_back(kAlphabet[internal::random_below(static_cast<std::uint32_t>(kAlphabet.size()))]);
  }
  return out;
}

}  // namespace

std::optional<std::int64_t> login_retry_after_s(const Status& status) {
  if (status.code() != StatusCode::kResourceExhausted) return std::nullopt;
  std::string_view m = status.message();
  if (m.rfind(kRetryAfterPrefix, 0) != 0) return std::nullopt;
  m.remove_prefix(kRetryAfterPrefix.size());
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(m.data(), m.data() + m.size(), seconds);
  if (ec != std::errc() ||
      std::string_view(end, static_cast<std::size_t>(m.data() + m.size() - end)) != kRetryAfterSuffix) {
    return std::nullopt;
  }
  return seconds;
}

Status check_username(std::string_view username) {
  if (username.size() < 3 || username.size() > 64) {
    return Status::invalid_argument("a username has 3 to 64 characters");
  }
  for (char c : username) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return Status::invalid_argument("a username may hold only a-z, 0-9, '_', '.' and '-'");
  }
  return Status::ok_status();
}

AuthService::AuthService(Store* store, const Clock* clock, SigningKeys* keys, AuthOptions options)
    : store_(store),
      clock_(clock != nullptr ? clock : &system_clock()),
      keys_(keys),
      options_(std::move(options)),
      // At least a second: a token issued just after a cut-off carries the next second as iat.
      jwt_options_{options_.issuer, options_.audience, std::max<std::int64_t>(1, options_.leeway_s)},
      throttle_(std::make_unique<internal::LoginThrottle>(internal::LoginThrottleOptions{
          .free_failures = std::max(1, options_.login_free_failures),
          .base_ms = std::max<std::int64_t>(1, options_.login_backoff_base_ms),
          .max_ms = std::max<std::int64_t>(1, options_.login_backoff_max_ms),
          .forget_after_ms = std::max<std::int64_t>(24LL * 3600 * 1000, options_.login_backoff_max_ms),
          .max_keys = std::max<std::size_t>(1, options_.login_max_tracked)})),
      hash_slots_(std::clamp(options_.max_concurrent_hashes, 1, 1024)) {
  (void)internal::init_sodium();  // reported by the first operation that needs it
  if (metrics::Registry* registry = options_.metrics; registry != nullptr) {
    const std::string help = "Sign-in attempts by outcome.";
    logins_ok_ = &registry->counter("argus_auth_logins_total", help, {{"outcome", "ok"}});
    logins_failed_ = &registry->counter("argus_auth_logins_total", help, {{"outcome", "failed"}});
    logins_throttled_ = &registry->counter("argus_auth_logins_total", help, {{"outcome", "throttled"}});
    refresh_reuse_ = &registry->counter("argus_auth_refresh_reuse_total",
                                        "Refresh tokens presented again after use (their sign-in was revoked).");
  }
}

AuthService::~AuthService() {
  std::lock_guard lock(tickets_mu_);
  ticket_index_.clear();
  for (TicketEntry& t : tickets_) internal::wipe(t.ticket);
  tickets_.clear();
}

// ---------------------------------------------------------------------------------------
// Password hashing, bounded

Result<bool> AuthService::verify_limited(std::string_view password, const std::string& hash) {
  if (!hash_slots_.try_acquire_for(std::chrono::milliseconds(options_.hash_wait_ms))) {
    return Status::unavailable("too many sign-ins at once; retry shortly");
  }
  bool ok = verify_password(password, hash);
  hash_slots_.release();
  return ok;
}

void AuthService::burn_limited(std::string_view password) {
  if (!hash_slots_.try_acquire_for(std::chrono::milliseconds(options_.hash_wait_ms))) return;
  burn_equivalent_time(password);
  hash_slots_.release();
}

Result<std::string> AuthService::hash_limited(std::string_view password) {
  if (!hash_slots_.try_acquire_for(std::chrono::milliseconds(options_.hash_wait_ms))) {
    return Status::unavailable("too many password operations at once; retry shortly");
  }
  Result<std::string> hash = hash_password(password, options_.password_hash);
  hash_slots_.release();
  if (!hash.ok() && hash.status().code() == StatusCode::kResourceExhausted) {
    return Status::unavailable(hash.status().message());
  }
  return hash;
}

// ---------------------------------------------------------------------------------------
// Tokens

Result<std::string> AuthService::sign_access(const UserRecord& user, UnixMillis now, std::int64_t& expires_in) {
  AccessTokenClaims claims;
  claims.issuer = options_.issuer;
  claims.audience = options_.audience;
  claims.subject = user.id;
  claims.username = user.username;
  claims.role = user.role;
  claims.token_id = internal::random_hex(16);
  // Never in the cut-off's second (see first_valid_iat), so a token issued right after a
  // password change is accepted.
  claims.issued_at = std::max(now / 1000, first_valid_iat(user.tokens_valid_after));
  claims.not_before = now / 1000;
  claims.expires_at = claims.issued_at + options_.access_ttl_s;
  expires_in = claims.expires_at - now / 1000;
  return sign_access_token(claims, keys_->current());
}

AuthService::IssuedRefresh AuthService::make_refresh(const UserRecord& user, const std::string& family_id,
                                                     UnixMillis now, std::string_view ip, std::string_view user_agent) {
  IssuedRefresh out;
  out.token = std::string(kRefreshPrefix) + internal::random_token(kSecretBytes);
  out.record.id = internal::random_hex(16);
  out.record.token_hash = internal::sha256_hex(out.token);
  out.record.user_id = user.id;
  out.record.family_id = family_id;
  out.record.created_at = now;
  out.record.expires_at = now + options_.refresh_ttl_s * 1000;
  out.record.ip = client_text(ip);
  out.record.user_agent = client_text(user_agent);
  return out;
}

Result<TokenPair> AuthService::start_session(const UserRecord& user, UnixMillis now, std::string_view ip,
                                             std::string_view user_agent) {
  TokenPair pair;
  ARGUS_ASSIGN_OR_RETURN(pair.access_token, sign_access(user, now, pair.expires_in));
  IssuedRefresh refresh = make_refresh(user, internal::random_hex(16), now, ip, user_agent);
  Status stored = store_->create_refresh_token(refresh.record);
  if (!stored.ok()) return store_failure(stored, "start a session");
  pair.refresh_token = std::move(refresh.token);
  return pair;
}

Status AuthService::throttled(std::int64_t wait_ms) const {
  std::int64_t seconds = std::max<std::int64_t>(1, (wait_ms + 999) / 1000);
  return Status::resource_exhausted(std::string(kRetryAfterPrefix) + std::to_string(seconds) +
                                    std::string(kRetryAfterSuffix));
}

// ---------------------------------------------------------------------------------------
// Sessions

Result<TokenPair> AuthService::login(std::string_view username_in, std::string_view password, std::string_view ip,
                                     std::string_view user_agent) {
  const std::string username = normalize_username(username_in);
  const bool valid_name = check_username(username).ok();
  // Throttle key: the name itself when it could be one, else a digest (bounded size).
  const std::string throttle_key = valid_name ? username : "#" + internal::sha256_hex(username);
  // Audit what was typed only when it could be a username (a password typed into the
  // username field must not reach the log).
  const std::string audit_name = valid_name ? username : "(invalid)";
  UnixMillis now = clock_->now_ms();

  if (std::optional<std::int64_t> wait = throttle_->locked_for_ms(throttle_key, now)) {
    if (logins_throttled_ != nullptr) logins_throttled_->inc();
    audit("", "anonymous", std::string(ip), "auth.login", audit_name, "denied", {{"reason", "backoff"}});
    return throttled(*wait);
  }

  std::optional<UserRecord> user;
  if (valid_name) {
    Result<UserRecord> found = store_->get_user_by_username(username);
    if (found.ok()) {
      user = std::move(found).value();
    } else if (found.status().code() != StatusCode::kNotFound) {
      return store_failure(found.status(), "sign in");
    }
  }
  // Over-long passwords are refused without hashing; the length does not depend on the
  // account, so this tells nothing about which names exist.
  const bool plausible = password.size() <= kMaxPasswordLength * 4;
  bool verified = false;
  if (user) {
    if (plausible) {
      ARGUS_ASSIGN_OR_RETURN(verified, verify_limited(password, user->password_hash));
    }
  } else if (plausible) {
    burn_limited(password);
  }
  if (!verified || user->disabled) {
    std::int64_t lock_ms = throttle_->record_failure(throttle_key, now);
    if (logins_failed_ != nullptr) logins_failed_->inc();
    json details = {{"reason", !user ? "unknown_user" : !verified ? "bad_password" : "disabled"}};
    if (lock_ms > 0) details["locked_ms"] = lock_ms;
    audit(user ? user->id : "", user ? "user" : "anonymous", std::string(ip), "auth.login", audit_name, "failed",
          std::move(details));
    return unauthenticated(kBadCredentials);
  }
  throttle_->record_success(throttle_key);

  if (password_needs_rehash(user->password_hash, options_.password_hash)) {
    Result<std::string> rehashed = hash_limited(password);
    if (rehashed.ok()) {
      UserRecord updated = *user;
      updated.password_hash = std::move(rehashed).value();
      Result<UserRecord> saved = store_->update_user(updated, {.expected_version = user->version});
      if (saved.ok()) user = std::move(saved).value();
    }
  }
  if (Status s = store_->record_user_login(user->id, now); !s.ok()) {
    log::warn("could not record a sign-in time", {{"user", user->id}, {"error", s.message()}});
  }
  Result<TokenPair> pair = start_session(*user, now, ip, user_agent);
  if (!pair.ok()) return pair.status();
  if (logins_ok_ != nullptr) logins_ok_->inc();
  audit(user->id, "user", std::string(ip), "auth.login", user->username, "ok", json::object());
  return pair;
}

Result<TokenPair> AuthService::refresh(std::string_view token, std::string_view ip, std::string_view user_agent) {
  if (token.size() != kRefreshPrefix.size() + kSecretChars || token.rfind(kRefreshPrefix, 0) != 0 ||
      !is_base64url_text(token.substr(kRefreshPrefix.size()))) {
    return unauthenticated("invalid refresh token");
  }
  UnixMillis now = clock_->now_ms();
  Result<RefreshTokenRecord> found = store_->get_refresh_token_by_hash(internal::sha256_hex(token));
  if (!found.ok()) {
    if (found.status().code() == StatusCode::kNotFound) return unauthenticated("invalid refresh token");
    return store_failure(found.status(), "refresh a session");
  }
  const RefreshTokenRecord& rec = *found;
  auto reuse = [&]() -> Status {
    Result<std::int64_t> revoked = store_->revoke_refresh_family(rec.family_id, now);
    if (!revoked.ok()) {
      log::error("could not revoke a reused refresh token's sign-in",
                 {{"user", rec.user_id}, {"error", revoked.status().message()}});
    }
    if (refresh_reuse_ != nullptr) refresh_reuse_->inc();
    log::warn("refresh token reused; its sign-in was revoked", {{"user", rec.user_id}});
    audit(rec.user_id, "user", std::string(ip), "auth.refresh_reuse", rec.user_id, "denied",
          {{"family", rec.family_id}});
    return unauthenticated("refresh token was already used; sign in again");
  };
  if (rec.revoked_at != 0) return unauthenticated("refresh token revoked");
  if (rec.used_at != 0) return reuse();
  if (now >= rec.expires_at) return unauthenticated("refresh token expired");

  Result<UserRecord> user = store_->get_user(rec.user_id);
  if (!user.ok()) {
    if (user.status().code() == StatusCode::kNotFound) return unauthenticated("refresh token revoked");
    return store_failure(user.status(), "refresh a session");
  }
  if (user->disabled) return unauthenticated("account disabled");
  if (rec.created_at < user->tokens_valid_after) return unauthenticated("refresh token revoked");

  TokenPair pair;
  ARGUS_ASSIGN_OR_RETURN(pair.access_token, sign_access(*user, now, pair.expires_in));
  IssuedRefresh next = make_refresh(*user, rec.family_id, now, ip, user_agent);
  Result<bool> rotated = store_->rotate_refresh_token(rec.id, now, next.record);
  if (!rotated.ok()) return store_failure(rotated.status(), "refresh a session");
  if (!*rotated) return reuse();  // another call used it between our read and our write
  pair.refresh_token = std::move(next.token);
  return pair;
}

Status AuthService::logout(std::string_view token) {
  if (token.rfind(kRefreshPrefix, 0) != 0 || token.size() != kRefreshPrefix.size() + kSecretChars) {
    return Status::ok_status();
  }
  Result<RefreshTokenRecord> found = store_->get_refresh_token_by_hash(internal::sha256_hex(token));
  if (!found.ok()) {
    if (found.status().code() == StatusCode::kNotFound) return Status::ok_status();
    return store_failure(found.status(), "sign out");
  }
  Result<std::int64_t> revoked = store_->revoke_refresh_family(found->family_id, clock_->now_ms());
  if (!revoked.ok()) return store_failure(revoked.status(), "sign out");
  if (*revoked > 0) audit(found->user_id, "user", "", "auth.logout", found->user_id, "ok", json::object());
  return Status::ok_status();
}

Status AuthService::revoke_sessions(const std::string& user_id) {
  for (int attempt = 0;; ++attempt) {
    ARGUS_ASSIGN_OR_RETURN(UserRecord user, store_->get_user(user_id));
    user.tokens_valid_after = std::max(user.tokens_valid_after, clock_->now_ms());
    Result<UserRecord> saved =
        store_->update_user(user, {.expected_version = user.version, .revoke_refresh_tokens = true});
    if (saved.ok()) return Status::ok_status();
    if (saved.status().code() != StatusCode::kFailedPrecondition || attempt + 1 >= kUpdateAttempts) {
      return saved.status();
    }
  }
}

// ---------------------------------------------------------------------------------------
// Bearer credentials

Result<Principal> AuthService::authenticate_bearer(std::string_view credential) {
  if (credential.empty()) return unauthenticated("credentials missing");
  if (credential.size() > kMaxTokenBytes) return unauthenticated("credentials too large");
  if (credential.rfind(kApiKeyPrefix, 0) == 0) return authenticate_api_key(credential);
  if (credential.rfind(kRefreshPrefix, 0) == 0) return unauthenticated("a refresh token is not an access token");
  return authenticate_access_token(credential);
}

Result<Principal> AuthService::authenticate_access_token(std::string_view token) {
  UnixMillis now = clock_->now_ms();
  ARGUS_ASSIGN_OR_RETURN(AccessTokenClaims claims, verify_access_token(token, *keys_, jwt_options_, now / 1000));
  Result<UserRecord> user = store_->get_user(claims.subject);
  if (!user.ok()) {
    if (user.status().code() == StatusCode::kNotFound) return unauthenticated("access token revoked");
    return store_failure(user.status(), "check an access token");
  }
  if (user->disabled) return unauthenticated("account disabled");
  if (claims.issued_at < first_valid_iat(user->tokens_valid_after)) return unauthenticated("access token revoked");
  std::optional<Role> role = parse_role(user->role);
  if (!role) return Status::corruption("user '" + user->id + "' has unknown role '" + user->role + "'");
  Principal p;
  p.kind = PrincipalKind::user;
  p.user_id = user->id;
  p.username = user->username;
  p.role = *role;
  p.permissions = role_permissions(*role);
  p.cameras = user->cameras;
  return p;
}

Result<Principal> AuthService::authenticate_api_key(std::string_view key) {
  // argus_<16 hex id>_<43 base64url secret>
  const std::size_t expected = kApiKeyPrefix.size() + kApiKeyIdChars + 1 + kSecretChars;
  std::string_view rest = key.substr(kApiKeyPrefix.size());
  if (key.size() != expected || !is_lower_hex(rest.substr(0, kApiKeyIdChars)) || rest[kApiKeyIdChars] != '_' ||
      !is_base64url_text(rest.substr(kApiKeyIdChars + 1))) {
    return unauthenticated("malformed API key");
  }
  std::string id(rest.substr(0, kApiKeyIdChars));
  std::string_view secret = rest.substr(kApiKeyIdChars + 1);
  UnixMillis now = clock_->now_ms();
  Result<ApiKeyRecord> rec = store_->get_api_key(id);
  if (!rec.ok()) {
    if (rec.status().code() == StatusCode::kNotFound) return unauthenticated("invalid API key");
    return store_failure(rec.status(), "check an API key");
  }
  if (!internal::constant_time_equal(internal::sha256_hex(secret), rec->secret_hash)) {
    return unauthenticated("invalid API key");
  }
  if (rec->revoked_at != 0) return unauthenticated("API key revoked");
  if (rec->expires_at != 0 && now >= rec->expires_at) return unauthenticated("API key expired");
  Result<UserRecord> owner = store_->get_user(rec->user_id);
  if (!owner.ok()) {
    if (owner.status().code() == StatusCode::kNotFound) return unauthenticated("API key owner no longer exists");
    return store_failure(owner.status(), "check an API key");
  }
  if (owner->disabled) return unauthenticated("API key owner is disabled");
  std::optional<Role> role = parse_role(owner->role);
  if (!role) return Status::corruption("user '" + owner->id + "' has unknown role '" + owner->role + "'");
  touch_api_key(*rec, now);
  Principal p;
  p.kind = PrincipalKind::api_key;
  p.user_id = owner->id;
  p.username = owner->username;
  p.role = *role;
  p.permissions = lenient_permissions(rec->permissions) & role_permissions(*role);
  p.cameras = intersect_cameras(rec->cameras, owner->cameras);
  p.api_key_id = rec->id;
  return p;
}

void AuthService::touch_api_key(const ApiKeyRecord& key, UnixMillis now) {
  const std::int64_t interval = options_.api_key_touch_interval_ms;
  if (now - key.last_used_at < interval) return;
  {
    std::lock_guard lock(touch_mu_);
    auto it = key_touched_.find(key.id);
    if (it != key_touched_.end() && now - it->second < interval) return;
    // Bounded: the map only saves duplicate writes; forgetting it costs one write per key.
    if (key_touched_.size() >= 10'000) key_touched_.clear();
    key_touched_[key.id] = now;
  }
  if (Status s = store_->touch_api_key(key.id, now); !s.ok()) {
    log::warn("could not record an API key's use", {{"key", key.id}, {"error", s.message()}});
  }
}

// ---------------------------------------------------------------------------------------
// Tickets

Result<Ticket> AuthService::issue_ticket(const Principal& principal) {
  UnixMillis now = clock_->now_ms();
  Ticket out;
  out.ticket = std::string(kTicketPrefix) + internal::random_token(kSecretBytes);
  out.expires_at = now + options_.ticket_ttl_ms;
  std::lock_guard lock(tickets_mu_);
  const std::size_t cap = std::max<std::size_t>(1, options_.max_tickets);
  if (ticket_index_.size() >= cap) {
    // Tickets share one lifetime, so the list (oldest first) is in expiry order.
    while (!tickets_.empty() && (tickets_.front().expires_at <= now || ticket_index_.size() >= cap)) {
      ticket_index_.erase(tickets_.front().ticket);
      internal::wipe(tickets_.front().ticket);
      tickets_.pop_front();
    }
  }
  tickets_.push_back(TicketEntry{out.ticket, principal, out.expires_at});
  ticket_index_.emplace(tickets_.back().ticket, std::prev(tickets_.end()));
  return out;
}

Result<Principal> AuthService::redeem_ticket(std::string_view ticket) {
  UnixMillis now = clock_->now_ms();
  std::lock_guard lock(tickets_mu_);
  auto it = ticket_index_.find(ticket);
  if (it == ticket_index_.end()) return unauthenticated("invalid ticket");
  auto node = it->second;
  ticket_index_.erase(it);
  TicketEntry entry = std::move(*node);
  tickets_.erase(node);
  internal::wipe(entry.ticket);
  if (now >= entry.expires_at) return unauthenticated("ticket expired");
  return std::move(entry.principal);
}

// ---------------------------------------------------------------------------------------
// Users

Result<BootstrapResult> AuthService::bootstrap_admin(const std::filesystem::path& data_dir,
                                                     const std::optional<std::string>& password,
                                                     const std::optional<std::filesystem::path>& password_file) {
  BootstrapResult result;
  ARGUS_ASSIGN_OR_RETURN(std::int64_t users, store_->count_users());
  if (users > 0) return result;

  std::string chosen;
  bool generated = false;
  if (password) {
    chosen = *password;
    if (Status s = check_password_policy(chosen, kAdminUsername); !s.ok()) {
      return s.with_context("initial admin password");
    }
  } else if (password_file) {
    Result<std::string> text = internal::read_small_file(*password_file, 8192);
    if (!text.ok()) return text.status().with_context("read the initial admin password file");
    chosen = std::move(text).value();
    while (!chosen.empty() && (chosen.back() == '\n' || chosen.back() == '\r')) chosen.pop_back();
    if (Status s = check_password_policy(chosen, kAdminUsername); !s.ok()) {
      internal::wipe(chosen);
      return s.with_context("initial admin password in " + password_file->string());
    }
  } else {
    chosen = generate_password();
    generated = true;
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec) return Status::io_error("create the data directory " + data_dir.string() + ": " + ec.message());
    result.password_file = data_dir / kInitialPasswordFile;
    ARGUS_RETURN_IF_ERROR(internal::write_file_atomic(result.password_file, chosen + "\n", 0600, /*replace=*/true)
                              .with_context("write the initial admin password"));
  }

  NewUser admin;
  admin.username = std::string(kAdminUsername);
  admin.password = chosen;
  admin.role = Role::admin;
  admin.display_name = "Administrator";
  Result<User> created = create_user(admin);
  internal::wipe(admin.password);
  if (!created.ok()) {
    if (generated) {
      std::error_code ec;
      std::filesystem::remove(result.password_file, ec);
    }
    internal::wipe(chosen);
    if (created.status().code() == StatusCode::kAlreadyExists) return BootstrapResult{};  // another process won
    return created.status().with_context("create the initial admin user");
  }
  audit("", "system", "", "auth.bootstrap", created->id, "ok",
        {{"username", created->username}, {"password", generated ? "generated" : "given"}});
  result.created = true;
  result.username = created->username;
  if (generated) {
    result.generated_password = std::move(chosen);
  } else {
    internal::wipe(chosen);
    result.password_file.clear();
  }
  return result;
}

Result<User> AuthService::create_user(const NewUser& input) {
  ARGUS_RETURN_IF_ERROR(check_username(input.username));
  ARGUS_RETURN_IF_ERROR(check_password_policy(input.password, input.username));
  ARGUS_RETURN_IF_ERROR(check_display_name(input.display_name));
  UserRecord rec;
  ARGUS_ASSIGN_OR_RETURN(rec.cameras, clean_cameras(input.cameras));
  ARGUS_ASSIGN_OR_RETURN(rec.settings, settings_text(input.settings));
  ARGUS_ASSIGN_OR_RETURN(rec.password_hash, hash_limited(input.password));
  rec.id = "usr_" + internal::random_hex(8);
  rec.username = input.username;
  rec.display_name = input.display_name;
  rec.role = std::string(role_name(input.role));
  ARGUS_ASSIGN_OR_RETURN(UserRecord stored, store_->create_user(std::move(rec)));
  return to_user(stored);
}

Result<User> AuthService::get_user(const std::string& id) {
  ARGUS_ASSIGN_OR_RETURN(UserRecord rec, store_->get_user(id));
  return to_user(rec);
}

Result<User> AuthService::get_user_by_username(const std::string& username) {
  ARGUS_ASSIGN_OR_RETURN(UserRecord rec, store_->get_user_by_username(normalize_username(username)));
  return to_user(rec);
}

Result<Page<User>> AuthService::list_users(const PageRequest& page) {
  ARGUS_ASSIGN_OR_RETURN(Page<UserRecord> records, store_->list_users(page));
  Page<User> out;
  out.next_after = records.next_after;
  for (const UserRecord& r : records.items) {
    ARGUS_ASSIGN_OR_RETURN(User u, to_user(r));
    out.items.push_back(std::move(u));
  }
  return out;
}

Result<User> AuthService::update_user(const std::string& id, const UserPatch& patch) {
  if (patch.display_name) ARGUS_RETURN_IF_ERROR(check_display_name(*patch.display_name));
  std::optional<std::optional<std::vector<std::string>>> cameras;
  if (patch.cameras) {
    ARGUS_ASSIGN_OR_RETURN(auto cleaned, clean_cameras(*patch.cameras));
    cameras = std::move(cleaned);
  }
  std::optional<std::string> settings;
  if (patch.settings) {
    ARGUS_ASSIGN_OR_RETURN(settings, settings_text(*patch.settings));
  }
  for (int attempt = 0;; ++attempt) {
    ARGUS_ASSIGN_OR_RETURN(UserRecord rec, store_->get_user(id));
    if (patch.expected_version && *patch.expected_version != rec.version) {
      return Status::failed_precondition("user '" + id + "' was modified (version " + std::to_string(rec.version) +
                                         "); read it again and retry");
    }
    const bool was_admin = rec.role == role_name(Role::admin) && !rec.disabled;
    const bool disabling = patch.disabled.value_or(rec.disabled) && !rec.disabled;
    if (patch.role) rec.role = std::string(role_name(*patch.role));
    if (cameras) rec.cameras = *cameras;
    if (patch.disabled) rec.disabled = *patch.disabled;
    if (patch.display_name) rec.display_name = *patch.display_name;
    if (settings) rec.settings = *settings;
    UserWriteOptions write{.expected_version = rec.version};
    if (was_admin) write.keep_enabled_role = std::string(role_name(Role::admin));
    if (disabling) {
      rec.tokens_valid_after = std::max(rec.tokens_valid_after, clock_->now_ms());
      write.revoke_refresh_tokens = true;
    }
    Result<UserRecord> saved = store_->update_user(rec, write);
    if (saved.ok()) return to_user(*saved);
    if (saved.status().code() != StatusCode::kFailedPrecondition || patch.expected_version ||
        attempt + 1 >= kUpdateAttempts) {
      return saved.status();
    }
    // Either the last-admin guard or a concurrent change: only the latter is retried, on
    // fresh data.
    Result<UserRecord> latest = store_->get_user(id);
    if (!latest.ok() || latest->version == rec.version) return saved.status();
  }
}

Status AuthService::delete_user(const std::string& id) {
  ARGUS_ASSIGN_OR_RETURN(UserRecord rec, store_->get_user(id));
  UserWriteOptions write;
  if (rec.role == role_name(Role::admin)) write.keep_enabled_role = std::string(role_name(Role::admin));
  return store_->delete_user(id, write);
}

Status AuthService::set_password(const std::string& user_id, std::string_view new_password) {
  ARGUS_ASSIGN_OR_RETURN(UserRecord rec, store_->get_user(user_id));
  ARGUS_RETURN_IF_ERROR(check_password_policy(new_password, rec.username));
  ARGUS_ASSIGN_OR_RETURN(std::string hash, hash_limited(new_password));
  for (int attempt = 0;; ++attempt) {
    UnixMillis now = clock_->now_ms();
    rec.password_hash = hash;
    rec.password_changed_at = now;
    rec.tokens_valid_after = std::max(rec.tokens_valid_after, now);
    Result<UserRecord> saved =
        store_->update_user(rec, {.expected_version = rec.version, .revoke_refresh_tokens = true});
    if (saved.ok()) return Status::ok_status();
    if (saved.status().code() != StatusCode::kFailedPrecondition || attempt + 1 >= kUpdateAttempts) {
      return saved.status();
    }
    ARGUS_ASSIGN_OR_RETURN(rec, store_->get_user(user_id));
  }
}

Status AuthService::reset_password(const std::string& id, std::string_view new_password) {
  return set_password(id, new_password);
}

Result<TokenPair> AuthService::change_password(const std::string& user_id, std::string_view current_password,
                                               std::string_view new_password, std::string_view ip,
                                               std::string_view user_agent) {
  Result<UserRecord> user = store_->get_user(user_id);
  if (!user.ok()) return store_failure(user.status(), "change the password");
  UnixMillis now = clock_->now_ms();
  if (std::optional<std::int64_t> wait = throttle_->locked_for_ms(user->username, now)) {
    audit(user->id, "user", std::string(ip), "auth.password_change", user->id, "denied", {{"reason", "backoff"}});
    return throttled(*wait);
  }
  bool verified = false;
  if (current_password.size() <= kMaxPasswordLength * 4) {
    ARGUS_ASSIGN_OR_RETURN(verified, verify_limited(current_password, user->password_hash));
  }
  if (!verified) {
    throttle_->record_failure(user->username, now);
    audit(user->id, "user", std::string(ip), "auth.password_change", user->id, "failed", {{"reason", "bad_password"}});
    return Status::permission_denied("the current password is incorrect");
  }
  throttle_->record_success(user->username);
  if (user->disabled) return unauthenticated("account disabled");
  Status changed = set_password(user_id, new_password);
  if (!changed.ok()) {
    if (changed.code() == StatusCode::kResourceExhausted) return store_failure(changed, "change the password");
    return changed;
  }
  audit(user->id, "user", std::string(ip), "auth.password_change", user->id, "ok", json::object());
  Result<UserRecord> fresh = store_->get_user(user_id);
  if (!fresh.ok()) return store_failure(fresh.status(), "change the password");
  return start_session(*fresh, clock_->now_ms(), ip, user_agent);
}

// ---------------------------------------------------------------------------------------
// API keys

Result<CreatedApiKey> AuthService::create_api_key(const NewApiKey& input) {
  if (input.name.empty() || utf8_length(input.name) > kMaxKeyName) {
    return Status::invalid_argument("an API key name has 1 to " + std::to_string(kMaxKeyName) + " characters");
  }
  if (input.permissions.empty()) return Status::invalid_argument("an API key needs at least one permission");
  UnixMillis now = clock_->now_ms();
  if (input.expires_at != 0 && input.expires_at <= now) {
    return Status::invalid_argument("the API key's expiry is in the past");
  }
  ARGUS_ASSIGN_OR_RETURN(UserRecord owner, store_->get_user(input.owner_user_id));
  if (owner.disabled) return Status::failed_precondition("user '" + owner.username + "' is disabled");
  std::optional<Role> role = parse_role(owner.role);
  if (!role) return Status::corruption("user '" + owner.id + "' has unknown role '" + owner.role + "'");
  PermissionSet allowed = role_permissions(*role);
  if (!input.permissions.is_subset_of(allowed)) {
    PermissionSet extra;
    for (Permission p : input.permissions.list()) {
      if (!allowed.has(p)) extra.add(p);
    }
    return Status::permission_denied("an API key cannot have permissions its owner lacks: " + extra.to_string());
  }
  ARGUS_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> cameras, clean_cameras(input.cameras));
  if (cameras && owner.cameras) {
    for (const std::string& id : *cameras) {
      if (std::find(owner.cameras->begin(), owner.cameras->end(), id) == owner.cameras->end()) {
        return Status::permission_denied("an API key cannot reach camera '" + id + "', which its owner cannot see");
      }
    }
  }

  ApiKeyRecord rec;
  rec.id = internal::random_hex(kApiKeyIdChars / 2);
  std::string secret = internal::random_token(kSecretBytes);
  rec.user_id = owner.id;
  rec.name = input.name;
  rec.secret_hash = internal::sha256_hex(secret);
  rec.permissions = input.permissions.names();
  rec.cameras = std::move(cameras);
  rec.created_at = now;
  rec.expires_at = input.expires_at;
  Status stored = store_->create_api_key(rec);
  if (!stored.ok()) {
    internal::wipe(secret);
    return stored;
  }
  CreatedApiKey out;
  out.info = to_key_info(rec);
  out.key = std::string(kApiKeyPrefix) + rec.id + "_" + secret;
  internal::wipe(secret);
  return out;
}

Result<ApiKeyInfo> AuthService::get_api_key(const std::string& id) {
  ARGUS_ASSIGN_OR_RETURN(ApiKeyRecord rec, store_->get_api_key(id));
  return to_key_info(rec);
}

Result<Page<ApiKeyInfo>> AuthService::list_api_keys(const std::string& owner_user_id, const PageRequest& page) {
  ARGUS_ASSIGN_OR_RETURN(Page<ApiKeyRecord> records, store_->list_api_keys(owner_user_id, page));
  Page<ApiKeyInfo> out;
  out.next_after = records.next_after;
  for (const ApiKeyRecord& r : records.items) out.items.push_back(to_key_info(r));
  return out;
}

Status AuthService::revoke_api_key(const std::string& id, const std::optional<std::string>& owner_user_id) {
  if (owner_user_id) {
    ARGUS_ASSIGN_OR_RETURN(ApiKeyRecord rec, store_->get_api_key(id));
    if (rec.user_id != *owner_user_id) return Status::not_found("API key '" + id + "' does not exist");
  }
  return store_->revoke_api_key(id, clock_->now_ms());
}

// ---------------------------------------------------------------------------------------
// Audit and housekeeping

void AuthService::audit(std::string actor, std::string actor_kind, std::string ip, std::string action,
                        std::string target, std::string outcome, json details) {
  AuditRecord r;
  r.actor = std::move(actor);
  r.actor_kind = std::move(actor_kind);
  r.ip = client_text(ip);
  r.action = std::move(action);
  r.target = std::move(target);
  r.outcome = std::move(outcome);
  r.details = details.is_object() ? details.dump() : "{}";
  if (Status s = record_audit(std::move(r)); !s.ok()) {
    log::error("could not write an audit record", {{"error", s.message()}});
  }
}

Status AuthService::record_audit(AuditRecord record) {
  if (record.request_id.empty()) record.request_id = log::current_request_id();
  return store_->append_audit(std::move(record)).status();
}

Result<Page<AuditRecord>> AuthService::list_audit(const AuditQuery& query) { return store_->list_audit(query); }

Result<std::int64_t> AuthService::purge_expired_refresh_tokens() {
  return store_->delete_refresh_tokens_expired_before(clock_->now_ms());
}

}  // namespace argus::auth
