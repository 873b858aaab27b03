#include "api/stream_hub.h"

#include <algorithm>

#include "api/websocket.h"
#include "core/log.h"
#include "metrics/metrics.h"

namespace argus::api {
namespace {

std::int64_t to_ns(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

const std::vector<std::string_view>& stream_topics() {
  static const std::vector<std::string_view> kTopics{bus::kEvents, bus::kDetections, bus::kCounts, bus::kCameras,
                                                     bus::kSystem, bus::kJobs,       bus::kAlerts};
  return kTopics;
}

std::optional<std::uint32_t> stream_topic_bit(std::string_view topic) {
  const auto& topics = stream_topics();
  for (std::size_t i = 0; i < topics.size(); ++i) {
    if (topics[i] == topic) return 1u << i;
  }
  return std::nullopt;
}

bool StreamFilter::matches(const bus::Message& m) const {
  auto bit = stream_topic_bit(m.topic);
  if (!bit || (topics & *bit) == 0) return false;
  if (m.camera.empty()) return true;
  if (scope && std::find(scope->begin(), scope->end(), m.camera) == scope->end()) return false;
  return cameras.empty() || std::find(cameras.begin(), cameras.end(), m.camera) != cameras.end();
}

// --- StreamSubscriber ---------------------------------------------------------------

StreamSubscriber::StreamSubscriber(StreamFilter filter, std::size_t capacity, StreamSlowPolicy policy)
    : capacity_(std::max<std::size_t>(capacity, 1)), policy_(policy), filter_(std::move(filter)) {}

void StreamSubscriber::take(Batch& out) {
  out.entries.clear();
  if (out.entries.capacity() > 256) std::vector<StreamEntryPtr>().swap(out.entries);  // after a burst
  std::lock_guard lock(mu_);
  out.entries.reserve(queue_.size());
  for (auto& e : queue_) out.entries.push_back(std::move(e));
  queue_.clear();
  out.dropped = dropped_pending_;
  dropped_pending_ = 0;
  out.overflowed = overflowed_;
  out.closed = closed_;
  out.revoked = revoked_;
  waiting_ = out.entries.empty() && !closed_;
}

void StreamSubscriber::set_hooks(std::function<void()> wake, std::function<void()> abort) {
  std::lock_guard lock(mu_);
  wake_ = std::move(wake);
  abort_ = std::move(abort);
}

void StreamSubscriber::set_filter(StreamFilter filter) {
  std::lock_guard lock(mu_);
  filter_ = std::move(filter);
}

StreamFilter StreamSubscriber::filter() const {
  std::lock_guard lock(mu_);
  return filter_;
}

void StreamSubscriber::close() {
  bool wake_now = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    wake_now = waiting_;
    waiting_ = false;
  }
  if (wake_now) wake();
}

void StreamSubscriber::revoke(std::string why) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    revoked_ = why.empty() ? std::string("credentials changed") : std::move(why);
  }
  close();
}

void StreamSubscriber::write_started(std::chrono::steady_clock::time_point at) {
  write_started_ns_.store(std::max<std::int64_t>(to_ns(at), 1));
}

void StreamSubscriber::write_finished() { write_started_ns_.store(0); }

unsigned StreamSubscriber::offer(const StreamEntryPtr& e) {
  std::lock_guard lock(mu_);
  if (closed_ || !filter_.matches(*e->message)) return 0;
  unsigned result = 0;
  if (queue_.size() >= capacity_) {
    if (policy_ == StreamSlowPolicy::kDisconnect) {
      overflowed_ = true;
      closed_ = true;
      queue_.clear();
      result = kDropped | (waiting_ ? kWake : 0);
      waiting_ = false;
      return result;
    }
    queue_.pop_front();
    ++dropped_pending_;
    dropped_total_.fetch_add(1, std::memory_order_relaxed);
    result |= kDropped;
  }
  queue_.push_back(e);
  if (waiting_) {
    waiting_ = false;
    result |= kWake;
  }
  return result;
}

bool StreamSubscriber::reset_queue(std::vector<StreamEntryPtr> entries) {
  std::lock_guard lock(mu_);
  if (closed_) return false;
  queue_.clear();
  // A replay may exceed the live capacity; it is bounded by the ring instead.
  for (auto& e : entries) queue_.push_back(std::move(e));
  if (queue_.empty() || !waiting_) return false;
  waiting_ = false;
  return true;
}

void StreamSubscriber::wake() {
  std::function<void()> f;
  {
    std::lock_guard lock(mu_);
    f = wake_;
  }
  if (f) f();
}

