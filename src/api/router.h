// Router: maps (method, path) to a handler, with path parameters.
//
// Patterns are absolute paths whose segments are literals or `{name}` parameters
// ("/api/v1/cameras/{id}"). Literal segments win over parameters. A path that matches
// no pattern is 404; a matched pattern without the method is 405 with its Allow set.
// GET routes answer HEAD too. Routes are added before the server starts; matching is
// then read-only and thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/http.h"

namespace argus::api {

using Handler = std::function<Response(Request&)>;

struct RouteInfo {
  Method method;
  std::string pattern;
};

class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Registers `handler` for `method` on `pattern`. Registering the same method and
  // pattern twice replaces the handler.
  void add(Method method, const std::string& pattern, Handler handler);

  struct Match {
    int status = 404;  // 200 when found, else 404 or 405
    const Handler* handler = nullptr;
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
