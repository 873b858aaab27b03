// The dead-letter queue: /api/v1/dlq, /api/v1/dlq/{id}, /api/v1/dlq/{id}/requeue,
// /api/v1/dlq/requeue.
//
// Permissions: reading needs system:read (viewers see what failed); requeueing needs
// alerts:write (an operator who can test a channel can send its failures again); deleting
// needs system:admin (it destroys the only copy).

#include "alerts/delivery.h"
#include "api/api.h"
#include "api/json_body.h"
#include "api/problem.h"
#include "store/store.h"

namespace argus::api {
namespace {

using auth::Permission;
using nlohmann::json;

json letter_to_json(const DeadLetterRecord& d) {
  json payload = json::parse(d.payload, nullptr, false);
  if (payload.is_discarded()) payload = d.payload;
  return {{"id", d.id},
          {"kind", d.kind},
          {"channel", d.channel_id},
          {"reason", d.reason},
          {"error", d.error},
          {"attempts", d.attempts},
          {"payload", std::move(payload)},
          {"created_at", format_rfc3339(d.created_at)},
          {"failed_at", format_rfc3339(d.failed_at)}};
}

std::optional<std::int64_t> parse_id(const std::string& text) {
  auto v = parse_integer<std::int64_t>(text);
  if (!v || *v < 1) return std::nullopt;
  return v;
}

DeadLetterFilter filter_of(const Request& req) {
  DeadLetterFilter f;
  f.channel_id = req.query_param("channel").value_or("");
  f.kind = req.query_param("kind").value_or("");
  f.reason = req.query_param("reason").value_or("");
  return f;
}

}  // namespace

void Api::add_dlq_routes() {
  const Access read = Access::needs(Permission::system_read);
  const Access requeue = Access::needs(Permission::alerts_write);
  const Access purge = Access::needs(Permission::system_admin);
  auto unavailable = [](const Request& req) {
    return problem(503, "unavailable", "notification delivery is not running on this server", req);
  };
  auto not_found = [](const Request& req) {
    return problem(404, "not-found", "no dead letter '" + req.param("id") + "'", req);
  };

  router_.add(Method::kGet, "/api/v1/dlq", read, [this](Request& req) {
    Paging paging;
    if (auto err = parse_paging(req, paging)) return *err;
    DeadLetterQuery q;
    q.filter = filter_of(req);
    q.limit = paging.limit;
    if (!paging.after.empty()) {
      auto before = parse_id(paging.after);
      if (!before)
        return problem(400, "bad-request", "cursor is not valid; use the next_cursor of a previous page", req);
      q.before_id = *before;
    }
    auto page = deps_.store->list_dead_letters(q);
    if (!page.ok()) return status_problem(page.status(), req);
    json items = json::array();
    for (const auto& d : page->items) items.push_back(letter_to_json(d));
    json doc{{"items", std::move(items)}};
    if (page->next_after) doc["next_cursor"] = encode_cursor(*page->next_after);
    return Response::json(200, doc);
  });

  router_.add(Method::kGet, "/api/v1/dlq/{id}", read, [this, not_found](Request& req) {
    auto id = parse_id(req.param("id"));
    if (!id) return not_found(req);
    auto d = deps_.store->get_dead_letter(*id);
    if (!d.ok()) return status_problem(d.status(), req);
    return Response::json(200, letter_to_json(*d));
  });

  router_.add(Method::kPost, "/api/v1/dlq/{id}/requeue", requeue, [this, unavailable, not_found](Request& req) {
    if (deps_.notifications == nullptr) return unavailable(req);
    auto id = parse_id(req.param("id"));
    if (!id) return not_found(req);
    Status s = deps_.notifications->requeue(*id);
    if (!s.ok()) {
      if (s.code() == StatusCode::kResourceExhausted) {
        Response r = problem(429, "too-many-requests", s.message(), req);
        r.set_header("Retry-After", "5");
        return r;
      }
      if (s.code() == StatusCode::kFailedPrecondition) return problem(409, "conflict", s.message(), req);
      return status_problem(s, req);
    }
    audit(req, "dlq.requeue", std::to_string(*id), "ok");
    return Response::json(202, json{{"requeued", 1}});
  });

  router_.add(Method::kPost, "/api/v1/dlq/requeue", requeue, [this, unavailable](Request& req) {
    if (deps_.notifications == nullptr) return unavailable(req);
    DeadLetterFilter f = filter_of(req);
    auto n = deps_.notifications->requeue_matching(f);
    if (!n.ok()) return status_problem(n.status(), req);
    auto left = deps_.store->count_dead_letters(f);
    audit(req, "dlq.requeue", "", "ok", {{"count", *n}, {"channel", f.channel_id}, {"kind", f.kind}});
    return Response::json(202, json{{"requeued", *n}, {"remaining", left.ok() ? *left : 0}});
  });

  router_.add(Method::kDelete, "/api/v1/dlq/{id}", purge, [this, not_found](Request& req) {
    auto id = parse_id(req.param("id"));
    if (!id) return not_found(req);
    Status s = deps_.store->delete_dead_letter(*id);
    if (!s.ok()) return status_problem(s, req);
    audit(req, "dlq.delete", std::to_string(*id), "ok");
    return Response::empty(204);
  });

  router_.add(Method::kDelete, "/api/v1/dlq", purge, [this](Request& req) {
    DeadLetterFilter f = filter_of(req);
    auto n = deps_.store->delete_dead_letters(f);
    if (!n.ok()) return status_problem(n.status(), req);
    audit(req, "dlq.purge", "", "ok", {{"count", *n}, {"channel", f.channel_id}, {"kind", f.kind}});
    return Response::json(200, json{{"purged", *n}});
  });
}

}  // namespace argus::api
