#include "metrics/process.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace argus::metrics {
namespace {

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(text).str();
}

template <typename T>
std::optional<T> parse_integer(std::string_view text) {
  T value{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// The fields of /proc/self/stat after "pid (comm)": element 0 is field 3 (state) of
// proc(5), so field N is element N - 3. comm may contain spaces and ')', hence the
// search for the last ')'.
std::vector<std::string_view> stat_fields(std::string_view stat) {
  std::vector<std::string_view> fields;
  const std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return fields;
  std::string_view rest = stat.substr(close + 1);
  while (!rest.empty()) {
    const std::size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const std::size_t end = std::min(rest.find_first_of(" \n"), rest.size());
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  return fields;
}

// System boot time (Unix seconds) from the "btime" line of /proc/stat.
std::optional<long long> boot_time_seconds() {
  const std::optional<std::string> stat = read_file("/proc/stat");
  if (!stat) return std::nullopt;
  std::string_view text = *stat;
  constexpr std::string_view kKey = "btime ";
  std::size_t pos = text.starts_with(kKey) ? 0 : text.find("\nbtime ");
  if (pos == std::string_view::npos) return std::nullopt;
  pos += text.starts_with(kKey) ? kKey.size() : kKey.size() + 1;
  const std::size_t end = std::min(text.find('\n', pos), text.size());
  return parse_integer<long long>(text.substr(pos, end - pos));
}

// Open descriptors, not counting the one used to list them.
std::optional<long> open_fd_count() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  const std::string own = std::to_string(dirfd(dir));
  long count = 0;
  while (const dirent* entry = readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == ".." || name == own) continue;
    ++count;
  }
  closedir(dir);
  return count;
}

struct ProcessCollector {
  Gauge* resident;
  Gauge* virtual_memory;
  Counter* cpu_seconds;
  Gauge* open_fds;
  Gauge* max_fds;
  Gauge* start_time;

  // Collectors run one at a time (Registry contract), so no locking here. A value that
  // cannot be read keeps the previous one.
  void operator()() {
    const ProcessSample p = sample_process();
    if (p.cpu_seconds) cpu_seconds->set_total(*p.cpu_seconds);
    if (p.virtual_bytes) virtual_memory->set(*p.virtual_bytes);
    if (p.resident_bytes) resident->set(*p.resident_bytes);
    if (p.start_time_seconds) start_time->set(*p.start_time_seconds);
    if (p.open_fds) open_fds->set(*p.open_fds);
    if (p.max_fds) max_fds->set(*p.max_fds);
  }
};

}  // namespace

ProcessSample sample_process() {
  ProcessSample p;
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  const long page_size = sysconf(_SC_PAGESIZE);

  if (const std::optional<std::string> stat = read_file("/proc/self/stat")) {
    const std::vector<std::string_view> f = stat_fields(*stat);
    constexpr std::size_t kUtime = 14 - 3, kStime = 15 - 3, kStartTime = 22 - 3, kVsize = 23 - 3, kRss = 24 - 3;
    if (f.size() > kRss) {
      const auto utime = parse_integer<unsigned long long>(f[kUtime]);
      const auto stime = parse_integer<unsigned long long>(f[kStime]);
      if (utime && stime && ticks_per_second > 0) {
        p.cpu_seconds = static_cast<double>(*utime + *stime) / static_cast<double>(ticks_per_second);
      }
      if (const auto vsize = parse_integer<unsigned long long>(f[kVsize])) p.virtual_bytes = static_cast<double>(*vsize);
      if (const auto rss = parse_integer<long long>(f[kRss]); rss && page_size > 0) {
        p.resident_bytes = static_cast<double>(*rss) * static_cast<double>(page_size);
      }
      if (ticks_per_second > 0) {
        const auto start_ticks = parse_integer<unsigned long long>(f[kStartTime]);
        const std::optional<long long> boot = boot_time_seconds();
        if (start_ticks && boot) {
          p.start_time_seconds =
              static_cast<double>(*boot) + static_cast<double>(*start_ticks) / static_cast<double>(ticks_per_second);
        }
      }
    }
  }
  if (const std::optional<long> fds = open_fd_count()) p.open_fds = static_cast<double>(*fds);
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    p.max_fds = limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<double>::infinity()
                                                : static_cast<double>(limit.rlim_cur);
  }
  return p;
}

void register_process_metrics(Registry& registry) {
  ProcessCollector collector{
      .resident = &registry.gauge("argus_process_resident_memory_bytes", "Resident memory size in bytes."),
      .virtual_memory = &registry.gauge("argus_process_virtual_memory_bytes", "Virtual memory size in bytes."),
      .cpu_seconds =
          &registry.counter("argus_process_cpu_seconds_total", "Total user and system CPU time spent in seconds."),
      .open_fds = &registry.gauge("argus_process_open_fds", "Number of open file descriptors."),
      .max_fds = &registry.gauge("argus_process_max_fds", "Maximum number of open file descriptors."),
      .start_time =
          &registry.gauge("argus_process_start_time_seconds", "Start time of the process since unix epoch in seconds."),
  };
  registry.add_collector(collector);
}

}  // namespace argus::metrics
