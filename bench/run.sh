#!/usr/bin/env bash
# Runs the benchmark scenarios against a fresh greendot per scenario and writes
# one JSON line per scenario to $OUT/results.jsonl (and a readable summary to stdout).
#
#   bench/run.sh quick|full     (make bench-quick / make bench)
#   bench/run.sh heartbeat      (scenario 4 only: the heartbeat lines of `full`)
#   bench/run.sh churn          (churn in one presence channel, with and without the grace)
#   bench/run.sh delivery       (the storm and fan-out lines of `full`)
#   bench/run.sh memory         (the idle and churn-from-a-pool lines of `full`: memory per
#                                connection, for A/B runs against an older server)
#   bench/run.sh fanout-study   (the 10k fan-out with 1, 2 and 4 generator processes, unpinned,
#                                then server and generator pinned to one core each, both ways)
#
# Environment: GREENDOT_BIN, LOADGEN_BIN (default: $BUILD_DIR/greendot, .../bench/greendot-loadgen),
# BUILD_DIR (default build-bench), OUT (default $BUILD_DIR/bench-results), PORT (default 6101),
# SERVER_CPUS / LOADGEN_CPUS (a taskset CPU list for the server / the generator; default none).
set -euo pipefail

mode=${1:-quick}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$repo/build-bench}
server_bin=${GREENDOT_BIN:-$build/greendot}
loadgen_bin=${LOADGEN_BIN:-$build/bench/greendot-loadgen}
send_floor_bin=${SEND_FLOOR_BIN:-$build/bench/greendot-send-floor}
out=${OUT:-$build/bench-results}
port=${PORT:-6101}
config=$repo/bench/greendot.bench.toml
results=$out/results.jsonl

# Each server and generator process may hold 20,000 files here (the hard limit): 19k sockets.
ulimit -n "$(ulimit -Hn)"
mkdir -p "$out"
# COMMIT: what the server binary was built from, when that is not the work tree's HEAD.
commit=${COMMIT:-$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)}
: >"$results"

