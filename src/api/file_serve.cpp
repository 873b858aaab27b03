#include "api/file_serve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <system_error>

#include "api/json_body.h"
#include "api/problem.h"

namespace argus::api {
namespace {

namespace fs = std::filesystem;

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool parse_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

std::optional<std::time_t> parse_http_date(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return timegm(&tm);
}

// Reads `length` bytes at `offset`; nullopt on a short read (the file changed) or error.
std::optional<std::string> read_at(int fd, std::uint64_t offset, std::uint64_t length) {
  std::string out;
  out.resize(length);
  std::uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    done += static_cast<std::uint64_t>(n);
  }
  return out;
}

Response not_found(const Request& req) { return problem(404, "not-found", "no media at " + req.path, req); }

}  // namespace

std::optional<fs::path> resolve_media_path(const std::string& root, std::string_view relative,
                                           std::string* resolved_relative) {
  if (root.empty() || relative.empty() || relative.front() == '/') return std::nullopt;
  for (char c : relative) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\\' || c == '%' || u < 0x20 || u == 0x7f) return std::nullopt;
  }
  std::string_view rest = relative;
  while (true) {
    std::size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (seg.empty() || seg == "." || seg == "..") return std::nullopt;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  std::error_code ec;
  fs::path base = fs::canonical(root, ec);
  if (ec) return std::nullopt;
  fs::path full = fs::canonical(base / fs::path(relative), ec);
  if (ec) return std::nullopt;
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (b != base.end() || f == full.end()) return std::nullopt;
  if (!fs::is_regular_file(full, ec) || ec) return std::nullopt;
  if (resolved_relative != nullptr) *resolved_relative = full.lexically_relative(base).generic_string();
  return full;
}

std::string_view content_type_for(std::string_view name) {
  std::size_t dot = name.rfind('.');
  std::size_t slash = name.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  std::string ext(name.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "png") return "image/png";
  if (ext == "mp4") return "video/mp4";
  if (ext == "webm") return "video/webm";
  if (ext == "json") return "application/json";
  if (ext == "csv") return "text/csv; charset=utf-8";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

RangeKind parse_range(std::string_view header, std::uint64_t size, ByteRange& out) {
  std::string_view v = trim(header);
  if (v.size() < 6 || v.substr(0, 6) != "bytes=") return RangeKind::kWhole;
  v = trim(v.substr(6));
  if (v.find(',') != std::string_view::npos) return RangeKind::kWhole;  // several ranges: whole file
  std::size_t dash = v.find('-');
  if (dash == std::string_view::npos) return RangeKind::kWhole;
  std::string_view a = trim(v.substr(0, dash));
  std::string_view b = trim(v.substr(dash + 1));
  std::uint64_t first = 0, last = 0;
  if (a.empty()) {  // suffix: the last n bytes
    std::uint64_t n = 0;
    if (!parse_u64(b, n)) return RangeKind::kWhole;
    if (n == 0 || size == 0) return RangeKind::kUnsatisfiable;
    out = {size - std::min(n, size), size - 1};
    return RangeKind::kOne;
  }
  if (!parse_u64(a, first)) return RangeKind::kWhole;
  if (b.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else {
    if (!parse_u64(b, last)) return RangeKind::kWhole;
    if (last < first) return RangeKind::kWhole;  // invalid: ignored
  }
  if (first >= size) return RangeKind::kUnsatisfiable;
  out = {first, std::min(last, size - 1)};
  return RangeKind::kOne;
}

Response serve_file(const Request& req, const fs::path& path, std::string_view cache_control,
                    std::string_view content_type, const FileServeLimits& limits) {
  Fd file{::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
  if (file.fd < 0) return not_found(req);
  struct stat st {};
  if (::fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode)) return not_found(req);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const std::int64_t mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  char etag_buf[64];
  std::snprintf(etag_buf, sizeof etag_buf, "\"%llx-%llx\"", static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(mtime_ns));
  const std::string etag = etag_buf;
  const std::string last_modified = http_date(st.st_mtim.tv_sec);
  const std::string type(content_type.empty() ? content_type_for(path.filename().string()) : content_type);

  auto with_headers = [&](Response r) {
    r.set_header("Accept-Ranges", "bytes");
    r.set_header("ETag", etag);
    r.set_header("Last-Modified", last_modified);
    if (!cache_control.empty()) r.set_header("Cache-Control", std::string(cache_control));
    return r;
  };

  // Conditional: If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
  if (const std::string* inm = req.header("if-none-match")) {
    if (etag_matches(*inm, etag)) return with_headers(Response::empty(304));
  } else if (const std::string* ims = req.header("if-modified-since")) {
    if (auto t = parse_http_date(*ims); t && st.st_mtim.tv_sec <= *t) return with_headers(Response::empty(304));
  }

  ByteRange range;
  RangeKind kind = RangeKind::kWhole;
  if (const std::string* header = req.header("range")) {
    kind = parse_range(*header, size, range);
    // If-Range: ranges only while the caller's copy is current.
    if (const std::string* if_range = req.header("if-range");
        if_range != nullptr && trim(*if_range) != etag && trim(*if_range) != last_modified) {
      kind = RangeKind::kWhole;
    }
  }
  if (kind == RangeKind::kUnsatisfiable) {
    Response r = with_headers(problem(416, "range-not-satisfiable",
                                      "the range is outside the file (" + std::to_string(size) + " bytes)", req));
    r.set_header("Content-Range", "bytes */" + std::to_string(size));
    return r;
  }
  if (kind == RangeKind::kOne) {
    range.last = std::min(range.last, range.first + limits.max_range_bytes - 1);
    auto bytes = read_at(file.fd, range.first, range.last - range.first + 1);
    if (!bytes) return not_found(req);
    Response r = with_headers(Response::text(206, std::move(*bytes), type));
    r.set_header("Content-Range", "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
                                      std::to_string(size));
    return r;
  }
  if (size > limits.max_whole_bytes) {
    return with_headers(problem(413, "too-large",
                                "the file has " + std::to_string(size) +
                                    " bytes, more than is sent whole; request it in parts with Range: bytes=first-last",
                                req));
  }
  auto bytes = read_at(file.fd, 0, size);
  if (!bytes) return not_found(req);
  return with_headers(Response::text(200, std::move(*bytes), type));
}

}  // namespace argus::api
