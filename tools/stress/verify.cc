#include "stress/verify.h"

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <utility>

#include "stress/describe.h"

namespace lsmkv::stress {

namespace {

constexpr size_t kMaxReportedMismatches = 20;

void AddMismatch(VerifyResult* r, const std::string& text) {
  r->mismatch_count++;
  if (r->mismatches.size() < kMaxReportedMismatches) r->mismatches.push_back(text);
}

// With no key pending, a scan of the whole database must show exactly the
// keys that exist, in order, with their values.
bool VerifyByIteration(lsmkv::DB* db, const ExpectedState& expected, VerifyResult* r,
                       std::string* error) {
  std::unique_ptr<lsmkv::Iterator> it = db->NewIterator(lsmkv::ReadOptions());
  uint32_t next = 0;  // every key below next has been matched or reported
  auto next_existing = [&] {
    while (next < expected.num_keys() && !expected.Get(next).exists()) next++;
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    next_existing();
    const std::string key(it->key());
    // Keys that exist but sort before the iterator's key were skipped.
    while (next < expected.num_keys() && KeyFor(next) < key) {
      AddMismatch(r, "full scan skipped " + KeyName(next) + " (expected " +
                         DescribeState(next, true, expected.Get(next).value_id) + ")");
      next++;
      next_existing();
    }
    if (next >= expected.num_keys() || KeyFor(next) != key) {
      AddMismatch(r, "full scan found unexpected key '" + ToHex(key, 40) + "'");
      continue;
    }
    const Slot& slot = expected.Get(next);
    if (it->value() != ValueFor(next, slot.value_id)) {
      AddMismatch(r, "full scan: " + KeyName(next) + " expected " +
                         DescribeState(next, true, slot.value_id) + ", found " +
                         DescribeFound(next, slot, true, std::string(it->value())));
    }
    r->scanned++;
    next++;
  }
  if (!it->status().ok()) {
    *error = "full scan failed: " + it->status().ToString();
    return false;
  }
  for (next_existing(); next < expected.num_keys(); next++, next_existing()) {
    AddMismatch(r, "full scan ended before " + KeyName(next) + " (expected " +
                       DescribeState(next, true, expected.Get(next).value_id) + ")");
  }
  return true;
}

}  // namespace

bool Verify(lsmkv::DB* db, ExpectedState* expected, VerifyResult* r, std::string* error) {
  struct PendingKey {
    uint32_t index;
    bool old_ok;
    bool new_ok;
  };
  std::map<uint32_t, std::vector<PendingKey>> batches;
  std::vector<std::pair<uint32_t, bool>> resolutions;  // (key, use new state)
  std::string value;
  for (uint32_t i = 0; i < expected->num_keys(); i++) {
    const Slot& slot = expected->Get(i);
    lsmkv::Status s = db->Get(lsmkv::ReadOptions(), KeyFor(i), &value);
    if (!s.ok() && !s.IsNotFound()) {
      *error = "Get of " + KeyName(i) + " failed: " + s.ToString();
      return false;
    }
    const bool found = s.ok();
    r->keys++;
    if (found) r->present++;
    auto matches = [&](bool exists, uint32_t value_id) {
      return exists ? found && value == ValueFor(i, value_id) : !found;
    };
    const bool old_ok = matches(slot.exists(), slot.value_id);
    if (!slot.pending()) {
      if (!old_ok) {
        AddMismatch(r, KeyName(i) + ": expected " + DescribeState(i, slot.exists(), slot.value_id) +
                           ", found " + DescribeFound(i, slot, found, value));
      }
      continue;
    }
    const bool new_ok = matches(slot.pending_exists(), slot.pending_value_id);
    if (!old_ok && !new_ok) {
      AddMismatch(r, KeyName(i) + ": expected (write in flight) old " +
                         DescribeState(i, slot.exists(), slot.value_id) + " or new " +
                         DescribeState(i, slot.pending_exists(), slot.pending_value_id) +
                         ", found " + DescribeFound(i, slot, found, value));
      continue;
    }
    if (slot.batch_id != 0) {
      batches[slot.batch_id].push_back({i, old_ok, new_ok});
    } else {
      resolutions.emplace_back(i, new_ok);
    }
  }
  for (const auto& [batch_id, keys] : batches) {
    r->batches++;
    bool all_old = true, all_new = true;
    for (const PendingKey& k : keys) {
      all_old = all_old && k.old_ok;
      all_new = all_new && k.new_ok;
    }
    if (!all_old && !all_new) {
      std::string text = "batch " + std::to_string(batch_id) + " partially visible:";
      for (const PendingKey& k : keys) {
        text += " " + KeyName(k.index) + (k.new_ok ? (k.old_ok ? "=either" : "=new") : "=old");
      }
      AddMismatch(r, text);
      continue;
    }
    for (const PendingKey& k : keys) resolutions.emplace_back(k.index, all_new);
  }
  if (r->mismatch_count > 0) return true;  // keep the file as it was, for diagnosis
  for (const auto& [index, use_new] : resolutions) {
    Slot slot = expected->Get(index);
    if (use_new) {
      slot.value_id = slot.pending_value_id;
      slot.flags = slot.pending_exists() ? Slot::kExists : 0;
      r->pending_new++;
    } else {
      slot.flags &= Slot::kExists;
      r->pending_old++;
    }
    slot.pending_value_id = 0;
    slot.batch_id = 0;
    if (!expected->Set(index, slot, error)) return false;
  }
  return VerifyByIteration(db, *expected, r, error);
}

int VerifyAndReport(const Config& config, lsmkv::DB* db, ExpectedState* expected,
                    const char* when) {
  VerifyResult r;
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  if (!Verify(db, expected, &r, &error)) {
    std::fprintf(stderr, "lsmkv_stress: ERROR during %s verification: %s [seed %" PRIu64 "]\n",
                 when, error.c_str(), config.seed);
    return kExitDbError;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (r.mismatch_count > 0) {
    for (const std::string& m : r.mismatches) {
      std::fprintf(stderr, "lsmkv_stress: MISMATCH (%s verification) %s [seed %" PRIu64 "]\n", when,
                   m.c_str(), config.seed);
    }
    std::fprintf(stderr,
                 "lsmkv_stress: FAILED: %" PRIu64 " mismatches among %" PRIu64
                 " keys [seed %" PRIu64 ", db %s, expected %s]\n",
                 r.mismatch_count, r.keys, config.seed, config.db_path.c_str(),
                 config.expected_path.c_str());
    return kExitMismatch;
  }
  std::printf("lsmkv_stress: %s verification OK: verified %" PRIu64 " keys (%" PRIu64
              " present, %" PRIu64 " matched by a full scan, in-flight writes: %" PRIu64
              " old, %" PRIu64 " new, %" PRIu64 " batches) in %.2f s\n",
              when, r.keys, r.present, r.scanned, r.pending_old, r.pending_new, r.batches, secs);
  std::fflush(stdout);
  return 0;
}

}  // namespace lsmkv::stress
