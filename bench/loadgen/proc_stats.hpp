// The server's cost as the kernel sees it: CPU time from /proc/<pid>/stat, resident memory
// from /proc/<pid>/status.
#pragma once

#include <cstdint>

namespace bench {

struct ProcSample {
  double cpu_seconds = 0;  // user + system, all threads
  double user_seconds = 0;
  double system_seconds = 0;
  std::int64_t rss_kib = 0;
  std::int64_t at_ns = 0;
  bool valid = false;
};

ProcSample sample_process(int pid);
// CPU over wall time between two samples, in cores (1.0 = one core busy).
double cores_used(const ProcSample& from, const ProcSample& to);

}  // namespace bench
