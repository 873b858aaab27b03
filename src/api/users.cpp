// Sign-in and who may do what: /api/v1/auth/*, /api/v1/users, /api/v1/users/me,
// /api/v1/keys, /api/v1/audit.
#include <charconv>

#include "api/api.h"
#include "api/json_body.h"
#include "api/problem.h"
#include "api/security.h"
#include "auth/auth_service.h"
#include "auth/signing_keys.h"
#include "bus/bus.h"
#include "store/store.h"

namespace argus::api {
namespace {

using auth::Permission;
using nlohmann::json;

std::string user_agent(const Request& req) {
  const std::string* ua = req.header("user-agent");
  return ua != nullptr ? ua->substr(0, 256) : std::string();
}

// After a change to who may do what: the gatekeeper forgets what it cached, and streams
// opened with the user's (or the key's) credentials end (the stream hub reads bus::kAuth).
void credentials_changed(const ApiDeps& deps, const std::string& user_id, const std::string& api_key_id,
                         const std::string& reason) {
  deps.gate->invalidate();
  if (deps.bus != nullptr) {
    deps.bus->publish(bus::kAuth, "", {{"user_id", user_id}, {"api_key_id", api_key_id}, {"reason", reason}});
  }
}

json time_or_null(UnixMillis t) { return t > 0 ? json(format_rfc3339(t)) : json(nullptr); }

json cameras_json(const std::optional<std::vector<std::string>>& cameras) {
  return cameras ? json(*cameras) : json(nullptr);
}

json user_json(const auth::User& u) {
  return {{"id", u.id},
          {"username", u.username},
          {"display_name", u.display_name},
          {"role", auth::role_name(u.role)},
          {"cameras", cameras_json(u.cameras)},
          {"disabled", u.disabled},
          {"settings", u.settings},
          {"created_at", time_or_null(u.created_at)},
          {"updated_at", time_or_null(u.updated_at)},
          {"password_changed_at", time_or_null(u.password_changed_at)},
          {"last_login_at", time_or_null(u.last_login_at)},
          {"version", u.version}};
}

json key_json(const auth::ApiKeyInfo& k) {
  return {{"id", k.id},
          {"user_id", k.user_id},
          {"name", k.name},
          {"permissions", k.permissions.names()},
          {"cameras", cameras_json(k.cameras)},
          {"created_at", time_or_null(k.created_at)},
          {"expires_at", time_or_null(k.expires_at)},
          {"revoked_at", time_or_null(k.revoked_at)},
          {"last_used_at", time_or_null(k.last_used_at)}};
}

json audit_json(const AuditRecord& a) {
  json details = json::parse(a.details.empty() ? "{}" : a.details, nullptr, false);
  if (details.is_discarded()) details = json::object();
  return {{"id", a.id},           {"time", format_rfc3339(a.time)},
          {"actor", a.actor},     {"actor_kind", a.actor_kind},
          {"ip", a.ip},           {"request_id", a.request_id},
          {"action", a.action},   {"target", a.target},
          {"outcome", a.outcome}, {"details", details}};
}

json tokens_json(const auth::TokenPair& t) {
  return {{"access_token", t.access_token},
          {"refresh_token", t.refresh_token},
          {"expires_in", t.expires_in},
          {"token_type", t.token_type}};
}

// A required string member; adds a field error when missing or not a string.
std::string string_field(const json& doc, const char* name, FieldErrors& errors, bool required = true) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) {
    if (required) errors.push_back({std::string("/") + name, "is required"});
    return {};
  }
  if (!it->is_string()) {
    errors.push_back({std::string("/") + name, "must be a string"});
    return {};
  }
  return it->get<std::string>();
}

// "cameras": null (every camera) or an array of camera ids.
std::optional<std::optional<std::vector<std::string>>> cameras_field(const json& doc, FieldErrors& errors) {
  auto it = doc.find("cameras");
  if (it == doc.end()) return std::nullopt;
  if (it->is_null()) return std::optional<std::vector<std::string>>{};
  if (!it->is_array()) {
    errors.push_back({"/cameras", "must be null (every camera) or an array of camera ids"});
    return std::nullopt;
  }
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string()) {
      errors.push_back({"/cameras/" + std::to_string(i), "must be a camera id (string)"});
      continue;
    }
    ids.push_back((*it)[i].get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(ids));
}

