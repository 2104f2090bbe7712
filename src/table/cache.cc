#include "table/cache.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include "table/table_hash.h"
#include "util/check.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv {

namespace {

// One allocation per entry: the fields, then the key bytes.
struct Entry : Cache::Handle {
  void* value = nullptr;
  Cache::Deleter deleter = nullptr;
  size_t charge = 0;
  uint64_t hash = 0;
  Entry* next_hash = nullptr;  // chain of the hash bucket
  // Links in the LRU list; an entry is in that list iff in_cache && refs == 1.
  Entry* prev = nullptr;
  Entry* next = nullptr;
  // Pins from handles, plus one while the entry is in the map.
  uint32_t refs = 0;
  bool in_cache = false;
  uint32_t key_size = 0;

  std::string_view key() const {
    return std::string_view(reinterpret_cast<const char*>(this + 1), key_size);
  }

  static Entry* New(std::string_view key, uint64_t hash) {
    DCHECK(key.size() <= UINT32_MAX);
    void* memory = ::operator new(sizeof(Entry) + key.size());
    auto* e = new (memory) Entry;
    e->hash = hash;
    e->key_size = static_cast<uint32_t>(key.size());
    if (!key.empty()) std::memcpy(e + 1, key.data(), key.size());
    return e;
  }
  static void Free(Entry* e) {
    e->deleter(e->key(), e->value);
    e->~Entry();
    ::operator delete(e);
  }
};

// Open hashing with chains through Entry::next_hash; a power-of-two number of
// buckets indexed by the low bits of the hash (the shard is chosen by the
// high bits). Grows to keep the chains about one entry long.
class HashTable {
 public:
  HashTable() : buckets_(16, nullptr) {}

  // The slot that points to the entry of key, or the null slot at the end of
  // its chain.
  Entry** Find(std::string_view key, uint64_t hash) {
    Entry** slot = &buckets_[hash & (buckets_.size() - 1)];
    while (*slot != nullptr && ((*slot)->hash != hash || (*slot)->key() != key)) {
      slot = &(*slot)->next_hash;
    }
    return slot;
  }

  // REQUIRES: no entry of e's key is in the table.
  void Insert(Entry* e) {
    Entry** slot = Find(e->key(), e->hash);
    DCHECK(*slot == nullptr);
    e->next_hash = nullptr;
    *slot = e;
    if (++size_ > buckets_.size()) Grow();
  }

  // REQUIRES: *slot is an entry (from Find).
  void Remove(Entry** slot) {
    Entry* e = *slot;
    *slot = e->next_hash;
    e->next_hash = nullptr;
    size_--;
  }

  template <typename F>
  void ForEach(F&& f) {
    for (Entry* head : buckets_) {
      while (head != nullptr) {
        Entry* next = head->next_hash;
        f(head);
        head = next;
      }
    }
  }

 private:
  void Grow() {
    std::vector<Entry*> grown(buckets_.size() * 2, nullptr);
    const size_t mask = grown.size() - 1;
    for (Entry* head : buckets_) {
      while (head != nullptr) {
        Entry* next = head->next_hash;
        Entry*& bucket = grown[head->hash & mask];
        head->next_hash = bucket;
        bucket = head;
        head = next;
      }
    }
    buckets_.swap(grown);
  }

  std::vector<Entry*> buckets_;
  size_t size_ = 0;
};

// One shard: a map and an LRU list of unpinned entries, under one mutex.
class LRUShard {
 public:
  LRUShard() {
    lru_.prev = &lru_;
    lru_.next = &lru_;
  }
  LRUShard(const LRUShard&) = delete;
  LRUShard& operator=(const LRUShard&) = delete;

  ~LRUShard() {
    table_.ForEach([](Entry* e) {
      DCHECK(e->refs == 1);  // every handle was released
      Entry::Free(e);
    });
  }

  // Called once, before the shard is shared.
  void set_capacity(size_t capacity) EXCLUDES(mutex_) {
    MutexLock lock(&mutex_);
    capacity_ = capacity;
  }

  Cache::Handle* Insert(std::string_view key, uint64_t hash, void* value, size_t charge,
                        Cache::Deleter deleter) EXCLUDES(mutex_) {
    Entry* e = Entry::New(key, hash);
    e->value = value;
    e->charge = charge;
    e->deleter = deleter;
    e->refs = 2;  // the returned handle and the map
    e->in_cache = true;
    Entry* dead = nullptr;  // chained through next_hash
    {
      MutexLock lock(&mutex_);
      Entry** slot = table_.Find(key, hash);
      if (*slot != nullptr) RemoveLocked(slot, &dead);
      table_.Insert(e);
      usage_ += charge;
      EvictLocked(&dead);
    }
    FreeAll(dead);
    return e;
  }

  Cache::Handle* Lookup(std::string_view key, uint64_t hash) EXCLUDES(mutex_) {
    MutexLock lock(&mutex_);
    Entry* e = *table_.Find(key, hash);
    if (e == nullptr) return nullptr;
    if (e->refs == 1) Unlink(e);  // it becomes pinned
    e->refs++;
    return e;
  }

  void Release(Entry* e) EXCLUDES(mutex_) {
    Entry* dead = nullptr;
    {
      MutexLock lock(&mutex_);
      DCHECK(e->refs > 0);
      e->refs--;
      if (e->refs == 0) {
        DCHECK(!e->in_cache);
        e->next_hash = dead;
        dead = e;
      } else if (e->in_cache && e->refs == 1) {
        Append(e);  // unpinned: most recently used
        EvictLocked(&dead);
      }
    }
    FreeAll(dead);
  }

