#include "ingest_test_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

extern char** environ;

namespace argus::ingest::testutil {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, bool capture_stdout, bool quiet) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int pipe_fds[2] = {-1, -1};
  if (capture_stdout) {
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  } else if (quiet) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  }
  if (quiet) posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ) == 0) pid_ = pid;
  posix_spawn_file_actions_destroy(&actions);
  if (capture_stdout) {
    ::close(pipe_fds[1]);
    out_fd_ = pipe_fds[0];
  }
}

ChildProcess::~ChildProcess() {
  kill();
  if (out_fd_ >= 0) ::close(out_fd_);
}

void ChildProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {  // 2 s
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  int st = 0;
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
}

int ChildProcess::wait() {
  if (pid_ <= 0) return -1;
  int st = 0;
  if (::waitpid(pid_, &st, 0) != pid_) return -1;
  pid_ = -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::size_t nl = pending_.find('\n');
    if (nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || out_fd_ < 0) return std::nullopt;
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[512];
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

int run_command(const std::vector<std::string>& argv) {
  ChildProcess p(argv, false, true);
  return p.wait();
}

FrameSink FrameCollector::sink() {
  return [this](const vision::FramePtr& f) {
    {
      std::lock_guard lock(mu_);
      frames_[f->camera_id].push_back(f);
    }
    cv_.notify_all();
  };
}

std::vector<vision::FramePtr> FrameCollector::frames(const std::string& camera) const {
  std::lock_guard lock(mu_);
  auto it = frames_.find(camera);
  return it == frames_.end() ? std::vector<vision::FramePtr>{} : it->second;
}

std::size_t FrameCollector::count(const std::string& camera) const {
  std::lock_guard lock(mu_);
  auto it = frames_.find(camera);
  return it == frames_.end() ? 0 : it->second.size();
}

bool FrameCollector::wait_for(const std::string& camera, std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    auto it = frames_.find(camera);
    return it != frames_.end() && it->second.size() >= n;
  });
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

Camera make_camera(const std::string& id, SourceKind kind, const std::string& url, std::int64_t interval_ms) {
  Camera c;
  c.id = id;
  c.name = id;
  c.source.kind = kind;
  c.source.url = url;
  c.source.interval_ms = interval_ms;
  return c;
}

IngestOptions fast_options() {
  IngestOptions o;
  o.backoff_initial_ms = 50;
  o.backoff_max_ms = 400;
  o.read_timeout_ms = 2000;
  o.offline_after_ms = 1000;
  return o;
}

namespace {
cv::Mat test_image(int width, int height, int seed) {
  cv::Mat img(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>((x + seed) * 3), static_cast<uchar>(y * 2),
                                          static_cast<uchar>((x + y + seed * 7) % 256));
    }
  }
  cv::rectangle(img, cv::Rect(width / 4, height / 4, width / 3, height / 3), cv::Scalar(255, 255, 255), -1);
  return img;
}
}  // namespace

std::string test_jpeg(int width, int height, int seed) {
  std::vector<uchar> buf;
  cv::imencode(".jpg", test_image(width, height, seed), buf);
  return std::string(buf.begin(), buf.end());
}

std::string test_png(int width, int height) {
  std::vector<uchar> buf;
  cv::imencode(".png", test_image(width, height, 1), buf);
  return std::string(buf.begin(), buf.end());
}

std::string state_of(const CameraManager& m, const std::string& camera) {
  auto s = m.status(camera);
  return s ? std::string(source_state_name(s->state)) : std::string("absent");
}

}  // namespace argus::ingest::testutil
