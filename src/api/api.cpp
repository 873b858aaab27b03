#include "api/api.h"

#include "api/cameras_cache.h"

#include <argus_version.h>

#include "api/json_body.h"
#include "api/openapi.h"
#include "api/problem.h"
#include "api/security.h"
#include "auth/auth_service.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "store/store.h"

namespace argus::api {

Api::Api(ApiDeps deps)
    : deps_(std::move(deps)), started_(std::chrono::steady_clock::now()), started_at_(deps_.clock->now_ms()) {
  add_system_routes();
  add_stats_route();
  add_camera_routes();
  add_event_routes();
  add_media_routes();
  add_detection_routes();
  add_auth_routes();
  add_user_routes();
  add_stream_routes();
  add_job_routes();
  add_video_routes();
  add_alert_routes();
  add_notification_routes();
  add_dlq_routes();
}

Api::~Api() = default;

Response Api::handle(Request& req) {
  Response r = route(req);
  deps_.gate->finish(req, r);
  return r;
}

Response Api::route(Request& req) {
  if (req.method == Method::kOptions && req.header("origin") != nullptr &&
      req.header("access-control-request-method") != nullptr) {
    Request probe = req;
    probe.method = Method::kOther;  // never matches a route: yields the Allow list
    Router::Match pm = router_.match(probe);
    return deps_.gate->preflight(req, pm.status == 405 ? pm.allow : "");
  }
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
  if (auto denied = deps_.gate->admit(req, m.route->access)) return std::move(*denied);
  return m.route->handler(req);
}

void Api::audit(const Request& req, const std::string& action, const std::string& target, const std::string& outcome,
                const nlohmann::json& details) {
  AuditRecord a;
  if (req.principal) {
    a.actor = req.principal->actor();
    a.actor_kind = std::string(auth::principal_kind_name(req.principal->kind));
  } else {
    a.actor_kind = "anonymous";
  }
  a.ip = req.client_ip();
  a.request_id = req.request_id;
  a.action = action;
  a.target = target;
  a.outcome = outcome;
  a.details = details.dump();
  Status s = deps_.auth->record_audit(std::move(a));
  if (!s.ok()) log::error("audit write failed", {{"action", action}, {"error", s.message()}});
}

std::optional<Response> Api::hide_camera(const Request& req, const std::string& camera_id) {
  if (!req.principal || req.principal->can_see_camera(camera_id)) return std::nullopt;
  return problem(404, "not-found", "no camera '" + camera_id + "'", req);
}

void Api::add_system_routes() {
  router_.add(Method::kGet, "/health", Access::open(), [](Request&) {
    static const auto kBody = std::make_shared<const std::string>(R"({"status":"pass"})");
    Response r = Response::bytes(200, kBody, "application/health+json");
    r.set_header("Cache-Control", "no-store");
    return r;
  });

  router_.add(Method::kGet, "/ready", Access::open(), [this](Request&) {
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

  const Access metrics_access =
      deps_.gate->options().metrics_public ? Access::open() : Access::needs(auth::Permission::system_read);
  router_.add(Method::kGet, "/metrics", metrics_access, [this](Request&) {
    return Response::text(200, deps_.metrics->expose(), "text/plain; version=0.0.4; charset=utf-8");
  });

  // Every route and who may call it: for operators, and for tests that walk the router.
  router_.add(Method::kGet, "/api/v1/system/routes", Access::needs(auth::Permission::system_read), [this](Request&) {
    nlohmann::json items = nlohmann::json::array();
    for (const RouteInfo& r : router_.routes()) {
      std::string access = r.access.kind == Access::Kind::kPublic          ? "public"
                           : r.access.kind == Access::Kind::kAuthenticated ? "authenticated"
                                                                           : std::string(auth::permission_name(
                                                                                 r.access.permission));
      items.push_back({{"method", method_name(r.method)}, {"path", r.pattern}, {"access", access}});
    }
    return Response::json(200, {{"items", std::move(items)}});
  });

  // The API's own description (docs/openapi.yaml, embedded): public, it is documentation.
  // Converted once per process, here at start; the bytes are shared with every response.
  if (!openapi_document().ok()) {
    log::error("the embedded OpenAPI document is invalid", {{"error", openapi_document().status().message()}});
  }
  router_.add(Method::kGet, "/api/v1/openapi.json", Access::open(), [](Request& req) {
    const Result<OpenApiDocument>& doc = openapi_document();
    if (!doc.ok()) {
      log::error("the embedded OpenAPI document is invalid", {{"error", doc.status().message()}});
      return problem(500, "internal", "the API description is not available; see the server log", req);
    }
    if (const std::string* inm = req.header("if-none-match"); inm != nullptr && etag_matches(*inm, doc->etag)) {
      Response r = Response::empty(304);
      r.set_header("ETag", doc->etag);
      r.set_header("Cache-Control", "public, max-age=300");
      return r;
    }
    Response r = Response::bytes(200, doc->json, "application/json");
    r.set_header("ETag", doc->etag);
    r.set_header("Cache-Control", "public, max-age=300");
    return r;
  });

  router_.add(Method::kGet, "/api/v1/system/info", Access::needs(auth::Permission::system_read), [this](Request&) {
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
