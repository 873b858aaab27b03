#include "auth/permissions.h"

#include <array>
#include <utility>

namespace argus::auth {
namespace {

constexpr std::array<std::string_view, kPermissionCount> kPermissionNames = {
    "cameras:read", "cameras:write", "events:read",  "events:review", "events:delete", "counts:read",
    "alerts:read",  "alerts:write",  "users:admin",  "keys:manage",   "system:read",   "system:admin",
    "jobs:read",    "jobs:write",    "streams:read", "media:read",    "audit:read",    "detect:run",    "frames:push",
};

}  // namespace

std::string_view permission_name(Permission p) {
  auto i = static_cast<std::size_t>(p);
  return i < kPermissionNames.size() ? kPermissionNames[i] : std::string_view("unknown");
}

std::optional<Permission> parse_permission(std::string_view name) {
  for (std::size_t i = 0; i < kPermissionNames.size(); ++i) {
    if (kPermissionNames[i] == name) return static_cast<Permission>(i);
  }
  return std::nullopt;
}

PermissionSet::PermissionSet(std::initializer_list<Permission> permissions) {
  for (Permission p : permissions) add(p);
}

PermissionSet PermissionSet::all() {
  std::bitset<kPermissionCount> bits;
  bits.set();
  return PermissionSet(bits);
}

std::vector<Permission> PermissionSet::list() const {
  std::vector<Permission> out;
  for (std::size_t i = 0; i < kPermissionCount; ++i) {
    if (bits_.test(i)) out.push_back(static_cast<Permission>(i));
  }
  return out;
}

std::vector<std::string> PermissionSet::names() const {
  std::vector<std::string> out;
  for (Permission p : list()) out.emplace_back(permission_name(p));
  return out;
}

std::string PermissionSet::to_string() const {
  std::string out;
  for (Permission p : list()) {
    if (!out.empty()) out += ' ';
    out += permission_name(p);
  }
  return out;
}

Result<PermissionSet> PermissionSet::parse(const std::vector<std::string>& names) {
  PermissionSet out;
  for (const std::string& name : names) {
    std::optional<Permission> p = parse_permission(name);
    if (!p) {
      std::string known;
      for (std::string_view n : kPermissionNames) {
        if (!known.empty()) known += ", ";
        known += n;
      }
      return Status::invalid_argument("unknown permission '" + name + "'; known: " + known);
    }
    out.add(*p);
  }
  return out;
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::admin:
      return "admin";
    case Role::operator_:
      return "operator";
    case Role::viewer:
      return "viewer";
  }
  return "unknown";
}

std::optional<Role> parse_role(std::string_view name) {
  if (name == "admin") return Role::admin;
  if (name == "operator") return Role::operator_;
  if (name == "viewer") return Role::viewer;
  return std::nullopt;
}

PermissionSet role_permissions(Role role) {
  using P = Permission;
  static const PermissionSet kViewer = {P::cameras_read, P::events_read, P::counts_read,  P::alerts_read,
                                        P::jobs_read,    P::system_read, P::streams_read, P::media_read};
  static const PermissionSet kOperator =
      kViewer | PermissionSet{P::cameras_write, P::events_review, P::events_delete, P::alerts_write,
                              P::jobs_write,    P::detect_run,    P::keys_manage, P::frames_push};
  switch (role) {
    case Role::admin:
      return PermissionSet::all();
    case Role::operator_:
      return kOperator;
    case Role::viewer:
      return kViewer;
  }
  return {};
}

}  // namespace argus::auth
