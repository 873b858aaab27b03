#include "ingest/source.h"

#include <chrono>
#include <utility>

#include "vision/jpeg.h"

namespace argus::ingest {

bool is_permanent(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kFailedPrecondition:
      return true;
    default:
      return false;
  }
}

Result<std::unique_ptr<Source>> make_source(const SourceSpec& spec, const SourceOptions& options) {
  switch (spec.kind) {
    case SourceKind::kStream:
      return make_stream_source(spec, options);
    case SourceKind::kFile:
      return make_file_source(spec, options);
    case SourceKind::kMjpeg:
      return make_mjpeg_source(spec, options);
    case SourceKind::kSnapshot:
      return make_snapshot_source(spec, options);
    case SourceKind::kFolder:
      return make_folder_source(spec, options);
    case SourceKind::kPush:
      break;
  }
  return Status::invalid_argument("push cameras have no source to read from");
}

Result<std::string> file_url_path(const std::string& url) {
  constexpr std::string_view kPrefix = "file://";
  if (url.size() <= kPrefix.size() || url.compare(0, kPrefix.size(), kPrefix) != 0 || url[kPrefix.size()] != '/') {
    return Status::invalid_argument("'" + mask_url_credentials(url) + "' is not a file:///absolute/path URL");
  }
  return url.substr(kPrefix.size());
}

Result<SourceFrame> frame_from_bytes(std::string bytes, int min_width) {
  if (bytes.empty()) return Status::invalid_argument("the image is empty (0 bytes)");
  if (bytes.size() > kMaxImageBytes) {
    return Status::invalid_argument("the image is " + std::to_string(bytes.size()) + " bytes, more than the limit of " +
                                    std::to_string(kMaxImageBytes));
  }
  const auto started = std::chrono::steady_clock::now();
  auto image = vision::decode_image(bytes, min_width);
  if (!image.ok()) return image.status();
  const double decode_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (image->empty() || image->type() != CV_8UC3) {
    return Status::invalid_argument("the image did not decode to 8-bit BGR");
  }
  SourceFrame frame;
  frame.image = std::move(image).value();
  frame.decode_seconds = decode_seconds;
  if (vision::looks_like_jpeg(bytes)) {
    frame.jpeg = std::make_shared<const std::string>(std::move(bytes));
  }
  return frame;
}

}  // namespace argus::ingest
