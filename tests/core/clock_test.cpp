#include "core/clock.h"

#include <chrono>
#include <optional>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace argus {
namespace {

TEST(ClockTest, SystemClockIsCloseToChrono) {
  using namespace std::chrono;
  const auto before = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  const UnixMillis now = argus::system_clock().now_ms();
  const auto after = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  EXPECT_GE(now, before);
  EXPECT_LE(now, after);
  EXPECT_EQ(&argus::system_clock(), &argus::system_clock()) << "one shared instance";
}

TEST(FormatRfc3339Test, KnownInstants) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(1), "1970-01-01T00:00:00.001Z");
  EXPECT_EQ(format_rfc3339(1795608879123), "2026-11-25T12:14:39.123Z");
  EXPECT_EQ(format_rfc3339(253402300799999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(-62135596800000), "0001-01-01T00:00:00.000Z");
}

TEST(FormatRfc3339Test, NegativeMillisRoundTowardsPast) {
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(-999), "1969-12-31T23:59:59.001Z");
  EXPECT_EQ(format_rfc3339(-1000), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(format_rfc3339(-1001), "1969-12-31T23:59:58.999Z");
  EXPECT_EQ(format_rfc3339(-310435201000), "1960-02-29T23:59:59.000Z");
}

TEST(FormatRfc3339Test, LeapYearDates) {
  EXPECT_EQ(format_rfc3339(1709210096789), "2024-02-29T12:34:56.789Z");
  EXPECT_EQ(format_rfc3339(951782400000), "2000-02-29T00:00:00.000Z");
  // The day after 2024-02-29 is March 1st.
  EXPECT_EQ(format_rfc3339(1709210096789 + 86'400'000), "2024-03-01T12:34:56.789Z");
}

TEST(ParseRfc3339Test, KnownInstants) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00.000Z"), 0);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.789Z"), 1709210096789);
  EXPECT_EQ(parse_rfc3339("2000-02-29T00:00:00Z"), 951782400000);
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59.999Z"), -1);
  EXPECT_EQ(parse_rfc3339("1960-02-29T23:59:59Z"), -310435201000);
  EXPECT_EQ(parse_rfc3339("0001-01-01T00:00:00Z"), -62135596800000);
  EXPECT_EQ(parse_rfc3339("9999-12-31T23:59:59.999Z"), 253402300799999);
}

TEST(ParseRfc3339Test, AcceptsLowercaseAndSpaceSeparators) {
  EXPECT_EQ(parse_rfc3339("2024-02-29t12:34:56.789z"), 1709210096789);
  EXPECT_EQ(parse_rfc3339("2024-02-29 12:34:56.789Z"), 1709210096789);
}

TEST(ParseRfc3339Test, NumericOffsets) {
  // 14:34:56 at +02:00 is 12:34:56 UTC.
  EXPECT_EQ(parse_rfc3339("2024-02-29T14:34:56.789+02:00"), 1709210096789);
  EXPECT_EQ(parse_rfc3339("2024-02-29T07:04:56.789-05:30"), 1709210096789);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.789+00:00"), 1709210096789);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.789-00:00"), 1709210096789);
  // An offset moves the instant across midnight and the epoch.
  EXPECT_EQ(parse_rfc3339("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:00:00-01:00"), 0);
  EXPECT_EQ(parse_rfc3339("2024-03-01T00:30:00+01:00"), parse_rfc3339("2024-02-29T23:30:00Z"));
}

TEST(ParseRfc3339Test, FractionsOfOneToNineDigits) {
  const UnixMillis base = 1709210096000;  // 2024-02-29T12:34:56Z
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.7Z"), base + 700);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.78Z"), base + 780);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.789Z"), base + 789);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.7891Z"), base + 789);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.78912Z"), base + 789);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.789123Z"), base + 789);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.7891234Z"), base + 789);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.78912345Z"), base + 789);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.999999999Z"), base + 999);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.000000001Z"), base);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.05+01:00"), base - 3'600'000 + 50);
  // Negative instants with a fraction: the fraction still counts forward in time.
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59.5Z"), -500);
}

TEST(ParseRfc3339Test, LeapSecondIsAccepted) {
  // RFC 3339 allows second 60; it lands on the next minute's :00.
  EXPECT_EQ(parse_rfc3339("2016-12-31T23:59:60Z"), parse_rfc3339("2017-01-01T00:00:00Z"));
}

TEST(ParseRfc3339Test, RoundTripsFormattedValues) {
  const UnixMillis fixed[] = {0,
                              1,
                              -1,
                              999,
                              -999,
                              1000,
                              -1000,
                              1709210096789,
                              951782400000,
                              -310435201000,
                              86'399'999,
                              253402300799999,
                              -62135596800000};
  for (UnixMillis ms : fixed) {
    SCOPED_TRACE(ms);
    EXPECT_EQ(parse_rfc3339(format_rfc3339(ms)), ms);
  }
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<UnixMillis> dist(-62135596800000, 253402300799999);
  for (int i = 0; i < 5000; ++i) {
    UnixMillis ms = dist(rng);
    std::string text = format_rfc3339(ms);
    ASSERT_EQ(parse_rfc3339(text), ms) << text;
  }
}

