// Table: a reader of one sorted table file written by TableBuilder
// (docs/format/table.md).
//
// Open validates the footer, the layout of the blocks, the checksums of the
// index, meta-index, properties and filter blocks (always, whatever
// ReadOptions say) and keeps those blocks in memory. Data blocks are read
// lazily, through the block cache when TableOptions::block_cache is set.
//
// Every problem with the bytes of the file is Status::Corruption whose message
// starts with the file name; a damaged table is never read as empty or as
// having fewer entries, and a damaged data block never yields entries that
// are not verified: the iterator or InternalGet reports Corruption instead
// (when checksums are verified; with ReadOptions::verify_checksums false,
// damage the format checks cannot see may go unnoticed, but nothing is read
// outside the file's bytes).
//
// Format version 2 tables survive damage to any one block (docs/format/
// table.md, "Validation by the reader"): Open uses the footer's copy when the
// footer is damaged, opens without the filter (and properties) when those
// blocks are damaged, and rebuilds the index from the data blocks when it is
// damaged; damage() and TableOptions::damage_reporter report it. A data
// block that fails its checksum is salvaged: its entry groups whose own
// checksums match stay readable, and reads report Corruption only where the
// answer could lie in a lost group. Salvaged blocks never enter the block
// cache. Version 1 tables are read as before: any such damage fails Open or
// the read.
//
// Thread safety: after Open, every const method may be called concurrently.
#ifndef LSMKV_TABLE_TABLE_H_
#define LSMKV_TABLE_TABLE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lsmkv/env.h"
#include "lsmkv/iterator.h"
#include "lsmkv/options.h"
#include "lsmkv/status.h"
#include "table/block.h"
#include "table/bloom.h"
#include "table/format.h"
#include "table/iterator_util.h"
#include "table/salvage.h"
#include "table/table_options.h"
#include "table/table_properties.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv {

class Table {
 public:
  // Opens the table in file, whose size is file_size; file_name is used in
  // error messages. On success *table holds it (and owns file); on failure
  // *table is reset. Corruption if the file is not a complete, intact table
  // written with options.comparator — except that a version 2 table whose
  // footer copy, filter, properties, meta-index or index block fails its
  // checksum is opened around it (damage() says what; counted and reported
  // through options); the file's own errors as they are. options (its
  // comparator, cache, counters and damage reporter) must outlive the table.
  static Status Open(const TableOptions& options, std::unique_ptr<RandomAccessFile> file,
                     uint64_t file_size, const std::string& file_name,
                     std::unique_ptr<Table>* table);

  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;
  ~Table();

  // An iterator over every entry, in comparator order (ReadOptions bounds and
  // snapshot are not applied here). Honours verify_checksums and fill_cache:
  // blocks read without checksum verification are never put in the cache.
  // Once it has moved through consecutive data blocks (Next or Prev into the
  // adjacent block, twice in a row), blocks missing from the cache are read
  // ahead kScanReadahead bytes per file read instead of one block per read;
  // they are cached as usual. The iterator must be destroyed before the
  // table, unless pin keeps the table alive: it is released when the
  // iterator is destroyed. Never null.
  Iterator* NewIterator(const ReadOptions& options, IteratorPin pin = {}) const;

  // Bytes a scanning iterator reads from the file at once.
  static constexpr size_t kScanReadahead = 64 * 1024;

  // A point lookup. If the filter rules the user key of internal_key out,
  // returns OK without reading. Otherwise finds the data block the index
  // points to for internal_key and calls on_found with the first entry of that
  // block that is >= internal_key, if there is one. (When that block holds no
  // such entry, the next block starts with a larger user key — its index key
  // separates them — so a lookup of internal_key's user key misses nothing.)
  // Returns Corruption when the block is damaged. With internal keys,
  // internal_key shorter than 8 bytes is InvalidArgument.
  Status InternalGet(
      const ReadOptions& options, std::string_view internal_key,
      const std::function<void(std::string_view key, std::string_view value)>& on_found) const;

  // The approximate offset in the file where the data for key begins (the
  // offset of the first data block that may hold key; the end of the data
  // blocks if key is after every key).
  uint64_t ApproximateOffsetOf(std::string_view key) const;

  // The table's properties; all zero (has_properties() false) when a
  // version 2 table was opened with its properties or meta-index block
  // damaged.
  const TableProperties& properties() const { return properties_; }
  bool has_properties() const { return has_properties_; }
  const std::string& file_name() const { return file_name_; }
  // The format version of the table (1 or 2).
  uint32_t format_version() const { return format_version_; }

