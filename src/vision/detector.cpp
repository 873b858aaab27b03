#include "vision/detector.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <new>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <string>
#include <system_error>
#include <utility>

#include "vision/remote_detector.h"

namespace argus::vision {
namespace {

// The short description of an OpenCV error (without file, line and function).
std::string cv_error(const cv::Exception& e) { return e.err.empty() ? std::string(e.what()) : e.err; }

std::string shape_text(const cv::Mat& m) {
  std::string s = "[";
  for (int i = 0; i < m.dims; ++i) s += (i ? ", " : "") + std::to_string(m.size[i]);
  return s + "]";
}

float logistic(double x) { return static_cast<float>(1.0 / (1.0 + std::exp(-x))); }

// --- hog -----------------------------------------------------------------------------

// OpenCV's HOG + linear SVM people detectors: "default" (Dalal-Triggs, 64x128 window,
// people about 100 px tall) or "daimler" (48x96 window, people about 72 px tall).
//
// The image is converted to gray and scaled by hog_upscale (people smaller than the window
// are only found once enlarged). Gray gradients are ~10% cheaper than OpenCV's per-channel
// colour gradients and found as many people on OpenCV's vtest.avi. Cost grows with the
// pixel count, so the pipeline runs HOG on motion regions rather than whole frames.
// An image smaller than the window is padded (replicated border). HOG boxes include the window's
// margin around the person; they are tightened as OpenCV's peopledetect sample does (10%
// off each side, 7% off the top, height x0.8).
// Score: the SVM decision value w (distance past the hyperplane, usually 0..3) squashed
// with the logistic function, score = 1 / (1 + e^-w). So w = 0 (the default hit
// threshold) is 0.5, w = 1 is 0.73, w = 2 is 0.88; min_score below 0.5 keeps everything
// HOG reports at hog_hit_threshold 0.
class HogDetector final : public Detector {
 public:
  explicit HogDetector(const DetectorConfig& config) : config_(config) {
    if (config.hog_model == "daimler") {
      hog_ = cv::HOGDescriptor(cv::Size(48, 96), cv::Size(16, 16), cv::Size(8, 8), cv::Size(8, 8), 9);
      hog_.setSVMDetector(cv::HOGDescriptor::getDaimlerPeopleDetector());
    } else {
      hog_.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
    }
  }

  Result<std::vector<Detection>> detect(const cv::Mat& bgr) override {
    if (bgr.empty()) return Status::invalid_argument("hog: empty image");
    if (bgr.depth() != CV_8U) return Status::invalid_argument("hog: the image must be 8-bit");
    try {
      return run(bgr);
    } catch (const cv::Exception& e) {
      return Status::internal("hog: " + cv_error(e));
    } catch (const std::bad_alloc&) {
      return Status::resource_exhausted("hog: out of memory");
    }
  }

  std::string name() const override { return "hog"; }

