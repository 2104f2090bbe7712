#!/usr/bin/env bash
# server_bigdata.sh: lsmkv-server with data too big for memory — the point of
# a disk engine (issue: "Redis data model", docs/BENCHMARKS.md "Big data").
#
#   scripts/server_bigdata.sh [--build-dir DIR] [--members N] [--types "hash set zset list"]
#                             [--budget-mb MB] [--skip-collections] [--skip-budget]
#
# 1. Big collections: for each type, loads N members (default 10,000,000)
#    into one key with redis-benchmark (-P 64, 50 clients, random members,
#    so a few collide), then measures with redis-benchmark the O(1) size
#    command (HLEN/SCARD/ZCARD/LLEN), a point read (HGET/SISMEMBER/ZSCORE/
#    LINDEX) and a write into the big collection, times DEL of the whole
#    collection (O(1): only its metadata changes), and reports the server's
#    RSS and the directory's size.
# 2. A memory budget: redis-server with maxmemory MB (default 256,
#    noeviction) is filled with 100-byte values until it refuses writes;
#    lsmkv-server, its write buffer and block cache each a quarter of the
#    budget, then takes about 10x as many keys (random keys in a range
#    11x that size, written 2.5 times over: about 92 % of the range), and
#    the script reports its peak anonymous memory and peak RSS (sampled
#    each second; the RSS also counts table pages mapped by reads, page
#    cache the kernel reclaims) and its GET rate on random keys of that
#    range.
#
# Needs redis-server, redis-cli, redis-benchmark (Debian redis-tools, redis-
# server; scripts/bootstrap.sh installs them). Prints a Markdown table per
# part; exits non-zero only when something fails to run.
set -euo pipefail

build_dir=build
members=10000000
types="hash set zset list"
budget_mb=256
do_collections=1
do_budget=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --members) members=$2; shift 2 ;;
    --types) types=$2; shift 2 ;;
    --budget-mb) budget_mb=$2; shift 2 ;;
    --skip-collections) do_collections=0; shift ;;
    --skip-budget) do_budget=0; shift ;;
    *) echo "server_bigdata: unknown argument $1" >&2; exit 2 ;;
  esac
done
bin=$build_dir/lsmkv-server
[[ -x $bin ]] || { echo "server_bigdata: no $bin (build first)" >&2; exit 1; }
for tool in redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "server_bigdata: $tool not found" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
# The anonymous part of the RSS: the process's own memory. The rest of its
# RSS is file pages it maps (lsmkv reads tables through mmap), which are
# page cache the kernel reclaims under memory pressure.
anon_mb() { awk '/RssAnon/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

start_lsmkv() {  # dir [extra settings...] -> sets lsmkv_pid, lsmkv_port
  local dir=$1
  shift
  lsmkv_port=$(free_port)
  "$bin" --port "$lsmkv_port" --dir "$dir" --appendfsync everysec "$@" >"$dir.log" 2>&1 &
  lsmkv_pid=$!
  pids+=("$lsmkv_pid")
  for _ in $(seq 400); do
    redis-cli -p "$lsmkv_port" ping >/dev/null 2>&1 && return
    sleep 0.05
  done
  echo "server_bigdata: lsmkv-server did not start (log: $(cat "$dir.log"))" >&2
  exit 1
}

rps() {  # port args... -> requests per second (redis-benchmark --csv)
  local port=$1
  shift
  redis-benchmark -p "$port" --csv "$@" 2>/dev/null | tail -n 1 | cut -d, -f2 | tr -d '"'
}

if (( do_collections )); then
  start_lsmkv "$work/collections"
  echo "## Big collections: $members random members per key (lsmkv-server $(basename "$build_dir"), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
  echo
  echo "| type | members stored | load (members/s) | size command ops/s | point read ops/s | write ops/s | DEL of the key (ms) | RSS after (MB) | directory (MB) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for type in $types; do
    case $type in
      hash) load=(hset big:hash f:__rand_int__ v); size=(hlen big:hash)
            read=(hget big:hash f:__rand_int__); write=(hset big:hash g:__rand_int__ w) ;;
      set) load=(sadd big:set m:__rand_int__); size=(scard big:set)
           read=(sismember big:set m:__rand_int__); write=(sadd big:set n:__rand_int__) ;;
      zset) load=(zadd big:zset __rand_int__ m:__rand_int__); size=(zcard big:zset)
            read=(zscore big:zset m:__rand_int__); write=(zadd big:zset 1 n:__rand_int__) ;;
      list) load=(rpush big:list __rand_int__); size=(llen big:list)
            read=(lindex big:list __rand_int__); write=(rpush big:list x) ;;
      *) echo "server_bigdata: unknown type $type" >&2; exit 2 ;;
    esac
    start=$(date +%s.%N)
    redis-benchmark -p "$lsmkv_port" -c 50 -P 64 -n "$members" -r 1000000000 "${load[@]}" >/dev/null 2>&1
    end=$(date +%s.%N)
    stored=$(redis-cli -p "$lsmkv_port" "${size[@]}")
    load_rate=$(awk -v n="$members" -v a="$start" -v b="$end" 'BEGIN {printf "%.0f", n / (b - a)}')
    size_rps=$(rps "$lsmkv_port" -c 50 -n 100000 "${size[@]}")
    read_args=("${read[@]}")
    # LINDEX takes no zero-padded __rand_int__ (neither does Redis): a fixed
    # index in the middle of the list (O(1) wherever it is).
    [[ $type == list ]] && read_args=(lindex big:list $((stored / 2)))
    read_rps=$(rps "$lsmkv_port" -c 50 -n 100000 -r "$stored" "${read_args[@]}")
    write_rps=$(rps "$lsmkv_port" -c 50 -n 100000 -r 1000000000 "${write[@]}")
    rss=$(rss_mb "$lsmkv_pid")
    dir_mb=$(du -sm "$work/collections" | cut -f1)
    start=$(date +%s%N)
    redis-cli -p "$lsmkv_port" del "big:$type" >/dev/null
    del_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    printf '| %s | %s | %s | %.0f | %.0f | %.0f | %s | %s | %s |\n' "$type" "$stored" "$load_rate" \
      "$size_rps" "$read_rps" "$write_rps" "$del_ms" "$rss" "$dir_mb"
  done
  kill "$lsmkv_pid"
  wait "$lsmkv_pid" 2>/dev/null || true
  echo
