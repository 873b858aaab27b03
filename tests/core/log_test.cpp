#include "core/log.h"

#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace argus::log {
namespace {

using ::testing::HasSubstr;

TEST(LogLevelTest, ParseLevel) {
  const std::pair<const char*, Level> levels[] = {{"trace", Level::kTrace}, {"debug", Level::kDebug},
                                                  {"info", Level::kInfo},   {"warn", Level::kWarn},
                                                  {"error", Level::kError}, {"off", Level::kOff}};
  for (const auto& [name, level] : levels) {
    Level out = Level::kOff;
    if (level == Level::kOff) out = Level::kInfo;
    EXPECT_TRUE(parse_level(name, out)) << name;
    EXPECT_EQ(out, level) << name;
  }
  for (const char* bad : {"", "INFO", "Info", "warning", "verbose", "fatal", "info ", "loud"}) {
    Level out = Level::kDebug;
    EXPECT_FALSE(parse_level(bad, out)) << bad;
    EXPECT_EQ(out, Level::kDebug) << "untouched on failure";
  }
}

TEST(LogLevelTest, ParseFormat) {
  Format f = Format::kText;
  EXPECT_TRUE(parse_format("json", f));
  EXPECT_EQ(f, Format::kJson);
  EXPECT_TRUE(parse_format("text", f));
  EXPECT_EQ(f, Format::kText);
  for (const char* bad : {"", "JSON", "yaml", "txt", "json "}) {
    Format out = Format::kJson;
    EXPECT_FALSE(parse_format(bad, out)) << bad;
    EXPECT_EQ(out, Format::kJson);
  }
}

TEST(LogContextTest, NestingRestoresPreviousId) {
  EXPECT_EQ(current_request_id(), "");
  {
    ScopedLogContext outer("req-outer");
    EXPECT_EQ(current_request_id(), "req-outer");
    {
      ScopedLogContext inner("req-inner");
      EXPECT_EQ(current_request_id(), "req-inner");
      {
        ScopedLogContext cleared("");
        EXPECT_EQ(current_request_id(), "");
      }
      EXPECT_EQ(current_request_id(), "req-inner");
    }
    EXPECT_EQ(current_request_id(), "req-outer");
  }
  EXPECT_EQ(current_request_id(), "");
}

TEST(LogContextTest, IsPerThread) {
  ScopedLogContext ctx("main-thread");
  std::string seen_in_thread = "unset";
  std::string seen_after_set;
  std::thread t([&] {
    seen_in_thread = current_request_id();
    ScopedLogContext mine("worker");
    seen_after_set = current_request_id();
  });
  t.join();
  EXPECT_EQ(seen_in_thread, "");
  EXPECT_EQ(seen_after_set, "worker");
  EXPECT_EQ(current_request_id(), "main-thread");
}

TEST(LogLevelTest, EnabledFollowsLevel) {
  set_level(Level::kWarn);
  EXPECT_FALSE(enabled(Level::kTrace));
  EXPECT_FALSE(enabled(Level::kDebug));
  EXPECT_FALSE(enabled(Level::kInfo));
  EXPECT_TRUE(enabled(Level::kWarn));
  EXPECT_TRUE(enabled(Level::kError));
  EXPECT_FALSE(enabled(Level::kOff)) << "kOff is not a level to write at";
  set_level(Level::kTrace);
  EXPECT_TRUE(enabled(Level::kTrace));
  set_level(Level::kOff);
  EXPECT_FALSE(enabled(Level::kError));
  set_level(Level::kInfo);
}

// Redirects file descriptor 2 to a temporary file while alive.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    file_ = std::tmpfile();
    saved_fd_ = ::dup(2);
    ::dup2(::fileno(file_), 2);
  }
  ~StderrCapture() { restore(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  // Restores stderr and returns everything written while captured.
  std::string finish() {
    restore();
    std::string out;
    std::rewind(file_);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) out.append(buf, n);
    std::fclose(file_);
    file_ = nullptr;
    return out;
  }

 private:
  void restore() {
    if (saved_fd_ < 0) return;
    flush();
    std::fflush(stderr);
    ::dup2(saved_fd_, 2);
    ::close(saved_fd_);
    saved_fd_ = -1;
  }
  std::FILE* file_ = nullptr;
  int saved_fd_ = -1;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

class LogOutputTest : public ::testing::Test {
 protected:
  void TearDown() override { init(Level::kInfo, Format::kText); }
};

TEST_F(LogOutputTest, JsonLineCarriesStandardFieldsAndCallerFields) {
  init(Level::kInfo, Format::kJson);
  const UnixMillis before = system_clock().now_ms();
  StderrCapture cap;
  {
    ScopedLogContext ctx("req-123");
    info("camera {} connected", {{"camera", "cam1"}, {"attempt", 3}});
  }
  warn("no request id here");
  debug("filtered out at info");
  const std::string out = cap.finish();
  const UnixMillis after = system_clock().now_ms();

  auto lines = lines_of(out);
  ASSERT_EQ(lines.size(), 2u) << out;
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(lines[0]);
  ASSERT_TRUE(j.is_object());
  // Standard members first, in this order, then the caller's.
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  ASSERT_GE(keys.size(), 4u);
  EXPECT_EQ(keys[0], "time");
  EXPECT_EQ(keys[1], "level");
  EXPECT_EQ(keys[2], "message");
  EXPECT_EQ(keys[3], "request_id");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["message"], "camera {} connected") << "the message is not a format string";
  EXPECT_EQ(j["request_id"], "req-123");
  EXPECT_EQ(j["camera"], "cam1");
  EXPECT_EQ(j["attempt"], 3);
  auto t = parse_rfc3339(j["time"].get<std::string>());
  ASSERT_TRUE(t.has_value()) << j["time"];
  EXPECT_GE(*t, before);
  EXPECT_LE(*t, after);

  nlohmann::json second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(second["level"], "warn");
  EXPECT_EQ(second["message"], "no request id here");
  EXPECT_FALSE(second.contains("request_id")) << "no empty request_id member";
}

