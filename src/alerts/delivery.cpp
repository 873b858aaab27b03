#include "alerts/delivery.h"

#include <algorithm>
#include <chrono>

#include "alerts/channels.h"
#include "core/ids.h"
#include "core/log.h"
#include "metrics/metrics.h"

namespace argus::alerts {
namespace {

using nlohmann::json;

constexpr const char* kDeadLetterKind = "notification";

}  // namespace

// --- BackoffPolicy ---

std::int64_t BackoffPolicy::ceiling_ms(int failures) const {
  std::int64_t c = std::max<std::int64_t>(initial_ms, 1);
  for (int i = 1; i < failures && c < max_ms; ++i) c *= 2;
  return std::min(c, std::max<std::int64_t>(max_ms, 1));
}

std::int64_t BackoffPolicy::delay_ms(int failures, std::mt19937_64& rng) const {
  std::uniform_int_distribution<std::int64_t> dist(0, ceiling_ms(failures));
  return dist(rng);
}

// --- CircuitBreaker ---

bool CircuitBreaker::allow(UnixMillis now, UnixMillis* retry_at) {
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (now < open_until_) {
        *retry_at = open_until_;
        return false;
      }
      state_ = State::kHalfOpen;
      trial_in_flight_ = true;
      return true;
    case State::kHalfOpen:
      if (!trial_in_flight_) {
        trial_in_flight_ = true;
        return true;
      }
      *retry_at = now + std::min<std::int64_t>(cooldown_ms_, 1000);
      return false;
  }
  return true;
}

void CircuitBreaker::on_success() {
  state_ = State::kClosed;
  failures_ = 0;
  trial_in_flight_ = false;
}

void CircuitBreaker::on_failure(UnixMillis now) {
  trial_in_flight_ = false;
  if (state_ == State::kHalfOpen || (state_ == State::kClosed && ++failures_ >= threshold_)) {
    state_ = State::kOpen;
    open_until_ = now + cooldown_ms_;
  }
}

CircuitBreaker::State CircuitBreaker::state(UnixMillis now) const {
  if (state_ == State::kOpen && now >= open_until_) return State::kHalfOpen;
  return state_;
}

