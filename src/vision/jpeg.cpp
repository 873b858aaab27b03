#include "vision/jpeg.h"

#include <turbojpeg.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

namespace argus::vision {
namespace {

// One turbojpeg handle of each kind per thread: handles are not thread-safe, and creating
// one per call costs an allocation of libjpeg's state. libjpeg-turbo 2.1 leaves a
// decompressor in a bad state after a header error (the next header read fails with the
// old error), so a handle is replaced after every failure.
class TjHandle {
 public:
  using Init = tjhandle (*)();
  explicit TjHandle(Init init) : init_(init), h_(init()) {}
  ~TjHandle() { destroy(); }
  TjHandle(const TjHandle&) = delete;
  TjHandle& operator=(const TjHandle&) = delete;
  tjhandle get() {
    if (h_ == nullptr) h_ = init_();
    return h_;
  }
  // Drops the handle after a failure; the next get() makes a fresh one.
  void reset() { destroy(); }

 private:
  void destroy() {
    if (h_ != nullptr) tjDestroy(h_);
    h_ = nullptr;
  }
  Init init_;
  tjhandle h_;
};

TjHandle& thread_decompressor() {
  thread_local TjHandle handle(&tjInitDecompress);
  return handle;
}

TjHandle& thread_compressor() {
  thread_local TjHandle handle(&tjInitCompress);
  return handle;
}

std::string tj_error(tjhandle h) {
  const char* s = tjGetErrorStr2(h);
  return s != nullptr ? std::string(s) : std::string("unknown error");
}

bool contains_nocase(const std::string& haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != haystack.end();
}

// The denominator (1, 2, 4 or 8) of the strongest down-scaling that keeps the width at or
// above min_width. Only factors the library reports are considered.
int scale_denominator(int width, int min_width) {
  if (min_width <= 0 || width <= min_width) return 1;
  int count = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&count);
  int best = 1;
  for (int i = 0; factors != nullptr && i < count; ++i) {
    const tjscalingfactor f = factors[i];
    if (f.num != 1) continue;
    if (f.denom != 2 && f.denom != 4 && f.denom != 8) continue;
    if (TJSCALED(width, f) >= min_width && f.denom > best) best = f.denom;
  }
  return best;
}

int scaled(int dimension, int denom) { return (dimension + denom - 1) / denom; }

std::string size_text(long w, long h) { return std::to_string(w) + "x" + std::to_string(h); }

// w x h > max_pixels, for w, h in 0..2^32 without overflow.
bool over_limit(long w, long h, long max_pixels) { return h > 0 && w > max_pixels / h; }

Status too_large(long w, long h, long max_pixels) {
  const auto pixels = static_cast<unsigned long long>(w) * static_cast<unsigned long long>(h);
  return Status::invalid_argument("image is " + size_text(w, h) + " (" + std::to_string(pixels) +
                                  " pixels), more than the limit of " + std::to_string(max_pixels));
}

std::uint32_t be32(std::string_view b, std::size_t at) {
  return (std::uint32_t{static_cast<unsigned char>(b[at])} << 24) |
         (std::uint32_t{static_cast<unsigned char>(b[at + 1])} << 16) |
         (std::uint32_t{static_cast<unsigned char>(b[at + 2])} << 8) |
         std::uint32_t{static_cast<unsigned char>(b[at + 3])};
}

std::uint32_t le32(std::string_view b, std::size_t at) {
  return std::uint32_t{static_cast<unsigned char>(b[at])} |
         (std::uint32_t{static_cast<unsigned char>(b[at + 1])} << 8) |
         (std::uint32_t{static_cast<unsigned char>(b[at + 2])} << 16) |
         (std::uint32_t{static_cast<unsigned char>(b[at + 3])} << 24);
}

std::uint32_t le16(std::string_view b, std::size_t at) {
  return std::uint32_t{static_cast<unsigned char>(b[at])} | (std::uint32_t{static_cast<unsigned char>(b[at + 1])} << 8);
}

// Width and height from a PNG or BMP header, when the bytes are one and the header is
// readable; {0, 0} otherwise (the decoder then judges the bytes).
std::pair<long, long> header_size(std::string_view b) {
  if (looks_like_png(b) && b.size() >= 24 && b.substr(12, 4) == "IHDR") {
    return {static_cast<long>(be32(b, 16)), static_cast<long>(be32(b, 20))};
  }
  if (b.size() >= 26 && b[0] == 'B' && b[1] == 'M') {
    std::uint32_t header = le32(b, 14);
    if (header == 12) return {static_cast<long>(le16(b, 18)), static_cast<long>(le16(b, 20))};
    if (header >= 40) {
      auto w = static_cast<std::int32_t>(le32(b, 18));
      auto h = static_cast<std::int32_t>(le32(b, 22));
      return {std::labs(static_cast<long>(w)), std::labs(static_cast<long>(h))};
    }
  }
  return {0, 0};
}

// Decodes into `out` (already sized). Ok when the image decoded cleanly or with warnings
// that do not lose pixels; Unavailable (internal use only: "ran out of data") when libjpeg
// hit the end of the data early; InvalidArgument for other errors.
Status decompress(TjHandle& handle, const unsigned char* data, unsigned long size, cv::Mat& out) {
  tjhandle tj = handle.get();
  if (tj == nullptr) return Status::internal("cannot create a JPEG decompressor: " + tj_error(nullptr));
  int rc = tjDecompress2(tj, data, size, out.data, out.cols, static_cast<int>(out.step[0]), out.rows, TJPF_BGR,
                         TJFLAG_LIMITSCANS);
  if (rc == 0) return {};
  std::string why = tj_error(tj);
  const bool fatal = tjGetErrorCode(tj) != TJERR_WARNING;
  handle.reset();
  if (fatal) return Status::invalid_argument("corrupt JPEG: " + why);
  // "Premature end of JPEG file" / "premature end of data segment".
  if (contains_nocase(why, "premature end")) return Status::unavailable(why);
  return {};
}

}  // namespace

