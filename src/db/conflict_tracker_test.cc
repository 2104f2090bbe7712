// ConflictTracker against a model that keeps every write: random
// registrations, writes and prunes, with the bytewise comparator (the hashed
// table) and with a user comparator that calls keys with different bytes
// equal (the ordered map). After every step, for every registered start and
// for every key ever written, the tracker must answer as the model does.
#include "db/conflict_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "util/random.h"

namespace lsmkv {
namespace {

// Orders keys ignoring ASCII case: "Ab" and "aB" are the same key.
class CaseInsensitiveComparator final : public Comparator {
 public:
  int Compare(std::string_view a, std::string_view b) const override {
    const size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; i++) {
      const int x = std::tolower(static_cast<unsigned char>(a[i]));
      const int y = std::tolower(static_cast<unsigned char>(b[i]));
      if (x != y) return x < y ? -1 : 1;
    }
    return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
  }
  const char* Name() const override { return "test.CaseInsensitive"; }
  void FindShortestSeparator(std::string*, std::string_view) const override {}
  void FindShortSuccessor(std::string*) const override {}
};

std::string Canonical(const Comparator* ucmp, std::string key) {
  if (ucmp != BytewiseComparator()) {
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return key;
}

struct Write {
  std::string key;
  SequenceNumber sequence;
};

// Runs steps random operations against tracker and the model.
void RunModel(const Comparator* ucmp, uint32_t seed, int steps, size_t key_space) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  ConflictTracker tracker(ucmp);
  const ComparatorLess less(ucmp);
  Random rnd(seed);
  std::vector<Write> writes;  // the model: every write ever recorded
  struct Running {
    SequenceNumber start;
    ConflictTracker::Handle handle;
    std::unique_ptr<std::atomic<bool>> expired;
  };
  std::list<Running> running;
  SequenceNumber sequence = 0;
  std::set<std::string> written;                 // every key ever written, as written
  std::map<std::string, SequenceNumber> latest;  // canonical key -> its latest write
  auto random_key = [&] {
    // Mixed case, and now and then a long key (past a chunk's spare room)
    // or the empty key.
    if (rnd.OneIn(50)) return std::string();
    std::string key = "k" + std::to_string(rnd.Uniform(static_cast<uint32_t>(key_space)));
    if (rnd.OneIn(3)) key[0] = 'K';
    if (rnd.OneIn(500)) key.append(70000, 'x');
    return key;
  };

  for (int step = 0; step < steps; step++) {
    const uint32_t op = rnd.Uniform(100);
    if (op < 15 || running.empty()) {
      running.push_back(Running{sequence, {}, std::make_unique<std::atomic<bool>>(false)});
      running.back().handle = tracker.Register(sequence, 0, running.back().expired.get());
    } else if (op < 30) {
      auto it = running.begin();
      std::advance(it, rnd.Uniform(static_cast<uint32_t>(running.size())));
      tracker.Unregister(it->handle);
      running.erase(it);
    } else {
      // A write group of 1-4 writes while someone is registered (the DB
      // records nothing otherwise).
      const int n = 1 + static_cast<int>(rnd.Uniform(4));
      for (int i = 0; i < n; i++) {
        const std::string key = random_key();
        tracker.Record(key, ++sequence);
        writes.push_back({key, sequence});
        written.insert(key);
        latest[Canonical(ucmp, key)] = sequence;
      }
    }

    // What the tracker must know: for every registered start S and every
    // key, whether the key was written after S — and nothing older than the
    // oldest start may be held.
    SequenceNumber oldest = kMaxSequenceNumber;
    for (const Running& r : running) oldest = std::min(oldest, r.start);
    if (running.empty()) {
      ASSERT_EQ(0u, tracker.tracked_keys());
      ASSERT_EQ(0u, tracker.ApproximateMemory());
      continue;
    }
    size_t held = 0;
    for (const auto& [key, s] : latest) held += s > oldest ? 1 : 0;
    ASSERT_EQ(held, tracker.tracked_keys()) << "step " << step;
    if (step % 10 != 0) continue;  // the full cross-check below is slower
    for (const std::string& key : written) {
      const SequenceNumber expect = latest[Canonical(ucmp, key)];
      const SequenceNumber got = tracker.LastWrite(key);
      if (expect > oldest) {
        ASSERT_EQ(expect, got) << "key " << key.substr(0, 20) << " step " << step;
      } else {
        ASSERT_EQ(0u, got) << "key " << key.substr(0, 20) << " step " << step;
      }
    }
    // Ranges: [lo, hi) from two random keys, checked from every start.
    KeyRange range;
    std::string a = random_key(), b = random_key();
    if (less(b, a)) std::swap(a, b);
    if (!rnd.OneIn(5)) range.lo = a;
    if (!rnd.OneIn(5)) range.hi = b;
    range.hi_inclusive = rnd.OneIn(2);
    for (const Running& r : running) {
      bool expect = false;
      for (const Write& w : writes) {
        if (w.sequence > r.start && range.Contains(w.key, less)) expect = true;
      }
      std::string found;
      ASSERT_EQ(expect, tracker.WrittenInRangeAfter(range, r.start, &found))
          << "step " << step << " start " << r.start;
      if (expect) {
        EXPECT_TRUE(range.Contains(found, less));
        EXPECT_GT(tracker.LastWrite(found), r.start);
      }
    }
  }
}

TEST(ConflictTrackerTest, HashedKeysMatchTheModel) {
  for (uint32_t seed = 1; seed <= 6; seed++) RunModel(BytewiseComparator(), seed, 2000, 200);
}

TEST(ConflictTrackerTest, HashedKeysMatchTheModelWithFewKeys) {
  // Few keys: long probe runs of the same keys written again and again.
  for (uint32_t seed = 11; seed <= 14; seed++) RunModel(BytewiseComparator(), seed, 2000, 8);
}

TEST(ConflictTrackerTest, ComparatorEqualKeysMatchTheModel) {
  const CaseInsensitiveComparator cmp;
  for (uint32_t seed = 21; seed <= 24; seed++) RunModel(&cmp, seed, 1500, 60);
}

// Keys equal under a user comparator are one key: a write of "Key" conflicts
// with a read of "kEY". Under the bytewise comparator they are two keys.
TEST(ConflictTrackerTest, EqualityFollowsTheComparator) {
  const CaseInsensitiveComparator cmp;
  std::atomic<bool> expired{false};
  ConflictTracker folded(&cmp);
  folded.Register(0, 0, &expired);
  folded.Record("Key", 5);
  EXPECT_EQ(5u, folded.LastWrite("kEY"));
  EXPECT_EQ(1u, folded.tracked_keys());

  ConflictTracker bytewise;
  bytewise.Register(0, 0, &expired);
  bytewise.Record("Key", 5);
  EXPECT_EQ(0u, bytewise.LastWrite("kEY"));
  EXPECT_EQ(5u, bytewise.LastWrite("Key"));
}

// Orders keys as if leading '0's were absent: "1", "01" and "001" are one key
// of three lengths.
class LeadingZerosComparator final : public Comparator {
 public:
  int Compare(std::string_view a, std::string_view b) const override {
    while (!a.empty() && a.front() == '0') a.remove_prefix(1);
    while (!b.empty() && b.front() == '0') b.remove_prefix(1);
    return a.compare(b);
  }
  const char* Name() const override { return "test.LeadingZeros"; }
  void FindShortestSeparator(std::string*, std::string_view) const override {}
  void FindShortSuccessor(std::string*) const override {}
};

// One key written under spellings of different lengths: what its tracking
// costs is given back exactly when it is pruned (an accounting that used the
// pruned write's spelling wrapped below zero and expired every transaction).
TEST(ConflictTrackerTest, KeysOfDifferentLengthsThatCompareEqualAreAccountedExactly) {
  const LeadingZerosComparator cmp;
  ConflictTracker tracker(&cmp);
  std::atomic<bool> e0{false}, e1{false};
  auto t0 = tracker.Register(0, 0, &e0);
  tracker.Record("1", 1);
  tracker.Record("01", 2);
  EXPECT_EQ(1u, tracker.tracked_keys());
  EXPECT_EQ(2u, tracker.LastWrite("001"));
  auto t1 = tracker.Register(2, 0, &e1);
  tracker.Unregister(t0);  // prunes both writes: nothing is after t1's start
  EXPECT_EQ(0u, tracker.tracked_keys());
  EXPECT_EQ(0u, tracker.ApproximateMemory());
  EXPECT_EQ(0u, tracker.ExpireOldestOver(1 << 20));
  EXPECT_FALSE(e1.load());
  tracker.Unregister(t1);
}

// Rewrites of one key count: the cap on the tracker's bytes bounds what a
// transaction left open pins however few distinct keys are written.
TEST(ConflictTrackerTest, EveryWriteCountsTowardsTheCap) {
  ConflictTracker tracker;
  std::atomic<bool> expired{false};
  tracker.Register(0, 0, &expired);
  const std::string key(100, 'c');
  for (SequenceNumber s = 1; s <= 10000; s++) tracker.Record(key, s);
  EXPECT_EQ(1u, tracker.tracked_keys());
  EXPECT_GE(tracker.ApproximateMemory(), 10000u * key.size());
  EXPECT_EQ(1u, tracker.ExpireOldestOver(64 << 10));
  EXPECT_TRUE(expired.load());
  EXPECT_EQ(0u, tracker.ApproximateMemory());
}

// A burst of writes while one transaction runs, then its end: everything is
// given back, and the table keeps working after it shrank.
TEST(ConflictTrackerTest, ABurstIsReleasedWhenTheLastTransactionEnds) {
  ConflictTracker tracker;
  std::atomic<bool> expired{false};
  auto handle = tracker.Register(0, 0, &expired);
  for (SequenceNumber s = 1; s <= 100000; s++) tracker.Record("key" + std::to_string(s), s);
  EXPECT_EQ(100000u, tracker.tracked_keys());
  EXPECT_GT(tracker.ApproximateMemory(), 100000u * 8);
  EXPECT_EQ(77777u, tracker.LastWrite("key77777"));
  tracker.Unregister(handle);
  EXPECT_EQ(0u, tracker.tracked_keys());
  EXPECT_EQ(0u, tracker.ApproximateMemory());
  EXPECT_EQ(0u, tracker.LastWrite("key77777"));
  handle = tracker.Register(100000, 0, &expired);
  tracker.Record("again", 100001);
  EXPECT_EQ(100001u, tracker.LastWrite("again"));
  tracker.Unregister(handle);
}

}  // namespace
}  // namespace lsmkv
