#include "vision/jpeg.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <thread>
#include <vector>

namespace argus::vision {
namespace {

// A deterministic picture with smooth gradients and sharp shapes.
cv::Mat test_image(int w, int h) {
  cv::Mat img(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(x * 255 / w), static_cast<uchar>(y * 255 / h),
                                          static_cast<uchar>(128 + ((x / 16 + y / 16) % 2) * 60));
    }
  }
  cv::circle(img, cv::Point(w / 3, h / 2), std::min(w, h) / 5, cv::Scalar(20, 220, 30), cv::FILLED);
  cv::rectangle(img, cv::Rect(w / 2, h / 4, w / 4, h / 3), cv::Scalar(250, 250, 250), cv::FILLED);
  return img;
}

double mean_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  return cv::norm(a, b, cv::NORM_L1) / static_cast<double>(a.total() * a.channels());
}

std::string jpeg_of(const cv::Mat& img, int quality = 90) {
  auto r = encode_jpeg(img, quality);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : std::string();
}

std::string encode_with_opencv(const cv::Mat& img, const std::string& ext) {
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(ext, img, buf));
  return std::string(buf.begin(), buf.end());
}

void expect_invalid(const Result<cv::Mat>& r, const std::string& what) {
  ASSERT_FALSE(r.ok()) << what << " decoded to " << r->cols << "x" << r->rows;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << what << ": " << r.status().to_string();
  EXPECT_FALSE(r.status().message().empty());
}

TEST(JpegTest, EncodeDecodeRoundTrip) {
  cv::Mat img = test_image(320, 240);
  std::string jpeg = jpeg_of(img, 90);
  EXPECT_TRUE(looks_like_jpeg(jpeg));
  EXPECT_FALSE(looks_like_png(jpeg));
  auto decoded = decode_jpeg(jpeg);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->cols, 320);
  EXPECT_EQ(decoded->rows, 240);
  EXPECT_EQ(decoded->type(), CV_8UC3);
  EXPECT_LT(mean_abs_diff(img, *decoded), 3.0);
  // Colour order is BGR: the green disc stays green.
  cv::Vec3b disc = decoded->at<cv::Vec3b>(120, 106);
  EXPECT_GT(disc[1], 180);
  EXPECT_LT(disc[0], 70);
  EXPECT_LT(disc[2], 70);

  auto via_image = decode_image(jpeg);
  ASSERT_TRUE(via_image.ok());
  EXPECT_EQ(cv::norm(*via_image, *decoded, cv::NORM_INF), 0);
}

TEST(JpegTest, LowerQualityIsSmaller) {
  cv::Mat img = test_image(320, 240);
  EXPECT_LT(jpeg_of(img, 30).size(), jpeg_of(img, 95).size());
}

TEST(JpegTest, EncodesGrayAndDecodesToBgr) {
  cv::Mat gray;
  cv::cvtColor(test_image(160, 120), gray, cv::COLOR_BGR2GRAY);
  auto decoded = decode_jpeg(jpeg_of(gray));
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->type(), CV_8UC3);
  EXPECT_EQ(decoded->size(), gray.size());
}

TEST(JpegTest, EncodesNonContiguousRoi) {
  cv::Mat img = test_image(320, 240);
  cv::Mat roi = img(cv::Rect(10, 20, 100, 50));
  ASSERT_FALSE(roi.isContinuous());
  auto decoded = decode_jpeg(jpeg_of(roi, 95));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->size(), cv::Size(100, 50));
  EXPECT_LT(mean_abs_diff(roi, *decoded), 3.0);
}

TEST(JpegTest, ScaledDecodePicksTheStrongestFactorKeepingMinWidth) {
  std::string jpeg = jpeg_of(test_image(768, 576));
  struct Case {
    int min_width;
    cv::Size expected;
  };
  for (const Case& c : {Case{0, {768, 576}}, Case{300, {384, 288}}, Case{384, {384, 288}}, Case{385, {768, 576}},
                        Case{100, {192, 144}}, Case{96, {96, 72}}, Case{1, {96, 72}}, Case{2000, {768, 576}}}) {
    auto r = decode_jpeg(jpeg, c.min_width);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->size(), c.expected) << "min_width " << c.min_width;
  }
  // The scaled picture is the picture, smaller.
  auto half = decode_jpeg(jpeg, 300);
  ASSERT_TRUE(half.ok());
  cv::Mat reference;
  cv::resize(test_image(768, 576), reference, cv::Size(384, 288), 0, 0, cv::INTER_AREA);
  EXPECT_LT(mean_abs_diff(reference, *half), 4.0);
}