bool looks_like_jpeg(std::string_view bytes) {
  return bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
         static_cast<unsigned char>(bytes[1]) == 0xD8 && static_cast<unsigned char>(bytes[2]) == 0xFF;
}

bool looks_like_png(std::string_view bytes) {
  static constexpr std::string_view kSignature("\x89PNG\r\n\x1a\n", 8);
  return bytes.substr(0, kSignature.size()) == kSignature;
}

Result<cv::Mat> decode_jpeg(std::string_view bytes, int min_width, long max_pixels) {
  if (bytes.empty()) return Status::invalid_argument("JPEG is empty");
  if (!looks_like_jpeg(bytes)) return Status::invalid_argument("not a JPEG (no FF D8 FF start of image marker)");
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<unsigned long>::max())) {
    return Status::invalid_argument("JPEG too large");
  }
  TjHandle& handle = thread_decompressor();
  tjhandle tj = handle.get();
  if (tj == nullptr) return Status::internal("cannot create a JPEG decompressor: " + tj_error(nullptr));

  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto size = static_cast<unsigned long>(bytes.size());
  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, data, size, &width, &height, &subsamp, &colorspace) != 0) {
    Status s = Status::invalid_argument("corrupt JPEG header: " + tj_error(tj));
    handle.reset();
    return s;
  }
  if (width <= 0 || height <= 0) return Status::invalid_argument("JPEG has no pixels");
  if (over_limit(width, height, max_pixels)) return too_large(width, height, max_pixels);

  const int denom = scale_denominator(width, min_width);
  cv::Mat out;
  try {
    out.create(scaled(height, denom), scaled(width, denom), CV_8UC3);
  } catch (const cv::Exception& e) {
    return Status::resource_exhausted("cannot allocate a " + size_text(width, height) + " image: " + e.what());
  } catch (const std::bad_alloc&) {
    return Status::resource_exhausted("cannot allocate a " + size_text(width, height) + " image");
  }
  // Warnings do not stop the decoder (cameras commonly emit JPEGs with extraneous bytes
  // between markers); they are inspected afterwards.
  Status status = decompress(handle, data, size, out);
  if (status.ok()) return out;
  if (status.code() != StatusCode::kUnavailable) return status;
  // The data ran out early. If only the end-of-image marker is missing, the whole picture
  // was decoded; try again with the marker appended. Data that ends inside the compressed
  // scan then still warns ("premature end of data segment") and is refused: libjpeg would
  // have filled the rest of the picture with grey.
  const bool ends_with_eoi = size >= 2 && data[size - 2] == 0xFF && data[size - 1] == 0xD9;
  if (!ends_with_eoi) {
    std::string with_eoi(bytes);
    with_eoi += "\xFF\xD9";
    Status retry = decompress(handle, reinterpret_cast<const unsigned char*>(with_eoi.data()),
                              static_cast<unsigned long>(with_eoi.size()), out);
    if (retry.ok()) return out;
  }
  return Status::invalid_argument("truncated JPEG: " + status.message());
}

