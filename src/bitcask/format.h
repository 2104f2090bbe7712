// The Bitcask engine's on-disk formats (docs/format/bitcask.md): data-file
// records, hint files and the manifest. Pure encoding and decoding: no I/O.
//
// Data file (NNNNNN.bcd): a sequence of records, appended only.
//   record  := header(12) payload
//   header  := header_crc(fixed32) payload_length(fixed32) payload_crc(fixed32)
//              header_crc = masked CRC-32C of bytes 4..12 (length and payload_crc)
//              payload_crc = masked CRC-32C of the payload
//   payload := version(1 byte = 1) first_sequence(fixed64) count(varint32) op{count}
//   op      := op_crc(fixed32) type(1 byte) key_length(varint32)
//              [value_length(varint32) if put] key [value if put]
//              op_crc = masked CRC-32C of everything after it in the op
// Op i of a record has sequence first_sequence + i. One record is one atomic
// write (a WriteBatch): recovery applies all of its ops or none.
//
// Hint file (NNNNNN.bch, written by merge for its output files):
//   hint    := magic(fixed32) version(1 byte = 1) entry* trailer
//   entry   := type(1 byte) sequence(fixed64) op_offset(varint64)
//              op_size(varint32) key_length(varint32) key
//   trailer := crc(fixed32: masked CRC-32C of everything before it) magic(fixed32)
//
// Manifest (BITCASK-MANIFEST): the live data files.
//   manifest := crc(fixed32: masked CRC-32C of the rest) version(1 byte = 1)
//               next_file(varint64) comparator_name(length-prefixed)
//               file_count(varint32) file_number(varint64){file_count}
#ifndef LSMKV_BITCASK_FORMAT_H_
#define LSMKV_BITCASK_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lsmkv/status.h"

namespace lsmkv::bitcask {

enum class OpType : uint8_t { kPut = 1, kDelete = 2 };

inline constexpr size_t kRecordHeaderSize = 12;
inline constexpr uint8_t kFormatVersion = 1;
inline constexpr uint32_t kHintMagic = 0x6b736368;  // "hcsk"

// One op of a record being encoded.
struct OpToEncode {
  OpType type;
  std::string_view key;
  std::string_view value;  // puts only
};

// Where an encoded op lies inside its record (offsets from the record's
// first byte), for the keydir.
struct OpLocation {
  uint64_t offset;
  uint32_t size;
};

// Appends one record holding ops (sequences first_sequence, +1, ...) to
// *dst; *locations gets one entry per op, relative to the record's start.
void EncodeRecord(uint64_t first_sequence, const std::vector<OpToEncode>& ops, std::string* dst,
                  std::vector<OpLocation>* locations);

// Parses the 12-byte header at data. OK with *payload_length; Corruption if
// its checksum fails.
Status DecodeRecordHeader(std::string_view header, uint32_t* payload_length, uint32_t* payload_crc);

struct DecodedOp {
  OpType type;
  uint64_t sequence;
  std::string_view key;
  std::string_view value;
  uint64_t offset;  // from the record's first byte
  uint32_t size;
};

// Checks payload against payload_crc and splits it into ops (views into
// payload). header_size is the offset of the payload in the record (12).
Status DecodeRecordPayload(std::string_view payload, uint32_t payload_crc,
                           std::vector<DecodedOp>* ops);

// Decodes one op read back alone (at a keydir location) and checks its own
// checksum. Corruption if damaged or not an op of the expected key.
Status DecodeOp(std::string_view bytes, std::string_view expected_key, OpType* type,
                std::string_view* value);

struct HintEntry {
  OpType type;
  uint64_t sequence;
  uint64_t offset;  // of the op in the data file
  uint32_t size;
  std::string key;
};
void EncodeHintEntry(const HintEntry& e, std::string* dst);
// A whole hint file from its entries' encoding.
std::string FinishHintFile(std::string_view entries);
// Corruption unless the whole file checks out.
Status DecodeHintFile(std::string_view contents, std::vector<HintEntry>* entries);

struct Manifest {
  uint64_t next_file = 1;
  std::string comparator;
  std::vector<uint64_t> files;
};
std::string EncodeManifest(const Manifest& m);
Status DecodeManifest(std::string_view contents, Manifest* m);

}  // namespace lsmkv::bitcask

#endif  // LSMKV_BITCASK_FORMAT_H_
