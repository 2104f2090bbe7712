#!/usr/bin/env bash
# redis_suite.sh: Redis's own test suite against lsmkv-server, with redis-server
# as the reference (docs/REDIS_COMPAT.md, "Redis's own test suite").
#
#   scripts/redis_suite.sh [--build-dir DIR] [--units "U ..."] [--cache DIR]
#                          [--logs DIR] [--unit-timeout S] [--require-ratio R]
#                          [--no-reference] [--check-encoding] [--cached-only]
#
# The suite is tests/ of Debian's source package redis 5:7.0.15-1~deb12u7
# (upstream 7.0.15), fetched once with apt-get source into --cache (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/lsmkv-redis-suite/7.0.15), outside the
# repository; later runs reuse it. It needs tclsh (Debian tcl).
# For each unit (default: type/string type/incr expire keyspace multi scan
# type/hash type/list type/set type/zset pubsub; --units takes names separated
# by spaces or commas) it starts a fresh DIR/lsmkv-server (default build) on a
# fresh data directory and a free port, runs
#   tclsh tests/test_helper.tcl --host 127.0.0.1 --port P --single unit/U
#         --singledb --clients 1 --ignore-encoding --tags "-needs:debug ..."
# (external mode; the tests tagged needs:debug, needs:repl,
# needs:config-maxmemory, needs:save, needs:reset, needs:config-resetstat are
# left out; --check-encoding drops --ignore-encoding) bounded by --unit-timeout
# seconds (default 600), then does the same against a fresh
# /usr/bin/redis-server (--save '' --appendonly yes, DEBUG enabled as Redis's
# own external-server CI runs it) unless --no-reference.
# Prints one table (tests passed and failed per server, the lsmkv/redis ratio
# of passed tests, the seconds each run took, and the exception that stopped
# the unit early, if one did: in Redis's suite an exception, e.g. an unknown
# command outside an assertion, ends the unit, so only the tests before it
# count), then per unit the commands lsmkv-server answered unknown and the
# other Redis commands the unit's file calls that it lacks (a static scan).
# Keeps every log in --logs (default a new directory under /tmp, named at
# the end).
# Exits 0 whatever the tests say; 1 on an infrastructure failure (no fetch,
# no tclsh, a server that does not start, a run with no result), or with
# --require-ratio R if a unit's ratio is below R; 77 with --cached-only
# (the ctest smoke) when the suite or tclsh is not there yet (it never
# downloads then); 2 on a usage error.
set -euo pipefail

readonly deb_version=5:7.0.15-1~deb12u7
readonly upstream_version=7.0.15
build_dir=build
units="type/string type/incr expire keyspace multi scan type/hash type/list type/set type/zset pubsub"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lsmkv-redis-suite/$upstream_version
logs=""
unit_timeout=600
require_ratio=""
reference=1
ignore_encoding=1
cached_only=0
readonly denied_tags="-needs:debug -needs:repl -needs:config-maxmemory -needs:save -needs:reset -needs:config-resetstat"

usage() { sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --units) units=${2//,/ }; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    --logs) logs=$2; shift 2 ;;
    --unit-timeout) unit_timeout=$2; shift 2 ;;
    --require-ratio) require_ratio=$2; shift 2 ;;
    --no-reference) reference=0; shift ;;
    --check-encoding) ignore_encoding=0; shift ;;
    --cached-only) cached_only=1; shift ;;
    -h|--help) usage ;;
    *) echo "redis-suite: unknown argument $1" >&2; usage ;;
  esac
