#include "vision/detector.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "testing/testing.h"

namespace argus::vision {
namespace {

const std::string kModelDir = ARGUS_VISION_TEST_MODEL_DIR;
const std::string kLabels = std::string(ARGUS_VISION_TEST_DATA_DIR) + "/test_labels.txt";

// Frame `index` (from 0) of OpenCV's sample video: people walking across a campus road,
// seen from above, 768x576.
cv::Mat vtest_frame(int index) {
  cv::VideoCapture cap(ARGUS_VTEST_AVI);
  cv::Mat frame;
  if (!cap.isOpened()) return frame;
  for (int i = 0; i <= index; ++i) {
    if (!cap.read(frame)) return cv::Mat();
  }
  return frame;
}

std::string describe(const std::vector<Detection>& dets) {
  std::string s;
  for (const auto& d : dets) {
    s += d.label + " " + std::to_string(d.score) + " [" + std::to_string(d.box.x1) + ", " + std::to_string(d.box.y1) +
         ", " + std::to_string(d.box.x2) + ", " + std::to_string(d.box.y2) + "]\n";
  }
  return s;
}

// --- factory ---------------------------------------------------------------------

TEST(DetectorFactoryTest, UnknownKindListsTheKnownOnes) {
  DetectorConfig config;
  config.kind = "yolo9000";
  auto r = make_detector(config);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  for (const char* kind : {"yolo9000", "hog", "onnx", "remote"}) {
    EXPECT_NE(r.status().message().find(kind), std::string::npos) << r.status().message();
  }
}

TEST(DetectorFactoryTest, RejectsBadHogSettings) {
  auto bad = [](auto mutate) {
    DetectorConfig c;
    mutate(c);
    auto r = make_detector(c);
    return !r.ok() && r.status().code() == StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(bad([](DetectorConfig& c) { c.hog_stride = 5; }));
  EXPECT_TRUE(bad([](DetectorConfig& c) { c.hog_stride = 0; }));
  EXPECT_TRUE(bad([](DetectorConfig& c) { c.hog_scale = 1.0; }));
  EXPECT_TRUE(bad([](DetectorConfig& c) { c.hog_upscale = 10; }));
  EXPECT_TRUE(bad([](DetectorConfig& c) { c.hog_upscale = 0; }));
  EXPECT_TRUE(bad([](DetectorConfig& c) { c.hog_model = "inria"; }));
  EXPECT_TRUE(bad([](DetectorConfig& c) { c.min_score = 1.5f; }));
  EXPECT_TRUE(bad([](DetectorConfig& c) { c.nms_threshold = -0.1f; }));
  EXPECT_FALSE(bad([](DetectorConfig&) {}));
  EXPECT_FALSE(bad([](DetectorConfig& c) { c.hog_model = "daimler"; }));
  EXPECT_FALSE(bad([](DetectorConfig& c) { c.hog_upscale = 2; }));
}

// --- non-maximum suppression ---------------------------------------------------------

TEST(NonMaxSuppressionTest, KeepsBestOfOverlappingSameLabel) {
  std::vector<Detection> in = {
      {"person", 0.6f, {0.10, 0.10, 0.30, 0.50}},
      {"person", 0.9f, {0.11, 0.10, 0.31, 0.50}},  // IoU ~0.9 with the first
      {"person", 0.7f, {0.60, 0.60, 0.80, 0.90}},  // elsewhere
  };
  auto out = non_max_suppression(in, 0.45);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], in[1]);  // best first
  EXPECT_EQ(out[1], in[2]);
}

TEST(NonMaxSuppressionTest, IsPerLabel) {
  std::vector<Detection> in = {
      {"person", 0.9f, {0.1, 0.1, 0.3, 0.5}}, {"car", 0.8f, {0.1, 0.1, 0.3, 0.5}},  // same box, other label
  };
  auto out = non_max_suppression(in, 0.45);
  EXPECT_EQ(out, in);
}

TEST(NonMaxSuppressionTest, ThresholdIsInclusive) {
  // IoU of these two is exactly 1/3.
  Detection a{"person", 0.9f, {0.0, 0.0, 0.50, 1.0}};
  Detection b{"person", 0.8f, {0.25, 0.0, 0.75, 1.0}};
  ASSERT_DOUBLE_EQ(iou(a.box, b.box), 1.0 / 3.0);
  EXPECT_EQ(non_max_suppression({a, b}, 0.34).size(), 2u);
  EXPECT_EQ(non_max_suppression({a, b}, 0.30).size(), 1u);
}

TEST(NonMaxSuppressionTest, ChainsAreJudgedAgainstKeptBoxesOnly) {
  // b overlaps a (suppressed); c overlaps b but not a, so c is kept.
  Detection a{"x", 0.9f, {0.0, 0.0, 0.4, 1.0}};
  Detection b{"x", 0.8f, {0.1, 0.0, 0.5, 1.0}};
  Detection c{"x", 0.7f, {0.3, 0.0, 0.7, 1.0}};
  auto out = non_max_suppression({c, b, a}, 0.45);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], a);
  EXPECT_EQ(out[1], c);
}

