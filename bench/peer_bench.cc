// lsmkv_peer_bench: db_bench-style workloads run on lsmkv, RocksDB and LevelDB
// in one run, with equivalent settings, alternating engines (A B C A B C ...).
//
//   lsmkv_peer_bench [--num=N] [--runs=3] [--mode=both|settled|sequence]
//                    [--benchmarks=a,b] [--sequence=a,b] [--engines=lsmkv,rocksdb,leveldb]
//                    [--compression=none|snappy|lz4|zstd] [--report=docs/BENCHMARKS-peers.md]
//
// Every measured run is a forked child (its ru_maxrss is that engine's peak
// RSS); disk writes come from the child's /proc/self/io write_bytes.
// Two modes. Settled: read workloads use a per-engine base database filled
// once by fillrandom, flushed and settled; workloads that modify it run on a
// copy. Sequence (db_bench's way): one child per engine and round runs
// --sequence on one open database, each workload on the state the previous
// one left. Each workload
// is one row of kWorkloads (its database setup, run function and report
// note); adding a workload is adding a row.
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "charts.h"
#include "engines.h"
#include "util/histogram.h"
#include "util/random.h"
#include "zipfian.h"

namespace fs = std::filesystem;
using peerbench::Engine;
using peerbench::EngineSettings;
using peerbench::Zipfian;

namespace {

#ifdef LSMKV_PEERS_RELEASE
// Linked with scripts/build_release_peers.sh's builds (CMake
// LSMKV_RELEASE_PEERS_DIR).
constexpr const char* kCaveat =
    "peers: release builds (-O3 -DNDEBUG) of LevelDB 1.23-4 and RocksDB 7.8.3-2 from Debian's "
    "source packages (scripts/build_release_peers.sh)";
#else
constexpr const char* kCaveat =
    "WARNING: peers are Debian's librocksdb and libleveldb, built without -DNDEBUG (assertions "
    "on), not release builds (scripts/build_release_peers.sh failed or was not used); a release "
    "build of RocksDB 7.8.3 ran 1.2–1.7x faster on this machine, LevelDB 1.0–1.2x";
#endif

struct Config {
  std::string db = "/tmp/lsmkv_peer_bench";
  std::string benchmarks = "all";
  // settled: each workload on its own settled database (--benchmarks);
  // sequence: db_bench's way, one process per engine runs --sequence on one
  // database, each workload on the state the previous one left; both.
  std::string mode = "both";
  std::string sequence =
      "fillseq,fillrandom,overwrite,readrandom,readmissing,readseq,readreverse,seekrandom,"
      "readwhilewriting,deleterandom,fillsync";
  std::string engines = "lsmkv,rocksdb,leveldb";
  uint64_t num = 1000000;
  uint64_t reads = 0;  // 0: num
  uint64_t seeks = 0;  // 0: num / 10
  uint64_t sync_num = 20000;
  double sync_seconds = 10;  // fillsync runs stop after this long (fdatasync rates vary 10x on VMs)
  int runs = 3;
  int key_size = 16;
  int value_size = 100;
  EngineSettings settings;
  std::string report;
  uint64_t machine_mb = 256;
  std::string command;
};

// Operations of the get workloads and ycsb-a, and of seekrandom and ycsb-e.
uint64_t Reads(const Config& c) { return c.reads ? c.reads : c.num; }
uint64_t Seeks(const Config& c) { return c.seeks ? c.seeks : std::max<uint64_t>(1, c.num / 10); }

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string MakeKey(uint64_t i, int key_size) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%016" PRIu64, i);
  std::string k(buf);
  if (static_cast<int>(k.size()) > key_size)
    return k.substr(k.size() - static_cast<size_t>(key_size));
  return std::string(static_cast<size_t>(key_size) - k.size(), '0') + k;
}

// Values: half random bytes, half repeated, so compression halves them.
class ValueSource {
 public:
  explicit ValueSource(int size) : size_(static_cast<size_t>(size)) {
    lsmkv::Random rnd(42);
    while (data_.size() < (1u << 20) + size_) {
      std::string chunk = rnd.RandomBytes(50);
      data_ += chunk;
      data_.append(50, chunk[0]);
    }
  }
  std::string_view Next() {
    pos_ += 97;
    if (pos_ + size_ > data_.size()) pos_ = 0;
    return std::string_view(data_).substr(pos_, size_);
  }

 private:
  size_t size_;
  size_t pos_ = 0;
  std::string data_;
};

// What a child sends back through its pipe (trivially copyable).
struct ChildResult {
  int ok = 0;
  char error[256] = {};
  uint64_t ops = 0;
  uint64_t found = 0;
  double seconds = 0;
  uint64_t bytes = 0;  // user key + value bytes read or written
  double p50 = 0, p99 = 0, p999 = 0;
  // Write workloads: after flush + settle.
  int has_amp = 0;
  uint64_t disk_write_bytes = 0;
  uint64_t user_write_bytes = 0;
  uint64_t db_size = 0;
  uint64_t live_bytes = 0;
  long max_rss_kb = 0;  // the child's peak resident set when the workload ended
};

struct Failure {
  std::string what;
};

void Check(const std::string& err, const char* what) {
  if (!err.empty()) throw Failure{std::string(what) + ": " + err};
}

uint64_t DirSize(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2)) total += it->file_size(ec2);
  }
  return total;
}

// Waits for the engine's pending work, then until this process has written
// nothing for 300 ms (LevelDB compactions, anything the engine cannot report).
void Settle(Engine* e) {
  e->WaitForBackgroundWork();
  uint64_t last = peerbench::ProcessDiskWriteBytes();
  int quiet = 0;
  for (int i = 0; i < 600 && quiet < 3; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const uint64_t now = peerbench::ProcessDiskWriteBytes();
    quiet = now == last ? quiet + 1 : 0;
    last = now;
  }
  e->WaitForBackgroundWork();
}

// ------------------------------------------------------------------ workloads
// Each workload is one row of kWorkloads: how it gets its database, whether
// its run is a write measured for amplification, an optional settings change,
// the function that runs it and the line describing it in the report. Adding
// a workload is adding a row (and its run function).

// How a workload's database is set up before it runs (in the child).
enum class DbSetup {
  kNewWork,     // an empty database in the work directory (the fill workloads)
  kNewBase,     // an empty database in the base directory (only "prepare", which fills it)
  kBase,        // the base database, as it is (workloads that only read)
  kCopyOfBase,  // a fresh copy of the base database in the work directory (workloads that modify)
};

// What a run function works with and fills in, in the child process. The
// run function does the workload's operations on e (the engine is open),
// adds one latency sample per operation to hists (one histogram per thread),
// and sets r.ops, r.found and r.bytes; it may move start (the throughput
// clock) past its own setup, set r.seconds itself, and lower live_entries
// (entries live at the end, for S-amp; 0: unknown). It reports a failure by
// throwing Failure.
struct WorkloadRun {
  WorkloadRun(const std::string& name, const Config& c, Engine* e, uint64_t entry_bytes)
      : name(name), c(c), e(e), entry_bytes(entry_bytes), values(c.value_size) {}

  uint64_t reads() const { return Reads(c); }
  uint64_t seeks() const { return Seeks(c); }
  // readwhilewriting shares 2 cores with a writer: a tenth of the reads.
  uint64_t rww_reads() const { return std::max<uint64_t>(1, reads() / 10); }

  // Get with its latency added to h; returns 1 found, 0 not found (throws on
  // an error).
  int TimedGet(lsmkv::Histogram& h, const std::string& key, std::string* v) {
    const double t0 = Now();
    const int found = e->Get(key, v);
    h.Add((Now() - t0) * 1e6);
    if (found < 0) throw Failure{"get: " + *v};
    return found;
  }

