// A small blocking HTTP client for the command-line subcommands (libcurl).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace argus::cli {

struct HttpResult {
  long status = 0;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;  // of the final response; names lower-cased

  // The first value of a header (name in lower case); nullptr if absent.
  const std::string* header(std::string_view lower_name) const;
};

// The canonical form of a server base URL, used as the key of stored credentials:
// "http://" added when there is no scheme, scheme and host lower-cased, trailing '/'
// removed. "127.0.0.1:8080/" and "HTTP://127.0.0.1:8080" both give "http://127.0.0.1:8080".
std::string normalize_server(std::string_view server);

// Per-request choices beyond method, path and body.
struct RequestOptions {
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
  // A POST the server treats as idempotent (acknowledge, requeue one letter) may be retried
  // like GET, PUT and DELETE.
  bool idempotent = false;
};

// When a request is sent again: only idempotent ones (GET, HEAD, PUT, DELETE, or marked),
// after a connection failure or a 502, 503 or 504 answer, at most `attempts` times in all.
// The wait doubles from `first_backoff_ms` up to `max_backoff_ms`; a Retry-After (seconds)
// on the answer replaces it, capped at `max_retry_after_ms`.
struct RetryPolicy {
  int attempts = 4;
  long first_backoff_ms = 250;
  long max_backoff_ms = 4'000;
  long max_retry_after_ms = 30'000;
};

// How a streamed response (stream()) ended.
struct StreamEnd {
  long status = 0;       // 0 when no response arrived
  HttpResult answer;     // a non-2xx answer, whole (for its problem document)
  bool stopped = false;  // the caller stopped it (on_data or should_stop)
};

// Not thread-safe: one Client per thread. Requests reuse one connection (HTTP keep-alive)
// while the server keeps it open. Move-only.
class Client {
 public:
  // `server` is a base URL such as http://127.0.0.1:8080 (normalized, see normalize_server).
  // `token` (an access token or API key), when set, is sent as "Authorization: Bearer".
  explicit Client(std::string server, std::string token = "", long timeout_ms = 10'000);
  ~Client();
  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Unavailable when the server cannot be reached (connection refused, DNS, timeout) after
  // the retries the policy allows; otherwise the HTTP status and body, whatever the status.
  Result<HttpResult> request(const std::string& method, const std::string& path, const std::string& body = "",
                             const std::string& content_type = "", const RequestOptions& options = {});

  // GET `path` and hand the body to `on_data` as it arrives, without a total timeout (for
  // text/event-stream). `on_data` returning false, or `should_stop` (polled at least once a
  // second) returning true, ends it (stopped = true). A non-2xx answer is collected whole
  // instead. Unavailable when the server cannot be reached or the connection broke before a
  // response; an ended or broken stream after a 2xx response is a StreamEnd.
  Result<StreamEnd> stream(const std::string& path, const RequestOptions& options,
                           const std::function<bool(std::string_view)>& on_data,
                           const std::function<bool()>& should_stop);

  // The bearer token for later requests ("" sends none).
  void set_token(std::string token) { token_ = std::move(token); }
  void set_retry_policy(RetryPolicy policy) { retry_ = policy; }
  // How the client waits between attempts (tests pass a recorder); default: sleeps.
  void set_sleeper(std::function<void(long ms)> sleeper) { sleep_ = std::move(sleeper); }

  const std::string& server() const { return server_; }

 private:
  Result<HttpResult> request_once(const std::string& method, const std::string& path, const std::string& body,
                                  const std::string& content_type, const RequestOptions& options);

  std::string server_;
  std::string token_;
  long timeout_ms_;
  RetryPolicy retry_;
  std::function<void(long ms)> sleep_;
  void* handle_ = nullptr;  // CURL*, kept for connection reuse
};

// Whether `method` may be sent again without changing the outcome (RFC 9110 9.2.2).
bool idempotent_method(std::string_view method);

// The wait before attempt `attempt + 1` (attempt >= 1) after `answer` (null: no response).
long retry_delay_ms(const RetryPolicy& policy, int attempt, const HttpResult* answer);

}  // namespace argus::cli
