// RepairDB: what survives each kind of damage, that nothing wrong or stale
// is ever returned afterwards, that the loss is reported exactly, and that
// the previous files are kept in lost/.
#include "admin/tools_testutil.h"

namespace lsmkv {
namespace {

class RepairTest : public test::ToolsTest {
 protected:
  Status Repair() {
    Status s = RepairDB(dbname_, RepairOptions(), &report_);
    return s;
  }
  const RepairFileReport* FileReport(const std::string& name) const {
    for (const RepairFileReport& f : report_.files) {
      if (f.file == name) return &f;
    }
    return nullptr;
  }
  std::string Report() const { return report_.ToString(); }

  // Opens the repaired database and checks every key against the model:
  // a key is either absent or holds exactly its latest value. Returns how
  // many keys of the model are present.
  size_t CheckNoWrongValues() {
    EXPECT_TRUE(Open().ok());
    if (db_ == nullptr) return 0;
    const auto contents = Contents(db_.get());
    size_t present = 0;
    for (const auto& [key, value] : contents) {
      auto it = model_.find(key);
      EXPECT_TRUE(it != model_.end())
          << "key " << key << " should not exist (deleted or never written)";
      if (it == model_.end()) continue;
      EXPECT_EQ(it->second, value) << "wrong value for " << key;
      present++;
    }
    // Point lookups agree with the scan.
    for (const auto& [key, value] : model_) {
      std::string got;
      Status s = db_->Get(ReadOptions(), key, &got);
      EXPECT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
      if (s.ok()) {
        EXPECT_EQ(value, got) << key;
      }
      EXPECT_EQ(s.ok(), contents.count(key) == 1) << key;
    }
    return present;
  }
  void ExpectVerifies() {
    Close();
    VerifyReport verify;
    Status s = VerifyDB(dbname_, VerifyOptions(), &verify);
    EXPECT_TRUE(s.ok()) << verify.ToString();
  }

  RepairReport report_;
};

// Range deletions live in the MANIFEST (flushed) and in the WAL (not yet):
// repair applies both, so no deleted key comes back.
TEST_F(RepairTest, RangeDeletionsStayApplied) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 400, 1, true);
  auto delete_range = [&](int from, int to) {
    ASSERT_TRUE(db_->DeleteRange(WriteOptions(), test::KeyFor(from), test::KeyFor(to)).ok());
    model_.erase(model_.lower_bound(test::KeyFor(from)), model_.lower_bound(test::KeyFor(to)));
  };
  delete_range(50, 150);
  Fill(400, 420, 1, true);   // the tombstone is in the MANIFEST now
  Fill(100, 110, 2, false);  // written after it: live
  delete_range(300, 350);    // only in the WAL
  Close();
  ASSERT_TRUE(Repair().ok()) << Report();
  EXPECT_FALSE(report_.LostData()) << Report();
  EXPECT_EQ(model_.size(), CheckNoWrongValues());
  std::string v;
  EXPECT_TRUE(db_->GetProperty("lsmkv.range-tombstones", &v));
  EXPECT_EQ("0", v);  // applied, not carried over
  ExpectVerifies();
}