  // Put (not synced) with its latency added to hists[0].
  void TimedPut(const std::string& key, std::string_view v) {
    const double t0 = Now();
    Check(e->Put(key, v, false), "put");
    hists[0].Add((Now() - t0) * 1e6);
  }

  const std::string& name;
  const Config& c;
  Engine* const e;
  const uint64_t entry_bytes;
  ChildResult r;
  std::vector<lsmkv::Histogram> hists = std::vector<lsmkv::Histogram>(1);
  ValueSource values;
  std::string value;  // scratch for Get
  uint64_t live_entries = c.num;
  double start = 0;
};

// fillseq, fillrandom, prepare: every key once, ascending or shuffled.
void RunFill(WorkloadRun* w, bool shuffled) {
  const Config& c = w->c;
  std::vector<uint64_t> order(c.num);
  for (uint64_t i = 0; i < c.num; i++) order[i] = i;
  if (shuffled) {
    lsmkv::Random shuffle(1000);
    for (uint64_t i = c.num; i > 1; i--) std::swap(order[i - 1], order[shuffle.Next64() % i]);
  }
  w->start = Now();
  for (uint64_t k : order) {
    const std::string key = MakeKey(k, c.key_size);
    const std::string_view v = w->values.Next();
    w->TimedPut(key, v);
    w->r.bytes += key.size() + v.size();
  }
  w->r.ops = c.num;
}

