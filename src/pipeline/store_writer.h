// StoreWriter: persists events and counts off the processing threads, in batches.
//
// Producers enqueue without blocking; one thread drains the queue every 200 ms (or when
// `batch` records wait), merging repeated states of one event into its latest and count
// deltas of one bucket into one, and writes them with one store call each. When the
// queue is full new records are refused and counted (argus_store_writer_dropped_total);
// that only happens if the store cannot keep up for a long time.
//
// Detections are sampled before they are queued: per event at most one per
// kDetectionIntervalMs of frame time and at most kMaxDetectionsPerEvent in all.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <thread>
#include <variant>

#include "core/bounded_queue.h"
#include "store/records.h"

namespace argus {
class Store;
namespace metrics {
class Counter;
class Registry;
}  // namespace metrics
}  // namespace argus

namespace argus::pipeline {

class StoreWriter {
 public:
  static constexpr std::int64_t kDetectionIntervalMs = 1000;
  static constexpr int kMaxDetectionsPerEvent = 600;

  StoreWriter(Store* store, std::size_t capacity, metrics::Registry* metrics);
  ~StoreWriter();  // stop()

  void enqueue(EventRecord event);
  void enqueue(CountDelta delta);
  // Queues `detection` if its event's sampling budget allows (see above); returns whether
  // it was queued. Thread-safe.
  bool enqueue(DetectionRecord detection);
  // Returns once everything enqueued before the call is written (or failed).
  void flush();
  // Writes what is queued and stops the thread.
  void stop();
  std::uint64_t dropped() const { return dropped_.load(); }
  std::size_t pending() const { return queue_.size(); }

 private:
  metrics::Registry* metrics_ = nullptr;  // with collector_: the queue-depth collector, removed on destruction
  std::uint64_t collector_ = 0;
  struct Barrier;
  using Item = std::variant<EventRecord, CountDelta, DetectionRecord, std::shared_ptr<Barrier>>;
  struct DetectionBudget {
    UnixMillis last = 0;
    int kept = 0;
  };
  void run();
  void forget_detections(const std::string& event_id);

  Store* store_;
  BoundedQueue<Item> queue_;
  std::atomic<std::uint64_t> dropped_{0};
  metrics::Counter* dropped_metric_ = nullptr;
  metrics::Counter* failures_ = nullptr;
  std::mutex budgets_mu_;
  std::unordered_map<std::string, DetectionBudget> budgets_;  // by event id; guarded by budgets_mu_
  std::thread thread_;
};

}  // namespace argus::pipeline