  void Erase(std::string_view key, uint64_t hash) EXCLUDES(mutex_) {
    Entry* dead = nullptr;
    {
      MutexLock lock(&mutex_);
      Entry** slot = table_.Find(key, hash);
      if (*slot != nullptr) RemoveLocked(slot, &dead);
    }
    FreeAll(dead);
  }

  size_t TotalCharge() const EXCLUDES(mutex_) {
    MutexLock lock(&mutex_);
    return usage_;
  }

 private:
  static void Unlink(Entry* e) {
    e->next->prev = e->prev;
    e->prev->next = e->next;
    e->prev = e->next = nullptr;
  }

  void Append(Entry* e) REQUIRES(mutex_) {
    e->next = &lru_;
    e->prev = lru_.prev;
    e->prev->next = e;
    e->next->prev = e;
  }

  // Takes the entry at *slot out of the map; prepends it to *dead (a chain
  // through next_hash) if nothing pins it.
  void RemoveLocked(Entry** slot, Entry** dead) REQUIRES(mutex_) {
    Entry* e = *slot;
    table_.Remove(slot);
    DCHECK(e->in_cache);
    e->in_cache = false;
    usage_ -= e->charge;
    if (e->refs == 1) Unlink(e);
    if (--e->refs == 0) {
      e->next_hash = *dead;
      *dead = e;
    }
  }

  void EvictLocked(Entry** dead) REQUIRES(mutex_) {
    while (usage_ > capacity_ && lru_.next != &lru_) {
      Entry* oldest = lru_.next;
      DCHECK(oldest->refs == 1);
      Entry** slot = table_.Find(oldest->key(), oldest->hash);
      DCHECK(*slot == oldest);
      RemoveLocked(slot, dead);
    }
  }

  // Runs deleters outside the lock, in the order the entries died (the
  // chain holds them newest first).
  static void FreeAll(Entry* dead) {
    Entry* reversed = nullptr;
    while (dead != nullptr) {
      Entry* next = dead->next_hash;
      dead->next_hash = reversed;
      reversed = dead;
      dead = next;
    }
    dead = reversed;
    while (dead != nullptr) {
      Entry* next = dead->next_hash;
      Entry::Free(dead);
      dead = next;
    }
  }

  // A leaf lock: deleters run after it is released (FreeAll).
  mutable Mutex mutex_;
  size_t capacity_ GUARDED_BY(mutex_) = 0;
  size_t usage_ GUARDED_BY(mutex_) = 0;
  // Sentinel: lru_.next is the least recently used. The list links and the
  // refs/in_cache fields of every entry are guarded by mutex_ as well (the
  // analysis sees only lru_ and table_); an entry's key, hash and value are
  // immutable once inserted.
  Entry lru_ GUARDED_BY(mutex_);
  HashTable table_ GUARDED_BY(mutex_);
};

class ShardedLRUCache final : public Cache {
 public:
  ShardedLRUCache(size_t capacity, int num_shard_bits)
      : capacity_(capacity),
        shard_bits_(num_shard_bits),
        num_shards_(size_t{1} << num_shard_bits),
        shards_(new LRUShard[num_shards_]) {
    for (size_t i = 0; i < num_shards_; i++) {
      shards_[i].set_capacity(capacity / num_shards_ + (i < capacity % num_shards_ ? 1 : 0));
    }
  }

  Handle* Insert(std::string_view key, void* value, size_t charge, Deleter deleter) override {
    const uint64_t hash = TableHash64(key);
    return Shard(hash).Insert(key, hash, value, charge, deleter);
  }
  Handle* Lookup(std::string_view key) override {
    const uint64_t hash = TableHash64(key);
    return Shard(hash).Lookup(key, hash);
  }
  void Release(Handle* handle) override {
    auto* e = static_cast<Entry*>(handle);
    Shard(e->hash).Release(e);
  }
  void* Value(Handle* handle) override { return static_cast<Entry*>(handle)->value; }
  void Erase(std::string_view key) override {
    const uint64_t hash = TableHash64(key);
    Shard(hash).Erase(key, hash);
  }
  uint64_t NewId() override { return last_id_.fetch_add(1, std::memory_order_relaxed) + 1; }
  size_t TotalCharge() const override {
    size_t total = 0;
    for (size_t i = 0; i < num_shards_; i++) total += shards_[i].TotalCharge();
    return total;
  }
  size_t Capacity() const override { return capacity_; }

 private:
  LRUShard& Shard(uint64_t hash) {
    if (shard_bits_ == 0) return shards_[0];
    return shards_[hash >> (64 - shard_bits_)];
  }

  const size_t capacity_;
  const int shard_bits_;
  const size_t num_shards_;
  const std::unique_ptr<LRUShard[]> shards_;
  std::atomic<uint64_t> last_id_{0};
};

}  // namespace

std::unique_ptr<Cache> NewLRUCache(size_t capacity, int num_shard_bits) {
  if (num_shard_bits < 0) num_shard_bits = 0;
  if (num_shard_bits > 8) num_shard_bits = 8;
  return std::make_unique<ShardedLRUCache>(capacity, num_shard_bits);
}

}  // namespace lsmkv
