// AuthService: users, sign-in, sessions (access + refresh tokens), API keys, stream
// tickets and the audit log, on top of a Store.
//
// Credentials:
//  - access token: a JWT (see jwt.h) valid access_ttl_s, sent as "Authorization: Bearer".
//  - refresh token: "argr_" + 43 base64url characters (256 random bits), single use; each
//    refresh() rotates it within its family (one family per sign-in). Presenting a used
//    token again revokes the whole family: whoever holds its newest token is signed out.
//  - API key: "argus_" + 16 hex id + "_" + 43 base64url secret, sent as a bearer token.
//  - ticket: "argt_" + 43 characters, for browser WebSocket/SSE connections that cannot
//    send headers; single use, valid ticket_ttl_ms.
// Secrets are stored only as hashes (argon2id for passwords, SHA-256 for the random
// tokens). Nothing here logs or returns a password, token, key or hash, except the values
// handed to their owner once (TokenPair, CreatedApiKey, Ticket, BootstrapResult).
//
// Status codes, for the HTTP layer:
//  - Unauthenticated (401): bad, expired or revoked credentials; wrong username or
//    password (one message for unknown user, wrong password and disabled account).
//  - ResourceExhausted (429): from login() and change_password() only, while the account
//    is locked by backoff; login_retry_after_s() reads the wait for Retry-After. Store
//    overload is reported as Unavailable by these two, never as ResourceExhausted.
//  - PermissionDenied (403): an API key asking for more than its owner has; a wrong
//    current password in change_password().
//  - InvalidArgument (400/422): input rules (username, password policy, names, ids).
//  - NotFound (404), AlreadyExists (409), FailedPrecondition (409/412: last admin,
//    version mismatch), Unavailable (503: store down or too many password hashes queued).
//
// Authorization (may this principal do X) is the caller's: check Principal::can() and
// can_see_camera(). The service checks only what belongs to credentials themselves (an
// API key's permissions within its owner's).
//
// Threading: every method may be called from any thread. Password hashing runs outside
// any lock, at most max_concurrent_hashes at a time (each uses ~19 MiB); sign-in backoff,
// tickets and API-key use stamps are in memory, bounded, and per process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/jwt.h"
#include "auth/password.h"
#include "auth/permissions.h"
#include "auth/principal.h"
#include "auth/signing_keys.h"
#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"

namespace argus::metrics {
class Counter;
class Registry;
}  // namespace argus::metrics

namespace argus::auth {

namespace internal {
class LoginThrottle;
}

struct AuthOptions {
  std::string issuer = "argus";
  std::string audience = "argus-api";
  std::int64_t access_ttl_s = 900;
  std::int64_t refresh_ttl_s = 30LL * 24 * 3600;  // sliding: each refresh() starts it again
  std::int64_t leeway_s = 30;                     // clock skew tolerated on token times

  // Sign-in backoff, per username (existing or not): after login_free_failures
  // consecutive failures each further one locks the name for base * 2^k ms, up to max.
  int login_free_failures = 5;
  std::int64_t login_backoff_base_ms = 1000;
  std::int64_t login_backoff_max_ms = 15 * 60 * 1000;
  std::size_t login_max_tracked = 10'000;  // usernames remembered; least recent forgotten

  std::int64_t ticket_ttl_ms = 30'000;
  std::size_t max_tickets = 10'000;  // when full: expired ones go first, then the oldest

  // An API key's last_used_at is written at most this often.
  std::int64_t api_key_touch_interval_ms = 60'000;

  // Cost of new password hashes; hash_password() refuses values below the minimums.
  PasswordHashParams password_hash;
  // Password hashes/verifies running at once; further ones wait up to hash_wait_ms, then
  // fail with Unavailable.
  int max_concurrent_hashes = 4;
  std::int64_t hash_wait_ms = 10'000;