TEST_F(RepairTest, HealthyDatabaseLosesNothing) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 400, 1, true);
  Fill(200, 600, 2, true);  // overwrites
  for (int i = 0; i < 600; i += 7) Delete(i);
  Fill(600, 700, 1, false);  // only in the WAL
  Close();
  const std::vector<std::string> old_tables = Files(FileType::kTableFile);
  ASSERT_TRUE(Repair().ok()) << Report();
  EXPECT_FALSE(report_.LostData()) << Report();
  EXPECT_TRUE(report_.old_manifest_trusted) << Report();
  EXPECT_EQ(model_.size(), report_.entries_written);
  EXPECT_GT(report_.superseded_dropped, 0u);
  EXPECT_NE(std::string::npos, Report().find("RESULT: nothing lost")) << Report();
  for (const RepairFileReport& f : report_.files) {
    EXPECT_EQ("salvaged", f.outcome) << Report();
    ASSERT_TRUE(f.records_lost.has_value()) << Report();
    EXPECT_EQ(0u, *f.records_lost);
  }
  EXPECT_EQ(model_.size(), CheckNoWrongValues());
  EXPECT_EQ(model_, Contents(db_.get()));
  // The old files are kept in lost/, and gone from the database directory.
  for (const std::string& t : old_tables) {
    EXPECT_TRUE(Env::Default()->FileExists(dbname_ + "/lost/" + Basename(t))) << t;
    EXPECT_FALSE(Env::Default()->FileExists(t)) << t;
  }
  // New writes work and survive a reopen.
  Put(5000, 1);
  ASSERT_TRUE(Open().ok());
  EXPECT_EQ(model_, Contents(db_.get()));
  ExpectVerifies();
}

// DestroyDB removes what RepairDB left in lost/ too (a repeated name's
// ".N" copy included), and with it the directory; a file in lost/ that lsmkv
// did not create is left, and so is lost/.
TEST_F(RepairTest, DestroyRemovesTheLostDirectory) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 300, 1, true);
  Close();
  ASSERT_TRUE(Repair().ok()) << Report();
  ASSERT_TRUE(Repair().ok()) << Report();
  {
    // How RetireOldFiles names a file whose name is already in lost/.
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(Env::Default()->NewWritableFile(dbname_ + "/lost/000007.sst.1", &f).ok());
    ASSERT_TRUE(f->Close().ok());
  }
  ASSERT_TRUE(DestroyDB(dbname_, Options()).ok());
  EXPECT_FALSE(Env::Default()->FileExists(dbname_ + "/lost"));
  EXPECT_FALSE(Env::Default()->FileExists(dbname_));

  ASSERT_TRUE(Open().ok());
  Fill(0, 10, 1, true);
  Close();
  ASSERT_TRUE(Repair().ok()) << Report();
  {
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(Env::Default()->NewWritableFile(dbname_ + "/lost/notes.txt", &f).ok());
    ASSERT_TRUE(f->Close().ok());
  }
  ASSERT_TRUE(DestroyDB(dbname_, Options()).ok());
  EXPECT_TRUE(Env::Default()->FileExists(dbname_ + "/lost/notes.txt"));
  std::vector<std::string> left;
  ASSERT_TRUE(Env::Default()->GetChildren(dbname_ + "/lost", &left).ok());
  EXPECT_EQ(std::vector<std::string>{"notes.txt"}, left);
}

// Format version 2: a flipped byte in a data block loses only the entry
// group (restart interval) it lies in; the block's other groups are kept.
TEST_F(RepairTest, FlippedByteInTableLosesOneEntryGroupAndNothingWrong) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 1000, 1, true);
  Close();
  const std::string table = Files(FileType::kTableFile)[0];
  // A byte amid the entries of a block in the middle of the table (not its
  // restart array or trailer, whose damage loses nothing).
  const GroupLocation g = LocateGroup(table, 50, 0);
  ASSERT_EQ(2u, g.groups_in_block);
  FlipByte(table, g.offset + g.length / 2);
  ASSERT_TRUE(Repair().ok()) << Report();
  EXPECT_TRUE(report_.LostData());
  const RepairFileReport* f = FileReport(Basename(table));
  ASSERT_NE(nullptr, f) << Report();
  EXPECT_EQ("partly salvaged", f->outcome);
  ASSERT_TRUE(f->records_lost.has_value()) << Report();
  EXPECT_GT(*f->records_lost, 0u);
  EXPECT_LE(*f->records_lost, 8u) << Report();  // one restart interval
  EXPECT_EQ(1000u, f->records_salvaged + *f->records_lost) << Report();
  EXPECT_GT(f->bytes_lost, 0u);
  ASSERT_EQ(1u, f->details.size()) << Report();
  EXPECT_NE(std::string::npos, f->details[0].find("data block")) << Report();
  EXPECT_NE(std::string::npos, f->details[0].find("lost 1 of 2: group ")) << Report();
  // At most the first key after the lost group is withheld besides it.
  EXPECT_LE(report_.keys_withheld, 1u) << Report();
  EXPECT_EQ(f->records_salvaged - report_.keys_withheld, report_.entries_written);
  const size_t present = CheckNoWrongValues();
  EXPECT_EQ(report_.entries_written, present);
  EXPECT_GE(present, 991u) << Report();
  ExpectVerifies();
}

