# lsmkv.DB beyond plyvel's own suite: properties, closing, membership,
# comparators with background work, prefixed DBs, snapshots, repair.
import os
import time

import pytest

import lsmkv


def test_exception_hierarchy():
    assert issubclass(lsmkv.IOError, lsmkv.Error)
    assert issubclass(lsmkv.IOError, IOError)
    assert issubclass(lsmkv.CorruptionError, lsmkv.Error)
    assert issubclass(lsmkv.TransactionConflictError, lsmkv.TransactionError)
    assert issubclass(lsmkv.TransactionError, lsmkv.Error)


def test_contains_and_context_manager(tmp_path):
    with lsmkv.DB(str(tmp_path), create_if_missing=True) as db:
        db.put(b"a", b"1")
        assert b"a" in db
        assert b"b" not in db
        assert not db.closed
    assert db.closed
    with pytest.raises(RuntimeError):
        b"a" in db


def test_properties(db):
    for i in range(2000):
        db.put(b"k%05d" % i, b"v" * 100)
    db.compact_range()
    stats = db.get_property(b"lsmkv.stats")
    assert isinstance(stats, bytes) and stats
    files = [int(db.get_property(b"lsmkv.num-files-at-level%d" % n)) for n in range(7)]
    assert sum(files) >= 1
    assert db.get_property(b"lsmkv.num-files-at-level99") is None
    assert db.get_property(b"lsmkv.num-files-at-levelx") is None
    sst = db.get_property(b"lsmkv.sstables")
    assert b"--- level 0 ---" in sst and b"live table files:" in sst
    assert int(db.get_property(b"lsmkv.approximate-memory-usage")) >= 0
    assert db.get_property("lsmkv.levels").startswith(b"level")
    assert db.get_property(b"leveldb.stats") is None
    assert db.approximate_size(b"k", b"l") > 0
    assert db.approximate_sizes((b"k", b"l"), (b"x", b"y"))[1] == 0


def test_get_put_delete_types(db):
    db.put(b"k", bytearray(b"v"), sync=True)
    assert db.get(b"k") == b"v"
    assert db.get(b"missing", b"d") == b"d"
    with pytest.raises(TypeError):
        db.put("str-key", b"v")
    with pytest.raises(TypeError):
        db.get(b"k", None, True)
    db.delete(b"k", sync=True)
    assert db.get(b"k") is None


def test_closed_db_raises_everywhere(tmp_path):
    db = lsmkv.DB(str(tmp_path), create_if_missing=True)
    db.put(b"a", b"1")
    it = db.iterator()
    raw = db.raw_iterator()
    sn = db.snapshot()
    wb = db.write_batch()
    pdb = db.prefixed_db(b"a")
    db.close()
    db.close()  # idempotent
    for call in (lambda: next(it), lambda: raw.seek_to_first(), lambda: sn.get(b"a"),
                 lambda: wb.put(b"x", b"y"), lambda: pdb.get(b""), lambda: db.iterator(),
                 lambda: db.get_property(b"lsmkv.stats"), lambda: db.compact_range(),
                 lambda: db.approximate_size(b"a", b"b"), lambda: db.transaction()):
        with pytest.raises(RuntimeError):
            call()


def test_iterator_keeps_db_alive(tmp_path):
    def make():
        db = lsmkv.DB(str(tmp_path), create_if_missing=True)
        db.put(b"a", b"1")
        db.put(b"b", b"2")
        return db.iterator(include_value=False)

    it = make()  # the DB object is only referenced by the iterator now
    assert list(it) == [b"a", b"b"]


def test_close_db_while_iterator_open(tmp_path):
    db = lsmkv.DB(str(tmp_path), create_if_missing=True)
    for i in range(100):
        db.put(b"%03d" % i, b"x")
    it = db.iterator()
    assert next(it)[0] == b"000"
    sn_it = db.snapshot().iterator()
    db.close()
    with pytest.raises(RuntimeError):
        next(it)
    with pytest.raises(RuntimeError):
        it.prev()
    with pytest.raises(RuntimeError):
        next(sn_it)
    it.close()
    # Reopening works: nothing kept the lock.
    db2 = lsmkv.DB(str(tmp_path))
    assert db2.get(b"050") == b"x"
    db2.close()


