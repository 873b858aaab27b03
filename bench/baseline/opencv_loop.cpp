// The baseline of the analyze benchmark: a plain OpenCV loop doing the same work per frame
// as `argus analyze` — decode, the same motion analysis (320 px gray, blur, MOG2, open,
// dilate, contours) and HOG at the same upscale — with nothing else: no tracking, zones,
// events, output, queues or threads.
//
// With --crops FILE (written by `argus analyze --trace-crops FILE`) the loop runs HOG on
// exactly the frames and regions that argus ran it on, so the time difference between
// `argus analyze --workers 1` and this loop is the pipeline's own overhead. Without it, HOG
// runs on the whole frame of every Nth frame (--every).
//
// Usage: opencv_loop VIDEO [--crops FILE] [--every N] [--upscale F] [--max-frames N] [--json-out FILE]
// The result (JSON) goes to stdout, or to --json-out.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <opencv2/video.hpp>
#include <opencv2/videoio.hpp>

namespace {

// frame -> crops (empty = whole frame)
std::map<long, std::vector<cv::Rect>> read_crops(const char* path) {
  std::map<long, std::vector<cv::Rect>> out;
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path);
    std::exit(1);
  }
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    long frame = 0;
    if (!(fields >> frame)) continue;
    auto& crops = out[frame];
    int x, y, w, h;
    while (fields >> x >> y >> w >> h) crops.emplace_back(x, y, w, h);
  }
  return out;
}

long hog_people(cv::HOGDescriptor& hog, const cv::Mat& bgr, double upscale) {
  cv::Mat gray, big, padded;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  const cv::Mat* src = &gray;
  if (upscale != 1.0) {
    cv::resize(gray, big, cv::Size(), upscale, upscale, upscale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    src = &big;
  }
  const int pad_x = std::max(0, hog.winSize.width - src->cols), pad_y = std::max(0, hog.winSize.height - src->rows);
  if (pad_x > 0 || pad_y > 0) {
    cv::copyMakeBorder(*src, padded, pad_y / 2, pad_y - pad_y / 2, pad_x / 2, pad_x - pad_x / 2, cv::BORDER_REPLICATE);
    src = &padded;
  }
  std::vector<cv::Rect> found;
  std::vector<double> weights;
  hog.detectMultiScale(*src, found, weights, 0, cv::Size(8, 8), cv::Size(), 1.05, 2.0, false);
  return static_cast<long>(found.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: opencv_loop VIDEO [--crops FILE] [--every N] [--upscale F] [--max-frames N] [--json-out FILE]\n");
    return 2;
  }
  int every = 2;
  double upscale = 1.6;
  long max_frames = 0;
  const char* crops_file = nullptr;
  const char* json_out = nullptr;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--every") == 0) every = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--upscale") == 0) upscale = std::atof(argv[i + 1]);
    if (std::strcmp(argv[i], "--max-frames") == 0) max_frames = std::atol(argv[i + 1]);
    if (std::strcmp(argv[i], "--crops") == 0) crops_file = argv[i + 1];
    if (std::strcmp(argv[i], "--json-out") == 0) json_out = argv[i + 1];
  }
  std::map<long, std::vector<cv::Rect>> plan;
  if (crops_file != nullptr) plan = read_crops(crops_file);
  cv::setNumThreads(1);
  cv::VideoCapture cap(argv[1], cv::CAP_FFMPEG);
  if (!cap.isOpened()) {
    std::fprintf(stderr, "cannot open %s\n", argv[1]);
    return 1;
  }
  auto mog = cv::createBackgroundSubtractorMOG2(300, 25, false);
  cv::HOGDescriptor hog;
  hog.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
  const cv::Mat open_kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(3, 3));
  const cv::Mat dilate_kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(7, 7));
  cv::Mat frame, gray, small, mask, grouped;
  long n = 0, people = 0, detector_runs = 0, regions = 0;
  auto start = std::chrono::steady_clock::now();
  while ((max_frames == 0 || n < max_frames) && cap.read(frame)) {
    cv::cvtColor(frame, gray, cv::COLOR_BGR2GRAY);
    cv::resize(gray, small, cv::Size(320, static_cast<int>(std::lround(gray.rows * 320.0 / gray.cols))), 0, 0,
               cv::INTER_AREA);
    cv::GaussianBlur(small, small, cv::Size(5, 5), 0);
    mog->apply(small, mask);
    cv::morphologyEx(mask, mask, cv::MORPH_OPEN, open_kernel);
    if (cv::countNonZero(mask) > 0) {
      cv::dilate(mask, grouped, dilate_kernel);
      std::vector<std::vector<cv::Point>> contours;
      cv::findContours(grouped, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
      regions += static_cast<long>(contours.size());
    }
    const cv::Rect whole(0, 0, frame.cols, frame.rows);
    if (crops_file != nullptr) {
      auto it = plan.find(n);
      if (it != plan.end()) {
        ++detector_runs;
        if (it->second.empty()) people += hog_people(hog, frame, upscale);
        for (const auto& c : it->second) {
          cv::Rect area = c & whole;
          if (!area.empty()) people += hog_people(hog, frame(area), upscale);
        }
      }
    } else if (n % every == 0) {
      ++detector_runs;
      people += hog_people(hog, frame, upscale);
    }
    ++n;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  FILE* out = json_out != nullptr ? std::fopen(json_out, "w") : stdout;
  if (out == nullptr) {
    std::fprintf(stderr, "cannot write %s\n", json_out);
    return 1;
  }
  std::fprintf(
      out,
      "{\"frames\": %ld, \"seconds\": %.3f, \"frames_per_second\": %.2f, \"detector_runs\": %ld, "
      "\"detections\": %ld, \"motion_regions\": %ld}\n",
      n, secs, secs > 0 ? n / secs : 0, detector_runs, people, regions);
  if (out != stdout) std::fclose(out);
  return 0;
}
