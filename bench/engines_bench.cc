// lsmkv_engines_bench: lsmkv's three storage engines (Options::engine: lsm,
// btree, bitcask) against LMDB, the B+tree peer (issue 19, docs/engines.md).
//
//   lsmkv_engines_bench [--num N] [--rounds R] [--engines lsm,btree,bitcask,lmdb]
//                       [--db DIR] [--report FILE]
//   lsmkv_engines_bench --bitcask_startup N1,N2 [--rounds R] [--report FILE]
//
// Every round runs, on each engine in turn (the order rotates by one each
// round, so no engine always runs first) and on a new database, with 16-byte
// keys and 100-byte values:
//   fillrandom    N puts, each key once, in a random order
//   overwrite     N puts of new values, in another random order
//   (close)       space: bytes allocated on disk by the database's files
//   (open)        start-up: the time DB::Open (mdb_env_open) takes on the
//                 filled database (files in the page cache)
//   readrandom    N gets in a random order (every key present, every value checked)
//   readseq       one forward scan over all N entries
//   seekrandom    N seeks to random present keys, each reading the entry found
//   deleterandom  N deletes, each key once, in a random order
// and reports per engine the medians over the rounds and their ratio to
// LMDB's. Writes are not synced (lsmkv WriteOptions::sync=false; LMDB
// MDB_NOSYNC | MDB_NOMETASYNC: a commit leaves the flush to the kernel, as
// lsmkv's unsynced writes do). LMDB commits one write transaction per put or
// delete (as lsmkv's Put is its own atomic batch); its reads run in one
// read-only transaction renewed every 1,024 operations.
//
// --bitcask_startup N1,N2,... measures instead the Bitcask engine's start-up
// with hint files (issue 19): for each N, N puts in a random order, a merge
// (CompactRange: every file rewritten with its hint file), a close; then, R
// times alternating, DB::Open with hints (the default) and with
// paranoid_checks (every data file scanned, hints ignored), files in the page
// cache; it reports the medians and checks every value after the last open.
//
// An engine whose open answers NotSupported (not in this build yet) is
// skipped, and the report says so. Exit codes: 0 success, 1 an engine
// failed or returned a wrong value, 2 usage.
#include <CLI/CLI.hpp>

#include <lmdb.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "lsmkv/db.h"
#include "lsmkv/iterator.h"
#include "lsmkv/options.h"

namespace {

namespace fs = std::filesystem;

constexpr size_t kKeySize = 16;
constexpr size_t kValueSize = 100;

const char* const kWorkloads[] = {"fillrandom", "overwrite",  "readrandom",
                                  "readseq",    "seekrandom", "deleterandom"};

// Key i: 16 decimal digits, zero-padded. Formatted into a buffer the caller
// keeps, so that the timed loops allocate nothing per operation.
class KeyBuf {
 public:
  std::string_view Set(uint64_t i) {
    for (size_t p = kKeySize; p-- > 0; i /= 10) buf_[p] = static_cast<char>('0' + i % 10);
    return std::string_view(buf_, kKeySize);
  }

 private:
  char buf_[kKeySize];
};

// The value of key i written by pass (0: fillrandom, 1: overwrite): the pass,
// the key, and a filler letter depending on both, 100 bytes.
class ValueBuf {
 public:
  std::string_view Set(uint64_t i, int pass) {
    std::memset(buf_, 'a' + static_cast<int>((i + static_cast<uint64_t>(pass)) % 26), kValueSize);
    buf_[0] = static_cast<char>('0' + pass);
    buf_[1] = ':';
    const std::string_view key = key_.Set(i);
    std::memcpy(buf_ + 2, key.data(), key.size());
    buf_[2 + kKeySize] = ':';
    return std::string_view(buf_, kValueSize);
  }