// Maps an AuthService status on the sign-in paths: locked accounts get 429 with Retry-After.
Response auth_problem(const Status& s, const Request& req) {
  if (auto wait = auth::login_retry_after_s(s)) {
    Response r = problem(429, "too-many-requests", s.message(), req);
    r.set_header("Retry-After", std::to_string(*wait));
    return r;
  }
  if (s.code() == StatusCode::kInvalidArgument) return validation_problem({{"", s.message()}}, req);
  if (s.code() == StatusCode::kFailedPrecondition) return problem(409, "conflict", s.message(), req);
  return status_problem(s, req);
}

// Parses the body as a JSON object; `shape` (may be "") names its members for the error message.
std::optional<Response> parse_object_body(const Request& req, json& doc, const char* shape,
                                          std::initializer_list<std::string_view> extra_types = {}) {
  if (auto err = parse_json_body(req, doc, extra_types)) return err;
  if (!doc.is_object()) {
    return validation_problem({{"", std::string("must be an object") + (*shape != '\0' ? " " : "") + shape}}, req);
  }
  return std::nullopt;
}

std::optional<Response> user_only(const Request& req) {
  if (req.principal && req.principal->kind == auth::PrincipalKind::user) return std::nullopt;
  return problem(403, "forbidden", "this needs a signed-in user, not an API key", req);
}

}  // namespace

void Api::add_auth_routes() {
  router_.add(Method::kPost, "/api/v1/auth/login", Access::sign_in(), [this](Request& req) {
    json doc;
    if (auto err = parse_object_body(req, doc, "{username, password}")) return *err;
    FieldErrors errors;
    std::string username = string_field(doc, "username", errors);
    std::string password = string_field(doc, "password", errors);
    if (!errors.empty()) return validation_problem(errors, req);
    auto tokens = deps_.auth->login(username, password, req.client_ip(), user_agent(req));
    if (!tokens.ok()) return auth_problem(tokens.status(), req);
    return Response::json(200, tokens_json(*tokens));
  });

  router_.add(Method::kPost, "/api/v1/auth/refresh", Access::sign_in(), [this](Request& req) {
    json doc;
    if (auto err = parse_object_body(req, doc, "{refresh_token}")) return *err;
    FieldErrors errors;
    std::string token = string_field(doc, "refresh_token", errors);
    if (!errors.empty()) return validation_problem(errors, req);
    auto tokens = deps_.auth->refresh(token, req.client_ip(), user_agent(req));
    if (!tokens.ok()) return auth_problem(tokens.status(), req);
    return Response::json(200, tokens_json(*tokens));
  });

  router_.add(Method::kPost, "/api/v1/auth/logout", Access::sign_in(), [this](Request& req) {
    json doc;
    if (auto err = parse_object_body(req, doc, "{refresh_token}")) return *err;
    FieldErrors errors;
    std::string token = string_field(doc, "refresh_token", errors);
    if (!errors.empty()) return validation_problem(errors, req);
    if (Status s = deps_.auth->logout(token); !s.ok()) return status_problem(s, req);
    return Response::empty(204);
  });

  router_.add(Method::kPost, "/api/v1/auth/ticket", Access::authenticated(), [this](Request& req) {
    auto t = deps_.auth->issue_ticket(*req.principal);
    if (!t.ok()) return status_problem(t.status(), req);
    return Response::json(201, {{"ticket", t->ticket}, {"expires_at", format_rfc3339(t->expires_at)}});
  });
}

