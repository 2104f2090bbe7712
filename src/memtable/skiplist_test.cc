#include "memtable/skiplist.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "memtable/arena.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

using Key = uint64_t;

struct KeyComparator {
  int operator()(const Key& a, const Key& b) const { return a < b ? -1 : (a > b ? 1 : 0); }
};

using List = SkipList<Key, KeyComparator>;

// Inserts random distinct keys below range, multiples of step, into list and
// model until model holds count keys.
// A list filled by a test and the set it must match, seeded from the test
// seed, which failures report.
struct SeededList {
  SeededList()
      : seed(test::TestSeed()),
        trace(__FILE__, __LINE__, testing::Message() << "seed " << seed),
        rnd(seed),
        list(KeyComparator(), &arena, seed) {}
  const uint32_t seed;
  const testing::ScopedTrace trace;
  Random rnd;
  Arena arena;
  List list;
  std::set<Key> model;
};

void InsertRandomKeys(List* list, std::set<Key>* model, Random* rnd, size_t count, Key range,
                      Key step = 1) {
  while (model->size() < count) {
    const Key k = step * rnd->Uniform(static_cast<uint32_t>(range / step));
    if (model->insert(k).second) list->Insert(k);
  }
}

// A forward scan of list from its first key yields exactly model's keys.
template <typename ListType>
void ExpectScanMatches(typename ListType::Iterator* iter, const std::set<Key>& model) {
  iter->SeekToFirst();
  for (Key expected : model) {
    ASSERT_TRUE(iter->Valid());
    ASSERT_EQ(iter->key(), expected);
    iter->Next();
  }
  EXPECT_FALSE(iter->Valid());
}

TEST(SkipListTest, Empty) {
  Arena arena;
  List list(KeyComparator(), &arena);
  EXPECT_FALSE(list.Contains(10));

  List::Iterator iter(&list);
  EXPECT_FALSE(iter.Valid());
  iter.SeekToFirst();
  EXPECT_FALSE(iter.Valid());
  iter.Seek(100);
  EXPECT_FALSE(iter.Valid());
  iter.SeekToLast();
  EXPECT_FALSE(iter.Valid());
}

// Keys written into the bytes reserved after their node (the memtable's
// way of inserting): same order and membership as plain inserts, and every
// key's bytes stay where they were written.
struct CStringComparator {
  int operator()(const char* a, const char* b) const {
    if (a == nullptr || b == nullptr) return a == b ? 0 : (a == nullptr ? -1 : 1);
    return std::strcmp(a, b);
  }
};

TEST(SkipListTest, ReservedInsertKeepsKeysBesideTheirNodes) {
  Arena arena;
  SkipList<const char*, CStringComparator> list(CStringComparator(), &arena);
  Random rnd(test::TestSeed(301));
  std::set<std::string> model;
  std::vector<std::pair<const char*, std::string>> written;
  for (int i = 0; i < 5000; i++) {
    const std::string key = "k" + std::to_string(rnd.Uniform(100000));
    if (!model.insert(key).second) continue;
    auto r = list.Reserve(key.size() + 1);
    std::memcpy(r.payload, key.c_str(), key.size() + 1);
    list.Insert(r, r.payload);
    written.emplace_back(r.payload, key);
  }
  for (const auto& [where, key] : written) {
    ASSERT_EQ(key, std::string(where));  // no later allocation overwrote it
    ASSERT_TRUE(list.Contains(key.c_str()));
  }
  EXPECT_FALSE(list.Contains("absent"));
  SkipList<const char*, CStringComparator>::Iterator iter(&list);
  iter.SeekToFirst();
  for (const std::string& key : model) {
    ASSERT_TRUE(iter.Valid());
    ASSERT_EQ(key, std::string(iter.key()));
    iter.Next();
  }
  EXPECT_FALSE(iter.Valid());
}

