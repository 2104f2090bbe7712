// Internal keys: how a user key, its sequence number and its type are stored
// together in memtables and tables (docs/format/table.md, "internal key").
//
//   internal_key := user_key  fixed64((sequence << 8) | type)
//
// Ordering (InternalKeyComparator): user key ascending (bytewise), then
// sequence descending, then type descending — so the newest version of a key
// comes first and a Seek to (key, snapshot_seq) lands on the newest version
// visible at that snapshot.
#ifndef LSMKV_BASE_DBFORMAT_H_
#define LSMKV_BASE_DBFORMAT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/check.h"
#include "util/coding.h"
#include "util/comparator.h"

namespace lsmkv {

using SequenceNumber = uint64_t;

// Sequence numbers use 56 bits; the low 8 bits of the tag hold the type.
inline constexpr SequenceNumber kMaxSequenceNumber = (uint64_t{1} << 56) - 1;

// Persisted in WAL batches and tables: never renumber.
enum ValueType : unsigned char {
  kTypeDeletion = 0x0,
  kTypeValue = 0x1,
  // Only an operation of a write batch (DeleteRange: key = begin, value =
  // end), never the type of an internal key: range tombstones live beside
  // the memtable and in the MANIFEST (db/range_tombstones.h).
  kTypeRangeDeletion = 0x2,
};
// The type used when seeking: the highest, so that seeking (key, seq, this)
// lands before every entry of key with sequence <= seq.
inline constexpr ValueType kValueTypeForSeek = kTypeValue;

// Of an internal key (kTypeRangeDeletion is not one).
inline bool IsValidValueType(unsigned t) { return t <= kTypeValue; }

inline uint64_t PackSequenceAndType(SequenceNumber seq, ValueType t) {
  DCHECK(seq <= kMaxSequenceNumber);
  return (seq << 8) | t;
}

inline void AppendInternalKey(std::string* dst, std::string_view user_key, SequenceNumber seq,
                              ValueType t) {
  dst->append(user_key.data(), user_key.size());
  PutFixed64(dst, PackSequenceAndType(seq, t));
}

struct ParsedInternalKey {
  std::string_view user_key;
  SequenceNumber sequence = 0;
  ValueType type = kTypeValue;
};

// Returns false (without asserting: the bytes may come from disk) if
// internal_key is shorter than 8 bytes or carries an unknown type.
inline bool ParseInternalKey(std::string_view internal_key, ParsedInternalKey* out) {
  if (internal_key.size() < 8) return false;
  uint64_t tag = DecodeFixed64(internal_key.data() + internal_key.size() - 8);
  unsigned type = static_cast<unsigned>(tag & 0xff);
  if (!IsValidValueType(type)) return false;
  out->user_key = internal_key.substr(0, internal_key.size() - 8);
  out->sequence = tag >> 8;
  out->type = static_cast<ValueType>(type);
  return true;
}

// REQUIRES: internal_key.size() >= 8.
inline std::string_view ExtractUserKey(std::string_view internal_key) {
  DCHECK(internal_key.size() >= 8);
  return internal_key.substr(0, internal_key.size() - 8);
}
inline uint64_t ExtractTag(std::string_view internal_key) {
  DCHECK(internal_key.size() >= 8);
  return DecodeFixed64(internal_key.data() + internal_key.size() - 8);
}

// Orders internal keys as described at the top of this file, using
// user_comparator for the user key part.
class InternalKeyComparator final : public Comparator {
 public:
  explicit InternalKeyComparator(const Comparator* user_comparator)
      : user_comparator_(user_comparator) {}
  int Compare(std::string_view a, std::string_view b) const override;
  const char* Name() const override { return "lsmkv.InternalKeyComparator"; }
  void FindShortestSeparator(std::string* start, std::string_view limit) const override;
  void FindShortSuccessor(std::string* key) const override;
  // Every internal key ends in its 8-byte tag.
  size_t MinimumKeySize() const override { return 8; }
  const Comparator* user_comparator() const { return user_comparator_; }

 private:
  const Comparator* user_comparator_;
};

// The key a point lookup searches memtables and tables with: the internal key
// (user_key, sequence, kValueTypeForSeek), also available prefixed with its
// varint32 length (the memtable entry layout).
class LookupKey {
 public:
  LookupKey(std::string_view user_key, SequenceNumber sequence);
  LookupKey(const LookupKey&) = delete;
  LookupKey& operator=(const LookupKey&) = delete;

  // varint32(internal key length) + internal key.
  std::string_view memtable_key() const { return std::string_view(data_, size_); }
  std::string_view internal_key() const {
    return std::string_view(data_ + kstart_, size_ - kstart_);
  }
  std::string_view user_key() const {
    return std::string_view(data_ + kstart_, size_ - kstart_ - 8);
  }

 private:
  // Keys up to about this size are built in place: a point read does not
  // allocate (a heap buffer and its free were a tenth of a memtable hit).
  char space_[128];
  std::unique_ptr<char[]> heap_;  // longer keys
  const char* data_;
  size_t size_;
  size_t kstart_;
};

}  // namespace lsmkv

#endif  // LSMKV_BASE_DBFORMAT_H_