std::string_view breaker_state_name(CircuitBreaker::State s) {
  switch (s) {
    case CircuitBreaker::State::kClosed:
      return "closed";
    case CircuitBreaker::State::kOpen:
      return "open";
    case CircuitBreaker::State::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

// --- DeliveryService ---

DeliveryService::DeliveryService(DeliveryOptions options, Store* store, std::unique_ptr<Sender> sender)
    : config_(options.config),
      clock_(options.clock),
      metrics_(options.metrics),
      store_(store),
      sender_(std::move(sender)),
      backoff_{options.config.backoff_initial_ms, options.config.backoff_max_ms},
      rng_(options.seed != 0 ? options.seed : std::random_device{}()) {
  if (metrics_ != nullptr) {
    delivery_seconds_ = &metrics_->histogram("argus_notification_delivery_seconds",
                                             "Time of one notification delivery attempt, whatever its outcome",
                                             {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
    depth_gauge_ = &metrics_->gauge("argus_notification_queue_depth",
                                    "Notifications scheduled for delivery, including those waiting to retry");
    metrics::Gauge* dead = &metrics_->gauge("argus_dead_letters", "Dead letters kept in the store");
    Store* s = store_;
    collector_id_ = metrics_->add_collector([s, dead] {
      auto n = s->count_dead_letters({});
      if (n.ok()) dead->set(static_cast<double>(*n));
    });
  }
}

DeliveryService::~DeliveryService() {
  stop();
  if (metrics_ != nullptr && collector_id_ != 0) metrics_->remove_collector(collector_id_);
}

Status DeliveryService::start() {
  {
    std::lock_guard lock(mu_);
    if (running_ || stopping_) return Status::failed_precondition("the delivery service was started already");
    running_ = true;
  }
  // What the last stop() could not deliver goes out first.
  DeadLetterQuery q;
  q.filter.kind = kDeadLetterKind;
  q.filter.reason = "shutdown";
  q.limit = 200;
  std::int64_t restored = 0;
  for (;;) {
    auto page = store_->list_dead_letters(q);
    if (!page.ok()) return page.status().with_context("read notifications left by the last stop");
    bool full = false;
    for (const auto& d : page->items) {
      auto item = from_dead_letter(d);
      if (!item.ok()) continue;  // unreadable: leave it for an operator
      (*item)->attempts = static_cast<int>(d.attempts);
      if (!push(*item).ok()) {
        full = true;
        break;
      }
      (void)store_->delete_dead_letter(d.id);
      ++restored;
    }
    if (full || !page->next_after) break;
    q.before_id = page->items.back().id;
  }
  if (restored > 0) log::info("notifications left by the last stop queued again", {{"count", restored}});
  for (int i = 0; i < config_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
  return Status::ok_status();
}

void DeliveryService::stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_ || stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, kStopGrace, [this] { return in_flight_ == 0; })) {
      log::info("cancelling notification attempts still in flight", {{"count", in_flight_}});
      sender_->cancel();
    }
  }
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  std::vector<DeadLetterRecord> letters;
  {
    std::lock_guard lock(mu_);
    letters = std::move(spill_);
    spill_.clear();
    while (!schedule_.empty()) {
      const auto& item = schedule_.top();
      if (item->waiter) item->waiter->set_value({false, "the server is stopping"});
      letters.push_back(
          to_dead_letter(*item, "shutdown",
                         "queued when the server stopped; queued again at the next start" +
                             (item->last_error.empty() ? std::string() : "; last error: " + item->last_error)));
      schedule_.pop();
    }
    update_depth();
  }
  if (!letters.empty()) {
    log::info("undelivered notifications kept as dead letters until the next start", {{"count", letters.size()}});
    write_dead_letters(std::move(letters));
  }
}

Status DeliveryService::check_channel(const std::string& channel_id, bool allow_disabled) {
  auto ch = store_->get_channel(channel_id);
  if (!ch.ok()) return ch.status();
  if (!ch->enabled && !allow_disabled) {
    return Status::failed_precondition("notification channel '" + channel_id + "' is disabled");
  }
  return Status::ok_status();
}

Status DeliveryService::push(std::shared_ptr<Item> item) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status::unavailable("the server is stopping; notifications are not accepted");
    if (schedule_.size() >= config_.queue) {
      return Status::resource_exhausted("the notification queue is full (" + std::to_string(config_.queue) +
                                        "; notifications.queue)");
    }
    item->seq = next_seq_++;
    if (item->due == 0) item->due = clock_->now_ms();
    schedule_.push(std::move(item));
    update_depth();
  }
  cv_.notify_one();
  return Status::ok_status();
}

Status DeliveryService::enqueue(Notification n) {
  if (!is_notification_kind(n.kind)) return Status::invalid_argument("unknown notification kind '" + n.kind + "'");
  ARGUS_RETURN_IF_ERROR(check_channel(n.channel_id, n.kind == "test"));
  auto item = std::make_shared<Item>();
  item->delivery_id = random_hex_id(8);
  item->created_at = clock_->now_ms();
  if (n.time == 0) n.time = item->created_at;
  item->n = std::move(n);
  Status s = push(item);
  if (s.code() != StatusCode::kResourceExhausted) return s;
  // Full: keep it as a dead letter, written by a worker so this caller never waits on the store.
  {
    std::lock_guard lock(mu_);
    if (spill_.size() < config_.queue) {
      spill_.push_back(to_dead_letter(*item, "queue_full", s.message()));
    } else {
      ++totals_.dropped;
      log::error("notification dropped: the queue and its overflow are full",
                 {{"channel", item->n.channel_id}, {"kind", item->n.kind}});
    }
  }
  cv_.notify_one();
  count(item->n.channel_id, "dead_lettered");
  return Status::resource_exhausted(s.message() + "; kept as a dead letter");
}