TEST_F(RepairTest, OlderVersionIsWithheldWhenTheNewerGroupIsLost) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 500, 1, true);  // table A: version 1
  Fill(0, 500, 2, true);  // table B: version 2 of the same keys
  Fill(0, 3, 3, false);   // version 3 of keys 0..2, only in the WAL
  Close();
  const std::vector<std::string> tables = Files(FileType::kTableFile);
  ASSERT_EQ(2u, tables.size());
  const std::string newer = tables[1];
  // Damage the first entry group of B's first data block (keys 0..7; the
  // block's second group holds key 8).
  const GroupLocation g = LocateGroup(newer, 0, 0);
  ASSERT_EQ(8u, g.user_keys.size());
  ASSERT_EQ(2u, g.groups_in_block);
  FlipByte(newer, g.offset + g.length / 2);
  ASSERT_TRUE(Repair().ok()) << Report();
  const RepairFileReport* f = FileReport(Basename(newer));
  ASSERT_NE(nullptr, f) << Report();
  ASSERT_TRUE(f->records_lost.has_value());
  ASSERT_EQ(8u, *f->records_lost) << Report();
  EXPECT_EQ(g.length, f->bytes_lost);
  // Keys 0..2 have a newer version in the WAL; keys 3..7 have only version
  // 1 left, which would be stale: withheld. So is key 8, the first key
  // after the lost group: the group may have held a newer version of it.
  EXPECT_EQ(*f->records_lost - 3 + 1, report_.keys_withheld) << Report();
  const size_t present = CheckNoWrongValues();  // never version 1 where version 2 existed
  EXPECT_EQ(500u - report_.keys_withheld, present) << Report();
  for (int i = 0; i < 3; i++) {
    std::string v;
    ASSERT_TRUE(db_->Get(ReadOptions(), test::KeyFor(i), &v).ok()) << i;
    EXPECT_EQ(test::ValueFor(i, 3), v);
  }
  for (int i = 3; i <= 8; i++) {
    std::string v;
    EXPECT_TRUE(db_->Get(ReadOptions(), test::KeyFor(i), &v).IsNotFound()) << i;
  }
  ExpectVerifies();
}

// A data block that cannot be salvaged (here: the salvage block is damaged
// too) is lost whole; the index separators around it bound its key range.
TEST_F(RepairTest, OlderVersionIsWithheldAroundALostMiddleBlock) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 500, 1, true);  // table A: version 1
  Fill(0, 500, 2, true);  // table B: version 2
  Close();
  const std::string newer = Files(FileType::kTableFile)[1];
  const InternalKeyComparator icmp(BytewiseComparator());
  tools::TableWalker walker(&icmp);
  ASSERT_TRUE(walker.Open(Env::Default(), newer).ok());
  uint64_t salvage_offset = 0;
  for (const auto& meta : walker.meta_blocks()) {
    if (meta.name == kSalvageBlockName) salvage_offset = meta.handle.offset();
  }
  ASSERT_GT(salvage_offset, 0u);
  const GroupLocation g = LocateGroup(newer, walker.blocks().size() / 2, 0);
  FlipByte(newer, g.offset + g.length / 2);
  FlipByte(newer, salvage_offset + 3);
  ASSERT_TRUE(Repair().ok()) << Report();
  const RepairFileReport* f = FileReport(Basename(newer));
  ASSERT_NE(nullptr, f) << Report();
  ASSERT_TRUE(f->records_lost.has_value());
  EXPECT_GT(*f->records_lost, 0u);
  ASSERT_EQ(1u, f->details.size()) << Report();
  EXPECT_NE(std::string::npos, f->details[0].find("not salvaged")) << Report();
  EXPECT_NE(std::string::npos, f->details[0].find("salvage block")) << Report();
  // Exactly the keys of the lost block are withheld; their neighbours in the
  // surviving blocks (the block boundaries included) keep version 2.
  EXPECT_EQ(*f->records_lost, report_.keys_withheld) << Report();
  EXPECT_EQ(500u - report_.keys_withheld, CheckNoWrongValues());
}

