// DB::DeleteRange: range tombstones honoured by Get, iterators and
// snapshots, through flushes, compactions, reopen and transactions, and
// retired by compaction once nothing they cover is left.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "db/db_testutil.h"
#include "db/version_edit.h"
#include "gtest/gtest.h"
#include "lsmkv/transaction.h"
#include "util/random.h"

namespace lsmkv {
namespace {

using test::DBTestBase;

class RangeDelTest : public DBTestBase<> {
 protected:
  void SetUp() override { ASSERT_TRUE(Reopen().ok()); }

  Status DeleteRange(std::string_view begin, std::string_view end) {
    return db_->DeleteRange(WriteOptions(), begin, end);
  }
  uint64_t LiveTombstones() {
    std::string v;
    EXPECT_TRUE(db_->GetProperty("lsmkv.range-tombstones", &v));
    return std::stoull(v);
  }
};

TEST_F(RangeDelTest, DeletesTheRangeOnly) {
  for (const char* k : {"a", "b", "c", "d", "e"}) ASSERT_TRUE(Put(k, std::string("v") + k).ok());
  ASSERT_TRUE(DeleteRange("b", "d").ok());
  EXPECT_EQ("va", Get("a"));
  EXPECT_EQ("NOT_FOUND", Get("b"));
  EXPECT_EQ("NOT_FOUND", Get("c"));
  EXPECT_EQ("vd", Get("d"));  // end is exclusive
  EXPECT_EQ("ve", Get("e"));
  std::map<std::string, std::string> expected = {{"a", "va"}, {"d", "vd"}, {"e", "ve"}};
  EXPECT_EQ(expected, Contents());
  // A key written after the deletion is live again.
  ASSERT_TRUE(Put("c", "new").ok());
  EXPECT_EQ("new", Get("c"));
  EXPECT_EQ(1u, LiveTombstones());
}

TEST_F(RangeDelTest, RefusesEmptyAndInvertedRanges) {
  ASSERT_TRUE(Put("a", "1").ok());
  for (auto [b, e] : {std::pair{"b", "b"}, std::pair{"c", "b"}}) {
    Status s = DeleteRange(b, e);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_NE(std::string::npos, s.ToString().find("begin must be before end")) << s.ToString();
  }
  // A batch holding a bad range is refused whole.
  WriteBatch batch;
  batch.Put("z", "1");
  batch.DeleteRange("q", "p");
  EXPECT_TRUE(db_->Write(WriteOptions(), &batch).IsInvalidArgument());
  EXPECT_EQ("NOT_FOUND", Get("z"));
  EXPECT_EQ(0u, LiveTombstones());
  // Key size limits apply to both ends.
  EXPECT_TRUE(DeleteRange("a", std::string(options_.max_key_size + 1, 'z')).IsInvalidArgument());
}

TEST_F(RangeDelTest, OrderInsideABatch) {
  ASSERT_TRUE(Put("k1", "old").ok());
  WriteBatch batch;
  batch.Put("k2", "before");  // deleted by the range deletion after it
  batch.DeleteRange("k", "l");
  batch.Put("k3", "after");  // written after it: live
  ASSERT_TRUE(db_->Write(WriteOptions(), &batch).ok());
  EXPECT_EQ("NOT_FOUND", Get("k1"));
  EXPECT_EQ("NOT_FOUND", Get("k2"));
  EXPECT_EQ("after", Get("k3"));
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ("NOT_FOUND", Get("k2"));
  EXPECT_EQ("after", Get("k3"));
}

TEST_F(RangeDelTest, IterateReportsRangeDeletions) {
  WriteBatch batch;
  batch.Put("a", "1");
  batch.DeleteRange("b", "c");
  struct Recorder : WriteBatch::Handler {
    std::string log;
    void Put(std::string_view k, std::string_view v) override {
      log += "put(" + std::string(k) + "," + std::string(v) + ")";
    }
    void Delete(std::string_view k) override { log += "del(" + std::string(k) + ")"; }
    bool DeleteRange(std::string_view b, std::string_view e) override {
      log += "delrange(" + std::string(b) + "," + std::string(e) + ")";
      return true;
    }
  } recorder;
  ASSERT_TRUE(batch.Iterate(&recorder).ok());
  EXPECT_EQ("put(a,1)delrange(b,c)", recorder.log);
  // A handler that predates DeleteRange is told, not silently skipped.
  struct Old : WriteBatch::Handler {
    void Put(std::string_view, std::string_view) override {}
    void Delete(std::string_view) override {}
  } old;
  Status s = batch.Iterate(&old);
  EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
}

TEST_F(RangeDelTest, SnapshotsSeeWhatWasThere) {
  for (int i = 0; i < 100; i++) ASSERT_TRUE(Put("k" + std::to_string(100 + i), "v").ok());
  const Snapshot* before = db_->GetSnapshot();
  ASSERT_TRUE(DeleteRange("k120", "k180").ok());
  auto check = [&] {
    EXPECT_EQ("v", Get("k150", before));
    EXPECT_EQ("NOT_FOUND", Get("k150"));
    ReadOptions ro;
    ro.snapshot = before;
    EXPECT_EQ(100u, test::ScanContents(db_.get(), ro).size());
    EXPECT_EQ(40u, Contents().size());
  };
  check();
  ASSERT_TRUE(db_->Flush().ok());
  check();
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  check();
  // The snapshot needed the data: the tombstone stays.
  EXPECT_EQ(1u, LiveTombstones());
  db_->ReleaseSnapshot(before);
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  // A background compaction started while a snapshot was held may have
  // kept covered data in a level CompactRange had passed: the range
  // deletion compactions that follow finish the job.
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  EXPECT_EQ(0u, LiveTombstones());  // retired with the data it covered
  EXPECT_EQ(40u, Contents().size());
  EXPECT_EQ("NOT_FOUND", Get("k150"));
  ASSERT_TRUE(impl()->TEST_CheckInvariants().ok());
}

TEST_F(RangeDelTest, CompactionReclaimsTheSpace) {
  options_.write_buffer_size = 64 * 1024;
  ASSERT_TRUE(Reopen().ok());
  const std::string value(1000, 'x');
  for (int i = 0; i < 2000; i++) {
    char key[16];
    std::snprintf(key, sizeof(key), "key%06d", i);
    ASSERT_TRUE(Put(key, value).ok());
  }
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  uint64_t before = 0, after = 0;
  Range all{"", "\xff"};
  ASSERT_TRUE(db_->GetApproximateSizes(&all, 1, &before).ok());
  ASSERT_TRUE(DeleteRange("key000000", "key001900").ok());
  EXPECT_EQ(100u, Contents().size());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  ASSERT_TRUE(db_->GetApproximateSizes(&all, 1, &after).ok());
  EXPECT_LT(after, before / 10) << before << " -> " << after;
  EXPECT_EQ(0u, LiveTombstones());
  EXPECT_EQ(100u, Contents().size());
}

// Without CompactRange: background compaction goes after the tables a
// tombstone is pending on, reclaims the space and retires it — once no
// snapshot predates it.
TEST_F(RangeDelTest, BackgroundCompactionReclaimsOnItsOwn) {
  options_.write_buffer_size = 64 * 1024;
  ASSERT_TRUE(Reopen().ok());
  const std::string value(1000, 'x');
  for (int i = 0; i < 2000; i++) {
    char key[16];
    std::snprintf(key, sizeof(key), "key%06d", i);
    ASSERT_TRUE(Put(key, value).ok());
  }
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  Range all{"", "\xff"};
  uint64_t before = 0, after = 0;
  ASSERT_TRUE(db_->GetApproximateSizes(&all, 1, &before).ok());
  const Snapshot* snap = db_->GetSnapshot();
  ASSERT_TRUE(DeleteRange("key000000", "key001900").ok());
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  EXPECT_EQ(1u, LiveTombstones());  // the snapshot still reads the data
  EXPECT_EQ(2000u, test::ScanContents(db_.get(),
                                      [&] {
                                        ReadOptions ro;
                                        ro.snapshot = snap;
                                        return ro;
                                      }())
                       .size());
  db_->ReleaseSnapshot(snap);  // lets the compaction start
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  EXPECT_EQ(0u, LiveTombstones());
  ASSERT_TRUE(db_->GetApproximateSizes(&all, 1, &after).ok());
  EXPECT_LT(after, before / 5) << before << " -> " << after;
  std::string stats;
  ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
  EXPECT_EQ(std::string::npos, stats.find(" 0 for range deletions)")) << stats;
  EXPECT_EQ(100u, Contents().size());
  ASSERT_TRUE(impl()->TEST_CheckInvariants().ok());
}

TEST_F(RangeDelTest, SurvivesReopenFromTheLogAndFromTheManifest) {
  for (int i = 0; i < 50; i++) ASSERT_TRUE(Put("k" + std::to_string(10 + i), "v").ok());
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(DeleteRange("k20", "k30").ok());
  // Only in the WAL and the memtable.
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ("NOT_FOUND", Get("k25"));
  EXPECT_EQ("v", Get("k30"));
  EXPECT_EQ(40u, Contents().size());
  ASSERT_TRUE(db_->Flush().ok());
  // In the MANIFEST now — unless a background compaction already dropped
  // k20..k29 and retired it (PickRangeDeletionCompaction): either way the
  // keys stay deleted.
  EXPECT_LE(LiveTombstones(), 1u);
  ASSERT_TRUE(Reopen().ok());
  EXPECT_LE(LiveTombstones(), 1u);
  EXPECT_EQ("NOT_FOUND", Get("k25"));
  EXPECT_EQ(40u, Contents().size());
}

TEST_F(RangeDelTest, ATombstoneOverNothingIsDroppedAtFlush) {
  ASSERT_TRUE(Put("a", "1").ok());
  ASSERT_TRUE(DeleteRange("x", "y").ok());
  EXPECT_EQ(1u, LiveTombstones());  // in the memtable
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ(0u, LiveTombstones());  // no table holds anything in [x, y)
  EXPECT_EQ("1", Get("a"));
}

TEST_F(RangeDelTest, ALimitBoundsLiveTombstones) {
  options_.max_range_tombstones = 3;
  ASSERT_TRUE(Reopen().ok());
  ASSERT_TRUE(Put("a", "1").ok());
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE(DeleteRange("b" + std::to_string(i), "c" + std::to_string(i)).ok());
  }
  Status s = DeleteRange("d", "e");
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("max_range_tombstones")) << s.ToString();
  // Compaction retires them (nothing is covered); then there is room again.
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  // A background compaction started while a snapshot was held may have
  // kept covered data in a level CompactRange had passed: the range
  // deletion compactions that follow finish the job.
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  EXPECT_EQ(0u, LiveTombstones());
  EXPECT_TRUE(DeleteRange("d", "e").ok());

