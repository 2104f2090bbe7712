#include "memtable/memtable.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "base/dbformat.h"
#include "util/comparator.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

// Holds one reference to a fresh memtable for the duration of a test.
class MemTableTest : public testing::Test {
 protected:
  // As MemTable's arguments (defaults: one skiplist, no filter, ordinary pages).
  explicit MemTableTest(size_t huge_page_bytes = 0, size_t filter_bytes = 0, int max_runs = 1,
                        size_t run_bytes = 0, size_t index_bytes = 0)
      : icmp_(BytewiseComparator()),
        mem_(new MemTable(icmp_, filter_bytes, huge_page_bytes, max_runs, run_bytes, index_bytes)) {
    mem_->Ref();
  }
  ~MemTableTest() override { mem_->Unref(); }

  // "V:<value>", "DEL", or "MISS" (not decided by this memtable).
  std::string Get(std::string_view user_key, SequenceNumber seq) const {
    LookupKey lookup(user_key, seq);
    std::string value = "untouched";
    Status s = Status::Corruption("untouched");
    if (!mem_->Get(lookup, &value, &s)) {
      EXPECT_EQ(value, "untouched");
      EXPECT_TRUE(s.IsCorruption());
      return "MISS";
    }
    if (s.ok()) return "V:" + value;
    EXPECT_TRUE(s.IsNotFound()) << s.ToString();
    return "DEL";
  }

  static std::string IKey(std::string_view user_key, SequenceNumber seq, ValueType t) {
    std::string k;
    AppendInternalKey(&k, user_key, seq, t);
    return k;
  }

  InternalKeyComparator icmp_;
  MemTable* mem_;
};

TEST_F(MemTableTest, EmptyMemTable) {
  EXPECT_TRUE(mem_->Empty());
  EXPECT_EQ(mem_->NumEntries(), 0u);
  EXPECT_EQ(mem_->NumDeletes(), 0u);
  EXPECT_EQ(mem_->FirstSequence(), 0u);
  EXPECT_EQ(mem_->LargestSequence(), 0u);
  EXPECT_EQ(Get("a", kMaxSequenceNumber), "MISS");
  EXPECT_FALSE(mem_->KeyWrittenAfter("a", 0));

  std::unique_ptr<Iterator> iter(mem_->NewIterator());
  iter->SeekToFirst();
  EXPECT_FALSE(iter->Valid());
  iter->SeekToLast();
  EXPECT_FALSE(iter->Valid());
  iter->Seek(IKey("a", 1, kTypeValue));
  EXPECT_FALSE(iter->Valid());
  iter->SeekForPrev(IKey("a", 1, kTypeValue));
  EXPECT_FALSE(iter->Valid());
  EXPECT_TRUE(iter->status().ok());
}

// A reader that learns a sequence after the writer published it (as the
// DB's last sequence is) finds that entry, also when it is the memtable's
// first: the "never held an entry" short cut must not hide it. Many fresh
// memtables, a reader racing each first Add.
TEST(MemTableFirstEntryTest, ReaderThatSawTheSequenceFindsTheFirstEntry) {
  const InternalKeyComparator icmp(BytewiseComparator());
  for (int round = 0; round < 300; round++) {
    auto* mem = new MemTable(icmp, round % 2 == 0 ? 4096 : 0);
    mem->Ref();
    std::atomic<SequenceNumber> published{0};
    std::atomic<bool> found{false};
    std::thread reader([&] {
      SequenceNumber seq;
      while ((seq = published.load(std::memory_order_acquire)) == 0) {
        LookupKey early("k", kMaxSequenceNumber);
        std::string v;
        Status s;
        if (mem->Get(early, &v, &s)) {
          EXPECT_EQ("v", v);  // may or may not see it yet
        }
      }
      LookupKey lookup("k", seq);
      std::string v;
      Status s;
      found = mem->Get(lookup, &v, &s) && s.ok() && v == "v";
    });
    mem->Add(7, kTypeValue, "k", "v");
    published.store(7, std::memory_order_release);
    reader.join();
    EXPECT_TRUE(found.load()) << round;
    mem->Unref();
  }
}

