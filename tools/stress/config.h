// The configuration of an lsmkv_stress run: the command-line flags and the
// DB options and workload parameters drawn from the seed (Randomize), printed
// with a command line that reproduces the run (PrintConfig).
//
// Thread safety: a Config is filled in by main before any thread starts and
// read-only afterwards.
#ifndef LSMKV_TOOLS_STRESS_CONFIG_H_
#define LSMKV_TOOLS_STRESS_CONFIG_H_

#include <cstdint>
#include <string>

#include "lsmkv/options.h"

namespace lsmkv::stress {

// Exit codes of lsmkv_stress (0: success).
constexpr int kExitMismatch = 1;  // verification failure
constexpr int kExitUsage = 2;     // usage or expected-state file error
constexpr int kExitDbError = 3;   // unexpected database error (including a failed Open)
// DB::Open returned NotSupported: the engine of --engine is not available in
// this build (scripts/crashtest.sh --skip-unsupported skips on it).
constexpr int kExitNotSupported = 4;

// Everything a run depends on: the flags and what is drawn from the seed.
struct Config {
  std::string db_path;
  std::string expected_path;
  uint64_t seed = 0;
  uint32_t threads = 4;
  uint32_t keys = 10000;
  double seconds = 60;
  uint64_t ops = 0;

  // Kill points (see the comment at the top of main.cc).
  std::string kill_point;
  uint64_t kill_after = 1;
  bool kill_before = false;
  uint64_t kill_odds = 0;
  // Nonzero: these options instead of the drawn values.
  uint64_t max_manifest_file_size_override = 0;
  uint64_t block_cache_size_override = 0;
  uint64_t write_buffer_size_override = 0;
  uint32_t sync_percent_override = 0;  // 1..100
  // --transactions: a drawn kSkipAnyCorrupted recovery mode becomes
  // kPointInTime, so that the workload always runs transactions.
  bool transactions = false;
  // --engine: the storage engine (options.engine is set from it).
  lsmkv::StorageEngine engine = lsmkv::StorageEngine::kLsm;

  lsmkv::Options options;
  uint32_t sync_percent = 0;    // share of writes with WriteOptions::sync
  uint32_t flush_one_in = 0;    // a thread calls Flush with probability 1/flush_one_in per op
  uint32_t compact_one_in = 0;  // ... CompactRange of a random range, 1/compact_one_in
  uint32_t batch_keys_max = 2;  // keys per batch: 2..batch_keys_max
  uint32_t scan_keys_max = 1;   // keys in the range of a scan or snapshot check: 1..scan_keys_max
};

// The operation mix per engine: whether the workload may run transactions
// on engine (every engine has them: the LSM its own, the others the generic
// ones). Every other operation runs on
// every engine; on engines other than the LSM, a Flush, CompactRange or
// DeleteRange answered NotSupported is counted and skipped (the workload
// treats it as not written), not a failure.
bool EngineHasTransactions(lsmkv::StorageEngine engine);

// Draws config->options and the workload parameters from config->seed (the
// same seed always draws the same values), then applies the *_override
// flags that are set.
void Randomize(Config* config);

// The kill-point flags of c, as a command line suffix ("" if none).
std::string KillFlags(const Config& c);

// Options given on the command line instead of drawn from the seed, as a
// command line suffix ("" if none).
std::string OverrideFlags(const Config& c);

// Prints c and the command reproducing the run to stdout and flushes it.
// mode is "run" or "verify-only" (which prints paranoid_checks=0 and no
// kill flags: a verify-only run opens without paranoid checks and is never
// killed).
void PrintConfig(const Config& c, const char* mode);

}  // namespace lsmkv::stress

#endif  // LSMKV_TOOLS_STRESS_CONFIG_H_
