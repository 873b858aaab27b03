#include "api/multipart.h"

#include <cctype>

namespace argus::api {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Value of `param` in a header value like `form-data; name="image"; filename="a.jpg"`.
std::string header_param(std::string_view value, std::string_view param) {
  std::size_t pos = 0;
  while (pos < value.size()) {
    std::size_t semi = value.find(';', pos);
    std::string_view item =
        trim(value.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos));
    std::size_t eq = item.find('=');
    if (eq != std::string_view::npos && lower(trim(item.substr(0, eq))) == param) {
      std::string_view v = trim(item.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return std::string(v);
    }
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  return "";
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  std::size_t semi = content_type.find(';');
  if (lower(trim(content_type.substr(0, semi))) != "multipart/form-data" || semi == std::string_view::npos) {
    return std::nullopt;
  }
  std::string b = header_param(content_type.substr(semi + 1), "boundary");
  if (b.empty() || b.size() > 70) return std::nullopt;
  return b;
}

bool parse_multipart(std::string_view body, std::string_view boundary, std::vector<FormPart>& out,
                     std::size_t max_parts) {
  const std::string delim = "--" + std::string(boundary);
  std::size_t pos = body.find(delim);
  if (pos == std::string_view::npos) return false;
  pos += delim.size();
  for (;;) {
    if (body.substr(pos, 2) == "--") return true;  // closing delimiter
    if (body.substr(pos, 2) != "\r\n") return false;
    pos += 2;
    std::size_t header_end = body.find("\r\n\r\n", pos);
    std::size_t next = body.find("\r\n" + delim, pos);
    if (next == std::string_view::npos) return false;
    FormPart part;
    if (header_end == std::string_view::npos || header_end > next) {
      // A part with no header block at all is malformed for form-data.
      return false;
    }
    std::string_view headers = body.substr(pos, header_end - pos);
    std::size_t hpos = 0;
    while (hpos <= headers.size()) {
      std::size_t eol = headers.find("\r\n", hpos);
      std::string_view line = headers.substr(hpos, eol == std::string_view::npos ? std::string_view::npos : eol - hpos);
      std::size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string name = lower(trim(line.substr(0, colon)));
        std::string_view value = trim(line.substr(colon + 1));
        if (name == "content-disposition") {
          part.name = header_param(value, "name");
          part.filename = header_param(value, "filename");
        } else if (name == "content-type") {
          part.content_type = std::string(value);
        }
      }
      if (eol == std::string_view::npos) break;
      hpos = eol + 2;
    }
    part.body = body.substr(header_end + 4, next - (header_end + 4));
    out.push_back(part);
    if (out.size() > max_parts) return false;
    pos = next + 2 + delim.size();
  }
}

}  // namespace argus::api
