#include "vision/motion.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <string>

namespace argus::vision {
namespace {

// A static textured scene (so background subtraction has structure to learn).
cv::Mat background(int w, int h) {
  cv::Mat img(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      img.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uchar>(60 + (x * 7 + y * 3) % 50), static_cast<uchar>(80 + (x / 20) % 3 * 20),
                    static_cast<uchar>(70 + (y / 30) % 4 * 15));
    }
  }
  cv::rectangle(img, cv::Rect(w / 10, h / 10, w / 5, h / 6), cv::Scalar(30, 30, 160), cv::FILLED);
  cv::line(img, cv::Point(0, h * 3 / 4), cv::Point(w, h * 2 / 3), cv::Scalar(200, 200, 200), 3);
  return img;
}

// Adds sensor-like Gaussian noise (sigma 3) from a fixed seed.
cv::Mat with_noise(const cv::Mat& img, cv::RNG& rng) {
  cv::Mat noise(img.size(), CV_16SC3);
  rng.fill(noise, cv::RNG::NORMAL, cv::Scalar::all(0), cv::Scalar::all(3));
  cv::Mat out;
  cv::Mat img16;
  img.convertTo(img16, CV_16SC3);
  cv::add(img16, noise, img16);
  img16.convertTo(out, CV_8UC3);
  return out;
}

TEST(MotionTest, WarmupFramesCountAsMotion) {
  MotionOptions options;
  options.warmup_frames = 3;
  MotionDetector motion(options);
  cv::Mat bg = background(640, 480);
  for (int i = 0; i < 3; ++i) {
    MotionResult r = motion.process(bg);
    EXPECT_TRUE(r.motion) << "frame " << i;
    EXPECT_EQ(r.changed_fraction, 1.0);
    ASSERT_EQ(r.regions.size(), 1u);
    EXPECT_EQ(r.regions[0], (Box{0, 0, 1, 1}));
  }
  EXPECT_FALSE(motion.process(bg).motion);
}

TEST(MotionTest, StaticSceneHasNoMotionAfterWarmup) {
  MotionDetector motion;  // defaults: 5 warm-up frames
  cv::Mat bg = background(640, 480);
  cv::RNG rng(7);
  for (int i = 0; i < 60; ++i) {
    MotionResult r = motion.process(with_noise(bg, rng));
    if (i < 5) {
      EXPECT_TRUE(r.motion);
      continue;
    }
    EXPECT_FALSE(r.motion) << "frame " << i << " changed " << r.changed_fraction;
    EXPECT_TRUE(r.regions.empty()) << "frame " << i;
    EXPECT_LT(r.changed_fraction, 0.001) << "frame " << i;
  }
}

TEST(MotionTest, MovingRectangleIsFoundWhereItIs) {
  MotionDetector motion;
  const int w = 640, h = 480;
  cv::Mat bg = background(w, h);
  cv::RNG rng(11);
  for (int i = 0; i < 100; ++i) motion.process(with_noise(bg, rng));

  const cv::Size object(60, 100);
  for (int step = 0; step < 20; ++step) {
    cv::Rect truth(100 + step * 12, 200 + step * 3, object.width, object.height);
    cv::Mat frame = bg.clone();
    cv::rectangle(frame, truth, cv::Scalar(230, 240, 250), cv::FILLED);
    cv::rectangle(frame, cv::Rect(truth.x + 10, truth.y + 10, 20, 30), cv::Scalar(10, 10, 10), cv::FILLED);
    MotionResult r = motion.process(with_noise(frame, rng));
    ASSERT_TRUE(r.motion) << "step " << step;
    ASSERT_FALSE(r.regions.empty());
    const Box want = to_box(cv::Rect2f(truth), w, h);
    // Regions come largest first; the moving object is the only change.
    EXPECT_EQ(r.regions.size(), 1u) << "step " << step;
    EXPECT_GT(iou(r.regions[0], want), 0.7) << "step " << step << " region " << r.regions[0].x1 << ","
                                            << r.regions[0].y1 << " " << r.regions[0].x2 << "," << r.regions[0].y2;
    const double object_fraction = double(object.area()) / (w * h);
    EXPECT_GT(r.changed_fraction, object_fraction * 0.5) << "step " << step;
    EXPECT_LT(r.changed_fraction, object_fraction * 1.5) << "step " << step;
  }
}

TEST(MotionTest, BlobsBelowMinRegionFractionAreIgnored) {
  MotionOptions options;
  options.min_region_fraction = 0.01;  // 1% of the image
  MotionDetector motion(options);
  const int w = 640, h = 480;
  cv::Mat bg = background(w, h);
  for (int i = 0; i < 10; ++i) motion.process(bg);
  cv::Mat frame = bg.clone();
  cv::rectangle(frame, cv::Rect(300, 200, 30, 30), cv::Scalar(255, 255, 255), cv::FILLED);  // 0.3%
  MotionResult r = motion.process(frame);
  EXPECT_FALSE(r.motion);
  EXPECT_TRUE(r.regions.empty());
  EXPECT_GT(r.changed_fraction, 0.0);  // the change is measured, just not reported as a region
}

TEST(MotionTest, SizeChangeRestartsWarmup) {
  MotionOptions options;
  options.warmup_frames = 2;
  MotionDetector motion(options);
  for (int i = 0; i < 5; ++i) motion.process(background(640, 480));
  EXPECT_FALSE(motion.process(background(640, 480)).motion);
  EXPECT_TRUE(motion.process(background(320, 240)).motion);  // new camera resolution
  EXPECT_TRUE(motion.process(background(320, 240)).motion);
  EXPECT_FALSE(motion.process(background(320, 240)).motion);
}

TEST(MotionTest, EmptyAndGrayImages) {
  MotionDetector motion;
  EXPECT_FALSE(motion.process(cv::Mat()).motion);
  cv::Mat gray;
  cv::cvtColor(background(320, 240), gray, cv::COLOR_BGR2GRAY);
  for (int i = 0; i < 10; ++i) motion.process(gray);
  EXPECT_FALSE(motion.process(gray).motion);
}

TEST(MotionTest, FindsMotionInVtestVideo) {
  ASSERT_TRUE(std::filesystem::exists(ARGUS_VTEST_AVI))
      << ARGUS_VTEST_AVI << " missing: run scripts/setup.sh (opencv-doc)";
  cv::VideoCapture cap(ARGUS_VTEST_AVI);
  ASSERT_TRUE(cap.isOpened());
  MotionDetector motion;
  cv::Mat frame;
  int frames = 0, with_motion = 0;
  while (frames < 60 && cap.read(frame)) {
    MotionResult r = motion.process(frame);
    ++frames;
    if (frames <= 5) continue;  // warm-up
    if (r.motion) ++with_motion;
    for (const Box& b : r.regions) {
      EXPECT_GE(b.x1, 0);
      EXPECT_LE(b.x2, 1);
      EXPECT_GE(b.y1, 0);
      EXPECT_LE(b.y2, 1);
      EXPECT_GT(b.area(), 0);
    }
    if (r.motion) {
      EXPECT_GT(r.changed_fraction, 0);
      EXPECT_LT(r.changed_fraction, 0.5);
    }
  }
  ASSERT_EQ(frames, 60);
  // People walk through the whole clip.
  EXPECT_GE(with_motion, 50);
}

}  // namespace
}  // namespace argus::vision
