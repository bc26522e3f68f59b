// The benchmark scenarios. Each runs against a server that is already listening, prints one
// JSON line with its figures on stdout, and returns the exit status.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "options.hpp"
#include "proc_stats.hpp"

namespace bench {

int run_idle(const Options& options);
int run_storm(const Options& options);
int run_fanout(const Options& options);
int run_churn(const Options& options);
int run_offline(const Options& options);
int run_heartbeat(const Options& options);
int run_heartbeat_offline(const Options& options);
int run_crash_observe(const Options& options);

// Channel name prefix for the configured kind: "presence-", "private-" or "".
std::string channel_prefix(const std::string& kind);
// Prints {"scenario":..,"label":..,...figures} as one line.
void print_report(const Options& options, boost::json::object figures);
void sleep_seconds(double seconds);
// The server's resident memory and CPU between two samples, for reports.
boost::json::object server_delta(const ProcSample& from, const ProcSample& to);
// Each of several servers (--server-pids), sampled together.
std::vector<ProcSample> sample_processes(const std::vector<int>& pids);
// CPU seconds each server used between two samples.
std::vector<double> cpu_seconds_between(const std::vector<ProcSample>& from,
                                        const std::vector<ProcSample>& to);

}  // namespace bench
