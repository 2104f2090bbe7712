#include "table/cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/coding.h"
#include "util/random.h"

namespace lsmkv {
namespace {

std::string Key(int k) {
  std::string s;
  PutFixed32(&s, static_cast<uint32_t>(k));
  return s;
}

// Values are ints on the heap; the deleter records what was freed.
std::mutex deleted_mutex;
std::vector<std::pair<int, int>> deleted;  // (key, value)

void Deleter(std::string_view key, void* value) {
  auto* v = static_cast<int*>(value);
  {
    std::lock_guard<std::mutex> lock(deleted_mutex);
    deleted.emplace_back(static_cast<int>(DecodeFixed32(key.data())), *v);
  }
  delete v;
}

class CacheTest : public testing::Test {
 protected:
  // One shard, so that LRU order is global and exact.
  CacheTest() : cache_(NewLRUCache(kCapacity, 0)) { deleted.clear(); }

  void Insert(int key, int value, size_t charge = 1) {
    cache_->Release(cache_->Insert(Key(key), new int(value), charge, &Deleter));
  }
  // The value of key, or -1.
  int Lookup(int key) {
    Cache::Handle* h = cache_->Lookup(Key(key));
    if (h == nullptr) return -1;
    const int v = *static_cast<int*>(cache_->Value(h));
    cache_->Release(h);
    return v;
  }