def test_comparator_with_flush_and_compaction(tmp_path):
    def reverse_cmp(a, b):
        return (a < b) - (a > b)

    path = str(tmp_path)
    db = lsmkv.DB(path, create_if_missing=True, comparator=reverse_cmp,
                  comparator_name=b"test.Reverse", write_buffer_size=64 * 1024)
    for i in range(3000):
        db.put(b"%05d" % i, b"v" * 50)
    db.compact_range()
    keys = list(db.iterator(include_value=False))
    assert keys == sorted(keys, reverse=True) and len(keys) == 3000
    assert list(db.iterator(start=b"00010", stop=b"00005", include_value=False)) == \
        [b"%05d" % i for i in range(10, 5, -1)]
    db.close()
    with pytest.raises(lsmkv.Error):
        lsmkv.DB(path)  # the bytewise comparator does not match
    lsmkv.repair_db(path, comparator=reverse_cmp, comparator_name=b"test.Reverse")
    db = lsmkv.DB(path, comparator=reverse_cmp, comparator_name=b"test.Reverse")
    assert db.get(b"01234") == b"v" * 50
    db.close()


def test_prefixed_db_and_snapshot(db):
    a = db.prefixed_db(b"a:")
    a.put(b"1", b"x")
    a.put(b"2", b"y")
    db.put(b"b:1", b"z")
    assert a.prefix == b"a:" and a.db is db
    assert b"1" in a and b"3" not in a
    sn = a.snapshot()
    a.delete(b"1")
    assert sn.get(b"1") == b"x"
    assert list(sn.iterator(include_value=False)) == [b"1", b"2"]
    assert list(a.iterator(reverse=True)) == [(b"2", b"y")]
    with a.write_batch(transaction=True) as wb:
        wb.put(b"3", b"w")
    assert db.get(b"a:3") == b"w"
    sn.release()
    with pytest.raises(RuntimeError):
        sn.get(b"1")


def test_write_batch_extras(db):
    wb = db.write_batch()
    wb.put(b"a", b"1")
    assert wb.approximate_size() > 0
    wb.write()
    assert db.get(b"a") == b"1"


def test_compression_options(tmp_path):
    for c in (None, "snappy", "lz4", "zstd"):
        d = lsmkv.DB(str(tmp_path / str(c)), create_if_missing=True, compression=c)
        d.put(b"k", b"v" * 1000)
        d.compact_range()
        assert d.get(b"k") == b"v" * 1000
        d.close()
    with pytest.raises(ValueError):
        lsmkv.DB(str(tmp_path / "bad"), create_if_missing=True, compression="gzip")
    with pytest.raises(ValueError):
        lsmkv.DB(str(tmp_path / "bad"), create_if_missing=True, wal_recovery_mode="nope")


def test_engine_option(tmp_path):
    path = str(tmp_path / "lsm")
    db = lsmkv.DB(path, create_if_missing=True, engine="lsm")
    db.put(b"k", b"v")
    db.close()
    with pytest.raises(lsmkv.Error, match="holds a database of engine lsm but Options::engine is btree"):
        lsmkv.DB(path, engine="btree")
    with pytest.raises(lsmkv.Error, match="engine lsm"):
        lsmkv.DB(path, engine="bitcask")
    with lsmkv.DB(path) as db:
        assert db.get(b"k") == b"v"
    with pytest.raises(ValueError, match="engine must be 'lsm', 'btree' or 'bitcask'"):
        lsmkv.DB(str(tmp_path / "bad"), create_if_missing=True, engine="lmdb")
    assert not os.path.exists(str(tmp_path / "bad"))
    # A new database of each other engine: it works, or the engine is not in
    # this build yet and says so.
    for engine in ("btree", "bitcask"):
        try:
            db = lsmkv.DB(str(tmp_path / engine), create_if_missing=True, engine=engine)
        except lsmkv.Error as e:
            assert "not implemented yet" in str(e)
            continue
        db.put(b"k", engine.encode())
        assert db.get(b"k") == engine.encode()
        db.close()
        with pytest.raises(lsmkv.Error, match="engine " + engine):
            lsmkv.DB(str(tmp_path / engine))


def test_destroy_db(tmp_path):
    path = str(tmp_path / "x")
    db = lsmkv.DB(path, create_if_missing=True)
    db.put(b"a", b"b")
    with pytest.raises(lsmkv.Error):
        lsmkv.destroy_db(path)  # open
    db.close()
    lsmkv.destroy_db(path)
    assert not os.path.exists(path)


