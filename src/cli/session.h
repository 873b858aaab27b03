// Signing in and staying signed in: the sign-in endpoints, and Session, through which every
// client command sends its requests with the right credential.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "cli/client.h"
#include "cli/credentials.h"
#include "core/clock.h"
#include "core/status.h"

namespace argus::cli {

struct TokenPair {
  std::string access_token;
  std::string refresh_token;
  std::int64_t expires_in = 0;  // seconds the access token is valid
};

// POST /api/v1/auth/login. Unauthenticated for a wrong username or password;
// ResourceExhausted saying how long to wait when the server refuses for too many attempts
// (429); Unavailable when the server cannot be reached; Internal for any other answer.
Result<TokenPair> auth_login(Client& client, std::string_view username, std::string_view password);
// POST /api/v1/auth/refresh: the next pair; `refresh_token` is used up. Unauthenticated when
// the server no longer accepts it (expired, revoked, reused); other errors as auth_login.
Result<TokenPair> auth_refresh(Client& client, const std::string& refresh_token);
// POST /api/v1/auth/logout: revokes the sign-in `refresh_token` belongs to.
Status auth_logout(Client& client, const std::string& refresh_token);

// What an error answer says: the problem's detail (else its title), then "(HTTP n)".
std::string describe_answer(const HttpResult& answer);

// Where a session's credential came from, in the order they are looked for.
enum class CredentialSource { kFlag, kEnvironment, kStored, kNone };

struct SessionOptions {
  std::string server;            // base URL; normalized by the session
  std::string flag_token;        // --token
  std::string env_token;         // ARGUS_TOKEN
  std::string credentials_path;  // where `argus login` keeps sessions; "": nowhere
  const Clock* clock = nullptr;  // null: the system clock
  long timeout_ms = 10'000;
};

// A command's connection to one server, carrying the first credential found: --token,
// ARGUS_TOKEN, then the session stored for that server by `argus login`.
//
// With a stored session, request() keeps it alive: when the access token expires within
// kRefreshMarginMs it refreshes first; when a request still gets 401, it refreshes once and
// retries once. Each refresh rotates the pair and stores the new one before the request is
// sent; it runs under the store's lock and adopts a pair another process stored meanwhile
// instead of spending the (single-use) refresh token twice.
//
// Not thread-safe. `options.clock` must outlive the session.
class Session {
 public:
  static constexpr std::int64_t kRefreshMarginMs = 30'000;

  // Picks the credential. Fails only when the stored credentials cannot be read.
  static Result<Session> open(SessionOptions options);

  // Sends one request (see the class comment). Unavailable when the server cannot be
  // reached; Unauthenticated "session expired: run argus login ..." when a needed refresh is
  // refused; other statuses when the new pair cannot be stored. Otherwise the answer,
  // whatever its HTTP status.
  Result<HttpResult> request(const std::string& method, const std::string& path, const std::string& body = "",
                             const std::string& content_type = "", const RequestOptions& options = {});

  // Client::stream with the session's credential (refreshed first when it is about to
  // expire; a 401 answer is returned, not retried).
  Result<StreamEnd> stream(const std::string& path, const RequestOptions& options,
                           const std::function<bool(std::string_view)>& on_data,
                           const std::function<bool()>& should_stop);

  // The connection's client (for its retry policy and sleeper).
  Client& client() { return client_; }

  const std::string& server() const { return client_.server(); }
  CredentialSource source() const { return source_; }
  bool has_credential() const { return source_ != CredentialSource::kNone; }
  // The user of a stored session; "" for other sources.
  const std::string& stored_username() const { return stored_.username; }

 private:
  Session(SessionOptions options, Client client)
      : options_(std::move(options)), client_(std::move(client)), store_(options_.credentials_path) {}

  bool expiring(const StoredCredential& c) const;
  // Replaces the stored pair, unless another process already replaced `stale_access`.
  Status refresh(const std::string& stale_access);
  const std::string& current_token() const;

  SessionOptions options_;
  Client client_;
  CredentialStore store_;
  const Clock* clock_ = nullptr;
  CredentialSource source_ = CredentialSource::kNone;
  StoredCredential stored_;  // when source_ is kStored
};

}  // namespace argus::cli
