// Scenario 3, fan-out: N subscribers of one channel; events triggered by the REST API (or, while
// it does not exist, by a client event on the same channel, which takes the same broker and
// per-shard fan-out path). Phase 1 paces triggers to read latency; phase 2 sends a burst back
// to back to read throughput at saturation and the server's CPU per delivered message.
// With --ports the subscribers are spread over the nodes of a deployment (subscriber i on node
// i mod n) and the triggers go to the first; --server-pids measures each node apart.
#include <cmath>
#include <memory>

#include "clock.hpp"
#include "rest_client.hpp"
#include "scenarios.hpp"
#include "sync_client.hpp"
#include "workers.hpp"

namespace bench {

namespace json = boost::json;

namespace {

constexpr const char* kChannel = "private-bench-fanout-0";

// The node the triggers go to: the first of --ports, else --port.
std::uint16_t trigger_port(const Options& o) {
  return o.ports.empty() ? o.port : o.ports.front();
}

// Sends one event carrying its send time and sequence number.
class Trigger {
 public:
  explicit Trigger(const Options& o) : o_(o) {
    if (o.trigger == "rest") {
      rest_ = std::make_unique<RestClient>(o.host, trigger_port(o));
      const auto probe =
          trigger_event(*rest_, o.app_id, o.app_key, o.app_secret, kChannel, "bench-probe", "{}");
      if (probe.status == 200) return;
      note_ =
          "REST trigger answered " + std::to_string(probe.status) + "; fell back to client events";
      rest_.reset();
    }
    ws_ = std::make_unique<SyncClient>(o.host, trigger_port(o), o.app_key, "127.0.0.250");
    ws_->subscribe(o.app_key, o.app_secret, kChannel);
  }

  bool send(std::uint64_t seq) {
    const std::int64_t t = mono_ns();
    const std::string data =
        "{\"bench_t\":" + std::to_string(t) + ",\"seq\":" + std::to_string(seq) + "}";
    if (rest_) {
      const bool ok =
          trigger_event(*rest_, o_.app_id, o_.app_key, o_.app_secret, kChannel, "bench", data)
              .status == 200;
      round_trip.record(mono_ns() - t);  // until the server's 200
      return ok;
    }
    ws_->send_text(std::string(R"({"event":"client-bench","channel":")") + kChannel +
                   "\",\"data\":" + data + "}");
    return true;
  }

  std::string kind() const { return rest_ ? "rest" : "client-event"; }
  Histogram round_trip;  // REST: trigger sent -> 200 received
  const std::string& note() const { return note_; }

