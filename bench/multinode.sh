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
#
# Environment as bench/run.sh: GREENDOT_BIN, LOADGEN_BIN, BUILD_DIR, OUT; REDIS_PORT (6390),
# PORTS (6201 6202 6203); PER_NODE=0, STORMS="" or HEARTBEATS=0 leave a part out.
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

# Members in the rooms presence-room-0 .. presence-room-<n-1> of the bench app, summed in Redis.
members_in_rooms() {
  redis EVAL "local n = 0 for i = 0, tonumber(ARGV[1]) - 1 do n = n + redis.call('HLEN', 'bench:{bench:presence-room-' .. i .. '}:members') end return n" 0 "$1"
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
