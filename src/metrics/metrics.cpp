#include "metrics/metrics.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <exception>
#include <limits>
#include <string_view>
#include <system_error>

#include "core/log.h"

namespace argus::metrics {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Lock-free a += v for a double (compare-exchange loop).
void atomic_add(std::atomic<double>& a, double v) {
  double current = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(current, current + v, std::memory_order_relaxed)) {
  }
}

bool is_alpha_or_underscore(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(is_alpha_or_underscore(c) || c == ':' || (i > 0 && is_digit(c)))) return false;
  }
  return true;
}

// [a-zA-Z_][a-zA-Z0-9_]*
bool valid_label_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(is_alpha_or_underscore(c) || (i > 0 && is_digit(c)))) return false;
  }
  return true;
}

// Sorted by label name (stable, so duplicates keep their relative order).
Labels canonical_labels(const Labels& labels) {
  Labels sorted = labels;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return sorted;
}

// Checks a canonical label set; asserts in debug builds on failure.
bool check_labels(const Labels& sorted, bool is_histogram) {
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const std::string& name = sorted[i].first;
    if (!valid_label_name(name)) {
      assert(false && "metrics: invalid label name");
      return false;
    }
    if (name.starts_with("__")) {
      assert(false && "metrics: label names starting with __ are reserved");
      return false;
    }
    if (is_histogram && name == "le") {
      assert(false && "metrics: label le is reserved on histograms");
      return false;
    }
    if (i > 0 && sorted[i - 1].first == name) {
      assert(false && "metrics: duplicate label name");
      return false;
    }
  }
  return true;
}

// Strictly ascending, no NaN (so +Inf can only be last).
bool valid_bounds(const std::vector<double>& bounds) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i])) return false;
    if (i > 0 && !(bounds[i - 1] < bounds[i])) return false;
  }
  return true;
}

// Sorted, unique, without NaN or +Inf.
std::vector<double> normalized_bounds(std::vector<double> bounds) {
  assert(valid_bounds(bounds) && "metrics: histogram bounds must be strictly ascending, no NaN");
  std::erase_if(bounds, [](double b) { return std::isnan(b) || b == kInf; });
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  return bounds;
}

// Prometheus number spelling: integers exactly representable in a double without exponent
// or fraction, other finite values in the shortest round-trip form, +Inf, -Inf, NaN.
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53
  char buf[64];
  std::to_chars_result r;
  if (std::trunc(v) == v && std::fabs(v) <= kMaxExactInteger) {
    r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
  } else {
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  }
  assert(r.ec == std::errc());
  out.append(buf, r.ptr);
}

void append_number(std::string& out, std::uint64_t v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// HELP text: backslash and newline escaped.
void append_escaped_help(std::string& out, std::string_view text) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// Label values: backslash, double quote and newline escaped.
void append_escaped_label_value(std::string& out, std::string_view text) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// `name` + `suffix` + `{labels[,le="..."]}` (braces omitted when there are no labels).
void append_series(std::string& out, const std::string& name, std::string_view suffix, const Labels& labels,
                   const std::string* le = nullptr) {
  out += name;
  out += suffix;
  if (labels.empty() && le == nullptr) return;
  out += '{';
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += key;
    out += "=\"";
    append_escaped_label_value(out, value);
    out += '"';
  }
  if (le != nullptr) {
    if (!first) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
}

constexpr std::string_view kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

}  // namespace

// ---- Counter, Gauge ----

void Counter::inc(double v) {
  assert(v >= 0 && "Counter::inc requires v >= 0");
  if (!(v >= 0)) return;  // also rejects NaN
  atomic_add(value_, v);
}

void Counter::set_total(double v) {
  assert(v >= 0 && "Counter::set_total requires v >= 0");
  if (!(v >= 0)) return;
  value_.store(v, std::memory_order_relaxed);
}

void Gauge::inc(double v) { atomic_add(value_, v); }

// ---- Histogram ----

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(normalized_bounds(std::move(upper_bounds))),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double v) {
  std::size_t i = bounds_.size();
  if (!std::isnan(v)) {
    i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  }
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(total);
  }
  s.count = total;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> default_seconds_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

// ---- Registry ----

