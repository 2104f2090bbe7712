#include "db/merging_iterator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/dbformat.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

using Entry = std::pair<std::string, std::string>;

// An iterator over a sorted vector. If fail_at is set, positioning on that
// index makes the iterator invalid with an IOError instead.
class VectorIterator final : public Iterator {
 public:
  VectorIterator(const Comparator* cmp, std::vector<Entry> entries, size_t fail_at = SIZE_MAX)
      : cmp_(cmp), entries_(std::move(entries)), fail_at_(fail_at), pos_(entries_.size()) {}

  bool Valid() const override { return pos_ < entries_.size() && status_.ok(); }
  void SeekToFirst() override { Set(0); }
  void SeekToLast() override { Set(entries_.empty() ? entries_.size() : entries_.size() - 1); }
  void Seek(std::string_view target) override { Set(LowerBound(target)); }
  void SeekForPrev(std::string_view target) override {
    size_t i = UpperBound(target);
    Set(i == 0 ? entries_.size() : i - 1);
  }
  void Next() override {
    ASSERT_TRUE(Valid());
    Set(pos_ + 1);
  }
  void Prev() override {
    ASSERT_TRUE(Valid());
    Set(pos_ == 0 ? entries_.size() : pos_ - 1);
  }
  std::string_view key() const override {
    EXPECT_TRUE(Valid());
    return entries_[pos_].first;
  }
  std::string_view value() const override {
    EXPECT_TRUE(Valid());
    return entries_[pos_].second;
  }
  Status status() const override { return status_; }

