#include "api/request_parse.h"

#include <gtest/gtest.h>

#include <string>

namespace argus::api {
namespace {

using Outcome = RequestReader::Outcome;

RequestReader::Result read_one(const std::string& bytes, RequestLimits limits = {}, std::size_t read_size = 4096) {
  RequestReader reader(bytes, limits, read_size);
  return reader.next();
}

TEST(RequestReader, ParsesARequest) {
  for (std::size_t read_size : {std::size_t{4096}, std::size_t{1}, std::size_t{7}}) {
    auto r = read_one(
        "POST /api/v1/x?limit=5&q=a%20b HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
        "X-Request-Id: abc-123\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
        {}, read_size);
    ASSERT_EQ(r.outcome, Outcome::kRequest) << read_size;
    EXPECT_FALSE(r.problem);
    EXPECT_TRUE(r.keep_alive);
    EXPECT_EQ(r.version, 11u);
    EXPECT_EQ(r.request.method, Method::kPost);
    EXPECT_EQ(r.request.target, "/api/v1/x?limit=5&q=a%20b");
    EXPECT_EQ(r.request.path, "/api/v1/x");
    ASSERT_EQ(r.request.query.size(), 2u);
    EXPECT_EQ(r.request.query[1].second, "a b");
    ASSERT_NE(r.request.header("content-type"), nullptr);
    EXPECT_EQ(*r.request.header("content-type"), "application/json");
    EXPECT_EQ(r.request.body, "{\"a\":1}");
    EXPECT_EQ(r.request.request_id, "abc-123");
  }
}

TEST(RequestReader, PipelinedRequestsAndClose) {
  RequestReader reader(
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /c "
      "HTTP/1.1\r\n\r\n",
      {}, 5);
  auto a = reader.next();
  ASSERT_EQ(a.outcome, Outcome::kRequest);
  EXPECT_EQ(a.request.path, "/a");
  EXPECT_TRUE(a.keep_alive);
  auto b = reader.next();
  ASSERT_EQ(b.outcome, Outcome::kRequest);
  EXPECT_EQ(b.request.path, "/b");
  EXPECT_FALSE(b.keep_alive);
  EXPECT_EQ(reader.next().outcome, Outcome::kClosed);  // the server closed after /b
}

TEST(RequestReader, EarlyErrors) {
  RequestLimits small{64, 8};
  auto big_header = read_one("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n", small);
  ASSERT_EQ(big_header.outcome, Outcome::kEarlyError);
  EXPECT_EQ(big_header.error.status, 431);
  EXPECT_EQ(big_header.error.type, "header-too-large");

  auto declared = read_one("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n123456789", small);
  ASSERT_EQ(declared.outcome, Outcome::kEarlyError);
  EXPECT_EQ(declared.error.status, 413);
  EXPECT_EQ(declared.error.detail, "the request body exceeds 8 bytes");

  auto chunked =
      read_one("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n", small);
  ASSERT_EQ(chunked.outcome, Outcome::kEarlyError);
  EXPECT_EQ(chunked.error.status, 413);

  for (const char* v : {"HTTP/2.0", "HTTP/0.9", "HTTP/1.2"}) {
    auto version = read_one(std::string("GET / ") + v + "\r\n\r\n");
    ASSERT_EQ(version.outcome, Outcome::kEarlyError) << v;
    EXPECT_EQ(version.error.status, 400) << v;
  }

  auto garbage = read_one("\x01\x02 nonsense\r\n\r\n");
  ASSERT_EQ(garbage.outcome, Outcome::kEarlyError);
  EXPECT_EQ(garbage.error.status, 400);
  EXPECT_EQ(garbage.error.detail.rfind("malformed HTTP request: ", 0), 0u);

  auto bad_chunk = read_one("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  ASSERT_EQ(bad_chunk.outcome, Outcome::kEarlyError);
  EXPECT_EQ(bad_chunk.error.status, 400);
  EXPECT_EQ(bad_chunk.error.detail.rfind("malformed HTTP request body: ", 0), 0u);
}

TEST(RequestReader, HeaderLimitCountsTheWholeBlockHoweverItArrives) {
  RequestLimits limits{512, 1024};
  // Request line and fields each under the limit, together over it: Beast alone would let
  // this through when it arrives in one piece.
  std::string over = "GET /" + std::string(100, 'p') + " HTTP/1.1\r\nCookie: " + std::string(420, 'c') + "\r\n\r\n";
  std::string under = "GET / HTTP/1.1\r\nCookie: " + std::string(400, 'c') + "\r\n\r\n";
  ASSERT_GT(over.size(), 512u);
  ASSERT_LE(under.size(), 512u);
  for (std::size_t read_size : {std::size_t{4096}, std::size_t{1}, std::size_t{4}, std::size_t{200}}) {
    auto r = read_one(over, limits, read_size);
    ASSERT_EQ(r.outcome, Outcome::kEarlyError) << read_size;
    EXPECT_EQ(r.error.status, 431) << read_size;
    EXPECT_EQ(read_one(under, limits, read_size).outcome, Outcome::kRequest) << read_size;
  }
}

TEST(RequestReader, ProblemsInsteadOfTheHandler) {
  auto relative = read_one("GET x HTTP/1.1\r\n\r\n");
  if (relative.outcome == Outcome::kRequest) {  // Beast may also refuse it outright
    ASSERT_TRUE(relative.problem);
    EXPECT_EQ(relative.problem->status, 400);
  }
  auto query = read_one("GET /x?a=%zz HTTP/1.1\r\n\r\n");
  ASSERT_EQ(query.outcome, Outcome::kRequest);
  ASSERT_TRUE(query.problem);
  EXPECT_EQ(query.problem->status, 400);
  EXPECT_EQ(query.problem->content_type, "application/problem+json");
  EXPECT_TRUE(query.keep_alive);

  auto method = read_one("BREW /pot HTTP/1.1\r\n\r\n");
  ASSERT_EQ(method.outcome, Outcome::kRequest);
  ASSERT_TRUE(method.problem);
  EXPECT_EQ(method.problem->status, 501);
}

TEST(RequestReader, PeerGoneClosesWithoutAnswer) {
  EXPECT_EQ(read_one("").outcome, Outcome::kClosed);
  EXPECT_EQ(read_one("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").outcome, Outcome::kClosed);
  // A header cut short by the peer's close is a malformed request (as in the server).
  auto cut = read_one("GET / HTTP/1.1\r\nHost:");
  ASSERT_EQ(cut.outcome, Outcome::kEarlyError);
  EXPECT_EQ(cut.error.status, 400);
}

TEST(RequestReader, RequestIdIsTheClientsOnlyWhenWellFormed) {
  auto bad = read_one("GET / HTTP/1.1\r\nX-Request-Id: a b\r\n\r\n");
  ASSERT_EQ(bad.outcome, Outcome::kRequest);
  EXPECT_NE(bad.request.request_id, "a b");
  EXPECT_TRUE(valid_request_id(bad.request.request_id));
  EXPECT_FALSE(valid_request_id(""));
  EXPECT_FALSE(valid_request_id(std::string(201, 'a')));
  EXPECT_TRUE(valid_request_id("req:1.2_3-4"));
}

}  // namespace
}  // namespace argus::api
