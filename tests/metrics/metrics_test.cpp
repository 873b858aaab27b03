#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace argus::metrics {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The value text of the sample line `series value`, or "<missing>".
std::string sample_text(const std::string& exposition, const std::string& series) {
  const std::string prefix = series + " ";
  std::size_t pos = 0;
  while (pos < exposition.size()) {
    std::size_t end = exposition.find('\n', pos);
    if (end == std::string::npos) end = exposition.size();
    const std::string_view line(exposition.data() + pos, end - pos);
    if (line.starts_with(prefix)) return std::string(line.substr(prefix.size()));
    pos = end + 1;
  }
  return "<missing>";
}

TEST(MetricsExpositionTest, CounterGaugeHistogramWithLabels) {
  Registry r;
  r.counter("argus_frames_total", "Frames decoded.", {{"camera", "front"}}).inc(3);
  r.counter("argus_frames_total", "Frames decoded.", {{"camera", "back"}}).inc(1.5);
  // Labels given out of order are exposed sorted by name.
  r.gauge("argus_queue_depth", "Items waiting.", {{"queue", "detect"}, {"camera", "front"}}).set(-2);
  r.gauge("argus_up", "1 when serving.").set(1);
  Histogram& h =
      r.histogram("argus_request_seconds", "Request latency.", {0.25, 1, 2.5}, {{"route", "/api"}, {"method", "GET"}});
  for (double v : {0.125, 0.25, 0.5, 3.0}) h.observe(v);

  EXPECT_EQ(r.expose(),
            "# HELP argus_frames_total Frames decoded.\n"
            "# TYPE argus_frames_total counter\n"
            "argus_frames_total{camera=\"back\"} 1.5\n"
            "argus_frames_total{camera=\"front\"} 3\n"
            "# HELP argus_queue_depth Items waiting.\n"
            "# TYPE argus_queue_depth gauge\n"
            "argus_queue_depth{camera=\"front\",queue=\"detect\"} -2\n"
            "# HELP argus_request_seconds Request latency.\n"
            "# TYPE argus_request_seconds histogram\n"
            "argus_request_seconds_bucket{method=\"GET\",route=\"/api\",le=\"0.25\"} 2\n"
            "argus_request_seconds_bucket{method=\"GET\",route=\"/api\",le=\"1\"} 3\n"
            "argus_request_seconds_bucket{method=\"GET\",route=\"/api\",le=\"2.5\"} 3\n"
            "argus_request_seconds_bucket{method=\"GET\",route=\"/api\",le=\"+Inf\"} 4\n"
            "argus_request_seconds_sum{method=\"GET\",route=\"/api\"} 3.875\n"
            "argus_request_seconds_count{method=\"GET\",route=\"/api\"} 4\n"
            "# HELP argus_up 1 when serving.\n"
            "# TYPE argus_up gauge\n"
            "argus_up 1\n");
}

TEST(MetricsExpositionTest, UnlabelledHistogram) {
  Registry r;
  Histogram& h = r.histogram("argus_h", "H.", {1});
  h.observe(0.5);
  h.observe(7);
  EXPECT_EQ(r.expose(),
            "# HELP argus_h H.\n"
            "# TYPE argus_h histogram\n"
            "argus_h_bucket{le=\"1\"} 1\n"
            "argus_h_bucket{le=\"+Inf\"} 2\n"
            "argus_h_sum 7.5\n"
            "argus_h_count 2\n");
}

TEST(MetricsExpositionTest, EmptyRegistryIsEmpty) { EXPECT_EQ(Registry().expose(), ""); }

TEST(MetricsExpositionTest, EscapesHelpAndLabelValues) {
  Registry r;
  r.gauge("argus_e", "Help with \\ backslash\nand newline \"quotes\" kept.",
          {{"path", "C:\\dir\n\"x\""}, {"name", "café"}})
      .set(1);
  EXPECT_EQ(r.expose(), R"(# HELP argus_e Help with \\ backslash\nand newline "quotes" kept.
# TYPE argus_e gauge
argus_e{name="café",path="C:\\dir\n\"x\""} 1
)");
}

