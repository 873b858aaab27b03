// libcurl helpers shared by the HTTP sources (mjpeg, snapshot).
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "core/url_guard.h"
#include "ingest/source.h"

namespace argus::ingest {

// A camera URL split for libcurl: the URL without user info, and the decoded credentials
// (given to libcurl separately, so they never appear in a URL we log or report).
struct HttpTarget {
  std::string url;         // user info removed
  std::string masked_url;  // for messages
  std::string username;
  std::string password;
  bool has_credentials = false;
};

// Splits an http(s) URL. InvalidArgument if it does not parse or is not http(s).
Result<HttpTarget> split_http_url(const std::string& url);
// The same for an rtsp:// URL when `rtsp`, else for http(s).
Result<HttpTarget> split_camera_url(const std::string& url, bool rtsp);

// Asks the RTSP server at `target` to DESCRIBE its stream (basic or digest auth, as the
// server asks), within timeout_ms. Ok when the answer describes a video stream; else why
// not: wrong or missing credentials (FailedPrecondition), no such path (NotFound),
// unreachable or timed out (Unavailable / DeadlineExceeded). Used to explain a stream that
// FFmpeg could not open, as FFmpeg's own reason does not reach us through OpenCV.
Status rtsp_describe(const HttpTarget& target, std::int64_t timeout_ms);

// Message for an HTTP status that is not 2xx, with a code that says whether a retry may
// help: 401/403 FailedPrecondition, 404/410 NotFound, other 4xx FailedPrecondition, 5xx
// and anything else Unavailable.
Status http_status_error(long code, const HttpTarget& target);

// One libcurl easy handle driven through its own multi handle, so a transfer can be
// interrupted within ~100 ms and a connection (and digest nonce) is reused across requests.
// Only used from one thread.
class CurlTransfer {
 public:
  CurlTransfer();
  ~CurlTransfer();
  CurlTransfer(const CurlTransfer&) = delete;
  CurlTransfer& operator=(const CurlTransfer&) = delete;

  // False if libcurl could not allocate its handles.
  bool valid() const { return easy_ != nullptr && multi_ != nullptr; }
  CURL* easy() const { return easy_; }

  // Sets what every camera request shares: URL and credentials (basic or digest, chosen
  // by the server's challenge), http/https only, connect timeout, no signals, at most three
  // redirects, TLS verification on.
  // With `guard`, each socket libcurl opens (redirects included) must connect to an address
  // the guard allows; a refused one fails the transfer with the guard's reason.
  void configure(const HttpTarget& target, std::int64_t connect_timeout_ms, const UrlGuard* guard = nullptr);

  // Runs the configured transfer to completion. Every ~100 ms (and at once when data
  // arrives) it checks `stop` and calls `tick`; a raised stop ends the transfer with
  // Cancelled, a non-ok tick ends it with that status. Otherwise the result is the
  // transfer's: ok, or the libcurl error mapped by curl_error_status (a write callback that
  // aborted the transfer makes that CURLE_WRITE_ERROR: the caller reports its own reason).
  Status perform(const StopSignal& stop, const std::function<Status()>& tick);

  CURLcode last_code() const { return last_code_; }
  long response_code() const;
  std::string content_type() const;

 private:
  CURL* easy_ = nullptr;
  CURLM* multi_ = nullptr;
  HttpTarget target_;
  CURLcode last_code_ = CURLE_OK;
  char error_[CURL_ERROR_SIZE] = {};
  // The host of the request being made (after redirects), for the guard's name rules.
  std::string current_host() const;
  const UrlGuard* guard_ = nullptr;
  std::string refused_;  // why the guard refused the last connection ("" if it did not)
};

// Maps a libcurl failure to a Status with a message naming the target (masked).
Status curl_error_status(CURLcode code, const char* error_buffer, const HttpTarget& target);

}  // namespace argus::ingest
