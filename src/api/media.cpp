// Media files: GET /api/v1/media/{path...} serves files under the media directory
// (snapshots today) with ranges and conditional requests. Anything that is not a plain
// relative path to a regular file inside the directory is 404, as are files in a camera's
// folder (<kind>/<camera>/…) the caller may not see.
#include <algorithm>
#include <array>
#include <optional>
#include <string_view>

#include "api/api.h"
#include "api/file_serve.h"
#include "api/problem.h"
#include "auth/principal.h"

namespace argus::api {
namespace {

// Top-level media folders whose second segment is a camera id.
constexpr std::array<std::string_view, 3> kCameraFolders = {"snapshots", "clips", "recordings"};

// For a path in a camera's folder (<kind>/<camera>/…), the camera; nullopt otherwise.
std::optional<std::string_view> camera_of(std::string_view relative) {
  std::size_t slash = relative.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view top = relative.substr(0, slash);
  if (std::find(kCameraFolders.begin(), kCameraFolders.end(), top) == kCameraFolders.end()) return std::nullopt;
  std::string_view rest = relative.substr(slash + 1);
  return rest.substr(0, rest.find('/'));
}

}  // namespace

void Api::add_media_routes() {
  router_.add(Method::kGet, "/api/v1/media/{path...}", Access::needs(auth::Permission::media_read),
              [this](Request& req) {
                const std::string& relative = req.param("path");
                std::string resolved;
                auto file = resolve_media_path(deps_.media_dir, relative, &resolved);
                if (!file) return problem(404, "not-found", "no media at " + req.path, req);
                if (req.principal) {
                  // Both the path asked for and where it leads: a link from one camera's folder into
                  // another's must not widen the scope.
                  for (std::string_view path : {std::string_view(relative), std::string_view(resolved)}) {
                    if (auto camera = camera_of(path); camera && !req.principal->can_see_camera(*camera)) {
                      return problem(404, "not-found", "no media at " + req.path, req);
                    }
                  }
                }
                return serve_file(req, *file, "private, max-age=300");
              });
}

}  // namespace argus::api