  options_.max_range_tombstones = 0;
  EXPECT_TRUE(Reopen().IsInvalidArgument());
}

TEST_F(RangeDelTest, TransactionsConflictWithARangeDeletion) {
  options_.wal_recovery_mode = WalRecoveryMode::kPointInTime;  // transactions need it
  ASSERT_TRUE(Reopen().ok());
  ASSERT_TRUE(Put("m1", "v").ok());
  ASSERT_TRUE(Put("z", "v").ok());
  for (IsolationLevel level : {IsolationLevel::kSnapshot, IsolationLevel::kSerializable}) {
    TransactionOptions to;
    to.isolation = level;
    // Writes a key a later range deletion covers: first committer wins.
    std::unique_ptr<Transaction> writer = db_->BeginTransaction(WriteOptions(), to);
    ASSERT_TRUE(writer->Put("m2", "x").ok());
    // Reads a key it covers, writes elsewhere.
    std::unique_ptr<Transaction> reader = db_->BeginTransaction(WriteOptions(), to);
    std::string v;
    ASSERT_TRUE(reader->GetForUpdate(ReadOptions(), "m1", &v).ok());
    ASSERT_TRUE(reader->Put("z", "y").ok());
    // Scans a range it overlaps.
    std::unique_ptr<Transaction> scanner = db_->BeginTransaction(WriteOptions(), to);
    {
      ReadOptions ro;
      std::string lo = "l", hi = "n";
      ro.lower_bound = lo;
      ro.upper_bound = hi;
      std::unique_ptr<Iterator> it = scanner->NewIterator(ro);
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
      }
      ASSERT_TRUE(it->status().ok());
    }
    ASSERT_TRUE(scanner->Put("y", "1").ok());
    // Unrelated: commits.
    std::unique_ptr<Transaction> bystander = db_->BeginTransaction(WriteOptions(), to);
    ASSERT_TRUE(bystander->GetForUpdate(ReadOptions(), "z", &v).ok());
    ASSERT_TRUE(bystander->Put("a", "1").ok());

    ASSERT_TRUE(DeleteRange("m", "n").ok());
    Status s = writer->Commit();
    EXPECT_TRUE(s.IsBusy()) << s.ToString();
    EXPECT_NE(std::string::npos, s.ToString().find("range deletion")) << s.ToString();
    s = reader->Commit();
    EXPECT_TRUE(s.IsBusy()) << s.ToString();
    s = scanner->Commit();
    if (level == IsolationLevel::kSerializable) {
      EXPECT_TRUE(s.IsBusy()) << s.ToString();
    } else {
      EXPECT_TRUE(s.ok()) << s.ToString();  // SI does not validate reads
    }
    EXPECT_TRUE(bystander->Commit().ok());
    ASSERT_TRUE(Put("m1", "v").ok());
  }
}

