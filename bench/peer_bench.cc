// lsmkv_peer_bench: db_bench-style workloads run on lsmkv, RocksDB and LevelDB
// in one run, with equivalent settings, alternating engines (A B C A B C ...).
//
//   lsmkv_peer_bench [--num=N] [--runs=3] [--benchmarks=a,b] [--engines=lsmkv,rocksdb,leveldb]
//                    [--compression=none|snappy|lz4|zstd] [--report=docs/BENCHMARKS-peers.md]
//
// Every measured run is a forked child (its ru_maxrss is that engine's peak
// RSS); disk writes come from the child's /proc/self/io write_bytes.
// Read workloads use a per-engine base database filled once by fillrandom,
// flushed and settled; workloads that modify it run on a copy.
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
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "charts.h"
#include "engines.h"
#include "util/histogram.h"
#include "util/random.h"

namespace fs = std::filesystem;
using peerbench::Engine;
using peerbench::EngineSettings;

namespace {

constexpr const char* kCaveat =
    "Debian's librocksdb and libleveldb are built without -DNDEBUG (assertions on); a release "
    "build of RocksDB 7.8.3 ran 1.2–1.7x faster on this machine, LevelDB 1.0–1.2x";

const std::vector<std::string> kAllWorkloads = {
    "fillseq",      "fillrandom",       "overwrite", "fillsync",    "fillsync16",
    "readrandom",   "readmissing",      "readseq",   "readreverse", "seekrandom",
    "deleterandom", "readwhilewriting", "ycsb-a",    "ycsb-e",      "readrandom-smallcache"};

struct Config {
  std::string db = "/tmp/lsmkv_peer_bench";
  std::string benchmarks = "all";
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

// YCSB's scrambled zipfian (theta 0.99) over [0, n).
class Zipfian {
 public:
  Zipfian(uint64_t n, uint64_t seed) : n_(n), rnd_(seed) {
    for (uint64_t i = 1; i <= n; i++) zetan_ += 1.0 / std::pow(static_cast<double>(i), kTheta);
    const double zeta2 = 1.0 + 1.0 / std::pow(2.0, kTheta);
    alpha_ = 1.0 / (1.0 - kTheta);
    eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - kTheta)) / (1.0 - zeta2 / zetan_);
  }
  uint64_t Next() {
    const double u = static_cast<double>(rnd_.Next64() >> 11) * (1.0 / 9007199254740992.0);
    const double uz = u * zetan_;
    uint64_t rank;
    if (uz < 1.0) {
      rank = 0;
    } else if (uz < 1.0 + std::pow(0.5, kTheta)) {
      rank = 1;
    } else {
      rank =
          static_cast<uint64_t>(static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
    }
    // Scramble so the hot keys are spread over the key space.
    uint64_t z = rank + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) % n_;
  }

 private:
  static constexpr double kTheta = 0.99;
  uint64_t n_;
  lsmkv::Random rnd_;
  double zetan_ = 0, alpha_ = 0, eta_ = 0;
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
  // Filled in by the parent.
  long max_rss_kb = 0;
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

class Runner {
 public:
  explicit Runner(const Config& c)
      : c_(c), entry_bytes_(static_cast<uint64_t>(c.key_size + c.value_size)) {}

  std::string BaseDir(const std::string& engine) const { return c_.db + "/base-" + engine; }
  std::string WorkDir(const std::string& engine) const { return c_.db + "/work-" + engine; }

  uint64_t reads() const { return c_.reads ? c_.reads : c_.num; }
  uint64_t seeks() const { return c_.seeks ? c_.seeks : std::max<uint64_t>(1, c_.num / 10); }
  // readwhilewriting shares 2 cores with a writer: a tenth of the reads.
  uint64_t rww_reads() const { return std::max<uint64_t>(1, reads() / 10); }

