// multipart/form-data (RFC 7578) request bodies, for image uploads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace argus::api {

struct FormPart {
  std::string name;          // from Content-Disposition
  std::string filename;      // "" when not a file
  std::string content_type;  // "" when absent
  std::string_view body;     // points into the request body
};

// Extracts the boundary parameter of a multipart/form-data Content-Type; nullopt if the
// type is not multipart/form-data or has no usable boundary.
std::optional<std::string> multipart_boundary(std::string_view content_type);

// Splits `body` into parts. Returns false on a malformed body (missing boundary lines,
// no closing delimiter, a part without a header block, more than `max_parts` parts).
bool parse_multipart(std::string_view body, std::string_view boundary, std::vector<FormPart>& out,
                     std::size_t max_parts = 32);

}  // namespace argus::api
