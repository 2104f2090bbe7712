#!/usr/bin/env python3
"""Differential check of lsmkv-server's stream commands against redis-server 7.0.

Usage: scripts/stream_diff.py REDIS_PORT LSMKV_PORT
Sends the same ~770 commands (fixed ids: replies are deterministic; FLUSHALL
first) through redis-cli to both servers, in RESP2 and RESP3, and prints a
diff of the replies. Exits 1 if they differ.
"""
import subprocess
import sys

import random
random.seed(7)
cmds = []
def c(*a): cmds.append(" ".join(a))
c("flushall")
# ids and errors
c("xadd s 0-0 a 1"); c("xadd s 0 a 1"); c("xadd s 0-1 a 1"); c("xadd s 0-1 a 1"); c("xadd s 0-* a 2")
c("xadd s 5-* a 3"); c("xadd s 5-* a 4"); c("xadd s 4-* a 5"); c("xadd s 5 a 6"); c("xadd s 6 a 6")
c("xadd s - a 1"); c("xadd s + a 1"); c("xadd s abc a 1"); c("xadd s 1-x a 1"); c("xadd s 7-1 a"); c("xadd s 7-1")
c("xadd s 18446744073709551615-18446744073709551615 z z"); c("xadd s * a 1"); c("xadd s 18446744073709551615-* a 1")
c("del s")
c("xadd s nomkstream 1-1 a 1"); c("xadd nx nomkstream 1-1 a 1"); c("exists nx")
c("xadd s maxlen -1 2-1 a 1"); c("xadd s maxlen abc 2-1 a 1"); c("xadd s maxlen 1 minid 1 2-1 a 1")
c("xadd s limit 10 2-1 a 1"); c("xadd s maxlen 5 limit 10 2-1 a 1"); c("xadd s maxlen ~ 5 limit -1 2-1 a 1")
c("xadd s minid abc 2-1 a 1"); c("xadd s minid ( 2-1 a 1")
for i in range(2, 40):
    c(f"xadd s {i}-{i%3} f{i} v{i} g x")
c("xlen s"); c("xrange s - +"); c("xrange s - + count 3"); c("xrange s - + count 0"); c("xrange s - + count -1")
c("xrange s (2-2 (5-2"); c("xrange s 10 12"); c("xrange s 10-1 10"); c("xrevrange s + - count 4"); c("xrevrange s (20-2 (15"); 
c("xrange s ( +"); c("xrange s (- +"); c("xrange s - (+"); c("xrange s (18446744073709551615-18446744073709551615 +"); c("xrange s - (0-0")
c("xrange s - + cnt 1"); c("xrange s - + count"); c("xrange s - + count x"); c("xrange nokey - +"); c("xrevrange nokey + -")
c("xrange s 5 3"); c("xrange s abc +")
c("xdel s 3-0 4-1 99-0 3-0"); c("xdel s abc"); c("xdel nokey 1-1"); c("xlen s")
c("xinfo stream s")
c("xdel s 2-2"); c("xinfo stream s")
c("xtrim s maxlen 30"); c("xtrim s minid 10"); c("xtrim s minid 10"); c("xtrim s"); c("xtrim s maxlen ~ 2"); c("xtrim s maxlen = 20"); c("xtrim s foo 1")
c("xtrim s maxlen 20 limit 5"); c("xtrim nokey maxlen 1"); c("xlen s"); c("xrange s - + count 2"); c("xinfo stream s")
c("set str v"); c("xadd str 1-1 a 1"); c("xlen str"); c("xrange str - +"); c("xread streams str 0"); c("xgroup create str g 0"); c("xinfo stream str"); c("xtrim str maxlen 1"); c("xdel str 1-1")
c("type s"); c("object encoding s"); c("scan 0 type stream")
# XREAD
c("xread streams s 0"); c("xread count 2 streams s 0"); c("xread count 2 streams s nokey 0 0"); c("xread streams s $"); c("xread streams s"); c("xread streams s nokey 0")
c("xread block 0"); c("xread block -1 streams s 0"); c("xread block abc streams s 0"); c("xread count 2 streams s >"); c("xread group g c streams s 0"); c("xread noack streams s 0"); c("xread foo streams s 0")
c("xread streams s 18446744073709551615-18446744073709551615"); c("xread streams s +"); c("xread streams s -")
# groups
c("del q")
for i in range(1, 11):
    c(f"xadd q {i}-0 k {i}")
