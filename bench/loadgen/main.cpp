// greendot-loadgen: the load generator of `make bench`. See bench/README.md.
#include <sys/resource.h>

#include <boost/json/serialize.hpp>

#include <cstdio>
#include <exception>
#include <thread>

#include "scenarios.hpp"

namespace bench {

std::string channel_prefix(const std::string& kind) {
  if (kind == "presence") return "presence-";
  if (kind == "private") return "private-";
  return "";
}

void print_report(const Options& options, boost::json::object figures) {
  boost::json::object line{{"scenario", options.scenario}, {"label", options.label}};
  for (auto& [key, value] : figures) line[key] = std::move(value);
  std::printf("%s\n", boost::json::serialize(line).c_str());
  std::fflush(stdout);
}

void sleep_seconds(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

boost::json::object server_delta(const ProcSample& from, const ProcSample& to) {
  return {{"rss_before_kib", from.rss_kib},
          {"rss_after_kib", to.rss_kib},
          {"cpu_seconds", to.cpu_seconds - from.cpu_seconds},
          {"user_seconds", to.user_seconds - from.user_seconds},
          {"system_seconds", to.system_seconds - from.system_seconds},
          {"cores", cores_used(from, to)},
          {"wall_seconds", static_cast<double>(to.at_ns - from.at_ns) / 1e9}};
}

std::vector<ProcSample> sample_processes(const std::vector<int>& pids) {
  std::vector<ProcSample> out;
  for (int pid : pids) out.push_back(sample_process(pid));
  return out;
}

std::vector<double> cpu_seconds_between(const std::vector<ProcSample>& from,
                                        const std::vector<ProcSample>& to) {
  std::vector<double> out;
  for (std::size_t i = 0; i < from.size() && i < to.size(); ++i) {
    out.push_back(to[i].cpu_seconds - from[i].cpu_seconds);
  }
  return out;
}

}  // namespace bench

int main(int argc, char** argv) {
  const bench::Options options = bench::parse_options(argc, argv);
  // Every socket is a file; take the whole hard limit (20,000 here).
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  try {
    const std::string& s = options.scenario;
    if (s == "idle") return bench::run_idle(options);
    if (s == "storm") return bench::run_storm(options);
    if (s == "fanout") return bench::run_fanout(options);
    if (s == "churn") return bench::run_churn(options);
    if (s == "offline") return bench::run_offline(options);
    if (s == "heartbeat") return bench::run_heartbeat(options);
    if (s == "hb-offline") return bench::run_heartbeat_offline(options);
    if (s == "crash-observe") return bench::run_crash_observe(options);
    std::fprintf(stderr, "unknown scenario %s\n", s.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "greendot-loadgen: %s\n", e.what());
    return 1;
  }
}
