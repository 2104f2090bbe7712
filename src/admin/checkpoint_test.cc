// CreateCheckpoint: the copy opens on its own with every acknowledged write,
// is a consistent prefix while writers and flushes run, shares tables by
// hard link (or copies them where links fail), and leaves the source alone.
#include <atomic>
#include <thread>

#include "admin/tools_testutil.h"

namespace lsmkv {
namespace {

class CheckpointTest : public test::ToolsTest {
 protected:
  std::string Dir(int i = 0) const { return root_ + "/checkpoint" + std::to_string(i); }
  std::map<std::string, std::string> OpenContents(const std::string& dir, Options options) {
    options.create_if_missing = false;
    std::unique_ptr<DB> db;
    Status s = DB::Open(options, dir, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return {};
    auto result = Contents(db.get());
    EXPECT_TRUE(db->Close().ok());
    return result;
  }
};

TEST_F(CheckpointTest, HoldsTablesAndLogsAndOpensOnItsOwn) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 300, 1, true);
  Fill(300, 600, 1, true);
  for (int i = 0; i < 100; i += 3) Delete(i);
  Fill(600, 700, 1, false);  // only in the WAL
  ASSERT_TRUE(CreateCheckpoint(db_.get(), Dir()).ok());
  const auto at_checkpoint = model_;
  Fill(700, 800, 1, false);  // after: not in the checkpoint
  EXPECT_EQ(2u, Files(FileType::kTableFile, Dir()).size());
  EXPECT_EQ(1u, Files(FileType::kLogFile, Dir()).size());
  EXPECT_EQ(at_checkpoint, OpenContents(Dir(), options_));
  EXPECT_EQ(model_, Contents(db_.get()));  // the source goes on
  Close();
  VerifyReport report;
  EXPECT_TRUE(VerifyDB(Dir(), VerifyOptions(), &report).ok()) << report.ToString();
  EXPECT_TRUE(VerifyDB(dbname_, VerifyOptions(), &report).ok()) << report.ToString();
}

// Range deletions: those flushed into the MANIFEST and those still in the
// WAL both hold in the checkpoint.
TEST_F(CheckpointTest, KeepsRangeDeletions) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 300, 1, true);
  auto delete_range = [&](int from, int to) {
    ASSERT_TRUE(db_->DeleteRange(WriteOptions(), test::KeyFor(from), test::KeyFor(to)).ok());
    model_.erase(model_.lower_bound(test::KeyFor(from)), model_.lower_bound(test::KeyFor(to)));
  };
  delete_range(10, 100);
  ASSERT_TRUE(db_->Flush().ok());  // now a MANIFEST record over the first table
  delete_range(200, 250);          // only in the WAL
  ASSERT_TRUE(CreateCheckpoint(db_.get(), Dir()).ok());
  EXPECT_EQ(model_, OpenContents(Dir(), options_));
  Close();
  VerifyReport report;
  EXPECT_TRUE(VerifyDB(Dir(), VerifyOptions(), &report).ok()) << report.ToString();
}

TEST_F(CheckpointTest, TablesAreHardLinked) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 300, 1, true);
  ASSERT_TRUE(CreateCheckpoint(db_.get(), Dir()).ok());
  const std::string source = Files(FileType::kTableFile)[0];
  const std::string copy = Files(FileType::kTableFile, Dir())[0];
  EXPECT_EQ(Basename(source), Basename(copy));
  struct stat a, b;
  ASSERT_EQ(0, ::stat(source.c_str(), &a));
  ASSERT_EQ(0, ::stat(copy.c_str(), &b));
  EXPECT_EQ(a.st_ino, b.st_ino);
}

// An Env that cannot link, as across filesystems.
class NoLinkEnv : public EnvWrapper {
 public:
  NoLinkEnv() : EnvWrapper(Env::Default()) {}
  Status LinkFile(const std::string& s, const std::string& t) override {
    return Status::IOError(s, "Invalid cross-device link");
  }
};

