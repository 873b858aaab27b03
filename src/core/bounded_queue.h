// BoundedQueue<T>: the one way Argus hands work between threads.
//
// A fixed capacity and an explicit overflow policy chosen by the owner:
//   kReject      push() fails and the caller decides (the item is not enqueued);
//   kDropOldest  the oldest item is discarded to make room (returned to the caller);
//   kBlock       push() waits for room (only for producers that may wait).
// Thread-safe for any number of producers and consumers. close() wakes everyone: pushes
// fail afterwards; pops drain what is left, then return nullopt.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace argus {

enum class OverflowPolicy { kReject, kDropOldest, kBlock };

enum class PushResult { kOk, kRejected, kDroppedOldest, kClosed };

template <typename T>
class BoundedQueue {
 public:
  BoundedQueue(std::size_t capacity, OverflowPolicy policy)
      : capacity_(capacity == 0 ? 1 : capacity), policy_(policy) {}

  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Enqueues `item` according to the policy. With kDropOldest the discarded item, if any,
  // is moved into *dropped when dropped is non-null.
  PushResult push(T item, T* dropped = nullptr) {
    std::unique_lock lock(mu_);
    if (closed_) return PushResult::kClosed;
    PushResult result = PushResult::kOk;
    if (items_.size() >= capacity_) {
      switch (policy_) {
        case OverflowPolicy::kReject:
          return PushResult::kRejected;
        case OverflowPolicy::kDropOldest:
          if (dropped != nullptr) *dropped = std::move(items_.front());
          items_.pop_front();
          result = PushResult::kDroppedOldest;
          break;
        case OverflowPolicy::kBlock:
          not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
          if (closed_) return PushResult::kClosed;
          break;
      }
    }
    items_.push_back(std::move(item));
    lock.unlock();
    not_empty_.notify_one();
    return result;
  }

  // Waits for an item; nullopt once closed and drained.
  std::optional<T> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    return take_locked(lock);
  }

  // Like pop() but gives up after `timeout` (nullopt on timeout too).
  template <typename Rep, typename Period>
  std::optional<T> pop_for(std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(mu_);
    not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); });
    return take_locked(lock);
  }

  std::optional<T> try_pop() {
    std::unique_lock lock(mu_);
    return take_locked(lock);
  }

  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }
  std::size_t capacity() const { return capacity_; }
  bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }

 private:
  std::optional<T> take_locked(std::unique_lock<std::mutex>& lock) {
    if (items_.empty()) return std::nullopt;
    std::optional<T> out(std::move(items_.front()));
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return out;
  }

  const std::size_t capacity_;
  const OverflowPolicy policy_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> items_;  // guarded by mu_
  bool closed_ = false;  // guarded by mu_
};

}  // namespace argus
