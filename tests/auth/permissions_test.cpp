// Permissions, roles and principals.
#include "auth/permissions.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "auth/principal.h"

namespace argus::auth {
namespace {

TEST(PermissionsTest, EveryPermissionHasAUniqueNameThatParsesBack) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kPermissionCount; ++i) {
    auto p = static_cast<Permission>(i);
    std::string_view name = permission_name(p);
    EXPECT_NE(name.find(':'), std::string_view::npos) << name;
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_EQ(parse_permission(name), p);
  }
  EXPECT_EQ(permission_name(Permission::cameras_read), "cameras:read");
  EXPECT_EQ(permission_name(Permission::keys_manage), "keys:manage");
  EXPECT_EQ(permission_name(Permission::detect_run), "detect:run");
  EXPECT_EQ(permission_name(Permission::events_review), "events:review");
  EXPECT_FALSE(parse_permission("Cameras:Read"));
  EXPECT_FALSE(parse_permission("cameras:*"));
  EXPECT_FALSE(parse_permission(""));
}

TEST(PermissionsTest, SetOperationsAndFormatting) {
  PermissionSet a{Permission::events_read, Permission::cameras_read};
  PermissionSet b{Permission::events_read, Permission::counts_read};
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ((a & b), PermissionSet{Permission::events_read});
  EXPECT_EQ((a | b).size(), 3u);
  EXPECT_TRUE(PermissionSet{Permission::events_read}.is_subset_of(a));
  EXPECT_FALSE(a.is_subset_of(b));
  EXPECT_TRUE(PermissionSet{}.is_subset_of(b));
  EXPECT_EQ(a.to_string(), "cameras:read events:read");
  EXPECT_EQ(a.names(), (std::vector<std::string>{"cameras:read", "events:read"}));
  EXPECT_EQ(PermissionSet::all().size(), kPermissionCount);
  a.remove(Permission::cameras_read);
  EXPECT_FALSE(a.has(Permission::cameras_read));

  Result<PermissionSet> parsed = PermissionSet::parse({"events:read", "counts:read", "events:read"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, b);
  Result<PermissionSet> bad = PermissionSet::parse({"events:read", "events:everything"});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("events:everything"), std::string::npos);
}

TEST(PermissionsTest, RolesNamesAndPermissions) {
  for (Role r : {Role::admin, Role::operator_, Role::viewer}) EXPECT_EQ(parse_role(role_name(r)), r);
  EXPECT_EQ(role_name(Role::operator_), "operator");
  EXPECT_FALSE(parse_role("operator_"));
  EXPECT_FALSE(parse_role("Admin"));

  PermissionSet viewer = role_permissions(Role::viewer);
  PermissionSet op = role_permissions(Role::operator_);
  PermissionSet admin = role_permissions(Role::admin);
  EXPECT_EQ(admin, PermissionSet::all());
  EXPECT_TRUE(viewer.is_subset_of(op));
  EXPECT_TRUE(op.is_subset_of(admin));

  // Viewer: reading, except users, audit and administration.
  for (Permission p :
       {Permission::cameras_read, Permission::events_read, Permission::counts_read, Permission::alerts_read,
        Permission::system_read, Permission::jobs_read, Permission::streams_read, Permission::media_read}) {
    EXPECT_TRUE(viewer.has(p)) << permission_name(p);
  }
  EXPECT_EQ(viewer.size(), 8u);
  for (Permission p : {Permission::audit_read, Permission::users_admin, Permission::system_admin,
                       Permission::keys_manage, Permission::cameras_write, Permission::detect_run,
                       Permission::frames_push}) {
    EXPECT_FALSE(viewer.has(p)) << permission_name(p);
  }
  // Operator: viewer plus the day-to-day writes and its own keys.
  for (Permission p :
       {Permission::cameras_write, Permission::events_review, Permission::events_delete, Permission::alerts_write,
        Permission::jobs_write, Permission::detect_run, Permission::keys_manage, Permission::frames_push}) {
    EXPECT_TRUE(op.has(p)) << permission_name(p);
  }
  EXPECT_EQ(op.size(), 16u);
  for (Permission p : {Permission::users_admin, Permission::system_admin, Permission::audit_read}) {
    EXPECT_FALSE(op.has(p)) << permission_name(p);
  }
}

TEST(PrincipalTest, CanAndCameraScope) {
  Principal p;
  p.permissions = role_permissions(Role::viewer);
  EXPECT_TRUE(p.can(Permission::events_read));
  EXPECT_FALSE(p.can(Permission::events_delete));
  EXPECT_TRUE(p.can_see_camera("anything"));
  p.cameras = std::vector<std::string>{"front", "back"};
  EXPECT_TRUE(p.can_see_camera("front"));
  EXPECT_FALSE(p.can_see_camera("garage"));
  p.cameras = std::vector<std::string>{};
  EXPECT_FALSE(p.can_see_camera("front"));
  p.user_id = "u1";
  EXPECT_EQ(p.actor(), "u1");
  p.kind = PrincipalKind::api_key;
  p.api_key_id = "k1";
  EXPECT_EQ(p.actor(), "k1");
  EXPECT_EQ(principal_kind_name(PrincipalKind::api_key), "api_key");
}

TEST(PrincipalTest, CameraScopesIntersect) {
  using List = std::vector<std::string>;
  EXPECT_FALSE(intersect_cameras(std::nullopt, std::nullopt).has_value());
  EXPECT_EQ(intersect_cameras(List{"a", "b"}, std::nullopt), (List{"a", "b"}));
  EXPECT_EQ(intersect_cameras(std::nullopt, List{"b"}), (List{"b"}));
  EXPECT_EQ(intersect_cameras(List{"a", "b", "c"}, List{"c", "a", "x"}), (List{"a", "c"}));
  EXPECT_EQ(intersect_cameras(List{"a"}, List{"b"}), List{});
}

}  // namespace
}  // namespace argus::auth
