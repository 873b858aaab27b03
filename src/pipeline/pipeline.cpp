#include "pipeline/pipeline.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include "bus/bus.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "store/store.h"

namespace argus::pipeline {
namespace {
// The status a frame refused by a full detector queue (policy reject) completes with.
constexpr const char* kRejectedMessage = "rejected: detector queue full";
}  // namespace

// Publishes what processors produce on the bus, hands records to the store writer and
// writes snapshot files. Called on detector worker threads (one camera at a time per
// camera, but several cameras concurrently): everything here is thread-safe.
class Pipeline::LiveSink final : public ProcessorSink {
 public:
  LiveSink(bus::EventBus* bus, StoreWriter* writer, std::string media_dir, metrics::Registry* metrics)
      : bus_(bus), writer_(writer), media_dir_(std::move(media_dir)), metrics_(metrics) {}

  void on_event(EventPhase phase, const EventRecord& event) override {
    writer_->enqueue(event);
    if (bus_ != nullptr) {
      nlohmann::json doc = event_to_json(event);
      doc["current_zones"] = event.current_zones;  // live only (the stored event has no such field)
      bus_->publish(bus::kEvents, event.camera_id, {{"type", event_phase_name(phase)}, {"event", std::move(doc)}});
    }
    if (metrics_ != nullptr && phase == EventPhase::kNew) {
      metrics_
          ->counter("argus_events_total", "Events (tracked objects) started.",
                    {{"camera", event.camera_id}, {"label", event.label}})
          .inc();
    }
  }

  std::string on_snapshot(const EventRecord& event, const std::string& jpeg) override {
    if (media_dir_.empty()) return "";
    std::string day = format_rfc3339(event.start_time).substr(0, 10);
    std::string rel = "snapshots/" + event.camera_id + "/" + day + "/" + event.id + ".jpg";
    std::filesystem::path path = std::filesystem::path(media_dir_) / rel;
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(jpeg.data(), static_cast<std::streamsize>(jpeg.size()));
      if (!out) {
        log::warn("cannot write snapshot", {{"path", path.string()}});
        return "";
      }
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
      log::warn("cannot write snapshot", {{"path", path.string()}, {"error", ec.message()}});
      return "";
    }
    return rel;
  }

  void on_counts(const std::vector<CountDelta>& deltas) override {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& d : deltas) {
      writer_->enqueue(d);
      items.push_back(count_to_json(d));
    }
    if (bus_ != nullptr && !deltas.empty()) {
      bus_->publish(bus::kCounts, deltas.front().camera_id, {{"camera", deltas.front().camera_id}, {"deltas", items}});
    }
  }

  void on_frame(const FrameResult& r) override {
    if (!r.detected || r.objects.empty()) return;
    for (const auto& o : r.objects) {
      if (o.event_id.empty()) continue;
      writer_->enqueue(DetectionRecord{o.event_id, r.camera_id, o.label, r.time, o.score,
                                       {o.box.x1, o.box.y1, o.box.x2, o.box.y2}});
    }
    if (bus_ == nullptr) return;
    nlohmann::json objects = nlohmann::json::array();
    for (const auto& o : r.objects) {
      objects.push_back({{"track_id", o.track_id},
                         {"label", o.label},
                         {"score", o.score},
                         {"box", {o.box.x1, o.box.y1, o.box.x2, o.box.y2}},
                         {"event_id", o.event_id}});
    }
    bus_->publish(bus::kDetections, r.camera_id,
                  {{"camera", r.camera_id}, {"seq", r.seq}, {"time", format_rfc3339(r.time)}, {"objects", objects}});
  }

 private:
  bus::EventBus* bus_;
  StoreWriter* writer_;
  std::string media_dir_;
  metrics::Registry* metrics_;
};

struct Pipeline::CameraState {
  explicit CameraState(std::unique_ptr<CameraProcessor> p) : processor(std::move(p)) {}
  std::mutex mu;
  std::unique_ptr<CameraProcessor> processor;  // guarded by mu
  bool in_flight = false;                      // guarded by mu
  bool removed = false;                        // guarded by mu
  vision::FramePtr pending;                    // guarded by mu
  std::vector<cv::Rect> pending_crops;         // guarded by mu
  CameraStats stats;                           // guarded by mu
  UnixMillis fps_window_start = 0;             // guarded by mu
  std::uint64_t fps_window_frames = 0;         // guarded by mu
  metrics::Counter* processed = nullptr;
  metrics::Counter* dropped_busy = nullptr;
  metrics::Counter* skipped = nullptr;
};

