#include "vision/snapshot.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <string>

#include "vision/jpeg.h"

namespace argus::vision {
namespace {

// The box colour is pure green (BGR 0, 255, 0); after JPEG it stays close.
void expect_green(const cv::Mat& img, int x, int y) {
  cv::Vec3b p = img.at<cv::Vec3b>(y, x);
  EXPECT_GT(p[1], 200) << "at " << x << "," << y << ": " << p;
  EXPECT_LT(p[0], 70) << "at " << x << "," << y << ": " << p;
  EXPECT_LT(p[2], 70) << "at " << x << "," << y << ": " << p;
}

void expect_gray(const cv::Mat& img, int x, int y) {
  cv::Vec3b p = img.at<cv::Vec3b>(y, x);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(p[c], 128, 12) << "at " << x << "," << y << ": " << p;
}

TEST(SnapshotTest, DrawsTheBoxAndEncodesJpeg) {
  const cv::Mat img(480, 640, CV_8UC3, cv::Scalar(128, 128, 128));
  const Box box{0.25, 0.25, 0.75, 0.75};  // pixels x 160..479, y 120..359
  auto jpeg = annotated_jpeg(img, box, "person", 0.87f, 95);
  ASSERT_TRUE(jpeg.ok()) << jpeg.status().to_string();
  EXPECT_TRUE(looks_like_jpeg(*jpeg));
  auto decoded = decode_jpeg(*jpeg);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  ASSERT_EQ(decoded->size(), img.size());

  // On the box border, on all four sides.
  expect_green(*decoded, 160, 240);  // left
  expect_green(*decoded, 479, 240);  // right
  expect_green(*decoded, 320, 120);  // top
  expect_green(*decoded, 320, 359);  // bottom
  // Inside and outside the box the picture is unchanged.
  expect_gray(*decoded, 320, 240);
  expect_gray(*decoded, 100, 400);
  expect_gray(*decoded, 540, 240);
  // The label band (green, with dark text) sits above the box's top-left corner.
  cv::Mat band = (*decoded)(cv::Rect(160, 100, 100, 18));
  int green = 0, dark = 0;
  for (int y = 0; y < band.rows; ++y) {
    for (int x = 0; x < band.cols; ++x) {
      cv::Vec3b p = band.at<cv::Vec3b>(y, x);
      if (p[1] > 150 && p[0] < 100 && p[2] < 100) ++green;
      if (p[0] < 80 && p[1] < 80 && p[2] < 80) ++dark;
    }
  }
  EXPECT_GT(green, static_cast<int>(band.total() * 4 / 10));
  EXPECT_GT(dark, static_cast<int>(band.total() / 50));
  // The source image is not modified.
  EXPECT_EQ(cv::countNonZero(img.reshape(1) != 128), 0);
}

TEST(SnapshotTest, LabelFitsWhenTheBoxTouchesTheTop) {
  const cv::Mat img(240, 320, CV_8UC3, cv::Scalar(128, 128, 128));
  auto jpeg = annotated_jpeg(img, Box{0.0, 0.0, 0.5, 0.5}, "car", 0.5f);
  ASSERT_TRUE(jpeg.ok());
  auto decoded = decode_jpeg(*jpeg);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->size(), img.size());
  expect_green(*decoded, 0, 60);  // left edge
}

TEST(SnapshotTest, ThicknessScalesWithImageSize) {
  // 1080p: lines are 4 px (1/250 of the short side), so 3 px in from the edge is green.
  const cv::Mat img(1080, 1920, CV_8UC3, cv::Scalar(128, 128, 128));
  auto jpeg = annotated_jpeg(img, Box{0.25, 0.25, 0.75, 0.75}, "person", 0.9f, 95);
  ASSERT_TRUE(jpeg.ok());
  auto decoded = decode_jpeg(*jpeg);
  ASSERT_TRUE(decoded.ok());
  expect_green(*decoded, 480, 540);
  expect_green(*decoded, 483, 540);
  expect_gray(*decoded, 490, 540);
}

TEST(SnapshotTest, DegenerateBoxStillEncodes) {
  const cv::Mat img(120, 160, CV_8UC3, cv::Scalar(128, 128, 128));
  auto jpeg = annotated_jpeg(img, Box{0.5, 0.5, 0.5, 0.5}, "", 0.0f);
  ASSERT_TRUE(jpeg.ok());
  auto decoded = decode_jpeg(*jpeg);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->size(), img.size());
}

TEST(SnapshotTest, RejectsBadImages) {
  EXPECT_EQ(annotated_jpeg(cv::Mat(), Box{0, 0, 1, 1}, "x", 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(annotated_jpeg(cv::Mat(10, 10, CV_32FC3), Box{0, 0, 1, 1}, "x", 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(annotated_jpeg(cv::Mat(10, 10, CV_8UC3), Box{0, 0, 1, 1}, "x", 1, 0).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace argus::vision