TEST(NonMaxSuppressionTest, EmptyInput) { EXPECT_TRUE(non_max_suppression({}, 0.5).empty()); }

TEST(CocoLabelsTest, EightyInYoloOrder) {
  const auto& labels = coco_labels();
  ASSERT_EQ(labels.size(), 80u);
  EXPECT_EQ(labels[0], "person");
  EXPECT_EQ(labels[2], "car");
  EXPECT_EQ(labels[7], "truck");
  EXPECT_EQ(labels[16], "dog");
  EXPECT_EQ(labels[79], "toothbrush");
}

// --- hog -------------------------------------------------------------------------

class HogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = make_detector(DetectorConfig{});
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    detector_ = std::move(d).value();
    EXPECT_EQ(detector_->name(), "hog");
  }
  std::unique_ptr<Detector> detector_;
};

TEST_F(HogTest, FindsPeopleInVtest) {
  ASSERT_TRUE(std::filesystem::exists(ARGUS_VTEST_AVI))
      << ARGUS_VTEST_AVI << " missing: run scripts/setup.sh (opencv-doc)";
  cv::Mat frame = vtest_frame(100);
  ASSERT_FALSE(frame.empty());
  ASSERT_EQ(frame.size(), cv::Size(768, 576));
  auto t0 = std::chrono::steady_clock::now();
  auto r = detector_->detect(frame);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  std::cout << "hog on 768x576: " << ms << " ms, " << r->size() << " people\n" << describe(*r);
  ASSERT_GE(r->size(), 1u);
  for (const auto& d : *r) {
    EXPECT_EQ(d.label, "person");
    EXPECT_GE(d.score, 0.3f);
    EXPECT_LE(d.score, 1.0f);
    // People in this scene are 10%..25% of the frame tall (a pair walking together may
    // make one box); boxes are taller than wide.
    EXPECT_GT(d.box.height(), 0.08) << describe({d});
    EXPECT_LT(d.box.height(), 0.4) << describe({d});
    EXPECT_GT(d.box.height(), d.box.width() * 1.5 * 576 / 768) << describe({d});
  }
}

TEST_F(HogTest, FindsNothingOnABlankImage) {
  auto r = detector_->detect(cv::Mat(576, 768, CV_8UC3, cv::Scalar(128, 128, 128)));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->empty()) << describe(*r);
}

TEST_F(HogTest, TinyAndEmptyImages) {
  auto tiny = detector_->detect(cv::Mat(32, 16, CV_8UC3, cv::Scalar(0, 0, 0)));
  ASSERT_TRUE(tiny.ok()) << tiny.status().to_string();  // padded to the window: no person
  EXPECT_TRUE(tiny->empty());
  auto empty = detector_->detect(cv::Mat());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
}

