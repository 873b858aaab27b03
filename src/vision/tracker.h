// Tracker: gives each detected object a stable id across frames.
//
// Association is greedy by overlap between each track's predicted box (constant-velocity
// motion model) and the new detections of the same label, with a fallback on centre
// distance for fast movers whose boxes no longer overlap. A track is reported once it
// has been matched min_hits times (filters one-frame false positives), coasts on its
// prediction through short misses, and ends when unseen for max_missed_ms.
// One Tracker per camera; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "vision/detector.h"
#include "vision/frame.h"

namespace argus::vision {

struct TrackerOptions {
  double iou_threshold = 0.2;         // minimum IoU (with the prediction) to associate
  double max_center_distance = 0.1;   // fallback: normalized centre distance
  std::int64_t max_missed_ms = 1500;  // unseen this long -> the track ends
  int min_hits = 2;                   // matches before a track is confirmed
};

struct Track {
  std::uint64_t id = 0;  // unique within this tracker, from 1
  std::string label;
  Box box;          // last matched box (or predicted while coasting)
  float score = 0;  // last matched score
  float top_score = 0;
  int hits = 0;
  bool confirmed = false;
  bool matched = false;  // matched at the latest update
  UnixMillis first_seen = 0;
  UnixMillis last_seen = 0;
  double vx = 0, vy = 0;  // centre velocity, normalized units per second
};

struct TrackerUpdate {
  std::vector<Track> active;   // confirmed tracks alive after this update
  std::vector<Track> started;  // confirmed at this update (also in active)
  std::vector<Track> ended;    // confirmed tracks that ended at this update
};

class Tracker {
 public:
  explicit Tracker(TrackerOptions options = {});

  // Feeds the detections of one frame taken at `now` (monotonic per tracker).
  TrackerUpdate update(const std::vector<Detection>& detections, UnixMillis now);
  // Ends every track (end of stream, camera stopped).
  TrackerUpdate finish(UnixMillis now);

  std::size_t size() const { return tracks_.size(); }

 private:
  TrackerOptions options_;
  std::vector<Track> tracks_;
  std::uint64_t next_id_ = 1;
  UnixMillis last_time_ = 0;
};

}  // namespace argus::vision