TEST(JpegTest, ScaledDecodeRoundsOddSizesUp) {
  auto r = decode_jpeg(jpeg_of(test_image(101, 75)), 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), cv::Size(13, 10));  // ceil(101/8) x ceil(75/8)
}

TEST(JpegTest, DecodeImageReadsPngExactly) {
  cv::Mat img = test_image(200, 150);
  std::string png = encode_with_opencv(img, ".png");
  EXPECT_TRUE(looks_like_png(png));
  EXPECT_FALSE(looks_like_jpeg(png));
  auto r = decode_image(png);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(cv::norm(*r, img, cv::NORM_INF), 0);

  // decode_jpeg only takes JPEG.
  expect_invalid(decode_jpeg(png), "png through decode_jpeg");
}

TEST(JpegTest, TruncatedPngIsInvalid) {
  std::string png = encode_with_opencv(test_image(200, 150), ".png");
  for (double keep : {0.1, 0.5, 0.95}) {
    expect_invalid(decode_image(png.substr(0, static_cast<std::size_t>(png.size() * keep))),
                   "png truncated to " + std::to_string(keep));
  }
}

TEST(JpegTest, DecodeImageScalesOtherFormatsLikeJpeg) {
  std::string png = encode_with_opencv(test_image(768, 576), ".png");
  auto r = decode_image(png, 300);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), cv::Size(384, 288));
}

