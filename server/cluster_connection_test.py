#!/usr/bin/python3
"""How a replicated node serves one connection (docs/replication.md, "Client threads").

On a replicated node every command runs on the raft-workers threads, a run of
buffered commands at a time, because a write waits for its Raft entry and a
read for a barrier. This starts a one-node cluster with two such threads and
checks what a client depends on: pipelined replies in order across several
runs (more than 64 KiB of replies), a request split across reads, MULTI/EXEC,
blocking commands that give their thread back while they wait (more blocked
clients than threads, and writes still served), pub/sub, QUIT, a protocol
error, the output-buffer limit, and many clients at once on two threads.

Usage: cluster_connection_test.py --server PATH
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import redis


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class RawReader:
    """Reads RESP2 replies from a socket."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"):
            return line
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ValueError("bad reply %r" % line)


failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("cluster_connection_test: FAIL: " + what, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="lsmkv-cluster-conn-")
    port, rport = free_port(), free_port()
    log = open(os.path.join(root, "server.log"), "w")
    proc = subprocess.Popen(
        [args.server, "--port", str(port), "--dir", os.path.join(root, "d"), "--raft-id", "1",
         "--raft-address", "127.0.0.1:%d" % rport, "--raft-bootstrap", "1=127.0.0.1:%d" % rport,
         "--raft-workers", "2", "--client-output-buffer-limit", "normal 1mb 0 0"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        run(port)
    finally:
        proc.kill()
        proc.wait()
        log.close()
    if failures:
        print("cluster_connection_test: FAILED (%d); log in %s" % (len(failures), root))
        return 1
    shutil.rmtree(root, ignore_errors=True)
    print("cluster_connection_test: passed")
    return 0


def connect(port, timeout=10.0):
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=timeout,
                       socket_connect_timeout=timeout)


def raw(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10.0)
    return s, RawReader(s)


def run(port):
    deadline = time.time() + 30
    while True:
        try:
            # A write succeeds once the node leads and its term's entry applied.
            if connect(port, 1.0).set("ready", "1"):
                break
        except (redis.RedisError, OSError):
            pass
        if time.time() > deadline:
            check(False, "the one-node cluster never accepted a write")
            return
        time.sleep(0.05)
    c = connect(port)
    check(c.config_get("raft-workers").get("raft-workers") == "2", "raft-workers is 2")

    # Pipelined: 3,000 INCRs and GETs of a 1 KiB value in one send; more than
    # 64 KiB of replies, so several runs on the workers; replies in order.
    c.set("big", b"v" * 1024)
    s, r = raw(port)
    batch = b"".join(resp("INCR", "ctr") + resp("GET", "big") for _ in range(1500))
    s.sendall(batch)
    ok = True
    for i in range(1, 1501):
        if r.reply() != i or r.reply() != b"v" * 1024:
            ok = False
            break
    check(ok, "1,500 pipelined INCR/GET pairs answered in order")
    check(c.get("ctr") == b"1500", "the counter holds 1500")

    # A request split across reads: its first half alone runs nothing.
    s.sendall(b"*3\r\n$3\r\nSET\r\n$5\r\nsplit")
    check(connect(port).ping(), "another client is served while a request is half sent")
    s.sendall(b"\r\n$3\r\nabc\r\n")
    check(r.reply() == b"+OK", "a request split across reads completes")
    check(c.get("split") == b"abc", "the split request's write applied")

    # MULTI/EXEC pipelined in one send.
    s.sendall(resp("MULTI") + resp("SET", "m1", "a") + resp("INCR", "m2") + resp("EXEC"))
    replies = [r.reply() for _ in range(4)]
    check(replies == [b"+OK", b"+QUEUED", b"+QUEUED", [b"+OK", 1]],
          "pipelined MULTI/EXEC: %r" % (replies,))
    s.close()

    # Blocking commands give their thread back: three clients block on two
    # workers, and writes are still served; each push wakes one.
    results, threads = [], []

    def blocker(i):
        try:
            results.append(connect(port, 20.0).blpop("queue", timeout=15))
        except redis.RedisError as e:
            results.append(e)

    for i in range(3):
        t = threading.Thread(target=blocker, args=(i,))
        t.start()
        threads.append(t)
    deadline = time.time() + 10
    while time.time() < deadline:
        blocked = int(c.info("clients").get("blocked_clients", 0))
        if blocked == 3:
            break
        time.sleep(0.02)
    check(blocked == 3, "three clients blocked (saw %d)" % blocked)
    check(c.set("while-blocked", "1"), "a write is served while three clients block on two workers")
    for i in range(3):
        c.rpush("queue", "item%d" % i)
    for t in threads:
        t.join(30)
    got = sorted(x[1] for x in results if isinstance(x, (list, tuple)))
    check(got == [b"item0", b"item1", b"item2"], "each blocked client got one item: %r" % (results,))

    # Keys are laid out by hash slot: CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT
    # read one slot's range.
    slot = c.execute_command("CLUSTER", "KEYSLOT", "{tag}")
    before = c.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot)
    for k in ("{tag}a", "{tag}b", "{tag}c"):
        c.set(k, "1")
    c.hset("{tag}h", "f", "v")
    check(c.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == before + 4,
          "COUNTKEYSINSLOT counts the slot's four new keys")
    got = set(c.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100))
    check({b"{tag}a", b"{tag}b", b"{tag}c", b"{tag}h"} <= got, "GETKEYSINSLOT: %r" % (got,))
    check(len(c.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 2)) == 2, "GETKEYSINSLOT's count")
    check(c.hget("{tag}h", "f") == b"v", "a hash behind the slot layout reads back")
    check(sorted(c.keys("{tag}*")) == [b"{tag}a", b"{tag}b", b"{tag}c", b"{tag}h"],
          "KEYS with a hash tag in its literal prefix reads that slot")
    c.set("{tag2}x", "1")
    check(sorted(c.keys("{ta*")) == [b"{tag2}x", b"{tag}a", b"{tag}b", b"{tag}c", b"{tag}h"],
          "KEYS whose prefix holds no whole tag reads every slot: %r" % (c.keys("{ta*"),))
    got = set()
    cursor = 0
    while True:
        cursor, keys = c.scan(cursor, match="{tag}*", count=2)
        got.update(keys)
        if cursor == 0:
            break
    check(got == {b"{tag}a", b"{tag}b", b"{tag}c", b"{tag}h"}, "SCAN MATCH {tag}*: %r" % (got,))
    try:
        c.execute_command("CLUSTER", "COUNTKEYSINSLOT", 16384)
        check(False, "slot 16384 accepted")
    except redis.ResponseError as e:
        check("Invalid slot" in str(e), "slot 16384: %s" % e)

    # Pub/sub.
    sub = connect(port).pubsub()
    sub.subscribe("chan")
    first = sub.get_message(timeout=5)
    check(first is not None and first["type"] == "subscribe", "subscribed")
    check(c.publish("chan", "hello") == 1, "PUBLISH reaches the subscriber")
    msg = sub.get_message(timeout=5)
    check(msg is not None and msg["data"] == b"hello", "the subscriber got the message: %r" % (msg,))
    sub.close()

    # QUIT replies, then closes.
    s, r = raw(port)
    s.sendall(resp("QUIT") + resp("PING"))
    check(r.reply() == b"+OK", "QUIT replies +OK")
    try:
        r.reply()
        check(False, "the connection stays open after QUIT")
    except (EOFError, ConnectionError):
        pass
    s.close()

    # A protocol error: the reply, then the connection closes.
    s, r = raw(port)
    s.sendall(resp("PING") + b"*1\r\n$abc\r\n")
    check(r.reply() == b"+PONG", "the command before the protocol error is answered")
    err = r.reply()
    check(isinstance(err, bytes) and err.startswith(b"-ERR Protocol error"),
          "protocol error reply: %r" % (err,))
    try:
        r.reply()
        check(False, "the connection stays open after a protocol error")
    except (EOFError, ConnectionError):
        pass
    s.close()

    # Over client-output-buffer-limit (1 MiB) in one reply: an error, then close.
    c.set("huge", b"h" * (2 << 20))
    s, r = raw(port)
    s.sendall(resp("GET", "huge"))
    err = r.reply()
    check(isinstance(err, bytes) and b"output buffer limit" in err, "output limit: %r" % (err[:80],))
    s.close()

    # Many clients at once on two workers: every write acknowledged and present.
    errors = []

    def writer(w):
        try:
            cl = connect(port, 30.0)
            for i in range(40):
                cl.set("w%d:%d" % (w, i), i)
        except redis.RedisError as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    check(not errors, "32 concurrent writers: %r" % (errors[:3],))
    missing = [k for k in ("w%d:%d" % (w, i) for w in range(32) for i in range(40))
               if c.get(k) is None]
    check(not missing, "every acknowledged write present (missing %d)" % len(missing))


if __name__ == "__main__":
    sys.exit(main())
