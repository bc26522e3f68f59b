#!/usr/bin/env bash
# Several greendot nodes sharing presence through one redis-server ([engine] kind = "redis"),
# on this machine: one JSON line per measurement to $OUT/multinode.jsonl.
#
#   bench/multinode.sh            (after make bench-build)
#
# idle-3x17k: three nodes, a generator each (one process may hold 20,000 files here), 17,000
#   presence connections per node in rooms of 300 members (100 from each node): 51,000 in one
#   presence system. Reports each node's RSS per connection and Redis's memory per member.
# storm-3n-1000 / storm-3n-5000: N users join one presence channel at once, spread over the
#   three nodes by one generator; the time until every member has seen every member_added,
#   the scripts (round trips) per join, and Redis's own CPU.
# hb-redis-*: HTTP heartbeats through Redis (see below).
# fanout-3n-10k: 10,000 subscribers of one private channel, a third on each node, REST triggers
#   into node 0 (50 at 5/s, then 200 back to back): latency from trigger to each receipt and to
#   each trigger's last, per node, and each node's CPU per recipient of its own subscribers.
#   Before it, in the same session: the kernel's send floor, fanout-1n-embedded-10k (one node,
#   embedded engine) and fanout-1n-of-3-redis-10k (every subscriber on node 0 of the three).
# churn-3n-one-room[-nograce]: 50 loops of connect, join presence-churn-0 as a new user, close,
#   spread over the nodes (as `run.sh churn`: 5 s, 3 rounds, with the default grace and
#   without); sessions/s, the nodes' CPU per session, Redis scripts and Redis CPU per session.
#   First the same on one node with the embedded engine (churn-1n-embedded-one-room[-nograce]).
# crash-3n-1000: 1,000 presence members on node 2 in 5 rooms, 2 observers of each room on
#   nodes 0 and 1; the generator kills node 2 (SIGKILL) and times every member_removed each
#   observer sees, counting removals missed or seen twice. The default node lease (10 s); four
#   runs at different moments of the lease refresh cycle (CRASH_SETTLE).
#
# Environment as bench/run.sh: GREENDOT_BIN, LOADGEN_BIN, BUILD_DIR, OUT, COMMIT; REDIS_PORT
# (6390), PORTS (6201 6202 6203); PER_NODE=0, STORMS="", HEARTBEATS=0, FANOUT=0, CHURN=0 or
# CRASH=0 leave a part out (FANOUT: subscribers, default 10000; CRASH: members, default 1000;
# CRASH_SETTLE: the crash runs' settle times, default "2 2.6 3.2 3.8").
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$repo/build-bench}
server_bin=${GREENDOT_BIN:-$build/greendot}
loadgen_bin=${LOADGEN_BIN:-$build/bench/greendot-loadgen}
out=${OUT:-$build/bench-results}
redis_port=${REDIS_PORT:-6390}
read -r -a ports <<<"${PORTS:-6201 6202 6203}"
config=$repo/bench/greendot.bench.toml
results=$out/multinode.jsonl
commit=${COMMIT:-$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)}
ulimit -n "$(ulimit -Hn)"
mkdir -p "$out"
: >"$results"