TEST(JpegTest, DecodeImageReadsBmp) {
  cv::Mat img = test_image(64, 48);
  auto r = decode_image(encode_with_opencv(img, ".bmp"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(cv::norm(*r, img, cv::NORM_INF), 0);
}

TEST(JpegTest, DecodeImageReadsGrayPngAsBgr) {
  cv::Mat gray(40, 30, CV_8UC1, cv::Scalar(77));
  auto r = decode_image(encode_with_opencv(gray, ".png"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type(), CV_8UC3);
  EXPECT_EQ(r->at<cv::Vec3b>(5, 5), cv::Vec3b(77, 77, 77));
}

TEST(JpegTest, EmptyInputIsInvalid) {
  expect_invalid(decode_jpeg(""), "empty jpeg");
  expect_invalid(decode_image(""), "empty image");
}

TEST(JpegTest, CorruptHeaderIsInvalid) {
  std::string jpeg = jpeg_of(test_image(320, 240));
  std::string corrupt = jpeg;
  for (std::size_t i = 3; i < 200 && i < corrupt.size(); ++i) corrupt[i] = static_cast<char>(0x5A);
  expect_invalid(decode_jpeg(corrupt), "corrupt header");
  expect_invalid(decode_image(corrupt), "corrupt header via decode_image");
  expect_invalid(decode_jpeg(std::string("\xFF\xD8\xFF", 3)), "magic only");
}

TEST(JpegTest, TruncatedJpegIsInvalid) {
  std::string jpeg = jpeg_of(test_image(320, 240));
  for (double keep : {0.05, 0.3, 0.5, 0.9, 0.99}) {
    std::string cut = jpeg.substr(0, static_cast<std::size_t>(jpeg.size() * keep));
    expect_invalid(decode_jpeg(cut), "truncated to " + std::to_string(keep));
    expect_invalid(decode_jpeg(cut, 100), "truncated, scaled, to " + std::to_string(keep));
    expect_invalid(decode_image(cut), "truncated via decode_image to " + std::to_string(keep));
  }
}

TEST(JpegTest, MissingOnlyTheEndMarkerIsAccepted) {
  // All pixels are there; only the final FF D9 is cut off.
  std::string jpeg = jpeg_of(test_image(320, 240));
  auto full = decode_jpeg(jpeg);
  auto r = decode_jpeg(jpeg.substr(0, jpeg.size() - 2));
  ASSERT_TRUE(full.ok());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(cv::norm(*r, *full, cv::NORM_INF), 0);
  // A few bytes more missing and the last blocks are lost.
  expect_invalid(decode_jpeg(jpeg.substr(0, jpeg.size() - 16)), "last entropy bytes missing");
}

TEST(JpegTest, ExtraneousBytesBeforeAMarkerAreTolerated) {
  // Cameras emit this; libjpeg warns ("extraneous bytes before marker") but decodes it all.
  cv::Mat img = test_image(320, 240);
  std::string jpeg = jpeg_of(img);
  ASSERT_EQ(jpeg.substr(jpeg.size() - 2), std::string("\xFF\xD9", 2));
  std::string padded = jpeg.substr(0, jpeg.size() - 2) + std::string("\x01\x02\x03\x04", 4) + "\xFF\xD9";
  auto r = decode_jpeg(padded);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_LT(mean_abs_diff(img, *r), 3.0);
}

TEST(JpegTest, RandomGarbageIsInvalid) {
  cv::RNG rng(1234);
  for (int i = 0; i < 50; ++i) {
    std::string bytes(static_cast<std::size_t>(rng.uniform(1, 4000)), '\0');
    for (char& b : bytes) b = static_cast<char>(rng.uniform(0, 256));
    expect_invalid(decode_image(bytes), "garbage " + std::to_string(i));
    // Garbage behind a JPEG signature goes through libjpeg-turbo.
    expect_invalid(decode_image(std::string("\xFF\xD8\xFF", 3) + bytes), "jpeg-prefixed garbage " + std::to_string(i));
  }
}

TEST(JpegTest, CorruptEntropyDataNeverCrashes) {
  // Flipping bytes in the compressed data either still decodes (at full size) or is an
  // InvalidArgument; it never crashes.
  cv::Mat img = test_image(320, 240);
  std::string jpeg = jpeg_of(img);
  cv::RNG rng(99);
  int refused = 0;
  for (int i = 0; i < 100; ++i) {
    std::string bytes = jpeg;
    for (int k = 0; k < 8; ++k) {
      auto at = static_cast<std::size_t>(rng.uniform(2, static_cast<int>(bytes.size())));
      bytes[at] = static_cast<char>(rng.uniform(0, 256));
    }
    auto r = decode_image(bytes);
    if (r.ok()) {
      EXPECT_EQ(r->size(), img.size());
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
}

TEST(JpegTest, RefusesImagesOverMaxPixels) {
  std::string jpeg = jpeg_of(test_image(768, 576));
  auto r = decode_image(jpeg, 0, 768L * 576 - 1);
  expect_invalid(r, "jpeg over limit");
  EXPECT_NE(r.status().message().find("768x576"), std::string::npos) << r.status().message();
  EXPECT_TRUE(decode_image(jpeg, 0, 768L * 576).ok());
  expect_invalid(decode_jpeg(jpeg, 0, 1000), "decode_jpeg over limit");

  std::string png = encode_with_opencv(test_image(100, 100), ".png");
  expect_invalid(decode_image(png, 0, 9999), "png over limit");
  EXPECT_TRUE(decode_image(png, 0, 10000).ok());
}

TEST(JpegTest, RefusesHugePngFromItsHeaderWithoutDecoding) {
  // A PNG whose header claims 100000 x 100000 pixels: refused from the header alone
  // (decoding would need 30 GB).
  std::string png = encode_with_opencv(test_image(16, 16), ".png");
  ASSERT_EQ(png.substr(12, 4), "IHDR");
  const std::string huge("\x00\x01\x86\xA0", 4);  // 100000 big-endian
  png.replace(16, 4, huge);
  png.replace(20, 4, huge);
  auto r = decode_image(png);
  expect_invalid(r, "huge png");
  EXPECT_NE(r.status().message().find("100000x100000"), std::string::npos) << r.status().message();

  // The largest dimensions a PNG header can state do not overflow the check.
  png.replace(16, 4, std::string("\xFF\xFF\xFF\xFF", 4));
  png.replace(20, 4, std::string("\xFF\xFF\xFF\xFF", 4));
  expect_invalid(decode_image(png), "4294967295 x 4294967295 png");
}

TEST(JpegTest, EncodeRejectsBadInput) {
  EXPECT_EQ(encode_jpeg(cv::Mat()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(encode_jpeg(test_image(8, 8), 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(encode_jpeg(test_image(8, 8), 101).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(encode_jpeg(cv::Mat(8, 8, CV_32FC3, cv::Scalar(0.5))).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(encode_jpeg(test_image(8, 8), 1).ok());
  EXPECT_TRUE(encode_jpeg(test_image(8, 8), 100).ok());
}

TEST(JpegTest, ConcurrentUseIsSafe) {
  const cv::Mat img = test_image(320, 240);
  const std::string jpeg = jpeg_of(img);
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto d = decode_jpeg(jpeg, i % 2 ? 160 : 0);
        auto e = encode_jpeg(img, 80);
        auto bad = decode_jpeg(jpeg.substr(0, jpeg.size() / 2));
        if (!d.ok() || !e.ok() || bad.ok()) ++failures[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

}  // namespace
}  // namespace argus::vision
