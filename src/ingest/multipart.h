// MultipartParser: splits a multipart/x-mixed-replace (MJPEG) byte stream into parts.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace argus::ingest {

// The boundary parameter of a Content-Type such as
// `multipart/x-mixed-replace; boundary="frame"`; nullopt if there is none.
std::optional<std::string> boundary_from_content_type(std::string_view content_type);

// Incremental parser fed with whatever chunks the network delivers. A part's body ends
// after its Content-Length when the part has one, otherwise at the next boundary (cameras
// often omit or misstate Content-Length, so after a counted body the parser resynchronises
// on the next boundary). Tolerates a boundary given with or without its leading "--", LF
// instead of CRLF, and a preamble. Every part is bounded by `max_part_bytes`. Not
// thread-safe.
class MultipartParser {
 public:
  // `boundary` empty: learn it from the first "--..." line of the body (for cameras whose
  // Content-Type lacks it).
  MultipartParser(std::string boundary, std::size_t max_part_bytes);

  using PartFn = std::function<Status(std::string part)>;

  // Appends `data` and hands every complete, non-empty part body to `on_part`. Returns
  // the first error from `on_part`, ResourceExhausted when a part (or junk between parts)
  // exceeds the bound, InvalidArgument when the stream is not multipart at all.
  Status feed(std::string_view data, const PartFn& on_part);

  std::size_t parts() const { return parts_; }
  const std::string& boundary() const { return boundary_; }

 private:
  enum class Stage { kDelimiter, kHeaders, kBody };
  Status step(const PartFn& on_part, bool& progressed);
  Status learn_boundary(bool& progressed);
  void compact();
  void set_boundary(std::string boundary);

  std::string boundary_;  // as given (or learned)
  std::string delim_;     // what the parser searches for: "--" + boundary, or boundary
  bool dashed_ = false;   // boundary_ already starts with "--"
  const std::size_t max_part_;
  std::string buf_;
  std::size_t pos_ = 0;        // first unconsumed byte of buf_
  std::size_t scan_from_ = 0;  // boundary search resumes here (bytes before it were checked)
  Stage stage_ = Stage::kDelimiter;
  std::optional<std::size_t> content_length_;
  std::size_t parts_ = 0;
};

}  // namespace argus::ingest