TEST_F(MemTableTest, GetNewestVersionAtEachSnapshot) {
  mem_->Add(1, kTypeValue, "k", "v1");
  mem_->Add(5, kTypeValue, "k", "v5");
  mem_->Add(9, kTypeDeletion, "k", "");
  mem_->Add(12, kTypeValue, "k", "v12");
  mem_->Add(3, kTypeValue, "j", "j3");
  mem_->Add(4, kTypeValue, "l", "l4");

  EXPECT_EQ(Get("k", 0), "MISS");
  for (SequenceNumber s = 1; s <= 4; s++) EXPECT_EQ(Get("k", s), "V:v1") << s;
  for (SequenceNumber s = 5; s <= 8; s++) EXPECT_EQ(Get("k", s), "V:v5") << s;
  for (SequenceNumber s = 9; s <= 11; s++) EXPECT_EQ(Get("k", s), "DEL") << s;
  EXPECT_EQ(Get("k", 12), "V:v12");
  EXPECT_EQ(Get("k", kMaxSequenceNumber), "V:v12");

  EXPECT_EQ(Get("j", 2), "MISS");
  EXPECT_EQ(Get("j", 3), "V:j3");
  EXPECT_EQ(Get("l", 100), "V:l4");
  // Neighbours and prefixes of stored keys are not found.
  EXPECT_EQ(Get("", 100), "MISS");
  EXPECT_EQ(Get("kk", 100), "MISS");
  EXPECT_EQ(Get(std::string_view("k\0", 2), 100), "MISS");
  EXPECT_EQ(Get("m", 100), "MISS");

  EXPECT_EQ(mem_->NumEntries(), 6u);
  EXPECT_EQ(mem_->NumDeletes(), 1u);
  EXPECT_EQ(mem_->FirstSequence(), 1u);
  EXPECT_EQ(mem_->LargestSequence(), 12u);
  EXPECT_FALSE(mem_->Empty());
}

TEST_F(MemTableTest, DeletionHidesOlderValueOnly) {
  mem_->Add(10, kTypeValue, "a", "old");
  mem_->Add(20, kTypeDeletion, "a", "");
  mem_->Add(30, kTypeValue, "b", "b30");
  mem_->Add(40, kTypeDeletion, "b", "");
  EXPECT_EQ(Get("a", 15), "V:old");
  EXPECT_EQ(Get("a", 20), "DEL");
  EXPECT_EQ(Get("a", 1000), "DEL");
  EXPECT_EQ(Get("b", 39), "V:b30");
  EXPECT_EQ(Get("b", 40), "DEL");
  EXPECT_EQ(mem_->NumDeletes(), 2u);
}

TEST_F(MemTableTest, KeyWrittenAfter) {
  mem_->Add(5, kTypeValue, "a", "x");
  mem_->Add(8, kTypeDeletion, "a", "");
  mem_->Add(20, kTypeValue, "b", "y");
  EXPECT_TRUE(mem_->KeyWrittenAfter("a", 0));
  EXPECT_TRUE(mem_->KeyWrittenAfter("a", 7));
  EXPECT_FALSE(mem_->KeyWrittenAfter("a", 8));
  EXPECT_FALSE(mem_->KeyWrittenAfter("a", 15));  // b is newer, a is not
  EXPECT_TRUE(mem_->KeyWrittenAfter("b", 19));
  EXPECT_FALSE(mem_->KeyWrittenAfter("b", 20));
  EXPECT_FALSE(mem_->KeyWrittenAfter("c", 0));
  EXPECT_FALSE(mem_->KeyWrittenAfter("", 0));
}

TEST_F(MemTableTest, EveryByteValueAndEmptyKeysAndValues) {
  SequenceNumber seq = 1;
  std::map<std::string, std::string> expected;
  for (int b = 0; b < 256; b++) {
    const std::string key(1, static_cast<char>(b));
    const std::string value = std::string(3, static_cast<char>(255 - b)) + '\0' + key;
    mem_->Add(seq++, kTypeValue, key, value);
    expected[key] = value;
  }
  const std::string embedded_nul("x\0y\xff", 4);
  mem_->Add(seq++, kTypeValue, embedded_nul, "");
  expected[embedded_nul] = "";
  const SequenceNumber empty_key_seq = seq;
  mem_->Add(seq++, kTypeValue, "", "empty key");
  mem_->Add(seq++, kTypeValue, "", "");  // newer, with an empty value
  expected[""] = "";
  const std::string big_value(100000, '\x80');  // larger than an arena block
  mem_->Add(seq++, kTypeValue, "big", big_value);
  expected["big"] = big_value;

  for (const auto& [key, value] : expected) {
    EXPECT_EQ(Get(key, kMaxSequenceNumber), "V:" + value) << testing::PrintToString(key);
  }
  EXPECT_EQ(Get("", empty_key_seq), "V:empty key");

  // The iterator orders user keys as unsigned bytes (std::string does too),
  // so its newest entries per key follow the map.
  std::unique_ptr<Iterator> iter(mem_->NewIterator());
  auto it = expected.begin();
  for (iter->SeekToFirst(); iter->Valid(); iter->Next()) {
    ParsedInternalKey parsed;
    ASSERT_TRUE(ParseInternalKey(iter->key(), &parsed));
    if (it != expected.begin() && std::prev(it)->first == parsed.user_key) {
      continue;  // an older version of the previous key
    }
    ASSERT_NE(it, expected.end());
    EXPECT_EQ(parsed.user_key, it->first);
    EXPECT_EQ(iter->value(), it->second);
    ++it;
  }
  EXPECT_EQ(it, expected.end());
  EXPECT_GE(mem_->ApproximateMemoryUsage(), big_value.size());
}