// A tracked read that found no value stays true after a range deletion over
// its key (the key is still absent at commit), so it does not conflict with
// one — unless a point write came in between, or the transaction writes the
// key itself (first committer wins).
TEST_F(RangeDelTest, AnAbsentReadDoesNotConflictWithARangeDeletion) {
  options_.wal_recovery_mode = WalRecoveryMode::kPointInTime;
  ASSERT_TRUE(Reopen().ok());
  ASSERT_TRUE(Put("m1", "v").ok());
  for (IsolationLevel level : {IsolationLevel::kSnapshot, IsolationLevel::kSerializable}) {
    TransactionOptions to;
    to.isolation = level;
    std::string v;
    // Watches a missing key and writes nothing (Redis's WATCH + FLUSHALL).
    std::unique_ptr<Transaction> watcher = db_->BeginTransaction(WriteOptions(), to);
    ASSERT_TRUE(watcher->GetForUpdate(ReadOptions(), "m2", &v).IsNotFound());
    // Reads a missing key, writes elsewhere; at kSerializable a plain Get is
    // tracked too.
    std::unique_ptr<Transaction> reader = db_->BeginTransaction(WriteOptions(), to);
    ASSERT_TRUE(reader->GetForUpdate(ReadOptions(), "m3", &v).IsNotFound());
    ASSERT_TRUE(reader->Get(ReadOptions(), "m4", &v).IsNotFound());
    ASSERT_TRUE(reader->Put("z", "1").ok());
    // Reads a missing key that is then written and deleted again.
    std::unique_ptr<Transaction> rewritten = db_->BeginTransaction(WriteOptions(), to);
    ASSERT_TRUE(rewritten->GetForUpdate(ReadOptions(), "m5", &v).IsNotFound());
    ASSERT_TRUE(rewritten->Put("y", "1").ok());
    // Reads a missing key and writes it.
    std::unique_ptr<Transaction> writer = db_->BeginTransaction(WriteOptions(), to);
    ASSERT_TRUE(writer->GetForUpdate(ReadOptions(), "m6", &v).IsNotFound());
    ASSERT_TRUE(writer->Put("m6", "1").ok());
    // Reads a key that exists (the deletion changes what it read).
    std::unique_ptr<Transaction> present = db_->BeginTransaction(WriteOptions(), to);
    ASSERT_TRUE(present->GetForUpdate(ReadOptions(), "m1", &v).ok());

    ASSERT_TRUE(Put("m5", "w").ok());
    ASSERT_TRUE(DeleteRange("m", "n").ok());
    EXPECT_TRUE(watcher->Commit().ok());
    Status s = reader->Commit();
    EXPECT_TRUE(s.ok()) << s.ToString();
    s = rewritten->Commit();
    EXPECT_TRUE(s.IsBusy()) << s.ToString();
    EXPECT_NE(std::string::npos, s.ToString().find("'m5' written")) << s.ToString();
    s = writer->Commit();
    EXPECT_TRUE(s.IsBusy()) << s.ToString();
    EXPECT_NE(std::string::npos, s.ToString().find("range deletion")) << s.ToString();
    s = present->Commit();
    EXPECT_TRUE(s.IsBusy()) << s.ToString();
    EXPECT_NE(std::string::npos, s.ToString().find("range deletion")) << s.ToString();
    ASSERT_TRUE(Put("m1", "v").ok());
  }
}

