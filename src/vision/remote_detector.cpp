#include "vision/remote_detector.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

namespace argus::vision {
namespace {

using SteadyClock = std::chrono::steady_clock;
using nlohmann::json;

constexpr std::size_t kMaxAnswerBytes = 1 << 20;  // a detection answer is a few KB
constexpr std::int64_t kMaxConnectTimeoutMs = 3000;
constexpr double kMaxBackoffMs = 10000;
constexpr int kJpegQuality = 90;
constexpr std::size_t kMaxErrorTextChars = 200;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The "user:password" part of a URL, or "".
std::string userinfo(const std::string& url) {
  std::size_t sep = url.find("://");
  if (sep == std::string::npos) return "";
  std::size_t auth_start = sep + 3;
  std::size_t auth_end = url.find_first_of("/?#", auth_start);
  if (auth_end == std::string::npos) auth_end = url.size();
  std::size_t at = url.rfind('@', auth_end);
  if (at == std::string::npos || at < auth_start) return "";
  return url.substr(auth_start, at - auth_start);
}

// "http://user:secret@host:5000/x" -> "http://***@host:5000/x". Messages only ever show
// this form; a string that is not a URL but holds an '@' is not shown at all.
std::string redact_url(const std::string& url) {
  std::size_t sep = url.find("://");
  if (sep == std::string::npos) return url.find('@') == std::string::npos ? url : "(url hidden)";
  std::string secret = userinfo(url);
  if (secret.empty()) return url;
  return url.substr(0, sep + 3) + "***" + url.substr(sep + 3 + secret.size());
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Printable, bounded excerpt of text sent by the service.
std::string excerpt(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (out.size() >= kMaxErrorTextChars) {
      out += "...";
      break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : ' ';
  }
  return out;
}

// The service's own error text from a JSON answer, or "".
std::string service_error(const std::string& body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_object()) {
    auto it = doc.find("error");
    if (it != doc.end() && it->is_string()) return excerpt(it->get<std::string>());
  }
  return "";
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct MimeDeleter {
  void operator()(curl_mime* m) const { curl_mime_free(m); }
};
struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

struct Sink {
  std::string body;
  bool overflow = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  std::size_t bytes = size * n;
  if (sink->body.size() + bytes > kMaxAnswerBytes) {
    sink->overflow = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  sink->body.append(data, bytes);
  return bytes;
}

// Network errors worth another attempt; the rest will fail the same way again.
bool retryable(CURLcode rc) {
  switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_WRITE_ERROR:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_LOGIN_DENIED:
      return false;
    default:
      return true;
  }
}

// Reads one prediction. Returns false (with `why`) if it is malformed, which rejects the
// whole answer; sets `keep` to false if it is well-formed but unusable.
bool read_prediction(const json& p, std::size_t index, int w, int h, float min_score, Detection& out, bool& keep,
                     std::string& why) {
  std::string where = "predictions[" + std::to_string(index) + "]";
  if (!p.is_object()) {
    why = where + " is not an object";
    return false;
  }
  auto label = p.find("label");
  if (label == p.end() || !label->is_string()) {
    why = where + ".label is missing or not a string";
    return false;
  }
  double v[5];
  const char* names[5] = {"confidence", "x_min", "y_min", "x_max", "y_max"};
  for (int i = 0; i < 5; ++i) {
    auto it = p.find(names[i]);
    if (it == p.end() || !it->is_number()) {
      why = where + "." + names[i] + " is missing or not a number";
      return false;
    }
    v[i] = it->get<double>();
  }
  keep = false;
  for (double x : v) {
    if (!std::isfinite(x)) return true;
  }
  double confidence = v[0], x1 = v[1], y1 = v[2], x2 = v[3], y2 = v[4];
  if (confidence < 0 || confidence > 1 || confidence < min_score) return true;
  if (label->get_ref<const std::string&>().empty()) return true;
  double tol_x = std::max(2.0, 0.01 * w), tol_y = std::max(2.0, 0.01 * h);
  if (x1 < -tol_x || y1 < -tol_y || x2 > w + tol_x || y2 > h + tol_y) return true;
  x1 = std::clamp(x1, 0.0, double(w));
  x2 = std::clamp(x2, 0.0, double(w));
  y1 = std::clamp(y1, 0.0, double(h));
  y2 = std::clamp(y2, 0.0, double(h));
  if (!(x2 > x1) || !(y2 > y1)) return true;
  out.label = label->get<std::string>();
  out.score = static_cast<float>(confidence);
  out.box = Box{x1 / w, y1 / h, x2 / w, y2 / h};
  keep = true;
  return true;
}

class RemoteDetector final : public Detector {
 public:
  RemoteDetector(DetectorConfig config, std::unique_ptr<CURL, CurlDeleter> curl)
      : config_(std::move(config)),
        safe_url_(redact_url(config_.url)),
        curl_(std::move(curl)),
        rng_(std::random_device{}()) {
    curl_slist* headers = curl_slist_append(nullptr, "Expect:");  // no 100-continue round trip
    if (headers != nullptr) {
      curl_slist* more = curl_slist_append(headers, "Accept: application/json");
      if (more != nullptr) headers = more;
    }
    headers_.reset(headers);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", static_cast<double>(config_.min_score));
    min_confidence_ = buf;
  }

  Result<std::vector<Detection>> detect(const cv::Mat& bgr) override;
  std::string name() const override { return "remote"; }

 private:
  enum class Outcome { kOk, kRetry, kFail };
  struct Attempt {
    Outcome outcome = Outcome::kFail;
    Status status;
    std::vector<Detection> detections;
  };

  Result<std::vector<Detection>> call(const cv::Mat& bgr, int max_attempts);
  Attempt attempt(const std::vector<uchar>& jpeg, int w, int h);
  Attempt parse(const std::string& body, int w, int h) const;
  std::int64_t backoff_ms(int retry);
  void record_failure(const Status& status);

  // Constant after construction.
  const DetectorConfig config_;
  const std::string safe_url_;
  std::unique_ptr<CURL, CurlDeleter> curl_;
  std::unique_ptr<curl_slist, SlistDeleter> headers_;
  std::string min_confidence_;

  // Mutable state; a Detector is used by one thread at a time.
  std::mt19937 rng_;
  int consecutive_failures_ = 0;
  bool open_ = false;
  SteadyClock::time_point open_until_{};
  std::string last_error_;
};

Result<std::vector<Detection>> RemoteDetector::detect(const cv::Mat& bgr) {
  if (bgr.empty()) return Status::invalid_argument("remote detector: empty image");
  int max_attempts = config_.retries + 1;
  if (open_) {
    auto now = SteadyClock::now();
    if (now < open_until_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(open_until_ - now).count();
      return Status::unavailable("remote detector circuit open after " + std::to_string(consecutive_failures_) +
                                 " consecutive failures of " + safe_url_ + "; next trial in " + std::to_string(left) +
                                 " ms (last error: " + last_error_ + ")");
    }
    max_attempts = 1;  // half-open: a single trial request decides
  }
  return call(bgr, max_attempts);
}

Result<std::vector<Detection>> RemoteDetector::call(const cv::Mat& bgr, int max_attempts) {
  std::vector<uchar> jpeg;
  try {
    if (!cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, kJpegQuality}) || jpeg.empty()) {
      return Status::invalid_argument("remote detector: cannot JPEG-encode the image");
    }
  } catch (const cv::Exception& e) {
    return Status::invalid_argument(std::string("remote detector: cannot JPEG-encode the image: ") + e.what());
  }