TEST(SkipListTest, SingleKey) {
  Arena arena;
  List list(KeyComparator(), &arena);
  list.Insert(7);
  EXPECT_TRUE(list.Contains(7));
  EXPECT_FALSE(list.Contains(6));
  EXPECT_FALSE(list.Contains(8));

  List::Iterator iter(&list);
  iter.SeekToLast();
  ASSERT_TRUE(iter.Valid());
  EXPECT_EQ(iter.key(), 7u);
  iter.Prev();
  EXPECT_FALSE(iter.Valid());
  iter.Seek(7);
  ASSERT_TRUE(iter.Valid());
  iter.Next();
  EXPECT_FALSE(iter.Valid());
  iter.Seek(8);
  EXPECT_FALSE(iter.Valid());
}

TEST(SkipListTest, RandomInsertMatchesSet) {
  constexpr int kInserts = 3000;
  constexpr Key kRange = 6000;
  SeededList s;
  for (int i = 0; i < kInserts; i++) {
    const Key k = s.rnd.Uniform(kRange);
    if (s.model.insert(k).second) s.list.Insert(k);
  }

  for (Key k = 0; k < kRange; k++) {
    ASSERT_EQ(s.list.Contains(k), s.model.count(k) == 1) << k;
  }

  // Forward.
  {
    List::Iterator iter(&s.list);
    iter.SeekToFirst();
    for (Key expected : s.model) {
      ASSERT_TRUE(iter.Valid());
      ASSERT_EQ(iter.key(), expected);
      iter.Next();
    }
    EXPECT_FALSE(iter.Valid());
  }
  // Backward.
  {
    List::Iterator iter(&s.list);
    iter.SeekToLast();
    for (auto it = s.model.rbegin(); it != s.model.rend(); ++it) {
      ASSERT_TRUE(iter.Valid());
      ASSERT_EQ(iter.key(), *it);
      iter.Prev();
    }
    EXPECT_FALSE(iter.Valid());
  }
  // Seek to every target, then step both ways.
  for (Key target = 0; target <= kRange; target++) {
    List::Iterator iter(&s.list);
    iter.Seek(target);
    auto it = s.model.lower_bound(target);
    if (it == s.model.end()) {
      ASSERT_FALSE(iter.Valid()) << target;
      continue;
    }
    ASSERT_TRUE(iter.Valid()) << target;
    ASSERT_EQ(iter.key(), *it);

    List::Iterator forward = iter;
    forward.Next();
    auto next = std::next(it);
    ASSERT_EQ(forward.Valid(), next != s.model.end());
    if (next != s.model.end()) {
      ASSERT_EQ(forward.key(), *next);
    }

    iter.Prev();
    if (it == s.model.begin()) {
      ASSERT_FALSE(iter.Valid()) << target;
    } else {
      ASSERT_TRUE(iter.Valid()) << target;
      ASSERT_EQ(iter.key(), *std::prev(it));
    }
  }
}