// The encoding of tombstone records in the MANIFEST.
TEST(RangeTombstoneEditTest, RoundTripsAndRefusesDamage) {
  VersionEdit edit;
  edit.SetLastSequence(99);
  edit.PutRangeTombstone(RangeTombstoneRecord{RangeTombstone{7, "b", "d"}, {3, 5, 9}});
  edit.RemoveRangeTombstone(4);
  std::string rec;
  edit.EncodeTo(&rec);
  VersionEdit back;
  ASSERT_TRUE(back.DecodeFrom(rec).ok());
  ASSERT_EQ(1u, back.put_range_tombstones().size());
  const RangeTombstoneRecord& r = back.put_range_tombstones()[0];
  EXPECT_EQ(7u, r.tombstone.seq);
  EXPECT_EQ("b", r.tombstone.begin);
  EXPECT_EQ("d", r.tombstone.end);
  EXPECT_EQ((std::vector<uint64_t>{3, 5, 9}), r.pending_files);
  EXPECT_EQ(std::set<SequenceNumber>{4}, back.removed_range_tombstones());
  std::string again;
  back.EncodeTo(&again);
  EXPECT_EQ(rec, again);
  // Version 2 only when tombstones are recorded.
  EXPECT_EQ(2, rec[1]);
  VersionEdit plain;
  plain.SetLastSequence(1);
  std::string plain_rec;
  plain.EncodeTo(&plain_rec);
  EXPECT_EQ(1, plain_rec[1]);

  // Every truncation fails cleanly.
  for (size_t n = 0; n < rec.size(); n++) {
    VersionEdit cut;
    EXPECT_FALSE(cut.DecodeFrom(std::string_view(rec).substr(0, n)).ok()) << n;
  }
  // begin not before end.
  VersionEdit bad;
  bad.PutRangeTombstone(RangeTombstoneRecord{RangeTombstone{7, "d", "b"}, {3}});
  std::string bad_rec;
  bad.EncodeTo(&bad_rec);
  VersionEdit out;
  Status s = out.DecodeFrom(bad_rec);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  // A tombstone record in a version 1 edit.
  std::string v1 = rec;
  v1[1] = 1;
  EXPECT_TRUE(out.DecodeFrom(v1).IsCorruption());
}