  Attempt result;
  for (int i = 0; i < max_attempts; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms(i - 1)));
    result = attempt(jpeg, bgr.cols, bgr.rows);
    if (result.outcome != Outcome::kRetry) break;
  }
  if (result.outcome == Outcome::kOk) {
    consecutive_failures_ = 0;
    open_ = false;
    return std::move(result.detections);
  }
  if (result.outcome == Outcome::kRetry && max_attempts > 1) {
    result.status = result.status.with_context("after " + std::to_string(max_attempts) + " attempts");
  }
  record_failure(result.status);
  return result.status;
}

RemoteDetector::Attempt RemoteDetector::attempt(const std::vector<uchar>& jpeg, int w, int h) {
  CURL* c = curl_.get();
  // A fresh form per attempt, bound to the handle only while it is sent (a form unbound
  // and bound again is not re-sent reliably).
  Attempt out;
  std::unique_ptr<curl_mime, MimeDeleter> form(curl_mime_init(c));
  curl_mimepart* part = form ? curl_mime_addpart(form.get()) : nullptr;
  if (part == nullptr || curl_mime_name(part, "image") != CURLE_OK ||
      curl_mime_filename(part, "image.jpg") != CURLE_OK || curl_mime_type(part, "image/jpeg") != CURLE_OK ||
      curl_mime_data(part, reinterpret_cast<const char*>(jpeg.data()), jpeg.size()) != CURLE_OK) {
    out.status = Status::internal("remote detector: cannot build the multipart form");
    return out;
  }
  part = curl_mime_addpart(form.get());
  if (part == nullptr || curl_mime_name(part, "min_confidence") != CURLE_OK ||
      curl_mime_data(part, min_confidence_.c_str(), CURL_ZERO_TERMINATED) != CURLE_OK) {
    out.status = Status::internal("remote detector: cannot build the multipart form");
    return out;
  }

  Sink sink;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, config_.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // no proxy from the environment
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(config_.timeout_ms, kMaxConnectTimeoutMs)));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers_.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "argus-remote-detector");
  curl_easy_setopt(c, CURLOPT_MIMEPOST, form.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(c);
  // The handle outlives this attempt: drop its pointers into this frame.
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(c, CURLOPT_MIMEPOST, nullptr);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, nullptr);

  std::string where = "remote detector at " + safe_url_;
  if (rc != CURLE_OK) {
    if (sink.overflow) {
      out.status =
          Status::unavailable(where + " sent an answer larger than " + std::to_string(kMaxAnswerBytes) + " bytes");
      return out;
    }
    std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      detail = "timed out after " + std::to_string(config_.timeout_ms) + " ms (" + detail + ")";
    }
    out.outcome = retryable(rc) ? Outcome::kRetry : Outcome::kFail;
    std::string secret = userinfo(config_.url);
    for (std::size_t pos; !secret.empty() && (pos = detail.find(secret)) != std::string::npos;) {
      detail.replace(pos, secret.size(), "***");
    }
    out.status = Status::unavailable(where + " is unreachable: " + detail);
    return out;
  }
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 200 && code < 300) return parse(sink.body, w, h);

  std::string text = service_error(sink.body);
  std::string suffix = text.empty() ? "" : ": " + text;
  if (code >= 500) {
    out.outcome = Outcome::kRetry;
    out.status = Status::unavailable(where + " failed with HTTP " + std::to_string(code) + suffix);
  } else if (code >= 400) {
    out.status = Status::invalid_argument(where + " rejected the request with HTTP " + std::to_string(code) + suffix);
  } else if (code >= 300) {
    out.status = Status::unavailable(where + " answered with a redirect (HTTP " + std::to_string(code) +
                                     "), which is not followed; configure the final URL");
  } else {
    out.status = Status::unavailable(where + " answered with unexpected HTTP " + std::to_string(code));
  }
  return out;
}

