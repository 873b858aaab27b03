// HTTP sources through libcurl: mjpeg (multipart/x-mixed-replace) and snapshot polling.
#include <chrono>
#include <exception>
#include <utility>

#include "ingest/curl_util.h"
#include "ingest/multipart.h"
#include "ingest/source.h"

namespace argus::ingest {
namespace {

using SteadyClock = std::chrono::steady_clock;

bool is_2xx(long code) { return code >= 200 && code < 300; }

std::string describe_content_type(const std::string& ct) {
  return ct.empty() ? std::string("no Content-Type") : "Content-Type " + ct;
}

// An MJPEG stream: one long response whose parts are JPEG frames.
class MjpegSource final : public Source {
 public:
  MjpegSource(HttpTarget target, SourceOptions options) : target_(std::move(target)), options_(options) {}

  Status run(const SourceIO& io) override {
    if (!transfer_.valid()) return Status::resource_exhausted("libcurl could not allocate a handle");
    Connection conn{this, &io, SteadyClock::now()};
    content_type_.clear();
    CURL* e = transfer_.easy();
    transfer_.configure(target_, options_.read_timeout_ms, options_.url_guard);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 0L);  // a stream never ends on its own
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &MjpegSource::on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &conn);

    Status s = transfer_.perform(io.stop, [&]() -> Status {
      auto idle = SteadyClock::now() - conn.last_frame;
      if (idle > std::chrono::milliseconds(options_.read_timeout_ms)) {
        return Status::deadline_exceeded(
            "no frame from " + target_.masked_url + " for " + std::to_string(options_.read_timeout_ms) + " ms" +
            (conn.frames == 0 ? std::string(" (connected, but the stream sent no image)") : ""));
      }
      return {};
    });
    curl_easy_setopt(e, CURLOPT_WRITEDATA, nullptr);
    if (io.stop.raised()) return Status::cancelled("stopped");
    if (!conn.error.ok()) return conn.error;
    if (!s.ok()) return s;
    long code = transfer_.response_code();
    if (!is_2xx(code)) return http_status_error(code, target_);
    if (conn.frames == 0 && (!conn.parser || conn.parser->parts() == 0) &&
        content_type_.find("multipart") == std::string::npos) {
      return Status::invalid_argument(target_.masked_url + " is not an MJPEG stream (" +
                                      describe_content_type(content_type_) + ")");
    }
    return Status::unavailable("the MJPEG stream " + target_.masked_url + " ended after " +
                               std::to_string(conn.frames) + " frames");
  }

 private:
  // State of one connection, reached from libcurl's callback.
  struct Connection {
    MjpegSource* self;
    const SourceIO* io;
    SteadyClock::time_point last_frame;
    std::optional<MultipartParser> parser;
    std::uint64_t frames = 0;
    int bad_parts_in_a_row = 0;
    Status error;
  };

  static size_t on_data(char* data, size_t size, size_t n, void* user) {
    auto* c = static_cast<Connection*>(user);
    try {
      c->error = c->self->handle(*c, std::string_view(data, size * n));
    } catch (const std::exception& ex) {
      c->error = Status::internal(std::string("MJPEG parser: ") + ex.what());
    } catch (...) {
      c->error = Status::internal("MJPEG parser: unknown exception");
    }
    return c->error.ok() ? size * n : 0;  // 0 aborts the transfer
  }

  Status handle(Connection& c, std::string_view data) {
    if (!c.parser) {
      long code = transfer_.response_code();
      if (!is_2xx(code)) return http_status_error(code, target_);
      std::string ct = transfer_.content_type();
      auto boundary = boundary_from_content_type(ct);
      // Without a boundary parameter the parser learns it from the body (and rejects a
      // body that is not multipart).
      c.parser.emplace(boundary.value_or(""), kMaxImageBytes);
      content_type_ = ct;
    }
    Status s = c.parser->feed(data, [&](std::string part) { return on_part(c, std::move(part)); });
    if (s.code() == StatusCode::kInvalidArgument) {
      return Status::invalid_argument(target_.masked_url + " is not an MJPEG stream (" +
                                      describe_content_type(content_type_) + "): " + s.message());
    }
    if (!s.ok() && s.code() != StatusCode::kCancelled) {
      return Status(s.code(), "MJPEG stream " + target_.masked_url + ": " + s.message());
    }
    return s;
  }

