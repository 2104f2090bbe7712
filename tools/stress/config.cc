#include "stress/config.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>

#include "lsmkv/filter_policy.h"
#include "util/hash.h"
#include "util/random.h"

namespace lsmkv::stress {

namespace {

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

// A user's filter policy (Options::filter_policy) for the crash tests: three
// probes of a 64-bit hash into 12 bits per distinct key. Its tables are read
// with their filter only by this policy (a run reopening with the built-in
// one reads them without filters).
class StressFilterPolicy final : public lsmkv::FilterPolicy {
 public:
  const char* Name() const override { return "stress.hash-bits"; }
  void CreateFilter(const std::string_view* keys, size_t n, std::string* dst) const override {
    const size_t bytes = std::max<size_t>(8, (n * 12 + 7) / 8);
    std::string bits(bytes, '\0');
    for (size_t i = 0; i < n; i++) {
      uint64_t h = lsmkv::Hash64(keys[i]);
      for (int probe = 0; probe < 3; probe++, h = lsmkv::Mix64(h)) {
        const uint64_t bit = h % (bytes * 8);
        bits[bit / 8] = static_cast<char>(bits[bit / 8] | (1 << (bit % 8)));
      }
    }
    dst->append(bits);
  }
  bool KeyMayMatch(std::string_view key, std::string_view filter) const override {
    if (filter.empty()) return true;
    uint64_t h = lsmkv::Hash64(key);
    for (int probe = 0; probe < 3; probe++, h = lsmkv::Mix64(h)) {
      const uint64_t bit = h % (filter.size() * 8);
      if ((filter[bit / 8] & (1 << (bit % 8))) == 0) return false;
    }
    return true;
  }
};

// Draws the DB options and the workload parameters from config->seed.
void DrawFromSeed(Config* config) {
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
  // For the workload's own opens, which follow a clean Close; see Run in main.cc.
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
  // Drawn last so that the draws above stay what they were for old seeds.
  static constexpr uint64_t kPreallocate[] = {0, 4096, 64 << 10, 1 << 20};
  o.wal_preallocate_bytes = kPreallocate[rnd.Uniform(4)];
  // Mostly mapped WAL appends (the default), a quarter of the runs write calls.
  o.wal_mapped_writes = !rnd.OneIn(4);
  // No memtable filter, a tiny one (many false positives), the default.
  static constexpr double kFilterRatios[] = {0, 1.0 / 4096, 1.0 / 64};
  o.memtable_filter_ratio = kFilterRatios[rnd.Uniform(3)];
  // A third of the runs write and read their tables' filters with a user's
  // policy instead of the built-in bloom filter.
  if (rnd.OneIn(3)) o.filter_policy = std::make_shared<StressFilterPolicy>();
  // Memtables in ordinary pages, or carved out of 64 KiB huge-page chunks
  // (for write buffers of 512 KiB and more).
  o.memtable_huge_page_size = rnd.OneIn(2) ? 0 : size_t{64} << 10;
  // The B+tree checkpoints every 16 KiB .. 2 MiB of logged batches, so
  // checkpoints (page writes, meta, log switches) run during the workload.
  o.btree_checkpoint_bytes = uint64_t{16} << 10 << rnd.Uniform(8);
  // Half the runs keep memtables in runs of 1/4 .. 1/32 of the write buffer.
  o.memtable_run_size =
      rnd.OneIn(2) ? 0 : std::max<size_t>(1024, o.write_buffer_size >> (2 + rnd.Uniform(4)));
  // Group commit without gathering, with the default window, or with the
  // largest (sync writers then often wait for each other).
  static constexpr uint64_t kGather[] = {0, 1000, 100000};
  o.wal_sync_gather_micros = kGather[rnd.Uniform(3)];
  // No memtable point index, a tiny one (slots taken over all the time),
  // the default.
  static constexpr double kIndexRatios[] = {0, 1.0 / 16384, 1.0 / 32};
  o.memtable_index_ratio = kIndexRatios[rnd.Uniform(3)];
}

}  // namespace

bool EngineHasTransactions(lsmkv::StorageEngine engine) {
  (void)engine;  // the B+tree and Bitcask run the generic transactions (docs/transactions.md)
  return true;
}

void Randomize(Config* config) {
  DrawFromSeed(config);
  config->options.engine = config->engine;
  if (config->max_manifest_file_size_override != 0) {
    config->options.max_manifest_file_size = config->max_manifest_file_size_override;
  }
  if (config->block_cache_size_override != 0) {
    config->options.block_cache_size = static_cast<size_t>(config->block_cache_size_override);
  }
  if (config->write_buffer_size_override != 0) {
    config->options.write_buffer_size = static_cast<size_t>(config->write_buffer_size_override);
  }
  if (config->sync_percent_override != 0) config->sync_percent = config->sync_percent_override;
  if (config->transactions &&
      config->options.wal_recovery_mode == lsmkv::WalRecoveryMode::kSkipAnyCorrupted) {
    config->options.wal_recovery_mode = lsmkv::WalRecoveryMode::kPointInTime;
  }
}

std::string KillFlags(const Config& c) {
  std::string out;
  if (!c.kill_point.empty()) {
    out += " --kill_point " + c.kill_point + " --kill_after " + std::to_string(c.kill_after);
    if (c.kill_before) out += " --kill_before";
  }
  if (c.kill_odds > 0) out += " --kill_odds " + std::to_string(c.kill_odds);
  return out;
}

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
  if (c.sync_percent_override != 0) {
    out += " --sync_percent " + std::to_string(c.sync_percent_override);
  }
  if (c.transactions) out += " --transactions";
  if (c.engine != lsmkv::StorageEngine::kLsm) {
    out += std::string(" --engine ") + lsmkv::StorageEngineName(c.engine);
  }
  return out;
}

