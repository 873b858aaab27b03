// Remote detector against a real HTTP server on loopback (fake_deepstack.py).
#include "vision/remote_detector.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "testing/testing.h"

extern char** environ;

namespace argus::vision {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// The fake server script sits next to this file; ARGUS_VISION_TEST_DATA_DIR is tests/vision/data.
std::string fake_server_script() {
  return (std::filesystem::path(ARGUS_VISION_TEST_DATA_DIR).parent_path() / "fake_deepstack.py").string();
}

std::size_t append_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// fake_deepstack.py in a child process: it binds a free loopback port and prints it; it
// exits when we close its stdin (or if this process dies).
class FakeDeepstack {
 public:
  FakeDeepstack() {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    std::string python = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    std::string script = fake_server_script();
    char* argv[] = {python.data(), script.data(), nullptr};
    int rc = posix_spawnp(&pid_, python.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    if (rc != 0) {
      pid_ = -1;
      close(out[0]);
      return;
    }
    // Read "PORT <n>\n", waiting at most 10 s.
    std::string line;
    auto deadline = SteadyClock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos && SteadyClock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[64];
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    close(out[0]);
    if (line.rfind("PORT ", 0) == 0) port_ = std::stoi(line.substr(5));
  }

  ~FakeDeepstack() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

  bool running() const { return port_ > 0; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& path) const { return base() + path; }
  int port() const { return port_; }

  // POSTs the server received for exactly this path (with query).
  int count(const std::string& path) const {
    std::string body;
    CURL* c = curl_easy_init();
    std::string stats = url("/_stats");
    curl_easy_setopt(c, CURLOPT_URL, stats.c_str());
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) return -1;
    auto doc = nlohmann::json::parse(body, nullptr, false);
    if (!doc.is_object()) return -1;
    auto it = doc.find(path);
    return it == doc.end() ? 0 : it->get<int>();
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int port_ = 0;
};

class RemoteDetectorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new FakeDeepstack(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->running()) << "fake_deepstack.py did not start"; }

  static DetectorConfig config(const std::string& path) {
    DetectorConfig c;
    c.kind = "remote";
    c.url = server_->url(path);
    c.min_score = 0.3f;
    c.timeout_ms = 2000;
    c.retries = 0;
    c.retry_backoff_ms = 10;
    c.breaker_failures = 100;
    c.breaker_open_ms = 1000;
    return c;
  }

  static std::unique_ptr<Detector> make(const DetectorConfig& c) {
    auto d = make_remote_detector(c);
    EXPECT_TRUE(d.ok()) << d.status().to_string();
    return d.ok() ? std::move(d).value() : nullptr;
  }

  static cv::Mat image(int w = 640, int h = 480) {
    cv::Mat m(h, w, CV_8UC3);
    cv::randu(m, cv::Scalar::all(0), cv::Scalar::all(255));
    return m;
  }

  static FakeDeepstack* server_;
};

FakeDeepstack* RemoteDetectorTest::server_ = nullptr;

void expect_box(const Box& b, double x1, double y1, double x2, double y2) {
  EXPECT_NEAR(b.x1, x1, 1e-6);
  EXPECT_NEAR(b.y1, y1, 1e-6);
  EXPECT_NEAR(b.x2, x2, 1e-6);
  EXPECT_NEAR(b.y2, y2, 1e-6);
}

TEST_F(RemoteDetectorTest, ParsesPredictionsIntoNormalizedBoxes) {
  auto d = make(config("/ok"));
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->name(), "remote");
  for (auto [w, h] : {std::pair{640, 480}, std::pair{320, 200}}) {
    auto r = d->detect(image(w, h));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0].label, "person");
    EXPECT_FLOAT_EQ((*r)[0].score, 0.9f);
    expect_box((*r)[0].box, 0.1, 0.1, 0.5, 0.5);
    EXPECT_EQ((*r)[1].label, "car");
    expect_box((*r)[1].box, 0.5, 0.5, 1.0, 1.0);
    // The server read the size from the posted JPEG's header: the multipart body held the
    // image we gave, at its size.
    EXPECT_EQ((*r)[2].label, "frame");
    expect_box((*r)[2].box, 0, 0, 1, 1);
  }
  EXPECT_EQ(server_->count("/ok"), 2);
}

