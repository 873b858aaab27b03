#include "metrics/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>

namespace argus::metrics {
namespace {

// The value of the sample line `series value`, or NaN if absent.
double sample(const std::string& exposition, const std::string& series) {
  const std::string prefix = "\n" + series + " ";
  const std::string text = "\n" + exposition;
  const std::size_t pos = text.find(prefix);
  if (pos == std::string::npos) return std::nan("");
  return std::strtod(text.c_str() + pos + prefix.size(), nullptr);
}

TEST(ProcessMetricsTest, PlausibleValues) {
  Registry r;
  register_process_metrics(r);
  const std::string text = r.expose();

  EXPECT_NE(text.find("# TYPE argus_process_cpu_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE argus_process_resident_memory_bytes gauge\n"), std::string::npos);

  const double rss = sample(text, "argus_process_resident_memory_bytes");
  const double vsize = sample(text, "argus_process_virtual_memory_bytes");
  EXPECT_GT(rss, 0);
  EXPECT_GE(vsize, rss);

  EXPECT_GE(sample(text, "argus_process_cpu_seconds_total"), 0);

  const double open_fds = sample(text, "argus_process_open_fds");
  const double max_fds = sample(text, "argus_process_max_fds");
  EXPECT_GE(open_fds, 3);  // stdin, stdout, stderr
  EXPECT_GE(max_fds, open_fds);

  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = sample(text, "argus_process_start_time_seconds");
  EXPECT_LE(start, now + 2);  // btime is whole seconds
  EXPECT_GT(start, now - 3600);
}

TEST(ProcessMetricsTest, TracksOpenFdsAndCpu) {
  Registry r;
  register_process_metrics(r);
  const std::string before = r.expose();

  const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  volatile double sink = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  while (std::chrono::steady_clock::now() < until) sink = sink + 1;
  const std::string after = r.expose();
  close(fd);

  EXPECT_EQ(sample(after, "argus_process_open_fds"), sample(before, "argus_process_open_fds") + 1);
  EXPECT_GE(sample(after, "argus_process_cpu_seconds_total"), sample(before, "argus_process_cpu_seconds_total"));
  EXPECT_GT(sample(after, "argus_process_cpu_seconds_total"), 0);
}

}  // namespace
}  // namespace argus::metrics
