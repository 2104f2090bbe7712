#include "engines.h"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "lsmkv/db.h"

namespace peerbench {

namespace {

std::string Mib(size_t bytes) {
  char buf[64];
  if (bytes % (1 << 20) == 0) {
    std::snprintf(buf, sizeof(buf), "%zu MiB", bytes >> 20);
  } else if (bytes % 1024 == 0) {
    std::snprintf(buf, sizeof(buf), "%zu KiB", bytes >> 10);
  } else {
    std::snprintf(buf, sizeof(buf), "%zu B", bytes);
  }
  return buf;
}

// ------------------------------------------------------------------ lsmkv
class LsmkvIterator : public EngineIterator {
 public:
  explicit LsmkvIterator(std::unique_ptr<lsmkv::Iterator> it) : it_(std::move(it)) {}
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(std::string_view k) override { it_->Seek(k); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  bool Valid() const override { return it_->Valid(); }
  std::string_view key() const override { return it_->key(); }
  std::string_view value() const override { return it_->value(); }
  std::string status() const override {
    lsmkv::Status s = it_->status();
    return s.ok() ? std::string() : s.ToString();
  }

 private:
  std::unique_ptr<lsmkv::Iterator> it_;
};

std::string Err(const lsmkv::Status& s) { return s.ok() ? std::string() : s.ToString(); }

class LsmkvEngine : public Engine {
 public:
  const char* name() const override { return "lsmkv"; }
  bool SupportsCompression(const std::string&) const override { return true; }
  std::string Open(const std::string& dir, const EngineSettings& s) override {
    lsmkv::Options o;
    o.create_if_missing = true;
    o.write_buffer_size = s.write_buffer_size;
    o.max_write_buffer_number = s.max_write_buffer_number;
    o.block_size = s.block_size;
    o.bloom_bits_per_key = s.bloom_bits;
    if (s.lsmkv_memtable_run_size != SIZE_MAX) o.memtable_run_size = s.lsmkv_memtable_run_size;
    o.block_cache_size = s.block_cache_size;
    o.max_open_files = s.max_open_files;
    if (s.compression == "snappy") o.compression = lsmkv::CompressionType::kSnappy;
    if (s.compression == "lz4") o.compression = lsmkv::CompressionType::kLZ4;
    if (s.compression == "zstd") o.compression = lsmkv::CompressionType::kZstd;
    return Err(lsmkv::DB::Open(o, dir, &db_));
  }
  std::string Put(std::string_view k, std::string_view v, bool sync) override {
    lsmkv::WriteOptions wo;
    wo.sync = sync;
    return Err(db_->Put(wo, k, v));
  }
  std::string Delete(std::string_view k, bool sync) override {
    lsmkv::WriteOptions wo;
    wo.sync = sync;
    return Err(db_->Delete(wo, k));
  }
  int Get(std::string_view k, std::string* v) override {
    lsmkv::Status s = db_->Get(lsmkv::ReadOptions(), k, v);
    if (s.ok()) return 1;
    if (s.IsNotFound()) return 0;
    *v = s.ToString();
    return -1;
  }
  std::unique_ptr<EngineIterator> NewIterator() override {
    return std::make_unique<LsmkvIterator>(db_->NewIterator(lsmkv::ReadOptions()));
  }
  std::string Flush() override { return Err(db_->Flush()); }
  void WaitForBackgroundWork() override {}
  std::string Close() override {
    if (!db_) return "";
    std::string e = Err(db_->Close());
    db_.reset();
    return e;
  }
  void Destroy(const std::string& dir) override {
    Close();
    lsmkv::DestroyDB(dir, lsmkv::Options()).PermitUncheckedError();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::vector<std::string> DescribeSettings(const EngineSettings& s) const override {
    return {Mib(s.write_buffer_size),
            std::to_string(s.max_write_buffer_number),
            Mib(s.block_size),
            std::to_string(s.bloom_bits) + " (full filter per table)",
            Mib(s.block_cache_size) + " LRU",
            s.compression,
            Mib(lsmkv::Options().target_file_size) + " (default)",
            std::to_string(s.max_open_files),
            "1 flush thread + " + std::to_string(lsmkv::Options().max_background_compactions) +
                " compaction thread (max_background_compactions default)",
            "on (verify_checksums default true)"};
  }

 private:
  std::unique_ptr<lsmkv::DB> db_;
};

// ------------------------------------------------------------------ RocksDB
// Adapts a RocksDB or LevelDB iterator (same shape, different namespaces).
template <typename PeerIter, typename PeerSlice>
class PeerIterator : public EngineIterator {
 public:
  explicit PeerIterator(PeerIter* it) : it_(it) {}
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(std::string_view k) override { it_->Seek(PeerSlice(k.data(), k.size())); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  bool Valid() const override { return it_->Valid(); }
  std::string_view key() const override {
    PeerSlice s = it_->key();
    return {s.data(), s.size()};
  }
  std::string_view value() const override {
    PeerSlice s = it_->value();
    return {s.data(), s.size()};
  }
  std::string status() const override {
    auto s = it_->status();
    return s.ok() ? std::string() : s.ToString();
  }

 private:
  std::unique_ptr<PeerIter> it_;
};

using RocksIterator = PeerIterator<rocksdb::Iterator, rocksdb::Slice>;

std::string Err(const rocksdb::Status& s) { return s.ok() ? std::string() : s.ToString(); }

class RocksEngine : public Engine {
 public:
  const char* name() const override { return "rocksdb"; }
  bool SupportsCompression(const std::string&) const override { return true; }
  std::string Open(const std::string& dir, const EngineSettings& s) override {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.write_buffer_size = s.write_buffer_size;
    o.max_write_buffer_number = s.max_write_buffer_number;
    o.max_background_jobs = s.rocksdb_background_jobs;
    o.max_open_files = s.max_open_files;
    o.compression = rocksdb::kNoCompression;
    if (s.compression == "snappy") o.compression = rocksdb::kSnappyCompression;
    if (s.compression == "lz4") o.compression = rocksdb::kLZ4Compression;
    if (s.compression == "zstd") o.compression = rocksdb::kZSTD;
    rocksdb::BlockBasedTableOptions t;
    t.block_size = s.block_size;
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(s.bloom_bits));
    t.block_cache = rocksdb::NewLRUCache(s.block_cache_size);
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    rocksdb::DB* db = nullptr;
    rocksdb::Status st = rocksdb::DB::Open(o, dir, &db);
    db_.reset(db);
    return Err(st);
  }
  std::string Put(std::string_view k, std::string_view v, bool sync) override {
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return Err(
        db_->Put(wo, rocksdb::Slice(k.data(), k.size()), rocksdb::Slice(v.data(), v.size())));
  }
  std::string Delete(std::string_view k, bool sync) override {
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return Err(db_->Delete(wo, rocksdb::Slice(k.data(), k.size())));
  }
  int Get(std::string_view k, std::string* v) override {
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(k.data(), k.size()), v);
    if (s.ok()) return 1;
    if (s.IsNotFound()) return 0;
    *v = s.ToString();
    return -1;
  }
  std::unique_ptr<EngineIterator> NewIterator() override {
    return std::make_unique<RocksIterator>(db_->NewIterator(rocksdb::ReadOptions()));
  }
  std::string Flush() override {
    rocksdb::FlushOptions fo;
    fo.wait = true;
    return Err(db_->Flush(fo));
  }
  void WaitForBackgroundWork() override {
    // RocksDB 7.8 has no WaitForCompact: poll its pending-work properties.
    for (int i = 0; i < 6000; i++) {
      uint64_t pending = 0;
      for (const char* p : {"rocksdb.num-running-compactions", "rocksdb.num-running-flushes",
                            "rocksdb.compaction-pending", "rocksdb.mem-table-flush-pending"}) {
        uint64_t v = 0;
        if (db_->GetIntProperty(p, &v)) pending += v;
      }
      if (pending == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::string Close() override {
    if (!db_) return "";
    std::string e = Err(db_->Close());
    db_.reset();
    return e;
  }
  void Destroy(const std::string& dir) override {
    Close();
    rocksdb::DestroyDB(dir, rocksdb::Options()).PermitUncheckedError();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::vector<std::string> DescribeSettings(const EngineSettings& s) const override {
    return {Mib(s.write_buffer_size),
            std::to_string(s.max_write_buffer_number),
            Mib(s.block_size),
            std::to_string(s.bloom_bits) + " (full filter per table)",
            Mib(s.block_cache_size) + " LRU",
            s.compression,
            "64 MiB (default)",
            std::to_string(s.max_open_files),
            "max_background_jobs=" + std::to_string(s.rocksdb_background_jobs),
            "on (ReadOptions default)"};
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
};

// ------------------------------------------------------------------ LevelDB
using LevelIterator = PeerIterator<leveldb::Iterator, leveldb::Slice>;

std::string Err(const leveldb::Status& s) { return s.ok() ? std::string() : s.ToString(); }

class LevelEngine : public Engine {
 public:
  ~LevelEngine() override { Close(); }
  const char* name() const override { return "leveldb"; }
  bool SupportsCompression(const std::string& c) const override {
    return c == "none" || c == "snappy";
  }
  std::string Open(const std::string& dir, const EngineSettings& s) override {
    dir_ = dir;
    settings_ = s;
    leveldb::Options o;
    o.create_if_missing = true;
    o.write_buffer_size = s.write_buffer_size;
    o.block_size = s.block_size;
    o.max_open_files = s.max_open_files;
    o.compression =
        s.compression == "snappy" ? leveldb::kSnappyCompression : leveldb::kNoCompression;
    if (!filter_) filter_.reset(leveldb::NewBloomFilterPolicy(s.bloom_bits));
    if (!cache_) cache_.reset(leveldb::NewLRUCache(s.block_cache_size));
    o.filter_policy = filter_.get();
    o.block_cache = cache_.get();
    leveldb::DB* db = nullptr;
    leveldb::Status st = leveldb::DB::Open(o, dir, &db);
    db_.reset(db);
    return Err(st);
  }
  std::string Put(std::string_view k, std::string_view v, bool sync) override {
    leveldb::WriteOptions wo;
    wo.sync = sync;
    return Err(
        db_->Put(wo, leveldb::Slice(k.data(), k.size()), leveldb::Slice(v.data(), v.size())));
  }
  std::string Delete(std::string_view k, bool sync) override {
    leveldb::WriteOptions wo;
    wo.sync = sync;
    return Err(db_->Delete(wo, leveldb::Slice(k.data(), k.size())));
  }
  int Get(std::string_view k, std::string* v) override {
    leveldb::Status s = db_->Get(ReadOpts(), leveldb::Slice(k.data(), k.size()), v);
    if (s.ok()) return 1;
    if (s.IsNotFound()) return 0;
    *v = s.ToString();
    return -1;
  }
  std::unique_ptr<EngineIterator> NewIterator() override {
    return std::make_unique<LevelIterator>(db_->NewIterator(ReadOpts()));
  }
  // LevelDB has no public flush: reopening writes the recovered log to a
  // level-0 table (reuse_logs is false).
  std::string Flush() override {
    Close();
    return Open(dir_, settings_);
  }
  // LevelDB cannot report pending compactions; the caller waits for the
  // process's disk writes to stop.
  void WaitForBackgroundWork() override {}
  std::string Close() override {
    db_.reset();
    return "";
  }
  void Destroy(const std::string& dir) override {
    Close();
    leveldb::Status ignored = leveldb::DestroyDB(dir, leveldb::Options());
    (void)ignored;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::vector<std::string> DescribeSettings(const EngineSettings& s) const override {
    return {Mib(s.write_buffer_size),
            "1 + 1 frozen (fixed)",
            Mib(s.block_size),
            std::to_string(s.bloom_bits) + " (filter block per table)",
            Mib(s.block_cache_size) + " LRU",
            SupportsCompression(s.compression) ? s.compression : "n/a (skipped)",
            "2 MiB (default)",
            std::to_string(s.max_open_files),
            "1 compaction thread (fixed)",
            "on (verify_checksums set; default off)"};
  }

 private:
  // Checksums verified like lsmkv and RocksDB do by default.
  static leveldb::ReadOptions ReadOpts() {
    leveldb::ReadOptions ro;
    ro.verify_checksums = true;
    return ro;
  }
  std::string dir_;
  EngineSettings settings_;
  // Declared before db_ so the DB is destroyed first.
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace

std::vector<std::string> SettingLabels() {
  return {"write buffer",           "memtables (max)", "block size",
          "bloom bits/key",         "block cache",     "compression",
          "target file size",       "max open files",  "background threads",
          "block checksums on read"};
}

std::vector<std::string> AllEngineNames() { return {"lsmkv", "rocksdb", "leveldb"}; }

std::unique_ptr<Engine> NewEngine(const std::string& name) {
  if (name == "lsmkv") return std::make_unique<LsmkvEngine>();
  if (name == "rocksdb") return std::make_unique<RocksEngine>();
  if (name == "leveldb") return std::make_unique<LevelEngine>();
  return nullptr;
}

uint64_t ProcessDiskWriteBytes() {
  std::FILE* f = std::fopen("/proc/self/io", "r");
  if (f == nullptr) return 0;
  char line[128];
  uint64_t write_bytes = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    unsigned long long v = 0;
    if (std::sscanf(line, "write_bytes: %llu", &v) == 1) write_bytes = v;
  }
  std::fclose(f);
  return write_bytes;
}

}  // namespace peerbench
