#include "db/db_iter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/dbformat.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

using Entry = std::pair<std::string, std::string>;

const InternalKeyComparator kIcmp(BytewiseComparator());

// An internal iterator over entries (sorted here by kIcmp). If fail_at is
// set, positioning on that index gives an invalid iterator with an IOError.
// Counts the steps taken, to check that scans do not restart.
class VectorIterator final : public Iterator {
 public:
  explicit VectorIterator(std::vector<Entry> entries, size_t fail_at = SIZE_MAX)
      : entries_(std::move(entries)), fail_at_(fail_at), pos_(entries_.size()) {
    std::sort(entries_.begin(), entries_.end(),
              [](const Entry& a, const Entry& b) { return kIcmp.Compare(a.first, b.first) < 0; });
  }
  bool Valid() const override { return pos_ < entries_.size() && status_.ok(); }
  void SeekToFirst() override { Set(0); }
  void SeekToLast() override { Set(entries_.empty() ? 0 : entries_.size() - 1); }
  void Seek(std::string_view t) override { Set(Bound(t, false)); }
  void SeekForPrev(std::string_view t) override {
    const size_t u = Bound(t, true);
    Set(u == 0 ? entries_.size() : u - 1);
  }
  void Next() override {
    ASSERT_TRUE(Valid());
    Set(pos_ + 1);
  }
  void Prev() override {
    ASSERT_TRUE(Valid());
    Set(pos_ == 0 ? entries_.size() : pos_ - 1);
  }
  std::string_view key() const override { return entries_.at(pos_).first; }
  std::string_view value() const override { return entries_.at(pos_).second; }
  Status status() const override { return status_; }

 private:
  void Set(size_t pos) {
    pos_ = pos;
    status_ = pos == fail_at_ ? Status::IOError("injected failure") : Status::OK();
  }
  // First index whose key is > t (upper) or >= t (!upper).
  size_t Bound(std::string_view t, bool upper) const {
    return std::partition_point(entries_.begin(), entries_.end(),
                                [&](const Entry& e) {
                                  const int c = kIcmp.Compare(e.first, t);
                                  return upper ? c <= 0 : c < 0;
                                }) -
           entries_.begin();
  }

  std::vector<Entry> entries_;
  const size_t fail_at_;
  size_t pos_;
  Status status_;
};

struct Op {
  std::string key;
  SequenceNumber seq;
  ValueType type;
  std::string value;
};

std::string IKey(const std::string& user, SequenceNumber seq, ValueType t) {
  std::string k;
  AppendInternalKey(&k, user, seq, t);
  return k;
}

std::vector<Entry> ToEntries(const std::vector<Op>& history) {
  std::vector<Entry> entries;
  for (const Op& op : history) entries.emplace_back(IKey(op.key, op.seq, op.type), op.value);
  return entries;
}

// What a reader at sequence seq sees within [lower, upper).
std::vector<Entry> Expected(const std::vector<Op>& history, SequenceNumber seq,
                            const std::optional<std::string>& lower,
                            const std::optional<std::string>& upper) {
  std::map<std::string, std::optional<std::string>> state;
  for (const Op& op : history) {  // in sequence order
    if (op.seq > seq) continue;
    if (op.type == kTypeValue) {
      state[op.key] = op.value;
    } else {
      state[op.key] = std::nullopt;
    }
  }
  std::vector<Entry> result;
  for (const auto& [k, v] : state) {
    if (!v) continue;
    if (lower && k < *lower) continue;
    if (upper && k >= *upper) continue;
    result.emplace_back(k, *v);
  }
  return result;
}

std::unique_ptr<Iterator> MakeDBIter(const std::vector<Op>& history, SequenceNumber seq,
                                     std::optional<std::string> lower = std::nullopt,
                                     std::optional<std::string> upper = std::nullopt) {
  return std::unique_ptr<Iterator>(NewDBIterator(BytewiseComparator(),
                                                 new VectorIterator(ToEntries(history)), seq,
                                                 std::move(lower), std::move(upper)));
}