c("xgroup create q g1 0"); c("xgroup create q g1 0"); c("xgroup create q g2 $"); c("xgroup create q g3 5 entriesread 3"); c("xgroup create q g4 0 entriesread -2"); c("xgroup create q g4 0 entriesread x")
c("xgroup create nokey g 0"); c("xgroup create nokey2 g $ mkstream"); c("xinfo stream nokey2"); c("xgroup create q g5 - "); c("xgroup create q g5 0 foo"); c("xgroup create q")
c("xgroup foo q g"); c("xgroup help x"); c("xgroup setid q nog 0"); c("xgroup createconsumer q nog c"); c("xgroup destroy q nog"); c("xgroup delconsumer q nog c")
c("xinfo groups q")
c("xreadgroup group g1 alice count 2 streams q >"); c("xreadgroup group g1 bob count 3 streams q >"); c("xreadgroup group g1 bob noack count 1 streams q >")
c("xreadgroup group g1 alice streams q 0"); c("xreadgroup group g1 alice count 1 streams q 1-0"); c("xreadgroup group g1 carol streams q 0")
c("xreadgroup group g1 alice streams q $"); c("xreadgroup group nog alice streams q >"); c("xreadgroup group g1 alice streams nokey >"); c("xreadgroup streams q >"); c("xreadgroup group g1 alice streams q")
c("xreadgroup group g1 alice streams str >")
c("xpending q g1"); c("xpending q g2"); c("xpending q nog"); c("xpending nokey g"); c("xpending q g1 - + 10 x"); c("xpending q g1 - +"); c("xpending q g1 idle x - + 10"); c("xpending q g1 - + x"); c("xpending q g1 abc + 10")
c("xinfo groups q"); c("xinfo consumers q nog"); c("xinfo consumers nokey g"); c("xinfo foo q"); c("xinfo stream nokey"); c("xinfo stream q full count"); c("xinfo stream q foo"); c("xinfo groups"); c("xinfo help x")
c("xack q g1 1-0 2-0 99-0"); c("xack q g1 abc"); c("xack nokey g 1-0"); c("xack q nog 1-0"); c("xpending q g1")
c("xdel q 4-0"); c("xinfo groups q")
c("xreadgroup group g1 alice streams q 0"); c("xreadgroup group g1 bob streams q 0")
c("xgroup setid q g1 0"); c("xinfo groups q"); c("xreadgroup group g1 dave count 2 streams q >"); c("xpending q g1")
c("xgroup setid q g1 $ entriesread 10"); c("xinfo groups q"); c("xgroup setid q g1 - "); c("xgroup setid q g1 + "); c("xgroup setid q g1 (1"); c("xgroup setid q g1 0 entriesread 5 x")
c("xgroup createconsumer q g1 erin"); c("xgroup createconsumer q g1 erin"); c("xgroup delconsumer q g1 erin"); c("xgroup delconsumer q g1 bob"); c("xgroup delconsumer q g1 nobody"); c("xpending q g1")
c("xinfo groups q")
c("xclaim q g1 zed 0 3-0 5-0 6-0 justid"); c("xclaim q g1 zed 0 3-0 4-0 99-0 justid force"); c("xclaim q g1 zed 0 7-0 force retrycount 5 justid"); c("xpending q g1")
c("xclaim q g1 zed 0 7-0 foo"); c("xclaim q g1 zed x 7-0"); c("xclaim q g1 zed 0 7-0 idle x"); c("xclaim q g1 zed 0 7-0 time x"); c("xclaim q g1 zed 0 7-0 retrycount x"); c("xclaim q g1 zed 0 7-0 lastid x"); c("xclaim q nog zed 0 7-0"); c("xclaim nokey g zed 0 7-0")
c("xclaim q g1 yan 0 7-0 lastid 50-0 justid"); c("xinfo groups q")
c("xautoclaim q g1 yan 0 - count 2 justid"); c("xautoclaim q g1 yan 0 (3-0 count 2"); c("xautoclaim q g1 yan 0 0 count 0"); c("xautoclaim q g1 yan x 0"); c("xautoclaim q g1 yan 0 abc"); c("xautoclaim q g1 yan 0 0 foo"); c("xautoclaim q nog yan 0 0")
c("xdel q 5-0 6-0"); c("xautoclaim q g1 yan 0 0 count 1"); c("xautoclaim q g1 yan 0 0 count 10 justid"); c("xpending q g1")
c("xgroup destroy q g2"); c("xgroup destroy q g2"); c("xinfo groups q")
# XSETID
c("xsetid q 5-0"); c("xsetid q 100-0"); c("xinfo stream q"); c("xsetid q 200-0 entriesadded 1"); c("xsetid q 200-0 entriesadded 20 maxdeletedid 300-0"); c("xsetid q 200-0 entriesadded 20 maxdeletedid 150-0"); c("xinfo stream q"); c("xsetid q 160-0"); c("xsetid nokey 1-1"); c("xsetid q abc"); c("xsetid q 300-0 foo"); c("xsetid q 300-0 entriesadded -1")
# copy / rename
c("copy q q2"); c("xinfo groups q2"); c("xrange q2 - +"); c("rename q2 q3"); c("xlen q2"); c("xlen q3"); c("xpending q3 g1"); c("del q3"); c("exists q3")
# empty stream
c("del e"); c("xadd e 1-1 a b"); c("xdel e 1-1"); c("xlen e"); c("exists e"); c("xinfo stream e"); c("xadd e maxlen 0 2-1 a b"); c("xinfo stream e"); c("xrange e - +"); c("xread streams e 0"); c("xadd e 1-5 a b")
# trim approx
c("del t")
for i in range(1, 351):
    c(f"xadd t {i}-1 maxlen ~ 120 a {i}" if i % 2 else f"xadd t maxlen ~ 120 {i}-1 a {i}")
