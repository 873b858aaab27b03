// Detection as a service and pushed frames:
//   POST /api/v1/detect                  image body (image/jpeg, image/png) or multipart `image`
//   POST /v1/vision/detection            DeepStack / CodeProject.AI compatible (multipart `image`)
//   POST /api/v1/cameras/{id}/frames     a JPEG/PNG frame for a push camera
#include <charconv>
#include <cmath>

#include "api/api.h"
#include "store/store.h"
#include "api/multipart.h"
#include "api/problem.h"
#include "pipeline/pipeline.h"
#include "vision/jpeg.h"

namespace argus::api {
namespace {

// The image of a request: a raw image body, or the `image` part of a multipart form.
// Sets `min_confidence` from a form field when present.
std::optional<Response> image_from_request(const Request& req, std::string_view& image,
                                           std::optional<double>* min_conf) {
  const std::string* ct = req.header("content-type");
  if (ct != nullptr) {
    if (auto boundary = multipart_boundary(*ct)) {
      std::vector<FormPart> parts;
      if (!parse_multipart(req.body, *boundary, parts)) {
        return problem(400, "bad-request", "the multipart/form-data body is malformed", req);
      }
      bool found = false;
      for (const auto& p : parts) {
        if (p.name == "image") {
          image = p.body;
          found = true;
        } else if (p.name == "min_confidence" && min_conf != nullptr) {
          double v = 0;
          auto [ptr, ec] = std::from_chars(p.body.data(), p.body.data() + p.body.size(), v);
          if (ec != std::errc() || ptr != p.body.data() + p.body.size() || !std::isfinite(v) || v < 0 || v > 1) {
            return problem(400, "bad-request", "min_confidence must be a number between 0 and 1", req);
          }
          *min_conf = v;
        }
      }
      if (!found) return problem(400, "bad-request", "the form has no `image` field", req);
      return std::nullopt;
    }
  }
  if (req.body.empty())
    return problem(400, "bad-request", "send an image as the body or as the multipart field `image`", req);
  image = req.body;
  return std::nullopt;
}

}  // namespace

void Api::add_detection_routes() {
  router_.add(Method::kPost, "/api/v1/detect", Access::needs(auth::Permission::detect_run), [this](Request& req) {
    if (deps_.pipeline == nullptr) return problem(503, "unavailable", "no detector is configured", req);
    std::string_view image;
    std::optional<double> min_conf;
    if (auto err = image_from_request(req, image, &min_conf)) return *err;
    if (auto q = req.query_param("min_score")) {
      double v = 0;
      auto [ptr, ec] = std::from_chars(q->data(), q->data() + q->size(), v);
      if (ec != std::errc() || ptr != q->data() + q->size() || !(v >= 0 && v <= 1)) {
        return problem(400, "bad-request", "min_score must be a number between 0 and 1", req);
      }
      min_conf = v;
    }
    auto mat = vision::decode_image(image);
    if (!mat.ok()) return problem(422, "invalid-image", "the image cannot be decoded: " + mat.status().message(), req);
    auto found = deps_.pipeline->detectors().detect_now(*mat);
    if (!found.ok()) return status_problem(found.status(), req);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& d : *found) {
      if (min_conf && d.score < *min_conf) continue;
      items.push_back({{"label", d.label},
                       {"score", d.score},
                       {"box", {d.box.x1, d.box.y1, d.box.x2, d.box.y2}},
                       {"box_pixels",
                        {std::lround(d.box.x1 * mat->cols), std::lround(d.box.y1 * mat->rows),
                         std::lround(d.box.x2 * mat->cols), std::lround(d.box.y2 * mat->rows)}}});
    }
    return Response::json(200, {{"width", mat->cols}, {"height", mat->rows}, {"detections", items}});
  });

  // DeepStack answers errors as {"success": false, "error": "..."} with an HTTP error code.
  router_.add(Method::kPost, "/v1/vision/detection", Access::needs(auth::Permission::detect_run), [this](Request& req) {
    auto fail = [](int status, const std::string& msg) {
      return Response::json(status, {{"success", false}, {"error", msg}});
    };
    if (deps_.pipeline == nullptr) return fail(503, "no detector is configured");
    std::string_view image;
    std::optional<double> min_conf;
    if (auto err = image_from_request(req, image, &min_conf)) {
      auto doc = nlohmann::json::parse(*err->body, nullptr, false);
      return fail(400, doc.is_object() ? doc.value("detail", "bad request") : "bad request");
    }
    auto mat = vision::decode_image(image);
    if (!mat.ok()) return fail(400, "the image cannot be decoded");
    auto found = deps_.pipeline->detectors().detect_now(*mat);
    if (!found.ok()) return fail(500, "detection failed");
    double threshold = min_conf.value_or(0.4);
    nlohmann::json predictions = nlohmann::json::array();
    for (const auto& d : *found) {
      if (d.score < threshold) continue;
      predictions.push_back({{"label", d.label},
                             {"confidence", d.score},
                             {"x_min", std::lround(d.box.x1 * mat->cols)},
                             {"y_min", std::lround(d.box.y1 * mat->rows)},
                             {"x_max", std::lround(d.box.x2 * mat->cols)},
                             {"y_max", std::lround(d.box.y2 * mat->rows)}});
    }
    return Response::json(200, {{"success", true}, {"predictions", predictions}});
  });

  router_.add(Method::kPost, "/api/v1/cameras/{id}/frames", Access::needs(auth::Permission::frames_push), [this](Request& req) {
    if (deps_.frames == nullptr) return problem(503, "unavailable", "frame ingestion is not running", req);
    if (auto hidden = hide_camera(req, req.param("id"))) return *hidden;
    std::string_view image;
    if (auto err = image_from_request(req, image, nullptr)) return *err;
    Status s = deps_.frames->push(req.param("id"), std::string(image));
    if (s.code() == StatusCode::kNotFound) {
      // A camera created a moment ago may not have reached ingest yet: the store decides.
      auto cam = deps_.store->get_camera(req.param("id"));
      if (cam.ok()) {
        if (cam->source.kind != SourceKind::kPush) {
          return problem(409, "conflict",
                         "camera '" + cam->id + "' is a " + std::string(source_kind_name(cam->source.kind)) +
                             " camera; only push cameras accept frames",
                         req);
        }
        if (!cam->enabled) return problem(409, "conflict", "camera '" + cam->id + "' is disabled", req);
        Response r = problem(503, "unavailable", "camera '" + cam->id + "' is starting; retry in a moment", req);
        r.set_header("Retry-After", "1");
        return r;
      }
    }
    if (s.code() == StatusCode::kFailedPrecondition) return problem(409, "conflict", s.message(), req);
    if (s.code() == StatusCode::kInvalidArgument) return problem(422, "invalid-image", s.message(), req);
    if (!s.ok()) return status_problem(s, req);
    return Response::empty(202);
  });
}

}  // namespace argus::api
