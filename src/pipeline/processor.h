// CameraProcessor: everything that happens to one camera's frames after decoding —
// rate and motion gating, tracking, zones and lines, the event lifecycle and counts.
//
// It is pure logic with no threads of its own, so the live pipeline and `argus analyze`
// run the very same code. Not thread-safe: the owner serializes calls, and frames must
// arrive in time order.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/camera.h"
#include "store/records.h"
#include "vision/detector.h"
#include "vision/frame.h"
#include "vision/motion.h"
#include "vision/scene.h"
#include "vision/tracker.h"

namespace argus::pipeline {

enum class EventPhase { kNew, kUpdate, kEnd };
std::string_view event_phase_name(EventPhase p);

struct TrackedObject {
  std::uint64_t track_id = 0;
  std::string label;
  float score = 0;
  vision::Box box;
  std::string event_id;
};

struct FrameResult {
  std::string camera_id;
  std::uint64_t seq = 0;
  UnixMillis time = 0;
  double media_seconds = 0;
  bool detected = false;               // the detector ran on this frame
  std::vector<TrackedObject> objects;  // every confirmed object tracked at this frame
};

// Receives what a processor produces, on the processor's calling thread.
class ProcessorSink {
 public:
  virtual ~ProcessorSink() = default;
  virtual void on_event(EventPhase phase, const EventRecord& event) = 0;
  // A better snapshot for the event (annotated JPEG). The sink stores it and returns the
  // path relative to the media root to record in the event ("" if not stored).
  virtual std::string on_snapshot(const EventRecord& event, const std::string& jpeg) = 0;
  virtual void on_counts(const std::vector<CountDelta>& deltas) = 0;
  virtual void on_frame(const FrameResult& result) = 0;
};

struct ProcessorOptions {
  vision::MotionOptions motion;
  vision::TrackerOptions tracker;
  bool motion_gate = true;                       // skip detection when nothing moves
  double crop_max_fraction = 0.6;                // detect on motion crops when they cover less than this
  double crop_margin = 0.5;                      // each region grows by this fraction of its size
  int crop_min_width = 128;                      // and to at least this size (pixels), so a person
  int crop_min_height = 192;                     // whose legs alone moved is found whole
  std::int64_t event_update_interval_ms = 1000;  // at most one plain "update" per event per interval
  std::int64_t snapshot_interval_ms = 1000;
  int snapshot_quality = 85;
  bool snapshots = true;
};

// What should_detect decided for a frame.
struct DetectPlan {
  bool detect = false;
  double motion_seconds = -1;   // time spent in motion detection; negative when it did not run
  std::vector<cv::Rect> crops;  // regions of the frame to give the detector (none = whole frame)
};

// Grows each rectangle by `margin` of its size and to at least min_w x min_h, clips it to
// `bounds`, and merges those that overlap, until none do.
std::vector<cv::Rect> merge_regions(std::vector<cv::Rect> rects, double margin, int min_w, int min_h,
                                    const cv::Size& bounds);

class CameraProcessor {
 public:
  CameraProcessor(Camera camera, ProcessorOptions options, ProcessorSink* sink);
  ~CameraProcessor();

  // Rate limit (camera detect fps) and motion gate for the next frame.
  DetectPlan plan(const vision::Frame& frame);
  // Results of the detector for `frame` (boxes normalized to the whole frame).
  void on_detections(const vision::FramePtr& frame, std::vector<vision::Detection> detections);
  // A frame that was not given to the detector: reports the objects tracked so far.
  void on_skipped(const vision::FramePtr& frame);
  // Ends tracks not seen for the tracker's timeout when no frames arrive (camera gone quiet).
  void tick(UnixMillis now);
  // Emits the counts accumulated since the last flush.
  void flush_counts();
  // Ends every open event and flushes counts.
  void finish(UnixMillis now);

  const Camera& camera() const { return camera_; }
  std::size_t open_events() const { return events_.size(); }

 private:
  struct LiveEvent {
    EventRecord record;
    UnixMillis last_update_sent = 0;
    UnixMillis last_snapshot = 0;
    double snapshot_score = 0;
    bool dirty = false;
  };

  void apply(const vision::TrackerUpdate& update, const vision::FramePtr& frame, UnixMillis now);
  void end_track(const vision::Track& t, UnixMillis now);
  void maybe_snapshot(LiveEvent& ev, const vision::Track& t, const vision::FramePtr& frame, UnixMillis now);
  CountDelta& count(const std::string& scope, const std::string& name, const std::string& label, UnixMillis now);
  void emit_frame(const vision::FramePtr& frame, bool detected);

  Camera camera_;
  ProcessorOptions options_;
  ProcessorSink* sink_;
  std::unique_ptr<vision::MotionDetector> motion_;
  vision::Tracker tracker_;
  vision::Scene scene_;
  std::map<std::uint64_t, LiveEvent> events_;  // by track id
  std::vector<vision::Track> active_;          // confirmed tracks after the last update
  std::map<std::string, CountDelta> counts_;   // pending deltas by key
  UnixMillis last_detect_ = -1;
  UnixMillis last_update_ = 0;
};

// The JSON form of an event, as the API, the bus and MQTT show it.
nlohmann::json event_to_json(const EventRecord& e);
nlohmann::json count_to_json(const CountDelta& c);

}  // namespace argus::pipeline
