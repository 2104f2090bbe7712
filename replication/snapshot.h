// Raft snapshots of a replica (docs/replication.md, "Snapshots"): the Raft
// snapshot is a small descriptor naming a checkpoint of the database that took
// it; a replica that installs the snapshot fetches the checkpoint's files from
// that server, verifies each against the descriptor's size and CRC32C, and
// swaps its database for them (StateMachine::RestoreSnapshot).
//
// Descriptor encoding (docs/format/raft-snapshot.md):
//   byte      format version (kSnapshotVersion)
//   varint64  index of the last entry the checkpoint holds
//   varint64  Raft id of the server holding the checkpoint
//   lp-string checkpoint name
//   varint32  file count, then per file: lp-string name, varint64 size, fixed32 crc32c
//   fixed32   masked crc32c of every preceding byte
#ifndef LSMKV_REPLICATION_SNAPSHOT_H_
#define LSMKV_REPLICATION_SNAPSHOT_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lsmkv/env.h"
#include "lsmkv/status.h"

namespace lsmkv::replication {

inline constexpr unsigned char kSnapshotVersion = 1;

struct SnapshotFile {
  std::string name;  // a plain file name: no '/', not "." or ".."
  uint64_t size = 0;
  uint32_t crc = 0;  // crc32c of the whole file (unmasked)
};

struct SnapshotDescriptor {
  uint64_t index = 0;      // the checkpoint holds entries 1..index
  uint64_t server = 0;     // the Raft id of the server holding the checkpoint
  std::string checkpoint;  // its name on that server (a plain name, as file names)
  std::vector<SnapshotFile> files;
};

std::string EncodeSnapshotDescriptor(const SnapshotDescriptor& d);
// Corruption (saying what) for a short or damaged descriptor, a bad checksum,
// trailing bytes, a name that is not a plain file name, or a repeated file;
// NotSupported for a version newer than this build's.
Status DecodeSnapshotDescriptor(std::string_view data, SnapshotDescriptor* d);

// True if name is usable as a single path component: non-empty, no '/' or NUL,
// not "." or "..", at most 255 bytes.
bool IsPlainFileName(std::string_view name);

// The size and CRC32C of the file at path, read through env.
Status FileChecksum(Env* env, const std::string& path, uint64_t* size, uint32_t* crc);

// Where a replica gets a snapshot's files from.
class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  // Copies file `name` of checkpoint `checkpoint` held by server `server` to the
  // new local file `dest` (through env) and syncs it. The caller verifies it.
  virtual Status Fetch(uint64_t server, const std::string& checkpoint, const std::string& name,
                       Env* env, const std::string& dest) = 0;
  // The encoded descriptor of the newest complete snapshot server `server`
  // took (StateMachine::NewestSnapshot), for an install whose own checkpoint
  // is gone. NotSupported unless a source overrides it.
  virtual Status Newest(uint64_t server, std::string* descriptor) {
    (void)server;
    (void)descriptor;
    return Status::NotSupported("snapshot source: no newest snapshot");
  }
};

// A source for replicas sharing one filesystem (tests; a node restoring its own
// checkpoint): server id -> that server's replica root directory.
class DirectorySource final : public SnapshotSource {
 public:
  void Add(uint64_t server, std::string root) { roots_[server] = std::move(root); }
  Status Fetch(uint64_t server, const std::string& checkpoint, const std::string& name, Env* env,
               const std::string& dest) override;

 private:
  std::map<uint64_t, std::string> roots_;
};

}  // namespace lsmkv::replication

#endif  // LSMKV_REPLICATION_SNAPSHOT_H_