// fillsync, fillsync16: sync puts of random keys by threads threads, until
// sync_num puts or sync_seconds.
void RunFillSync(WorkloadRun* w, int threads) {
  const Config& c = w->c;
  w->hists.resize(static_cast<size_t>(threads));
  const uint64_t share = c.sync_num / static_cast<uint64_t>(threads);
  std::vector<std::thread> workers;
  std::vector<std::string> errors(static_cast<size_t>(threads));
  std::vector<uint64_t> done(static_cast<size_t>(threads));
  const double deadline = Now() + c.sync_seconds;
  for (int t = 0; t < threads; t++) {
    workers.emplace_back([&, t] {
      ValueSource vs(c.value_size);
      lsmkv::Random rnd(77 + static_cast<uint64_t>(t));
      for (uint64_t i = 0; i < share; i++) {
        const std::string key = MakeKey(rnd.Next64() % c.num, c.key_size);
        const double t0 = Now();
        if (t0 > deadline) return;
        std::string err = w->e->Put(key, vs.Next(), true);
        w->hists[static_cast<size_t>(t)].Add((Now() - t0) * 1e6);
        if (!err.empty()) {
          errors[static_cast<size_t>(t)] = err;
          return;
        }
        done[static_cast<size_t>(t)]++;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  for (auto& err : errors) Check(err, "sync put");
  for (uint64_t d : done) w->r.ops += d;
  w->r.bytes = w->r.ops * w->entry_bytes;
  w->live_entries = 0;  // unknown exactly (random keys with repeats); no space amp
}

void RunOverwrite(WorkloadRun* w) {
  lsmkv::Random rnd(2000);
  for (uint64_t i = 0; i < w->c.num; i++) {
    const std::string key = MakeKey(rnd.Next64() % w->c.num, w->c.key_size);
    w->TimedPut(key, w->values.Next());
  }
  w->r.ops = w->c.num;
  w->r.bytes = w->r.ops * w->entry_bytes;
}

void RunDeleteRandom(WorkloadRun* w) {
  lsmkv::Random rnd(3000);
  std::vector<bool> deleted(w->c.num);
  for (uint64_t i = 0; i < w->c.num; i++) {
    const uint64_t k = rnd.Next64() % w->c.num;
    const std::string key = MakeKey(k, w->c.key_size);
    const double t0 = Now();
    Check(w->e->Delete(key, false), "delete");
    w->hists[0].Add((Now() - t0) * 1e6);
    if (!deleted[k]) w->live_entries--;
    deleted[k] = true;
    w->r.bytes += key.size();
  }
  w->r.ops = w->c.num;
}

// readrandom, readmissing, readrandom-smallcache: gets of random keys, all
// present (missing: all absent).
void RunReadRandom(WorkloadRun* w, bool missing) {
  ChildResult& r = w->r;
  lsmkv::Random rnd(4000);
  for (uint64_t i = 0; i < w->reads(); i++) {
    std::string key = MakeKey(rnd.Next64() % w->c.num, w->c.key_size);
    if (missing) key.back() = '.';
    if (w->TimedGet(w->hists[0], key, &w->value) == 1) {
      r.found++;
      r.bytes += key.size() + w->value.size();
    }
  }
  r.ops = w->reads();
  if (!missing && r.found != r.ops)
    throw Failure{"readrandom found " + std::to_string(r.found) + " of " + std::to_string(r.ops)};
}

// readrandom-2t, readrandom-4t: readrandom split among threads threads
// (each its own keys, histogram and buffer), all present; ops/s counts them
// all, so the ratio to readrandom is the scaling with threads.
void RunReadRandomThreads(WorkloadRun* w, int threads) {
  ChildResult& r = w->r;
  const Config& c = w->c;
  w->hists.resize(static_cast<size_t>(threads));
  const uint64_t share = w->reads() / static_cast<uint64_t>(threads);
  std::vector<uint64_t> found(static_cast<size_t>(threads));
  std::vector<uint64_t> bytes(static_cast<size_t>(threads));
  std::vector<std::string> errors(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  w->start = Now();
  for (int t = 0; t < threads; t++) {
    workers.emplace_back([&, t] {
      const size_t i = static_cast<size_t>(t);
      lsmkv::Random rnd(4000 + static_cast<uint64_t>(t));
      std::string value;
      for (uint64_t n = 0; n < share; n++) {
        const std::string key = MakeKey(rnd.Next64() % c.num, c.key_size);
        const double t0 = Now();
        const int f = w->e->Get(key, &value);
        w->hists[i].Add((Now() - t0) * 1e6);
        if (f < 0) {
          errors[i] = "get: " + value;
          return;
        }
        if (f == 1) {
          found[i]++;
          bytes[i] += key.size() + value.size();
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  r.seconds = Now() - w->start;
  for (const auto& err : errors) Check(err, "get");
  for (int t = 0; t < threads; t++) {
    r.found += found[static_cast<size_t>(t)];
    r.bytes += bytes[static_cast<size_t>(t)];
  }
  r.ops = share * static_cast<uint64_t>(threads);
  if (r.found != r.ops)
    throw Failure{"readrandom found " + std::to_string(r.found) + " of " + std::to_string(r.ops)};
}

// readseq, readreverse: a full scan, which must see every entry.
void RunFullScan(WorkloadRun* w, bool fwd) {
  ChildResult& r = w->r;
  std::unique_ptr<peerbench::EngineIterator> it = w->e->NewIterator();
  double t0 = Now();
  if (fwd)
    it->SeekToFirst();
  else
    it->SeekToLast();
  while (it->Valid()) {
    r.bytes += it->key().size() + it->value().size();
    r.ops++;
    if (fwd)
      it->Next();
    else
      it->Prev();
    const double t1 = Now();
    w->hists[0].Add((t1 - t0) * 1e6);
    t0 = t1;
  }
  Check(it->status(), "iterator");
  r.found = r.ops;
  if (r.ops != w->c.num) throw Failure{w->name + " saw " + std::to_string(r.ops) + " entries"};
}

void RunSeekRandom(WorkloadRun* w) {
  ChildResult& r = w->r;
  lsmkv::Random rnd(5000);
  std::unique_ptr<peerbench::EngineIterator> it = w->e->NewIterator();
  for (uint64_t i = 0; i < w->seeks(); i++) {
    const std::string key = MakeKey(rnd.Next64() % w->c.num, w->c.key_size);
    const double t0 = Now();
    it->Seek(key);
    for (int n = 0; n < 10 && it->Valid(); n++) {
      r.bytes += it->key().size() + it->value().size();
      it->Next();
    }
    w->hists[0].Add((Now() - t0) * 1e6);
    if (it->Valid() || i + 10 >= w->c.num) r.found++;
  }
  Check(it->status(), "iterator");
  r.ops = w->seeks();
}

// One reader (measured) while one writer overwrites random keys.
void RunReadWhileWriting(WorkloadRun* w) {
  ChildResult& r = w->r;
  const Config& c = w->c;
  std::atomic<bool> done{false};
  std::string writer_error;
  std::thread writer([&] {
    lsmkv::Random rnd(6000);
    ValueSource vs(c.value_size);
    while (!done.load(std::memory_order_relaxed)) {
      std::string err = w->e->Put(MakeKey(rnd.Next64() % c.num, c.key_size), vs.Next(), false);
      if (!err.empty()) {
        writer_error = err;
        return;
      }
    }
  });
  lsmkv::Random rnd(6001);
  w->start = Now();
  try {
    for (uint64_t i = 0; i < w->rww_reads(); i++) {
      const std::string key = MakeKey(rnd.Next64() % c.num, c.key_size);
      if (w->TimedGet(w->hists[0], key, &w->value) == 1) {
        r.found++;
        r.bytes += key.size() + w->value.size();
      }
    }
  } catch (...) {
    done = true;
    writer.join();
    throw;
  }
  r.seconds = Now() - w->start;
  done = true;
  writer.join();
  Check(writer_error, "writer put");
  r.ops = w->rww_reads();
}

// 50% gets, 50% updates of zipfian keys.
void RunYcsbA(WorkloadRun* w) {
  ChildResult& r = w->r;
  Zipfian zipf(w->c.num, 7000);
  lsmkv::Random rnd(7001);
  w->start = Now();
  for (uint64_t i = 0; i < w->reads(); i++) {
    const std::string key = MakeKey(zipf.Next(), w->c.key_size);
    if (rnd.OneIn(2)) {
      if (w->TimedGet(w->hists[0], key, &w->value) == 1) r.found++;
      r.bytes += key.size() + w->value.size();
    } else {
      const std::string_view v = w->values.Next();
      w->TimedPut(key, v);
      r.bytes += key.size() + v.size();
    }
  }
  r.ops = w->reads();
}

// 95% scans of 1..100 entries from a zipfian key, 5% inserts of new keys.
void RunYcsbE(WorkloadRun* w) {
  ChildResult& r = w->r;
  Zipfian zipf(w->c.num, 8000);
  lsmkv::Random rnd(8001);
  uint64_t next_insert = w->c.num;
  w->start = Now();
  for (uint64_t i = 0; i < w->seeks(); i++) {
    const double t0 = Now();
    if (rnd.Uniform(100) < 95) {
      const std::string key = MakeKey(zipf.Next(), w->c.key_size);
      const uint32_t len = 1 + rnd.Uniform(100);
      std::unique_ptr<peerbench::EngineIterator> it = w->e->NewIterator();
      it->Seek(key);
      for (uint32_t n = 0; n < len && it->Valid(); n++) {
        r.bytes += it->key().size() + it->value().size();
        it->Next();
      }
      Check(it->status(), "iterator");
    } else {
      const std::string key = MakeKey(next_insert++, w->c.key_size);
      const std::string_view v = w->values.Next();
      Check(w->e->Put(key, v, false), "put");
      r.bytes += key.size() + v.size();
    }
    w->hists[0].Add((Now() - t0) * 1e6);
  }
  r.ops = w->seeks();
}

// The figures a workload's report line quotes.
struct NoteArgs {
  const Config& c;
  uint64_t reads;
  uint64_t seeks;
};

std::string Count(uint64_t v) { return std::to_string(v); }

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

// kWrite: after the run the engine is flushed and settled, and the run
// reports W-amp and S-amp (disk bytes written, database size).
enum class Kind { kRead, kWrite };

struct Workload {
  const char* name;
  DbSetup setup;
  Kind kind;
  void (*adjust_settings)(const Config& c, uint64_t entry_bytes, EngineSettings* s);  // or null
  void (*run)(WorkloadRun* w);
  std::string (*note)(const NoteArgs& a);  // what the workload does, for the report

  bool needs_base() const { return setup == DbSetup::kBase || setup == DbSetup::kCopyOfBase; }
};

// Every workload --benchmarks accepts, in the order of --benchmarks=all.
const Workload kWorkloads[] = {
    {"fillseq", DbSetup::kNewWork, Kind::kWrite, nullptr,
     [](WorkloadRun* w) { RunFill(w, /*shuffled=*/false); },
     [](const NoteArgs& a) { return Count(a.c.num) + " puts, ascending keys"; }},
    {"fillrandom", DbSetup::kNewWork, Kind::kWrite, nullptr,
     [](WorkloadRun* w) { RunFill(w, /*shuffled=*/true); },
     [](const NoteArgs& a) { return Count(a.c.num) + " puts, random order, each key once"; }},
    {"overwrite", DbSetup::kCopyOfBase, Kind::kWrite, nullptr, RunOverwrite,
     [](const NoteArgs& a) { return Count(a.c.num) + " puts of random existing keys"; }},
    {"fillsync", DbSetup::kNewWork, Kind::kWrite, nullptr,
     [](WorkloadRun* w) { RunFillSync(w, 1); },
     [](const NoteArgs& a) {
       return Count(a.c.sync_num) + " sync puts (at most " + Fmt("%.0f", a.c.sync_seconds) +
              " s), 1 thread";
     }},
    {"fillsync16", DbSetup::kNewWork, Kind::kWrite, nullptr,
     [](WorkloadRun* w) { RunFillSync(w, 16); },
     [](const NoteArgs& a) {
       return Count(a.c.sync_num) + " sync puts (at most " + Fmt("%.0f", a.c.sync_seconds) +
              " s), 16 threads";
     }},
    {"readrandom", DbSetup::kBase, Kind::kRead, nullptr,
     [](WorkloadRun* w) { RunReadRandom(w, /*missing=*/false); },
     [](const NoteArgs& a) { return Count(a.reads) + " gets, all present"; }},
    {"readrandom-2t", DbSetup::kBase, Kind::kRead, nullptr,
     [](WorkloadRun* w) { RunReadRandomThreads(w, 2); },
     [](const NoteArgs& a) { return Count(a.reads) + " gets, all present, 2 threads"; }},
    {"readrandom-4t", DbSetup::kBase, Kind::kRead, nullptr,
     [](WorkloadRun* w) { RunReadRandomThreads(w, 4); },
     [](const NoteArgs& a) { return Count(a.reads) + " gets, all present, 4 threads"; }},
    {"readmissing", DbSetup::kBase, Kind::kRead, nullptr,
     [](WorkloadRun* w) { RunReadRandom(w, /*missing=*/true); },
     [](const NoteArgs& a) { return Count(a.reads) + " gets, all absent"; }},
    {"readseq", DbSetup::kBase, Kind::kRead, nullptr,
     [](WorkloadRun* w) { RunFullScan(w, /*fwd=*/true); },
     [](const NoteArgs&) { return std::string("full forward scan"); }},
    {"readreverse", DbSetup::kBase, Kind::kRead, nullptr,
     [](WorkloadRun* w) { RunFullScan(w, /*fwd=*/false); },
     [](const NoteArgs&) { return std::string("full reverse scan"); }},
    {"seekrandom", DbSetup::kBase, Kind::kRead, nullptr, RunSeekRandom,
     [](const NoteArgs& a) { return Count(a.seeks) + " seeks + 10 Next"; }},
    {"deleterandom", DbSetup::kCopyOfBase, Kind::kWrite, nullptr, RunDeleteRandom,
     [](const NoteArgs& a) { return Count(a.c.num) + " deletes of random keys"; }},
    {"readwhilewriting", DbSetup::kCopyOfBase, Kind::kRead, nullptr, RunReadWhileWriting,
     [](const NoteArgs& a) {
       return Count(std::max<uint64_t>(1, a.reads / 10)) +
              " gets by 1 reader while 1 writer overwrites";
     }},
    {"ycsb-a", DbSetup::kCopyOfBase, Kind::kRead, nullptr, RunYcsbA,
     [](const NoteArgs& a) { return Count(a.reads) + " ops, zipfian 0.99, 50% get / 50% update"; }},
    {"ycsb-e", DbSetup::kCopyOfBase, Kind::kRead, nullptr, RunYcsbE,
     [](const NoteArgs& a) {
       return Count(a.seeks) + " ops, zipfian 0.99, 95% scan 1-100 / 5% insert";
     }},
    {"readrandom-smallcache", DbSetup::kBase, Kind::kRead,
     [](const Config& c, uint64_t entry_bytes, EngineSettings* s) {
       s->block_cache_size = std::max<uint64_t>(64 << 10, c.num * entry_bytes / 4);
     },
     [](WorkloadRun* w) { RunReadRandom(w, /*missing=*/false); },
     [](const NoteArgs& a) { return Count(a.reads) + " gets, block cache = 1/4 of the data"; }},
};

// The base database of the read workloads: fillrandom into the base
// directory, flushed and settled. Not a --benchmarks choice.
const Workload kPrepare = {"prepare",
                           DbSetup::kNewBase,
                           Kind::kWrite,
                           nullptr,
                           [](WorkloadRun* w) { RunFill(w, /*shuffled=*/true); },
                           [](const NoteArgs&) { return std::string(); }};

// The row of kWorkloads named name; nullptr if there is none.
const Workload* FindWorkload(const std::string& name) {
  for (const Workload& w : kWorkloads) {
    if (name == w.name) return &w;
  }
  return nullptr;
}

class Runner {
 public:
  explicit Runner(const Config& c)
      : c_(c), entry_bytes_(static_cast<uint64_t>(c.key_size + c.value_size)) {}

  std::string BaseDir(const std::string& engine) const { return c_.db + "/base-" + engine; }
  std::string WorkDir(const std::string& engine) const { return c_.db + "/work-" + engine; }

  // Runs one workload on one engine in this (child) process.
  ChildResult RunWorkload(const Workload& workload, const std::string& engine_name) {
    std::unique_ptr<Engine> e = peerbench::NewEngine(engine_name);
    EngineSettings s = c_.settings;
    const std::string dir = SetUpDirectory(workload.setup, engine_name, e.get());
    if (workload.adjust_settings != nullptr) workload.adjust_settings(c_, entry_bytes_, &s);
    Check(e->Open(dir, s), "open");
    ChildResult r = Measure(workload, e.get(), dir, /*settle=*/true);
    Check(e->Close(), "close");
    return r;
  }

  // Runs the workloads of seq in order on one engine in this (child)
  // process, as db_bench does: one database, open throughout, each workload
  // on the state the previous one left (no flush, no settling); a workload
  // whose setup is kNewWork starts a fresh database. Returns one result per
  // workload; after a failure the rest fail with "not run".
  std::vector<ChildResult> RunSequence(const std::vector<const Workload*>& seq,
                                       const std::string& engine_name) {
    std::vector<ChildResult> results(seq.size());
    const std::string dir = WorkDir(engine_name);
    std::unique_ptr<Engine> e;
    size_t i = 0;
    try {
      for (; i < seq.size(); i++) {
        const Workload& workload = *seq[i];
        if (workload.setup == DbSetup::kNewWork || !e) {
          if (e) Check(e->Close(), "close");
          e = peerbench::NewEngine(engine_name);
          e->Destroy(dir);
          Check(e->Open(dir, c_.settings), "open");
        }
        results[i] = Measure(workload, e.get(), dir, /*settle=*/false);
      }
      if (e) Check(e->Close(), "close");
    } catch (const Failure& f) {
      if (i < seq.size()) {
        std::snprintf(results[i].error, sizeof(results[i].error), "%s", f.what.c_str());
        for (size_t j = i + 1; j < seq.size(); j++)
          std::snprintf(results[j].error, sizeof(results[j].error), "not run: %s failed",
                        seq[i]->name);
      }
    }
    return results;
  }

  // Forks a child for one workload on one engine; returns its result.
  ChildResult RunInChild(const Workload& workload, const std::string& engine) {
    return ForkAndCollect(1,
                          [&] { return std::vector<ChildResult>{RunWorkload(workload, engine)}; })
        .at(0);
  }

  // Forks a child for the sequence seq on one engine; returns one result per
  // workload.
  std::vector<ChildResult> RunSequenceInChild(const std::vector<const Workload*>& seq,
                                              const std::string& engine) {
    return ForkAndCollect(seq.size(), [&] { return RunSequence(seq, engine); });
  }

 private:
  // Runs workload on the open engine e (its database in dir) and measures
  // it. A write workload with settle set is then flushed and settled, and
  // its W-amp and S-amp figures are filled in. Throws Failure.
  ChildResult Measure(const Workload& workload, Engine* e, const std::string& dir, bool settle) {
    const std::string name = workload.name;
    WorkloadRun w(name, c_, e, entry_bytes_);
    const uint64_t io0 = peerbench::ProcessDiskWriteBytes();
    w.start = Now();
    workload.run(&w);
    ChildResult& r = w.r;
    if (r.seconds == 0) r.seconds = Now() - w.start;
    lsmkv::Histogram all;
    for (const auto& h : w.hists) all.Merge(h);
    r.p50 = all.Percentile(50);
    r.p99 = all.Percentile(99);
    r.p999 = all.Percentile(99.9);

    if (workload.kind == Kind::kWrite && settle) {
      Check(e->Flush(), "flush");
      Settle(e);
      r.has_amp = 1;
      r.disk_write_bytes = peerbench::ProcessDiskWriteBytes() - io0;
      r.user_write_bytes = r.bytes;
      r.live_bytes = w.live_entries * entry_bytes_;
      r.db_size = DirSize(dir);
    }
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    r.max_rss_kb = ru.ru_maxrss;  // the process's peak so far
    r.ok = 1;
    return r;
  }

  // Forks a child that runs body (returning n results; exceptions become
  // failed results) and sends them back through a pipe. Returns the n
  // results; those the child did not deliver are failures naming its exit
  // status.
  template <typename Body>
  std::vector<ChildResult> ForkAndCollect(size_t n, Body body) {
    std::fflush(stdout);
    std::fflush(stderr);
    int fds[2];
    if (pipe(fds) != 0) {
      std::perror("pipe");
      std::exit(1);
    }
    const pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      std::exit(1);
    }
    if (pid == 0) {
      close(fds[0]);
      std::vector<ChildResult> results(n);
      try {
        results = body();
      } catch (const Failure& f) {
        std::snprintf(results[0].error, sizeof(results[0].error), "%s", f.what.c_str());
      } catch (const std::exception& ex) {
        std::snprintf(results[0].error, sizeof(results[0].error), "%s", ex.what());
      }
      results.resize(n);
      const char* p = reinterpret_cast<const char*>(results.data());
      size_t left = n * sizeof(ChildResult);
      while (left > 0) {
        const ssize_t k = write(fds[1], p, left);
        if (k <= 0) break;
        p += k;
        left -= static_cast<size_t>(k);
      }
      _exit(0);
    }
    close(fds[1]);
    std::vector<ChildResult> results(n);
    char* p = reinterpret_cast<char*>(results.data());
    const size_t want = n * sizeof(ChildResult);
    size_t got = 0;
    while (got < want) {
      const ssize_t k = read(fds[0], p + got, want - got);
      if (k <= 0) break;
      got += static_cast<size_t>(k);
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    for (size_t i = got / sizeof(ChildResult); i < n; i++) {
      results[i] = ChildResult();
      std::snprintf(results[i].error, sizeof(results[i].error), "child died (status %d)", status);
    }
    return results;
  }

 private:
  // Sets up the database directory of a workload on one engine as setup
  // says (removing what a fresh database replaces) and returns it.
  std::string SetUpDirectory(DbSetup setup, const std::string& engine_name, Engine* e) const {
    const std::string base = BaseDir(engine_name);
    const std::string work = WorkDir(engine_name);
    switch (setup) {
      case DbSetup::kNewWork:
        e->Destroy(work);
        return work;
      case DbSetup::kNewBase:
        e->Destroy(base);
        return base;
      case DbSetup::kBase:
        return base;
      case DbSetup::kCopyOfBase:
        e->Destroy(work);
        fs::copy(base, work, fs::copy_options::recursive);
        return work;
    }
    return base;
  }

  const Config& c_;
  const uint64_t entry_bytes_;
};

// ------------------------------------------------------------------ machine limits
struct MachineLimits {
  double fdatasync_per_sec = 0;
  double seq_write_mbps = 0;
  double seq_read_mbps = 0;
};

MachineLimits MeasureMachine(const std::string& dir, uint64_t mb) {
  MachineLimits m;
  fs::create_directories(dir);
  const std::string path = dir + "/machine_probe";
  std::vector<char> buf(1 << 20, 'x');
  // fdatasync after each 4 KiB append, for about a second.
  int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) return m;
  int syncs = 0;
  double start = Now();
  while (Now() - start < 1.0 && syncs < 20000) {
    if (write(fd, buf.data(), 4096) != 4096 || fdatasync(fd) != 0) break;
    syncs++;
  }
  m.fdatasync_per_sec = syncs / (Now() - start);
  close(fd);
  // Sequential write of mb MiB in 1 MiB writes, with a final fsync.
  fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  start = Now();
  for (uint64_t i = 0; i < mb; i++) {
    if (write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) break;
  }
  fsync(fd);
  m.seq_write_mbps = static_cast<double>(mb) / (Now() - start);
  close(fd);
  // Read it back (from the page cache: it was just written).
  fd = open(path.c_str(), O_RDONLY);
  start = Now();
  uint64_t total = 0;
  ssize_t n;
  while ((n = read(fd, buf.data(), buf.size())) > 0) total += static_cast<uint64_t>(n);
  m.seq_read_mbps = static_cast<double>(total) / 1048576.0 / (Now() - start);
  close(fd);
  unlink(path.c_str());
  return m;
}

// ------------------------------------------------------------------ reporting
double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Summary {
  bool ok = false;
  std::string error;
  double ops_min = 0, ops_med = 0, ops_max = 0, mbps = 0, p50 = 0, p99 = 0, p999 = 0;
  double rss_mib = 0, wamp = -1, samp = -1;
};

Summary Summarize(const std::vector<ChildResult>& runs) {
  Summary s;
  std::vector<double> ops, mbps, rss, wamp, samp;
  std::vector<const ChildResult*> good;
  for (const auto& r : runs) {
    if (!r.ok) {
      s.error = r.error;
      continue;
    }
    good.push_back(&r);
    ops.push_back(static_cast<double>(r.ops) / r.seconds);
    mbps.push_back(static_cast<double>(r.bytes) / r.seconds / 1048576.0);
    rss.push_back(static_cast<double>(r.max_rss_kb) / 1024.0);
    if (r.has_amp && r.user_write_bytes > 0)
      wamp.push_back(static_cast<double>(r.disk_write_bytes) /
                     static_cast<double>(r.user_write_bytes));
    if (r.has_amp && r.live_bytes > 0)
      samp.push_back(static_cast<double>(r.db_size) / static_cast<double>(r.live_bytes));
  }
  if (good.empty()) return s;
  s.ok = s.error.empty();
  s.ops_min = *std::min_element(ops.begin(), ops.end());
  s.ops_max = *std::max_element(ops.begin(), ops.end());
  s.ops_med = Median(ops);
  s.mbps = Median(mbps);
  // Latency percentiles of the median-throughput run.
  std::vector<size_t> idx(good.size());
  for (size_t i = 0; i < idx.size(); i++) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return ops[a] < ops[b]; });
  const ChildResult* mid = good[idx[idx.size() / 2]];
  s.p50 = mid->p50;
  s.p99 = mid->p99;
  s.p999 = mid->p999;
  s.rss_mib = Median(rss);
  if (!wamp.empty()) s.wamp = Median(wamp);
  if (!samp.empty()) s.samp = Median(samp);
  return s;
}

std::string Amp(double v) { return v < 0 ? "-" : Fmt("%.2f", v); }

std::string Lat(double us) {
  if (us >= 10000) return Fmt("%.0f", us);
  if (us >= 100) return Fmt("%.0f", us);
  return Fmt("%.1f", us);
}

std::string ShellQuote(const std::string& s) {
  if (s.find_first_of(" \t'\"$\\") == std::string::npos) return s;
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

std::string ReadFirstLine(const char* path, const char* prefix) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// ------------------------------------------------------------------ the run

// Parses the command line into *c (c->command: the command line, quoted).
// Returns an exit code to stop with (usage errors, --help), or nullopt to go
// on.
std::optional<int> ParseFlags(int argc, char** argv, Config* c) {
  for (int i = 0; i < argc; i++) c->command += (i ? " " : "") + ShellQuote(argv[i]);
  if (const char* env = std::getenv("BENCH_NUM")) c->num = std::strtoull(env, nullptr, 10);
  CLI::App app{"lsmkv_peer_bench: lsmkv, RocksDB and LevelDB on db_bench-style workloads"};
  app.add_option("--db", c->db, "scratch directory (removed)")->capture_default_str();
  app.add_option("--benchmarks", c->benchmarks, "comma-separated workloads or 'all'")
      ->capture_default_str();
  app.add_option("--engines", c->engines, "comma-separated engines")->capture_default_str();
  app.add_option("--mode", c->mode,
                 "settled: --benchmarks, each on its own settled database; sequence: "
                 "--sequence on one database per engine, state carried over (db_bench's way); "
                 "both")
      ->capture_default_str()
      ->check(CLI::IsMember({"settled", "sequence", "both"}));
  app.add_option("--sequence", c->sequence, "the workloads of the sequence mode, in order")
      ->capture_default_str();
  app.add_option("--num", c->num, "entries (default BENCH_NUM or 1000000)")->capture_default_str();
  app.add_option("--reads", c->reads,
                 "ops of get workloads and ycsb-a (0: num; readwhilewriting: a tenth)")
      ->capture_default_str();
  app.add_option("--seeks", c->seeks, "ops of seekrandom and ycsb-e (0: num/10)")
      ->capture_default_str();
  app.add_option("--sync_num", c->sync_num, "puts of fillsync workloads")->capture_default_str();
  app.add_option("--sync_seconds", c->sync_seconds, "fillsync runs stop after this many seconds")
      ->capture_default_str();
  app.add_option("--runs", c->runs, "runs per engine and workload")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--key_size", c->key_size, "key bytes")
      ->capture_default_str()
      ->check(CLI::Range(8, 1024));
  app.add_option("--value_size", c->value_size, "value bytes")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--write_buffer_size", c->settings.write_buffer_size, "memtable bytes")
      ->capture_default_str();
  app.add_option("--lsmkv_memtable_run_size", c->settings.lsmkv_memtable_run_size,
                 "lsmkv's Options::memtable_run_size (default: lsmkv's default)");
  app.add_option("--block_size", c->settings.block_size, "table block bytes")
      ->capture_default_str();
  app.add_option("--bloom_bits", c->settings.bloom_bits, "bloom bits per key")
      ->capture_default_str();
  app.add_option("--cache_size", c->settings.block_cache_size, "block cache bytes")
      ->capture_default_str();
  app.add_option("--compression", c->settings.compression, "none|snappy|lz4|zstd")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "snappy", "lz4", "zstd"}));
  app.add_option("--rocksdb_background_jobs", c->settings.rocksdb_background_jobs,
                 "RocksDB max_background_jobs")
      ->capture_default_str();
  app.add_option("--report", c->report, "write a markdown report here");
  app.add_option("--machine_mb", c->machine_mb, "MiB for the sequential bandwidth probes")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (c->num < 100) {
    std::fprintf(stderr, "--num must be at least 100\n");
    return 2;
  }
  return std::nullopt;
}

// The workloads of --benchmarks, in its order ("all": kWorkloads' order).
// False after a message on stderr if one is unknown.
bool SelectWorkloads(const Config& c, std::vector<std::string>* workloads) {
  if (c.benchmarks == "all") {
    for (const Workload& w : kWorkloads) workloads->push_back(w.name);
    return true;
  }
  *workloads = Split(c.benchmarks);
  for (const auto& w : *workloads) {
    if (FindWorkload(w) == nullptr) {
      std::fprintf(stderr, "unknown workload %s\n", w.c_str());
      return false;
    }
  }
  return true;
}

// The workloads of --sequence, in its order. False after a message on
// stderr if one is unknown, the first does not start a fresh database, or
// one needs the settled base database's preparation.
bool SelectSequence(const Config& c, std::vector<std::string>* sequence) {
  *sequence = Split(c.sequence);
  for (const auto& w : *sequence) {
    if (FindWorkload(w) == nullptr) {
      std::fprintf(stderr, "unknown workload %s in --sequence\n", w.c_str());
      return false;
    }
  }
  if (sequence->empty() || FindWorkload(sequence->front())->setup != DbSetup::kNewWork) {
    std::fprintf(stderr, "--sequence must start with a fill workload (a fresh database)\n");
    return false;
  }
  return true;
}

// The engines of --engines that support --compression (the others are
// skipped with a note on stdout). False after a message on stderr if one is
// unknown.
bool SelectEngines(const Config& c, std::vector<std::string>* engines) {
  for (const auto& name : Split(c.engines)) {
    std::unique_ptr<Engine> e = peerbench::NewEngine(name);
    if (!e) {
      std::fprintf(stderr, "unknown engine %s\n", name.c_str());
      return false;
    }
    if (!e->SupportsCompression(c.settings.compression)) {
      std::printf("note: %s does not support %s compression: skipped\n", name.c_str(),
                  c.settings.compression.c_str());
      continue;
    }
    engines->push_back(name);
  }
  return true;
}

// The engines' settings side by side, as a markdown table and as text.
struct SettingsTables {
  std::string markdown;
  std::string text;
};

SettingsTables DescribeSettings(const std::vector<std::string>& engines,
                                const EngineSettings& settings) {
  std::vector<std::vector<std::string>> described;
  for (const auto& name : engines)
    described.push_back(peerbench::NewEngine(name)->DescribeSettings(settings));
  std::ostringstream settings_md, settings_txt;
  settings_md << "| setting |";
  for (const auto& name : engines) settings_md << " " << name << " |";
  settings_md << "\n|---|";
  for (size_t i = 0; i < engines.size(); i++) settings_md << "---|";
  settings_md << "\n";
  {
    char line[512];
    std::snprintf(line, sizeof(line), "%-24s", "setting");
    settings_txt << line;
    for (const auto& name : engines) {
      std::snprintf(line, sizeof(line), " %-36s", name.c_str());
      settings_txt << line;
    }
    settings_txt << "\n";
  }
  const auto labels = peerbench::SettingLabels();
  for (size_t i = 0; i < labels.size(); i++) {
    settings_md << "| " << labels[i] << " |";
    char line[512];
    std::snprintf(line, sizeof(line), "%-24s", labels[i].c_str());
    settings_txt << line;
    for (size_t e = 0; e < engines.size(); e++) {
      settings_md << " " << described[e][i] << " |";
      std::snprintf(line, sizeof(line), " %-36s", described[e][i].c_str());
      settings_txt << line;
    }
    settings_md << "\n";
    settings_txt << "\n";
  }
  return {settings_md.str(), settings_txt.str()};
}

// Fills each engine's base database (kPrepare) if a workload needs one, and
// prints how long it took. Returns the error of each engine whose base
// failed (its workloads that need a base then fail without running).
std::map<std::string, std::string> PrepareBases(Runner* runner, const Config& c,
                                                const std::vector<std::string>& workloads,
                                                const std::vector<std::string>& engines) {
  std::map<std::string, std::string> base_error;
  bool need_base = false;
  for (const auto& w : workloads)
    if (FindWorkload(w)->needs_base()) need_base = true;
  if (!need_base) return base_error;
  for (const auto& name : engines) {
    const double t0 = Now();
    ChildResult r = runner->RunInChild(kPrepare, name);
    if (!r.ok) base_error[name] = r.error;
    std::printf("prepared %s base: %" PRIu64 " entries in %.1f s%s%s\n", name.c_str(), c.num,
                Now() - t0, r.ok ? "" : ", FAILED: ", r.error);
  }
  std::printf("\n");
  return base_error;
}

// results[workload][engine].
using Results = std::map<std::string, std::map<std::string, Summary>>;

void PrintSummaryHeader() {
  std::printf("%-22s %-8s %12s %12s %12s %8s %9s %9s %9s %8s %6s %6s\n", "workload", "engine",
              "ops/s med", "min", "max", "MB/s", "p50 us", "p99 us", "p99.9 us", "RSS MiB", "W-amp",
              "S-amp");
}

// Summarizes the runs of workload w on each engine into results[w], prints
// one line per engine, and sets *any_failed if a run failed.
void SummarizeWorkload(const std::string& w, const std::vector<std::string>& engines,
                       std::map<std::string, std::vector<ChildResult>>& runs, Results* results,
                       bool* any_failed) {
  for (const auto& name : engines) {
    Summary s = Summarize(runs[name]);
    (*results)[w][name] = s;
    if (!s.ok) *any_failed = true;
    if (!s.ok && s.ops_med == 0) {
      std::printf("%-22s %-8s FAILED: %s\n", w.c_str(), name.c_str(), s.error.c_str());
      continue;
    }
    std::printf("%-22s %-8s %12.0f %12.0f %12.0f %8.1f %9s %9s %9s %8.1f %6s %6s%s%s\n", w.c_str(),
                name.c_str(), s.ops_med, s.ops_min, s.ops_max, s.mbps, Lat(s.p50).c_str(),
                Lat(s.p99).c_str(), Lat(s.p999).c_str(), s.rss_mib, Amp(s.wamp).c_str(),
                Amp(s.samp).c_str(),
                s.ok ? "" : "  (some runs failed: ", s.ok ? "" : (s.error + ")").c_str());
  }
  std::fflush(stdout);
}

// Runs every workload c.runs times on every engine, the engines alternating
// within each round, and prints one summary line per workload and engine.
// Sets *any_failed if a run failed.
Results RunWorkloads(Runner* runner, const Config& c, const std::vector<std::string>& workloads,
                     const std::vector<std::string>& engines,
                     const std::map<std::string, std::string>& base_error, bool* any_failed) {
  PrintSummaryHeader();
  Results results;
  for (const auto& w : workloads) {
    const Workload& workload = *FindWorkload(w);
    std::map<std::string, std::vector<ChildResult>> runs;
    for (int run = 0; run < c.runs; run++) {
      for (const auto& name : engines) {
        if (workload.needs_base() && base_error.count(name)) {
          ChildResult r;
          std::snprintf(r.error, sizeof(r.error), "no base database: %s",
                        base_error.at(name).c_str());
          runs[name].push_back(r);
          continue;
        }
        runs[name].push_back(runner->RunInChild(workload, name));
      }
    }
    SummarizeWorkload(w, engines, runs, &results, any_failed);
  }
  return results;
}

// Runs the sequence c.runs times on every engine (one child per engine and
// round, the engines alternating within each round) and prints one summary
// line per workload and engine. Sets *any_failed if a run failed.
Results RunSequences(Runner* runner, const Config& c, const std::vector<std::string>& sequence,
                     const std::vector<std::string>& engines, bool* any_failed) {
  std::vector<const Workload*> seq;
  for (const auto& w : sequence) seq.push_back(FindWorkload(w));
  // runs[workload][engine]
  std::map<std::string, std::map<std::string, std::vector<ChildResult>>> runs;
  for (int run = 0; run < c.runs; run++) {
    for (const auto& name : engines) {
      const double t0 = Now();
      std::vector<ChildResult> rs = runner->RunSequenceInChild(seq, name);
      for (size_t i = 0; i < seq.size(); i++) runs[sequence[i]][name].push_back(rs[i]);
      std::printf("sequence round %d, %s: %.1f s\n", run + 1, name.c_str(), Now() - t0);
    }
  }
  std::printf("\n");
  PrintSummaryHeader();
  Results results;
  for (const auto& w : sequence) SummarizeWorkload(w, engines, runs[w], &results, any_failed);
  return results;
}

// Per workload: lsmkv's median ops/s divided by the best peer's, as
// "1.23x (vs rocksdb)" or "-" (no figure). Empty without lsmkv or a peer.
std::map<std::string, std::string> Ratios(const std::vector<std::string>& workloads,
                                          const std::vector<std::string>& engines,
                                          const Results& results) {
  std::map<std::string, std::string> ratio;
  const bool have_lsmkv = std::find(engines.begin(), engines.end(), "lsmkv") != engines.end();
  if (!have_lsmkv || engines.size() <= 1) return ratio;
  for (const auto& w : workloads) {
    const Summary& l = results.at(w).at("lsmkv");
    double best = 0;
    std::string best_name;
    for (const auto& name : engines) {
      if (name == "lsmkv") continue;
      if (results.at(w).at(name).ops_med > best) {
        best = results.at(w).at(name).ops_med;
        best_name = name;
      }
    }
    if (best > 0 && l.ops_med > 0)
      ratio[w] = Fmt("%.2fx", l.ops_med / best) + " (vs " + best_name + ")";
    else
      ratio[w] = "-";
  }
  return ratio;
}

// ------------------------------------------------------------------ the report

// Everything the markdown report shows besides the Config.
struct Outcome {
  bool settled = false;                // the settled mode ran
  bool sequence = false;               // the sequence mode ran
  std::vector<std::string> workloads;  // settled mode
  std::vector<std::string> sequence_workloads;
  Results sequence_results;
  std::map<std::string, std::string> sequence_ratio;
  std::vector<std::string> engines;
  std::string settings_md;
  MachineLimits machine;
  Results results;
  std::map<std::string, std::string> ratio;
  double elapsed = 0;
};

// The title, the machine and the settings sections.
void WriteReportIntro(std::ostream& out, const Config& c, const Outcome& o) {
  struct utsname u {};
  uname(&u);
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::string mem = ReadFirstLine("/proc/meminfo", "MemTotal:");
  std::string cpu = ReadFirstLine("/proc/cpuinfo", "model name");
  if (auto p = cpu.find(':'); p != std::string::npos) cpu = cpu.substr(p + 2);
  if (auto p = mem.find_first_of("0123456789"); p != std::string::npos) mem = mem.substr(p);

  out << "# lsmkv vs RocksDB vs LevelDB\n\n";
  out << "Generated by `lsmkv_peer_bench` on " << date << " in " << Fmt("%.0f", o.elapsed)
      << " s.\n\n";
  out << "> **Caveat:** " << kCaveat << ".\n\n";
  out << "Command: `" << c.command << "`\n\n";
  out << "## Machine\n\n";
  out << "- " << std::thread::hardware_concurrency() << " CPUs (nproc)"
      << (cpu.empty() ? "" : ", " + cpu) << "\n";
  out << "- memory: " << mem << "\n";
  out << "- kernel: " << u.sysname << " " << u.release << " " << u.machine << "\n";
  out << "- measured in the same run, in the benchmark directory: fdatasync "
      << Fmt("%.0f", o.machine.fdatasync_per_sec) << "/s on 4 KiB appends; sequential write "
      << Fmt("%.0f", o.machine.seq_write_mbps) << " MB/s (" << c.machine_mb
      << " MiB, final fsync); sequential read " << Fmt("%.0f", o.machine.seq_read_mbps)
      << " MB/s (page cache)\n\n";
  out << "## Settings\n\n";
  out << "Keys " << c.key_size << " bytes, values " << c.value_size
      << " bytes (half compressible), " << c.num << " entries, " << c.runs
      << " run(s) per engine and workload, engines alternating (A B C A B C ...). "
      << "Every run is a forked process; read workloads open a per-engine database filled by "
         "fillrandom, "
      << "flushed and settled; workloads that modify it run on a copy. The data set fits in the "
         "page cache, "
      << "so reads measure the engines, not the disk.\n\n";
  out << o.settings_md << "\n";
}

// Writes the charts beside the report (charts.h), prints what happened, and
// adds the charts section if any PNG was made.
void WriteChartsSection(std::ostream& out, const Config& c, const Outcome& o) {
  peerbench::ChartInput chart;
  chart.workloads = o.workloads;
  chart.engines = o.engines;
  for (const auto& w : o.workloads) {
    std::vector<peerbench::ChartPoint> row;
    for (const auto& name : o.engines) {
      const Summary& s = o.results.at(w).at(name);
      row.push_back({s.ops_med, s.p50, s.p99, s.p999});
    }
    chart.points.push_back(row);
  }
  const peerbench::ChartFiles charts = peerbench::WriteCharts(c.report, chart);
  std::printf("%s\n", charts.note.c_str());
  if (charts.ratios_png.empty() && charts.latency_png.empty()) return;
  out << "## Charts\n\n";
  if (!charts.ratios_png.empty()) {
    out << "Throughput of lsmkv divided by each peer's (median ops/s; the solid line is "
           "parity, the "
        << "dashed one 0.8):\n\n![lsmkv / peer throughput](" << charts.ratios_png << ")\n\n";
  }
  if (!charts.latency_png.empty()) {
    out << "Latency percentiles per operation (median-throughput run, log scale):\n\n"
        << "![latency percentiles](" << charts.latency_png << ")\n\n";
  }
  out << "Data and gnuplot script beside this file (`*-ratios.dat`, `*-latency.dat`, "
         "`*.gp`).\n\n";
}

// One results table: a row per workload and engine, with W-amp and S-amp
// columns if with_amp.
void WriteResultsTable(std::ostream& out, const Config& c,
                       const std::vector<std::string>& workloads,
                       const std::vector<std::string>& engines, const Results& results,
                       const std::map<std::string, std::string>& ratio, bool with_amp) {
  const NoteArgs note_args{c, Reads(c), Seeks(c)};
  out << "| workload | what | engine | ops/s | MB/s | p50 | p99 | p99.9 | RSS MiB | "
      << (with_amp ? "W-amp | S-amp | " : "") << "lsmkv / best peer |\n";
  out << "|---|---|---|---|---|---|---|---|---|" << (with_amp ? "---|---|" : "") << "---|\n";
  for (const auto& w : workloads) {
    bool first = true;
    for (const auto& name : engines) {
      const Summary& s = results.at(w).at(name);
      out << "| " << (first ? w : "") << " | " << (first ? FindWorkload(w)->note(note_args) : "")
          << " | " << name << " | ";
      if (!s.ok && s.ops_med == 0) {
        out << "FAILED: " << s.error << (with_amp ? " | | | | | | | | |\n" : " | | | | | | |\n");
      } else {
        out << Fmt("%.0f", s.ops_med) << " [" << Fmt("%.0f", s.ops_min) << "–"
            << Fmt("%.0f", s.ops_max) << "] | " << Fmt("%.1f", s.mbps) << " | " << Lat(s.p50)
            << " | " << Lat(s.p99) << " | " << Lat(s.p999) << " | " << Fmt("%.1f", s.rss_mib)
            << " | ";
        if (with_amp) out << Amp(s.wamp) << " | " << Amp(s.samp) << " | ";
        out << (first && ratio.count(w) ? ratio.at(w) : "") << " |\n";
      }
      first = false;
    }
  }
}

// The results table: one row per workload and engine.
void WriteResultsSection(std::ostream& out, const Config& c, const Outcome& o) {
  out << "## Results\n\n";
  out << "ops/s: median of the runs [min–max]. Latency percentiles (microseconds) of the median "
         "run. "
      << "RSS: peak resident set of the run's process (ru_maxrss), median. W-amp: bytes the "
         "process wrote "
      << "to storage (/proc/self/io write_bytes, through flush and settling) / user bytes "
         "written. "
      << "S-amp: database size on disk after flush and settling / live key+value bytes.\n\n";
  WriteResultsTable(out, c, o.workloads, o.engines, o.results, o.ratio, /*with_amp=*/true);
  out << "\n> " << kCaveat << ".\n";
}

// The sequence mode's table: one row per workload and engine.
void WriteSequenceSection(std::ostream& out, const Config& c, const Outcome& o) {
  out << "## Results: db_bench's sequence (state carried over)\n\n";
  out << "As db_bench runs them: per engine and round one process opens one database and runs `"
      << c.sequence
      << "` in that order, each workload on the state the previous one left (no flush, no "
         "settling, no copies); a fill workload starts a fresh database. So the reads after "
         "overwrite meet the shape the write burst left (memtables, unmerged level-0 tables, "
         "pending compactions). ops/s: median of the "
      << c.runs
      << " rounds [min–max]; latency percentiles (microseconds) of the median run; RSS: the "
         "process's peak resident set when the workload ended (it grows along the sequence).\n\n";
  WriteResultsTable(out, c, o.sequence_workloads, o.engines, o.sequence_results, o.sequence_ratio,
                    /*with_amp=*/false);
  out << "\n";
}

// Writes the markdown report to c.report (creating its directory) and the
// charts beside it.
void WriteReport(const Config& c, const Outcome& o) {
  std::error_code ec;
  fs::path report(c.report);
  if (report.has_parent_path()) fs::create_directories(report.parent_path(), ec);
  std::ofstream out(c.report);
  WriteReportIntro(out, c, o);
  if (o.settled) WriteChartsSection(out, c, o);
  if (o.sequence) WriteSequenceSection(out, c, o);
  if (o.settled) WriteResultsSection(out, c, o);
  out.close();
  std::printf("report written to %s\n", c.report.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  if (std::optional<int> code = ParseFlags(argc, argv, &c)) return *code;
  Outcome o;
  o.settled = c.mode != "sequence";
  o.sequence = c.mode != "settled";
  if (o.settled && !SelectWorkloads(c, &o.workloads)) return 2;
  if (o.sequence && !SelectSequence(c, &o.sequence_workloads)) return 2;
  if (!SelectEngines(c, &o.engines)) return 2;
  if (o.engines.empty()) return 2;

  const double t_start = Now();
  std::error_code ec;
  fs::remove_all(c.db, ec);
  fs::create_directories(c.db);
  Runner runner(c);

  const SettingsTables settings = DescribeSettings(o.engines, c.settings);
  o.settings_md = settings.markdown;
  std::printf("lsmkv_peer_bench: num %" PRIu64
              ", keys %d B, values %d B, runs %d, engines alternate per run\n",
              c.num, c.key_size, c.value_size, c.runs);
  std::printf("%s", settings.text.c_str());
  std::printf("caveat: %s\n\n", kCaveat);

  o.machine = MeasureMachine(c.db, c.machine_mb);
  std::printf(
      "machine: fdatasync %.0f/s (4 KiB appends), sequential write %.0f MB/s (with fsync), "
      "sequential read %.0f MB/s (page cache)\n\n",
      o.machine.fdatasync_per_sec, o.machine.seq_write_mbps, o.machine.seq_read_mbps);

  bool any_failed = false;
  if (o.sequence) {
    std::printf("== sequence mode: %s\n", c.sequence.c_str());
    o.sequence_results = RunSequences(&runner, c, o.sequence_workloads, o.engines, &any_failed);
    o.sequence_ratio = Ratios(o.sequence_workloads, o.engines, o.sequence_results);
    std::printf("\n");
  }
  if (o.settled) {
    std::printf("== settled mode: %s\n", c.benchmarks.c_str());
    const std::map<std::string, std::string> base_error =
        PrepareBases(&runner, c, o.workloads, o.engines);
    if (!base_error.empty()) any_failed = true;
    o.results = RunWorkloads(&runner, c, o.workloads, o.engines, base_error, &any_failed);
    o.ratio = Ratios(o.workloads, o.engines, o.results);
  }
  o.elapsed = Now() - t_start;
  if (o.sequence) {
    std::printf("\nsequence mode, lsmkv / best peer (median ops/s):\n");
    for (const auto& w : o.sequence_workloads)
      std::printf("  %-22s %s\n", w.c_str(),
                  o.sequence_ratio.count(w) ? o.sequence_ratio.at(w).c_str() : "-");
  }
  if (o.settled) {
    std::printf("\nsettled mode, lsmkv / best peer (median ops/s):\n");
    for (const auto& w : o.workloads)
      std::printf("  %-22s %s\n", w.c_str(), o.ratio.count(w) ? o.ratio.at(w).c_str() : "-");
  }
  std::printf("\ntotal %.0f s. caveat: %s\n", o.elapsed, kCaveat);

  if (!c.report.empty()) WriteReport(c, o);
  fs::remove_all(c.db, ec);
  if (any_failed) std::printf("FAILED: some runs failed (see above)\n");
  return any_failed ? 1 : 0;
}
