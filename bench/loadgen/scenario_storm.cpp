// Scenario 2, join storm: N connected clients subscribe to one presence channel at once; the
// figure is the time until every member has seen every member (snapshot + member_added).
#include "clock.hpp"
#include "scenarios.hpp"
#include "workers.hpp"

namespace bench {

int run_storm(const Options& o) {
  const int n = o.connections;
  Workers workers(o, n, "presence-storm-", n);  // everyone in presence-storm-0
  const Replies connected = workers.step("connect");
  const ProcSample from = sample_process(o.server_pid);
  const double workers_cpu_from = workers.cpu_seconds();
  const std::int64_t go = mono_ns();
  const Replies joined = workers.step("subscribe wait " + std::to_string(n));
  const std::int64_t all_seen = Workers::max_of(joined, "done_ns");
  const ProcSample to = sample_process(o.server_pid);
  const double workers_cpu = workers.cpu_seconds() - workers_cpu_from;
  workers.step("close");

  const double seconds = ms_between(go, all_seen) / 1000;
  const std::uint64_t added = Workers::sum(joined, "member_added");
  const std::uint64_t expected = static_cast<std::uint64_t>(n) * (n - 1) / 2;
  print_report(o, {{"users", n},
                   {"connected", Workers::sum(connected, "established")},
                   {"subscribed", Workers::sum(joined, "subscribed")},
                   {"timeout", Workers::max_of(joined, "timeout")},
                   {"errors", Workers::sum(joined, "errors")},
                   {"error_samples", Workers::error_samples(joined)},
                   {"all_seen_seconds", seconds},
                   {"member_added_delivered", added},
                   {"member_added_expected", expected},
                   {"delivered_per_second", seconds > 0 ? static_cast<double>(added) / seconds : 0},
                   {"server", server_delta(from, to)},
                   {"loadgen_cpu_seconds", workers_cpu}});
  return 0;
}

}  // namespace bench
