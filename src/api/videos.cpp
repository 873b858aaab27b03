// Videos for analyze jobs: GET /api/v1/videos lists the videos directory; resumable
// uploads at /api/v1/uploads put a file there in chunks of at most the request body limit
// (api/uploads.h).

#include "api/api.h"
#include "api/json_body.h"
#include "api/problem.h"
#include "api/uploads.h"
#include "auth/principal.h"
#include "core/validation.h"

namespace argus::api {
namespace {

using auth::Permission;
using nlohmann::json;

json upload_json(const UploadInfo& u, std::size_t chunk_bytes) {
  json j{{"id", u.id},
         {"name", u.name},
         {"size", u.size},
         {"received", u.received},
         {"complete", u.complete()},
         {"file", u.complete() ? json(u.file) : json(nullptr)},
         {"chunk_bytes", chunk_bytes},
         {"created_at", format_rfc3339(u.created_at)},
         {"updated_at", format_rfc3339(u.updated_at)}};
  return j;
}

std::optional<std::int64_t> parse_offset(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  auto v = parse_integer<std::int64_t>(*text);
  if (!v || *v < 0) return std::nullopt;
  return v;
}

}  // namespace

void Api::add_video_routes() {
  if (!deps_.videos_dir.empty()) {
    uploads_ = std::make_shared<Uploads>(deps_.videos_dir, deps_.max_upload_bytes, deps_.clock);
  }
  const Access read = Access::needs(Permission::jobs_read);
  const Access write = Access::needs(Permission::jobs_write);
  auto unavailable = [](const Request& req) {
    return problem(503, "unavailable", "video uploads are not available on this server", req);
  };
  // Uploads belong to whoever created them; user administrators see all. Another's upload
  // looks absent.
  auto mine = [this](const Request& req, const std::string& id) -> Result<UploadInfo> {
    auto u = uploads_->get(id);
    if (!u.ok()) return u;
    if (u->owner != req.principal->user_id && !req.principal->can(Permission::users_admin)) {
      return Status::not_found("no upload '" + id + "'");
    }
    return u;
  };
  auto failed = [](const Status& s, const Request& req) {
    if (s.code() == StatusCode::kResourceExhausted) return problem(507, "insufficient-storage", s.message(), req);
    if (s.code() == StatusCode::kFailedPrecondition) return problem(409, "conflict", s.message(), req);
    if (s.code() == StatusCode::kIOError) return problem(500, "internal", s.message(), req);
    return status_problem(s, req);
  };

  router_.add(Method::kGet, "/api/v1/videos", read, [this, unavailable](Request& req) {
    if (!uploads_) return unavailable(req);
    Paging paging;
    paging.limit = 1000;
    if (auto err = parse_paging(req, paging)) return *err;
    auto videos = uploads_->list_videos(paging.limit);
    if (!videos.ok()) return status_problem(videos.status(), req);
    json items = json::array();
    for (const auto& v : *videos) {
      items.push_back({{"file", v.file}, {"size", v.size}, {"modified", format_rfc3339(v.modified)}});
    }
    return Response::json(200, {{"items", items}});
  });

  router_.add(Method::kPost, "/api/v1/uploads", write, [this, unavailable, failed](Request& req) {
    if (!uploads_) return unavailable(req);
    json doc;
    if (auto err = parse_json_body(req, doc)) return *err;
    if (!doc.is_object()) return validation_problem({{"", "must be an object {name, size}"}}, req);
    FieldErrors errors;
    std::string name;
    if (auto n = doc.find("name"); n == doc.end() || !n->is_string()) {
      errors.push_back({"/name", "is required: the video's file name, such as lobby.mp4"});
    } else {
      name = n->get<std::string>();
    }
    std::int64_t size = 0;
    if (auto s = doc.find("size"); s == doc.end() || !s->is_number_integer()) {
      errors.push_back({"/size", "is required: the file's size in bytes"});
    } else {
      size = s->get<std::int64_t>();
    }
    for (const auto& [k, _] : doc.items()) {
      if (k != "name" && k != "size") errors.push_back({"/" + json_pointer_escape(k), "unknown field; allowed: name, size"});
    }
    if (!errors.empty()) return validation_problem(errors, req);
    auto u = uploads_->create(name, size, req.principal->user_id);
    if (!u.ok()) {
      if (u.status().code() == StatusCode::kInvalidArgument) {
        const bool about_name = u.status().message().rfind("name", 0) == 0;
        return validation_problem({{about_name ? "/name" : "/size", u.status().message()}}, req);
      }
      return failed(u.status(), req);
    }
    audit(req, "upload.create", u->id, "ok", {{"name", u->name}, {"size", u->size}});
    Response r = Response::json(201, upload_json(*u, deps_.upload_chunk_bytes));
    r.set_header("Location", "/api/v1/uploads/" + u->id);
    return r;
  });

  router_.add(Method::kGet, "/api/v1/uploads/{id}", write, [this, unavailable, mine, failed](Request& req) {
    if (!uploads_) return unavailable(req);
    auto u = mine(req, req.param("id"));
    if (!u.ok()) return failed(u.status(), req);
    return Response::json(200, upload_json(*u, deps_.upload_chunk_bytes));
  });

  router_.add(Method::kPut, "/api/v1/uploads/{id}", write, [this, unavailable, mine, failed](Request& req) {
    if (!uploads_) return unavailable(req);
    auto offset = parse_offset(req.query_param("offset"));
    if (!offset) {
      return problem(400, "bad-request", "offset is required: the position of these bytes in the file (0 first)", req);
    }
    auto u = mine(req, req.param("id"));
    if (!u.ok()) return failed(u.status(), req);
    auto after = uploads_->append(u->id, *offset, req.body);
    if (!after.ok()) {
      if (after.status().code() == StatusCode::kFailedPrecondition) {
        // Tell a client that lost track where to resume, in the problem and a header.
        Response r = problem(409, "conflict", after.status().message(), req);
        r.set_header("Upload-Offset", std::to_string(u->received));
        return r;
      }
      return failed(after.status(), req);
    }
    if (after->complete()) audit(req, "upload.complete", after->id, "ok", {{"file", after->file}});
    Response r = Response::json(200, upload_json(*after, deps_.upload_chunk_bytes));
    r.set_header("Upload-Offset", std::to_string(after->received));
    return r;
  });

  router_.add(Method::kDelete, "/api/v1/uploads/{id}", write, [this, unavailable, mine, failed](Request& req) {
    if (!uploads_) return unavailable(req);
    auto u = mine(req, req.param("id"));
    if (!u.ok()) return failed(u.status(), req);
    if (u->complete()) return problem(409, "conflict", "the upload is complete: the video is " + u->file, req);
    if (Status s = uploads_->cancel(u->id); !s.ok()) return failed(s, req);
    audit(req, "upload.cancel", u->id, "ok");
    return Response::empty(204);
  });
}

}  // namespace argus::api
