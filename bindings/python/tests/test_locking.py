# Lock order against the GIL, a Python comparator calling back into the
# database, and closing racing other calls. A test that would hang on a
# deadlock runs its body in a child interpreter with a timeout.
import os
import subprocess
import sys
import textwrap
import threading

import pytest

import lsmkv

# Imports and a comparator that, once armed, stops in the thread named "A"
# until the event `go` is set (the engine call of thread A then holds its
# locks, with the GIL taken back by the comparator).
PRELUDE = """
import sys, tempfile, threading
import lsmkv
armed = [False]
hook = [None]  # called by the comparator in thread "A"
entered = threading.Event()
go = threading.Event()
def cmp(a, b):
    if hook[0] is not None and threading.current_thread().name == "A":
        hook[0]()
    if armed[0] and threading.current_thread().name == "A":
        armed[0] = False
        entered.set()
        go.wait()
    return (a > b) - (a < b)
db = lsmkv.DB(tempfile.mkdtemp(), create_if_missing=True, comparator=cmp, comparator_name="c")
for i in range(10):
    db.put(b"%02d" % i, b"v")
"""


def run_child(body, timeout=30):
    code = PRELUDE + textwrap.dedent(body)
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=timeout, env=dict(os.environ))
    except subprocess.TimeoutExpired:
        pytest.fail("deadlock: the child interpreter did not finish")
    assert r.returncode == 0, r.stderr
    return r.stdout


# Thread B starts while thread A's engine call waits in the comparator; B
# then keeps the GIL until it blocks (huge switch interval). If B waited for
# A's mutex with the GIL held, A could never return from the comparator.
def test_next_waits_for_iterator_without_holding_gil():
    out = run_child("""
        sys.setswitchinterval(1000)
        it = db.iterator()
        armed[0] = True
        a = threading.Thread(target=lambda: it.seek(b"05"), name="A")
        a.start()
        entered.wait()
        res = []
        def b():
            go.set()
            res.append(next(it))
        t = threading.Thread(target=b)
        t.start()
        a.join()
        t.join()
        print(res)
    """)
    assert out.strip() == "[(b'05', b'v')]"


def test_write_batch_put_waits_without_holding_gil():
    out = run_child("""
        sys.setswitchinterval(1000)
        wb = db.write_batch()
        wb.put(b"k1", b"x")
        armed[0] = True
        a = threading.Thread(target=wb.write, name="A")
        a.start()
        entered.wait()
        def b():
            go.set()
            wb.put(b"k2", b"y")
            wb.approximate_size()
            wb.delete(b"k3")
        t = threading.Thread(target=b)
        t.start()
        a.join()
        t.join()
        wb.write()
        print(db.get(b"k1"), db.get(b"k2"))
    """)
    assert out.strip() == "b'x' b'y'"


# A comparator calling into its database: every call raises RuntimeError
# (before: put, close and next on a busy iterator hung for ever).
def test_comparator_calling_into_the_database_raises():
    out = run_child("""
        it = db.iterator()
        calls = [
            ("get", lambda: db.get(b"01")),
            ("put", lambda: db.put(b"zz", b"1")),
            ("close", db.close),
            ("next", lambda: next(it)),
            ("iterator", lambda: db.iterator()),
            ("snapshot", db.snapshot),
            ("closed", lambda: db.closed),
        ]
        errors = []
        def reentrant():
            if calls:
                name, fn = calls.pop()
                try:
                    fn()
                    errors.append(name + ": no error")
                except RuntimeError as e:
                    errors.append(name + ": " + str(e))
        def run():
            while calls:
                it.seek(b"03")
        hook[0] = reentrant
        a = threading.Thread(target=run, name="A")
        a.start()
        a.join()
        hook[0] = None
        print(len(errors))
        for e in errors:
            print(e)
        print(next(it), db.get(b"01"))
        db.close()
    """)
    lines = out.strip().splitlines()
    assert lines[0] == "7"
    for line in lines[1:8]:
        assert "comparator" in line, line
    assert lines[8] == "(b'03', b'v') b'v'"


# The cyclic garbage collector is paused while a Python comparator runs: a
# collection there would run destructors of unreachable lsmkv objects, which
# take the database's locks, inside an engine call that may hold them (or
# while close() holds them and waits for this comparator's thread). It
# resumes afterwards, and stays off if the program had turned it off.
def test_garbage_collection_pauses_inside_the_comparator(tmp_path):
    import gc
    seen = []

    def cmp(a, b):
        seen.append(gc.isenabled())
        return (a > b) - (a < b)

    was = gc.isenabled()
    try:
        gc.enable()
        db = lsmkv.DB(str(tmp_path / "db"), create_if_missing=True, comparator=cmp,
                      comparator_name=b"py")
        for i in range(50):
            db.put(b"k%03d" % (i * 37 % 50), b"v")
        assert db.get(b"k007") == b"v"
        assert seen and not any(seen)
        assert gc.isenabled()
        gc.disable()
        seen.clear()
        assert db.get(b"k011") == b"v"
        assert seen and not any(seen)
        assert not gc.isenabled()
        db.close()
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()