TEST(RangeTombstoneSetTest, FragmentsAnswerCoverage) {
  std::vector<RangeTombstone> ts = {{10, "b", "f"}, {20, "d", "h"}, {5, "a", "c"}};
  RangeTombstoneSet set(BytewiseComparator(), ts);
  EXPECT_FALSE(set.empty());
  EXPECT_EQ(0u, set.NewestCovering("0", 100));
  EXPECT_EQ(5u, set.NewestCovering("a", 100));
  EXPECT_EQ(10u, set.NewestCovering("b", 100));
  EXPECT_EQ(20u, set.NewestCovering("e", 100));
  EXPECT_EQ(10u, set.NewestCovering("e", 19));
  EXPECT_EQ(0u, set.NewestCovering("h", 100));
  EXPECT_TRUE(set.Covers("e", 15, 20));
  EXPECT_FALSE(set.Covers("e", 15, 19));
  EXPECT_FALSE(set.Covers("e", 20, 100));
  EXPECT_TRUE(set.Covers("b", 4, 10));
  std::vector<SequenceNumber> seqs;
  set.CoveringAbove("e", 5, &seqs);
  EXPECT_EQ((std::vector<SequenceNumber>{10, 20}), seqs);
  EXPECT_TRUE(RangeTombstoneSet(BytewiseComparator(), {}).empty());
}

// Model-based: random puts, deletes, range deletions, snapshots, flushes,
// compactions and reopens against std::map models (one per live snapshot).
class RangeDelModelTest : public DBTestBase<::testing::TestWithParam<int>> {};

