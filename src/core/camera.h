// The camera: Argus's central configuration object, and its JSON form.
//
// A camera is declared in the YAML file or through the API. Both paths parse and
// validate through camera_from_json(), so the rules are the same everywhere.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/validation.h"

namespace argus {

// A point in normalized image coordinates: (0,0) top-left, (1,1) bottom-right.
struct Point {
  double x = 0;
  double y = 0;
  bool operator==(const Point&) const = default;
};

struct Zone {
  std::string name;            // unique within the camera
  std::vector<Point> polygon;  // >= 3 points, each inside 0..1
  bool operator==(const Zone&) const = default;
};

// Which side of the directed segment a→b counts as "in": an object whose track crosses
// from the other side onto this side is counted in, the reverse out.
enum class LineSide { kLeft, kRight };

struct Line {
  std::string name;  // unique within the camera
  Point a;
  Point b;
  LineSide in_side = LineSide::kLeft;
  bool operator==(const Line&) const = default;
};

enum class SourceKind { kStream, kMjpeg, kSnapshot, kFolder, kFile, kPush };

struct SourceSpec {
  SourceKind kind = SourceKind::kStream;
  std::string url;                  // empty for push
  std::int64_t interval_ms = 1000;  // snapshot polling interval
  bool operator==(const SourceSpec&) const = default;
};

struct DetectionSettings {
  double fps = 5;                             // detection rate, 0.1..60
  std::vector<std::string> labels{"person"};  // labels that become events
  double min_score = 0.5;                     // 0..1
  bool operator==(const DetectionSettings&) const = default;
};

struct Camera {
  std::string id;  // slug, unique
  std::string name;
  SourceSpec source;
  bool enabled = true;
  DetectionSettings detection;
  std::vector<Zone> zones;
  std::vector<Line> lines;
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  std::int64_t version = 0;  // bumped by the store on every change
  bool operator==(const Camera&) const = default;
};

std::string_view source_kind_name(SourceKind kind);

struct CameraJsonOptions {
  bool mask_credentials = true;  // replace a URL password with "***"
  bool include_meta = true;      // created_at, updated_at
};

// The camera's JSON representation (without the runtime `status`, which the API adds).
nlohmann::json camera_to_json(const Camera& camera, const CameraJsonOptions& options = {});

// Parses and validates a camera document. Every problem is appended to `errors` with the
// pointer of the offending field (prefixed by `pointer_prefix`); `out` is only meaningful
// when no error was added. Read-only members (created_at, updated_at, status, version)
// are rejected unless `allow_read_only` is set (they are then ignored).
void camera_from_json(const nlohmann::json& doc, Camera& out, FieldErrors& errors, bool allow_read_only = false,
                      const std::string& pointer_prefix = "");

// "rtsp://user:secret@host/x" -> "rtsp://user:***@host/x"; unchanged without a password.
std::string mask_url_credentials(const std::string& url);

// When a client sends back a masked URL, keep the stored password: if `incoming` equals
// mask_url_credentials(stored), returns `stored`, otherwise `incoming`.
std::string unmask_url(const std::string& incoming, const std::string& stored);

}  // namespace argus
