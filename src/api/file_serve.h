// Serving files from the media directory: path vetting against traversal, byte ranges,
// conditional requests and content types. Used by /api/v1/media/{path...} and the event
// snapshot route.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "api/http.h"

namespace argus::api {

// The file `relative` names under `root`, or nullopt when it must be treated as absent:
// `relative` (already percent-decoded once) is empty, absolute, holds a backslash, a '%'
// (a second encoding), a control character, or an empty, "." or ".." segment; or the path,
// symlinks resolved, lies outside `root` or is not a regular file. The result is the
// canonical path (no symlinks) and `resolved_relative`, if given, receives it relative
// to the canonical root.
std::optional<std::filesystem::path> resolve_media_path(const std::string& root, std::string_view relative,
                                                        std::string* resolved_relative = nullptr);

// The media type for a file name's extension (jpg/jpeg, png, mp4, webm, json, csv, txt;
// else application/octet-stream).
std::string_view content_type_for(std::string_view name);

struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
};
enum class RangeKind {
  kWhole,          // no Range, a malformed one, or several ranges: send the whole file
  kOne,            // one satisfiable range (clamped to the file)
  kUnsatisfiable,  // 416
};
// Parses a Range header value ("bytes=a-b", "bytes=a-", "bytes=-n") against a file of
// `size` bytes.
RangeKind parse_range(std::string_view header, std::uint64_t size, ByteRange& out);

// Bounds of what one response reads into memory.
struct FileServeLimits {
  std::uint64_t max_range_bytes = 16ull << 20;   // a longer range is answered shorter
  std::uint64_t max_whole_bytes = 256ull << 20;  // a bigger file needs Range requests (413)
};

// Answers `req` with the file at `path` (as resolve_media_path returned it): 200 with the
// whole file, 206 with one range, 416 for an unsatisfiable range, 304 when If-None-Match
// or If-Modified-Since says the caller has it. Sets Accept-Ranges, ETag (from size and
// modification time), Last-Modified, Content-Type (`content_type` or by extension) and
// `cache_control`. A file that vanished or cannot be read is 404.
Response serve_file(const Request& req, const std::filesystem::path& path, std::string_view cache_control,
                    std::string_view content_type = {}, const FileServeLimits& limits = {});

}  // namespace argus::api
