#include "table/cache.h"

#include <atomic>
#include <cassert>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "table/table_hash.h"

namespace lsmkv {

namespace {

struct Entry : Cache::Handle {
  std::string key;
  void* value = nullptr;
  size_t charge = 0;
  Cache::Deleter deleter = nullptr;
  // Pins from handles, plus one while the entry is in the map.
  uint32_t refs = 0;
  bool in_cache = false;
  // Links in the LRU list; an entry is in that list iff in_cache && refs == 1.
  Entry* prev = nullptr;
  Entry* next = nullptr;
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
    for (auto& [key, e] : table_) {
      assert(e->refs == 1);  // every handle was released
      e->deleter(e->key, e->value);
      delete e;
    }
  }

  void set_capacity(size_t capacity) { capacity_ = capacity; }

  Cache::Handle* Insert(std::string_view key, void* value, size_t charge, Cache::Deleter deleter) {
    auto* e = new Entry;
    e->key.assign(key.data(), key.size());
    e->value = value;
    e->charge = charge;
    e->deleter = deleter;
    e->refs = 2;  // the returned handle and the map
    e->in_cache = true;
    std::vector<Entry*> dead;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto it = table_.find(key); it != table_.end()) RemoveLocked(it, &dead);
      table_.emplace(std::string_view(e->key), e);
      usage_ += charge;
      EvictLocked(&dead);
    }
    Free(dead);
    return e;
  }

  Cache::Handle* Lookup(std::string_view key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = table_.find(key);
    if (it == table_.end()) return nullptr;
    Entry* e = it->second;
    if (e->refs == 1) Unlink(e);  // it becomes pinned
    e->refs++;
    return e;
  }

  void Release(Cache::Handle* handle) {
    auto* e = static_cast<Entry*>(handle);
    std::vector<Entry*> dead;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      assert(e->refs > 0);
      e->refs--;
      if (e->refs == 0) {
        assert(!e->in_cache);
        dead.push_back(e);
      } else if (e->in_cache && e->refs == 1) {
        Append(e);  // unpinned: most recently used
        EvictLocked(&dead);
      }
    }
    Free(dead);
  }

  void Erase(std::string_view key) {
    std::vector<Entry*> dead;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto it = table_.find(key); it != table_.end()) RemoveLocked(it, &dead);
    }
    Free(dead);
  }

  size_t TotalCharge() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return usage_;
  }

 private:
  using Table = std::unordered_map<std::string_view, Entry*>;

  static void Unlink(Entry* e) {
    e->next->prev = e->prev;
    e->prev->next = e->next;
    e->prev = e->next = nullptr;
  }

  void Append(Entry* e) {
    e->next = &lru_;
    e->prev = lru_.prev;
    e->prev->next = e;
    e->next->prev = e;
  }

  // Takes the entry out of the map; collects it in *dead if nothing pins it.
  void RemoveLocked(Table::iterator it, std::vector<Entry*>* dead) {
    Entry* e = it->second;
    table_.erase(it);
    assert(e->in_cache);
    e->in_cache = false;
    usage_ -= e->charge;
    if (e->refs == 1) Unlink(e);
    if (--e->refs == 0) dead->push_back(e);
  }

  void EvictLocked(std::vector<Entry*>* dead) {
    while (usage_ > capacity_ && lru_.next != &lru_) {
      Entry* oldest = lru_.next;
      assert(oldest->refs == 1);
      RemoveLocked(table_.find(oldest->key), dead);
    }
  }

  // Runs deleters outside the lock.
  static void Free(const std::vector<Entry*>& dead) {
    for (Entry* e : dead) {
      e->deleter(e->key, e->value);
      delete e;
    }
  }

  mutable std::mutex mutex_;
  size_t capacity_ = 0;
  size_t usage_ = 0;
  Entry lru_;  // sentinel: lru_.next is the least recently used
  Table table_;
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
    return Shard(key).Insert(key, value, charge, deleter);
  }
  Handle* Lookup(std::string_view key) override { return Shard(key).Lookup(key); }
  void Release(Handle* handle) override {
    Shard(static_cast<Entry*>(handle)->key).Release(handle);
  }
  void* Value(Handle* handle) override { return static_cast<Entry*>(handle)->value; }
  void Erase(std::string_view key) override { Shard(key).Erase(key); }
  uint64_t NewId() override { return last_id_.fetch_add(1, std::memory_order_relaxed) + 1; }
  size_t TotalCharge() const override {
    size_t total = 0;
    for (size_t i = 0; i < num_shards_; i++) total += shards_[i].TotalCharge();
    return total;
  }
  size_t Capacity() const override { return capacity_; }

 private:
  LRUShard& Shard(std::string_view key) {
    if (shard_bits_ == 0) return shards_[0];
    return shards_[TableHash64(key) >> (64 - shard_bits_)];
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
