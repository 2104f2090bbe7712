// Expected state of the crash test: what lsmkv_stress believes the database
// holds, kept in a file that survives a kill -9 of the process.
//
// The file is a 32-byte header ("LSMKVEXP", version, number of keys) followed
// by one 16-byte slot per key, each updated in place with pwrite(2). Data
// written by pwrite sits in the page cache once the call returns, so a killed
// process loses none of it (a power loss could; the crash test kills processes).
//
// Key i and the value with id v of key i are pure functions of (i) and (i, v),
// so a value read back can be checked byte for byte. Value id 0 is never
// written; ids of a key only grow.
//
// Thread safety: Get/Set of distinct keys may run concurrently (one writer per
// key); Open/Create are not thread safe.
#ifndef LSMKV_TOOLS_STRESS_EXPECTED_STATE_H_
#define LSMKV_TOOLS_STRESS_EXPECTED_STATE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace lsmkv::stress {

// The state of one key as recorded in the file.
struct Slot {
  static constexpr uint8_t kExists = 1;         // the committed state is a value
  static constexpr uint8_t kPending = 2;        // a write was started, not yet acknowledged
  static constexpr uint8_t kPendingExists = 4;  // the pending write is a put (else a delete)
  static constexpr uint8_t kKnownFlags = kExists | kPending | kPendingExists;

  uint32_t value_id = 0;          // committed value (meaningful if kExists)
  uint32_t pending_value_id = 0;  // the value the pending write sets
  uint32_t batch_id = 0;          // nonzero: the pending write is part of this batch
  uint8_t flags = 0;

  bool exists() const { return (flags & kExists) != 0; }
  bool pending() const { return (flags & kPending) != 0; }
  bool pending_exists() const { return (flags & kPendingExists) != 0; }
};

// The key of index i: 8 hex digits (unique, so keys are distinct) and a
// suffix of 0..16 printable bytes derived from i.
std::string KeyFor(uint32_t index);
// The value with id value_id of key index: 0..1000 arbitrary bytes.
std::string ValueFor(uint32_t index, uint32_t value_id);
// The first 8 bytes of KeyFor(index): KeyPrefix(i) <= KeyFor(i) < KeyPrefix(i + 1),
// so [KeyPrefix(a), KeyPrefix(b)) holds exactly the keys a..b-1.
std::string KeyPrefix(uint32_t index);

class ExpectedState {
 public:
  ExpectedState() = default;
  ExpectedState(const ExpectedState&) = delete;
  ExpectedState& operator=(const ExpectedState&) = delete;
  ~ExpectedState();

  // Opens path, creating it with num_keys empty slots if it does not exist.
  // False with *error set if the file is unreadable, damaged or was made for
  // another number of keys.
  bool Open(const std::string& path, uint32_t num_keys, std::string* error);

  uint32_t num_keys() const { return static_cast<uint32_t>(slots_.size()); }
  const Slot& Get(uint32_t index) const { return slots_[index]; }
  // Stores slot for key index in memory and in the file. False with *error
  // set if the write fails.
  bool Set(uint32_t index, const Slot& slot, std::string* error);

 private:
  int fd_ = -1;
  std::vector<Slot> slots_;
};

}  // namespace lsmkv::stress

#endif  // LSMKV_TOOLS_STRESS_EXPECTED_STATE_H_
