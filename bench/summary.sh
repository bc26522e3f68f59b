#!/usr/bin/env bash
# Prints the headline figure of each scenario of a results.jsonl written by bench/run.sh.
set -euo pipefail
jq -r '
  def r(x): (x * 100 | round) / 100;
  if .scenario == "idle" then
    "\(.label): \(.subscribed)/\(.connections) subscribed in \(r(.connect_seconds)) s, " +
    "RSS \(r(.rss_per_connection_bytes)) B/connection, idle CPU \(r(.idle_server.cores * 100)) % of a core, errors \(.errors)"
  elif .scenario == "storm" then
    "\(.label): all seen in \(r(.all_seen_seconds)) s, \(r(.delivered_per_second)) member_added/s, " +
    "server \(r(.server.cores)) cores, \(.member_added_delivered)/\(.member_added_expected) delivered"
  elif .scenario == "fanout" then
    "\(.label) (\(.trigger)): paced p50/p99 \(r(.paced_recipient_latency.p50_ms))/\(r(.paced_recipient_latency.p99_ms)) ms, " +
    "last receipt p99 \(r(.paced_last_receipt_latency.p99_ms)) ms; burst \(r(.burst_delivered_per_second)) msg/s, " +
    "\(r(.server_cpu_us_per_recipient)) us server CPU/recipient, \(r(.server.cores)) cores" +
    (if .paced_trigger_to_server_write then "; paced p99 trigger->server write \(r(.paced_trigger_to_server_write.p99_ms)) ms, " +
      "server write->generator read \(r(.paced_server_write_to_generator_read.p99_ms)) ms" else "" end)
  elif .scenario == "heartbeat" then
    if .available then "\(.label) (\(.auth), depth \(.pipeline_depth)): \(r(.pings_per_second)) pings/s, " +
      "p50/p99/max \(r(.latency.p50_ms))/\(r(.latency.p99_ms))/\(r(.latency.max_ms)) ms, failed \(.failed), " +
      "\(r(.server_cpu_us_per_ping)) us server CPU/ping (\(r(.server.cores)) cores), generator \(r(.generator_cpu_us_per_ping)) us/ping" +
      (if .observer then ", removals during the run \(.removals_during_run)" else "" end)
    else "\(.label): not yet available (probe answered \(.probe_status))" end
  elif .scenario == "hb-offline" then
    "\(.label) (TTL \(.ttl_ms) ms, \(.users) users, \(.mode)): removal - (last ping + TTL) " +
    (if .mode == "once" then "p50/p99/max \(r(.delay_after_ttl.p50_ms))/\(r(.delay_after_ttl.p99_ms))/\(r(.delay_after_ttl.max_ms)) ms"
     else "stopped mid-run p50/p99/max \(r(.delay_after_ttl_stopped_mid_run.p50_ms))/\(r(.delay_after_ttl_stopped_mid_run.p99_ms))/\(r(.delay_after_ttl_stopped_mid_run.max_ms)) ms (\(.stoppers) users), " +
       "at the end \(r(.delay_after_ttl_stopped_at_end.p50_ms))/\(r(.delay_after_ttl_stopped_at_end.p99_ms))/\(r(.delay_after_ttl_stopped_at_end.max_ms)) ms" end) +
    ", missed \(.missed_removals), early \(.early_removals_before_last_ping), failed pings \(.failed)"
  elif .scenario == "offline" then
    "\(.label): member_removed after close frame p50/max \(r(.close_frame.p50_ms))/\(r(.close_frame.max_ms)) ms, " +
    "after TCP drop \(r(.tcp_drop.p50_ms))/\(r(.tcp_drop.max_ms)) ms, missed \(.missed)"
  elif .scenario == "churn" then
    "\(.label): \(r(.round1.sessions_per_second))/\(r(.round2.sessions_per_second)) sessions/s, " +
    "\(r(.round1.server_cpu_us_per_session)) us server CPU/session, RSS growth round 2: \(.rss_growth_round2_kib) KiB" +
    (if .rss_settled_kib_each_round then ", settled RSS each round \(.rss_settled_kib_each_round) KiB (baseline \(.rss_baseline_kib))" else "" end)
  elif .tool == "send-floor" then
    "\(.label): one \(.bytes)-byte write to each of \(.connections) loopback connections by \(.senders) thread(s): " +
    "\(r(.round_wall_ms_median)) ms, \(r(.wall_us_per_write_median)) us wall and \(r(.sender_cpu_us_per_write_median)) us CPU per write"
  else tostring end' "$1"
