// lsmkv_stress: a randomized, multi-threaded workload checked against an
// expected-state file that survives kill -9, for the crash test
// (scripts/crashtest.sh, docs/RELIABILITY.md).
//
//   lsmkv_stress --db DIR --expected FILE [--seed N] [--threads T] [--keys K]
//                [--seconds S] [--ops N]      verify, run the workload, verify
//   lsmkv_stress --db DIR --expected FILE --verify-only   reopen and verify
//   lsmkv_stress --db DIR --expected FILE --destroy       remove both
//
// Each of the T threads owns a disjoint slice of the K keys, so every key has
// one writer and the expected state of a key is exact except while its write
// is in flight. A write first marks its key(s) pending in the expected-state
// file, then goes to the DB, then is committed in the file. After a crash a
// pending key may show its old or its new state (all keys of one batch the
// same one); every other key must hold exactly its expected value or be
// absent. The DB options are drawn from the seed and printed.
//
// Exit codes: 0 success, 1 verification failure, 2 usage or expected-state
// file error, 3 unexpected database error (including a failed Open).
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lsmkv/db.h"
#include "stress_expected.h"
#include "util/random.h"

namespace {

using lsmkv::stress::ExpectedState;
using lsmkv::stress::KeyFor;
using lsmkv::stress::Slot;
using lsmkv::stress::ValueFor;

constexpr int kExitMismatch = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDbError = 3;

constexpr size_t kMaxReportedMismatches = 20;

// Everything a run depends on: the flags and what is drawn from the seed.
struct Config {
  std::string db_path;
  std::string expected_path;
  uint64_t seed = 0;
  uint32_t threads = 4;
  uint32_t keys = 10000;
  double seconds = 60;
  uint64_t ops = 0;

  lsmkv::Options options;
  uint32_t sync_percent = 0;    // share of writes with WriteOptions::sync
  uint32_t flush_one_in = 0;    // a thread calls Flush with probability 1/flush_one_in per op
  uint32_t batch_keys_max = 2;  // keys per batch: 2..batch_keys_max
};

const char* CompressionName(lsmkv::CompressionType type) {
  switch (type) {
    case lsmkv::CompressionType::kNone: return "none";
    case lsmkv::CompressionType::kSnappy: return "snappy";
    case lsmkv::CompressionType::kLZ4: return "lz4";
    case lsmkv::CompressionType::kZstd: return "zstd";
  }
  return "?";
}

const char* RecoveryModeName(lsmkv::WalRecoveryMode mode) {
  switch (mode) {
    case lsmkv::WalRecoveryMode::kTolerateCorruptedTail: return "kTolerateCorruptedTail";
    case lsmkv::WalRecoveryMode::kAbsoluteConsistency: return "kAbsoluteConsistency";
    case lsmkv::WalRecoveryMode::kPointInTime: return "kPointInTime";
    case lsmkv::WalRecoveryMode::kSkipAnyCorrupted: return "kSkipAnyCorrupted";
  }
  return "?";
}

// Draws the DB options and the workload parameters from config->seed.
void Randomize(Config* config) {
  lsmkv::Random rnd(config->seed ^ 0x6f7074696f6e73ull);
  lsmkv::Options& o = config->options;
  o.create_if_missing = true;
  // 64 KiB .. 8 MiB, log-uniform, not always a power of two.
  o.write_buffer_size = (size_t{64} << 10 << rnd.Uniform(8)) + rnd.Uniform(4096);
  o.max_write_buffer_number = 2 + static_cast<int>(rnd.Uniform(5));
  o.block_size = size_t{256} << rnd.Uniform(9);  // 256 B .. 64 KiB
  o.compression = static_cast<lsmkv::CompressionType>(rnd.Uniform(4));
  o.bloom_bits_per_key = static_cast<int>(rnd.Uniform(17));
  o.wal_recovery_mode = rnd.OneIn(2) ? lsmkv::WalRecoveryMode::kPointInTime
                                     : lsmkv::WalRecoveryMode::kTolerateCorruptedTail;
  static constexpr uint32_t kSyncPercents[] = {0, 1, 10, 50};
  config->sync_percent = kSyncPercents[rnd.Uniform(4)];
  config->flush_one_in = 500u << rnd.Uniform(5);  // 500 .. 8000
  config->batch_keys_max = 2 + rnd.Uniform(15);   // 2 .. 16
}

void PrintConfig(const Config& c, const char* mode) {
  const lsmkv::Options& o = c.options;
  std::printf(
      "lsmkv_stress: %s seed=%" PRIu64 " threads=%u keys=%u seconds=%g ops=%" PRIu64 "\n"
      "  write_buffer_size=%zu max_write_buffer_number=%d block_size=%zu compression=%s "
      "bloom_bits_per_key=%d wal_recovery_mode=%s\n"
      "  sync_percent=%u flush_one_in=%u batch_keys_max=%u\n"
      "  reproduce: lsmkv_stress --db %s --expected %s --seed %" PRIu64
      " --threads %u --keys %u --seconds %g --ops %" PRIu64 "%s\n",
      mode, c.seed, c.threads, c.keys, c.seconds, c.ops, o.write_buffer_size,
      o.max_write_buffer_number, o.block_size, CompressionName(o.compression),
      o.bloom_bits_per_key, RecoveryModeName(o.wal_recovery_mode), c.sync_percent,
      c.flush_one_in, c.batch_keys_max, c.db_path.c_str(), c.expected_path.c_str(), c.seed,
      c.threads, c.keys, c.seconds, c.ops,
      std::string(mode) == "verify-only" ? " --verify-only" : "");
  std::fflush(stdout);
}

std::string ToHex(std::string_view bytes, size_t limit) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < limit; i++) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  if (bytes.size() > limit) out += "...";
  return out;
}