// Keys with every kind of byte; a small space so that versions pile up.
const std::vector<std::string> kKeys = {std::string(),
                                        std::string("\0", 1),
                                        "a",
                                        std::string("a\0b", 3),
                                        "ab",
                                        "b",
                                        "bb",
                                        "c",
                                        "cat",
                                        "d",
                                        std::string("\xff"),
                                        std::string("\xff\xff")};

std::string PickKey(Random* rnd) {
  if (rnd->OneIn(5)) return rnd->RandomKey(1 + rnd->Uniform(2));  // mostly not in kKeys
  return kKeys[rnd->Uniform(static_cast<uint32_t>(kKeys.size()))];
}

// Random operations on it and on model side by side.
void Compare(const std::vector<Entry>& model, Iterator* it, Random* rnd, int ops) {
  const size_t n = model.size();
  size_t pos = n;
  auto lower_bound = [&](const std::string& t) {
    return static_cast<size_t>(
        std::lower_bound(model.begin(), model.end(), t,
                         [](const Entry& e, const std::string& k) { return e.first < k; }) -
        model.begin());
  };
  auto upper_bound = [&](const std::string& t) {
    return static_cast<size_t>(
        std::upper_bound(model.begin(), model.end(), t,
                         [](const std::string& k, const Entry& e) { return k < e.first; }) -
        model.begin());
  };
  std::string trace;
  for (int op = 0; op < ops; op++) {
    const std::string target = PickKey(rnd);
    switch (rnd->Uniform(pos < n ? 10 : 4)) {
      case 0:
        trace += " Seek";
        it->Seek(target);
        pos = lower_bound(target);
        break;
      case 1: {
        trace += " SeekForPrev";
        it->SeekForPrev(target);
        const size_t u = upper_bound(target);
        pos = u == 0 ? n : u - 1;
        break;
      }
      case 2:
        trace += " SeekToFirst";
        it->SeekToFirst();
        pos = 0;
        break;
      case 3:
        trace += " SeekToLast";
        it->SeekToLast();
        pos = n == 0 ? 0 : n - 1;
        break;
      case 4:
      case 5:
      case 6:
        trace += " Next";
        it->Next();
        pos++;
        break;
      default:
        trace += " Prev";
        it->Prev();
        pos = pos == 0 ? n : pos - 1;
        break;
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_EQ(pos < n, it->Valid()) << trace;
    if (pos < n) {
      ASSERT_EQ(model[pos].first, it->key()) << trace;
      ASSERT_EQ(model[pos].second, it->value()) << trace;
    }
  }
}

std::vector<Op> RandomHistory(Random* rnd, int length) {
  std::vector<Op> history;
  SequenceNumber seq = 1 + rnd->Uniform(5);
  for (int i = 0; i < length; i++) {
    Op op;
    op.key = kKeys[rnd->Uniform(static_cast<uint32_t>(kKeys.size()))];
    op.seq = seq;
    seq += 1 + rnd->Uniform(3);  // gaps: snapshots between writes
    op.type = rnd->OneIn(3) ? kTypeDeletion : kTypeValue;
    if (op.type == kTypeValue)
      op.value = "v" + std::to_string(op.seq) + rnd->RandomBytes(rnd->Uniform(3));
    history.push_back(std::move(op));
  }
  return history;
}

TEST(DBIterTest, RandomHistoriesMatchModel) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  for (int round = 0; round < 150; round++) {
    const std::vector<Op> history = RandomHistory(&rnd, static_cast<int>(rnd.Uniform(80)));
    const SequenceNumber last = history.empty() ? 1 : history.back().seq;
    for (int view = 0; view < 15; view++) {
      const SequenceNumber seq = rnd.OneIn(6) ? kMaxSequenceNumber : rnd.Uniform(last + 2);
      std::optional<std::string> lower, upper;
      if (rnd.OneIn(2)) lower = PickKey(&rnd);
      if (rnd.OneIn(2)) upper = PickKey(&rnd);
      SCOPED_TRACE("round " + std::to_string(round) + " seq " + std::to_string(seq) + " lower " +
                   (lower ? "'" + *lower + "'" : "-") + " upper " +
                   (upper ? "'" + *upper + "'" : "-"));
      const std::vector<Entry> model = Expected(history, seq, lower, upper);
      auto it = MakeDBIter(history, seq, lower, upper);
      Compare(model, it.get(), &rnd, 200);
      if (testing::Test::HasFatalFailure()) return;
      // Full scans both ways.
      size_t i = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next(), i++) ASSERT_EQ(model.at(i).first, it->key());
      ASSERT_EQ(model.size(), i);
      for (it->SeekToLast(); it->Valid(); it->Prev()) ASSERT_EQ(model.at(--i).first, it->key());
      ASSERT_EQ(0u, i);
    }
  }
}

