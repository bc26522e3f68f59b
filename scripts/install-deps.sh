#!/usr/bin/env bash
# Installs what greendot needs on Debian 12 (bookworm).
#
#   scripts/install-deps.sh [build|test]
#
#   build  compilers, CMake and the libraries needed to build and run the server and its unit
#          tests (the default CMake build includes them)
#   test   (the default) build, plus clang, sanitizer runtimes, benchmarks, formatting, curl,
#          php-cli (runs the README's PHP token snippet), redis-server (the Redis client's tests),
#          chromium (the browser tests), Node.js >= 18 with npm, and the node modules of the
#          integration and browser tests
#
# Idempotent: it asks dpkg what is missing and touches apt only then, so a run on a machine that
# has everything takes well under a second.
set -euo pipefail

readonly BUILD_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates
  # Boost 1.81 by its versioned names: the unversioned libboost-dev is 1.74 on bookworm and
  # conflicts with libboost1.81-dev.
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsqlite3-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
)
# sqlite3: the integration tests read the data file to see when a write has reached it.
# php-cli: runs the README's PHP token snippet.
# redis-server: the Redis client's tests talk to a real one.
# chromium: the browser tests drive it (playwright-core and raw DevTools) against the binary.
readonly TEST_PACKAGES=(libbenchmark-dev clang libclang-rt-14-dev clang-format curl sqlite3 php-cli
  redis-server chromium)
readonly MIN_NODE_MAJOR=18

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo_root
apt_updated=false
packages=()  # what this run wants installed

say() { printf 'install-deps: %s\n' "$*"; }
die() {
  printf 'install-deps: %s\n' "$*" >&2
  exit 1
}

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }

# Runs a command with its output hidden unless it fails, so that a good run stays short.
run_quietly() {
  local log status=0
  log=$(mktemp)
  ("$@") >"$log" 2>&1 || status=$?
  if ((status != 0)); then
    cat "$log" >&2
    rm -f "$log"
    die "failed ($status): $*"
  fi
  rm -f "$log"
}

as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "root is needed to run '$*'; run this script as root or install sudo"
  fi
}

require_debian_12() {
  local os="an unknown system"
  if [[ -r /etc/os-release ]]; then
    # shellcheck source=/dev/null
    os=$(. /etc/os-release && echo "${ID:-}-${VERSION_ID:-} (${PRETTY_NAME:-})")
  fi
  if [[ $os != "debian-12 "* ]]; then
    die "this script knows Debian 12 (bookworm) only, not $os; install the equivalents of:" \
      "${BUILD_PACKAGES[*]} ${TEST_PACKAGES[*]} nodejs npm"
  fi
}

apt_update_once() {
  if [[ $apt_updated == false ]]; then
    say "updating apt package lists"
    run_quietly as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    apt_updated=true
  fi
}

node_major() {
  local version
  version=$(node --version 2>/dev/null || true)
  version=${version#v}
  echo "${version%%.*}"
}

has_usable_node() {
  local major
  major=$(node_major)
  [[ $major =~ ^[0-9]+$ ]] && ((major >= MIN_NODE_MAJOR))
}

# Adds to `packages` what Node.js and npm need. A node >= 18 already on PATH (say from
# NodeSource) is kept: Debian's nodejs and npm would conflict with it.
add_node_packages() {
  if ! has_usable_node; then
    packages+=(nodejs npm)
    return
  fi
  say "keeping node $(node --version) from $(command -v node)"
  command -v npm >/dev/null 2>&1 && return
  apt_update_once
  if apt-get -s install npm >/dev/null 2>&1; then
    packages+=(npm)
  else
    say "warning: node $(node --version) has no npm, and Debian's npm conflicts with it" \
      "(apt-get -s install npm fails); install npm from wherever node came from" >&2
  fi
}

# One dpkg-query for the lot: a query per package costs seconds on slow machines.
install_packages() {
  local -A installed=()
  local missing=() name status
  while read -r name status; do
    if [[ $status == *" installed" ]]; then installed[$name]=1; fi
  done < <(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null || true)
  for name in "$@"; do
    [[ -v installed[$name] ]] || missing+=("$name")
  done
  if ((${#missing[@]} == 0)); then
    say "all $# packages already installed"
    return
  fi
  apt_update_once
  say "installing ${missing[*]}"
  run_quietly as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# `npm ci` wipes and recreates node_modules, so it runs only when the lock file is newer.
install_node_modules() {
  local dir="$repo_root/$1"
  [[ -f $dir/package-lock.json ]] || return 0
  if [[ -d $dir/node_modules && ! $dir/package-lock.json -nt $dir/node_modules ]]; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || die "npm is needed for $1 but is not on PATH"
  say "running npm ci in $1"
  (cd "$dir" && run_quietly npm ci --no-audit --no-fund)
  # Marks this install as newer than the lock file, even when there was nothing to install.
  mkdir -p "$dir/node_modules"
  touch "$dir/node_modules"
}

main() {
  local group=${1:-test}
  case $group in
    build | test) ;;
    -h | --help)
      usage
      return
      ;;
    *)
      printf 'install-deps: unknown group "%s"\n\n' "$group" >&2
      usage >&2
      exit 2
      ;;
  esac
  (($# <= 1)) || die "expected at most one argument (build or test), got $#"

  require_debian_12
  packages=("${BUILD_PACKAGES[@]}")
  if [[ $group == test ]]; then
    packages+=("${TEST_PACKAGES[@]}")
    add_node_packages
  fi
  install_packages "${packages[@]}"

  if [[ $group == test ]]; then
    has_usable_node || die "node $MIN_NODE_MAJOR or newer is needed, found '$(node --version 2>&1 || true)'"
    install_node_modules tests/integration
    install_node_modules tests/browser
  fi
}

main "$@"
