#include "server/background.h"

#include <chrono>
#include <cstdio>

#include "server/config.h"
#include "server/expiry_sweeper.h"
#include "server/keyspace.h"
#include "server/notify.h"

namespace lsmkv::server {

void BackgroundWorker::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void BackgroundWorker::Stop() {
  {
    MutexLock lock(&mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

bool BackgroundWorker::WaitForStop(int64_t period_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(period_ms);
  MutexLock lock(&mu_);
  while (!stop_) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) break;
    cv_.WaitFor(&mu_, left);
  }
  return stop_;
}

void BackgroundWorker::Loop() {
  // The everysec cadence is real time; expiry decisions use keyspace.clock().
  using SteadyClock = std::chrono::steady_clock;
  Keyspace& keyspace = *context_->keyspace;
  auto last_sync = SteadyClock::now();
  while (true) {
    const int64_t hz = context_->config->Int(Setting::kHz);
    if (WaitForStop(1000 / (hz > 0 ? hz : 10))) break;
    Status s;
    // A replicated node sweeps only while it leads: the deletions are
    // replicated writes (followers apply them from the log).
    const bool may_write = keyspace.replicator() == nullptr || keyspace.replicator()->Leading();
    if (may_write && keyspace.active_expire.load(std::memory_order_relaxed)) {
      uint64_t removed = 0;
      // "expired" notifications, published once the deletions are applied
      // (the flags read once per slice).
      const uint32_t flags =
          static_cast<uint32_t>(context_->config->Int(Setting::kNotifyKeyspaceEvents));
      PendingEvents wanted;
      wanted.set_flags(flags);
      ExpiredKeyFn publish;
      if (wanted.Wants(kNotifyExpired)) {
        publish = [this, flags](int db, std::string_view key) {
          PublishEvent(*context_, flags, kNotifyExpired, db, "expired", key);
        };
      }
      s = SweepExpired(&keyspace, keyspace.clock()->NowMs(), kSweepKeysPerSlice, &removed, publish);
      if (!s.ok()) std::fprintf(stderr, "lsmkv-server: expiry sweep: %s\n", s.ToString().c_str());
      context_->stats->sweep_runs.fetch_add(1, std::memory_order_relaxed);
    }
    // After FLUSHALL: its range deletions go from the memtable to the
    // version, where the engine's compactions for range deletions reclaim
    // the data (a memtable that fills slowly would hold them back). Blocks
    // this thread only, for one memtable flush. Not retried on error: the
    // memtable's own flush, when it fills, does the same later.
    if (keyspace.TakeReclaimRequest()) {
      s = keyspace.db()->Flush();
      if (!s.ok()) {
        std::fprintf(stderr, "lsmkv-server: flush after FLUSHALL: %s\n", s.ToString().c_str());
      }
    }
    // In every policy: the sync also publishes the durable state the
    // compaction filter needs (Keyspace::SyncIfDirty).
    if (SteadyClock::now() - last_sync >= std::chrono::seconds(1)) {
      last_sync = SteadyClock::now();
      s = keyspace.SyncIfDirty();
      if (!s.ok()) {
        keyspace.last_sync_error_ms.store(keyspace.clock()->NowMs(), std::memory_order_relaxed);
        std::fprintf(stderr, "lsmkv-server: background fsync: %s\n", s.ToString().c_str());
      }
    }
  }
  if (keyspace.fsync_policy() == FsyncPolicy::kEverySec) {
    Status s = keyspace.SyncIfDirty();
    if (!s.ok()) std::fprintf(stderr, "lsmkv-server: final fsync: %s\n", s.ToString().c_str());
  }
}

}  // namespace lsmkv::server
