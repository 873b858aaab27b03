// How the client commands print: aligned tables on a terminal, tab-separated lines when
// piped, colour only on a terminal without NO_COLOR, and server problems in words.
// Pure functions over strings, so they are tested without a terminal.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/client.h"
#include "core/status.h"

namespace argus::cli {

// Where stdout goes and whether it may be coloured.
struct Style {
  bool terminal = false;  // aligned tables with a header; otherwise tab-separated lines
  bool color = false;     // ANSI colour (only on a terminal)
};

// Colour when `terminal` and NO_COLOR is unset or empty (https://no-color.org) and TERM is
// not "dumb".
bool use_color(bool terminal, std::string_view no_color, std::string_view term);

// A JSON member as display text: strings as they are, null or absent as "-", numbers
// without trailing zeros (2 decimals at most for fractions), arrays of strings
// comma-joined, anything else compact JSON.
std::string text_of(const nlohmann::json& value);
// The member at a JSON Pointer ("/status/state") of `doc`, as text_of; "-" when absent.
std::string field(const nlohmann::json& doc, const std::string& pointer);

// Rows as a table: on a terminal, a header (bold with colour) and columns padded to their
// widest cell; piped, one line per row with cells joined by tabs (tabs and line breaks in
// cells become spaces) and no header, for cut/awk.
void print_table(std::ostream& out, const Style& style, const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows);

// Name/value pairs (one object): "name  value" aligned on a terminal, "name\tvalue" piped.
void print_fields(std::ostream& out, const Style& style,
                  const std::vector<std::pair<std::string, std::string>>& fields);

// Every leaf member of `doc` as (pointer-like dotted name, text): {"a":{"b":1}} gives
// ("a.b", "1"). Arrays of scalars stay one field.
std::vector<std::pair<std::string, std::string>> flatten(const nlohmann::json& doc, const std::string& prefix = "");

// `text` in an SGR colour ("32" green, "31" red, "33" yellow, "1" bold) when colour is on.
std::string paint(const Style& style, std::string_view text, std::string_view sgr);
// The colour a state word gets (online/succeeded/pass green, error/failed/firing red, ...).
std::string paint_state(const Style& style, const std::string& state);

// What an error answer says: "title: detail (HTTP n)", then one "  <pointer>: <detail>" line
// per field error of a 422.
std::string problem_text(const HttpResult& answer);

// 1536 -> "1.5 KiB"; 0 -> "0 B".
std::string format_bytes(double bytes);
// 3725 -> "1h 02m 05s"; 59.5 -> "59 s"; 90061 -> "1d 01h 01m".
std::string format_duration(double seconds);
// "[#######.............]  35%" of `width` cells.
std::string progress_bar(int percent, int width);

// The p-th percentile (0..100) of `sorted` (ascending) by the nearest-rank method; 0 for none.
double percentile(const std::vector<double>& sorted, double p);

// Percent-encodes a query parameter value (RFC 3986 unreserved characters stay).
std::string url_encode(std::string_view value);
// "?a=1&b=x" from the pairs whose value is not empty ("" when none).
std::string query_string(const std::vector<std::pair<std::string, std::string>>& params);

// A `--param key=value` as a member: the value is parsed as JSON when it is valid JSON
// (numbers, true, null, objects), else taken as a string. InvalidArgument without '='.
Result<std::pair<std::string, nlohmann::json>> parse_param(std::string_view text);

// One complete Server-Sent Events message (WHATWG HTML 9.2).
struct SseMessage {
  std::string id;  // "" when the message carried none
  std::string data;
};

// Feeds text/event-stream bytes in arbitrary pieces and yields complete messages; comment
// lines are skipped, `retry:` is remembered. Not thread-safe.
class SseParser {
 public:
  // Appends `bytes` and returns the messages they complete, in order.
  std::vector<SseMessage> feed(std::string_view bytes);
  long retry_ms() const { return retry_ms_; }

 private:
  void line(std::string_view text, std::vector<SseMessage>& out);

  std::string buffer_;
  std::string id_;
  std::string data_;
  bool has_data_ = false;
  long retry_ms_ = 3000;
};

}  // namespace argus::cli
