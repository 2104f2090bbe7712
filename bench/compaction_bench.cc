// lsmkv_compaction_bench: what leveled compaction costs and buys.
//
//   lsmkv_compaction_bench [--num=N] [--compaction_threads=1,2] [--runs=3]
//
// Per run and compaction-thread count, on a fresh database:
//   fillrandom  num keys in random order (sync=false)
//   overwrite   num random overwrites of those keys
//   settle      waits until no compaction is due (CompactRange is NOT used)
//   readrandom  num random Gets (all keys present)
// and prints throughput, write amplification (table bytes written / WAL
// bytes, from "lsmkv.stats"), write stalls and stall time, the peak pending
// compaction bytes seen while writing, space amplification (bytes on disk /
// live user bytes) after settling, and the DB mutex wait/hold figures.
// Medians over --runs are printed last, one line per thread count.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lsmkv/db.h"
#include "util/random.h"

namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string Key(uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%016" PRIu64, i);
  return buf;
}

// The number after `label` in text (0 if absent).
double Field(const std::string& text, const std::string& label) {
  const size_t at = text.find(label);
  if (at == std::string::npos) return 0;
  return std::strtod(text.c_str() + at + label.size(), nullptr);
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2)) total += it->file_size(ec2);
  }
  return total;
}

struct Result {
  double fill_ops = 0, overwrite_ops = 0, read_ops = 0;
  double write_amp = 0, space_amp = 0, stall_s = 0, stops = 0, slowdowns = 0;
  double peak_pending_mb = 0, settle_s = 0, mutex_wait_p99 = 0, mutex_hold_p99 = 0;
  double peak_parallel = 0;
};

