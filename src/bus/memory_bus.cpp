#include <algorithm>
#include <mutex>

#include "bus/bus.h"
#include "metrics/metrics.h"

namespace argus::bus {
namespace {

std::string make_envelope(const Message& m) {
  nlohmann::json j{
      {"id", std::to_string(m.id)}, {"topic", m.topic}, {"time", format_rfc3339(m.time)}, {"data", m.data}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

class MemoryBus;

class MemorySubscription final : public Subscription {
 public:
  MemorySubscription(MemoryBus* bus, SubscribeOptions options)
      : bus_(bus),
        options_(std::move(options)),
        queue_(options_.capacity,
               options_.overflow == OverflowPolicy::kBlock ? OverflowPolicy::kDropOldest : options_.overflow) {}
  ~MemorySubscription() override;

  std::optional<MessagePtr> next(std::chrono::milliseconds timeout) override { return queue_.pop_for(timeout); }
  std::optional<MessagePtr> try_next() override { return queue_.try_pop(); }
  std::uint64_t dropped() const override { return dropped_.load(); }
  std::size_t pending() const override { return queue_.size(); }
  void close() override { queue_.close(); }

  bool wants(const Message& m) const {
    if (!options_.topics.empty() &&
        std::find(options_.topics.begin(), options_.topics.end(), m.topic) == options_.topics.end()) {
      return false;
    }
    if (!options_.cameras.empty() && !m.camera.empty() &&
        std::find(options_.cameras.begin(), options_.cameras.end(), m.camera) == options_.cameras.end()) {
      return false;
    }
    return true;
  }

  // Returns true if a message was lost.
  bool deliver(const MessagePtr& m) {
    PushResult r = queue_.push(m);
    if (r == PushResult::kDroppedOldest || r == PushResult::kRejected) {
      dropped_.fetch_add(1);
      return true;
    }
    return false;
  }

  void detach() { bus_ = nullptr; }

 private:
  std::atomic<MemoryBus*> bus_;  // null once the bus closed
  const SubscribeOptions options_;
  BoundedQueue<MessagePtr> queue_;
  std::atomic<std::uint64_t> dropped_{0};
};

class MemoryBus final : public EventBus {
 public:
  explicit MemoryBus(const BusOptions& options)
      : clock_(options.clock),
        last_id_((options.first_id != 0 ? options.first_id
                                        : static_cast<std::uint64_t>(std::max<UnixMillis>(options.clock->now_ms(), 1)) * 1000) -
                 1) {
    if (options.metrics != nullptr) {
      published_ = &options.metrics->counter("argus_bus_messages_published_total", "Messages published on the bus.");
      dropped_ = &options.metrics->counter("argus_bus_messages_dropped_total",
                                           "Messages lost because a subscriber's queue was full.");
      auto* gauge = &options.metrics->gauge("argus_bus_subscribers", "Current bus subscribers.");
      metrics_ = options.metrics;
      collector_ = options.metrics->add_collector([this, gauge] { gauge->set(static_cast<double>(subscriber_count())); });
    }
  }
  ~MemoryBus() override {
    close();
    if (metrics_ != nullptr) metrics_->remove_collector(collector_);
  }

  MessagePtr publish(std::string_view topic, std::string camera, nlohmann::json data) override {
    auto m = std::make_shared<Message>();
    m->topic = std::string(topic);
    m->camera = std::move(camera);
    m->time = clock_->now_ms();
    m->data = std::move(data);
    std::lock_guard lock(mu_);
    m->id = ++last_id_;
    m->envelope = make_envelope(*m);
    MessagePtr shared = m;
    if (closed_) return shared;
    if (published_ != nullptr) published_->inc();
    for (auto* s : subscribers_) {
      if (s->wants(*shared) && s->deliver(shared) && dropped_ != nullptr) dropped_->inc();
    }
    return shared;
  }

  std::unique_ptr<Subscription> subscribe(const SubscribeOptions& options) override {
    auto s = std::make_unique<MemorySubscription>(this, options);
    std::lock_guard lock(mu_);
    if (closed_) {
      s->close();
    } else {
      subscribers_.push_back(s.get());
    }
    return s;
  }

  std::size_t subscriber_count() const override {
    std::lock_guard lock(mu_);
    return subscribers_.size();
  }

  void close() override {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (auto* s : subscribers_) {
      s->close();
      s->detach();
    }
    subscribers_.clear();
  }

  void remove(MemorySubscription* s) {
    std::lock_guard lock(mu_);
    subscribers_.erase(std::remove(subscribers_.begin(), subscribers_.end(), s), subscribers_.end());
  }

 private:
  const Clock* clock_;
  metrics::Registry* metrics_ = nullptr;
  std::uint64_t collector_ = 0;
  metrics::Counter* published_ = nullptr;
  metrics::Counter* dropped_ = nullptr;
  mutable std::mutex mu_;
  std::vector<MemorySubscription*> subscribers_;  // guarded by mu_
  std::uint64_t last_id_ = 0;                     // guarded by mu_
  bool closed_ = false;                           // guarded by mu_
};

MemorySubscription::~MemorySubscription() {
  // The bus outlives its subscriptions in normal wiring; after bus.close() it is detached.
  if (MemoryBus* bus = bus_.load()) bus->remove(this);
}

}  // namespace

Result<std::unique_ptr<EventBus>> open_bus(const BusOptions& options) {
  if (options.url == "memory://" || options.url.empty()) {
    return std::unique_ptr<EventBus>(std::make_unique<MemoryBus>(options));
  }
  return Status::invalid_argument("bus url '" + options.url + "' is not supported; use memory://");
}

}  // namespace argus::bus