TEST_F(CheckpointTest, CopiesTablesWhereLinksFail) {
  NoLinkEnv env;
  options_.env = &env;
  ASSERT_TRUE(Open().ok());
  Fill(0, 300, 1, true);
  Fill(300, 310, 1, false);
  ASSERT_TRUE(CreateCheckpoint(db_.get(), Dir()).ok());
  const std::string source = Files(FileType::kTableFile)[0];
  const std::string copy = Files(FileType::kTableFile, Dir())[0];
  struct stat a, b;
  ASSERT_EQ(0, ::stat(source.c_str(), &a));
  ASSERT_EQ(0, ::stat(copy.c_str(), &b));
  EXPECT_NE(a.st_ino, b.st_ino);
  EXPECT_EQ(ReadAll(source), ReadAll(copy));
  EXPECT_EQ(model_, OpenContents(Dir(), options_));
  Close();  // before env goes away
}

TEST_F(CheckpointTest, WorksOnAnInMemoryEnv) {
  std::unique_ptr<Env> mem = NewMemEnv(Env::Default());
  options_.env = mem.get();
  ASSERT_TRUE(Open().ok());
  Fill(0, 200, 1, true);
  Fill(200, 250, 1, false);
  ASSERT_TRUE(CreateCheckpoint(db_.get(), "/mem/checkpoint").ok());
  EXPECT_EQ(model_, OpenContents("/mem/checkpoint", options_));
  Close();
}

TEST_F(CheckpointTest, RefusesAnExistingDirectoryAndAClosedDb) {
  ASSERT_TRUE(Open().ok());
  Fill(0, 10, 1, false);
  ASSERT_TRUE(Env::Default()->CreateDir(Dir()).ok());
  Status s = CreateCheckpoint(db_.get(), Dir());
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("exists"));
  EXPECT_TRUE(CreateCheckpoint(nullptr, Dir(1)).IsInvalidArgument());
  ASSERT_TRUE(db_->Close().ok());
  EXPECT_TRUE(CreateCheckpoint(db_.get(), Dir(1)).IsInvalidArgument());
  EXPECT_FALSE(Env::Default()->FileExists(Dir(1)));
}

// A writer thread writes key i = value i in order while checkpoints are
// taken, with a small write buffer so that memtables are frozen and flushed
// throughout. Each checkpoint must hold every write acknowledged before it
// started and, being consistent, exactly a prefix of the writes.
TEST_F(CheckpointTest, ConsistentPrefixWhileWritersAndFlushesRun) {
  options_.write_buffer_size = 32 * 1024;
  options_.block_size = 4096;
  options_.level0_file_limit = 4;  // compactions run too
  options_.level0_slowdown_writes_trigger = 8;
  options_.level0_stop_writes_trigger = 12;
  ASSERT_TRUE(Open().ok());
  std::atomic<int> acknowledged{-1};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load() && i < 1000000; i++) {
      if (!db_->Put(WriteOptions(), test::KeyFor(i), test::ValueFor(i, 1, 200)).ok()) break;
      acknowledged.store(i);
    }
  });
  constexpr int kCheckpoints = 6;
  std::vector<int> acked_before(kCheckpoints);
  for (int c = 0; c < kCheckpoints; c++) {
    while (acknowledged.load() < 2000 * (c + 1)) std::this_thread::yield();
    acked_before[c] = acknowledged.load();
    ASSERT_TRUE(CreateCheckpoint(db_.get(), Dir(c)).ok());
  }
  stop.store(true);
  writer.join();
  for (int c = 0; c < kCheckpoints; c++) {
    VerifyReport report;
    EXPECT_TRUE(VerifyDB(Dir(c), VerifyOptions(), &report).ok()) << report.ToString();
    const auto contents = OpenContents(Dir(c), options_);
    // A prefix: keys 0..n-1, each with its value.
    const int n = static_cast<int>(contents.size());
    EXPECT_GT(n, acked_before[c]) << "checkpoint " << c << " lost acknowledged writes";
    int i = 0;
    for (const auto& [key, value] : contents) {
      ASSERT_EQ(test::KeyFor(i), key) << "checkpoint " << c << " is not a prefix";
      ASSERT_EQ(test::ValueFor(i, 1, 200), value);
      i++;
    }
  }
}

}  // namespace
}  // namespace lsmkv
