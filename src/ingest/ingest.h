// Ingest: camera sources and the supervisor that keeps each one running.
//
// A Source turns one camera's feed into Frames: stream (RTSP/HTTP video through OpenCV
// videoio + FFmpeg), mjpeg (multipart JPEG over HTTP, libcurl), snapshot (a JPEG URL polled
// at an interval, libcurl, basic and digest auth), folder (inotify on a directory where
// cameras drop JPEG/PNG files; duplicates skipped by content hash; files moved to
// processed/ or failed/), file (a video replayed in a loop at its own fps) and push (frames
// POSTed to the API).
//
// The CameraManager runs one supervisor thread per enabled camera. A supervisor opens its
// source, reads frames and hands each to the FrameSink; on failure it reconnects with
// exponential backoff and jitter. One bad camera never affects another: each has its own
// thread, and the sink must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/camera.h"
#include "core/clock.h"
#include "core/status.h"
#include "core/url_guard.h"
#include "vision/frame.h"

namespace argus::metrics {
class Registry;
}

namespace argus::ingest {

// starting      connecting for the first time (push: no frame pushed yet)
// online        frames arriving (a folder camera: its folder is watched)
// reconnecting  the source failed (refused, timed out, stalled, server error); retrying with
//               exponential backoff
// offline       reconnecting for longer than offline_after_ms (still retrying; a push
//               camera: nothing pushed for that long)
// error         a configuration problem a retry will not fix by itself (missing file or
//               folder, bad URL, wrong credentials, a body that is not an image); retried
//               every backoff_max_ms
// disabled      camera.enabled is false; no thread
enum class SourceState { kStarting, kOnline, kReconnecting, kOffline, kError, kDisabled };
std::string_view source_state_name(SourceState s);

struct SourceStatus {
  SourceState state = SourceState::kStarting;
  std::string reason;            // why not online (credentials masked)
  double fps_in = 0;             // frames per second read, recent average
  UnixMillis last_frame_at = 0;  // 0 = never
  std::uint64_t frames_in = 0;
  std::uint64_t reconnects = 0;
};

// Receives every frame of every camera, on that camera's supervisor thread (for push
// cameras, on push_frame's caller's thread; so possibly concurrently). Must return
// quickly (enqueue and go) and must not call upsert(), remove() or stop_all(). An
// exception it throws is logged and the frame dropped.
using FrameSink = std::function<void(const vision::FramePtr&)>;

struct IngestOptions {
  std::int64_t backoff_initial_ms = 500;
  std::int64_t backoff_max_ms = 30'000;
  std::int64_t read_timeout_ms = 10'000;   // no frame for this long -> reconnect
  std::int64_t offline_after_ms = 60'000;  // reconnecting this long -> state offline
  int decode_min_width = 0;                // JPEG sources: scaled decode target (0 = full size)
  std::string data_dir;                    // unused: folder sources keep processed/ and
                                           // failed/ inside the watched folder
  const Clock* clock = &system_clock();
  metrics::Registry* metrics = nullptr;
  const UrlGuard* url_guard = nullptr;  // optional, not owned: see SourceOptions::url_guard
};

class CameraManager {
 public:
  CameraManager(IngestOptions options, FrameSink sink);
  ~CameraManager();  // stops everything
  CameraManager(const CameraManager&) = delete;
  CameraManager& operator=(const CameraManager&) = delete;

  // Starts, restarts (when its source or enabled flag changed) or keeps the camera. A
  // restart joins the old supervisor first (bounded by read_timeout_ms for a stream
  // camera, ~100 ms for the others).
  void upsert(const Camera& camera);
  // Stops and forgets the camera (same bound as above).
  void remove(const std::string& camera_id);
  // Stops every camera; joins all threads.
  void stop_all();

  std::optional<SourceStatus> status(const std::string& camera_id) const;
  // Changes whenever a camera's state changes (not on every frame).
  std::uint64_t status_revision() const;

  // For push cameras: decodes the bytes (JPEG/PNG) and hands the frame to the sink.
  // NotFound if no such camera, FailedPrecondition if it is not a push camera,
  // InvalidArgument for undecodable bytes.
  Status push_frame(const std::string& camera_id, std::string bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace argus::ingest