std::string DescribeState(uint32_t index, bool exists, uint32_t value_id) {
  if (!exists) return "absent";
  return "value id " + std::to_string(value_id) + " (" +
         std::to_string(ValueFor(index, value_id).size()) + " bytes)";
}

// What the DB returned, named by the value id it matches if it is one of
// the recent values of the key, else shown as bytes.
std::string DescribeFound(uint32_t index, const Slot& slot, bool found, const std::string& value) {
  if (!found) return "absent";
  const uint32_t newest = std::max(slot.value_id, slot.pending_value_id) + 4;
  for (uint32_t id = newest; id >= 1 && id + 64 > newest; id--) {
    if (ValueFor(index, id) == value) return "value id " + std::to_string(id) + " (stale or future)";
  }
  return "unknown value of " + std::to_string(value.size()) + " bytes: " + ToHex(value, 24);
}

std::string KeyName(uint32_t index) {
  return "key " + std::to_string(index) + " ('" + KeyFor(index) + "')";
}

// Collects the first error of any thread; later ones are counted only.
class Failure {
 public:
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  void Set(int code, const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_.load(std::memory_order_relaxed)) {
      code_ = code;
      message_ = message;
      failed_.store(true, std::memory_order_release);
    }
  }
  int code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  int code_ = 0;
  std::string message_;
};

// ---------------------------------------------------------------- verification

struct VerifyResult {
  uint64_t keys = 0;
  uint64_t present = 0;
  uint64_t pending_old = 0;  // pending keys that showed their old state
  uint64_t pending_new = 0;
  uint64_t batches = 0;  // pending batches met
  std::vector<std::string> mismatches;
  uint64_t mismatch_count = 0;
};

void AddMismatch(VerifyResult* r, const std::string& text) {
  r->mismatch_count++;
  if (r->mismatches.size() < kMaxReportedMismatches) r->mismatches.push_back(text);
}

