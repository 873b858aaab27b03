#include "cli/output.h"

#include <sstream>

#include <gtest/gtest.h>

namespace argus::cli {
namespace {

using nlohmann::json;

TEST(Output, ColourOnlyOnATerminalWithoutNoColor) {
  EXPECT_TRUE(use_color(true, "", "xterm-256color"));
  EXPECT_FALSE(use_color(true, "1", "xterm"));
  EXPECT_FALSE(use_color(true, "", "dumb"));
  EXPECT_FALSE(use_color(false, "", "xterm"));
  Style plain;
  EXPECT_EQ(paint(plain, "online", "32"), "online");
  Style color{true, true};
  EXPECT_EQ(paint_state(color, "online"), "\x1b[32monline\x1b[0m");
  EXPECT_EQ(paint_state(color, "failed"), "\x1b[31mfailed\x1b[0m");
  EXPECT_EQ(paint_state(color, "whatever"), "whatever");
}

TEST(Output, PipedTablesAreTabSeparatedWithoutHeader) {
  std::ostringstream out;
  print_table(out, Style{}, {"ID", "NAME"}, {{"a", "first\tname"}, {"bb", "line\nbreak"}});
  EXPECT_EQ(out.str(), "a\tfirst name\nbb\tline break\n");
}

TEST(Output, TerminalTablesAreAligned) {
  std::ostringstream out;
  print_table(out, Style{true, false}, {"ID", "NAME"}, {{"abc", "x"}, {"d", "yy"}});
  EXPECT_EQ(out.str(), "ID   NAME\nabc  x\nd    yy\n");
  std::ostringstream bold;
  print_table(bold, Style{true, true}, {"ID"}, {{"é"}});
  EXPECT_EQ(bold.str(), "\x1b[1mID\x1b[0m\né\n");
}

TEST(Output, FieldsAlignedOrTabSeparated) {
  std::ostringstream tty;
  print_fields(tty, Style{true, false}, {{"a", "1"}, {"long", "2"}});
  EXPECT_EQ(tty.str(), "a     1\nlong  2\n");
  std::ostringstream piped;
  print_fields(piped, Style{}, {{"a", "1"}, {"long", "2"}});
  EXPECT_EQ(piped.str(), "a\t1\nlong\t2\n");
}

TEST(Output, TextOfJsonValues) {
  EXPECT_EQ(text_of(json()), "-");
  EXPECT_EQ(text_of(json("x")), "x");
  EXPECT_EQ(text_of(json(true)), "true");
  EXPECT_EQ(text_of(json(5)), "5");
  EXPECT_EQ(text_of(json(2.0)), "2");
  EXPECT_EQ(text_of(json(0.126)), "0.13");
  EXPECT_EQ(text_of(json(0.5)), "0.5");
  EXPECT_EQ(text_of(json::array({"a", "b"})), "a,b");
  EXPECT_EQ(text_of(json::array()), "-");
  EXPECT_EQ(text_of(json::array({1, 2})), "[1,2]");
  json doc{{"status", {{"state", "online"}}}};
  EXPECT_EQ(field(doc, "/status/state"), "online");
  EXPECT_EQ(field(doc, "/status/missing"), "-");
  EXPECT_EQ(field(json::array(), "/x"), "-");
}

TEST(Output, FlattenNamesNestedMembers) {
  auto f = flatten(json{{"a", {{"b", 1}, {"c", {{"d", "x"}}}}}, {"e", json::array({"p", "q"})}, {"g", json::object()}});
  std::vector<std::pair<std::string, std::string>> want = {{"a.b", "1"}, {"a.c.d", "x"}, {"e", "p,q"}, {"g", "{}"}};
  EXPECT_EQ(f, want);
}

TEST(Output, ProblemTextHasTitleDetailAndFieldErrors) {
  HttpResult r;
  r.status = 422;
  r.body =
      R"({"title":"Unprocessable Content","detail":"1 field is invalid","errors":[{"pointer":"/detection/fps","detail":"must be a number between 0.1 and 60"}]})";
  EXPECT_EQ(
      problem_text(r),
      "Unprocessable Content: 1 field is invalid (HTTP 422)\n  /detection/fps: must be a number between 0.1 and 60");
  r.status = 502;
  r.body = "<html>bad gateway</html>";
  EXPECT_EQ(problem_text(r), "HTTP 502");
  r.status = 404;
  r.body = R"({"detail":"no camera"})";
  EXPECT_EQ(problem_text(r), "no camera (HTTP 404)");
}

TEST(Output, Formats) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(3.0 * 1024 * 1024 * 1024), "3.0 GiB");
  EXPECT_EQ(format_duration(59.5), "59 s");
  EXPECT_EQ(format_duration(3725), "1h 02m 05s");
  EXPECT_EQ(format_duration(90061), "1d 01h 01m");
  EXPECT_EQ(format_duration(61), "1m 01s");
  EXPECT_EQ(progress_bar(50, 10), "[#####.....]  50%");
  EXPECT_EQ(progress_bar(150, 4), "[####] 100%");
  EXPECT_EQ(progress_bar(-1, 2), "[..]   0%");
}

