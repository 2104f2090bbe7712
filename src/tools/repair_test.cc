// RepairDB: what survives each kind of damage, that nothing wrong or stale
// is ever returned afterwards, that the loss is reported exactly, and that
// the previous files are kept in lost/.
#include "tools/tools_testutil.h"

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

TEST_F(RepairTest, FlippedByteInTableLosesOneBlockAndNothingWrong) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 1000, 1, true);
  Close();
  const std::string table = Files(FileType::kTableFile)[0];
  FlipByte(table, Size(table) / 2);
  ASSERT_TRUE(Repair().ok()) << Report();
  EXPECT_TRUE(report_.LostData());
  const RepairFileReport* f = FileReport(Basename(table));
  ASSERT_NE(nullptr, f) << Report();
  EXPECT_EQ("partly salvaged", f->outcome);
  ASSERT_TRUE(f->records_lost.has_value()) << Report();
  EXPECT_GT(*f->records_lost, 0u);
  EXPECT_EQ(1000u, f->records_salvaged + *f->records_lost) << Report();
  EXPECT_GT(f->bytes_lost, 0u);
  ASSERT_EQ(1u, f->details.size()) << Report();
  EXPECT_NE(std::string::npos, f->details[0].find("data block")) << Report();
  EXPECT_EQ(f->records_salvaged, report_.entries_written);
  // One 1 KiB block of ~100-byte entries: at least 98 % survive, none wrong.
  const size_t present = CheckNoWrongValues();
  EXPECT_EQ(f->records_salvaged, present);
  EXPECT_GE(present, 980u) << Report();
  ExpectVerifies();
}

TEST_F(RepairTest, OlderVersionIsWithheldWhenTheNewerBlockIsLost) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 500, 1, true);  // table A: version 1
  Fill(0, 500, 2, true);  // table B: version 2 of the same keys
  Fill(0, 3, 3, false);   // version 3 of keys 0..2, only in the WAL
  Close();
  const std::vector<std::string> tables = Files(FileType::kTableFile);
  ASSERT_EQ(2u, tables.size());
  const std::string newer = tables[1];
  // Damage the first data block of B (~9 entries: keys 0..8).
  FlipByte(newer, 100);
  ASSERT_TRUE(Repair().ok()) << Report();
  const RepairFileReport* f = FileReport(Basename(newer));
  ASSERT_NE(nullptr, f) << Report();
  ASSERT_TRUE(f->records_lost.has_value());
  ASSERT_GT(*f->records_lost, 3u) << Report();
  // Keys 0..2 have a newer version in the WAL; the other keys of the lost
  // block have only version 1 left, which would be stale: withheld.
  EXPECT_EQ(*f->records_lost - 3, report_.keys_withheld) << Report();
  const size_t present = CheckNoWrongValues();  // never version 1 where version 2 existed
  EXPECT_EQ(500u - report_.keys_withheld, present) << Report();
  for (int i = 0; i < 3; i++) {
    std::string v;
    ASSERT_TRUE(db_->Get(ReadOptions(), test::KeyFor(i), &v).ok()) << i;
    EXPECT_EQ(test::ValueFor(i, 3), v);
  }
  ExpectVerifies();
}

TEST_F(RepairTest, OlderVersionIsWithheldAroundALostMiddleBlock) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 500, 1, true);  // table A: version 1
  Fill(0, 500, 2, true);  // table B: version 2
  Close();
  const std::string newer = Files(FileType::kTableFile)[1];
  FlipByte(newer, Size(newer) / 2);
  ASSERT_TRUE(Repair().ok()) << Report();
  const RepairFileReport* f = FileReport(Basename(newer));
  ASSERT_NE(nullptr, f) << Report();
  ASSERT_TRUE(f->records_lost.has_value());
  EXPECT_GT(*f->records_lost, 0u);
  // Exactly the keys of the lost block are withheld; their neighbours in the
  // surviving blocks (the block boundaries included) keep version 2.
  EXPECT_EQ(*f->records_lost, report_.keys_withheld) << Report();
  EXPECT_EQ(500u - report_.keys_withheld, CheckNoWrongValues());
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
