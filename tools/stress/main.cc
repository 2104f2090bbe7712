// lsmkv_stress: a randomized, multi-threaded workload checked against an
// expected-state file that survives kill -9, for the crash test
// (scripts/crashtest.sh, docs/RELIABILITY.md).
//
//   lsmkv_stress --db DIR --expected FILE [--seed N] [--threads T] [--keys K]
//                [--seconds S] [--ops N]      verify, run the workload, verify
//                [--max_manifest_file_size B] [--block_cache_size B] [--write_buffer_size B]
//                                             these options instead of the drawn ones
//   lsmkv_stress --db DIR --expected FILE --verify-only   reopen and verify
//   lsmkv_stress --db DIR --expected FILE --destroy       remove both
//   lsmkv_stress --list_kill_points                        print the kill points
//
// Kill points (src/env/kill_point_env.h): --kill_point NAME --kill_after N
// kills the process with SIGKILL at the Nth hit of NAME (just after the step,
// or just before it with --kill_before); --kill_odds N kills at any hit of any
// point (of --kill_point, if given) with odds 1/N. Every run ends by printing
// the points it hit.
//
// Each of the T threads owns a disjoint slice of the K keys, so every key has
// one writer and the expected state of a key is exact except while its write
// is in flight. A write first marks its key(s) pending in the expected-state
// file, then goes to the DB, then is committed in the file. After a crash a
// pending key may show its old or its new state (all keys of one batch the
// same one); every other key must hold exactly its expected value or be
// absent. The DB options are drawn from the seed and printed.
//
// Besides puts, deletes, batches and gets, threads scan ranges of their own
// keys (forward or backward, which must equal the expected state exactly),
// check snapshots (a range read at a snapshot after more writes, flushes and
// compactions must equal the state when the snapshot was taken), flush and
// compact key ranges.
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

#include "env/kill_point_env.h"
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

  // Kill points (see the file comment).
  std::string kill_point;
  uint64_t kill_after = 1;
  bool kill_before = false;
  uint64_t kill_odds = 0;
  // Nonzero: these options instead of the drawn values.
  uint64_t max_manifest_file_size_override = 0;
  uint64_t block_cache_size_override = 0;
  uint64_t write_buffer_size_override = 0;

  lsmkv::Options options;
  uint32_t sync_percent = 0;    // share of writes with WriteOptions::sync
  uint32_t flush_one_in = 0;    // a thread calls Flush with probability 1/flush_one_in per op
  uint32_t compact_one_in = 0;  // ... CompactRange of a random range, 1/compact_one_in
  uint32_t batch_keys_max = 2;  // keys per batch: 2..batch_keys_max
  uint32_t scan_keys_max = 1;   // keys in the range of a scan or snapshot check: 1..scan_keys_max
};

const char* CompressionName(lsmkv::CompressionType type) {
  switch (type) {
    case lsmkv::CompressionType::kNone:
      return "none";
    case lsmkv::CompressionType::kSnappy:
      return "snappy";
    case lsmkv::CompressionType::kLZ4:
      return "lz4";
    case lsmkv::CompressionType::kZstd:
      return "zstd";
  }
  return "?";
}

