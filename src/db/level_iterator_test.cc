#include "db/level_iterator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/dbformat.h"
#include "lsmkv/env.h"
#include "table/table_builder.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

const InternalKeyComparator kIcmp(BytewiseComparator());

using Entry = std::pair<std::string, std::string>;

// Counts, per file name, how often a file was opened for reading.
class CountingEnv final : public EnvWrapper {
 public:
  explicit CountingEnv(Env* target) : EnvWrapper(target) {}
  Status NewRandomAccessFile(const std::string& f, std::unique_ptr<RandomAccessFile>* r) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      opened_.insert(f);
    }
    return target()->NewRandomAccessFile(f, r);
  }
  std::set<std::string> opened() {
    std::lock_guard<std::mutex> lock(mu_);
    return opened_;
  }
  void Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    opened_.clear();
  }

 private:
  std::mutex mu_;
  std::set<std::string> opened_;
};

std::string TableName(uint64_t number) { return "/level/" + std::to_string(number) + ".sst"; }

std::string IKey(const std::string& user, SequenceNumber seq, ValueType t = kTypeValue) {
  std::string k;
  AppendInternalKey(&k, user, seq, t);
  return k;
}

class LevelIteratorTest : public testing::Test {
 protected:
  LevelIteratorTest() : mem_env_(NewMemEnv(Env::Default())), env_(mem_env_.get()) {
    EXPECT_TRUE(env_.CreateDir("/level").ok());
    table_options_.comparator = &kIcmp;
    table_options_.internal_keys = true;
    table_options_.block_size = 256;  // several blocks per table
  }

  // Writes a table with entries (sorted) as file number; returns its metadata.
  FileRef WriteTable(uint64_t number, const std::vector<Entry>& entries) {
    std::unique_ptr<WritableFile> file;
    EXPECT_TRUE(env_.NewWritableFile(TableName(number), &file).ok());
    TableBuilder builder(table_options_, file.get());
    for (const Entry& e : entries) EXPECT_TRUE(builder.Add(e.first, e.second).ok());
    EXPECT_TRUE(builder.Finish().ok());
    EXPECT_TRUE(file->Close().ok());
    auto meta = std::make_shared<FileMetaData>();
    meta->number = number;
    meta->file_size = builder.FileSize();
    meta->smallest = entries.front().first;
    meta->largest = entries.back().first;
    meta->num_entries = entries.size();
    return meta;
  }

  // A level of num_files tables over random keys; fills model_, files_ and
  // file_entries_.
  void BuildLevel(Random* rnd, int num_files, int entries_per_file) {
    std::vector<Entry> all;
    std::set<std::string> users;
    while (users.size() < static_cast<size_t>(num_files * entries_per_file / 2)) {
      users.insert(rnd->RandomKey(1 + rnd->Uniform(4)));
    }
    SequenceNumber seq = 1;
    for (const std::string& u : users) {
      const int versions = 1 + static_cast<int>(rnd->Uniform(3));
      for (int v = 0; v < versions; v++) {
        all.emplace_back(IKey(u, seq, rnd->OneIn(4) ? kTypeDeletion : kTypeValue),
                         "value-" + std::to_string(seq));
        seq++;
      }
    }
    std::sort(all.begin(), all.end(),
              [](const Entry& a, const Entry& b) { return kIcmp.Compare(a.first, b.first) < 0; });
    // Cut into files at random points (a user key's versions may straddle two files).
    model_ = all;
    files_.clear();
    file_entries_.clear();
    std::set<size_t> cuts = {0, all.size()};
    while (cuts.size() < static_cast<size_t>(num_files) + 1) {
      cuts.insert(1 + rnd->Uniform(static_cast<uint32_t>(all.size() - 1)));
    }
    for (auto c = cuts.begin(); std::next(c) != cuts.end(); ++c) {
      std::vector<Entry> part(all.begin() + *c, all.begin() + *std::next(c));
      files_.push_back(WriteTable(100 + files_.size(), part));
      file_entries_.push_back(std::move(part));
    }
  }

  std::unique_ptr<Iterator> NewIter(TableCache* cache, const ReadOptions& ro) {
    return std::unique_ptr<Iterator>(NewLevelIterator(cache, ro, &kIcmp, files_));
  }

  std::unique_ptr<TableCache> NewCache() {
    return std::make_unique<TableCache>(&env_, table_options_, TableName, 1000);
  }

  std::unique_ptr<Env> mem_env_;
  CountingEnv env_;
  TableOptions table_options_;
  std::vector<FileRef> files_;
  std::vector<std::vector<Entry>> file_entries_;
  std::vector<Entry> model_;
};

