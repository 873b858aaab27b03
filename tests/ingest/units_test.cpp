// Unit tests of the ingest building blocks: backoff, multipart parsing, URL handling.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "ingest/backoff.h"
#include "ingest/curl_util.h"
#include "ingest/multipart.h"
#include "ingest/source.h"
#include "ingest_test_util.h"

namespace argus::ingest {
namespace {

TEST(BackoffTest, DoublesUpToTheMaximumWithJitter) {
  Backoff b(100, 1000, 42);
  const std::vector<std::int64_t> bases{100, 200, 400, 800, 1000, 1000, 1000};
  for (std::int64_t base : bases) {
    EXPECT_EQ(b.base_ms(), base);
    auto d = b.next().count();
    EXPECT_GE(d, static_cast<std::int64_t>(base * 0.8) - 1) << "base " << base;
    EXPECT_LE(d, std::min<std::int64_t>(1000, static_cast<std::int64_t>(base * 1.2) + 1)) << "base " << base;
  }
  b.reset();
  EXPECT_EQ(b.base_ms(), 100);
}

TEST(BackoffTest, JitterSpreadsDelays) {
  std::set<std::int64_t> seen;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    Backoff b(1000, 30000, seed);
    seen.insert(b.next().count());
  }
  EXPECT_GT(seen.size(), 20u);
  EXPECT_GE(*seen.begin(), 800);
  EXPECT_LE(*seen.rbegin(), 1200);
}

TEST(BackoffTest, NonsenseBoundsAreRepaired) {
  Backoff b(0, -5, 1);
  EXPECT_GE(b.next().count(), 1);
  EXPECT_GE(b.next().count(), 1);
}

// Feeds `stream` to a parser in chunks of `chunk` bytes; returns the parts.
std::vector<std::string> parse(const std::string& boundary, const std::string& stream, std::size_t chunk,
                               Status* status = nullptr, std::size_t max_part = 1 << 20) {
  MultipartParser p(boundary, max_part);
  std::vector<std::string> parts;
  Status s;
  for (std::size_t at = 0; at < stream.size() && s.ok(); at += chunk) {
    s = p.feed(std::string_view(stream).substr(at, chunk), [&](std::string part) {
      parts.push_back(std::move(part));
      return Status();
    });
  }
  if (status != nullptr) *status = s;
  return parts;
}

std::string part(const std::string& delim, const std::string& body, bool with_length, const char* eol = "\r\n") {
  std::string s = delim + eol + "Content-Type: image/jpeg" + eol;
  if (with_length) s += "Content-Length: " + std::to_string(body.size()) + eol;
  return s + eol + body + eol;
}

TEST(MultipartTest, BoundaryFromContentType) {
  EXPECT_EQ(boundary_from_content_type("multipart/x-mixed-replace; boundary=frame"), "frame");
  EXPECT_EQ(boundary_from_content_type("multipart/x-mixed-replace;boundary=\"my frame\""), "my frame");
  EXPECT_EQ(boundary_from_content_type("multipart/x-mixed-replace; Boundary=--abc; charset=x"), "--abc");
  EXPECT_EQ(boundary_from_content_type("multipart/x-mixed-replace"), std::nullopt);
  EXPECT_EQ(boundary_from_content_type("multipart/x-mixed-replace; xboundary=zz"), std::nullopt);
  EXPECT_EQ(boundary_from_content_type("image/jpeg"), std::nullopt);
}

TEST(MultipartTest, PartsWithAndWithoutContentLengthInAnyChunking) {
  const std::string a = "\xff\xd8 first \r\n body--\xff\xd9", b = "second", c(5000, 'x');
  std::string stream = "preamble junk\r\n" + part("--frame", a, true) + part("--frame", b, false) +
                       part("--frame", c, true) + "--frame--\r\n";
  for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{64}, stream.size()}) {
    Status s;
    auto parts = parse("frame", stream, chunk, &s);
    ASSERT_TRUE(s.ok()) << s.to_string();
    ASSERT_EQ(parts.size(), 3u) << "chunk " << chunk;
    EXPECT_EQ(parts[0], a);
    EXPECT_EQ(parts[1], b);
    EXPECT_EQ(parts[2], c);
  }
}

TEST(MultipartTest, LfLineEndingsAndDashedBoundaryParameter) {
  std::string stream = part("--cam", "one", false, "\n") + part("--cam", "two", false, "\n") + "--cam\n";
  auto parts = parse("--cam", stream, 5);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0], "one");
  EXPECT_EQ(parts[1], "two");
}