Registry::Family* Registry::family_locked(const std::string& name, const std::string& help, Type type) {
  if (!valid_metric_name(name)) {
    assert(false && "metrics: invalid metric name");
    return nullptr;
  }
  if (auto it = families_.find(name); it != families_.end()) {
    if (it->second.type != type) {
      assert(false && "metrics: metric name already registered with another type");
      return nullptr;
    }
    return &it->second;
  }
  // A new family must not collide with the extra series a histogram exposes.
  for (const std::string_view suffix : kHistogramSuffixes) {
    bool collides = type == Type::kHistogram && families_.contains(name + std::string(suffix));
    if (!collides && name.ends_with(suffix)) {
      auto stem = families_.find(name.substr(0, name.size() - suffix.size()));
      collides = stem != families_.end() && stem->second.type == Type::kHistogram;
    }
    if (collides) {
      assert(false && "metrics: metric name collides with a histogram's series");
      return nullptr;
    }
  }
  Family& family = families_[name];
  family.help = help;
  family.type = type;
  return &family;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  Labels key = canonical_labels(labels);
  std::lock_guard lock(mu_);
  Family* family = check_labels(key, false) ? family_locked(name, help, Type::kCounter) : nullptr;
  if (family == nullptr) {
    return *detached_counters_.emplace_back(std::make_unique<Counter>());
  }
  auto& slot = family->counters[std::move(key)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  Labels key = canonical_labels(labels);
  std::lock_guard lock(mu_);
  Family* family = check_labels(key, false) ? family_locked(name, help, Type::kGauge) : nullptr;
  if (family == nullptr) {
    return *detached_gauges_.emplace_back(std::make_unique<Gauge>());
  }
  auto& slot = family->gauges[std::move(key)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                               const Labels& labels) {
  Labels key = canonical_labels(labels);
  std::lock_guard lock(mu_);
  bool ok = check_labels(key, true);
  if (ok && !valid_bounds(bounds)) {
    assert(false && "metrics: histogram bounds must be strictly ascending, no NaN");
    ok = false;
  }
  Family* family = ok ? family_locked(name, help, Type::kHistogram) : nullptr;
  if (family == nullptr) {
    return *detached_histograms_.emplace_back(std::make_unique<Histogram>(ok ? bounds : std::vector<double>{}));
  }
  auto& slot = family->histograms[std::move(key)];
  if (!slot) {
    slot = std::make_unique<Histogram>(bounds);
  }
#ifndef NDEBUG
  std::vector<double> finite = bounds;
  if (!finite.empty() && finite.back() == kInf) finite.pop_back();
  assert(slot->bounds() == finite && "metrics: histogram re-registered with different bounds");
#endif
  return *slot;
}

std::uint64_t Registry::add_collector(std::function<void()> collector) {
  auto shared = std::make_shared<std::function<void()>>(std::move(collector));
  std::lock_guard lock(mu_);
  std::uint64_t id = next_collector_id_++;
  collectors_.emplace_back(id, std::move(shared));
  return id;
}

void Registry::remove_collector(std::uint64_t id) {
  std::lock_guard collecting(collect_mu_);  // waits for a run in progress
  std::lock_guard lock(mu_);
  collectors_.erase(std::remove_if(collectors_.begin(), collectors_.end(),
                                   [id](const auto& c) { return c.first == id; }),
                    collectors_.end());
}

void Registry::run_collectors() const {
  std::lock_guard collect_lock(collect_mu_);
  std::vector<std::shared_ptr<std::function<void()>>> collectors;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, c] : collectors_) collectors.push_back(c);
  }
  for (const auto& collector : collectors) {
    try {
      (*collector)();
    } catch (const std::exception& e) {
      log::warn("metrics collector failed", {{"error", e.what()}});
    } catch (...) {
      log::warn("metrics collector failed", {{"error", "unknown exception"}});
    }
  }
}

std::string Registry::expose() const {
  run_collectors();

  std::string out;
  std::string le;
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) {
    out += "# HELP ";
    out += name;
    out += ' ';
    append_escaped_help(out, family.help);
    out += "\n# TYPE ";
    out += name;
    switch (family.type) {
      case Type::kCounter:
        out += " counter\n";
        for (const auto& [labels, c] : family.counters) {
          append_series(out, name, "", labels);
          out += ' ';
          append_number(out, c->value());
          out += '\n';
        }
        break;
      case Type::kGauge:
        out += " gauge\n";
        for (const auto& [labels, g] : family.gauges) {
          append_series(out, name, "", labels);
          out += ' ';
          append_number(out, g->value());
          out += '\n';
        }
        break;
      case Type::kHistogram:
        out += " histogram\n";
        for (const auto& [labels, h] : family.histograms) {
          const Histogram::Snapshot s = h->snapshot();
          for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
            le.clear();
            append_number(le, i < s.bounds.size() ? s.bounds[i] : kInf);
            append_series(out, name, "_bucket", labels, &le);
            out += ' ';
            append_number(out, s.cumulative[i]);
            out += '\n';
          }
          append_series(out, name, "_sum", labels);
          out += ' ';
          append_number(out, s.sum);
          out += '\n';
          append_series(out, name, "_count", labels);
          out += ' ';
          append_number(out, s.count);
          out += '\n';
        }
        break;
    }
  }
  return out;
}

}  // namespace argus::metrics
