#include "api/security.h"

#include <algorithm>

#include "api/problem.h"
#include "auth/auth_service.h"
#include "metrics/metrics.h"

namespace argus::api {
namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

Response unauthorized(const Request& req, const std::string& detail, bool invalid_token) {
  Response r = problem(401, "unauthorized", detail, req);
  r.set_header("WWW-Authenticate",
               invalid_token ? R"(Bearer realm="argus", error="invalid_token")" : R"(Bearer realm="argus")");
  return r;
}

std::string window_seconds(const auth::RateLimitPolicy& p) {
  return std::to_string(std::max<std::int64_t>(1, (p.period_ms * p.burst / std::max(1.0, p.rate) + 999) / 1000));
}

}  // namespace

std::optional<std::string> request_credential(const Request& req) {
  if (const std::string* h = req.header("authorization")) {
    if (iequals_prefix(*h, "bearer ")) {
      std::string token = trim(std::string_view(*h).substr(7));
      if (!token.empty()) return token;
    }
    return std::string();  // present but not a bearer credential: invalid
  }
  if (const std::string* k = req.header("x-api-key")) return trim(*k);
  return std::nullopt;
}

Gatekeeper::Gatekeeper(auth::AuthService* auth, const SecurityOptions& options, const Clock* clock)
    : auth_(auth), options_(options), clock_(clock) {}

Gatekeeper::~Gatekeeper() = default;

Result<std::unique_ptr<Gatekeeper>> Gatekeeper::create(auth::AuthService* auth, const SecurityOptions& options,
                                                       const Clock* clock, metrics::Registry* metrics) {
  std::unique_ptr<Gatekeeper> g(new Gatekeeper(auth, options, clock));
  auth::RateLimiterOptions lo;
  lo.max_keys = options.rate_limit_keys;
  auto a = auth::RateLimiter::create(options.auth_rate, lo);
  if (!a.ok()) return a.status();
  auto r = auth::RateLimiter::create(options.read_rate, lo);
  if (!r.ok()) return r.status();
  auto w = auth::RateLimiter::create(options.write_rate, lo);
  if (!w.ok()) return w.status();
  g->auth_limiter_ = std::move(a).value();
  g->read_limiter_ = std::move(r).value();
  g->write_limiter_ = std::move(w).value();
  if (metrics != nullptr) {
    const char* help = "Requests refused before their handler, by status.";
    g->denied_401_ = &metrics->counter("argus_http_requests_denied_total", help, {{"status", "401"}});
    g->denied_403_ = &metrics->counter("argus_http_requests_denied_total", help, {{"status", "403"}});
    g->denied_429_ = &metrics->counter("argus_http_requests_denied_total", help, {{"status", "429"}});
  }
  return g;
}

void Gatekeeper::invalidate() {
  std::lock_guard lock(mu_);
  cache_.clear();
}

Result<std::shared_ptr<const auth::Principal>> Gatekeeper::authenticate(const std::string& credential) {
  const std::int64_t now = clock_->now_ms();
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(credential);
    if (it != cache_.end()) {
      if (it->second.expires_at > now) return it->second.principal;
      cache_.erase(it);
    }
  }
  auto p = auth_->authenticate_bearer(credential);
  if (!p.ok()) return p.status();
  auto shared = std::make_shared<const auth::Principal>(std::move(p).value());
  std::lock_guard lock(mu_);
  if (cache_.size() >= options_.credential_cache_size) {
    // Drop the expired entries; if none were, start over (simple and bounded).
    std::erase_if(cache_, [now](const auto& kv) { return kv.second.expires_at <= now; });
    if (cache_.size() >= options_.credential_cache_size) cache_.clear();
  }
  cache_[credential] = {shared, now + options_.credential_cache_ms};
  return shared;
}

std::optional<Response> Gatekeeper::limit(const Request& req, auth::RateLimiter& limiter, const std::string& key) {
  auth::RateLimitDecision d = limiter.check(key, clock_->now_ms());
  if (d.allowed) return std::nullopt;
  if (denied_429_ != nullptr) denied_429_->inc();
  const auto& p = limiter.policy();
  Response r = problem(429, "too-many-requests",
                       "rate limit '" + p.name + "' exceeded; retry in " + std::to_string(d.retry_after_s) + " s", req);
  r.set_header("Retry-After", std::to_string(std::max<std::int64_t>(1, d.retry_after_s)));
  r.set_header("RateLimit-Policy", std::to_string(p.burst) + ";w=" + window_seconds(p));
  r.set_header("RateLimit", "limit=" + std::to_string(d.limit) + ", remaining=" + std::to_string(d.remaining) +
                                ", reset=" + std::to_string(std::max<std::int64_t>(1, d.reset_after_s)));
  return r;
}