def test_open_errors(tmp_path):
    with pytest.raises(lsmkv.Error):
        lsmkv.DB(str(tmp_path / "missing"))
    db = lsmkv.DB(str(tmp_path / "x"), create_if_missing=True)
    with pytest.raises(lsmkv.IOError):
        lsmkv.DB(str(tmp_path / "x"))  # locked by the open DB
    db.close()
    with pytest.raises(TypeError):
        lsmkv.DB(str(tmp_path / "y"), create_if_missing=True, block_size="big")
    with pytest.raises(ValueError):
        lsmkv.DB(str(tmp_path / "y"), comparator=lambda a, b: 0)  # no comparator_name


def test_raw_iterator_item(db):
    db.put(b"a", b"1")
    with db.raw_iterator() as it:
        it.seek_to_first()
        assert it.item() == (b"a", b"1")
        it.next()
        with pytest.raises(lsmkv.IteratorInvalidError):
            it.next()


def _model_walk(db, keys, seed):
    """Random next/prev/seek steps on a DB iterator (which reads ahead) and
    on a plain list of the same keys; both must agree at every step."""
    import random

    rnd = random.Random(seed)
    it = db.iterator()
    pos = 0  # index of the entry the next next() returns; len(keys) = end
    for step in range(3000):
        op = rnd.randrange(10)
        if op < 6:
            if pos < len(keys):
                assert next(it) == (keys[pos], b"v" + keys[pos]), step
                pos += 1
            else:
                with pytest.raises(StopIteration):
                    next(it)
        elif op < 8:
            if pos > 0:
                assert it.prev() == (keys[pos - 1], b"v" + keys[pos - 1]), step
                pos -= 1
            else:
                with pytest.raises(StopIteration):
                    it.prev()
        elif op == 8:
            target = b"k%05d" % rnd.randrange(len(keys) + 10)
            it.seek(target)
            pos = sum(1 for k in keys if k < target)
        else:
            it.seek_to_start()
            pos = 0


def test_read_ahead_agrees_with_a_model_across_next_prev_and_seek(db):
    keys = [b"k%05d" % i for i in range(0, 1000, 2)]
    for k in keys:
        db.put(k, b"v" + k)
    for seed in range(5):
        _model_walk(db, keys, seed)


def test_read_ahead_sees_its_snapshot_not_later_writes(db):
    for i in range(300):
        db.put(b"a%04d" % i, b"old")
    it = db.iterator()
    first = next(it)  # reads ahead
    for i in range(300):
        db.put(b"a%04d" % i, b"new")
    rest = list(it)
    assert first == (b"a0000", b"old")
    assert len(rest) == 299 and all(v == b"old" for _, v in rest)


def test_read_ahead_serves_a_scan_in_batches_to_the_end(db):
    # Each engine round trip releases the GIL and takes the DB's locks; the
    # read-ahead must keep batching after its first batch, for every
    # direction and projection, and still return every entry in order.
    keys = [b"k%05d" % i for i in range(2000)]
    for k in keys:
        db.put(k, b"v" + k)
    cases = [({}, [(k, b"v" + k) for k in keys]),
             ({"reverse": True}, [(k, b"v" + k) for k in reversed(keys)]),
             ({"include_value": False}, keys),
             ({"include_key": False}, [b"v" + k for k in keys])]
    for kwargs, want in cases:
        it = db.iterator(**kwargs)
        assert list(it) == want, kwargs
        # 2000 entries in batches of 64: 32 round trips, plus the one that
        # finds the end.
        assert it._engine_steps <= 2000 // 64 + 2, (kwargs, it._engine_steps)
    snap = db.snapshot()
    it = snap.iterator()
    assert sum(1 for _ in it) == 2000
    assert it._engine_steps <= 2000 // 64 + 2


def test_close_with_read_ahead_pending_raises(tmp_path):
    d = lsmkv.DB(str(tmp_path / "db"), create_if_missing=True)
    for i in range(200):
        d.put(b"k%04d" % i, b"v")
    it = d.iterator()
    next(it)  # the next entries are now read ahead
    d.close()
    with pytest.raises(RuntimeError):
        next(it)


def test_write_batch_append_copies_operations_in_order(db):
    wb = db.write_batch()
    wb.put(b"a", b"1")
    other = db.write_batch()
    other.put(b"b", b"2")
    other.delete(b"a")
    wb.append(other)
    wb.append(wb)  # itself: its operations once more
    wb.write()
    assert db.get(b"a") is None and db.get(b"b") == b"2"
    p = db.prefixed_db(b"p-")
    pwb = p.write_batch()
    pwb.put(b"x", b"3")
    wb2 = db.write_batch()
    wb2.append(pwb)  # keys keep the prefix they were stored with
    wb2.write()
    assert db.get(b"p-x") == b"3"


