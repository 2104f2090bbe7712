// Salvage data of a table (format version 2, docs/format/table.md, "Salvage
// block"): for every data block, its handle, the compression type it was
// stored with, and the length and checksum of each of its entry groups. An
// entry group is the run of entries from one restart point up to the next,
// so its first entry stores its whole key and the group decodes on its own.
//
// Reads never need this block. When a data block fails its checksum, the
// reader (Table) loads it and salvages the block: the groups whose checksums
// still match are kept, the others become gaps. The salvaged block's
// iterator yields only verified entries and reports Corruption wherever the
// answer could lie in a gap, so a lost entry is never mistaken for an absent
// one.
//
// Thread safety: SalvageBuilder is not thread safe; SalvageData is immutable
// after Decode; the free functions are thread safe.
#ifndef LSMKV_TABLE_SALVAGE_H_
#define LSMKV_TABLE_SALVAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lsmkv/iterator.h"
#include "lsmkv/options.h"
#include "lsmkv/status.h"
#include "table/block.h"
#include "table/format.h"
#include "util/comparator.h"

namespace lsmkv {

struct SalvageGroup {
  uint32_t length = 0;      // bytes of the group's entries
  uint32_t masked_crc = 0;  // crc32c::Mask(crc32c of those bytes)
};

// What the salvage block says about one data block.
struct SalvageRecord {
  BlockHandle handle;
  CompressionType type = CompressionType::kNone;  // as stored (trailer type byte)
  std::vector<SalvageGroup> groups;               // in order, from offset 0 of the contents
};

// Builds the contents of a salvage block, one data block at a time, in file
// order.
class SalvageBuilder {
 public:
  // handle and type: where and how the block was written; raw: its
  // uncompressed contents as BlockBuilder::Finish returned them (never empty
  // of entries).
  void AddDataBlock(const BlockHandle& handle, CompressionType type, std::string_view raw);
  // The block contents: varint64 count of records, then the records.
  std::string Finish() const;

 private:
  std::string records_;
  uint64_t count_ = 0;
};

class SalvageData {
 public:
  // Parses a salvage block's contents. Corruption (message without the file
  // name) if they do not decode exactly, or if the records are inconsistent:
  // handles not back to back from offset 0, a block without groups, an
  // empty group, an unknown compression type, or (uncompressed blocks)
  // groups plus restart array not filling the block.
  static Status Decode(std::string_view contents, SalvageData* out);

  const std::vector<SalvageRecord>& records() const { return records_; }
  // The record of the data block at offset, or null.
  const SalvageRecord* Find(uint64_t offset) const;
  // Where the last data block ends (trailer included); 0 without blocks.
  uint64_t data_end() const { return data_end_; }

  // True if the uncompressed contents of an intact block have exactly the
  // groups record lists (lengths and checksums). Used by Table::Verify.
  static bool GroupsMatch(const SalvageRecord& record, std::string_view contents);

 private:
  std::vector<SalvageRecord> records_;
  uint64_t data_end_ = 0;
};

// The first step of SalvageBlock: the entry groups of a damaged data block,
// located by the record's lengths from offset 0 and checked one by one.
struct CheckedGroups {
  // A compressed block's uncompressed contents, which the intact groups of
  // such a block point into (those of an uncompressed block point into the
  // raw bytes given to CheckGroups).
  BlockContents uncompressed;
  // OK, or why no group could be checked (the block is shorter than its
  // handle says, its codec failed, or it is shorter than its groups).
  Status status;
  // Per group of the record, in order: its bytes when intact — its checksum
  // matches and its first entry decodes with shared == 0 — else empty (a
  // group is never empty).
  std::vector<std::string_view> intact;
};

// Checks the groups of the data block whose stored bytes are raw (as for
// SalvageBlock). The views in the result stay valid while raw and the
// result live (moving the result keeps them valid).
CheckedGroups CheckGroups(const SalvageRecord& record, std::string_view raw);

// What SalvageBlock recovered of one damaged data block.
struct SalvagedBlock {
  // The intact groups, in order, back to back, each one a restart point.
  std::unique_ptr<Block> block;
  // The first key of every intact group whose preceding group is lost
  // (group 0 lost counts as a gap before the first intact group).
  std::vector<std::string> keys_after_gap;
  bool lost_tail = false;  // the block's last group is lost
  size_t groups = 0;
  size_t groups_lost = 0;
};

// Salvages a data block whose stored bytes (contents followed by the trailer,
// which is not used) are raw, as read from the file at record.handle. The
// groups are located by the record's lengths from offset 0 — the block's own
// restart array is not trusted. A compressed block is uncompressed first; if
// its codec fails, every group is lost.
SalvagedBlock SalvageBlock(const SalvageRecord& record, std::string_view raw);

// An iterator over the intact entries of a salvaged block, in the order of
// comparator. It is never positioned on an entry that may not be the right
// answer: a Seek whose first candidate follows a gap, a Next or Prev across a
// gap, SeekToFirst with group 0 lost, SeekToLast, or a Seek past the last
// intact entry, with the last group lost — each makes it !Valid() with
// status() gap_error. Any Seek* starts over. min_key_size and error_context
// are as for Block::NewIterator. Never null.
Iterator* NewSalvagedBlockIterator(SalvagedBlock salvaged, const Comparator* comparator,
                                   size_t min_key_size, std::string_view error_context,
                                   Status gap_error);

}  // namespace lsmkv

#endif  // LSMKV_TABLE_SALVAGE_H_
