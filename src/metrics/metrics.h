// Metrics: counters, gauges and histograms, exposed in the Prometheus text format 0.0.4.
//
// A Registry owns every metric; app/ creates one and passes it to each component.
// Registering returns a reference that stays valid for the registry's lifetime, so hot
// paths look a metric up once and then update it lock-free (atomics). Registering the
// same name and labels twice returns the same metric. Label values must come from a
// bounded set (route templates, camera ids, reasons), never raw user input.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace argus::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(double v = 1.0);  // v >= 0
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1.0);
  void dec(double v = 1.0) { inc(-v); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);  // sorted ascending; +Inf implied
  void observe(double v);
  // Snapshot for exposition: cumulative counts per bound (+Inf last), sum and count.
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

// Default buckets for durations in seconds (100 µs .. 10 s).
std::vector<double> default_seconds_buckets();

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // `name` must match [a-zA-Z_:][a-zA-Z0-9_:]*; counters should end in _total.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& bounds, const Labels& labels = {});

  // A callback run at every exposition, before formatting, to refresh gauges that are
  // read rather than pushed (queue depths, process memory). Runs on the scraping thread.
  void add_collector(std::function<void()> collector);

  // The Prometheus text exposition of every metric, families sorted by name.
  std::string expose() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    std::string help;
    Type type;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };
  Family& family_locked(const std::string& name, const std::string& help, Type type);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;            // guarded by mu_
  std::vector<std::function<void()>> collectors_;     // guarded by mu_
};

}  // namespace argus::metrics
