#!/usr/bin/env bash
# bench_cpu.sh: the server CPU each request costs, lsmkv-server against
# Debian's redis-server, test by test — a steadier measure than throughput on
# a small machine, where redis-benchmark shares the cores with the server and
# single runs of bench_vs_redis.sh swing by a third.
#
#   server/bench_cpu.sh PATH/TO/lsmkv-server [ROUNDS] [REQUESTS] [BIN_B]
#
# Each round starts a fresh redis-server (appendonly yes, appendfsync
# everysec) and a fresh lsmkv-server (and, with BIN_B, a second lsmkv-server
# build, so that two builds compare in the same run), rotating which goes
# first (use a multiple of the number of servers as ROUNDS), and runs redis-benchmark's tests of BENCH_TESTS (default the data-model
# set lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,mset) one
# at a time in that order, REQUESTS (default 200000) requests each, 50
# clients, -P 16. A test's CPU is the time the server's threads ran across
# it (the sum of /proc/PID/task/*/schedstat, in nanoseconds: /proc/PID/stat's
# 10 ms ticks are too coarse for a test of a few hundred milliseconds),
# divided by REQUESTS: background threads (flushes, compactions, the WAL's
# syncs) included, and threads that ended meanwhile (counted in clock
# ticks). redis-benchmark's lrange_* tests push their list first in the same
# invocation, so their figure covers those pushes too. Prints every measurement and a Markdown
# table of medians: µs of server CPU per request and requests/s per server,
# and redis's CPU over lsmkv's (above 1: lsmkv spends less).
set -euo pipefail

bin=${1:?path to lsmkv-server}
rounds=${2:-3}
requests=${3:-200000}
bin_b=${4:-}
tests=${BENCH_TESTS:-lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,mset}
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool not found (scripts/bootstrap.sh installs it)" >&2; exit 1; }
done
[[ -r /proc/self/schedstat ]] || { echo "bench_cpu.sh needs /proc/PID/schedstat (Linux)" >&2; exit 1; }

work=$(mktemp -d)
pid=""
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

hz=$(getconf CLK_TCK)
# The server's CPU so far in ns: its live threads' from schedstat (ns), and
# that of its threads already gone (short-lived ones, such as the memtable
# chunk pool's refills) from /proc/PID/stat, whose clock ticks count them
# while the live threads' own stat files no longer do. A thread may end
# between the reads (its files then vanish: not an error).
cpu_ns() {
  local live ticks_all ticks_live
  live=$({ cat /proc/"$1"/task/*/schedstat 2>/dev/null || true; } | awk '{s += $1} END {printf "%.0f", s}')
  ticks_all=$(awk '{print $14 + $15}' /proc/"$1"/stat)
  ticks_live=$({ cat /proc/"$1"/task/*/stat 2>/dev/null || true; } |
    awk '{s += $14 + $15} END {printf "%.0f", s}')
  awk -v l="$live" -v a="$ticks_all" -v t="$ticks_live" -v hz="$hz" \
    'BEGIN {d = a - t; if (d < 0) d = 0; printf "%.0f", l + d * 1e9 / hz}'
}

results=$work/results.csv  # server,test,us_per_request,rps
: >"$results"

# run_server NAME: starts it, runs every test, stops it.
run_server() {
  local name=$1 dir=$work/$1-data port=""
  rm -rf "$dir"
  mkdir -p "$dir"
  if [[ $name == redis ]]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec \
      --dir "$dir" --loglevel warning >"$work/$name.log" 2>&1 &
    pid=$!
  else
    local server_bin=$bin
    [[ $name == lsmkv-b ]] && server_bin=$bin_b
    "$server_bin" --port 0 --dir "$dir" --appendfsync everysec >"$work/$name.log" 2>&1 &
    pid=$!
    for _ in $(seq 200); do
      port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$work/$name.log")
      [[ -n $port ]] && break
      sleep 0.05
    done
  fi
  for _ in $(seq 200); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.05
  done
  local test before after rps us
  for test in ${tests//,/ }; do
    before=$(cpu_ns "$pid")
    rps=$(redis-benchmark -p "$port" -t "$test" -c 50 -n "$requests" -P 16 --csv 2>/dev/null |
      tail -n 1 | tr -d '"' | cut -d, -f2)
    after=$(cpu_ns "$pid")
    us=$(awk -v a="$after" -v b="$before" -v n="$requests" 'BEGIN {printf "%.3f", (a - b) / 1e3 / n}')
    echo "$name,$test,$us,$rps" | tee -a "$results"
  done
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
}

servers=(redis lsmkv)
[[ -n $bin_b ]] && servers+=(lsmkv-b)
echo "tests $tests, $requests requests each, -P 16, 50 clients; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
# Each round rotates the order, so that over a multiple of the number of
# servers every one runs in every position equally often: a server run right
# after another measured several per cent more CPU than one run first.
for round in $(seq "$rounds"); do
  n=${#servers[@]}
  for i in $(seq 0 $((n - 1))); do run_server "${servers[$(((i + round) % n))]}"; done
done

median() {  # server test column
  grep "^$1,$2," "$results" | cut -d, -f"$3" | sort -g |
    awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'
}
echo
header="| test | redis µs/req | lsmkv µs/req | redis / lsmkv CPU | redis req/s | lsmkv req/s |"
rule="|---|---:|---:|---:|---:|---:|"
if [[ -n $bin_b ]]; then
  header+=" lsmkv-b µs/req | redis / lsmkv-b CPU | lsmkv-b req/s |"
  rule+="---:|---:|---:|"
fi
echo "$header"
echo "$rule"
for test in ${tests//,/ }; do
  r_us=$(median redis "$test" 3)
  l_us=$(median lsmkv "$test" 3)
  line="| $test | $r_us | $l_us | $(awk -v r="$r_us" -v l="$l_us" 'BEGIN {printf "%.2f", (l > 0 ? r / l : 0)}')"
  line+=" | $(median redis "$test" 4) | $(median lsmkv "$test" 4) |"
  if [[ -n $bin_b ]]; then
    b_us=$(median lsmkv-b "$test" 3)
    line+=" $b_us | $(awk -v r="$r_us" -v l="$b_us" 'BEGIN {printf "%.2f", (l > 0 ? r / l : 0)}') | $(median lsmkv-b "$test" 4) |"
  fi
  echo "$line"
done