  metrics::Registry* metrics = nullptr;  // not owned; optional
};

struct TokenPair {
  std::string access_token;
  std::string refresh_token;
  std::int64_t expires_in = 0;  // seconds the access token is valid
  std::string token_type = "Bearer";
};

struct BootstrapResult {
  bool created = false;  // false: users existed, nothing was done
  std::string username;  // "admin" when created
  // Set only when the password was generated: show it once, then forget it.
  std::optional<std::string> generated_password;
  std::filesystem::path password_file;  // where the generated password was written (mode 0600)
};

// A user as the API shows it: no password hash.
struct User {
  std::string id;
  std::string username;
  std::string display_name;
  Role role = Role::viewer;
  std::optional<std::vector<std::string>> cameras;  // nullopt = every camera
  bool disabled = false;
  nlohmann::json settings = nlohmann::json::object();
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  UnixMillis password_changed_at = 0;
  UnixMillis last_login_at = 0;  // 0 = never
  std::int64_t version = 0;
};

struct NewUser {
  std::string username;  // 3..64 of [a-z0-9_.-]
  std::string password;  // must pass check_password_policy
  Role role = Role::viewer;
  std::string display_name;                         // at most 128 characters
  std::optional<std::vector<std::string>> cameras;  // camera ids (slugs); nullopt = all
  nlohmann::json settings = nlohmann::json::object();
};

// Fields to change; unset ones stay.
struct UserPatch {
  std::optional<Role> role;
  std::optional<std::optional<std::vector<std::string>>> cameras;  // set to nullopt = all cameras
  std::optional<bool> disabled;                                    // disabling also signs the user out everywhere
  std::optional<std::string> display_name;
  std::optional<nlohmann::json> settings;  // replaces the whole object
  // If set, FailedPrecondition when the stored version differs (optimistic concurrency).
  std::optional<std::int64_t> expected_version;
};

// An API key as listed: never its secret or hash.
struct ApiKeyInfo {
  std::string id;
  std::string user_id;
  std::string name;
  PermissionSet permissions;                        // as granted (the owner's role may narrow it)
  std::optional<std::vector<std::string>> cameras;  // nullopt = the owner's cameras
  UnixMillis created_at = 0;
  UnixMillis expires_at = 0;  // 0 = never
  UnixMillis revoked_at = 0;  // 0 = active
  UnixMillis last_used_at = 0;
};

struct NewApiKey {
  std::string owner_user_id;
  std::string name;                                 // 1..100 characters
  PermissionSet permissions;                        // non-empty; within the owner's role
  std::optional<std::vector<std::string>> cameras;  // within the owner's scope; nullopt = the owner's
  UnixMillis expires_at = 0;                        // 0 = never; else in the future
};

struct CreatedApiKey {
  ApiKeyInfo info;
  std::string key;  // the full key: shown once, never stored
};

struct Ticket {
  std::string ticket;
  UnixMillis expires_at = 0;
};

// For the ResourceExhausted that login() and change_password() return while an account is
// locked: the seconds to wait (>= 1). nullopt for any other status.
std::optional<std::int64_t> login_retry_after_s(const Status& status);

// Checks a username: 3..64 characters of [a-z0-9_.-]. InvalidArgument otherwise.
Status check_username(std::string_view username);

class AuthService {
 public:
  // `store`, `clock` and `keys` are not owned and must outlive the service.
  AuthService(Store* store, const Clock* clock, SigningKeys* keys, AuthOptions options = {});
  ~AuthService();
  AuthService(const AuthService&) = delete;
  AuthService& operator=(const AuthService&) = delete;

  // --- first start ---
  // When no user exists, creates "admin" (role admin). The password is `password` if
  // given, else the content of `password_file` if given (trailing newline dropped), else
  // 20 random characters written to <data_dir>/initial-admin-password (mode 0600) and
  // returned. With users present does nothing (created = false). InvalidArgument if a
  // given password fails the policy; NotFound/IOError for an unreadable password file.
  Result<BootstrapResult> bootstrap_admin(const std::filesystem::path& data_dir,
                                          const std::optional<std::string>& password,
                                          const std::optional<std::filesystem::path>& password_file);

  // --- sessions ---
  // Signs in. Unauthenticated "invalid username or password" for an unknown user, a wrong
  // password and a disabled account alike, taking about the same time; ResourceExhausted
  // while the name is locked by backoff (see login_retry_after_s). Audited as auth.login.
  Result<TokenPair> login(std::string_view username, std::string_view password, std::string_view ip,
                          std::string_view user_agent);
  // Exchanges a refresh token for a new pair (same family). Unauthenticated if the token
  // is unknown, expired, revoked, or its user is gone or disabled; if it was already used
  // the whole family is revoked too (audited as auth.refresh_reuse). Of concurrent calls
  // with one token at most one succeeds (the others count as reuse).
  Result<TokenPair> refresh(std::string_view refresh_token, std::string_view ip, std::string_view user_agent);
  // Revokes the family of `refresh_token`. Ok also for an unknown or revoked token.
  Status logout(std::string_view refresh_token);
  // Signs a user out everywhere: revokes every refresh token and every access token issued
  // until now. NotFound if absent.
  Status revoke_sessions(const std::string& user_id);

  // Authenticates an "Authorization: Bearer" credential: an access token or an API key.
  // Unauthenticated if it is invalid, expired or revoked, its user is gone or disabled,
  // or (access token) it was issued before the user's last password change or session
  // revocation. The principal carries the user's current role and camera scope.
  Result<Principal> authenticate_bearer(std::string_view credential);

  // --- tickets (browser WebSocket / SSE) ---
  // A single-use ticket standing for `principal`, valid ticket_ttl_ms.
  Result<Ticket> issue_ticket(const Principal& principal);
  // The principal of a live ticket, which is consumed. Unauthenticated if unknown, used
  // or expired.
  Result<Principal> redeem_ticket(std::string_view ticket);

