// DumpFile: WAL, MANIFEST, table and CURRENT renderings, binary keys,
// damaged files (reported inline, the rest still shown), type detection.
#include <sstream>

#include "tools/tools_testutil.h"

namespace lsmkv {
namespace {

class DumpTest : public test::ToolsTest {
 protected:
  Status Dump(const std::string& path, DumpOptions options = DumpOptions()) {
    std::ostringstream out;
    Status s = DumpFile(path, options, &out);
    text_ = out.str();
    return s;
  }
  bool Has(const std::string& needle) const { return text_.find(needle) != std::string::npos; }
  size_t Count(const std::string& needle) const {
    size_t n = 0;
    for (size_t pos = text_.find(needle); pos != std::string::npos;
         pos = text_.find(needle, pos + 1))
      n++;
    return n;
  }

  std::string text_;
};

TEST_F(DumpTest, WalShowsBatchesWithSequencesAndEscapedBytes) {
  ASSERT_TRUE(Open().ok());
  ASSERT_TRUE(db_->Put(WriteOptions(), "alpha", "one").ok());
  WriteBatch batch;
  batch.Put(std::string("bin\x00\n\t", 6), "v\\x");
  batch.Delete("alpha");
  ASSERT_TRUE(db_->Write(WriteOptions(), &batch).ok());
  Close();
  ASSERT_TRUE(Dump(Files(FileType::kLogFile).back()).ok()) << text_;
  EXPECT_TRUE(Has("@0\tbatch\t1\t1 ops")) << text_;
  EXPECT_TRUE(Has("  put\t1\talpha\tone\n")) << text_;
  EXPECT_TRUE(Has("batch\t2\t2 ops")) << text_;
  EXPECT_TRUE(Has("  put\t2\tbin\\x00\\x0a\\x09\tv\\\\x\n")) << text_;
  EXPECT_TRUE(Has("  del\t3\talpha\n")) << text_;
  EXPECT_TRUE(Has("summary\t2 records, 3 operations, 0 damaged")) << text_;

  DumpOptions hex;
  hex.hex = true;
  ASSERT_TRUE(Dump(Files(FileType::kLogFile).back(), hex).ok());
  EXPECT_TRUE(Has("  put\t1\t616c706861\t6f6e65\n")) << text_;
}

TEST_F(DumpTest, DamagedWalIsReportedInlineAndReadingGoesOn) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 1000, 1, false);
  Close();
  const std::string log = Files(FileType::kLogFile).back();
  FlipByte(log, 40000);
  Status s = Dump(log);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Has("!! Corruption:")) << text_;
  EXPECT_TRUE(Has("checksum mismatch")) << text_;
  EXPECT_TRUE(Has("\t" + test::KeyFor(999) + "\t")) << "records after the damage are shown";
}

TEST_F(DumpTest, ManifestShowsEditsAndTheResultingState) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 100, 1, true);
  Close();
  ASSERT_TRUE(Dump(Files(FileType::kDescriptorFile).back()).ok()) << text_;
  EXPECT_TRUE(Has("@0\tedit 0")) << text_;
  EXPECT_TRUE(Has("state\tlog number")) << text_;
  EXPECT_TRUE(Has("1 live tables")) << text_;
  EXPECT_TRUE(Has("  L0\t")) << text_;
  EXPECT_TRUE(Has(test::KeyFor(0) + " .. " + test::KeyFor(99))) << text_;
}

TEST_F(DumpTest, TableShowsPropertiesIndexAndEntries) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 300, 1, false);
  Delete(7);
  ASSERT_TRUE(db_->Flush().ok());
  Close();
  const std::string table = Files(FileType::kTableFile)[0];
  ASSERT_TRUE(Dump(table).ok()) << text_;
  EXPECT_TRUE(Has("properties\n  entries\t301\n  deletions\t1\n")) << text_;
  EXPECT_TRUE(Has("  comparator\tlsmkv.InternalKeyComparator")) << text_;
  EXPECT_TRUE(Has("index\t")) << text_;
  // Format version 2: the footer (written twice) and the salvage block.
  EXPECT_TRUE(Has(", format 2 (written twice)\n")) << text_;
  EXPECT_TRUE(Has("meta\tproperties\t@")) << text_;
  EXPECT_TRUE(Has("meta\tsalvage.lsmkv\t@")) << text_;
  EXPECT_TRUE(Has(" entry groups checksummed\n")) << text_;
  EXPECT_TRUE(Has("  put\t1\t" + test::KeyFor(0) + "\t" + test::ValueFor(0, 1) + "\n")) << text_;
  EXPECT_TRUE(Has("  del\t301\t" + test::KeyFor(7) + "\n")) << text_;
  EXPECT_EQ(301u, Count("  put\t") + Count("  del\t"));

  DumpOptions no_entries;
  no_entries.table_entries = false;
  ASSERT_TRUE(Dump(table, no_entries).ok());
  EXPECT_TRUE(Has("properties")) << text_;
  EXPECT_EQ(0u, Count("  put\t"));
}

// Damage the reader works around (here the footer, the copy before it is
// used) is still shown as damage.
TEST_F(DumpTest, DamagedFooterIsShownAndTheCopyUsed) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 300, 1, true);
  Close();
  const std::string table = Files(FileType::kTableFile)[0];
  FlipByte(table, Size(table) - 20);
  Status s = Dump(table);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(1u, Count("!! ")) << text_;
  EXPECT_TRUE(Has("its copy used")) << text_;
  EXPECT_EQ(300u, Count("  put\t")) << text_;
}

TEST_F(DumpTest, DamagedTableShowsTheOtherBlocks) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 300, 1, true);
  Close();
  const std::string table = Files(FileType::kTableFile)[0];
  FlipByte(table, Size(table) / 3);
  Status s = Dump(table);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(1u, Count("!! ")) << text_;
  EXPECT_TRUE(Has("data block")) << text_;
  const size_t shown = Count("  put\t");
  EXPECT_GT(shown, 280u);
  EXPECT_LT(shown, 300u);
}

TEST_F(DumpTest, CurrentIsShown) {
  ASSERT_TRUE(Open().ok());
  Close();
  ASSERT_TRUE(Dump(dbname_ + "/CURRENT").ok());
  EXPECT_TRUE(Has("names\tMANIFEST-")) << text_;
  EXPECT_TRUE(Has("\\x0a")) << text_;
}

TEST_F(DumpTest, TypeFromTheNameOrGiven) {
  ASSERT_TRUE(Open().ok());
  ASSERT_TRUE(db_->Put(WriteOptions(), "k", "v").ok());
  Close();
  const std::string copy = root_ + "/wal-copy.bin";
  WriteAll(copy, ReadAll(Files(FileType::kLogFile).back()));
  EXPECT_TRUE(Dump(copy).IsInvalidArgument());
  DumpOptions as_log;
  as_log.type = DumpFileType::kLog;
  ASSERT_TRUE(Dump(copy, as_log).ok()) << text_;
  EXPECT_TRUE(Has("  put\t1\tk\tv\n")) << text_;  // the log number is read from the header
  EXPECT_TRUE(Dump(dbname_ + "/000999.log").IsNotFound());
}

}  // namespace
}  // namespace lsmkv
