// Helpers for the tests of the operator tools (verify, repair, dump,
// checkpoint): a database in a fresh directory, a model of its contents, and
// ways to damage its files. Test binaries only.
#ifndef LSMKV_ADMIN_TOOLS_TESTUTIL_H_
#define LSMKV_ADMIN_TOOLS_TESTUTIL_H_

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "admin/table_walker.h"
#include "base/dbformat.h"
#include "base/filename.h"
#include "db/db_testutil.h"
#include "db/write_batch_internal.h"
#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "lsmkv/tools.h"
#include "util/testutil.h"
#include "wal/log_writer.h"

namespace lsmkv::test {

inline std::string KeyFor(int i) {
  char key[32];
  std::snprintf(key, sizeof(key), "key%06d", i);
  return key;
}

// A value that names its key and version, so a stale or foreign value is
// recognised.
inline std::string ValueFor(int i, int version, size_t size = 100) {
  std::string v = "v" + std::to_string(version) + ":" + KeyFor(i) + ":";
  while (v.size() < size) v.push_back(static_cast<char>('a' + (i + v.size()) % 26));
  return v;
}

class ToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = NewTempDir("tools");
    dbname_ = root_ + "/db";
    options_.create_if_missing = true;
    options_.block_size = 1024;        // many data blocks per table
    options_.level0_file_limit = 100;  // no compaction unless a test asks
    options_.level0_slowdown_writes_trigger = 200;
    options_.level0_stop_writes_trigger = 300;
  }
  void TearDown() override {
    db_.reset();
    RemoveTree(root_);
  }

  Status Open() {
    db_.reset();
    return DB::Open(options_, dbname_, &db_);
  }
  void Close() {
    if (db_ != nullptr) {
      ASSERT_TRUE(db_->Close().ok());
    }
    db_.reset();
  }
  void Put(int i, int version) {
    const std::string v = ValueFor(i, version);
    ASSERT_TRUE(db_->Put(WriteOptions(), KeyFor(i), v).ok());
    model_[KeyFor(i)] = v;
  }
  void Delete(int i) {
    ASSERT_TRUE(db_->Delete(WriteOptions(), KeyFor(i)).ok());
    model_.erase(KeyFor(i));
  }
  // Writes keys [from, to) at version, then flushes if asked.
  void Fill(int from, int to, int version, bool flush) {
    for (int i = from; i < to; i++) Put(i, version);
    if (flush) {
      ASSERT_TRUE(db_->Flush().ok());
    }
  }

  // Every key and value of the database at dir.
  std::map<std::string, std::string> Contents(DB* db) { return ScanContents(db); }

  // Paths of the files of type in the database directory, ascending.
  std::vector<std::string> Files(FileType wanted, const std::string& dir = "") {
    return FilesOfType(Env::Default(), dir.empty() ? dbname_ : dir, wanted);
  }
  static std::string Basename(const std::string& path) { return path.substr(path.rfind('/') + 1); }
  static uint64_t Size(const std::string& path) {
    struct stat st;
    EXPECT_EQ(0, ::stat(path.c_str(), &st)) << path;
    return static_cast<uint64_t>(st.st_size);
  }
  static std::string ReadAll(const std::string& path) {
    std::string data;
    EXPECT_TRUE(ReadFileToString(Env::Default(), path, &data).ok()) << path;
    return data;
  }
  static void WriteAll(const std::string& path, const std::string& data) {
    ASSERT_TRUE(WriteStringToFile(Env::Default(), data, path, true).ok()) << path;
  }
  static void FlipByte(const std::string& path, uint64_t offset) {
    std::string data = ReadAll(path);
    ASSERT_LT(offset, data.size());
    data[offset] = static_cast<char>(data[offset] ^ 0x5a);
    WriteAll(path, data);
  }
  // Appends to the WAL at path a record holding batch, its header set to
  // sequence: bytes the engine never writes when sequence is out of range.
  static void AppendWalBatch(const std::string& path, WriteBatch batch, SequenceNumber sequence) {
    uint64_t number = 0;
    FileType type;
    ASSERT_TRUE(ParseFileName(Basename(path), &number, &type)) << path;
    const uint64_t length = Size(path);
    WriteBatchInternal::SetSequence(&batch, sequence);
    std::unique_ptr<WritableFile> file;
    ASSERT_TRUE(Env::Default()->NewAppendableFile(path, &file).ok()) << path;
    log::Writer writer(file.get(), number, length);
    ASSERT_TRUE(writer.AddRecord(WriteBatchInternal::Contents(&batch)).ok());
    ASSERT_TRUE(file->Sync().ok());
    ASSERT_TRUE(file->Close().ok());
  }
  static void Truncate(const std::string& path, uint64_t size) {
    ASSERT_EQ(0, ::truncate(path.c_str(), static_cast<off_t>(size)));
  }
  // Entry group `group` of data block `block` of the (uncompressed, format
  // version 2) table at path: where its bytes lie in the file, the user keys
  // of its entries (every block_restart_interval-th entry starts a group),
  // and how many groups and blocks there are.
  struct GroupLocation {
    uint64_t offset = 0;
    uint32_t length = 0;
    std::vector<std::string> user_keys;
    size_t groups_in_block = 0;
    size_t blocks = 0;
  };
  GroupLocation LocateGroup(const std::string& path, size_t block, size_t group) {
    GroupLocation where;
    const InternalKeyComparator icmp(BytewiseComparator());
    tools::TableWalker walker(&icmp);
    EXPECT_TRUE(walker.Open(Env::Default(), path).ok()) << path;
    SalvageData salvage;
    EXPECT_TRUE(walker.ReadSalvageData(&salvage).ok()) << path;
    where.blocks = salvage.records().size();
    if (block >= salvage.records().size()) {
      ADD_FAILURE() << path << " has no data block " << block;
      return where;
    }
    const SalvageRecord& record = salvage.records()[block];
    EXPECT_EQ(CompressionType::kNone, record.type);
    where.groups_in_block = record.groups.size();
    if (group >= record.groups.size()) {
      ADD_FAILURE() << "data block " << block << " has no entry group " << group;
      return where;
    }
    where.offset = record.handle.offset();
    for (size_t g = 0; g < group; g++) where.offset += record.groups[g].length;
    where.length = record.groups[group].length;
    std::vector<tools::TableWalker::Entry> entries;
    EXPECT_TRUE(walker.ReadDataBlock(block, &entries).ok());
    const auto interval = static_cast<size_t>(options_.block_restart_interval);
    for (size_t i = group * interval; i < entries.size() && i < (group + 1) * interval; i++) {
      where.user_keys.emplace_back(ExtractUserKey(entries[i].key));
    }
    return where;
  }
  // The index block of the table at path (its handle, from the footer).
  static BlockHandle IndexHandle(const std::string& path) {
    const InternalKeyComparator icmp(BytewiseComparator());
    tools::TableWalker walker(&icmp);
    EXPECT_TRUE(walker.Open(Env::Default(), path).ok()) << path;
    return walker.footer().index_handle();
  }

  // Name, size and contents of every file in the directory tree of dir.
  static std::map<std::string, std::string> Snapshot(const std::string& dir) {
    std::map<std::string, std::string> result;
    std::vector<std::string> children;
    if (!Env::Default()->GetChildren(dir, &children).ok()) return result;
    for (const std::string& c : children) {
      std::string data;
      if (ReadFileToString(Env::Default(), dir + "/" + c, &data).ok()) result[c] = data;
    }
    return result;
  }

  std::string root_, dbname_;
  Options options_;
  std::unique_ptr<DB> db_;
  std::map<std::string, std::string> model_;
};

}  // namespace lsmkv::test

#endif  // LSMKV_ADMIN_TOOLS_TESTUTIL_H_
