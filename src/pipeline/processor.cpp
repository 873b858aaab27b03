#include "pipeline/processor.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "core/ids.h"
#include "core/log.h"
#include "vision/snapshot.h"

namespace argus::pipeline {
namespace {

constexpr UnixMillis kMinute = 60'000;

std::array<double, 4> box_array(const vision::Box& b) { return {b.x1, b.y1, b.x2, b.y2}; }

bool wanted_label(const Camera& c, const std::string& label) {
  return std::find(c.detection.labels.begin(), c.detection.labels.end(), label) != c.detection.labels.end();
}

}  // namespace

std::vector<cv::Rect> merge_regions(std::vector<cv::Rect> rects, double margin, int min_w, int min_h,
                                    const cv::Size& bounds) {
  const cv::Rect frame(0, 0, bounds.width, bounds.height);
  for (auto& r : rects) {
    int w = std::max(static_cast<int>(r.width * (1 + 2 * margin)), min_w);
    int h = std::max(static_cast<int>(r.height * (1 + 2 * margin)), min_h);
    cv::Rect grown(r.x + r.width / 2 - w / 2, r.y + r.height / 2 - h / 2, w, h);
    r = grown & frame;
  }
  rects.erase(std::remove_if(rects.begin(), rects.end(), [](const cv::Rect& r) { return r.empty(); }), rects.end());
  for (bool merged = true; merged;) {
    merged = false;
    for (std::size_t i = 0; i < rects.size() && !merged; ++i) {
      for (std::size_t j = i + 1; j < rects.size(); ++j) {
        if ((rects[i] & rects[j]).area() > 0) {
          rects[i] |= rects[j];
          rects.erase(rects.begin() + static_cast<std::ptrdiff_t>(j));
          merged = true;
          break;
        }
      }
    }
  }
  return rects;
}

std::string_view event_phase_name(EventPhase p) {
  switch (p) {
    case EventPhase::kNew:
      return "new";
    case EventPhase::kUpdate:
      return "update";
    case EventPhase::kEnd:
      return "end";
  }
  return "update";
}

CameraProcessor::CameraProcessor(Camera camera, ProcessorOptions options, ProcessorSink* sink)
    : camera_(std::move(camera)),
      options_(options),
      sink_(sink),
      motion_(std::make_unique<vision::MotionDetector>(options.motion)),
      tracker_(options.tracker),
      scene_(camera_.zones, camera_.lines) {}

CameraProcessor::~CameraProcessor() = default;

DetectPlan CameraProcessor::plan(const vision::Frame& frame) {
  DetectPlan plan;
  const double interval = 1000.0 / std::max(0.1, camera_.detection.fps);
  // 10% tolerance so a source at exactly the detect rate is not halved by jitter.
  if (last_detect_ >= 0 && static_cast<double>(frame.time - last_detect_) < interval * 0.9) return plan;
  if (frame.image.empty()) return plan;
  const auto motion_started = std::chrono::steady_clock::now();
  vision::MotionResult m = motion_->process(frame.image);
  plan.motion_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - motion_started).count();
  bool tracking = !active_.empty() || tracker_.size() > 0;
  if (options_.motion_gate && !m.motion && !tracking) return plan;
  last_detect_ = frame.time;
  plan.detect = true;
  // Detect only where something moves or is being tracked, while that is a small part.
  const int w = frame.image.cols, h = frame.image.rows;
  std::vector<cv::Rect> rects;
  for (const auto& r : m.regions) rects.push_back(vision::to_rect(r, w, h));
  for (const auto& t : active_) rects.push_back(vision::to_rect(t.box, w, h));
  if (rects.empty() || !options_.motion_gate) return plan;  // whole frame
  std::vector<cv::Rect> crops = merge_regions(std::move(rects), options_.crop_margin, options_.crop_min_width,
                                              options_.crop_min_height, frame.image.size());
  double area = 0;
  for (const auto& c : crops) area += c.area();
  if (area < options_.crop_max_fraction * w * h) plan.crops = std::move(crops);
  return plan;
}