TEST(Output, NearestRankPercentiles) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 50), 50);
  EXPECT_EQ(percentile(v, 99), 99);
  EXPECT_EQ(percentile(v, 100), 100);
  EXPECT_EQ(percentile({7}, 99), 7);
  EXPECT_EQ(percentile({}, 50), 0);
  EXPECT_EQ(percentile({1, 2, 3}, 50), 2);
}

TEST(Output, QueryStrings) {
  EXPECT_EQ(url_encode("a b/c&d=é"), "a%20b%2Fc%26d%3D%C3%A9");
  EXPECT_EQ(query_string({{"camera", "front,yard"}, {"label", ""}, {"from", "2026-01-31T00:00:00Z"}}),
            "?camera=front%2Cyard&from=2026-01-31T00%3A00%3A00Z");
  EXPECT_EQ(query_string({{"a", ""}}), "");
}

TEST(Output, ParamsAreJsonWhenTheyParse) {
  auto n = parse_param("fps=5");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->first, "fps");
  EXPECT_EQ(n->second, json(5));
  EXPECT_EQ(parse_param("file=clips/a.mp4")->second, json("clips/a.mp4"));
  EXPECT_EQ(parse_param("camera={\"id\":\"x\"}")->second, json({{"id", "x"}}));
  EXPECT_EQ(parse_param("flag=true")->second, json(true));
  EXPECT_EQ(parse_param("empty=")->second, json(""));
  EXPECT_FALSE(parse_param("novalue").ok());
  EXPECT_FALSE(parse_param("=x").ok());
}

TEST(SseParser, MessagesSplitAnywhere) {
  const std::string stream =
      "retry: 2500\n\n: keep-alive\n\nid: 7\ndata: {\"a\":1}\n\ndata: notice\r\n\r\nid: 8\ndata: x\ndata: y\n\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    SseParser p;
    auto first = p.feed(stream.substr(0, cut));
    auto rest = p.feed(stream.substr(cut));
    first.insert(first.end(), rest.begin(), rest.end());
    ASSERT_EQ(first.size(), 3u) << cut;
    EXPECT_EQ(first[0].id, "7");
    EXPECT_EQ(first[0].data, "{\"a\":1}");
    EXPECT_EQ(first[1].id, "");
    EXPECT_EQ(first[1].data, "notice");
    EXPECT_EQ(first[2].id, "8");
    EXPECT_EQ(first[2].data, "x\ny");
    EXPECT_EQ(p.retry_ms(), 2500);
  }
}

TEST(SseParser, AnUnfinishedMessageWaits) {
  SseParser p;
  EXPECT_TRUE(p.feed("id: 1\ndata: x\n").empty());
  EXPECT_EQ(p.feed("\n").size(), 1u);
}

}  // namespace
}  // namespace argus::cli
