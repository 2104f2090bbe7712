// The physical log format ("log format v1") shared by log::Writer and
// log::Reader. Used for write-ahead log files and MANIFEST files. The full
// grammar, with the reader's resync, torn-tail and end-of-log rules, is in
// docs/format/wal.md; this header only fixes the constants.
//
//   file     := block*                   (the last block may be short)
//   block    := fragment* trailer?       (exactly kBlockSize bytes)
//   fragment := header payload
//   header   := masked_crc:fixed32 length:fixed16 type:uint8 log_number:fixed32
//   trailer  := 0x00{1..kHeaderSize-1}   (too little room for another header)
//
// masked_crc = crc32c::Mask(crc32c(type || log_number || length || payload)).
//
// Every constant here is persisted: never renumber or resize.
#ifndef LSMKV_WAL_LOG_FORMAT_H_
#define LSMKV_WAL_LOG_FORMAT_H_

#include <cstddef>
#include <cstdint>

#include "util/coding.h"
#include "util/crc32c.h"

namespace lsmkv::log {

enum RecordType : uint8_t {
  // Reserved, never written: an all-zero header is pre-allocated space.
  kZeroType = 0,
  // The whole record in one fragment.
  kFullType = 1,
  // The pieces of a record that did not fit in the rest of a block.
  kFirstType = 2,
  kMiddleType = 3,
  kLastType = 4,
};
inline constexpr int kMaxRecordType = kLastType;

inline constexpr size_t kBlockSize = 32768;

// Byte offsets of the header fields.
inline constexpr size_t kCrcOffset = 0;
inline constexpr size_t kLengthOffset = 4;
inline constexpr size_t kTypeOffset = 6;
inline constexpr size_t kLogNumberOffset = 7;
// crc (4) + length (2) + type (1) + log number (4).
inline constexpr size_t kHeaderSize = 11;

static_assert(kHeaderSize == 4 + 2 + 1 + 4, "header layout changed");
static_assert(kLogNumberOffset + 4 == kHeaderSize, "header fields must tile the header");
static_assert(kBlockSize == 32768, "the block size is part of the on-disk format");
static_assert(kBlockSize - kHeaderSize <= 0xffff, "a fragment length must fit in 16 bits");
static_assert(kMaxRecordType == 4, "record types are persisted");

// The unmasked crc32c of the type byte followed by the 4 log-number bytes:
// the common prefix of every fragment checksum of one type in one log. The
// writer and reader precompute it and extend it with length and payload.
inline uint32_t FragmentCrcSeed(uint8_t type, uint32_t log_number) {
  char prefix[5];
  prefix[0] = static_cast<char>(type);
  EncodeFixed32(prefix + 1, log_number);
  return crc32c::Value(prefix, sizeof(prefix));
}

}  // namespace lsmkv::log

#endif  // LSMKV_WAL_LOG_FORMAT_H_
