#include "cli/output.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace argus::cli {
namespace {

using nlohmann::json;

std::string plain_cell(std::string s) {
  for (char& c : s) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

// Display width of UTF-8 text (code points; good enough for names and ids).
std::size_t width_of(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string number_text(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

bool use_color(bool terminal, std::string_view no_color, std::string_view term) {
  return terminal && no_color.empty() && term != "dumb";
}

std::string text_of(const json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_integer() || value.is_number_unsigned()) return value.dump();
  if (value.is_number()) return number_text(value.get<double>());
  if (value.is_array() && std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); })) {
    if (value.empty()) return "-";
    std::string out;
    for (const auto& v : value) {
      if (!out.empty()) out += ",";
      out += v.get<std::string>();
    }
    return out;
  }
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string field(const json& doc, const std::string& pointer) {
  try {
    json::json_pointer p(pointer);
    if (!doc.contains(p)) return "-";
    return text_of(doc.at(p));
  } catch (const json::exception&) {
    return "-";
  }
}

void print_table(std::ostream& out, const Style& style, const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows) {
  if (!style.terminal) {
    for (const auto& row : rows) {
      for (std::size_t i = 0; i < row.size(); ++i) out << (i > 0 ? "\t" : "") << plain_cell(row[i]);
      out << "\n";
    }
    return;
  }
  std::vector<std::size_t> widths(headers.size(), 0);
  for (std::size_t i = 0; i < headers.size(); ++i) widths[i] = width_of(headers[i]);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], width_of(row[i]));
  }
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::string text;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      std::string cell = plain_cell(cells[i]);
      if (header) cell = paint(style, cell, "1");
      text += cell;
      if (i + 1 < cells.size()) text += std::string(widths[i] - width_of(cells[i]) + 2, ' ');
    }
    out << text << "\n";
  };
  line(headers, true);
  for (const auto& row : rows) line(row, false);
}

void print_fields(std::ostream& out, const Style& style,
                  const std::vector<std::pair<std::string, std::string>>& fields) {
  std::size_t width = 0;
  for (const auto& [name, _] : fields) width = std::max(width, width_of(name));
  for (const auto& [name, value] : fields) {
    if (style.terminal) {
      out << paint(style, name, "1") << std::string(width - width_of(name) + 2, ' ') << value << "\n";
    } else {
      out << plain_cell(name) << "\t" << plain_cell(value) << "\n";
    }
  }
}

std::vector<std::pair<std::string, std::string>> flatten(const json& doc, const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  if (doc.is_object()) {
    for (const auto& [key, value] : doc.items()) {
      std::string name = prefix.empty() ? key : prefix + "." + key;
      if (value.is_object() && !value.empty()) {
        auto inner = flatten(value, name);
        out.insert(out.end(), inner.begin(), inner.end());
      } else {
        out.emplace_back(name, text_of(value));
      }
    }
  } else {
    out.emplace_back(prefix.empty() ? "value" : prefix, text_of(doc));
  }
  return out;
}

std::string paint(const Style& style, std::string_view text, std::string_view sgr) {
  if (!style.color) return std::string(text);
  return "\x1b[" + std::string(sgr) + "m" + std::string(text) + "\x1b[0m";
}

std::string paint_state(const Style& style, const std::string& state) {
  static const std::vector<std::string> kGood = {"online", "pass", "succeeded", "resolved", "ok", "true"};
  static const std::vector<std::string> kBad = {"error", "fail", "failed", "firing", "offline", "critical"};
  static const std::vector<std::string> kWarn = {"reconnecting", "starting", "warn",     "running",
                                                 "queued",       "warning",  "cancelled"};
  auto in = [&](const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), state) != v.end(); };
  if (in(kGood)) return paint(style, state, "32");
  if (in(kBad)) return paint(style, state, "31");
  if (in(kWarn)) return paint(style, state, "33");
  return state;
}