TEST_F(MemTableTest, IteratorOrdersVersionsNewestFirst) {
  for (SequenceNumber s : {3, 1, 7, 5}) mem_->Add(s, kTypeValue, "k", "v" + std::to_string(s));
  mem_->Add(6, kTypeDeletion, "k", "");
  mem_->Add(2, kTypeValue, "a", "a2");
  mem_->Add(4, kTypeValue, "z", "z4");

  const std::vector<std::tuple<std::string, SequenceNumber, ValueType, std::string>> want = {
      {"a", 2, kTypeValue, "a2"}, {"k", 7, kTypeValue, "v7"}, {"k", 6, kTypeDeletion, ""},
      {"k", 5, kTypeValue, "v5"}, {"k", 3, kTypeValue, "v3"}, {"k", 1, kTypeValue, "v1"},
      {"z", 4, kTypeValue, "z4"}};
  std::unique_ptr<Iterator> iter(mem_->NewIterator());
  size_t i = 0;
  for (iter->SeekToFirst(); iter->Valid(); iter->Next(), i++) {
    ASSERT_LT(i, want.size());
    ParsedInternalKey parsed;
    ASSERT_TRUE(ParseInternalKey(iter->key(), &parsed));
    EXPECT_EQ(parsed.user_key, std::get<0>(want[i]));
    EXPECT_EQ(parsed.sequence, std::get<1>(want[i]));
    EXPECT_EQ(parsed.type, std::get<2>(want[i]));
    EXPECT_EQ(iter->value(), std::get<3>(want[i]));
  }
  EXPECT_EQ(i, want.size());
  // And backwards.
  i = want.size();
  for (iter->SeekToLast(); iter->Valid(); iter->Prev()) {
    ASSERT_GT(i, 0u);
    i--;
    EXPECT_EQ(iter->key(), IKey(std::get<0>(want[i]), std::get<1>(want[i]), std::get<2>(want[i])));
  }
  EXPECT_EQ(i, 0u);
}

TEST_F(MemTableTest, IteratorSeekAndPrevAtBoundaries) {
  mem_->Add(10, kTypeValue, "b", "b10");
  mem_->Add(11, kTypeValue, "d", "d11");
  mem_->Add(12, kTypeValue, "d", "d12");
  mem_->Add(13, kTypeValue, "f", "f13");
  std::unique_ptr<Iterator> iter(mem_->NewIterator());

  // Seek before everything lands on the first entry; Prev from there ends.
  iter->Seek(IKey("a", kMaxSequenceNumber, kValueTypeForSeek));
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ(iter->key(), IKey("b", 10, kTypeValue));
  iter->Prev();
  EXPECT_FALSE(iter->Valid());

  // Seek past everything is invalid; SeekToLast then Next ends.
  iter->Seek(IKey("g", kMaxSequenceNumber, kValueTypeForSeek));
  EXPECT_FALSE(iter->Valid());
  iter->SeekToLast();
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ(iter->value(), "f13");
  iter->Next();
  EXPECT_FALSE(iter->Valid());

  // Seek with a snapshot: (d, 11) skips the newer d12.
  iter->Seek(IKey("d", 11, kValueTypeForSeek));
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ(iter->value(), "d11");
  iter->Prev();
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ(iter->value(), "d12");
  iter->Prev();
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ(iter->value(), "b10");
  // Seek between user keys.
  iter->Seek(IKey("c", 99, kValueTypeForSeek));
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ(iter->value(), "d12");

  // SeekForPrev: exact match, between entries, before the first, after the last.
  iter->SeekForPrev(IKey("d", 11, kTypeValue));
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ(iter->value(), "d11");
  iter->SeekForPrev(IKey("d", 5, kTypeValue));  // after d11, before f13
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ(iter->value(), "d11");
  iter->SeekForPrev(IKey("c", 1, kTypeValue));
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ(iter->value(), "b10");
  iter->SeekForPrev(IKey("b", 11, kTypeValue));  // newer than b10: sorts before it
  EXPECT_FALSE(iter->Valid());
  iter->SeekForPrev(IKey("a", 1, kTypeValue));
  EXPECT_FALSE(iter->Valid());
  iter->SeekForPrev(IKey("z", 1, kTypeValue));
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ(iter->value(), "f13");
  EXPECT_TRUE(iter->status().ok());
}

TEST_F(MemTableTest, IteratorSeesOnlyItsMemTableAfterOtherRefsDrop) {
  mem_->Add(1, kTypeValue, "k", "v");
  mem_->Ref();  // a second holder, e.g. an iterator's pin
  std::unique_ptr<Iterator> iter(mem_->NewIterator());
  mem_->Unref();  // back to the fixture's reference: still alive
  iter->SeekToFirst();
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ(iter->value(), "v");
}

// The newest entry of each user key at or below a sequence, from a model of
// every Add.
struct ModelEntry {
  ValueType type;
  std::string value;
};
using Model = std::map<std::string, std::map<SequenceNumber, ModelEntry>>;

std::string ModelGet(const Model& model, const std::string& key, SequenceNumber seq) {
  auto k = model.find(key);
  if (k == model.end()) return "MISS";
  auto v = k->second.upper_bound(seq);  // first version newer than seq
  if (v == k->second.begin()) return "MISS";
  --v;
  return v->second.type == kTypeValue ? "V:" + v->second.value : "DEL";
}

