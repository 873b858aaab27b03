// The HTTP request and response as handlers see them: plain data, no Boost types, so a
// handler file compiles without Beast and can be tested without a socket.
#pragma once

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

struct Response {
  int status = 200;
  Fields headers;  // besides Content-Type and Content-Length, which the server sets
  std::string content_type;
  std::shared_ptr<const std::string> body;  // shared so cached bytes are sent without a copy
  // Header lines written verbatim after `headers`, each as "\r\nName: value" (static text
  // shared by every response, e.g. the security headers; no allocation per response).
  std::string_view fixed_headers;

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
