#include "vision/motion.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/background_segm.hpp>

namespace argus::vision {

// Per frame: BGR -> gray at options.width (aspect kept, never enlarged) -> 5x5 Gaussian
// blur (sensor noise) -> MOG2 foreground mask (shadows not modelled) -> morphological open
// (3x3, drops speckle) -> changed_fraction -> dilate (7x7, joins the parts of one mover) ->
// external contours -> for each group, the bounding box of its changed pixels, kept when
// they cover at least min_region_fraction of the image. Regions are sorted largest first.
//
// During warm-up (the first warmup_frames frames, counted again after the frame size
// changes, which also resets the background model) the model is still learning: the
// whole frame is reported as one region with changed_fraction 1.
//
// Should OpenCV fail (it should not on a valid image), the frame counts as motion so the
// detector still runs: missing an object is worse than an extra detector run.
struct MotionDetector::Impl {
  MotionOptions options;
  cv::Ptr<cv::BackgroundSubtractorMOG2> mog2;
  cv::Size input_size;
  int frames_since_reset = 0;
  cv::Mat open_kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(3, 3));
  cv::Mat dilate_kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(7, 7));
  cv::Mat gray, small, mask, grouped;  // reused buffers

  void reset() {
    mog2 = cv::createBackgroundSubtractorMOG2(std::max(1, options.history), options.var_threshold,
                                              /*detectShadows=*/false);
    frames_since_reset = 0;
  }

  static MotionResult everything() {
    MotionResult r;
    r.motion = true;
    r.changed_fraction = 1;
    r.regions.push_back(Box{0, 0, 1, 1});
    return r;
  }

  MotionResult process(const cv::Mat& image) {
    if (image.empty()) return {};
    if (!mog2 || image.size() != input_size) {
      input_size = image.size();
      reset();
    }

    if (image.channels() == 3) {
      cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
    } else if (image.channels() == 4) {
      cv::cvtColor(image, gray, cv::COLOR_BGRA2GRAY);
    } else {
      gray = image;
    }
    if (options.width > 0 && options.width < gray.cols) {
      int height = std::max(1, static_cast<int>(std::lround(double(gray.rows) * options.width / gray.cols)));
      cv::resize(gray, small, cv::Size(options.width, height), 0, 0, cv::INTER_AREA);
    } else {
      gray.copyTo(small);
    }
    cv::GaussianBlur(small, small, cv::Size(5, 5), 0);
    mog2->apply(small, mask);
    ++frames_since_reset;
    if (frames_since_reset <= options.warmup_frames) return everything();

    cv::morphologyEx(mask, mask, cv::MORPH_OPEN, open_kernel);
    const double total = static_cast<double>(mask.total());
    MotionResult result;
    result.changed_fraction = cv::countNonZero(mask) / total;
    if (result.changed_fraction == 0) return result;

    cv::dilate(mask, grouped, dilate_kernel);
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(grouped, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    for (const auto& contour : contours) {
      // Size and box come from the changed pixels themselves, not from the dilation
      // that only groups them.
      cv::Rect outer = cv::boundingRect(contour);
      cv::Mat part = mask(outer);
      if (cv::countNonZero(part) < options.min_region_fraction * total) continue;
      cv::Rect r = cv::boundingRect(part) + outer.tl();
      result.regions.push_back(to_box(cv::Rect2f(r), mask.cols, mask.rows));
    }
    // Largest first: the pipeline may look at the main mover only.
    std::sort(result.regions.begin(), result.regions.end(),
              [](const Box& a, const Box& b) { return a.area() > b.area(); });
    result.motion = !result.regions.empty();
    return result;
  }
};

MotionDetector::MotionDetector(MotionOptions options) : impl_(std::make_unique<Impl>()) { impl_->options = options; }

MotionDetector::~MotionDetector() = default;

MotionResult MotionDetector::process(const cv::Mat& bgr) {
  try {
    return impl_->process(bgr);
  } catch (const cv::Exception&) {
    impl_->mog2.release();  // start over on the next frame
    return Impl::everything();
  }
}

}  // namespace argus::vision
