// Motion detection on a reduced gray image by background subtraction (OpenCV MOG2).
//
// Detection runs only where and when there is motion: the regions returned here tell the
// pipeline whether to run the detector on a frame at all. One MotionDetector per camera;
// not thread-safe (owned by the camera's pipeline thread).
#pragma once

#include <memory>
#include <vector>

#include <opencv2/core.hpp>

#include "vision/frame.h"

namespace argus::vision {

struct MotionOptions {
  int width = 320;                      // analysis width in pixels (height keeps aspect)
  int history = 300;                    // frames of background memory
  double var_threshold = 25;            // MOG2 variance threshold
  double min_region_fraction = 0.0005;  // smaller blobs are noise (fraction of the image)
  int warmup_frames = 5;                // frames during which everything counts as motion
};

struct MotionResult {
  bool motion = false;
  double changed_fraction = 0;  // of the image
  std::vector<Box> regions;     // normalized bounding boxes of moving blobs
};

class MotionDetector {
 public:
  explicit MotionDetector(MotionOptions options = {});
  ~MotionDetector();
  MotionDetector(const MotionDetector&) = delete;
  MotionDetector& operator=(const MotionDetector&) = delete;

  MotionResult process(const cv::Mat& bgr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace argus::vision