RemoteDetector::Attempt RemoteDetector::parse(const std::string& body, int w, int h) const {
  Attempt out;
  std::string where = "remote detector at " + safe_url_;
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    out.status = Status::unavailable(where + " sent an answer that is not a JSON object: \"" + excerpt(body) + "\"");
    return out;
  }
  auto success = doc.find("success");
  if (success == doc.end() || !success->is_boolean() || !success->get<bool>()) {
    std::string text = service_error(body);
    out.status = Status::unavailable(where + " reported failure" + (text.empty() ? "" : ": " + text));
    return out;
  }
  auto predictions = doc.find("predictions");
  if (predictions == doc.end() || !predictions->is_array()) {
    out.status = Status::unavailable(where + " sent an answer without a \"predictions\" array");
    return out;
  }
  for (std::size_t i = 0; i < predictions->size(); ++i) {
    Detection d;
    bool keep = false;
    std::string why;
    if (!read_prediction((*predictions)[i], i, w, h, config_.min_score, d, keep, why)) {
      out.status = Status::unavailable(where + " sent a malformed answer: " + why);
      out.detections.clear();
      return out;
    }
    if (keep) out.detections.push_back(std::move(d));
  }
  out.outcome = Outcome::kOk;
  return out;
}

std::int64_t RemoteDetector::backoff_ms(int retry) {
  double base = static_cast<double>(config_.retry_backoff_ms) * std::pow(2.0, retry);
  base = std::min(base, std::max(kMaxBackoffMs, static_cast<double>(config_.retry_backoff_ms)));
  // Half fixed, half random: spreads the retries of many workers without ever retrying at once.
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return static_cast<std::int64_t>(base * jitter(rng_));
}

void RemoteDetector::record_failure(const Status& status) {
  last_error_ = status.message();
  ++consecutive_failures_;
  if (open_ || consecutive_failures_ >= config_.breaker_failures) {
    open_ = true;  // opens, or reopens after a failed trial
    open_until_ = SteadyClock::now() + std::chrono::milliseconds(config_.breaker_open_ms);
  }
}

}  // namespace

Result<std::unique_ptr<Detector>> make_remote_detector(const DetectorConfig& config) {
  std::string safe = redact_url(config.url);
  if (config.url.empty()) return Status::invalid_argument("remote detector: url is empty");
  if (config.timeout_ms <= 0) return Status::invalid_argument("remote detector: timeout must be positive");
  if (config.retries < 0) return Status::invalid_argument("remote detector: retries must be >= 0");
  if (config.retry_backoff_ms < 0) return Status::invalid_argument("remote detector: retry backoff must be >= 0");
  if (config.breaker_failures < 1) return Status::invalid_argument("remote detector: breaker failures must be >= 1");
  if (config.breaker_open_ms < 0) return Status::invalid_argument("remote detector: breaker open time must be >= 0");

  global_init();
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u) return Status::internal("remote detector: curl_url failed");
  if (curl_url_set(u.get(), CURLUPART_URL, config.url.c_str(), 0) != CURLUE_OK) {
    return Status::invalid_argument("remote detector: url '" + safe + "' is not a valid URL");
  }
  char* scheme = nullptr;
  std::string scheme_text;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK && scheme != nullptr) {
    scheme_text = lower(scheme);
  }
  curl_free(scheme);
  if (scheme_text != "http" && scheme_text != "https") {
    return Status::invalid_argument("remote detector: url '" + safe + "' must start with http:// or https://");
  }
  char* host = nullptr;
  bool has_host = curl_url_get(u.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK && host != nullptr && host[0] != '\0';
  curl_free(host);
  if (!has_host) return Status::invalid_argument("remote detector: url '" + safe + "' has no host");

  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Status::internal("remote detector: curl_easy_init failed");
  return std::unique_ptr<Detector>(std::make_unique<RemoteDetector>(config, std::move(curl)));
}

}  // namespace argus::vision