// Long scans run with walkers ahead of the cursor (Iterator::Next): what they
// return must be exactly what a plain walk returns, from any start, across
// repositionings (Seek, Prev, SeekToFirst/Last) in the middle of a scan, and
// while keys are inserted ahead of and behind the cursor.
TEST(SkipListTest, LongScansMatchTheSet) {
  SeededList s;
  constexpr Key kRange = 1'000'000;
  InsertRandomKeys(&s.list, &s.model, &s.rnd, 20000, kRange);
  // From random targets, forward for up to 600 steps (well past the steps
  // after which the walkers start), then a repositioning, then more steps.
  for (int round = 0; round < 300; round++) {
    List::Iterator iter(&s.list);
    const Key target = s.rnd.Uniform(kRange);
    iter.Seek(target);
    auto it = s.model.lower_bound(target);
    const int steps = static_cast<int>(s.rnd.Uniform(600));
    for (int i = 0; i < steps && it != s.model.end(); i++, ++it) {
      ASSERT_TRUE(iter.Valid());
      ASSERT_EQ(iter.key(), *it);
      iter.Next();
    }
    ASSERT_EQ(iter.Valid(), it != s.model.end());
    if (it == s.model.end()) continue;
    ASSERT_EQ(iter.key(), *it);
    switch (s.rnd.Uniform(4)) {
      case 0:
        iter.Prev();
        if (it == s.model.begin()) {
          ASSERT_FALSE(iter.Valid());
          continue;
        }
        --it;
        break;
      case 1: {
        const Key again = s.rnd.Uniform(kRange);
        iter.Seek(again);
        it = s.model.lower_bound(again);
        break;
      }
      case 2:
        iter.SeekToFirst();
        it = s.model.begin();
        break;
      default:
        break;  // keep going
    }
    for (int i = 0; i < 200 && it != s.model.end(); i++, ++it) {
      ASSERT_TRUE(iter.Valid());
      ASSERT_EQ(iter.key(), *it);
      iter.Next();
    }
    ASSERT_EQ(iter.Valid(), it != s.model.end());
  }
  // A whole scan while keys are inserted on both sides of the cursor: every
  // key present when the scan started and every key inserted after the
  // cursor's key is returned, in order; keys inserted behind it are not.
  std::vector<Key> expected(s.model.begin(), s.model.end());
  std::set<Key> seen_expected(s.model.begin(), s.model.end());
  List::Iterator iter(&s.list);
  iter.SeekToFirst();
  std::vector<Key> got;
  bool walked = false;  // the walkers ran during this scan
  while (iter.Valid()) {
    walked |= iter.scanning();
    const Key at = iter.key();
    got.push_back(at);
    for (int j = 0; j < 2; j++) {
      const Key k = s.rnd.Uniform(kRange);
      if (!s.model.insert(k).second) continue;
      s.list.Insert(k);
      if (k > at) seen_expected.insert(k);
    }
    iter.Next();
  }
  EXPECT_EQ(got, std::vector<Key>(seen_expected.begin(), seen_expected.end()));
  EXPECT_GT(seen_expected.size(), expected.size());
  EXPECT_TRUE(walked);
  // A repositioning stops them; SeekToLast and JumpTo too.
  iter.SeekToFirst();
  for (int i = 0; i < 100; i++) iter.Next();
  EXPECT_TRUE(iter.scanning());
  iter.SeekToLast();
  EXPECT_FALSE(iter.scanning());
  ASSERT_TRUE(iter.Valid());
  EXPECT_EQ(iter.key(), *s.model.rbegin());
}

// Backward scans take the nodes of a level-1 stretch from one search
// (Iterator::Prev): what they return must be exactly the set's order, from
// any start, for stretches of any length (heights are random), across
// changes of direction and repositionings, and with keys inserted just
// before the cursor meanwhile (a key inserted after the iterator was
// positioned may be returned or skipped; every other key must be returned).
TEST(SkipListTest, BackwardScansMatchTheSet) {
  SeededList s;
  constexpr Key kRange = 1'000'000;
  // Even keys: odd ones are inserted below, during the scans.
  InsertRandomKeys(&s.list, &s.model, &s.rnd, 20000, kRange, 2);
  int skipped = 0, returned = 0;
  for (int round = 0; round < 300; round++) {
    List::Iterator iter(&s.list);
    const Key target = s.rnd.Uniform(kRange);
    iter.Seek(target);
    auto it = s.model.lower_bound(target);
    std::set<Key> fresh;  // inserted since this round's Seek
    const int steps = static_cast<int>(s.rnd.Uniform(600));
    for (int i = 0; i < steps && it != s.model.end(); i++) {
      ASSERT_TRUE(iter.Valid());
      ASSERT_EQ(iter.key(), *it);
      if (s.rnd.OneIn(20)) {  // a step forward, then on backwards
        iter.Next();
        ++it;
        continue;
      }
      if (s.rnd.OneIn(10) && *it % 2 == 0 && *it > 0 && s.model.insert(*it - 1).second) {
        s.list.Insert(*it - 1);  // odd: just before the cursor
        fresh.insert(*it - 1);
      }
      const bool first = it == s.model.begin();
      iter.Prev();
      if (first) {
        ASSERT_FALSE(iter.Valid());
        break;
      }
      // The set's predecessor, past fresh keys the iterator did not return.
      while (it != s.model.begin()) {
        --it;
        if (fresh.count(*it) == 0) break;
        if (iter.Valid() && iter.key() == *it) {
          returned++;
          break;
        }
        skipped++;
      }
      if (it == s.model.begin() && !(iter.Valid() && iter.key() == *it)) {
        ASSERT_FALSE(iter.Valid());
        it = s.model.end();
      }
    }
  }
  EXPECT_GT(skipped + returned, 0) << "no key was inserted during a scan";
  // Whole backward scans: every key, in order.
  List::Iterator iter(&s.list);
  iter.SeekToLast();
  for (auto it = s.model.rbegin(); it != s.model.rend(); ++it) {
    ASSERT_TRUE(iter.Valid());
    ASSERT_EQ(iter.key(), *it);
    iter.Prev();
  }
  EXPECT_FALSE(iter.Valid());
}