const char* RecoveryModeName(lsmkv::WalRecoveryMode mode) {
  switch (mode) {
    case lsmkv::WalRecoveryMode::kTolerateCorruptedTail:
      return "kTolerateCorruptedTail";
    case lsmkv::WalRecoveryMode::kAbsoluteConsistency:
      return "kAbsoluteConsistency";
    case lsmkv::WalRecoveryMode::kPointInTime:
      return "kPointInTime";
    case lsmkv::WalRecoveryMode::kSkipAnyCorrupted:
      return "kSkipAnyCorrupted";
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
  o.block_restart_interval = 1 + static_cast<int>(rnd.Uniform(32));
  o.compression = static_cast<lsmkv::CompressionType>(rnd.Uniform(4));
  o.bloom_bits_per_key = static_cast<int>(rnd.Uniform(17));
  // kAbsoluteConsistency is left out: a kill during a multi-page write(2)
  // can tear the last WAL record, which that mode rejects by design.
  static constexpr lsmkv::WalRecoveryMode kModes[] = {
      lsmkv::WalRecoveryMode::kPointInTime, lsmkv::WalRecoveryMode::kTolerateCorruptedTail,
      lsmkv::WalRecoveryMode::kSkipAnyCorrupted};
  o.wal_recovery_mode = kModes[rnd.Uniform(3)];
  // For the workload's own opens, which follow a clean Close; see Run.
  o.paranoid_checks = rnd.OneIn(2);
  o.block_cache_size = size_t{64} << 10 << rnd.Uniform(10);  // 64 KiB .. 32 MiB
  o.max_open_files = rnd.OneIn(4) ? 4 + static_cast<int>(rnd.Uniform(16)) : 1000;
  o.target_file_size = uint64_t{32} << 10 << rnd.Uniform(9);  // 32 KiB .. 8 MiB
  o.level0_file_limit = 2 + static_cast<int>(rnd.Uniform(5));
  o.level0_slowdown_writes_trigger = o.level0_file_limit * 2;
  o.level0_stop_writes_trigger = o.level0_file_limit * 3;
  o.max_bytes_for_level_base = uint64_t{256} << 10 << rnd.Uniform(9);  // 256 KiB .. 64 MiB
  o.level_size_multiplier = 2 + static_cast<int>(rnd.Uniform(9));
  o.max_manifest_file_size = rnd.OneIn(3) ? uint64_t{2} << 10 << rnd.Uniform(6)  // 2 .. 64 KiB
                                          : uint64_t{64} << 20;
  o.max_background_compactions = 1 + static_cast<int>(rnd.Uniform(3));
  static constexpr uint32_t kSyncPercents[] = {0, 1, 10, 50};
  config->sync_percent = kSyncPercents[rnd.Uniform(4)];
  config->flush_one_in = 500u << rnd.Uniform(5);     // 500 .. 8000
  config->compact_one_in = 2000u << rnd.Uniform(4);  // 2000 .. 16000
  config->batch_keys_max = 2 + rnd.Uniform(15);      // 2 .. 16
  config->scan_keys_max = 8u << rnd.Uniform(5);      // 8 .. 128
}

// The kill-point flags of c, as a command line suffix ("" if none).
std::string KillFlags(const Config& c) {
  std::string out;
  if (!c.kill_point.empty()) {
    out += " --kill_point " + c.kill_point + " --kill_after " + std::to_string(c.kill_after);
    if (c.kill_before) out += " --kill_before";
  }
  if (c.kill_odds > 0) out += " --kill_odds " + std::to_string(c.kill_odds);
  return out;
}

// Options given on the command line instead of drawn from the seed.
std::string OverrideFlags(const Config& c) {
  std::string out;
  if (c.max_manifest_file_size_override != 0) {
    out += " --max_manifest_file_size " + std::to_string(c.max_manifest_file_size_override);
  }
  if (c.block_cache_size_override != 0) {
    out += " --block_cache_size " + std::to_string(c.block_cache_size_override);
  }
  if (c.write_buffer_size_override != 0) {
    out += " --write_buffer_size " + std::to_string(c.write_buffer_size_override);
  }
  return out;
}

void PrintConfig(const Config& c, const char* mode) {
  const lsmkv::Options& o = c.options;
  const bool verify_only = std::string(mode) == "verify-only";
  std::printf("lsmkv_stress: %s seed=%" PRIu64 " threads=%u keys=%u seconds=%g ops=%" PRIu64
              "\n"
              "  write_buffer_size=%zu max_write_buffer_number=%d block_size=%zu "
              "block_restart_interval=%d compression=%s bloom_bits_per_key=%d wal_recovery_mode=%s "
              "paranoid_checks=%d\n"
              "  block_cache_size=%zu max_open_files=%d target_file_size=%" PRIu64
              " level0_file_limit=%d max_bytes_for_level_base=%" PRIu64
              " level_size_multiplier=%d max_manifest_file_size=%" PRIu64
              " max_background_compactions=%d\n"
              "  sync_percent=%u flush_one_in=%u compact_one_in=%u batch_keys_max=%u "
              "scan_keys_max=%u\n"
              "  reproduce: lsmkv_stress --db %s --expected %s --seed %" PRIu64
              " --threads %u --keys %u --seconds %g --ops %" PRIu64 "%s%s%s\n",
              mode, c.seed, c.threads, c.keys, c.seconds, c.ops, o.write_buffer_size,
              o.max_write_buffer_number, o.block_size, o.block_restart_interval,
              CompressionName(o.compression), o.bloom_bits_per_key,
              RecoveryModeName(o.wal_recovery_mode),
              verify_only         ? 0
              : o.paranoid_checks ? 1
                                  : 0,
              o.block_cache_size, o.max_open_files, o.target_file_size, o.level0_file_limit,
              o.max_bytes_for_level_base, o.level_size_multiplier, o.max_manifest_file_size,
              o.max_background_compactions, c.sync_percent, c.flush_one_in, c.compact_one_in,
              c.batch_keys_max, c.scan_keys_max, c.db_path.c_str(), c.expected_path.c_str(), c.seed,
              c.threads, c.keys, c.seconds, c.ops, OverrideFlags(c).c_str(),
              verify_only ? " --verify-only" : "", verify_only ? "" : KillFlags(c).c_str());
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
    if (ValueFor(index, id) == value)
      return "value id " + std::to_string(id) + " (stale or future)";
  }
  return "unknown value of " + std::to_string(value.size()) + " bytes: " + ToHex(value, 24);
}

