// TableWalker: reads a table file block by block for the operator tools.
//
// Table (src/table/table.h) is built for serving reads: it refuses a table
// whose meta blocks are damaged and its iterator stops at the first damaged
// data block. The tools need the opposite: verify reports every damaged
// block, repair salvages the blocks around a damaged one, dump shows what is
// readable. The walker locates the data blocks through the footer and the
// index block — or, for a format version 2 table whose index block is
// unusable, through its salvage block (docs/format/table.md). The properties
// block is read if it can be, and each data block is read, checksummed and
// decoded on its own; a version 2 data block that fails can then be
// salvaged entry group by entry group (SalvageDataBlock).
//
// Thread safety: after Open, const methods may be called concurrently.
#ifndef LSMKV_ADMIN_TABLE_WALKER_H_
#define LSMKV_ADMIN_TABLE_WALKER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/dbformat.h"
#include "lsmkv/env.h"
#include "lsmkv/status.h"
#include "table/format.h"
#include "table/salvage.h"
#include "table/table_properties.h"

namespace lsmkv::tools {

class TableWalker {
 public:
  // One data block: its separator key and where it lies.
  struct DataBlock {
    // An internal key >= every key of the block and < every key of the next
    // one: the index's separator, or (blocks located through the salvage
    // block) the block's last key; empty when that is unknown (located
    // through the salvage block, and the block's last entry group is lost).
    std::string separator;
    BlockHandle handle;
  };
  struct Entry {
    std::string key;  // internal key
    std::string value;
  };

  // icmp must outlive the walker.
  explicit TableWalker(const InternalKeyComparator* icmp) : icmp_(icmp) {}
  TableWalker(const TableWalker&) = delete;
  TableWalker& operator=(const TableWalker&) = delete;

  // Reads the footer, the index block, the meta-index and properties blocks
  // and (format version 2) the salvage block of the table at path.
  // Corruption naming the file if no data block can be located: the footer
  // is unusable (too short, bad magic or version), or the index block is
  // (failing its checksum, entries out of order or naming blocks outside
  // the data area, not back to back) and, for version 2, the salvage block
  // is unusable too. A version 2 table with an unusable index but a usable
  // salvage block opens: index_damage() says why, and blocks() are the
  // salvage block's, each read once here to find its last key. The Env's
  // error if the file cannot be read.
  Status Open(Env* env, const std::string& path);

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_size_; }
  // The footer used (format version 2: the copy, if the last footer is
  // damaged); footer_damage() is OK unless one of the two copies is damaged.
  const Footer& footer() const { return footer_; }
  const Status& footer_damage() const { return footer_damage_; }
  // OK, unless the index block is unusable and the data blocks were located
  // through the salvage block: then Corruption naming the file and why.
  const Status& index_damage() const { return index_damage_; }
  const std::vector<DataBlock>& blocks() const { return blocks_; }
  // The properties block, when it could be read and decoded; otherwise
  // properties_status() says why (and properties() is all zero).
  bool has_properties() const { return properties_status_.ok(); }
  const TableProperties& properties() const { return properties_; }
  const Status& properties_status() const { return properties_status_; }
  // The entries of the meta-index with a usable handle (empty if the
  // meta-index could not be read).
  struct MetaBlock {
    std::string name;
    BlockHandle handle;
  };
  const std::vector<MetaBlock>& meta_blocks() const { return meta_blocks_; }
  // Reads and decodes the salvage block (format version 2). NotFound if the
  // meta-index lists none; Corruption naming the file if it is damaged.
  Status ReadSalvageData(SalvageData* out) const;

  // Reads data block i (REQUIRES: i < blocks().size()), verifying its
  // checksum, and appends its entries to *entries. Corruption naming the file
  // and block offset if the block fails its checksum or does not decode, if a
  // key is not a valid internal key, if keys are not strictly increasing, or
  // if a key lies outside the block's index range (after the previous
  // separator, at or before its own). On error *entries is unchanged: a
  // damaged block contributes nothing.
  Status ReadDataBlock(size_t i, std::vector<Entry>* entries) const;

  // What could be salvaged of a damaged data block (format version 2).
  struct Group {
    uint32_t length = 0;  // bytes of the group's entries (uncompressed)
    bool intact = false;
    std::string why_lost;    // when !intact
    size_t first_entry = 0;  // when intact: its entries are
    size_t num_entries = 0;  // entries[first_entry, + num_entries)
  };
  struct BlockSalvage {
    std::vector<Entry> entries;  // of the intact groups, in order
    std::vector<Group> groups;   // every group of the block, in order
    size_t groups_lost = 0;
    uint64_t bytes_lost = 0;  // the lost groups' lengths
  };
  // For a data block i that ReadDataBlock refused with Corruption: reads
  // its bytes again and keeps the entry groups whose checksums in the
  // salvage block match (CheckGroups, src/table/salvage.h) and whose entries
  // pass ReadDataBlock's checks (valid internal keys, strictly increasing,
  // inside the block's range); the other groups are lost. Every entry in
  // out->entries passed a group checksum. NotFound or Corruption naming the
  // file if the table has no usable salvage data (format version 1, the
  // meta-index or salvage block damaged) or none for this block: then
  // nothing of the block can be salvaged. The file's own read errors as
  // they are.
  Status SalvageDataBlock(size_t i, BlockSalvage* out) const;

 private:
  Status ReadIndex();
  std::string Detail(const Status& s) const;
  void ReadProperties();
  // Version 2: reads and checks the salvage block into salvage_ (or says in
  // salvage_status_ why it cannot be used).
  void LoadSalvage();
  // Fills blocks_ from the salvage block, after the index failed with why.
  Status LocateThroughSalvage(const Status& why);
  // The greatest key known to be below every key of block i: the nearest
  // known bound of a block before it (null if none).
  const std::string* LowerBound(size_t i) const;
  // Checks the entries of one decoded block or group and appends them to
  // *out: valid internal keys, strictly increasing after *previous (if not
  // null; then updated), inside block i's range. On error *out may hold
  // part of them. The message does not name the file.
  Status DecodeEntries(size_t i, const Block& block, std::string* previous,
                       std::vector<Entry>* out) const;

  const InternalKeyComparator* const icmp_;
  std::string path_;
  std::unique_ptr<RandomAccessFile> file_;
  uint64_t file_size_ = 0;
  Footer footer_;
  uint64_t footer_start_ = 0;  // where the footer area (both copies) begins
  Status footer_damage_;
  Status index_damage_;
  std::vector<DataBlock> blocks_;
  // Per block: a key every key of the later blocks is greater than (its
  // separator; or, its separator unknown, its last salvaged key; or empty).
  std::vector<std::string> bounds_;
  bool metaindex_read_ = false;
  uint64_t data_end_ = 0;  // where the first meta block starts (meta-index read)
  std::shared_ptr<const SalvageData> salvage_;
  Status salvage_status_;
  std::vector<MetaBlock> meta_blocks_;
  TableProperties properties_;
  Status properties_status_ = Status::NotFound("properties not read");
};

}  // namespace lsmkv::tools

#endif  // LSMKV_ADMIN_TABLE_WALKER_H_