// Random operations against model (the entries the iterator should produce).
void RunRandomOps(const std::vector<Entry>& model, const std::vector<std::string>& probes,
                  Iterator* it, Random* rnd, int ops) {
  const size_t n = model.size();
  auto bound = [&](const std::string& t, bool upper) {
    return static_cast<size_t>(std::partition_point(model.begin(), model.end(),
                                                    [&](const Entry& e) {
                                                      const int c = kIcmp.Compare(e.first, t);
                                                      return upper ? c <= 0 : c < 0;
                                                    }) -
                               model.begin());
  };
  size_t pos = n;
  std::string trace;
  for (int op = 0; op < ops; op++) {
    const std::string& t = probes[rnd->Uniform(static_cast<uint32_t>(probes.size()))];
    switch (rnd->Uniform(pos < n ? 10 : 4)) {
      case 0:
        trace += " Seek";
        it->Seek(t);
        pos = bound(t, false);
        break;
      case 1: {
        trace += " SeekForPrev";
        it->SeekForPrev(t);
        const size_t u = bound(t, true);
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

std::vector<std::string> Probes(Random* rnd, const std::vector<Entry>& model) {
  std::vector<std::string> probes;
  for (int i = 0; i < 50; i++)
    probes.push_back(IKey(rnd->RandomKey(1 + rnd->Uniform(4)), rnd->Uniform(200)));
  for (size_t i = 0; i < model.size(); i += 3) probes.push_back(model[i].first);
  return probes;
}

TEST_F(LevelIteratorTest, MatchesModelBothWays) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  for (int round = 0; round < 8; round++) {
    BuildLevel(&rnd, 1 + static_cast<int>(rnd.Uniform(10)), 40);
    auto cache = NewCache();
    auto it = NewIter(cache.get(), ReadOptions());
    size_t i = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), i++) ASSERT_EQ(model_[i].first, it->key());
    ASSERT_EQ(model_.size(), i);
    for (it->SeekToLast(); it->Valid(); it->Prev()) ASSERT_EQ(model_[--i].first, it->key());
    ASSERT_EQ(0u, i);
    RunRandomOps(model_, Probes(&rnd, model_), it.get(), &rnd, 1500);
    if (HasFatalFailure()) return;
  }
}

TEST_F(LevelIteratorTest, OpensTablesLazily) {
  Random rnd(test::TestSeed() + 1);
  BuildLevel(&rnd, 6, 30);
  ASSERT_EQ(6u, files_.size());
  auto cache = NewCache();
  env_.Reset();
  auto it = NewIter(cache.get(), ReadOptions());
  EXPECT_TRUE(env_.opened().empty());
  it->Seek(file_entries_[3][1].first);
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(file_entries_[3][1].first, it->key());
  EXPECT_EQ(std::set<std::string>{TableName(103)}, env_.opened());
  it->SeekForPrev(file_entries_[1].back().first);
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ((std::set<std::string>{TableName(101), TableName(103)}), env_.opened());
}

// Files entirely outside [lower, upper) are never opened; the others are
// produced whole (the DB iterator trims them).
TEST_F(LevelIteratorTest, BoundsSkipFilesOutside) {
  Random rnd(test::TestSeed() + 2);
  for (int round = 0; round < 20; round++) {
    BuildLevel(&rnd, 2 + static_cast<int>(rnd.Uniform(8)), 20);
    ReadOptions ro;
    // Bounds: user keys taken from the data or random.
    auto pick = [&]() {
      return rnd.OneIn(3) ? rnd.RandomKey(1 + rnd.Uniform(3))
                          : std::string(ExtractUserKey(
                                model_[rnd.Uniform(static_cast<uint32_t>(model_.size()))].first));
    };
    if (!rnd.OneIn(4)) ro.lower_bound = pick();
    if (!rnd.OneIn(4)) ro.upper_bound = pick();
    std::vector<Entry> expected;
    std::set<std::string> allowed;
    for (size_t f = 0; f < files_.size(); f++) {
      const std::string smallest(ExtractUserKey(files_[f]->smallest));
      const std::string largest(ExtractUserKey(files_[f]->largest));
      const bool outside = (ro.lower_bound && largest < *ro.lower_bound) ||
                           (ro.upper_bound && smallest >= *ro.upper_bound);
      if (outside) continue;
      allowed.insert(TableName(files_[f]->number));
      expected.insert(expected.end(), file_entries_[f].begin(), file_entries_[f].end());
    }
    auto cache = NewCache();
    env_.Reset();
    auto it = NewIter(cache.get(), ro);
    RunRandomOps(expected, Probes(&rnd, model_), it.get(), &rnd, 600);
    if (HasFatalFailure()) return;
    for (const std::string& name : env_.opened()) {
      EXPECT_TRUE(allowed.count(name) != 0) << name << " is outside the bounds but was opened";
    }
  }
}

TEST_F(LevelIteratorTest, EmptyLevel) {
  auto cache = NewCache();
  auto it = NewIter(cache.get(), ReadOptions());
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  it->SeekToLast();
  EXPECT_FALSE(it->Valid());
  it->Seek(IKey("a", 1));
  EXPECT_FALSE(it->Valid());
  it->SeekForPrev(IKey("a", 1));
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
}

// A table that cannot be opened stops the iteration with its error, in
// both directions, instead of being skipped.
TEST_F(LevelIteratorTest, TableOpenErrorIsReported) {
  Random rnd(test::TestSeed() + 3);
  BuildLevel(&rnd, 5, 20);
  ASSERT_EQ(5u, files_.size());
  ASSERT_TRUE(env_.RemoveFile(TableName(102)).ok());
  auto cache = NewCache();
  auto it = NewIter(cache.get(), ReadOptions());
  size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
  EXPECT_EQ(file_entries_[0].size() + file_entries_[1].size(), n);
  EXPECT_FALSE(it->status().ok());
  n = 0;
  for (it->SeekToLast(); it->Valid(); it->Prev()) n++;
  EXPECT_EQ(file_entries_[3].size() + file_entries_[4].size(), n);
  EXPECT_FALSE(it->status().ok());
  it->Seek(file_entries_[2][0].first);
  EXPECT_FALSE(it->Valid());
  EXPECT_FALSE(it->status().ok());
  // Other files still work.
  it->Seek(file_entries_[4][0].first);
  ASSERT_TRUE(it->Valid());
  EXPECT_TRUE(it->status().ok());
}

}  // namespace
}  // namespace lsmkv