TEST(HogModelsTest, DaimlerAndUpscaleFindSmallPeople) {
  cv::Mat frame = vtest_frame(100);
  ASSERT_FALSE(frame.empty());
  std::size_t found[3] = {0, 0, 0};
  const char* models[3] = {"default", "default", "daimler"};
  const double upscales[3] = {1.0, 1.6, 1.0};
  for (int i = 0; i < 3; ++i) {
    DetectorConfig config;
    config.hog_model = models[i];
    config.hog_upscale = upscales[i];
    auto d = make_detector(config);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    auto r = (*d)->detect(frame);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    found[i] = r->size();
    for (const auto& det : *r) {
      EXPECT_EQ(det.label, "person");
      EXPECT_GE(det.box.x1, 0.0);
      EXPECT_LE(det.box.x2, 1.0);
    }
  }
  // People here are ~70-80 px tall: the 64x128 window needs the image enlarged, the
  // 48x96 Daimler window fits them as they are.
  EXPECT_GT(found[1], found[0]);
  EXPECT_GE(found[2], 2u);
}

TEST(HogModelsTest, SmallCropIsPaddedToTheWindow) {
  DetectorConfig config;
  auto d = make_detector(config);
  ASSERT_TRUE(d.ok());
  auto r = (*d)->detect(cv::Mat(40, 20, CV_8UC3, cv::Scalar(90, 90, 90)));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->empty());
}

// --- onnx --------------------------------------------------------------------------

DetectorConfig onnx_config(const std::string& model, const std::string& labels = kLabels) {
  DetectorConfig c;
  c.kind = "onnx";
  c.model_path = kModelDir + "/" + model;
  c.labels_path = labels;
  c.input_width = 64;
  c.input_height = 64;
  c.min_score = 0.3f;
  c.nms_threshold = 0.45f;
  return c;
}

// The test image is 128x64: letterboxed into 64x64 at scale 0.5 with 16 px of padding
// above and below. The models' outputs are fixed (tests/vision/make_test_model.py), so
// the boxes map back to these exact normalized coordinates:
//   A  (cx 32, cy 32, w 16, h 16) -> image x 48..80,  y 16..48  -> [0.375, 0.25, 0.625, 0.75]
//   B  (cx 8,  cy 24, w 8,  h 16) -> image x 8..24,   y 0..32   -> [0.0625, 0, 0.1875, 0.5]
//   C  (cx 60, cy 20, w 16, h 16) -> image x 104..136, y -8..24 -> clamped [0.8125, 0, 1, 0.375]
const Box kA{0.375, 0.25, 0.625, 0.75};
const Box kB{0.0625, 0.0, 0.1875, 0.5};
const Box kC{0.8125, 0.0, 1.0, 0.375};

cv::Mat onnx_test_image() { return cv::Mat(64, 128, CV_8UC3, cv::Scalar(30, 90, 200)); }

TEST(OnnxDetectorTest, DecodesYolov8Output) {
  auto d = make_detector(onnx_config("yolov8_test.onnx"));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ((*d)->name(), "onnx");
  auto r = (*d)->detect(onnx_test_image());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  // The 1-px-shifted duplicate of A (person 0.75) is suppressed; A as "car" is another
  // label and stays; the 0.25 candidate is under min_score.
  const std::vector<Detection> want = {
      {"person", 0.875f, kA},
      {"car", 0.625f, kA},
      {"car", 0.5625f, kC},
      {"dog", 0.5f, kB},
  };
  EXPECT_EQ(*r, want) << describe(*r);
}

TEST(OnnxDetectorTest, DecodesYolov5Output) {
  auto d = make_detector(onnx_config("yolov5_test.onnx"));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  auto r = (*d)->detect(onnx_test_image());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  // score = objectness x best class score; 0.25 objectness and 0.9 x 0.25 are dropped.
  const std::vector<Detection> want = {
      {"person", 0.875f, kA},
      {"dog", 0.375f, kB},
  };
  EXPECT_EQ(*r, want) << describe(*r);
}