Result<cv::Mat> decode_image(std::string_view bytes, int min_width, long max_pixels) {
  if (bytes.empty()) return Status::invalid_argument("image is empty");
  if (looks_like_jpeg(bytes)) return decode_jpeg(bytes, min_width, max_pixels);

  auto [hw, hh] = header_size(bytes);
  if (over_limit(hw, hh, max_pixels)) return too_large(hw, hh, max_pixels);
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return Status::invalid_argument("image too large");
  }
  cv::Mat img;
  try {
    // imdecode copies nothing out of the buffer; the const_cast is only for the Mat header.
    cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
    img = cv::imdecode(buf, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    return Status::invalid_argument(std::string("cannot decode image: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Status::resource_exhausted("cannot allocate the decoded image");
  }
  if (img.empty()) return Status::invalid_argument("not an image in a format this server reads (or corrupt)");
  if (over_limit(img.cols, img.rows, max_pixels)) return too_large(img.cols, img.rows, max_pixels);

  const int denom = scale_denominator(img.cols, min_width);
  if (denom > 1) {
    cv::Mat small;
    try {
      cv::resize(img, small, cv::Size(scaled(img.cols, denom), scaled(img.rows, denom)), 0, 0, cv::INTER_AREA);
    } catch (const cv::Exception& e) {
      return Status::internal(std::string("resize: ") + e.what());
    }
    return small;
  }
  return img;
}

Result<std::string> encode_jpeg(const cv::Mat& bgr, int quality) {
  if (bgr.empty()) return Status::invalid_argument("cannot encode an empty image");
  if (bgr.type() != CV_8UC3 && bgr.type() != CV_8UC1) {
    return Status::invalid_argument("JPEG encoding needs an 8-bit BGR or gray image");
  }
  if (quality < 1 || quality > 100) {
    return Status::invalid_argument("JPEG quality must be 1..100, got " + std::to_string(quality));
  }
  if (bgr.dims != 2 || bgr.step[0] > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return Status::invalid_argument("image layout not supported for JPEG encoding");
  }
  TjHandle& handle = thread_compressor();
  tjhandle tj = handle.get();
  if (tj == nullptr) return Status::internal("cannot create a JPEG compressor: " + tj_error(nullptr));

  const bool gray = bgr.type() == CV_8UC1;
  unsigned char* jpeg = nullptr;
  unsigned long jpeg_size = 0;
  int rc = tjCompress2(tj, bgr.data, bgr.cols, static_cast<int>(bgr.step[0]), bgr.rows, gray ? TJPF_GRAY : TJPF_BGR,
                       &jpeg, &jpeg_size, gray ? TJSAMP_GRAY : TJSAMP_420, quality, 0);
  if (rc != 0) {
    std::string why = tj_error(tj);
    tjFree(jpeg);
    handle.reset();
    return Status::internal("JPEG encoding failed: " + why);
  }
  std::string out(reinterpret_cast<const char*>(jpeg), jpeg_size);
  tjFree(jpeg);
  return out;
}

}  // namespace argus::vision
