// Principal: who is making a request, as established by AuthService::authenticate_bearer
// (or a redeemed ticket), and what they may do. A plain value; safe to copy between
// threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/permissions.h"

namespace argus::auth {

enum class PrincipalKind { user, api_key };

// "user" or "api_key".
std::string_view principal_kind_name(PrincipalKind kind);

struct Principal {
  PrincipalKind kind = PrincipalKind::user;
  std::string user_id;       // the user, or the API key's owner
  std::string username;      // of that user
  Role role = Role::viewer;  // of that user, now
  // Effective permissions: the role's, or for an API key its own set intersected with
  // its owner's role's.
  PermissionSet permissions;
  // Cameras it may see; nullopt = every camera. For an API key, the intersection of the
  // key's and the owner's scopes.
  std::optional<std::vector<std::string>> cameras;
  std::string api_key_id;  // set when kind == api_key

  bool can(Permission p) const { return permissions.has(p); }
  // True if `camera_id` is within the camera scope.
  bool can_see_camera(std::string_view camera_id) const;
  // The audit actor: the API key id for a key, else the user id.
  const std::string& actor() const { return kind == PrincipalKind::api_key ? api_key_id : user_id; }
};

// The intersection of two camera scopes (nullopt = every camera), keeping `a`'s order.
std::optional<std::vector<std::string>> intersect_cameras(const std::optional<std::vector<std::string>>& a,
                                                          const std::optional<std::vector<std::string>>& b);

}  // namespace argus::auth
