# lsmkv.LSMKVStore: the original Python store's API; every input that lost
# data there round-trips across close and reopen here.
import pytest

import lsmkv

NASTY = [
    ("a|b", "c|d|e"),
    ("line\nbreak", "value\nwith\nnewlines\n"),
    ("", "empty key"),
    ("empty value", ""),
    ("ключ", "значение ✓ 🚀"),
    ("tab\tand\r\nCRLF", "nul\x00inside"),
    ("{\"json\": 1}", "[1, 2, 3]"),
]


def test_round_trip_across_reopen(tmp_path):
    store = lsmkv.LSMKVStore(data_dir=str(tmp_path / "d"))
    for k, v in NASTY:
        assert store.put(k, v) is True
    store.put(b"\xff\xfe", b"\x00\x01")
    store.close()
    store = lsmkv.LSMKVStore(data_dir=str(tmp_path / "d"))
    for k, v in NASTY:
        assert store.get(k) == v
    assert store.get(b"\xff\xfe") == b"\x00\x01"
    assert store.get("a|b".encode()) == b"c|d|e"
    # After a flush (table files) and another reopen as well.
    store.flush()
    store.close()
    with lsmkv.LSMKVStore(data_dir=str(tmp_path / "d")) as store:
        for k, v in NASTY:
            assert store.get(k) == v


def test_delete_stats_levels(tmp_path):
    with lsmkv.LSMKVStore(str(tmp_path)) as store:
        for i in range(500):
            store.put(f"key{i}", f"value{i}")
        assert store.delete("key7") is True
        assert store.get("key7") is None
        assert store.get("never") is None
        s = store.stats()
        assert s["memtable_entries"] >= 500 and s["sstable_count"] == 0
        store.flush()
        s = store.stats()
        assert s["sstable_count"] >= 1 and s["sstable_bytes"] > 0
        info = store.get_level_info()
        assert sum(v["file_count"] for v in info.values()) == s["sstable_count"]
        assert set(info[0]) == {"file_count", "size_bytes"}
    with pytest.raises(RuntimeError):
        store.get("key1")


def test_type_errors(tmp_path):
    with lsmkv.LSMKVStore(str(tmp_path)) as store:
        with pytest.raises(TypeError):
            store.put(None, "v")
        with pytest.raises(TypeError):
            store.put("k", None)
        with pytest.raises(TypeError):
            store.put(123, "v")
        store.put(b"bin", b"\xff")
        with pytest.raises(UnicodeDecodeError):
            store.get("bin")  # str key: the value must decode as UTF-8
        assert store.get(b"bin") == b"\xff"
