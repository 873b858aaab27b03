// StreamHub: fans bus messages out to the WebSocket and SSE connections of the API.
//
// One hub thread reads every bus message once, wraps it in a StreamEntry (the envelope the
// bus serialized, plus its WebSocket frame header and SSE prefix, computed once) and
// offers the shared entry to each subscriber whose filter matches. A subscriber is one
// connection's bounded queue: when it is full, the oldest entry is dropped and counted
// (the connection tells its client), or the subscriber is closed, as the policy says; a
// slow subscriber never blocks the hub or the others. The last `ring_size` entries stay
// in a ring for replay (SSE Last-Event-ID, WebSocket `after_id`, polling with after_id).
//
// A watchdog (on the hub thread, once a second) aborts connections whose write has been
// stuck for longer than `write_timeout` (a client that stopped reading).
//
// Threading: every method is thread-safe. Subscribers are offered entries under the
// hub's lock; wake-ups are called after it is released.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "core/config.h"
#include "core/status.h"

namespace argus::metrics {
class Counter;
class Registry;
}  // namespace argus::metrics

namespace argus::api {

// One bus message as streams send it; shared by every subscriber.
struct StreamEntry {
  bus::MessagePtr message;  // message->envelope is the payload
  std::string ws_header;    // WebSocket text frame header for the envelope
  std::string sse_prefix;   // "id: <id>\ndata: "
};
using StreamEntryPtr = std::shared_ptr<const StreamEntry>;

// The topics a stream may carry, in bit order: events, detections, counts, cameras,
// system, jobs, alerts.
const std::vector<std::string_view>& stream_topics();
// The bit of a topic; nullopt for an unknown name.
std::optional<std::uint32_t> stream_topic_bit(std::string_view topic);
inline constexpr std::uint32_t kAllStreamTopics = (1u << 7) - 1;

// What a subscriber receives: messages of its topics, about its cameras (or not about a
// camera at all), within the caller's camera scope.
struct StreamFilter {
  std::uint32_t topics = 0;                        // bits from stream_topic_bit
  std::vector<std::string> cameras;                // empty = every camera in scope
  std::optional<std::vector<std::string>> scope;   // the caller's cameras (nullopt = all)
  std::string user_id;                             // whose credentials opened the stream
  std::string api_key_id;                          // the API key that did ("" = not a key)
  bool matches(const bus::Message& m) const;
};

class StreamSubscriber {
 public:
  StreamSubscriber(StreamFilter filter, std::size_t capacity, StreamSlowPolicy policy);

  // What take() hands the connection.
  struct Batch {
    std::vector<StreamEntryPtr> entries;
    std::uint64_t dropped = 0;  // entries lost to overflow since the previous take
    bool overflowed = false;    // kDisconnect: the queue overflowed; end the stream
    bool closed = false;        // the hub is stopping (or the subscriber was closed)
    std::string revoked;        // non-empty: its credentials were revoked (why); end the stream
  };
  // Moves what is queued into `out` (cleared first). If nothing is queued (and not closed),
  // the next offer calls the waker.
  void take(Batch& out);

  // The connection's hooks (see StreamConnection::start): set once, before entries flow.
  void set_hooks(std::function<void()> wake, std::function<void()> abort);
  void set_filter(StreamFilter filter);
  StreamFilter filter() const;
  // Stops delivery; the connection sees `closed` at its next take.
  void close();
  // Stops delivery because the credentials that opened the stream changed; the connection
  // sees `closed` and `revoked` (= `why`) at its next take.
  void revoke(std::string why);
  // For the write-stall watchdog.
  void write_started(std::chrono::steady_clock::time_point at);
  void write_finished();

  std::uint64_t dropped_total() const { return dropped_total_.load(); }

 private:
  friend class StreamHub;
  // Offers `e`: kWake if the connection must be woken, kDropped if an entry was lost.
  static constexpr unsigned kWake = 1;
  static constexpr unsigned kDropped = 2;
  unsigned offer(const StreamEntryPtr& e);
  // Replaces the queue with `entries` (a replay); true if the connection must be woken.
  bool reset_queue(std::vector<StreamEntryPtr> entries);
  void wake();
  void abort();