void PrintConfig(const Config& c, const char* mode) {
  const lsmkv::Options& o = c.options;
  const bool verify_only = std::string(mode) == "verify-only";
  std::printf("lsmkv_stress: %s engine=%s seed=%" PRIu64
              " threads=%u keys=%u seconds=%g ops=%" PRIu64
              "\n"
              "  write_buffer_size=%zu max_write_buffer_number=%d block_size=%zu "
              "block_restart_interval=%d compression=%s bloom_bits_per_key=%d wal_recovery_mode=%s "
              "paranoid_checks=%d wal_preallocate_bytes=%" PRIu64
              " wal_mapped_writes=%d memtable_filter_ratio=%g filter_policy=%s "
              "memtable_huge_page_size=%zu\n"
              "  memtable_run_size=%zu memtable_index_ratio=%g"
              " block_cache_size=%zu max_open_files=%d target_file_size=%" PRIu64
              " level0_file_limit=%d max_bytes_for_level_base=%" PRIu64
              " level_size_multiplier=%d max_manifest_file_size=%" PRIu64
              " max_background_compactions=%d btree_checkpoint_bytes=%" PRIu64
              " wal_sync_gather_micros=%" PRIu64
              "\n"
              "  sync_percent=%u flush_one_in=%u compact_one_in=%u batch_keys_max=%u "
              "scan_keys_max=%u\n"
              "  reproduce: lsmkv_stress --db %s --expected %s --seed %" PRIu64
              " --threads %u --keys %u --seconds %g --ops %" PRIu64 "%s%s%s\n",
              mode, lsmkv::StorageEngineName(c.engine), c.seed, c.threads, c.keys, c.seconds, c.ops,
              o.write_buffer_size, o.max_write_buffer_number, o.block_size,
              o.block_restart_interval, CompressionName(o.compression), o.bloom_bits_per_key,
              lsmkv::WalRecoveryModeName(o.wal_recovery_mode),
              verify_only         ? 0
              : o.paranoid_checks ? 1
                                  : 0,
              o.wal_preallocate_bytes, o.wal_mapped_writes ? 1 : 0, o.memtable_filter_ratio,
              o.filter_policy != nullptr ? o.filter_policy->Name() : "builtin-bloom",
              o.memtable_huge_page_size, o.memtable_run_size, o.memtable_index_ratio,
              o.block_cache_size, o.max_open_files, o.target_file_size, o.level0_file_limit,
              o.max_bytes_for_level_base, o.level_size_multiplier, o.max_manifest_file_size,
              o.max_background_compactions, o.btree_checkpoint_bytes, o.wal_sync_gather_micros,
              c.sync_percent, c.flush_one_in, c.compact_one_in, c.batch_keys_max, c.scan_keys_max,
              c.db_path.c_str(), c.expected_path.c_str(), c.seed, c.threads, c.keys, c.seconds,
              c.ops, OverrideFlags(c).c_str(), verify_only ? " --verify-only" : "",
              verify_only ? "" : KillFlags(c).c_str());
  std::fflush(stdout);
}

}  // namespace lsmkv::stress