// Reads every key and checks it against the expected state. Pending keys are
// then resolved to the state the DB shows (old or new), so the model is exact
// again. Returns false with *error set on a DB or file error.
bool Verify(lsmkv::DB* db, ExpectedState* expected, VerifyResult* r, std::string* error) {
  struct PendingKey {
    uint32_t index;
    bool old_ok;
    bool new_ok;
  };
  std::map<uint32_t, std::vector<PendingKey>> batches;
  std::vector<std::pair<uint32_t, bool>> resolutions;  // (key, use new state)
  std::string value;
  for (uint32_t i = 0; i < expected->num_keys(); i++) {
    const Slot& slot = expected->Get(i);
    lsmkv::Status s = db->Get(lsmkv::ReadOptions(), KeyFor(i), &value);
    if (!s.ok() && !s.IsNotFound()) {
      *error = "Get of " + KeyName(i) + " failed: " + s.ToString();
      return false;
    }
    const bool found = s.ok();
    r->keys++;
    if (found) r->present++;
    auto matches = [&](bool exists, uint32_t value_id) {
      return exists ? found && value == ValueFor(i, value_id) : !found;
    };
    const bool old_ok = matches(slot.exists(), slot.value_id);
    if (!slot.pending()) {
      if (!old_ok) {
        AddMismatch(r, KeyName(i) + ": expected " + DescribeState(i, slot.exists(), slot.value_id) +
                           ", found " + DescribeFound(i, slot, found, value));
      }
      continue;
    }
    const bool new_ok = matches(slot.pending_exists(), slot.pending_value_id);
    if (!old_ok && !new_ok) {
      AddMismatch(r, KeyName(i) + ": expected (write in flight) old " +
                         DescribeState(i, slot.exists(), slot.value_id) + " or new " +
                         DescribeState(i, slot.pending_exists(), slot.pending_value_id) +
                         ", found " + DescribeFound(i, slot, found, value));
      continue;
    }
    if (slot.batch_id != 0) {
      batches[slot.batch_id].push_back({i, old_ok, new_ok});
    } else {
      resolutions.emplace_back(i, new_ok);
    }
  }
  for (const auto& [batch_id, keys] : batches) {
    r->batches++;
    bool all_old = true, all_new = true;
    for (const PendingKey& k : keys) {
      all_old = all_old && k.old_ok;
      all_new = all_new && k.new_ok;
    }
    if (!all_old && !all_new) {
      std::string text = "batch " + std::to_string(batch_id) + " partially visible:";
      for (const PendingKey& k : keys) {
        text += " " + KeyName(k.index) + (k.new_ok ? (k.old_ok ? "=either" : "=new") : "=old");
      }
      AddMismatch(r, text);
      continue;
    }
    for (const PendingKey& k : keys) resolutions.emplace_back(k.index, all_new);
  }
  if (r->mismatch_count > 0) return true;  // keep the file as it was, for diagnosis
  for (const auto& [index, use_new] : resolutions) {
    Slot slot = expected->Get(index);
    if (use_new) {
      slot.value_id = slot.pending_value_id;
      slot.flags = slot.pending_exists() ? Slot::kExists : 0;
      r->pending_new++;
    } else {
      slot.flags &= Slot::kExists;
      r->pending_old++;
    }
    slot.pending_value_id = 0;
    slot.batch_id = 0;
    if (!expected->Set(index, slot, error)) return false;
  }
  return true;
}

