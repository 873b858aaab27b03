#include "ingest/multipart.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace argus::ingest {
namespace {

constexpr std::size_t kMaxHeaderLine = 8192;
constexpr std::size_t kMaxBoundary = 200;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> boundary_from_content_type(std::string_view content_type) {
  std::string lc = lower(content_type);
  std::size_t at = 0;
  while ((at = lc.find("boundary", at)) != std::string::npos) {
    // Must be a parameter name: preceded by ';' or whitespace, followed by '='.
    bool starts = at > 0 && (lc[at - 1] == ';' || lc[at - 1] == ' ' || lc[at - 1] == '\t');
    std::size_t eq = at + 8;
    while (eq < lc.size() && (lc[eq] == ' ' || lc[eq] == '\t')) ++eq;
    if (!starts || eq >= lc.size() || lc[eq] != '=') {
      at += 8;
      continue;
    }
    std::string_view rest = content_type.substr(eq + 1);
    rest = trim(rest);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      std::size_t close = rest.find('"', 1);
      value = std::string(rest.substr(1, close == std::string_view::npos ? rest.size() - 1 : close - 1));
    } else {
      value = std::string(trim(rest.substr(0, rest.find(';'))));
    }
    if (value.empty() || value.size() > kMaxBoundary) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

MultipartParser::MultipartParser(std::string boundary, std::size_t max_part_bytes) : max_part_(max_part_bytes) {
  set_boundary(std::move(boundary));
}

void MultipartParser::set_boundary(std::string boundary) {
  boundary_ = std::move(boundary);
  // Some cameras put the delimiter's "--" into the boundary parameter itself; their
  // delimiter lines then read either "--b" or "----b", and both contain the parameter.
  dashed_ = boundary_.rfind("--", 0) == 0;
  delim_ = boundary_.empty() ? std::string() : dashed_ ? boundary_ : "--" + boundary_;
}

Status MultipartParser::feed(std::string_view data, const PartFn& on_part) {
  buf_.append(data);
  bool progressed = true;
  while (progressed) {
    progressed = false;
    ARGUS_RETURN_IF_ERROR(step(on_part, progressed));
  }
  compact();
  return {};
}

void MultipartParser::compact() {
  if (pos_ == 0) return;
  if (pos_ >= buf_.size()) {
    buf_.clear();
    scan_from_ = 0;
    pos_ = 0;
    return;
  }
  if (pos_ < 65536 && pos_ * 2 < buf_.size()) return;
  buf_.erase(0, pos_);
  scan_from_ = scan_from_ > pos_ ? scan_from_ - pos_ : 0;
  pos_ = 0;
}

Status MultipartParser::learn_boundary(bool& progressed) {
  // Skip blank lines, then expect "--boundary".
  while (pos_ < buf_.size() && (buf_[pos_] == '\r' || buf_[pos_] == '\n')) ++pos_;
  // Fail fast on a body that cannot be multipart (an HTML page, a single JPEG).
  if (buf_.size() - pos_ >= 2 && buf_.compare(pos_, 2, "--") != 0) {
    return Status::invalid_argument(
        "not a multipart stream: the Content-Type has no boundary and the body does not start "
        "with one");
  }
  std::size_t nl = buf_.find('\n', pos_);
  if (nl == std::string::npos) {
    if (buf_.size() - pos_ > kMaxBoundary + 4) {
      return Status::invalid_argument("not a multipart stream: no boundary line at the start");
    }
    return {};
  }
  std::string_view line(buf_.data() + pos_, nl - pos_);
  line = trim(line);
  if (line.size() < 3 || line.substr(0, 2) != "--" || line.size() > kMaxBoundary + 2) {
    return Status::invalid_argument(
        "not a multipart stream: the Content-Type has no boundary and the body does not start "
        "with one");
  }
  set_boundary(std::string(line.substr(2)));
  progressed = true;
  return {};
}

Status MultipartParser::step(const PartFn& on_part, bool& progressed) {
  if (boundary_.empty()) return learn_boundary(progressed);
  switch (stage_) {
    case Stage::kDelimiter: {
      std::size_t from = std::max(pos_, scan_from_);
      std::size_t at = buf_.find(delim_, from);
      if (at == std::string::npos) {
        // Everything before the last delim_.size()-1 bytes has been checked.
        std::size_t keep = delim_.size() - 1;
        scan_from_ = buf_.size() > keep ? std::max(pos_, buf_.size() - keep) : pos_;
        if (buf_.size() - pos_ > max_part_) {
          return Status::resource_exhausted("no multipart boundary within " + std::to_string(max_part_) + " bytes");
        }
        return {};
      }
      std::size_t after = at + delim_.size();
      std::size_t nl = buf_.find('\n', after);
      if (nl == std::string::npos) {
        if (buf_.size() - after > kMaxHeaderLine) {
          return Status::invalid_argument("malformed multipart boundary line");
        }
        scan_from_ = at;
        return {};
      }
      // "--boundary--" closes the multipart body; a camera may still send more, so keep
      // looking for delimiters either way.
      pos_ = nl + 1;
      scan_from_ = pos_;
      stage_ = Stage::kHeaders;
      content_length_.reset();
      progressed = true;
      return {};
    }
    case Stage::kHeaders: {
      std::size_t nl = buf_.find('\n', pos_);
      if (nl == std::string::npos) {
        if (buf_.size() - pos_ > kMaxHeaderLine) {
          return Status::invalid_argument("multipart part header line longer than 8 KiB");
        }
        return {};
      }
      std::string_view line = trim(std::string_view(buf_.data() + pos_, nl - pos_));
      pos_ = nl + 1;
      progressed = true;
      if (line.empty()) {
        stage_ = Stage::kBody;
        scan_from_ = pos_;
        return {};
      }
      std::size_t colon = line.find(':');
      if (colon != std::string_view::npos && lower(trim(line.substr(0, colon))) == "content-length") {
        std::string_view v = trim(line.substr(colon + 1));
        std::size_t n = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec == std::errc() && end == v.data() + v.size()) {
          if (n > max_part_) {
            return Status::resource_exhausted("multipart part of " + std::to_string(n) +
                                              " bytes exceeds the limit of " + std::to_string(max_part_));
          }
          content_length_ = n;
        }
      }
      return {};
    }
    case Stage::kBody: {
      std::size_t end = 0;
      std::size_t next = 0;
      if (content_length_) {
        if (buf_.size() - pos_ < *content_length_) return {};
        end = pos_ + *content_length_;
        next = end;
      } else {
        std::size_t from = std::max(pos_, scan_from_);
        std::size_t at = buf_.find(delim_, from);
        if (at == std::string::npos) {
          std::size_t keep = delim_.size() - 1;
          scan_from_ = buf_.size() > keep ? std::max(pos_, buf_.size() - keep) : pos_;
          if (buf_.size() - pos_ > max_part_ + delim_.size() + 4) {
            return Status::resource_exhausted("multipart part larger than " + std::to_string(max_part_) + " bytes");
          }
          return {};
        }
        next = at;
        end = at;
        // Strip the CRLF that belongs to the delimiter (and, when the boundary parameter
        // carried the dashes itself, the delimiter's own "--").
        for (int i = 0; dashed_ && i < 2 && end > pos_ && buf_[end - 1] == '-'; ++i) --end;
        if (end > pos_ && buf_[end - 1] == '\n') --end;
        if (end > pos_ && buf_[end - 1] == '\r') --end;
      }
      std::string part = buf_.substr(pos_, end - pos_);
      pos_ = next;
      scan_from_ = pos_;
      stage_ = Stage::kDelimiter;
      progressed = true;
      if (part.empty()) return {};
      ++parts_;
      return on_part(std::move(part));
    }
  }
  return {};
}

}  // namespace argus::ingest