  static constexpr size_t kCapacity = 100;
  std::unique_ptr<Cache> cache_;
};

TEST_F(CacheTest, HitAndMiss) {
  EXPECT_EQ(-1, Lookup(100));
  Insert(100, 101);
  EXPECT_EQ(101, Lookup(100));
  EXPECT_EQ(-1, Lookup(200));
  Insert(200, 201);
  EXPECT_EQ(101, Lookup(100));
  EXPECT_EQ(201, Lookup(200));
  Insert(100, 102);  // replaces
  EXPECT_EQ(102, Lookup(100));
  ASSERT_EQ(1u, deleted.size());
  EXPECT_EQ(100, deleted[0].first);
  EXPECT_EQ(101, deleted[0].second);
  EXPECT_EQ(2u, cache_->TotalCharge());
  EXPECT_EQ(kCapacity, cache_->Capacity());
}

TEST_F(CacheTest, EvictsLeastRecentlyUsedByCharge) {
  for (int i = 0; i < 10; i++) Insert(i, i, 10);  // exactly full
  EXPECT_EQ(100u, cache_->TotalCharge());
  EXPECT_TRUE(deleted.empty());
  EXPECT_EQ(0, Lookup(0));  // 0 becomes most recent; 1 is now the oldest
  Insert(10, 10, 25);       // needs 25: evicts 1, 2, 3
  EXPECT_EQ(-1, Lookup(1));
  EXPECT_EQ(-1, Lookup(2));
  EXPECT_EQ(-1, Lookup(3));
  EXPECT_EQ(0, Lookup(0));
  EXPECT_EQ(4, Lookup(4));
  EXPECT_EQ(10, Lookup(10));
  EXPECT_EQ(95u, cache_->TotalCharge());
  ASSERT_EQ(3u, deleted.size());
  EXPECT_EQ(1, deleted[0].first);
  EXPECT_EQ(2, deleted[1].first);
  EXPECT_EQ(3, deleted[2].first);
}

TEST_F(CacheTest, HandlesPinEntries) {
  Cache::Handle* pinned = cache_->Insert(Key(1), new int(11), 60, &Deleter);
  // Filling the cache cannot evict the pinned entry.
  for (int i = 2; i < 20; i++) Insert(i, i, 30);
  EXPECT_EQ(11, *static_cast<int*>(cache_->Value(pinned)));
  EXPECT_EQ(11, Lookup(1));
  EXPECT_LE(cache_->TotalCharge(), 60u + 30u);
  // An entry larger than the whole cache lives while pinned.
  Cache::Handle* huge = cache_->Insert(Key(50), new int(50), 500, &Deleter);
  EXPECT_EQ(50, Lookup(50));
  EXPECT_EQ(500u + 60u, cache_->TotalCharge());  // everything unpinned went
  cache_->Release(huge);
  EXPECT_EQ(-1, Lookup(50));  // over capacity once unpinned: evicted at once
  cache_->Release(pinned);
  EXPECT_EQ(11, Lookup(1));  // unpinned and within capacity: still cached
  EXPECT_EQ(60u, cache_->TotalCharge());
}

TEST_F(CacheTest, EraseKeepsPinnedValueAlive) {
  Insert(1, 100);
  Cache::Handle* h = cache_->Lookup(Key(1));
  ASSERT_NE(nullptr, h);
  cache_->Erase(Key(1));
  EXPECT_EQ(-1, Lookup(1));
  EXPECT_EQ(0u, cache_->TotalCharge());
  EXPECT_TRUE(deleted.empty());  // still pinned
  EXPECT_EQ(100, *static_cast<int*>(cache_->Value(h)));
  cache_->Release(h);
  ASSERT_EQ(1u, deleted.size());
  EXPECT_EQ(100, deleted[0].second);
  cache_->Erase(Key(12345));  // absent: nothing happens
  // A replaced entry also lives until its handles go.
  Cache::Handle* old = cache_->Insert(Key(2), new int(20), 1, &Deleter);
  Insert(2, 21);
  EXPECT_EQ(20, *static_cast<int*>(cache_->Value(old)));
  EXPECT_EQ(21, Lookup(2));
  EXPECT_EQ(1u, deleted.size());
  cache_->Release(old);
  EXPECT_EQ(2u, deleted.size());
}

TEST_F(CacheTest, ZeroCapacityKeepsOnlyPinned) {
  std::unique_ptr<Cache> cache = NewLRUCache(0);
  Cache::Handle* h = cache->Insert(Key(1), new int(1), 1, &Deleter);
  EXPECT_EQ(1, *static_cast<int*>(cache->Value(h)));
  Cache::Handle* again = cache->Lookup(Key(1));
  ASSERT_NE(nullptr, again);
  cache->Release(again);
  cache->Release(h);
  EXPECT_EQ(nullptr, cache->Lookup(Key(1)));
  EXPECT_EQ(0u, cache->TotalCharge());
}

TEST_F(CacheTest, NewIdIsUnique) {
  const uint64_t a = cache_->NewId();
  const uint64_t b = cache_->NewId();
  EXPECT_NE(a, b);
}

TEST(ShardedCacheTest, CapacitySplitAcrossShards) {
  std::unique_ptr<Cache> cache = NewLRUCache(16 * 1000);
  EXPECT_EQ(16000u, cache->Capacity());
  for (int i = 0; i < 20000; i++) {
    cache->Release(cache->Insert(Key(i), new int(i), 10, &Deleter));
    ASSERT_LE(cache->TotalCharge(), 16000u);
  }
  // Each shard holds up to 1000 bytes: the cache is nearly full overall.
  EXPECT_GE(cache->TotalCharge(), 16000u - 16 * 10);
  // The most recent entries are all there.
  for (int i = 19990; i < 20000; i++) {
    Cache::Handle* h = cache->Lookup(Key(i));
    ASSERT_NE(nullptr, h);
    EXPECT_EQ(i, *static_cast<int*>(cache->Value(h)));
    cache->Release(h);
  }
}

TEST(ShardedCacheTest, ConcurrentInsertLookupErase) {
  std::unique_ptr<Cache> cache = NewLRUCache(2000);
  std::atomic<int> live{0};
  struct Value {
    int key;
    std::atomic<int>* live;
  };
  auto deleter = [](std::string_view, void* v) {
    auto* value = static_cast<Value*>(v);
    value->live->fetch_sub(1);
    delete value;
  };
  constexpr int kThreads = 4;
  constexpr int kOps = 20000;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      Random rnd(static_cast<uint64_t>(t) + 1);
      std::vector<Cache::Handle*> held;
      for (int i = 0; i < kOps; i++) {
        const int k = static_cast<int>(rnd.Uniform(500));
        switch (rnd.Uniform(4)) {
          case 0: {
            live.fetch_add(1);
            Cache::Handle* h =
                cache->Insert(Key(k), new Value{k, &live}, 1 + rnd.Uniform(10), deleter);
            if (rnd.OneIn(3)) {
              held.push_back(h);
            } else {
              cache->Release(h);
            }
            break;
          }
          case 1:
          case 2: {
            Cache::Handle* h = cache->Lookup(Key(k));
            if (h != nullptr) {
              if (static_cast<Value*>(cache->Value(h))->key != k) wrong.fetch_add(1);
              cache->Release(h);
            }
            break;
          }
          default:
            cache->Erase(Key(k));
        }
        if (held.size() > 8) {
          for (Cache::Handle* h : held) cache->Release(h);
          held.clear();
        }
      }
      for (Cache::Handle* h : held) cache->Release(h);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(0, wrong.load());
  EXPECT_LE(cache->TotalCharge(), 2000u);
  cache.reset();
  EXPECT_EQ(0, live.load());  // every value freed exactly once
}

}  // namespace
}  // namespace lsmkv
