// Router: maps (method, path) to a handler, with path parameters.
//
// Patterns are absolute paths whose segments are literals or `{name}` parameters
// ("/api/v1/cameras/{id}"). Literal segments win over parameters. A path that matches
// no pattern is 404; a matched pattern without the method is 405 with its Allow set.
// GET routes answer HEAD too. Routes are added before the server starts; matching is
// then read-only and thread-safe.
//
// Every route declares who may call it (Access); there is no default, so a route cannot be
// added without a decision, and Api enforces it before the handler runs (deny by default).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/http.h"
#include "auth/permissions.h"

namespace argus::api {

using Handler = std::function<Response(Request&)>;

// Who may call a route, and which rate-limit class it counts against.
struct Access {
  enum class Kind {
    kPublic,         // anyone, no credentials (health, sign-in)
    kAuthenticated,  // any signed-in caller (their own profile, tickets)
    kPermission,     // a caller holding `permission`
  };
  // Rate-limit classes: kAuth (sign-in and token refresh, strict, per client address),
  // kRead (GET/HEAD), kWrite (everything else); read and write are per caller.
  enum class RateClass { kAuth, kRead, kWrite };

  Kind kind = Kind::kPermission;
  auth::Permission permission = auth::Permission::system_admin;
  std::optional<RateClass> rate;  // unset: kRead for GET, kWrite otherwise
  // Also accept a single-use ticket (?ticket=, from POST /api/v1/auth/ticket) instead of
  // a header: for browser WebSocket and EventSource connections, which cannot send headers.
  bool ticket = false;

  static Access open() { return {Kind::kPublic, auth::Permission::system_admin, std::nullopt}; }
  static Access sign_in() { return {Kind::kPublic, auth::Permission::system_admin, RateClass::kAuth}; }
  static Access authenticated() { return {Kind::kAuthenticated, auth::Permission::system_admin, std::nullopt}; }
  static Access needs(auth::Permission p) { return {Kind::kPermission, p, std::nullopt}; }
  Access or_ticket() const {
    Access a = *this;
    a.ticket = true;
    return a;
  }
};

struct RouteInfo {
  Method method;
  std::string pattern;
  Access access;
};

struct Route {
  Access access;
  Handler handler;
};

class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Registers `handler` for `method` on `pattern`, callable as `access` says. Registering
  // the same method and pattern twice replaces the route.
  void add(Method method, const std::string& pattern, Access access, Handler handler);

  struct Match {
    int status = 404;  // 200 when found, else 404 or 405
    const Route* route = nullptr;
    std::string allow;  // for 405: "GET, HEAD, PATCH"
  };
  // Matches req.method and req.path; on success fills req.route and req.path_params.
  // A path with a malformed percent-escape is 404.
  Match match(Request& req) const;

  std::vector<RouteInfo> routes() const;

 private:
  struct Node;
  std::unique_ptr<Node> root_;
  std::vector<RouteInfo> routes_;
};

}  // namespace argus::api
