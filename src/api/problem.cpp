#include "api/problem.h"

#include "core/log.h"

namespace argus::api {

Response problem(int status, std::string_view type, std::string detail, const Request& req) {
  nlohmann::json doc{{"type", "urn:argus:problem:" + std::string(type)},
                     {"title", status_reason(status)},
                     {"status", status},
                     {"detail", std::move(detail)},
                     {"instance", req.path.empty() ? "/" : req.path}};
  Response r = Response::json(status, doc);
  r.content_type = "application/problem+json";
  return r;
}

Response validation_problem(const FieldErrors& errors, const Request& req) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : errors) list.push_back({{"pointer", e.pointer}, {"detail", e.detail}});
  std::string detail =
      errors.size() == 1 ? "1 field is invalid" : std::to_string(errors.size()) + " fields are invalid";
  if (!errors.empty()) {
    detail += ": " + (errors.front().pointer.empty() ? std::string("document") : errors.front().pointer) + " " +
              errors.front().detail;
  }
  nlohmann::json doc{{"type", "urn:argus:problem:validation-error"},
                     {"title", status_reason(422)},
                     {"status", 422},
                     {"detail", detail},
                     {"instance", req.path},
                     {"errors", std::move(list)}};
  Response r = Response::json(422, doc);
  r.content_type = "application/problem+json";
  return r;
}

Response status_problem(const Status& status, const Request& req) {
  switch (status.code()) {
    case StatusCode::kNotFound:
      return problem(404, "not-found", status.message(), req);
    case StatusCode::kAlreadyExists:
      return problem(409, "conflict", status.message(), req);
    case StatusCode::kFailedPrecondition:
      return problem(412, "precondition-failed", status.message(), req);
    case StatusCode::kInvalidArgument:
      return problem(400, "bad-request", status.message(), req);
    case StatusCode::kUnauthenticated: {
      Response r = problem(401, "unauthorized", status.message(), req);
      r.set_header("WWW-Authenticate", R"(Bearer realm="argus")");
      return r;
    }
    case StatusCode::kPermissionDenied:
      return problem(403, "forbidden", status.message(), req);
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnavailable: {
      log::warn("request refused: dependency busy or unavailable", {{"error", status.to_string()}});
      Response r = problem(503, "unavailable", "the server is busy or a dependency is unavailable; retry later", req);
      r.set_header("Retry-After", "1");
      return r;
    }
    default:
      log::error("request failed", {{"error", status.to_string()}});
      return problem(500, "internal",
                     "the server failed to handle the request; see the server log for request " + req.request_id, req);
  }
}

}  // namespace argus::api
