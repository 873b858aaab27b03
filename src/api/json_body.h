// Reading JSON request bodies and query parameters the same way in every handler.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "core/clock.h"

namespace argus::api {

// Parses req.body as JSON. On failure returns a problem response (415 for a non-JSON
// content type, 400 for malformed JSON with the byte offset, or nesting deeper than 32).
// `allowed_types` are accepted media types in addition to application/json.
std::optional<Response> parse_json_body(const Request& req, nlohmann::json& out,
                                        std::initializer_list<std::string_view> extra_types = {});

// A decimal integer that is the whole of `text` (no sign for unsigned T, no spaces, no
// trailing characters); nullopt otherwise or when it does not fit T.
template <typename T>
std::optional<T> parse_integer(std::string_view text) {
  T v{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

// Paging parameters common to every collection: `limit` (default 50, at most 500; a
// larger value is lowered to 500) and the opaque `cursor`.
struct Paging {
  std::size_t limit = 50;
  std::string after;  // decoded key
};
std::optional<Response> parse_paging(const Request& req, Paging& out);

// The time query parameter `name`, if present: RFC 3339 or an integer number of Unix
// seconds, into `out` (left alone when absent). A 400 problem if it is neither.
std::optional<Response> parse_time_param(const Request& req, std::string_view name, UnixMillis& out);

// The opaque cursor for a key: base64url of {"k": key}.
std::string encode_cursor(const std::string& key);

// FNV-1a 64 of the bytes as a quoted strong ETag.
std::string make_etag(std::string_view bytes);

// True if the If-None-Match / If-Match header value matches `etag` ("*" matches any).
bool etag_matches(const std::string& header_value, const std::string& etag);

}  // namespace argus::api
