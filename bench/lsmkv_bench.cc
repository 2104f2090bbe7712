// lsmkv_bench: db_bench-style figures for lsmkv.
//
//   lsmkv_bench [--benchmarks=fillrandom,readrandom,...] [--num=N] [--db=DIR]
//
// Workloads (keys 16 bytes, values 100 bytes by default):
//   fillseq      sequential keys, sync=false, one thread
//   fillrandom   every key once, in random order, sync=false, one thread
//   fillsync     like fillrandom with sync=true, with --sync_threads (default 1,4,16)
//   readrandom   random Gets of keys written by the preceding fill (all present)
//   readmissing  random Gets of keys that were never written
//   readseq      full forward scan (also prints the peak RSS during the scan)
//   readreverse  full reverse scan (likewise)
//   seekrandom   num/10 random seeks, each followed by 10 Next
// Each workload prints ops/sec, MB/s and latency percentiles (microseconds).
// read workloads also print the tables consulted per lookup and the bloom
// filter's useful skips, from the engine's "lsmkv.stats" property.
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lsmkv/db.h"
#include "util/histogram.h"
#include "util/random.h"

namespace {

struct Config {
  std::string db = "/tmp/lsmkv_bench";
  std::string benchmarks =
      "fillseq,fillrandom,readrandom,readmissing,readseq,readreverse,seekrandom,fillsync";
  uint64_t num = 1000000;
  uint64_t sync_num = 20000;
  std::string sync_threads = "1,4,16";
  int key_size = 16;
  int value_size = 100;
  size_t write_buffer_size = 64 << 20;
  size_t memtable_huge_page_size = lsmkv::Options().memtable_huge_page_size;
  size_t memtable_run_size = lsmkv::Options().memtable_run_size;
  size_t block_cache_size = 32 << 20;
  int bloom_bits = 10;
};

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Key i as key_size bytes: the decimal number, zero padded (sortable).
std::string MakeKey(uint64_t i, int key_size) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%016" PRIu64, i);
  std::string k(buf);
  if (static_cast<int>(k.size()) > key_size) return k.substr(k.size() - key_size);
  return std::string(static_cast<size_t>(key_size) - k.size(), '0') + k;
}

struct Result {
  uint64_t ops = 0;
  double seconds = 0;
  lsmkv::Histogram latency_us;
  uint64_t bytes = 0;
  uint64_t found = 0;
};

void Report(const std::string& name, const Result& r, const std::string& extra = "") {
  const double ops_per_sec = r.ops / r.seconds;
  const double mb_per_sec = r.bytes / r.seconds / 1048576.0;
  if (r.latency_us.Count() == 0) {  // scans: per-entry latency is not timed
    std::printf("%-22s %12.0f ops/s %8.1f MB/s %s\n", name.c_str(), ops_per_sec, mb_per_sec,
                extra.c_str());
  } else {
    std::printf("%-22s %12.0f ops/s %8.1f MB/s  p50 %7.1f us  p99 %8.1f us  p99.9 %8.1f us %s\n",
                name.c_str(), ops_per_sec, mb_per_sec, r.latency_us.Percentile(50),
                r.latency_us.Percentile(99), r.latency_us.Percentile(99.9), extra.c_str());
  }
  std::fflush(stdout);
}

uint64_t StatValue(lsmkv::DB* db, const std::string& label) {
  std::string stats;
  if (!db->GetProperty("lsmkv.stats", &stats)) return 0;
  std::istringstream in(stats);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(label + ": ", 0) == 0) return std::stoull(line.substr(label.size() + 2));
  }
  return 0;
}

class Bench {
 public:
  explicit Bench(Config c) : c_(std::move(c)) {}

  void OpenFresh() {
    db_.reset();
    lsmkv::Options o;
    lsmkv::DestroyDB(c_.db, o).PermitUncheckedError();
    Open();
  }
  void Open() {
    db_.reset();
    lsmkv::Options o;
    o.create_if_missing = true;
    o.write_buffer_size = c_.write_buffer_size;
    o.memtable_huge_page_size = c_.memtable_huge_page_size;
    o.memtable_run_size = c_.memtable_run_size;
    o.block_cache_size = c_.block_cache_size;
    o.bloom_bits_per_key = c_.bloom_bits;
    lsmkv::Status s = lsmkv::DB::Open(o, c_.db, &db_);
    if (!s.ok()) {
      std::fprintf(stderr, "open %s: %s\n", c_.db.c_str(), s.ToString().c_str());
      std::exit(1);
    }
  }

