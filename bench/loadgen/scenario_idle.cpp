// Scenario 1, idle: N connections, each a member of a presence channel of room_size users.
// Memory per connection, CPU while nothing but pings happens, and the time to connect them all.
#include "clock.hpp"
#include "scenarios.hpp"
#include "workers.hpp"

namespace bench {

int run_idle(const Options& o) {
  const ProcSample before = sample_process(o.server_pid);
  Workers workers(o, o.connections, channel_prefix(o.kind) + "room-", o.room_size);
  const std::int64_t start = mono_ns();
  const Replies connected = workers.step("connect sub");
  const ProcSample after_connect = sample_process(o.server_pid);
  const std::int64_t connect_done = Workers::max_of(connected, "done_ns");
  const std::uint64_t ok = Workers::sum(connected, "subscribed");

  // The idle window: clients answer pings and send their own after activity_timeout.
  const ProcSample idle_from = sample_process(o.server_pid);
  sleep_seconds(o.idle_seconds);
  const ProcSample idle_to = sample_process(o.server_pid);
  const Replies idle = workers.step("stats");

  workers.step("close");
  const ProcSample after_close = sample_process(o.server_pid);

  const double per_connection_bytes =
      ok ? static_cast<double>(after_connect.rss_kib - before.rss_kib) * 1024.0 /
               static_cast<double>(ok)
         : 0;
  print_report(o, {{"connections", o.connections},
                   {"subscribed", ok},
                   {"errors", Workers::sum(idle, "errors")},  // cumulative: connect and idle
                   {"error_samples", Workers::error_samples(idle)},
                   {"room_size", o.room_size},
                   {"kind", o.kind},
                   {"connect_seconds", ms_between(start, connect_done) / 1000},
                   {"connect_time", Workers::merged(connected, "connect_time").summary_ms()},
                   {"rss_before_kib", before.rss_kib},
                   {"rss_connected_kib", after_connect.rss_kib},
                   {"rss_after_close_kib", after_close.rss_kib},
                   {"rss_per_connection_bytes", per_connection_bytes},
                   {"connect_server", server_delta(before, after_connect)},
                   {"idle_seconds", o.idle_seconds},
                   {"idle_server", server_delta(idle_from, idle_to)},
                   {"idle_frames_received",
                    Workers::sum(idle, "frames") - Workers::sum(connected, "frames")},
                   {"still_open", Workers::sum(idle, "open")}});
  return 0;
}

}  // namespace bench
