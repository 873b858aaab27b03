#include "core/log.h"

#include <atomic>
#include <cctype>
#include <memory>
#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"

namespace argus::log {
namespace {

struct LoggerState {
  std::atomic<Level> level{Level::kInfo};
  std::atomic<Format> format{Format::kText};
  std::shared_ptr<spdlog::logger> logger;
};

LoggerState& state() {
  static LoggerState s;
  return s;
}

std::shared_ptr<spdlog::logger>& logger() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto l = std::make_shared<spdlog::logger>("argus", sink);
    l->set_pattern("%v");  // we format the whole line ourselves
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    state().logger = std::move(l);
  });
  return state().logger;
}

thread_local std::string t_request_id;

const char* level_name(Level level) {
  switch (level) {
    case Level::kTrace:
      return "trace";
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "info";
}

std::string text_value(const nlohmann::json& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.find_first_of(" \"=") == std::string::npos && !s.empty()) return s;
    return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

bool parse_level(std::string_view text, Level& out) {
  static const std::pair<std::string_view, Level> kLevels[] = {{"trace", Level::kTrace}, {"debug", Level::kDebug},
                                                               {"info", Level::kInfo},   {"warn", Level::kWarn},
                                                               {"error", Level::kError}, {"off", Level::kOff}};
  for (const auto& [name, level] : kLevels) {
    if (name == text) {
      out = level;
      return true;
    }
  }
  return false;
}

bool parse_format(std::string_view text, Format& out) {
  if (text == "json") {
    out = Format::kJson;
    return true;
  }
  if (text == "text") {
    out = Format::kText;
    return true;
  }
  return false;
}

void init(Level level, Format format) {
  logger();
  state().level = level;
  state().format = format;
}

void set_level(Level level) { state().level = level; }

bool enabled(Level level) { return level != Level::kOff && level >= state().level.load(std::memory_order_relaxed); }

void flush() { logger()->flush(); }

void write(Level level, std::string_view message, const nlohmann::json& fields) {
  if (!enabled(level)) return;
  const std::string time = format_rfc3339(system_clock().now_ms());
  std::string line;
  if (state().format.load(std::memory_order_relaxed) == Format::kJson) {
    nlohmann::ordered_json j;
    j["time"] = time;
    j["level"] = level_name(level);
    j["message"] = message;
    if (!t_request_id.empty()) j["request_id"] = t_request_id;
    if (fields.is_object()) {
      for (const auto& [k, v] : fields.items()) j[k] = v;
    }
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = time;
    line += ' ';
    std::string lvl = level_name(level);
    for (auto& c : lvl) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    line += lvl;
    line.append(6 - lvl.size(), ' ');
    line += message;
    if (!t_request_id.empty()) {
      line += " request_id=";
      line += t_request_id;
    }
    if (fields.is_object()) {
      for (const auto& [k, v] : fields.items()) {
        line += ' ';
        line += k;
        line += '=';
        line += text_value(v);
      }
    }
  }
  logger()->log(spdlog::level::info, line);
}

ScopedLogContext::ScopedLogContext(std::string request_id) : previous_(std::move(t_request_id)) {
  t_request_id = std::move(request_id);
}

ScopedLogContext::~ScopedLogContext() { t_request_id = std::move(previous_); }

const std::string& current_request_id() { return t_request_id; }

}  // namespace argus::log