// Verifies and prints the outcome. Returns an exit code (0 if all is well).
int VerifyAndReport(const Config& config, lsmkv::DB* db, ExpectedState* expected,
                    const char* when) {
  VerifyResult r;
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  if (!Verify(db, expected, &r, &error)) {
    std::fprintf(stderr, "lsmkv_stress: ERROR during %s verification: %s [seed %" PRIu64 "]\n",
                 when, error.c_str(), config.seed);
    return kExitDbError;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (r.mismatch_count > 0) {
    for (const std::string& m : r.mismatches) {
      std::fprintf(stderr, "lsmkv_stress: MISMATCH (%s verification) %s [seed %" PRIu64 "]\n",
                   when, m.c_str(), config.seed);
    }
    std::fprintf(stderr,
                 "lsmkv_stress: FAILED: %" PRIu64 " mismatches among %" PRIu64
                 " keys [seed %" PRIu64 ", db %s, expected %s]\n",
                 r.mismatch_count, r.keys, config.seed, config.db_path.c_str(),
                 config.expected_path.c_str());
    return kExitMismatch;
  }
  std::printf("lsmkv_stress: %s verification OK: verified %" PRIu64 " keys (%" PRIu64
              " present, in-flight writes: %" PRIu64 " old, %" PRIu64 " new, %" PRIu64
              " batches) in %.2f s\n",
              when, r.keys, r.present, r.pending_old, r.pending_new, r.batches, secs);
  std::fflush(stdout);
  return 0;
}

// ---------------------------------------------------------------- workload

struct Counters {
  std::atomic<uint64_t> ops{0};
  std::atomic<uint64_t> puts{0};
  std::atomic<uint64_t> deletes{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> batch_keys{0};
  std::atomic<uint64_t> gets{0};
  std::atomic<uint64_t> flushes{0};
};

// One thread of the workload: writes and reads the keys [begin, end).
class Worker {
 public:
  Worker(const Config& config, uint32_t thread_index, uint32_t begin, uint32_t end, lsmkv::DB* db,
         ExpectedState* expected, Counters* counters, Failure* failure)
      : config_(config),
        rnd_(config.seed * 0x100000001b3ull + thread_index + 1),
        begin_(begin),
        end_(end),
        db_(db),
        expected_(expected),
        counters_(counters),
        failure_(failure) {}

  void Run(std::chrono::steady_clock::time_point deadline) {
    if (begin_ == end_) return;
    while (!failure_->failed()) {
      if (config_.seconds > 0 && std::chrono::steady_clock::now() >= deadline) return;
      if (config_.ops > 0 && counters_->ops.fetch_add(1) >= config_.ops) return;
      if (rnd_.OneIn(config_.flush_one_in)) {
        DoFlush();
        continue;
      }
      const uint32_t r = rnd_.Uniform(100);
      if (r < 40) {
        DoSingleWrite(true);
      } else if (r < 55) {
        DoSingleWrite(false);
      } else if (r < 70) {
        DoBatch();
      } else {
        DoGet();
      }
    }
  }

 private:
  lsmkv::WriteOptions NextWriteOptions() {
    lsmkv::WriteOptions wo;
    wo.sync = rnd_.Uniform(100) < config_.sync_percent;
    return wo;
  }

  uint32_t PickKey() { return begin_ + rnd_.Uniform(end_ - begin_); }

  bool SetSlot(uint32_t index, const Slot& slot) {
    std::string error;
    if (expected_->Set(index, slot, &error)) return true;
    failure_->Set(kExitUsage, error);
    return false;
  }

  // Marks key index pending with a new value id; returns the pending slot.
  Slot MakePending(uint32_t index, bool put, uint32_t batch_id) {
    Slot slot = expected_->Get(index);
    slot.pending_value_id = slot.value_id + 1;
    slot.batch_id = batch_id;
    slot.flags = static_cast<uint8_t>((slot.flags & Slot::kExists) | Slot::kPending |
                                      (put ? Slot::kPendingExists : 0));
    return slot;
  }

  static Slot Committed(const Slot& pending) {
    Slot slot;
    slot.value_id = pending.pending_value_id;
    slot.flags = pending.pending_exists() ? Slot::kExists : 0;
    return slot;
  }

  void DbError(const char* op, uint32_t index, const lsmkv::Status& s) {
    failure_->Set(kExitDbError, std::string(op) + " of " + KeyName(index) +
                                    " failed: " + s.ToString() + " [seed " +
                                    std::to_string(config_.seed) + "]");
  }

  void DoSingleWrite(bool put) {
    const uint32_t index = PickKey();
    const Slot pending = MakePending(index, put, 0);
    if (!SetSlot(index, pending)) return;
    const lsmkv::WriteOptions wo = NextWriteOptions();
    const std::string key = KeyFor(index);
    lsmkv::Status s = put ? db_->Put(wo, key, ValueFor(index, pending.pending_value_id))
                          : db_->Delete(wo, key);
    if (!s.ok()) return DbError(put ? "Put" : "Delete", index, s);
    if (!SetSlot(index, Committed(pending))) return;
    (put ? counters_->puts : counters_->deletes).fetch_add(1, std::memory_order_relaxed);
  }

  void DoBatch() {
    const uint32_t slice = end_ - begin_;
    const uint32_t want = std::min(slice, 2 + rnd_.Uniform(config_.batch_keys_max - 1));
    std::vector<uint32_t> keys;
    while (keys.size() < want) {
      const uint32_t index = PickKey();
      if (std::find(keys.begin(), keys.end(), index) == keys.end()) keys.push_back(index);
    }
    uint32_t batch_id = 0;
    while (batch_id == 0) batch_id = rnd_.Next();
    lsmkv::WriteBatch batch;
    std::vector<Slot> pending;
    for (uint32_t index : keys) {
      const bool put = rnd_.Uniform(4) != 0;
      pending.push_back(MakePending(index, put, batch_id));
      if (!SetSlot(index, pending.back())) return;
      if (put) {
        batch.Put(KeyFor(index), ValueFor(index, pending.back().pending_value_id));
      } else {
        batch.Delete(KeyFor(index));
      }
    }
    lsmkv::Status s = db_->Write(NextWriteOptions(), &batch);
    if (!s.ok()) return DbError("Write (batch)", keys[0], s);
    for (size_t i = 0; i < keys.size(); i++) {
      if (!SetSlot(keys[i], Committed(pending[i]))) return;
    }
    counters_->batches.fetch_add(1, std::memory_order_relaxed);
    counters_->batch_keys.fetch_add(keys.size(), std::memory_order_relaxed);
  }

  // Only this thread writes the key, so its expected state is exact.
  void DoGet() {
    const uint32_t index = PickKey();
    const Slot& slot = expected_->Get(index);
    std::string value;
    lsmkv::Status s = db_->Get(lsmkv::ReadOptions(), KeyFor(index), &value);
    if (!s.ok() && !s.IsNotFound()) return DbError("Get", index, s);
    const bool ok = slot.exists() ? s.ok() && value == ValueFor(index, slot.value_id)
                                  : s.IsNotFound();
    if (!ok) {
      failure_->Set(kExitMismatch, "MISMATCH (while running) " + KeyName(index) + ": expected " +
                                       DescribeState(index, slot.exists(), slot.value_id) +
                                       ", found " + DescribeFound(index, slot, s.ok(), value) +
                                       " [seed " + std::to_string(config_.seed) + "]");
      return;
    }
    counters_->gets.fetch_add(1, std::memory_order_relaxed);
  }

  void DoFlush() {
    lsmkv::Status s = db_->Flush();
    if (!s.ok()) {
      failure_->Set(kExitDbError, "Flush failed: " + s.ToString() + " [seed " +
                                      std::to_string(config_.seed) + "]");
      return;
    }
    counters_->flushes.fetch_add(1, std::memory_order_relaxed);
  }

  const Config& config_;
  lsmkv::Random rnd_;
  const uint32_t begin_;
  const uint32_t end_;
  lsmkv::DB* const db_;
  ExpectedState* const expected_;
  Counters* const counters_;
  Failure* const failure_;
};

int RunWorkload(const Config& config, lsmkv::DB* db, ExpectedState* expected) {
  Counters counters;
  Failure failure;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(config.seconds));
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < config.threads; t++) {
    const auto begin = static_cast<uint32_t>(uint64_t{config.keys} * t / config.threads);
    const auto end = static_cast<uint32_t>(uint64_t{config.keys} * (t + 1) / config.threads);
    workers.push_back(std::make_unique<Worker>(config, t, begin, end, db, expected, &counters,
                                               &failure));
  }
  for (auto& w : workers) threads.emplace_back([&w, deadline] { w->Run(deadline); });
  for (auto& t : threads) t.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("lsmkv_stress: workload: %" PRIu64 " puts, %" PRIu64 " deletes, %" PRIu64
              " batches (%" PRIu64 " keys), %" PRIu64 " gets, %" PRIu64 " flushes in %.2f s\n",
              counters.puts.load(), counters.deletes.load(), counters.batches.load(),
              counters.batch_keys.load(), counters.gets.load(), counters.flushes.load(), secs);
  std::fflush(stdout);
  if (failure.failed()) {
    std::fprintf(stderr, "lsmkv_stress: FAILED: %s\n", failure.message().c_str());
    return failure.code();
  }
  return 0;
}

