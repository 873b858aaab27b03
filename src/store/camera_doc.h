// How a Camera is stored: its configuration as a JSON document, with the metadata
// (created_at, updated_at, version) kept beside it. Shared by every Store backend.
#pragma once

#include <cstdint>
#include <string>

#include "core/camera.h"
#include "core/status.h"

namespace argus::store_internal {

struct EncodedCamera {
  std::string doc;  // camera_to_json without credentials masking or metadata
  Camera camera;    // the camera exactly as it will read back from `doc`, metadata zeroed
};

// Encodes `camera` and checks that the document reads back. InvalidArgument naming the
// camera and every problem otherwise, so that nothing unreadable is ever stored.
Result<EncodedCamera> encode_camera(const Camera& camera);

// Decodes a stored row. Corruption naming the camera id if the document is not valid JSON,
// does not validate, or names another camera.
Result<Camera> decode_camera(const std::string& id, const std::string& doc, std::int64_t created_at,
                             std::int64_t updated_at, std::int64_t version);

// True if `a` and `b` differ only in metadata (created_at, updated_at, version).
bool same_configuration(const Camera& a, const Camera& b);

}  // namespace argus::store_internal