TEST(OnnxDetectorTest, MinScoreAndNmsThresholdApply) {
  DetectorConfig c = onnx_config("yolov8_test.onnx");
  c.min_score = 0.6f;
  c.nms_threshold = 0.95f;  // the shifted duplicate (IoU 0.88) now survives
  auto d = make_detector(c);
  ASSERT_TRUE(d.ok());
  auto r = (*d)->detect(onnx_test_image());
  ASSERT_TRUE(r.ok());
  const std::vector<Detection> want = {
      {"person", 0.875f, kA},
      {"person", 0.75f, {0.390625, 0.25, 0.640625, 0.75}},
      {"car", 0.625f, kA},
  };
  EXPECT_EQ(*r, want) << describe(*r);
}

TEST(OnnxDetectorTest, RepeatedCallsGiveTheSameAnswer) {
  auto d = make_detector(onnx_config("yolov8_test.onnx"));
  ASSERT_TRUE(d.ok());
  auto first = (*d)->detect(onnx_test_image());
  auto second = (*d)->detect(cv::Mat(64, 128, CV_8UC3, cv::Scalar(255, 255, 255)));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
}

TEST(OnnxDetectorTest, CocoLabelsByDefaultMismatchTheThreeClassModel) {
  // Without labels_path the detector expects 80 classes: [1, 84, N] or [1, N, 85].
  auto d = make_detector(onnx_config("yolov8_test.onnx", ""));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  auto r = (*d)->detect(onnx_test_image());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("[1, 7, 6]"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("84"), std::string::npos) << r.status().message();
}

TEST(OnnxDetectorTest, WrongOutputShapeIsInvalidArgumentFromDetect) {
  auto d = make_detector(onnx_config("bad_shape_test.onnx"));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  auto r = (*d)->detect(onnx_test_image());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("[1, 5, 6]"), std::string::npos) << r.status().message();
}

TEST(OnnxDetectorTest, WrongInputSizeIsAStatusNotACrash) {
  DetectorConfig c = onnx_config("yolov8_test.onnx");
  c.input_width = 96;  // the model is built for 64x64; pooling makes it accept any size
  auto d = make_detector(c);
  ASSERT_TRUE(d.ok());
  auto r = (*d)->detect(onnx_test_image());
  // Either the model copes or detect() reports it; it must not throw.
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(OnnxDetectorTest, MissingModelIsNotFoundNamingThePath) {
  DetectorConfig c = onnx_config("no_such_model.onnx");
  auto r = make_detector(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(c.model_path), std::string::npos) << r.status().message();
}

TEST(OnnxDetectorTest, EmptyModelPathIsInvalid) {
  DetectorConfig c;
  c.kind = "onnx";
  EXPECT_EQ(make_detector(c).status().code(), StatusCode::kInvalidArgument);
}

TEST(OnnxDetectorTest, GarbageModelIsInvalidArgument) {
  argus::testing::TempDir dir;
  DetectorConfig c = onnx_config("unused");
  c.model_path = dir.file("garbage.onnx");
  std::string garbage;
  cv::RNG rng(5);
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>(rng.uniform(0, 256)));
  argus::testing::write_file(c.model_path, garbage);
  auto r = make_detector(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(c.model_path), std::string::npos) << r.status().message();
  EXPECT_LT(r.status().message().size(), 400u) << r.status().message();

  argus::testing::write_file(c.model_path, "");
  EXPECT_EQ(make_detector(c).status().code(), StatusCode::kInvalidArgument);
}

TEST(OnnxDetectorTest, LabelFileProblems) {
  argus::testing::TempDir dir;
  DetectorConfig c = onnx_config("yolov8_test.onnx", dir.file("missing.txt"));
  auto missing = make_detector(c);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("missing.txt"), std::string::npos);

  c.labels_path = dir.file("blank.txt");
  argus::testing::write_file(c.labels_path, "\n  \n\n");
  EXPECT_EQ(make_detector(c).status().code(), StatusCode::kInvalidArgument);

  // CRLF line ends and surrounding spaces are trimmed, blank lines skipped.
  c.labels_path = dir.file("crlf.txt");
  argus::testing::write_file(c.labels_path, " person \r\n\r\ncar\r\ndog\r\n");
  auto d = make_detector(c);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  auto r = (*d)->detect(onnx_test_image());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].label, "person");
  EXPECT_EQ((*r)[3].label, "dog");
}

}  // namespace
}  // namespace argus::vision
