// Media file serving on real files in a temporary directory: path vetting, ranges,
// conditional requests and content types.
#include "api/file_serve.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "testing/testing.h"

namespace argus::api {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(ParseRange, FormsAndEdges) {
  ByteRange r;
  EXPECT_EQ(parse_range("bytes=0-9", 100, r), RangeKind::kOne);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 9u);
  EXPECT_EQ(parse_range("bytes=90-", 100, r), RangeKind::kOne);
  EXPECT_EQ(r.first, 90u);
  EXPECT_EQ(r.last, 99u);
  EXPECT_EQ(parse_range("bytes=-10", 100, r), RangeKind::kOne);
  EXPECT_EQ(r.first, 90u);
  EXPECT_EQ(r.last, 99u);
  EXPECT_EQ(parse_range("bytes=-1000", 100, r), RangeKind::kOne);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(parse_range("bytes=50-1000", 100, r), RangeKind::kOne);
  EXPECT_EQ(r.last, 99u);
  EXPECT_EQ(parse_range(" bytes= 5 - 6 ", 100, r), RangeKind::kOne);
  EXPECT_EQ(parse_range("bytes=100-", 100, r), RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=200-300", 100, r), RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 100, r), RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0, r), RangeKind::kUnsatisfiable);
  for (const char* whole : {"", "bytes", "bytes=", "bytes=a-b", "bytes=5-4", "bytes=0-1,3-4", "items=0-1", "bytes=--1",
                            "bytes=+1-2", "bytes=99999999999999999999999-"}) {
    EXPECT_EQ(parse_range(whole, 100, r), RangeKind::kWhole) << whole;
  }
}

TEST(ContentType, ByExtension) {
  EXPECT_EQ(content_type_for("a/b.jpg"), "image/jpeg");
  EXPECT_EQ(content_type_for("B.JPEG"), "image/jpeg");
  EXPECT_EQ(content_type_for("x.png"), "image/png");
  EXPECT_EQ(content_type_for("x.mp4"), "video/mp4");
  EXPECT_EQ(content_type_for("x.webm"), "video/webm");
  EXPECT_EQ(content_type_for("x.json"), "application/json");
  EXPECT_EQ(content_type_for("x.csv"), "text/csv; charset=utf-8");
  EXPECT_EQ(content_type_for("x.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(content_type_for("x.exe"), "application/octet-stream");
  EXPECT_EQ(content_type_for("dir.jpg/file"), "application/octet-stream");
  EXPECT_EQ(content_type_for("noext"), "application/octet-stream");
}

class FileServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.file("media");
    write(fs::path(root_) / "snapshots/front/a.jpg", "0123456789");
    write(dir_.file("secret.db"), "secret");
    fs::create_symlink(dir_.file("secret.db"), fs::path(root_) / "out.jpg");
    fs::create_symlink("snapshots/front/a.jpg", fs::path(root_) / "in.jpg");
    fs::create_directories(fs::path(root_) / "empty");
  }
  Request get(std::initializer_list<std::pair<std::string, std::string>> headers = {}) {
    Request r;
    r.path = "/api/v1/media/x";
    for (const auto& h : headers) r.headers.push_back(h);
    return r;
  }

  argus::testing::TempDir dir_;
  std::string root_;
};

TEST_F(FileServeTest, ResolvesOnlyPlainPathsInsideTheRoot) {
  std::string rel;
  auto ok = resolve_media_path(root_, "snapshots/front/a.jpg", &rel);
  ASSERT_TRUE(ok);
  EXPECT_EQ(rel, "snapshots/front/a.jpg");
  auto link = resolve_media_path(root_, "in.jpg", &rel);
  ASSERT_TRUE(link);
  EXPECT_EQ(rel, "snapshots/front/a.jpg") << "links inside the root resolve to their target";
  for (const char* bad :
       {"", "/etc/passwd", "../secret.db", "snapshots/../../secret.db", "snapshots/./front/a.jpg",
        "snapshots//front/a.jpg", "snapshots\\front\\a.jpg", "%2e%2e/secret.db", "out.jpg",
        "snapshots/front/missing.jpg", "empty", "snapshots", "snapshots/front/a.jpg/", "snapshots/front/a.jpg\n"}) {
    EXPECT_FALSE(resolve_media_path(root_, bad)) << bad;
  }
  EXPECT_FALSE(resolve_media_path(root_, std::string_view("a\0b", 3)));
  EXPECT_FALSE(resolve_media_path("", "snapshots/front/a.jpg"));
  EXPECT_FALSE(resolve_media_path(dir_.file("nowhere"), "snapshots/front/a.jpg"));
}

TEST_F(FileServeTest, ServesWholeRangesAndConditionals) {
  auto file = resolve_media_path(root_, "snapshots/front/a.jpg");
  ASSERT_TRUE(file);
  Response whole = serve_file(get(), *file, "private, max-age=1");
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(*whole.body, "0123456789");
  EXPECT_EQ(whole.content_type, "image/jpeg");
  EXPECT_EQ(*whole.header("Accept-Ranges"), "bytes");
  EXPECT_EQ(*whole.header("Cache-Control"), "private, max-age=1");
  const std::string etag = *whole.header("ETag");
  const std::string modified = *whole.header("Last-Modified");

  Response part = serve_file(get({{"range", "bytes=2-4"}}), *file, "");
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(*part.body, "234");
  EXPECT_EQ(*part.header("Content-Range"), "bytes 2-4/10");
  Response suffix = serve_file(get({{"range", "bytes=-2"}}), *file, "");
  EXPECT_EQ(*suffix.body, "89");
  Response bad = serve_file(get({{"range", "bytes=10-"}}), *file, "");
  EXPECT_EQ(bad.status, 416);
  EXPECT_EQ(*bad.header("Content-Range"), "bytes */10");
  // A long range is answered shorter, never read whole.
  Response capped = serve_file(get({{"range", "bytes=1-"}}), *file, "", "", {.max_range_bytes = 3});
  EXPECT_EQ(capped.status, 206);
  EXPECT_EQ(*capped.body, "123");
  EXPECT_EQ(*capped.header("Content-Range"), "bytes 1-3/10");
  Response big = serve_file(get(), *file, "", "", {.max_whole_bytes = 5});
  EXPECT_EQ(big.status, 413);

  EXPECT_EQ(serve_file(get({{"if-none-match", etag}}), *file, "").status, 304);
  EXPECT_EQ(serve_file(get({{"if-none-match", "\"x\", " + etag}}), *file, "").status, 304);
  EXPECT_EQ(serve_file(get({{"if-none-match", "\"x\""}}), *file, "").status, 200);
  EXPECT_EQ(serve_file(get({{"if-modified-since", modified}}), *file, "").status, 304);
  EXPECT_EQ(serve_file(get({{"if-modified-since", "Sat, 01 Jan 2000 00:00:00 GMT"}}), *file, "").status, 200);
  EXPECT_EQ(serve_file(get({{"range", "bytes=0-0"}, {"if-range", etag}}), *file, "").status, 206);
  EXPECT_EQ(serve_file(get({{"range", "bytes=0-0"}, {"if-range", "\"old\""}}), *file, "").status, 200);

  // The file changes: so does the ETag. It vanishes: 404.
  write(*file, "changed!");
  fs::last_write_time(*file, fs::last_write_time(*file) + std::chrono::seconds(3));
  Response changed = serve_file(get({{"if-none-match", etag}}), *file, "");
  EXPECT_EQ(changed.status, 200);
  EXPECT_NE(*changed.header("ETag"), etag);
  fs::remove(*file);
  EXPECT_EQ(serve_file(get(), *file, "").status, 404);
}

}  // namespace
}  // namespace argus::api
