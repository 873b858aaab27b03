#include "store/camera_doc.h"

#include <exception>
#include <nlohmann/json.hpp>

namespace argus::store_internal {
namespace {

std::string describe(const FieldErrors& errors) {
  std::string out;
  for (const FieldError& e : errors) {
    if (!out.empty()) out += "; ";
    out += (e.pointer.empty() ? std::string("/") : e.pointer) + " " + e.detail;
  }
  return out;
}

}  // namespace

Result<EncodedCamera> encode_camera(const Camera& camera) {
  nlohmann::json j = camera_to_json(camera, {.mask_credentials = false, .include_meta = false});
  EncodedCamera out;
  try {
    out.doc = j.dump();
  } catch (const nlohmann::json::exception&) {
    return Status::invalid_argument("camera '" + camera.id + "' contains text that is not valid UTF-8");
  }
  FieldErrors errors;
  camera_from_json(j, out.camera, errors);
  if (!errors.empty()) {
    return Status::invalid_argument("camera '" + camera.id + "' is invalid: " + describe(errors));
  }
  return out;
}

Result<Camera> decode_camera(const std::string& id, const std::string& doc, std::int64_t created_at,
                             std::int64_t updated_at, std::int64_t version) {
  nlohmann::json j = nlohmann::json::parse(doc, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Status::corruption("stored camera '" + id + "' is corrupt: its document is not valid JSON");
  }
  Camera camera;
  FieldErrors errors;
  try {
    camera_from_json(j, camera, errors);
  } catch (const std::exception& e) {
    return Status::corruption("stored camera '" + id + "' is corrupt: " + e.what());
  }
  if (!errors.empty()) {
    return Status::corruption("stored camera '" + id + "' is corrupt: " + describe(errors));
  }
  if (camera.id != id) {
    return Status::corruption("stored camera '" + id + "' is corrupt: its document has id '" + camera.id + "'");
  }
  camera.created_at = created_at;
  camera.updated_at = updated_at;
  camera.version = version;
  return camera;
}

bool same_configuration(const Camera& a, const Camera& b) {
  Camera a_without_meta = a;
  a_without_meta.created_at = b.created_at;
  a_without_meta.updated_at = b.updated_at;
  a_without_meta.version = b.version;
  return a_without_meta == b;
}

}  // namespace argus::store_internal
