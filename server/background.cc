#include "server/background.h"

#include <chrono>
#include <cstdio>

#include "server/config.h"
#include "server/expiry_sweeper.h"
#include "server/keyspace.h"

namespace lsmkv::server {

void BackgroundWorker::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void BackgroundWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundWorker::Loop() {
  using Clock = std::chrono::steady_clock;
  Keyspace& keyspace = *context_->keyspace;
  auto last_sync = Clock::now();
  while (true) {
    const int64_t hz = context_->config->Int(Setting::kHz);
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(1000 / (hz > 0 ? hz : 10)),
                   [this] { return stop_; });
      if (stop_) break;
    }
    uint64_t removed = 0;
    Status s = SweepExpired(&keyspace, UnixTimeMs(), kSweepKeysPerSlice, &removed);
    if (!s.ok()) std::fprintf(stderr, "lsmkv-server: expiry sweep: %s\n", s.ToString().c_str());
    context_->stats->sweep_runs.fetch_add(1, std::memory_order_relaxed);
    if (keyspace.fsync_policy() == FsyncPolicy::kEverySec &&
        Clock::now() - last_sync >= std::chrono::seconds(1)) {
      last_sync = Clock::now();
      s = keyspace.SyncIfDirty();
      if (!s.ok()) {
        keyspace.last_sync_error_ms.store(UnixTimeMs(), std::memory_order_relaxed);
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