// The same tests with the memtable's memory in ordinary blocks and in
// huge-page chunks (64 KiB ones here, so that a test spans many chunks), and
// with the entries in runs (small ones, so that a test fills every run; with
// and without key filters), and with point indexes (a roomy one, and one of
// two slots that keys keep taking from each other).
struct Layout {
  const char* name;
  size_t huge_page_bytes;
  size_t filter_bytes;
  int max_runs;
  size_t run_bytes;
  size_t index_bytes = 0;
};
void PrintTo(const Layout& layout, std::ostream* os) { *os << layout.name; }
class MemTablePagesTest : public MemTableTest, public testing::WithParamInterface<Layout> {
 protected:
  MemTablePagesTest()
      : MemTableTest(GetParam().huge_page_bytes, GetParam().filter_bytes, GetParam().max_runs,
                     GetParam().run_bytes, GetParam().index_bytes) {}

  // Checks Get and KeyWrittenAfter against the model for `probes` random
  // (key, sequence) pairs: mostly keys of `keys`, one in ten random bytes,
  // sequences in [0, max_seq + 1].
  void CheckGets(const Model& model, const std::vector<std::string>& keys, uint32_t max_seq,
                 int probes, Random* rnd) const {
    for (int p = 0; p < probes; p++) {
      const std::string key = rnd->OneIn(10)
                                  ? rnd->RandomBytes(rnd->Skewed(4))
                                  : keys[rnd->Uniform(static_cast<uint32_t>(keys.size()))];
      const SequenceNumber at = rnd->Uniform(max_seq + 2);
      ASSERT_EQ(Get(key, at), ModelGet(model, key, at)) << "seq " << at;
      bool newer = false;
      if (auto k = model.find(key); k != model.end()) {
        newer = k->second.upper_bound(at) != k->second.end();
      }
      ASSERT_EQ(mem_->KeyWrittenAfter(key, at), newer) << "seq " << at;
    }
  }
};
INSTANTIATE_TEST_SUITE_P(Pages, MemTablePagesTest,
                         testing::Values(Layout{"Ordinary", 0, 0, 1, 0},
                                         Layout{"HugeChunks", size_t{64} << 10, 0, 1, 0},
                                         Layout{"Runs", 0, 0, 8, 64 << 10},
                                         Layout{"RunsFiltered", size_t{64} << 10, 16 << 10,
                                                MemTable::kMaxRuns, 32 << 10},
                                         Layout{"Indexed", 0, 16 << 10, 1, 0, 64 << 10},
                                         Layout{"TinyIndex", 0, 0, 1, 0, 16},
                                         Layout{"RunsIndexed", 0, 16 << 10, 8, 64 << 10, 64 << 10}),
                         [](const testing::TestParamInfo<Layout>& info) {
                           return std::string(info.param.name);
                         });

TEST_P(MemTablePagesTest, RandomAddsMatchModel) {
  constexpr int kOps = 20000;
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  Random rnd(seed);

  std::vector<std::string> keys;
  keys.emplace_back("");
  for (int i = 0; i < 400; i++) keys.push_back(rnd.RandomBytes(1 + rnd.Skewed(4)));
  // Sequences 1..kOps, added in a random order.
  std::vector<SequenceNumber> seqs(kOps);
  std::iota(seqs.begin(), seqs.end(), 1);
  for (size_t i = seqs.size() - 1; i > 0; i--) {
    std::swap(seqs[i], seqs[rnd.Uniform(static_cast<uint32_t>(i + 1))]);
  }

  Model model;
  uint64_t deletes = 0;
  SequenceNumber min_seq = kMaxSequenceNumber, max_seq = 0;
  auto check_gets = [&](int probes) { CheckGets(model, keys, kOps, probes, &rnd); };

  for (int i = 0; i < kOps; i++) {
    const std::string& key = keys[rnd.Uniform(static_cast<uint32_t>(keys.size()))];
    const ValueType type = rnd.OneIn(3) ? kTypeDeletion : kTypeValue;
    const std::string value = type == kTypeValue ? rnd.RandomBytes(rnd.Skewed(7)) : "";
    mem_->Add(seqs[i], type, key, value);
    model[key][seqs[i]] = ModelEntry{type, value};
    deletes += type == kTypeDeletion;
    min_seq = std::min(min_seq, seqs[i]);
    max_seq = std::max(max_seq, seqs[i]);
    if ((i + 1) % 4000 == 0) {
      check_gets(4000);
      if (HasFatalFailure()) return;
    }
  }

  EXPECT_EQ(mem_->NumEntries(), static_cast<uint64_t>(kOps));
  // Every run was filled (this test's adds are in random sequence order, so
  // with runs the reads above took the search-every-run path).
  EXPECT_EQ(mem_->NumRuns(), GetParam().max_runs);
  EXPECT_EQ(mem_->NumDeletes(), deletes);
  EXPECT_EQ(mem_->FirstSequence(), min_seq);
  EXPECT_EQ(mem_->LargestSequence(), max_seq);

  // A full scan lists every entry: user key ascending, sequence descending.
  std::unique_ptr<Iterator> iter(mem_->NewIterator());
  iter->SeekToFirst();
  for (const auto& [key, versions] : model) {
    for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
      ASSERT_TRUE(iter->Valid());
      ASSERT_EQ(iter->key(), IKey(key, v->first, v->second.type));
      ASSERT_EQ(iter->value(), v->second.value);
      iter->Next();
    }
  }
  EXPECT_FALSE(iter->Valid());
}