// Format version 2, the index block damaged: the data blocks are located
// through the salvage block and every entry is kept.
TEST_F(RepairTest, DamagedIndexBlockLosesNothing) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 1000, 1, true);
  Close();
  const std::string table = Files(FileType::kTableFile)[0];
  const BlockHandle index = IndexHandle(table);
  FlipByte(table, index.offset() + index.size() / 2);
  ASSERT_TRUE(Repair().ok()) << Report();
  EXPECT_FALSE(report_.LostData()) << Report();
  EXPECT_NE(std::string::npos, Report().find("RESULT: nothing lost")) << Report();
  const RepairFileReport* f = FileReport(Basename(table));
  ASSERT_NE(nullptr, f) << Report();
  EXPECT_EQ("salvaged", f->outcome) << Report();
  EXPECT_EQ(1000u, f->records_salvaged);
  ASSERT_TRUE(f->records_lost.has_value());
  EXPECT_EQ(0u, *f->records_lost);
  EXPECT_EQ(0u, f->bytes_lost);
  ASSERT_EQ(1u, f->details.size()) << Report();
  EXPECT_NE(std::string::npos, f->details[0].find("index block")) << Report();
  EXPECT_NE(std::string::npos, f->details[0].find("located through the salvage block")) << Report();
  EXPECT_EQ(0u, report_.keys_withheld);
  EXPECT_EQ(1000u, report_.entries_written);
  EXPECT_EQ(1000u, CheckNoWrongValues());
  EXPECT_EQ(model_, Contents(db_.get()));
  ExpectVerifies();
}

// One damaged entry group in the middle of a block: exactly its entries are
// lost, and the first key after it is withheld (the group may have held a
// newer version of it); everything else written is kept.
TEST_F(RepairTest, DamagedEntryGroupLosesOnlyItsEntries) {
  options_.block_size = 4096;  // several entry groups per block
  ASSERT_TRUE(Open().ok());
  Fill(0, 1000, 1, true);
  Close();
  const std::string table = Files(FileType::kTableFile)[0];
  const size_t block = LocateGroup(table, 0, 0).blocks / 2;
  const GroupLocation g = LocateGroup(table, block, 1);
  ASSERT_GE(g.groups_in_block, 3u);
  ASSERT_EQ(8u, g.user_keys.size());
  const std::string after = LocateGroup(table, block, 2).user_keys.at(0);
  FlipByte(table, g.offset + g.length / 2);
  ASSERT_TRUE(Repair().ok()) << Report();
  EXPECT_TRUE(report_.LostData());
  const RepairFileReport* f = FileReport(Basename(table));
  ASSERT_NE(nullptr, f) << Report();
  EXPECT_EQ("partly salvaged", f->outcome);
  EXPECT_EQ(992u, f->records_salvaged) << Report();
  ASSERT_TRUE(f->records_lost.has_value());
  EXPECT_EQ(8u, *f->records_lost) << Report();
  EXPECT_EQ(g.length, f->bytes_lost) << Report();
  ASSERT_EQ(1u, f->details.size()) << Report();
  EXPECT_NE(std::string::npos, f->details[0].find("data block " + std::to_string(block)))
      << Report();
  EXPECT_NE(std::string::npos,
            f->details[0].find("lost 1 of " + std::to_string(g.groups_in_block) + ": group 1 (" +
                               std::to_string(g.length) + " bytes, checksum mismatch)"))
      << Report();
  EXPECT_EQ(1u, report_.keys_withheld) << Report();
  EXPECT_NE(std::string::npos, Report().find("RESULT: data lost: 8 records")) << Report();
  auto expected = model_;
  for (const std::string& k : g.user_keys) expected.erase(k);
  expected.erase(after);
  EXPECT_EQ(991u, CheckNoWrongValues());
  EXPECT_EQ(expected, Contents(db_.get()));
  ExpectVerifies();
}

