// The cameras resource: /api/v1/cameras and /api/v1/cameras/{id}.
#include "api/api.h"
#include "api/cameras_cache.h"
#include "api/json_body.h"
#include "api/problem.h"
#include "auth/principal.h"
#include "core/url_guard.h"
#include "bus/bus.h"
#include "store/store.h"

namespace argus::api {

namespace {

nlohmann::json camera_view(const Camera& c, const CameraStatusSource& status) {
  nlohmann::json j = camera_to_json(c);
  j["status"] = status.status(c);
  return j;
}

Response with_etag(Response r, const std::string& etag) {
  r.set_header("ETag", etag);
  return r;
}

// The ETag of a camera covers its configuration (everything a client can change) and
// timestamps, not the live status: a PATCH guarded by If-Match must not fail because the
// camera's frame rate moved.
std::string camera_etag(const Camera& c) {
  return make_etag(camera_to_json(c, {.mask_credentials = false, .include_meta = true}).dump());
}

// Refuses a camera source URL that the SSRF guard does not allow (422 with a pointer).
// A host that does not resolve now is accepted: the camera may come up later, and its
// status will say why it cannot connect.
std::optional<Response> check_source_url(const UrlGuard* guard, const Camera& cam, const Request& req) {
  if (guard == nullptr) return std::nullopt;
  if (cam.source.kind != SourceKind::kStream && cam.source.kind != SourceKind::kMjpeg &&
      cam.source.kind != SourceKind::kSnapshot) {
    return std::nullopt;
  }
  Status s = guard->check_url(cam.source.url);
  if (s.ok() || s.code() == StatusCode::kUnavailable) return std::nullopt;
  return validation_problem({{"/source/url", s.message()}}, req);
}

}  // namespace

void Api::publish_camera(const std::string& type, const Camera& camera) {
  if (deps_.bus == nullptr) return;
  deps_.bus->publish(bus::kCameras, camera.id, {{"type", type}, {"camera", camera_view(camera, *deps_.status)}});
}

void Api::add_camera_routes() {
  cache_ = std::make_unique<CamerasCache>();
  router_.add(Method::kGet, "/api/v1/cameras", Access::needs(auth::Permission::cameras_read), [this](Request& r) { return list_cameras(r); });
  router_.add(Method::kPost, "/api/v1/cameras", Access::needs(auth::Permission::cameras_write), [this](Request& r) { return create_camera(r); });
  router_.add(Method::kGet, "/api/v1/cameras/{id}", Access::needs(auth::Permission::cameras_read), [this](Request& r) { return get_camera(r); });
  router_.add(Method::kPatch, "/api/v1/cameras/{id}", Access::needs(auth::Permission::cameras_write), [this](Request& r) { return patch_camera(r); });
  router_.add(Method::kDelete, "/api/v1/cameras/{id}", Access::needs(auth::Permission::cameras_write), [this](Request& r) { return delete_camera(r); });
}

Response Api::list_cameras(Request& req) {
  Paging paging;
  if (auto err = parse_paging(req, paging)) return *err;
  if (req.principal && req.principal->cameras) {
    // A caller limited to some cameras sees only those (pages may hold fewer than limit).
    auto page = deps_.store->list_cameras({paging.after, paging.limit});
    if (!page.ok()) return status_problem(page.status(), req);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& c : page->items) {
      if (req.principal->can_see_camera(c.id)) items.push_back(camera_view(c, *deps_.status));
    }
    nlohmann::json doc{{"items", std::move(items)}};
    if (page->next_after) doc["next_cursor"] = encode_cursor(*page->next_after);
    return Response::json(200, doc);
  }
  const std::uint64_t cam_rev = deps_.store->cameras_revision();
  const std::uint64_t status_rev = deps_.status->revision();
  std::string key = std::to_string(paging.limit) + "\n" + paging.after;

  std::shared_ptr<const std::string> body;
  std::string etag;
  {
    std::lock_guard lock(cache_->mu);
    auto it = cache_->entries.find(key);
    if (it != cache_->entries.end() && it->second.camera_revision == cam_rev &&
        it->second.status_revision == status_rev) {
      body = it->second.body;
      etag = it->second.etag;
    }
  }
  if (!body) {
    auto page = deps_.store->list_cameras({paging.after, paging.limit});
    if (!page.ok()) return status_problem(page.status(), req);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& c : page->items) items.push_back(camera_view(c, *deps_.status));
    nlohmann::json doc{{"items", std::move(items)}};
    if (page->next_after) doc["next_cursor"] = encode_cursor(*page->next_after);
    body = std::make_shared<const std::string>(doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    etag = make_etag(*body);
    std::lock_guard lock(cache_->mu);
    if (cache_->entries.size() >= CamerasCache::kMaxEntries) cache_->entries.clear();
    cache_->entries[key] = {cam_rev, status_rev, body, etag};
  }
  if (const std::string* inm = req.header("if-none-match"); inm != nullptr && etag_matches(*inm, etag)) {
    return with_etag(Response::empty(304), etag);
  }
  return with_etag(Response::bytes(200, std::move(body), "application/json"), etag);
}

