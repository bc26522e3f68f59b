#!/usr/bin/env bash
# Runs every libFuzzer target of the fuzz build on its committed seeds, checks that the seeds
# reach the parsers, then fuzzes each for a while.
#
#   scripts/run-fuzz.sh BUILD_DIR SECONDS
#
# The seeds (fuzz/corpus/<target>/, written by fuzz/make-seeds.mjs) are copied to
# BUILD_DIR/corpus/<target>/ and fuzzing grows that copy, so the repository never collects
# generated inputs; crashes are written to BUILD_DIR/artifacts/.
set -euo pipefail

build_dir=$1
seconds=$2
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The coverage that running the seeds alone must reach, per target: libFuzzer's "cov:", the
# instrumented edges of the harness and of greendot_core and greendot_protocol reached.
#
# Why a floor on the seeds' own coverage: it is the one figure that tells "the seeds take the
# target into its parsers" from "the target runs but stops at its first check". Measured with
# clang 14 (December 2026), the seeds reach / the empty input alone reaches:
#   pusher_messages_fuzz   347 / 59   (89 with the parsers built without instrumentation)
#   user_token_fuzz        299 / 133  (the empty text is also signed as a payload and verified)
#   websocket_frame_fuzz   266 / 25
# Each floor sits about 15 % under the measured figure, so that another compiler version or a
# small refactor does not trip it, and far above what the empty input reaches, so that a lost
# or broken corpus, a harness that stops early, or parsers built without instrumentation (the
# fuzzer would then steer blind) all fail it. Raise a floor when new seeds or code reach more;
# never lower one to make a run pass without finding out why coverage fell.
declare -A floor=(
  [pusher_messages_fuzz]=295
  [user_token_fuzz]=272
  [websocket_frame_fuzz]=225
  [redis_reply_fuzz]=278
)

# The "cov:" of the INITED line: coverage after running every input given, before any fuzzing.
# When the target fails on one of them, shows libFuzzer's report and fails.
initial_coverage() {
  local log
  if ! log=$("$@" -runs=0 2>&1); then
    printf '%s\n' "$log" >&2
    return 1
  fi
  sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' <<<"$log" | tail -n 1
}

status=0
for target in "$build_dir"/*_fuzz; do
  name=$(basename "$target")
  seeds="$repo_root/fuzz/corpus/$name"
  if [[ -z "${floor[$name]:-}" ]]; then
    echo "$name: no coverage floor in scripts/run-fuzz.sh; measure one and add it" >&2
    status=1
    continue
  fi
  if ! compgen -G "$seeds/*" >/dev/null; then
    echo "$name: no seeds in fuzz/corpus/$name" >&2
    status=1
    continue
  fi
  corpus="$build_dir/corpus/$name"
  empty="$build_dir/corpus/empty"
  artifacts="$build_dir/artifacts"
  rm -rf "$corpus"
  mkdir -p "$corpus" "$empty" "$artifacts"
  cp "$seeds"/* "$corpus"/

  prefix="-artifact_prefix=$artifacts/$name-"
  if ! seeded=$(initial_coverage "$target" "$prefix" "$corpus"); then
    echo "$name: fails on one of its seeds (report above)" >&2
    exit 1
  fi
  baseline=$(initial_coverage "$target" "$prefix" "$empty")
  echo "$name: the seeds reach cov ${seeded:-?} (floor ${floor[$name]}; the empty input alone ${baseline:-?})"
  if [[ -z "$seeded" || "$seeded" -lt "${floor[$name]}" ]]; then
    echo "$name: the seeds do not reach the parsers (cov ${seeded:-none} < ${floor[$name]})" >&2
    status=1
    continue
  fi

  echo "fuzzing $name for $seconds s"
  "$target" -max_total_time="$seconds" -print_final_stats=1 "$prefix" "$corpus" || exit 1
done
exit "$status"