  const std::size_t capacity_;
  const StreamSlowPolicy policy_;
  std::size_t index_ = 0;  // position in the hub's list (hub lock)

  mutable std::mutex mu_;
  StreamFilter filter_;                // guarded by mu_
  std::deque<StreamEntryPtr> queue_;   // guarded by mu_
  std::uint64_t dropped_pending_ = 0;  // guarded by mu_
  bool waiting_ = false;               // guarded by mu_: the connection waits for a wake
  bool overflowed_ = false;            // guarded by mu_
  bool closed_ = false;                // guarded by mu_
  std::string revoked_;                // guarded by mu_
  std::function<void()> wake_;         // guarded by mu_ (copied out to call)
  std::function<void()> abort_;        // guarded by mu_
  std::atomic<std::uint64_t> dropped_total_{0};
  std::atomic<std::int64_t> write_started_ns_{0};  // 0: no write in progress
};

struct StreamHubOptions {
  StreamsConfig config;
  metrics::Registry* metrics = nullptr;  // optional
};

class StreamHub {
 public:
  StreamHub(bus::EventBus& bus, StreamHubOptions options);
  ~StreamHub();  // stops
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;

  // Subscribes to the bus and starts the hub thread. Messages on bus::kAuth are not
  // streamed: each ends the streams whose filter's user_id or api_key_id it names.
  Status start();
  // Closes every subscriber (their connections end) and joins the thread. Idempotent.
  void stop();

  // A new subscriber with `filter`. With `after_id`, its queue starts with the ring's
  // matching entries newer than after_id — with no gap and no duplicate against live
  // entries — and `*truncated` says whether entries after after_id had already left the
  // ring (or after_id is unknown to this hub). ResourceExhausted at max_subscribers;
  // Unavailable once stopped.
  Result<std::shared_ptr<StreamSubscriber>> attach(StreamFilter filter, std::optional<std::uint64_t> after_id,
                                                   bool* truncated);
  // Changes a subscriber's filter; with `after_id`, replaces its queue with a replay as
  // attach does. Returns whether the replay was truncated.
  bool refilter(StreamSubscriber& subscriber, StreamFilter filter, std::optional<std::uint64_t> after_id);
  // Removes a subscriber (its connection ended).
  void detach(const std::shared_ptr<StreamSubscriber>& subscriber);

  // For polling: matching ring entries newer than after_id, at most `limit`.
  struct Replay {
    std::vector<StreamEntryPtr> entries;
    bool truncated = false;
    bool more = false;  // limit cut the list
  };
  Replay replay(std::uint64_t after_id, const StreamFilter& filter, std::size_t limit) const;
  // The id of the newest message seen (0 before any).
  std::uint64_t last_id() const;

  std::size_t subscribers() const;
  const StreamsConfig& config() const { return config_; }

  // Counts for the connections (sent messages, notices, disconnect reasons).
  void count_sent(std::size_t n);
  void count_disconnect(std::string_view reason);

 private:
  void run();
  void fan_out(const bus::MessagePtr& message);
  void watchdog(std::chrono::steady_clock::time_point now);
  void revoke_matching(const bus::Message& message);
  // Under mu_: the replay for `after_id` and whether it is truncated.
  std::vector<StreamEntryPtr> replay_locked(std::uint64_t after_id, const StreamFilter& filter, std::size_t limit,
                                            bool* truncated, bool* more) const;

  bus::EventBus& bus_;
  const StreamsConfig config_;
  metrics::Counter* delivered_ = nullptr;
  metrics::Counter* dropped_ = nullptr;
  metrics::Registry* metrics_ = nullptr;
  std::uint64_t collector_ = 0;  // the subscriber gauge's collector, removed on destruction

  std::unique_ptr<bus::Subscription> subscription_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::deque<StreamEntryPtr> ring_;                          // guarded by mu_
  std::vector<std::shared_ptr<StreamSubscriber>> subscribers_;  // guarded by mu_
  std::uint64_t first_seen_id_ = 0;  // guarded by mu_: id of the first message the hub saw
  std::uint64_t last_id_ = 0;        // guarded by mu_
  bool stopped_ = false;             // guarded by mu_
};

}  // namespace argus::api
