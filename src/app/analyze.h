// Offline analysis: runs a video file through the same processing as a live camera
// (motion gate, detector, tracker, zones, lines, events, counts), as fast as the CPU
// allows, reporting every decoded frame in order.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "core/camera.h"
#include "core/config.h"
#include "core/status.h"
#include "pipeline/processor.h"

namespace argus::app {

struct AnalyzeOptions {
  std::string video;    // path to the file
  Camera camera;        // zones, lines, detection settings (source is ignored)
  Config config;        // detector and pipeline settings
  long max_frames = 0;  // 0 = the whole file
  int workers = 2;      // detector threads working ahead of the tracker
};

struct AnalyzeSummary {
  long frames = 0;           // decoded frames
  long detected_frames = 0;  // frames the detector ran on
  double seconds = 0;        // wall time
  double video_seconds = 0;  // media duration processed
  double video_fps = 0;
  int width = 0, height = 0;
  std::map<std::string, std::int64_t> objects;                             // distinct tracked objects per label
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> crossings;  // line -> (in, out)
  std::map<std::string, std::int64_t> zone_entries;                        // zone -> objects that entered
  std::int64_t events = 0;
};

struct AnalyzeCallbacks {
  std::function<void(const pipeline::FrameResult&)> on_frame;          // optional
  std::function<void(long done, long total, double fps)> on_progress;  // optional, ~5 per second
  // Optional: the detector is about to run on frame `seq` over `crops` (pixels; none = the
  // whole frame). Lets a benchmark replay exactly the detector work of a run.
  std::function<void(long seq, const std::vector<cv::Rect>& crops)> on_detect;
  // Optional: polled before each frame; once it returns true the analysis stops and
  // analyze_video returns Cancelled.
  std::function<bool()> cancelled;
};

// The summary as `argus analyze` prints it and the analyze job stores it: frames, timing,
// objects per label, events, crossings per line ({in, out}) and zone entries per zone.
nlohmann::json analyze_summary_json(const AnalyzeSummary& summary);

// Errors: NotFound (no such file), InvalidArgument (not a readable video), Cancelled (as
// callbacks.cancelled asked), or the detector's construction error.
Result<AnalyzeSummary> analyze_video(const AnalyzeOptions& options, const AnalyzeCallbacks& callbacks);

}  // namespace argus::app
