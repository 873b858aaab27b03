// Detector: finds objects in an image.
//
// Implementations (chosen by DetectorConfig::kind, built by make_detector):
//   hog     OpenCV's built-in HOG people detector; the default, needs no model file.
//   onnx    a YOLO-family ONNX model (YOLOv5/v8 output layouts) through OpenCV DNN, with a
//           label file, input size and thresholds.
//   remote  an HTTP detector speaking the DeepStack / CodeProject.AI detection API
//           (POST multipart `image` to .../v1/vision/detection), with timeout, retries with
//           backoff and a circuit breaker.
// A Detector instance is used by one thread at a time; the detector pool makes one per
// worker. detect() never throws; failures (bad model output, remote down) are a Status.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/status.h"
#include "vision/frame.h"

namespace argus::vision {

struct Detection {
  std::string label;
  float score = 0;
  Box box;  // normalized to the image given to detect()
  bool operator==(const Detection&) const = default;
};

struct DetectorConfig {
  std::string kind = "hog";  // hog | onnx | remote
  float min_score = 0.3f;    // detections below are discarded by the detector

  // hog
  std::string hog_model = "default";  // default (64x128 window) | daimler (48x96, smaller people)
  double hog_upscale = 1.0;           // the image is scaled by this factor before HOG (0.25..4)
  double hog_hit_threshold = 0;
  double hog_scale = 1.05;
  int hog_stride = 8;

  // onnx
  std::string model_path;   // .onnx file
  std::string labels_path;  // one label per line; empty = COCO's 80 labels
  int input_width = 640;
  int input_height = 640;
  float nms_threshold = 0.45f;

  // remote
  std::string url;  // e.g. http://host:5000/v1/vision/detection
  std::int64_t timeout_ms = 5000;
  int retries = 2;
  std::int64_t retry_backoff_ms = 200;
  int breaker_failures = 5;              // consecutive failures that open the breaker
  std::int64_t breaker_open_ms = 30000;  // how long it stays open before a trial call
};

class Detector {
 public:
  virtual ~Detector() = default;
  virtual Result<std::vector<Detection>> detect(const cv::Mat& bgr) = 0;
  virtual std::string name() const = 0;
};

// Builds a detector; InvalidArgument / NotFound with a clear message for a missing or
// malformed model, an unreadable label file or an unknown kind.
Result<std::unique_ptr<Detector>> make_detector(const DetectorConfig& config);

// Non-maximum suppression per label; keeps the best-scoring boxes whose IoU with a kept
// box is <= iou_threshold. Exposed for tests and other detectors.
std::vector<Detection> non_max_suppression(std::vector<Detection> detections, double iou_threshold);

// The 80 COCO labels in YOLO order.
const std::vector<std::string>& coco_labels();

}  // namespace argus::vision
