// Field-level validation errors, addressed by JSON Pointer (RFC 6901), as the API reports
// them in a 422 problem's `errors` list and the config loader prints them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace argus {

struct FieldError {
  std::string pointer;  // "/zones/0/polygon/2", "" for the whole document
  std::string detail;   // what is wrong and what is allowed
};

using FieldErrors = std::vector<FieldError>;

// Escapes one reference token for a JSON Pointer ('~' -> "~0", '/' -> "~1").
std::string json_pointer_escape(std::string_view token);

}  // namespace argus
