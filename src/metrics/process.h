// Process metrics: memory, CPU time, file descriptors and start time of this process, read
// from /proc (Linux) at every scrape.
#pragma once

#include "metrics/metrics.h"

namespace argus::metrics {

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