// Adds in ascending sequence order (as the DB does; with runs, reads stop at
// the newest run with a visible entry), then checks Get and KeyWrittenAfter at
// every kind of sequence and walks the iterator in both directions from
// random seeks against the model's entry order.
TEST_P(MemTablePagesTest, AscendingAddsMatchModelInBothDirections) {
  constexpr int kOps = 12000;
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  Random rnd(seed);
  std::vector<std::string> keys;
  for (int i = 0; i < 300; i++) keys.push_back(rnd.RandomBytes(rnd.Skewed(4)));

  Model model;
  for (SequenceNumber seq = 1; seq <= kOps; seq++) {
    const std::string& key = keys[rnd.Uniform(static_cast<uint32_t>(keys.size()))];
    const ValueType type = rnd.OneIn(4) ? kTypeDeletion : kTypeValue;
    const std::string value = type == kTypeValue ? rnd.RandomBytes(rnd.Skewed(6)) : "";
    mem_->Add(seq, type, key, value);
    model[key][seq] = ModelEntry{type, value};
  }
  EXPECT_EQ(mem_->NumRuns(), GetParam().max_runs);

  CheckGets(model, keys, kOps, 6000, &rnd);
  if (HasFatalFailure()) return;

  // Every entry in internal key order.
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& [key, versions] : model) {
    for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
      entries.emplace_back(IKey(key, v->first, v->second.type), v->second.value);
    }
  }
  std::unique_ptr<Iterator> iter(mem_->NewIterator());
  iter->SeekToLast();
  for (auto e = entries.rbegin(); e != entries.rend(); ++e) {
    ASSERT_TRUE(iter->Valid());
    ASSERT_EQ(iter->key(), e->first);
    iter->Prev();
  }
  ASSERT_FALSE(iter->Valid());
  auto position_of = [&](const std::string& target) {  // first entry >= target
    return std::lower_bound(
               entries.begin(), entries.end(), target,
               [&](const auto& e, const std::string& t) { return icmp_.Compare(e.first, t) < 0; }) -
           entries.begin();
  };
  for (int walk = 0; walk < 300; walk++) {
    const std::string target =
        IKey(rnd.OneIn(2) ? keys[rnd.Uniform(static_cast<uint32_t>(keys.size()))]
                          : rnd.RandomBytes(rnd.Skewed(4)),
             rnd.Uniform(kOps + 2), kValueTypeForSeek);
    auto pos = position_of(target);
    if (rnd.OneIn(3)) {
      iter->SeekForPrev(target);
      // The last entry <= target.
      if (pos == static_cast<decltype(pos)>(entries.size()) ||
          icmp_.Compare(entries[pos].first, target) > 0) {
        pos--;
      }
    } else {
      iter->Seek(target);
    }
    for (int step = 0; step < 40; step++) {
      if (pos < 0 || pos >= static_cast<decltype(pos)>(entries.size())) {
        ASSERT_FALSE(iter->Valid()) << "walk " << walk << " step " << step;
        break;
      }
      ASSERT_TRUE(iter->Valid()) << "walk " << walk << " step " << step;
      ASSERT_EQ(iter->key(), entries[pos].first) << "walk " << walk << " step " << step;
      ASSERT_EQ(iter->value(), entries[pos].second);
      if (rnd.OneIn(2)) {
        iter->Next();
        pos++;
      } else {
        iter->Prev();
        pos--;
      }
    }
  }
}

