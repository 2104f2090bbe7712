// CompactionFilter: values the filter removes read as deleted after
// compaction, older versions never come back, snapshots keep what they see,
// and the filter sees only values (never deletions).
#include <atomic>
#include <map>
#include <mutex>

#include "db/db_impl.h"
#include "db/db_testutil.h"
#include "gtest/gtest.h"
#include "lsmkv/compaction_filter.h"
#include "lsmkv/db.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

// Removes every value that starts with "expired".
class ExpiringFilter : public CompactionFilter {
 public:
  Decision Filter(int level, std::string_view key, std::string_view value) const override {
    calls++;
    if (level < 1) bad_level++;
    {
      std::lock_guard<std::mutex> guard(mu);
      seen[std::string(key)] = std::string(value);
    }
    return value.substr(0, 7) == "expired" ? Decision::kRemove : Decision::kKeep;
  }
  const char* Name() const override { return "ExpiringFilter"; }

  mutable std::atomic<int> calls{0};
  mutable std::atomic<int> bad_level{0};
  mutable std::mutex mu;
  mutable std::map<std::string, std::string> seen;
};

class CompactionFilterTest : public test::DBTestBase<> {
 protected:
  void SetUp() override {
    filter_ = std::make_shared<ExpiringFilter>();
    dbname_ = "/filter";
    options_.write_buffer_size = 16 * 1024;
    options_.target_file_size = 8 * 1024;
    options_.max_bytes_for_level_base = 32 * 1024;
    options_.compaction_filter = filter_;
    ASSERT_TRUE(Reopen().ok());
  }
  void Put(std::string_view k, std::string_view v) { ASSERT_TRUE(DBTestBase::Put(k, v).ok()); }
  int CountKeys() { return static_cast<int>(Contents().size()); }

  std::shared_ptr<ExpiringFilter> filter_;
};

TEST_F(CompactionFilterTest, RemovedValuesReadAsDeletedAndLeaveTheDisk) {
  for (int i = 0; i < 1000; i++) {
    Put("key" + std::to_string(i), (i % 2 == 0 ? "expired-" : "live-") + std::to_string(i));
  }
  EXPECT_EQ(1000, CountKeys()) << "before compaction the filter has not run";
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_GE(filter_->calls.load(), 1000);
  EXPECT_EQ(0, filter_->bad_level.load());
  for (int i = 0; i < 1000; i++) {
    const std::string key = "key" + std::to_string(i);
    EXPECT_EQ(i % 2 == 0 ? "NOT_FOUND" : "live-" + std::to_string(i), Get(key)) << key;
  }
  EXPECT_EQ(500, CountKeys());
  // A second full compaction finds no deletion left to carry: the removed
  // values became deletions at the bottom level and were dropped at once.
  std::string live;
  ASSERT_TRUE(db_->GetProperty("lsmkv.live-files", &live));
  ASSERT_TRUE(static_cast<DBImpl*>(db_.get())->TEST_CheckInvariants().ok());
}

// The newest version is removed: the older one below must not reappear.
// A filter may read the DB it filters (compaction holds no DB lock while it
// runs): here it removes "child/N" when "parent/N" is gone, reading at a
// snapshot, with compactions running on several threads and writers going on.
class ParentFilter : public CompactionFilter {
 public:
  Decision Filter(int, std::string_view key, std::string_view) const override {
    if (key.substr(0, 6) != "child/") return Decision::kKeep;
    DB* db = db_.load();
    if (db == nullptr) return Decision::kKeep;
    const Snapshot* snap = db->GetSnapshot();
    ReadOptions ro;
    ro.snapshot = snap;
    std::string v;
    Status s = db->Get(ro, "parent/" + std::string(key.substr(6)), &v);
    db->ReleaseSnapshot(snap);
    reads++;
    return s.IsNotFound() ? Decision::kRemove : Decision::kKeep;
  }
  const char* Name() const override { return "ParentFilter"; }
  mutable std::atomic<DB*> db_{nullptr};
  mutable std::atomic<int> reads{0};
};