 private:
  const Options& o_;
  std::unique_ptr<RestClient> rest_;
  std::unique_ptr<SyncClient> ws_;
  std::string note_;
};

// Polls the workers until `expected` receipts arrived or `timeout_s` passed.
Replies wait_for_receipts(Workers& workers, std::uint64_t expected, double timeout_s) {
  const std::int64_t until = mono_ns() + static_cast<std::int64_t>(timeout_s * 1e9);
  for (;;) {
    Replies stats = workers.step("stats");
    if (Workers::sum(stats, "events") >= expected || mono_ns() > until) return stats;
    sleep_seconds(0.05);
  }
}

// Per trigger: the monotonic time of its last (or first) receipt anywhere; 0 when none came.
std::vector<std::int64_t> receipt_times(const Replies& stats, std::size_t triggers, bool first) {
  std::vector<std::int64_t> times(triggers, 0);
  for (const auto& reply : stats) {
    const auto& seq = reply.at(first ? "seq_first" : "seq_last").as_array();
    for (std::size_t i = 0; i < seq.size() && i < times.size(); ++i) {
      const auto t = seq[i].to_number<std::int64_t>();
      if (t == 0) continue;
      times[i] = first ? (times[i] == 0 ? t : std::min(times[i], t)) : std::max(times[i], t);
    }
  }
  return times;
}

// Per trigger: the time from its send to its last (or first) receipt anywhere.
Histogram last_receipt(const Replies& stats, const std::vector<std::int64_t>& sent_ns,
                       bool first = false) {
  const auto times = receipt_times(stats, sent_ns.size(), first);
  Histogram h;
  for (std::size_t i = 1; i < times.size(); ++i) {
    if (times[i] != 0) h.record(times[i] - sent_ns[i]);
  }
  return h;
}

// Per trigger, in order: ms from its send to its last receipt (0: none arrived). Shows
// whether a p99 comes from every trigger's tail or from a few slow triggers, and when.
json::array last_receipt_per_trigger(const Replies& stats,
                                     const std::vector<std::int64_t>& sent_ns) {
  const auto times = receipt_times(stats, sent_ns.size(), false);
  json::array out;
  for (std::size_t i = 1; i < times.size(); ++i) {
    out.push_back(times[i] == 0 ? 0.0 : std::round(double(times[i] - sent_ns[i]) / 1e5) / 10);
  }
  return out;
}

// Per node: element `index` of an array figure, summed over the workers.
std::uint64_t sum_at(const Replies& replies, const char* key, std::size_t index) {
  std::uint64_t total = 0;
  for (const auto& r : replies) {
    const auto& values = r.at(key).as_array();
    if (index < values.size()) total += values[index].to_number<std::uint64_t>();
  }
  return total;
}

Histogram merged_at(const Replies& replies, const char* key, std::size_t index) {
  Histogram h;
  for (const auto& r : replies) {
    const auto& values = r.at(key).as_array();
    if (index < values.size()) h.merge(Histogram::from_json(values[index].as_array()));
  }
  return h;
}

double us_per(double cpu_seconds, std::uint64_t count) {
  return count ? cpu_seconds * 1e6 / static_cast<double>(count) : 0;
}

// One entry per node of --ports: its subscribers' receipts and latency, and with --server-pids
// its CPU per recipient (a node's CPU over the events delivered to its own subscribers).
json::array per_node(const Options& o, const Replies& paced, const Replies& burst,
                     const std::vector<double>& paced_cpu, const std::vector<double>& burst_cpu) {
  json::array nodes;
  for (std::size_t i = 0; i < o.ports.size(); ++i) {
    std::uint64_t subscribers = 0;
    for (int c = 0; c < o.connections; ++c) subscribers += c % o.ports.size() == i ? 1 : 0;
    const std::uint64_t paced_n = sum_at(paced, "events_by_server", i);
    const std::uint64_t burst_n = sum_at(burst, "events_by_server", i);
    json::object node{
        {"port", o.ports[i]},
        {"subscribers", subscribers},
        {"paced_delivered", paced_n},
        {"paced_recipient_latency", merged_at(paced, "latency_by_server", i).summary_ms()},
        {"burst_delivered", burst_n},
        {"burst_recipient_latency", merged_at(burst, "latency_by_server", i).summary_ms()}};
    if (i < paced_cpu.size() && i < burst_cpu.size()) {
      node["paced_server_cpu_seconds"] = paced_cpu[i];
      node["paced_server_cpu_us_per_recipient"] = us_per(paced_cpu[i], paced_n);
      node["burst_server_cpu_seconds"] = burst_cpu[i];
      node["burst_server_cpu_us_per_recipient"] = us_per(burst_cpu[i], burst_n);
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

}  // namespace

int run_fanout(const Options& o) {
  const int n = o.connections;
  Workers workers(o, n, "private-bench-fanout-", n);
  const Replies connected = workers.step("connect sub");
  const std::uint64_t subscribers = Workers::sum(connected, "subscribed");
  Trigger trigger(o);
  // The REST probe is itself an event to every subscriber. The server answers it before the
  // fan-out is done, so give that fan-out time to finish: otherwise the first measured
  // trigger waits behind it.
  sleep_seconds(1.0);
  workers.step("stats reset");

  // Phase 1: paced triggers, latency.
  const ProcSample paced_from = sample_process(o.server_pid);
  const std::vector<ProcSample> paced_nodes_from = sample_processes(o.server_pids);
  const double paced_workers_from = workers.cpu_seconds();
  std::vector<std::int64_t> sent(static_cast<std::size_t>(o.triggers) + 1, 0);
  std::uint64_t trigger_errors = 0;
  const std::int64_t period = static_cast<std::int64_t>(1e9 / o.trigger_rate);
  for (int seq = 1; seq <= o.triggers; ++seq) {
    const std::int64_t due = mono_ns() + period;
    sent[seq] = mono_ns();
    if (!trigger.send(seq)) ++trigger_errors;
    while (mono_ns() < due) sleep_seconds(0.001);
  }
  const Replies paced = wait_for_receipts(workers, subscribers * o.triggers, 30);
  const ProcSample paced_to = sample_process(o.server_pid);
  const std::vector<double> paced_nodes_cpu =
      cpu_seconds_between(paced_nodes_from, sample_processes(o.server_pids));
  const double paced_workers_cpu = workers.cpu_seconds() - paced_workers_from;
  const Histogram paced_recipient = Workers::merged(paced, "latency");
  const Histogram paced_last = last_receipt(paced, sent);
  json::array paced_last_per_trigger = last_receipt_per_trigger(paced, sent);
  const Histogram paced_first = last_receipt(paced, sent, true);
  const Histogram paced_server_side = Workers::merged(paced, "server_side");
  const Histogram paced_generator_side = Workers::merged(paced, "generator_side");
  json::array paced_per_worker;
  for (const auto& reply : paced) {
    paced_per_worker.push_back(
        {{"worker", reply.at("worker")},
         {"events", reply.at("events")},
         {"latency", Workers::merged(Replies{reply}, "latency").summary_ms()},
         {"generator_side", Workers::merged(Replies{reply}, "generator_side").summary_ms()}});
  }
  const std::uint64_t paced_delivered = Workers::sum(paced, "events");
  const Histogram paced_round_trip = trigger.round_trip;
  trigger.round_trip = Histogram{};
  workers.step("stats reset");

  // Phase 2: a burst sent back to back; throughput and server CPU per delivery.
  sent.assign(static_cast<std::size_t>(o.burst) + 1, 0);
  const ProcSample from = sample_process(o.server_pid);
  const std::vector<ProcSample> burst_nodes_from = sample_processes(o.server_pids);
  const double burst_workers_from = workers.cpu_seconds();
  const std::int64_t first = mono_ns();
  for (int seq = 1; seq <= o.burst; ++seq) {
    sent[seq] = mono_ns();
    if (!trigger.send(seq)) ++trigger_errors;
  }
  const std::int64_t triggers_sent = mono_ns();
  const Replies burst = wait_for_receipts(workers, subscribers * o.burst, 120);
  const ProcSample to = sample_process(o.server_pid);
  const std::vector<double> burst_nodes_cpu =
      cpu_seconds_between(burst_nodes_from, sample_processes(o.server_pids));
  const double burst_workers_cpu = workers.cpu_seconds() - burst_workers_from;
  std::int64_t last = 0;
  for (const auto& reply : burst) {
    for (const auto& t : reply.at("seq_last").as_array()) {
      last = std::max(last, t.to_number<std::int64_t>());
    }
  }
  const std::uint64_t delivered = Workers::sum(burst, "events");
  const double burst_seconds = ms_between(first, last) / 1000;
  const double server_cpu = to.cpu_seconds - from.cpu_seconds;
  workers.step("close");
  json::array nodes = per_node(o, paced, burst, paced_nodes_cpu, burst_nodes_cpu);

  print_report(
      o, {{"subscribers", subscribers},
          {"trigger", trigger.kind()},
          {"note", trigger.note()},
          {"trigger_errors", trigger_errors},
          {"errors", Workers::sum(burst, "errors")},
          {"error_samples", Workers::error_samples(burst)},
          {"paced_triggers", o.triggers},
          {"paced_rate_per_second", o.trigger_rate},
          {"paced_delivered", paced_delivered},
          {"paced_recipient_latency", paced_recipient.summary_ms()},
          {"paced_last_receipt_latency", paced_last.summary_ms()},
          {"paced_last_receipt_ms_per_trigger", std::move(paced_last_per_trigger)},
          {"paced_first_receipt_latency", paced_first.summary_ms()},
          {"paced_trigger_to_server_write", paced_server_side.summary_ms()},
          {"paced_server_write_to_generator_read", paced_generator_side.summary_ms()},
          {"paced_rest_round_trip", paced_round_trip.summary_ms()},
          {"paced_per_worker", std::move(paced_per_worker)},
          {"paced_server", server_delta(paced_from, paced_to)},
          // Sparse events cost the server more per recipient than a burst: each one is its own
          // TCP segment and ACK, and wakes sleeping readers (bench/RESULTS.md, section 3).
          {"paced_server_cpu_us_per_recipient",
           paced_delivered ? (paced_to.cpu_seconds - paced_from.cpu_seconds) * 1e6 /
                                 static_cast<double>(paced_delivered)
                           : 0},
          {"paced_loadgen_cpu_seconds", paced_workers_cpu},
          {"processes", static_cast<std::int64_t>(workers.size())},
          {"burst_triggers", o.burst},
          {"burst_trigger_seconds", ms_between(first, triggers_sent) / 1000},
          {"burst_delivered", delivered},
          {"burst_expected", subscribers * static_cast<std::uint64_t>(o.burst)},
          {"burst_seconds", burst_seconds},
          {"burst_delivered_per_second",
           burst_seconds > 0 ? static_cast<double>(delivered) / burst_seconds : 0},
          {"burst_last_receipt_latency", last_receipt(burst, sent).summary_ms()},
          {"burst_trigger_to_server_write", Workers::merged(burst, "server_side").summary_ms()},
          {"burst_server_write_to_generator_read",
           Workers::merged(burst, "generator_side").summary_ms()},
          {"burst_loadgen_cpu_seconds", burst_workers_cpu},
          {"server", server_delta(from, to)},
          {"server_cpu_us_per_recipient",
           delivered ? server_cpu * 1e6 / static_cast<double>(delivered) : 0},
          {"trigger_port", trigger_port(o)},
          {"nodes", std::move(nodes)}});
  return 0;
}

}  // namespace bench
