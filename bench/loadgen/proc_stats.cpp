#include "proc_stats.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "clock.hpp"

namespace bench {

ProcSample sample_process(int pid) {
  ProcSample s;
  s.at_ns = mono_ns();
  if (pid <= 0) return s;
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream stat(dir + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return s;
  // The command name may hold spaces; fields are counted after its closing parenthesis.
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) {
      stime = std::stoll(field);
      break;
    }
  }
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  s.user_seconds = static_cast<double>(utime) / tick;
  s.system_seconds = static_cast<double>(stime) / tick;
  s.cpu_seconds = s.user_seconds + s.system_seconds;
  std::ifstream status(dir + "/status");
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) s.rss_kib = std::stoll(line.substr(6));
  }
  s.valid = true;
  return s;
}

double cores_used(const ProcSample& from, const ProcSample& to) {
  const double wall = static_cast<double>(to.at_ns - from.at_ns) / 1e9;
  return wall > 0 ? (to.cpu_seconds - from.cpu_seconds) / wall : 0;
}

}  // namespace bench
