// Stream and file sources: both read through OpenCV videoio with the FFmpeg backend.
//
// RTSP and HTTP(S) streams share this code path. The tests exercise it with ffmpeg acting as
// an HTTP server (MPEG-TS) and with GStreamer's RTSP server (tests/e2e/rtsp_server.py).
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <utility>
#include <vector>

#include <opencv2/videoio.hpp>

#include "core/log.h"
#include "ingest/curl_util.h"
#include "ingest/source.h"

namespace argus::ingest {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Opens `url` with the FFmpeg backend, open and read bounded by `timeout_ms`.
bool open_capture(cv::VideoCapture& cap, const std::string& url, std::int64_t timeout_ms) {
  const int t = static_cast<int>(std::min<std::int64_t>(timeout_ms, 24 * 3600 * 1000));
  std::vector<int> params{cv::CAP_PROP_OPEN_TIMEOUT_MSEC, t, cv::CAP_PROP_READ_TIMEOUT_MSEC, t};
  return cap.open(url, cv::CAP_FFMPEG, params) && cap.isOpened();
}

// A live stream: frames as fast as the camera sends them.
class StreamSource final : public Source {
 public:
  StreamSource(std::string url, SourceOptions options)
      : url_(std::move(url)), masked_(mask_url_credentials(url_)), options_(options) {}

  Status run(const SourceIO& io) override {
    cv::VideoCapture cap;
    if (!open_capture(cap, url_, options_.read_timeout_ms)) return open_failure();
    while (!io.stop.raised()) {
      cv::Mat image;
      if (!cap.read(image) || image.empty()) {
        return Status::unavailable("stream " + masked_ + " ended or sent no frame within " +
                                   std::to_string(options_.read_timeout_ms) + " ms");
      }
      if (image.type() != CV_8UC3) {
        return Status::unavailable("stream " + masked_ + " decoded to an unexpected pixel format");
      }
      io.emit(SourceFrame{std::move(image), nullptr, std::nullopt});
    }
    return Status::cancelled("stopped");
  }

 private:
  // Why the stream did not open. For RTSP a DESCRIBE probe tells wrong credentials and
  // wrong paths apart from an unreachable camera.
  Status open_failure() const {
    Status generic = Status::unavailable("cannot open stream " + masked_ + ": no answer, refused, or not a video stream");
    if (url_.rfind("rtsp://", 0) != 0) return generic;
    auto target = split_camera_url(url_, true);
    if (!target.ok()) return target.status();
    Status probe = rtsp_describe(*target, std::min<std::int64_t>(options_.read_timeout_ms, 5000));
    return probe.ok() ? generic : probe;
  }

  const std::string url_;  // with credentials: FFmpeg needs them (RTSP auth)
  const std::string masked_;
  const SourceOptions options_;
};

// A video file replayed in a loop at its own frame rate.
class FileSource final : public Source {
 public:
  FileSource(std::string path, SourceOptions options) : path_(std::move(path)), options_(options) {}

  Status run(const SourceIO& io) override {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) {
      return Status::not_found("video file " + path_ + " does not exist or is not readable");
    }
    if (!S_ISREG(st.st_mode)) return Status::invalid_argument(path_ + " is not a regular file");

    cv::VideoCapture cap;
    ARGUS_RETURN_IF_ERROR(open(cap));
    double fps = cap.get(cv::CAP_PROP_FPS);
    if (!(fps >= 0.1 && fps <= 240)) {
      log::warn("video file has no usable frame rate; replaying at 25 fps",
                {{"path", path_}, {"fps", std::isfinite(fps) ? fps : -1.0}});
      fps = 25;
    }
    const auto period = std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(1.0 / fps));

    auto due = SteadyClock::now();
    std::uint64_t in_pass = 0;  // frames read since the last rewind
    bool rewound = false;
    while (!io.stop.raised()) {
      cv::Mat image;
      const auto read_started = SteadyClock::now();
      if (!cap.read(image) || image.empty()) {
        if (in_pass == 0 && !rewound) {
          return Status::invalid_argument("video file " + path_ + " has no decodable frames (corrupt or truncated?)");
        }
        // End of file: seek back to the start. When the seek fails, or reading after it
        // does, reopen the file instead.
        bool seek = in_pass > 0 && cap.set(cv::CAP_PROP_POS_FRAMES, 0);
        in_pass = 0;
        rewound = seek;
        if (!seek) {
          cap.release();
          ARGUS_RETURN_IF_ERROR(open(cap));
        }
        continue;
      }
      if (image.type() != CV_8UC3) {
        return Status::invalid_argument("video file " + path_ + " decodes to an unsupported pixel format");
      }
      double pos_ms = cap.get(cv::CAP_PROP_POS_MSEC);
      double media = std::isfinite(pos_ms) && pos_ms >= 0 ? pos_ms / 1000.0 : static_cast<double>(in_pass) / fps;
      ++in_pass;
      rewound = false;

      // Pace on the steady clock; after a long stall (debugger, suspended VM) resync
      // instead of bursting to catch up.
      auto now = SteadyClock::now();
      if (now - due > std::chrono::seconds(1)) due = now;
      if (io.stop.wait_until(due)) break;
      due += period;
      SourceFrame out{std::move(image), nullptr, media};
      out.decode_seconds = std::chrono::duration<double>(SteadyClock::now() - read_started).count();
      io.emit(std::move(out));
    }
    return Status::cancelled("stopped");
  }

 private:
  Status open(cv::VideoCapture& cap) {
    if (!open_capture(cap, path_, options_.read_timeout_ms)) {
      return Status::invalid_argument("cannot open " + path_ + " as a video: unsupported format, corrupt or truncated");
    }
    return {};
  }

  const std::string path_;
  const SourceOptions options_;
};

}  // namespace

Result<std::unique_ptr<Source>> make_stream_source(const SourceSpec& spec, const SourceOptions& options) {
  std::size_t sep = spec.url.find("://");
  if (sep == std::string::npos || sep == 0) {
    return Status::invalid_argument("stream URL '" + mask_url_credentials(spec.url) +
                                    "' has no scheme (rtsp://, http://...)");
  }
  std::string scheme = spec.url.substr(0, sep);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "rtsp" && scheme != "rtsps" && scheme != "http" && scheme != "https") {
    return Status::invalid_argument("unsupported stream scheme '" + scheme + "' (use rtsp, rtsps, http or https)");
  }
  return std::unique_ptr<Source>(std::make_unique<StreamSource>(spec.url, options));
}

Result<std::unique_ptr<Source>> make_file_source(const SourceSpec& spec, const SourceOptions& options) {
  ARGUS_ASSIGN_OR_RETURN(std::string path, file_url_path(spec.url));
  return std::unique_ptr<Source>(std::make_unique<FileSource>(std::move(path), options));
}

}  // namespace argus::ingest