std::string KeyName(uint32_t index) {
  return "key " + std::to_string(index) + " ('" + KeyFor(index) + "')";
}

// The first 8 bytes of KeyFor(index): KeyPrefix(i) <= KeyFor(i) < KeyPrefix(i + 1),
// so [KeyPrefix(a), KeyPrefix(b)) holds exactly the keys a..b-1.
std::string KeyPrefix(uint32_t index) {
  char prefix[9];
  std::snprintf(prefix, sizeof(prefix), "%08x", index);
  return std::string(prefix, 8);
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
  uint64_t scanned = 0;  // keys matched by the full scan
  std::vector<std::string> mismatches;
  uint64_t mismatch_count = 0;
};

void AddMismatch(VerifyResult* r, const std::string& text) {
  r->mismatch_count++;
  if (r->mismatches.size() < kMaxReportedMismatches) r->mismatches.push_back(text);
}

// With no key pending, a scan of the whole database must show exactly the
// keys that exist, in order, with their values.
bool VerifyByIteration(lsmkv::DB* db, const ExpectedState& expected, VerifyResult* r,
                       std::string* error) {
  std::unique_ptr<lsmkv::Iterator> it = db->NewIterator(lsmkv::ReadOptions());
  uint32_t next = 0;  // every key below next has been matched or reported
  auto next_existing = [&] {
    while (next < expected.num_keys() && !expected.Get(next).exists()) next++;
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    next_existing();
    const std::string key(it->key());
    // Keys that exist but sort before the iterator's key were skipped.
    while (next < expected.num_keys() && KeyFor(next) < key) {
      AddMismatch(r, "full scan skipped " + KeyName(next) + " (expected " +
                         DescribeState(next, true, expected.Get(next).value_id) + ")");
      next++;
      next_existing();
    }
    if (next >= expected.num_keys() || KeyFor(next) != key) {
      AddMismatch(r, "full scan found unexpected key '" + ToHex(key, 40) + "'");
      continue;
    }
    const Slot& slot = expected.Get(next);
    if (it->value() != ValueFor(next, slot.value_id)) {
      AddMismatch(r, "full scan: " + KeyName(next) + " expected " +
                         DescribeState(next, true, slot.value_id) + ", found " +
                         DescribeFound(next, slot, true, std::string(it->value())));
    }
    r->scanned++;
    next++;
  }
  if (!it->status().ok()) {
    *error = "full scan failed: " + it->status().ToString();
    return false;
  }
  for (next_existing(); next < expected.num_keys(); next++, next_existing()) {
    AddMismatch(r, "full scan ended before " + KeyName(next) + " (expected " +
                       DescribeState(next, true, expected.Get(next).value_id) + ")");
  }
  return true;
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
  return VerifyByIteration(db, *expected, r, error);
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
      std::fprintf(stderr, "lsmkv_stress: MISMATCH (%s verification) %s [seed %" PRIu64 "]\n", when,
                   m.c_str(), config.seed);
    }
    std::fprintf(stderr,
                 "lsmkv_stress: FAILED: %" PRIu64 " mismatches among %" PRIu64
                 " keys [seed %" PRIu64 ", db %s, expected %s]\n",
                 r.mismatch_count, r.keys, config.seed, config.db_path.c_str(),
                 config.expected_path.c_str());
    return kExitMismatch;
  }
  std::printf("lsmkv_stress: %s verification OK: verified %" PRIu64 " keys (%" PRIu64
              " present, %" PRIu64 " matched by a full scan, in-flight writes: %" PRIu64
              " old, %" PRIu64 " new, %" PRIu64 " batches) in %.2f s\n",
              when, r.keys, r.present, r.scanned, r.pending_old, r.pending_new, r.batches, secs);
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
  std::atomic<uint64_t> compactions{0};
  std::atomic<uint64_t> scans{0};
  std::atomic<uint64_t> scan_keys{0};
  std::atomic<uint64_t> snapshot_checks{0};
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
      if (rnd_.OneIn(config_.compact_one_in)) {
        DoCompactRange();
        continue;
      }
      const uint32_t r = rnd_.Uniform(100);
      if (r < 36) {
        DoSingleWrite(true);
      } else if (r < 50) {
        DoSingleWrite(false);
      } else if (r < 64) {
        DoBatch();
      } else if (r < 88) {
        DoGet();
      } else if (r < 98) {
        DoScan();
      } else {
        DoSnapshotCheck();
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
    failure_->Set(kExitDbError, std::string(op) + " of " + KeyName(index) + " failed: " +
                                    s.ToString() + " [seed " + std::to_string(config_.seed) + "]");
  }

  void DoSingleWrite(bool put) {
    const uint32_t index = PickKey();
    const Slot pending = MakePending(index, put, 0);
    if (!SetSlot(index, pending)) return;
    const lsmkv::WriteOptions wo = NextWriteOptions();
    const std::string key = KeyFor(index);
    lsmkv::Status s =
        put ? db_->Put(wo, key, ValueFor(index, pending.pending_value_id)) : db_->Delete(wo, key);
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
    const bool ok =
        slot.exists() ? s.ok() && value == ValueFor(index, slot.value_id) : s.IsNotFound();
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

  // CompactRange over a random range of all keys (other threads' included:
  // compaction changes no visible state), unbounded on either side at times.
  void DoCompactRange() {
    const uint32_t a = rnd_.Uniform(config_.keys);
    const uint32_t b = a + 1 + rnd_.Uniform(config_.keys - a);
    const std::string begin = KeyPrefix(a), end = KeyPrefix(b);
    lsmkv::Status s =
        db_->CompactRange(rnd_.OneIn(4) ? nullptr : &begin, rnd_.OneIn(4) ? nullptr : &end);
    if (!s.ok()) {
      failure_->Set(kExitDbError, "CompactRange failed: " + s.ToString() + " [seed " +
                                      std::to_string(config_.seed) + "]");
      return;
    }
    counters_->compactions.fetch_add(1, std::memory_order_relaxed);
  }

  // A random range [*a, *b) of this thread's keys, at most scan_keys_max long.
  void PickRange(uint32_t* a, uint32_t* b) {
    const uint32_t slice = end_ - begin_;
    const uint32_t len = 1 + rnd_.Uniform(std::min(slice, config_.scan_keys_max));
    *a = begin_ + rnd_.Uniform(slice - len + 1);
    *b = *a + len;
  }

  // Reads [a, b) with an iterator (forward or backward, from a Seek inside
  // the range at times) and compares it with want[0..b-a): only this thread
  // writes those keys, so the expected state is exact. Returns false after
  // reporting a mismatch or an error.
  bool CheckRange(const lsmkv::ReadOptions& base, uint32_t a, uint32_t b,
                  const std::vector<Slot>& want, const char* what) {
    lsmkv::ReadOptions ro = base;
    ro.lower_bound = KeyPrefix(a);
    ro.upper_bound = KeyPrefix(b);
    std::vector<uint32_t> expect;  // existing keys of the range, ascending
    for (uint32_t i = a; i < b; i++) {
      if (want[i - a].exists()) expect.push_back(i);
    }
    const bool forward = rnd_.OneIn(2);
    // Start at a key of the range (exact or a prefix that sorts before it).
    const uint32_t from = a + rnd_.Uniform(b - a);
    const bool seek = rnd_.OneIn(3);
    std::unique_ptr<lsmkv::Iterator> it = db_->NewIterator(ro);
    if (forward) {
      if (seek) {
        it->Seek(KeyPrefix(from));
        expect.erase(expect.begin(), std::lower_bound(expect.begin(), expect.end(), from));
      } else {
        it->SeekToFirst();
      }
    } else {
      if (seek) {
        it->SeekForPrev(KeyFor(from));
        expect.erase(std::upper_bound(expect.begin(), expect.end(), from), expect.end());
      } else {
        it->SeekToLast();
      }
      std::reverse(expect.begin(), expect.end());
    }
    size_t n = 0;
    for (; it->Valid(); forward ? it->Next() : it->Prev()) {
      const std::string key(it->key());
      if (n >= expect.size() || key != KeyFor(expect[n])) {
        const std::string wanted = n < expect.size() ? KeyName(expect[n]) : "the end";
        return RangeMismatch(
            what, a, b, forward,
            "found key '" + ToHex(key, 40) + "' where " + wanted + " was expected");
      }
      const Slot& slot = want[expect[n] - a];
      if (it->value() != ValueFor(expect[n], slot.value_id)) {
        return RangeMismatch(what, a, b, forward,
                             KeyName(expect[n]) + " expected " +
                                 DescribeState(expect[n], true, slot.value_id) + ", found " +
                                 DescribeFound(expect[n], slot, true, std::string(it->value())));
      }
      n++;
    }
    if (!it->status().ok()) {
      failure_->Set(kExitDbError, std::string(what) +
                                      " iterator failed: " + it->status().ToString() + " [seed " +
                                      std::to_string(config_.seed) + "]");
      return false;
    }
    if (n != expect.size()) {
      return RangeMismatch(what, a, b, forward,
                           "ended before " + KeyName(expect[n]) + " (" +
                               std::to_string(expect.size() - n) + " keys missing)");
    }
    counters_->scan_keys.fetch_add(n, std::memory_order_relaxed);
    return true;
  }

  bool RangeMismatch(const char* what, uint32_t a, uint32_t b, bool forward,
                     const std::string& text) {
    failure_->Set(kExitMismatch, std::string("MISMATCH (") + what + ", keys " + std::to_string(a) +
                                     ".." + std::to_string(b - 1) +
                                     (forward ? ", forward" : ", backward") + ") " + text +
                                     " [seed " + std::to_string(config_.seed) + "]");
    return false;
  }

  std::vector<Slot> CurrentSlots(uint32_t a, uint32_t b) const {
    std::vector<Slot> slots;
    for (uint32_t i = a; i < b; i++) slots.push_back(expected_->Get(i));
    return slots;
  }

  void DoScan() {
    uint32_t a, b;
    PickRange(&a, &b);
    if (CheckRange(lsmkv::ReadOptions(), a, b, CurrentSlots(a, b), "scan")) {
      counters_->scans.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Takes a snapshot, writes more (single writes and atomic batches, at
  // times a flush or a compaction of the range), then reads the range at
  // the snapshot with an iterator and with Gets: it must show exactly the
  // state when the snapshot was taken, so a batch written after it is wholly
  // invisible and one written before it wholly visible.
  void DoSnapshotCheck() {
    uint32_t a, b;
    PickRange(&a, &b);
    const std::vector<Slot> then = CurrentSlots(a, b);
    const lsmkv::Snapshot* snapshot = db_->GetSnapshot();
    const int writes = 1 + static_cast<int>(rnd_.Uniform(6));
    for (int i = 0; i < writes && !failure_->failed(); i++) {
      const uint32_t r = rnd_.Uniform(100);
      if (r < 40) {
        DoSingleWrite(true);
      } else if (r < 55) {
        DoSingleWrite(false);
      } else if (r < 90) {
        DoBatch();
      } else if (r < 97) {
        DoFlush();
      } else {
        const std::string begin = KeyPrefix(a), end = KeyPrefix(b);
        lsmkv::Status s = db_->CompactRange(&begin, &end);
        if (!s.ok()) {
          failure_->Set(kExitDbError, "CompactRange failed: " + s.ToString() + " [seed " +
                                          std::to_string(config_.seed) + "]");
        }
      }
    }
    lsmkv::ReadOptions ro;
    ro.snapshot = snapshot;
    bool ok = !failure_->failed() && CheckRange(ro, a, b, then, "snapshot scan");
    for (int i = 0; ok && i < 3; i++) {
      const uint32_t index = a + rnd_.Uniform(b - a);
      const Slot& slot = then[index - a];
      std::string value;
      lsmkv::Status s = db_->Get(ro, KeyFor(index), &value);
      if (!s.ok() && !s.IsNotFound()) {
        DbError("Get at a snapshot", index, s);
        ok = false;
      } else if (slot.exists() ? !(s.ok() && value == ValueFor(index, slot.value_id))
                               : !s.IsNotFound()) {
        failure_->Set(kExitMismatch, "MISMATCH (Get at a snapshot) " + KeyName(index) +
                                         ": expected " +
                                         DescribeState(index, slot.exists(), slot.value_id) +
                                         ", found " + DescribeFound(index, slot, s.ok(), value) +
                                         " [seed " + std::to_string(config_.seed) + "]");
        ok = false;
      }
    }
    db_->ReleaseSnapshot(snapshot);
    if (ok) counters_->snapshot_checks.fetch_add(1, std::memory_order_relaxed);
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
    workers.push_back(
        std::make_unique<Worker>(config, t, begin, end, db, expected, &counters, &failure));
  }
  for (auto& w : workers) threads.emplace_back([&w, deadline] { w->Run(deadline); });
  for (auto& t : threads) t.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("lsmkv_stress: workload: %" PRIu64 " puts, %" PRIu64 " deletes, %" PRIu64
              " batches (%" PRIu64 " keys), %" PRIu64 " gets, %" PRIu64 " scans (%" PRIu64
              " keys), %" PRIu64 " snapshot checks, %" PRIu64 " flushes, %" PRIu64
              " compactions in %.2f s\n",
              counters.puts.load(), counters.deletes.load(), counters.batches.load(),
              counters.batch_keys.load(), counters.gets.load(), counters.scans.load(),
              counters.scan_keys.load(), counters.snapshot_checks.load(), counters.flushes.load(),
              counters.compactions.load(), secs);
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
  std::fprintf(stderr, "lsmkv_stress: FAILED: Close: %s [seed %" PRIu64 "]\n", s.ToString().c_str(),
               config.seed);
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
// reopen-and-verify (which catches writes lost by a clean Close). A
// verify-only run opens without paranoid_checks: after a kill the last WAL
// record may be torn, which paranoid_checks rejects by design; the
// workload's opens follow a clean Close and use the drawn value.
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
  bool verify_only = false, destroy = false, list_kill_points = false;
  std::optional<uint64_t> seed;
  app.add_flag("--list_kill_points", list_kill_points,
               "print the names of the kill points, one a line, and exit");
  app.add_option("--db", config.db_path, "database directory (required)");
  app.add_option("--expected", config.expected_path, "expected-state file (required)");
  app.add_option("--kill_point", config.kill_point,
                 "kill the process (SIGKILL) at the --kill_after'th hit of this point")
      ->check([](const std::string& name) {
        return lsmkv::KillPointEnv::IsPoint(name) ? std::string()
                                                  : "unknown kill point (see --list_kill_points)";
      });
  app.add_option("--kill_after", config.kill_after, "which hit of --kill_point kills (1 = first)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 62));
  app.add_flag("--kill_before", config.kill_before,
               "kill just before the step instead of just after it returns");
  app.add_option("--kill_odds", config.kill_odds,
                 "kill at each hit of any point (of --kill_point if given) with odds 1/N")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 62));
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
  app.add_option("--max_manifest_file_size", config.max_manifest_file_size_override,
                 "use this MANIFEST size limit instead of the one drawn from the seed")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_option("--block_cache_size", config.block_cache_size_override,
                 "use this block cache size instead of the one drawn from the seed")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_option("--write_buffer_size", config.write_buffer_size_override,
                 "use this write buffer size instead of the one drawn from the seed")
      ->check(CLI::Range(uint64_t{4096}, uint64_t{1} << 34));
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
  if (list_kill_points) {
    for (const std::string& point : lsmkv::KillPointEnv::AllPoints()) {
      std::printf("%s\n", point.c_str());
    }
    return 0;
  }
  if (config.db_path.empty() || config.expected_path.empty()) {
    std::fprintf(stderr, "lsmkv_stress: --db and --expected are required\n");
    return kExitUsage;
  }
  if (destroy) return Destroy(config);
  if (!verify_only && config.seconds == 0 && config.ops == 0) {
    std::fprintf(stderr, "lsmkv_stress: --seconds 0 and --ops 0: the workload would never end\n");
    return kExitUsage;
  }
  config.seed =
      seed.has_value()
          ? *seed
          : static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  Randomize(&config);
  if (config.max_manifest_file_size_override != 0) {
    config.options.max_manifest_file_size = config.max_manifest_file_size_override;
  }
  if (config.block_cache_size_override != 0) {
    config.options.block_cache_size = static_cast<size_t>(config.block_cache_size_override);
  }
  if (config.write_buffer_size_override != 0) {
    config.options.write_buffer_size = static_cast<size_t>(config.write_buffer_size_override);
  }
  // Every step of the run goes through the kill-point env: it kills when
  // armed and reports the points hit. Never destroyed (a background thread
  // of the DB may still be using it while the process exits); a static
  // pointer keeps it reachable, so LeakSanitizer does not count it.
  static lsmkv::KillPointEnv* const kill_env = new lsmkv::KillPointEnv(lsmkv::Env::Default());
  if (verify_only) {
    config.options.paranoid_checks = false;  // see Run
  } else {
    config.options.env = kill_env;
    if (!config.kill_point.empty() && config.kill_odds == 0) {
      kill_env->KillAt(config.kill_point, config.kill_after,
                       config.kill_before ? lsmkv::KillPointEnv::Timing::kBefore
                                          : lsmkv::KillPointEnv::Timing::kAfter);
    }
    if (config.kill_odds > 0) {
      kill_env->KillRandomly(config.kill_odds, config.seed ^ 0x6b696c6cull, config.kill_point);
    }
  }
  PrintConfig(config, verify_only ? "verify-only" : "run");
  const int code = Run(config, verify_only);
  if (!verify_only) {
    std::printf("lsmkv_stress: kill points hit: %s\n", kill_env->HitSummary().c_str());
  }
  if (code == 0) std::printf("lsmkv_stress: OK\n");
  return code;
}