void CameraProcessor::on_detections(const vision::FramePtr& frame, std::vector<vision::Detection> detections) {
  std::vector<vision::Detection> kept;
  kept.reserve(detections.size());
  for (auto& d : detections) {
    if (d.score >= camera_.detection.min_score && wanted_label(camera_, d.label)) kept.push_back(std::move(d));
  }
  UnixMillis now = frame->time;
  if (now < last_update_) now = last_update_;  // time never goes backwards for the tracker
  vision::TrackerUpdate update = tracker_.update(kept, now);
  last_update_ = now;
  apply(update, frame, now);
  emit_frame(frame, true);
}

void CameraProcessor::on_skipped(const vision::FramePtr& frame) { emit_frame(frame, false); }

void CameraProcessor::tick(UnixMillis now) {
  if (tracker_.size() == 0 || now - last_update_ < options_.tracker.max_missed_ms) return;
  vision::TrackerUpdate update = tracker_.update({}, now);
  last_update_ = now;
  apply(update, nullptr, now);
}

void CameraProcessor::emit_frame(const vision::FramePtr& frame, bool detected) {
  FrameResult r;
  r.camera_id = camera_.id;
  r.seq = frame->seq;
  r.time = frame->time;
  r.media_seconds = frame->media_seconds;
  r.detected = detected;
  for (const auto& t : active_) {
    auto it = events_.find(t.id);
    r.objects.push_back({t.id, t.label, t.score, t.box, it == events_.end() ? "" : it->second.record.id});
  }
  sink_->on_frame(r);
}

CountDelta& CameraProcessor::count(const std::string& scope, const std::string& name, const std::string& label,
                                   UnixMillis now) {
  UnixMillis bucket = now - ((now % kMinute) + kMinute) % kMinute;
  std::string key = scope + '\x1f' + name + '\x1f' + label + '\x1f' + std::to_string(bucket);
  auto it = counts_.find(key);
  if (it == counts_.end()) {
    CountDelta d;
    d.camera_id = camera_.id;
    d.scope = scope;
    d.name = name;
    d.label = label;
    d.bucket = bucket;
    it = counts_.emplace(std::move(key), std::move(d)).first;
  }
  return it->second;
}

void CameraProcessor::apply(const vision::TrackerUpdate& update, const vision::FramePtr& frame, UnixMillis now) {
  active_ = update.active;

  for (const auto& t : update.started) {
    LiveEvent ev;
    ev.record.id = camera_.id + "-" + random_hex_id(6);
    ev.record.camera_id = camera_.id;
    ev.record.label = t.label;
    ev.record.score = t.score;
    ev.record.top_score = t.top_score;
    ev.record.box = box_array(t.box);
    ev.record.start_time = t.first_seen;
    ev.record.updated_at = now;
    events_.emplace(t.id, std::move(ev));
    count("camera", "", t.label, now).seen += 1;
  }

  for (const auto& t : update.active) {
    auto it = events_.find(t.id);
    if (it == events_.end()) continue;
    LiveEvent& ev = it->second;
    bool is_new = ev.last_update_sent == 0;
    bool material = false;
    if (t.matched) {
      vision::SceneChanges ch = scene_.update(t.id, t.box, now);
      for (const auto& z : ch.entered) {
        if (std::find(ev.record.zones.begin(), ev.record.zones.end(), z) == ev.record.zones.end()) {
          ev.record.zones.push_back(z);
        }
        count("zone", z, t.label, now).seen += 1;
        material = true;
      }
      if (!ch.exited.empty()) material = true;
      ev.record.current_zones = scene_.zones_of(t.id);
      for (const auto& c : ch.crossings) {
        ev.record.crossings.push_back({c.line, c.in ? "in" : "out", c.time});
        CountDelta& d = count("line", c.line, t.label, now);
        (c.in ? d.in : d.out) += 1;
        material = true;
      }
      if (t.top_score > ev.record.top_score + 0.05) material = true;
      ev.record.score = t.score;
      ev.record.top_score = std::max(ev.record.top_score, static_cast<double>(t.top_score));
      ev.record.box = box_array(t.box);
      ev.dirty = true;
      if (frame) maybe_snapshot(ev, t, frame, now);
    }
    ev.record.updated_at = now;
    if (is_new) {
      ev.last_update_sent = now;
      ev.dirty = false;
      sink_->on_event(EventPhase::kNew, ev.record);
    } else if (material || (ev.dirty && now - ev.last_update_sent >= options_.event_update_interval_ms)) {
      ev.last_update_sent = now;
      ev.dirty = false;
      sink_->on_event(EventPhase::kUpdate, ev.record);
    }
  }

  for (const auto& t : update.ended) end_track(t, now);

  // Peak occupancy per label: whole camera and each zone.
  std::map<std::string, std::int64_t> per_label;
  std::map<std::pair<std::string, std::string>, std::int64_t> per_zone;
  for (const auto& t : active_) {
    per_label[t.label] += 1;
    for (const auto& z : scene_.zones_of(t.id)) per_zone[{z, t.label}] += 1;
  }
  for (const auto& [label, n] : per_label) {
    CountDelta& d = count("camera", "", label, now);
    d.peak = std::max(d.peak, n);
  }
  for (const auto& [key, n] : per_zone) {
    CountDelta& d = count("zone", key.first, key.second, now);
    d.peak = std::max(d.peak, n);
  }
}

