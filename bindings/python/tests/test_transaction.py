# Transactions from Python: commit, rollback, conflicts.
import threading

import pytest

import lsmkv


def test_commit_and_rollback(db):
    with db.transaction(isolation="serializable") as t:
        t.put(b"a", b"1")
        assert t.get(b"a") == b"1"
        assert db.get(b"a") is None  # not visible before commit
    assert db.get(b"a") == b"1"

    with pytest.raises(ValueError):
        with db.transaction() as t:
            t.put(b"b", b"2")
            t.delete(b"a")
            raise ValueError
    assert db.get(b"b") is None and db.get(b"a") == b"1"

    t = db.transaction()
    t.put(b"c", b"3")
    t.rollback()
    assert db.get(b"c") is None
    with pytest.raises(lsmkv.TransactionError):
        t.put(b"c", b"3")


def test_iterator_sees_own_writes(db):
    db.put(b"k1", b"old")
    with db.transaction() as t:
        t.put(b"k2", b"new")
        assert list(t.iterator()) == [(b"k1", b"old"), (b"k2", b"new")]
        it = t.iterator(include_value=False)
    with pytest.raises(RuntimeError):
        next(it)  # finished with its transaction


def test_conflict_raises(db):
    db.put(b"x", b"0")
    t = db.transaction(isolation="serializable")
    assert t.get(b"x") == b"0"
    t.put(b"y", b"1")
    db.put(b"x", b"changed")  # another writer
    with pytest.raises(lsmkv.TransactionConflictError):
        t.commit()
    assert db.get(b"y") is None


def test_snapshot_isolation_lost_update(db):
    db.put(b"n", b"0")
    t1 = db.transaction()
    t2 = db.transaction()
    t1.put(b"n", t1.get(b"n", for_update=True) + b"1")
    t2.put(b"n", t2.get(b"n", for_update=True) + b"2")
    t1.commit()
    with pytest.raises(lsmkv.TransactionConflictError):
        t2.commit()
    assert db.get(b"n") == b"01"


def test_bad_isolation(db):
    with pytest.raises(ValueError):
        db.transaction(isolation="read-committed")


def test_close_db_with_open_transaction(tmp_path):
    db = lsmkv.DB(str(tmp_path), create_if_missing=True)
    t = db.transaction()
    t.put(b"a", b"1")
    db.close()
    with pytest.raises(RuntimeError):
        t.commit()


# The engine's Transaction is for one thread at a time: a step of the
# transaction's iterator (here stopped in the comparator) must exclude the
# transaction's writes from other threads.
def test_transaction_iterator_step_excludes_transaction_writes(tmp_path):
    state = {"armed": False, "put_done_early": None}

    def cmp(a, b):
        if state["armed"] and threading.current_thread().name == "A":
            state["armed"] = False
            writer = threading.Thread(target=t.put, args=(b"k5", b"w"))
            writer.start()
            writer.join(timeout=0.2)
            state["put_done_early"] = not writer.is_alive()
            state["writer"] = writer
        return (a > b) - (a < b)

    db = lsmkv.DB(str(tmp_path), create_if_missing=True, comparator=cmp, comparator_name="c")
    for i in range(8):
        db.put(b"k%d" % i, b"v")
    t = db.transaction()
    t.put(b"k3", b"own")
    it = t.iterator()
    state["armed"] = True
    a = threading.Thread(target=lambda: it.seek(b"k2"), name="A")
    a.start()
    a.join()
    state["writer"].join()
    assert state["put_done_early"] is False
    assert t.get(b"k5") == b"w"
    t.rollback()
    db.close()