  // Runs one workload on one engine in this (child) process.
  ChildResult RunWorkload(const std::string& workload, const std::string& engine_name) {
    ChildResult r;
    std::unique_ptr<Engine> e = peerbench::NewEngine(engine_name);
    EngineSettings s = c_.settings;
    const std::string work = WorkDir(engine_name);
    const bool fresh = workload == "fillseq" || workload == "fillrandom" ||
                       workload == "fillsync" || workload == "fillsync16" || workload == "prepare";
    const bool modifies = workload == "overwrite" || workload == "deleterandom" ||
                          workload == "readwhilewriting" || workload == "ycsb-a" ||
                          workload == "ycsb-e";
    std::string dir = BaseDir(engine_name);
    if (fresh) {
      if (workload != "prepare") dir = work;
      e->Destroy(dir);
    } else if (modifies) {
      e->Destroy(work);
      fs::copy(dir, work, fs::copy_options::recursive);
      dir = work;
    }
    if (workload == "readrandom-smallcache")
      s.block_cache_size = std::max<uint64_t>(64 << 10, c_.num * entry_bytes_ / 4);
    Check(e->Open(dir, s), "open");

    std::vector<lsmkv::Histogram> hists(1);
    ValueSource values(c_.value_size);
    std::string value;
    uint64_t live_entries = c_.num;
    const uint64_t io0 = peerbench::ProcessDiskWriteBytes();
    double start = Now();

    auto timed_get = [&](lsmkv::Histogram& h, const std::string& key, std::string* v) {
      const double t0 = Now();
      const int found = e->Get(key, v);
      h.Add((Now() - t0) * 1e6);
      if (found < 0) throw Failure{"get: " + *v};
      return found;
    };

    if (workload == "fillseq" || workload == "fillrandom" || workload == "prepare") {
      std::vector<uint64_t> order(c_.num);
      for (uint64_t i = 0; i < c_.num; i++) order[i] = i;
      if (workload != "fillseq") {
        lsmkv::Random shuffle(1000);
        for (uint64_t i = c_.num; i > 1; i--) std::swap(order[i - 1], order[shuffle.Next64() % i]);
      }
      start = Now();
      for (uint64_t k : order) {
        const std::string key = MakeKey(k, c_.key_size);
        const std::string_view v = values.Next();
        const double t0 = Now();
        Check(e->Put(key, v, false), "put");
        hists[0].Add((Now() - t0) * 1e6);
        r.bytes += key.size() + v.size();
      }
      r.ops = c_.num;
    } else if (workload == "fillsync" || workload == "fillsync16") {
      const int threads = workload == "fillsync" ? 1 : 16;
      hists.resize(static_cast<size_t>(threads));
      const uint64_t share = c_.sync_num / static_cast<uint64_t>(threads);
      std::vector<std::thread> workers;
      std::vector<std::string> errors(static_cast<size_t>(threads));
      std::vector<uint64_t> done(static_cast<size_t>(threads));
      const double deadline = Now() + c_.sync_seconds;
      for (int t = 0; t < threads; t++) {
        workers.emplace_back([&, t] {
          ValueSource vs(c_.value_size);
          lsmkv::Random rnd(77 + static_cast<uint64_t>(t));
          for (uint64_t i = 0; i < share; i++) {
            const std::string key = MakeKey(rnd.Next64() % c_.num, c_.key_size);
            const double t0 = Now();
            if (t0 > deadline) return;
            std::string err = e->Put(key, vs.Next(), true);
            hists[static_cast<size_t>(t)].Add((Now() - t0) * 1e6);
            if (!err.empty()) {
              errors[static_cast<size_t>(t)] = err;
              return;
            }
            done[static_cast<size_t>(t)]++;
          }
        });
      }
      for (auto& w : workers) w.join();
      for (auto& err : errors) Check(err, "sync put");
      for (uint64_t d : done) r.ops += d;
      r.bytes = r.ops * entry_bytes_;
      live_entries = 0;  // unknown exactly (random keys with repeats); no space amp
    } else if (workload == "overwrite") {
      lsmkv::Random rnd(2000);
      for (uint64_t i = 0; i < c_.num; i++) {
        const std::string key = MakeKey(rnd.Next64() % c_.num, c_.key_size);
        const std::string_view v = values.Next();
        const double t0 = Now();
        Check(e->Put(key, v, false), "put");
        hists[0].Add((Now() - t0) * 1e6);
      }
      r.ops = c_.num;
      r.bytes = r.ops * entry_bytes_;
    } else if (workload == "deleterandom") {
      lsmkv::Random rnd(3000);
      std::vector<bool> deleted(c_.num);
      for (uint64_t i = 0; i < c_.num; i++) {
        const uint64_t k = rnd.Next64() % c_.num;
        const std::string key = MakeKey(k, c_.key_size);
        const double t0 = Now();
        Check(e->Delete(key, false), "delete");
        hists[0].Add((Now() - t0) * 1e6);
        if (!deleted[k]) live_entries--;
        deleted[k] = true;
        r.bytes += key.size();
      }
      r.ops = c_.num;
    } else if (workload == "readrandom" || workload == "readmissing" ||
               workload == "readrandom-smallcache") {
      lsmkv::Random rnd(4000);
      const bool missing = workload == "readmissing";
      for (uint64_t i = 0; i < reads(); i++) {
        std::string key = MakeKey(rnd.Next64() % c_.num, c_.key_size);
        if (missing) key.back() = '.';
        if (timed_get(hists[0], key, &value) == 1) {
          r.found++;
          r.bytes += key.size() + value.size();
        }
      }
      r.ops = reads();
      if (!missing && r.found != r.ops)
        throw Failure{"readrandom found " + std::to_string(r.found) + " of " +
                      std::to_string(r.ops)};
    } else if (workload == "readseq" || workload == "readreverse") {
      std::unique_ptr<peerbench::EngineIterator> it = e->NewIterator();
      const bool fwd = workload == "readseq";
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
        hists[0].Add((t1 - t0) * 1e6);
        t0 = t1;
      }
      Check(it->status(), "iterator");
      r.found = r.ops;
      if (r.ops != c_.num) throw Failure{workload + " saw " + std::to_string(r.ops) + " entries"};
    } else if (workload == "seekrandom") {
      lsmkv::Random rnd(5000);
      std::unique_ptr<peerbench::EngineIterator> it = e->NewIterator();
      for (uint64_t i = 0; i < seeks(); i++) {
        const std::string key = MakeKey(rnd.Next64() % c_.num, c_.key_size);
        const double t0 = Now();
        it->Seek(key);
        for (int n = 0; n < 10 && it->Valid(); n++) {
          r.bytes += it->key().size() + it->value().size();
          it->Next();
        }
        hists[0].Add((Now() - t0) * 1e6);
        if (it->Valid() || i + 10 >= c_.num) r.found++;
      }
      Check(it->status(), "iterator");
      r.ops = seeks();
    } else if (workload == "readwhilewriting") {
      std::atomic<bool> done{false};
      std::string writer_error;
      std::thread writer([&] {
        lsmkv::Random rnd(6000);
        ValueSource vs(c_.value_size);
        while (!done.load(std::memory_order_relaxed)) {
          std::string err = e->Put(MakeKey(rnd.Next64() % c_.num, c_.key_size), vs.Next(), false);
          if (!err.empty()) {
            writer_error = err;
            return;
          }
        }
      });
      lsmkv::Random rnd(6001);
      start = Now();
      try {
        for (uint64_t i = 0; i < rww_reads(); i++) {
          const std::string key = MakeKey(rnd.Next64() % c_.num, c_.key_size);
          if (timed_get(hists[0], key, &value) == 1) {
            r.found++;
            r.bytes += key.size() + value.size();
          }
        }
      } catch (...) {
        done = true;
        writer.join();
        throw;
      }
      r.seconds = Now() - start;
      done = true;
      writer.join();
      Check(writer_error, "writer put");
      r.ops = rww_reads();
    } else if (workload == "ycsb-a") {
      Zipfian zipf(c_.num, 7000);
      lsmkv::Random rnd(7001);
      start = Now();
      for (uint64_t i = 0; i < reads(); i++) {
        const std::string key = MakeKey(zipf.Next(), c_.key_size);
        if (rnd.OneIn(2)) {
          if (timed_get(hists[0], key, &value) == 1) r.found++;
          r.bytes += key.size() + value.size();
        } else {
          const std::string_view v = values.Next();
          const double t0 = Now();
          Check(e->Put(key, v, false), "put");
          hists[0].Add((Now() - t0) * 1e6);
          r.bytes += key.size() + v.size();
        }
      }
      r.ops = reads();
    } else if (workload == "ycsb-e") {
      // 95% scans of 1..100 entries from a zipfian key, 5% inserts of new keys.
      Zipfian zipf(c_.num, 8000);
      lsmkv::Random rnd(8001);
      uint64_t next_insert = c_.num;
      start = Now();
      for (uint64_t i = 0; i < seeks(); i++) {
        const double t0 = Now();
        if (rnd.Uniform(100) < 95) {
          const std::string key = MakeKey(zipf.Next(), c_.key_size);
          const uint32_t len = 1 + rnd.Uniform(100);
          std::unique_ptr<peerbench::EngineIterator> it = e->NewIterator();
          it->Seek(key);
          for (uint32_t n = 0; n < len && it->Valid(); n++) {
            r.bytes += it->key().size() + it->value().size();
            it->Next();
          }
          Check(it->status(), "iterator");
        } else {
          const std::string key = MakeKey(next_insert++, c_.key_size);
          const std::string_view v = values.Next();
          Check(e->Put(key, v, false), "put");
          r.bytes += key.size() + v.size();
        }
        hists[0].Add((Now() - t0) * 1e6);
      }
      r.ops = seeks();
    } else {
      throw Failure{"unknown workload " + workload};
    }
    if (r.seconds == 0) r.seconds = Now() - start;
    lsmkv::Histogram all;
    for (const auto& h : hists) all.Merge(h);
    r.p50 = all.Percentile(50);
    r.p99 = all.Percentile(99);
    r.p999 = all.Percentile(99.9);

