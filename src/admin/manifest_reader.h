// Reading a MANIFEST for the operator tools: every record, every edit, the
// state they add up to, and every kind of damage, without stopping at the
// first problem (VersionSet::Recover, which serves Open, stops there).
//
// Thread safety: not thread safe; ManifestContents is a plain value.
#ifndef LSMKV_ADMIN_MANIFEST_READER_H_
#define LSMKV_ADMIN_MANIFEST_READER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/dbformat.h"
#include "db/version_edit.h"
#include "lsmkv/env.h"
#include "lsmkv/status.h"

namespace lsmkv::tools {

struct ManifestContents {
  struct LiveFile {
    int level = 0;
    FileMetaData meta;
  };

  std::string path;
  uint64_t number = 0;  // the MANIFEST's file number
  uint64_t edits = 0;   // edits decoded and applied
  bool has_comparator = false, has_log_number = false, has_next_file_number = false,
       has_last_sequence = false;
  std::string comparator;
  uint64_t log_number = 0;
  uint64_t next_file_number = 0;
  SequenceNumber last_sequence = 0;
  // The live tables after applying every decodable edit in order.
  std::map<uint64_t, LiveFile> live;
  // The live range tombstones (DB::DeleteRange) after every decodable edit,
  // by sequence.
  std::map<SequenceNumber, RangeTombstone> range_tombstones;
  // Every table any edit added (also those removed later), for key ranges.
  std::map<uint64_t, FileMetaData> ever_added;
  // Damage, one line each naming the file: dropped log regions, edits that
  // do not decode, missing required fields.
  std::vector<std::string> damage;
  // The log ended inside a record (an edit cut by a crash: never synced).
  bool torn_tail = false;
  uint64_t torn_tail_bytes = 0;

  // Every required field (comparator, log number, next file, last sequence)
  // was present.
  bool Complete() const {
    return has_comparator && has_log_number && has_next_file_number && has_last_sequence;
  }
};

// Optional callbacks of ReadManifest, in file order.
struct ManifestVisitor {
  // A record that decoded as an edit, at this file offset.
  std::function<void(uint64_t offset, const VersionEdit& edit)> on_edit;
  // A line of damage (also appended to ManifestContents::damage).
  std::function<void(const std::string& line)> on_damage;
};

// Reads the MANIFEST at path (file number `number`) into *out, checking key
// order with user comparator ucmp (edits of a MANIFEST naming another
// comparator are read without that check). Returns the Env's error if it
// cannot be opened or read; damage is not an error here: it is listed in
// out->damage and reading goes on after it.
Status ReadManifest(Env* env, const std::string& path, uint64_t number, ManifestContents* out,
                    const ManifestVisitor* visitor = nullptr,
                    const Comparator* ucmp = BytewiseComparator());

// Violations of the level invariants (levels >= 1 sorted by key with disjoint
// key ranges), one line each naming the MANIFEST and the files.
std::vector<std::string> CheckLevels(const ManifestContents& contents,
                                     const InternalKeyComparator& icmp);

}  // namespace lsmkv::tools

#endif  // LSMKV_ADMIN_MANIFEST_READER_H_