  Status on_part(Connection& c, std::string part) {
    auto frame = frame_from_bytes(std::move(part), options_.decode_min_width);
    if (!frame.ok()) {
      // One damaged frame in a healthy stream is skipped; a stream whose first part is not
      // an image is misconfigured; a run of bad parts means the stream went bad.
      if (c.frames == 0) {
        return Status::invalid_argument("the first part is not a decodable image: " + frame.status().message());
      }
      if (++c.bad_parts_in_a_row >= 10) {
        return Status::corruption("10 undecodable parts in a row: " + frame.status().message());
      }
      return {};
    }
    c.bad_parts_in_a_row = 0;
    ++c.frames;
    c.last_frame = SteadyClock::now();
    c.io->emit(std::move(frame).value());
    if (c.io->stop.raised()) return Status::cancelled("stopped");
    return {};
  }

  const HttpTarget target_;
  const SourceOptions options_;
  CurlTransfer transfer_;
  std::string content_type_;
};

// A still image fetched every interval_ms.
class SnapshotSource final : public Source {
 public:
  SnapshotSource(HttpTarget target, std::int64_t interval_ms, SourceOptions options)
      : target_(std::move(target)), interval_ms_(std::max<std::int64_t>(1, interval_ms)), options_(options) {}

  Status run(const SourceIO& io) override {
    if (!transfer_.valid()) return Status::resource_exhausted("libcurl could not allocate a handle");
    CURL* e = transfer_.easy();
    transfer_.configure(target_, options_.read_timeout_ms, options_.url_guard);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.read_timeout_ms));
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxImageBytes));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &SnapshotSource::on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body_);

    while (!io.stop.raised()) {
      auto started = SteadyClock::now();
      ARGUS_RETURN_IF_ERROR(fetch(io));
      if (io.stop.wait_until(started + std::chrono::milliseconds(interval_ms_))) break;
    }
    return Status::cancelled("stopped");
  }

 private:
  static size_t on_data(char* data, size_t size, size_t n, void* user) {
    auto* body = static_cast<std::string*>(user);
    if (body->size() + size * n > kMaxImageBytes) return 0;
    try {
      body->append(data, size * n);
    } catch (...) {
      return 0;
    }
    return size * n;
  }

  Status fetch(const SourceIO& io) {
    body_.clear();
    Status s = transfer_.perform(io.stop, nullptr);
    if (io.stop.raised()) return Status::cancelled("stopped");
    if (!s.ok()) {
      if (transfer_.last_code() == CURLE_WRITE_ERROR) {
        return Status::failed_precondition("the snapshot from " + target_.masked_url + " is larger than " +
                                           std::to_string(kMaxImageBytes) + " bytes");
      }
      return s;
    }
    long code = transfer_.response_code();
    if (!is_2xx(code)) return http_status_error(code, target_);
    std::string ct = transfer_.content_type();
    std::size_t size = body_.size();
    auto frame = frame_from_bytes(std::move(body_), options_.decode_min_width);
    body_ = std::string();
    if (!frame.ok()) {
      return Status::invalid_argument("the response from " + target_.masked_url + " is not an image (" +
                                      describe_content_type(ct) + ", " + std::to_string(size) +
                                      " bytes): " + frame.status().message());
    }
    io.emit(std::move(frame).value());
    return {};
  }

  const HttpTarget target_;
  const std::int64_t interval_ms_;
  const SourceOptions options_;
  CurlTransfer transfer_;
  std::string body_;
};

}  // namespace

Result<std::unique_ptr<Source>> make_mjpeg_source(const SourceSpec& spec, const SourceOptions& options) {
  ARGUS_ASSIGN_OR_RETURN(HttpTarget target, split_http_url(spec.url));
  return std::unique_ptr<Source>(std::make_unique<MjpegSource>(std::move(target), options));
}

Result<std::unique_ptr<Source>> make_snapshot_source(const SourceSpec& spec, const SourceOptions& options) {
  ARGUS_ASSIGN_OR_RETURN(HttpTarget target, split_http_url(spec.url));
  return std::unique_ptr<Source>(std::make_unique<SnapshotSource>(std::move(target), spec.interval_ms, options));
}

}  // namespace argus::ingest
