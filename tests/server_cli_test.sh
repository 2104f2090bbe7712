#!/usr/bin/env bash
# server_cli_test.sh: lsmkv-server driven by the stock Redis tools (Debian
# redis-tools): redis-cli one-shot commands, piped scripts, --scan, -x,
# --pipe mass insertion, and redis-benchmark with and without pipelining
# (no errors allowed). Ends with SHUTDOWN and checks exit status 0.
#
#   tests/server_cli_test.sh PATH/TO/lsmkv-server [BENCH_REQUESTS]
set -uo pipefail

bin=${1:?path to lsmkv-server}
requests=${2:-20000}
for tool in redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (Debian redis-tools; scripts/bootstrap.sh)"; exit 1; }
done

work=$(mktemp -d)
server_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill -9 "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

"$bin" --port 0 --dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 200); do
  grep -q "listening on" "$work/server.log" && break
  sleep 0.05
done
port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$work/server.log")
[[ -n $port ]] || { cat "$work/server.log"; echo "FAIL: the server did not start"; exit 1; }
echo "lsmkv-server on port $port"

cli() { redis-cli -p "$port" "$@" 2>&1; }
# expect WANT COMMAND...: redis-cli's output for COMMAND must be WANT.
# (Command substitution drops trailing newlines, so WANT has none.)
expect() {
  local want=$1
  shift
  local got
  got=$(cli "$@")
  [[ $got == "$want" ]] || fail "redis-cli $*: expected [$want], got [$got]"
}

expect PONG PING
expect OK SET greeting "hello world"
expect "hello world" GET greeting
expect 1 INCR counter
expect 11 INCRBY counter 10
expect 11.5 INCRBYFLOAT counter 0.5
expect OK MSET a 1 b 2
expect $'1\n2' MGET a b nokey  # (a nil prints as an empty line)
expect 1 EXPIRE a 100
expect 100 TTL a
expect -2 TTL nokey
expect string TYPE b
expect 2 DEL a b
expect $'ERR wrong number of arguments for \'get\' command' GET
expect $'ERR value is not an integer or out of range' INCR greeting
expect $'ERR unknown command \'NOSUCH\', with args beginning with: \'x\' ' NOSUCH x
expect OK SELECT 0
expect "" CLIENT GETNAME

# A piped script runs in one connection, like an interactive session.
got=$(printf 'SET s 1\nAPPEND s 23\nGET s\nMULTI\nINCR s\nEXEC\n' | cli)
[[ $got == $'OK\n3\n123\nOK\nQUEUED\n124' ]] || fail "piped script: got [$got]"

# -x reads the last argument from stdin (binary-safe).
printf 'line one\nline two' | cli -x SET fromstdin >/dev/null
expect $'line one\nline two' GET fromstdin

# --scan uses SCAN with cursors until the end.
for i in $(seq 1 250); do echo "SET user:$i $i"; done | cli >/dev/null
scanned=$(cli --scan --pattern 'user:*' | sort | uniq | wc -l)
[[ $scanned -eq 250 ]] || fail "--scan found $scanned of 250 keys"

# --pipe: mass insertion in RESP.
: >"$work/pipe.txt"
for i in $(seq 1 5000); do printf '*3\r\n$3\r\nSET\r\n$%d\r\nbulk:%d\r\n$1\r\nx\r\n' $((5 + ${#i})) "$i"; done >"$work/pipe.txt"
pipe_out=$(cli --pipe <"$work/pipe.txt")
grep -q "errors: 0, replies: 5000" <<<"$pipe_out" || fail "--pipe: $pipe_out"

keys=$(cli DBSIZE)
# greeting, counter, s, fromstdin, 250 user:*, 5000 bulk:*
[[ $keys -eq 5254 ]] || fail "DBSIZE is $keys, expected 5254"
cli INFO keyspace | grep -q "db0:keys=5254,expires=0" || fail "INFO keyspace: $(cli INFO keyspace)"
cli INFO lsmkv | grep -q "lsmkv_writes:" || fail "INFO lsmkv lacks engine statistics"
cli INFO server | grep -q "lsmkv_engine:lsm" || fail "INFO server lacks lsmkv_engine:lsm"
expect $'engine\nlsm' CONFIG GET engine

# redis-benchmark: pipelined and not, every command type of the issue, no errors.
bench() {
  local out
  out=$(redis-benchmark -p "$port" "$@" 2>&1)
  echo "$out" | tr '\r' '\n' | grep -E "requests per second" | sed 's/^ *//'
  if grep -qiE "error|refused" <<<"$out"; then fail "redis-benchmark $*: $(grep -iE 'error|refused' <<<"$out" | head -3)"; fi
  local lines
  lines=$(tr '\r' '\n' <<<"$out" | grep -c "requests per second")
  [[ $lines -eq 4 ]] || fail "redis-benchmark $*: $lines of 4 tests finished"
}
bench -t set,get,incr,mset -P 16 -c 50 -n "$requests" -q
bench -t set,get,incr,mset -c 50 -n $((requests / 4)) -q

# redis-benchmark's INCR hits key counter:__rand_int__ (one key without -r).
incrs=$(cli GET counter:__rand_int__)
[[ $incrs -eq $((requests + requests / 4)) ]] || fail "INCR total $incrs, expected $((requests + requests / 4))"

cli SHUTDOWN >/dev/null
wait "$server_pid"
status=$?
server_pid=""
[[ $status -eq 0 ]] || fail "exit status after SHUTDOWN: $status"
grep -q "shut down cleanly" "$work/server.log" || fail "no clean shutdown message"

if [[ $failures -gt 0 ]]; then
  echo "server_cli_test: $failures failure(s)"
  cat "$work/server.log"
  exit 1
fi
echo "server_cli_test: all checks passed"
