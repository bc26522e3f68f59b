// Scenario 5, churn: SLOTS parallel loops of connect, subscribe to a presence channel (a new
// user each time), close. Sessions per second, and whether the server's memory comes back:
// --rounds rounds (default 2), RSS measured after each once the offline graces have ended
// and the server has trimmed its heap. With --ports the loops are spread over the nodes of a
// deployment (loop i on node i mod n); --server-pids measures each node's CPU per session.
#include "clock.hpp"
#include "scenarios.hpp"
#include "workers.hpp"

namespace bench {

namespace json = boost::json;

namespace {

constexpr double kGraceSeconds = 3.0;  // the bench app's offline_grace_ms, plus a tick
// The server hands free heap pages back every 10 s (Server::trim_memory_now_and_then): the
// settled size is read once one such pass has certainly run after the round.
constexpr double kServerTrimSeconds = 10.0;

json::object round(const Options& o, Workers& workers, int slots, const ProcSample& baseline) {
  std::vector<std::string> commands;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    const int share = slots * static_cast<int>(i + 1) / static_cast<int>(workers.size()) -
                      slots * static_cast<int>(i) / static_cast<int>(workers.size());
    commands.push_back("churn " + std::to_string(o.seconds) + " " + std::to_string(share));
  }
  const ProcSample from = sample_process(o.server_pid);
  const std::vector<ProcSample> nodes_from = sample_processes(o.server_pids);
  const Replies replies = workers.step_each(commands);
  const ProcSample to = sample_process(o.server_pid);
  const std::vector<double> nodes_cpu =
      cpu_seconds_between(nodes_from, sample_processes(o.server_pids));
  sleep_seconds(kGraceSeconds + kServerTrimSeconds + 1.0);
  const ProcSample settled = sample_process(o.server_pid);
  const std::uint64_t sessions = Workers::sum(replies, "sessions");
  const double seconds = static_cast<double>(Workers::max_of(replies, "step_ns")) / 1e9;
  json::array nodes_cpu_seconds;
  double all_nodes_cpu = 0;
  for (double cpu : nodes_cpu) {
    nodes_cpu_seconds.push_back(cpu);
    all_nodes_cpu += cpu;
  }
  json::object figures{
      {"sessions", sessions},
      {"sessions_per_second", seconds > 0 ? static_cast<double>(sessions) / seconds : 0},
      {"errors", Workers::sum(replies, "errors")},
      {"error_samples", Workers::error_samples(replies)},
      {"session_time", Workers::merged(replies, "session").summary_ms()},
      {"server", server_delta(from, to)},
      {"server_cpu_us_per_session",
       sessions ? (to.cpu_seconds - from.cpu_seconds) * 1e6 / static_cast<double>(sessions) : 0},
      {"rss_settled_kib", settled.rss_kib},
      {"rss_growth_from_baseline_kib", settled.rss_kib - baseline.rss_kib}};
  if (!nodes_cpu.empty()) {
    // Every session costs its own node, and the others their copies of the member events.
    figures["nodes_cpu_seconds"] = std::move(nodes_cpu_seconds);
    figures["nodes_cpu_us_per_session"] =
        sessions ? all_nodes_cpu * 1e6 / static_cast<double>(sessions) : 0;
  }
  return figures;
}

}  // namespace

int run_churn(const Options& o) {
  const int slots = o.connections;
  const ProcSample baseline = sample_process(o.server_pid);
  // Rooms of room_size concurrent users, so every session also costs member events.
  Workers workers(o, slots, "presence-churn-", o.room_size);
  const int rounds = std::max(2, o.rounds);
  json::object report{{"slots", slots},
                      {"churn_users_per_process", o.churn_users},
                      {"seconds_per_round", o.seconds},
                      {"rounds", rounds},
                      {"rss_baseline_kib", baseline.rss_kib}};
  json::array settled;
  std::int64_t first_settled = 0, previous = 0;
  for (int r = 1; r <= rounds; ++r) {
    json::object figures = round(o, workers, slots, baseline);
    const std::int64_t rss = figures.at("rss_settled_kib").as_int64();
    if (r == 1) first_settled = rss;
    if (r == 2) report["rss_growth_round2_kib"] = rss - previous;
    previous = rss;
    settled.push_back(rss);
    report["round" + std::to_string(r)] = std::move(figures);
  }
  report["rss_settled_kib_each_round"] = std::move(settled);
  // What the rounds after the first added: zero when freed memory is reused.
  report["rss_growth_after_round1_kib"] = previous - first_settled;
  print_report(o, std::move(report));
  return 0;
}

}  // namespace bench
