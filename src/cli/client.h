// A small blocking HTTP client for the command-line subcommands (libcurl).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace argus::cli {

struct HttpResult {
  long status = 0;
  std::string body;
  std::string content_type;
};

class Client {
 public:
  // `server` is a base URL such as http://127.0.0.1:8080 (no trailing slash needed).
  // `token` (an access token or API key), when set, is sent as "Authorization: Bearer".
  explicit Client(std::string server, std::string token = "", long timeout_ms = 10'000);

  // Unavailable when the server cannot be reached (connection refused, DNS, timeout);
  // otherwise the HTTP status and body, whatever the status.
  Result<HttpResult> request(const std::string& method, const std::string& path, const std::string& body = "",
                             const std::string& content_type = "");

  const std::string& server() const { return server_; }

 private:
  std::string server_;
  std::string token_;
  long timeout_ms_;
};

}  // namespace argus::cli