 private:
  std::vector<Detection> run(const cv::Mat& bgr) {
    const cv::Mat* src = &bgr;
    if (bgr.channels() == 3) {
      cv::cvtColor(bgr, gray_, cv::COLOR_BGR2GRAY);
      src = &gray_;
    } else if (bgr.channels() == 4) {
      cv::cvtColor(bgr, gray_, cv::COLOR_BGRA2GRAY);
      src = &gray_;
    }
    if (config_.hog_upscale != 1.0) {
      int width = std::max(1, static_cast<int>(std::lround(src->cols * config_.hog_upscale)));
      int height = std::max(1, static_cast<int>(std::lround(src->rows * config_.hog_upscale)));
      cv::resize(*src, resized_, cv::Size(width, height), 0, 0,
                 config_.hog_upscale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
      src = &resized_;
    }
    // Pad an image smaller than the window so a person filling it can still be found.
    const int pad_x = std::max(0, hog_.winSize.width - src->cols);
    const int pad_y = std::max(0, hog_.winSize.height - src->rows);
    const int scaled_w = src->cols, scaled_h = src->rows;
    if (pad_x > 0 || pad_y > 0) {
      cv::copyMakeBorder(*src, padded_, pad_y / 2, pad_y - pad_y / 2, pad_x / 2, pad_x - pad_x / 2,
                         cv::BORDER_REPLICATE);
      src = &padded_;
    }
    const cv::Mat& img = *src;
    std::vector<Detection> out;

    std::vector<cv::Rect> found;
    std::vector<double> weights;
    hog_.detectMultiScale(img, found, weights, config_.hog_hit_threshold,
                          cv::Size(config_.hog_stride, config_.hog_stride), cv::Size(), config_.hog_scale,
                          /*finalThreshold=*/2.0, /*useMeanshiftGrouping=*/false);
    for (std::size_t i = 0; i < found.size(); ++i) {
      float score = logistic(i < weights.size() ? weights[i] : 0.0);
      if (!(score >= config_.min_score)) continue;
      const cv::Rect& r = found[i];
      cv::Rect2f tight(r.x + r.width * 0.1f - static_cast<float>(pad_x / 2),
                       r.y + r.height * 0.07f - static_cast<float>(pad_y / 2), r.width * 0.8f, r.height * 0.8f);
      Box box = to_box(tight, scaled_w, scaled_h);
      if (box.area() <= 0) continue;
      out.push_back(Detection{"person", score, box});
    }
    return non_max_suppression(std::move(out), config_.nms_threshold);
  }

  const DetectorConfig config_;
  cv::HOGDescriptor hog_;
  cv::Mat gray_, resized_, padded_;  // reused buffers
};

// --- onnx ----------------------------------------------------------------------------

// A YOLO-family detector through OpenCV DNN.
//
// Preprocessing: letterbox (aspect kept, centred, padded with grey 114) to
// input_width x input_height, RGB, scaled to 0..1, NCHW float.
// Output: the first output of the network, read by shape with C = number of labels:
//   YOLOv8 [1, 4+C, N]: rows cx, cy, w, h, then C class scores; score = max class score.
//   YOLOv5 [1, N, 5+C]: per row cx, cy, w, h, objectness, C class scores;
//                       score = objectness x max class score.
// (YOLOv8 is tried first.) Box coordinates are input pixels; they are mapped back
// through the letterbox to the original image and normalized. Detections below min_score
// are dropped, then per-label NMS at nms_threshold.
class OnnxDetector final : public Detector {
 public:
  OnnxDetector(const DetectorConfig& config, cv::dnn::Net net, std::vector<std::string> labels)
      : config_(config), net_(std::move(net)), labels_(std::move(labels)) {}

  Result<std::vector<Detection>> detect(const cv::Mat& bgr) override {
    if (bgr.empty()) return Status::invalid_argument("onnx: empty image");
    if (bgr.type() != CV_8UC3) return Status::invalid_argument("onnx: the image must be 8-bit BGR");
    try {
      return run(bgr);
    } catch (const cv::Exception& e) {
      // The model rejected the input (wrong input size or layout for this model).
      return Status::invalid_argument("onnx: inference failed: " + cv_error(e));
    } catch (const std::bad_alloc&) {
      return Status::resource_exhausted("onnx: out of memory");
    }
  }

  std::string name() const override { return "onnx"; }

 private:
  struct Letterbox {
    double sx = 1, sy = 1;  // input pixels per image pixel
    int pad_x = 0, pad_y = 0;
  };