void Check(const lsmkv::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "lsmkv_compaction_bench: %s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

Result RunOnce(const std::string& path, uint64_t num, int value_size, int threads, uint32_t seed) {
  lsmkv::Options options;
  options.create_if_missing = true;
  options.max_background_compactions = threads;
  lsmkv::DestroyDB(path, options).PermitUncheckedError();
  std::unique_ptr<lsmkv::DB> db;
  Check(lsmkv::DB::Open(options, path, &db), "open");
  lsmkv::Random rnd(seed);
  const std::string value(static_cast<size_t>(value_size), 'v');
  Result r;
  std::string stats;
  auto sample_pending = [&] {
    db->GetProperty("lsmkv.stats", &stats);
    r.peak_pending_mb =
        std::max(r.peak_pending_mb, Field(stats, "pending compaction bytes: ") / 1e6);
  };

  std::vector<uint64_t> order(num);
  for (uint64_t i = 0; i < num; i++) order[i] = i;
  for (uint64_t i = num; i > 1; i--)
    std::swap(order[i - 1], order[rnd.Uniform(static_cast<uint32_t>(i))]);
  double start = NowSeconds();
  for (uint64_t i = 0; i < num; i++) {
    Check(db->Put(lsmkv::WriteOptions(), Key(order[i]), value), "fillrandom put");
    if (i % 50000 == 0) sample_pending();
  }
  r.fill_ops = static_cast<double>(num) / (NowSeconds() - start);

  start = NowSeconds();
  for (uint64_t i = 0; i < num; i++) {
    Check(db->Put(lsmkv::WriteOptions(), Key(rnd.Uniform(static_cast<uint32_t>(num))), value),
          "overwrite put");
    if (i % 50000 == 0) sample_pending();
  }
  r.overwrite_ops = static_cast<double>(num) / (NowSeconds() - start);

  // Settle: flush, then wait for the scheduled compactions (polling the levels).
  start = NowSeconds();
  Check(db->Flush(), "flush");
  for (;;) {
    std::string levels;
    db->GetProperty("lsmkv.levels", &levels);
    if (levels.find("yes") == std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      db->GetProperty("lsmkv.levels", &levels);
      if (levels.find("yes") == std::string::npos) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  r.settle_s = NowSeconds() - start;
  db->GetProperty("lsmkv.stats", &stats);
  r.write_amp = Field(stats, "write amplification (table bytes written / WAL bytes): ");
  r.stall_s = Field(stats, "stall micros: ") / 1e6;
  r.stops = Field(stats, "write stops: ");
  r.slowdowns = Field(stats, "write slowdowns: ");
  r.mutex_wait_p99 = Field(stats.substr(stats.find("db mutex wait")), " p99 ");
  r.mutex_hold_p99 = Field(stats.substr(stats.find("db mutex hold")), " p99 ");
  r.peak_parallel = Field(stats, "(peak ");
  const double live = static_cast<double>(num) * (16.0 + value_size);
  r.space_amp = static_cast<double>(DirBytes(path)) / live;

  start = NowSeconds();
  std::string got;
  for (uint64_t i = 0; i < num; i++) {
    Check(db->Get(lsmkv::ReadOptions(), Key(rnd.Uniform(static_cast<uint32_t>(num))), &got),
          "readrandom get");
  }
  r.read_ops = static_cast<double>(num) / (NowSeconds() - start);
  Check(db->Close(), "close");
  lsmkv::DestroyDB(path, options).PermitUncheckedError();
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void Print(const char* label, int threads, const Result& r) {
  std::printf(
      "%-7s thr=%d fillrandom %8.0f/s overwrite %8.0f/s readrandom %8.0f/s | w-amp %.2f "
      "s-amp %.2f | stops %.0f slowdowns %.0f stall %.2f s | pending peak %.1f MB settle %.1f s "
      "| parallel peak %.0f | mutex p99 wait %.0f ns hold %.0f ns\n",
      label, threads, r.fill_ops, r.overwrite_ops, r.read_ops, r.write_amp, r.space_amp, r.stops,
      r.slowdowns, r.stall_s, r.peak_pending_mb, r.settle_s, r.peak_parallel, r.mutex_wait_p99,
      r.mutex_hold_p99);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "lsmkv_compaction_bench: fillrandom + overwrite + readrandom with compaction figures"};
  std::string db = "/tmp/lsmkv_compaction_bench";
  uint64_t num = 1000000;
  int value_size = 100;
  int runs = 3;
  std::string thread_list = "1,2";
  app.add_option("--db", db, "scratch database directory (destroyed)")->capture_default_str();
  app.add_option("--num", num, "keys written by fillrandom, overwrites, reads")
      ->capture_default_str();
  app.add_option("--value_size", value_size, "value bytes")->capture_default_str();
  app.add_option("--runs", runs, "runs per thread count")
      ->check(CLI::Range(1, 50))
      ->capture_default_str();
  app.add_option("--compaction_threads", thread_list, "comma-separated max_background_compactions")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (num == 0 || num > 0xffffffffull) {
    std::fprintf(stderr, "lsmkv_compaction_bench: --num must be in [1, 2^32)\n");
    return 2;
  }
  std::vector<int> threads;
  std::stringstream list(thread_list);
  for (std::string item; std::getline(list, item, ',');) threads.push_back(std::stoi(item));
  std::printf("lsmkv_compaction_bench: num=%" PRIu64 " key=16 value=%d runs=%d, default options\n",
              num, value_size, runs);
  std::map<int, std::vector<Result>> results;
  for (int run = 0; run < runs; run++) {
    for (int t : threads) {  // thread counts alternate so noise hits all alike
      Result r = RunOnce(db, num, value_size, t, 301 + static_cast<uint32_t>(run));
      Print("run", t, r);
      results[t].push_back(r);
    }
  }
  for (int t : threads) {
    auto med = [&](double Result::*field) {
      std::vector<double> v;
      for (const Result& r : results[t]) v.push_back(r.*field);
      return Median(v);
    };
    Result m;
    for (double Result::*f :
         {&Result::fill_ops, &Result::overwrite_ops, &Result::read_ops, &Result::write_amp,
          &Result::space_amp, &Result::stall_s, &Result::stops, &Result::slowdowns,
          &Result::peak_pending_mb, &Result::settle_s, &Result::mutex_wait_p99,
          &Result::mutex_hold_p99, &Result::peak_parallel}) {
      m.*f = med(f);
    }
    Print("median", t, m);
  }
  return 0;
}
