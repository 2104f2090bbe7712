#!/usr/bin/env python3
"""Python benchmark: the same put / get / scan workloads through lsmkv,
plyvel (python3-plyvel, LevelDB) and lmdb (python3-lmdb) in one run.

    /usr/bin/python3 bindings/python/bench.py [--module-dir DIR] [--n N] [--runs R]

Each run does, per engine in turn (the order rotates between runs, so no
engine always goes first): fill N keys in random order (16-byte keys,
100-byte values, one put per call, no sync), read N random keys (get), and a
full forward scan. Prints each workload's median rate over the runs and the
ratio lsmkv / peer. Compression off everywhere (lmdb has none); bloom
filters of 10 bits on lsmkv and LevelDB.
"""
import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--module-dir", help="directory holding the built lsmkv module")
    p.add_argument("--n", type=int, default=200000)
    p.add_argument("--runs", type=int, default=5)
    return p.parse_args()


class Engine:
    def __init__(self, name, open_fn):
        self.name = name
        self.open_fn = open_fn


def plyvel_api_engine(module):
    """lsmkv and plyvel share plyvel's API: the same calls, the same options."""
    class E:
        def __init__(self, path):
            self.db = module.DB(path, create_if_missing=True, compression=None,
                                bloom_filter_bits=10)
            self.put, self.get = self.db.put, self.db.get

        def scan(self):
            return sum(1 for _ in self.db.iterator())

        def close(self):
            self.db.close()
    return E


def lmdb_engine(lmdb):
    class E:
        def __init__(self, path):
            self.env = lmdb.open(path, map_size=8 << 30, sync=False, metasync=False,
                                 writemap=False)

        def put(self, k, v):
            with self.env.begin(write=True) as t:
                t.put(k, v)

        def get(self, k):
            with self.env.begin() as t:
                return t.get(k)

        def scan(self):
            with self.env.begin() as t:
                return sum(1 for _ in t.cursor())

        def close(self):
            self.env.close()
    return E


def run_one(cls, n, keys, order, value):
    d = tempfile.mkdtemp(prefix="lsmkv-pybench-")
    try:
        e = cls(d)
        put = e.put
        t0 = time.perf_counter()
        for i in order:
            put(keys[i], value)
        t1 = time.perf_counter()
        get = e.get
        found = 0
        for i in order:
            if get(keys[i]) is not None:
                found += 1
        t2 = time.perf_counter()
        count = e.scan()
        t3 = time.perf_counter()
        e.close()
        assert found == n and count == n, (found, count)
        return {"put": n / (t1 - t0), "get": n / (t2 - t1), "scan": n / (t3 - t2)}
    finally:
        shutil.rmtree(d)


def main():
    a = parse()
    if a.module_dir:
        sys.path.insert(0, a.module_dir)
    import lmdb
    import plyvel

    import lsmkv
    engines = [("lsmkv", plyvel_api_engine(lsmkv)), ("plyvel", plyvel_api_engine(plyvel)),
               ("lmdb", lmdb_engine(lmdb))]
    rnd = random.Random(42)
    keys = [b"%016d" % i for i in range(a.n)]
    order = list(range(a.n))
    rnd.shuffle(order)
    value = bytes(rnd.getrandbits(8) for _ in range(100))
    results = {name: {"put": [], "get": [], "scan": []} for name, _ in engines}
    for r in range(a.runs):
        rotated = engines[r % len(engines):] + engines[:r % len(engines)]
        for name, cls in rotated:
            for w, rate in run_one(cls, a.n, keys, order, value).items():
                results[name][w].append(rate)
    print(f"lsmkv {lsmkv.__version__} ({lsmkv.__file__}), plyvel {plyvel.__version__} "
          f"(LevelDB {plyvel.__leveldb_version__}), lmdb {lmdb.__version__}; Python "
          f"{sys.version.split()[0]} ({sys.executable}); n={a.n}, {a.runs} runs, medians, ops/s")
    print(f"{'workload':<8} {'lsmkv':>12} {'plyvel':>12} {'lmdb':>12} {'lsmkv/plyvel':>13} "
          f"{'lsmkv/lmdb':>11}")
    for w in ("put", "get", "scan"):
        med = {name: statistics.median(results[name][w]) for name, _ in engines}
        print(f"{w:<8} {med['lsmkv']:>12,.0f} {med['plyvel']:>12,.0f} {med['lmdb']:>12,.0f} "
              f"{med['lsmkv'] / med['plyvel']:>13.2f} {med['lsmkv'] / med['lmdb']:>11.2f}")


if __name__ == "__main__":
    main()