fi

if (( do_budget )); then
  redis_port=$(free_port)
  mkdir -p "$work/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --maxmemory "${budget_mb}mb" --maxmemory-policy noeviction --dir "$work/redis" \
    --loglevel warning >"$work/redis.log" 2>&1 &
  redis_pid=$!
  pids+=("$redis_pid")
  for _ in $(seq 200); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  # Sequential keys key:000000000001 ... in chunks until redis-server refuses
  # writes (OOM under noeviction).
  chunk=500000
  loaded=0
  while true; do
    out=$(redis-benchmark -p "$redis_port" -c 50 -P 64 -n "$chunk" -r 1000000000 -d 100 -t set 2>&1 || true)
    loaded=$((loaded + chunk))
    if grep -q "OOM" <<<"$out" || (( loaded > 200000000 )); then break; fi
  done
  redis_keys=$(redis-cli -p "$redis_port" dbsize)
  redis_rss=$(rss_mb "$redis_pid")
  redis_anon=$(anon_mb "$redis_pid")
  kill "$redis_pid"
  # A key range 11x what redis-server held, written 2.5x over: about 92 %
  # of it set, i.e. about 10x redis-server's keys.
  target=$((redis_keys * 11))
  # The engine's memory sized to the budget: a quarter for the memtable
  # (two may be alive during a flush), a quarter for the block cache.
  start_lsmkv "$work/budget" --write-buffer-size "$((budget_mb / 4))mb" \
    --block-cache-size "$((budget_mb / 4))mb"
  peak=0
  sampler() {
    while kill -0 "$lsmkv_pid" 2>/dev/null; do
      r=$(rss_mb "$lsmkv_pid" 2>/dev/null || echo 0)
      a=$(anon_mb "$lsmkv_pid" 2>/dev/null || echo 0)
      echo "$r" >>"$work/rss.txt"
      echo "$a" >>"$work/anon.txt"
      sleep 1
    done
  }
  sampler &
  pids+=($!)
  # Random keys in [0, target): 2.5 x target writes leave about 92 % of
  # them set (1 - e^-2.5), and GETs of the same range mostly hit.
  redis-benchmark -p "$lsmkv_port" -c 50 -P 64 -n $((target * 25 / 10)) -r "$target" -d 100 -t set \
    >/dev/null 2>&1
  lsmkv_keys=$(redis-cli -p "$lsmkv_port" dbsize)
  get_rps=$(rps "$lsmkv_port" -c 50 -n 200000 -r "$target" -t get)
  peak=$(sort -n "$work/rss.txt" | tail -n 1)
  peak_anon=$(sort -n "$work/anon.txt" | tail -n 1)
  redis_anon=${redis_anon:-$redis_rss}
  echo "## A ${budget_mb} MB memory budget: redis-server (maxmemory ${budget_mb}mb, noeviction) against lsmkv-server"
  echo
  echo "| server | keys held (100-byte values) | anonymous memory (MB) | RSS incl. mapped files (MB) | GET ops/s on random keys |"
  echo "|---|---:|---:|---:|---:|"
  printf '| redis-server | %s (refuses writes past this: OOM) | %s | %s | |\n' "$redis_keys" \
    "$redis_anon" "$redis_rss"
  printf '| lsmkv-server | %s | %s (peak while loading) | %s (peak; table pages mapped by reads) | %.0f |\n' \
    "$lsmkv_keys" "$peak_anon" "$peak" "$get_rps"
fi
