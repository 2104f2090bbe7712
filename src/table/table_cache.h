// TableCache: opens table files on first use and keeps at most
// max_open_files of them open, least recently used first out.
//
// A table in use (by a Get in progress, a live iterator or a PinnedTable)
// stays open even if it is evicted meanwhile (by the LRU or by Evict); it is
// closed when its last user is done. So the number of open tables exceeds
// max_open_files only while more than that many are in use at once. At most
// max_open_files / 2 tables are pinned at a time (PinnedTable), so pins never
// take more than half of the cache.
//
// Open failures are not remembered: the next use tries again.
//
// Thread safety: every method may be called concurrently. It has no lock of
// its own: its mutable state is cache_, whose shards lock themselves
// (table/cache.cc, LRUShard::mutex_, a leaf lock), and the atomic count of
// pinned tables.
#ifndef LSMKV_TABLE_TABLE_CACHE_H_
#define LSMKV_TABLE_TABLE_CACHE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "lsmkv/env.h"
#include "lsmkv/iterator.h"
#include "lsmkv/options.h"
#include "lsmkv/status.h"
#include "table/cache.h"
#include "table/table_options.h"

namespace lsmkv {

class TableCache;

// The open table of one table file, kept by that file's in-memory metadata
// so that point reads find it without the cache's lock (TableCache::Get
// with a pin): the cache's own lookup takes a shard mutex and rewrites the
// LRU list twice per table consulted, which concurrent readers contend on.
// Filled by the first Get that opens or finds the table while the cache's
// pin budget allows (TableCache class comment); released when the owner is
// destroyed (before its file is deleted: the file's metadata dies first).
//
// Thread safety: Get may fill it concurrently (one pin wins); the destructor
// must not run concurrently with a Get that uses it. A copy starts empty (a
// pin belongs to one object). The TableCache that filled it must outlive it.
class PinnedTable {
 public:
  PinnedTable() = default;
  PinnedTable(const PinnedTable&) {}
  PinnedTable& operator=(const PinnedTable&) { return *this; }
  ~PinnedTable();

  bool pinned() const { return handle_.load(std::memory_order_acquire) != nullptr; }

 private:
  friend class TableCache;
  std::atomic<Cache::Handle*> handle_{nullptr};  // published last, with release
  std::atomic<TableCache*> owner_{nullptr};      // set before handle_
};

class TableCache {
 public:
  // file_name maps a file number to the path of its table. env and the
  // objects options point to must outlive the cache. max_open_files < 1 is
  // treated as 1.
  TableCache(Env* env, const TableOptions& options,
             std::function<std::string(uint64_t file_number)> file_name, int max_open_files);
  TableCache(const TableCache&) = delete;
  TableCache& operator=(const TableCache&) = delete;
  // REQUIRES: every iterator from NewIterator was destroyed.
  ~TableCache();

  // Table::InternalGet on the table of file_number (file_size bytes long),
  // opening it if needed. Errors of opening the table are returned.
  // With pin (the file's PinnedTable, or nullptr): reads the pinned table
  // without looking it up, and pins the table it looked up while fewer than
  // max_open_files / 2 tables are pinned, so that the cache keeps at least
  // half of its capacity for the LRU.
  Status Get(const ReadOptions& options, uint64_t file_number, uint64_t file_size,
             std::string_view internal_key,
             const std::function<void(std::string_view key, std::string_view value)>& on_found,
             PinnedTable* pin = nullptr);

  // An iterator over the table of file_number. It keeps the table open until
  // it is destroyed. If the table cannot be opened, the iterator is empty and
  // its status() is the error. Never null.
  Iterator* NewIterator(const ReadOptions& options, uint64_t file_number, uint64_t file_size);

  // Table::Verify on the table of file_number (a strict read of all of it,
  // for paranoid_checks): *num_entries receives its entry count. Errors of
  // opening the table are returned.
  Status Verify(uint64_t file_number, uint64_t file_size, uint64_t* num_entries);

  // Table::ApproximateOffsetOf(internal_key) on the table of file_number:
  // the approximate byte offset in the file where internal_key's data would
  // be. A table that cannot be opened counts as 0 bytes (the error is not
  // returned: sizes are estimates and a damaged table is reported by reads).
  uint64_t ApproximateOffsetOf(uint64_t file_number, uint64_t file_size,
                               std::string_view internal_key);

  // Closes the table of file_number once no one uses it (call it before the
  // file is deleted). Does nothing if the table is not open.
  void Evict(uint64_t file_number);

  // Tables currently held by the cache (at most max_open_files).
  size_t OpenTables() const;
  // Tables currently pinned (PinnedTable), at most max_open_files / 2.
  size_t PinnedTables() const { return pinned_.load(std::memory_order_relaxed); }

 private:
  // Finds or opens the table; *handle pins it in cache_.
  Status FindTable(uint64_t file_number, uint64_t file_size, Cache::Handle** handle);

  Env* const env_;
  const TableOptions options_;
  const std::function<std::string(uint64_t)> file_name_;
  const std::unique_ptr<Cache> cache_;
  const size_t max_pinned_;
  std::atomic<size_t> pinned_{0};

  friend class PinnedTable;  // its destructor releases through cache_
};

}  // namespace lsmkv

#endif  // LSMKV_TABLE_TABLE_CACHE_H_
