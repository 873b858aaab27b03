// Alerts: /api/v1/alerts/rules (CRUD), /api/v1/alerts (list, get) and
// /api/v1/alerts/{id}/ack.
//
// Camera scopes: a caller limited to some cameras sees only alerts of those cameras, and
// only rules that name cameras, all of which it may see; the rules it writes must name
// such cameras.
#include <charconv>
#include <variant>

#include "alerts/engine.h"
#include "alerts/rules.h"
#include "api/api.h"
#include "api/json_body.h"
#include "api/problem.h"
#include "auth/principal.h"
#include "bus/bus.h"
#include "core/ids.h"
#include "store/store.h"

namespace argus::api {
namespace {

using auth::Permission;
using nlohmann::json;

// True if a caller with a camera scope may see and manage `rule`.
bool rule_visible(const Request& req, const alerts::Rule& rule) {
  if (!req.principal || !req.principal->cameras) return true;
  if (rule.cameras.empty()) return false;
  for (const auto& c : rule.cameras) {
    if (!req.principal->can_see_camera(c)) return false;
  }
  return true;
}

void check_rule_scope(const Request& req, const alerts::Rule& rule, FieldErrors& errors) {
  if (rule_visible(req, rule)) return;
  errors.push_back({"/cameras", "must list cameras, each one you may see (your access is limited to some cameras)"});
}

Response rule_not_found(const Request& req) {
  return problem(404, "not-found", "alert rule '" + req.param("id") + "' does not exist", req);
}

}  // namespace

void Api::add_alert_routes() {
  const Access read = Access::needs(Permission::alerts_read);
  const Access write = Access::needs(Permission::alerts_write);
  auto reload = [this] {
    if (deps_.alert_engine != nullptr) deps_.alert_engine->reload();
  };
  // The stored rule if it exists and the caller may see it; else a 404 response.
  auto visible_rule = [this](const Request& req) -> std::variant<alerts::Rule, Response> {
    auto rec = deps_.store->get_alert_rule(req.param("id"));
    if (!rec.ok()) {
      if (rec.status().code() == StatusCode::kNotFound) return rule_not_found(req);
      return status_problem(rec.status(), req);
    }
    auto rule = alerts::rule_from_record(*rec);
    if (!rule.ok()) return status_problem(Status::internal(rule.status().message()), req);
    if (!rule_visible(req, *rule)) return rule_not_found(req);
    return std::move(rule).value();
  };

  router_.add(Method::kGet, "/api/v1/alerts/rules", read, [this](Request& req) {
    Paging paging;
    if (auto err = parse_paging(req, paging)) return *err;
    json items = json::array();
    PageRequest page{paging.after, paging.limit};
    std::optional<std::string> next;
    // A scoped caller's pages may hold fewer than limit (like GET /api/v1/cameras).
    auto got = deps_.store->list_alert_rules(page);
    if (!got.ok()) return status_problem(got.status(), req);
    for (const auto& rec : got->items) {
      auto rule = alerts::rule_from_record(rec);
      if (rule.ok() && rule_visible(req, *rule)) items.push_back(alerts::rule_to_json(*rule));
    }
    json doc{{"items", std::move(items)}};
    if (got->next_after) doc["next_cursor"] = encode_cursor(*got->next_after);
    return Response::json(200, doc);
  });

  router_.add(Method::kPost, "/api/v1/alerts/rules", write, [this, reload](Request& req) {
    json body;
    if (auto err = parse_json_body(req, body)) return *err;
    FieldErrors errors;
    alerts::Rule rule = alerts::parse_rule(body, errors);
    if (errors.empty()) check_rule_scope(req, rule, errors);
    if (!errors.empty()) return validation_problem(errors, req);
    rule.id = "rule-" + random_hex_id(6);
    auto saved = deps_.store->create_alert_rule(alerts::rule_to_record(rule));
    if (!saved.ok()) {
      audit(req, "alert_rule.create", rule.id, "failed", {{"reason", saved.status().message()}});
      return status_problem(saved.status(), req);
    }
    rule.created_at = saved->created_at;
    rule.updated_at = saved->updated_at;
    reload();
    audit(req, "alert_rule.create", rule.id, "ok", {{"name", rule.name}});
    Response r = Response::json(201, alerts::rule_to_json(rule));
    r.set_header("Location", "/api/v1/alerts/rules/" + rule.id);
    return r;
  });

  router_.add(Method::kGet, "/api/v1/alerts/rules/{id}", read, [visible_rule](Request& req) {
    auto rule = visible_rule(req);
    if (auto* r = std::get_if<Response>(&rule)) return std::move(*r);
    return Response::json(200, alerts::rule_to_json(std::get<alerts::Rule>(rule)));
  });

  // Replaces the fields the body gives (condition and schedule as a whole); null removes
  // an optional field (zone, line, schedule) or restores a default.
  router_.add(Method::kPatch, "/api/v1/alerts/rules/{id}", write, [this, reload, visible_rule](Request& req) {
    json body;
    if (auto err = parse_json_body(req, body, {"application/merge-patch+json"})) return *err;
    if (!body.is_object()) return validation_problem({{"", "the body must be a JSON object"}}, req);
    auto found = visible_rule(req);
    if (auto* r = std::get_if<Response>(&found)) return std::move(*r);
    const alerts::Rule& old = std::get<alerts::Rule>(found);
    json spec = alerts::rule_spec(old);
    for (const auto& [key, value] : body.items()) {
      if (value.is_null() && key != "id" && key != "created_at" && key != "updated_at") {
        spec.erase(key);
      } else {
        spec[key] = value;
      }
    }
    FieldErrors errors;
    alerts::Rule rule = alerts::parse_rule(spec, errors);
    if (errors.empty()) check_rule_scope(req, rule, errors);
    if (!errors.empty()) return validation_problem(errors, req);
    rule.id = old.id;
    rule.created_at = old.created_at;
    auto saved = deps_.store->update_alert_rule(alerts::rule_to_record(rule));
    if (!saved.ok()) {
      if (saved.status().code() == StatusCode::kNotFound) return rule_not_found(req);
      audit(req, "alert_rule.update", rule.id, "failed", {{"reason", saved.status().message()}});
      return status_problem(saved.status(), req);
    }
    rule.created_at = saved->created_at;
    rule.updated_at = saved->updated_at;
    reload();
    audit(req, "alert_rule.update", rule.id, "ok", {{"fields", [&] {
                                                       json keys = json::array();
                                                       for (const auto& [k, _] : body.items()) keys.push_back(k);
                                                       return keys;
                                                     }()}});
    return Response::json(200, alerts::rule_to_json(rule));
  });

  router_.add(Method::kDelete, "/api/v1/alerts/rules/{id}", write, [this, reload, visible_rule](Request& req) {
    auto found = visible_rule(req);
    if (auto* r = std::get_if<Response>(&found)) return std::move(*r);
    Status s = deps_.store->delete_alert_rule(req.param("id"));
    if (!s.ok()) {
      if (s.code() == StatusCode::kNotFound) return rule_not_found(req);
      audit(req, "alert_rule.delete", req.param("id"), "failed", {{"reason", s.message()}});
      return status_problem(s, req);
    }
    reload();
    audit(req, "alert_rule.delete", req.param("id"), "ok");
    return Response::empty(204);
  });

  // The alert if it exists and the caller may see its camera; else a 404 response.
  auto visible_alert = [this](const Request& req) -> std::variant<AlertRecord, Response> {
    auto a = deps_.store->get_alert(req.param("id"));
    if (!a.ok()) return status_problem(a.status(), req);
    if (req.principal && !req.principal->can_see_camera(a->camera_id)) {
      return problem(404, "not-found", "alert '" + req.param("id") + "' does not exist", req);
    }
    return std::move(a).value();
  };

  router_.add(Method::kGet, "/api/v1/alerts", read, [this](Request& req) {
    Paging paging;
    if (auto err = parse_paging(req, paging)) return *err;
    AlertQuery q;
    q.limit = paging.limit;
    q.after = paging.after;
    if (auto v = req.query_param("state")) {
      if (*v != "firing" && *v != "resolved")
        return problem(400, "bad-request", "state must be firing or resolved", req);
      q.state = *v;
    }
    if (auto v = req.query_param("severity")) {
      if (*v != "info" && *v != "warning" && *v != "critical") {
        return problem(400, "bad-request", "severity must be info, warning or critical", req);
      }
      q.severity = *v;
    }
    q.rule_id = req.query_param("rule_id").value_or("");
    if (auto v = req.query_param("camera")) {
      if (v->empty()) return problem(400, "bad-request", "camera must not be empty when given", req);
      if (auto hidden = hide_camera(req, *v)) return *hidden;
      q.camera = *v;
    } else if (req.principal && req.principal->cameras) {
      q.cameras = req.principal->cameras;
    }
    if (auto v = req.query_param("acknowledged")) {
      if (*v != "true" && *v != "false") return problem(400, "bad-request", "acknowledged must be true or false", req);
      q.acknowledged = *v == "true";
    }
    if (auto err = parse_time_param(req, "from", q.from)) return *err;
    if (auto err = parse_time_param(req, "to", q.to)) return *err;
    if (q.from != 0 && q.to != 0 && q.from >= q.to) return problem(400, "bad-request", "from must be before to", req);
    auto page = deps_.store->list_alerts(q);
    if (!page.ok()) return status_problem(page.status(), req);
    json items = json::array();
    for (const auto& a : page->items) items.push_back(alerts::alert_to_json(a));
    json doc{{"items", std::move(items)}};
    if (page->next_after) doc["next_cursor"] = encode_cursor(*page->next_after);
    return Response::json(200, doc);
  });

  router_.add(Method::kGet, "/api/v1/alerts/{id}", read, [visible_alert](Request& req) {
    auto a = visible_alert(req);
    if (auto* r = std::get_if<Response>(&a)) return std::move(*r);
    return Response::json(200, alerts::alert_to_json(std::get<AlertRecord>(a)));
  });

  // Idempotent: the first acknowledgement is kept (and published on `alerts`); later ones
  // answer the alert as stored.
  router_.add(Method::kPost, "/api/v1/alerts/{id}/ack", write, [this, visible_alert](Request& req) {
    auto a = visible_alert(req);
    if (auto* r = std::get_if<Response>(&a)) return std::move(*r);
    const std::string actor = req.principal ? req.principal->actor() : std::string("anonymous");
    const bool already = std::get<AlertRecord>(a).acknowledged_at != 0;
    auto acked = deps_.store->acknowledge_alert(req.param("id"), deps_.clock->now_ms(), actor);
    if (!acked.ok()) return status_problem(acked.status(), req);
    json view = alerts::alert_to_json(*acked);
    if (!already) {
      audit(req, "alert.ack", acked->id, "ok", {{"rule", acked->rule_id}, {"camera", acked->camera_id}});
      if (deps_.bus != nullptr)
        deps_.bus->publish(bus::kAlerts, acked->camera_id, {{"type", "acknowledged"}, {"alert", view}});
    }
    return Response::json(200, view);
  });
}

}  // namespace argus::api
