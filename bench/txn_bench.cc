// lsmkv_txn_bench: read-modify-write transactions on lsmkv (snapshot isolation
// and serializable) and on RocksDB's OptimisticTransactionDB and
// TransactionDB (pessimistic, row locks) in the same run, alternating engines.
//
//   lsmkv_txn_bench [--keys=100000] [--seconds=2] [--runs=3] [--threads=1,4,16]
//                   [--dists=uniform,zipfian] [--report=docs/BENCHMARKS-txn.md]
//
// A transaction picks 1-10 distinct keys (uniform or YCSB zipfian 0.99),
// reads each and writes it back incremented, and commits (WAL on, no fsync);
// a conflict (lsmkv Busy, RocksDB Busy/TryAgain/TimedOut) is retried as a new
// transaction. Reported per engine and configuration: commits/s, the abort
// rate (aborted attempts / attempts) and the p99 latency of Commit(); the
// median of the runs, and the ratio lsmkv / RocksDB optimistic.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/optimistic_transaction_db.h>
#include <rocksdb/utilities/transaction.h>
#include <rocksdb/utilities/transaction_db.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lsmkv/db.h"
#include "lsmkv/transaction.h"
#include "util/histogram.h"
#include "util/random.h"
#include "zipfian.h"

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

#ifdef NDEBUG
constexpr bool kLsmkvRelease = true;
#else
constexpr bool kLsmkvRelease = false;
#endif

std::string Key(uint64_t i) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "key%012llu", static_cast<unsigned long long>(i));
  return buf;
}

// One engine's transaction: Get, Put, Commit; Commit's result as
// 0 ok, 1 conflict (retry), -1 error.
class Txn {
 public:
  virtual ~Txn() = default;
  virtual int Get(const std::string& key,
                  std::string* value) = 0;  // 1 found, 0 no, -1 conflict/err
  virtual bool Put(const std::string& key, const std::string& value) = 0;
  virtual int Commit() = 0;
};

class TxnEngine {
 public:
  virtual ~TxnEngine() = default;
  virtual std::string Open(const std::string& dir) = 0;
  virtual std::unique_ptr<Txn> Begin() = 0;
  virtual bool Load(const std::string& key, const std::string& value) = 0;
};

// ---- lsmkv ----
class LsmkvTxn : public Txn {
 public:
  explicit LsmkvTxn(std::unique_ptr<lsmkv::Transaction> t) : t_(std::move(t)) {}
  int Get(const std::string& key, std::string* value) override {
    lsmkv::Status s = t_->Get(lsmkv::ReadOptions(), key, value);
    return s.ok() ? 1 : s.IsNotFound() ? 0 : -1;
  }
  bool Put(const std::string& key, const std::string& value) override {
    return t_->Put(key, value).ok();
  }
  int Commit() override {
    lsmkv::Status s = t_->Commit();
    return s.ok() ? 0 : s.IsBusy() ? 1 : -1;
  }

 private:
  std::unique_ptr<lsmkv::Transaction> t_;
};

// No transaction: reads from the DB, writes collected in a WriteBatch and
// written at Commit (never a conflict). The baseline of what the
// transactional engines add.
class LsmkvPlainTxn : public Txn {
 public:
  explicit LsmkvPlainTxn(lsmkv::DB* db) : db_(db) {}
  int Get(const std::string& key, std::string* value) override {
    lsmkv::Status s = db_->Get(lsmkv::ReadOptions(), key, value);
    return s.ok() ? 1 : s.IsNotFound() ? 0 : -1;
  }
  bool Put(const std::string& key, const std::string& value) override {
    batch_.Put(key, value);
    return true;
  }
  int Commit() override { return db_->Write(lsmkv::WriteOptions(), &batch_).ok() ? 0 : -1; }

 private:
  lsmkv::DB* db_;
  lsmkv::WriteBatch batch_;
};