TEST(SkipListTest, DescendingInsertions) {
  // Insertion in decreasing order exercises the head's links at every level.
  Arena arena;
  List list(KeyComparator(), &arena, 42);
  for (Key k = 2000; k > 0; k--) list.Insert(k * 2);
  List::Iterator iter(&list);
  Key expected = 2;
  for (iter.SeekToFirst(); iter.Valid(); iter.Next()) {
    ASSERT_EQ(iter.key(), expected);
    expected += 2;
  }
  EXPECT_EQ(expected, 4002u);
  EXPECT_FALSE(list.Contains(3));
  EXPECT_TRUE(list.Contains(4000));
}

// Runs of consecutive keys (which reuse the previous insert's splice) mixed
// with jumps backwards and forwards and with keys landing right after the
// previous one inside already-filled stretches: the list must match a
// std::set at every level (Seek and Contains search from the top level).
TEST(SkipListTest, SpliceReuseMatchesSet) {
  SeededList s;
  constexpr Key kRange = 200000;
  Key k = s.rnd.Uniform(kRange);
  for (int i = 0; i < 20000; i++) {
    switch (s.rnd.Uniform(4)) {
      case 0:
        k = s.rnd.Uniform(kRange);  // a jump anywhere
        break;
      case 1:
        k = k + 1 + s.rnd.Uniform(3);  // right after, or a little past, the previous key
        break;
      default:
        k = k + 1;  // the next key
        break;
    }
    if (s.model.insert(k).second) s.list.Insert(k);
  }
  List::Iterator iter(&s.list);
  ExpectScanMatches<List>(&iter, s.model);
  for (int i = 0; i < 20000; i++) {
    const Key target = s.rnd.Uniform(kRange + 10);
    auto it = s.model.lower_bound(target);
    iter.Seek(target);
    ASSERT_EQ(iter.Valid(), it != s.model.end()) << target;
    if (it != s.model.end()) {
      ASSERT_EQ(iter.key(), *it) << target;
    }
    ASSERT_EQ(s.list.Contains(target), s.model.count(target) == 1) << target;
  }
}

// A comparator that counts its calls in *count.
struct CountingComparator {
  int* count;
  int operator()(const Key& a, const Key& b) const {
    ++*count;
    return a < b ? -1 : (a > b ? 1 : 0);
  }
};

// Ascending inserts cost two comparisons each (the splice check), not a
// descent through the levels.
TEST(SkipListTest, AscendingInsertsReuseTheSplice) {
  int compares = 0;
  Arena arena;
  SkipList<Key, CountingComparator> list(CountingComparator{&compares}, &arena, 7);
  constexpr int kKeys = 100000;
  for (Key k = 1; k <= kKeys; k++) list.Insert(k);
  EXPECT_LE(compares, 2 * kKeys);
  for (Key k = 0; k <= kKeys + 1; k++) ASSERT_EQ(list.Contains(k), k >= 1 && k <= kKeys) << k;
  // A random order still searches (and stays correct).
  compares = 0;
  Arena arena2;
  SkipList<Key, CountingComparator> shuffled(CountingComparator{&compares}, &arena2, 7);
  Random rnd(99);
  std::vector<Key> keys(kKeys);
  for (int i = 0; i < kKeys; i++) keys[static_cast<size_t>(i)] = static_cast<Key>(i);
  for (size_t i = keys.size(); i > 1; i--)
    std::swap(keys[i - 1], keys[rnd.Uniform(static_cast<uint32_t>(i))]);
  for (Key key : keys) shuffled.Insert(key);
  EXPECT_GT(compares, 4 * kKeys);
  for (Key key = 0; key < kKeys; key++) ASSERT_TRUE(shuffled.Contains(key)) << key;
}

