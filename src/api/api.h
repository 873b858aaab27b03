// Api: the REST surface of Argus. Builds the router with every route and turns a Request
// into a Response (404/405/500 problems included). Owns no threads; HttpServer calls
// handle() on its I/O threads, concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "api/router.h"
#include "core/camera.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/status.h"

namespace argus {
class Store;
class UrlGuard;
namespace metrics {
class Registry;
}
namespace bus {
class EventBus;
}
namespace pipeline {
class Pipeline;
}
namespace auth {
class AuthService;
class SigningKeys;
}  // namespace auth
namespace jobs {
class JobManager;
}
namespace alerts {
class Engine;
class DeliveryService;
}
}  // namespace argus

namespace argus::api {

// Live, read-only camera status as the API shows it (state, reason, fps, last frame).
// Implemented by whoever runs the cameras (wired in app/). Thread-safe.
class CameraStatusSource {
 public:
  virtual ~CameraStatusSource() = default;
  // A JSON object for the camera's `status` member.
  virtual nlohmann::json status(const Camera& camera) const = 0;
  // Changes whenever any status changes, so responses that embed status can be cached.
  virtual std::uint64_t revision() const = 0;
};

// Accepts frames pushed over HTTP for `push` cameras (implemented by ingest, wired in app/).
class FrameIngress {
 public:
  virtual ~FrameIngress() = default;
  // NotFound (no such camera), FailedPrecondition (not a push camera), InvalidArgument
  // (not a decodable image).
  virtual Status push(const std::string& camera_id, std::string bytes) = 0;
};

class Gatekeeper;
class StreamHub;
class Uploads;
struct StreamFilter;

struct ApiDeps {
  Store* store = nullptr;                      // required
  auth::AuthService* auth = nullptr;           // required
  Gatekeeper* gate = nullptr;                  // required: authentication, limits, headers
  auth::SigningKeys* signing_keys = nullptr;   // optional: POST /api/v1/system/signing-key/rotate
  metrics::Registry* metrics = nullptr;        // required
  const CameraStatusSource* status = nullptr;  // required
  const Clock* clock = &system_clock();
  std::string storage_kind = "sqlite";
  bus::EventBus* bus = nullptr;            // optional: camera changes are published on it
  pipeline::Pipeline* pipeline = nullptr;  // optional: detection endpoints answer 503 without
  FrameIngress* frames = nullptr;          // optional: the push endpoint answers 503 without
  std::string media_dir;                   // snapshots and other media live under it
  const UrlGuard* camera_urls = nullptr;   // optional: where camera source URLs may point (SSRF guard)
  StreamHub* streams = nullptr;            // optional: WebSocket/SSE/polling answer 503 without
  jobs::JobManager* jobs = nullptr;        // optional: the job routes answer 503 without
  // Optional: sections of GET /api/v1/system/stats owned by parts the api does not know
  // (notifications, MQTT): an object whose members are added to the document. Called on an
  // I/O thread per request; must be quick and thread-safe.
  std::function<nlohmann::json()> extra_stats;
  alerts::Engine* alert_engine = nullptr;  // optional: told to reload when rules change
  // optional: channel test-sends and dead-letter requeues answer 503 without
  alerts::DeliveryService* notifications = nullptr;
  // optional: the video list and resumable uploads (/api/v1/videos, /api/v1/uploads)
  // answer 503 without. Analyze jobs read their files from here.
  std::string videos_dir;
  std::int64_t max_upload_bytes = 16LL << 30;  // one video
  std::size_t upload_chunk_bytes = 1 << 20;    // the request body limit: the largest chunk
};

class Api {
 public:
  explicit Api(ApiDeps deps);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Routes `req` through the gatekeeper (authentication, rate limits, the route's Access)
  // to its handler, and adds the security headers to whatever is answered.
  Response handle(Request& req);
  const Router& router() const { return router_; }

 private:
  struct CamerasCache;
  void add_system_routes();
  void add_camera_routes();
  void add_event_routes();
  void add_media_routes();
  void add_detection_routes();
  void add_auth_routes();
  void add_user_routes();
  void add_stream_routes();
  // The topics and cameras a stream request asks for (?topics=a,b&cameras=x), checked
  // against the caller's permissions and scope; a problem response if they are not valid.
  std::optional<Response> stream_filter(const Request& req, StreamFilter& filter);
  // GET /api/v1/events?after_id=N: the stream messages after N still in the ring.
  Response poll_stream(Request& req);
  void add_job_routes();
  struct StatsState;
  void add_stats_route();
  Response system_stats(Request& req);
  void add_alert_routes();
  void add_notification_routes();  // notifications.cpp
  void add_dlq_routes();           // dlq.cpp
  void add_video_routes();         // videos.cpp
  Response route(Request& req);
  // Appends an audit line for `req`'s caller (outcome "ok", "denied" or "failed").
  void audit(const Request& req, const std::string& action, const std::string& target, const std::string& outcome,
             const nlohmann::json& details = nlohmann::json::object());
  // 404 unless the caller may see `camera_id` (so other cameras look absent).
  std::optional<Response> hide_camera(const Request& req, const std::string& camera_id);
  void publish_camera(const std::string& type, const Camera& camera);

  Response list_cameras(Request& req);
  Response create_camera(Request& req);
  Response get_camera(Request& req);
  Response patch_camera(Request& req);
  Response delete_camera(Request& req);

  ApiDeps deps_;
  Router router_;
  std::chrono::steady_clock::time_point started_;
  UnixMillis started_at_;
  std::unique_ptr<CamerasCache> cache_;
  std::shared_ptr<StatsState> stats_;  // shared_ptr: complete only in system_stats.cpp
  std::shared_ptr<Uploads> uploads_;   // null without deps_.videos_dir
};

}  // namespace argus::api
