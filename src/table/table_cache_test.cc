#include "table/table_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/dbformat.h"
#include "table/table_builder.h"
#include "table/table_testutil.h"
#include "util/random.h"

namespace lsmkv {
namespace {

const InternalKeyComparator kCmp(BytewiseComparator());

// An Env serving table files from memory; only what TableCache uses.
class TableFilesEnv final : public EnvWrapper {
 public:
  TableFilesEnv() : EnvWrapper(nullptr) {}

  void AddFile(const std::string& name, std::string contents) {
    std::lock_guard<std::mutex> lock(mutex_);
    files_[name] = std::move(contents);
  }
  Status NewRandomAccessFile(const std::string& name,
                             std::unique_ptr<RandomAccessFile>* result) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = files_.find(name);
    if (it == files_.end()) {
      return Status::IOError(name, "no such file", Status::SubCode::kPathNotFound);
    }
    opens_++;
    *result = std::make_unique<test::StringSource>(it->second, &live_files_);
    return Status::OK();
  }
  int opens() const { return opens_.load(); }
  int live_files() const { return live_files_.load(); }

 private:
  std::mutex mutex_;
  std::map<std::string, std::string> files_;
  std::atomic<int> opens_{0};
  std::atomic<int> live_files_{0};
};

std::string FileName(uint64_t number) { return "db/" + std::to_string(number) + ".sst"; }

// A table whose keys are "<file>-<i>" for i in [0, n).
std::string MakeTable(uint64_t file, int n) {
  TableOptions options;
  options.comparator = &kCmp;
  test::StringSink sink;
  TableBuilder builder(options, &sink);
  for (int i = 0; i < n; i++) {
    std::string k;
    AppendInternalKey(&k, std::to_string(file) + "-" + std::to_string(1000 + i), 1, kTypeValue);
    EXPECT_TRUE(builder.Add(k, "value" + std::to_string(i)).ok());
  }
  EXPECT_TRUE(builder.Finish().ok());
  return sink.contents();
}

class TableCacheTest : public testing::Test {
 protected:
  static constexpr int kFiles = 20;
  static constexpr int kEntries = 50;

  TableCacheTest() {
    options_.comparator = &kCmp;
    for (uint64_t f = 1; f <= kFiles; f++) {
      std::string bytes = MakeTable(f, kEntries);
      sizes_[f] = bytes.size();
      env_.AddFile(FileName(f), std::move(bytes));
    }
  }

  // Looks up key i of file f through the cache (with f's pin, if given);
  // returns the value or "".
  std::string Get(TableCache* cache, uint64_t f, int i, Status* status = nullptr,
                  PinnedTable* pin = nullptr) {
    LookupKey lk(std::to_string(f) + "-" + std::to_string(1000 + i), kMaxSequenceNumber);
    std::string value;
    const uint64_t size = sizes_.count(f) != 0 ? sizes_.at(f) : 1000;
    Status s = cache->Get(
        ReadOptions(), f, size, lk.internal_key(),
        [&](std::string_view k, std::string_view v) {
          if (ExtractUserKey(k) == lk.user_key()) value = v;
        },
        pin);
    if (status != nullptr) *status = s;
    EXPECT_TRUE(status != nullptr || s.ok()) << s.ToString();
    return value;
  }

