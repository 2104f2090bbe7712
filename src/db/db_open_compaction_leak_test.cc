// Regression test for an engine defect, fixed in 2026-11-21. What it was:
// obsolete table files are deleted by a deletion pass that runs after a
// flush or a compaction, or that a reader schedules when it drops the last
// reference to a view (DBImpl::PurgeObsoleteFilesIfNeeded). Only Get and
// the iterator cleanup did so: DB::GetProperty (and TEST_CheckInvariants)
// also hold a view or version while they run, and when a compaction
// replaced it meanwhile, the property reader dropped the last reference to
// the input tables and no pass was scheduled. The files stayed in the
// directory, referenced by no version, until the next flush, compaction or
// Get — on an idle database watched by a monitoring thread, indefinitely.
// Here: a compaction started by Open (two level-0 tables, level0_file_limit
// 2) while the test reads "lsmkv.levels"; before the fix about 1 open in 20
// left the inputs behind.
#include <map>
#include <set>
#include <sstream>

#include "db/db_impl.h"
#include "db/db_testutil.h"
#include "env/fault_injection_env.h"
#include "gtest/gtest.h"
#include "lsmkv/db.h"

namespace lsmkv {
namespace {

Options LeakOptions(Env* env, int level0_file_limit) {
  Options o;
  o.env = env;
  o.create_if_missing = true;
  o.write_buffer_size = 16 * 1024;
  o.block_size = 512;
  o.max_open_files = 4;
  o.level0_file_limit = level0_file_limit;
  o.target_file_size = 8 * 1024;
  o.max_bytes_for_level_base = 32 * 1024;
  o.level_size_multiplier = 2;
  o.max_write_buffer_number = 2;
  o.block_cache_size = 16 * 1024;
  o.max_manifest_file_size = 4 * 1024;
  return o;
}

TEST(OpenCompactionLeakTest, InputsOfACompactionStartedByOpenAreDeleted) {
  // A closed database with two level-0 tables and nothing else to do.
  std::map<std::string, std::string> files;
  {
    auto mem = NewMemEnv(Env::Default());
    FaultInjectionEnv env(mem.get());
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(LeakOptions(&env, 10), "/db", &db).ok());
    for (int t = 0; t < 2; t++) {
      for (int i = 0; i < 100; i++) {
        ASSERT_TRUE(
            db->Put(WriteOptions(), "key" + std::to_string(i * 2 + t), std::string(80, 'v')).ok());
      }
      ASSERT_TRUE(db->Flush().ok());
    }
    // The process dies (nothing more is written): the WALs stay.
    env.SetFilesystemActive(false);
    db.reset();
    env.SetFilesystemActive(true);
    std::vector<std::string> children;
    ASSERT_TRUE(mem->GetChildren("/db", &children).ok());
    for (const std::string& c : children) {
      ASSERT_TRUE(ReadFileToString(mem.get(), "/db/" + c, &files[c]).ok());
    }
  }
  int leaked = 0;
  std::string example;
  for (int trial = 0; trial < 500; trial++) {
    auto mem = NewMemEnv(Env::Default());
    ASSERT_TRUE(mem->CreateDir("/db").ok());
    for (const auto& [name, data] : files) {
      ASSERT_TRUE(WriteStringToFile(mem.get(), data, "/db/" + name, true).ok());
    }
    // Through FaultInjectionEnv (no faults): its RemoveFile reads the file
    // first, which widens the window.
    FaultInjectionEnv env(mem.get());
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(LeakOptions(&env, 2), "/db", &db).ok());  // compaction due
    // A monitoring reader: GetProperty holds the view it reads while the
    // compaction started by Open replaces it.
    for (int i = 0; i < 200; i++) {
      std::string levels;
      ASSERT_TRUE(db->GetProperty("lsmkv.levels", &levels));
    }
    ASSERT_TRUE(static_cast<DBImpl*>(db.get())->TEST_WaitForBackgroundWork().ok());
    std::set<uint64_t> live, present;
    ASSERT_TRUE(test::LiveTableNumbers(db.get(), &live));
    ASSERT_TRUE(test::TableNumbersInDir(mem.get(), "/db", &present).ok());
    if (live != present) {
      leaked++;
      if (example.empty()) {
        ASSERT_TRUE(ReadFileToString(mem.get(), "/db/LOG", &example).ok());
        example = "live " + ::testing::PrintToString(live) + "; present " +
                  ::testing::PrintToString(present) + "; LOG:\n" + example;
      }
    }
    ASSERT_TRUE(db->Close().ok());
    db.reset();
  }
  EXPECT_EQ(0, leaked) << "opens (of 500) that left compaction inputs behind; first: " << example;
}

}  // namespace
}  // namespace lsmkv