// One writer adds seq 1..kAdds, seq j writing key (j % kKeys) = "v<j>", and
// publishes the last finished sequence. Readers check Get at a published
// sequence s against the closed form: the newest j <= s with j % kKeys == k.
TEST_P(MemTablePagesTest, ConcurrentGetWhileAdding) {
  constexpr uint64_t kAdds = 30000;
  constexpr uint64_t kKeys = 1000;
  constexpr int kReaders = 3;
  auto key_of = [](uint64_t k) { return "key" + std::to_string(k); };
  constexpr uint64_t kCheckpoint = 1000;
  std::atomic<SequenceNumber> published{0};
  // The largest published sequence some reader has fully checked; the writer
  // waits on it every kCheckpoint adds so that intermediate states are read.
  std::atomic<SequenceNumber> checked{0};

  auto reader = [&](uint32_t seed) {
    Random rnd(seed);
    size_t last_usage = 0;
    while (true) {
      const SequenceNumber s = published.load(std::memory_order_acquire);
      for (int p = 0; p < 100; p++) {
        const uint64_t k = rnd.Uniform(kKeys);
        // The newest sequence <= s that wrote key k, if any.
        const uint64_t back = (s % kKeys + kKeys - k) % kKeys;
        const std::string want = s >= back + 1 ? "V:v" + std::to_string(s - back) : "MISS";
        ASSERT_EQ(Get(key_of(k), s), want) << "key " << k << " at " << s;
      }
      ASSERT_GE(mem_->NumEntries(), s);
      ASSERT_GE(mem_->LargestSequence(), s);
      const size_t usage = mem_->ApproximateMemoryUsage();
      ASSERT_GE(usage, last_usage);
      last_usage = usage;
      SequenceNumber prev = checked.load(std::memory_order_relaxed);
      while (prev < s && !checked.compare_exchange_weak(prev, s, std::memory_order_release,
                                                        std::memory_order_relaxed)) {
      }
      if (s == kAdds) break;
    }
  };

  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; r++) readers.emplace_back(reader, test::TestSeed() + r);
  for (uint64_t j = 1; j <= kAdds; j++) {
    mem_->Add(j, kTypeValue, key_of(j % kKeys), "v" + std::to_string(j));
    published.store(j, std::memory_order_release);
    if (j % kCheckpoint == 0) {
      while (checked.load(std::memory_order_acquire) < j && !HasFailure())
        std::this_thread::yield();
    }
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(mem_->NumEntries(), kAdds);
  EXPECT_EQ(Get(key_of(7), kAdds), "V:v" + std::to_string(kAdds - kKeys + 7));
}

// The memtable orders entries exactly as InternalKeyComparator does, both
// through its inline bytewise path and through the comparator calls any
// other user comparator takes: random user keys (empty, sharing prefixes,
// longer than 127 bytes so their length takes a two-byte varint), repeated
// with several sequences and both types.

TEST(MemTableOrderTest, EntriesFollowTheInternalKeyOrder) {
  const Comparator& reverse = *test::ReverseBytewiseComparator();
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  for (const Comparator* user : {BytewiseComparator(), static_cast<const Comparator*>(&reverse)}) {
    SCOPED_TRACE(user->Name());
    Random rnd(seed);
    const InternalKeyComparator icmp(user);
    MemTable* mem = new MemTable(icmp);
    mem->Ref();
    std::vector<std::string> expected;
    std::vector<std::string> user_keys;
    for (int i = 0; i < 400; i++) {
      std::string k;
      switch (rnd.Uniform(4)) {
        case 0:
          k = "";
          break;
        case 1:
          k = rnd.RandomBytes(static_cast<int>(rnd.Uniform(300)));
          break;
        default:
          k = user_keys.empty() ? "p"
                                : user_keys[rnd.Uniform(static_cast<uint32_t>(user_keys.size()))];
          k.resize(rnd.Uniform(static_cast<uint32_t>(k.size() + 1)));
          k += static_cast<char>(rnd.Uniform(256));
          break;
      }
      user_keys.push_back(k);
    }
    SequenceNumber seq = 1;
    for (int round = 0; round < 3; round++) {
      for (const std::string& k : user_keys) {
        const ValueType t = rnd.OneIn(3) ? kTypeDeletion : kTypeValue;
        // One entry per (key, sequence): sequences are unique.
        mem->Add(seq, t, k, "v");
        std::string ikey;
        AppendInternalKey(&ikey, k, seq, t);
        expected.push_back(ikey);
        seq++;
      }
    }
    std::sort(expected.begin(), expected.end(),
              [&](const std::string& a, const std::string& b) { return icmp.Compare(a, b) < 0; });
    std::unique_ptr<Iterator> iter(mem->NewIterator());
    size_t n = 0;
    for (iter->SeekToFirst(); iter->Valid(); iter->Next(), n++) {
      ASSERT_LT(n, expected.size());
      ASSERT_EQ(iter->key(), expected[n]) << n;
    }
    EXPECT_EQ(n, expected.size());
    mem->Unref();
  }
}