 private:
  void Set(size_t pos) {
    pos_ = pos;
    status_ = pos == fail_at_ ? Status::IOError("injected child failure") : Status::OK();
  }
  size_t LowerBound(std::string_view t) const {
    size_t lo = 0, hi = entries_.size();
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (cmp_->Compare(entries_[mid].first, t) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo;
  }
  size_t UpperBound(std::string_view t) const {
    size_t lo = 0, hi = entries_.size();
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (cmp_->Compare(entries_[mid].first, t) <= 0)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo;
  }

  const Comparator* cmp_;
  std::vector<Entry> entries_;
  size_t fail_at_;
  size_t pos_;
  Status status_;
};

const InternalKeyComparator kIcmp(BytewiseComparator());

std::string IKey(const std::string& user, SequenceNumber seq, ValueType t = kTypeValue) {
  std::string k;
  AppendInternalKey(&k, user, seq, t);
  return k;
}

// The expected merged order: (key, child index) ascending. value = child:index.
struct Model {
  const Comparator* cmp;
  std::vector<Entry> entries;
  size_t LowerBound(std::string_view t) const {
    return std::partition_point(entries.begin(), entries.end(),
                                [&](const Entry& e) { return cmp->Compare(e.first, t) < 0; }) -
           entries.begin();
  }
  size_t UpperBound(std::string_view t) const {
    return std::partition_point(entries.begin(), entries.end(),
                                [&](const Entry& e) { return cmp->Compare(e.first, t) <= 0; }) -
           entries.begin();
  }
};

// Splits entries (sorted by cmp) over n children at random; returns the
// children's contents and fills *model with the merged order.
std::vector<std::vector<Entry>> Split(const Comparator* cmp, const std::vector<std::string>& keys,
                                      int n, Random* rnd, Model* model) {
  std::vector<std::vector<Entry>> parts(n);
  for (const std::string& k : keys) {
    const int child = static_cast<int>(rnd->Uniform(n));
    parts[child].emplace_back(k, std::to_string(child) + ":" + std::to_string(parts[child].size()));
  }
  model->cmp = cmp;
  model->entries.clear();
  for (int c = 0; c < n; c++) {
    std::sort(parts[c].begin(), parts[c].end(),
              [&](const Entry& a, const Entry& b) { return cmp->Compare(a.first, b.first) < 0; });
    // Children hold strictly increasing keys: drop duplicates within a child.
    parts[c].erase(std::unique(parts[c].begin(), parts[c].end(),
                               [&](const Entry& a, const Entry& b) {
                                 return cmp->Compare(a.first, b.first) == 0;
                               }),
                   parts[c].end());
    for (size_t i = 0; i < parts[c].size(); i++) {
      parts[c][i].second = std::to_string(c) + ":" + std::to_string(i);
    }
  }
  for (int c = 0; c < n; c++) {
    for (const Entry& e : parts[c]) model->entries.push_back(e);
  }
  // Stable on the key: equal keys stay in child order.
  std::stable_sort(
      model->entries.begin(), model->entries.end(),
      [&](const Entry& a, const Entry& b) { return cmp->Compare(a.first, b.first) < 0; });
  return parts;
}

std::unique_ptr<Iterator> Merge(const Comparator* cmp, const std::vector<std::vector<Entry>>& parts,
                                size_t failing_child = SIZE_MAX, size_t fail_at = SIZE_MAX) {
  std::vector<std::unique_ptr<Iterator>> children;
  for (size_t c = 0; c < parts.size(); c++) {
    children.push_back(
        std::make_unique<VectorIterator>(cmp, parts[c], c == failing_child ? fail_at : SIZE_MAX));
  }
  return std::unique_ptr<Iterator>(NewMergingIterator(cmp, std::move(children)));
}

// Runs random operations on the merging iterator and the model side by side.
void RunRandomOps(const Comparator* cmp, const Model& model, Iterator* it, Random* rnd,
                  const std::vector<std::string>& probe_keys, int ops) {
  const size_t n = model.entries.size();
  size_t pos = n;  // model position; n = invalid
  for (int op = 0; op < ops; op++) {
    const std::string& probe = probe_keys[rnd->Uniform(static_cast<uint32_t>(probe_keys.size()))];
    std::string what;
    switch (rnd->Uniform(pos < n ? 10 : 4)) {
      case 0:
        what = "Seek";
        it->Seek(probe);
        pos = model.LowerBound(probe);
        break;
      case 1: {
        what = "SeekForPrev";
        it->SeekForPrev(probe);
        const size_t u = model.UpperBound(probe);
        pos = u == 0 ? n : u - 1;
        break;
      }
      case 2:
        what = "SeekToFirst";
        it->SeekToFirst();
        pos = 0;
        break;
      case 3:
        what = "SeekToLast";
        it->SeekToLast();
        pos = n == 0 ? 0 : n - 1;
        break;
      case 4:
      case 5:
      case 6:
        what = "Next";
        it->Next();
        pos++;
        break;
      default:
        what = "Prev";
        it->Prev();
        pos = pos == 0 ? n : pos - 1;
        break;
    }
    ASSERT_EQ(pos < n, it->Valid()) << "op " << op << " " << what;
    ASSERT_TRUE(it->status().ok());
    if (pos < n) {
      ASSERT_EQ(model.entries[pos].first, it->key()) << "op " << op << " " << what;
      ASSERT_EQ(model.entries[pos].second, it->value()) << "op " << op << " " << what;
    }
  }
}

TEST(MergingIteratorTest, RandomInternalKeysMatchSortedUnion) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  for (int round = 0; round < 300; round++) {
    const int num_children = 1 + static_cast<int>(rnd.Uniform(8));
    const int num_keys = static_cast<int>(rnd.Uniform(round % 10 == 0 ? 3 : 200));
    std::vector<std::string> keys;
    std::vector<std::string> probes;
    SequenceNumber seq = 1;
    for (int i = 0; i < num_keys; i++) {
      const std::string user = rnd.RandomKey(1 + rnd.Uniform(3));
      keys.push_back(IKey(user, seq++, rnd.OneIn(4) ? kTypeDeletion : kTypeValue));
    }
    for (int i = 0; i < 20; i++)
      probes.push_back(IKey(rnd.RandomKey(1 + rnd.Uniform(3)), rnd.Uniform(300)));
    for (const std::string& k : keys) probes.push_back(k);
    Model model;
    auto parts = Split(&kIcmp, keys, num_children, &rnd, &model);
    ASSERT_EQ(keys.size(), model.entries.size());  // internal keys are unique
    auto it = Merge(&kIcmp, parts);
    RunRandomOps(&kIcmp, model, it.get(), &rnd, probes, 400);
  }
}

TEST(MergingIteratorTest, EqualKeysAcrossChildrenKeepAStrictOrder) {
  Random rnd(test::TestSeed() + 1);
  const Comparator* cmp = BytewiseComparator();
  for (int round = 0; round < 200; round++) {
    const int num_children = 2 + static_cast<int>(rnd.Uniform(7));
    std::vector<std::string> keys;
    // A tiny key space: most keys are present in several children.
    for (int i = 0; i < 60; i++)
      keys.push_back(std::string(1, static_cast<char>('a' + rnd.Uniform(8))));
    std::vector<std::string> probes;
    for (char c = 'a' - 1; c <= 'a' + 8; c++) probes.push_back(std::string(1, c));
    Model model;
    auto parts = Split(cmp, keys, num_children, &rnd, &model);
    auto it = Merge(cmp, parts);
    RunRandomOps(cmp, model, it.get(), &rnd, probes, 300);
  }
}