// Ascending passes over keys that already have neighbours in the list (as a
// delete or a newer version of each key lands just past the previous key's
// older entry) step a node or two past the previous insert instead of
// searching; the list still matches a std::set, at every level.
TEST(SkipListTest, OrderedInsertsBetweenExistingKeysStepInsteadOfSearching) {
  int compares = 0;
  Arena arena;
  SkipList<Key, CountingComparator> list(CountingComparator{&compares}, &arena, 11);
  std::set<Key> model;
  constexpr Key kKeys = 30000;  // per residue class
  auto pass = [&](Key residue) {
    compares = 0;
    for (Key k = residue; k < 3 * kKeys; k += 3) {
      list.Insert(k);
      model.insert(k);
    }
    return compares;
  };
  // Comparisons per insert, DCHECKs included: a search through these 60,000
  // to 90,000 keys takes over 20.
  EXPECT_LE(pass(0), 3 * kKeys);  // 0, 3, 6...: right after the previous insert
  EXPECT_LE(pass(1), 6 * kKeys);  // 1, 4, 7...: one node (the next multiple of 3) past it
  EXPECT_LE(pass(2), 8 * kKeys);  // 2, 5, 8...: two nodes past it
  SkipList<Key, CountingComparator>::Iterator iter(&list);
  ExpectScanMatches<SkipList<Key, CountingComparator>>(&iter, model);
  for (Key k = 0; k < 3 * kKeys + 2; k += 7) {
    iter.Seek(k);
    ASSERT_TRUE(iter.Valid() || k >= 3 * kKeys);
    if (iter.Valid()) {
      ASSERT_EQ(iter.key(), k) << k;
    }
    ASSERT_EQ(list.Contains(k), k < 3 * kKeys) << k;
  }
  // Three steps past the previous insert is a search, and the list stays right.
  compares = 0;
  for (Key k = 3 * kKeys + 100; k < 3 * kKeys + 100 + 4 * 1000; k += 4) list.Insert(k);
  for (Key k = 3 * kKeys + 101; k < 3 * kKeys + 100 + 4 * 1000; k += 4) list.Insert(k);
  for (Key k = 3 * kKeys + 100; k < 3 * kKeys + 100 + 4 * 1000; k++) {
    ASSERT_EQ(list.Contains(k), k % 4 == (3 * kKeys + 100) % 4 || k % 4 == (3 * kKeys + 101) % 4)
        << k;
  }
}

// One writer inserts a known sequence of keys while readers walk the list.
// keys[0, published) are known to be inserted; each reader checks that what
// it sees is strictly sorted, holds only keys that were ever to be inserted,
// and holds every key published before its walk began.
class ConcurrentFixture {
 public:
  static constexpr int kKeys = 10000;
  static constexpr int kReaders = 4;
  static constexpr int kChunk = 250;

  explicit ConcurrentFixture(uint32_t seed) : list_(KeyComparator(), &arena_, seed) {
    Random rnd(seed);
    std::set<Key> unique;
    while (static_cast<int>(order_.size()) < kKeys) {
      // Odd keys only, so that even probes are never present.
      const Key k = 2 * static_cast<Key>(rnd.Uniform(1u << 30)) + 1;
      if (unique.insert(k).second) order_.push_back(k);
    }
    all_sorted_.assign(unique.begin(), unique.end());
  }

  // Every kChunk keys the writer waits until some reader has finished a walk
  // that began after the chunk was published, so that readers are sure to
  // check many intermediate states and not just the final one.
  void Writer() {
    for (int i = 0; i < kKeys; i++) {
      list_.Insert(order_[i]);
      published_.store(i + 1, std::memory_order_release);
      if ((i + 1) % kChunk == 0) {
        while (checked_.load(std::memory_order_acquire) < i + 1 && !testing::Test::HasFailure()) {
          std::this_thread::yield();
        }
      }
    }
  }

  int CheckedStates() const { return checked_states_.load(); }

