// Structured logging: one JSON object per line (default) or a human-readable text line.
//
// Every line carries time, level and message, plus the request id of the request being
// handled on this thread (see ScopedLogContext) and the caller's fields. Thread-safe.
// Before init() lines go to stderr in text form at level info.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace argus::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };
enum class Format { kJson, kText };

// Parses "trace|debug|info|warn|error|off"; false if unknown.
bool parse_level(std::string_view text, Level& out);
bool parse_format(std::string_view text, Format& out);

// Configures the process logger. Call once at start-up, before other threads log.
// Lines go to stderr.
void init(Level level, Format format);
void set_level(Level level);
bool enabled(Level level);
void flush();

// Writes a line. `fields` must be a JSON object (or null); its members are added to the
// line after the standard ones.
void write(Level level, std::string_view message, const nlohmann::json& fields = nullptr);

inline void trace(std::string_view m, const nlohmann::json& f = nullptr) { write(Level::kTrace, m, f); }
inline void debug(std::string_view m, const nlohmann::json& f = nullptr) { write(Level::kDebug, m, f); }
inline void info(std::string_view m, const nlohmann::json& f = nullptr) { write(Level::kInfo, m, f); }
inline void warn(std::string_view m, const nlohmann::json& f = nullptr) { write(Level::kWarn, m, f); }
inline void error(std::string_view m, const nlohmann::json& f = nullptr) { write(Level::kError, m, f); }

// Sets the request id for lines written on this thread while the object lives.
// Nests: the previous id is restored on destruction.
class ScopedLogContext {
 public:
  explicit ScopedLogContext(std::string request_id);
  ~ScopedLogContext();
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

 private:
  std::string previous_;
};

// The request id currently set on this thread ("" if none).
const std::string& current_request_id();

}  // namespace argus::log