TEST(MetricsExpositionTest, NumberSpelling) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0, "0"},
      {-0.0, "0"},
      {42, "42"},
      {-7, "-7"},
      {0.1, "0.1"},
      {2.5, "2.5"},
      {1.0 / 3, "0.3333333333333333"},
      {12345.5, "12345.5"},
      {123456789.25, "1.2345678925e+08"},  // as Go's client spells it
      {1e-5, "1e-05"},
      {1.5e-7, "1.5e-07"},
      {9007199254740992.0, "9007199254740992"},  // 2^53: still exact
      {1e20, "1e+20"},
      {kInf, "+Inf"},
      {-kInf, "-Inf"},
      {kNaN, "NaN"},
  };
  Registry r;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    r.gauge("argus_n", "n", {{"i", std::to_string(i)}}).set(cases[i].first);
  }
  const std::string text = r.expose();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(sample_text(text, "argus_n{i=\"" + std::to_string(i) + "\"}"), cases[i].second) << "value #" << i;
  }
}

TEST(MetricsExpositionTest, DefaultBucketsLabels) {
  EXPECT_EQ(default_seconds_buckets(), (std::vector<double>{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                            0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}));
  Registry r;
  r.histogram("argus_d_seconds", "d", default_seconds_buckets()).observe(0.003);
  const std::string text = r.expose();
  std::vector<std::string> les;
  const std::regex le_re("le=\"([^\"]*)\"\\} ([0-9]+)");
  std::string counts;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), le_re); it != std::sregex_iterator(); ++it) {
    les.push_back((*it)[1]);
    counts += (*it)[2].str();
  }
  EXPECT_EQ(les, (std::vector<std::string>{"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
                                           "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}));
  EXPECT_EQ(counts, "00000111111111111");
  EXPECT_EQ(sample_text(text, "argus_d_seconds_sum"), "0.003");
  EXPECT_EQ(sample_text(text, "argus_d_seconds_count"), "1");
}

TEST(HistogramTest, CumulativeBucketsInclusiveUpperBounds) {
  Histogram h({1, 2, 5});
  for (double v : {1.0, 0.5, -10.0, 2.0000001, 100.0, kInf}) h.observe(v);
  const Histogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.bounds, (std::vector<double>{1, 2, 5}));
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{3, 3, 4, 6}));
  EXPECT_EQ(s.count, 6u);
  EXPECT_EQ(s.sum, kInf);
}

TEST(HistogramTest, NaNCountsOnlyInInf) {
  Histogram h({1});
  h.observe(kNaN);
  const Histogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{0, 1}));
  EXPECT_EQ(s.count, 1u);
  EXPECT_TRUE(std::isnan(s.sum));
}

TEST(HistogramTest, TrailingInfBoundIsImplied) {
  Registry r;
  Histogram& h = r.histogram("argus_t", "t", {0.5, kInf});
  EXPECT_EQ(h.bounds(), (std::vector<double>{0.5}));
  EXPECT_EQ(&r.histogram("argus_t", "t", {0.5}), &h);
  h.observe(1);
  EXPECT_EQ(r.expose(),
            "# HELP argus_t t\n"
            "# TYPE argus_t histogram\n"
            "argus_t_bucket{le=\"0.5\"} 0\n"
            "argus_t_bucket{le=\"+Inf\"} 1\n"
            "argus_t_sum 1\n"
            "argus_t_count 1\n");
}

TEST(HistogramTest, NoBoundsHasOnlyInf) {
  Histogram h({});
  h.observe(3);
  EXPECT_EQ(h.snapshot().cumulative, (std::vector<std::uint64_t>{1}));
}

TEST(RegistryTest, SameNameAndLabelsReturnSameObject) {
  Registry r;
  Counter& a = r.counter("argus_c_total", "First help.", {{"a", "1"}, {"b", "2"}});
  EXPECT_EQ(&r.counter("argus_c_total", "Other help.", {{"a", "1"}, {"b", "2"}}), &a);
  EXPECT_EQ(&r.counter("argus_c_total", "First help.", {{"b", "2"}, {"a", "1"}}), &a);
  Counter& other_value = r.counter("argus_c_total", "First help.", {{"a", "1"}, {"b", "3"}});
  Counter& no_labels = r.counter("argus_c_total", "First help.");
  EXPECT_NE(&other_value, &a);
  EXPECT_NE(&no_labels, &a);
  EXPECT_NE(&no_labels, &other_value);

  Gauge& g = r.gauge("argus_g", "g", {{"x", "1"}});
  EXPECT_EQ(&r.gauge("argus_g", "g", {{"x", "1"}}), &g);
  EXPECT_NE(&r.gauge("argus_g", "g", {{"x", "2"}}), &g);

  Histogram& h = r.histogram("argus_h", "h", {1, 2}, {{"x", "1"}});
  EXPECT_EQ(&r.histogram("argus_h", "h", {1, 2}, {{"x", "1"}}), &h);
  EXPECT_NE(&r.histogram("argus_h", "h", {1, 2}, {{"x", "2"}}), &h);

  a.inc();
  const std::string text = r.expose();
  EXPECT_NE(text.find("# HELP argus_c_total First help.\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("Other help."), std::string::npos) << text;
  EXPECT_EQ(sample_text(text, "argus_c_total{a=\"1\",b=\"2\"}"), "1");
  EXPECT_EQ(sample_text(text, "argus_c_total{a=\"1\",b=\"3\"}"), "0");
  EXPECT_EQ(sample_text(text, "argus_c_total"), "0");
}

TEST(RegistryTest, ConcurrentIncrementsAreExact) {
  constexpr int kThreads = 8;
  constexpr int kIncrements = 100000;
  Registry r;
  Counter& c = r.counter("argus_hits_total", "hits");
  Gauge& g = r.gauge("argus_level", "level");
  Histogram& h = r.histogram("argus_obs", "obs", {0.5, 2});
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        c.inc();
        g.inc(2);
        g.dec();
        h.observe(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  constexpr double kTotal = double{kThreads} * kIncrements;
  EXPECT_EQ(c.value(), kTotal);
  EXPECT_EQ(g.value(), kTotal);
  const Histogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.count, static_cast<std::uint64_t>(kTotal));
  EXPECT_EQ(s.sum, kTotal);
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{0, s.count, s.count}));
  EXPECT_EQ(sample_text(r.expose(), "argus_hits_total"), "800000");
}