  // Returns the number of full walks made.
  int Reader(uint32_t seed) {
    Random rnd(seed);
    int walks = 0;
    std::vector<Key> seen;
    bool last_round = false;
    while (!last_round) {
      last_round = published_.load(std::memory_order_acquire) == kKeys;
      const int known = published_.load(std::memory_order_acquire);
      if (rnd.OneIn(2)) {
        WalkForward(known, &seen);
      } else {
        WalkBackward(known, &seen);
      }
      CheckSeeks(known, &rnd);
      walks++;
      if (known < kKeys) checked_states_.fetch_add(1);
      // Record that the state `known` has been verified.
      int prev = checked_.load(std::memory_order_relaxed);
      while (prev < known && !checked_.compare_exchange_weak(prev, known, std::memory_order_release,
                                                             std::memory_order_relaxed)) {
      }
      if (testing::Test::HasFailure()) break;
    }
    return walks;
  }

 private:
  bool EverInserted(Key k) const {
    return std::binary_search(all_sorted_.begin(), all_sorted_.end(), k);
  }

  void CheckContainsKnown(int known, const std::vector<Key>& seen_sorted) {
    ASSERT_GE(seen_sorted.size(), static_cast<size_t>(known));
    for (int i = 0; i < known; i++) {
      ASSERT_TRUE(std::binary_search(seen_sorted.begin(), seen_sorted.end(), order_[i]))
          << "published key " << order_[i] << " (#" << i << ") missing";
    }
  }

  void WalkForward(int known, std::vector<Key>* seen) {
    seen->clear();
    List::Iterator iter(&list_);
    for (iter.SeekToFirst(); iter.Valid(); iter.Next()) {
      const Key k = iter.key();
      ASSERT_TRUE(seen->empty() || seen->back() < k) << "not sorted at " << k;
      ASSERT_TRUE(EverInserted(k)) << k;
      seen->push_back(k);
    }
    CheckContainsKnown(known, *seen);
  }

  void WalkBackward(int known, std::vector<Key>* seen) {
    seen->clear();
    List::Iterator iter(&list_);
    for (iter.SeekToLast(); iter.Valid(); iter.Prev()) {
      const Key k = iter.key();
      ASSERT_TRUE(seen->empty() || seen->back() > k) << "not sorted at " << k;
      ASSERT_TRUE(EverInserted(k)) << k;
      seen->push_back(k);
    }
    std::reverse(seen->begin(), seen->end());
    CheckContainsKnown(known, *seen);
  }

  // A Seek must not skip a published key, and Contains must find them all.
  void CheckSeeks(int known, Random* rnd) {
    for (int probe = 0; probe < 50 && known > 0; probe++) {
      const Key present = order_[rnd->Uniform(static_cast<uint32_t>(known))];
      ASSERT_TRUE(list_.Contains(present)) << present;
      ASSERT_FALSE(list_.Contains(present + 1));  // even: never inserted

      const Key back = rnd->Uniform(1000);
      const Key target = present >= back ? present - back : 0;
      List::Iterator iter(&list_);
      iter.Seek(target);
      ASSERT_TRUE(iter.Valid());
      const Key found = iter.key();
      ASSERT_GE(found, target);
      ASSERT_LE(found, present);  // present is published, so nothing beyond it
    }
  }

  Arena arena_;
  List list_;
  std::vector<Key> order_;       // insertion order, fixed before threads start
  std::vector<Key> all_sorted_;  // the same keys, sorted
  std::atomic<int> published_{0};
  std::atomic<int> checked_{0};         // the largest `known` a reader has verified
  std::atomic<int> checked_states_{0};  // walks made before the writer finished
};

TEST(SkipListTest, ConcurrentReadersSeeSortedSupersetOfPublished) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  ConcurrentFixture fixture(seed);
  std::vector<int> walks(ConcurrentFixture::kReaders, 0);
  std::vector<std::thread> readers;
  for (int r = 0; r < ConcurrentFixture::kReaders; r++) {
    readers.emplace_back([&fixture, &walks, r, seed] { walks[r] = fixture.Reader(seed + 1 + r); });
  }
  std::thread writer([&fixture] { fixture.Writer(); });
  writer.join();
  for (auto& t : readers) t.join();
  for (int r = 0; r < ConcurrentFixture::kReaders; r++) EXPECT_GE(walks[r], 1);
  EXPECT_GE(fixture.CheckedStates(), ConcurrentFixture::kKeys / ConcurrentFixture::kChunk - 1);
}

}  // namespace
}  // namespace lsmkv
