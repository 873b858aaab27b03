// Source: the private interface every camera source kind implements, and its factory.
//
// A Source is owned by one supervisor and only ever runs on that supervisor's thread. The
// supervisor calls run() again after every failure, on the same object, so what a source
// remembers between connections (the folder source's recent content hashes, a curl
// connection cache) survives reconnects.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <opencv2/core.hpp>

#include "core/camera.h"
#include "core/status.h"
#include "core/url_guard.h"

namespace argus::ingest {

// Raised once to ask a supervisor and its source to stop. Waits wake up at once when it
// is raised. Thread-safe.
class StopSignal {
 public:
  void raise() {
    {
      std::lock_guard lock(mu_);
      raised_.store(true);
    }
    cv_.notify_all();
  }
  bool raised() const { return raised_.load(); }

  // Sleeps until `deadline`; true if the signal is (or becomes) raised first.
  template <typename C, typename D>
  bool wait_until(std::chrono::time_point<C, D> deadline) const {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return raised_.load(); });
  }
  template <typename R, typename P>
  bool wait_for(std::chrono::duration<R, P> d) const {
    return wait_until(std::chrono::steady_clock::now() + d);
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::atomic<bool> raised_{false};
};

// One image as a source delivers it; the supervisor adds camera id, seq and time.
struct SourceFrame {
  cv::Mat image;                            // BGR, CV_8UC3
  std::shared_ptr<const std::string> jpeg;  // the bytes, when the source delivered a JPEG
  std::optional<double> media_seconds;      // position in the media; default: since start
  // Seconds the source spent decoding this frame (observed as the `decode` stage); negative
  // when the source cannot tell decoding from waiting (live streams: FFmpeg reads and
  // decodes in one call that blocks until the camera sends).
  double decode_seconds = -1;
};

// What a source may rely on; fixed for the source's lifetime.
struct SourceOptions {
  std::int64_t read_timeout_ms = 10'000;  // no frame (or no answer) this long -> error
  int decode_min_width = 0;               // JPEG scaled decode target (0 = full size)
  // Optional: every connection an HTTP source opens (redirects included) must go to an
  // address this guard allows; checked on the resolved address, so DNS rebinding cannot
  // slip past the check made when the camera was saved. Not owned.
  const UrlGuard* url_guard = nullptr;
};

// Upper bound on one image's encoded bytes (snapshot body, MJPEG part, folder file, push).
inline constexpr std::size_t kMaxImageBytes = 16u << 20;

// How a source hands over what it reads. Both callbacks return quickly and never throw.
struct SourceIO {
  const StopSignal& stop;
  std::function<void(SourceFrame)> emit;
  // The source is connected and healthy although it has no frame yet (the folder source
  // once its directory is watched): the supervisor reports it online.
  std::function<void()> ready;
};

class Source {
 public:
  virtual ~Source() = default;

  // Connects and delivers frames until it fails or `io.stop` is raised. Returns the
  // failure: InvalidArgument, NotFound or FailedPrecondition for configuration problems
  // a retry will not fix (see is_permanent), any other code for problems a reconnect may
  // fix; Cancelled (or ok) when stopped. Blocks at most read_timeout_ms (plus ~100 ms)
  // after `io.stop` is raised. May throw; the supervisor catches.
  virtual Status run(const SourceIO& io) = 0;
};

// True for failures that are configuration problems (state error, slow retries).
bool is_permanent(const Status& s);

// Builds the source for `spec`. InvalidArgument for a URL the kind cannot use. Push
// cameras have no Source (frames arrive through CameraManager::push_frame).
Result<std::unique_ptr<Source>> make_source(const SourceSpec& spec, const SourceOptions& options);

// The factories behind make_source, one per kind (each in its own .cpp).
Result<std::unique_ptr<Source>> make_stream_source(const SourceSpec& spec, const SourceOptions& options);
Result<std::unique_ptr<Source>> make_file_source(const SourceSpec& spec, const SourceOptions& options);
Result<std::unique_ptr<Source>> make_mjpeg_source(const SourceSpec& spec, const SourceOptions& options);
Result<std::unique_ptr<Source>> make_snapshot_source(const SourceSpec& spec, const SourceOptions& options);
Result<std::unique_ptr<Source>> make_folder_source(const SourceSpec& spec, const SourceOptions& options);

// "file:///a/b" -> "/a/b". InvalidArgument unless the URL is file:// with an absolute path.
Result<std::string> file_url_path(const std::string& url);

// Decodes image bytes a camera sent (JPEG through the fast path, PNG through OpenCV) into
// a SourceFrame, keeping the bytes when they are a JPEG. InvalidArgument when the bytes
// are not a decodable image.
Result<SourceFrame> frame_from_bytes(std::string bytes, int min_width);

}  // namespace argus::ingest
