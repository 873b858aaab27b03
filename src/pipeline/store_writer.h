// StoreWriter: persists events and counts off the processing threads, in batches.
//
// Producers enqueue without blocking; one thread drains the queue every 200 ms (or when
// `batch` records wait), merging repeated states of one event into its latest and count
// deltas of one bucket into one, and writes them with one store call each. When the
// queue is full new records are refused and counted (argus_store_writer_dropped_total);
// that only happens if the store cannot keep up for a long time.
#pragma once

#include <atomic>
#include <memory>
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
  StoreWriter(Store* store, std::size_t capacity, metrics::Registry* metrics);
  ~StoreWriter();  // stop()

  void enqueue(EventRecord event);
  void enqueue(CountDelta delta);
  // Returns once everything enqueued before the call is written (or failed).
  void flush();
  // Writes what is queued and stops the thread.
  void stop();
  std::uint64_t dropped() const { return dropped_.load(); }
  std::size_t pending() const { return queue_.size(); }

 private:
  struct Barrier;
  using Item = std::variant<EventRecord, CountDelta, std::shared_ptr<Barrier>>;
  void run();

  Store* store_;
  BoundedQueue<Item> queue_;
  std::atomic<std::uint64_t> dropped_{0};
  metrics::Counter* dropped_metric_ = nullptr;
  metrics::Counter* failures_ = nullptr;
  std::thread thread_;
};

}  // namespace argus::pipeline
