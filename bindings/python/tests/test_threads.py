# Sharing objects between threads, and the GIL released in engine calls.
import threading
import time

import lsmkv


def test_threads_share_db_iterators_and_store(tmp_path):
    db = lsmkv.DB(str(tmp_path / "db"), create_if_missing=True, write_buffer_size=256 * 1024)
    store = lsmkv.LSMKVStore(str(tmp_path / "store"))
    errors = []
    shared_it = db.iterator()

    def writer(n):
        try:
            for i in range(2000):
                db.put(b"t%d-%05d" % (n, i), b"v" * 64)
                store.put(f"t{n}-{i}", "v")
                if i % 500 == 0:
                    with db.transaction() as t:
                        t.put(b"txn-%d-%d" % (n, i), b"x")
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    def reader():
        try:
            for _ in range(20):
                list(db.iterator(prefix=b"t1-", include_value=False))
                for _ in range(50):
                    try:
                        next(shared_it)
                    except StopIteration:
                        break
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for n in range(4):
        assert len(list(db.iterator(prefix=b"t%d-" % n))) == 2000
        assert store.get(f"t{n}-1999") == "v"
    db.close()
    store.close()


def test_close_while_threads_iterate(tmp_path):
    db = lsmkv.DB(str(tmp_path), create_if_missing=True)
    for i in range(5000):
        db.put(b"%05d" % i, b"x" * 10)
    outcomes = []

    def scan():
        try:
            while True:
                for _ in db.iterator():
                    pass
        except RuntimeError:
            outcomes.append("closed")

    threads = [threading.Thread(target=scan) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    db.close()
    for t in threads:
        t.join(timeout=30)
    assert outcomes == ["closed"] * 3


def test_gil_released_during_compaction(tmp_path):
    db = lsmkv.DB(str(tmp_path), create_if_missing=True, compression=None)
    with db.write_batch() as wb:
        for i in range(200000):
            wb.put(b"%08d" % i, b"v" * 100)
    done = threading.Event()
    ticks = [0]

    def compact():
        db.compact_range()
        done.set()

    t = threading.Thread(target=compact)
    start = time.monotonic()
    t.start()
    while not done.is_set():
        ticks[0] += 1  # runs only if compact_range released the GIL
        time.sleep(0)
    t.join()
    elapsed = time.monotonic() - start
    assert elapsed > 0
    assert ticks[0] > 10, f"main thread ran {ticks[0]} times in {elapsed:.3f}s of compaction"
    db.close()
