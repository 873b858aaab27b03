// Notification channels: /api/v1/notifications/channels, /api/v1/notifications/channels/{id},
// /api/v1/notifications/channels/{id}/test.
#include "alerts/channels.h"
#include "alerts/delivery.h"
#include "api/api.h"
#include "api/json_body.h"
#include "api/problem.h"
#include "auth/principal.h"
#include "store/store.h"

namespace argus::api {
namespace {

using auth::Permission;
using nlohmann::json;

}  // namespace

void Api::add_notification_routes() {
  const Access read = Access::needs(Permission::alerts_read);
  const Access write = Access::needs(Permission::alerts_write);

  router_.add(Method::kGet, "/api/v1/notifications/channels", read, [this](Request& req) {
    Paging paging;
    if (auto err = parse_paging(req, paging)) return *err;
    auto page = deps_.store->list_channels(PageRequest{paging.after, paging.limit});
    if (!page.ok()) return status_problem(page.status(), req);
    json items = json::array();
    for (const auto& r : page->items) {
      auto ch = alerts::channel_from_record(r);
      if (ch.ok()) items.push_back(alerts::channel_to_json(*ch));
    }
    json doc{{"items", std::move(items)}};
    if (page->next_after) doc["next_cursor"] = encode_cursor(*page->next_after);
    return Response::json(200, doc);
  });

  router_.add(Method::kPost, "/api/v1/notifications/channels", write, [this](Request& req) {
    json body;
    if (auto err = parse_json_body(req, body)) return *err;
    FieldErrors errors;
    auto ch = alerts::channel_from_json(body, errors);
    if (!ch.ok()) return validation_problem(errors, req);
    auto stored = deps_.store->create_channel(alerts::channel_to_record(*ch));
    if (!stored.ok()) return status_problem(stored.status(), req);
    auto out = alerts::channel_from_record(*stored);
    if (!out.ok()) return status_problem(out.status(), req);
    audit(req, "channel.create", out->id, "ok", {{"type", alerts::channel_type_name(out->type)}});
    Response r = Response::json(201, alerts::channel_to_json(*out));
    r.set_header("Location", "/api/v1/notifications/channels/" + out->id);
    return r;
  });

  router_.add(Method::kGet, "/api/v1/notifications/channels/{id}", read, [this](Request& req) {
    auto stored = deps_.store->get_channel(req.param("id"));
    if (!stored.ok()) return status_problem(stored.status(), req);
    auto ch = alerts::channel_from_record(*stored);
    if (!ch.ok()) return status_problem(ch.status(), req);
    return Response::json(200, alerts::channel_to_json(*ch));
  });

  router_.add(Method::kPatch, "/api/v1/notifications/channels/{id}", write, [this](Request& req) {
    json body;
    if (auto err = parse_json_body(req, body)) return *err;
    auto stored = deps_.store->get_channel(req.param("id"));
    if (!stored.ok()) return status_problem(stored.status(), req);
    auto ch = alerts::channel_from_record(*stored);
    if (!ch.ok()) return status_problem(ch.status(), req);
    FieldErrors errors;
    if (!alerts::apply_channel_patch(*ch, body, errors)) return validation_problem(errors, req);
    // The version read above guards against a concurrent change in between (412).
    auto updated = deps_.store->update_channel(alerts::channel_to_record(*ch), stored->version);
    if (!updated.ok()) return status_problem(updated.status(), req);
    auto out = alerts::channel_from_record(*updated);
    if (!out.ok()) return status_problem(out.status(), req);
    audit(req, "channel.update", out->id, "ok");
    return Response::json(200, alerts::channel_to_json(*out));
  });

  router_.add(Method::kDelete, "/api/v1/notifications/channels/{id}", write, [this](Request& req) {
    const std::string id = req.param("id");
    Status s = deps_.store->delete_channel(id);
    if (!s.ok()) return status_problem(s, req);
    audit(req, "channel.delete", id, "ok");
    return Response::empty(204);
  });

  router_.add(Method::kPost, "/api/v1/notifications/channels/{id}/test", write, [this](Request& req) {
    if (deps_.notifications == nullptr) {
      return problem(503, "unavailable", "notification delivery is not running on this server", req);
    }
    const std::string id = req.param("id");
    json data{{"message", "This is a test notification from Argus."},
              {"requested_by", req.principal ? req.principal->actor() : std::string()}};
    auto report = deps_.notifications->test_send(id, std::move(data));
    if (!report.ok()) {
      if (report.status().code() == StatusCode::kResourceExhausted) {
        Response r = problem(429, "too-many-requests", report.status().message(), req);
        r.set_header("Retry-After", "5");
        return r;
      }
      return status_problem(report.status(), req);
    }
    audit(req, "channel.test", id, report->delivered ? "ok" : "failed");
    json doc{{"delivered", report->delivered}};
    if (!report->delivered) doc["error"] = report->error;
    return Response::json(200, doc);
  });
}

}  // namespace argus::api
