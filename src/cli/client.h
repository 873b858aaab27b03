// A small blocking HTTP client for the command-line subcommands (libcurl).
#pragma once

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

// Not thread-safe: one Client per thread.
class Client {
 public:
  // `server` is a base URL such as http://127.0.0.1:8080 (normalized, see normalize_server).
  // `token` (an access token or API key), when set, is sent as "Authorization: Bearer".
  explicit Client(std::string server, std::string token = "", long timeout_ms = 10'000);

  // Unavailable when the server cannot be reached (connection refused, DNS, timeout);
  // otherwise the HTTP status and body, whatever the status.
  Result<HttpResult> request(const std::string& method, const std::string& path, const std::string& body = "",
                             const std::string& content_type = "");

  // The bearer token for later requests ("" sends none).
  void set_token(std::string token) { token_ = std::move(token); }

  const std::string& server() const { return server_; }

 private:
  std::string server_;
  std::string token_;
  long timeout_ms_;
};

}  // namespace argus::cli