Pipeline::Pipeline(const PipelineOptions& options, metrics::Registry* metrics) : options_(options), metrics_(metrics) {
  if (metrics_ != nullptr) {
    auto stage = [this](const char* name) {
      return &metrics_->histogram("argus_pipeline_stage_seconds", "Time per frame in each processing stage.",
                                  metrics::default_seconds_buckets(), {{"stage", name}});
    };
    stage_motion_ = stage("motion");
    stage_detect_ = stage("detect");
    stage_track_ = stage("track");
  }
}

Result<std::unique_ptr<Pipeline>> Pipeline::create(const PipelineOptions& options, Store* store, bus::EventBus* bus,
                                                   metrics::Registry* metrics) {
  std::unique_ptr<Pipeline> p(new Pipeline(options, metrics));
  auto pool = DetectorPool::create(options.pool, metrics);
  if (!pool.ok()) return pool.status();
  p->pool_ = std::move(pool).value();
  p->writer_ = std::make_unique<StoreWriter>(store, options.store_queue, metrics);
  p->sink_ = std::make_unique<LiveSink>(bus, p->writer_.get(), options.media_dir, metrics);
  p->ticker_ = std::thread([raw = p.get()] { raw->ticker(); });
  return p;
}

Pipeline::~Pipeline() { stop(); }

void Pipeline::upsert_camera(const Camera& camera) {
  std::shared_ptr<CameraState> old;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    auto it = cameras_.find(camera.id);
    if (it != cameras_.end()) {
      std::lock_guard cam_lock(it->second->mu);
      const Camera& cur = it->second->processor->camera();
      if (cur.detection == camera.detection && cur.zones == camera.zones && cur.lines == camera.lines &&
          cur.enabled == camera.enabled) {
        return;  // nothing the processor cares about changed
      }
      old = it->second;
    }
    auto state =
        std::make_shared<CameraState>(std::make_unique<CameraProcessor>(camera, options_.processor, sink_.get()));
    if (metrics_ != nullptr) {
      metrics::Labels l{{"camera", camera.id}};
      state->processed = &metrics_->counter("argus_frames_processed_total", "Frames given to the detector.", l);
      state->dropped_busy = &metrics_->counter("argus_frames_dropped_total", "Frames not processed.",
                                               {{"camera", camera.id}, {"reason", "detector_busy"}});
      state->skipped = &metrics_->counter("argus_frames_dropped_total", "Frames not processed.",
                                          {{"camera", camera.id}, {"reason", "no_motion_or_rate"}});
    }
    cameras_[camera.id] = std::move(state);
  }
  if (old) {
    std::lock_guard cam_lock(old->mu);
    old->removed = true;
    old->processor->finish(options_.clock->now_ms());
  }
}

void Pipeline::remove_camera(const std::string& camera_id) {
  std::shared_ptr<CameraState> old;
  {
    std::lock_guard lock(mu_);
    auto it = cameras_.find(camera_id);
    if (it == cameras_.end()) return;
    old = std::move(it->second);
    cameras_.erase(it);
  }
  std::lock_guard cam_lock(old->mu);
  old->removed = true;
  old->pending.reset();
  old->processor->finish(options_.clock->now_ms());
}

void Pipeline::on_frame(const vision::FramePtr& frame) {
  std::shared_ptr<CameraState> cam;
  {
    std::lock_guard lock(mu_);
    auto it = cameras_.find(frame->camera_id);
    if (it == cameras_.end() || stopped_) return;
    cam = it->second;
  }
  std::vector<cv::Rect> crops;
  {
    std::lock_guard cam_lock(cam->mu);
    if (cam->removed) return;
    DetectPlan plan = cam->processor->plan(*frame);
    if (stage_motion_ != nullptr && plan.motion_seconds >= 0) stage_motion_->observe(plan.motion_seconds);
    if (!plan.detect) {
      cam->stats.frames_skipped++;
      if (cam->skipped != nullptr) cam->skipped->inc();
      return;
    }
    if (cam->in_flight) {
      if (cam->pending) {
        cam->stats.frames_dropped++;
        cam->stats.dropped_busy++;
        if (cam->dropped_busy != nullptr) cam->dropped_busy->inc();
      }
      cam->pending = frame;
      cam->pending_crops = std::move(plan.crops);
      return;
    }
    cam->in_flight = true;
    crops = std::move(plan.crops);
  }
  submit(cam, frame, std::move(crops));
}