 private:
  KeyBuf key_;
  char buf_[kValueSize];
};

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Bytes the files under dir occupy on disk (st_blocks: sparse parts and
// preallocation beyond the data count as they are allocated).
uint64_t DiskBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    struct stat st;
    if (::stat(entry.path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

// One engine under test. Every method returns "" on success, else the error;
// Open returns "Not supported: ..." (lsmkv's Status text) when the engine is
// not in this build.
class Bench {
 public:
  virtual ~Bench() = default;
  virtual std::string Open(const std::string& dir) = 0;
  virtual std::string Put(std::string_view key, std::string_view value) = 0;
  virtual std::string Delete(std::string_view key) = 0;
  // *found is false for an absent key.
  virtual std::string Get(std::string_view key, std::string* value, bool* found) = 0;
  // Counts the entries of a full forward scan into *n.
  virtual std::string Scan(uint64_t* n) = 0;
  // Seeks to key; *found: an entry at or after it, whose key is copied to *at.
  virtual std::string Seek(std::string_view key, bool* found, std::string* at) = 0;
  virtual std::string Close() = 0;
};

class LsmkvBench : public Bench {
 public:
  explicit LsmkvBench(lsmkv::StorageEngine engine) : engine_(engine) {}

  std::string Open(const std::string& dir) override {
    lsmkv::Options options;
    options.create_if_missing = true;
    options.engine = engine_;
    lsmkv::Status s = lsmkv::DB::Open(options, dir, &db_);
    return s.ok() ? "" : s.ToString();  // "Not supported: ..." if not in this build
  }
  std::string Put(std::string_view key, std::string_view value) override {
    return Err(db_->Put(lsmkv::WriteOptions(), key, value));
  }
  std::string Delete(std::string_view key) override {
    return Err(db_->Delete(lsmkv::WriteOptions(), key));
  }
  std::string Get(std::string_view key, std::string* value, bool* found) override {
    lsmkv::Status s = db_->Get(lsmkv::ReadOptions(), key, value);
    *found = s.ok();
    return s.IsNotFound() ? "" : Err(s);
  }
  std::string Scan(uint64_t* n) override {
    std::unique_ptr<lsmkv::Iterator> it = db_->NewIterator(lsmkv::ReadOptions());
    *n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++*n;
    return Err(it->status());
  }
  std::string Seek(std::string_view key, bool* found, std::string* at) override {
    if (iter_ == nullptr) iter_ = db_->NewIterator(lsmkv::ReadOptions());
    iter_->Seek(key);
    *found = iter_->Valid();
    if (*found) at->assign(iter_->key());
    return Err(iter_->status());
  }
  std::string Close() override {
    iter_.reset();
    if (db_ == nullptr) return "";
    lsmkv::Status s = db_->Close();
    db_.reset();
    return Err(s);
  }

 private:
  static std::string Err(const lsmkv::Status& s) { return s.ok() ? "" : s.ToString(); }

  const lsmkv::StorageEngine engine_;
  std::unique_ptr<lsmkv::DB> db_;
  std::unique_ptr<lsmkv::Iterator> iter_;  // seekrandom's, kept between seeks
};

class LmdbBench : public Bench {
 public:
  explicit LmdbBench(uint64_t num) : map_size_(std::max<uint64_t>(uint64_t{1} << 30, num * 1024)) {}
  ~LmdbBench() override { Close(); }

  std::string Open(const std::string& dir) override {
    std::error_code ec;
    fs::create_directories(dir, ec);
    int rc = mdb_env_create(&env_);
    if (rc == 0) rc = mdb_env_set_mapsize(env_, map_size_);
    if (rc == 0)
      rc = mdb_env_open(env_, dir.c_str(), MDB_NOSYNC | MDB_NOMETASYNC | MDB_NOTLS, 0644);
    MDB_txn* txn = nullptr;
    if (rc == 0) rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc == 0) rc = mdb_dbi_open(txn, nullptr, 0, &dbi_);
    if (rc == 0) {
      rc = mdb_txn_commit(txn);
    } else if (txn != nullptr) {
      mdb_txn_abort(txn);
    }
    return Err(rc);
  }
  std::string Put(std::string_view key, std::string_view value) override {
    MDB_val k = Val(key), v = Val(value);
    return Write([&](MDB_txn* txn) { return mdb_put(txn, dbi_, &k, &v, 0); });
  }
  std::string Delete(std::string_view key) override {
    MDB_val k = Val(key);
    return Write([&](MDB_txn* txn) {
      const int rc = mdb_del(txn, dbi_, &k, nullptr);
      return rc == MDB_NOTFOUND ? 0 : rc;
    });
  }
  std::string Get(std::string_view key, std::string* value, bool* found) override {
    if (std::string e = Reader(); !e.empty()) return e;
    MDB_val k = Val(key), v;
    const int rc = mdb_get(read_txn_, dbi_, &k, &v);
    *found = rc == 0;
    if (rc == 0) value->assign(static_cast<const char*>(v.mv_data), v.mv_size);
    return rc == MDB_NOTFOUND ? "" : Err(rc);
  }
  std::string Scan(uint64_t* n) override {
    if (std::string e = Reader(); !e.empty()) return e;
    MDB_cursor* cursor = nullptr;
    int rc = mdb_cursor_open(read_txn_, dbi_, &cursor);
    *n = 0;
    MDB_val k, v;
    for (MDB_cursor_op op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
      rc = mdb_cursor_get(cursor, &k, &v, op);
      if (rc == 0) ++*n;
    }
    if (cursor != nullptr) mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? "" : Err(rc);
  }
  std::string Seek(std::string_view key, bool* found, std::string* at) override {
    if (std::string e = Reader(); !e.empty()) return e;
    MDB_cursor* cursor = nullptr;
    int rc = mdb_cursor_open(read_txn_, dbi_, &cursor);
    MDB_val k = Val(key), v;
    if (rc == 0) rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
    *found = rc == 0;
    if (rc == 0) at->assign(static_cast<const char*>(k.mv_data), k.mv_size);
    if (cursor != nullptr) mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? "" : Err(rc);
  }
  std::string Close() override {
    if (read_txn_ != nullptr) mdb_txn_abort(read_txn_);
    read_txn_ = nullptr;
    if (env_ != nullptr) mdb_env_close(env_);
    env_ = nullptr;
    return "";
  }

 private:
  static MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
  static std::string Err(int rc) { return rc == 0 ? "" : std::string("LMDB: ") + mdb_strerror(rc); }

  // One write transaction around op; ends the read transaction first (its
  // snapshot would keep the pages the writes free).
  template <typename Op>
  std::string Write(Op op) {
    if (read_txn_ != nullptr) {
      mdb_txn_abort(read_txn_);
      read_txn_ = nullptr;
    }
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc != 0) return Err(rc);
    rc = op(txn);
    if (rc != 0) {
      mdb_txn_abort(txn);
      return Err(rc);
    }
    return Err(mdb_txn_commit(txn));
  }

  // The read transaction, renewed every 1,024 reads.
  std::string Reader() {
    if (read_txn_ != nullptr && ++reads_ % 1024 != 0) return "";
    int rc = 0;
    if (read_txn_ == nullptr) {
      rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &read_txn_);
    } else {
      mdb_txn_reset(read_txn_);
      rc = mdb_txn_renew(read_txn_);
    }
    return Err(rc);
  }

  const uint64_t map_size_;
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
  MDB_txn* read_txn_ = nullptr;
  uint64_t reads_ = 0;
};

std::unique_ptr<Bench> NewBench(const std::string& name, uint64_t num) {
  if (name == "lmdb") return std::make_unique<LmdbBench>(num);
  for (lsmkv::StorageEngine e :
       {lsmkv::StorageEngine::kLsm, lsmkv::StorageEngine::kBTree, lsmkv::StorageEngine::kBitcask}) {
    if (name == lsmkv::StorageEngineName(e)) return std::make_unique<LsmkvBench>(e);
  }
  return nullptr;
}

std::string DisplayName(const std::string& name) {
  if (name != "lmdb") return "lsmkv-" + name;
  return "LMDB " + std::to_string(MDB_VERSION_MAJOR) + "." + std::to_string(MDB_VERSION_MINOR) +
         "." + std::to_string(MDB_VERSION_PATCH);
}

// One round of one engine: ops/s per workload, space and start-up time.
struct RoundResult {
  std::map<std::string, double> ops;
  double space_bytes = 0;
  double startup_ms = 0;
};

class Runner {
 public:
  Runner(uint64_t num, uint64_t seed) : num_(num), rng_(seed) {}

