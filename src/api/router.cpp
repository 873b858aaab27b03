#include "api/router.h"

#include <algorithm>
#include <cassert>
#include <map>

namespace argus::api {

struct Router::Node {
  std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
  std::unique_ptr<Node> param;  // child for "{name}"
  std::string param_name;
  std::unique_ptr<Node> tail;  // child for a last "{name...}": the rest of the path
  std::string tail_name;
  std::string pattern;  // set on terminal nodes
  std::map<Method, Route> handlers;
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  if (!path.empty() && path.front() == '/') i = 1;
  while (i <= path.size()) {
    std::size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  return out;
}

}  // namespace

void Router::add(Method method, const std::string& pattern, Access access, Handler handler) {
  Node* node = root_.get();
  const std::vector<std::string_view> segments = split_path(pattern);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    std::string_view seg = segments[i];
    if (seg.size() >= 5 && seg.front() == '{' && seg.ends_with("...}")) {
      assert(i + 1 == segments.size() && "a {name...} parameter must be the pattern's last segment");
      if (!node->tail) {
        node->tail = std::make_unique<Node>();
        node->tail->tail_name = std::string(seg.substr(1, seg.size() - 5));
      }
      node = node->tail.get();
    } else if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      if (!node->param) {
        node->param = std::make_unique<Node>();
        node->param->param_name = std::string(seg.substr(1, seg.size() - 2));
      }
      node = node->param.get();
    } else {
      auto it = node->literals.find(seg);
      if (it == node->literals.end()) {
        it = node->literals.emplace(std::string(seg), std::make_unique<Node>()).first;
      }
      node = it->second.get();
    }
  }
  node->pattern = pattern;
  auto known = std::find_if(routes_.begin(), routes_.end(),
                            [&](const RouteInfo& r) { return r.method == method && r.pattern == pattern; });
  if (known == routes_.end()) {
    routes_.push_back({method, pattern, access});
  } else {
    known->access = access;
  }
  node->handlers[method] = Route{access, std::move(handler)};
}

Router::Match Router::match(Request& req) const {
  Match m;
  const Node* node = root_.get();
  Fields params;
  const std::vector<std::string_view> segments = split_path(req.path);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    std::string_view seg = segments[i];
    auto it = node->literals.find(seg);
    if (it != node->literals.end()) {
      node = it->second.get();
      continue;
    }
    if (node->param && !seg.empty()) {
      auto decoded = percent_decode(seg, false);
      if (!decoded) return m;
      params.emplace_back(node->param->param_name, std::move(*decoded));
      node = node->param.get();
      continue;
    }
    if (node->tail) {
      // The rest of the path, from this segment on, decoded once.
      std::size_t offset = static_cast<std::size_t>(seg.data() - req.path.data());
      std::string_view rest = std::string_view(req.path).substr(offset);
      if (rest.empty()) return m;
      auto decoded = percent_decode(rest, false);
      if (!decoded) return m;
      params.emplace_back(node->tail->tail_name, std::move(*decoded));
      node = node->tail.get();
      break;
    }
    return m;
  }
  if (node->handlers.empty()) return m;
  Method method = req.method == Method::kHead ? Method::kGet : req.method;
  auto h = node->handlers.find(method);
  if (h == node->handlers.end() && req.method == Method::kHead) h = node->handlers.find(Method::kHead);
  if (h == node->handlers.end()) {
    m.status = 405;
    for (const auto& [meth, _] : node->handlers) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += method_name(meth);
      if (meth == Method::kGet) m.allow += ", HEAD";
    }
    return m;
  }
  m.status = 200;
  m.route = &h->second;
  req.route = node->pattern;
  req.path_params = std::move(params);
  return m;
}

std::vector<RouteInfo> Router::routes() const { return routes_; }

}  // namespace argus::api
