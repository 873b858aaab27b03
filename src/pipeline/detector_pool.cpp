#include "pipeline/detector_pool.h"

#include <chrono>

#include "core/log.h"
#include "metrics/metrics.h"

namespace argus::pipeline {

Result<std::vector<vision::Detection>> detect_in(vision::Detector& detector, const cv::Mat& bgr,
                                                 const std::vector<cv::Rect>& crops) {
  const cv::Rect frame(0, 0, bgr.cols, bgr.rows);
  if (crops.empty()) return detector.detect(bgr);
  std::vector<vision::Detection> all;
  for (const auto& crop : crops) {
    cv::Rect area = crop & frame;
    if (area.empty()) continue;
    auto found = detector.detect(bgr(area));
    if (!found.ok()) return found;
    const double sx = static_cast<double>(area.width) / bgr.cols, sy = static_cast<double>(area.height) / bgr.rows;
    const double ox = static_cast<double>(area.x) / bgr.cols, oy = static_cast<double>(area.y) / bgr.rows;
    for (auto& d : *found) {
      d.box = {ox + d.box.x1 * sx, oy + d.box.y1 * sy, ox + d.box.x2 * sx, oy + d.box.y2 * sy};
      all.push_back(std::move(d));
    }
  }
  if (crops.size() == 1) return all;
  return vision::non_max_suppression(std::move(all), 0.5);
}

DetectorPool::DetectorPool(const DetectorPoolOptions& options, metrics::Registry* metrics)
    : options_(options), queue_(options.queue_capacity, options.overflow) {
  if (metrics != nullptr) {
    inference_ = &metrics->histogram("argus_detector_inference_seconds", "Detector time per image.",
                                     metrics::default_seconds_buckets(), {{"detector", options.detector.kind}});
    dropped_ = &metrics->counter("argus_detector_jobs_dropped_total", "Detection jobs dropped from the queue.",
                                 {{"reason", "queue_full_drop_oldest"}});
    rejected_ = &metrics->counter("argus_detector_jobs_dropped_total", "Detection jobs dropped from the queue.",
                                  {{"reason", "queue_full_rejected"}});
    failed_ = &metrics->counter("argus_detector_failures_total", "Detector calls that failed.");
    auto* depth = &metrics->gauge("argus_detector_queue_depth", "Detection jobs waiting for a worker.");
    metrics_ = metrics;
    collector_ = metrics->add_collector([this, depth] { depth->set(static_cast<double>(queue_.size())); });
  }
}

Result<std::unique_ptr<DetectorPool>> DetectorPool::create(const DetectorPoolOptions& options,
                                                           metrics::Registry* metrics) {
  std::unique_ptr<DetectorPool> pool(new DetectorPool(options, metrics));
  for (int i = 0; i < std::max(1, options.workers); ++i) {
    auto d = vision::make_detector(options.detector);
    if (!d.ok()) return d.status().with_context("detector '" + options.detector.kind + "'");
    pool->detectors_.push_back(std::move(d).value());
  }
  for (auto& d : pool->detectors_) {
    vision::Detector* raw = d.get();
    pool->threads_.emplace_back([p = pool.get(), raw] { p->run(raw); });
  }
  return pool;
}

DetectorPool::~DetectorPool() {
  stop();
  if (metrics_ != nullptr) metrics_->remove_collector(collector_);
}

PushResult DetectorPool::submit(DetectJob job) {
  DetectJob dropped;
  PushResult r = queue_.push(std::move(job), &dropped);
  if (r == PushResult::kDroppedOldest) {
    if (dropped_ != nullptr) dropped_->inc();
    if (dropped.done) dropped.done(Status::resource_exhausted("dropped: detector queue full"));
  } else if (r == PushResult::kRejected) {
    if (rejected_ != nullptr) rejected_->inc();
  }
  return r;
}

void DetectorPool::run(vision::Detector* detector) {
  while (auto job = queue_.pop()) {
    auto started = std::chrono::steady_clock::now();
    Result<std::vector<vision::Detection>> result = Status::internal("not run");
    try {
      result = detect_in(*detector, job->frame->image, job->crops);
    } catch (const std::exception& e) {
      result = Status::internal(std::string("detector threw: ") + e.what());
    }
    const auto took = std::chrono::steady_clock::now() - started;
    busy_ns_.fetch_add(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()),
                       std::memory_order_relaxed);
    if (inference_ != nullptr) inference_->observe(std::chrono::duration<double>(took).count());
    if (!result.ok() && failed_ != nullptr) failed_->inc();
    if (job->done) job->done(std::move(result));
  }
}

Result<std::vector<vision::Detection>> DetectorPool::detect_now(const cv::Mat& bgr) {
  std::unique_ptr<vision::Detector> d;
  {
    std::lock_guard lock(adhoc_mu_);
    if (!adhoc_.empty()) {
      d = std::move(adhoc_.back());
      adhoc_.pop_back();
    }
  }
  if (!d) {
    auto made = vision::make_detector(options_.detector);
    if (!made.ok()) return made.status();
    d = std::move(made).value();
  }
  auto started = std::chrono::steady_clock::now();
  auto result = d->detect(bgr);
  if (inference_ != nullptr) {
    inference_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  std::lock_guard lock(adhoc_mu_);
  if (adhoc_.size() < 4) adhoc_.push_back(std::move(d));
  return result;
}

void DetectorPool::stop() {
  queue_.close();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace argus::pipeline