  // Runs every workload on a new database in dir. "" on success; an error
  // starting with "Not supported" if the engine is not in this build.
  std::string Run(const std::string& name, const std::string& dir, RoundResult* r) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(fs::path(dir).parent_path(), ec);
    std::unique_ptr<Bench> b = NewBench(name, num_);
    if (std::string e = b->Open(dir); !e.empty()) return e;
    std::vector<uint64_t> order = Permutation();
    std::string e = Timed(r, "fillrandom", [&] { return PutAll(b.get(), order, 0); });
    order = Permutation();
    if (e.empty()) e = Timed(r, "overwrite", [&] { return PutAll(b.get(), order, 1); });
    if (e.empty()) e = b->Close();
    if (!e.empty()) return e;
    r->space_bytes = static_cast<double>(DiskBytes(dir));
    b = NewBench(name, num_);
    const double start = Now();
    if (e = b->Open(dir); !e.empty()) return "reopen: " + e;
    r->startup_ms = (Now() - start) * 1000;
    order = Permutation();
    e = Timed(r, "readrandom", [&] { return GetAll(b.get(), order); });
    if (e.empty()) e = Timed(r, "readseq", [&] { return ScanAll(b.get()); });
    order = Permutation();
    if (e.empty()) e = Timed(r, "seekrandom", [&] { return SeekAll(b.get(), order); });
    order = Permutation();
    if (e.empty()) {
      e = Timed(r, "deleterandom", [&] {
        KeyBuf key;
        for (uint64_t i : order) {
          if (std::string d = b->Delete(key.Set(i)); !d.empty()) return "delete: " + d;
        }
        return std::string();
      });
    }
    const std::string c = b->Close();
    fs::remove_all(dir, ec);
    return e.empty() ? c : e;
  }

