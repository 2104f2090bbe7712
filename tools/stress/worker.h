// The workload of lsmkv_stress: T threads, each owning a disjoint slice of
// the K keys (so every key has one writer and its expected state is exact
// except while its write is in flight), doing puts, deletes, batches, gets,
// range scans, snapshot checks, flushes and range compactions.
//
// A write first marks its key(s) pending in the expected-state file, then
// goes to the DB, then is committed in the file, so that after a kill -9 the
// file tells which keys may show either state (stress/verify.h).
#ifndef LSMKV_TOOLS_STRESS_WORKER_H_
#define LSMKV_TOOLS_STRESS_WORKER_H_

#include "lsmkv/db.h"
#include "stress/config.h"
#include "stress/expected_state.h"

namespace lsmkv::stress {

// Runs config.threads workload threads on db until config.seconds have
// passed or config.ops operations were started (whichever is set and comes
// first) or a thread fails, then prints the operation counts. Requires that
// *expected matches db exactly (a verification ran) and that no other thread
// uses either. Returns 0, or the exit code of the first failure (printed to
// stderr): kExitMismatch, kExitUsage (expected-state file) or kExitDbError.
int RunWorkload(const Config& config, lsmkv::DB* db, ExpectedState* expected);

}  // namespace lsmkv::stress

#endif  // LSMKV_TOOLS_STRESS_WORKER_H_
