// A Raft log entry's payload: one command the leader proposed, as every replica
// applies it (docs/format/raft-command.md).
//
//   byte     format version (kCommandVersion)
//   byte     type (CommandType)
//   fixed32  body length
//   ...      body: for kWrite, a WriteBatch's encoding (docs/format/wal.md)
//            with its sequence field zero; for kAnnounce (version 2 on),
//            fixed64 server id and the address
//   fixed32  masked crc32c of every preceding byte
//   0..7 zero bytes, to a multiple of 8 bytes in all (libraft's disk log
//   refuses entries whose size is not a multiple of 8)
//
// The leader computes a command's effect (the keys and values it writes,
// absolute expiry times) before proposing it, so applying it is deterministic:
// every replica that applies the same entries holds the same data.
#ifndef LSMKV_REPLICATION_COMMAND_H_
#define LSMKV_REPLICATION_COMMAND_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "lsmkv/status.h"
#include "lsmkv/write_batch.h"

namespace lsmkv::replication {

// 1: kWrite only; 2: kAnnounce added (docs/format/raft-command.md).
inline constexpr unsigned char kCommandVersion = 2;

enum class CommandType : unsigned char {
  kWrite = 1,     // apply a WriteBatch
  kAnnounce = 2,  // record a server's client address (Announcement)
};

// A kAnnounce command's body: fixed64 server id, then the address ("HOST:PORT"
// where Redis clients reach that server; 1..kMaxAddressBytes printable bytes).
struct Announcement {
  uint64_t id = 0;
  std::string address;
};
inline constexpr size_t kMaxAddressBytes = 255;

// Keys beginning with this prefix belong to the replication layer (the applied
// index, later the membership); a command may not write them.
inline constexpr std::string_view kReservedPrefix =
    "\xff\xff"
    "raft/";

// Frames body as a command of the given version and type (header, checksum,
// padding). For EncodeWriteCommand, and for tests that forge commands.
std::string FrameCommand(unsigned char version, unsigned char type, std::string_view body);

// Encodes batch as a kWrite command into *out (replacing its contents).
// InvalidArgument (and *out untouched) if the batch writes a key in the
// reserved prefix or deletes a range that overlaps it.
Status EncodeWriteCommand(const WriteBatch& batch, std::string* out);

// Encodes a kAnnounce command. InvalidArgument for id 0 or an address that is
// empty, longer than kMaxAddressBytes or not printable ASCII.
Status EncodeAnnounceCommand(const Announcement& announcement, std::string* out);

// Decodes a command. On success *type is its type and, for kWrite, *batch holds
// its operations; for kAnnounce, *announcement (if not null) its content. Corruption (naming what
// is wrong) for a short buffer, a length that does not fit, a bad checksum, padding that is not
// 0..7 zero bytes to a multiple of 8, an unknown version or type, a damaged batch, or a batch
// touching the reserved prefix; NotSupported for a version newer than this
// build's.
Status DecodeCommand(std::string_view command, CommandType* type, WriteBatch* batch,
                     Announcement* announcement = nullptr);

}  // namespace lsmkv::replication

#endif  // LSMKV_REPLICATION_COMMAND_H_