redis() { redis-cli -p "$redis_port" --raw "$@"; }
redis_pid=
node_pids=()
stop_all() {
  for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${node_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  node_pids=()
  if [[ -n $redis_pid ]]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  redis_pid=
}
trap stop_all EXIT

start_all() {
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --logfile "$out/redis.log" &
  redis_pid=$!
  for _ in $(seq 100); do redis PING >/dev/null 2>&1 && break; sleep 0.05; done
  for port in "${ports[@]}"; do
    "$server_bin" --config "$config" --port "$port" --engine redis \
      --redis-url "redis://127.0.0.1:$redis_port" --redis-key-prefix bench: \
      >>"$out/multinode-server-$port.log" 2>&1 &
    node_pids+=($!)
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.05; done
  done
}

# Members in the rooms <prefix>0 .. <prefix><n-1> of the bench app (prefix presence-room-
# unless given), summed in Redis.
members_in_rooms() {
  redis EVAL "local n = 0 for i = 0, tonumber(ARGV[1]) - 1 do n = n + redis.call('HLEN', 'bench:{bench:' .. ARGV[2] .. i .. '}:members') end return n" 0 "$1" "${2:-presence-room-}"
}
used_memory() { redis INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
total_calls() {
  redis INFO commandstats | sed -n 's/^cmdstat_[^:]*:calls=\([0-9]*\),.*/\1/p' | paste -sd+ | bc
}
# Scripts run (one round trip each); the commands inside them count in total_calls too.
script_calls() {
  redis INFO commandstats | sed -n 's/^cmdstat_eval\(sha\)\{0,1\}:calls=\([0-9]*\),.*/\2/p' | paste -sd+ | bc
}
redis_cpu() {
  redis INFO cpu | sed -n 's/^used_cpu_\(sys\|user\):\([0-9.]*\).*/\2/p' | paste -sd+ | bc
}
record() {
  local line=$1
  if command -v jq >/dev/null; then
    line=$(jq -c --arg c "$commit" --arg l "$(cut -d' ' -f1-3 /proc/loadavg)" \
      '. + {commit: $c, load_average_after: $l}' <<<"$line")
  fi
  echo "$line" | tee -a "$results"
}

# ---- 51,000 presence connections on three nodes ---------------------------------------------
per_node=${PER_NODE:-17000}
if [[ $per_node -gt 0 ]]; then
room=100
rooms=$((per_node / room))
start_all
memory_before=$(used_memory)
generators=()
for i in "${!ports[@]}"; do
  "$loadgen_bin" --scenario idle --connections "$per_node" --room-size "$room" --concurrency 300 \
    --idle-seconds 20 --port "${ports[$i]}" --server-pid "${node_pids[$i]}" \
    --user-prefix "n$i-" --label "idle-3x-node$i" >"$out/idle-node$i.json" &
  generators+=($!)
done
expected=$((per_node * ${#ports[@]}))
members=0
for _ in $(seq 1200); do
  members=$(members_in_rooms "$rooms")
  [[ $members -ge $expected ]] && break
  sleep 0.1
done
memory_connected=$(used_memory)
for pid in "${generators[@]}"; do wait "$pid"; done
for i in "${!ports[@]}"; do record "$(cat "$out/idle-node$i.json")"; done
record "$(printf '{"label":"idle-3x-redis","members":%s,"expected":%s,"redis_used_memory_before":%s,"redis_used_memory_connected":%s,"redis_bytes_per_member":%s}' \
  "$members" "$expected" "$memory_before" "$memory_connected" \
  "$(( (memory_connected - memory_before) / (members > 0 ? members : 1) ))")"
stop_all
fi

# ---- join storms spread over the three nodes -------------------------------------------------
list=$(IFS=,; echo "${ports[*]}")
storms=${STORMS-1000 5000}
for users in $storms; do
  start_all
  redis CONFIG RESETSTAT >/dev/null
  cpu_before=$(redis_cpu)
  line=$("$loadgen_bin" --scenario storm --connections "$users" --ports "$list" \
    --server-pid "${node_pids[0]}" --step-timeout 180 --label "storm-3n-$users")
  calls=$(total_calls)
  scripts=$(script_calls)
  cpu=$(echo "$(redis_cpu) - $cpu_before" | bc)
  if command -v jq >/dev/null; then
    line=$(jq -c --argjson c "$calls" --argjson s "$scripts" --argjson u "$users" \
      --argjson cpu "$cpu" \
      '. + {redis_commands_with_script_calls: $c, redis_scripts: $s,
            redis_scripts_per_join: ($s / $u), redis_cpu_seconds: $cpu,
            server_measured: "node 0 of 3"}' <<<"$line")
  fi
  record "$line"
  stop_all
done

# ---- HTTP heartbeats through Redis -------------------------------------------------------------
# hb-redis-signed-p8: signed pings into node 0 (8 pipelined on each of 32 connections, 10,000
#   users in 100 contexts), each a script in the context's slot; the scripts per ping.
# hb-redis-offline-once: 2,000 users ping once (TTL 2 s, grace 0); the time from each one's TTL
#   to its member_removed, seen by an observer on node 0, whichever node's sweep ended it.
hb_app=(--app-id bench-hb --app-key bench-hb-key --app-secret bench-hb-secret)
if [[ ${HEARTBEATS:-1} -eq 1 ]]; then
  start_all
  redis CONFIG RESETSTAT >/dev/null
  cpu_before=$(redis_cpu)
  line=$("$loadgen_bin" --scenario heartbeat --seconds 10 --concurrency 32 --hb-depth 8 \
    --hb-auth signed --hb-users 10000 --hb-rooms 100 --port "${ports[0]}" \
    --server-pid "${node_pids[0]}" --label hb-redis-signed-p8)
  scripts=$(script_calls)
  cpu=$(echo "$(redis_cpu) - $cpu_before" | bc)
  redis INFO commandstats >"$out/hb-redis-commandstats.txt"  # Redis's time per command kind
  if command -v jq >/dev/null; then
    line=$(jq -c --argjson s "$scripts" --argjson cpu "$cpu" \
      '. + {redis_scripts: $s, redis_cpu_seconds: $cpu}' <<<"$line")
  fi
  record "$line"
  record "$("$loadgen_bin" --scenario hb-offline --hb-users 2000 --hb-rooms 10 --concurrency 16 \
    "${hb_app[@]}" --port "${ports[0]}" --server-pid "${node_pids[0]}" \
    --label hb-redis-offline-once)"
  stop_all
fi

# ---- fan-out of a REST trigger to subscribers on every node ------------------------------------
# First the kernel's floor (as run.sh fanout-study) and two baselines measured alike in the same
# session: one node with the embedded engine, then one node of the three with the Redis engine
# holding every subscriber; then a third of the subscribers on each node.
pids_list() { local IFS=,; echo "${node_pids[*]}"; }
start_embedded() {
  "$server_bin" --config "$config" --port "${ports[0]}" >>"$out/multinode-server-embedded.log" 2>&1 &
  node_pids=($!)
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:${ports[0]}/ready" >/dev/null && break; sleep 0.05; done
}
fanout_run() {  # label, ports
  local label=$1 on=$2 line cpu
  redis CONFIG RESETSTAT >/dev/null 2>&1 || true
  cpu_before=$(redis_cpu 2>/dev/null || echo 0)
  line=$("$loadgen_bin" --scenario fanout --connections "$fanout" --triggers 50 --trigger-rate 5 \
    --burst 200 --ports "$on" --server-pid "${node_pids[0]}" --server-pids "$(pids_list)" \
    --label "$label")
  if [[ -n $redis_pid ]] && command -v jq >/dev/null; then
    cpu=$(echo "$(redis_cpu) - $cpu_before" | bc)
    line=$(jq -c --argjson c "$(total_calls)" --argjson cpu "$cpu" \
      '. + {redis_commands: $c, redis_cpu_seconds: $cpu,
            server_measured: "node 0 (server); each node (nodes)"}' <<<"$line")
  fi
  record "$line"
}
fanout=${FANOUT:-10000}
send_floor_bin=${SEND_FLOOR_BIN:-$build/bench/greendot-send-floor}
if [[ $fanout -gt 0 ]]; then
  if [[ -x $send_floor_bin ]]; then
    for senders in 1 2; do
      record "$("$send_floor_bin" --connections 5000 --senders "$senders" --rounds 7 |
        jq -c '. + {label: "send-floor-5k-senders-\(.senders)"}')"
    done
  fi
  k=$((fanout / 1000))k
  start_embedded
  fanout_run "fanout-1n-embedded-$k" "${ports[0]}"
  stop_all
  start_all
  fanout_run "fanout-1n-of-3-redis-$k" "${ports[0]}"
  stop_all
  start_all
  fanout_run "fanout-3n-$k" "$list"
  stop_all
fi

# ---- churn through Redis -------------------------------------------------------------------------
# The nodes run scripts of their own all the time (lease refreshes every 2.5 s, sweeps every 1 s
# and 0.5 s); they and Redis's CPU are counted for 10 s before each run, and those rates are
# taken off the run's figures per session.
nograce_app=(--app-id bench-nograce --app-key bench-nograce-key --app-secret bench-nograce-secret)
if [[ ${CHURN:-1} -eq 1 ]]; then
  # The baseline of the same session: one node with the embedded engine, as `run.sh churn`.
  for grace in grace nograce; do
    start_embedded
    app=()
    label=churn-1n-embedded-one-room
    if [[ $grace == nograce ]]; then app=("${nograce_app[@]}"); label=$label-nograce; fi
    record "$("$loadgen_bin" --scenario churn --connections 50 --room-size 50 --seconds 5 \
      --rounds 3 "${app[@]}" --port "${ports[0]}" --server-pid "${node_pids[0]}" --label "$label")"
    stop_all
  done
  for grace in grace nograce; do
    start_all
    redis CONFIG RESETSTAT >/dev/null
    cpu_idle=$(redis_cpu)
    sleep 10
    background=$(script_calls)
    cpu_idle=$(echo "$(redis_cpu) - $cpu_idle" | bc)
    redis CONFIG RESETSTAT >/dev/null
    cpu_before=$(redis_cpu)
    started=$(date +%s.%N)
    app=()
    label=churn-3n-one-room
    if [[ $grace == nograce ]]; then app=("${nograce_app[@]}"); label=$label-nograce; fi
    line=$("$loadgen_bin" --scenario churn --connections 50 --room-size 50 --seconds 5 \
      --rounds 3 "${app[@]}" --ports "$list" --server-pid "${node_pids[0]}" \
      --server-pids "$(pids_list)" --label "$label")
    elapsed=$(echo "$(date +%s.%N) - $started" | bc)
    scripts=$(script_calls)
    cpu=$(echo "$(redis_cpu) - $cpu_before" | bc)
    if command -v jq >/dev/null; then
      line=$(jq -c --argjson s "$scripts" --argjson b "$background" --argjson e "$elapsed" \
        --argjson cpu "$cpu" --argjson idle "$cpu_idle" \
        '. as $r | ([$r.round1.sessions, $r.round2.sessions, $r.round3.sessions] | add) as $n
         | . + {sessions_all_rounds: $n, redis_scripts: $s,
                redis_background_scripts_per_second: ($b / 10), run_seconds: $e,
                redis_scripts_per_session: (($s - $b / 10 * $e) / $n),
                redis_cpu_seconds: $cpu, redis_background_cpu_per_second: ($idle / 10),
                redis_cpu_us_per_session: (($cpu - $idle / 10 * $e) * 1e6 / $n),
                server_measured: "node 0 of 3 (server, rss); each node (nodes_cpu_seconds)"}' \
        <<<"$line")
    fi
    record "$line"
    stop_all
  done
fi

# ---- kill -9 of a node ---------------------------------------------------------------------------
# Every node refreshes its lease every 2.5 s (a quarter of it), so the kill's moment in that
# cycle decides how much of the lease is left: one run per CRASH_SETTLE (seconds between
# everyone-seen and the kill, fresh nodes each time) spreads the kills over the cycle.
crash=${CRASH:-1000}
for settle in ${CRASH_SETTLE-2 2.6 3.2 3.8}; do
  [[ $crash -gt 0 ]] || break
  start_all
  victim=$((${#ports[@]} - 1))
  observer_ports=$(IFS=,; echo "${ports[*]:0:victim}")
  observer_pids=$(IFS=,; echo "${node_pids[*]:0:victim}")
  line=$("$loadgen_bin" --scenario crash-observe --connections "$crash" --room-size 200 \
    --observers 2 --port "${ports[$victim]}" --ports "$observer_ports" \
    --kill-pid "${node_pids[$victim]}" --server-pids "$observer_pids" --settle-seconds "$settle" \
    --linger-seconds 5 --step-timeout 60 --label "crash-3n-$crash") || true
  # Members (users m<i>) Redis still holds in those rooms: none, once node 2 was swept.
  rooms=$(( (crash + 199) / 200 ))
  left=$(redis EVAL "local n = 0 for i = 0, tonumber(ARGV[1]) - 1 do for _, u in ipairs(redis.call('HKEYS', 'bench:{bench:presence-crash-' .. i .. '}:members')) do if string.sub(u, 1, 1) == 'm' then n = n + 1 end end end return n" 0 "$rooms")
  if command -v jq >/dev/null; then
    line=$(jq -c --argjson m "$left" --argjson s "$settle" \
      '. + {redis_members_left: $m, node_lease_ms: 10000, settle_seconds: $s}' <<<"$line")
  fi
  record "$line"
  stop_all
done
