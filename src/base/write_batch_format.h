// The encoding of a write batch: the payload of every WAL record
// (docs/format/wal.md, "Payload: WriteBatch"). Kept below wal/ and db/ so
// that the WAL batch reader (wal/batch_reader.h) can decide whether a record
// is a valid batch without depending on db/, and so that WriteBatch
// (db/write_batch.cc) and that reader apply one definition of "valid".
//
//   batch     := sequence:fixed64 count:fixed32 operation{count}
//   operation := kTypeValue key:lenstr value:lenstr
//              | kTypeDeletion key:lenstr
//              | kTypeRangeDeletion begin:lenstr end:lenstr
//   lenstr    := length:varint32 byte{length}
//
// Every constant here is persisted: never change one.
#ifndef LSMKV_BASE_WRITE_BATCH_FORMAT_H_
#define LSMKV_BASE_WRITE_BATCH_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/dbformat.h"
#include "lsmkv/status.h"
#include "util/coding.h"

namespace lsmkv::batch_format {

// Byte offsets of the header fields, and the header's size.
inline constexpr size_t kSequenceOffset = 0;
inline constexpr size_t kCountOffset = 8;
inline constexpr size_t kHeaderSize = 12;
static_assert(kCountOffset + 4 == kHeaderSize, "header fields must tile the header");

// The first operation's sequence number and the operation count stored in
// the header. REQUIRES: rep.size() >= kHeaderSize.
inline SequenceNumber Sequence(std::string_view rep) {
  return DecodeFixed64(rep.data() + kSequenceOffset);
}
inline uint32_t Count(std::string_view rep) { return DecodeFixed32(rep.data() + kCountOffset); }

// OK if rep is long enough to hold the header; Corruption ("record shorter
// than the 12-byte batch header") otherwise.
Status CheckHeaderPresent(std::string_view rep);

// Corruption if the sequence numbers first .. first + count would pass
// kMaxSequenceNumber: bytes no writer of ours produced.
Status CheckSequenceRange(SequenceNumber first, uint64_t count);

// Decodes every operation of rep in order, calling
// fn(ValueType type, std::string_view key, std::string_view value) for each
// (value is empty for a deletion; for a range deletion key is the range's
// begin and value its end). Corruption, with fn called for the
// operations before the fault only, if rep is shorter than the header, an
// operation is truncated or has an unknown type, or the number of operations
// differs from the header's count. An operation beyond the header's count is
// refused before fn sees it, so a caller applying operations as they come
// never applies more than the header announced.
template <typename Fn>
Status ForEachOperation(std::string_view rep, Fn&& fn) {
  if (rep.size() < kHeaderSize) {
    return Status::Corruption("write batch", "shorter than its 12-byte header");
  }
  const uint32_t expected = Count(rep);
  std::string_view input = rep.substr(kHeaderSize);
  uint32_t found = 0;
  while (!input.empty()) {
    if (found == expected) {
      return Status::Corruption(
          "write batch", "header counts " + std::to_string(expected) + " operations, found more");
    }
    const auto type = static_cast<unsigned char>(input[0]);
    input.remove_prefix(1);
    std::string_view key, value;
    if (type == kTypeValue) {
      if (!GetLengthPrefixed(&input, &key) || !GetLengthPrefixed(&input, &value)) {
        return Status::Corruption("write batch", "truncated put");
      }
    } else if (type == kTypeRangeDeletion) {
      if (!GetLengthPrefixed(&input, &key) || !GetLengthPrefixed(&input, &value)) {
        return Status::Corruption("write batch", "truncated range deletion");
      }
    } else if (type == kTypeDeletion) {
      if (!GetLengthPrefixed(&input, &key)) {
        return Status::Corruption("write batch", "truncated delete");
      }
    } else {
      return Status::Corruption("write batch", "unknown operation type " + std::to_string(type));
    }
    found++;
    fn(static_cast<ValueType>(type), key, value);
  }
  if (found != expected) {
    return Status::Corruption("write batch", "header counts " + std::to_string(expected) +
                                                 " operations, found " + std::to_string(found));
  }
  return Status::OK();
}

// Calls fn(ValueType type, std::string_view key) for each of the first
// max_ops operations of rep that decode whole, in order, and stops quietly at
// the first that does not (or at the end): for hints (prefetching), never
// for applying a batch, which is ForEachOperation's job.
template <typename Fn>
void ForFirstKeys(std::string_view rep, int max_ops, Fn&& fn) {
  if (rep.size() < kHeaderSize) return;
  std::string_view input = rep.substr(kHeaderSize);
  for (int i = 0; i < max_ops && !input.empty(); i++) {
    const auto type = static_cast<unsigned char>(input[0]);
    input.remove_prefix(1);
    std::string_view key, value;
    if (type != kTypeValue && type != kTypeDeletion && type != kTypeRangeDeletion) return;
    if (!GetLengthPrefixed(&input, &key)) return;
    if (type != kTypeDeletion && !GetLengthPrefixed(&input, &value)) return;
    fn(static_cast<ValueType>(type), key);
  }
}

// Whether a WAL record is a batch that recovery may apply: the header is
// present, every operation decodes, their number matches the header's count,
// and the sequence numbers fit (checked in that order; the first fault is
// returned, as Corruption). Reads the record only; applies nothing.
Status ValidateRecord(std::string_view record);

}  // namespace lsmkv::batch_format

#endif  // LSMKV_BASE_WRITE_BATCH_FORMAT_H_