TEST(MultipartTest, LearnsAMissingBoundaryFromTheBody) {
  std::string stream = "\r\n" + part("--xyz", "one", true) + part("--xyz", "two", false) + "--xyz\r\n";
  auto parts = parse("", stream, 7);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[1], "two");
}

TEST(MultipartTest, RejectsABodyThatIsNotMultipart) {
  Status s;
  parse("", "<html><body>hello</body></html>\n", 100, &s);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(MultipartTest, BoundsThePartSize) {
  Status s;
  parse("b", part("--b", std::string(5000, 'x'), false), 100, &s, 1000);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  parse("b", part("--b", std::string(5000, 'x'), true), 100, &s, 1000);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  parse("b", std::string(5000, 'j'), 100, &s, 1000);  // junk without any boundary
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
}

TEST(MultipartTest, WrongContentLengthResynchronises) {
  // The first part claims 2 bytes but has 6: the rest is junk until the next boundary.
  std::string stream = "--b\r\nContent-Length: 2\r\n\r\nabcdef\r\n" + part("--b", "good", true) + "--b\r\n";
  auto parts = parse("b", stream, 4);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0], "ab");
  EXPECT_EQ(parts[1], "good");
}

TEST(MultipartTest, ErrorFromTheCallbackStopsParsing) {
  MultipartParser p("b", 1000);
  int calls = 0;
  Status s = p.feed(part("--b", "one", true) + part("--b", "two", true), [&](std::string) {
    ++calls;
    return Status::cancelled("enough");
  });
  EXPECT_EQ(s.code(), StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

TEST(CurlUtilTest, SplitsCredentialsOutOfTheUrl) {
  auto t = split_http_url("http://admin:s%40cret@127.0.0.1:8080/snap.jpg?x=1");
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ(t->url, "http://127.0.0.1:8080/snap.jpg?x=1");
  EXPECT_EQ(t->username, "admin");
  EXPECT_EQ(t->password, "s@cret");
  EXPECT_TRUE(t->has_credentials);
  EXPECT_EQ(t->masked_url.find("s%40cret"), std::string::npos);

  auto plain = split_http_url("https://cam.local/mjpeg");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->has_credentials);
  EXPECT_EQ(plain->url, "https://cam.local/mjpeg");

  EXPECT_EQ(split_http_url("rtsp://cam/x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(split_http_url("not a url").status().code(), StatusCode::kInvalidArgument);
}

TEST(CurlUtilTest, HttpStatusesMapToPermanentOrTransient) {
  HttpTarget t;
  t.masked_url = "http://u:***@cam/x";
  t.has_credentials = true;
  EXPECT_TRUE(is_permanent(http_status_error(401, t)));
  EXPECT_NE(http_status_error(401, t).message().find("authentication failed"), std::string::npos);
  EXPECT_EQ(http_status_error(404, t).code(), StatusCode::kNotFound);
  EXPECT_FALSE(is_permanent(http_status_error(503, t)));
}

TEST(SourceTest, FileUrlPath) {
  EXPECT_EQ(file_url_path("file:///var/cam").value(), "/var/cam");
  EXPECT_FALSE(file_url_path("file://relative").ok());
  EXPECT_FALSE(file_url_path("http://x/y").ok());
}

TEST(SourceTest, FrameFromBytes) {
  auto jpeg = frame_from_bytes(testutil::test_jpeg(64, 48), 0);
  ASSERT_TRUE(jpeg.ok()) << jpeg.status().to_string();
  EXPECT_EQ(jpeg->image.cols, 64);
  EXPECT_EQ(jpeg->image.type(), CV_8UC3);
  ASSERT_TRUE(jpeg->jpeg);

  auto png = frame_from_bytes(testutil::test_png(64, 48), 0);
  ASSERT_TRUE(png.ok()) << png.status().to_string();
  EXPECT_FALSE(png->jpeg);

  EXPECT_EQ(frame_from_bytes("hello", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(frame_from_bytes("", 0).status().code(), StatusCode::kInvalidArgument);
  std::string truncated = testutil::test_jpeg(64, 48).substr(0, 100);
  EXPECT_FALSE(frame_from_bytes(truncated, 0).ok());
}

TEST(SourceTest, MakeSourceRejectsUnusableUrls) {
  SourceOptions o;
  EXPECT_EQ(make_source({SourceKind::kStream, "ftp://cam/x", 1000}, o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(make_source({SourceKind::kMjpeg, "rtsp://cam/x", 1000}, o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(make_source({SourceKind::kFolder, "http://cam/x", 1000}, o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(make_source({SourceKind::kPush, "", 1000}, o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(make_source({SourceKind::kSnapshot, "http://u:p@cam/x.jpg", 1000}, o).ok());
}

}  // namespace
}  // namespace argus::ingest