 private:
  std::vector<uint64_t> Permutation() {
    std::vector<uint64_t> v(num_);
    std::iota(v.begin(), v.end(), 0);
    std::shuffle(v.begin(), v.end(), rng_);
    return v;
  }

  template <typename F>
  std::string Timed(RoundResult* r, const char* workload, F f) {
    const double start = Now();
    std::string e = f();
    const double secs = std::max(Now() - start, 1e-9);
    r->ops[workload] = static_cast<double>(num_) / secs;
    return e.empty() ? "" : std::string(workload) + ": " + e;
  }

  std::string PutAll(Bench* b, const std::vector<uint64_t>& order, int pass) {
    KeyBuf key;
    ValueBuf value;
    for (uint64_t i : order) {
      if (std::string e = b->Put(key.Set(i), value.Set(i, pass)); !e.empty()) return e;
    }
    return "";
  }
  std::string GetAll(Bench* b, const std::vector<uint64_t>& order) {
    KeyBuf key;
    ValueBuf expected;
    std::string value;
    for (uint64_t i : order) {
      bool found = false;
      if (std::string e = b->Get(key.Set(i), &value, &found); !e.empty()) return e;
      if (!found || value != expected.Set(i, 1)) {
        return "wrong value for key " + std::string(key.Set(i));
      }
    }
    return "";
  }
  std::string ScanAll(Bench* b) {
    uint64_t n = 0;
    if (std::string e = b->Scan(&n); !e.empty()) return e;
    return n == num_ ? "" : "scan saw " + std::to_string(n) + " entries";
  }
  std::string SeekAll(Bench* b, const std::vector<uint64_t>& order) {
    KeyBuf key;
    std::string at;
    for (uint64_t i : order) {
      bool found = false;
      if (std::string e = b->Seek(key.Set(i), &found, &at); !e.empty()) return e;
      if (!found || at != key.Set(i)) return "seek to " + std::string(key.Set(i)) + " missed it";
    }
    return "";
  }

  const uint64_t num_;
  std::mt19937_64 rng_;
};

double Median(std::vector<double> v);

// The --bitcask_startup run for one size (see the file comment): "" or the
// error; *hint_ms and *scan_ms get the medians over rounds opens each.
std::string BitcaskStartup(const std::string& dir, uint64_t num, int rounds, uint64_t seed,
                           double* hint_ms, double* scan_ms) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  lsmkv::Options options;
  options.create_if_missing = true;
  options.engine = lsmkv::StorageEngine::kBitcask;
  std::unique_ptr<lsmkv::DB> db;
  lsmkv::Status s = lsmkv::DB::Open(options, dir, &db);
  if (!s.ok()) return "open: " + s.ToString();
  std::vector<uint64_t> order(num);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  KeyBuf key;
  ValueBuf value;
  for (uint64_t i : order) {
    s = db->Put(lsmkv::WriteOptions(), key.Set(i), value.Set(i, 1));
    if (!s.ok()) return "put: " + s.ToString();
  }
  s = db->CompactRange(nullptr, nullptr);
  if (s.ok()) s = db->Close();
  if (!s.ok()) return "merge: " + s.ToString();
  db.reset();
  std::vector<double> hint, scan;
  for (int r = 0; r < rounds; r++) {
    for (bool paranoid : {false, true}) {
      options.paranoid_checks = paranoid;
      const double start = Now();
      s = lsmkv::DB::Open(options, dir, &db);
      const double ms = (Now() - start) * 1000;
      if (!s.ok()) return "reopen: " + s.ToString();
      (paranoid ? scan : hint).push_back(ms);
      std::string stats;
      db->GetProperty("lsmkv.stats", &stats);
      const bool used_hints = stats.find("hint files used 0 ") == std::string::npos;
      if (used_hints == paranoid) {
        return std::string("the open ") + (paranoid ? "used" : "did not use") +
               " hint files: " + stats;
      }
      if (r == rounds - 1 && paranoid) {
        std::string got;
        for (uint64_t i = 0; i < num; i++) {
          s = db->Get(lsmkv::ReadOptions(), key.Set(i), &got);
          if (!s.ok() || got != value.Set(i, 1)) return "wrong value for key " + std::to_string(i);
        }
      }
      s = db->Close();
      db.reset();
      if (!s.ok()) return "close: " + s.ToString();
    }
  }
  *hint_ms = Median(hint);
  *scan_ms = Median(scan);
  fs::remove_all(dir, ec);
  return "";
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string Fmt(const char* format, double x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, x);
  return buf;
}