TEST_F(RemoteDetectorTest, SendsMinConfidenceAndAcceptsGrayImages) {
  auto c = config("/ok?t=gray");
  c.min_score = 0.8f;  // the server filters by the posted min_confidence
  auto d = make(c);
  ASSERT_NE(d, nullptr);
  cv::Mat gray(100, 200, CV_8UC1, cv::Scalar(128));
  auto r = d->detect(gray);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].label, "person");
}

TEST_F(RemoteDetectorTest, ServerRejectsARequestWithoutAJpeg) {
  // Sanity check of the fake: a form without a JPEG is refused, so the successes above
  // really carried the image.
  std::string body;
  CURL* c = curl_easy_init();
  std::string u = server_->url("/ok?t=nojpeg");
  curl_mime* form = curl_mime_init(c);
  curl_mimepart* part = curl_mime_addpart(form);
  curl_mime_name(part, "image");
  curl_mime_data(part, "not a jpeg", CURL_ZERO_TERMINATED);
  curl_easy_setopt(c, CURLOPT_URL, u.c_str());
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_MIMEPOST, form);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  ASSERT_EQ(curl_easy_perform(c), CURLE_OK);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_mime_free(form);
  curl_easy_cleanup(c);
  EXPECT_EQ(code, 400);
  EXPECT_NE(body.find("not a JPEG"), std::string::npos) << body;
}

TEST_F(RemoteDetectorTest, DropsUnusablePredictionsAndClampsNearlyInsideOnes) {
  auto d = make(config("/messy"));
  ASSERT_NE(d, nullptr);
  auto r = d->detect(image(400, 300));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 2u);
  expect_box((*r)[0].box, 0, 0, 0.5, 0.5);
  expect_box((*r)[1].box, 0, 0, 1, 1);  // -1..w+1 is within the tolerance: clamped
  for (const auto& det : *r) {
    EXPECT_GE(det.score, 0.3f);
    EXPECT_LE(det.score, 1.0f);
  }
}

TEST_F(RemoteDetectorTest, EmptyPredictionsAreSuccess) {
  auto d = make(config("/empty"));
  ASSERT_NE(d, nullptr);
  auto r = d->detect(image());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->empty());
}

TEST_F(RemoteDetectorTest, GarbageAnswersAreErrorsAndNotRetried) {
  struct Case {
    std::string path;
    std::string expected;
  };
  for (const Case& c : {Case{"/garbage", "not a JSON object"}, Case{"/missing-field", "predictions[0].x_min"},
                        Case{"/success-false", "Unable to load the model"}}) {
    auto cfg = config(c.path);
    cfg.retries = 2;
    auto d = make(cfg);
    ASSERT_NE(d, nullptr);
    auto r = d->detect(image());
    ASSERT_FALSE(r.ok()) << c.path;
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << c.path;
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos) << r.status().message();
    EXPECT_EQ(server_->count(c.path), 1) << c.path;
  }
}

TEST_F(RemoteDetectorTest, OversizedAnswerIsAnError) {
  auto d = make(config("/big"));
  ASSERT_NE(d, nullptr);
  auto r = d->detect(image());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("larger than"), std::string::npos) << r.status().message();
}

TEST_F(RemoteDetectorTest, HangingServerTimesOut) {
  auto c = config("/hang");
  c.timeout_ms = 300;
  auto d = make(c);
  ASSERT_NE(d, nullptr);
  auto start = SteadyClock::now();
  auto r = d->detect(image());
  auto elapsed = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("timed out after 300 ms"), std::string::npos) << r.status().message();
  EXPECT_GE(elapsed, 250);
  EXPECT_LT(elapsed, 300 + 700);
}