Result<AttemptReport> DeliveryService::test_send(const std::string& channel_id, json data) {
  auto ch = store_->get_channel(channel_id);
  if (!ch.ok()) return ch.status();
  auto channel = channel_from_record(*ch);
  if (!channel.ok()) return channel.status();
  auto item = std::make_shared<Item>();
  item->delivery_id = random_hex_id(8);
  item->created_at = clock_->now_ms();
  item->n = Notification{channel_id, "test", item->created_at, std::move(data)};
  item->waiter = std::make_shared<std::promise<AttemptReport>>();
  auto result = item->waiter->get_future();
  ARGUS_RETURN_IF_ERROR(push(item));
  // Bounded: the caller is usually an HTTP I/O thread.
  const auto wait = std::chrono::milliseconds(std::min<std::int64_t>(channel->timeout_ms() + 1000, 15'000));
  if (result.wait_for(wait) != std::future_status::ready) {
    return AttemptReport{
        false, "no attempt finished within " + std::to_string(wait.count() / 1000) + " s; the delivery goes on"};
  }
  return result.get();
}

Status DeliveryService::requeue(std::int64_t id) {
  auto d = store_->get_dead_letter(id);
  if (!d.ok()) return d.status();
  ARGUS_ASSIGN_OR_RETURN(std::shared_ptr<Item> item, from_dead_letter(*d));
  ARGUS_RETURN_IF_ERROR(push(item));
  Status del = store_->delete_dead_letter(id);
  if (!del.ok() && del.code() != StatusCode::kNotFound) {
    log::warn("a requeued dead letter could not be deleted; it may be delivered twice",
              {{"id", id}, {"error", del.to_string()}});
  }
  return Status::ok_status();
}

Result<std::int64_t> DeliveryService::requeue_matching(const DeadLetterFilter& filter) {
  DeadLetterQuery q;
  q.filter = filter;
  q.limit = 200;
  std::int64_t queued = 0;
  for (;;) {
    auto page = store_->list_dead_letters(q);
    if (!page.ok()) return page.status();
    for (const auto& d : page->items) {
      auto item = from_dead_letter(d);
      if (!item.ok()) continue;
      Status s = push(*item);
      if (s.code() == StatusCode::kResourceExhausted) return queued;
      ARGUS_RETURN_IF_ERROR(s);
      (void)store_->delete_dead_letter(d.id);
      ++queued;
    }
    if (!page->next_after) return queued;
    q.before_id = page->items.back().id;
  }
}

DeliveryStats DeliveryService::stats() const {
  DeliveryStats s;
  {
    std::lock_guard lock(mu_);
    s = totals_;
    s.queued = schedule_.size();
    s.capacity = config_.queue;
    s.in_flight = in_flight_;
    for (const auto& [id, b] : breakers_) {
      if (b.open()) s.open_circuits.push_back(id);
    }
  }
  auto n = store_->count_dead_letters({});
  s.dead_letters = n.ok() ? *n : -1;
  return s;
}

void DeliveryService::worker_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (stopping_) return;
    if (!spill_.empty()) {
      std::vector<DeadLetterRecord> letters = std::move(spill_);
      spill_.clear();
      lock.unlock();
      write_dead_letters(std::move(letters));
      lock.lock();
      continue;
    }
    if (schedule_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const UnixMillis now = clock_->now_ms();
    std::shared_ptr<Item> item = schedule_.top();
    if (item->due > now) {
      // Real time bounds the wait so that an injected clock that jumps is noticed.
      cv_.wait_for(lock, std::chrono::milliseconds(std::min<std::int64_t>(item->due - now, 200)));
      continue;
    }
    schedule_.pop();
    // A test-send's first attempt probes the channel whatever its breaker says.
    const bool probe = item->waiter != nullptr;
    UnixMillis retry_at = 0;
    if (!probe && !breaker(item->n.channel_id).allow(now, &retry_at)) {
      item->due = retry_at;
      item->seq = next_seq_++;
      schedule_.push(std::move(item));
      continue;
    }
    ++in_flight_;
    update_depth();
    lock.unlock();
    attempt(std::move(item));
    lock.lock();
    --in_flight_;
    if (stopping_) cv_.notify_all();  // stop() waits for the attempts in flight
  }
}

void DeliveryService::attempt(std::shared_ptr<Item> item) {
  const std::string& channel_id = item->n.channel_id;
  auto record = store_->get_channel(channel_id);
  std::optional<Channel> channel;
  std::string gone;
  if (!record.ok()) {
    gone = record.status().code() == StatusCode::kNotFound ? "the channel was deleted" : record.status().message();
  } else if (auto c = channel_from_record(*record); !c.ok()) {
    gone = c.status().message();
  } else if (!c->enabled && item->n.kind != "test") {
    gone = "the channel is disabled";
  } else {
    channel = std::move(c).value();
  }
  if (!channel) {
    if (item->waiter) item->waiter->set_value({false, gone});
    {
      std::lock_guard lock(mu_);
      breaker(channel_id).on_success();  // nothing was tried: release a trial slot
    }
    dead_letter(*item, "channel", gone);
    return;
  }

  const auto started = std::chrono::steady_clock::now();
  SendOutcome out = sender_->send(*channel, item->delivery_id, item->n);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (delivery_seconds_ != nullptr) delivery_seconds_->observe(seconds);
  ++item->attempts;
  if (item->waiter) {
    item->waiter->set_value({out.kind == SendOutcome::Kind::kDelivered, out.error});
    item->waiter.reset();
  }
  const UnixMillis now = clock_->now_ms();
  bool was_open = false;
  bool is_open = false;
  bool retry = false;
  bool stopping = false;
  {
    std::lock_guard lock(mu_);
    stopping = stopping_;
    CircuitBreaker& b = breaker(channel_id);
    was_open = b.open();
    // A permanent failure means the destination answered: it is up, the request is wrong.
    if (out.kind == SendOutcome::Kind::kRetry) {
      b.on_failure(now);
    } else {
      b.on_success();
    }
    is_open = b.open();
    if (out.kind == SendOutcome::Kind::kDelivered) {
      ++totals_.delivered;
    } else if (out.kind == SendOutcome::Kind::kRetry && item->attempts < config_.max_attempts && !stopping) {
      retry = true;
      ++totals_.retried;
      item->last_error = out.error;
      item->due = now + backoff_.delay_ms(item->attempts, rng_);
      item->seq = next_seq_++;
      schedule_.push(item);
      update_depth();
    } else {
      ++totals_.failed;
    }
  }
  if (was_open != is_open) {
    set_circuit_gauge(channel_id, is_open);
    log::warn(is_open ? "notification channel circuit opened" : "notification channel circuit closed",
              {{"channel", channel_id}, {"error", out.error}});
  }
  if (out.kind == SendOutcome::Kind::kDelivered) {
    count(channel_id, "delivered");
    return;
  }
  if (retry) {
    count(channel_id, "retried");
    cv_.notify_one();
    return;
  }
  count(channel_id, "failed");
  if (out.kind == SendOutcome::Kind::kRetry && stopping) {
    // Stopping: keep it for the next start rather than calling it exhausted.
    item->last_error = out.error;
    std::lock_guard lock(mu_);
    spill_.push_back(to_dead_letter(*item, "shutdown", "queued when the server stopped; last error: " + out.error));
    return;
  }
  dead_letter(*item, out.kind == SendOutcome::Kind::kPermanent ? "permanent" : "exhausted", out.error);
}

void DeliveryService::dead_letter(const Item& item, const std::string& reason, const std::string& error) {
  log::warn("notification kept as a dead letter", {{"channel", item.n.channel_id},
                                                   {"kind", item.n.kind},
                                                   {"delivery", item.delivery_id},
                                                   {"reason", reason},
                                                   {"attempts", item.attempts},
                                                   {"error", error}});
  write_dead_letters({to_dead_letter(item, reason, error)});
  count(item.n.channel_id, "dead_lettered");
}

void DeliveryService::write_dead_letters(std::vector<DeadLetterRecord> letters) {
  const std::size_t n = letters.size();
  auto ids = store_->add_dead_letters(std::move(letters));
  if (!ids.ok()) {
    std::lock_guard lock(mu_);
    totals_.dropped += n;
    log::error("dead letters could not be stored; they are lost", {{"count", n}, {"error", ids.status().to_string()}});
    return;
  }
  std::lock_guard lock(mu_);
  totals_.dead_lettered += n;
}

DeadLetterRecord DeliveryService::to_dead_letter(const Item& item, const std::string& reason,
                                                 const std::string& error) {
  DeadLetterRecord d;
  d.kind = kDeadLetterKind;
  d.channel_id = item.n.channel_id;
  d.payload =
      json{{"kind", item.n.kind}, {"time", item.n.time}, {"delivery", item.delivery_id}, {"data", item.n.payload}}
          .dump();
  d.error = error;
  d.reason = reason;
  d.attempts = item.attempts;
  d.created_at = item.created_at;
  return d;
}

Result<std::shared_ptr<DeliveryService::Item>> DeliveryService::from_dead_letter(const DeadLetterRecord& d) {
  json doc = json::parse(d.payload, nullptr, false);
  if (d.kind != kDeadLetterKind || !doc.is_object() || !doc.contains("kind") || !doc["kind"].is_string()) {
    return Status::failed_precondition("dead letter " + std::to_string(d.id) +
                                       " is not a notification this server can send");
  }
  auto item = std::make_shared<Item>();
  item->delivery_id = doc.value("delivery", "");
  if (item->delivery_id.empty()) item->delivery_id = random_hex_id(8);
  item->created_at = d.created_at;
  item->n.channel_id = d.channel_id;
  item->n.kind = doc["kind"].get<std::string>();
  item->n.time = doc.value("time", std::int64_t{0});
  item->n.payload = doc.contains("data") ? doc["data"] : json::object();
  return item;
}

CircuitBreaker& DeliveryService::breaker(const std::string& channel_id) {
  auto it = breakers_.find(channel_id);
  if (it == breakers_.end()) {
    it = breakers_.try_emplace(channel_id, config_.breaker_threshold, config_.breaker_cooldown_ms).first;
  }
  return it->second;
}

void DeliveryService::count(const std::string& channel_id, const char* outcome) {
  if (metrics_ == nullptr) return;
  metrics::Counter* c = nullptr;
  {
    std::lock_guard lock(mu_);
    std::string key = channel_id + "\n" + outcome;
    auto it = counters_.find(key);
    if (it == counters_.end()) {
      c = &metrics_->counter("argus_notifications_total", "Notification delivery outcomes by channel",
                             {{"channel", channel_id}, {"outcome", outcome}});
      counters_.emplace(key, c);
    } else {
      c = it->second;
    }
  }
  c->inc();
}

void DeliveryService::set_circuit_gauge(const std::string& channel_id, bool open) {
  if (metrics_ == nullptr) return;
  metrics::Gauge* g = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = circuit_gauges_.find(channel_id);
    if (it == circuit_gauges_.end()) {
      g = &metrics_->gauge("argus_notification_circuit_open",
                           "1 while a channel's circuit breaker is open or half-open", {{"channel", channel_id}});
      circuit_gauges_.emplace(channel_id, g);
    } else {
      g = it->second;
    }
  }
  g->set(open ? 1 : 0);
}

void DeliveryService::update_depth() {
  if (depth_gauge_ != nullptr) depth_gauge_->set(static_cast<double>(schedule_.size()));
}

}  // namespace argus::alerts