def test_get_and_put_take_their_arguments_as_plyvel_does(db):
    # DB.get and DB.put use CPython's fast calling convention (not pybind11's
    # dispatcher): the same arguments, defaults and errors.
    db.put(b"a", b"1")
    db.put(key=b"b", value=b"2")
    db.put(b"c", value=b"3", sync=True)
    db.put(b"d", b"4", sync=0)
    db.put(bytearray(b"e"), memoryview(b"5"))
    assert db.get(b"a") == b"1"
    assert db.get(key=b"b") == b"2"
    assert db.get(b"c", verify_checksums=True, fill_cache=False) == b"3"
    assert db.get(b"e") == b"5"
    assert db.get(b"zz") is None
    assert db.get(b"zz", b"dflt") == b"dflt"
    assert db.get(b"zz", default=7) == 7
    assert db.get(key=b"zz", default=None) is None
    with pytest.raises(TypeError):
        db.get()
    with pytest.raises(TypeError):
        db.get(b"a", None, True)  # verify_checksums is keyword-only
    with pytest.raises(TypeError):
        db.get(b"a", key=b"a")
    with pytest.raises(TypeError):
        db.get(b"a", colour=1)
    with pytest.raises(TypeError):
        db.get("a")  # str is not bytes
    with pytest.raises(TypeError):
        db.put(b"k")
    with pytest.raises(TypeError):
        db.put(value=b"v")
    with pytest.raises(TypeError):
        db.put(b"k", b"v", True)  # sync is keyword-only
    with pytest.raises(TypeError):
        db.put(b"k", "v")
    with pytest.raises(TypeError):
        db.put(b"k", b"v", syncc=True)
    assert "key" in lsmkv.DB.get.__doc__ and "sync" in lsmkv.DB.put.__doc__
    db.close()
    with pytest.raises(RuntimeError):
        db.get(b"a")
    with pytest.raises(RuntimeError):
        db.put(b"a", b"1")


def test_delete_range(db):
    for i in range(100):
        db.put(b"k%03d" % i, b"v")
    snap = db.snapshot()
    db.delete_range(b"k010", b"k090", sync=True)
    assert db.get(b"k009") == b"v"
    assert db.get(b"k010") is None
    assert db.get(b"k089") is None
    assert db.get(b"k090") == b"v"  # stop is exclusive
    assert len(list(db.iterator(include_value=False))) == 20
    assert snap.get(b"k050") == b"v"  # a snapshot taken before still sees them
    snap.close()
    with pytest.raises(lsmkv.Error):
        db.delete_range(b"k5", b"k1")
    with pytest.raises(TypeError):
        db.delete_range("k0", b"k1")
    # In a batch: writes before it are deleted, writes after it are not.
    with db.write_batch() as wb:
        wb.put(b"k050", b"before")
        wb.delete_range(b"k040", b"k060")
        wb.put(b"k055", b"after")
    assert db.get(b"k050") is None
    assert db.get(b"k055") == b"after"
    # A prefixed DB deletes within its prefix only.
    p = db.prefixed_db(b"p/")
    p.put(b"a", b"1")
    p.put(b"b", b"2")
    db.put(b"pa", b"outside")
    p.delete_range(b"a", b"b")
    assert p.get(b"a") is None and p.get(b"b") == b"2"
    assert db.get(b"pa") == b"outside"
    db.compact_range()
    assert db.get(b"k050") is None and db.get(b"k055") == b"after"


def _table_files(db):
    return sum(int(db.get_property(b"lsmkv.num-files-at-level%d" % level)) for level in range(7))


def test_default_write_buffer_is_leveldbs(tmp_path):
    # Without write_buffer_size the module takes LevelDB's 4 MiB (plyvel's
    # default), not the engine's 64 MiB: 6 MiB of writes fill a memtable,
    # which is flushed into a table; with 64 MiB given, none is.
    value = b"x" * 1000
    small = lsmkv.DB(str(tmp_path / "default"), create_if_missing=True, compression=None)
    large = lsmkv.DB(str(tmp_path / "large"), create_if_missing=True, compression=None,
                     write_buffer_size=64 << 20)
    for i in range(6000):
        small.put(b"%08d" % i, value)
        large.put(b"%08d" % i, value)
    deadline = time.monotonic() + 60
    while _table_files(small) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # the flush runs in the background: poll for its table
    assert _table_files(small) > 0
    assert _table_files(large) == 0
    small.close()
    large.close()