// 1234567 -> "1,234,567".
std::string Thousands(double x) {
  std::string digits = std::to_string(static_cast<uint64_t>(x + 0.5));
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(at, ",");
  return digits;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lsmkv_engines_bench: lsmkv's lsm, btree and bitcask engines against LMDB"};
  uint64_t num = 1000000;
  int rounds = 3;
  uint64_t seed = 301;
  std::string engines_arg = "lsm,btree,bitcask,lmdb";
  std::string db = "/tmp/lsmkv_engines_bench";
  std::string report;
  app.add_option("--num", num, "entries (keys 16 bytes, values 100 bytes)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32));
  app.add_option("--rounds", rounds, "rounds; the report gives medians")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--engines", engines_arg, "comma-separated: lsm, btree, bitcask, lmdb")
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of the key orders")->capture_default_str();
  app.add_option("--db", db, "work directory (each engine's database below it)")
      ->capture_default_str();
  app.add_option("--report", report, "also write the markdown report to this file");
  std::vector<uint64_t> startup_sizes;
  app.add_option("--bitcask_startup", startup_sizes,
                 "only measure Bitcask's start-up with hint files, for these sizes")
      ->delimiter(',')
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32));
  CLI11_PARSE(app, argc, argv);

  if (!startup_sizes.empty()) {
    std::ostringstream out;
    out << "## Bitcask start-up with hint files (`lsmkv_engines_bench --bitcask_startup`)\n\n"
        << rounds << " round(s), medians; keys 16 bytes, values 100 bytes, written in a random "
        << "order, then merged (every file with its hint file); files in the page cache.\n\n"
        << "| keys | start-up with hints ms | start-up scanning the data (paranoid_checks) ms |\n"
        << "|---:|---:|---:|\n";
    for (uint64_t n : startup_sizes) {
      double hint_ms = 0, scan_ms = 0;
      const std::string e =
          BitcaskStartup(db + "/bitcask-startup", n, rounds, seed, &hint_ms, &scan_ms);
      if (!e.empty()) {
        std::fprintf(stderr, "lsmkv_engines_bench: bitcask start-up with %s keys FAILED: %s\n",
                     Thousands(static_cast<double>(n)).c_str(), e.c_str());
        return 1;
      }
      std::printf("bitcask start-up %s keys: hints %.1f ms, scan %.1f ms\n",
                  Thousands(static_cast<double>(n)).c_str(), hint_ms, scan_ms);
      std::fflush(stdout);
      out << "| " << Thousands(static_cast<double>(n)) << " | " << Fmt("%.0f", hint_ms) << " | "
          << Fmt("%.0f", scan_ms) << " |\n";
    }
    std::cout << "\n" << out.str();
    if (!report.empty()) {
      std::ofstream f(report, std::ios::app);
      f << "\n" << out.str();
      if (!f) {
        std::cerr << "lsmkv_engines_bench: cannot write " << report << "\n";
        return 1;
      }
    }
    return 0;
  }

  std::vector<std::string> engines;
  std::stringstream list(engines_arg);
  for (std::string name; std::getline(list, name, ',');) {
    if (NewBench(name, 1) == nullptr) {
      std::cerr << "lsmkv_engines_bench: unknown engine '" << name
                << "' (lsm, btree, bitcask, lmdb)\n";
      return 2;
    }
    engines.push_back(name);
  }

  Runner runner(num, seed);
  std::map<std::string, std::vector<RoundResult>> results;
  std::map<std::string, std::string> skipped;  // engine -> why
  for (int round = 0; round < rounds; round++) {
    for (size_t k = 0; k < engines.size(); k++) {
      const std::string& name = engines[(k + round) % engines.size()];
      if (skipped.count(name) != 0) continue;
      RoundResult r;
      const std::string e = runner.Run(name, db + "/" + name, &r);
      if (e.rfind("Not supported", 0) == 0) {
        skipped[name] = e;
        std::printf("lsmkv_engines_bench: %s SKIPPED: %s\n", DisplayName(name).c_str(), e.c_str());
        continue;
      }
      if (!e.empty()) {
        std::fprintf(stderr, "lsmkv_engines_bench: %s FAILED in round %d: %s\n",
                     DisplayName(name).c_str(), round + 1, e.c_str());
        return 1;
      }
      std::printf("round %d %-16s", round + 1, DisplayName(name).c_str());
      for (const char* w : kWorkloads) std::printf(" %s=%s", w, Thousands(r.ops[w]).c_str());
      std::printf(" space=%.1fMiB startup=%.1fms\n", r.space_bytes / 1048576, r.startup_ms);
      std::fflush(stdout);
      results[name].push_back(r);
    }
  }

  // Medians, and ratios to LMDB's medians.
  std::map<std::string, std::map<std::string, double>> med;  // engine -> metric -> median
  for (const auto& [name, rs] : results) {
    for (const char* w : kWorkloads) {
      std::vector<double> v;
      for (const RoundResult& r : rs) v.push_back(r.ops.at(w));
      med[name][w] = Median(v);
    }
    std::vector<double> space, startup;
    for (const RoundResult& r : rs) {
      space.push_back(r.space_bytes);
      startup.push_back(r.startup_ms);
    }
    med[name]["space"] = Median(space);
    med[name]["startup"] = Median(startup);
  }
  const bool have_lmdb = med.count("lmdb") != 0;
  std::ostringstream out;
  out << "## lsmkv engines vs LMDB (`lsmkv_engines_bench`)\n\n"
      << "num=" << num << " (keys 16 bytes, values 100 bytes), " << rounds
      << " round(s), medians; engines alternate, a new database each round; writes unsynced "
         "(LMDB MDB_NOSYNC|MDB_NOMETASYNC); build: "