void Api::add_user_routes() {
  const Access admin = Access::needs(Permission::users_admin);

  router_.add(Method::kGet, "/api/v1/users", admin, [this](Request& req) {
    Paging paging;
    if (auto err = parse_paging(req, paging)) return *err;
    auto page = deps_.auth->list_users({paging.after, paging.limit});
    if (!page.ok()) return status_problem(page.status(), req);
    json items = json::array();
    for (const auto& u : page->items) items.push_back(user_json(u));
    json doc{{"items", std::move(items)}};
    if (page->next_after) doc["next_cursor"] = encode_cursor(*page->next_after);
    return Response::json(200, doc);
  });

  router_.add(Method::kPost, "/api/v1/users", admin, [this](Request& req) {
    json doc;
    if (auto err = parse_object_body(req, doc, "")) return *err;
    FieldErrors errors;
    auth::NewUser u;
    u.username = string_field(doc, "username", errors);
    u.password = string_field(doc, "password", errors);
    u.display_name = string_field(doc, "display_name", errors, false);
    std::string role = string_field(doc, "role", errors, false);
    if (!role.empty()) {
      if (auto r = auth::parse_role(role)) {
        u.role = *r;
      } else {
        errors.push_back({"/role", "must be admin, operator or viewer"});
      }
    }
    if (auto c = cameras_field(doc, errors)) u.cameras = *c;
    if (doc.contains("settings")) u.settings = doc["settings"];
    if (!errors.empty()) return validation_problem(errors, req);
    auto created = deps_.auth->create_user(u);
    if (!created.ok()) {
      audit(req, "user.create", u.username, "failed", {{"reason", created.status().message()}});
      if (created.status().code() == StatusCode::kAlreadyExists) {
        return problem(409, "conflict", created.status().message(), req);
      }
      return auth_problem(created.status(), req);
    }
    audit(req, "user.create", created->id, "ok",
          {{"username", created->username}, {"role", auth::role_name(created->role)}});
    Response r = Response::json(201, user_json(*created));
    r.set_header("Location", "/api/v1/users/" + created->id);
    return r;
  });

  router_.add(Method::kGet, "/api/v1/users/me", Access::authenticated(), [this](Request& req) {
    auto u = deps_.auth->get_user(req.principal->user_id);
    if (!u.ok()) return status_problem(u.status(), req);
    json doc = user_json(*u);
    doc["permissions"] = req.principal->permissions.names();
    doc["via"] = auth::principal_kind_name(req.principal->kind);
    return Response::json(200, doc);
  });

  router_.add(Method::kPatch, "/api/v1/users/me", Access::authenticated(), [this](Request& req) {
    if (auto err = user_only(req)) return *err;
    json doc;
    if (auto err = parse_object_body(req, doc, "", {"application/merge-patch+json"})) return *err;
    for (const char* forbidden : {"role", "cameras", "disabled", "username", "id"}) {
      if (doc.contains(forbidden)) {
        audit(req, "user.update_self", req.principal->user_id, "denied", {{"field", forbidden}});
        return problem(403, "forbidden",
                       std::string("you cannot change your own ") + forbidden + "; an administrator can", req);
      }
    }
    FieldErrors errors;
    auth::UserPatch p;
    if (doc.contains("display_name")) p.display_name = string_field(doc, "display_name", errors);
    if (doc.contains("settings")) p.settings = doc["settings"];
    for (const auto& [k, _] : doc.items()) {
      if (k != "display_name" && k != "settings") errors.push_back({"/" + k, "unknown field"});
    }
    if (!errors.empty()) return validation_problem(errors, req);
    auto u = deps_.auth->update_user(req.principal->user_id, p);
    if (!u.ok()) return auth_problem(u.status(), req);
    return Response::json(200, user_json(*u));
  });

  router_.add(Method::kPost, "/api/v1/users/me/password", Access::authenticated(), [this](Request& req) {
    if (auto err = user_only(req)) return *err;
    json doc;
    if (auto err = parse_object_body(req, doc, "{current_password, new_password}")) return *err;
    FieldErrors errors;
    std::string current = string_field(doc, "current_password", errors);
    std::string next = string_field(doc, "new_password", errors);
    if (!errors.empty()) return validation_problem(errors, req);
    auto tokens = deps_.auth->change_password(req.principal->user_id, current, next, req.client_ip(), user_agent(req));
    if (!tokens.ok()) return auth_problem(tokens.status(), req);
    credentials_changed(deps_, req.principal->user_id, "", "the password was changed");
    return Response::json(200, tokens_json(*tokens));
  });

  router_.add(Method::kGet, "/api/v1/users/{id}", admin, [this](Request& req) {
    auto u = deps_.auth->get_user(req.param("id"));
    if (!u.ok()) return status_problem(u.status(), req);
    return Response::json(200, user_json(*u));
  });

  router_.add(Method::kPatch, "/api/v1/users/{id}", admin, [this](Request& req) {
    json doc;
    if (auto err = parse_object_body(req, doc, "", {"application/merge-patch+json"})) return *err;
    const std::string& id = req.param("id");
    if (id == req.principal->user_id && (doc.contains("role") || doc.contains("cameras") || doc.contains("disabled"))) {
      audit(req, "user.update", id, "denied", {{"reason", "own role, scope or state"}});
      return problem(403, "forbidden", "you cannot change your own role, camera scope or disabled state", req);
    }
    FieldErrors errors;
    auth::UserPatch p;
    if (doc.contains("role")) {
      std::string role = string_field(doc, "role", errors);
      if (auto r = auth::parse_role(role)) {
        p.role = *r;
      } else if (!role.empty()) {
        errors.push_back({"/role", "must be admin, operator or viewer"});
      }
    }
    if (auto c = cameras_field(doc, errors)) p.cameras = *c;
    if (doc.contains("disabled")) {
      if (doc["disabled"].is_boolean()) {
        p.disabled = doc["disabled"].get<bool>();
      } else {
        errors.push_back({"/disabled", "must be true or false"});
      }
    }
    if (doc.contains("display_name")) p.display_name = string_field(doc, "display_name", errors);
    if (doc.contains("settings")) p.settings = doc["settings"];
    for (const auto& [k, _] : doc.items()) {
      if (k != "role" && k != "cameras" && k != "disabled" && k != "display_name" && k != "settings") {
        errors.push_back({"/" + k, "unknown field"});
      }
    }
    if (!errors.empty()) return validation_problem(errors, req);
    auto u = deps_.auth->update_user(id, p);
    if (!u.ok()) {
      audit(req, "user.update", id, "failed", {{"reason", u.status().message()}});
      return auth_problem(u.status(), req);
    }
    if (doc.contains("role") || doc.contains("cameras") || doc.contains("disabled")) {
      credentials_changed(deps_, id, "", "the user's role, cameras or status changed");
    }
    json fields = json::array();
    for (const auto& [k, _] : doc.items()) fields.push_back(k);
    audit(req, "user.update", id, "ok", {{"fields", fields}});
    return Response::json(200, user_json(*u));
  });

  router_.add(Method::kDelete, "/api/v1/users/{id}", admin, [this](Request& req) {
    const std::string& id = req.param("id");
    if (id == req.principal->user_id) return problem(409, "conflict", "you cannot delete yourself", req);
    Status s = deps_.auth->delete_user(id);
    if (!s.ok()) {
      audit(req, "user.delete", id, "failed", {{"reason", s.message()}});
      return auth_problem(s, req);
    }
    credentials_changed(deps_, id, "", "the user was deleted");
    audit(req, "user.delete", id, "ok");
    return Response::empty(204);
  });

  router_.add(Method::kPost, "/api/v1/users/{id}/password", admin, [this](Request& req) {
    json doc;
    if (auto err = parse_object_body(req, doc, "{password}")) return *err;
    FieldErrors errors;
    std::string password = string_field(doc, "password", errors);
    if (!errors.empty()) return validation_problem(errors, req);
    const std::string& id = req.param("id");
    Status s = deps_.auth->reset_password(id, password);
    if (!s.ok()) {
      audit(req, "user.password_reset", id, "failed", {{"reason", s.message()}});
      return auth_problem(s, req);
    }
    credentials_changed(deps_, id, "", "the password was reset");
    audit(req, "user.password_reset", id, "ok");
    return Response::empty(204);
  });

  // --- API keys ---
  const Access keys = Access::needs(Permission::keys_manage);
  router_.add(Method::kGet, "/api/v1/keys", keys, [this](Request& req) {
    Paging paging;
    if (auto err = parse_paging(req, paging)) return *err;
    // Administrators may list everyone's keys with ?all=true.
    bool all = req.query_param("all").value_or("") == "true" && req.principal->can(Permission::users_admin);
    auto page = deps_.auth->list_api_keys(all ? "" : req.principal->user_id, {paging.after, paging.limit});
    if (!page.ok()) return status_problem(page.status(), req);
    json items = json::array();
    for (const auto& k : page->items) items.push_back(key_json(k));
    json doc{{"items", std::move(items)}};
    if (page->next_after) doc["next_cursor"] = encode_cursor(*page->next_after);
    return Response::json(200, doc);
  });

  router_.add(Method::kPost, "/api/v1/keys", keys, [this](Request& req) {
    if (auto err = user_only(req)) return *err;
    json doc;
    if (auto err = parse_object_body(req, doc, "{name, permissions}")) return *err;
    FieldErrors errors;
    auth::NewApiKey k;
    k.owner_user_id = req.principal->user_id;
    k.name = string_field(doc, "name", errors);
    auto perms = doc.find("permissions");
    if (perms == doc.end() || !perms->is_array() || perms->empty()) {
      errors.push_back({"/permissions", "is required: a non-empty array of permission names"});
    } else {
      std::vector<std::string> names;
      for (const auto& p : *perms) {
        if (p.is_string()) names.push_back(p.get<std::string>());
      }
      if (names.size() != perms->size()) errors.push_back({"/permissions", "must hold strings only"});
      auto set = auth::PermissionSet::parse(names);
      if (set.ok()) {
        k.permissions = *set;
      } else {
        errors.push_back({"/permissions", set.status().message()});
      }
    }
    if (auto c = cameras_field(doc, errors)) k.cameras = *c;
    if (auto exp = doc.find("expires_at"); exp != doc.end() && !exp->is_null()) {
      std::optional<UnixMillis> t = exp->is_string() ? parse_rfc3339(exp->get<std::string>()) : std::nullopt;
      if (t) {
        k.expires_at = *t;
      } else {
        errors.push_back({"/expires_at", "must be an RFC 3339 time or null"});
      }
    }
    if (!errors.empty()) return validation_problem(errors, req);
    auto created = deps_.auth->create_api_key(k);
    if (!created.ok()) {
      audit(req, "key.create", k.name, created.status().code() == StatusCode::kPermissionDenied ? "denied" : "failed",
            {{"reason", created.status().message()}});
      return auth_problem(created.status(), req);
    }
    audit(req, "key.create", created->info.id, "ok",
          {{"name", created->info.name}, {"permissions", created->info.permissions.names()}});
    json out = key_json(created->info);
    out["key"] = created->key;
    Response r = Response::json(201, out);
    r.set_header("Location", "/api/v1/keys/" + created->info.id);
    return r;
  });

  router_.add(Method::kDelete, "/api/v1/keys/{id}", keys, [this](Request& req) {
    const std::string& id = req.param("id");
    std::optional<std::string> owner;
    if (!req.principal->can(Permission::users_admin)) owner = req.principal->user_id;
    Status s = deps_.auth->revoke_api_key(id, owner);
    if (!s.ok()) return status_problem(s, req);
    credentials_changed(deps_, "", id, "the API key was revoked");
    audit(req, "key.revoke", id, "ok");
    return Response::empty(204);
  });

  // A fresh JWT signing key: new tokens use it; tokens signed with the previous key stay
  // valid until they expire.
  router_.add(Method::kPost, "/api/v1/system/signing-key/rotate", Access::needs(Permission::system_admin),
              [this](Request& req) {
                if (deps_.signing_keys == nullptr) return problem(503, "unavailable", "no key ring", req);
                Status s = deps_.signing_keys->rotate();
                audit(req, "system.signing_key_rotate", "", s.ok() ? "ok" : "failed");
                if (!s.ok()) return status_problem(s, req);
                return Response::json(
                    200, {{"current", deps_.signing_keys->current().id}, {"verifying", deps_.signing_keys->key_ids()}});
              });

  // --- audit ---
  router_.add(Method::kGet, "/api/v1/audit", Access::needs(Permission::audit_read), [this](Request& req) {
    Paging paging;
    if (auto err = parse_paging(req, paging)) return *err;
    AuditQuery q;
    q.limit = paging.limit;
    q.after = paging.after;
    q.actor = req.query_param("actor").value_or("");
    q.action = req.query_param("action").value_or("");
    q.outcome = req.query_param("outcome").value_or("");
    q.target = req.query_param("target").value_or("");
    for (auto [name, out] : {std::pair{"from", &q.from}, std::pair{"to", &q.to}}) {
      if (auto v = req.query_param(name)) {
        auto t = parse_rfc3339(*v);
        if (!t) return problem(400, "bad-request", std::string(name) + " must be an RFC 3339 time", req);
        *out = *t;
      }
    }
    auto page = deps_.auth->list_audit(q);
    if (!page.ok()) return status_problem(page.status(), req);
    json items = json::array();
    for (const auto& a : page->items) items.push_back(audit_json(a));
    json doc{{"items", std::move(items)}};
    if (page->next_after) doc["next_cursor"] = encode_cursor(*page->next_after);
    return Response::json(200, doc);
  });
}

}  // namespace argus::api