// ---------------------------------------------------------------- main

int OpenDb(const Config& config, std::unique_ptr<lsmkv::DB>* db) {
  lsmkv::Status s = lsmkv::DB::Open(config.options, config.db_path, db);
  if (s.ok()) return 0;
  std::fprintf(stderr, "lsmkv_stress: FAILED: cannot open %s: %s [seed %" PRIu64 "]\n",
               config.db_path.c_str(), s.ToString().c_str(), config.seed);
  return kExitDbError;
}

int CloseDb(const Config& config, std::unique_ptr<lsmkv::DB>* db) {
  lsmkv::Status s = (*db)->Close();
  db->reset();
  if (s.ok()) return 0;
  std::fprintf(stderr, "lsmkv_stress: FAILED: Close: %s [seed %" PRIu64 "]\n",
               s.ToString().c_str(), config.seed);
  return kExitDbError;
}

int Destroy(const Config& config) {
  lsmkv::Status s = lsmkv::DestroyDB(config.db_path, lsmkv::Options());
  if (!s.ok()) {
    std::fprintf(stderr, "lsmkv_stress: cannot destroy %s: %s\n", config.db_path.c_str(),
                 s.ToString().c_str());
    return kExitDbError;
  }
  if (::unlink(config.expected_path.c_str()) != 0 && errno != ENOENT) {
    std::fprintf(stderr, "lsmkv_stress: cannot remove %s: %s\n", config.expected_path.c_str(),
                 std::strerror(errno));
    return kExitUsage;
  }
  std::printf("lsmkv_stress: destroyed %s and %s\n", config.db_path.c_str(),
              config.expected_path.c_str());
  return 0;
}

