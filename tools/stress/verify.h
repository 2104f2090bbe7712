// The verification of lsmkv_stress: every key of the database against the
// expected-state file, then a full scan, run after each (re)open.
//
// After a crash a key whose write was in flight (pending in the file) may
// show its old or its new state, all keys of one batch the same one; every
// other key must hold exactly its expected value or be absent. A successful
// verification resolves the pending keys to what the database shows, so the
// expected state is exact again for the next run.
//
// Thread safety: run with no workload thread active (the expected state is
// read and rewritten without locks).
#ifndef LSMKV_TOOLS_STRESS_VERIFY_H_
#define LSMKV_TOOLS_STRESS_VERIFY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "lsmkv/db.h"
#include "stress/config.h"
#include "stress/expected_state.h"

namespace lsmkv::stress {

// What one verification saw. mismatches holds the text of the first 20
// mismatches; mismatch_count counts them all.
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

// Reads every key and checks it against *expected, then (if nothing
// mismatched) resolves the pending keys to the state the DB shows (old or
// new), so the model is exact again, and matches a full scan against it.
// Mismatches are counted in *r (the first few kept as text); on a mismatch
// the file is left as it was, for diagnosis. Returns false with *error set
// on a DB or expected-state file error.
bool Verify(lsmkv::DB* db, ExpectedState* expected, VerifyResult* r, std::string* error);

// Verify, then prints the outcome (stdout when all is well, stderr with the
// seed and paths otherwise); when names the verification ("reopen",
// "final"). Returns an exit code: 0, kExitMismatch or kExitDbError.
int VerifyAndReport(const Config& config, lsmkv::DB* db, ExpectedState* expected, const char* when);

}  // namespace lsmkv::stress

#endif  // LSMKV_TOOLS_STRESS_VERIFY_H_
