#include "api/request_parse.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <cctype>

#include "api/problem.h"
#include "core/ids.h"

namespace argus::api {
namespace {

namespace http = boost::beast::http;
using boost::beast::error_code;

EarlyError body_too_large(const RequestLimits& limits) {
  return {413, "body-too-large", "the request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes"};
}

EarlyError header_too_large(const RequestLimits& limits) {
  return {431, "header-too-large",
          "the request header block exceeds " + std::to_string(limits.max_header_bytes) + " bytes"};
}

}  // namespace

void configure_parser(RequestParser& parser, const RequestLimits& limits) {
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
}

EarlyError header_error(const error_code& ec, const RequestLimits& limits) {
  if (ec == http::error::header_limit) return header_too_large(limits);
  if (ec == http::error::body_limit) return body_too_large(limits);
  return {400, "bad-request", "malformed HTTP request: " + ec.message()};
}

EarlyError check_header(const RequestParser& parser, std::size_t header_bytes, const RequestLimits& limits) {
  if (header_bytes > limits.max_header_bytes) return header_too_large(limits);
  unsigned version = parser.get().version();
  if (version != 11 && version != 10) return {400, "bad-request", "unsupported HTTP version"};
  if (auto cl = parser.content_length(); cl && *cl > limits.max_body_bytes) return body_too_large(limits);
  return {};
}

EarlyError body_error(const error_code& ec, const RequestLimits& limits) {
  if (ec == http::error::body_limit) return body_too_large(limits);
  return {400, "bad-request", "malformed HTTP request body: " + ec.message()};
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 200) return false;
  for (char c : id) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::optional<Response> to_request(RequestMessage& msg, Request& req) {
  std::string_view method_text(msg.method_string().data(), msg.method_string().size());
  req.method = parse_method(method_text);
  req.target.assign(msg.target().data(), msg.target().size());
  std::size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  bool query_ok = q == std::string::npos || parse_query(std::string_view(req.target).substr(q + 1), req.query);
  req.headers.reserve(16);
  for (const auto& field : msg) {
    std::string name(field.name_string().data(), field.name_string().size());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string(field.value().data(), field.value().size()));
  }
  req.body = std::move(msg.body());
  const std::string* given_id = req.header("x-request-id");
  req.request_id = given_id != nullptr && valid_request_id(*given_id) ? *given_id : random_hex_id(8);

  if (req.path.empty() || req.path.front() != '/') {
    return problem(400, "bad-request", "the request target must be an absolute path", req);
  }
  if (!query_ok) return problem(400, "bad-request", "the query string has a malformed percent-escape", req);
  if (req.method == Method::kOther) {
    return problem(501, "not-implemented", "method " + std::string(method_text) + " is not supported", req);
  }
  return std::nullopt;
}

// A connection's read side over bytes in memory: each read returns at most `read_size`
// bytes, then end of file.
struct RequestReader::Stream {
  std::string_view& bytes;
  std::size_t read_size;

  template <typename MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, error_code& ec) {
    if (bytes.empty()) {
      ec = boost::asio::error::eof;
      return 0;
    }
    ec = {};
    std::size_t n =
        boost::asio::buffer_copy(buffers, boost::asio::buffer(bytes.data(), std::min(bytes.size(), read_size)));
    bytes.remove_prefix(n);
    return n;
  }
  template <typename MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    error_code ec;
    std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
};

RequestReader::RequestReader(std::string_view bytes, const RequestLimits& limits, std::size_t read_size)
    : bytes_(bytes), limits_(limits), read_size_(std::max<std::size_t>(read_size, 1)) {}

// The same steps, in the same order, as HttpServer's session loop (server.cpp, serve()).
RequestReader::Result RequestReader::next() {
  Result r;
  if (over_) return r;
  over_ = true;  // until a request with keep-alive is complete
  Stream stream{bytes_, read_size_};
  // The peer went away (the in-memory stream's only way: end of file).
  auto peer_gone = [](const error_code& ec) {
    return ec == boost::asio::error::eof || ec == http::error::end_of_stream;
  };

  if (buffer_.size() == 0) {
    error_code ec;
    std::size_t n = stream.read_some(buffer_.prepare(4096), ec);
    if (ec) return r;
    buffer_.commit(n);
  }
  RequestParser parser;
  configure_parser(parser, limits_);
  error_code ec;
  std::size_t header_bytes = parser.put(buffer_.data(), ec);
  buffer_.consume(header_bytes);
  if (ec == http::error::need_more) ec = {};
  if (!ec && !parser.is_header_done()) header_bytes += http::read_header(stream, buffer_, parser, ec);
  if (peer_gone(ec)) return r;
  if (ec) {
    r.outcome = Outcome::kEarlyError;
    r.error = header_error(ec, limits_);
    return r;
  }
  if (EarlyError e = check_header(parser, header_bytes, limits_)) {
    r.outcome = Outcome::kEarlyError;
    r.error = std::move(e);
    return r;
  }
  if (!parser.is_done()) {
    http::read(stream, buffer_, parser, ec);
    if (peer_gone(ec) || ec == http::error::partial_message) return r;
    if (ec) {
      r.outcome = Outcome::kEarlyError;
      r.error = body_error(ec, limits_);
      return r;
    }
  }
  r.outcome = Outcome::kRequest;
  r.keep_alive = parser.keep_alive();
  RequestMessage msg = parser.release();
  r.version = msg.version();
  r.problem = to_request(msg, r.request);
  over_ = !r.keep_alive;
  return r;
}

}  // namespace argus::api