TEST_F(RemoteDetectorTest, ServerErrorsAreRetriedWithBackoff) {
  auto c = config("/500?t=retry");
  c.retries = 2;
  c.retry_backoff_ms = 40;
  auto d = make(c);
  ASSERT_NE(d, nullptr);
  auto start = SteadyClock::now();
  auto r = d->detect(image());
  auto elapsed = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("HTTP 500: model crashed"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("after 3 attempts"), std::string::npos) << r.status().message();
  EXPECT_EQ(server_->count("/500?t=retry"), 3);
  // Backoff 40 ms then 80 ms, each with jitter in [50 %, 100 %]: at least 60 ms in total.
  EXPECT_GE(elapsed, 60);
}

TEST_F(RemoteDetectorTest, RetrySucceedsWhenTheServerRecovers) {
  auto c = config("/fail-then-ok?fails=2&t=recover");
  c.retries = 2;
  auto d = make(c);
  ASSERT_NE(d, nullptr);
  auto r = d->detect(image());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->size(), 3u);
  EXPECT_EQ(server_->count("/fail-then-ok?fails=2&t=recover"), 3);
}

TEST_F(RemoteDetectorTest, ClientErrorsAreNotRetried) {
  auto c = config("/no-such-endpoint");
  c.retries = 2;
  auto d = make(c);
  ASSERT_NE(d, nullptr);
  auto r = d->detect(image());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("HTTP 404"), std::string::npos) << r.status().message();
  EXPECT_EQ(server_->count("/no-such-endpoint"), 1);
}

TEST_F(RemoteDetectorTest, RedirectsAreNotFollowed) {
  auto c = config("/redirect");
  c.retries = 2;
  auto d = make(c);
  ASSERT_NE(d, nullptr);
  int ok_before = server_->count("/ok");
  auto r = d->detect(image());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("redirect"), std::string::npos) << r.status().message();
  EXPECT_EQ(server_->count("/redirect"), 1);
  EXPECT_EQ(server_->count("/ok"), ok_before);
}

TEST_F(RemoteDetectorTest, BreakerOpensAfterConsecutiveFailuresAndFailsFast) {
  const std::string path = "/500?t=breaker";
  auto c = config(path);
  c.breaker_failures = 3;
  c.breaker_open_ms = 5000;
  auto d = make(c);
  ASSERT_NE(d, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto r = d->detect(image());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message().find("circuit open"), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(server_->count(path), 3);
  auto start = SteadyClock::now();
  auto r = d->detect(image());
  auto elapsed = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message().rfind("remote detector circuit open", 0), 0u) << r.status().message();
  EXPECT_NE(r.status().message().find("model crashed"), std::string::npos) << r.status().message();
  EXPECT_LT(elapsed, 100);
  EXPECT_EQ(server_->count(path), 3);  // no request reached the server
}

TEST_F(RemoteDetectorTest, BreakerClosesAfterASuccessfulTrial) {
  const std::string path = "/fail-then-ok?fails=2&t=close";
  auto c = config(path);
  c.breaker_failures = 2;
  c.breaker_open_ms = 300;
  auto d = make(c);
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->detect(image()).ok());
  EXPECT_FALSE(d->detect(image()).ok());
  auto open = d->detect(image());
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("circuit open"), std::string::npos) << open.status().message();
  EXPECT_EQ(server_->count(path), 2);

  std::this_thread::sleep_for(milliseconds(350));
  auto trial = d->detect(image());
  ASSERT_TRUE(trial.ok()) << trial.status().to_string();
  EXPECT_EQ(server_->count(path), 3);
  auto after = d->detect(image());
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  EXPECT_EQ(server_->count(path), 4);
}

