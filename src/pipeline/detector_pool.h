// DetectorPool: a fixed set of worker threads, each with its own Detector instance, fed
// by one bounded queue shared by every camera.
//
// The overflow policy is explicit: kDropOldest discards the oldest waiting job (its
// callback receives ResourceExhausted "dropped"), kReject refuses the new one (submit
// returns kRejected and its callback is not called). Both are counted in metrics.
// Callbacks run on a worker thread (or, for a job dropped by submit, on the submitting
// thread after the queue lock is released) and must not call submit() while holding a
// lock the caller of submit() may hold.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>

#include "core/bounded_queue.h"
#include "core/status.h"
#include "vision/detector.h"
#include "vision/frame.h"

namespace argus::metrics {
class Registry;
class Histogram;
class Counter;
}  // namespace argus::metrics

namespace argus::pipeline {

struct DetectJob {
  vision::FramePtr frame;
  std::vector<cv::Rect> crops;  // none = whole frame
  // Detections normalized to the whole frame, or an error.
  std::function<void(Result<std::vector<vision::Detection>>)> done;
};

struct DetectorPoolOptions {
  vision::DetectorConfig detector;
  int workers = 1;
  std::size_t queue_capacity = 16;
  OverflowPolicy overflow = OverflowPolicy::kDropOldest;
};

class DetectorPool {
 public:
  // Builds one detector per worker (fails if the detector cannot be built).
  static Result<std::unique_ptr<DetectorPool>> create(const DetectorPoolOptions& options, metrics::Registry* metrics);
  ~DetectorPool();  // stop()

  PushResult submit(DetectJob job);
  std::size_t queue_depth() const { return queue_.size(); }
  std::size_t capacity() const { return queue_.capacity(); }
  int workers() const { return static_cast<int>(threads_.size()); }
  const std::string& kind() const { return options_.detector.kind; }
  // Total seconds the pool's workers have spent inside the detector since start (the
  // load: its growth over an interval divided by workers x interval).
  double busy_seconds() const { return static_cast<double>(busy_ns_.load(std::memory_order_relaxed)) / 1e9; }
  OverflowPolicy overflow() const { return options_.overflow; }
  // Runs the detector synchronously on the calling thread with a private instance
  // (for /api/v1/detect). Thread-safe.
  Result<std::vector<vision::Detection>> detect_now(const cv::Mat& bgr);
  // Finishes the jobs already queued, then joins the workers.
  void stop();

 private:
  metrics::Registry* metrics_ = nullptr;  // with collector_: the queue-depth collector, removed on destruction
  std::uint64_t collector_ = 0;
  DetectorPool(const DetectorPoolOptions& options, metrics::Registry* metrics);
  void run(vision::Detector* detector);

  DetectorPoolOptions options_;
  BoundedQueue<DetectJob> queue_;
  std::vector<std::unique_ptr<vision::Detector>> detectors_;
  std::vector<std::thread> threads_;
  std::mutex adhoc_mu_;
  std::vector<std::unique_ptr<vision::Detector>> adhoc_;  // guarded by adhoc_mu_; free instances
  metrics::Histogram* inference_ = nullptr;
  std::atomic<std::uint64_t> busy_ns_{0};  // worker time inside detect_in
  metrics::Counter* dropped_ = nullptr;
  metrics::Counter* rejected_ = nullptr;
  metrics::Counter* failed_ = nullptr;
};

// Runs `detector` on each crop of `bgr` (the whole image when there are none), maps the
// boxes back to whole-frame coordinates and suppresses duplicates found in overlapping crops.
Result<std::vector<vision::Detection>> detect_in(vision::Detector& detector, const cv::Mat& bgr,
                                                 const std::vector<cv::Rect>& crops);

}  // namespace argus::pipeline