  TableFilesEnv env_;
  TableOptions options_;
  std::map<uint64_t, uint64_t> sizes_;
};

TEST_F(TableCacheTest, OpensLazilyAndRespectsMaxOpenFiles) {
  TableCache cache(&env_, options_, FileName, 5);
  EXPECT_EQ(0u, cache.OpenTables());
  EXPECT_EQ(0, env_.opens());
  for (uint64_t f = 1; f <= kFiles; f++) {
    EXPECT_EQ("value7", Get(&cache, f, 7));
    EXPECT_LE(cache.OpenTables(), 5u);
    EXPECT_LE(env_.live_files(), 5);
  }
  EXPECT_EQ(5u, cache.OpenTables());
  EXPECT_EQ(kFiles, env_.opens());
  // The five most recent files are open: using them opens nothing.
  for (uint64_t f = kFiles - 4; f <= kFiles; f++) EXPECT_EQ("value3", Get(&cache, f, 3));
  EXPECT_EQ(kFiles, env_.opens());
  // An older one is opened again.
  EXPECT_EQ("value3", Get(&cache, 1, 3));
  EXPECT_EQ(kFiles + 1, env_.opens());
  EXPECT_EQ(5, env_.live_files());
}

TEST_F(TableCacheTest, IteratorKeepsTableOpenAfterEvict) {
  TableCache cache(&env_, options_, FileName, 2);
  std::unique_ptr<Iterator> it(cache.NewIterator(ReadOptions(), 3, sizes_.at(3)));
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  cache.Evict(3);
  EXPECT_EQ(0u, cache.OpenTables());
  EXPECT_EQ(1, env_.live_files());  // still open for the iterator
  // Push more tables through the cache meanwhile.
  for (uint64_t f = 4; f <= 8; f++) EXPECT_EQ("value1", Get(&cache, f, 1));
  int n = 0;
  for (; it->Valid(); it->Next()) {
    EXPECT_EQ("value" + std::to_string(n), it->value());
    n++;
  }
  EXPECT_EQ(kEntries, n);
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(3, env_.live_files());  // the iterator's table + two cached
  it.reset();
  EXPECT_EQ(2, env_.live_files());
  cache.Evict(12345);  // not open: nothing happens
}

// Pins: the first Get with a file's pin keeps its table open for that pin;
// later Gets read it without opening or looking it up (even after Evict);
// at most max_open_files / 2 pins; the pin's destruction closes an evicted
// table and gives the budget back.
TEST_F(TableCacheTest, PinnedTablesStayOpenWithinHalfTheCapacity) {
  TableCache cache(&env_, options_, FileName, 6);
  std::vector<PinnedTable> pins(kFiles + 1);
  for (uint64_t f = 1; f <= 5; f++) {
    EXPECT_EQ("value2", Get(&cache, f, 2, nullptr, &pins[f]));
    EXPECT_EQ(f <= 3, pins[f].pinned()) << f;
  }
  EXPECT_EQ(3u, cache.PinnedTables());
  EXPECT_EQ(5, env_.opens());
  // Push other tables through the LRU: the pinned three stay open, and the
  // LRU keeps its other three slots.
  for (uint64_t f = 6; f <= kFiles; f++) EXPECT_EQ("value4", Get(&cache, f, 4));
  EXPECT_EQ(6u, cache.OpenTables());
  EXPECT_EQ(6, env_.live_files());
  const int opens = env_.opens();
  for (uint64_t f = 1; f <= 3; f++) {
    for (int i = 0; i < kEntries; i++) {
      EXPECT_EQ("value" + std::to_string(i), Get(&cache, f, i, nullptr, &pins[f]));
    }
  }
  EXPECT_EQ(opens, env_.opens());  // read through the pins
  // An evicted pinned table stays readable through its pin, and closes
  // with it.
  cache.Evict(2);
  EXPECT_EQ(5u, cache.OpenTables());
  EXPECT_EQ(6, env_.live_files());
  EXPECT_EQ("value9", Get(&cache, 2, 9, nullptr, &pins[2]));
  EXPECT_EQ(opens, env_.opens());
  pins[2] = PinnedTable();  // assignment keeps the pin (a pin belongs to one object)
  EXPECT_TRUE(pins[2].pinned());
  PinnedTable copy(pins[1]);
  EXPECT_FALSE(copy.pinned());  // copies start empty
  pins.clear();
  EXPECT_EQ(0u, cache.PinnedTables());
  EXPECT_EQ(5, env_.live_files());  // table 2 closed with its pin
  // The budget is free again.
  PinnedTable again;
  EXPECT_EQ("value1", Get(&cache, 7, 1, nullptr, &again));
  EXPECT_TRUE(again.pinned());
  EXPECT_EQ(1u, cache.PinnedTables());
}

// Readers race to pin the same files: one pin per file, every read right,
// and every pin released when its owner dies.
TEST_F(TableCacheTest, ConcurrentPinsOfOneFile) {
  TableCache cache(&env_, options_, FileName, 100);
  {
    std::vector<PinnedTable> pins(kFiles + 1);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
      threads.emplace_back([&, t] {
        Random rnd(static_cast<uint32_t>(301 + t));
        for (int i = 0; i < 3000; i++) {
          const uint64_t f = 1 + rnd.Uniform(kFiles);
          const int k = static_cast<int>(rnd.Uniform(kEntries));
          Status s;
          if (Get(&cache, f, k, &s, &pins[f]) != "value" + std::to_string(k) || !s.ok()) wrong++;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(0, wrong.load());
    EXPECT_EQ(static_cast<size_t>(kFiles), cache.PinnedTables());
    EXPECT_EQ(static_cast<size_t>(kFiles), cache.OpenTables());
  }
  EXPECT_EQ(0u, cache.PinnedTables());
  EXPECT_EQ(static_cast<size_t>(kFiles), cache.OpenTables());  // cached, unpinned
}

TEST_F(TableCacheTest, OpenErrorsReachTheCaller) {
  TableCache cache(&env_, options_, FileName, 4);
  std::unique_ptr<Iterator> it(cache.NewIterator(ReadOptions(), 999, 1000));
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsIOError()) << it->status().ToString();
  Status s;
  Get(&cache, 999, 1, &s);
  EXPECT_TRUE(s.IsIOError());
  // A wrong size makes the table unreadable: Corruption naming the file.
  it.reset(cache.NewIterator(ReadOptions(), 1, sizes_.at(1) - 1));
  EXPECT_TRUE(it->status().IsCorruption());
  EXPECT_NE(std::string::npos, it->status().ToString().find(FileName(1)));
  EXPECT_EQ(0u, cache.OpenTables());
  // Failures are not remembered.
  it.reset(cache.NewIterator(ReadOptions(), 1, sizes_.at(1)));
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(1u, cache.OpenTables());
}

TEST_F(TableCacheTest, ConcurrentReaders) {
  // A small shared block cache, so that blocks are inserted, hit and evicted
  // concurrently too.
  std::unique_ptr<Cache> block_cache = NewLRUCache(16 * 1024);
  TableCounters counters;
  TableOptions options = options_;
  options.block_cache = block_cache.get();
  options.counters = &counters;
  TableCache cache(&env_, options, FileName, 6);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      Random rnd(static_cast<uint64_t>(t) + 10);
      for (int i = 0; i < 2000; i++) {
        const uint64_t f = 1 + rnd.Uniform(kFiles);
        const int k = static_cast<int>(rnd.Uniform(kEntries));
        if (rnd.OneIn(10)) {
          std::unique_ptr<Iterator> it(cache.NewIterator(ReadOptions(), f, sizes_.at(f)));
          it->SeekToLast();
          if (!it->Valid() || it->value() != "value" + std::to_string(kEntries - 1)) wrong++;
        } else if (rnd.OneIn(20)) {
          cache.Evict(f);
        } else {
          LookupKey lk(std::to_string(f) + "-" + std::to_string(1000 + k), kMaxSequenceNumber);
          std::string value;
          Status s = cache.Get(ReadOptions(), f, sizes_.at(f), lk.internal_key(),
                               [&](std::string_view, std::string_view v) { value = v; });
          if (!s.ok() || value != "value" + std::to_string(k)) wrong++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(0, wrong.load());
  EXPECT_LE(cache.OpenTables(), 6u);
  EXPECT_LE(env_.live_files(), 6);
  EXPECT_GT(counters.block_cache_hits.load(), 0u);
  EXPECT_GT(counters.block_cache_misses.load(), 0u);
  EXPECT_LE(block_cache->TotalCharge(), 16u * 1024);
}

}  // namespace
}  // namespace lsmkv
