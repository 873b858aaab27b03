// The HTTP request and response as handlers see them: plain data, no Boost types, so a
// handler file compiles without Beast and can be tested without a socket.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace argus::auth {
struct Principal;
}

namespace argus::api {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view method_name(Method m);
Method parse_method(std::string_view text);

using Fields = std::vector<std::pair<std::string, std::string>>;

struct Request {
  Method method = Method::kGet;
  std::string target;  // as received: path and query
  std::string path;    // percent-encoded path, without the query
  Fields query;        // decoded query parameters, in order
  Fields headers;      // names lower-cased
  std::string body;
  std::string request_id;
  std::string remote_address;
  bool secure = false;  // arrived over TLS
  // Filled by the router.
  std::string route;   // the matched template, e.g. "/api/v1/cameras/{id}"
  Fields path_params;  // decoded
  // Set by Api before a non-public handler runs: who is calling, with their permissions
  // and camera scope.
  std::shared_ptr<const auth::Principal> principal;

  // Case-insensitive header lookup (names are stored lower-case); nullptr if absent.
  const std::string* header(std::string_view lower_name) const;
  // First value of a query parameter.
  std::optional<std::string> query_param(std::string_view name) const;
  // A path parameter the route declares; "" if absent.
  const std::string& param(std::string_view name) const;
  // The client's address without the port ("127.0.0.1", "::1").
  std::string client_ip() const;
};

// A response that keeps its connection: after the head is written, the server hands the
// connection to this object (a WebSocket or a Server-Sent Events stream) instead of reading
// the next request. The server drives it from the connection's strand: one writer and one
// reader, never at the same time, so implementations need no lock for what only these
// calls touch.
class StreamConnection {
 public:
  virtual ~StreamConnection() = default;

  // Called once, after the head was written. `wake` (thread-safe, cheap, may be called
  // from any thread) asks the server to call collect() soon; `abort` (thread-safe) closes
  // the connection at once.
  virtual void start(std::function<void()> wake, std::function<void()> abort) = 0;

  // Bytes to send now. Appends views to `out`, which stay valid until the next collect()
  // or finish(); `now` drives heartbeats. Returns false once the stream is over: the
  // server writes what `out` holds and then closes the connection.
  virtual bool collect(std::vector<std::string_view>& out, std::chrono::steady_clock::time_point now) = 0;
  // How long the server may wait for a wake before calling collect() anyway (heartbeats).
  virtual std::chrono::milliseconds idle_interval() const = 0;

  // Bytes the client sent. Returns false if the connection must end (after what collect()
  // then returns is written).
  virtual bool on_bytes(std::string_view bytes) = 0;
  // The client closed its side or the connection failed.
  virtual void on_closed() = 0;

  // The server started a write / finished it (for the stall watchdog).
  virtual void on_write(bool in_progress) = 0;
};

struct Response {
  int status = 200;
  Fields headers;  // besides Content-Type and Content-Length, which the server sets
  std::string content_type;
  std::shared_ptr<const std::string> body;  // shared so cached bytes are sent without a copy
  // Header lines written verbatim after `headers`, each as "\r\nName: value" (static text
  // shared by every response, e.g. the security headers; no allocation per response).
  std::string_view fixed_headers;
  // Set for a WebSocket upgrade (status 101) or an event stream (200): see StreamConnection.
  // The head carries no Content-Length; the connection is not reused for requests.
  std::shared_ptr<StreamConnection> stream;

  void set_header(std::string name, std::string value);
  const std::string* header(std::string_view name) const;  // case-insensitive

  static Response json(int status, const nlohmann::json& doc);
  static Response bytes(int status, std::shared_ptr<const std::string> body, std::string content_type);
  static Response text(int status, std::string body, std::string content_type);
  static Response empty(int status);
};

// Decodes %XX escapes (and '+' as space when `plus_as_space`); nullopt on a malformed
// escape or an encoded NUL.
std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space);

// Parses "a=1&b=x%20y" into decoded pairs; false if any escape is malformed.
bool parse_query(std::string_view query, Fields& out);

// The reason phrase for a status code ("Not Found").
std::string_view status_reason(int status);

}  // namespace argus::api
