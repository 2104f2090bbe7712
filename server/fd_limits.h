// Reconciling maxclients with the process's open-file limit (RLIMIT_NOFILE).
//
// Every client holds a socket, and the database, the listener, the event
// loop and the metrics endpoint hold descriptors too. If maxclients promises
// more clients than the limit allows, accept() fails with EMFILE and the
// clients beyond it wait with no reply. So at startup the server raises its
// soft limit as far as needed (up to the hard limit) and, if that is not
// enough, lowers maxclients to what fits (as Redis does), and CONFIG SET
// maxclients cannot go above it afterwards.
#ifndef LSMKV_SERVER_FD_LIMITS_H_
#define LSMKV_SERVER_FD_LIMITS_H_

#include <cstdint>
#include <string>

namespace lsmkv::server {

// Descriptors kept free beyond those counted at startup and the engine's
// table cache: WAL, MANIFEST, LOG, flush and compaction outputs, the event
// loop, the metrics endpoint's connections.
inline constexpr int64_t kSpareDescriptors = 64;

struct FdPlan {
  uint64_t soft_limit = 0;  // the soft limit to set (>= the current one)
  int64_t maxclients = 0;   // clients that fit; < 1 means none do
};

// REQUIRES: soft <= hard (RLIM_INFINITY counts as a very large hard limit);
// reserved >= 0; wanted >= 1.
// Plans the soft limit (raised toward reserved + wanted, never past hard)
// and the maxclients that fits under it.
FdPlan PlanFdLimit(uint64_t soft, uint64_t hard, int64_t reserved, int64_t wanted);

// Applies the plan for wanted clients to this process: counts the open
// descriptors, raises RLIMIT_NOFILE's soft limit if needed and possible, and
// returns the maxclients that fits (< 1 if none). *explanation says what the
// limits were when the result is below wanted.
int64_t FitMaxClients(int64_t wanted, int64_t engine_open_files, std::string* explanation);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_FD_LIMITS_H_
