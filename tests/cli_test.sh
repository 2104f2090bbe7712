#!/usr/bin/env bash
# End-to-end test of the lsmkv command-line tool: every subcommand, round
# trips (binary via --hex and escapes), exit codes and error messages.
set -uo pipefail
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
db="$dir/db"
checks=0
fail() { echo "cli_test: FAIL: $*"; exit 1; }
ok() { checks=$((checks + 1)); }
# expect CODE CMD...: runs CMD (stdout to $dir/out, stderr to $dir/err), checks its exit code.
expect() {
  local want=$1
  shift
  "$@" >"$dir/out" 2>"$dir/err"
  local got=$?
  [[ $got -eq $want ]] || fail "exit $got, want $want: $* (stderr: $(head -c 600 "$dir/err"))"
  ok
}
has() { grep -q -- "$2" "$dir/$1" || fail "$1 of the last command lacks '$2': $(head -c 600 "$dir/$1")"; ok; }
# Overwrites 16 bytes of FILE at OFFSET.
damage() { printf 'ZZZZZZZZZZZZZZZZ' | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
largest_table() { ls -S "$1"/*.sst | head -1; }

# --- put / get / del, escaping, --hex, --raw
expect 0 "$bin" --db "$db" put greeting 'hello, world'
[[ $("$bin" --db "$db" get greeting) == 'hello, world' ]] || fail "get after put"; ok
expect 0 "$bin" --db "$db" put 'a|b' $'line1\nline2'
[[ $("$bin" --db "$db" get 'a|b') == 'line1\x0aline2' ]] || fail "escaped newline"; ok
[[ $("$bin" --db "$db" --raw get 'a|b') == $'line1\nline2' ]] || fail "--raw"; ok
expect 0 "$bin" --db "$db" put 'back\slash' 'v'
"$bin" --db "$db" scan --keys-only | grep -qx 'back\\\\slash' || fail "backslash escaped as \\\\"; ok
expect 0 "$bin" --db "$db" --hex put 00ff 000a0dff
[[ $("$bin" --db "$db" --hex get 00ff) == '000a0dff' ]] || fail "hex get"; ok
[[ $("$bin" --db "$db" get $'\x01' 2>/dev/null; echo $?) == 1 ]] || fail "absent binary key"; ok
expect 0 "$bin" --db "$db" put -- -dash -value
[[ $("$bin" --db "$db" get -- -dash) == '-value' ]] || fail "-- before a dash key"; ok
expect 0 "$bin" --db "$db" del greeting
expect 1 "$bin" --db "$db" get greeting
has err 'key not found: greeting'
expect 0 "$bin" --db "$db" del never-there
for k in r1 r2 r3; do expect 0 "$bin" --db "$db" put "$k" v; done
expect 0 "$bin" --db "$db" delrange r1 r3
expect 1 "$bin" --db "$db" get r1
expect 1 "$bin" --db "$db" get r2
[[ $("$bin" --db "$db" get r3) == 'v' ]] || fail "delrange end is exclusive"; ok
expect 3 "$bin" --db "$db" delrange r3 r1
has err 'begin must be before end'

# --- usage errors: exit 2
expect 2 "$bin" --db "$db" frobnicate
expect 2 "$bin" --db "$db" --hex put 0 1
has err 'not hex'
expect 2 "$bin" --db "$db" --hex --raw get 00
expect 2 "$bin" --db "$db" scan --inclusive
has err 'needs --to'
expect 2 "$bin" --db "$db" get
expect 0 "$bin" --help
has out 'Exit codes'

# --- missing database: exit 3, explained, nothing created by reads
expect 3 "$bin" --db "$dir/missing" --no-create get k
has err 'create_if_missing'
has err 'put. or .load. creates one'
expect 3 "$bin" --db "$dir/missing2" get k
expect 3 "$bin" --db "$dir/missing2" scan
expect 3 "$bin" --db "$dir/missing2" stats
[[ ! -e "$dir/missing2/CURRENT" ]] || fail "a read created the database"; ok

# --- stats
expect 0 "$bin" --db "$db" stats
has out 'writes: '
has out 'last sequence: '

# --- load: TSV with escapes, the rate line, round trip through scan
db2="$dir/db2"
printf 'k1\tv1\nk\\t2\tline\\nbreak\nk3\t\\x00\\xff\\\\\n\tempty key\nk5\t\n' >"$dir/in.tsv"
expect 0 "$bin" --db "$db2" load "$dir/in.tsv"
has out 'loaded 5 records in .* s (.*/s)'
[[ $("$bin" --db "$db2" get $'k\t2') == 'line\x0abreak' ]] || fail "load escapes"; ok
[[ $("$bin" --db "$db2" --hex get 6b33) == '00ff5c' ]] || fail "load \\x escapes"; ok
[[ $("$bin" --db "$db2" get '') == 'empty key' ]] || fail "empty key"; ok
"$bin" --db "$db2" scan >"$dir/scan1.tsv" || fail "scan for round trip"; ok
expect 0 "$bin" --db "$dir/db3" load "$dir/scan1.tsv"
"$bin" --db "$dir/db3" scan >"$dir/scan2.tsv" || fail "scan of the reloaded db"; ok
cmp -s "$dir/scan1.tsv" "$dir/scan2.tsv" || fail "scan | load | scan is not the identity"; ok

# --- load: JSON lines, --hex, stdin, --progress
printf '{"key":"j1","value":"one"}\n{"value":"two","key":"j2"}\n{"key":"j\\u0000","value":"nul"}\n' >"$dir/in.jsonl"
expect 0 "$bin" --db "$db2" --progress load "$dir/in.jsonl"
has out 'loaded 3 records'
has err 'load \[##############################\] 100%'
[[ $("$bin" --db "$db2" get j2) == 'two' ]] || fail "jsonl value"; ok
[[ $("$bin" --db "$db2" --hex get 6a00) == "$(printf nul | xxd -p)" ]] || fail "jsonl \\u0000"; ok
printf '6869\t00ff\n' | "$bin" --db "$db2" --hex load - >"$dir/out" 2>"$dir/err" || fail "hex load from stdin"; ok
[[ $("$bin" --db "$db2" --hex get 6869) == '00ff' ]] || fail "hex load value"; ok

# --- load: a bad line stops the load and names its number; lines before it are loaded
printf 'a1\tv\na2\tv\nno tab here\na4\tv\n' >"$dir/bad.tsv"
expect 2 "$bin" --db "$db2" load "$dir/bad.tsv"
has err 'bad.tsv:3: expected KEY<TAB>VALUE'
has err 'loaded 2 records (lines 1-2); nothing after line 3 was loaded'
expect 0 "$bin" --db "$db2" get a2
expect 1 "$bin" --db "$db2" get a4
printf 'b1\tok\nb2\tbad \\q escape\n' >"$dir/bad2.tsv"
expect 2 "$bin" --db "$db2" load "$dir/bad2.tsv"
has err 'bad2.tsv:2: value: unknown escape'
printf '{"key":"x","value":"y","ttl":5}\n' >"$dir/bad.jsonl"
expect 2 "$bin" --db "$db2" load "$dir/bad.jsonl"
has err 'bad.jsonl:1: unexpected member'
printf '{"key":"x",\n' >"$dir/bad2.jsonl"
expect 2 "$bin" --db "$db2" load "$dir/bad2.jsonl"
has err 'bad2.jsonl:1: not valid JSON'
expect 2 "$bin" --db "$db2" load "$dir/in.dat"
has err 'pass --format tsv or --format jsonl'
expect 2 "$bin" --db "$db2" load "$dir/nonexistent.tsv"
has err 'cannot open'

# --- scan: order, bounds, limit, reverse, keys-only, hex
big="$dir/big"
for i in $(seq -w 0 2999); do printf 'key%s\tvalue-%s-%0100d\n' "$i" "$i" 0; done >"$dir/big.tsv"
expect 0 "$bin" --db "$big" load "$dir/big.tsv"
has out 'loaded 3000 records'
[[ $("$bin" --db "$big" scan | wc -l) -eq 3000 ]] || fail "scan count"; ok
[[ $("$bin" --db "$big" scan --keys-only --limit 2 | tr '\n' ' ') == 'key0000 key0001 ' ]] || fail "scan limit"; ok
[[ $("$bin" --db "$big" scan --keys-only --from key0010 --to key0013 | tr '\n' ' ') == 'key0010 key0011 key0012 ' ]] || fail "scan --to exclusive"; ok
[[ $("$bin" --db "$big" scan --keys-only --from key0010 --to key0013 --inclusive | wc -l) -eq 4 ]] || fail "scan --inclusive"; ok
[[ $("$bin" --db "$big" scan --keys-only --reverse --limit 2 | tr '\n' ' ') == 'key2999 key2998 ' ]] || fail "scan --reverse"; ok
[[ $("$bin" --db "$big" scan --keys-only --reverse --to key0002 | tr '\n' ' ') == 'key0001 key0000 ' ]] || fail "reverse with bound"; ok
[[ $("$bin" --db "$big" --hex scan --limit 1) == "$(printf key0000 | xxd -p)	$(printf 'value-0000-%0100d' 0 | xxd -p -c 1000)" ]] || fail "hex scan"; ok

# --- compact
expect 0 "$bin" --db "$big" compact
has out 'compacted in'
expect 0 "$bin" --db "$big" compact --from key0100 --to key0200
[[ $("$bin" --db "$big" scan | wc -l) -eq 3000 ]] || fail "data after compact"; ok

# --- checkpoint
expect 0 "$bin" --db "$big" checkpoint "$dir/ckpt"
has out "written to $dir/ckpt"
cmp -s <("$bin" --db "$big" scan) <("$bin" --db "$dir/ckpt" scan) || fail "checkpoint contents"; ok
expect 3 "$bin" --db "$big" checkpoint "$dir/ckpt"
has err 'already exists'
expect 0 "$bin" --db "$dir/ckpt" verify
has out 'OK: no damage found'
cp -r "$dir/ckpt" "$dir/ckpt-copy"  # the checkpoint shares its tables (hard links) with $big

# --- verify: clean, then damaged
expect 0 "$bin" --db "$big" verify
has out 'OK: no damage found'
expect 0 "$bin" --db "$big" --progress verify
has err 'verify \[##############################\] 100%'
table=$(largest_table "$big")
damage "$table" 20000
expect 4 "$bin" --db "$big" verify
has out "DAMAGED"
has out "$(basename "$table"): data block"
has err 'repair. salvages'
expect 3 "$bin" --db "$big" scan
has err 'verify. lists the damage'

# --- dump
expect 4 "$bin" dump "$table"
has out 'properties'
has out '!! Corruption'
has err 'damaged region'
expect 0 "$bin" dump --no-entries "$(largest_table "$dir/ckpt-copy")"
has out 'index'
expect 0 "$bin" dump "$(ls "$big"/MANIFEST-*)"
has out 'edit 0'
has out 'state	log number'
expect 0 "$bin" --db "$db2" put w v
expect 0 "$bin" dump "$(ls "$db2"/*.log | tail -1)"
expect 0 "$bin" dump "$db2/CURRENT"
has out 'names	MANIFEST-'
cp "$table" "$dir/copy.bin"
expect 2 "$bin" dump "$dir/copy.bin"
has err 'cannot be told from its name'
expect 4 "$bin" dump --type table "$dir/copy.bin"
expect 3 "$bin" dump "$dir/000123.log"

# --- repair: what was lost is reported, the rest is correct, verify passes after
expect 4 "$bin" --db "$big" repair
has out 'partly salvaged'
has out 'RESULT: data lost'
has err 'opens again, but data was lost'
[[ -e "$big/lost/$(basename "$table")" ]] || fail "old table kept in lost/"; ok
expect 0 "$bin" --db "$big" verify
n=$("$bin" --db "$big" scan | wc -l)
[[ $n -ge 2900 && $n -lt 3000 ]] || fail "repair kept $n of 3000 records"; ok
"$bin" --db "$big" scan | while IFS=$'\t' read -r k v; do
  [[ "$v" == "value-${k#key}-"* ]] || { echo "wrong value for $k"; exit 1; }
done || fail "a wrong value after repair"; ok
expect 0 "$bin" --db "$big" repair
has out 'RESULT: nothing lost'

# --- a database open elsewhere: exit 3, explained
flock -n "$db2/LOCK" -c "sleep 3" &
holder=$!
sleep 0.3
expect 3 "$bin" --db "$db2" get k1
has err 'another process'
expect 3 "$bin" --db "$db2" verify
expect 3 "$bin" --db "$db2" repair
wait "$holder"

# --- --engine: the choice reaches DB::Open; verify, repair and dump refuse other engines
# engine_file NAME: the bytes of an ENGINE file naming NAME (docs/format/engine.md).
engine_file() {
  python3 -c '
import sys
def crc32c(data):
    c = 0xffffffff
    for x in data:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
    return c ^ 0xffffffff
body = ("lsmkv-engine 1\n" + sys.argv[1] + "\n").encode()
c = crc32c(body)
m = (((c >> 15) | (c << 17)) + 0xa282ead8) & 0xffffffff
sys.stdout.write(body.decode() + "%08x\n" % m)' "$1"
}
expect 2 "$bin" --db "$dir/e0" --engine lmdb put k v
has err 'lsm, btree or bitcask'
[[ ! -e "$dir/e0" ]] || fail "a bad --engine created a database"; ok
edb="$dir/edb"
expect 0 "$bin" --db "$edb" --engine lsm put k v
[[ $("$bin" --db "$edb" --engine lsm get k) == v ]] || fail "get with --engine lsm"; ok
engine_file lsm >"$dir/engine.lsm"
cmp -s "$edb/ENGINE" "$dir/engine.lsm" || fail "engine_file differs from the ENGINE file lsm wrote"; ok
expect 3 "$bin" --db "$edb" --engine btree get k
has err 'engine lsm'
has err 'pass --engine'
expect 2 "$bin" --db "$edb" --engine bitcask verify
has err 'lsm databases only (--engine bitcask given)'
bdb="$dir/bdb"
mkdir "$bdb"
engine_file btree >"$bdb/ENGINE"
expect 2 "$bin" --db "$bdb" verify
has err 'holds a database of engine btree; verify reads'
expect 2 "$bin" --db "$bdb" --engine btree repair
has err 'holds a database of engine btree; repair reads'
[[ ! -e "$bdb/lost" ]] || fail "repair touched a btree directory"; ok
printf 'x' >"$bdb/000001.log"
expect 2 "$bin" dump "$bdb/000001.log"
has err 'holds a database of engine btree; dump reads'
expect 3 "$bin" --db "$bdb" --engine bitcask get k
has err 'engine btree but Options::engine is bitcask'
# A new database with another engine: works once the engine exists, else says it does not yet.
for e in btree bitcask; do
  "$bin" --db "$dir/new-$e" --engine "$e" put k "v-$e" >"$dir/out" 2>"$dir/err"
  code=$?
  if [[ $code -eq 0 ]]; then
    [[ $("$bin" --db "$dir/new-$e" --engine "$e" get k) == "v-$e" ]] || fail "get on $e"; ok
    expect 3 "$bin" --db "$dir/new-$e" get k
    has err "engine $e but Options::engine is lsm"
    expect 2 "$bin" --db "$dir/new-$e" verify
  else
    [[ $code -eq 3 ]] || fail "put with --engine $e: exit $code"; ok
    has err 'not implemented yet'
  fi
done

echo "cli_test: $checks checks passed"