// The last group of a block lost: the block's separator bounds the gap, so
// nothing but the group's own entries is lost.
TEST_F(RepairTest, DamagedLastEntryGroupOfABlockLosesOnlyItsEntries) {
  options_.block_size = 4096;
  ASSERT_TRUE(Open().ok());
  Fill(0, 1000, 1, true);
  Close();
  const std::string table = Files(FileType::kTableFile)[0];
  const size_t block = LocateGroup(table, 0, 0).blocks / 2;
  const size_t groups = LocateGroup(table, block, 0).groups_in_block;
  const GroupLocation g = LocateGroup(table, block, groups - 1);
  ASSERT_FALSE(g.user_keys.empty());
  FlipByte(table, g.offset + g.length / 2);
  ASSERT_TRUE(Repair().ok()) << Report();
  const RepairFileReport* f = FileReport(Basename(table));
  ASSERT_NE(nullptr, f) << Report();
  ASSERT_TRUE(f->records_lost.has_value());
  EXPECT_EQ(g.user_keys.size(), *f->records_lost) << Report();
  EXPECT_EQ(1000u - g.user_keys.size(), f->records_salvaged) << Report();
  EXPECT_EQ(g.length, f->bytes_lost) << Report();
  EXPECT_EQ(0u, report_.keys_withheld) << Report();
  auto expected = model_;
  for (const std::string& k : g.user_keys) expected.erase(k);
  EXPECT_EQ(expected.size(), CheckNoWrongValues());
  EXPECT_EQ(expected, Contents(db_.get()));
  ExpectVerifies();
}

// The index and a data block both damaged: Open cannot rebuild the index
// (it needs every data block intact), the walker can: only the damaged
// group is lost.
TEST_F(RepairTest, DamagedIndexAndEntryGroupLoseOnlyTheGroup) {
  options_.block_size = 4096;
  ASSERT_TRUE(Open().ok());
  Fill(0, 1000, 1, true);
  Close();
  const std::string table = Files(FileType::kTableFile)[0];
  const size_t block = LocateGroup(table, 0, 0).blocks / 2;
  const GroupLocation g = LocateGroup(table, block, 1);
  ASSERT_EQ(8u, g.user_keys.size());
  const std::string after = LocateGroup(table, block, 2).user_keys.at(0);
  const BlockHandle index = IndexHandle(table);
  FlipByte(table, index.offset() + index.size() / 2);
  FlipByte(table, g.offset + g.length / 2);
  ASSERT_TRUE(Repair().ok()) << Report();
  const RepairFileReport* f = FileReport(Basename(table));
  ASSERT_NE(nullptr, f) << Report();
  EXPECT_EQ("partly salvaged", f->outcome);
  ASSERT_TRUE(f->records_lost.has_value());
  EXPECT_EQ(8u, *f->records_lost) << Report();
  EXPECT_EQ(992u, f->records_salvaged) << Report();
  EXPECT_EQ(g.length, f->bytes_lost) << Report();
  ASSERT_EQ(2u, f->details.size()) << Report();
  EXPECT_NE(std::string::npos, f->details[0].find("located through the salvage block")) << Report();
  EXPECT_NE(std::string::npos, f->details[1].find("lost 1 of")) << Report();
  EXPECT_EQ(1u, report_.keys_withheld) << Report();
  auto expected = model_;
  for (const std::string& k : g.user_keys) expected.erase(k);
  expected.erase(after);
  EXPECT_EQ(991u, CheckNoWrongValues());
  EXPECT_EQ(expected, Contents(db_.get()));
  ExpectVerifies();
}

