#!/usr/bin/env bash
# bench_vs_redis.sh: redis-benchmark against lsmkv-server and Debian's
# redis-server in the same session, with the same fsync policy (appendonly
# yes, appendfsync everysec on both), alternating which server goes first.
# Prints every run and a Markdown table of medians (ops/sec, p99 latency) and
# the lsmkv/redis throughput ratio — the table in docs/BENCHMARKS.md.
#
#   server/bench_vs_redis.sh PATH/TO/lsmkv-server [RUNS] [REQUESTS] [FSYNC] [EXTRA]
#
# RUNS (default 2) runs of each test with 50 clients, without pipelining and
# with -P 16, REQUESTS (default 100000) requests each. The tests are
# redis-benchmark's -t list in BENCH_TESTS (default set,get,incr,mset; the
# data-model set is lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,
# lrange_100,mset) and the modes BENCH_MODES (default "P1 P16"). The table
# ends with the geometric mean of the ratios per mode.
# EXTRA is passed to redis-benchmark as is, e.g. "-r 1000000" for random keys
# (without it every SET/GET/MSET uses the one key "key:__rand_int__" and
# every INCR "counter:__rand_int__").
set -euo pipefail

bin=${1:?path to lsmkv-server}
runs=${2:-2}
requests=${3:-100000}
fsync=${4:-everysec}
read -r -a extra <<<"${5:-}"
tests=${BENCH_TESTS:-set,get,incr,mset}
read -r -a modes <<<"${BENCH_MODES:-P1 P16}"
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool not found (scripts/bootstrap.sh installs it)" >&2; exit 1; }
done

work=$(mktemp -d)
redis_pid=""
lsmkv_pid=""
cleanup() {
  [[ -n $redis_pid ]] && kill "$redis_pid" 2>/dev/null
  [[ -n $lsmkv_pid ]] && kill "$lsmkv_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }

redis_port=$(free_port)
mkdir -p "$work/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync "$fsync" \
  --dir "$work/redis" --loglevel warning >"$work/redis.log" 2>&1 &
redis_pid=$!
"$bin" --port 0 --dir "$work/lsmkv" --appendfsync "$fsync" >"$work/lsmkv.log" 2>&1 &
lsmkv_pid=$!
for _ in $(seq 200); do
  grep -q "listening on" "$work/lsmkv.log" && redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.05
done
lsmkv_port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$work/lsmkv.log")
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on $redis_port, lsmkv-server on $lsmkv_port; appendfsync $fsync; redis-benchmark extra args: [${extra[*]}]; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"

results=$work/results.csv  # server,mode,test,rps,p99
: >"$results"
bench() {  # server port mode
  local server=$1 port=$2 mode=$3 pipeline=()
  [[ $mode == "P16" ]] && pipeline=(-P 16)
  redis-benchmark -p "$port" -t "$tests" -c 50 -n "$requests" "${pipeline[@]}" "${extra[@]}" --csv 2>/dev/null |
    tail -n +2 | tr -d '"' | while IFS=, read -r test rps _avg _min _p50 _p95 p99 _max; do
      echo "$server,$mode,${test%% (*},$rps,$p99" | tee -a "$results"
    done
}
for run in $(seq "$runs"); do
  for mode in "${modes[@]}"; do
    if (( run % 2 == 1 )); then order=(redis lsmkv); else order=(lsmkv redis); fi
    for server in "${order[@]}"; do
      port=$redis_port
      [[ $server == lsmkv ]] && port=$lsmkv_port
      bench "$server" "$port" "$mode"
    done
  done
done

echo
echo "| test | pipeline | redis-server ops/s | redis p99 ms | lsmkv-server ops/s | lsmkv p99 ms | lsmkv / redis |"
echo "|---|---|---:|---:|---:|---:|---:|"
median() {  # server column (mode and test from the caller)
  grep "^$1,$mode,$test," "$results" | cut -d, -f"$2" | sort -g |
    awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'
}
for mode in "${modes[@]}"; do
  log_sum=0
  count=0
  # The tests in the order redis-benchmark ran them (it also runs helpers,
  # e.g. an LPUSH before LRANGE: each name is reported once).
  mapfile -t names < <(grep "^redis,$mode," "$results" | cut -d, -f3 | awk '!seen[$0]++')
  for test in "${names[@]}"; do
    r_rps=$(median redis 4); r_p99=$(median redis 5)
    l_rps=$(median lsmkv 4); l_p99=$(median lsmkv 5)
    ratio=$(awk -v l="$l_rps" -v r="$r_rps" 'BEGIN {printf "%.2f", l / r}')
    label=$([[ $mode == P1 ]] && echo none || echo "-P 16")
    printf '| %s | %s | %.0f | %s | %.0f | %s | %s× |\n' "$test" "$label" "$r_rps" "$r_p99" "$l_rps" "$l_p99" "$ratio"
    log_sum=$(awk -v s="$log_sum" -v l="$l_rps" -v r="$r_rps" 'BEGIN {print s + log(l / r)}')
    count=$((count + 1))
  done
  if (( count > 0 )); then
    printf '| geometric mean | %s | | | | | %s× |\n' "$label" \
      "$(awk -v s="$log_sum" -v n="$count" 'BEGIN {printf "%.2f", exp(s / n)}')"
  fi
done
