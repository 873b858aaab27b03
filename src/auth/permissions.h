// Permissions and roles: what a caller may do, by name ("events:read") and as a set.
//
// Everything here is a pure function of its arguments: thread-safe, no state.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace argus::auth {

// One thing a caller may do. The names ("cameras:read", ...) are the public form, used in
// API keys, the API and the audit log; the numeric order is internal and may change.
enum class Permission : std::uint8_t {
  cameras_read,
  cameras_write,
  events_read,
  events_review,
  events_delete,
  counts_read,
  alerts_read,
  alerts_write,
  users_admin,
  keys_manage,  // create, list and revoke one's own API keys
  system_read,
  system_admin,
  jobs_read,
  jobs_write,
  streams_read,
  media_read,
  audit_read,
  detect_run,
  frames_push,  // push frames into a `push` camera
};

inline constexpr std::size_t kPermissionCount = static_cast<std::size_t>(Permission::frames_push) + 1;

// "cameras:read", "events:review", "keys:manage", ...
std::string_view permission_name(Permission p);
// The inverse of permission_name; nullopt for anything else (exact, case-sensitive).
std::optional<Permission> parse_permission(std::string_view name);

// A set of permissions. A value type; cheap to copy.
class PermissionSet {
 public:
  PermissionSet() = default;
  PermissionSet(std::initializer_list<Permission> permissions);
  static PermissionSet all();

  bool has(Permission p) const { return bits_.test(index(p)); }
  void add(Permission p) { bits_.set(index(p)); }
  void remove(Permission p) { bits_.reset(index(p)); }
  bool empty() const { return bits_.none(); }
  std::size_t size() const { return bits_.count(); }
  // True if every permission in this set is also in `other`.
  bool is_subset_of(const PermissionSet& other) const { return (bits_ & ~other.bits_).none(); }

  PermissionSet operator&(const PermissionSet& o) const { return PermissionSet(bits_ & o.bits_); }
  PermissionSet operator|(const PermissionSet& o) const { return PermissionSet(bits_ | o.bits_); }
  bool operator==(const PermissionSet&) const = default;

  // The members in enum order.
  std::vector<Permission> list() const;
  // The members' names in enum order.
  std::vector<std::string> names() const;
  // "cameras:read events:read" (space-separated, enum order); "" for the empty set.
  std::string to_string() const;
  // Parses names (each must be known; duplicates are fine). InvalidArgument naming the
  // first unknown one.
  static Result<PermissionSet> parse(const std::vector<std::string>& names);

 private:
  explicit PermissionSet(std::bitset<kPermissionCount> bits) : bits_(bits) {}
  static std::size_t index(Permission p) { return static_cast<std::size_t>(p); }
  std::bitset<kPermissionCount> bits_;
};

// A user's role. Its permissions are fixed by role_permissions().
enum class Role : std::uint8_t { admin, operator_, viewer };

// "admin", "operator", "viewer".
std::string_view role_name(Role role);
// The inverse of role_name; nullopt for anything else.
std::optional<Role> parse_role(std::string_view name);

// What each role may do:
//  - viewer: cameras, events, counts, alerts, jobs, system, streams and media read;
//  - operator: viewer plus cameras:write, events:review, events:delete, alerts:write,
//    jobs:write, detect:run, frames:push and keys:manage;
//  - admin: every permission (users:admin, system:admin and audit:read only here).
PermissionSet role_permissions(Role role);

}  // namespace argus::auth
