// How HttpServer turns bytes into a Request, split out of server.cpp so it can be unit
// tested and fuzzed without a socket. Internal to the api module (it exposes Beast types).
//
// The server drives a Beast request parser over its socket and calls these functions at
// each step; RequestReader drives the same steps over bytes in memory. Neither copies the
// body: to_request moves it out of the parsed message.
//
// Stateless functions; a RequestReader is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/http.h"

namespace argus::api {

using RequestMessage = boost::beast::http::request<boost::beast::http::string_body>;
using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

struct RequestLimits {
  std::size_t max_header_bytes = 8 << 10;  // 431 beyond
  std::size_t max_body_bytes = 1 << 20;    // 413 beyond
};

// An error answered before any handler runs, with a problem+json body, after which the
// connection is closed. status 0: no error.
struct EarlyError {
  int status = 0;         // 400, 413 or 431
  std::string_view type;  // problem type slug ("bad-request")
  std::string detail;
  explicit operator bool() const { return status != 0; }
};

// Applies the limits to a fresh parser.
void configure_parser(RequestParser& parser, const RequestLimits& limits);

// The answer to an error from reading the header (the in-place put or async_read_header)
// that is not the peer going away: 431 (header_limit), 413 (body_limit: a declared length
// over the limit), else 400.
EarlyError header_error(const boost::beast::error_code& ec, const RequestLimits& limits);

// Checks a complete header of `header_bytes` bytes (all the parser consumed for it): at
// most max_header_bytes (else 431; Beast applies its header limit to the request line and
// to the fields separately when they arrive together, so alone it lets up to about twice
// the limit through), HTTP/1.0 or 1.1 (else 400), and a Content-Length within the body
// limit (else 413).
EarlyError check_header(const RequestParser& parser, std::size_t header_bytes, const RequestLimits& limits);

// The answer to an error from reading the body that is not the peer going away (nor a
// partial message): 413 (body_limit), else 400.
EarlyError body_error(const boost::beast::error_code& ec, const RequestLimits& limits);

// Fills `req` from a complete message: method, target, path and decoded query, headers
// (names lower-cased), the body (moved out of `msg`), and the request id (the client's
// X-Request-Id if well-formed, else a random one). Returns the problem to answer instead of
// calling the handler (400: the target is not an absolute path or has a malformed
// percent-escape in its query; 501: an unknown method), or nullopt. `msg` stays valid
// (without its body) for the response's version.
std::optional<Response> to_request(RequestMessage& msg, Request& req);

// True if `id` may be echoed as X-Request-Id: 1..200 of [A-Za-z0-9-_.:].
bool valid_request_id(std::string_view id);

// Reads requests from bytes in memory the way HttpServer reads them from a connection
// whose peer sends `bytes` and then closes its side: the first read of at most 4096
// bytes, the header parsed in place or read further, the body read; each further read
// returns at most `read_size` bytes (as a network may fragment them). Pipelined requests
// are read in turn, leftover bytes carried over as the server carries them.
class RequestReader {
 public:
  enum class Outcome {
    kRequest,     // `request` is ready for the handler (unless `problem` is set)
    kEarlyError,  // `error` would be answered and the connection closed
    kClosed,      // the server would close without an answer (no more bytes, or a partial message)
  };
  struct Result {
    Outcome outcome = Outcome::kClosed;
    Request request;
    std::optional<Response> problem;  // from to_request: answered instead of the handler
    EarlyError error;
    bool keep_alive = false;  // kRequest: the server would read another request
    unsigned version = 0;     // kRequest: 10 or 11
  };

  RequestReader(std::string_view bytes, const RequestLimits& limits, std::size_t read_size = 4096);

  // The next request. After anything but kRequest with keep_alive, the connection is over
  // and further calls return kClosed.
  Result next();
  // Bytes not yet read by the "server".
  std::size_t unread() const { return bytes_.size(); }

 private:
  struct Stream;
  std::string_view bytes_;
  const RequestLimits limits_;
  const std::size_t read_size_;
  boost::beast::flat_buffer buffer_;
  bool over_ = false;
};

}  // namespace argus::api