Response Api::create_camera(Request& req) {
  nlohmann::json doc;
  if (auto err = parse_json_body(req, doc)) return *err;
  Camera cam;
  FieldErrors errors;
  camera_from_json(doc, cam, errors);
  if (!errors.empty()) return validation_problem(errors, req);
  if (req.principal && req.principal->cameras) {
    return problem(403, "forbidden", "a caller limited to some cameras cannot create cameras", req);
  }
  if (auto refused = check_source_url(deps_.camera_urls, cam, req)) return *refused;
  auto created = deps_.store->create_camera(std::move(cam));
  if (!created.ok()) {
    if (created.status().code() == StatusCode::kAlreadyExists) {
      return problem(409, "conflict", "a camera with id '" + doc["id"].get<std::string>() + "' already exists", req);
    }
    return status_problem(created.status(), req);
  }
  publish_camera("created", *created);
  audit(req, "camera.create", created->id, "ok");
  Response r = Response::json(201, camera_view(*created, *deps_.status));
  r.set_header("Location", "/api/v1/cameras/" + created->id);
  r.set_header("ETag", camera_etag(*created));
  return r;
}

Response Api::get_camera(Request& req) {
  if (auto hidden = hide_camera(req, req.param("id"))) return *hidden;
  auto cam = deps_.store->get_camera(req.param("id"));
  if (!cam.ok()) return status_problem(cam.status(), req);
  std::string etag = camera_etag(*cam);
  if (const std::string* inm = req.header("if-none-match"); inm != nullptr && etag_matches(*inm, etag)) {
    return with_etag(Response::empty(304), etag);
  }
  return with_etag(Response::json(200, camera_view(*cam, *deps_.status)), etag);
}

Response Api::patch_camera(Request& req) {
  nlohmann::json patch;
  if (auto err = parse_json_body(req, patch, {"application/merge-patch+json"})) return *err;
  if (!patch.is_object()) {
    return validation_problem({{"", "a merge patch (RFC 7396) must be a JSON object"}}, req);
  }
  const std::string& id = req.param("id");
  if (auto hidden = hide_camera(req, id)) return *hidden;
  auto current = deps_.store->get_camera(id);
  if (!current.ok()) return status_problem(current.status(), req);
  if (const std::string* im = req.header("if-match"); im != nullptr) {
    if (!etag_matches(*im, camera_etag(*current))) {
      return problem(412, "precondition-failed", "the camera has changed since it was read (ETag mismatch)", req);
    }
  }
  FieldErrors errors;
  if (patch.contains("id") && patch["id"] != id) errors.push_back({"/id", "cannot be changed"});
  nlohmann::json doc = camera_to_json(*current, {.mask_credentials = false, .include_meta = false});
  doc.merge_patch(patch);
  if (doc.contains("source") && doc["source"].is_object() && doc["source"].contains("url") &&
      doc["source"]["url"].is_string()) {
    doc["source"]["url"] = unmask_url(doc["source"]["url"].get<std::string>(), current->source.url);
  }
  Camera updated;
  if (errors.empty()) camera_from_json(doc, updated, errors);
  if (!errors.empty()) return validation_problem(errors, req);
  if (updated.source.url != current->source.url) {
    if (auto refused = check_source_url(deps_.camera_urls, updated, req)) return *refused;
  }
  auto saved = deps_.store->update_camera(std::move(updated), current->version);
  if (!saved.ok()) {
    if (saved.status().code() == StatusCode::kFailedPrecondition) {
      return problem(412, "precondition-failed", "the camera was changed concurrently; read it again and retry", req);
    }
    return status_problem(saved.status(), req);
  }
  publish_camera("updated", *saved);
  audit(req, "camera.update", saved->id, "ok", {{"fields", [&] {
                                                  nlohmann::json f = nlohmann::json::array();
                                                  for (const auto& [k, _] : patch.items()) f.push_back(k);
                                                  return f;
                                                }()}});
  return with_etag(Response::json(200, camera_view(*saved, *deps_.status)), camera_etag(*saved));
}

Response Api::delete_camera(Request& req) {
  const std::string& id = req.param("id");
  if (auto hidden = hide_camera(req, id)) return *hidden;
  std::optional<std::int64_t> expected;
  auto current = deps_.store->get_camera(id);
  if (!current.ok()) return status_problem(current.status(), req);
  if (const std::string* im = req.header("if-match"); im != nullptr) {
    if (!etag_matches(*im, camera_etag(*current))) {
      return problem(412, "precondition-failed", "the camera has changed since it was read (ETag mismatch)", req);
    }
    expected = current->version;
  }
  Status s = deps_.store->delete_camera(id, expected);
  if (!s.ok()) {
    if (s.code() == StatusCode::kFailedPrecondition) {
      return problem(412, "precondition-failed", "the camera was changed concurrently; read it again and retry", req);
    }
    return status_problem(s, req);
  }
  publish_camera("deleted", *current);
  audit(req, "camera.delete", id, "ok");
  return Response::empty(204);
}

}  // namespace argus::api