TEST_P(RangeDelModelTest, MatchesTheModel) {
  options_.write_buffer_size = 8 * 1024;
  options_.max_range_tombstones = 1000;
  ASSERT_TRUE(Reopen().ok());
  impl()->TEST_CheckInvariantsAfterEveryCompaction(true);
  Random rnd(static_cast<uint32_t>(301 + GetParam()));
  auto key = [&](uint32_t i) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "k%04u", i);
    return std::string(buf);
  };
  std::map<std::string, std::string> model;
  struct Snap {
    const Snapshot* snapshot;
    std::map<std::string, std::string> model;
  };
  std::vector<Snap> snaps;
  auto verify = [&](const Snapshot* snapshot, const std::map<std::string, std::string>& m) {
    ReadOptions ro;
    ro.snapshot = snapshot;
    std::unique_ptr<Iterator> it = db_->NewIterator(ro);
    test::ExpectScanMatchesModel(it.get(), m);
    if (::testing::Test::HasFatalFailure()) return;
    for (int i = 0; i < 20; i++) {
      const std::string k = key(rnd.Uniform(400));
      auto found = m.find(k);
      ASSERT_EQ(found == m.end() ? "NOT_FOUND" : found->second, Get(k, snapshot)) << k;
    }
    test::ExpectIteratorMatchesModel(it.get(), m, ro, &rnd, 50,
                                     [&](Random* r) { return key(r->Uniform(400)); });
  };
  const int ops = 3000;
  for (int op = 0; op < ops; op++) {
    const uint32_t r = rnd.Uniform(1000);
    if (r < 600) {
      const std::string k = key(rnd.Uniform(400));
      const std::string v = "v" + std::to_string(op) + std::string(rnd.Uniform(60), 'x');
      ASSERT_TRUE(Put(k, v).ok());
      model[k] = v;
    } else if (r < 700) {
      const std::string k = key(rnd.Uniform(400));
      ASSERT_TRUE(Delete(k).ok());
      model.erase(k);
    } else if (r < 760) {
      const uint32_t a = rnd.Uniform(400);
      const uint32_t b = a + 1 + rnd.Uniform(rnd.OneIn(4) ? 200 : 20);
      const std::string begin = key(a), end = key(b);
      WriteBatch batch;
      batch.DeleteRange(begin, end);
      model.erase(model.lower_bound(begin), model.lower_bound(end));
      if (rnd.OneIn(3)) {  // a write after it in the same batch survives
        const std::string k = key(a + rnd.Uniform(b - a));
        batch.Put(k, "after" + std::to_string(op));
        model[k] = "after" + std::to_string(op);
      }
      ASSERT_TRUE(db_->Write(WriteOptions(), &batch).ok());
    } else if (r < 780) {
      snaps.push_back(Snap{db_->GetSnapshot(), model});
    } else if (r < 800 && !snaps.empty()) {
      const size_t i = rnd.Uniform(static_cast<uint32_t>(snaps.size()));
      ASSERT_NO_FATAL_FAILURE(verify(snaps[i].snapshot, snaps[i].model));
      db_->ReleaseSnapshot(snaps[i].snapshot);
      snaps.erase(snaps.begin() + static_cast<long>(i));
    } else if (r < 820) {
      ASSERT_TRUE(db_->Flush().ok());
    } else if (r < 830) {
      const uint32_t a = rnd.Uniform(400);
      const std::string begin = key(a), end = key(a + 100);
      ASSERT_TRUE(db_->CompactRange(&begin, &end).ok());
    } else if (r < 835) {
      for (const Snap& s : snaps) db_->ReleaseSnapshot(s.snapshot);
      snaps.clear();
      ASSERT_TRUE(Reopen().ok());
      impl()->TEST_CheckInvariantsAfterEveryCompaction(true);
    } else if (r < 870) {
      ASSERT_NO_FATAL_FAILURE(verify(nullptr, model));
    }
  }
  ASSERT_NO_FATAL_FAILURE(verify(nullptr, model));
  for (const Snap& s : snaps) {
    ASSERT_NO_FATAL_FAILURE(verify(s.snapshot, s.model));
    db_->ReleaseSnapshot(s.snapshot);
  }
  snaps.clear();
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());  // see LiveTombstones above
  EXPECT_EQ("0", [&] {
    std::string v;
    db_->GetProperty("lsmkv.range-tombstones", &v);
    return v;
  }());
  ASSERT_NO_FATAL_FAILURE(verify(nullptr, model));
  Status first;
  EXPECT_GT(impl()->TEST_InvariantChecks(&first), 0u);
  EXPECT_TRUE(first.ok()) << first.ToString();
  ASSERT_TRUE(impl()->TEST_CheckInvariants().ok());
  ASSERT_TRUE(Reopen().ok());
  ASSERT_NO_FATAL_FAILURE(verify(nullptr, model));
}

INSTANTIATE_TEST_SUITE_P(Seeds, RangeDelModelTest, ::testing::Range(0, 6));

}  // namespace
}  // namespace lsmkv
