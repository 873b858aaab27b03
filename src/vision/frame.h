// Frame: one decoded image from a camera, immutable once shared.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <opencv2/core.hpp>

#include "core/clock.h"

namespace argus::vision {

struct Frame {
  std::string camera_id;
  std::uint64_t seq = 0;                    // per camera source, from 0
  UnixMillis time = 0;                      // wall-clock capture time
  double media_seconds = 0;                 // position in the media (files), else seconds since source start
  cv::Mat image;                            // BGR, CV_8UC3; never modified after the Frame is shared
  std::shared_ptr<const std::string> jpeg;  // the source's JPEG bytes, when it sent JPEG
};

// Frames are shared between the pipeline stages and the snapshot writer; nobody mutates
// a shared frame.
using FramePtr = std::shared_ptr<const Frame>;

// A box in normalized image coordinates (0..1), the unit of tracking, zones and events.
struct Box {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  double width() const { return x2 - x1; }
  double height() const { return y2 - y1; }
  double area() const { return width() > 0 && height() > 0 ? width() * height() : 0; }
  bool operator==(const Box&) const = default;
};

// Intersection over union of two boxes (0 when either is empty).
double iou(const Box& a, const Box& b);

// Pixel rectangle <-> normalized box for an image of size w x h.
Box to_box(const cv::Rect2f& r, int w, int h);
cv::Rect to_rect(const Box& b, int w, int h);

}  // namespace argus::vision
