// Process metrics: memory, CPU time, file descriptors and start time of this process, read
// from /proc (Linux) at every scrape.
#pragma once

#include <optional>

#include "metrics/metrics.h"

namespace argus::metrics {

// One reading of this process's figures; a member is empty when its source could not be
// read (no /proc, a parse failure).
struct ProcessSample {
  std::optional<double> cpu_seconds;         // user + system
  std::optional<double> resident_bytes;
  std::optional<double> virtual_bytes;
  std::optional<double> open_fds;
  std::optional<double> max_fds;             // +inf when unlimited
  std::optional<double> start_time_seconds;  // Unix seconds
};

// Reads /proc now. Thread-safe; a few hundred microseconds (it lists /proc/self/fd).
ProcessSample sample_process();

// Registers these metrics in `registry` and a collector that refreshes them at every
// exposition:
//   argus_process_resident_memory_bytes   gauge    resident set size
//   argus_process_virtual_memory_bytes    gauge    virtual memory size
//   argus_process_cpu_seconds_total       counter  user + system CPU time
//   argus_process_open_fds                gauge    open file descriptors
//   argus_process_max_fds                 gauge    soft limit on open file descriptors
//   argus_process_start_time_seconds      gauge    start time, Unix seconds
// A value whose source cannot be read (no /proc, a parse failure) keeps its previous value
// (0 until a read succeeds). Call once per registry; thread-safe like Registry.
void register_process_metrics(Registry& registry);

}  // namespace argus::metrics
