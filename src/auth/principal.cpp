#include "auth/principal.h"

#include <algorithm>

namespace argus::auth {

std::string_view principal_kind_name(PrincipalKind kind) {
  switch (kind) {
    case PrincipalKind::user:
      return "user";
    case PrincipalKind::api_key:
      return "api_key";
  }
  return "unknown";
}

bool Principal::can_see_camera(std::string_view camera_id) const {
  if (!cameras) return true;
  return std::find(cameras->begin(), cameras->end(), camera_id) != cameras->end();
}

std::optional<std::vector<std::string>> intersect_cameras(const std::optional<std::vector<std::string>>& a,
                                                          const std::optional<std::vector<std::string>>& b) {
  if (!a) return b;
  if (!b) return a;
  std::vector<std::string> out;
  for (const std::string& id : *a) {
    if (std::find(b->begin(), b->end(), id) != b->end() && std::find(out.begin(), out.end(), id) == out.end()) {
      out.push_back(id);
    }
  }
  return out;
}

}  // namespace argus::auth