  // OK if Open found the footer and every meta block intact; otherwise
  // Corruption naming the file and what Open worked around (version 2 only:
  // a damaged version 1 table fails Open).
  Status damage() const;

  // Checks what reads do not need: damage() and, for version 2, that the
  // salvage block is intact and describes exactly the data blocks of the
  // index. Reads no data block.
  Status VerifyMetadata() const;

  // A strict check of the whole table, for paranoid_checks and the tools:
  // VerifyMetadata, then every data block read with its checksum verified
  // (no salvage), decoded entry by entry, and (version 2) its entry groups
  // compared with the salvage data. *num_entries receives the entries
  // counted. The first problem is returned (Corruption naming the file and
  // block); the block cache is not used.
  Status Verify(uint64_t* num_entries) const;

  // False only if no key with this user key (the whole key, when the keys are
  // not internal keys) was added. True if the table has no filter, or one
  // built over another kind of key than these options say (internal_keys).
  bool KeyMayMatch(std::string_view user_key) const;

 private:
  Table(const TableOptions& options, std::unique_ptr<RandomAccessFile> file,
        const std::string& file_name);

  Status Corruption(const std::string& what) const;
  // The message of s without a leading "<file name>: ".
  std::string Detail(const Status& s) const;
  Status ReadVerifiedBlock(const BlockHandle& handle, BlockContents* contents) const;
  // Open's reading of the footer, the index, the meta-index, the properties
  // and the filter, and the checks of their layout (damage that format
  // version 2 tolerates is noted, not returned).
  Status ReadFooterAndMeta(uint64_t file_size);
  // Whether s (from reading a footer copy, the filter, properties,
  // meta-index or index block) is damage Open works around: a Corruption in
  // a version 2 table.
  bool Tolerable(const Status& s) const;
  // Reads the index block at handle into index_block_. Tolerable damage
  // leaves index_block_ null and sets *damage (the caller rebuilds the
  // index) and returns OK; any other failure is returned.
  Status ReadIndexBlock(const BlockHandle& handle, Status* damage);
  // The meta blocks the meta-index lists (besides the salvage block).
  struct MetaBlocks {
    BlockHandle filter;
    BlockHandle properties;
    bool has_filter = false;
    // The built-in filter's layout (by its name); unused with a policy.
    BloomLayout filter_layout = BloomLayout::kClassic;
    bool has_properties = false;
    // Where the first filter of another policy starts (the data blocks end
    // before it); UINT64_MAX if there is none.
    uint64_t other_filter_offset = UINT64_MAX;
  };
  // Reads the meta-index at metaindex_handle_ into *meta and salvage_handle_
  // / has_salvage_, checking that every handle ends before it. Tolerable
  // damage sets *metaindex_ok false and has_properties_ false, notes it and
  // returns OK. Requires format_version_ and metaindex_handle_ set.
  Status ReadMetaIndex(MetaBlocks* meta, bool* metaindex_ok);
  // Reads the properties (which must name options_.comparator) and the
  // filter (kept only if it holds the kind of keys this reader probes), and
  // sets data_end_. Requires an intact meta-index (ReadMetaIndex).
  Status ReadPropertiesAndFilter(const MetaBlocks& meta);
  // Version 2: records damage Open worked around.
  void NoteDamage(const std::string& what);
  // data_end_known: false when the meta-index was unusable; data_end_ is
  // then set to where the index's last data block ends.
  Status CheckIndex(bool data_end_known);
  // Version 2, index block damaged: builds an index from the salvage data's
  // handles and the last key of each data block.
  Status RebuildIndex(const Status& index_damage);
  // The parsed salvage block (read on first use, then kept). Corruption if
  // the table has none or it is damaged.
  Status LoadSalvage(std::shared_ptr<const SalvageData>* salvage) const EXCLUDES(salvage_mu_);
  // An iterator over what can be salvaged of the data block at handle,
  // which failed with damage.
  Iterator* SalvagedBlockIterator(const BlockHandle& handle, const Status& damage) const
      EXCLUDES(salvage_mu_);
  void Report(const std::string& message) const;
  struct Readahead;
  // An iterator over the data block named by an index value. readahead (the
  // calling iterator's state; null for point lookups) serves sequential
  // misses from larger reads.
  Iterator* BlockIterator(bool verify_checksums, bool fill_cache, std::string_view index_value,
                          Readahead* readahead) const;
  // The same for a decoded handle.
  Iterator* BlockIterator(bool verify_checksums, bool fill_cache, const BlockHandle& handle,
                          Readahead* readahead) const;
  // Builds the index fences (index_prefix_ and the vectors after it) from an index
  // block CheckIndex accepted, if the keys are ordered bytewise (by user key,
  // for internal keys); leaves them empty otherwise.
  void BuildIndexFences();
  // For a point lookup of user_key: true with *entry set to the first index
  // entry whose user key is >= user_key (index_handles_.size() when there
  // is none) if the fences decide it; false if user_key's fence equals an
  // entry's (the index block's search must decide). REQUIRES: fences built.
  bool FindByFences(std::string_view user_key, size_t* entry) const;
  // Reads the block at handle (ending at end, trailer included) through
  // readahead's window, refilling it if the block is not inside.
  Status ReadAhead(Readahead* readahead, const BlockHandle& handle, uint64_t end,
                   bool verify_checksums, BlockContents* contents) const;

