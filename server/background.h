// BackgroundWorker: the server's housekeeping thread. Every 1/hz seconds it
// runs one expiry sweep slice (see expiry_sweeper.h; none while DEBUG
// SET-ACTIVE-EXPIRE 0 is in force); about once a second,
// whatever appendfsync says, it makes unsynced writes durable and publishes
// the durable state for the compaction filter (Keyspace::SyncIfDirty; with
// appendfsync no these are the only syncs the server asks for). After a
// FLUSHALL it flushes the memtable so that the engine reclaims the deleted
// data in the background (Keyspace::TakeReclaimRequest). The period
// is real time (steady_clock); what a sweep expires is decided on the
// keyspace's Clock (clock.h).
//
// Thread safety: Start and Stop are called by one owner thread.
#ifndef LSMKV_SERVER_BACKGROUND_H_
#define LSMKV_SERVER_BACKGROUND_H_

#include <thread>

#include "server/server_context.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {

class BackgroundWorker {
 public:
  explicit BackgroundWorker(ServerContext* context) : context_(context) {}
  ~BackgroundWorker() { Stop(); }

  void Start();
  // Finishes the current slice, performs a last sync if everysec, joins.
  void Stop() EXCLUDES(mu_);

 private:
  void Loop() EXCLUDES(mu_);
  // Waits up to period_ms for Stop; true if Stop was called.
  bool WaitForStop(int64_t period_ms) EXCLUDES(mu_);

  ServerContext* context_;
  std::thread thread_;
  Mutex mu_;
  CondVar cv_;  // signalled when stop_ is set
  bool stop_ GUARDED_BY(mu_) = false;
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_BACKGROUND_H_