  Result<std::vector<Detection>> run(const cv::Mat& bgr) {
    const int in_w = config_.input_width, in_h = config_.input_height;
    const double r = std::min(double(in_w) / bgr.cols, double(in_h) / bgr.rows);
    const int new_w = std::clamp(static_cast<int>(std::lround(bgr.cols * r)), 1, in_w);
    const int new_h = std::clamp(static_cast<int>(std::lround(bgr.rows * r)), 1, in_h);
    Letterbox lb;
    lb.sx = double(new_w) / bgr.cols;
    lb.sy = double(new_h) / bgr.rows;
    lb.pad_x = (in_w - new_w) / 2;
    lb.pad_y = (in_h - new_h) / 2;

    canvas_.create(in_h, in_w, CV_8UC3);
    canvas_.setTo(cv::Scalar(114, 114, 114));
    cv::Mat roi = canvas_(cv::Rect(lb.pad_x, lb.pad_y, new_w, new_h));
    if (new_w == bgr.cols && new_h == bgr.rows) {
      bgr.copyTo(roi);
    } else {
      cv::resize(bgr, roi, roi.size(), 0, 0, r < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    }
    cv::dnn::blobFromImage(canvas_, blob_, 1.0 / 255.0, cv::Size(), cv::Scalar(), /*swapRB=*/true, /*crop=*/false,
                           CV_32F);
    net_.setInput(blob_);
    std::vector<cv::Mat> outs;
    net_.forward(outs, net_.getUnconnectedOutLayersNames());
    if (outs.empty()) return Status::invalid_argument("onnx: the model produced no output");
    return decode(outs[0], lb, bgr.cols, bgr.rows);
  }

  Result<std::vector<Detection>> decode(const cv::Mat& out, const Letterbox& lb, int img_w, int img_h) const {
    const int c = static_cast<int>(labels_.size());
    bool v8 = false, v5 = false;
    if (out.dims == 3 && out.size[0] == 1 && out.type() == CV_32F && out.isContinuous()) {
      v8 = out.size[1] == 4 + c;
      v5 = !v8 && out.size[2] == 5 + c;
    }
    if (!v8 && !v5) {
      return Status::invalid_argument("onnx: model output " + shape_text(out) + " matches neither YOLOv8 [1, " +
                                      std::to_string(4 + c) + ", N] nor YOLOv5 [1, N, " + std::to_string(5 + c) +
                                      "] for the " + std::to_string(c) + " labels configured");
    }
    const float* data = out.ptr<float>();
    const int n = v8 ? out.size[2] : out.size[1];
    std::vector<Detection> dets;
    for (int i = 0; i < n; ++i) {
      // Element k of candidate i.
      auto at = [&](int k) {
        return v8 ? data[static_cast<std::size_t>(k) * n + i] : data[static_cast<std::size_t>(i) * (5 + c) + k];
      };
      const int first_class = v8 ? 4 : 5;
      const float objectness = v8 ? 1.0f : at(4);
      if (!(objectness >= config_.min_score)) continue;  // also drops NaN
      int best = 0;
      float best_score = at(first_class);
      for (int k = 1; k < c; ++k) {
        float s = at(first_class + k);
        if (s > best_score) best_score = s, best = k;
      }
      const float score = objectness * best_score;
      if (!(score >= config_.min_score) || !std::isfinite(score)) continue;
      const double cx = at(0), cy = at(1), w = at(2), h = at(3);
      if (!std::isfinite(cx) || !std::isfinite(cy) || !std::isfinite(w) || !std::isfinite(h)) continue;
      const double x1 = (cx - w / 2 - lb.pad_x) / lb.sx, x2 = (cx + w / 2 - lb.pad_x) / lb.sx;
      const double y1 = (cy - h / 2 - lb.pad_y) / lb.sy, y2 = (cy + h / 2 - lb.pad_y) / lb.sy;
      auto clamp01 = [](double v) { return std::clamp(v, 0.0, 1.0); };
      Box box{clamp01(x1 / img_w), clamp01(y1 / img_h), clamp01(x2 / img_w), clamp01(y2 / img_h)};
      if (box.area() <= 0) continue;
      dets.push_back(Detection{labels_[static_cast<std::size_t>(best)], score, box});
    }
    return non_max_suppression(std::move(dets), config_.nms_threshold);
  }

  const DetectorConfig config_;
  cv::dnn::Net net_;
  const std::vector<std::string> labels_;
  cv::Mat canvas_, blob_;  // reused buffers
};

Result<std::vector<std::string>> read_labels(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::not_found("label file '" + path + "' not found");
  std::ifstream in(path);
  if (!in) return Status::invalid_argument("cannot read label file '" + path + "'");
  std::vector<std::string> labels;
  std::string line;
  while (std::getline(in, line)) {
    auto not_space = [](unsigned char ch) { return !std::isspace(ch); };
    line.erase(line.begin(), std::find_if(line.begin(), line.end(), not_space));
    line.erase(std::find_if(line.rbegin(), line.rend(), not_space).base(), line.end());
    if (!line.empty()) labels.push_back(line);
  }
  if (in.bad()) return Status::invalid_argument("cannot read label file '" + path + "'");
  if (labels.empty()) return Status::invalid_argument("label file '" + path + "' has no labels");
  return labels;
}

Status check_common(const DetectorConfig& c) {
  if (!(c.min_score >= 0 && c.min_score <= 1)) return Status::invalid_argument("detector min_score must be in 0..1");
  if (!(c.nms_threshold >= 0 && c.nms_threshold <= 1)) {
    return Status::invalid_argument("detector nms_threshold must be in 0..1");
  }
  return {};
}

Result<std::unique_ptr<Detector>> make_hog(const DetectorConfig& c) {
  if (!(c.hog_upscale >= 0.25 && c.hog_upscale <= 4)) {
    return Status::invalid_argument("hog_upscale must be between 0.25 and 4, got " + std::to_string(c.hog_upscale));
  }
  if (c.hog_model != "default" && c.hog_model != "daimler") {
    return Status::invalid_argument("hog_model must be default or daimler, got '" + c.hog_model + "'");
  }
  if (c.hog_stride <= 0 || c.hog_stride % 8 != 0 || c.hog_stride > 64) {
    return Status::invalid_argument("hog_stride must be a multiple of 8 up to 64, got " + std::to_string(c.hog_stride));
  }
  if (!(c.hog_scale > 1.0 && c.hog_scale <= 2.0)) return Status::invalid_argument("hog_scale must be in (1, 2]");
  if (!std::isfinite(c.hog_hit_threshold)) return Status::invalid_argument("hog_hit_threshold must be finite");
  try {
    return std::unique_ptr<Detector>(std::make_unique<HogDetector>(c));
  } catch (const cv::Exception& e) {
    return Status::internal("hog: " + cv_error(e));
  }
}

Result<std::unique_ptr<Detector>> make_onnx(const DetectorConfig& c) {
  if (c.model_path.empty()) return Status::invalid_argument("the onnx detector needs model_path");
  if (c.input_width <= 0 || c.input_height <= 0 || c.input_width > 4096 || c.input_height > 4096) {
    return Status::invalid_argument("onnx input_width and input_height must be 1..4096");
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(c.model_path, ec)) {
    return Status::not_found("model file '" + c.model_path + "' not found");
  }
  std::vector<std::string> labels;
  if (c.labels_path.empty()) {
    labels = coco_labels();
  } else {
    ARGUS_ASSIGN_OR_RETURN(labels, read_labels(c.labels_path));
  }
  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(c.model_path);
  } catch (const cv::Exception& e) {
    return Status::invalid_argument("model file '" + c.model_path + "' is not a usable ONNX model: " + cv_error(e));
  } catch (const std::bad_alloc&) {
    return Status::invalid_argument("model file '" + c.model_path + "' is not a usable ONNX model (too large)");
  }
  if (net.empty()) return Status::invalid_argument("model file '" + c.model_path + "' has no layers");
  try {
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  } catch (const cv::Exception& e) {
    return Status::internal("onnx: " + cv_error(e));
  }
  return std::unique_ptr<Detector>(std::make_unique<OnnxDetector>(c, std::move(net), std::move(labels)));
}

}  // namespace

Result<std::unique_ptr<Detector>> make_detector(const DetectorConfig& config) {
  if (config.kind == "hog" || config.kind == "onnx") ARGUS_RETURN_IF_ERROR(check_common(config));
  if (config.kind == "hog") return make_hog(config);
  if (config.kind == "onnx") return make_onnx(config);
  if (config.kind == "remote") return make_remote_detector(config);
  return Status::invalid_argument("unknown detector kind '" + config.kind + "' (expected hog, onnx or remote)");
}

std::vector<Detection> non_max_suppression(std::vector<Detection> detections, double iou_threshold) {
  std::stable_sort(detections.begin(), detections.end(),
                   [](const Detection& a, const Detection& b) { return a.score > b.score; });
  std::vector<Detection> kept;
  kept.reserve(detections.size());
  for (auto& d : detections) {
    bool suppressed = std::any_of(kept.begin(), kept.end(), [&](const Detection& k) {
      return k.label == d.label && iou(k.box, d.box) > iou_threshold;
    });
    if (!suppressed) kept.push_back(std::move(d));
  }
  return kept;
}

const std::vector<std::string>& coco_labels() {
  static const std::vector<std::string> kLabels = {
      "person",         "bicycle",    "car",           "motorcycle",    "airplane",     "bus",           "train",
      "truck",          "boat",       "traffic light", "fire hydrant",  "stop sign",    "parking meter", "bench",
      "bird",           "cat",        "dog",           "horse",         "sheep",        "cow",           "elephant",
      "bear",           "zebra",      "giraffe",       "backpack",      "umbrella",     "handbag",       "tie",
      "suitcase",       "frisbee",    "skis",          "snowboard",     "sports ball",  "kite",          "baseball bat",
      "baseball glove", "skateboard", "surfboard",     "tennis racket", "bottle",       "wine glass",    "cup",
      "fork",           "knife",      "spoon",         "bowl",          "banana",       "apple",         "sandwich",
      "orange",         "broccoli",   "carrot",        "hot dog",       "pizza",        "donut",         "cake",
      "chair",          "couch",      "potted plant",  "bed",           "dining table", "toilet",        "tv",
      "laptop",         "mouse",      "remote",        "keyboard",      "cell phone",   "microwave",     "oven",
      "toaster",        "sink",       "refrigerator",  "book",          "clock",        "vase",          "scissors",
      "teddy bear",     "hair drier", "toothbrush"};
  return kLabels;
}

}  // namespace argus::vision