std::vector<std::string> ScanForward(Iterator* it) {
  std::vector<std::string> keys;
  for (it->SeekToFirst(); it->Valid(); it->Next()) keys.emplace_back(it->key());
  return keys;
}
std::vector<std::string> ScanBackward(Iterator* it) {
  std::vector<std::string> keys;
  for (it->SeekToLast(); it->Valid(); it->Prev()) keys.emplace_back(it->key());
  return keys;
}

using Keys = std::vector<std::string>;

TEST(DBIterTest, DirectionChangeAcrossDeletedKeys) {
  const std::vector<Op> history = {{"a", 1, kTypeValue, "va"},  {"b", 2, kTypeValue, "vb"},
                                   {"c", 3, kTypeValue, "vc"},  {"d", 4, kTypeValue, "vd"},
                                   {"b", 5, kTypeDeletion, ""}, {"c", 6, kTypeDeletion, ""}};
  auto it = MakeDBIter(history, 10);
  it->Seek("d");
  ASSERT_TRUE(it->Valid());
  it->Prev();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("a", it->key());
  EXPECT_EQ("va", it->value());
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("d", it->key());
  EXPECT_EQ("vd", it->value());
  it->Prev();
  it->Prev();
  EXPECT_FALSE(it->Valid());
  EXPECT_EQ((Keys{"a", "d"}), ScanForward(it.get()));
  EXPECT_EQ((Keys{"d", "a"}), ScanBackward(it.get()));
  // Seeks onto deleted keys.
  it->Seek("b");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("d", it->key());
  it->SeekForPrev("c");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("a", it->key());
  // At sequence 4 nothing is deleted yet.
  auto old = MakeDBIter(history, 4);
  EXPECT_EQ((Keys{"a", "b", "c", "d"}), ScanForward(old.get()));
  old->SeekForPrev("c");
  ASSERT_TRUE(old->Valid());
  EXPECT_EQ("vc", old->value());
}

TEST(DBIterTest, Bounds) {
  std::vector<Op> history;
  SequenceNumber seq = 1;
  for (const char* k : {"a", "b", "c", "d", "e"}) history.push_back({k, seq++, kTypeValue, k});
  auto it = MakeDBIter(history, seq, "b", "d");
  EXPECT_EQ((Keys{"b", "c"}), ScanForward(it.get()));
  EXPECT_EQ((Keys{"c", "b"}), ScanBackward(it.get()));
  it->SeekToFirst();
  it->Prev();
  EXPECT_FALSE(it->Valid());
  it->SeekToLast();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("c", it->key());
  it->Next();
  EXPECT_FALSE(it->Valid());
  it->Seek("a");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("b", it->key());
  it->SeekForPrev("z");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("c", it->key());
  it->SeekForPrev("d");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("c", it->key());
  it->Seek("d");
  EXPECT_FALSE(it->Valid());
  it->SeekForPrev("a");
  EXPECT_FALSE(it->Valid());
  // Direction changes at both bounds.
  it->SeekToFirst();
  it->Next();
  it->Prev();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("b", it->key());
  it->SeekToLast();
  it->Prev();
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("c", it->key());
  EXPECT_TRUE(it->status().ok());
  // Only one bound.
  auto lower_only = MakeDBIter(history, seq, "c", std::nullopt);
  EXPECT_EQ((Keys{"e", "d", "c"}), ScanBackward(lower_only.get()));
  auto upper_only = MakeDBIter(history, seq, std::nullopt, "c");
  EXPECT_EQ((Keys{"a", "b"}), ScanForward(upper_only.get()));
  // An entry exactly at the first possible internal key of upper is excluded.
  history.push_back({"d", kMaxSequenceNumber, kTypeValue, "max"});
  auto at_max = MakeDBIter(history, kMaxSequenceNumber, std::nullopt, "d");
  EXPECT_EQ((Keys{"c", "b", "a"}), ScanBackward(at_max.get()));
}

