#!/usr/bin/python3
"""Process-level fault test of replicated lsmkv-server nodes (docs/replication.md).

Starts N lsmkv-server processes on loopback as one Raft cluster, runs client
workers doing get / put / append on a few shared keys (and appends to a few
append-only keys) while a nemesis kills leaders and followers with SIGKILL,
pauses the leader with SIGSTOP, partitions the network (every node's Raft port
is behind a proxy of this script, which refuses and cuts connections across the
partition): the leader cut off from the others, the leader's side against the
rest (a minority or a majority), and a bridge (two sides that each reach only
one node between them), and restarts nodes. Meanwhile a cluster worker on
redis-py's RedisCluster (every node a startup node, its slot map refreshed by
the client itself) gets and appends to keys of its own, every call recorded in
the same history; a call that got a timeout, a dropped connection, -UNKNOWN or
a second send refused (SendGuard: redis-py would resend it) has an unknown
outcome, one that got -CLUSTERDOWN or was never sent had none. A list, a set,
a hash, a sorted set and a string with a TTL written before the faults ride
through them. Every operation on the shared keys is recorded (its call, and
its return when the outcome is known).
Afterwards every node is running again and must converge; then:
  - replicated expiry: a key SET with EX and one given PEXPIRE through
    RedisCluster have a positive TTL on every node (READONLY), then are gone
    from every node within a deadline,
  - every node's whole keyspace (READONLY: SCAN, TYPE, the value by its type,
    whether it has a TTL) has the same digest and as many keys as its DBSIZE,
    the leader's values are those of the final linearizable reads, and the
    collections hold what was written,
  - every acknowledged append (the plain workers' append-only keys, and every
    append RedisCluster acknowledged to the cluster worker) is present, once,
    on every node,
  - CLUSTER MYID / NODES / INFO on every node: a 40-hex-digit id that is the
    `myself` line's, every voter listed once in Redis's format (one master,
    the leader, owning 0-16383; the others slaves of it), cluster_state:ok and
    every node known; READWRITE after READONLY makes a follower answer -MOVED,
  - the recorded history is linearizable (lsmkv-lincheck --format kv), and
    the same history with one read forged is not (a negative control),
  - with no leader (a follower cut off from the others), a keyed read and a
    keyed write sent to that node get -CLUSTERDOWN after about an election
    timeout (0.5-10 s) and the write had no effect; healed, the cluster
    elects a leader and accepts writes again,
  - a node joins with --raft-join, catches up and is removed,
  - a cluster-aware client (redis-py's RedisCluster) works against the cluster.
Exit status 0 only if all of that holds; a summary line reports the figures.

Usage: cluster_test.py --server PATH --lincheck PATH [--nodes 3] [--seconds 40]
                       [--workers 4] [--cluster-workers 1] [--keys 6] [--seed S]
                       [--keep DIR] [--snapshot-threshold N] [--snapshot-trailing N]
"""
import argparse
import hashlib
import logging
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import AskError, ClusterDownError, TryAgainError


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Node:
    def __init__(self, args, nid, port, raft_port, bootstrap, root, join=None, bind_port=None):
        self.args, self.id, self.port, self.raft_port = args, nid, port, raft_port
        self.bootstrap, self.join, self.bind_port = bootstrap, join, bind_port
        self.dir = os.path.join(root, "n%d" % nid)
        self.log = os.path.join(root, "n%d.log" % nid)
        self.proc = None
        self.paused = False

    def start(self):
        cmd = [self.args.server, "--port", str(self.port), "--dir", self.dir,
               "--raft-id", str(self.id), "--raft-address", "127.0.0.1:%d" % self.raft_port,
               "--io-threads", "2",
               "--raft-snapshot-threshold", str(self.args.snapshot_threshold),
               "--raft-snapshot-trailing", str(self.args.snapshot_trailing)]
        if self.bind_port:
            cmd += ["--raft-bind", "127.0.0.1:%d" % self.bind_port]
        if self.join:
            cmd += ["--raft-join", self.join]
        else:
            cmd += ["--raft-bootstrap", self.bootstrap]
        with open(self.log, "ab") as log:
            log.write(("cluster_test: node %d started at %s\n" %
                       (self.id, time.strftime("%H:%M:%S"))).encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        self.paused = False

    def log_tail(self, n):
        """The last n lines of this node's log (stdout and stderr)."""
        try:
            with open(self.log, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
        except OSError as e:
            return ["(no log: %s)" % e]
        return [line[:300] for line in lines[-n:]]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.alive():
            if self.paused:
                self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
        self.paused = False

    def pause(self):
        if self.alive():
            self.proc.send_signal(signal.SIGSTOP)
            self.paused = True

    def resume(self):
        if self.alive() and self.paused:
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def client(self, timeout=2.0):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout,
                           socket_connect_timeout=timeout)

    def info(self):
        try:
            return self.client(1.0).info("replication")
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return None


class RaftProxy:
    """Stands at a node's advertised Raft address and forwards to where it listens
    (--raft-bind). It reads libraft's connection handshake (protocol, sender id,
    address) to learn which node connects, so that a partition can refuse and cut
    the connections between the two sides (messages flow both ways over them)."""

    def __init__(self, run, dst_id, listen_port, target_port):
        self.run, self.dst, self.target = run, dst_id, target_port
        self.lock = threading.Lock()
        self.conns = []
        self.closed = False
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", listen_port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.handle, args=(c,), daemon=True).start()

    @staticmethod
    def recv_exact(c, n):
        data = b""
        while len(data) < n:
            chunk = c.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def handle(self, c):
        try:
            c.settimeout(5)
            hs = self.recv_exact(c, 24)
            if hs is None:
                c.close()
                return
            src = struct.unpack("<Q", hs[8:16])[0]
            if self.run.blocked(src, self.dst):
                c.close()
                return
            t = socket.create_connection(("127.0.0.1", self.target), timeout=2)
            t.sendall(hs)
            c.settimeout(None)
            t.settimeout(None)
        except OSError:
            c.close()
            return
        entry = (src, c, t)
        with self.lock:
            self.conns.append(entry)

        def pump(a, b):
            try:
                while True:
                    data = a.recv(65536)
                    if not data:
                        break
                    b.sendall(data)
            except OSError:
                pass
            for x in (a, b):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        threading.Thread(target=pump, args=(t, c), daemon=True).start()
        pump(c, t)
        c.close()
        t.close()
        with self.lock:
            if entry in self.conns:
                self.conns.remove(entry)

    def cut(self):
        """Closes the connections the current partition forbids."""
        with self.lock:
            doomed = [e for e in self.conns if self.run.blocked(e[0], self.dst)]
        for _, c, t in doomed:
            for x in (c, t):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.closed = True
        self.sock.close()


class ResendRefused(Exception):
    """Raised instead of sending a call's command again while an earlier send
    of it has had no reply (SendGuard)."""


class SendGuard:
    """What became of one RedisCluster call's command, for the cluster worker.

    redis-py's RedisCluster sends a command again after a timeout or a dropped
    connection (to the same node, later after refreshing its slot map): an
    APPEND whose first send reached the server would be applied twice. The
    worker's connections (GuardedConnection) report every send of the call's
    command and its reply here, and refuse a second send while an earlier one
    has no reply. A reply redis-py retries on (-MOVED, -ASK, -TRYAGAIN,
    -CLUSTERDOWN) means that send had no effect; any other reply, or none,
    means the call may have taken effect."""

    def __init__(self):
        self.command = None
        self.unanswered = False  # the last send of the command has no reply
        self.maybe = False  # a reply that does not rule out an effect

    def begin(self, command):
        self.command, self.unanswered, self.maybe = command.upper(), False, False

    def end(self):
        self.command = None

    def maybe_applied(self):
        return self.unanswered or self.maybe


class GuardedConnection(redis.Connection):
    """A connection reporting its sends of the guarded command to `guard` (a
    subclass per client sets it: Run.cluster_client)."""
    guard = None

    def send_command(self, *args, **kwargs):
        g = self.guard
        self.guarded = g is not None and g.command is not None and str(args[0]).upper() == g.command
        if self.guarded:
            if g.unanswered:
                raise ResendRefused("%s sent again after a send with no reply" % g.command)
            if not self._sock:
                self.connect()  # a connection refused sent nothing
            g.unanswered = True
        super().send_command(*args, **kwargs)

    def read_response(self, *args, **kwargs):
        guarded = getattr(self, "guarded", False)
        try:
            response = super().read_response(*args, **kwargs)
        except redis.ResponseError as e:
            if guarded:
                self.guard.unanswered = False
                if not isinstance(e, (AskError, TryAgainError, ClusterDownError)):
                    self.guard.maybe = True
            raise
        if guarded:
            self.guard.unanswered = False
            self.guard.maybe = True
        return response


class Cluster(RedisCluster):
    """redis-py 4.3's RedisCluster deep-copies its connection arguments when it
    connects again to a startup node it holds no connection to (NodesManager.
    initialize); they hold the client's own on_connect, so the copy takes the
    client, whose lock cannot be copied: the refresh fails (RedisClusterException,
    "cannot pickle '_thread.lock'") whenever the first startup node is down.
    Copying the client as itself avoids that."""

    def __deepcopy__(self, memo):
        return self


class History:
    """Operations in call/return order; a call of unknown outcome has no return."""

    def __init__(self):
        self.lock = threading.Lock()
        self.lines = []

    def invoke(self, proc, f, key, value):
        with self.lock:
            self.lines.append((proc, "invoke", f, key, value))
            return len(self.lines) - 1

    def ok(self, proc, f, key, value):
        with self.lock:
            self.lines.append((proc, "ok", f, key, value))

    def drop(self, index):
        """Forgets a call that certainly had no effect (MOVED, CLUSTERDOWN)."""
        if index is None:
            return
        with self.lock:
            self.lines[index] = None

    def prune_unknown(self):
        """Drops the calls of unknown outcome the check does not need, which
        would otherwise stay concurrent with everything after them and make the
        search explode in long runs: a read (it has no effect), and a put or
        append whose value (unique: "proc.n;") no completed read returned. Both
        are sound: if such a write took effect, no read came after it before it
        was overwritten (put) — or no read came after it at all (append) — so
        the history is linearizable with it exactly when it is without it.
        Returns the number dropped."""
        with self.lock:
            seen = set()
            for line in self.lines:
                if line is not None and line[1] == "ok" and line[2] == "get" and line[4]:
                    seen.update(t for t in line[4].split(";") if t)
            dropped = 0
            # A process has at most one call outstanding: its invoke is matched
            # by the next "ok" of the same process, if any.
            pending = {}
            for i, line in enumerate(self.lines):
                if line is None:
                    continue
                proc, typ = line[0], line[1]
                if typ == "invoke":
                    pending[proc] = i
                else:
                    pending.pop(proc, None)
            for i in pending.values():
                proc, typ, f, key, value = self.lines[i]
                if f == "get" or value.rstrip(";") not in seen:
                    self.lines[i] = None
                    dropped += 1
            return dropped

    def write(self, path):
        def edn(s):
            if s is None:
                return "nil"
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
        with open(path, "w") as out:
            for line in self.lines:
                if line is None:
                    continue
                proc, typ, f, key, value = line
                out.write("{:process %d, :type :%s, :f :%s, :key %s, :value %s}\n" %
                          (proc, typ, f, edn(key), edn(value)))


class Run:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.root = args.keep or tempfile.mkdtemp(prefix="lsmkv-cluster-")
        os.makedirs(self.root, exist_ok=True)
        ports = free_ports(3 * args.nodes + 2)
        self.spare_ports = ports[3 * args.nodes:]
        # Node i: client port, advertised Raft port (its proxy), bound Raft port.
        spec = ",".join("%d=127.0.0.1:%d" % (i + 1, ports[args.nodes + i])
                        for i in range(args.nodes))
        self.nodes = [Node(args, i + 1, ports[i], ports[args.nodes + i], spec, self.root,
                           bind_port=ports[2 * args.nodes + i])
                      for i in range(args.nodes)]
        self.cut_pairs = set()  # frozensets {a, b}: nodes a and b cannot talk (a partition)
        self.one_way = set()  # (src, dst): src's messages to dst are lost
        self.proxies = [RaftProxy(self, n.id, n.raft_port, n.bind_port) for n in self.nodes]
        self.history = History()
        self.keys = ["key%d" % i for i in range(args.keys)]
        # Append-only keys: every acknowledged append must be in the final value.
        # They stay out of the history (unknown appends make its search explode).
        self.log_keys = ["log%d" % i for i in range(2)]
        self.stop = threading.Event()
        self.proc_lock = threading.Lock()
        self.next_proc = 0
        self.acked_appends = {k: [] for k in self.log_keys}
        self.counts = {"ok": 0, "unknown": 0, "refused": 0}
        self.unexpected = []
        self.events = []
        self.failovers_ms = []
        self.filler_keys = 2000  # kill_during_install's keys: filler0..filler1999
        self.installs_killed = 0
        self.install_not_seen = 0
        # The cluster workers' keys (their own: get and append only, a new key
        # every 100 calls so that values stay short), their acknowledged
        # appends (key, value), their figures.
        self.cw_keys = []
        self.cw_acked = []
        self.cw_counts = {"ok": 0, "unknown": 0, "refused": 0, "clients": 0}
        self.cw_errors = {}  # what ended calls without a reply: exception name -> count
        self.cw_hung = 0
        # Written before the faults, checked on every node at the end: one key
        # of each type the keyspace digest reads (and a TTL).
        self.collections = {"coll-list": ("list", [b"a", b"b", b"c", b"a"]),
                            "coll-set": ("set", [b"x", b"y", b"z"]),
                            "coll-hash": ("hash", [(b"f1", b"v1"), (b"f2", b"v2")]),
                            "coll-zset": ("zset", [(b"m1", 1.0), (b"m2", 2.5)]),
                            "coll-ttl": ("string", b"lives an hour")}

    def blocked(self, src, dst):
        """Whether src's messages to dst are lost: a partition cuts both ways,
        a one-way cut only src's connections to dst (libraft sends each node's
        messages to a peer over that node's own connection to it)."""
        return frozenset((src, dst)) in self.cut_pairs or (src, dst) in self.one_way

    def partition(self, ids):
        """Cuts nodes ids off from the others (none: heals everything)."""
        ids = set(ids)
        self.cut_pairs = set(frozenset((a, b)) for a in ids for b in
                             (n.id for n in self.nodes if n.id not in ids))
        self.one_way = set()
        for p in self.proxies:
            p.cut()

    def cut_one_way(self, src):
        """src's messages to every other node are lost; theirs to src arrive."""
        self.one_way = set((src, n.id) for n in self.nodes if n.id != src)
        for p in self.proxies:
            p.cut()

    def bridge(self, left, right):
        """Every node of left cut off from every node of right; the others (the
        bridge) still talk to both sides."""
        self.cut_pairs = set(frozenset((a, b)) for a in left for b in right)
        for p in self.proxies:
            p.cut()

    def new_proc(self):
        with self.proc_lock:
            self.next_proc += 1
            return self.next_proc

    def count(self, what):
        with self.proc_lock:
            self.counts[what] += 1

    def leader(self):
        best = None
        for n in self.nodes:
            if not n.alive() or n.paused:
                continue
            info = n.info()
            if info and info.get("raft_state") == "leader":
                if best is None or info["raft_term"] > best[1]:
                    best = (n, info["raft_term"])
        return best[0] if best else None

    def wait_leader(self, timeout=20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            n = self.leader()
            if n is not None:
                return n
            time.sleep(0.05)
        return None

    # -- clients -------------------------------------------------------------
    def worker(self, wid):
        rng = random.Random(self.args.seed * 1000 + wid)
        proc = self.new_proc()
        conns = {}
        target = rng.choice(self.nodes).port
        n = 0
        while not self.stop.is_set():
            if rng.random() < 0.25:
                key, f = rng.choice(self.log_keys), "append"
            else:
                key, f = rng.choice(self.keys), rng.choice(["get", "put", "append"])
            n += 1
            value = None if f == "get" else "%d.%d;" % (proc, n)
            logged = key not in self.acked_appends
            index = self.history.invoke(proc, f, key, value) if logged else None
            try:
                if target not in conns:
                    conns[target] = redis.Redis(host="127.0.0.1", port=target, socket_timeout=2.0,
                                                socket_connect_timeout=1.0, retry_on_timeout=False)
                c = conns[target]
                if f == "get":
                    r = c.get(key)
                    self.history.ok(proc, f, key, r.decode() if r is not None else "")
                elif f == "put":
                    c.set(key, value)
                    self.history.ok(proc, f, key, value)
                else:
                    c.append(key, value)
                    if logged:
                        self.history.ok(proc, f, key, value)
                    else:
                        with self.proc_lock:
                            self.acked_appends[key].append(value)
                self.count("ok")
            except redis.exceptions.ReadOnlyError:
                self.history.drop(index)
                self.count("refused")
                target = rng.choice(self.nodes).port
            except redis.ResponseError as e:
                # The plain client's errors by prefix: MOVED and CLUSTERDOWN had
                # no effect; UNKNOWN (proposed, then leadership was lost) has an
                # unknown outcome; anything else is unexpected and fails the run.
                msg = str(e)
                if msg.startswith("MOVED "):
                    self.history.drop(index)
                    self.count("refused")
                    target = int(msg.rsplit(":", 1)[1])
                elif msg.startswith("CLUSTERDOWN"):
                    self.history.drop(index)
                    self.count("refused")
                    target = rng.choice(self.nodes).port
                    time.sleep(0.02)
                else:
                    if not msg.startswith("UNKNOWN"):
                        self.unexpected.append("%s %s: %s" % (f, key, msg))
                    self.count("unknown")
                    proc = self.new_proc()
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                # The request may have been sent: its outcome is unknown.
                self.count("unknown")
                proc = self.new_proc()
                c = conns.pop(target, None)
                if c is not None:
                    c.close()
                target = rng.choice(self.nodes).port
                time.sleep(0.02)

    def cluster_client(self, guard=None):
        """A RedisCluster knowing every node, with socket timeouts; it follows
        -MOVED itself, and `cluster_error_retry_attempts=1` leaves retrying
        after -CLUSTERDOWN or a connection error to the caller, so that a call
        ends within seconds. With a guard its connections are GuardedConnections
        reporting to it."""
        kwargs = {}
        if guard is not None:
            # Only a client given a URL builds its nodes' connection pools with
            # the connection_class given (redis-py 4.3: NodesManager.create_redis_node).
            kwargs["url"] = "redis://127.0.0.1:%d" % self.nodes[0].port
            kwargs["connection_class"] = type("Guarded", (GuardedConnection,), {"guard": guard})
        return Cluster(startup_nodes=[ClusterNode("127.0.0.1", n.port) for n in self.nodes],
                       socket_timeout=2.0, socket_connect_timeout=1.0,
                       cluster_error_retry_attempts=1, dynamic_startup_nodes=False, **kwargs)

    def cluster_worker(self, wid):
        """Gets and appends through RedisCluster to keys no other worker uses,
        recorded in the history. redis-py refreshes its slot map on -MOVED and
        connection errors; when it cannot (no node answers CLUSTER SLOTS with a
        master) it may raise anything, and its state may be left empty, so the
        client is rebuilt after every call that ended without a reply."""
        rng = random.Random(self.args.seed * 1000 + 500 + wid)
        proc = self.new_proc()
        guard = SendGuard()
        rc = None
        n = 0
        while not self.stop.is_set():
            if rc is None:
                try:
                    rc = self.cluster_client(guard)
                    with self.proc_lock:
                        self.cw_counts["clients"] += 1
                except Exception:  # noqa: BLE001 - no master known yet: try again
                    time.sleep(0.05)
                    continue
            n += 1
            key = "cw%d.%d" % (wid, n // 100)
            if n % 100 == 0 or n == 1:
                with self.proc_lock:
                    self.cw_keys.append(key)
            f = "get" if rng.random() < 0.2 else "append"
            value = None if f == "get" else "%d.%d;" % (proc, n)
            index = self.history.invoke(proc, f, key, value)
            guard.begin(f)
            try:
                if f == "get":
                    r = rc.get(key)
                    self.history.ok(proc, f, key, r.decode() if r is not None else "")
                else:
                    rc.append(key, value)
                    self.history.ok(proc, f, key, value)
                    with self.proc_lock:
                        self.cw_acked.append((key, value))
                with self.proc_lock:
                    self.cw_counts["ok"] += 1
                continue
            except (ClusterDownError, AskError, TryAgainError):
                outcome = "refused"  # a redirect or -CLUSTERDOWN: no effect
            except redis.ResponseError as e:
                # -UNKNOWN: proposed, then leadership was lost.
                if not str(e).startswith("UNKNOWN"):
                    self.unexpected.append("RedisCluster %s %s: %s" % (f, key, e))
                outcome = "unknown"
            except Exception as e:  # noqa: BLE001 - timeouts, connection errors, redis-py's own
                with self.proc_lock:
                    name = type(e).__name__
                    self.cw_errors[name] = self.cw_errors.get(name, 0) + 1
                outcome = "unknown" if guard.maybe_applied() else "refused"
                try:
                    rc.close()
                except Exception:  # noqa: BLE001
                    pass
                rc = None
            finally:
                guard.end()
            with self.proc_lock:
                self.cw_counts[outcome] += 1
            if outcome == "refused":
                self.history.drop(index)
            else:
                proc = self.new_proc()
            time.sleep(0.02)
        if rc is not None:
            rc.close()

    # -- faults --------------------------------------------------------------
    def measure_failover(self, t0):
        """Time from the fault at t0 until a write is acknowledged again."""
        while time.time() - t0 < 30 and not self.stop.is_set():
            n = self.leader()
            if n is not None:
                try:
                    n.client(1.0).set("failover-probe", str(t0))
                    self.failovers_ms.append(int((time.time() - t0) * 1000))
                    return
                except (redis.RedisError, OSError):
                    pass
            time.sleep(0.01)

    def nemesis(self):
        seconds = self.args.seconds
        rng = self.rng
        slots = max(1, int(seconds // 7))
        # partition-split: the leader and 0..n-2 others against the rest (the
        # leader's side a minority or a majority); partition-bridge: the
        # leader's side and the other side each reach one bridge node only.
        # kill-installing-follower: a follower killed, left behind until it
        # needs a snapshot, restarted and killed again while it installs it.
        # one-way-leader: the leader's messages to the others are lost, theirs
        # to it arrive.
        actions = ["kill-leader", "partition-leader", "pause-leader", "kill-installing-follower",
                   "partition-bridge", "one-way-leader", "kill-leader", "partition-split",
                   "kill-follower"]
        t_start = time.time()
        for i in range(slots):
            t_next = t_start + (i + 0.3) * seconds / slots
            while time.time() < t_next and not self.stop.is_set():
                time.sleep(0.05)
            if self.stop.is_set():
                return
            action = actions[i % len(actions)]
            leader = self.wait_leader(10)
            if leader is None:
                self.events.append("no leader before %s" % action)
                continue
            if (action.startswith("partition-") or
                    action in ("kill-leader", "pause-leader", "one-way-leader")):
                t0 = time.time()
                others = [n.id for n in self.nodes if n is not leader]
                rng.shuffle(others)
                if action == "kill-leader":
                    leader.kill9()
                    self.events.append("kill -9 leader %d" % leader.id)
                elif action == "partition-leader":
                    self.partition([leader.id])
                    self.events.append("partition leader %d" % leader.id)
                elif action == "one-way-leader":
                    self.cut_one_way(leader.id)
                    self.events.append("one-way: leader %d's messages lost" % leader.id)
                elif action == "partition-split":
                    side = [leader.id] + others[:rng.randint(0, len(others) - 1)]
                    self.partition(side)
                    self.events.append("partition %s | %s" % (
                        sorted(side), sorted(n.id for n in self.nodes if n.id not in side)))
                elif action == "partition-bridge":
                    bridge_id = others[0]
                    rest = others[1:]
                    k = rng.randint(0, len(rest) // 2)
                    left, right = [leader.id] + rest[:k], rest[k:]
                    self.bridge(left, right)
                    self.events.append("bridge %s | %d | %s" % (sorted(left), bridge_id,
                                                                  sorted(right)))
                else:
                    leader.pause()
                    self.events.append("SIGSTOP leader %d" % leader.id)
                probe = threading.Thread(target=self.measure_failover, args=(t0,))
                probe.start()
                time.sleep(rng.uniform(2.0, 3.5))
                if action == "kill-leader":
                    leader.start()
                elif action.startswith("partition-") or action == "one-way-leader":
                    self.partition([])
                    self.events.append("healed")
                else:
                    leader.resume()
                    self.events.append("SIGCONT %d" % leader.id)
                probe.join()
            elif action == "kill-installing-follower":
                self.kill_during_install(leader)
            else:
                followers = [n for n in self.nodes if n is not leader and n.alive()]
                if followers:
                    f = rng.choice(followers)
                    f.kill9()
                    self.events.append("kill -9 follower %d" % f.id)
                    time.sleep(rng.uniform(2.0, 4.0))
                    f.start()

    def fill(self, leader, entries, value_bytes, timeout=60.0):
        """Writes filler keys through the leader until its Raft log has grown by
        `entries` (the clients' writes count too), so that it takes snapshots
        and drops the log a stopped follower needs. One write per call: a
        pipeline's writes may share one Raft entry. Returns (writes
        acknowledged, whether the log grew that much)."""
        done = 0
        value = "f" * value_bytes
        deadline = time.time() + timeout
        try:
            c = leader.client(10.0)
            target = int(c.info("replication")["raft_last_index"]) + entries
            while time.time() < deadline:
                for _ in range(200):
                    c.set("filler%d" % (done % self.filler_keys), value)
                    done += 1
                if int(c.info("replication")["raft_last_index"]) >= target:
                    return done, True
        except (redis.RedisError, OSError, KeyError, ValueError):
            pass
        return done, False

    def kill_during_install(self, leader):
        """kill -9 a follower, write past the leader's snapshot threshold and
        trailing entries (the follower will need a snapshot), restart it and
        kill -9 it as soon as it logs that it installs the snapshot; then
        restart it. The final checks show whether it caught up."""
        followers = [n for n in self.nodes if n is not leader and n.alive()]
        if not followers:
            return
        f = self.rng.choice(followers)
        f.kill9()
        entries = 3 * self.args.snapshot_threshold + self.args.snapshot_trailing
        written, grown = self.fill(leader, entries, 512)
        with open(f.log, "rb") as log:
            log.seek(0, os.SEEK_END)
            mark = log.tell()
        f.start()
        seen, installed = False, False
        deadline = time.time() + 20
        with open(f.log, "rb") as log:
            log.seek(mark)
            text = b""
            while time.time() < deadline and f.alive():
                text += log.read()
                if b"installing the Raft snapshot" in text:
                    f.kill9()
                    text += log.read()
                    seen = True
                    installed = b"restarting to serve it" in text
                    break
                time.sleep(0.001)
        if seen:
            self.installs_killed += 1
            self.events.append("kill -9 follower %d during a snapshot install (%d filler writes; "
                               "%s)" % (f.id, written, "after the switch" if installed
                                        else "before the switch"))
        else:
            f.kill9()
            self.events.append("follower %d: no snapshot install within 20 s of its restart "
                               "(%d filler writes; the log %s by %d entries)" % (
                                   f.id, written, "grew" if grown else "did not grow", entries))
            if grown:  # else the leader changed or the fill timed out: no install was due
                self.install_not_seen += 1
        time.sleep(self.rng.uniform(0.5, 1.5))
        f.start()

    # -- checks --------------------------------------------------------------
    def converge(self, timeout=60.0):
        """Waits until every node applied everything the leader committed."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            leader = self.leader()
            if leader is None:
                time.sleep(0.1)
                continue
            # A write in the current term commits everything before it.
            try:
                leader.client().set("converge-probe", str(time.time()))
            except (redis.RedisError, OSError):
                time.sleep(0.1)
                continue
            info = leader.info()
            if info is None:
                continue
            commit = int(info["raft_commit_index"])
            while time.time() < deadline:
                infos = [n.info() for n in self.nodes]
                if all(i is not None and int(i["raft_last_applied"]) >= commit for i in infos):
                    return leader
                if self.leader() is not leader:
                    break
                time.sleep(0.05)
        return None

    def check_follower_lag(self, leader, timeout=10.0):
        """The leader's INFO replication lists every other node (slaveN lines,
        raft_id, offset = match index, lag in entries) and, with no writes
        under way, each catches up to lag 0; CLUSTER SHARDS reports the same
        offsets. Before any check, a write that every node has applied."""
        others = sorted(n.id for n in self.nodes if n is not leader)
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                info = leader.client().info("replication")
            except (redis.RedisError, OSError) as e:
                last = repr(e)
                time.sleep(0.05)
                continue
            slaves = [info[k] for k in info if k.startswith("slave") and k[5:].isdigit()]
            ids = sorted(int(s_["raft_id"]) for s_ in slaves)
            last = "connected_slaves=%s %r" % (info.get("connected_slaves"), slaves)
            if int(info.get("connected_slaves", -1)) != len(others) or ids != others:
                return ["INFO replication on the leader lists %s, not nodes %s" % (last, others)]
            if all(int(s_["lag"]) == 0 and int(s_["offset"]) == int(info["raft_last_index"])
                   for s_ in slaves):
                shards = leader.client().execute_command("CLUSTER", "SHARDS")
                nodes = shards[0][b"nodes"] if isinstance(shards[0], dict) else None
                if nodes is None:  # RESP2: a flat list of name, value pairs
                    nodes = dict(zip(shards[0][::2], shards[0][1::2]))[b"nodes"]
                    nodes = [dict(zip(n[::2], n[1::2])) for n in nodes]
                offsets = [int(n[b"replication-offset"]) for n in nodes]
                if len(offsets) != len(self.nodes) or min(offsets) <= 0:
                    return ["CLUSTER SHARDS offsets %r" % offsets]
                return []
            time.sleep(0.05)
        return ["followers' lag on the leader never reached 0: %s" % last]

    def seed_collections(self, timeout=20.0):
        """Writes self.collections through the leader, each key deleted first
        (a failed attempt is redone from scratch: the end checks their exact
        values)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            leader = self.leader()
            if leader is None:
                time.sleep(0.05)
                continue
            try:
                c = leader.client()
                for key, (typ, value) in self.collections.items():
                    c.delete(key)
                    if typ == "list":
                        c.rpush(key, *value)
                    elif typ == "set":
                        c.sadd(key, *value)
                    elif typ == "hash":
                        c.hset(key, mapping=dict(value))
                    elif typ == "zset":
                        c.zadd(key, dict(value))
                    else:
                        c.set(key, value, ex=3600)
                return True
            except (redis.RedisError, OSError):
                time.sleep(0.1)
        return False

    @staticmethod
    def node_keyspace(node):
        """The node's whole keyspace as it holds it (READONLY: its own copy):
        SCAN, then TYPE and the value by its type — GET, LRANGE 0 -1, SMEMBERS
        sorted, HGETALL sorted, ZRANGE 0 -1 WITHSCORES — and whether the key has
        a TTL (PTTL >= 0). Returns ({key: (type, value, has TTL)}, DBSIZE)."""
        reads = {"string": ("GET",), "list": ("LRANGE", 0, -1), "set": ("SMEMBERS",),
                 "hash": ("HGETALL",), "zset": ("ZRANGE", 0, -1, "WITHSCORES")}
        c = node.client(10.0)
        c.execute_command("READONLY")
        items = {}
        cursor = 0
        while True:
            cursor, keys = c.scan(cursor=cursor, count=1000)
            if keys:
                p = c.pipeline(transaction=False)
                for k in keys:
                    p.type(k)
                types = [t.decode() if isinstance(t, bytes) else t for t in p.execute()]
                p = c.pipeline(transaction=False)
                for k, t in zip(keys, types):
                    read = reads.get(t, ("TYPE",))  # another type: compared by its type only
                    p.execute_command(read[0], k, *read[1:])
                    p.execute_command("PTTL", k)
                replies = p.execute()
                for i, (k, t) in enumerate(zip(keys, types)):
                    v, pttl = replies[2 * i], replies[2 * i + 1]
                    if t == "set":
                        v = sorted(v)
                    elif t == "hash":
                        v = sorted(v.items())
                    elif t == "zset":
                        v = list(zip(v[::2], v[1::2]))
                    items[k.decode(errors="backslashreplace")] = (t, v, pttl >= 0)
            if int(cursor) == 0:
                break
        return items, c.dbsize()

    @staticmethod
    def keyspace_digest(items):
        h = hashlib.sha256()
        for k in sorted(items):
            h.update(repr((k, items[k])).encode())
        return h.hexdigest()[:16]

    def check_keyspaces(self, leader, final):
        """Every node's whole keyspace (node_keyspace) has the same digest, and
        as many keys as its DBSIZE; the leader's values of the shared, the
        append-only and the cluster workers' keys are the final reads'; the
        collections hold what seed_collections wrote; every append RedisCluster
        acknowledged to a cluster worker is in its key, once, on every node.
        Returns (failures, a few words for the summary)."""
        failures, spaces, digests = [], {}, {}
        for n in self.nodes:
            try:
                items, dbsize = self.node_keyspace(n)
            except (redis.RedisError, OSError) as e:
                failures.append("node %d: reading its keyspace: %r" % (n.id, e))
                continue
            spaces[n.id], digests[n.id] = items, self.keyspace_digest(items)
            if dbsize != len(items):
                failures.append("node %d: SCAN found %d keys, DBSIZE counts %d" %
                                (n.id, len(items), dbsize))
        if len(set(digests.values())) > 1:
            keys = sorted(set().union(*spaces.values()))
            differ = [k for k in keys if len(set(repr(s.get(k)) for s in spaces.values())) > 1]
            examples = "; ".join("%s: %s" % (k, ", ".join(
                "node %d %s" % (i, repr(s.get(k))[-60:]) for i, s in spaces.items()))
                for k in differ[:5])
            failures.append("the nodes' keyspaces differ: digests %s, keys %s; %d keys differ: %s" %
                            (digests, {i: len(s) for i, s in spaces.items()}, len(differ),
                             examples))
        mine = spaces.get(leader.id, {})
        for k in self.keys + self.log_keys + self.cw_keys:
            got = mine.get(k)
            if (final[k] or got is not None) and got != ("string", final[k].encode(), False):
                failures.append("the leader's keyspace holds %r for %s, its final read %r" %
                                (repr(got)[-60:], k, final[k][-40:]))
        for nid, items in spaces.items():
            for key, (typ, value) in self.collections.items():
                got = items.get(key)
                if typ == "zset" and got is not None and got[0] == "zset":
                    got = (got[0], [(m, float(sc)) for m, sc in got[1]], got[2])
                if typ in ("set", "hash"):
                    value = sorted(value)
                if got != (typ, value, typ == "string"):
                    failures.append("node %d holds %r for %s, not %r" % (nid, got, key, value))
        # The cluster workers' acknowledged appends, on every node.
        for nid, items in spaces.items():
            missing = duplicated = 0
            tokens = {}
            for k in self.cw_keys:
                got = items.get(k)
                for t in (got[1].decode().split(";") if got and got[0] == "string" else []):
                    if t:
                        tokens[(k, t)] = tokens.get((k, t), 0) + 1
            duplicated = sum(1 for c in tokens.values() if c > 1)
            missing = sum(1 for k, v in self.cw_acked if (k, v[:-1]) not in tokens)
            if missing or duplicated:
                failures.append("node %d: %d of the %d appends acknowledged to the cluster worker "
                                "missing, %d appended more than once" %
                                (nid, missing, len(self.cw_acked), duplicated))
        return failures, "%d keys, digest %s on %d nodes" % (
            len(mine), digests.get(leader.id), len(spaces))

    def check_expiry(self, timeout=20.0):
        """A key SET with EX 3 and one given PEXPIRE 2500 through RedisCluster:
        every node (READONLY) reports a positive TTL, at most the one set, for
        both (the second may be seen first without one: its SET applied, not
        yet its PEXPIRE), then neither is on any node (polled until `timeout`).
        Returns (failures, seconds until gone everywhere)."""
        limits = {"expiring-ex": 3000, "expiring-px": 2500}
        t0 = time.time()
        rc = None
        def retried(call):
            # The writes are idempotent: a call refused (no leader yet after
            # the faults) or of unknown outcome is sent again, for up to 20 s.
            give_up = time.time() + 20
            while True:
                try:
                    return call()
                except (redis.exceptions.ClusterDownError, redis.exceptions.ConnectionError,
                        redis.exceptions.TimeoutError, ResendRefused) as e:
                    error = e
                except redis.exceptions.ResponseError as e:
                    if not str(e).startswith("UNKNOWN"):
                        raise
                    error = e
                if time.time() > give_up:
                    raise error
                time.sleep(0.1)  # a back-off between attempts, not a synchronisation

        try:
            rc = self.cluster_client()
            retried(lambda: rc.set("expiring-ex", "ex", ex=3))
            retried(lambda: rc.set("expiring-px", "px"))
            if not retried(lambda: rc.pexpire("expiring-px", 2500)):
                return ["PEXPIRE through RedisCluster answered 0"], 0
            t0 = time.time()
        except Exception as e:  # noqa: BLE001 - any client failure fails the run
            return ["RedisCluster: %r" % e], 0
        finally:
            if rc is not None:
                rc.close()
        clients = {}
        for n in self.nodes:
            clients[n.id] = n.client()
            clients[n.id].execute_command("READONLY")
        failures, seen, gone = {}, set(), set()  # failures: one per node, key and kind
        deadline = t0 + timeout
        while time.time() < deadline and len(gone) < 2 * len(self.nodes):
            for nid, c in clients.items():
                for k, limit in limits.items():
                    if (nid, k) in gone:
                        continue
                    try:
                        pttl = c.pttl(k)
                    except (redis.RedisError, OSError):
                        continue
                    if pttl > limit:
                        failures.setdefault((nid, k, "above"), "node %d reports a TTL of %d ms "
                                            "for %s, set to %d" % (nid, pttl, k, limit))
                    if pttl > 0:
                        seen.add((nid, k))
                    elif pttl == -1 and (k == "expiring-ex" or (nid, k) in seen):
                        failures[(nid, k, "none")] = "node %d holds %s without a TTL" % (nid, k)
                        gone.add((nid, k))
                    elif pttl == -2 and (nid, k) in seen:
                        gone.add((nid, k))
                    # -2 (or -1 for expiring-px) before a TTL was seen: not
                    # applied there yet.
            time.sleep(0.02)
        elapsed = time.time() - t0
        unseen = sorted((nid, k) for nid in clients for k in limits if (nid, k) not in seen)
        if unseen:
            failures[(0, "", "unseen")] = "no positive TTL seen for %s" % unseen
        left = sorted((nid, k) for nid in clients for k in limits if (nid, k) not in gone)
        if left:
            failures[(0, "", "left")] = "still present %.1f s after they were set: %s" % (
                elapsed, left)
        return [failures[f] for f in sorted(failures)], elapsed

    def check_cluster_commands(self, leader):
        """CLUSTER MYID / NODES / INFO on every node, READWRITE on the
        followers (checks below); redone (up to 3 times) if the leader or its
        term changed meanwhile. Returns failures."""
        for _ in range(3):
            before = leader.info() or {}
            failures = self.cluster_commands_once(leader, int(before.get("raft_term", 0)))
            after = leader.info() or {}
            stable = (after.get("raft_state") == "leader" and
                      after.get("raft_term") == before.get("raft_term"))
            if not failures or stable:
                return failures
            leader = self.wait_leader(10) or leader
        return failures

    def cluster_commands_once(self, leader, term):
        """On each node: CLUSTER MYID is 40 hex digits, its Raft id, and the id
        of the `myself` line of its CLUSTER NODES; CLUSTER NODES lists every
        voter once, in Redis's format — id, ip:port@cport (the node's client
        port), flags, master id (`-` for the master), ping-sent, pong-recv,
        config-epoch (the term), link-state `connected`, then the master's slot
        range 0-16383 — with exactly one master, the leader, and the others
        slaves of it; CLUSTER INFO has cluster_state:ok and cluster_known_nodes
        the node count. On each follower, a keyed read after READONLY is
        served, and after READWRITE answered -MOVED <its slot> <the leader>."""
        failures = []
        names = {"%040x" % n.id: n for n in self.nodes}
        leader_name = "%040x" % leader.id
        for n in self.nodes:
            c = n.client(5.0)
            try:
                myid = c.execute_command("CLUSTER", "MYID").decode()
                text = c.execute_command("CLUSTER", "NODES").decode()
                info = c.execute_command("CLUSTER", "INFO").decode()
            except (redis.RedisError, OSError) as e:
                failures.append("node %d: CLUSTER MYID/NODES/INFO: %r" % (n.id, e))
                continue
            if not re.fullmatch("[0-9a-f]{40}", myid) or int(myid, 16) != n.id:
                failures.append("node %d: CLUSTER MYID %r" % (n.id, myid))
            lines = [line.split(" ") for line in text.split("\n") if line]
            bad = lambda why, line: failures.append(  # noqa: E731
                "node %d: CLUSTER NODES line %r: %s" % (n.id, " ".join(line), why))
            masters, myself = [], []
            for f in lines:
                if len(f) < 8:
                    bad("fewer than 8 fields", f)
                    continue
                node = names.get(f[0])
                flags = f[2].split(",")
                m = re.fullmatch(r"127\.0\.0\.1:(\d+)@(\d+)", f[1])
                if node is None:
                    bad("not a voter's id", f)
                elif not m or int(m.group(1)) != node.port:
                    bad("not the address 127.0.0.1:%d@cport" % node.port, f)
                if "myself" in flags:
                    myself.append(f[0])
                role = [x for x in flags if x in ("master", "slave")]
                if len(role) != 1 or set(flags) - {"myself", "master", "slave"}:
                    bad("flags", f)
                    continue
                if not all(x.isdigit() for x in f[4:7]) or int(f[6]) != term:
                    bad("ping-sent, pong-recv, config-epoch (the term, %d)" % term, f)
                if f[7] != "connected":
                    bad("link-state", f)
                if role[0] == "master":
                    masters.append(f[0])
                    if f[3] != "-" or f[8:] != ["0-16383"]:
                        bad("a master with master id - and slots 0-16383", f)
                elif f[3] != leader_name or f[8:]:
                    bad("a slave of %s owning no slot" % leader_name, f)
            ids = sorted(f[0] for f in lines)
            if ids != sorted(names):
                failures.append("node %d: CLUSTER NODES lists %s, not each of %s once" %
                                (n.id, ids, sorted(names)))
            if masters != [leader_name]:
                failures.append("node %d: CLUSTER NODES masters %s, not the leader %s" %
                                (n.id, masters, leader_name))
            if myself != [myid]:
                failures.append("node %d: CLUSTER NODES myself %s, MYID %s" % (n.id, myself, myid))
            fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
            if (fields.get("cluster_state") != "ok" or
                    fields.get("cluster_known_nodes") != str(len(self.nodes))):
                failures.append("node %d: CLUSTER INFO %r" % (n.id, info))
            if n is leader:
                continue
            key = self.keys[0]
            try:
                slot = c.execute_command("CLUSTER", "KEYSLOT", key)
                c.execute_command("READONLY")
                c.get(key)
                c.execute_command("READWRITE")
                c.get(key)
                failures.append("node %d: a read after READWRITE was served, not -MOVED" % n.id)
            except redis.ResponseError as e:
                if str(e) != "MOVED %d 127.0.0.1:%d" % (slot, leader.port):
                    failures.append("node %d: READONLY, GET, READWRITE, GET: %s" % (n.id, e))
            except (redis.RedisError, OSError) as e:
                failures.append("node %d: READONLY, GET, READWRITE, GET: %r" % (n.id, e))
        return failures

    def check_no_leader(self):
        """A follower cut off from the others (its Raft connections refused):
        once it reports no leader, a keyed read and a keyed write sent to it
        must get -CLUSTERDOWN after about an election timeout (1 s: 0.5-10 s
        allowed), and the write must have had no effect. Then healed: a leader
        again, a write accepted, every node caught up. Returns (failures, the
        replies' seconds)."""
        leader = self.wait_leader(20)
        if leader is None:
            return ["no leader before cutting a follower off"], []
        node = next(n for n in self.nodes if n is not leader)
        probe = "clusterdown-probe"
        try:
            leader.client().set(probe, "before")
        except (redis.RedisError, OSError) as e:
            return ["SET %s on the leader: %r" % (probe, e)], []
        failures, times = [], []
        self.partition([node.id])
        # Both views: INFO replication asks the Raft loop; CLUSTER INFO shows
        # the role the loop publishes every 10 ms, which commands are admitted
        # by (until then they are still redirected to the old leader).
        deadline = time.time() + 15
        while time.time() < deadline:
            info = node.info()
            try:
                state = node.client(1.0).execute_command("CLUSTER", "INFO").decode()
            except (redis.RedisError, OSError):
                state = ""
            if (info is not None and int(info.get("raft_leader_id", -1)) == 0 and
                    "cluster_state:fail\r\n" in state):
                break
            time.sleep(0.05)
        else:
            failures.append("node %d still reported a leader 15 s after being cut off" % node.id)
        if not failures:
            c = node.client(15.0)
            for what, call in (("GET", lambda: c.get(probe)),
                               ("SET", lambda: c.set(probe, "during"))):
                t0 = time.time()
                try:
                    reply = call()
                    failures.append("%s on node %d with no leader answered %r, not -CLUSTERDOWN" %
                                    (what, node.id, reply))
                except redis.ResponseError as e:
                    elapsed = time.time() - t0
                    times.append(round(elapsed, 2))
                    if not str(e).startswith("CLUSTERDOWN"):
                        failures.append("%s on node %d with no leader: %s" % (what, node.id, e))
                    elif not 0.5 <= elapsed < 10:
                        failures.append("%s on node %d with no leader: -CLUSTERDOWN after %.2f s, "
                                        "not about an election timeout" % (what, node.id, elapsed))
                except (redis.RedisError, OSError) as e:
                    failures.append("%s on node %d with no leader: %r" % (what, node.id, e))
        self.partition([])
        deadline = time.time() + 30
        value = None
        while time.time() < deadline:
            leader = self.leader()
            if leader is not None:
                try:
                    c = leader.client()
                    value = c.get(probe)
                    c.set(probe, "after")
                    break
                except (redis.RedisError, OSError):
                    pass
            time.sleep(0.05)
        else:
            return failures + ["no write accepted within 30 s of healing"], times
        if value != b"before":
            failures.append("%s holds %r after a SET refused with -CLUSTERDOWN, not 'before'" %
                            (probe, value))
        if self.converge() is None:
            failures.append("the nodes did not converge after healing")
        return failures, times

    def lincheck(self, path):
        return subprocess.run([self.args.lincheck, "--format", "kv", "--timeout", "120", path],
                              capture_output=True, text=True)

    def run(self):
        failures = []
        for n in self.nodes:
            n.start()
        if self.wait_leader(30) is None:
            return ["no leader elected within 30 s"]
        # Every node announced its address (CLUSTER SLOTS lists all of them).
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                slots = self.nodes[0].client().execute_command("CLUSTER", "SLOTS")
                if slots and len(slots[0]) == 2 + len(self.nodes):
                    break
            except (redis.RedisError, OSError):
                pass
            time.sleep(0.1)
        else:
            failures.append("CLUSTER SLOTS never listed every node")
        if not self.seed_collections():
            failures.append("the collections could not be written within 20 s")

        threads = [threading.Thread(target=self.worker, args=(w,))
                   for w in range(self.args.workers)]
        cluster_threads = [threading.Thread(target=self.cluster_worker, args=(w,), daemon=True)
                           for w in range(self.args.cluster_workers)]
        nemesis = threading.Thread(target=self.nemesis)
        for t in threads + cluster_threads:
            t.start()
        nemesis.start()
        time.sleep(self.args.seconds)
        self.stop.set()
        for t in threads:
            t.join()
        # A cluster worker's call ends within seconds (socket timeouts, one
        # attempt): one still running 30 s after the stop hangs.
        deadline = time.time() + 30
        for t in cluster_threads:
            t.join(max(0.0, deadline - time.time()))
        self.cw_hung = sum(1 for t in cluster_threads if t.is_alive())
        if self.cw_hung:
            failures.append("%d cluster workers still running 30 s after the stop" % self.cw_hung)
        nemesis.join()
        self.partition([])
        for n in self.nodes:
            n.resume()
            if not n.alive():
                n.start()

        leader = self.converge()
        if leader is None:
            states = []
            for n in self.nodes:
                i = n.info() or {}
                states.append("node %d: exit=%s state=%s term=%s commit=%s applied=%s "
                              "(state machine %s) last index=%s installs=%s fsm errors=%s %s" % (
                                  n.id, n.proc.poll(), i.get("raft_state"), i.get("raft_term"),
                                  i.get("raft_commit_index"), i.get("raft_last_applied"),
                                  i.get("raft_applied_index"), i.get("raft_last_index"),
                                  i.get("raft_snapshots_installed"), i.get("raft_fsm_errors"),
                                  i.get("raft_fsm_last_error", "")))
                states.append("its log ends:\n    " + "\n    ".join(n.log_tail(12)))
            return failures + ["the nodes did not converge within 60 s: " + "\n  ".join(states)]
        failures += self.check_follower_lag(leader)
        # Final reads: linearizable ones on the leader (the shared keys' are
        # recorded), then every node's own copy (READONLY).
        final = {}
        proc = self.new_proc()
        c = leader.client()
        for k in self.keys + self.log_keys + self.cw_keys:
            if k not in self.acked_appends:
                self.history.invoke(proc, "get", k, None)
            v = c.get(k)
            v = v.decode() if v is not None else ""
            if k not in self.acked_appends:
                self.history.ok(proc, "get", k, v)
            final[k] = v
        # Replicated expiry, then (once every node applied everything again)
        # every node's whole keyspace: the same on every node (the filler keys
        # came to a follower killed during its install through that snapshot).
        expiry_failures, expiry_s = self.check_expiry()
        failures += ["expiry: " + f for f in expiry_failures]
        leader = self.converge() or leader
        keyspace_failures, keyspace = self.check_keyspaces(leader, final)
        failures += keyspace_failures
        failures += self.check_cluster_commands(leader)
        if self.install_not_seen and not self.installs_killed:
            failures.append("no follower was seen installing a snapshot after it fell behind")
        # Every acknowledged append to an append-only key is in its final value.
        missing = 0
        for k, tokens in self.acked_appends.items():
            present = set(t + ";" for t in final[k].split(";") if t)
            missing += sum(1 for t in tokens if t not in present)
        if missing:
            failures.append("%d acknowledged appends missing" % missing)
        appends = sum(len(t) for t in self.acked_appends.values())

        history_path = os.path.join(self.root, "history.edn")
        self.pruned = self.history.prune_unknown()
        self.history.write(history_path)
        t0 = time.time()
        check = self.lincheck(history_path)
        lincheck_s = time.time() - t0
        if check.returncode != 0:
            failures.append("lsmkv-lincheck exit %d: %s %s" %
                            (check.returncode, check.stdout[-2000:], check.stderr[-2000:]))
        # Negative control: the history's first 1,500 operations (from before
        # the first fault, so few are of unknown outcome and the search is
        # short) with one early read answered by a value never written must be
        # judged not linearizable (exit 1), or the check above proves nothing.
        prefix = [l for l in self.history.lines if l is not None][:3000]
        reads = [i for i, l in enumerate(prefix[:1000]) if l[1] == "ok" and l[2] == "get"]
        if reads:
            i = reads[len(reads) // 2]
            p, typ, f, key, _ = prefix[i]
            prefix[i] = (p, typ, f, key, "never-written;")
            bad = History()
            bad.lines = prefix
            bad_path = os.path.join(self.root, "history-forged.edn")
            bad.write(bad_path)
            control = self.lincheck(bad_path)
            if control.returncode != 1:
                failures.append("negative control: a forged history got exit %d, not 1: %s" %
                                (control.returncode, control.stdout[-500:]))
        else:
            failures.append("no read in the history")
        # No leader: -CLUSTERDOWN after about an election timeout, then healed.
        no_leader_failures, clusterdown_s = self.check_no_leader()
        failures += no_leader_failures
        if self.args.membership:
            failures += self.membership(final)
        # A cluster-aware client finds the leader by itself.
        try:
            rc = RedisCluster(host="127.0.0.1", port=self.nodes[-1].port)
            for i in range(50):
                rc.set("rc{%d}" % i, str(i))
            if [rc.get("rc{%d}" % i) for i in range(50)] != [str(i).encode() for i in range(50)]:
                failures.append("RedisCluster read back different values")
            rc.close()
        except Exception as e:  # noqa: BLE001 - any client failure fails the run
            failures.append("RedisCluster: %r" % e)
        # redis-cli -c follows -MOVED from a follower.
        if shutil.which("redis-cli"):
            follower = next((n for n in self.nodes if n is not self.leader()), self.nodes[0])
            base = ["redis-cli", "-c", "-p", str(follower.port)]
            out = subprocess.run(base + ["SET", "cli-key", "cli-value"], capture_output=True,
                                 text=True).stdout.strip()
            got = subprocess.run(base + ["GET", "cli-key"], capture_output=True,
                                 text=True).stdout.strip()
            if out != "OK" or got != "cli-value":
                failures.append("redis-cli -c: SET gave %r, GET gave %r" % (out, got))
        else:
            failures.append("redis-cli is not installed (scripts/bootstrap.sh installs it)")
        failures += ["unexpected reply: " + u for u in self.unexpected[:10]]

        restarts = 0
        for n in self.nodes:
            with open(n.log, errors="replace") as log:
                restarts += log.read().count("restarting to serve it")
        print("cluster_test: %d nodes, %g s, %d workers: %d ops acknowledged, %d unknown, "
              "%d refused (MOVED/CLUSTERDOWN); %d acknowledged appends, all present: %s; "
              "RedisCluster workers: %d ops acknowledged (%d appends), %d unknown, %d refused, "
              "%d clients built, errors without a reply %s; keyspace: %s; expiring keys gone "
              "everywhere in %.1f s; -CLUSTERDOWN with no leader after %s s; "
              "faults: %s; failover ms: %s; snapshot installs (re-exec): %d, killed: %d; "
              "history %d lines (%d calls of unknown outcome pruned), lincheck %s in %.1f s" % (
                  len(self.nodes), self.args.seconds, self.args.workers, self.counts["ok"],
                  self.counts["unknown"], self.counts["refused"], appends, missing == 0,
                  self.cw_counts["ok"], len(self.cw_acked), self.cw_counts["unknown"],
                  self.cw_counts["refused"], self.cw_counts["clients"], self.cw_errors, keyspace,
                  expiry_s, clusterdown_s,
                  ", ".join(self.events), self.failovers_ms, restarts, self.installs_killed,
                  sum(1 for l in self.history.lines if l is not None), self.pruned,
                  "linearizable" if check.returncode == 0 else "FAILED", lincheck_s))
        if self.counts["ok"] < 100:
            failures.append("only %d operations acknowledged" % self.counts["ok"])
        if self.args.cluster_workers and len(self.cw_acked) < 20 * self.args.cluster_workers:
            failures.append("only %d appends acknowledged to the cluster workers" %
                            len(self.cw_acked))
        return failures

    def slots_nodes(self, node):
        try:
            slots = node.client().execute_command("CLUSTER", "SLOTS")
            return len(slots[0]) - 2 if slots else 0
        except (redis.RedisError, OSError):
            return -1

    def membership(self, final):
        """Adds a node with --raft-join (asking the first node, which may have to
        redirect to the leader), checks it catches up to the same data, removes it."""
        failures = []
        nid = len(self.nodes) + 1
        new = Node(self.args, nid, self.spare_ports[0], self.spare_ports[1], None, self.root,
                   join="127.0.0.1:%d" % self.nodes[0].port)
        self.extra = new
        t0 = time.time()
        new.start()
        leader = self.leader()
        deadline = time.time() + 60
        joined = False
        while time.time() < deadline and leader is not None:
            if self.slots_nodes(leader) == len(self.nodes) + 1:
                info = leader.info() or {}
                mine = new.info() or {}
                if mine.get("raft_last_applied", 0) >= info.get("raft_commit_index", 1 << 62):
                    joined = True
                    break
            time.sleep(0.1)
            leader = self.leader() or leader
        if not joined:
            return ["node %d did not join within 60 s" % nid]
        join_ms = int((time.time() - t0) * 1000)
        rc = new.client()
        rc.execute_command("READONLY")
        for k, v in final.items():
            got = rc.get(k)
            got = got.decode() if got is not None else ""
            if got != v:
                failures.append("joined node %d holds %r for %s" % (nid, got[-40:], k))
        try:
            leader.client().execute_command("CLUSTER", "REMOVE-NODE", str(nid))
        except (redis.RedisError, OSError) as e:
            failures.append("CLUSTER REMOVE-NODE %d: %s" % (nid, e))
        deadline = time.time() + 20
        while time.time() < deadline and self.slots_nodes(leader) != len(self.nodes):
            time.sleep(0.1)
        if self.slots_nodes(leader) != len(self.nodes):
            failures.append("node %d still listed after CLUSTER REMOVE-NODE" % nid)
        # Told by the leader (CLUSTER REMOVED), the removed node shuts down.
        try:
            new.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            failures.append("node %d still running 20 s after its removal" % nid)
        new.kill9()
        self.events.append("node %d joined (%d ms to catch up) and was removed" % (nid, join_ms))
        return failures

    def shutdown(self):
        for p in self.proxies:
            p.close()
        if getattr(self, "extra", None) is not None:
            self.extra.kill9()
        for n in self.nodes:
            n.kill9()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", required=True)
    p.add_argument("--lincheck", required=True)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--seconds", type=float, default=40)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--cluster-workers", type=int, default=1,
                   help="workers on redis-py's RedisCluster (keys of their own)")
    p.add_argument("--keys", type=int, default=6)
    p.add_argument("--seed", type=int, default=int(time.time()))
    p.add_argument("--snapshot-threshold", type=int, default=8192)
    p.add_argument("--snapshot-trailing", type=int, default=4096)
    p.add_argument("--no-membership", dest="membership", action="store_false",
                   help="skip adding a node with --raft-join and removing it")
    p.add_argument("--keep", help="a directory to keep the nodes' data, logs and history in")
    args = p.parse_args()
    # redis-py's RedisCluster logs every -MOVED and connection error it
    # handles, with a traceback: the cluster workers meet thousands.
    logging.getLogger("redis.cluster").setLevel(logging.CRITICAL)
    print("cluster_test: seed %d" % args.seed)
    run = Run(args)
    try:
        failures = run.run()
    finally:
        run.shutdown()
    if failures:
        print("cluster_test: FAILED (data and logs in %s):" % run.root)
        for f in failures:
            print("  " + f)
        return 1
    if not args.keep:
        shutil.rmtree(run.root, ignore_errors=True)
    print("cluster_test: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
