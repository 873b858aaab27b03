// HttpServer: HTTP/1.1 on Boost.Beast/Asio, with the limits an Internet-facing server needs.
//
// Each connection is one coroutine on its own strand; handlers run synchronously on an
// I/O thread and must not block for long. The server enforces, per connection:
//   - header block <= max_header_bytes (else 431), body <= max_body_bytes (else 413);
//   - the header must arrive within header_timeout and the body within body_timeout,
//     an idle keep-alive connection is closed after idle_timeout (slow clients are dropped
//     without stalling others, as each waits on its own timer);
//   - at most max_connections open connections (further ones get 503 and are closed).
// Malformed requests get a 400 problem and the connection is closed.
//
// TLS: given a TlsContextProvider, every connection first does a TLS handshake (within
// header_timeout; failures close the connection and count in
// argus_tls_handshake_failures_total) and keeps the context it started with; responses
// carry Strict-Transport-Security and Request::secure is true.
//
// Lifecycle: start() binds and spawns the I/O threads; stop() stops accepting, closes
// idle connections, lets in-flight requests finish within a grace period, then closes
// whatever is left and joins the threads. Both are called from one controlling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "api/http.h"
#include "core/config.h"
#include "core/status.h"

namespace argus::metrics {
class Registry;
}

namespace argus::api {

// Produces the response for a request. Called on I/O threads, concurrently; must not
// throw (the server turns an escaped exception into a 500 all the same). May set
// req.route (used as the metrics label).
using RequestHandler = std::function<Response(Request&)>;

class TlsContextProvider;

class HttpServer {
 public:
  // `tls` (may be null: plain HTTP) must outlive the server.
  HttpServer(const ServerConfig& config, RequestHandler handler, metrics::Registry* metrics,
             TlsContextProvider* tls = nullptr);
  ~HttpServer();  // stops with zero grace if still running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds config.listen_host:listen_port (port 0 picks a free port) and starts serving.
  // IOError naming the address if it cannot bind.
  Status start();
  // The bound port (after start()).
  std::uint16_t port() const;
  // Graceful stop. Returns how many connections had to be closed forcibly at the end.
  std::size_t stop(std::chrono::milliseconds grace);
  std::size_t active_connections() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace argus::api