#ifdef NDEBUG
      << "release (assertions off)"
#else
      << "assertions ON (not a release build: figures are not comparable)"
#endif
      << ".\n\n| engine |";
  for (const char* w : kWorkloads) out << " " << w << " ops/s |";
  out << " space MiB | start-up ms |\n|---|";
  for (size_t i = 0; i < std::size(kWorkloads) + 2; i++) out << "---:|";
  out << "\n";
  for (const std::string& name : engines) {
    if (med.count(name) == 0) continue;
    const auto& m = med[name];
    out << "| " << DisplayName(name) << " |";
    for (const char* w : kWorkloads) {
      out << " " << Thousands(m.at(w));
      if (have_lmdb && name != "lmdb") out << " (" << Fmt("%.2fx", m.at(w) / med["lmdb"][w]) << ")";
      out << " |";
    }
    out << " " << Fmt("%.1f", m.at("space") / 1048576);
    if (have_lmdb && name != "lmdb") {
      out << " (" << Fmt("%.2fx", m.at("space") / med["lmdb"]["space"]) << ")";
    }
    out << " | " << Fmt("%.2f", m.at("startup"));
    if (have_lmdb && name != "lmdb") {
      out << " (" << Fmt("%.2fx", m.at("startup") / med["lmdb"]["startup"]) << ")";
    }
    out << " |\n";
  }
  if (have_lmdb)
    out << "\nRatios in parentheses: the engine's median over LMDB's (space and start-up: lower is "
           "better).\n";
  out << "Space: bytes allocated on disk after fillrandom + overwrite and a close (N live "
         "entries). "
         "Start-up: the open of that database, files in the page cache.\n";
  for (const auto& [name, why] : skipped) {
    out << "\n" << DisplayName(name) << ": skipped (" << why << ").\n";
  }
  std::cout << "\n" << out.str();
  if (!report.empty()) {
    std::ofstream f(report);
    f << "# Storage engines benchmark\n\nMade by `make bench` (scripts/engines_bench.sh).\n\n"
      << out.str();
    if (!f) {
      std::cerr << "lsmkv_engines_bench: cannot write " << report << "\n";
      return 1;
    }
  }
  return 0;
}