TEST_F(RepairTest, DeletedTableIsReportedMissing) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 300, 1, true);
  Fill(300, 600, 1, true);
  Close();
  const std::string gone = Files(FileType::kTableFile)[0];
  ASSERT_EQ(0, ::unlink(gone.c_str()));
  ASSERT_TRUE(Repair().ok()) << Report();
  const RepairFileReport* f = FileReport(Basename(gone));
  ASSERT_NE(nullptr, f) << Report();
  EXPECT_EQ("missing", f->outcome);
  ASSERT_TRUE(f->records_lost.has_value());
  EXPECT_EQ(300u, *f->records_lost);
  EXPECT_EQ(300u, CheckNoWrongValues());
  for (int i = 300; i < 600; i++) {
    std::string v;
    EXPECT_TRUE(db_->Get(ReadOptions(), test::KeyFor(i), &v).ok()) << i;
  }
  ExpectVerifies();
}

TEST_F(RepairTest, DamagedWalSkipsOnlyTheDamagedRecords) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 2000, 1, false);  // ~230 KiB of WAL: 7+ log blocks
  Close();
  const std::string log = Files(FileType::kLogFile).back();
  FlipByte(log, 40000);  // inside the second 32 KiB block
  ASSERT_TRUE(Repair().ok()) << Report();
  const RepairFileReport* f = FileReport(Basename(log));
  ASSERT_NE(nullptr, f) << Report();
  EXPECT_EQ("partly salvaged", f->outcome);
  EXPECT_GT(f->bytes_lost, 0u);
  EXPECT_FALSE(f->records_lost.has_value());  // a damaged region hides its record count
  ASSERT_FALSE(f->details.empty());
  EXPECT_NE(std::string::npos, f->details[0].find("checksum mismatch")) << Report();
  const size_t present = CheckNoWrongValues();
  EXPECT_EQ(f->records_salvaged, present);
  // Skip-corrupted: the records after the damaged block are kept.
  std::string v;
  EXPECT_TRUE(db_->Get(ReadOptions(), test::KeyFor(1999), &v).ok());
  EXPECT_TRUE(db_->Get(ReadOptions(), test::KeyFor(0), &v).ok());
  EXPECT_GE(present, 2000u - 400u) << Report();
  ExpectVerifies();
}

// A checksum-valid record whose sequence numbers overflow is damage, as at
// Open: that record is lost and counted, the repair goes on.
TEST_F(RepairTest, WalBatchWithOverflowingSequenceIsLostNotFatal) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 100, 1, false);
  Close();
  const std::string log = Files(FileType::kLogFile).back();
  WriteBatch bad;
  bad.Put("zzz", "never");
  AppendWalBatch(log, bad, kMaxSequenceNumber);
  ASSERT_TRUE(Repair().ok()) << Report();
  const RepairFileReport* f = FileReport(Basename(log));
  ASSERT_NE(nullptr, f) << Report();
  EXPECT_EQ("partly salvaged", f->outcome);
  EXPECT_EQ(100u, f->records_salvaged);
  ASSERT_TRUE(f->records_lost.has_value());
  EXPECT_EQ(1u, *f->records_lost);
  EXPECT_EQ(bad.ApproximateSize(), f->bytes_lost);
  ASSERT_EQ(1u, f->details.size()) << Report();
  EXPECT_NE(std::string::npos, f->details[0].find("not a valid write batch")) << Report();
  EXPECT_NE(std::string::npos, f->details[0].find("exceed the largest sequence number"))
      << Report();
  EXPECT_EQ(100u, CheckNoWrongValues());
  ExpectVerifies();
}