TEST(DBIterTest, FirstAndLastKey) {
  const std::vector<Op> history = {
      {"a", 1, kTypeValue, "1"}, {"b", 2, kTypeValue, "2"}, {"c", 3, kTypeValue, "3"}};
  auto it = MakeDBIter(history, 3);
  it->SeekToFirst();
  it->Prev();
  EXPECT_FALSE(it->Valid());
  it->SeekToLast();
  it->Next();
  EXPECT_FALSE(it->Valid());
  it->SeekToFirst();
  it->Next();
  it->Prev();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("a", it->key());
  it->Prev();
  EXPECT_FALSE(it->Valid());
  it->SeekToLast();
  it->Prev();
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("c", it->key());
  it->Next();
  EXPECT_FALSE(it->Valid());
  it->SeekForPrev("a");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("a", it->key());
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("b", it->key());
  // Seek with target = key() of the iterator itself (the bytes it points at
  // change during the seek).
  it->SeekToLast();
  it->Prev();  // reverse mode: key() is a private copy
  it->Seek(it->key());
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("b", it->key());
  it->SeekForPrev(it->key());
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("b", it->key());
}

TEST(DBIterTest, ManyVersionsAboveAndBelowTheSnapshot) {
  std::vector<Op> history;
  SequenceNumber seq = 1;
  history.push_back({"a", seq++, kTypeValue, "a-old"});
  history.push_back({"m", seq++, kTypeValue, "m-visible"});
  history.push_back({"z", seq++, kTypeValue, "z-old"});
  const SequenceNumber snapshot = seq - 1;
  for (int i = 0; i < 5000; i++) {
    history.push_back({"m", seq++, i % 2 == 0 ? kTypeDeletion : kTypeValue, "m-new"});
    history.push_back({"b", seq++, kTypeValue, "b-new"});
  }
  auto it = MakeDBIter(history, snapshot);
  EXPECT_EQ((Keys{"a", "m", "z"}), ScanForward(it.get()));
  EXPECT_EQ((Keys{"z", "m", "a"}), ScanBackward(it.get()));
  it->Seek("b");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("m", it->key());
  EXPECT_EQ("m-visible", it->value());
  it->Prev();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("a", it->key());
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("m-visible", it->value());
  // Many visible versions: the newest wins both ways.
  std::vector<Op> versions;
  for (SequenceNumber s = 1; s <= 3000; s++)
    versions.push_back({"k", s, kTypeValue, std::to_string(s)});
  auto v = MakeDBIter(versions, 2000);
  v->SeekToLast();
  ASSERT_TRUE(v->Valid());
  EXPECT_EQ("2000", v->value());
  v->SeekToFirst();
  ASSERT_TRUE(v->Valid());
  EXPECT_EQ("2000", v->value());
  v->Next();
  EXPECT_FALSE(v->Valid());
}

