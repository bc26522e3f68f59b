#include "options.hpp"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string_view>

namespace bench {

namespace {

[[noreturn]] void usage(const std::map<std::string, std::function<void(const char*)>>& flags,
                        int code) {
  std::fprintf(stderr,
               "usage: greendot-loadgen --scenario "
               "idle|storm|fanout|churn|offline|heartbeat|hb-offline|crash-observe [--flag "
               "value]...\nflags:");
  for (const auto& [name, setter] : flags) std::fprintf(stderr, " --%s", name.c_str());
  std::fprintf(stderr, "\n");
  std::exit(code);
}

// "6201,6202,6203" -> {6201, 6202, 6203}
std::vector<int> integers(std::string_view list) {
  std::vector<int> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    out.push_back(std::atoi(std::string(list.substr(0, comma)).c_str()));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return out;
}

}  // namespace

Options parse_options(int argc, char** argv) {
  Options o;
  auto text = [](std::string& field) { return [&field](const char* v) { field = v; }; };
  auto integer = [](int& field) { return [&field](const char* v) { field = std::atoi(v); }; };
  auto real = [](double& field) { return [&field](const char* v) { field = std::atof(v); }; };
  std::map<std::string, std::function<void(const char*)>> flags{
      {"scenario", text(o.scenario)},
      {"host", text(o.host)},
      {"port", [&](const char* v) { o.port = static_cast<std::uint16_t>(std::atoi(v)); }},
      {"ports",
       [&](const char* v) {
         for (int port : integers(v)) o.ports.push_back(static_cast<std::uint16_t>(port));
       }},
      {"user-prefix", text(o.user_prefix)},
      {"app-id", text(o.app_id)},
      {"app-key", text(o.app_key)},
      {"app-secret", text(o.app_secret)},
      {"server-pid", integer(o.server_pid)},
      {"server-pids", [&](const char* v) { o.server_pids = integers(v); }},
      {"connections", integer(o.connections)},
      {"processes", integer(o.processes)},
      {"concurrency", integer(o.concurrency)},
      {"kind", text(o.kind)},
      {"room-size", integer(o.room_size)},
      {"idle-seconds", real(o.idle_seconds)},
      {"seconds", real(o.seconds)},
      {"trigger", text(o.trigger)},
      {"triggers", integer(o.triggers)},
      {"trigger-rate", real(o.trigger_rate)},
      {"burst", integer(o.burst)},
      {"rx-timestamps", integer(o.rx_timestamps)},
      {"rounds", integer(o.rounds)},
      {"churn-users", integer(o.churn_users)},
      {"repeat", integer(o.repeat)},
      {"kill-pid", integer(o.kill_pid)},
      {"observers", integer(o.observers)},
      {"settle-seconds", real(o.settle_seconds)},
      {"linger-seconds", real(o.linger_seconds)},
      {"hb-auth", text(o.hb_auth)},
      {"hb-users", integer(o.hb_users)},
      {"hb-rooms", integer(o.hb_rooms)},
      {"hb-threads", integer(o.hb_threads)},
      {"hb-depth", integer(o.hb_depth)},
      {"hb-interval-ms", integer(o.hb_interval_ms)},
      {"hb-stop-fraction", real(o.hb_stop_fraction)},
      {"hb-observe", integer(o.hb_observe)},
      {"step-timeout", real(o.step_timeout)},
      {"label", text(o.label)},
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") usage(flags, 0);
    if (!arg.starts_with("--") || i + 1 >= argc) usage(flags, 2);
    auto it = flags.find(std::string(arg.substr(2)));
    if (it == flags.end()) {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      usage(flags, 2);
    }
    it->second(argv[++i]);
  }
  if (o.scenario.empty()) usage(flags, 2);
  if (o.processes < 1 || o.processes > 7) {
    std::fprintf(stderr, "--processes must be 1..7 (each owns 32 source addresses)\n");
    std::exit(2);
  }
  return o;
}

}  // namespace bench
