// JPEG and image decoding/encoding (libjpeg-turbo; PNG and others through OpenCV).
//
// All functions are thread-safe and never throw: corrupt input is an InvalidArgument with
// a message naming what is wrong.
#pragma once

#include <string>
#include <string_view>

#include <opencv2/core.hpp>

#include "core/status.h"

namespace argus::vision {

// Images with more pixels than this are refused unless the caller says otherwise.
inline constexpr long kDefaultMaxPixels = 40'000'000;

// Decodes a JPEG to BGR. With `min_width` > 0 the decoder scales down by the largest
// libjpeg-turbo factor (1/2, 1/4, 1/8) that keeps the width >= min_width, which is far
// cheaper than decoding full size and resizing.
// Refuses (InvalidArgument) a JPEG whose header declares more than `max_pixels` (before
// scaling), without allocating for it. A JPEG whose data ends before the last pixel
// (truncated file; libjpeg would fill the rest with grey) is InvalidArgument; one that
// lacks only the end-of-image marker is accepted, as are other libjpeg warnings on an
// image that decoded completely (e.g. extraneous bytes before a marker, common from
// cameras).
Result<cv::Mat> decode_jpeg(std::string_view bytes, int min_width = 0, long max_pixels = kDefaultMaxPixels);

// Decodes JPEG (fast path above) or any format OpenCV reads (PNG, BMP, WebP...).
// Refuses images larger than `max_pixels`: for JPEG, PNG and BMP from the header before
// decoding; for other formats after decoding. Non-JPEG images are scaled down by the same
// power-of-two rule as decode_jpeg when `min_width` > 0, so the output size does not
// depend on the format.
Result<cv::Mat> decode_image(std::string_view bytes, int min_width = 0, long max_pixels = kDefaultMaxPixels);

// Encodes BGR (CV_8UC3) or gray (CV_8UC1) to JPEG with quality 1..100 (4:2:0 chroma).
// An empty image, another type or a quality out of range is InvalidArgument.
Result<std::string> encode_jpeg(const cv::Mat& bgr, int quality = 85);

// True if the bytes start like a JPEG (FF D8 FF) or PNG.
bool looks_like_jpeg(std::string_view bytes);
bool looks_like_png(std::string_view bytes);

}  // namespace argus::vision
