// Pipeline: the live processing of every camera's frames.
//
//   ingest supervisor thread ──on_frame──▶ CameraProcessor::plan (rate + motion gate)
//        ──▶ DetectorPool (bounded, shared) ──▶ CameraProcessor::on_detections (tracker,
//        zones, lines, events, counts) ──▶ bus topics + StoreWriter (batched) + snapshots
//
// Each camera has at most one frame at the detector; a newer frame waiting behind it
// replaces an older one (counted as dropped), so a slow detector lowers the processed
// rate instead of building a backlog, and frames of one camera are processed in order.
// Thread-safe; on_frame must not block and does not.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/camera.h"
#include "core/clock.h"
#include "pipeline/detector_pool.h"
#include "pipeline/processor.h"
#include "pipeline/store_writer.h"

namespace argus {
class Store;
namespace bus {
class EventBus;
}
namespace metrics {
class Registry;
class Histogram;
}
}  // namespace argus

namespace argus::pipeline {

struct PipelineOptions {
  DetectorPoolOptions pool;
  ProcessorOptions processor;
  std::string media_dir;  // snapshots are written under <media_dir>/snapshots
  std::int64_t count_flush_ms = 10'000;
  std::size_t store_queue = 100'000;  // records waiting for the store writer
  const Clock* clock = &system_clock();
};

struct CameraStats {
  double fps_out = 0;  // frames processed (detector ran) per second, recent
  std::uint64_t frames_processed = 0;
  std::uint64_t frames_skipped = 0;  // rate limit or no motion
  std::uint64_t frames_dropped = 0;  // sum of the three reasons below
  std::uint64_t dropped_busy = 0;    // replaced by a newer frame while this camera's detection ran
  std::uint64_t dropped_queue_full = 0;  // pool queue full, policy drop_oldest: this frame was the oldest
  std::uint64_t rejected_queue_full = 0;  // pool queue full, policy reject: this frame was refused
  std::uint64_t detector_errors = 0;
  std::string last_error;
  std::size_t open_events = 0;
};

class Pipeline {
 public:
  static Result<std::unique_ptr<Pipeline>> create(const PipelineOptions& options, Store* store, bus::EventBus* bus,
                                                  metrics::Registry* metrics);
  ~Pipeline();  // stop()

  void upsert_camera(const Camera& camera);
  void remove_camera(const std::string& camera_id);
  // The ingest FrameSink.
  void on_frame(const vision::FramePtr& frame);

  std::optional<CameraStats> stats(const std::string& camera_id) const;
  DetectorPool& detectors() { return *pool_; }
  StoreWriter& store_writer() { return *writer_; }

  // Ends open events, flushes counts, stops the detector pool and drains the store writer.
  void stop();

 private:
  struct CameraState;
  class LiveSink;
  Pipeline(const PipelineOptions& options, metrics::Registry* metrics);
  void submit(const std::shared_ptr<CameraState>& cam, vision::FramePtr frame, std::vector<cv::Rect> crops);
  void completed(const std::shared_ptr<CameraState>& cam, const vision::FramePtr& frame,
                 Result<std::vector<vision::Detection>> result);
  void ticker();

  PipelineOptions options_;
  metrics::Registry* metrics_;
  // argus_pipeline_stage_seconds{stage=motion|detect|track}; null without metrics. `detect`
  // runs from submission to the detector pool to the result (queue wait included).
  metrics::Histogram* stage_motion_ = nullptr;
  metrics::Histogram* stage_detect_ = nullptr;
  metrics::Histogram* stage_track_ = nullptr;
  std::unique_ptr<StoreWriter> writer_;
  std::unique_ptr<LiveSink> sink_;
  std::unique_ptr<DetectorPool> pool_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<CameraState>> cameras_;  // guarded by mu_
  bool stopped_ = false;                                         // guarded by mu_
  std::condition_variable tick_cv_;
  std::thread ticker_;
};

}  // namespace argus::pipeline