void StreamSubscriber::abort() {
  std::function<void()> f;
  {
    std::lock_guard lock(mu_);
    f = abort_;
    closed_ = true;
  }
  if (f) f();
}

// --- StreamHub ----------------------------------------------------------------------

StreamHub::StreamHub(bus::EventBus& bus, StreamHubOptions options)
    : bus_(bus), config_(std::move(options.config)), metrics_(options.metrics) {
  if (metrics_ != nullptr) {
    delivered_ = &metrics_->counter("argus_stream_messages_sent_total",
                                    "Messages written to WebSocket and SSE subscribers (one per subscriber).");
    dropped_ = &metrics_->counter("argus_stream_messages_dropped_total",
                                  "Messages a slow stream subscriber lost because its queue was full.");
    auto* gauge = &metrics_->gauge("argus_stream_subscribers", "Open WebSocket and SSE stream connections.");
    collector_ = metrics_->add_collector([this, gauge] { gauge->set(static_cast<double>(subscribers())); });
  }
}

StreamHub::~StreamHub() {
  stop();
  if (metrics_ != nullptr && collector_ != 0) metrics_->remove_collector(collector_);
}

Status StreamHub::start() {
  bus::SubscribeOptions o;
  o.name = "stream-hub";
  o.capacity = 65536;  // the hub only wraps and hands out pointers; it keeps up
  o.overflow = OverflowPolicy::kDropOldest;
  subscription_ = bus_.subscribe(o);
  thread_ = std::thread([this] { run(); });
  return Status();
}

void StreamHub::stop() {
  std::vector<std::shared_ptr<StreamSubscriber>> subscribers;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    subscribers = subscribers_;
  }
  stopping_ = true;
  if (subscription_) subscription_->close();
  if (thread_.joinable()) thread_.join();
  for (auto& s : subscribers) s->close();
}

void StreamHub::run() {
  auto next_check = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!stopping_) {
    auto m = subscription_->next(std::chrono::milliseconds(200));
    if (m && (*m)->topic == bus::kAuth) {
      revoke_matching(**m);
    } else if (m) {
      fan_out(*m);
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= next_check) {
      watchdog(now);
      next_check = now + std::chrono::seconds(1);
    }
  }
}

void StreamHub::fan_out(const bus::MessagePtr& message) {
  auto entry = std::make_shared<StreamEntry>();
  entry->message = message;
  entry->ws_header = ws::frame_header(ws::Opcode::kText, message->envelope.size());
  entry->sse_prefix = "id: " + std::to_string(message->id) + "\ndata: ";
  StreamEntryPtr shared = std::move(entry);

  std::vector<std::shared_ptr<StreamSubscriber>> keep;  // alive while woken outside the lock
  std::size_t dropped = 0;
  {
    std::lock_guard lock(mu_);
    if (first_seen_id_ == 0) first_seen_id_ = message->id;
    last_id_ = message->id;
    if (config_.ring_size > 0) {
      ring_.push_back(shared);
      while (ring_.size() > config_.ring_size) ring_.pop_front();
    }
    for (auto& s : subscribers_) {
      unsigned r = s->offer(shared);
      if ((r & StreamSubscriber::kWake) != 0) keep.push_back(s);
      if ((r & StreamSubscriber::kDropped) != 0) ++dropped;
    }
  }
  if (dropped_ != nullptr && dropped > 0) dropped_->inc(static_cast<double>(dropped));
  for (auto& s : keep) s->wake();
}

void StreamHub::revoke_matching(const bus::Message& message) {
  const std::string user = message.data.value("user_id", "");
  const std::string key = message.data.value("api_key_id", "");
  if (user.empty() && key.empty()) return;
  std::vector<std::shared_ptr<StreamSubscriber>> ended;
  {
    std::lock_guard lock(mu_);
    for (auto& s : subscribers_) {
      StreamFilter f = s->filter();
      if ((!user.empty() && f.user_id == user) || (!key.empty() && f.api_key_id == key)) ended.push_back(s);
    }
  }
  if (ended.empty()) return;
  const std::string why = message.data.value("reason", "credentials changed");
  log::info("ending streams opened with changed credentials",
            {{"count", ended.size()}, {"user", user}, {"api_key", key}, {"reason", why}});
  for (auto& s : ended) {
    count_disconnect("revoked");
    s->revoke(why);
  }
}