  // The fields up to damage_ are set by Open (and RebuildIndex, which Open
  // calls) before the table is shared, then only read: no lock.
  const TableOptions options_;
  const std::unique_ptr<RandomAccessFile> file_;
  // The file's bytes can be used in place (a mapping, RandomAccessFile::Pin):
  // uncompressed data blocks are read there, without a copy, without
  // readahead and without entering the block cache (so the cache never keeps
  // a mapping, or the disk space of a deleted table, alive).
  const bool in_place_;
  const std::string file_name_;
  const bool internal_keys_;
  // Minimum key sizes the block iterators enforce (see Block::NewIterator).
  const size_t data_min_key_size_;
  const size_t index_min_key_size_;
  uint64_t cache_id_ = 0;
  uint64_t data_end_ = 0;  // data blocks lie in [0, data_end_)
  uint32_t format_version_ = 1;
  BlockHandle metaindex_handle_;
  std::unique_ptr<Block> index_block_;
  // The index block summarised for point lookups (BuildIndexFences), so
  // that most of them find their data block without a search through the
  // index block — a chain of cache misses per lookup once the tables no
  // longer fit in the processor's caches. index_prefix_ is the prefix the
  // index entries' user keys share, all but a short tail of them; entry i's
  // fence is the next sixteen bytes of its user key after it, zero-padded,
  // as a big-endian number (a smaller fence means a smaller user key; equal
  // fences decide nothing), all ones for a tail entry, kept in two arrays
  // of halves so that a search reads the dense high halves and only their
  // ties read the low ones; index_tail_keys_ holds the tail entries' user
  // keys, in order; index_handles_[i] is entry i's data block. All empty
  // when not built.
  std::string index_prefix_;
  std::vector<std::string> index_tail_keys_;
  std::vector<uint64_t> index_fences_high_;  // the fences' first eight bytes
  std::vector<uint64_t> index_fences_low_;   // and their last eight
  std::vector<BlockHandle> index_handles_;
  // The meta-index key of the filter this reader uses ("filter.<name>" of
  // options_.filter_policy, else of the built-in bloom filter).
  const std::string filter_block_name_;
  // The built-in filter, parsed (options_.filter_policy unset) ...
  BloomFilterReader filter_;
  // ... or the filter of options_.filter_policy, probed through it.
  std::string policy_filter_;
  bool has_policy_filter_ = false;
  TableProperties properties_;
  bool has_properties_ = true;
  bool has_salvage_ = false;
  BlockHandle salvage_handle_;
  std::string damage_;  // what Open worked around; "" if nothing
  // Set (before the insert) once this table put a block into the block
  // cache, by any reader; until then a mapped table does not look there.
  // Relaxed: a stale false only costs a read of a block the cache holds.
  mutable std::atomic<bool> cached_blocks_{false};

  // The salvage block, loaded on first use; a Corruption while loading it is
  // kept (the file's own errors are retried). A leaf lock (held across the
  // read of the salvage block, no other lock taken under it).
  mutable Mutex salvage_mu_;
  mutable std::shared_ptr<const SalvageData> salvage_ GUARDED_BY(salvage_mu_);
  mutable Status salvage_status_ GUARDED_BY(salvage_mu_);
  mutable std::set<uint64_t> reported_blocks_ GUARDED_BY(salvage_mu_);  // salvaged blocks reported
};

}  // namespace lsmkv

#endif  // LSMKV_TABLE_TABLE_H_
