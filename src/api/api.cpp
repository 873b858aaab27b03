#include "api/api.h"

#include "api/cameras_cache.h"

#include <argus_version.h>

#include "api/json_body.h"
#include "api/problem.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "store/store.h"

namespace argus::api {

Api::Api(ApiDeps deps)
    : deps_(std::move(deps)), started_(std::chrono::steady_clock::now()), started_at_(deps_.clock->now_ms()) {
  add_system_routes();
  add_camera_routes();
  add_event_routes();
  add_detection_routes();
}

Api::~Api() = default;

Response Api::handle(Request& req) {
  Router::Match m = router_.match(req);
  if (m.status == 404) {
    return problem(404, "not-found", "no resource at " + req.path, req);
  }
  if (m.status == 405) {
    Response r = problem(405, "method-not-allowed",
                         std::string(method_name(req.method)) + " is not allowed here; allowed: " + m.allow, req);
    r.set_header("Allow", m.allow);
    return r;
  }
  return (*m.handler)(req);
}

void Api::add_system_routes() {
  router_.add(Method::kGet, "/health", [](Request&) {
    static const auto kBody = std::make_shared<const std::string>(R"({"status":"pass"})");
    Response r = Response::bytes(200, kBody, "application/health+json");
    r.set_header("Cache-Control", "no-store");
    return r;
  });

  router_.add(Method::kGet, "/ready", [this](Request&) {
    nlohmann::json checks = nlohmann::json::object();
    std::string overall = "pass";
    std::string now = format_rfc3339(deps_.clock->now_ms());
    Status s = deps_.store->check_health();
    nlohmann::json store_check{{"componentType", "datastore"}, {"status", s.ok() ? "pass" : "fail"}, {"time", now}};
    if (!s.ok()) {
      store_check["output"] = s.message();
      overall = "fail";
    } else {
      StoreStats st = deps_.store->stats();
      store_check["observedValue"] = st.pending_writes;
      store_check["observedUnit"] = "pending writes";
    }
    checks["store"] = nlohmann::json::array({store_check});
    checks["http"] = nlohmann::json::array({{{"componentType", "system"}, {"status", "pass"}, {"time", now}}});
    nlohmann::json doc{
        {"status", overall}, {"version", ARGUS_VERSION}, {"releaseId", ARGUS_GIT_REVISION}, {"checks", checks}};
    Response r = Response::json(overall == "fail" ? 503 : 200, doc);
    r.content_type = "application/health+json";
    r.set_header("Cache-Control", "no-store");
    return r;
  });

  router_.add(Method::kGet, "/metrics", [this](Request&) {
    return Response::text(200, deps_.metrics->expose(), "text/plain; version=0.0.4; charset=utf-8");
  });

  router_.add(Method::kGet, "/api/v1/system/info", [this](Request&) {
    double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    StoreStats st = deps_.store->stats();
    nlohmann::json doc{{"version", ARGUS_VERSION},
                       {"git_revision", ARGUS_GIT_REVISION},
                       {"started_at", format_rfc3339(started_at_)},
                       {"uptime_seconds", uptime},
                       {"storage", {{"kind", st.kind}, {"schema_version", st.schema_version}}}};
    return Response::json(200, doc);
  });
}

}  // namespace argus::api