std::optional<Response> Gatekeeper::admit(Request& req, const Access& access) {
  const Access::RateClass rate =
      access.rate.value_or((req.method == Method::kGet || req.method == Method::kHead) ? Access::RateClass::kRead
                                                                                       : Access::RateClass::kWrite);
  if (access.kind == Access::Kind::kPublic) {
    if (rate == Access::RateClass::kAuth) return limit(req, *auth_limiter_, "ip:" + req.client_ip());
    return std::nullopt;
  }
  std::optional<std::string> credential = request_credential(req);
  if (!credential && access.ticket) {
    if (auto ticket = req.query_param("ticket")) return admit_ticket(req, access, *ticket);
  }
  if (!credential) {
    if (denied_401_ != nullptr) denied_401_->inc();
    return unauthorized(req, "authentication required: send Authorization: Bearer <access token or API key>", false);
  }
  if (credential->empty() || credential->size() > 8192) {
    if (denied_401_ != nullptr) denied_401_->inc();
    return unauthorized(req, "malformed credential: use Authorization: Bearer <token>", true);
  }
  auto principal = authenticate(*credential);
  if (!principal.ok()) {
    if (denied_401_ != nullptr) denied_401_->inc();
    if (principal.status().code() == StatusCode::kUnauthenticated) {
      return unauthorized(req, principal.status().message(), true);
    }
    return status_problem(principal.status(), req);
  }
  req.principal = *principal;
  const auth::Principal& who = **principal;
  auth::RateLimiter& limiter = rate == Access::RateClass::kAuth    ? *auth_limiter_
                               : rate == Access::RateClass::kRead ? *read_limiter_
                                                                   : *write_limiter_;
  if (auto r = limit(req, limiter, std::string(auth::principal_kind_name(who.kind)) + ":" + who.actor())) return r;
  if (access.kind == Access::Kind::kPermission && !who.can(access.permission)) {
    if (denied_403_ != nullptr) denied_403_->inc();
    return problem(403, "forbidden",
                   "this requires the permission " + std::string(auth::permission_name(access.permission)), req);
  }
  return std::nullopt;
}

std::optional<Response> Gatekeeper::admit_ticket(Request& req, const Access& access, const std::string& ticket) {
  // Tickets are single use: they are redeemed, never cached.
  auto principal = ticket.size() > 256 ? Result<auth::Principal>(Status::unauthenticated("malformed ticket"))
                                       : auth_->redeem_ticket(ticket);
  if (!principal.ok()) {
    if (denied_401_ != nullptr) denied_401_->inc();
    return unauthorized(req, "the ticket is unknown, used or expired: get a new one from POST /api/v1/auth/ticket",
                        true);
  }
  auto shared = std::make_shared<const auth::Principal>(std::move(*principal));
  req.principal = shared;
  const Access::RateClass rate = access.rate.value_or(Access::RateClass::kRead);
  auth::RateLimiter& limiter = rate == Access::RateClass::kWrite ? *write_limiter_ : *read_limiter_;
  if (auto r = limit(req, limiter, std::string(auth::principal_kind_name(shared->kind)) + ":" + shared->actor())) {
    return r;
  }
  if (access.kind == Access::Kind::kPermission && !shared->can(access.permission)) {
    if (denied_403_ != nullptr) denied_403_->inc();
    return problem(403, "forbidden",
                   "this requires the permission " + std::string(auth::permission_name(access.permission)), req);
  }
  return std::nullopt;
}

bool Gatekeeper::origin_allowed(const std::string& origin) const {
  return std::find(options_.cors_origins.begin(), options_.cors_origins.end(), origin) != options_.cors_origins.end();
}

Response Gatekeeper::preflight(const Request& req, const std::string& allow) const {
  const std::string* origin = req.header("origin");
  if (origin == nullptr || !origin_allowed(*origin)) {
    return problem(403, "forbidden", "cross-origin requests from this origin are not allowed (security.cors_origins)",
                   req);
  }
  if (allow.empty()) return problem(404, "not-found", "no resource at " + req.path, req);
  Response r = Response::empty(204);
  r.set_header("Access-Control-Allow-Methods", allow);
  r.set_header("Access-Control-Allow-Headers",
               "Authorization, Content-Type, If-Match, If-None-Match, X-API-Key, X-Request-Id, Last-Event-ID");
  r.set_header("Access-Control-Max-Age", "600");
  return r;
}

void Gatekeeper::finish(const Request& req, Response& resp) const {
  // The same few lines on every response: static text, no allocation.
  static constexpr std::string_view kCommon =
      "\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nX-Frame-Options: DENY";
  static constexpr std::string_view kApiCsp = "\r\nContent-Security-Policy: default-src 'none'; frame-ancestors 'none'";
  static constexpr std::string_view kNoStore = "\r\nCache-Control: no-store";
  static const std::string kData = std::string(kCommon) + std::string(kApiCsp);
  static const std::string kDataNoStore = kData + std::string(kNoStore);
  static const std::string kHtml =
      std::string(kCommon) +
      "\r\nContent-Security-Policy: default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
      "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
  static const std::string kHtmlNoStore = kHtml + std::string(kNoStore);
  const bool html = resp.content_type.rfind("text/html", 0) == 0;
  const bool no_store = req.principal && resp.header("Cache-Control") == nullptr;
  resp.fixed_headers = html ? (no_store ? kHtmlNoStore : kHtml) : (no_store ? kDataNoStore : kData);
  if (!options_.cors_origins.empty()) {
    resp.set_header("Vary", "Origin");
    if (const std::string* origin = req.header("origin"); origin != nullptr && origin_allowed(*origin)) {
      resp.set_header("Access-Control-Allow-Origin", *origin);
      resp.set_header("Access-Control-Expose-Headers",
                      "ETag, Location, Retry-After, RateLimit, RateLimit-Policy, X-Request-Id");
    }
  }
}

}  // namespace argus::api