class LsmkvEngine : public TxnEngine {
 public:
  // plain: no transactions (LsmkvPlainTxn).
  LsmkvEngine(lsmkv::IsolationLevel level, bool plain) : level_(level), plain_(plain) {}
  std::string Open(const std::string& dir) override {
    lsmkv::Options o;
    o.create_if_missing = true;
    o.wal_recovery_mode = lsmkv::WalRecoveryMode::kPointInTime;
    lsmkv::Status s = lsmkv::DB::Open(o, dir, &db_);
    return s.ok() ? "" : s.ToString();
  }
  std::unique_ptr<Txn> Begin() override {
    if (plain_) return std::make_unique<LsmkvPlainTxn>(db_.get());
    lsmkv::TransactionOptions to;
    to.isolation = level_;
    return std::make_unique<LsmkvTxn>(db_->BeginTransaction(lsmkv::WriteOptions(), to));
  }
  bool Load(const std::string& key, const std::string& value) override {
    return db_->Put(lsmkv::WriteOptions(), key, value).ok();
  }

 private:
  lsmkv::IsolationLevel level_;
  bool plain_;
  std::unique_ptr<lsmkv::DB> db_;
};

// ---- RocksDB ----
int RocksResult(const rocksdb::Status& s) {
  if (s.ok()) return 0;
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut() || s.IsDeadlock()) return 1;
  return -1;
}

class RocksTxn : public Txn {
 public:
  explicit RocksTxn(rocksdb::Transaction* t) : t_(t) {}
  int Get(const std::string& key, std::string* value) override {
    // GetForUpdate: the read is tracked (optimistic) or locked (pessimistic),
    // as a read-modify-write needs.
    rocksdb::Status s = t_->GetForUpdate(rocksdb::ReadOptions(), key, value);
    if (s.ok()) return 1;
    if (s.IsNotFound()) return 0;
    return -1;
  }
  bool Put(const std::string& key, const std::string& value) override {
    return t_->Put(key, value).ok();
  }
  int Commit() override { return RocksResult(t_->Commit()); }

 private:
  std::unique_ptr<rocksdb::Transaction> t_;
};

rocksdb::Options RocksOptions() {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.write_buffer_size = 64 << 20;
  o.max_write_buffer_number = 4;
  o.max_background_jobs = 2;
  return o;
}

class RocksOptimisticEngine : public TxnEngine {
 public:
  std::string Open(const std::string& dir) override {
    rocksdb::OptimisticTransactionDB* db = nullptr;
    rocksdb::Status s = rocksdb::OptimisticTransactionDB::Open(RocksOptions(), dir, &db);
    db_.reset(db);
    return s.ok() ? "" : s.ToString();
  }
  std::unique_ptr<Txn> Begin() override {
    rocksdb::OptimisticTransactionOptions to;
    to.set_snapshot = true;  // validate against the start, as lsmkv does
    return std::make_unique<RocksTxn>(db_->BeginTransaction(rocksdb::WriteOptions(), to));
  }
  bool Load(const std::string& key, const std::string& value) override {
    return db_->Put(rocksdb::WriteOptions(), key, value).ok();
  }

 private:
  std::unique_ptr<rocksdb::OptimisticTransactionDB> db_;
};

class RocksPessimisticEngine : public TxnEngine {
 public:
  std::string Open(const std::string& dir) override {
    rocksdb::TransactionDB* db = nullptr;
    rocksdb::TransactionDBOptions tdo;
    rocksdb::Status s = rocksdb::TransactionDB::Open(RocksOptions(), tdo, dir, &db);
    db_.reset(db);
    return s.ok() ? "" : s.ToString();
  }
  std::unique_ptr<Txn> Begin() override {
    rocksdb::TransactionOptions to;
    to.set_snapshot = true;
    to.lock_timeout = 100;  // ms; a timeout is retried like a conflict
    to.deadlock_detect = true;
    return std::make_unique<RocksTxn>(db_->BeginTransaction(rocksdb::WriteOptions(), to));
  }
  bool Load(const std::string& key, const std::string& value) override {
    return db_->Put(rocksdb::WriteOptions(), key, value).ok();
  }

 private:
  std::unique_ptr<rocksdb::TransactionDB> db_;
};

std::unique_ptr<TxnEngine> NewTxnEngine(const std::string& name) {
  if (name == "lsmkv-si") {
    return std::make_unique<LsmkvEngine>(lsmkv::IsolationLevel::kSnapshot, false);
  }
  if (name == "lsmkv-ser") {
    return std::make_unique<LsmkvEngine>(lsmkv::IsolationLevel::kSerializable, false);
  }
  if (name == "lsmkv-plain") {
    return std::make_unique<LsmkvEngine>(lsmkv::IsolationLevel::kSnapshot, true);
  }
  if (name == "rocksdb-optimistic") return std::make_unique<RocksOptimisticEngine>();
  if (name == "rocksdb-pessimistic") return std::make_unique<RocksPessimisticEngine>();
  return nullptr;
}

