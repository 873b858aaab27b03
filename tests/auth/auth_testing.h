// Helpers shared by the auth tests.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/ids.h"

namespace argus::auth::testing_support {

// "<base64url(header)>.<base64url(payload)>" for hand-made tokens.
inline std::string unsigned_part(const nlohmann::json& header, const nlohmann::json& payload) {
  return base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
}

}  // namespace argus::auth::testing_support