  // Writes keys 0..num-1 exactly once each — in order, or in a random
  // permutation — split across `threads` threads.
  Result Fill(uint64_t num, bool sequential, bool sync, int threads) {
    std::vector<uint64_t> order(num);
    for (uint64_t i = 0; i < num; i++) order[i] = i;
    if (!sequential) {
      lsmkv::Random shuffle(1000);
      for (uint64_t i = num; i > 1; i--) std::swap(order[i - 1], order[shuffle.Next64() % i]);
    }
    Result total;
    std::vector<Result> per_thread(static_cast<size_t>(threads));
    std::atomic<bool> failed{false};
    const std::string value(static_cast<size_t>(c_.value_size), 'v');
    const double start = NowSeconds();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; t++) {
      workers.emplace_back([&, t] {
        lsmkv::WriteOptions wo;
        wo.sync = sync;
        Result& r = per_thread[static_cast<size_t>(t)];
        const uint64_t share = num / static_cast<uint64_t>(threads);
        for (uint64_t i = 0; i < share; i++) {
          const uint64_t k = order[static_cast<uint64_t>(t) * share + i];
          const std::string key = MakeKey(k, c_.key_size);
          const double t0 = NowSeconds();
          lsmkv::Status s = db_->Put(wo, key, value);
          r.latency_us.Add((NowSeconds() - t0) * 1e6);
          if (!s.ok()) {
            std::fprintf(stderr, "put: %s\n", s.ToString().c_str());
            failed = true;
            return;
          }
          r.ops++;
          r.bytes += key.size() + value.size();
        }
      });
    }
    for (auto& w : workers) w.join();
    total.seconds = NowSeconds() - start;
    for (const Result& r : per_thread) {
      total.ops += r.ops;
      total.bytes += r.bytes;
      total.latency_us.Merge(r.latency_us);
    }
    if (failed) std::exit(1);
    return total;
  }

  Result Read(uint64_t num, bool missing) {
    Result r;
    lsmkv::Random rnd(301);
    lsmkv::ReadOptions ro;
    std::string value;
    const double start = NowSeconds();
    for (uint64_t i = 0; i < num; i++) {
      // Missing keys sort among the present ones: same key size, suffix '.'.
      std::string key = MakeKey(rnd.Next64() % c_.num, c_.key_size);
      if (missing) key.back() = '.';
      const double t0 = NowSeconds();
      lsmkv::Status s = db_->Get(ro, key, &value);
      r.latency_us.Add((NowSeconds() - t0) * 1e6);
      if (s.ok()) {
        r.found++;
        r.bytes += key.size() + value.size();
      } else if (!s.IsNotFound()) {
        std::fprintf(stderr, "get: %s\n", s.ToString().c_str());
        std::exit(1);
      }
      r.ops++;
    }
    r.seconds = NowSeconds() - start;
    return r;
  }

  // Resident set size of this process in bytes (from /proc/self/statm).
  static uint64_t RssBytes() {
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) return 0;
    unsigned long long pages_total = 0, pages_resident = 0;
    const int n = std::fscanf(f, "%llu %llu", &pages_total, &pages_resident);
    std::fclose(f);
    return n == 2 ? pages_resident * 4096ull : 0;
  }

  // Full forward or reverse scan; reports entries/sec and, sampled every
  // 5 ms by a second thread, the peak resident set during the scan.
  Result Scan(bool reverse, uint64_t* peak_rss, uint64_t* rss_before) {
    Result r;
    *rss_before = RssBytes();
    std::atomic<bool> done{false};
    std::atomic<uint64_t> peak{*rss_before};
    std::thread sampler([&] {
      while (!done.load()) {
        const uint64_t now = RssBytes();
        if (now > peak.load()) peak.store(now);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    std::unique_ptr<lsmkv::Iterator> it = db_->NewIterator(lsmkv::ReadOptions());
    const double start = NowSeconds();
    if (reverse) {
      for (it->SeekToLast(); it->Valid(); it->Prev()) {
        r.ops++;
        r.bytes += it->key().size() + it->value().size();
      }
    } else {
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        r.ops++;
        r.bytes += it->key().size() + it->value().size();
      }
    }
    r.seconds = NowSeconds() - start;
    if (!it->status().ok()) {
      std::fprintf(stderr, "scan: %s\n", it->status().ToString().c_str());
      std::exit(1);
    }
    done = true;
    sampler.join();
    *peak_rss = peak.load();
    return r;
  }

  // Seek to a random present key, then 10 Next.
  Result SeekRandom(uint64_t seeks) {
    Result r;
    lsmkv::Random rnd(302);
    std::unique_ptr<lsmkv::Iterator> it = db_->NewIterator(lsmkv::ReadOptions());
    const double start = NowSeconds();
    for (uint64_t i = 0; i < seeks; i++) {
      const std::string key = MakeKey(rnd.Next64() % c_.num, c_.key_size);
      const double t0 = NowSeconds();
      it->Seek(key);
      for (int j = 0; j < 10 && it->Valid(); j++) {
        r.bytes += it->key().size() + it->value().size();
        it->Next();
      }
      r.latency_us.Add((NowSeconds() - t0) * 1e6);
      r.ops++;
    }
    r.seconds = NowSeconds() - start;
    return r;
  }

  // Reads run on the data of the preceding fill (filling first if there was
  // none) and measure the on-disk path: flush, then reopen (cold block cache).
  void PrepareReads(bool* filled) {
    if (!*filled) {
      OpenFresh();
      Fill(c_.num, false, false, 1);
      *filled = true;
    }
    db_->Flush().PermitUncheckedError();
    Open();
  }

  void Run() {
    std::printf("lsmkv_bench: keys %d bytes, values %d bytes, num %" PRIu64
                ", write buffer %zu MiB, block cache %zu MiB, bloom %d bits/key, db %s\n",
                c_.key_size, c_.value_size, c_.num, c_.write_buffer_size >> 20,
                c_.block_cache_size >> 20, c_.bloom_bits, c_.db.c_str());
    std::stringstream list(c_.benchmarks);
    std::string name;
    bool filled = false;
    while (std::getline(list, name, ',')) {
      if (name == "fillseq" || name == "fillrandom") {
        OpenFresh();
        Result r = Fill(c_.num, name == "fillseq", false, 1);
        Report(name, r);
        filled = true;
      } else if (name == "fillsync") {
        std::stringstream ts(c_.sync_threads);
        std::string t;
        while (std::getline(ts, t, ',')) {
          const int threads = std::stoi(t);
          OpenFresh();
          Result r = Fill(c_.sync_num, false, true, threads);
          Report("fillsync/" + t + "thr", r,
                 "(" + std::to_string(StatValue(db_.get(), "wal syncs")) + " fdatasyncs)");
        }
        filled = false;
      } else if (name == "readrandom" || name == "readmissing") {
        PrepareReads(&filled);
        const uint64_t tables0 = StatValue(db_.get(), "tables read by gets");
        const uint64_t useful0 = StatValue(db_.get(), "bloom filter useful");
        const uint64_t checks0 = StatValue(db_.get(), "bloom filter checks");
        Result r = Read(c_.num, name == "readmissing");
        const uint64_t tables = StatValue(db_.get(), "tables read by gets") - tables0;
        const uint64_t useful = StatValue(db_.get(), "bloom filter useful") - useful0;
        const uint64_t checks = StatValue(db_.get(), "bloom filter checks") - checks0;
        char extra[200];
        std::snprintf(extra, sizeof(extra),
                      "(found %" PRIu64 "; tables/lookup %.2f; bloom checks %" PRIu64
                      ", useful skips %" PRIu64 ")",
                      r.found, static_cast<double>(tables) / static_cast<double>(r.ops), checks,
                      useful);
        Report(name, r, extra);
      } else if (name == "readseq" || name == "readreverse" || name == "seekrandom") {
        PrepareReads(&filled);
        if (name == "seekrandom") {
          Report(name, SeekRandom(c_.num / 10), "(seek + 10 Next)");
        } else {
          uint64_t peak = 0, before = 0;
          Result r = Scan(name == "readreverse", &peak, &before);
          char extra[160];
          std::snprintf(extra, sizeof(extra),
                        "(%" PRIu64 " entries; RSS before %.1f MiB, peak during scan %.1f MiB)",
                        r.ops, before / 1048576.0, peak / 1048576.0);
          Report(name, r, extra);
        }
      } else if (!name.empty()) {
        std::fprintf(stderr, "unknown benchmark %s\n", name.c_str());
        std::exit(2);
      }
    }
    std::string levels;
    if (db_ && db_->GetProperty("lsmkv.levels", &levels)) std::printf("%s", levels.c_str());
    db_.reset();
    lsmkv::DestroyDB(c_.db, lsmkv::Options()).PermitUncheckedError();
  }

 private:
  Config c_;
  std::unique_ptr<lsmkv::DB> db_;
};

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{"lsmkv_bench: throughput and latency of lsmkv workloads"};
  app.add_option("--db", c.db, "scratch database directory (destroyed)")->capture_default_str();
  app.add_option("--benchmarks", c.benchmarks, "comma-separated workloads")->capture_default_str();
  app.add_option("--num", c.num, "entries for fill/read workloads")->capture_default_str();
  app.add_option("--sync_num", c.sync_num, "entries for fillsync")->capture_default_str();
  app.add_option("--sync_threads", c.sync_threads, "thread counts for fillsync")
      ->capture_default_str();
  app.add_option("--key_size", c.key_size, "key bytes")
      ->capture_default_str()
      ->check(CLI::Range(8, 1024));
  app.add_option("--value_size", c.value_size, "value bytes")->capture_default_str();
  app.add_option("--write_buffer_size", c.write_buffer_size, "memtable bytes")
      ->capture_default_str();
  app.add_option("--memtable_huge_page_size", c.memtable_huge_page_size,
                 "memtable huge-page chunk bytes (0: ordinary pages)")
      ->capture_default_str();
  app.add_option("--memtable_run_size", c.memtable_run_size,
                 "bytes of each memtable run (0: one skiplist per memtable)")
      ->capture_default_str();
  app.add_option("--block_cache_size", c.block_cache_size, "block cache bytes")
      ->capture_default_str();
  app.add_option("--bloom_bits", c.bloom_bits, "bloom bits per key")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  Bench(c).Run();
  return 0;
}
