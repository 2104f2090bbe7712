// TableCache: opens table files on first use and keeps at most
// max_open_files of them open, least recently used first out.
//
// A table in use (by a Get in progress or a live iterator) stays open even if
// it is evicted meanwhile (by the LRU or by Evict); it is closed when its last
// user is done. So the number of open tables exceeds max_open_files only
// while more than that many are in use at once.
//
// Open failures are not remembered: the next use tries again.
//
// Thread safety: every method may be called concurrently. It has no lock of
// its own: its only mutable state is cache_, whose shards lock themselves
// (table/cache.cc, LRUShard::mutex_, a leaf lock).
#ifndef LSMKV_TABLE_TABLE_CACHE_H_
#define LSMKV_TABLE_TABLE_CACHE_H_

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
  Status Get(const ReadOptions& options, uint64_t file_number, uint64_t file_size,
             std::string_view internal_key,
             const std::function<void(std::string_view key, std::string_view value)>& on_found);

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

 private:
  // Finds or opens the table; *handle pins it in cache_.
  Status FindTable(uint64_t file_number, uint64_t file_size, Cache::Handle** handle);

  Env* const env_;
  const TableOptions options_;
  const std::function<std::string(uint64_t)> file_name_;
  const std::unique_ptr<Cache> cache_;
};

}  // namespace lsmkv

#endif  // LSMKV_TABLE_TABLE_CACHE_H_
