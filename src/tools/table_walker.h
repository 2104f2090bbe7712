// TableWalker: reads a table file block by block for the operator tools.
//
// Table (src/table/table.h) is built for serving reads: it refuses a table
// whose meta blocks are damaged and its iterator stops at the first damaged
// data block. The tools need the opposite: verify reports every damaged
// block, repair salvages the blocks around a damaged one, dump shows what is
// readable. The walker needs only the footer and the index block to locate
// the data blocks; the properties block is read if it can be, and each data
// block is read, checksummed and decoded on its own.
//
// Thread safety: after Open, const methods may be called concurrently.
#ifndef LSMKV_TOOLS_TABLE_WALKER_H_
#define LSMKV_TOOLS_TABLE_WALKER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "db/dbformat.h"
#include "lsmkv/env.h"
#include "lsmkv/status.h"
#include "table/format.h"
#include "table/salvage.h"
#include "table/table_properties.h"

namespace lsmkv::tools {

class TableWalker {
 public:
  // One index entry: the data block's separator key and where it lies.
  struct DataBlock {
    std::string separator;  // internal key: >= every key of the block
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

  // Reads the footer and the index block of the table at path. Corruption
  // naming the file if either is unusable (too short, bad magic or version,
  // index block failing its checksum, index entries out of order or naming
  // blocks outside the data area, not back to back): then no data block can
  // be located. The Env's error if the file cannot be read.
  Status Open(Env* env, const std::string& path);

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_size_; }
  // The footer used (format version 2: the copy, if the last footer is
  // damaged); footer_damage() is OK unless one of the two copies is damaged.
  const Footer& footer() const { return footer_; }
  const Status& footer_damage() const { return footer_damage_; }
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

 private:
  Status ReadIndex();
  std::string Detail(const Status& s) const;
  void ReadProperties();

  const InternalKeyComparator* const icmp_;
  std::string path_;
  std::unique_ptr<RandomAccessFile> file_;
  uint64_t file_size_ = 0;
  Footer footer_;
  uint64_t footer_start_ = 0;  // where the footer area (both copies) begins
  Status footer_damage_;
  std::vector<DataBlock> blocks_;
  std::vector<MetaBlock> meta_blocks_;
  TableProperties properties_;
  Status properties_status_ = Status::NotFound("properties not read");
};

}  // namespace lsmkv::tools

#endif  // LSMKV_TOOLS_TABLE_WALKER_H_
