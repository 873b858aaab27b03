// Annotated snapshots: a frame as JPEG with an object's box and label drawn on it.
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "core/status.h"
#include "vision/frame.h"

namespace argus::vision {

// Draws `box` (normalized) with "label score" on a copy of `bgr` and encodes it as JPEG.
Result<std::string> annotated_jpeg(const cv::Mat& bgr, const Box& box, const std::string& label, float score,
                                   int quality = 85);

}  // namespace argus::vision