TEST_F(LogOutputTest, LevelFilteringAndAllLevelNames) {
  init(Level::kTrace, Format::kJson);
  StderrCapture cap;
  trace("t");
  debug("d");
  info("i");
  warn("w");
  error("e");
  set_level(Level::kError);
  warn("dropped");
  error("kept");
  set_level(Level::kOff);
  error("dropped too");
  const std::string out = cap.finish();
  std::vector<std::string> levels, messages;
  for (const auto& line : lines_of(out)) {
    auto j = nlohmann::json::parse(line);
    levels.push_back(j["level"].get<std::string>());
    messages.push_back(j["message"].get<std::string>());
  }
  EXPECT_EQ(levels, (std::vector<std::string>{"trace", "debug", "info", "warn", "error", "error"}));
  EXPECT_EQ(messages, (std::vector<std::string>{"t", "d", "i", "w", "e", "kept"}));
}

TEST_F(LogOutputTest, JsonEscapesAndSurvivesInvalidUtf8) {
  init(Level::kInfo, Format::kJson);
  StderrCapture cap;
  info("quote \" newline \n tab \t bad \xff byte", {{"path", "/a\"b"}});
  const std::string out = cap.finish();
  auto lines = lines_of(out);
  ASSERT_EQ(lines.size(), 1u) << "a newline in the message must not split the line: " << out;
  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_THAT(j["message"].get<std::string>(), HasSubstr("quote \" newline \n tab \t bad "));
  EXPECT_EQ(j["path"], "/a\"b");
}

TEST_F(LogOutputTest, TextLine) {
  init(Level::kInfo, Format::kText);
  StderrCapture cap;
  {
    ScopedLogContext ctx("abc");
    warn("disk almost full", {{"free", 12}, {"path", "/var/lib"}, {"note", "two words"}});
  }
  const std::string out = cap.finish();
  auto lines = lines_of(out);
  ASSERT_EQ(lines.size(), 1u) << out;
  const std::string& line = lines[0];
  // "<time> WARN  disk almost full request_id=abc free=12 path=/var/lib note=\"two words\""
  ASSERT_GT(line.size(), 24u);
  EXPECT_TRUE(parse_rfc3339(line.substr(0, 24)).has_value()) << line;
  EXPECT_EQ(line.substr(24), " WARN  disk almost full request_id=abc free=12 note=\"two words\" path=/var/lib") << line;
}

}  // namespace
}  // namespace argus::log
