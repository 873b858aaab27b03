#include "vision/snapshot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <new>
#include <opencv2/imgproc.hpp>

#include "vision/jpeg.h"

namespace argus::vision {
namespace {

// Box and label background colour (BGR): a green that stays visible on most scenes.
const cv::Scalar kBoxColour(0, 255, 0);
const cv::Scalar kTextColour(0, 0, 0);

}  // namespace

// Line thickness is 1/250 of the shorter side (at least 2 px): 2 px at 480p, 4 px at
// 1080p. The label ("person 0.87") sits on a filled box-coloured band just above the box,
// or just inside its top edge when the box touches the top of the image.
Result<std::string> annotated_jpeg(const cv::Mat& bgr, const Box& box, const std::string& label, float score,
                                   int quality) {
  if (bgr.empty()) return Status::invalid_argument("snapshot: empty image");
  if (bgr.type() != CV_8UC3) return Status::invalid_argument("snapshot: the image must be 8-bit BGR");
  cv::Mat canvas;
  try {
    canvas = bgr.clone();
    const int w = canvas.cols, h = canvas.rows;
    const int thickness = std::max(2, static_cast<int>(std::lround(std::min(w, h) / 250.0)));
    cv::Rect r = to_rect(box, w, h);
    if (r.width > 0 && r.height > 0) {
      // cv::rectangle draws a centred line; inset by half the thickness so the whole line
      // lies on and inside the box edge.
      const int half = thickness / 2;
      cv::Point tl(r.x + half, r.y + half);
      cv::Point br(std::max(tl.x, r.x + r.width - 1 - half), std::max(tl.y, r.y + r.height - 1 - half));
      cv::rectangle(canvas, tl, br, kBoxColour, thickness, cv::LINE_8);

      char score_text[16];
      std::snprintf(score_text, sizeof score_text, "%.2f", static_cast<double>(std::clamp(score, 0.0f, 1.0f)));
      const std::string text = label.empty() ? std::string(score_text) : label + " " + score_text;
      const double font_scale = std::max(0.4, std::min(w, h) / 800.0);
      const int font_thickness = std::max(1, thickness / 2);
      int baseline = 0;
      cv::Size ts = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font_scale, font_thickness, &baseline);
      const int pad = thickness;
      const int band_h = ts.height + baseline + 2 * pad;
      int band_y = r.y - band_h;
      if (band_y < 0) band_y = r.y;  // no room above: inside the top edge
      cv::Rect band(r.x, band_y, ts.width + 2 * pad, band_h);
      band &= cv::Rect(0, 0, w, h);
      if (band.area() > 0) {
        cv::rectangle(canvas, band, kBoxColour, cv::FILLED);
        cv::putText(canvas, text, cv::Point(band.x + pad, band.y + pad + ts.height), cv::FONT_HERSHEY_SIMPLEX,
                    font_scale, kTextColour, font_thickness, cv::LINE_AA);
      }
    }
  } catch (const cv::Exception& e) {
    return Status::internal(std::string("snapshot: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Status::resource_exhausted("snapshot: out of memory");
  }
  return encode_jpeg(canvas, quality);
}

}  // namespace argus::vision