TEST(RegistryTest, ConcurrentRegistrationAndExposition) {
  Registry r;
  std::vector<std::thread> threads;
  std::vector<Counter*> seen(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r, &seen, t] {
      for (int i = 0; i < 200; ++i) {
        Counter& c = r.counter("argus_shared_total", "s", {{"k", std::to_string(i % 10)}});
        c.inc();
        if (i % 10 == 0) seen[static_cast<std::size_t>(t)] = &c;
        if (i % 50 == 0) (void)r.expose();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (Counter* c : seen) EXPECT_EQ(c, seen[0]);
  EXPECT_EQ(seen[0]->value(), 80);
}

TEST(RegistryTest, CollectorsRunAtExposition) {
  Registry r;
  Gauge& depth = r.gauge("argus_depth", "d");
  int calls = 0;
  r.add_collector([&] {
    ++calls;
    depth.set(calls * 10);
  });
  // A collector may register metrics, and may keep state of its own.
  r.add_collector([&r, n = 0]() mutable { r.gauge("argus_lazy", "l").set(++n); });
  EXPECT_EQ(calls, 0);
  std::string text = r.expose();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(sample_text(text, "argus_depth"), "10");
  EXPECT_EQ(sample_text(text, "argus_lazy"), "1");
  text = r.expose();
  EXPECT_EQ(sample_text(text, "argus_depth"), "20");
  EXPECT_EQ(sample_text(text, "argus_lazy"), "2");
}

TEST(RegistryTest, RemovedCollectorNeverRunsAgainEvenDuringAScrape) {
  Registry r;
  std::atomic<int> calls{0};
  std::atomic<bool> running{false};
  std::uint64_t id = r.add_collector([&] {
    running = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ++calls;
    running = false;
  });
  r.expose();
  EXPECT_EQ(calls.load(), 1);
  // Removing while a scrape runs the collector waits for it to return.
  std::thread scrape([&] { r.expose(); });
  while (!running) std::this_thread::yield();
  r.remove_collector(id);
  EXPECT_FALSE(running.load());
  EXPECT_EQ(calls.load(), 2);
  scrape.join();
  r.expose();
  EXPECT_EQ(calls.load(), 2);
  r.remove_collector(id);  // unknown ids are ignored
}

TEST(RegistryTest, ThrowingCollectorDoesNotStopOthers) {
  Registry r;
  Gauge& g = r.gauge("argus_g", "g");
  r.add_collector([] { throw std::runtime_error("boom"); });
  r.add_collector([&] { g.set(5); });
  EXPECT_EQ(sample_text(r.expose(), "argus_g"), "5");
}

TEST(RegistryTest, CollectorsDoNotOverlapAcrossScrapes) {
  Registry r;
  std::atomic<bool> inside{false};
  std::atomic<int> overlaps{0};
  int unguarded = 0;  // only touched by the collector
  r.add_collector([&] {
    if (inside.exchange(true)) overlaps.fetch_add(1);
    ++unguarded;
    std::this_thread::yield();
    inside.store(false);
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) (void)r.expose();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(unguarded, 800);
}

// Programming errors assert in debug builds; release builds hand out a detached metric that
// is never exposed. EXPECT_DEBUG_DEATH checks whichever applies to this build.
class MetricsDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(MetricsDeathTest, TypeConflict) {
  Registry r;
  r.counter("argus_x_total", "x").inc();
  EXPECT_DEBUG_DEATH(r.gauge("argus_x_total", "x").set(5), "another type");
  EXPECT_DEBUG_DEATH(r.histogram("argus_x_total", "x", {1}).observe(5), "another type");
  EXPECT_EQ(r.expose(),
            "# HELP argus_x_total x\n"
            "# TYPE argus_x_total counter\n"
            "argus_x_total 1\n");
}

TEST_F(MetricsDeathTest, InvalidNames) {
  Registry r;
  EXPECT_DEBUG_DEATH(r.counter("1st_total", "x").inc(), "invalid metric name");
  EXPECT_DEBUG_DEATH(r.counter("bad-name", "x").inc(), "invalid metric name");
  EXPECT_DEBUG_DEATH(r.gauge("", "x").set(1), "invalid metric name");
  EXPECT_DEBUG_DEATH(r.gauge("argus_ok", "x", {{"bad-label", "v"}}).set(1), "invalid label name");
  EXPECT_DEBUG_DEATH(r.gauge("argus_ok", "x", {{"1a", "v"}}).set(1), "invalid label name");
  EXPECT_DEBUG_DEATH(r.gauge("argus_ok", "x", {{"__name__", "v"}}).set(1), "reserved");
  EXPECT_DEBUG_DEATH(r.gauge("argus_ok", "x", {{"a", "1"}, {"a", "2"}}).set(1), "duplicate label name");
  EXPECT_DEBUG_DEATH(r.histogram("argus_ok_h", "x", {1}, {{"le", "1"}}).observe(1), "le is reserved");
  EXPECT_EQ(r.expose(), "");
  // Names with colons and le on a non-histogram are fine.
  r.gauge("argus:rule:ratio", "x", {{"le", "1"}}).set(1);
  EXPECT_EQ(sample_text(r.expose(), "argus:rule:ratio{le=\"1\"}"), "1");
}

TEST_F(MetricsDeathTest, InvalidBounds) {
  Registry r;
  EXPECT_DEBUG_DEATH(r.histogram("argus_b", "b", {2, 1}).observe(1), "strictly ascending");
  EXPECT_DEBUG_DEATH(r.histogram("argus_b", "b", {1, 1}).observe(1), "strictly ascending");
  EXPECT_DEBUG_DEATH(r.histogram("argus_b", "b", {kNaN}).observe(1), "strictly ascending");
  EXPECT_EQ(r.expose(), "");
  Histogram& h = r.histogram("argus_b", "b", {1, 2});
  EXPECT_DEBUG_DEATH(r.histogram("argus_b", "b", {1, 3}).observe(1), "different bounds");
  EXPECT_EQ(h.bounds(), (std::vector<double>{1, 2}));
}

TEST_F(MetricsDeathTest, HistogramSeriesCollisions) {
  Registry r;
  r.histogram("argus_lat", "l", {1});
  EXPECT_DEBUG_DEATH(r.counter("argus_lat_count", "c").inc(), "collides");
  EXPECT_DEBUG_DEATH(r.gauge("argus_lat_sum", "c").set(1), "collides");
  r.gauge("argus_q_bucket", "q");
  EXPECT_DEBUG_DEATH(r.histogram("argus_q", "q", {1}).observe(1), "collides");
  // Only a histogram stem collides.
  r.gauge("argus_plain", "p");
  r.gauge("argus_plain_count", "p").set(2);
  const std::string text = r.expose();
  EXPECT_EQ(sample_text(text, "argus_plain_count"), "2");
  EXPECT_EQ(text.find("# TYPE argus_lat_count"), std::string::npos);
  EXPECT_EQ(text.find("# TYPE argus_q "), std::string::npos);
}

TEST_F(MetricsDeathTest, NegativeCounterIncrementIgnored) {
  Registry r;
  Counter& c = r.counter("argus_n_total", "n");
  c.inc(2);
  EXPECT_DEBUG_DEATH(c.inc(-1), "requires v >= 0");
  EXPECT_DEBUG_DEATH(c.inc(kNaN), "requires v >= 0");
  EXPECT_EQ(c.value(), 2);
}

TEST(CounterTest, SetTotalMirrorsExternalCount) {
  Counter c;
  c.set_total(12.5);
  EXPECT_EQ(c.value(), 12.5);
  c.inc(0.5);
  EXPECT_EQ(c.value(), 13);
}

}  // namespace
}  // namespace argus::metrics