std::string problem_text(const HttpResult& answer) {
  std::string http = "HTTP " + std::to_string(answer.status);
  json doc = json::parse(answer.body, nullptr, false);
  if (!doc.is_object()) return http;
  std::string title = doc.value("title", "");
  std::string detail = doc.value("detail", "");
  std::string out;
  if (!title.empty() && !detail.empty()) {
    out = title + ": " + detail;
  } else {
    out = !detail.empty() ? detail : title;
  }
  out = out.empty() ? http : out + " (" + http + ")";
  if (auto errors = doc.find("errors"); errors != doc.end() && errors->is_array()) {
    for (const auto& e : *errors) {
      if (!e.is_object()) continue;
      std::string pointer = e.value("pointer", "");
      out += "\n  " + (pointer.empty() ? std::string("(body)") : pointer) + ": " + e.value("detail", "");
    }
  }
  return out;
}

std::string format_bytes(double bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  if (unit == 0) return number_text(std::round(bytes)) + " B";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", bytes, kUnits[unit]);
  return buf;
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0)) return "-";
  auto s = static_cast<long long>(seconds);
  if (s < 60) return std::to_string(s) + " s";
  char buf[64];
  long long d = s / 86400, h = (s % 86400) / 3600, m = (s % 3600) / 60, sec = s % 60;
  if (d > 0) {
    std::snprintf(buf, sizeof buf, "%lldd %02lldh %02lldm", d, h, m);
  } else if (h > 0) {
    std::snprintf(buf, sizeof buf, "%lldh %02lldm %02llds", h, m, sec);
  } else {
    std::snprintf(buf, sizeof buf, "%lldm %02llds", m, sec);
  }
  return buf;
}

std::string progress_bar(int percent, int width) {
  percent = std::clamp(percent, 0, 100);
  width = std::max(width, 1);
  int filled = percent * width / 100;
  char pct[8];
  std::snprintf(pct, sizeof pct, "%3d%%", percent);
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] " + pct;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::string url_encode(std::string_view value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string query_string(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    out += (out.empty() ? "?" : "&") + name + "=" + url_encode(value);
  }
  return out;
}

Result<std::pair<std::string, json>> parse_param(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Status::invalid_argument("--param wants key=value, not '" + std::string(text) + "'");
  }
  std::string key(text.substr(0, eq));
  std::string raw(text.substr(eq + 1));
  json value = json::parse(raw, nullptr, false);
  if (value.is_discarded()) value = raw;
  return std::make_pair(key, value);
}

std::vector<SseMessage> SseParser::feed(std::string_view bytes) {
  std::vector<SseMessage> out;
  buffer_.append(bytes);
  std::size_t start = 0;
  while (true) {
    std::size_t nl = buffer_.find_first_of("\r\n", start);
    if (nl == std::string::npos) break;
    // A CR at the very end may be half of a CRLF still to come.
    if (buffer_[nl] == '\r' && nl + 1 == buffer_.size()) break;
    line(std::string_view(buffer_).substr(start, nl - start), out);
    start = nl + ((buffer_[nl] == '\r' && buffer_[nl + 1] == '\n') ? 2 : 1);
  }
  buffer_.erase(0, start);
  return out;
}

void SseParser::line(std::string_view text, std::vector<SseMessage>& out) {
  if (text.empty()) {
    if (has_data_) out.push_back({id_, data_});
    id_.clear();
    data_.clear();
    has_data_ = false;
    return;
  }
  if (text.front() == ':') return;
  std::string_view name = text;
  std::string_view value;
  if (auto colon = text.find(':'); colon != std::string_view::npos) {
    name = text.substr(0, colon);
    value = text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (name == "data") {
    if (has_data_) data_ += "\n";
    data_ += value;
    has_data_ = true;
  } else if (name == "id") {
    id_ = std::string(value);
  } else if (name == "retry") {
    long ms = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec == std::errc() && end == value.data() + value.size()) retry_ms_ = ms;
  }
}

}  // namespace argus::cli
