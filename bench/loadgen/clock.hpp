// One clock for every process of a run: CLOCK_MONOTONIC is system-wide, so a timestamp taken
// by the trigger in one process can be subtracted from a receipt time in another.
#pragma once

#include <cstdint>
#include <ctime>

namespace bench {

inline std::int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

inline double ms_between(std::int64_t from_ns, std::int64_t to_ns) {
  return static_cast<double>(to_ns - from_ns) / 1e6;
}

}  // namespace bench