void CameraProcessor::end_track(const vision::Track& t, UnixMillis now) {
  vision::SceneChanges ch = scene_.remove(t.id, now);
  (void)ch;
  auto it = events_.find(t.id);
  if (it == events_.end()) return;
  EventRecord rec = std::move(it->second.record);
  events_.erase(it);
  rec.end_time = std::max(t.last_seen, rec.start_time);
  rec.current_zones.clear();
  rec.updated_at = now;
  sink_->on_event(EventPhase::kEnd, rec);
}

void CameraProcessor::maybe_snapshot(LiveEvent& ev, const vision::Track& t, const vision::FramePtr& frame,
                                     UnixMillis now) {
  if (!options_.snapshots || frame->image.empty()) return;
  bool first = ev.record.snapshot.empty();
  bool better = t.score > ev.snapshot_score + 0.05 && now - ev.last_snapshot >= options_.snapshot_interval_ms;
  if (!first && !better) return;
  auto jpeg = vision::annotated_jpeg(frame->image, t.box, t.label, t.score, options_.snapshot_quality);
  if (!jpeg.ok()) {
    log::warn("snapshot encoding failed", {{"camera", camera_.id}, {"error", jpeg.status().message()}});
    return;
  }
  std::string path = sink_->on_snapshot(ev.record, *jpeg);
  if (!path.empty()) ev.record.snapshot = path;
  ev.last_snapshot = now;
  ev.snapshot_score = t.score;
}

void CameraProcessor::flush_counts() {
  if (counts_.empty()) return;
  std::vector<CountDelta> out;
  out.reserve(counts_.size());
  for (auto& [_, d] : counts_) out.push_back(std::move(d));
  counts_.clear();
  sink_->on_counts(out);
}

void CameraProcessor::finish(UnixMillis now) {
  if (now < last_update_) now = last_update_;
  vision::TrackerUpdate update = tracker_.finish(now);
  for (const auto& t : update.ended) end_track(t, now);
  active_.clear();
  flush_counts();
}

nlohmann::json event_to_json(const EventRecord& e) {
  nlohmann::json crossings = nlohmann::json::array();
  for (const auto& c : e.crossings) {
    crossings.push_back({{"line", c.line}, {"direction", c.direction}, {"time", format_rfc3339(c.time)}});
  }
  return {{"id", e.id},
          {"camera", e.camera_id},
          {"label", e.label},
          {"score", e.score},
          {"top_score", e.top_score},
          {"box", e.box},
          {"zones", e.zones},
          {"crossings", std::move(crossings)},
          {"start_time", format_rfc3339(e.start_time)},
          {"end_time", e.end_time > 0 ? nlohmann::json(format_rfc3339(e.end_time)) : nlohmann::json(nullptr)},
          {"active", e.end_time == 0},
          {"updated_at", format_rfc3339(e.updated_at)},
          {"snapshot_url",
           e.snapshot.empty() ? nlohmann::json(nullptr) : nlohmann::json("/api/v1/events/" + e.id + "/snapshot.jpg")},
          {"reviewed", e.reviewed},
          {"note", e.note}};
}

nlohmann::json count_to_json(const CountDelta& c) {
  return {{"camera", c.camera_id},
          {"scope", c.scope},
          {"name", c.name},
          {"label", c.label},
          {"bucket", format_rfc3339(c.bucket)},
          {"seen", c.seen},
          {"in", c.in},
          {"out", c.out},
          {"peak", c.peak}};
}

}  // namespace argus::pipeline
