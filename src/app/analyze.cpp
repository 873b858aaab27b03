#include "app/analyze.h"

#include <chrono>
#include <deque>
#include <filesystem>
#include <future>

#include <opencv2/videoio.hpp>

#include "app/wiring.h"
#include "pipeline/detector_pool.h"

namespace argus::app {
namespace {

// Collects what the processor produces into the summary and forwards frames.
class AnalyzeSink final : public pipeline::ProcessorSink {
 public:
  AnalyzeSink(AnalyzeSummary* summary, const AnalyzeCallbacks* callbacks) : summary_(summary), callbacks_(callbacks) {}
  void on_event(pipeline::EventPhase phase, const EventRecord&) override {
    if (phase == pipeline::EventPhase::kNew) summary_->events += 1;
  }
  std::string on_snapshot(const EventRecord&, const std::string&) override { return ""; }
  void on_counts(const std::vector<CountDelta>& deltas) override {
    for (const auto& d : deltas) {
      if (d.scope == "camera") summary_->objects[d.label] += d.seen;
      if (d.scope == "zone") summary_->zone_entries[d.name] += d.seen;
      if (d.scope == "line") {
        auto& c = summary_->crossings[d.name];
        c.first += d.in;
        c.second += d.out;
      }
    }
  }
  void on_frame(const pipeline::FrameResult& r) override {
    if (callbacks_->on_frame) callbacks_->on_frame(r);
  }

 private:
  AnalyzeSummary* summary_;
  const AnalyzeCallbacks* callbacks_;
};

struct Pending {
  vision::FramePtr frame;
  bool detect = false;
  std::future<Result<std::vector<vision::Detection>>> result;
};

}  // namespace

Result<AnalyzeSummary> analyze_video(const AnalyzeOptions& options, const AnalyzeCallbacks& callbacks) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(options.video, ec)) {
    return Status::not_found("video file " + options.video + " does not exist");
  }
  cv::VideoCapture cap;
  try {
    cap.open(options.video, cv::CAP_FFMPEG);
  } catch (const cv::Exception&) {
  }
  if (!cap.isOpened()) return Status::invalid_argument(options.video + " is not a video this build can read");

  AnalyzeSummary summary;
  summary.video_fps = cap.get(cv::CAP_PROP_FPS);
  if (!(summary.video_fps > 0 && summary.video_fps < 1000)) summary.video_fps = 10;
  long total = static_cast<long>(cap.get(cv::CAP_PROP_FRAME_COUNT));
  if (options.max_frames > 0 && (total <= 0 || total > options.max_frames)) total = options.max_frames;

  pipeline::DetectorPoolOptions pool_options;
  pool_options.detector = detector_config(options.config);
  pool_options.workers = std::max(1, options.workers);
  pool_options.queue_capacity = static_cast<std::size_t>(pool_options.workers) * 4;
  pool_options.overflow = OverflowPolicy::kReject;  // the window below never overfills it
  auto pool = pipeline::DetectorPool::create(pool_options, nullptr);
  if (!pool.ok()) return pool.status();

  AnalyzeSink sink(&summary, &callbacks);
  pipeline::ProcessorOptions popts = processor_options(options.config);
  popts.snapshots = false;
  pipeline::CameraProcessor processor(options.camera, popts, &sink);

  const UnixMillis base = 1'700'000'000'000;  // fixed epoch so runs are reproducible
  const std::size_t window = static_cast<std::size_t>(pool_options.workers) * 2;
  std::deque<Pending> pending;
  auto started = std::chrono::steady_clock::now();
  auto last_progress = started;

  auto finish_front = [&]() {
    Pending p = std::move(pending.front());
    pending.pop_front();
    if (p.detect) {
      auto dets = p.result.get();
      summary.detected_frames += 1;
      processor.on_detections(p.frame, dets.ok() ? std::move(dets).value() : std::vector<vision::Detection>{});
    } else {
      processor.on_skipped(p.frame);
    }
  };

  long seq = 0;
  bool cancelled = false;
  for (;;) {
    if (options.max_frames > 0 && seq >= options.max_frames) break;
    if (callbacks.cancelled && callbacks.cancelled()) {
      cancelled = true;
      break;
    }
    cv::Mat image;
    bool ok = false;
    try {
      ok = cap.read(image);
    } catch (const cv::Exception&) {
      ok = false;
    }
    if (!ok || image.empty()) break;
    if (image.type() != CV_8UC3) break;
    auto frame = std::make_shared<vision::Frame>();
    frame->camera_id = options.camera.id;
    frame->seq = static_cast<std::uint64_t>(seq);
    frame->media_seconds = static_cast<double>(seq) / summary.video_fps;
    frame->time = base + static_cast<UnixMillis>(std::llround(frame->media_seconds * 1000));
    frame->image = std::move(image);
    summary.width = frame->image.cols;
    summary.height = frame->image.rows;
    vision::FramePtr shared = frame;

    Pending p;
    p.frame = shared;
    pipeline::DetectPlan plan = processor.plan(*shared);
    if (plan.detect) {
      auto promise = std::make_shared<std::promise<Result<std::vector<vision::Detection>>>>();
      p.result = promise->get_future();
      p.detect = true;
      pipeline::DetectJob job;
      job.frame = shared;
      job.crops = std::move(plan.crops);
      if (callbacks.on_detect) callbacks.on_detect(seq, job.crops);
      job.done = [promise](Result<std::vector<vision::Detection>> r) { promise->set_value(std::move(r)); };
      while ((*pool)->submit(std::move(job)) == PushResult::kRejected) {
        // Cannot happen with the window below; keep the frame order regardless.
        finish_front();
      }
    }
    pending.push_back(std::move(p));
    while (pending.size() > window) finish_front();
    ++seq;
    auto now = std::chrono::steady_clock::now();
    if (callbacks.on_progress && now - last_progress > std::chrono::milliseconds(200)) {
      double secs = std::chrono::duration<double>(now - started).count();
      callbacks.on_progress(seq, total, secs > 0 ? seq / secs : 0);
      last_progress = now;
    }
  }
  while (!pending.empty()) finish_front();
  summary.frames = seq;
  processor.finish(base + static_cast<UnixMillis>(std::llround(seq / summary.video_fps * 1000)));
  (*pool)->stop();
  if (cancelled) return Status::cancelled("analysis cancelled after " + std::to_string(seq) + " frames");
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  summary.video_seconds = seq / summary.video_fps;
  if (callbacks.on_progress) callbacks.on_progress(seq, total, summary.seconds > 0 ? seq / summary.seconds : 0);
  if (seq == 0) return Status::invalid_argument(options.video + " has no decodable frames");
  return summary;
}

nlohmann::json analyze_summary_json(const AnalyzeSummary& s) {
  nlohmann::json crossings = nlohmann::json::object();
  for (const auto& [line, io] : s.crossings) crossings[line] = {{"in", io.first}, {"out", io.second}};
  return {{"frames", s.frames},
          {"detected_frames", s.detected_frames},
          {"seconds", s.seconds},
          {"frames_per_second", s.seconds > 0 ? s.frames / s.seconds : 0},
          {"video_seconds", s.video_seconds},
          {"video_fps", s.video_fps},
          {"realtime_factor", s.seconds > 0 ? s.video_seconds / s.seconds : 0},
          {"width", s.width},
          {"height", s.height},
          {"objects", s.objects},
          {"events", s.events},
          {"crossings", crossings},
          {"zones", s.zone_entries}};
}

}  // namespace argus::app
