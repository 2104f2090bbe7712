#include "table/table_cache.h"

#include "table/iterator_util.h"
#include "table/table.h"
#include "util/coding.h"

namespace lsmkv {

namespace {

void DeleteTable(std::string_view, void* value) { delete static_cast<Table*>(value); }

void ReleaseTable(void* cache, void* handle) {
  static_cast<Cache*>(cache)->Release(static_cast<Cache::Handle*>(handle));
}

}  // namespace

TableCache::TableCache(Env* env, const TableOptions& options,
                       std::function<std::string(uint64_t file_number)> file_name,
                       int max_open_files)
    : env_(env),
      options_(options),
      file_name_(std::move(file_name)),
      // Few tables: one shard, so that the limit is exact and LRU is global.
      cache_(NewLRUCache(static_cast<size_t>(max_open_files < 1 ? 1 : max_open_files),
                         max_open_files < 256 ? 0 : 4)),
      max_pinned_(static_cast<size_t>(max_open_files < 1 ? 0 : max_open_files / 2)) {}

PinnedTable::~PinnedTable() {
  Cache::Handle* handle = handle_.load(std::memory_order_acquire);
  if (handle == nullptr) return;
  TableCache* owner = owner_.load(std::memory_order_relaxed);
  owner->cache_->Release(handle);
  owner->pinned_.fetch_sub(1, std::memory_order_relaxed);
}

TableCache::~TableCache() = default;

Status TableCache::FindTable(uint64_t file_number, uint64_t file_size, Cache::Handle** handle) {
  char key[8];
  EncodeFixed64(key, file_number);
  const std::string_view cache_key(key, sizeof(key));
  *handle = cache_->Lookup(cache_key);
  if (*handle != nullptr) return Status::OK();

  // Two threads may open the same table at once; the later Insert replaces
  // the earlier entry, which is closed when its user is done. Both are correct.
  const std::string fname = file_name_(file_number);
  std::unique_ptr<RandomAccessFile> file;
  Status s = env_->NewRandomAccessFile(fname, &file);
  if (!s.ok()) return s;
  std::unique_ptr<Table> table;
  s = Table::Open(options_, std::move(file), file_size, fname, &table);
  if (!s.ok()) return s;
  *handle = cache_->Insert(cache_key, table.release(), 1, &DeleteTable);
  return Status::OK();
}

Status TableCache::Get(
    const ReadOptions& options, uint64_t file_number, uint64_t file_size,
    std::string_view internal_key,
    const std::function<void(std::string_view key, std::string_view value)>& on_found,
    PinnedTable* pin) {
  Cache::Handle* handle = pin == nullptr ? nullptr : pin->handle_.load(std::memory_order_acquire);
  if (handle != nullptr) {
    return static_cast<const Table*>(cache_->Value(handle))
        ->InternalGet(options, internal_key, on_found);
  }
  Status s = FindTable(file_number, file_size, &handle);
  if (!s.ok()) return s;
  const auto* table = static_cast<const Table*>(cache_->Value(handle));
  s = table->InternalGet(options, internal_key, on_found);
  // Pin the handle (keep this lookup's reference) if the budget allows and
  // no other reader pinned one meanwhile; else give it back.
  if (pin != nullptr && pinned_.load(std::memory_order_relaxed) < max_pinned_) {
    if (pinned_.fetch_add(1, std::memory_order_relaxed) < max_pinned_) {
      pin->owner_.store(this, std::memory_order_relaxed);
      Cache::Handle* none = nullptr;
      if (pin->handle_.compare_exchange_strong(none, handle, std::memory_order_acq_rel)) return s;
    }
    pinned_.fetch_sub(1, std::memory_order_relaxed);  // over budget, or pinned meanwhile
  }
  cache_->Release(handle);
  return s;
}

Iterator* TableCache::NewIterator(const ReadOptions& options, uint64_t file_number,
                                  uint64_t file_size) {
  Cache::Handle* handle = nullptr;
  Status s = FindTable(file_number, file_size, &handle);
  if (!s.ok()) return NewTableErrorIterator(std::move(s));
  const auto* table = static_cast<const Table*>(cache_->Value(handle));
  return table->NewIterator(options, IteratorPin{&ReleaseTable, cache_.get(), handle});
}

Status TableCache::Verify(uint64_t file_number, uint64_t file_size, uint64_t* num_entries) {
  *num_entries = 0;
  Cache::Handle* handle = nullptr;
  Status s = FindTable(file_number, file_size, &handle);
  if (!s.ok()) return s;
  const auto* table = static_cast<const Table*>(cache_->Value(handle));
  s = table->Verify(num_entries);
  cache_->Release(handle);
  return s;
}

uint64_t TableCache::ApproximateOffsetOf(uint64_t file_number, uint64_t file_size,
                                         std::string_view internal_key) {
  Cache::Handle* handle = nullptr;
  if (!FindTable(file_number, file_size, &handle).ok()) return 0;
  const auto* table = static_cast<const Table*>(cache_->Value(handle));
  const uint64_t offset = table->ApproximateOffsetOf(internal_key);
  cache_->Release(handle);
  return offset;
}

void TableCache::Evict(uint64_t file_number) {
  char key[8];
  EncodeFixed64(key, file_number);
  cache_->Erase(std::string_view(key, sizeof(key)));
}

size_t TableCache::OpenTables() const { return cache_->TotalCharge(); }

}  // namespace lsmkv
