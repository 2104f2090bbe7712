// Cache: a map from keys to values with a byte budget (the sum of the
// "charges" of its entries), shared by the tables of a database for data
// blocks and by TableCache for open tables.
//
// Entries are reference counted: Insert and Lookup return a Handle that pins
// the entry until Release. A pinned entry is never evicted; when the budget
// is exceeded the least recently used unpinned entries are freed. An erased
// or replaced entry disappears from the map at once but its value lives on
// until its last handle is released; the deleter runs exactly once per entry,
// when the entry is neither in the map nor pinned.
//
// Thread safety: every method may be called concurrently. Deleters run
// without the cache's locks held and must not call back into the cache.
#ifndef LSMKV_TABLE_CACHE_H_
#define LSMKV_TABLE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace lsmkv {

class Cache {
 public:
  // An opaque pin on an entry.
  struct Handle {};
  using Deleter = void (*)(std::string_view key, void* value);

  Cache() = default;
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;
  // REQUIRES: every handle was released.
  virtual ~Cache() = default;

  // Maps key to value, replacing any entry of that key, and returns a handle
  // on the new entry. deleter(key, value) runs when the entry is freed.
  virtual Handle* Insert(std::string_view key, void* value, size_t charge, Deleter deleter) = 0;
  // A handle on the entry of key, or nullptr if absent.
  virtual Handle* Lookup(std::string_view key) = 0;
  // Drops a pin. REQUIRES: handle came from this cache and was not released.
  virtual void Release(Handle* handle) = 0;
  // REQUIRES: handle is a live handle of this cache.
  virtual void* Value(Handle* handle) = 0;
  // Removes the entry of key from the map (if any); pinned values live on.
  virtual void Erase(std::string_view key) = 0;
  // A new number, distinct from every earlier one of this cache, for clients
  // that share the cache to build their keys from.
  virtual uint64_t NewId() = 0;
  // The sum of the charges of the entries in the map.
  virtual size_t TotalCharge() const = 0;
  virtual size_t Capacity() const = 0;
};

// A cache of 2^num_shard_bits shards (default 16), chosen by a hash of the
// key, each an LRU list with an equal part of the capacity (the parts sum to
// capacity exactly; so with fewer bytes than shards some shards keep nothing
// unpinned). capacity 0 keeps nothing unpinned. num_shard_bits is clamped to
// [0, 8].
std::unique_ptr<Cache> NewLRUCache(size_t capacity, int num_shard_bits = 4);

}  // namespace lsmkv

#endif  // LSMKV_TABLE_CACHE_H_
