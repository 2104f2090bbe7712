// DBImpl::GetProperty: the "lsmkv.*" properties (lsmkv/db.h). Each reads the
// caller's pinned view without the DB mutex; figures only the mutex guards
// (compaction state, level statistics, the mutex's own histograms) are copied
// under it, briefly, and formatted after it is released.
#include <cinttypes>
#include <cstdio>
#include <set>

#include "db/db_impl.h"
#include "memtable/memtable.h"

namespace lsmkv {

namespace {

void AppendRow(std::string* value, const char* label, uint64_t n) {
  value->append(label);
  value->append(": ");
  value->append(std::to_string(n));
  value->push_back('\n');
}

}  // namespace

bool DBImpl::GetProperty(std::string_view name, std::string* value) {
  value->clear();
  if (closed_.load(std::memory_order_acquire)) return false;
  std::shared_ptr<const ReadView> view = LoadView();
  if (view == nullptr) return false;
  ViewRelease release{this, &view};  // on every return
  if (name == "lsmkv.num-entries-active-mem-table") {
    *value = std::to_string(view->mem->NumEntries());
    return true;
  }
  if (name == "lsmkv.range-tombstones") {
    size_t in_memtables = view->mem->NumRangeTombstones();
    for (const auto& imm : view->imm) in_memtables += imm->NumRangeTombstones();
    *value = std::to_string(in_memtables + view->version->range_tombstones().size());
    return true;
  }
  if (name == "lsmkv.num-immutable-mem-table") {
    *value = std::to_string(view->imm.size());
    return true;
  }
  if (name == "lsmkv.cur-size-active-mem-table") {
    *value = std::to_string(view->mem->ApproximateMemoryUsage());
    return true;
  }
  if (name == "lsmkv.open-tables") {
    *value = std::to_string(table_cache_->OpenTables());
    return true;
  }
  if (name == "lsmkv.pinned-tables") {
    *value = std::to_string(table_cache_->PinnedTables());
    return true;
  }
  if (name == "lsmkv.last-sequence") {
    *value = std::to_string(last_sequence_.load(std::memory_order_acquire));
    return true;
  }
  if (name.starts_with("lsmkv.txn-")) {
    SpinMutexLock lock(&txn_mu_);
    const SequenceNumber last = last_sequence_.load(std::memory_order_relaxed);
    if (name == "lsmkv.txn-running") {
      *value = std::to_string(tracker_.running());
    } else if (name == "lsmkv.txn-oldest-age-micros") {
      const uint64_t begin = tracker_.OldestBeginMicros();
      const uint64_t now = env_->NowMicros();
      *value = std::to_string(begin == 0 || now < begin ? 0 : now - begin);
    } else if (name == "lsmkv.txn-pinned-sequences") {
      *value = std::to_string(tracker_.active() ? last - tracker_.OldestStart() : 0);
    } else if (name == "lsmkv.txn-tracked-keys") {
      *value = std::to_string(tracker_.tracked_keys());
    } else if (name == "lsmkv.txn-tracker-bytes") {
      *value = std::to_string(tracker_.ApproximateMemory());
    } else if (name == "lsmkv.txn-commit-waits") {
      *value = std::to_string(stats_.txn_commit_waits.load());
    } else {
      return false;
    }
    return true;
  }
  if (name == "lsmkv.live-files") {
    // Numbers of the table files of the current version, ascending.
    std::set<uint64_t> live;
    for (int level = 0; level < kNumLevels; level++) {
      for (const FileRef& f : view->version->files(level)) live.insert(f->number);
    }
    for (uint64_t number : live) {
      if (!value->empty()) value->push_back(' ');
      value->append(std::to_string(number));
    }
    return true;
  }
  if (name == "lsmkv.levels") {
    AppendLevelsTable(*view, value);
    return true;
  }
  if (name == "lsmkv.error-state" || name == "lsmkv.background-error") {
    InstrumentedMutexLock lock(&mu_);
    if (name == "lsmkv.background-error") {
      *value = bg_error_.ToString();
    } else {
      *value = bg_error_.ok() ? "none" : bg_error_recoverable_ ? "recoverable" : "fatal";
    }
    return true;
  }
  if (name == "lsmkv.stats") {
    AppendStatsCounters(*view, value);
    const uint64_t flushed = stats_.flush_bytes;
    const uint64_t table_bytes = flushed + AppendLevelStats(value);
    const uint64_t user_bytes = stats_.wal_bytes;
    char amp[96];
    std::snprintf(amp, sizeof(amp), "write amplification (table bytes written / WAL bytes): %.2f\n",
                  user_bytes == 0 ? 0.0 : static_cast<double>(table_bytes) / user_bytes);
    value->append(amp);
    AppendRow(value, "pending compaction bytes",
              EstimatePendingCompactionBytes(options_, *view->version));
    AppendCompactionAndMutexStats(value);
    value->append(view->version->LevelSummary());
    value->push_back('\n');
    return true;
  }
  return false;
}

// "lsmkv.levels": files, bytes, score and running compactions per level.
void DBImpl::AppendLevelsTable(const ReadView& view, std::string* value) {
  char line[128];
  int compacting[kNumLevels];
  {
    InstrumentedMutexLock lock(&mu_);
    for (int level = 0; level < kNumLevels; level++) {
      compacting[level] = inflight_.RunningFromLevel(level);
    }
  }
  // "compacting": compactions now running from this level (0 = "no").
  value->append("level  files        bytes  score  compacting\n");
  for (int level = 0; level < kNumLevels; level++) {
    char running[24] = "no";
    if (compacting[level] == 1) std::snprintf(running, sizeof(running), "yes");
    if (compacting[level] > 1)
      std::snprintf(running, sizeof(running), "yes (%d)", compacting[level]);
    std::snprintf(line, sizeof(line), "L%-5d %5d %12" PRIu64 " %6.2f  %s\n", level,
                  view.version->NumFiles(level), view.version->LevelBytes(level),
                  LevelScore(options_, *view.version, level), running);
    value->append(line);
  }
}

// The counters of "lsmkv.stats" (atomics: no lock).
void DBImpl::AppendStatsCounters(const ReadView& view, std::string* value) {
  AppendRow(value, "writes", stats_.writes);
  AppendRow(value, "write groups", stats_.write_groups);
  AppendRow(value, "write groups led by a waiting sync writer", stats_.write_groups_led_on);
  AppendRow(value, "wal bytes", stats_.wal_bytes);
  AppendRow(value, "wal syncs", stats_.wal_syncs);
  AppendRow(value, "wal syncs that gathered writers", stats_.wal_sync_gathers);
  AppendRow(value, "wal sync gather micros", stats_.wal_sync_gather_micros);
  AppendRow(value, "memtables frozen", view.imm.size());
  AppendRow(value, "flushes", stats_.flushes);
  AppendRow(value, "bytes flushed", stats_.flush_bytes);
  AppendRow(value, "flush micros", stats_.flush_micros);
  AppendRow(value, "write slowdowns", stats_.slowdown_count);
  AppendRow(value, "write stops", stats_.stall_count);
  AppendRow(value, "stall micros", stats_.stall_micros);
  AppendRow(value, "failed writes", stats_.failed_writes);
  AppendRow(value, "transactions begun", stats_.txn_begun);
  AppendRow(value, "transactions committed", stats_.txn_commits);
  AppendRow(value, "transaction conflicts", stats_.txn_conflicts);
  AppendRow(value, "transactions expired", stats_.txn_expired);
  AppendRow(value, "transaction commits that waited for a key", stats_.txn_commit_waits);
  AppendRow(value, "background errors", stats_.bg_errors);
  AppendRow(value, "background error recoveries", stats_.recoveries);
  AppendRow(value, "failed recovery attempts", stats_.failed_recoveries);
  AppendRow(value, "compactions out of space", stats_.compactions_out_of_space);
  AppendRow(value, "compactions deferred for space", stats_.compactions_deferred);
  AppendRow(value, "memtable hits", stats_.memtable_hits);
  // Huge-page chunks of memtable memory (Options::memtable_huge_page_size):
  // obtained from the system (of which faulted in ahead of the writer by
  // the pool's refilling thread), reused from a flushed memtable, and kept
  // now for the next memtables (at most one write buffer's worth).
  AppendRow(value, "memtable chunks allocated", memtable_chunks_ ? memtable_chunks_->Made() : 0);
  AppendRow(value, "memtable chunks faulted in ahead",
            memtable_chunks_ ? memtable_chunks_->Prefaulted() : 0);
  AppendRow(value, "memtable chunks reused", memtable_chunks_ ? memtable_chunks_->Reused() : 0);
  AppendRow(value, "memtable chunks kept", memtable_chunks_ ? memtable_chunks_->Kept() : 0);
  AppendRow(value, "tables read by gets", stats_.table_gets);
  AppendRow(value, "wal damaged regions dropped at open", stats_.wal_damaged_regions);
  AppendRow(value, "wal damaged bytes dropped at open", stats_.wal_damaged_bytes);
  AppendRow(value, "wal intact records dropped at open", stats_.wal_intact_dropped);
  AppendRow(value, "bloom filter checks", table_counters_.bloom_checks);
  AppendRow(value, "bloom filter useful", table_counters_.bloom_useful);
  AppendRow(value, "index fence hits", table_counters_.index_fence_hits);
  AppendRow(value, "index fence ties", table_counters_.index_fence_ties);
  AppendRow(value, "block cache hits", table_counters_.block_cache_hits);
  AppendRow(value, "block cache misses", table_counters_.block_cache_misses);
  AppendRow(value, "blocks read", table_counters_.block_reads);
  AppendRow(value, "tables opened with damage", table_counters_.damaged_tables_opened);
  AppendRow(value, "data blocks salvaged", table_counters_.blocks_salvaged);
  AppendRow(value, "entry groups lost", table_counters_.salvage_groups_lost);
  AppendRow(value, "open tables", table_cache_->OpenTables());
  AppendRow(value, "pinned tables", table_cache_->PinnedTables());
}

// The per-level compaction table of "lsmkv.stats" (levels >= 1, formatted
// under mu_ as before). Returns the bytes compactions wrote.
uint64_t DBImpl::AppendLevelStats(std::string* value) {
  uint64_t written = 0;
  InstrumentedMutexLock lock(&mu_);
  char line[160];
  value->append("level  compactions  moves  bytes read  bytes written  seconds\n");
  for (int level = 1; level < kNumLevels; level++) {
    const LevelStats& ls = level_stats_[level];
    written += ls.bytes_written;
    std::snprintf(line, sizeof(line),
                  "L%-5d %11" PRIu64 " %6" PRIu64 " %11" PRIu64 " %14" PRIu64 " %8.1f\n", level,
                  ls.compactions, ls.moves, ls.bytes_read, ls.bytes_written,
                  static_cast<double>(ls.micros) / 1e6);
    value->append(line);
  }
  return written;
}

// Compaction frequency and duration, and the DB mutex's wait and hold times,
// of "lsmkv.stats": copied under mu_ (the histograms are written by its
// holders), formatted without it.
void DBImpl::AppendCompactionAndMutexStats(std::string* value) {
  Histogram wait, hold, compaction;
  uint64_t started = 0, read_triggered = 0, range_triggered = 0;
  int running = 0, peak = 0;
  {
    InstrumentedMutexLock lock(&mu_);
    wait = mu_.wait_nanos();
    hold = mu_.hold_nanos();
    compaction = compaction_micros_;
    started = compactions_started_;
    running = bg_compactions_running_;
    peak = peak_compactions_running_;
    read_triggered = read_compactions_;
    range_triggered = range_deletion_compactions_;
  }
  const double uptime_s = static_cast<double>(env_->NowMicros() - open_micros_) / 1e6;
  char line[256];
  std::snprintf(line, sizeof(line),
                "compactions: %" PRIu64 " started (%" PRIu64 " read-triggered, %" PRIu64
                " for range deletions), %d running "
                "(peak %d, max %d), %.3f per second; merge duration ms: p50 %.1f p99 %.1f "
                "max %.1f\n",
                started, read_triggered, range_triggered, running, peak,
                options_.max_background_compactions,
                uptime_s > 0 ? static_cast<double>(started) / uptime_s : 0.0,
                compaction.Median() / 1e3, compaction.Percentile(99) / 1e3, compaction.Max() / 1e3);
  value->append(line);
  auto mutex_row = [&](const char* label, const Histogram& h) {
    std::snprintf(line, sizeof(line),
                  "db mutex %s ns: count %" PRIu64
                  " avg %.0f p50 %.0f p99 %.0f "
                  "p99.9 %.0f max %.0f total ms %.1f\n",
                  label, h.Count(), h.Average(), h.Median(), h.Percentile(99), h.Percentile(99.9),
                  h.Max(), h.Average() * static_cast<double>(h.Count()) / 1e6);
    value->append(line);
  };
  mutex_row("wait", wait);
  mutex_row("hold", hold);
}

}  // namespace lsmkv