TEST(ParseRfc3339Test, RejectsMalformedInput) {
  const char* bad[] = {
      "",
      "2024",
      "2024-02-29",                    // date only
      "2024-02-29T12:34:56",           // missing zone
      "2024-02-29T12:34:56.789",       // missing zone after a fraction
      "2024-13-01T00:00:00Z",          // month 13
      "2024-00-01T00:00:00Z",          // month 0
      "2024-01-00T00:00:00Z",          // day 0
      "2024-01-32T00:00:00Z",          // day 32
      "2024-04-31T00:00:00Z",          // April has 30 days
      "2023-02-29T00:00:00Z",          // not a leap year
      "1900-02-29T00:00:00Z",          // century, not a leap year
      "2100-02-29T00:00:00Z",          // century, not a leap year
      "2024-02-30T00:00:00Z",          // Feb 30 even in a leap year
      "2024-02-29T24:00:00Z",          // hour 24
      "2024-02-29T12:60:00Z",          // minute 60
      "2024-02-29T12:34:61Z",          // second 61
      "2024-02-29T12:34:56ZZ",         // trailing junk
      "2024-02-29T12:34:56Z ",         // trailing space
      "2024-02-29T12:34:56.789Zjunk",  // trailing junk after zone
      "2024-02-29T12:34:56+02:00x",    // trailing junk after an offset
      " 2024-02-29T12:34:56Z",         // leading space
      "2024-02-29T12:34:56.Z",         // fraction without digits
      "2024-02-29T12:34:56+0200",      // offset without colon
      "2024-02-29T12:34:56+02",        // offset without minutes
      "2024-02-29T12:34:56+24:00",     // offset hour 24
      "2024-02-29T12:34:56+02:60",     // offset minute 60
      "2024-2-29T12:34:56Z",           // one-digit month
      "2024-02-29X12:34:56Z",          // bad separator
      "2024/02/29T12:34:56Z",          // bad separator
      "2024-02-29T12-34-56Z",          // bad separator
      "20240229T123456Z",              // basic ISO 8601 format is not RFC 3339
      "abcd-ef-ghTij:kl:mnZ",
      "-024-02-29T12:34:56Z",
  };
  for (const char* s : bad) {
    EXPECT_EQ(parse_rfc3339(s), std::nullopt) << '"' << s << '"';
  }
}

TEST(ParseRfc3339Test, AcceptsLastDayOfEveryMonth) {
  const char* good[] = {"2023-01-31T00:00:00Z", "2023-02-28T00:00:00Z", "2024-02-29T00:00:00Z", "2023-03-31T00:00:00Z",
                        "2023-04-30T00:00:00Z", "2023-05-31T00:00:00Z", "2023-06-30T00:00:00Z", "2023-07-31T00:00:00Z",
                        "2023-08-31T00:00:00Z", "2023-09-30T00:00:00Z", "2023-10-31T00:00:00Z", "2023-11-30T00:00:00Z",
                        "2023-12-31T00:00:00Z", "2000-02-29T00:00:00Z"};
  for (const char* s : good) {
    auto ms = parse_rfc3339(s);
    ASSERT_TRUE(ms.has_value()) << s;
    // Formatting gives back the same calendar date (no silent roll-over into next month).
    EXPECT_EQ(format_rfc3339(*ms).substr(0, 10), std::string(s).substr(0, 10));
  }
}

TEST(ParseDurationTest, UnitsAndPlainSeconds) {
  EXPECT_EQ(parse_duration_ms("500ms"), 500);
  EXPECT_EQ(parse_duration_ms("10s"), 10'000);
  EXPECT_EQ(parse_duration_ms("2"), 2'000);
  EXPECT_EQ(parse_duration_ms("2.5"), 2'500);
  EXPECT_EQ(parse_duration_ms("1.5m"), 90'000);
  EXPECT_EQ(parse_duration_ms("5m"), 300'000);
  EXPECT_EQ(parse_duration_ms("1h"), 3'600'000);
  EXPECT_EQ(parse_duration_ms("7d"), 604'800'000);
  EXPECT_EQ(parse_duration_ms("0"), 0);
  EXPECT_EQ(parse_duration_ms("0ms"), 0);
  EXPECT_EQ(parse_duration_ms("0.25s"), 250);
  EXPECT_EQ(parse_duration_ms(".5s"), 500);
}

TEST(ParseDurationTest, RejectsMalformed) {
  const char* bad[] = {"",     "abc",    "-1s", "-1",  "10x",   "1e400", "1e3s", "s",   "ms",  "10 s",    " 10s",
                       "10s ", "1.2.3s", ".",   "10S", "10sec", "1h30m", "+5s",  "nan", "inf", "1e999999"};
  for (const char* s : bad) {
    EXPECT_EQ(parse_duration_ms(s), std::nullopt) << '"' << s << '"';
  }
}

TEST(ParseDurationTest, RejectsValuesTooLargeToRepresent) {
  // A huge digit string must not overflow the int64 result.
  EXPECT_EQ(parse_duration_ms(std::string(400, '9')), std::nullopt);
  EXPECT_EQ(parse_duration_ms("99999999999999999999d"), std::nullopt);
  EXPECT_EQ(parse_duration_ms("999999999999999ms"), 999999999999999);
}

}  // namespace
}  // namespace argus
