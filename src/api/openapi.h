// The OpenAPI document of the API: docs/openapi.yaml, compiled into the binary, converted
// to JSON once and served at GET /api/v1/openapi.json.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace argus::api {

// YAML text to JSON with the YAML 1.2 core schema for plain scalars: null (~, null, empty),
// booleans (true/false in any of the three spellings), decimal integers and decimal
// floats become JSON values; quoted and block scalars, and every other plain scalar, stay
// strings. Mapping keys are always strings ("200" stays "200"). InvalidArgument with the
// line and column when the text is not YAML, holds a key that is not a scalar, or holds
// an anchor alias cycle.
Result<nlohmann::json> yaml_text_to_json(std::string_view yaml);

struct OpenApiDocument {
  std::shared_ptr<const std::string> json;  // compact JSON bytes, shared with responses
  std::string etag;                          // strong ETag of those bytes
};

// The embedded document, converted on the first call (thread-safe) and cached for the
// life of the process. An error if the embedded YAML does not convert (a build defect the
// test suite catches).
const Result<OpenApiDocument>& openapi_document();

}  // namespace argus::api