TEST_F(RepairTest, TruncatedManifestIsRebuiltFromEveryFile) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 300, 1, true);
  Fill(300, 600, 1, true);
  Fill(100, 200, 2, true);
  Fill(600, 650, 1, false);
  Close();
  const std::string manifest = Files(FileType::kDescriptorFile)[0];
  Truncate(manifest, Size(manifest) / 2);
  ASSERT_FALSE(Open().ok());  // Open refuses the damaged MANIFEST
  ASSERT_TRUE(Repair().ok()) << Report();
  EXPECT_FALSE(report_.old_manifest_trusted);
  ASSERT_FALSE(report_.warnings.empty());
  EXPECT_NE(std::string::npos, report_.warnings[0].find(Basename(manifest))) << Report();
  EXPECT_FALSE(report_.LostData()) << Report();
  EXPECT_EQ(model_.size(), CheckNoWrongValues());
  ExpectVerifies();
}

TEST_F(RepairTest, MissingCurrentUsesTheNewestManifest) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 300, 1, true);
  Fill(300, 400, 1, false);
  Close();
  ASSERT_EQ(0, ::unlink((dbname_ + "/CURRENT").c_str()));
  ASSERT_TRUE(Repair().ok()) << Report();
  EXPECT_TRUE(report_.old_manifest_trusted) << Report();
  EXPECT_FALSE(report_.LostData()) << Report();
  EXPECT_EQ(model_.size(), CheckNoWrongValues());
}

TEST_F(RepairTest, UnreferencedTableIsSetAsideNotMerged) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 100, 1, true);
  const std::string stale = ReadAll(Files(FileType::kTableFile)[0]);
  for (int i = 0; i < 50; i++) Delete(i);
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());  // the deletions are gone too
  Close();
  // A stale copy of the old data under a new number, as an interrupted
  // compaction could leave behind: merging it would bring keys 0..49 back.
  WriteAll(dbname_ + "/000900.sst", stale);
  ASSERT_TRUE(Repair().ok()) << Report();
  EXPECT_TRUE(report_.old_manifest_trusted) << Report();
  const RepairFileReport* f = FileReport("000900.sst");
  ASSERT_NE(nullptr, f) << Report();
  EXPECT_EQ("not needed", f->outcome);
  EXPECT_FALSE(report_.LostData()) << Report();
  EXPECT_EQ(50u, CheckNoWrongValues());
  EXPECT_TRUE(Env::Default()->FileExists(dbname_ + "/lost/000900.sst"));
}

TEST_F(RepairTest, SecondRepairFindsNothingToLose) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 500, 1, true);
  Close();
  FlipByte(Files(FileType::kTableFile)[0], 2000);
  ASSERT_TRUE(Repair().ok()) << Report();
  const size_t after_first = CheckNoWrongValues();
  Close();
  ASSERT_TRUE(Repair().ok()) << Report();
  EXPECT_FALSE(report_.LostData()) << Report();
  EXPECT_EQ(after_first, CheckNoWrongValues());
}

TEST_F(RepairTest, OpenDatabaseIsRefused) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 10, 1, false);
  Status s = Repair();
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("close it"));
}

TEST_F(RepairTest, ReportsProgressToTheEnd) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 500, 1, true);
  Fill(500, 600, 1, false);
  Close();
  RepairOptions options;
  uint64_t done = 0, total = 0;
  options.progress = [&](uint64_t d, uint64_t t) {
    done = d;
    total = t;
  };
  ASSERT_TRUE(RepairDB(dbname_, options, &report_).ok());
  EXPECT_GT(total, 0u);
  EXPECT_EQ(done, total);
}

}  // namespace
}  // namespace lsmkv