void Pipeline::submit(const std::shared_ptr<CameraState>& cam, vision::FramePtr frame, std::vector<cv::Rect> crops) {
  DetectJob job;
  job.frame = frame;
  job.crops = std::move(crops);
  std::weak_ptr<CameraState> weak = cam;
  const auto submitted = std::chrono::steady_clock::now();
  job.done = [this, weak, frame, submitted](Result<std::vector<vision::Detection>> result) {
    if (stage_detect_ != nullptr && result.ok()) {
      stage_detect_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - submitted).count());
    }
    if (auto c = weak.lock()) completed(c, frame, std::move(result));
  };
  if (pool_->submit(std::move(job)) == PushResult::kRejected) {
    completed(cam, frame, Status::resource_exhausted(kRejectedMessage));
  }
}

void Pipeline::completed(const std::shared_ptr<CameraState>& cam, const vision::FramePtr& frame,
                         Result<std::vector<vision::Detection>> result) {
  vision::FramePtr next;
  std::vector<cv::Rect> next_crops;
  {
    std::lock_guard cam_lock(cam->mu);
    cam->in_flight = false;
    if (cam->removed) return;
    if (result.ok()) {
      const auto track_started = std::chrono::steady_clock::now();
      cam->processor->on_detections(frame, std::move(result).value());
      if (stage_track_ != nullptr) {
        stage_track_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - track_started).count());
      }
      cam->stats.frames_processed++;
      if (cam->processed != nullptr) cam->processed->inc();
      UnixMillis now = options_.clock->now_ms();
      if (cam->fps_window_start == 0) cam->fps_window_start = now;
      cam->fps_window_frames++;
      if (now - cam->fps_window_start >= 5000) {
        cam->stats.fps_out = cam->fps_window_frames * 1000.0 / static_cast<double>(now - cam->fps_window_start);
        cam->fps_window_start = now;
        cam->fps_window_frames = 0;
      }
    } else if (result.status().code() == StatusCode::kResourceExhausted) {
      cam->stats.frames_dropped++;
      if (result.status().message() == kRejectedMessage) {
        cam->stats.rejected_queue_full++;
      } else {
        cam->stats.dropped_queue_full++;
      }
    } else {
      cam->stats.detector_errors++;
      if (cam->stats.last_error != result.status().message()) {
        log::warn("detection failed", {{"camera", frame->camera_id}, {"error", result.status().message()}});
      }
      cam->stats.last_error = result.status().message();
    }
    if (cam->pending) {
      next = std::move(cam->pending);
      next_crops = std::move(cam->pending_crops);
      cam->pending.reset();
      cam->in_flight = true;
    }
  }
  if (next) submit(cam, std::move(next), std::move(next_crops));
}

std::optional<CameraStats> Pipeline::stats(const std::string& camera_id) const {
  std::shared_ptr<CameraState> cam;
  {
    std::lock_guard lock(mu_);
    auto it = cameras_.find(camera_id);
    if (it == cameras_.end()) return std::nullopt;
    cam = it->second;
  }
  std::lock_guard cam_lock(cam->mu);
  CameraStats s = cam->stats;
  s.open_events = cam->processor->open_events();
  UnixMillis now = options_.clock->now_ms();
  if (cam->fps_window_start > 0 && now - cam->fps_window_start > 10'000) s.fps_out = 0;  // stalled
  return s;
}

void Pipeline::ticker() {
  std::unique_lock lock(mu_);
  UnixMillis last_flush = options_.clock->now_ms();
  while (!stopped_) {
    tick_cv_.wait_for(lock, std::chrono::milliseconds(500));
    if (stopped_) break;
    std::vector<std::shared_ptr<CameraState>> cams;
    for (auto& [_, c] : cameras_) cams.push_back(c);
    lock.unlock();
    UnixMillis now = options_.clock->now_ms();
    bool flush = now - last_flush >= options_.count_flush_ms;
    for (auto& c : cams) {
      std::lock_guard cam_lock(c->mu);
      if (c->removed) continue;
      if (!c->in_flight) c->processor->tick(now);
      if (flush) c->processor->flush_counts();
    }
    if (flush) last_flush = now;
    lock.lock();
  }
}

void Pipeline::stop() {
  std::vector<std::shared_ptr<CameraState>> cams;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [_, c] : cameras_) cams.push_back(c);
  }
  tick_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  pool_->stop();  // finishes queued jobs; their completions still reach the processors
  UnixMillis now = options_.clock->now_ms();
  for (auto& c : cams) {
    std::lock_guard cam_lock(c->mu);
    c->removed = true;
    c->processor->finish(now);
  }
  writer_->stop();
}

}  // namespace argus::pipeline