// The point index answers lookups of recently written keys without a
// search, at every snapshot a few versions deep, and is silent (the search
// answers) when a key's slot went to another key, when many versions are
// newer than the lookup, and after an Add out of sequence order.
TEST(MemTableIndexTest, AnswersRecentKeysAndFallsBackToTheSearch) {
  const InternalKeyComparator icmp(BytewiseComparator());
  auto get = [](const MemTable* mem, std::string_view key, SequenceNumber seq) {
    LookupKey lookup(key, seq);
    std::string value;
    Status s;
    if (!mem->Get(lookup, &value, &s)) return std::string("MISS");
    return s.ok() ? "V:" + value : std::string("DEL");
  };
  auto index_answers = [](const MemTable* mem, std::string_view key, SequenceNumber seq) {
    return mem->IndexAnswers(LookupKey(key, seq));
  };

  MemTable* mem = new MemTable(icmp, 4096, 0, 1, 0, 64 << 10);
  mem->Ref();
  EXPECT_EQ(64u << 10, mem->IndexBytes());
  {  // The index counts in the memtable's size (so in when it is flushed).
    MemTable* twin = new MemTable(icmp, 4096, 0, 1, 0, 0);
    twin->Ref();
    EXPECT_EQ(mem->ApproximateMemoryUsage(), twin->ApproximateMemoryUsage() + (64u << 10));
    twin->Unref();
  }
  mem->Add(10, kTypeValue, "k", "v10");
  mem->Add(11, kTypeValue, "j", "j11");
  mem->Add(20, kTypeDeletion, "k", "");
  mem->Add(30, kTypeValue, "k", "v30");
  EXPECT_EQ(get(mem, "k", 40), "V:v30");
  EXPECT_TRUE(index_answers(mem, "k", 40));
  EXPECT_EQ(get(mem, "k", 25), "DEL");
  EXPECT_TRUE(index_answers(mem, "k", 25));
  EXPECT_EQ(get(mem, "k", 15), "V:v10");
  EXPECT_TRUE(index_answers(mem, "k", 15));
  EXPECT_EQ(get(mem, "k", 9), "MISS");  // every version is newer
  EXPECT_FALSE(index_answers(mem, "k", 9));
  EXPECT_EQ(get(mem, "j", 11), "V:j11");
  EXPECT_TRUE(index_answers(mem, "j", 11));
  EXPECT_EQ(get(mem, "absent", 40), "MISS");
  EXPECT_FALSE(index_answers(mem, "absent", 40));
  EXPECT_TRUE(mem->KeyWrittenAfter("k", 29));
  EXPECT_FALSE(mem->KeyWrittenAfter("k", 30));

  // Ten versions: a lookup below the fifth newest walks too far and is left
  // to the search, which still answers it.
  for (SequenceNumber seq = 100; seq < 110; seq++) {
    mem->Add(seq, kTypeValue, "many", "m" + std::to_string(seq));
  }
  EXPECT_TRUE(index_answers(mem, "many", 109));
  EXPECT_TRUE(index_answers(mem, "many", 106));
  EXPECT_FALSE(index_answers(mem, "many", 105));
  for (SequenceNumber seq = 100; seq < 110; seq++) {
    EXPECT_EQ(get(mem, "many", seq), "V:m" + std::to_string(seq));
  }

  // An Add below the largest sequence, older than k's newest entry: were
  // the index still used, its slot would now name this entry as k's newest.
  mem->Add(25, kTypeValue, "k", "v25");
  EXPECT_FALSE(index_answers(mem, "k", kMaxSequenceNumber));
  EXPECT_FALSE(index_answers(mem, "j", kMaxSequenceNumber));
  EXPECT_EQ(get(mem, "k", kMaxSequenceNumber), "V:v30");
  EXPECT_EQ(get(mem, "k", 27), "V:v25");
  EXPECT_EQ(get(mem, "k", 22), "DEL");
  mem->Unref();

  // One slot: each Add takes it from the key before.
  MemTable* tiny = new MemTable(icmp, 0, 0, 1, 0, 8);
  tiny->Ref();
  EXPECT_EQ(8u, tiny->IndexBytes());
  tiny->Add(1, kTypeValue, "a", "va");
  EXPECT_TRUE(index_answers(tiny, "a", 1));
  tiny->Add(2, kTypeValue, "b", "vb");
  EXPECT_FALSE(index_answers(tiny, "a", 2));
  EXPECT_TRUE(index_answers(tiny, "b", 2));
  EXPECT_EQ(get(tiny, "a", 2), "V:va");
  EXPECT_EQ(get(tiny, "b", 2), "V:vb");
  tiny->Unref();

  // Not for other comparators (equal keys need not be equal bytes).
  const InternalKeyComparator other(test::ReverseBytewiseComparator());
  MemTable* unindexed = new MemTable(other, 0, 0, 1, 0, 64 << 10);
  unindexed->Ref();
  EXPECT_EQ(0u, unindexed->IndexBytes());
  unindexed->Add(1, kTypeValue, "a", "va");
  EXPECT_FALSE(index_answers(unindexed, "a", 1));
  EXPECT_EQ(get(unindexed, "a", 1), "V:va");
  unindexed->Unref();
}