// Reopen-and-verify, optionally followed by the workload and a second
// reopen-and-verify (which catches writes lost by a clean Close).
int Run(const Config& config, bool verify_only) {
  ExpectedState expected;
  std::string error;
  if (!expected.Open(config.expected_path, config.keys, &error)) {
    std::fprintf(stderr, "lsmkv_stress: %s\n", error.c_str());
    return kExitUsage;
  }
  std::unique_ptr<lsmkv::DB> db;
  if (int code = OpenDb(config, &db); code != 0) return code;
  if (int code = VerifyAndReport(config, db.get(), &expected, "reopen"); code != 0) return code;
  if (verify_only) return CloseDb(config, &db);

  if (int code = RunWorkload(config, db.get(), &expected); code != 0) return code;
  if (int code = CloseDb(config, &db); code != 0) return code;
  if (int code = OpenDb(config, &db); code != 0) return code;
  if (int code = VerifyAndReport(config, db.get(), &expected, "final"); code != 0) return code;
  return CloseDb(config, &db);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lsmkv_stress: randomized workload checked against a crash-proof expected state"};
  Config config;
  bool verify_only = false, destroy = false;
  std::optional<uint64_t> seed;
  app.add_option("--db", config.db_path, "database directory")->required();
  app.add_option("--expected", config.expected_path, "expected-state file")->required();
  app.add_option("--seed", seed, "seed of the options and the workload (default: from the clock)");
  app.add_option("--threads", config.threads, "writer threads, each owning a slice of the keys")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--keys", config.keys, "number of keys (fixed for an expected-state file)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100000000u));
  app.add_option("--seconds", config.seconds, "stop the workload after this time (0: no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--ops", config.ops, "stop the workload after this many operations (0: no limit)")
      ->capture_default_str();
  auto* verify_flag =
      app.add_flag("--verify-only", verify_only, "reopen, verify every key, resolve and exit");
  app.add_flag("--destroy", destroy, "remove the database and the expected-state file and exit")
      ->excludes(verify_flag);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (destroy) return Destroy(config);
  if (!verify_only && config.seconds == 0 && config.ops == 0) {
    std::fprintf(stderr, "lsmkv_stress: --seconds 0 and --ops 0: the workload would never end\n");
    return kExitUsage;
  }
  config.seed = seed.has_value()
                    ? *seed
                    : static_cast<uint64_t>(
                          std::chrono::system_clock::now().time_since_epoch().count());
  Randomize(&config);
  PrintConfig(config, verify_only ? "verify-only" : "run");
  const int code = Run(config, verify_only);
  if (code == 0) std::printf("lsmkv_stress: OK\n");
  return code;
}
