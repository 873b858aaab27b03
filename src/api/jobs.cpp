// Background jobs: /api/v1/jobs, /api/v1/jobs/{id}, /api/v1/jobs/{id}/cancel,
// /api/v1/jobs/{id}/retry.
#include "api/api.h"
#include "api/json_body.h"
#include "api/problem.h"
#include "auth/principal.h"
#include "jobs/job_manager.h"

namespace argus::api {
namespace {

using auth::Permission;
using nlohmann::json;

std::string actor_of(const Request& req) { return req.principal ? req.principal->actor() : std::string(); }

// Submit, retry: the kind's input errors are the client's (400); a full queue is 429.
Response submit_problem(const Status& s, const Request& req) {
  if (s.code() == StatusCode::kInvalidArgument) return problem(400, "bad-request", s.message(), req);
  if (s.code() == StatusCode::kFailedPrecondition) return problem(409, "conflict", s.message(), req);
  if (s.code() == StatusCode::kResourceExhausted) {
    Response r = problem(429, "too-many-requests", s.message(), req);
    r.set_header("Retry-After", "5");
    return r;
  }
  return status_problem(s, req);
}

Response accepted(const JobRecord& job) {
  Response r = Response::json(202, jobs::job_to_json(job));
  r.set_header("Location", "/api/v1/jobs/" + job.id);
  return r;
}

}  // namespace

void Api::add_job_routes() {
  const Access read = Access::needs(Permission::jobs_read);
  const Access write = Access::needs(Permission::jobs_write);
  auto unavailable = [](const Request& req) {
    return problem(503, "unavailable", "background jobs are not available on this server", req);
  };

  router_.add(Method::kPost, "/api/v1/jobs", write, [this, unavailable](Request& req) {
    if (deps_.jobs == nullptr) return unavailable(req);
    json doc;
    if (auto err = parse_json_body(req, doc)) return *err;
    if (!doc.is_object()) return validation_problem({{"", "must be an object {kind, params}"}}, req);
    const std::string known = [&] {
      std::string k;
      for (const auto& name : deps_.jobs->kinds()) k += (k.empty() ? "" : ", ") + name;
      return k;
    }();
    auto kind = doc.find("kind");
    if (kind == doc.end() || !kind->is_string() || kind->get<std::string>().empty()) {
      return problem(400, "bad-request", "kind is required; known kinds: " + known, req);
    }
    json params = json::object();
    if (auto p = doc.find("params"); p != doc.end() && !p->is_null()) {
      if (!p->is_object()) return validation_problem({{"/params", "must be an object"}}, req);
      params = *p;
    }
    // An export holds data of cameras: a caller with a camera scope exports only those.
    if (*kind == "export" && req.principal && req.principal->cameras) {
      if (auto cam = params.find("camera"); cam != params.end() && cam->is_string()) {
        if (auto hidden = hide_camera(req, cam->get<std::string>())) return *hidden;
      }
      params["scope"] = *req.principal->cameras;
    } else {
      params.erase("scope");  // set by the server only
    }
    auto job = deps_.jobs->submit(kind->get<std::string>(), params, actor_of(req));
    if (!job.ok()) {
      if (job.status().code() != StatusCode::kInvalidArgument) {
        audit(req, "job.create", "", "failed", {{"kind", *kind}, {"reason", job.status().message()}});
      }
      return submit_problem(job.status(), req);
    }
    audit(req, "job.create", job->id, "ok", {{"kind", job->kind}});
    return accepted(*job);
  });

  router_.add(Method::kGet, "/api/v1/jobs", read, [this, unavailable](Request& req) {
    if (deps_.jobs == nullptr) return unavailable(req);
    Paging paging;
    if (auto err = parse_paging(req, paging)) return *err;
    JobQuery q;
    q.limit = paging.limit;
    q.after = paging.after;
    q.kind = req.query_param("kind").value_or("");
    q.state = req.query_param("state").value_or("");
    if (!q.state.empty() && !jobs::parse_job_state(q.state)) {
      return problem(400, "bad-request", "state must be one of queued, running, succeeded, failed, cancelled", req);
    }
    auto page = deps_.jobs->list(q);
    if (!page.ok()) return status_problem(page.status(), req);
    json items = json::array();
    for (const auto& j : page->items) items.push_back(jobs::job_to_json(j));
    json doc{{"items", std::move(items)}};
    if (page->next_after) doc["next_cursor"] = encode_cursor(*page->next_after);
    return Response::json(200, doc);
  });

  router_.add(Method::kGet, "/api/v1/jobs/{id}", read, [this, unavailable](Request& req) {
    if (deps_.jobs == nullptr) return unavailable(req);
    auto job = deps_.jobs->get(req.param("id"));
    if (!job.ok()) return status_problem(job.status(), req);
    return Response::json(200, jobs::job_to_json(*job));
  });

  router_.add(Method::kPost, "/api/v1/jobs/{id}/cancel", write, [this, unavailable](Request& req) {
    if (deps_.jobs == nullptr) return unavailable(req);
    const std::string id = req.param("id");
    auto job = deps_.jobs->cancel(id);
    if (!job.ok()) {
      if (job.status().code() == StatusCode::kFailedPrecondition) {
        return problem(409, "conflict", job.status().message(), req);
      }
      return status_problem(job.status(), req);
    }
    audit(req, "job.cancel", id, "ok", {{"kind", job->kind}, {"state", job->state}});
    // 200 when it is cancelled already (it was queued); 202 while a running job stops.
    return Response::json(job->state == "cancelled" ? 200 : 202, jobs::job_to_json(*job));
  });

  router_.add(Method::kPost, "/api/v1/jobs/{id}/retry", write, [this, unavailable](Request& req) {
    if (deps_.jobs == nullptr) return unavailable(req);
    const std::string id = req.param("id");
    auto job = deps_.jobs->retry(id, actor_of(req));
    if (!job.ok()) {
      if (job.status().code() == StatusCode::kNotFound) return status_problem(job.status(), req);
      return submit_problem(job.status(), req);
    }
    audit(req, "job.retry", job->id, "ok", {{"kind", job->kind}, {"retry_of", id}});
    return accepted(*job);
  });
}

}  // namespace argus::api
