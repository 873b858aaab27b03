// Gatekeeper: what every request passes before and after its handler.
//
// Before (admit): CORS preflight, authentication ("Authorization: Bearer <token or API
// key>" or "X-API-Key: <key>"), rate limiting (GCRA, per client address for sign-in, per
// caller for reads and writes), and the route's declared Access. Deny by default: a route
// that is not public needs a valid credential, and a permission route needs the permission.
//
// After (finish): security headers on every response (nosniff, no referrer, no framing, a
// CSP), CORS headers for allowed origins, and Cache-Control: no-store on authenticated
// responses that did not choose their own caching.
//
// Credentials are verified by auth::AuthService; the resulting principals are cached for
// a few seconds (credential_cache_ms) so the hot path does not hit the store. invalidate()
// drops the cache at once; Api calls it after any change to users, keys or sessions.
//
// Thread-safe: admit/finish run concurrently on I/O threads.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/http.h"
#include "api/router.h"
#include "auth/principal.h"
#include "auth/rate_limiter.h"
#include "core/clock.h"
#include "core/status.h"

namespace argus::auth {
class AuthService;
}
namespace argus::metrics {
class Counter;
class Registry;
}  // namespace argus::metrics

namespace argus::api {

struct SecurityOptions {
  // Origins allowed to call the API from a browser ("https://dash.example.com"); none by
  // default. Bearer tokens, not cookies, carry credentials, so no credentialed CORS.
  std::vector<std::string> cors_origins;
  bool metrics_public = false;  // GET /metrics without credentials (else system:read)
  auth::RateLimitPolicy auth_rate{"auth", 10, 60'000, 5};  // per client address
  auth::RateLimitPolicy read_rate{"read", 100, 1000, 200};  // per caller
  auth::RateLimitPolicy write_rate{"write", 20, 1000, 40};  // per caller
  std::size_t rate_limit_keys = 100'000;
  std::int64_t credential_cache_ms = 5000;
  std::size_t credential_cache_size = 10'000;
};

class Gatekeeper {
 public:
  // InvalidArgument if a rate policy is out of range.
  static Result<std::unique_ptr<Gatekeeper>> create(auth::AuthService* auth, const SecurityOptions& options,
                                                    const Clock* clock, metrics::Registry* metrics);
  ~Gatekeeper();

  // A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method): the answer,
  // given the methods the path allows ("" = no such path).
  Response preflight(const Request& req, const std::string& allow) const;
  // Checks `req` against `access`. nullopt: go on (req.principal is set unless public);
  // else the response to send instead (401, 403, 429).
  std::optional<Response> admit(Request& req, const Access& access);
  void finish(const Request& req, Response& resp) const;

  // Forgets cached principals (after a user, key or session change).
  void invalidate();

  // Authenticates a credential (token, API key) as admit does, through the cache.
  Result<std::shared_ptr<const auth::Principal>> authenticate(const std::string& credential);

  const SecurityOptions& options() const { return options_; }

 private:
  Gatekeeper(auth::AuthService* auth, const SecurityOptions& options, const Clock* clock);
  std::optional<Response> limit(const Request& req, auth::RateLimiter& limiter, const std::string& key);
  std::optional<Response> admit_ticket(Request& req, const Access& access, const std::string& ticket);
  bool origin_allowed(const std::string& origin) const;

  struct Cached {
    std::shared_ptr<const auth::Principal> principal;
    std::int64_t expires_at = 0;
  };

  // Constant after construction.
  auth::AuthService* const auth_;
  const SecurityOptions options_;
  const Clock* const clock_;
  std::unique_ptr<auth::RateLimiter> auth_limiter_;
  std::unique_ptr<auth::RateLimiter> read_limiter_;
  std::unique_ptr<auth::RateLimiter> write_limiter_;
  metrics::Counter* denied_401_ = nullptr;
  metrics::Counter* denied_403_ = nullptr;
  metrics::Counter* denied_429_ = nullptr;

  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // credential -> principal; guarded by mu_
};

// The credential a request carries: the Bearer token of Authorization, else X-API-Key.
// nullopt if neither is present.
std::optional<std::string> request_credential(const Request& req);

}  // namespace argus::api