void StreamHub::watchdog(std::chrono::steady_clock::time_point now) {
  const std::int64_t limit = config_.write_timeout_ms * 1'000'000;
  const std::int64_t now_ns = to_ns(now);
  std::vector<std::shared_ptr<StreamSubscriber>> stuck;
  {
    std::lock_guard lock(mu_);
    for (auto& s : subscribers_) {
      std::int64_t started = s->write_started_ns_.load();
      if (started != 0 && now_ns - started > limit) stuck.push_back(s);
    }
  }
  for (auto& s : stuck) {
    log::info("closing a stream connection whose client stopped reading",
              {{"write_timeout_ms", config_.write_timeout_ms}});
    count_disconnect("write_timeout");
    s->abort();
  }
}

std::vector<StreamEntryPtr> StreamHub::replay_locked(std::uint64_t after_id, const StreamFilter& filter,
                                                     std::size_t limit, bool* truncated, bool* more) const {
  std::vector<StreamEntryPtr> out;
  bool lost = false;
  if (last_id_ == 0 || after_id > last_id_) {
    lost = true;  // an id from an earlier run or another server: what came since is unknown
  } else if (after_id < last_id_) {
    lost = ring_.empty() || after_id + 1 < ring_.front()->message->id;
  }
  if (truncated != nullptr) *truncated = lost;
  if (more != nullptr) *more = false;
  // Ids are increasing: find the first entry after after_id, then filter.
  auto it = std::upper_bound(ring_.begin(), ring_.end(), after_id,
                             [](std::uint64_t id, const StreamEntryPtr& e) { return id < e->message->id; });
  for (; it != ring_.end(); ++it) {
    if (!filter.matches(*(*it)->message)) continue;
    if (out.size() >= limit) {
      if (more != nullptr) *more = true;
      break;
    }
    out.push_back(*it);
  }
  return out;
}

Result<std::shared_ptr<StreamSubscriber>> StreamHub::attach(StreamFilter filter, std::optional<std::uint64_t> after_id,
                                                            bool* truncated) {
  if (truncated != nullptr) *truncated = false;
  auto s = std::make_shared<StreamSubscriber>(filter, config_.queue, config_.slow_policy);
  std::lock_guard lock(mu_);
  if (stopped_) return Status::unavailable("the server is shutting down");
  if (subscribers_.size() >= config_.max_subscribers) {
    return Status::resource_exhausted("too many stream subscribers (streams.max_subscribers = " +
                                      std::to_string(config_.max_subscribers) + "); retry later");
  }
  if (after_id) {
    for (auto& e : replay_locked(*after_id, filter, config_.ring_size, truncated, nullptr)) s->queue_.push_back(std::move(e));
  }
  s->index_ = subscribers_.size();
  subscribers_.push_back(s);
  return s;
}

bool StreamHub::refilter(StreamSubscriber& subscriber, StreamFilter filter, std::optional<std::uint64_t> after_id) {
  bool truncated = false;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (after_id) {
      wake = subscriber.reset_queue(replay_locked(*after_id, filter, config_.ring_size, &truncated, nullptr));
    }
    subscriber.set_filter(std::move(filter));
  }
  if (wake) subscriber.wake();
  return truncated;
}

void StreamHub::detach(const std::shared_ptr<StreamSubscriber>& subscriber) {
  std::lock_guard lock(mu_);
  std::size_t i = subscriber->index_;
  if (i >= subscribers_.size() || subscribers_[i] != subscriber) return;
  if (i + 1 != subscribers_.size()) {
    subscribers_[i] = std::move(subscribers_.back());
    subscribers_[i]->index_ = i;
  }
  subscribers_.pop_back();
}

StreamHub::Replay StreamHub::replay(std::uint64_t after_id, const StreamFilter& filter, std::size_t limit) const {
  Replay r;
  std::lock_guard lock(mu_);
  r.entries = replay_locked(after_id, filter, limit, &r.truncated, &r.more);
  return r;
}

std::uint64_t StreamHub::last_id() const {
  std::lock_guard lock(mu_);
  return last_id_;
}

std::size_t StreamHub::subscribers() const {
  std::lock_guard lock(mu_);
  return subscribers_.size();
}

void StreamHub::count_sent(std::size_t n) {
  if (delivered_ != nullptr && n > 0) delivered_->inc(static_cast<double>(n));
}

void StreamHub::count_disconnect(std::string_view reason) {
  if (metrics_ == nullptr) return;
  metrics_->counter("argus_stream_disconnects_total", "Stream connections the server ended, by reason.",
                    {{"reason", std::string(reason)}})
      .inc();
}

}  // namespace argus::api