// The filter's 64-byte blocks are whole cache lines (aligned to 64 bytes:
// memory from new[] is only 16-byte aligned, and a block across two lines
// costs two misses a probe), and a filter or index of at least one huge page
// is aligned to the huge page size (the memory madvise'd as huge pages, so
// that a probe does not miss the TLB); without huge pages, 64 bytes.
TEST(MemTableFilterTest, FilterBlocksAreCacheLinesAndLargeArraysHugePages) {
  const InternalKeyComparator icmp(BytewiseComparator());
  constexpr size_t kHuge = 2 << 20;
  struct Case {
    size_t filter_bytes, huge_page_bytes, index_bytes;
    size_t filter_alignment, index_alignment;
  };
  const Case cases[] = {
      {1 << 20, kHuge, 4 << 20, 64, kHuge},   // a small filter, a huge index
      {4 << 20, kHuge, 64 << 10, kHuge, 64},  // and the other way round
      {4 << 20, 0, 4 << 20, 64, 64},          // no huge pages asked for
      {100, kHuge, 8, 64, 64},                // tiny ones
  };
  for (const Case& c : cases) {
    for (int i = 0; i < 4; i++) {  // a lucky allocation must not pass alone
      MemTable* mem = new MemTable(icmp, c.filter_bytes, c.huge_page_bytes, 1, 0, c.index_bytes);
      mem->Ref();
      const auto [filter, index] = mem->TEST_FilterAndIndexAddresses();
      ASSERT_NE(0u, filter);
      ASSERT_NE(0u, index);
      EXPECT_EQ(0u, filter % c.filter_alignment) << c.filter_bytes << " " << c.huge_page_bytes;
      EXPECT_EQ(0u, index % c.index_alignment) << c.index_bytes << " " << c.huge_page_bytes;
      // Usable: every key added is found through the filter and the index.
      for (int k = 0; k < 100; k++) mem->Add(k + 1, kTypeValue, "key" + std::to_string(k), "v");
      for (int k = 0; k < 100; k++) {
        std::string value;
        Status s;
        ASSERT_TRUE(mem->Get(LookupKey("key" + std::to_string(k), 200), &value, &s));
        EXPECT_EQ("v", value);
      }
      mem->Unref();
    }
  }
}

// The key filter: every added key is found (no false negative, here and in
// Get), most absent keys are answered by the filter alone, and a memtable
// with a non-bytewise user comparator has no filter.
TEST(MemTableFilterTest, NoFalseNegativesAndFewFalsePositives) {
  const InternalKeyComparator icmp(BytewiseComparator());
  MemTable* mem = new MemTable(icmp, 64 << 10);
  mem->Ref();
  EXPECT_EQ(64u << 10, mem->FilterBytes());
  Random rnd(test::TestSeed());
  std::vector<std::string> keys;
  for (int i = 0; i < 40000; i++) {
    keys.push_back("key" + std::to_string(rnd.Next64()));
    mem->Add(static_cast<SequenceNumber>(i + 1), kTypeValue, keys.back(), "v" + std::to_string(i));
  }
  for (size_t i = 0; i < keys.size(); i++) {
    ASSERT_TRUE(mem->KeyMayBeHere(keys[i])) << keys[i];
    LookupKey lookup(keys[i], kMaxSequenceNumber);
    std::string value;
    Status s;
    ASSERT_TRUE(mem->Get(lookup, &value, &s)) << keys[i];
  }
  int positives = 0;
  constexpr int kAbsent = 40000;
  for (int i = 0; i < kAbsent; i++) {
    const std::string absent = "absent" + std::to_string(i);
    if (mem->KeyMayBeHere(absent)) positives++;
    LookupKey lookup(absent, kMaxSequenceNumber);
    std::string value;
    Status s;
    ASSERT_FALSE(mem->Get(lookup, &value, &s));
  }
  // 64 KiB for 40,000 keys is ~13 bits per key: about 1% false positives.
  EXPECT_LT(positives, kAbsent / 25) << positives;
  mem->Unref();

  const InternalKeyComparator other(test::ReverseBytewiseComparator());
  MemTable* unfiltered = new MemTable(other, 64 << 10);
  unfiltered->Ref();
  EXPECT_EQ(0u, unfiltered->FilterBytes());
  EXPECT_TRUE(unfiltered->KeyMayBeHere("anything"));
  unfiltered->Unref();
}

// Readers racing the writer never miss a key whose insert they know to be
// complete (published after Add returned, read with acquire).
TEST(MemTableFilterTest, ConcurrentReadersSeeEveryPublishedKey) {
  const InternalKeyComparator icmp(BytewiseComparator());
  MemTable* mem = new MemTable(icmp, 4 << 10);  // small: many bits per block change
  mem->Ref();
  constexpr int kKeys = 20000;
  auto key = [](int i) { return "k" + std::to_string(i * 7919 % 100003); };
  std::atomic<int> published{0};
  std::atomic<bool> missed{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; r++) {
    readers.emplace_back([&, r] {
      Random rnd(static_cast<uint32_t>(r + 1));
      while (published.load(std::memory_order_acquire) < kKeys) {
        const int n = published.load(std::memory_order_acquire);
        if (n == 0) continue;
        const int i = static_cast<int>(rnd.Uniform(static_cast<uint32_t>(n)));
        LookupKey lookup(key(i), kMaxSequenceNumber);
        std::string value;
        Status s;
        if (!mem->KeyMayBeHere(key(i)) || !mem->Get(lookup, &value, &s)) missed = true;
      }
    });
  }
  for (int i = 0; i < kKeys; i++) {
    mem->Add(static_cast<SequenceNumber>(i + 1), kTypeValue, key(i), "v");
    published.store(i + 1, std::memory_order_release);
  }
  for (auto& t : readers) t.join();
  EXPECT_FALSE(missed.load());
  mem->Unref();
}

}  // namespace
}  // namespace lsmkv
