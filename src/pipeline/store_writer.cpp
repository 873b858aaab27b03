#include "pipeline/store_writer.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>

#include "core/log.h"
#include "metrics/metrics.h"
#include "store/store.h"

namespace argus::pipeline {

struct StoreWriter::Barrier {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
};

StoreWriter::StoreWriter(Store* store, std::size_t capacity, metrics::Registry* metrics)
    : store_(store), queue_(capacity, OverflowPolicy::kReject) {
  if (metrics != nullptr) {
    dropped_metric_ = &metrics->counter("argus_store_writer_dropped_total",
                                        "Events and counts not stored because the writer queue was full.");
    failures_ = &metrics->counter("argus_store_writer_failures_total", "Failed batched writes of events or counts.");
    auto* depth = &metrics->gauge("argus_store_writer_queue_depth", "Events and counts waiting to be stored.");
    metrics_ = metrics;
    collector_ = metrics->add_collector([this, depth] { depth->set(static_cast<double>(queue_.size())); });
  }
  thread_ = std::thread([this] { run(); });
}

StoreWriter::~StoreWriter() {
  stop();
  if (metrics_ != nullptr) metrics_->remove_collector(collector_);
}

namespace {
// Budgets kept at most; beyond it the oldest are forgotten (their events may store a few
// detections more than the bound, never fewer).
constexpr std::size_t kMaxBudgets = 4096;
}  // namespace

void StoreWriter::enqueue(EventRecord event) {
  if (event.end_time != 0) forget_detections(event.id);
  if (queue_.push(std::move(event)) != PushResult::kOk) {
    dropped_.fetch_add(1);
    if (dropped_metric_ != nullptr) dropped_metric_->inc();
  }
}

void StoreWriter::enqueue(CountDelta delta) {
  if (queue_.push(std::move(delta)) != PushResult::kOk) {
    dropped_.fetch_add(1);
    if (dropped_metric_ != nullptr) dropped_metric_->inc();
  }
}

bool StoreWriter::enqueue(DetectionRecord detection) {
  {
    std::lock_guard lock(budgets_mu_);
    auto it = budgets_.find(detection.event_id);
    if (it == budgets_.end()) {
      if (budgets_.size() >= kMaxBudgets) {
        auto oldest = std::min_element(budgets_.begin(), budgets_.end(),
                                       [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
        budgets_.erase(oldest);
      }
      it = budgets_.emplace(detection.event_id, DetectionBudget{}).first;
    } else if (it->second.kept >= kMaxDetectionsPerEvent ||
               detection.time - it->second.last < kDetectionIntervalMs) {
      return false;
    }
    it->second.last = detection.time;
    ++it->second.kept;
  }
  if (queue_.push(std::move(detection)) != PushResult::kOk) {
    dropped_.fetch_add(1);
    if (dropped_metric_ != nullptr) dropped_metric_->inc();
    return false;
  }
  return true;
}

void StoreWriter::forget_detections(const std::string& event_id) {
  std::lock_guard lock(budgets_mu_);
  budgets_.erase(event_id);
}

void StoreWriter::flush() {
  auto barrier = std::make_shared<Barrier>();
  // A barrier must get through even when the queue is full: retry briefly.
  for (int i = 0; i < 1000; ++i) {
    PushResult r = queue_.push(barrier);
    if (r == PushResult::kOk) break;
    if (r == PushResult::kClosed) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::unique_lock lock(barrier->mu);
  barrier->cv.wait_for(lock, std::chrono::seconds(30), [&] { return barrier->done; });
}

void StoreWriter::stop() {
  queue_.close();
  if (thread_.joinable()) thread_.join();
}

void StoreWriter::run() {
  for (;;) {
    auto first = queue_.pop_for(std::chrono::milliseconds(200));
    if (!first && queue_.closed() && queue_.size() == 0) return;
    if (!first) continue;
    std::map<std::string, EventRecord> events;  // latest state per event id
    std::map<std::string, CountDelta> counts;   // merged per bucket key
    std::vector<DetectionRecord> detections;
    std::vector<std::shared_ptr<Barrier>> barriers;
    auto take = [&](Item&& item) {
      if (auto* e = std::get_if<EventRecord>(&item)) {
        std::string id = e->id;
        events[id] = std::move(*e);
      } else if (auto* c = std::get_if<CountDelta>(&item)) {
        std::string key = c->camera_id + '\x1f' + c->scope + '\x1f' + c->name + '\x1f' + c->label + '\x1f' +
                          std::to_string(c->bucket);
        auto it = counts.find(key);
        if (it == counts.end()) {
          counts.emplace(std::move(key), std::move(*c));
        } else {
          it->second.seen += c->seen;
          it->second.in += c->in;
          it->second.out += c->out;
          it->second.peak = std::max(it->second.peak, c->peak);
        }
      } else if (auto* d = std::get_if<DetectionRecord>(&item)) {
        detections.push_back(std::move(*d));
      } else {
        barriers.push_back(std::get<std::shared_ptr<Barrier>>(item));
      }
    };
    take(std::move(*first));
    for (int i = 0; i < 1000; ++i) {
      auto more = queue_.try_pop();
      if (!more) break;
      take(std::move(*more));
    }
    if (!events.empty()) {
      std::vector<EventRecord> batch;
      batch.reserve(events.size());
      for (auto& [_, e] : events) batch.push_back(std::move(e));
      Status s = store_->save_events(std::move(batch));
      if (!s.ok()) {
        if (failures_ != nullptr) failures_->inc();
        log::error("storing events failed", {{"error", s.to_string()}, {"events", events.size()}});
      }
    }
    if (!detections.empty()) {
      // After the events, so a detection never refers to an event not stored yet.
      std::size_t n = detections.size();
      Status s = store_->save_detections(std::move(detections));
      if (!s.ok()) {
        if (failures_ != nullptr) failures_->inc();
        log::error("storing detections failed", {{"error", s.to_string()}, {"detections", n}});
      }
    }
    if (!counts.empty()) {
      std::vector<CountDelta> batch;
      batch.reserve(counts.size());
      for (auto& [_, c] : counts) batch.push_back(std::move(c));
      Status s = store_->add_counts(std::move(batch));
      if (!s.ok()) {
        if (failures_ != nullptr) failures_->inc();
        log::error("storing counts failed", {{"error", s.to_string()}, {"rows", counts.size()}});
      }
    }
    for (auto& b : barriers) {
      std::lock_guard lock(b->mu);
      b->done = true;
      b->cv.notify_all();
    }
  }
}

}  // namespace argus::pipeline
