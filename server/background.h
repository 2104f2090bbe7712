// BackgroundWorker: the server's housekeeping thread. Every 1/hz seconds it
// runs one expiry sweep slice (see expiry_sweeper.h); about once a second,
// with appendfsync everysec, it makes unsynced writes durable
// (Keyspace::SyncIfDirty).
//
// Thread safety: Start and Stop are called by one owner thread.
#ifndef LSMKV_SERVER_BACKGROUND_H_
#define LSMKV_SERVER_BACKGROUND_H_

#include <condition_variable>
#include <mutex>
#include <thread>

#include "server/server_context.h"

namespace lsmkv::server {

class BackgroundWorker {
 public:
  explicit BackgroundWorker(ServerContext* context) : context_(context) {}
  ~BackgroundWorker() { Stop(); }

  void Start();
  // Finishes the current slice, performs a last sync if everysec, joins.
  void Stop();

 private:
  void Loop();

  ServerContext* context_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_BACKGROUND_H_