    const bool is_write = fresh || workload == "overwrite" || workload == "deleterandom";
    if (is_write) {
      Check(e->Flush(), "flush");
      Settle(e.get());
      r.has_amp = 1;
      r.disk_write_bytes = peerbench::ProcessDiskWriteBytes() - io0;
      r.user_write_bytes = r.bytes;
      r.live_bytes = live_entries * entry_bytes_;
      if (workload == "fillsync" || workload == "fillsync16") r.live_bytes = 0;
      r.db_size = DirSize(dir);
    }
    Check(e->Close(), "close");
    r.ok = 1;
    return r;
  }

  // Forks a child for one workload on one engine; returns its result.
  ChildResult RunInChild(const std::string& workload, const std::string& engine) {
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
      ChildResult r;
      try {
        r = RunWorkload(workload, engine);
      } catch (const Failure& f) {
        r.ok = 0;
        std::snprintf(r.error, sizeof(r.error), "%s", f.what.c_str());
      } catch (const std::exception& ex) {
        r.ok = 0;
        std::snprintf(r.error, sizeof(r.error), "%s", ex.what());
      }
      const char* p = reinterpret_cast<const char*>(&r);
      size_t left = sizeof(r);
      while (left > 0) {
        const ssize_t n = write(fds[1], p, left);
        if (n <= 0) break;
        p += n;
        left -= static_cast<size_t>(n);
      }
      _exit(0);
    }
    close(fds[1]);
    ChildResult r;
    char* p = reinterpret_cast<char*>(&r);
    size_t got = 0;
    while (got < sizeof(r)) {
      const ssize_t n = read(fds[0], p + got, sizeof(r) - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    close(fds[0]);
    int status = 0;
    struct rusage ru {};
    wait4(pid, &status, 0, &ru);
    if (got != sizeof(r)) {
      r = ChildResult();
      std::snprintf(r.error, sizeof(r.error), "child died (status %d)", status);
    }
    r.max_rss_kb = ru.ru_maxrss;
    return r;
  }

 private:
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

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
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

std::string WorkloadNote(const std::string& w, const Config& c, uint64_t reads, uint64_t seeks) {
  auto n = [](uint64_t v) { return std::to_string(v); };
  if (w == "fillseq") return n(c.num) + " puts, ascending keys";
  if (w == "fillrandom") return n(c.num) + " puts, random order, each key once";
  if (w == "overwrite") return n(c.num) + " puts of random existing keys";
  if (w == "fillsync")
    return n(c.sync_num) + " sync puts (at most " + Fmt("%.0f", c.sync_seconds) + " s), 1 thread";
  if (w == "fillsync16")
    return n(c.sync_num) + " sync puts (at most " + Fmt("%.0f", c.sync_seconds) + " s), 16 threads";
  if (w == "readrandom") return n(reads) + " gets, all present";
  if (w == "readmissing") return n(reads) + " gets, all absent";
  if (w == "readseq") return "full forward scan";
  if (w == "readreverse") return "full reverse scan";
  if (w == "seekrandom") return n(seeks) + " seeks + 10 Next";
  if (w == "deleterandom") return n(c.num) + " deletes of random keys";
  if (w == "readwhilewriting")
    return n(std::max<uint64_t>(1, reads / 10)) + " gets by 1 reader while 1 writer overwrites";
  if (w == "ycsb-a") return n(reads) + " ops, zipfian 0.99, 50% get / 50% update";
  if (w == "ycsb-e") return n(seeks) + " ops, zipfian 0.99, 95% scan 1-100 / 5% insert";
  if (w == "readrandom-smallcache") return n(reads) + " gets, block cache = 1/4 of the data";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  for (int i = 0; i < argc; i++) c.command += (i ? " " : "") + ShellQuote(argv[i]);
  if (const char* env = std::getenv("BENCH_NUM")) c.num = std::strtoull(env, nullptr, 10);
  CLI::App app{"lsmkv_peer_bench: lsmkv, RocksDB and LevelDB on db_bench-style workloads"};
  app.add_option("--db", c.db, "scratch directory (removed)")->capture_default_str();
  app.add_option("--benchmarks", c.benchmarks, "comma-separated workloads or 'all'")
      ->capture_default_str();
  app.add_option("--engines", c.engines, "comma-separated engines")->capture_default_str();
  app.add_option("--num", c.num, "entries (default BENCH_NUM or 1000000)")->capture_default_str();
  app.add_option("--reads", c.reads,
                 "ops of get workloads and ycsb-a (0: num; readwhilewriting: a tenth)")
      ->capture_default_str();
  app.add_option("--seeks", c.seeks, "ops of seekrandom and ycsb-e (0: num/10)")
      ->capture_default_str();
  app.add_option("--sync_num", c.sync_num, "puts of fillsync workloads")->capture_default_str();
  app.add_option("--sync_seconds", c.sync_seconds, "fillsync runs stop after this many seconds")
      ->capture_default_str();
  app.add_option("--runs", c.runs, "runs per engine and workload")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--key_size", c.key_size, "key bytes")
      ->capture_default_str()
      ->check(CLI::Range(8, 1024));
  app.add_option("--value_size", c.value_size, "value bytes")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--write_buffer_size", c.settings.write_buffer_size, "memtable bytes")
      ->capture_default_str();
  app.add_option("--block_size", c.settings.block_size, "table block bytes")->capture_default_str();
  app.add_option("--bloom_bits", c.settings.bloom_bits, "bloom bits per key")
      ->capture_default_str();
  app.add_option("--cache_size", c.settings.block_cache_size, "block cache bytes")
      ->capture_default_str();
  app.add_option("--compression", c.settings.compression, "none|snappy|lz4|zstd")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "snappy", "lz4", "zstd"}));
  app.add_option("--rocksdb_background_jobs", c.settings.rocksdb_background_jobs,
                 "RocksDB max_background_jobs")
      ->capture_default_str();
  app.add_option("--report", c.report, "write a markdown report here");
  app.add_option("--machine_mb", c.machine_mb, "MiB for the sequential bandwidth probes")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (c.num < 100) {
    std::fprintf(stderr, "--num must be at least 100\n");
    return 2;
  }

  std::vector<std::string> workloads = c.benchmarks == "all" ? kAllWorkloads : Split(c.benchmarks);
  for (const auto& w : workloads) {
    if (std::find(kAllWorkloads.begin(), kAllWorkloads.end(), w) == kAllWorkloads.end()) {
      std::fprintf(stderr, "unknown workload %s\n", w.c_str());
      return 2;
    }
  }
  std::vector<std::string> engines;
  for (const auto& name : Split(c.engines)) {
    std::unique_ptr<Engine> e = peerbench::NewEngine(name);
    if (!e) {
      std::fprintf(stderr, "unknown engine %s\n", name.c_str());
      return 2;
    }
    if (!e->SupportsCompression(c.settings.compression)) {
      std::printf("note: %s does not support %s compression: skipped\n", name.c_str(),
                  c.settings.compression.c_str());
      continue;
    }
    engines.push_back(name);
  }
  if (engines.empty()) return 2;

  const double t_start = Now();
  std::error_code ec;
  fs::remove_all(c.db, ec);
  fs::create_directories(c.db);
  Runner runner(c);

  // Settings side by side.
  std::vector<std::vector<std::string>> described;
  for (const auto& name : engines)
    described.push_back(peerbench::NewEngine(name)->DescribeSettings(c.settings));
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
  std::printf("lsmkv_peer_bench: num %" PRIu64
              ", keys %d B, values %d B, runs %d, engines alternate per run\n",
              c.num, c.key_size, c.value_size, c.runs);
  std::printf("%s", settings_txt.str().c_str());
  std::printf("caveat: %s\n\n", kCaveat);

  const MachineLimits machine = MeasureMachine(c.db, c.machine_mb);
  std::printf(
      "machine: fdatasync %.0f/s (4 KiB appends), sequential write %.0f MB/s (with fsync), "
      "sequential read %.0f MB/s (page cache)\n\n",
      machine.fdatasync_per_sec, machine.seq_write_mbps, machine.seq_read_mbps);

  // Base databases for the read workloads.
  bool need_base = false;
  for (const auto& w : workloads)
    if (w.rfind("fill", 0) != 0) need_base = true;
  std::map<std::string, std::string> base_error;
  if (need_base) {
    for (const auto& name : engines) {
      const double t0 = Now();
      ChildResult r = runner.RunInChild("prepare", name);
      if (!r.ok) base_error[name] = r.error;
      std::printf("prepared %s base: %" PRIu64 " entries in %.1f s%s%s\n", name.c_str(), c.num,
                  Now() - t0, r.ok ? "" : ", FAILED: ", r.error);
    }
    std::printf("\n");
  }

  std::printf("%-22s %-8s %12s %12s %12s %8s %9s %9s %9s %8s %6s %6s\n", "workload", "engine",
              "ops/s med", "min", "max", "MB/s", "p50 us", "p99 us", "p99.9 us", "RSS MiB", "W-amp",
              "S-amp");
  std::map<std::string, std::map<std::string, Summary>> results;
  bool any_failed = !base_error.empty();
  for (const auto& w : workloads) {
    std::map<std::string, std::vector<ChildResult>> runs;
    for (int run = 0; run < c.runs; run++) {
      for (const auto& name : engines) {
        const bool needs_base = w.rfind("fill", 0) != 0;
        if (needs_base && base_error.count(name)) {
          ChildResult r;
          std::snprintf(r.error, sizeof(r.error), "no base database: %s", base_error[name].c_str());
          runs[name].push_back(r);
          continue;
        }
        runs[name].push_back(runner.RunInChild(w, name));
      }
    }
    for (const auto& name : engines) {
      Summary s = Summarize(runs[name]);
      results[w][name] = s;
      if (!s.ok) any_failed = true;
      if (!s.ok && s.ops_med == 0) {
        std::printf("%-22s %-8s FAILED: %s\n", w.c_str(), name.c_str(), s.error.c_str());
        continue;
      }
      std::printf("%-22s %-8s %12.0f %12.0f %12.0f %8.1f %9s %9s %9s %8.1f %6s %6s%s%s\n",
                  w.c_str(), name.c_str(), s.ops_med, s.ops_min, s.ops_max, s.mbps,
                  Lat(s.p50).c_str(), Lat(s.p99).c_str(), Lat(s.p999).c_str(), s.rss_mib,
                  Amp(s.wamp).c_str(), Amp(s.samp).c_str(),
                  s.ok ? "" : "  (some runs failed: ", s.ok ? "" : (s.error + ")").c_str());
    }
    std::fflush(stdout);
  }
  // Ratios lsmkv / best peer.
  const bool have_lsmkv = std::find(engines.begin(), engines.end(), "lsmkv") != engines.end();
  std::ostringstream ratio_txt;
  std::map<std::string, std::string> ratio;
  if (have_lsmkv && engines.size() > 1) {
    for (const auto& w : workloads) {
      const Summary& l = results[w]["lsmkv"];
      double best = 0;
      std::string best_name;
      for (const auto& name : engines) {
        if (name == "lsmkv") continue;
        if (results[w][name].ops_med > best) {
          best = results[w][name].ops_med;
          best_name = name;
        }
      }
      if (best > 0 && l.ops_med > 0)
        ratio[w] = Fmt("%.2fx", l.ops_med / best) + " (vs " + best_name + ")";
      else
        ratio[w] = "-";
    }
  }
  const double elapsed = Now() - t_start;
  std::printf("\nlsmkv / best peer (median ops/s):\n");
  for (const auto& w : workloads)
    std::printf("  %-22s %s\n", w.c_str(), ratio.count(w) ? ratio[w].c_str() : "-");
  std::printf("\ntotal %.0f s. caveat: %s\n", elapsed, kCaveat);

  if (!c.report.empty()) {
    const uint64_t reads = c.reads ? c.reads : c.num;
    const uint64_t seeks = c.seeks ? c.seeks : std::max<uint64_t>(1, c.num / 10);
    struct utsname u {};
    uname(&u);
    char date[64];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    std::string mem = ReadFirstLine("/proc/meminfo", "MemTotal:");
    std::string cpu = ReadFirstLine("/proc/cpuinfo", "model name");
    if (auto p = cpu.find(':'); p != std::string::npos) cpu = cpu.substr(p + 2);
    if (auto p = mem.find_first_of("0123456789"); p != std::string::npos) mem = mem.substr(p);

    fs::path report(c.report);
    if (report.has_parent_path()) fs::create_directories(report.parent_path(), ec);
    std::ofstream out(c.report);
    out << "# lsmkv vs RocksDB vs LevelDB\n\n";
    out << "Generated by `lsmkv_peer_bench` on " << date << " in " << Fmt("%.0f", elapsed)
        << " s.\n\n";
    out << "> **Caveat:** " << kCaveat << ".\n\n";
    out << "Command: `" << c.command << "`\n\n";
    out << "## Machine\n\n";
    out << "- " << std::thread::hardware_concurrency() << " CPUs (nproc)"
        << (cpu.empty() ? "" : ", " + cpu) << "\n";
    out << "- memory: " << mem << "\n";
    out << "- kernel: " << u.sysname << " " << u.release << " " << u.machine << "\n";
    out << "- measured in the same run, in the benchmark directory: fdatasync "
        << Fmt("%.0f", machine.fdatasync_per_sec) << "/s on 4 KiB appends; sequential write "
        << Fmt("%.0f", machine.seq_write_mbps) << " MB/s (" << c.machine_mb
        << " MiB, final fsync); sequential read " << Fmt("%.0f", machine.seq_read_mbps)
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
    out << settings_md.str() << "\n";
    peerbench::ChartInput chart;
    chart.workloads = workloads;
    chart.engines = engines;
    for (const auto& w : workloads) {
      std::vector<peerbench::ChartPoint> row;
      for (const auto& name : engines) {
        const Summary& s = results[w][name];
        row.push_back({s.ops_med, s.p50, s.p99, s.p999});
      }
      chart.points.push_back(row);
    }
    const peerbench::ChartFiles charts = peerbench::WriteCharts(c.report, chart);
    std::printf("%s\n", charts.note.c_str());
    if (!charts.ratios_png.empty() || !charts.latency_png.empty()) {
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
    out << "## Results\n\n";
    out << "ops/s: median of the runs [min–max]. Latency percentiles (microseconds) of the median "
           "run. "
        << "RSS: peak resident set of the run's process (ru_maxrss), median. W-amp: bytes the "
           "process wrote "
        << "to storage (/proc/self/io write_bytes, through flush and settling) / user bytes "
           "written. "
        << "S-amp: database size on disk after flush and settling / live key+value bytes.\n\n";
    out << "| workload | what | engine | ops/s | MB/s | p50 | p99 | p99.9 | RSS MiB | W-amp | "
           "S-amp | lsmkv / best peer |\n";
    out << "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& w : workloads) {
      bool first = true;
      for (const auto& name : engines) {
        const Summary& s = results[w][name];
        out << "| " << (first ? w : "") << " | " << (first ? WorkloadNote(w, c, reads, seeks) : "")
            << " | " << name << " | ";
        if (!s.ok && s.ops_med == 0) {
          out << "FAILED: " << s.error << " | | | | | | | | |\n";
        } else {
          out << Fmt("%.0f", s.ops_med) << " [" << Fmt("%.0f", s.ops_min) << "–"
              << Fmt("%.0f", s.ops_max) << "] | " << Fmt("%.1f", s.mbps) << " | " << Lat(s.p50)
              << " | " << Lat(s.p99) << " | " << Lat(s.p999) << " | " << Fmt("%.1f", s.rss_mib)
              << " | " << Amp(s.wamp) << " | " << Amp(s.samp) << " | "
              << (first && ratio.count(w) ? ratio[w] : "") << " |\n";
        }
        first = false;
      }
    }
    out << "\n> " << kCaveat << ".\n";
    out.close();
    std::printf("report written to %s\n", c.report.c_str());
  }
  fs::remove_all(c.db, ec);
  if (any_failed) std::printf("FAILED: some runs failed (see above)\n");
  return any_failed ? 1 : 0;
}
