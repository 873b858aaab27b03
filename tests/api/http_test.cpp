#include "api/http.h"

#include <gtest/gtest.h>

#include "api/json_body.h"
#include "api/problem.h"

namespace argus::api {
namespace {

TEST(PercentDecode, DecodesAndRejects) {
  EXPECT_EQ(percent_decode("a%20b", false), "a b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("%2e%2E", false), "..");
  EXPECT_FALSE(percent_decode("%", false));
  EXPECT_FALSE(percent_decode("%4", false));
  EXPECT_FALSE(percent_decode("%g0", false));
  EXPECT_FALSE(percent_decode("%00", false));
}

TEST(ParseQuery, SplitsAndDecodes) {
  Fields q;
  ASSERT_TRUE(parse_query("limit=5&cursor=ab%3D&flag&&x=1+2", q));
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"limit", "5"}));
  EXPECT_EQ(q[1].second, "ab=");
  EXPECT_EQ(q[2], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(q[3].second, "1 2");
  Fields bad;
  EXPECT_FALSE(parse_query("a=%zz", bad));
}

Request with_query(std::string query) {
  Request r;
  r.path = "/x";
  EXPECT_TRUE(parse_query(query, r.query));
  return r;
}

TEST(Paging, DefaultsCoercionAndErrors) {
  Paging p;
  EXPECT_FALSE(parse_paging(with_query(""), p));
  EXPECT_EQ(p.limit, 50u);
  EXPECT_FALSE(parse_paging(with_query("limit=7"), p));
  EXPECT_EQ(p.limit, 7u);
  EXPECT_FALSE(parse_paging(with_query("limit=501"), p));
  EXPECT_EQ(p.limit, 500u);
  EXPECT_FALSE(parse_paging(with_query("limit=99999999999999999999999"), p));
  EXPECT_EQ(p.limit, 500u);
  for (const char* bad :
       {"limit=0", "limit=-1", "limit=-99999999999999999999999", "limit=+5", "limit=x", "limit=", "limit=5x"}) {
    Paging q;
    auto err = parse_paging(with_query(bad), q);
    ASSERT_TRUE(err) << bad;
    EXPECT_EQ(err->status, 400);
    EXPECT_EQ(err->content_type, "application/problem+json");
  }
}

TEST(Paging, CursorRoundTripAndGarbage) {
  std::string cursor = encode_cursor("cam-42");
  Paging p;
  EXPECT_FALSE(parse_paging(with_query("cursor=" + cursor), p));
  EXPECT_EQ(p.after, "cam-42");
  for (const char* bad : {"cursor=!!!", "cursor=e30", "cursor=bnVsbA"}) {
    Paging q;
    auto err = parse_paging(with_query(bad), q);
    ASSERT_TRUE(err) << bad;
    EXPECT_EQ(err->status, 400);
  }
}

TEST(Etag, MatchesListsWildcardAndWeak) {
  std::string e = make_etag("hello");
  EXPECT_EQ(e.front(), '"');
  EXPECT_NE(e, make_etag("hello!"));
  EXPECT_TRUE(etag_matches(e, e));
  EXPECT_TRUE(etag_matches("\"x\", " + e, e));
  EXPECT_TRUE(etag_matches("*", e));
  EXPECT_TRUE(etag_matches("W/" + e, e));
  EXPECT_FALSE(etag_matches("\"other\"", e));
}

TEST(JsonBody, MediaTypeMalformedAndDepth) {
  Request r;
  r.path = "/x";
  r.body = "{\"a\":1}";
  nlohmann::json out;
  auto err = parse_json_body(r, out);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, 415);
  r.headers.emplace_back("content-type", "Application/JSON; charset=utf-8");
  EXPECT_FALSE(parse_json_body(r, out));
  EXPECT_EQ(out["a"], 1);
  r.body = "{\"a\":";
  err = parse_json_body(r, out);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, 400);
  r.body = std::string(40, '[') + std::string(40, ']');
  err = parse_json_body(r, out);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, 400);
  EXPECT_NE(err->body->find("32"), std::string::npos);
}

TEST(Problem, ShapeAndStatusMapping) {
  Request r;
  r.path = "/api/v1/cameras/x";
  r.request_id = "rid";
  auto p = problem(404, "not-found", "camera 'x' does not exist", r);
  auto doc = nlohmann::json::parse(*p.body);
  EXPECT_EQ(p.content_type, "application/problem+json");
  EXPECT_EQ(doc["status"], 404);
  EXPECT_EQ(doc["title"], "Not Found");
  EXPECT_EQ(doc["instance"], "/api/v1/cameras/x");
  EXPECT_EQ(doc["type"], "urn:argus:problem:not-found");
  auto v = validation_problem({{"/id", "is required"}, {"/name", "too long"}}, r);
  auto vd = nlohmann::json::parse(*v.body);
  EXPECT_EQ(v.status, 422);
  ASSERT_EQ(vd["errors"].size(), 2u);
  EXPECT_EQ(vd["errors"][0]["pointer"], "/id");
  EXPECT_EQ(status_problem(Status::not_found("x"), r).status, 404);
  EXPECT_EQ(status_problem(Status::already_exists("x"), r).status, 409);
  EXPECT_EQ(status_problem(Status::failed_precondition("x"), r).status, 412);
  auto busy = status_problem(Status::resource_exhausted("queue full"), r);
  EXPECT_EQ(busy.status, 503);
  EXPECT_NE(busy.header("retry-after"), nullptr);
  auto internal = status_problem(Status::internal("SELECT * FROM secret_table failed"), r);
  EXPECT_EQ(internal.status, 500);
  EXPECT_EQ(internal.body->find("secret_table"), std::string::npos);  // no internals leak
}

}  // namespace
}  // namespace argus::api
