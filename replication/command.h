// A Raft log entry's payload: one command the leader proposed, as every replica
// applies it (docs/format/raft-command.md).
//
//   byte     format version (kCommandVersion)
//   byte     type (CommandType)
//   fixed32  body length
//   ...      body: for kWrite, a WriteBatch's encoding (docs/format/wal.md)
//            with its sequence field zero
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

inline constexpr unsigned char kCommandVersion = 1;

enum class CommandType : unsigned char {
  kWrite = 1,  // apply a WriteBatch
};

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

// Decodes a command. On success *type is its type and, for kWrite, *batch holds
// its operations. Corruption (naming what is wrong) for a short buffer, a
// length that does not fit, a bad checksum, padding that is not 0..7 zero bytes
// to a multiple of 8, an unknown version or type, a damaged batch, or a batch
// touching the reserved prefix; NotSupported for a version newer than this
// build's.
Status DecodeCommand(std::string_view command, CommandType* type, WriteBatch* batch);

}  // namespace lsmkv::replication

#endif  // LSMKV_REPLICATION_COMMAND_H_
