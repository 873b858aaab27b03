// The baseline of the analyze benchmark: a plain OpenCV loop doing the same work per
// frame as `argus analyze` with the same settings — decode, MOG2 motion on a 320 px gray
// image, and HOG at the same upscale on the detection frames — with nothing else (no
// crops, tracking, zones, events or output). Comparing the two shows the pipeline's
// overhead beyond decode and detection.
//
// Usage: opencv_loop VIDEO [--every N] [--upscale F] [--max-frames N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <opencv2/video.hpp>
#include <opencv2/videoio.hpp>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: opencv_loop VIDEO [--every N] [--upscale F] [--max-frames N]\n");
    return 2;
  }
  int every = 2;
  double upscale = 1.6;
  long max_frames = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--every") == 0) every = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--upscale") == 0) upscale = std::atof(argv[i + 1]);
    if (std::strcmp(argv[i], "--max-frames") == 0) max_frames = std::atol(argv[i + 1]);
  }
  cv::setNumThreads(1);
  cv::VideoCapture cap(argv[1], cv::CAP_FFMPEG);
  if (!cap.isOpened()) {
    std::fprintf(stderr, "cannot open %s\n", argv[1]);
    return 1;
  }
  auto mog = cv::createBackgroundSubtractorMOG2(300, 25, false);
  cv::HOGDescriptor hog;
  hog.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
  cv::Mat frame, small, gray, mask, big;
  long n = 0, people = 0;
  auto start = std::chrono::steady_clock::now();
  while ((max_frames == 0 || n < max_frames) && cap.read(frame)) {
    cv::resize(frame, small, cv::Size(320, frame.rows * 320 / frame.cols), 0, 0, cv::INTER_AREA);
    cv::cvtColor(small, gray, cv::COLOR_BGR2GRAY);
    mog->apply(gray, mask);
    if (n % every == 0) {
      cv::cvtColor(frame, gray, cv::COLOR_BGR2GRAY);
      cv::resize(gray, big, cv::Size(), upscale, upscale, cv::INTER_LINEAR);
      std::vector<cv::Rect> found;
      std::vector<double> weights;
      hog.detectMultiScale(big, found, weights, 0, cv::Size(8, 8), cv::Size(), 1.05, 2.0, false);
      people += static_cast<long>(found.size());
    }
    ++n;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"frames\": %ld, \"seconds\": %.3f, \"frames_per_second\": %.2f, \"detections\": %ld}\n", n, secs,
              secs > 0 ? n / secs : 0, people);
  return 0;
}