struct Result {
  double commits_per_sec = 0;
  double abort_rate = 0;
  double p99_commit_us = 0;
};

struct Config {
  uint64_t keys = 100000;
  double seconds = 2;
  int runs = 3;
  std::vector<int> threads = {1, 4, 16};
  std::vector<std::string> dists = {"uniform", "zipfian"};
  std::vector<std::string> engines = {"lsmkv-si", "lsmkv-ser", "rocksdb-optimistic",
                                      "rocksdb-pessimistic", "lsmkv-plain"};
  std::string dir = "/tmp/lsmkv_txn_bench";
  std::string report;
};

// One measured run on a fresh, loaded database.
bool RunOnce(const Config& c, const std::string& engine_name, int threads, const std::string& dist,
             Result* out, std::string* error) {
  fs::remove_all(c.dir);
  fs::create_directories(c.dir);
  auto engine = NewTxnEngine(engine_name);
  *error = engine->Open(c.dir + "/db");
  if (!error->empty()) return false;
  for (uint64_t i = 0; i < c.keys; i++) {
    if (!engine->Load(Key(i), "0")) {
      *error = "load failed";
      return false;
    }
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> commits{0}, aborts{0}, errors{0};
  std::vector<lsmkv::Histogram> latencies(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  const auto start = Clock::now();
  for (int t = 0; t < threads; t++) {
    workers.emplace_back([&, t] {
      lsmkv::Random rnd(1234 + static_cast<uint32_t>(t));
      peerbench::Zipfian zipf(c.keys, 99 + static_cast<uint64_t>(t));
      while (!stop.load(std::memory_order_relaxed)) {
        std::set<uint64_t> picked;
        const size_t want = 1 + rnd.Uniform(10);
        while (picked.size() < want) {
          picked.insert(dist == "zipfian" ? zipf.Next()
                                          : rnd.Uniform(static_cast<uint32_t>(c.keys)));
        }
        while (!stop.load(std::memory_order_relaxed)) {  // until this transaction commits
          auto txn = engine->Begin();
          bool conflict = false;
          for (uint64_t k : picked) {
            std::string value;
            const int got = txn->Get(Key(k), &value);
            if (got < 0) {
              conflict = true;  // a lock timeout or conflict on read (pessimistic)
              break;
            }
            const long v = got == 1 ? std::stol(value) : 0;
            if (!txn->Put(Key(k), std::to_string(v + 1))) {
              conflict = true;
              break;
            }
          }
          if (conflict) {
            aborts++;
            continue;
          }
          const auto before = Clock::now();
          const int r = txn->Commit();
          latencies[static_cast<size_t>(t)].Add(
              std::chrono::duration<double, std::micro>(Clock::now() - before).count());
          if (r == 0) {
            commits++;
            break;
          }
          if (r < 0) errors++;
          aborts++;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(c.seconds));  // the measured window
  stop = true;
  for (auto& w : workers) w.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (errors.load() != 0) {
    *error = std::to_string(errors.load()) + " commits failed with errors";
    return false;
  }
  lsmkv::Histogram all;
  for (const auto& h : latencies) all.Merge(h);
  out->commits_per_sec = static_cast<double>(commits.load()) / elapsed;
  const double attempts = static_cast<double>(commits.load() + aborts.load());
  out->abort_rate = attempts == 0 ? 0 : static_cast<double>(aborts.load()) / attempts;
  out->p99_commit_us = all.Percentile(99);
  engine.reset();
  fs::remove_all(c.dir);
  return true;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  std::string threads = "1,4,16", dists = "uniform,zipfian", engines;
  CLI::App app{"lsmkv_txn_bench: read-modify-write transactions, lsmkv vs RocksDB"};
  app.add_option("--keys", c.keys, "keys loaded")->capture_default_str();
  app.add_option("--seconds", c.seconds, "measured seconds per run")->capture_default_str();
  app.add_option("--runs", c.runs, "runs per engine and configuration")->capture_default_str();
  app.add_option("--threads", threads, "thread counts")->capture_default_str();
  app.add_option("--dists", dists, "uniform,zipfian")->capture_default_str();
  app.add_option("--engines", engines,
                 "lsmkv-si,lsmkv-ser,rocksdb-optimistic,rocksdb-pessimistic (and lsmkv-plain: "
                 "the same reads and batched writes without a transaction)");
  app.add_option("--db", c.dir, "scratch directory (removed)")->capture_default_str();
  app.add_option("--report", c.report, "write a markdown report here");
  CLI11_PARSE(app, argc, argv);
  c.threads.clear();
  for (const auto& t : Split(threads)) c.threads.push_back(std::stoi(t));
  c.dists = Split(dists);
  if (!engines.empty()) c.engines = Split(engines);
  for (const auto& e : c.engines) {
    if (NewTxnEngine(e) == nullptr) {
      std::fprintf(stderr, "unknown engine %s\n", e.c_str());
      return 2;
    }
  }
  std::ostringstream table;
  table << "| keys | threads | engine | commits/s | abort rate | p99 commit (us) | vs "
           "rocksdb-optimistic |\n"
        << "|---|---:|---|---:|---:|---:|---:|\n";
  for (const auto& dist : c.dists) {
    for (int th : c.threads) {
      std::map<std::string, std::vector<Result>> results;
      for (int run = 0; run < c.runs; run++) {
        for (const auto& e : c.engines) {  // alternating: A B C D A B C D ...
          Result r;
          std::string error;
          if (!RunOnce(c, e, th, dist, &r, &error)) {
            std::fprintf(stderr, "%s %s %d threads: %s\n", e.c_str(), dist.c_str(), th,
                         error.c_str());
            return 1;
          }
          results[e].push_back(r);
        }
      }
      std::map<std::string, Result> median;
      for (const auto& e : c.engines) {
        std::vector<double> cps, ar, p99;
        for (const auto& r : results[e]) {
          cps.push_back(r.commits_per_sec);
          ar.push_back(r.abort_rate);
          p99.push_back(r.p99_commit_us);
        }
        median[e] = Result{Median(cps), Median(ar), Median(p99)};
      }
      for (const auto& e : c.engines) {
        std::string ratio;
        auto base = median.find("rocksdb-optimistic");
        if (base != median.end() && base->second.commits_per_sec > 0) {
          char buf[32];
          std::snprintf(buf, sizeof(buf), "%.2f",
                        median[e].commits_per_sec / base->second.commits_per_sec);
          ratio = buf;
        }
        char line[512];
        std::snprintf(line, sizeof(line), "| %s | %d | %s | %.0f | %.2f%% | %.0f | %s |",
                      dist.c_str(), th, e.c_str(), median[e].commits_per_sec,
                      100 * median[e].abort_rate, median[e].p99_commit_us, ratio.c_str());
        table << line << "\n";
        std::printf("%s\n", line);
        std::fflush(stdout);
      }
    }
  }
  std::printf("\n%s", table.str().c_str());
  if (!c.report.empty()) {
    std::ofstream out(c.report);
    out << "# Transaction benchmark: lsmkv vs RocksDB 7.8 transactions\n\n"
        << "Made by `make bench` (`lsmkv_txn_bench --keys=" << c.keys << " --seconds=" << c.seconds
        << " --runs=" << c.runs << "`). Each transaction reads 1-10 distinct keys and writes each "
        << "back incremented (WAL on, no fsync); conflicts are retried. Engines alternate; "
           "figures are medians of "
        << c.runs
        << " runs on a fresh database each. The ratio is commits/s over RocksDB's "
           "OptimisticTransactionDB in the same configuration. RocksDB reads with GetForUpdate; "
           "lsmkv-si with Get (the written keys are checked at commit anyway), lsmkv-ser tracks "
           "every read. rocksdb-pessimistic is TransactionDB (row locks, 100 ms lock timeout, "
           "deadlock detection). lsmkv-plain is the baseline without transactions: the same "
           "reads from the DB and the writes in one WriteBatch (no validation, no conflicts).\n\n"
        << "RocksDB build: "
#ifdef LSMKV_PEERS_RELEASE
        << "release (scripts/build_release_peers.sh, Debian's 7.8.3 source, -DNDEBUG)"
#else
        << "WARNING: Debian's librocksdb (built without -DNDEBUG: assertions on)"
#endif
        << "; lsmkv: " << (kLsmkvRelease ? "release" : "WARNING: not a release build")
        << "; machine: " << std::thread::hardware_concurrency() << " hardware threads.\n\n"
        << table.str();
  }
  return 0;
}