done
[[ $unit_timeout =~ ^[0-9]+$ ]] || { echo "redis-suite: not a number: $unit_timeout" >&2; exit 2; }
if [[ -n $require_ratio ]]; then
  [[ $require_ratio =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
    { echo "redis-suite: --require-ratio needs a number, got $require_ratio" >&2; exit 2; }
  [[ $reference -eq 1 ]] || { echo "redis-suite: --require-ratio needs the reference run" >&2; exit 2; }
fi
read -r -a unit_list <<<"$units"
[[ ${#unit_list[@]} -gt 0 ]] || { echo "redis-suite: no unit given" >&2; exit 2; }

infra_fail() { echo "redis-suite: FAILED: $*" >&2; exit 1; }

# --- The suite and its tools -------------------------------------------------
suite=$cache/tests
if [[ ! -f $suite/test_helper.tcl || ! -x $(command -v tclsh || echo /nonexistent) ]]; then
  if [[ $cached_only -eq 1 ]]; then
    echo "redis-suite: SKIPPED: Redis's test suite is not cached in $cache or tclsh is missing;"
    echo "redis-suite: run 'make redis-suite' once to fetch it (make test never downloads it)"
    exit 77
  fi
fi
command -v tclsh >/dev/null || infra_fail "tclsh is needed (Debian tcl; scripts/bootstrap.sh installs it)"
if [[ ! -f $suite/test_helper.tcl ]]; then
  # shellcheck source=deb_src.sh
  source "$(dirname "$0")/deb_src.sh"
  echo "redis-suite: fetching the test suite of redis $deb_version (apt-get source) into $cache"
  fetch_start=$(date +%s)
  fetch_deb_src_tree redis-suite redis "$deb_version" "$cache" tests ||
    infra_fail "cannot fetch the test suite"
  [[ -f $suite/test_helper.tcl ]] || infra_fail "no tests/test_helper.tcl in redis $deb_version"
  echo "redis-suite: fetched in $(( $(date +%s) - fetch_start ))s"
else
  echo "redis-suite: using the cached test suite of redis $deb_version in $cache (fetch: 0s)"
fi
for u in "${unit_list[@]}"; do
  [[ -f $suite/unit/$u.tcl ]] || infra_fail "no unit $u in the suite ($suite/unit/$u.tcl)"
done
server_bin=$build_dir/lsmkv-server
[[ -x $server_bin ]] || infra_fail "$server_bin is not built"
redis_bin=/usr/bin/redis-server
if [[ $reference -eq 1 && ! -x $redis_bin ]]; then
  infra_fail "$redis_bin is needed for the reference run (Debian redis-server), or pass --no-reference"
fi

if [[ -z $logs ]]; then
  logs=$(mktemp -d "${TMPDIR:-/tmp}/lsmkv-redis-suite.XXXXXX")
else
  mkdir -p "$logs"
fi
work=$(mktemp -d)
server_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill -9 "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
# A private copy: the suite writes into tests/tmp, and runs must not share it.
mkdir -p "$work/suite"
cp -R "$suite" "$work/suite/tests"

# --- Servers -----------------------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts lsmkv-server on a free port (it picks one) with a fresh data
# directory; sets server_pid and port.
start_lsmkv() {
  local tag=$1
  "$server_bin" --port 0 --dir "$work/data-$tag" >"$logs/$tag.server.log" 2>&1 &
  server_pid=$!
  port=""
  for _ in $(seq 500); do
    port=$(sed -n 's/.*listening on [^ ]*:\([0-9]*\) .*/\1/p' "$logs/$tag.server.log" | head -1)
    [[ -n $port ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.02
  done
  cat "$logs/$tag.server.log" >&2
  infra_fail "lsmkv-server did not start (log: $logs/$tag.server.log)"
}

# Starts redis-server on a free port with a fresh directory; sets
# server_pid and port.
start_redis() {
  local tag=$1 attempt
  for attempt in 1 2 3 4 5; do
    port=$(( 12000 + RANDOM % 8000 ))
    port_in_use "$port" && continue
    mkdir -p "$work/data-$tag"
    "$redis_bin" --bind 127.0.0.1 --port "$port" --dir "$work/data-$tag" --save '' \
      --appendonly yes --enable-debug-command yes --enable-protected-configs yes \
      >"$logs/$tag.server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 250); do
      redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.02
    done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  done
  cat "$logs/$tag.server.log" >&2
  infra_fail "redis-server did not start (log: $logs/$tag.server.log)"
}

# Stops the server; sets server_died if it had exited before being asked to.
stop_server() {
  server_died=0
  kill -0 "$server_pid" 2>/dev/null || server_died=1
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 250); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.02
  done
  kill -9 "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# --- Runs ----------------------------------------------------------------------
# run_unit <server: lsmkv|redis> <unit>: sets r_ok r_err r_exc r_secs r_note.
run_unit() {
  local kind=$1 unit=$2
  local tag=$kind-${unit//\//_}
  local log=$logs/$tag.log
  if [[ $kind == lsmkv ]]; then start_lsmkv "$tag"; else start_redis "$tag"; fi
  # The commands the server has, once (for the report of missing commands).
  if [[ ! -s $work/$kind.commands ]] && command -v redis-cli >/dev/null; then
    redis-cli -p "$port" command list 2>/dev/null | tr 'A-Z' 'a-z' | sort -u >"$work/$kind.commands" || true
  fi
  # The suite's own control port is the first free one in [baseport - 32,
  # baseport); its probe binds the wildcard address while it listens on
  # 127.0.0.1, so two runs with the same range can collide: draw one.
  local baseport=$(( 22000 + 64 * (RANDOM % 140) ))
  local args=(--host 127.0.0.1 --port "$port" --single "unit/$unit" --singledb --clients 1
              --timeout "$unit_timeout" --tags "$denied_tags" --baseport "$baseport")
  [[ $ignore_encoding -eq 1 ]] && args+=(--ignore-encoding)
  local start rc=0
  start=$(date +%s)
  (cd "$work/suite" && timeout --kill-after=10 "$unit_timeout" tclsh tests/test_helper.tcl "${args[@]}") \
    >"$log" 2>&1 || rc=$?
  r_secs=$(( $(date +%s) - start ))
  stop_server
  # The suite colours its output even into a file.
  sed 's/\x1b\[[0-9;]*m//g' "$log" >"$log.txt"
  r_ok=$(grep -c '^\[ok\]:' "$log.txt" || true)
  r_err=$(grep -c '^\[err\]:' "$log.txt" || true)
  # The exception's message (without the arguments of an unknown command)
  # and the test it happened in, from its Tcl stack trace ("test NAME {").
  r_exc=$(sed -n 's/^\[exception\]: Executing test client: //p' "$log.txt" | head -1 |
          sed 's/, with args beginning with:.*//')
  if [[ -n $r_exc ]]; then
    local in_test
    in_test=$(sed -n '/^\[exception\]/,$ s/^"test \(.*\) {$/\1/p' "$log.txt" | head -1)
    in_test=${in_test#[\{\"]}; in_test=${in_test%[\}\"]}
    r_exc+=" (in ${in_test:+test }${in_test:-a start_server block, outside any test})"
  fi
  r_note=""
  if grep -q '^\[TIMEOUT\]' "$log.txt"; then r_note="suite timeout (no progress)"; fi
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then r_note="killed after ${unit_timeout}s"; fi
  [[ $server_died -eq 1 ]] && r_note="$kind server died (log: $logs/$tag.server.log)"
  if ! grep -q "^Testing unit/$unit" "$log.txt"; then
    cat "$log" >&2
    infra_fail "the suite did not start unit/$unit against $kind (log: $log)"
  fi
}

declare -A l_ok l_err l_exc l_secs r_okr r_secs_r missing
ratio_failures=0
for unit in "${unit_list[@]}"; do
  run_unit lsmkv "$unit"
  l_ok[$unit]=$r_ok; l_err[$unit]=$r_err; l_secs[$unit]=$r_secs
  l_exc[$unit]=${r_exc:-$r_note}
  [[ -n $r_exc && -n $r_note ]] && l_exc[$unit]="$r_exc; $r_note"
  missing[$unit]=$(grep -o "ERR unknown command '[^']*'" "$logs/lsmkv-${unit//\//_}.log.txt" |
                   sed "s/ERR unknown command '\\(.*\\)'/\\1/" | tr 'A-Z' 'a-z' | sort -u | tr '\n' ' ' || true)
  line="redis-suite: $unit: lsmkv-server ${r_ok} passed, ${r_err} failed in ${r_secs}s"
  [[ -n ${l_exc[$unit]} ]] && line+=", stopped by: ${l_exc[$unit]}"
  echo "$line"
  if [[ $reference -eq 1 ]]; then
    run_unit redis "$unit"
    r_okr[$unit]=$r_ok; r_secs_r[$unit]=$r_secs
    line="redis-suite: $unit: redis-server ${r_ok} passed, ${r_err} failed in ${r_secs}s"
    [[ -n $r_exc || -n $r_note ]] && line+=", stopped by: ${r_exc:-$r_note}"
    echo "$line"
  fi
done

# --- Report --------------------------------------------------------------------
echo
printf '%-12s %8s %8s %8s %6s %9s  %s\n' unit lsmkv-ok lsmkv-err redis-ok ratio seconds \
  "stopped by (lsmkv-server)"
total_l=0; total_r=0
for unit in "${unit_list[@]}"; do
  redis_ok="-"; ratio="-"; secs=${l_secs[$unit]}
  total_l=$(( total_l + l_ok[$unit] ))
  if [[ $reference -eq 1 ]]; then
    redis_ok=${r_okr[$unit]}
    total_r=$(( total_r + redis_ok ))
    secs="${l_secs[$unit]}/${r_secs_r[$unit]}"
    if [[ $redis_ok -gt 0 ]]; then
      ratio=$(awk -v a="${l_ok[$unit]}" -v b="$redis_ok" 'BEGIN {printf "%.2f", a / b}')
    fi
    if [[ -n $require_ratio ]] &&
       ! awk -v a="${l_ok[$unit]}" -v b="$redis_ok" -v r="$require_ratio" \
           'BEGIN {exit !(b > 0 ? a / b >= r : a > 0 || r == 0)}'; then
      ratio_failures=$((ratio_failures + 1))
    fi
  fi
  exc=${l_exc[$unit]:--}
  printf '%-12s %8s %8s %8s %6s %9s  %s\n' "$unit" "${l_ok[$unit]}" "${l_err[$unit]}" \
    "$redis_ok" "$ratio" "$secs" "${exc:0:160}"
done
if [[ $reference -eq 1 ]]; then
  total_ratio=$(awk -v a="$total_l" -v b="$total_r" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
  printf '%-12s %8s %8s %8s %6s\n' total "$total_l" "" "$total_r" "$total_ratio"
fi
echo
# Words after a client handle in the unit's file ("r sadd", "$rd blpop",
# "r -1 get"): the commands it calls, also in tests the tags leave out.
unit_calls() {
  grep -ohE '(^|[[ {;])(r|[$]rd|[$]r|[$]rd[0-9]|[$]rr) (-?[0-9]+ )?[a-zA-Z][a-zA-Z_|-]*' \
    "$suite/unit/$1.tcl" | awk '{print tolower($NF)}' | sort -u || true
}
echo "Commands lsmkv-server lacks, per unit: first those it called and answered unknown"
echo "(the stopping exception, failed tests); then the other Redis commands the unit's file"
echo "calls (a static scan, also of tests the tags leave out):"
for unit in "${unit_list[@]}"; do
  lacking="-"
  if [[ -s $work/redis.commands && -s $work/lsmkv.commands ]]; then
    lacking=$(unit_calls "$unit" | comm -12 - "$work/redis.commands" |
              comm -23 - "$work/lsmkv.commands" | tr '\n' ' ')
  fi
  printf '  %-12s called: %s| in the file: %s\n' "$unit" "${missing[$unit]:-none }" "${lacking:-none}"
done
echo
echo "redis-suite: seconds are lsmkv-server/redis-server; logs in $logs"
if [[ $ratio_failures -gt 0 ]]; then
  echo "redis-suite: FAILED: $ratio_failures unit(s) below the required lsmkv/redis ratio $require_ratio"
  exit 1
fi
