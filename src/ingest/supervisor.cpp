#include "ingest/supervisor.h"

#include <algorithm>
#include <exception>
#include <random>
#include <system_error>
#include <utility>

#include <opencv2/core.hpp>

#include "core/log.h"
#include "ingest/backoff.h"
#include "metrics/metrics.h"
#include "vision/jpeg.h"

namespace argus::ingest {
namespace {

constexpr auto kFpsWindow = std::chrono::seconds(5);
constexpr std::size_t kMaxRecentFrames = 1024;
constexpr auto kPushCheckInterval = std::chrono::milliseconds(250);

std::int64_t steady_ns(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The password in a URL's user info ("" if none).
std::string url_password(const std::string& url) {
  std::size_t sep = url.find("://");
  if (sep == std::string::npos) return "";
  std::size_t start = sep + 3;
  std::size_t end = url.find_first_of("/?#", start);
  if (end == std::string::npos) end = url.size();
  std::size_t at = url.rfind('@', end);
  if (at == std::string::npos || at < start) return "";
  std::size_t colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return "";
  return url.substr(colon + 1, at - colon - 1);
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

std::string initial_reason(const Camera& c) {
  if (!c.enabled) return "camera is disabled";
  if (c.source.kind == SourceKind::kPush) return "waiting for the first pushed frame";
  return "connecting";
}

}  // namespace

Supervisor::Supervisor(Camera camera, const IngestOptions& options, const FrameSink* sink,
                       std::atomic<std::uint64_t>* revision)
    : camera_(std::move(camera)),
      options_(options),
      source_options_{options.read_timeout_ms, options.decode_min_width, options.url_guard},
      sink_(sink),
      revision_(revision) {
  if (options_.metrics != nullptr) {
    metrics::Labels labels{{"camera", camera_.id}};
    frames_metric_ =
        &options_.metrics->counter("argus_camera_frames_in_total", "Frames read from the camera's source.", labels);
    reconnects_metric_ = &options_.metrics->counter("argus_camera_reconnects_total",
                                                    "Reconnect attempts after the camera's source failed.", labels);
    decode_metric_ = &options_.metrics->histogram(
        "argus_pipeline_stage_seconds", "Time per frame in each processing stage.",
        metrics::default_seconds_buckets(), {{"stage", "decode"}});
    up_metric_ = &options_.metrics->gauge("argus_camera_up", "1 while the camera is online, 0 otherwise.", labels);
    up_metric_->set(0);
  }
  status_.state = camera_.enabled ? SourceState::kStarting : SourceState::kDisabled;
  status_.reason = initial_reason(camera_);
}

Supervisor::~Supervisor() { stop(); }

void Supervisor::start() {
  if (!camera_.enabled || thread_.joinable()) return;
  try {
    thread_ = std::thread([this] {
      try {
        if (camera_.source.kind == SourceKind::kPush) {
          run_push();
        } else {
          run();
        }
      } catch (const std::exception& e) {
        // Only a bug gets here (run() catches what sources throw); stay visible.
        set_state(SourceState::kError, std::string("supervisor failed: ") + e.what());
      } catch (...) {
        set_state(SourceState::kError, "supervisor failed: unknown exception");
      }
    });
  } catch (const std::system_error& e) {
    set_state(SourceState::kError, std::string("cannot start the camera thread: ") + e.what());
  }
}

void Supervisor::stop() {
  stop_.raise();
  if (thread_.joinable()) thread_.join();
  if (up_metric_ != nullptr) up_metric_->set(0);
}

void Supervisor::run() {
  std::random_device seed;
  Backoff backoff(options_.backoff_initial_ms, options_.backoff_max_ms,
                  (static_cast<std::uint64_t>(seed()) << 32) ^ seed());
  const auto offline_after = std::chrono::milliseconds(options_.offline_after_ms);
  auto trouble_since = SteadyClock::now();
  bool retry = false;
  while (!stop_.raised()) {
    if (retry) {
      {
        std::lock_guard lock(mu_);
        ++status_.reconnects;
      }
      if (reconnects_metric_ != nullptr) reconnects_metric_->inc();
    }
    retry = true;

    bool crashed = false;
    Status s = run_source_once(crashed);
    if (stop_.raised()) break;
    if (s.ok() || s.code() == StatusCode::kCancelled) {
      s = Status::unavailable("the source ended without an error");
    }
    const auto failed_at = SteadyClock::now();
    if (healthy_this_run_.load()) {
      backoff.reset();
      trouble_since = failed_at;
    }
    std::string reason = scrub(s.message());
    log::debug("camera source failed", {{"camera", camera_.id}, {"error", reason}});

    if (crashed || is_permanent(s)) {
      set_state(SourceState::kError, std::move(reason));
      if (stop_.wait_for(std::chrono::milliseconds(options_.backoff_max_ms))) break;
      continue;
    }
    const auto wake = failed_at + backoff.next();
    const auto offline_at = trouble_since + offline_after;
    while (true) {
      bool offline = SteadyClock::now() >= offline_at;
      set_state(offline ? SourceState::kOffline : SourceState::kReconnecting, reason);
      if (stop_.wait_until(offline ? wake : std::min(wake, offline_at))) return;
      if (SteadyClock::now() >= wake) break;
    }
  }
}

Status Supervisor::run_source_once(bool& crashed) {
  seq_ = 0;
  frames_this_run_ = 0;
  healthy_this_run_ = false;
  run_started_ns_ = steady_ns(SteadyClock::now());
  try {
    if (!source_) {
      auto made = make_source(camera_.source, source_options_);
      if (!made.ok()) return made.status();
      source_ = std::move(made).value();
    }
    SourceIO io{stop_, [this](SourceFrame f) { deliver(std::move(f)); },
                [this] {
                  healthy_this_run_ = true;
                  set_state(SourceState::kOnline, "");
                }};
    return source_->run(io);
  } catch (const std::exception& e) {
    crashed = true;
    return Status::internal(std::string("the source failed unexpectedly: ") + e.what());
  } catch (...) {
    crashed = true;
    return Status::internal("the source failed unexpectedly (unknown exception)");
  }
}

void Supervisor::run_push() {
  const auto offline_after = std::chrono::milliseconds(options_.offline_after_ms);
  while (!stop_.wait_for(kPushCheckInterval)) {
    SteadyClock::time_point last;
    {
      std::lock_guard lock(mu_);
      if (status_.state != SourceState::kOnline) continue;
      last = last_frame_steady_;
    }
    if (SteadyClock::now() - last >= offline_after) {
      set_state(SourceState::kOffline, "no frame pushed for " + std::to_string(options_.offline_after_ms) + " ms");
    }
  }
}

Status Supervisor::push(std::string bytes) {
  if (bytes.size() > kMaxImageBytes) {
    return Status::invalid_argument("the image is " + std::to_string(bytes.size()) + " bytes, more than the limit of " +
                                    std::to_string(kMaxImageBytes));
  }
  if (!vision::looks_like_jpeg(bytes) && !vision::looks_like_png(bytes)) {
    return Status::invalid_argument("the pushed bytes are not a JPEG or PNG image");
  }
  auto frame = frame_from_bytes(std::move(bytes), options_.decode_min_width);
  if (!frame.ok()) {
    return Status::invalid_argument("the pushed image cannot be decoded: " + frame.status().message());
  }
  deliver(std::move(frame).value());
  return {};
}

void Supervisor::deliver(SourceFrame f) {
  const auto now = SteadyClock::now();
  auto frame = std::make_shared<vision::Frame>();
  frame->camera_id = camera_.id;
  frame->seq = seq_.fetch_add(1);
  frame->time = options_.clock->now_ms();
  frame->media_seconds = f.media_seconds.value_or(static_cast<double>(steady_ns(now) - run_started_ns_.load()) / 1e9);
  frame->image = std::move(f.image);
  frame->jpeg = std::move(f.jpeg);
  if (decode_metric_ != nullptr && f.decode_seconds >= 0) decode_metric_->observe(f.decode_seconds);
  ++frames_this_run_;
  healthy_this_run_ = true;

  bool became_online = false;
  {
    std::lock_guard lock(mu_);
    ++status_.frames_in;
    status_.last_frame_at = frame->time;
    last_frame_steady_ = now;
    recent_.push_back(now);
    while (recent_.size() > kMaxRecentFrames || (!recent_.empty() && now - recent_.front() > kFpsWindow)) {
      recent_.pop_front();
    }
    became_online = status_.state != SourceState::kOnline;
  }
  if (became_online) set_state(SourceState::kOnline, "");
  if (frames_metric_ != nullptr) frames_metric_->inc();
  if (sink_ != nullptr && *sink_) {
    try {
      (*sink_)(frame);
    } catch (const std::exception& e) {
      log::error("frame sink threw; frame dropped", {{"camera", camera_.id}, {"error", e.what()}});
    } catch (...) {
      log::error("frame sink threw; frame dropped", {{"camera", camera_.id}});
    }
  }
}

void Supervisor::set_state(SourceState state, std::string reason) {
  {
    std::lock_guard lock(mu_);
    if (status_.state == state && status_.reason == reason) return;
    if (state == SourceState::kOnline && status_.state != SourceState::kOnline) {
      online_since_ = SteadyClock::now();
    }
    status_.state = state;
    status_.reason = reason;
  }
  revision_->fetch_add(1);
  if (up_metric_ != nullptr) up_metric_->set(state == SourceState::kOnline ? 1 : 0);
  nlohmann::json fields{{"camera", camera_.id}, {"state", source_state_name(state)}};
  if (!reason.empty()) fields["reason"] = reason;
  if (state == SourceState::kOnline || state == SourceState::kReconnecting) {
    log::info("camera state changed", fields);
  } else {
    log::warn("camera state changed", fields);
  }
}

SourceStatus Supervisor::status() const {
  std::lock_guard lock(mu_);
  SourceStatus out = status_;
  const auto now = SteadyClock::now();
  while (!recent_.empty() && now - recent_.front() > kFpsWindow) recent_.pop_front();
  if (!recent_.empty()) {
    // Frames in the window over the window's length; the window starts when the camera
    // came online, so the rate is right from the first second and decays to 0 within
    // five seconds of the last frame.
    auto window = std::clamp<SteadyClock::duration>(now - online_since_, std::chrono::seconds(1), kFpsWindow);
    out.fps_in = static_cast<double>(recent_.size()) / std::chrono::duration<double>(window).count();
  }
  return out;
}

std::string Supervisor::scrub(std::string reason) const {
  // Sources build messages from masked URLs; this catches a library message that quotes
  // the URL or the password anyway. Very short passwords are left alone: replacing every
  // "ab" in a message would make it unreadable and protect little.
  const std::string& url = camera_.source.url;
  replace_all(reason, url, mask_url_credentials(url));
  for (const std::string& pw : {url_password(url), percent_decode(url_password(url))}) {
    if (pw.size() >= 3) replace_all(reason, pw, "***");
  }
  return reason;
}

}  // namespace argus::ingest
