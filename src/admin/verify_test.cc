// VerifyDB: a healthy database passes without anything being modified, and
// each kind of damage — a flipped byte in a table, a truncated MANIFEST, a
// deleted table, a damaged WAL, a damaged CURRENT — is reported naming the
// file.
#include "admin/table_walker.h"
#include "admin/tools_testutil.h"

namespace lsmkv {
namespace {

class VerifyTest : public test::ToolsTest {
 protected:
  // Two tables (keys 0..499 and 500..999) and 200 more writes in the WAL.
  void Build() {
    ASSERT_TRUE(Open().ok());
    Fill(0, 500, 1, true);
    Fill(500, 1000, 1, true);
    Fill(1000, 1200, 1, false);
    Close();
  }
  Status Verify() { return VerifyDB(dbname_, VerifyOptions(), &report_); }
  bool ProblemMentions(const std::string& text) const {
    for (const std::string& p : report_.problems) {
      if (p.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::string Problems() const { return report_.ToString(); }

  VerifyReport report_;
};

TEST_F(VerifyTest, HealthyDatabasePasses) {
  Build();
  Status s = Verify();
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << Problems();
  EXPECT_TRUE(report_.problems.empty());
  EXPECT_EQ(2u, report_.tables);
  EXPECT_EQ(1000u, report_.entries);
  EXPECT_GT(report_.data_blocks, 50u);  // 1 KiB blocks
  EXPECT_EQ(1u, report_.logs);
  EXPECT_EQ(200u, report_.log_records);
  EXPECT_NE(std::string::npos, report_.ToString().find("OK: no damage found"));
}

TEST_F(VerifyTest, ReportsProgress) {
  Build();
  VerifyOptions options;
  uint64_t last_done = 0, last_total = 0, calls = 0;
  options.progress = [&](uint64_t done, uint64_t total) {
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
    calls++;
  };
  ASSERT_TRUE(VerifyDB(dbname_, options, &report_).ok());
  EXPECT_GE(calls, 1u);
  EXPECT_EQ(last_done, last_total);
  EXPECT_EQ(report_.table_bytes + report_.log_bytes, last_total);
}

TEST_F(VerifyTest, ModifiesNothing) {
  Build();
  FlipByte(Files(FileType::kTableFile)[0], 3000);
  const auto before = Snapshot(dbname_);
  ASSERT_TRUE(Verify().IsCorruption());
  EXPECT_EQ(before, Snapshot(dbname_));
}

TEST_F(VerifyTest, FlippedTableByteNamesTheTableAndBlock) {
  Build();
  const std::string table = Files(FileType::kTableFile)[0];
  FlipByte(table, Size(table) / 3);
  Status s = Verify();
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(1u, report_.problems.size()) << Problems();
  EXPECT_TRUE(ProblemMentions(Basename(table))) << Problems();
  EXPECT_TRUE(ProblemMentions("data block")) << Problems();
  EXPECT_NE(std::string::npos, s.ToString().find(Basename(table)));
}

TEST_F(VerifyTest, DamagedTableFooterIsReported) {
  Build();
  const std::string table = Files(FileType::kTableFile)[1];
  FlipByte(table, Size(table) - 3);  // inside the magic number
  ASSERT_TRUE(Verify().IsCorruption());
  EXPECT_TRUE(ProblemMentions(Basename(table))) << Problems();
  EXPECT_TRUE(ProblemMentions("footer")) << Problems();
}

// Damage reads work around (format version 2) is still damage to verify:
// a filter block Open does without, a salvage block no read needs.
TEST_F(VerifyTest, DamageReadsWorkAroundIsReported) {
  Build();
  const std::string table = Files(FileType::kTableFile)[0];
  const std::string good = ReadAll(table);
  const InternalKeyComparator icmp(BytewiseComparator());
  tools::TableWalker walker(&icmp);
  ASSERT_TRUE(walker.Open(Env::Default(), table).ok());
  int checked = 0;
  for (const auto& meta : walker.meta_blocks()) {
    if (!IsBuiltinFilterBlockName(meta.name) && meta.name != kSalvageBlockName) continue;
    SCOPED_TRACE(meta.name);
    WriteAll(table, good);
    FlipByte(table, meta.handle.offset() + 3);
    // Reads are unaffected...
    ASSERT_TRUE(Open().ok());
    EXPECT_EQ(1200u, Contents(db_.get()).size());
    Close();
    // ... verify is not.
    Status s = Verify();
    ASSERT_TRUE(s.IsCorruption()) << Problems();
    EXPECT_EQ(1u, report_.problems.size()) << Problems();
    EXPECT_TRUE(ProblemMentions(Basename(table))) << Problems();
    EXPECT_TRUE(ProblemMentions(IsBuiltinFilterBlockName(meta.name) ? "filter block damaged"
                                                                    : "salvage block"))
        << Problems();
    checked++;
  }
  EXPECT_EQ(2, checked);
}

// Format version 2: a damaged index block is worked around by reads (and
// by repair and dump, through the salvage block) but is still damage.
TEST_F(VerifyTest, DamagedIndexBlockIsReported) {
  Build();
  const std::string table = Files(FileType::kTableFile)[0];
  const InternalKeyComparator icmp(BytewiseComparator());
  tools::TableWalker walker(&icmp);
  ASSERT_TRUE(walker.Open(Env::Default(), table).ok());
  const BlockHandle index = walker.footer().index_handle();
  FlipByte(table, index.offset() + index.size() / 2);
  Status s = Verify();
  ASSERT_TRUE(s.IsCorruption()) << Problems();
  EXPECT_EQ(1u, report_.problems.size()) << Problems();
  EXPECT_TRUE(ProblemMentions(Basename(table) + ": index block damaged")) << Problems();
  EXPECT_EQ(1000u, report_.entries) << Problems();  // every block still checked
  // With a damaged data block too (Open cannot rebuild the index then),
  // both are reported.
  ASSERT_TRUE(walker.Open(Env::Default(), table).ok());
  ASSERT_FALSE(walker.index_damage().ok());
  ASSERT_GT(walker.blocks().size(), 2u);
  FlipByte(table, walker.blocks()[1].handle.offset() + 10);
  ASSERT_TRUE(Verify().IsCorruption());
  EXPECT_EQ(2u, report_.problems.size()) << Problems();
  EXPECT_TRUE(ProblemMentions("index block")) << Problems();
  EXPECT_TRUE(ProblemMentions("data block 1")) << Problems();
}

TEST_F(VerifyTest, TruncatedManifestIsReported) {
  Build();
  const std::string manifest = Files(FileType::kDescriptorFile)[0];
  Truncate(manifest, Size(manifest) / 2);
  ASSERT_TRUE(Verify().IsCorruption()) << Problems();
  EXPECT_TRUE(ProblemMentions(Basename(manifest))) << Problems();
}

TEST_F(VerifyTest, DeletedTableIsReportedMissing) {
  Build();
  const std::string table = Files(FileType::kTableFile)[0];
  ASSERT_EQ(0, ::unlink(table.c_str()));
  ASSERT_TRUE(Verify().IsCorruption());
  ASSERT_EQ(1u, report_.problems.size()) << Problems();
  EXPECT_TRUE(ProblemMentions(Basename(table))) << Problems();
  EXPECT_TRUE(ProblemMentions("missing")) << Problems();
}

TEST_F(VerifyTest, DamagedWalIsReportedWithOffset) {
  Build();
  const std::string log = Files(FileType::kLogFile).back();
  FlipByte(log, Size(log) / 2);
  ASSERT_TRUE(Verify().IsCorruption());
  EXPECT_TRUE(ProblemMentions(Basename(log))) << Problems();
  EXPECT_TRUE(ProblemMentions("checksum mismatch")) << Problems();
  EXPECT_TRUE(ProblemMentions("offset")) << Problems();
  EXPECT_LT(report_.log_records, 200u);
}

// What Open would drop as damage, verify reports: here a checksum-valid
// record whose sequence numbers overflow.
TEST_F(VerifyTest, WalBatchWithOverflowingSequenceIsReported) {
  Build();
  const std::string log = Files(FileType::kLogFile).back();
  WriteBatch bad;
  bad.Put("zzz", "never");
  AppendWalBatch(log, bad, kMaxSequenceNumber);
  ASSERT_TRUE(Verify().IsCorruption());
  ASSERT_EQ(1u, report_.problems.size()) << Problems();
  EXPECT_TRUE(ProblemMentions(Basename(log) + ": record at offset ")) << Problems();
  EXPECT_TRUE(ProblemMentions("is not a valid write batch")) << Problems();
  EXPECT_TRUE(ProblemMentions("exceed the largest sequence number")) << Problems();
  EXPECT_EQ(200u, report_.log_records);
}

TEST_F(VerifyTest, WalChecksCanBeSkipped) {
  Build();
  FlipByte(Files(FileType::kLogFile).back(), 100);
  VerifyOptions options;
  options.check_logs = false;
  EXPECT_TRUE(VerifyDB(dbname_, options, &report_).ok()) << Problems();
  EXPECT_EQ(0u, report_.logs);
}

TEST_F(VerifyTest, DamagedCurrentIsReported) {
  Build();
  WriteAll(dbname_ + "/CURRENT", "MANIFEST-999999\n");
  ASSERT_TRUE(Verify().IsCorruption());
  EXPECT_TRUE(ProblemMentions("CURRENT")) << Problems();
  // The newest MANIFEST present is checked instead; the rest is intact.
  EXPECT_EQ(2u, report_.tables);
  EXPECT_EQ(1u, report_.problems.size()) << Problems();
}

TEST_F(VerifyTest, UnreferencedTableIsANoteNotDamage) {
  Build();
  const std::string table = Files(FileType::kTableFile)[0];
  WriteAll(dbname_ + "/999999.sst", ReadAll(table));
  ASSERT_TRUE(Verify().ok()) << Problems();
  bool noted = false;
  for (const std::string& n : report_.notes) noted |= n.find("999999.sst") != std::string::npos;
  EXPECT_TRUE(noted) << Problems();
}

TEST_F(VerifyTest, TableDisagreeingWithManifestIsReported) {
  Build();
  // Swap the contents of the two tables: each is intact on its own, but
  // neither holds what the MANIFEST says.
  const std::vector<std::string> tables = Files(FileType::kTableFile);
  const std::string a = ReadAll(tables[0]), b = ReadAll(tables[1]);
  WriteAll(tables[0], b);
  WriteAll(tables[1], a);
  ASSERT_TRUE(Verify().IsCorruption());
  EXPECT_TRUE(ProblemMentions("the first key")) << Problems();
}

TEST_F(VerifyTest, OpenDatabaseIsRefused) {
  Build();
  ASSERT_TRUE(Open().ok());
  Status s = Verify();
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("close it first"));
}

TEST_F(VerifyTest, NoDatabaseIsNotFound) {
  ASSERT_TRUE(Env::Default()->CreateDir(dbname_).ok());
  EXPECT_TRUE(Verify().IsNotFound());
  EXPECT_TRUE(VerifyDB(root_ + "/nowhere", VerifyOptions(), &report_).IsNotFound());
}

}  // namespace
}  // namespace lsmkv