TEST(CompactionFilterReadsTest, AFilterMayReadTheDatabase) {
  std::unique_ptr<Env> env(NewMemEnv(Env::Default()));
  auto filter = std::make_shared<ParentFilter>();
  Options o;
  o.env = env.get();
  o.create_if_missing = true;
  o.write_buffer_size = 16 * 1024;
  o.target_file_size = 8 * 1024;
  o.max_background_compactions = 2;
  o.compaction_filter = filter;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(o, "/reads", &db).ok());
  filter->db_ = db.get();
  for (int i = 0; i < 600; i++) {
    ASSERT_TRUE(db->Put(WriteOptions(), "parent/" + std::to_string(i), "p").ok());
    ASSERT_TRUE(db->Put(WriteOptions(), "child/" + std::to_string(i), std::string(100, 'c')).ok());
  }
  for (int i = 0; i < 600; i += 2) {
    ASSERT_TRUE(db->Delete(WriteOptions(), "parent/" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(db->CompactRange(nullptr, nullptr).ok());
  EXPECT_GT(filter->reads.load(), 0);
  for (int i = 0; i < 600; i++) {
    std::string v;
    Status s = db->Get(ReadOptions(), "child/" + std::to_string(i), &v);
    EXPECT_EQ(i % 2 == 1, s.ok()) << i << " " << s.ToString();
  }
  filter->db_ = nullptr;
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(CompactionFilterTest, RemovingTheNewestVersionDoesNotResurrectAnOlderOne) {
  Put("k", "old live value");
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());  // "old" now in a deep level
  Put("k", "expired now");
  for (int i = 0; i < 500; i++) Put("pad" + std::to_string(i), std::string(40, 'p'));
  ASSERT_TRUE(db_->Flush().ok());
  // Compact only level 0 into level 1: the old value stays deeper.
  ASSERT_TRUE(static_cast<DBImpl*>(db_.get())->TEST_WaitForBackgroundWork().ok());
  EXPECT_EQ("NOT_FOUND", Get("k")) << "expired value read, or the old one resurrected";
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ("NOT_FOUND", Get("k"));
  Put("k", "new");
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ("new", Get("k"));
}

// A value some snapshot can read is never offered to the filter.
TEST_F(CompactionFilterTest, SnapshotsKeepValuesTheyCanSee) {
  Put("a", "expired-a");
  const Snapshot* snap = db_->GetSnapshot();
  Put("b", "expired-b");  // newer than every snapshot: may be removed
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ("expired-a", Get("a", snap));
  EXPECT_EQ("expired-a", Get("a")) << "visible to a snapshot, so not filtered";
  EXPECT_EQ("NOT_FOUND", Get("b"));
  EXPECT_EQ("NOT_FOUND", Get("b", snap)) << "b did not exist at the snapshot";
  db_->ReleaseSnapshot(snap);
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ("NOT_FOUND", Get("a"));
}

// Deletions are never offered; kept values pass through unchanged.
TEST_F(CompactionFilterTest, FilterSeesOnlyValues) {
  Put("x", "live-x");
  Put("y", "live-y");
  ASSERT_TRUE(db_->Delete(WriteOptions(), "y").ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  std::lock_guard<std::mutex> guard(filter_->mu);
  EXPECT_EQ(1u, filter_->seen.count("x"));
  EXPECT_EQ("live-x", filter_->seen["x"]);
  EXPECT_EQ(0u, filter_->seen.count("y")) << "y's value is shadowed by its deletion";
  EXPECT_EQ("live-x", Get("x"));
}

// CompactRange with a filter rewrites the deepest level holding the range
// into itself, also when that is the last level (kNumLevels - 1). Before the
// fix, picking that compaction looked for inputs in level kNumLevels, one past
// the version's array (the DCHECK in OverlappingFiles found it).
TEST_F(CompactionFilterTest, CompactRangeRewritesTheLastLevel) {
  db_.reset();
  options_.max_bytes_for_level_base = 1;  // every level >= 1 holding data is over budget
  options_.level_size_multiplier = 2;
  options_.level0_file_limit = 1;  // and level 0 with one file
  ASSERT_TRUE(DB::Open(options_, "/filter-last", &db_).ok());
  for (int i = 0; i < 100; i++) {
    Put("key" + std::to_string(i), (i % 2 == 0 ? "expired-" : "live-") + std::to_string(i));
  }
  ASSERT_TRUE(db_->Flush().ok());
  // Automatic compactions carry the table down to the last level.
  ASSERT_TRUE(static_cast<DBImpl*>(db_.get())->TEST_WaitForBackgroundWork().ok());
  std::string levels;
  ASSERT_TRUE(db_->GetProperty("lsmkv.levels", &levels));
  const std::string last = "\nL" + std::to_string(kNumLevels - 1) + " ";
  const size_t at = levels.find(last);
  ASSERT_NE(std::string::npos, at) << levels;
  ASSERT_GE(std::stoi(levels.substr(at + last.size())), 1) << levels;

  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  for (int i = 0; i < 100; i++) {
    const std::string key = "key" + std::to_string(i);
    EXPECT_EQ(i % 2 == 0 ? "NOT_FOUND" : "live-" + std::to_string(i), Get(key)) << key;
  }
  EXPECT_EQ(50, CountKeys());
  EXPECT_TRUE(static_cast<DBImpl*>(db_.get())->TEST_CheckInvariants().ok());
}

}  // namespace
}  // namespace lsmkv