  // --- users ---
  // InvalidArgument (username, password policy, display name, camera ids, settings not an
  // object); AlreadyExists if the username is taken.
  Result<User> create_user(const NewUser& user);
  Result<User> get_user(const std::string& id);
  Result<User> get_user_by_username(const std::string& username);
  // Ordered by username; page.after is the previous page's next_after.
  Result<Page<User>> list_users(const PageRequest& page);
  // FailedPrecondition if it would leave no enabled admin, or on a version mismatch.
  Result<User> update_user(const std::string& id, const UserPatch& patch);
  // Deletes the user, its sessions and API keys. FailedPrecondition for the last admin.
  Status delete_user(const std::string& id);
  // Sets a new password (an administrator's reset) and signs the user out everywhere.
  Status reset_password(const std::string& id, std::string_view new_password);
  // The user's own change: needs the current password (PermissionDenied if wrong, with the
  // same backoff as login). Signs out every session, then returns a fresh pair for the
  // caller. Audited as auth.password_change.
  Result<TokenPair> change_password(const std::string& user_id, std::string_view current_password,
                                    std::string_view new_password, std::string_view ip, std::string_view user_agent);

  // --- API keys ---
  // PermissionDenied if the permissions or cameras exceed the owner's; InvalidArgument for
  // an empty name or permission set, or an expiry in the past; NotFound/FailedPrecondition
  // if the owner does not exist or is disabled.
  Result<CreatedApiKey> create_api_key(const NewApiKey& key);
  Result<ApiKeyInfo> get_api_key(const std::string& id);
  // Keys of `owner_user_id` ("" = everyone's), ordered by id.
  Result<Page<ApiKeyInfo>> list_api_keys(const std::string& owner_user_id, const PageRequest& page);
  // Revokes a key. With `owner_user_id`, a key of another user is NotFound (so a user can
  // revoke only their own). Revoking twice is ok.
  Status revoke_api_key(const std::string& id, const std::optional<std::string>& owner_user_id);

  // --- audit ---
  // Appends a line (time 0 = now; request_id "" = the thread's log request id). The
  // caller keeps secrets out of `details`.
  Status record_audit(AuditRecord record);
  Result<Page<AuditRecord>> list_audit(const AuditQuery& query);

  // --- housekeeping (for a periodic job) ---
  // Deletes refresh tokens that expired before now; returns how many.
  Result<std::int64_t> purge_expired_refresh_tokens();

 private:
  struct IssuedRefresh {
    std::string token;
    RefreshTokenRecord record;
  };
  struct TicketEntry {
    std::string ticket;
    Principal principal;
    UnixMillis expires_at = 0;
  };

  Result<bool> verify_limited(std::string_view password, const std::string& hash);
  void burn_limited(std::string_view password);
  Result<std::string> hash_limited(std::string_view password);

  Result<std::string> sign_access(const UserRecord& user, UnixMillis now, std::int64_t& expires_in);
  IssuedRefresh make_refresh(const UserRecord& user, const std::string& family_id, UnixMillis now, std::string_view ip,
                             std::string_view user_agent);
  // A new session (family) for `user`.
  Result<TokenPair> start_session(const UserRecord& user, UnixMillis now, std::string_view ip,
                                  std::string_view user_agent);
  Result<Principal> authenticate_api_key(std::string_view key);
  Result<Principal> authenticate_access_token(std::string_view token);
  void touch_api_key(const ApiKeyRecord& key, UnixMillis now);
  // Sets a new password hash and cuts off every credential issued until now.
  Status set_password(const std::string& user_id, std::string_view new_password);
  void audit(std::string actor, std::string actor_kind, std::string ip, std::string action, std::string target,
             std::string outcome, nlohmann::json details);
  Status throttled(std::int64_t wait_ms) const;

  // Constant after construction.
  Store* const store_;
  const Clock* const clock_;
  SigningKeys* const keys_;
  const AuthOptions options_;
  const JwtVerifyOptions jwt_options_;
  metrics::Counter* logins_ok_ = nullptr;  // null without a registry
  metrics::Counter* logins_failed_ = nullptr;
  metrics::Counter* logins_throttled_ = nullptr;
  metrics::Counter* refresh_reuse_ = nullptr;

  std::unique_ptr<internal::LoginThrottle> throttle_;  // thread-safe itself
  std::counting_semaphore<1024> hash_slots_;

  std::mutex tickets_mu_;
  std::list<TicketEntry> tickets_;  // oldest first; guarded by tickets_mu_
  std::unordered_map<std::string_view, std::list<TicketEntry>::iterator> ticket_index_;  // guarded by tickets_mu_

  std::mutex touch_mu_;
  std::unordered_map<std::string, UnixMillis> key_touched_;  // key id -> last write; guarded by touch_mu_
};

}  // namespace argus::auth