TEST(MergingIteratorTest, FullScansBothWays) {
  Random rnd(test::TestSeed() + 2);
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; i++) keys.push_back(IKey(rnd.RandomKey(4), i + 1));
  Model model;
  auto parts = Split(&kIcmp, keys, 5, &rnd, &model);
  auto it = Merge(&kIcmp, parts);
  size_t i = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), i++)
    ASSERT_EQ(model.entries[i].first, it->key());
  EXPECT_EQ(model.entries.size(), i);
  for (it->SeekToLast(); it->Valid(); it->Prev()) ASSERT_EQ(model.entries[--i].first, it->key());
  EXPECT_EQ(0u, i);
  EXPECT_TRUE(it->status().ok());
}

TEST(MergingIteratorTest, NoChildrenAndEmptyChildren) {
  std::unique_ptr<Iterator> none(NewMergingIterator(&kIcmp, {}));
  none->SeekToFirst();
  EXPECT_FALSE(none->Valid());
  EXPECT_TRUE(none->status().ok());
  auto empty = Merge(&kIcmp, {{}, {}, {}});
  empty->SeekToLast();
  EXPECT_FALSE(empty->Valid());
  empty->Seek(IKey("a", 1));
  EXPECT_FALSE(empty->Valid());
  EXPECT_TRUE(empty->status().ok());
}

// A child failing at a random position: the merged sequence is a prefix of
// the model that stops at (never past) the failure, with the child's error.
TEST(MergingIteratorTest, ChildErrorStopsIterationAndPropagates) {
  Random rnd(test::TestSeed() + 3);
  for (int round = 0; round < 300; round++) {
    const int num_children = 2 + static_cast<int>(rnd.Uniform(7));
    std::vector<std::string> keys;
    for (int i = 0; i < 100; i++) keys.push_back(IKey(rnd.RandomKey(2), i + 1));
    Model model;
    auto parts = Split(&kIcmp, keys, num_children, &rnd, &model);
    const size_t failing = rnd.Uniform(num_children);
    if (parts[failing].empty()) continue;
    const size_t fail_at = rnd.Uniform(static_cast<uint32_t>(parts[failing].size()));
    const std::string bad_key = parts[failing][fail_at].first;
    auto it = Merge(&kIcmp, parts, failing, fail_at);
    const bool forward = rnd.OneIn(2);
    size_t seen = 0;
    if (forward) {
      for (it->SeekToFirst(); it->Valid(); it->Next(), seen++) {
        ASSERT_EQ(model.entries[seen].first, it->key());
        ASSERT_LT(kIcmp.Compare(it->key(), bad_key), 0) << "went past the failed entry";
      }
    } else {
      for (it->SeekToLast(); it->Valid(); it->Prev(), seen++) {
        ASSERT_EQ(model.entries[model.entries.size() - 1 - seen].first, it->key());
        ASSERT_GT(kIcmp.Compare(it->key(), bad_key), 0) << "went past the failed entry";
      }
    }
    EXPECT_LT(seen, model.entries.size());
    EXPECT_TRUE(it->status().IsIOError()) << it->status().ToString();
    // A seek away from the failed entry recovers.
    it->Seek(model.entries.back().first);
    if (model.entries.back().first != bad_key) {
      EXPECT_TRUE(it->Valid());
      EXPECT_TRUE(it->status().ok());
    }
  }
}

// The failure is met while switching direction (a non-current child is
// repositioned onto its failing entry).
TEST(MergingIteratorTest, ChildErrorDuringDirectionSwitch) {
  // child 0: a c e ; child 1: b d (fails at "b").
  const Comparator* cmp = BytewiseComparator();
  std::vector<std::vector<Entry>> parts = {{{"a", "0"}, {"c", "0"}, {"e", "0"}},
                                           {{"b", "1"}, {"d", "1"}}};
  auto it = Merge(cmp, parts, 1, 0);
  it->Seek("c");  // child 1 lands on "d": fine
  ASSERT_TRUE(it->Valid());
  ASSERT_EQ("c", it->key());
  it->Prev();  // child 1 must be repositioned at "b", which fails
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsIOError());
  it->Seek("d");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("d", it->key());
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("e", it->key());
  EXPECT_TRUE(it->status().ok());
}

}  // namespace
}  // namespace lsmkv