TEST_F(RemoteDetectorTest, FailedTrialReopensTheBreakerWithoutRetries) {
  const std::string path = "/500?t=reopen";
  auto c = config(path);
  c.retries = 2;
  c.breaker_failures = 1;
  c.breaker_open_ms = 200;
  auto d = make(c);
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->detect(image()).ok());
  EXPECT_EQ(server_->count(path), 3);  // one call: first attempt + 2 retries
  EXPECT_FALSE(d->detect(image()).ok());
  EXPECT_EQ(server_->count(path), 3);

  std::this_thread::sleep_for(milliseconds(250));
  auto trial = d->detect(image());
  ASSERT_FALSE(trial.ok());
  EXPECT_EQ(trial.status().message().find("circuit open"), std::string::npos) << trial.status().message();
  EXPECT_EQ(server_->count(path), 4);  // the half-open trial is a single request
  auto again = d->detect(image());
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("circuit open"), std::string::npos) << again.status().message();
  EXPECT_EQ(server_->count(path), 4);
}

TEST_F(RemoteDetectorTest, UnreachableServerIsUnavailable) {
  DetectorConfig c = config("/");
  c.url = "http://127.0.0.1:" + std::to_string(argus::testing::free_port()) + "/v1/vision/detection";
  c.retries = 1;
  auto d = make(c);
  ASSERT_NE(d, nullptr);
  auto r = d->detect(image());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("unreachable"), std::string::npos) << r.status().message();
}

TEST_F(RemoteDetectorTest, MessagesNeverContainUrlCredentials) {
  for (const std::string& base : {"http://alice:s3cret@127.0.0.1:" + std::to_string(server_->port()),
                                  "http://alice:s3cret@127.0.0.1:" + std::to_string(argus::testing::free_port())}) {
    DetectorConfig c = config("/");
    c.url = base + "/500?t=creds";
    c.breaker_failures = 1;
    auto d = make(c);
    ASSERT_NE(d, nullptr);
    auto first = d->detect(image());
    auto fast = d->detect(image());
    for (const auto& s : {first.status(), fast.status()}) {
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(s.message().find("s3cret"), std::string::npos) << s.message();
      EXPECT_EQ(s.message().find("alice"), std::string::npos) << s.message();
      EXPECT_NE(s.message().find("http://***@127.0.0.1:"), std::string::npos) << s.message();
    }
  }
  DetectorConfig bad;
  bad.url = "ftp://alice:s3cret@example.com/x";
  auto r = make_remote_detector(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("s3cret"), std::string::npos) << r.status().message();
}

TEST_F(RemoteDetectorTest, EmptyImageIsInvalidWithoutARequest) {
  auto d = make(config("/ok?t=empty-image"));
  ASSERT_NE(d, nullptr);
  auto r = d->detect(cv::Mat());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(server_->count("/ok?t=empty-image"), 0);
}

TEST(RemoteDetectorConfigTest, RejectsNonHttpUrlsAndBadSettings) {
  for (const char* url : {"", "ftp://example.com/detect", "file:///etc/passwd", "gopher://x/",
                          "localhost:5000/v1/vision/detection", "http://", "not a url"}) {
    DetectorConfig c;
    c.url = url;
    auto r = make_remote_detector(c);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << url;
  }
  for (const char* url : {"http://127.0.0.1:5000/v1/vision/detection", "HTTPS://detector.local/v1"}) {
    DetectorConfig c;
    c.url = url;
    EXPECT_TRUE(make_remote_detector(c).ok()) << url;
  }
  DetectorConfig c;
  c.url = "http://127.0.0.1:5000/v1/vision/detection";
  c.timeout_ms = 0;
  EXPECT_EQ(make_remote_detector(c).status().code(), StatusCode::kInvalidArgument);
  c.timeout_ms = 1000;
  c.retries = -1;
  EXPECT_EQ(make_remote_detector(c).status().code(), StatusCode::kInvalidArgument);
  c.retries = 0;
  c.breaker_failures = 0;
  EXPECT_EQ(make_remote_detector(c).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace argus::vision
