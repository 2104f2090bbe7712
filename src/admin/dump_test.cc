// DumpFile: WAL, MANIFEST, table and CURRENT renderings, binary keys,
// damaged files (reported inline, the rest still shown), type detection.
#include <sstream>

#include "admin/tools_testutil.h"

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

// Format version 2, the index block damaged: the data blocks are located
// through the salvage block, and every entry is shown.
TEST_F(DumpTest, DamagedIndexIsRebuiltFromTheSalvageBlock) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 300, 1, true);
  Close();
  const std::string table = Files(FileType::kTableFile)[0];
  const BlockHandle index = IndexHandle(table);
  FlipByte(table, index.offset() + index.size() / 2);
  Status s = Dump(table);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(1u, Count("!! ")) << text_;
  EXPECT_TRUE(Has("!! Corruption: " + table + ": index block damaged")) << text_;
  EXPECT_TRUE(Has(" data blocks, rebuilt from the salvage block (the index block is damaged)"))
      << text_;
  EXPECT_TRUE(Has("  block 0\t@0+")) << text_;
  EXPECT_EQ(300u, Count("  put\t")) << text_;
  for (int i = 0; i < 300; i++) {
    EXPECT_TRUE(Has("  put\t" + std::to_string(i + 1) + "\t" + test::KeyFor(i) + "\t" +
                    test::ValueFor(i, 1) + "\n"))
        << i;
  }
  EXPECT_TRUE(Has("summary\t300 entries read, 1 damaged region(s)\n")) << text_;
}

// The index and the properties damaged: the table cannot be opened, the
// walker still locates every block through the salvage block; both damaged
// blocks are shown.
TEST_F(DumpTest, DamagedIndexAndPropertiesAreBothShown) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 300, 1, true);
  Close();
  const std::string table = Files(FileType::kTableFile)[0];
  const InternalKeyComparator icmp(BytewiseComparator());
  tools::TableWalker walker(&icmp);
  ASSERT_TRUE(walker.Open(Env::Default(), table).ok());
  uint64_t properties = 0;
  for (const auto& meta : walker.meta_blocks()) {
    if (meta.name == kPropertiesBlockName) properties = meta.handle.offset();
  }
  const BlockHandle index = walker.footer().index_handle();
  FlipByte(table, properties + 3);
  FlipByte(table, index.offset() + index.size() / 2);
  Status s = Dump(table);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(2u, Count("!! ")) << text_;
  EXPECT_TRUE(Has("located through the salvage block")) << text_;
  EXPECT_EQ(300u, Count("  put\t")) << text_;
}

// Format version 2, one entry group of a data block damaged: the block's
// other groups are shown, the lost one is named where it lay.
TEST_F(DumpTest, DamagedEntryGroupShowsTheOtherGroups) {
  options_.block_size = 4096;  // several entry groups per block
  ASSERT_TRUE(Open().ok());
  Fill(0, 300, 1, true);
  Close();
  const std::string table = Files(FileType::kTableFile)[0];
  const GroupLocation g = LocateGroup(table, 2, 1);
  ASSERT_EQ(8u, g.user_keys.size());
  ASSERT_GE(g.groups_in_block, 3u);
  const int first = std::stoi(g.user_keys[0].substr(3));  // "key000123"
  FlipByte(table, g.offset + g.length / 2);
  Status s = Dump(table);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(1u, Count("!! ")) << text_;
  const std::string groups = std::to_string(g.groups_in_block);
  EXPECT_TRUE(Has("data block 2: block checksum mismatch")) << text_;
  EXPECT_TRUE(Has("; salvaged: 1 of " + groups + " entry groups lost (group 1)\n")) << text_;
  EXPECT_TRUE(Has(" entries salvaged, 1 of " + groups + " entry groups lost\n")) << text_;
  const std::string lost_line =
      "  lost\tgroup 1\t" + std::to_string(g.length) + " bytes\tchecksum mismatch\n";
  EXPECT_TRUE(Has(lost_line)) << text_;
  EXPECT_EQ(292u, Count("  put\t")) << text_;
  for (const std::string& k : g.user_keys) EXPECT_FALSE(Has("\t" + k + "\t")) << k;
  // The gap is shown where it lies: between the keys around it.
  const size_t before = text_.find("\t" + test::KeyFor(first - 1) + "\t");
  const size_t gap = text_.find(lost_line);
  const size_t after = text_.find("\t" + test::KeyFor(first + 8) + "\t");
  ASSERT_NE(std::string::npos, before);
  ASSERT_NE(std::string::npos, after);
  EXPECT_LT(before, gap);
  EXPECT_LT(gap, after);
  EXPECT_TRUE(Has("summary\t292 entries read, 1 entry groups lost, 1 damaged region(s)\n"))
      << text_;
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