server_pid=
server_pin=()
loadgen_pin=()
pin() {
  server_pin=()
  loadgen_pin=()
  if [[ -n ${1:-} ]]; then server_pin=(taskset -c "$1"); fi
  if [[ -n ${2:-} ]]; then loadgen_pin=(taskset -c "$2"); fi
}
pin "${SERVER_CPUS:-}" "${LOADGEN_CPUS:-}"
start_server() {
  "${server_pin[@]}" "$server_bin" --config "$config" --port "$port" "$@" >>"$out/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
    sleep 0.05
  done
  echo "greendot did not start; see $out/server.log" >&2
  exit 1
}
stop_server() {
  [[ -n $server_pid ]] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
trap stop_server EXIT

# Runs one scenario against a fresh server; the command line is printed as it is recorded.
scenario() {
  local label=$1
  shift
  start_server
  local cmd=("${loadgen_pin[@]}" "$loadgen_bin" --port "$port" --server-pid "$server_pid"
             --label "$label" "$@")
  echo "+ ${server_pin[*]:+server: ${server_pin[*]}; }${cmd[*]/--server-pid $server_pid/}" >&2
  local load_start line
  load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  line=$("${cmd[@]}")
  # The machine is shared: each line records the load average (1, 5, 15 min) before and after.
  if command -v jq >/dev/null; then
    line=$(jq -c --arg a "$load_start" --arg b "$(cut -d' ' -f1-3 /proc/loadavg)" --arg c "$commit" \
      '. + {load_average_before: $a, load_average_after: $b, commit: $c}' <<<"$line")
  fi
  echo "$line" | tee -a "$results"
  stop_server
  sleep 1  # let the kernel finish with the last sockets (TIME_WAIT does not block: new ports)
}

# The heartbeat app: heartbeat_ttl_ms = 2000, offline_grace_ms = 0 (greendot.bench.toml).
hb_app=(--app-id bench-hb --app-key bench-hb-key --app-secret bench-hb-secret)

# The kernel's floor under the fan-out: one write to each of 5,000 loopback connections (a
# shard's share of a 10k fan-out), by 1 and 2 threads, a thread reading the other ends.
send_floor() {
  local senders floor_cmd line
  for senders in 1 2; do
    floor_cmd=("${send_floor_bin}" --connections 5000 --senders "$senders" --rounds 7)
    echo "+ ${floor_cmd[*]}" >&2
    line=$("${floor_cmd[@]}")
    if command -v jq >/dev/null; then
      line=$(jq -c --arg c "$commit" '. + {label: "send-floor-5k-senders-\(.senders)", commit: $c}' <<<"$line")
    fi
    echo "$line" | tee -a "$results"
  done
}

heartbeat_scenarios() {
  # Scenario 4: pings/s without pipelining and with 8 requests in flight per connection,
  # signed and with tokens; "with expiries": 200k users at a 2 s TTL, so every ping is a join
  # and every user expires; then offline detection (every user pings once; and a population
  # pinging every second of which 10 % stops mid-run).
  for auth in signed token; do
    scenario "heartbeat-$auth" --scenario heartbeat --seconds 10 --concurrency 32 --hb-auth "$auth"
    scenario "heartbeat-$auth-p8" --scenario heartbeat --seconds 10 --concurrency 32 \
      --hb-depth 8 --hb-auth "$auth"
  done
  scenario heartbeat-signed-expiries --scenario heartbeat --seconds 10 --concurrency 32 \
    --hb-depth 8 --hb-auth signed --hb-users 200000 --hb-observe 1 "${hb_app[@]}"
  scenario hb-offline-once --scenario hb-offline --hb-users 2000 --hb-rooms 10 \
    --concurrency 16 "${hb_app[@]}"
  scenario hb-offline-expiries --scenario hb-offline --hb-users 10000 --hb-rooms 10 \
    --concurrency 16 --hb-interval-ms 1000 --hb-stop-fraction 0.1 --seconds 10 "${hb_app[@]}"
}

# Scenario 1: idle presence connections, each in a channel of 10 users.
idle_scenarios() {
  scenario idle-5k --scenario idle --connections 5000 --idle-seconds 35
  scenario idle-19k --scenario idle --connections 19000 --idle-seconds 35 --concurrency 300
}

# Scenario 2: join storms, every member seeing every member_added.
storm_scenarios() {
  scenario storm-1000 --scenario storm --connections 1000 --step-timeout 60
  scenario storm-5000 --scenario storm --connections 5000 --step-timeout 120
}

# Scenario 3: a REST trigger fanned out to 10k subscribers.
fanout_10k() {
  scenario fanout-10k --scenario fanout --connections 10000 --triggers 50 --trigger-rate 5 \
    --burst 200
}

# Memory after churn, with a bounded set of users (the last-seen table stops growing once all
# have been seen): ten rounds.
churn_from_pool() {
  scenario churn-1k-pool --scenario churn --connections 1000 --seconds 5 --rounds 10 \
    --room-size 10 --churn-users 20000
}

# Churn in one presence channel, 50 sessions at a time, a new user each (a page view): with the
# default grace, each second's departed members stay in the channel for 3 s; then the same
# without a grace, for comparison.
churn_one_room() {
  scenario churn-one-room --scenario churn --connections 50 --room-size 50 --seconds "$1" \
    --rounds 3
  scenario churn-one-room-nograce --scenario churn --connections 50 --room-size 50 \
    --seconds "$1" --rounds 3 \
    --app-id bench-nograce --app-key bench-nograce-key --app-secret bench-nograce-secret
}

if [[ $mode == quick ]]; then
  scenario idle-1k --scenario idle --connections 1000 --idle-seconds 3
  scenario storm-500 --scenario storm --connections 500 --step-timeout 30
  scenario fanout-1k --scenario fanout --connections 1000 --triggers 20 --burst 50
  scenario heartbeat-signed --scenario heartbeat --seconds 3 --concurrency 32 --hb-depth 8 \
    --hb-auth signed
  scenario heartbeat-token --scenario heartbeat --seconds 3 --concurrency 32 --hb-depth 8 \
    --hb-auth token
  scenario hb-offline-once --scenario hb-offline --hb-users 500 --hb-rooms 10 --concurrency 8 \
    "${hb_app[@]}"
  scenario offline-close --scenario offline --repeat 10 \
    --app-id bench-nograce --app-key bench-nograce-key --app-secret bench-nograce-secret
  scenario churn-1k --scenario churn --connections 1000 --seconds 3 --room-size 10 \
    --churn-users 20000
  churn_one_room 3
elif [[ $mode == full ]]; then
  idle_scenarios
  storm_scenarios
  send_floor
  fanout_10k
  heartbeat_scenarios
  scenario offline-close --scenario offline --repeat 40 \
    --app-id bench-nograce --app-key bench-nograce-key --app-secret bench-nograce-secret
  scenario offline-grace --scenario offline --repeat 6
  churn_from_pool
  # Then every session a new user, which the server must remember (last seen), so its memory
  # grows with them by design.
  scenario churn-1k-new-users --scenario churn --connections 1000 --seconds 10 --rounds 3 \
    --room-size 10
  churn_one_room 5
elif [[ $mode == heartbeat ]]; then
  heartbeat_scenarios
elif [[ $mode == delivery ]]; then
  storm_scenarios
  fanout_10k
elif [[ $mode == memory ]]; then
  idle_scenarios
  churn_from_pool
elif [[ $mode == churn ]]; then
  churn_one_room 5
elif [[ $mode == fanout-study ]]; then
  send_floor
  fanout=(--scenario fanout --connections 10000 --triggers 50 --trigger-rate 5 --burst 200)
  for p in 1 2 4; do scenario "fanout-10k-p$p" "${fanout[@]}" --processes "$p"; done
  pin 0 1
  scenario fanout-10k-server0-gen1 "${fanout[@]}" --processes 2
  pin 1 0
  scenario fanout-10k-server1-gen0 "${fanout[@]}" --processes 2
  pin
else
  echo "usage: $0 quick|full|heartbeat|churn|delivery|memory|fanout-study" >&2
  exit 2
fi

echo "results: $results" >&2
if command -v jq >/dev/null; then "$repo/bench/summary.sh" "$results"; fi
