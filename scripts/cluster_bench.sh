#!/usr/bin/env bash
# Replicated vs standalone lsmkv-server under redis-benchmark (docs/BENCHMARKS.md,
# "Replication"): a single standalone node and a 3-node Raft cluster (all on this
# machine, loopback), redis-benchmark against the standalone server and against
# the cluster's leader, alternating, RUNS times each; prints the median requests/s
# and p99 latency per test and the cluster/standalone ratios.
# Usage: scripts/cluster_bench.sh [--build-dir DIR] [--runs N] [--requests N]
#        [--clients N] [--pipeline N] [--io-threads N]
set -euo pipefail
build=build
runs=3
requests=100000
clients=50
pipeline=1
io_threads=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --pipeline) pipeline=$2; shift 2 ;;
    --io-threads) io_threads=$2; shift 2 ;;
    *) echo "cluster_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
server=$build/lsmkv-server
[[ -x $server ]] || { echo "cluster_bench: no $server (make build)" >&2; exit 2; }
command -v redis-benchmark >/dev/null || { echo "cluster_bench: redis-benchmark missing" >&2; exit 2; }
work=$(mktemp -d /tmp/lsmkv-cluster-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

solo_port=$(free_port)
"$server" --port "$solo_port" --dir "$work/solo" --io-threads "$io_threads" >"$work/solo.log" 2>&1 &
pids+=($!)
ports=() rports=() spec=""
for i in 1 2 3; do ports+=("$(free_port)"); rports+=("$(free_port)"); done
for i in 1 2 3; do spec+="${spec:+,}$i=127.0.0.1:${rports[$((i-1))]}"; done
for i in 1 2 3; do
  "$server" --port "${ports[$((i-1))]}" --dir "$work/n$i" --io-threads "$io_threads" --raft-id "$i" \
    --raft-address "127.0.0.1:${rports[$((i-1))]}" --raft-bootstrap "$spec" >"$work/n$i.log" 2>&1 &
  pids+=($!)
done
leader=""
for _ in $(seq 1 200); do
  for p in "${ports[@]}"; do
    if redis-cli -p "$p" info replication 2>/dev/null | grep -q "raft_state:leader"; then leader=$p; fi
  done
  [[ -n $leader ]] && redis-cli -p "$leader" set warmup 1 >/dev/null 2>&1 && break
  leader=""
  sleep 0.1
done
[[ -n $leader ]] || { echo "cluster_bench: no leader" >&2; exit 1; }
until redis-cli -p "$solo_port" ping >/dev/null 2>&1; do sleep 0.1; done

declare -A rps p99
for run in $(seq 1 "$runs"); do
  for target in solo cluster; do
    port=$solo_port
    [[ $target == cluster ]] && port=$leader
    out=$(redis-benchmark -p "$port" -t set,get -n "$requests" -c "$clients" -P "$pipeline" -r 100000 --csv -q)
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    while IFS=, read -r test r _ _ _ _ q99 _; do
      test=${test//\"/}; [[ $test == test ]] && continue
      rps[$target,$test]+="${r//\"/} "
      p99[$target,$test]+="${q99//\"/} "
    done <<<"$out"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "cluster_bench: redis-benchmark -t set,get -n $requests -c $clients -P $pipeline -r 100000, io-threads $io_threads, $runs runs alternating, medians"
printf '%-6s %14s %14s %8s %12s %12s\n' test standalone_rps cluster_rps ratio solo_p99_ms clus_p99_ms
for test in SET GET; do
  s=$(echo "${rps[solo,$test]}" | median); c=$(echo "${rps[cluster,$test]}" | median)
  sp=$(echo "${p99[solo,$test]}" | median); cp=$(echo "${p99[cluster,$test]}" | median)
  printf '%-6s %14s %14s %8.2f %12s %12s\n' "$test" "$s" "$c" "$(echo "$c / $s" | bc -l)" "$sp" "$cp"
done
