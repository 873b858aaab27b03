#include "vision/tracker.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

namespace argus::vision {
namespace {

// Weight of a new velocity measurement against the previous estimate.
constexpr double kVelocityAlpha = 0.5;

double center_x(const Box& b) { return (b.x1 + b.x2) / 2; }
double center_y(const Box& b) { return (b.y1 + b.y2) / 2; }

Box shifted(const Box& b, double dx, double dy) { return {b.x1 + dx, b.y1 + dy, b.x2 + dx, b.y2 + dy}; }

struct Candidate {
  double cost;  // lower is better
  std::size_t track;
  std::size_t detection;
};

// Greedy one-to-one assignment, best (lowest cost) pairs first; ties broken by track then
// detection order so the result is deterministic.
void assign(std::vector<Candidate>& candidates, std::vector<int>& track_match, std::vector<int>& det_match) {
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.cost, a.track, a.detection) < std::tie(b.cost, b.track, b.detection);
  });
  for (const Candidate& c : candidates) {
    if (track_match[c.track] >= 0 || det_match[c.detection] >= 0) continue;
    track_match[c.track] = static_cast<int>(c.detection);
    det_match[c.detection] = static_cast<int>(c.track);
  }
}

}  // namespace

Tracker::Tracker(TrackerOptions options) : options_(options) {}

// Every track's box refers to last_time_ (matched then, or predicted to then while
// coasting), so the prediction for `now` moves it by its velocity over now - last_time_.
TrackerUpdate Tracker::update(const std::vector<Detection>& detections, UnixMillis now) {
  if (now < last_time_) now = last_time_;  // a clock step back is treated as no time passing
  double dt = static_cast<double>(now - last_time_) / 1000.0;
  last_time_ = now;

  std::vector<Box> predicted;
  predicted.reserve(tracks_.size());
  for (const Track& t : tracks_) predicted.push_back(shifted(t.box, t.vx * dt, t.vy * dt));

  std::vector<int> track_match(tracks_.size(), -1);
  std::vector<int> det_match(detections.size(), -1);

  // Pass 1: overlap with the prediction, highest IoU first.
  std::vector<Candidate> candidates;
  for (std::size_t i = 0; i < tracks_.size(); ++i) {
    for (std::size_t j = 0; j < detections.size(); ++j) {
      if (tracks_[i].label != detections[j].label) continue;
      double overlap = iou(predicted[i], detections[j].box);
      if (overlap > 0 && overlap >= options_.iou_threshold) candidates.push_back({-overlap, i, j});
    }
  }
  assign(candidates, track_match, det_match);

  // Pass 2: centre distance for what is left (fast movers whose boxes no longer overlap).
  candidates.clear();
  for (std::size_t i = 0; i < tracks_.size(); ++i) {
    if (track_match[i] >= 0) continue;
    for (std::size_t j = 0; j < detections.size(); ++j) {
      if (det_match[j] >= 0 || tracks_[i].label != detections[j].label) continue;
      double d = std::hypot(center_x(predicted[i]) - center_x(detections[j].box),
                            center_y(predicted[i]) - center_y(detections[j].box));
      if (d <= options_.max_center_distance) candidates.push_back({d, i, j});
    }
  }
  assign(candidates, track_match, det_match);

  TrackerUpdate out;
  std::vector<Track> kept;
  kept.reserve(tracks_.size() + detections.size());
  for (std::size_t i = 0; i < tracks_.size(); ++i) {
    Track& t = tracks_[i];
    if (track_match[i] < 0) {
      if (!t.confirmed) continue;  // a tentative track must be matched at the next update
      t.box = predicted[i];
      t.matched = false;
      if (now - t.last_seen > options_.max_missed_ms) {
        out.ended.push_back(std::move(t));
        continue;
      }
      kept.push_back(std::move(t));
      continue;
    }
    const Detection& d = detections[static_cast<std::size_t>(track_match[i])];
    double since_seen = static_cast<double>(now - t.last_seen) / 1000.0;
    if (since_seen > 0) {
      // The prediction already moved the box by v * since_seen, so the residual over that
      // time corrects the velocity.
      double mvx = t.vx + (center_x(d.box) - center_x(predicted[i])) / since_seen;
      double mvy = t.vy + (center_y(d.box) - center_y(predicted[i])) / since_seen;
      bool first_measurement = t.hits == 1;
      t.vx = first_measurement ? mvx : kVelocityAlpha * mvx + (1 - kVelocityAlpha) * t.vx;
      t.vy = first_measurement ? mvy : kVelocityAlpha * mvy + (1 - kVelocityAlpha) * t.vy;
    }
    t.box = d.box;
    t.score = d.score;
    t.top_score = std::max(t.top_score, d.score);
    t.hits += 1;
    t.matched = true;
    t.last_seen = now;
    if (!t.confirmed && t.hits >= options_.min_hits) {
      t.confirmed = true;
      out.started.push_back(t);
    }
    kept.push_back(std::move(t));
  }

  for (std::size_t j = 0; j < detections.size(); ++j) {
    if (det_match[j] >= 0) continue;
    const Detection& d = detections[j];
    Track t;
    t.id = next_id_++;
    t.label = d.label;
    t.box = d.box;
    t.score = d.score;
    t.top_score = d.score;
    t.hits = 1;
    t.confirmed = options_.min_hits <= 1;
    t.matched = true;
    t.first_seen = now;
    t.last_seen = now;
    if (t.confirmed) out.started.push_back(t);
    kept.push_back(std::move(t));
  }

  tracks_ = std::move(kept);
  for (const Track& t : tracks_) {
    if (t.confirmed) out.active.push_back(t);
  }
  return out;
}

TrackerUpdate Tracker::finish(UnixMillis now) {
  if (now > last_time_) last_time_ = now;
  TrackerUpdate out;
  for (Track& t : tracks_) {
    if (!t.confirmed) continue;
    t.matched = false;
    out.ended.push_back(std::move(t));
  }
  tracks_.clear();
  return out;
}

}  // namespace argus::vision
