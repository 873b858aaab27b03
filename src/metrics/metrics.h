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

// A label set. Order does not matter: the registry sorts it by label name, so
// {{"a","1"},{"b","2"}} and {{"b","2"},{"a","1"}} name the same series, and exposition
// prints labels sorted by name.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count. Thread-safe: every method may be called from any
// thread concurrently; updates are lock-free.
class Counter {
 public:
  // Adds v. Requires v >= 0; a negative (or NaN) v asserts in debug builds and is ignored
  // in release builds.
  void inc(double v = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

  // Replaces the value. Only for collectors mirroring an external monotonic count (process
  // CPU seconds, a library's own statistics); everything else uses inc(). Requires v >= 0.
  void set_total(double v);

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down. Thread-safe and lock-free, like Counter.
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1.0);
  void dec(double v = 1.0) { inc(-v); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A distribution of observations in fixed buckets. Thread-safe: observe() is lock-free and
// may run concurrently with snapshot(). A snapshot taken during concurrent observations is
// internally consistent for bucket counts and count (the +Inf bucket always equals count);
// sum may include an observation whose bucket is not yet counted, or vice versa.
class Histogram {
 public:
  // `upper_bounds` must be strictly ascending and free of NaN; a trailing +Inf is allowed
  // and dropped (+Inf is always implied). Violations assert in debug builds; release builds
  // sort, de-duplicate and drop NaN instead.
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counts v in the first bucket whose upper bound is >= v (NaN goes to +Inf only) and
  // adds it to the sum.
  void observe(double v);

  // The finite upper bounds, ascending (normalized as described at the constructor).
  const std::vector<double>& bounds() const { return bounds_; }

  // Snapshot for exposition: cumulative counts per bound (+Inf last), sum and count.
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // bounds.size() + 1 entries
    double sum = 0;
    std::uint64_t count = 0;  // == cumulative.back()
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double> bounds_;
  // Non-cumulative: buckets_[i] counts observations in (bounds_[i-1], bounds_[i]];
  // buckets_[bounds_.size()] counts those above the last bound (and NaN).
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Default buckets for durations in seconds (100 µs .. 10 s).
std::vector<double> default_seconds_buckets();

// Owns every metric and renders them. Thread-safe: registration, add_collector() and
// expose() may be called from any thread; they serialize on an internal mutex.
// Metric updates never take that mutex.
//
// Programming errors: an invalid metric or label name, a reserved label name ("__"
// prefix; "le" on a histogram), a duplicate label name, invalid histogram bounds, or a
// name already registered with another type (or colliding with a histogram's _bucket,
// _sum or _count series) assert in debug builds. In release builds the call returns a
// detached metric: usable, kept alive as long as the registry, never exposed.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // `name` must match [a-zA-Z_:][a-zA-Z0-9_:]*; counters should end in _total. Label names
  // must match [a-zA-Z_][a-zA-Z0-9_]*. The first registration of a name sets its help
  // text; later registrations' help is ignored. The returned reference is valid for the
  // registry's lifetime.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  // Registering an existing name and label set with different bounds is a programming
  // error (asserts in debug); release builds return the existing histogram.
  Histogram& histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                       const Labels& labels = {});

  // A callback run at every exposition, before formatting, to refresh gauges that are
  // read rather than pushed (queue depths, process memory). Runs on the scraping thread,
  // without the registry's lock held, so it may register and update metrics. Collectors
  // run one at a time, even across concurrent scrapes, so a collector may keep state of its
  // own without locking. A collector must not call expose(); an exception it throws is
  // logged and swallowed. Returns an id for remove_collector().
  std::uint64_t add_collector(std::function<void()> collector);
  // Removes a collector. On return it is not running and will not run again, so an object
  // it captured may be destroyed. Must not be called from a collector.
  void remove_collector(std::uint64_t id);

  // The Prometheus text exposition of every metric, families sorted by name and series
  // by label set. Runs the collectors first.
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
  // The family `name` of `type`, created if absent; nullptr if `name` is invalid or taken
  // by another type. Requires mu_ held.
  Family* family_locked(const std::string& name, const std::string& help, Type type);
  void run_collectors() const;

  mutable std::mutex collect_mu_;  // serializes collector runs; taken before mu_, never after
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;                          // guarded by mu_
  std::vector<std::pair<std::uint64_t, std::shared_ptr<std::function<void()>>>> collectors_;  // guarded by mu_
  std::uint64_t next_collector_id_ = 1;                                                     // guarded by mu_
  // Metrics handed out for programming errors (release builds); never exposed.
  std::vector<std::unique_ptr<Counter>> detached_counters_;      // guarded by mu_
  std::vector<std::unique_ptr<Gauge>> detached_gauges_;          // guarded by mu_
  std::vector<std::unique_ptr<Histogram>> detached_histograms_;  // guarded by mu_
};

}  // namespace argus::metrics
