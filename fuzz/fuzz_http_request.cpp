// Fuzz target: the HTTP request path of HttpServer, from connection bytes to the Request
// a handler sees (api/request_parse.h: the Beast parser with the server's limits and read
// pattern, then to_request), and on to the router's matching.
//
// Contract under test, for any bytes a client may send and then close:
//  - reading never crashes, throws or loops: each step either yields a request, an early
//    error (400, 413 or 431, with a problem+json body) or closes;
//  - a yielded request is HTTP/1.0 or 1.1, its body within max_body_bytes, its header
//    names lower-case, its request id well-formed; unless rejected (400/501 problem),
//    its path is absolute and its method known;
//  - how the network splits the bytes does not matter: reading with 1..64-byte reads
//    gives the same requests and errors as reading with the server's 4096-byte reads
//    (except which of 400/413/431 refuses a request that deserves several);
//  - the router's matching of any such request terminates with 200, 404 or 405.
//
// Input: byte 0 picks the read size (1..64) and the limits (the server's defaults, or
// small ones so 413/431 are reachable); the rest is what the client sends.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/problem.h"
#include "api/request_parse.h"
#include "api/router.h"

namespace {

using namespace argus::api;

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz_http_request: invariant broken: %s %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// A few of Api's route shapes: literals, parameters, nesting, several methods.
Router& router() {
  static Router* r = [] {
    auto* rt = new Router();
    auto ok = [](Request&) { return Response::empty(204); };
    using argus::auth::Permission;
    rt->add(Method::kGet, "/health", Access::open(), ok);
    rt->add(Method::kGet, "/api/v1/cameras", Access::needs(Permission::cameras_read), ok);
    rt->add(Method::kPost, "/api/v1/cameras", Access::needs(Permission::cameras_write), ok);
    rt->add(Method::kGet, "/api/v1/cameras/{id}", Access::needs(Permission::cameras_read), ok);
    rt->add(Method::kPatch, "/api/v1/cameras/{id}", Access::needs(Permission::cameras_write), ok);
    rt->add(Method::kGet, "/api/v1/cameras/{id}/snapshot", Access::needs(Permission::cameras_read), ok);
    rt->add(Method::kGet, "/api/v1/users/me", Access::authenticated(), ok);
    rt->add(Method::kPost, "/api/v1/users/{id}/password", Access::needs(Permission::users_admin), ok);
    return rt;
  }();
  return *r;
}

void check_problem(const Response& r, std::initializer_list<int> statuses) {
  bool expected = false;
  for (int s : statuses) expected = expected || r.status == s;
  if (!expected) fail("unexpected problem status", std::to_string(r.status));
  if (r.content_type != "application/problem+json") fail("problem without problem+json");
  if (!r.body || !nlohmann::json::accept(*r.body)) fail("problem body is not JSON");
}

// One step's outcome, in a form two readings can be compared by.
struct Step {
  RequestReader::Outcome outcome;
  int status = 0;  // early error or problem status; 0 = handler would run
  std::string method, target, body;
  argus::api::Fields headers;
  bool keep_alive = false;
  std::string detail;  // shown, not compared
  bool operator==(const Step& o) const {
    return outcome == o.outcome && status == o.status && method == o.method && target == o.target && body == o.body &&
           headers == o.headers && keep_alive == o.keep_alive;
  }
};

void print(const char* title, const std::vector<Step>& steps) {
  std::fprintf(stderr, "%s:\n", title);
  for (const Step& s : steps) {
    std::fprintf(stderr, "  outcome %d status %d %s %s body %zu bytes keep_alive %d %s\n", static_cast<int>(s.outcome),
                 s.status, s.method.c_str(), s.target.c_str(), s.body.size(), s.keep_alive ? 1 : 0, s.detail.c_str());
  }
}

std::vector<Step> read_all(std::string_view bytes, const RequestLimits& limits, std::size_t read_size) {
  std::vector<Step> steps;
  RequestReader reader(bytes, limits, read_size);
  for (int i = 0; i < 64; ++i) {
    RequestReader::Result r = [&] {
      try {
        return reader.next();
      } catch (const std::exception& e) {
        fail("RequestReader::next threw", e.what());
      }
    }();
    Step step{r.outcome};
    if (r.outcome == RequestReader::Outcome::kClosed) {
      steps.push_back(step);
      break;
    }
    if (r.outcome == RequestReader::Outcome::kEarlyError) {
      Request req;
      req.path = "/";
      req.request_id = "fuzz";
      // As HttpServer's write_early_error builds it.
      check_problem(problem(r.error.status, r.error.type, r.error.detail, req), {400, 413, 431});
      step.status = r.error.status;
      step.detail = r.error.detail;
      steps.push_back(step);
      break;
    }
    Request& req = r.request;
    if (r.version != 10 && r.version != 11) fail("yielded a request of another HTTP version");
    if (req.body.size() > limits.max_body_bytes) fail("body over the limit");
    if (!valid_request_id(req.request_id)) fail("bad request id");
    for (const auto& [name, value] : req.headers) {
      for (char c : name) {
        if (c >= 'A' && c <= 'Z') fail("header name not lower-cased", name);
      }
    }
    if (r.problem) {
      check_problem(*r.problem, {400, 501});
      step.status = r.problem->status;
    } else {
      if (req.path.empty() || req.path.front() != '/') fail("accepted a relative target", req.target);
      if (req.method == Method::kOther) fail("accepted an unknown method");
      Router::Match m = router().match(req);
      if (m.status != 200 && m.status != 404 && m.status != 405) fail("router status");
      if ((m.status == 200) != (m.route != nullptr)) fail("router match without a route");
    }
    step.method = std::string(method_name(req.method));
    step.target = req.target;
    step.body = req.body;
    step.headers = req.headers;
    step.keep_alive = r.keep_alive;
    steps.push_back(std::move(step));
    if (!r.keep_alive) break;
  }
  return steps;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const unsigned char control = static_cast<unsigned char>(in[0]);
  in.remove_prefix(1);
  const std::size_t read_size = (control & 0x3f) + 1;
  RequestLimits limits;  // the server's defaults
  if (control & 0x40) {
    limits.max_header_bytes = 512;
    limits.max_body_bytes = 64;
  }
  std::vector<Step> server_reads = read_all(in, limits, 4096);
  std::vector<Step> small_reads = read_all(in, limits, read_size);
  // A request that is both malformed and over a limit may be refused for either, depending
  // on how much of it had arrived: the last step may then differ in its early-error status.
  bool same = server_reads.size() == small_reads.size();
  for (std::size_t i = 0; same && i < server_reads.size(); ++i) {
    const Step& a = server_reads[i];
    const Step& b = small_reads[i];
    bool both_refused = i + 1 == server_reads.size() && a.outcome == RequestReader::Outcome::kEarlyError &&
                        b.outcome == RequestReader::Outcome::kEarlyError;
    same = both_refused || a == b;
  }
  if (!same) {
    print("read 4096 bytes at a time", server_reads);
    print(("read " + std::to_string(read_size) + " bytes at a time").c_str(), small_reads);
    fail("the outcome depends on how the bytes were split");
  }
  return 0;
}