c("xlen t"); c("xrange t - + count 1"); c("xtrim t maxlen ~ 10"); c("xlen t"); c("xtrim t maxlen ~ 10 limit 100"); c("xlen t")
c("xtrim t minid ~ 340"); c("xlen t"); c("xtrim t minid 340"); c("xlen t"); c("xinfo stream t")
# random model-ish
c("del r")
model_last = 0
for i in range(120):
    op = random.random()
    if op < 0.5:
        c(f"xadd r {random.randint(1,300)}-{random.randint(0,2)} f {i}")
    elif op < 0.65:
        c("xdel r " + " ".join(f"{random.randint(1,300)}-{random.randint(0,2)}" for _ in range(3)))
    elif op < 0.75:
        c(f"xtrim r maxlen {random.randint(0,20)}")
    elif op < 0.85:
        c(f"xrange r {random.randint(1,300)} + count {random.randint(1,5)}")
    else:
        c(f"xrevrange r + {random.randint(1,300)} count {random.randint(1,5)}")
c("xrange r - +"); c("xinfo stream r")



def replies(port, resp3):
    args = ["redis-cli", "-p", str(port)] + (["-3"] if resp3 else [])
    return subprocess.run(args, input="\n".join(cmds) + "\n", capture_output=True, text=True).stdout

failed = False
for resp3 in (False, True):
    a = replies(sys.argv[1], resp3).splitlines()
    b = replies(sys.argv[2], resp3).splitlines()
    if a != b:
        failed = True
        import difflib
        print("\n".join(list(difflib.unified_diff(a, b, "redis", "lsmkv", lineterm=""))[:200]))
print(f"{len(cmds)} commands, RESP2 and RESP3: " + ("DIFFERENT" if failed else "identical"))
sys.exit(1 if failed else 0)
