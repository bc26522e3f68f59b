// What one run of the load generator does: the scenario, the server it talks to, and the
// numbers of the scenario. Parsed from "--name value" pairs; `--help` lists them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

struct Options {
  // idle | storm | fanout | churn | offline | heartbeat | hb-offline | crash-observe
  std::string scenario;
  std::string host = "127.0.0.1";
  std::uint16_t port = 6101;
  // Several nodes of one deployment: client i connects to ports[i % n] (empty: `port` only).
  std::vector<std::uint16_t> ports;
  // Prefix of the user ids (u0, u1, ...): generators feeding different nodes give different users.
  std::string user_prefix = "u";
  std::string app_id = "bench";
  std::string app_key = "bench-key";
  std::string app_secret = "bench-secret";
  int server_pid = 0;  // measured from /proc when set
  // Several nodes: node i's process (with `ports`, in the same order); each measured apart.
  std::vector<int> server_pids;

  int connections = 1000;         // WebSocket clients over all processes
  int processes = 2;              // worker processes, each with its own source addresses
  int concurrency = 200;          // handshakes in flight per process
  std::string kind = "presence";  // public | private | presence channels
  int room_size = 10;             // members per channel (idle); storm puts everyone in one

  double idle_seconds = 10;  // idle: how long to watch the server's CPU
  double seconds = 10;       // churn, heartbeat: how long to run (churn: per round)
  int rounds = 2;            // churn: rounds, RSS measured after each settles
  // churn: 0 = a new user id every session (the server's last-seen table grows with them);
  // N = ids cycle through N per generator process, so the set of users stays bounded.
  int churn_users = 0;

  // Fan-out.
  std::string trigger = "rest";  // rest (POST /apps/{id}/events) | client-event
  int triggers = 50;             // latency phase: triggers at trigger_rate per second
  double trigger_rate = 10;
  int burst = 200;        // saturation phase: triggers sent back to back
  int rx_timestamps = 1;  // fan-out: split latency at the kernel's receive timestamp

  // Offline detection.
  int repeat = 20;

  // crash-observe: members on `port`, observers of their rooms on `ports`; the members' node
  // is killed (SIGKILL) by the generator once every observer has seen every member.
  int kill_pid = 0;
  int observers = 2;          // per room and observers' node
  double settle_seconds = 2;  // from everyone-seen to the kill
  double linger_seconds = 5;  // watched after the last expected removal, for duplicates

  // Heartbeats.
  std::string hb_auth = "signed";  // signed (presence/heartbeat) | token (client/ping)
  int hb_users = 10000;            // distinct users u0..u<n-1>
  int hb_rooms = 100;              // user u pings context hb-<u % rooms>
  int hb_threads = 2;              // event loops; --concurrency connections over all of them
  int hb_depth = 1;                // requests pipelined per connection
  int hb_interval_ms = 0;          // hb-offline: 0 = every user pings once, else every interval
  double hb_stop_fraction = 0.1;   // hb-offline, continuous: users that stop mid-run
  int hb_observe = 0;              // heartbeat: 1 = count removals on presence-hb-* meanwhile

  double step_timeout = 300;  // seconds any one step may take before it is reported as stuck
  std::string label;          // copied into the report
};

// Exits with a message on a bad flag.
Options parse_options(int argc, char** argv);

}  // namespace bench
