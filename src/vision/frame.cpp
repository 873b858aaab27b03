#include "vision/frame.h"

#include <algorithm>
#include <cmath>

namespace argus::vision {

double iou(const Box& a, const Box& b) {
  double ix1 = std::max(a.x1, b.x1), iy1 = std::max(a.y1, b.y1);
  double ix2 = std::min(a.x2, b.x2), iy2 = std::min(a.y2, b.y2);
  double inter = (ix2 > ix1 && iy2 > iy1) ? (ix2 - ix1) * (iy2 - iy1) : 0;
  double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

Box to_box(const cv::Rect2f& r, int w, int h) {
  auto clamp01 = [](double v) { return std::clamp(v, 0.0, 1.0); };
  return {clamp01(r.x / w), clamp01(r.y / h), clamp01((r.x + r.width) / w), clamp01((r.y + r.height) / h)};
}

cv::Rect to_rect(const Box& b, int w, int h) {
  int x1 = static_cast<int>(std::lround(b.x1 * w)), y1 = static_cast<int>(std::lround(b.y1 * h));
  int x2 = static_cast<int>(std::lround(b.x2 * w)), y2 = static_cast<int>(std::lround(b.y2 * h));
  return cv::Rect(x1, y1, std::max(0, x2 - x1), std::max(0, y2 - y1)) & cv::Rect(0, 0, w, h);
}

}  // namespace argus::vision