TEST(DBIterTest, EmptyRanges) {
  const std::vector<Op> history = {{"a", 1, kTypeValue, "1"},
                                   {"b", 2, kTypeValue, "2"},
                                   {"c", 3, kTypeDeletion, ""},
                                   {"d", 4, kTypeValue, "4"}};
  for (auto [lower, upper] : std::vector<std::pair<std::string, std::string>>{
           {"b", "b"}, {"c", "b"}, {"c", "d"}, {"bb", "c"}, {"e", "z"}}) {
    SCOPED_TRACE(lower + ".." + upper);
    auto it = MakeDBIter(history, 10, lower, upper);
    EXPECT_TRUE(ScanForward(it.get()).empty());
    EXPECT_TRUE(ScanBackward(it.get()).empty());
    it->Seek("");
    EXPECT_FALSE(it->Valid());
    it->SeekForPrev("zz");
    EXPECT_FALSE(it->Valid());
    EXPECT_TRUE(it->status().ok());
  }
  auto none = MakeDBIter({}, 10);
  EXPECT_TRUE(ScanForward(none.get()).empty());
  auto before_everything = MakeDBIter(history, 0);
  EXPECT_TRUE(ScanBackward(before_everything.get()).empty());
}

// A key whose tag carries an unknown type.
std::string BadKey(const std::string& user, SequenceNumber seq) {
  std::string k = user;
  PutFixed64(&k, (seq << 8) | 0x7);
  return k;
}

TEST(DBIterTest, CorruptedInternalKeyIsReported) {
  std::vector<Entry> entries = {
      {IKey("a", 1, kTypeValue), "a"}, {BadKey("b", 2), "b"}, {IKey("c", 3, kTypeValue), "c"}};
  for (int how = 0; how < 5; how++) {
    SCOPED_TRACE(how);
    std::unique_ptr<Iterator> it(NewDBIterator(BytewiseComparator(), new VectorIterator(entries),
                                               10, std::nullopt, std::nullopt));
    switch (how) {
      case 0:
        it->SeekToFirst();
        ASSERT_TRUE(it->Valid());
        EXPECT_EQ("a", it->key());
        it->Next();
        break;
      case 1:
        // Backward, "c" is only complete once the entry before it was read:
        // the damaged entry could have been a newer version of "c".
        it->SeekToLast();
        break;
      case 2:
        it->Seek("b");
        break;
      case 3:
        it->SeekForPrev("b");
        break;
      case 4:
        it->Seek("c");
        ASSERT_TRUE(it->Valid());
        it->Prev();  // steps back over the bad key while leaving "c"
        break;
    }
    EXPECT_FALSE(it->Valid());
    EXPECT_TRUE(it->status().IsCorruption()) << it->status().ToString();
    // A seek away from the damage works again.
    it->Seek("c");
    ASSERT_TRUE(it->Valid());
    EXPECT_EQ("c", it->key());
    EXPECT_TRUE(it->status().ok());
  }
  // Even an invisible corrupt entry is not skipped silently.
  std::unique_ptr<Iterator> it(NewDBIterator(BytewiseComparator(), new VectorIterator(entries), 1,
                                             std::nullopt, std::nullopt));
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  it->Next();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsCorruption());
}

TEST(DBIterTest, InternalIteratorErrorIsReported) {
  std::vector<Entry> entries;
  for (int i = 0; i < 10; i++) {
    entries.emplace_back(IKey(std::string(1, static_cast<char>('a' + i)), i + 1, kTypeValue), "v");
  }
  for (size_t fail_at : {0u, 4u, 9u}) {
    std::unique_ptr<Iterator> it(NewDBIterator(BytewiseComparator(),
                                               new VectorIterator(entries, fail_at), 100,
                                               std::nullopt, std::nullopt));
    size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
    EXPECT_EQ(fail_at, n);
    EXPECT_TRUE(it->status().IsIOError());
    n = 0;
    for (it->SeekToLast(); it->Valid(); it->Prev()) n++;
    // Backward, the key after the failed entry is not produced either: the
    // failed entry could have been a newer version of it.
    EXPECT_EQ(fail_at + 1 == entries.size() ? 0 : entries.size() - 2 - fail_at, n);
    EXPECT_TRUE(it->status().IsIOError());
  }
}

}  // namespace
}  // namespace lsmkv
