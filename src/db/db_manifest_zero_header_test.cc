// Regression test for an engine defect, fixed in 2026-11-21. What it was:
// 16 zero bytes over the header of the MANIFEST's second record (or the
// MANIFEST truncated anywhere in that record) made Open succeed with almost
// all data gone, and Open then deleted every table file as "unreferenced" —
// a permanent loss reported as OK.
//
// Cause: log::Reader (src/wal/log_reader.cc) took an all-zero header as the
// clean end of the log ("pre-allocated space") even with data after it, so
// VersionSet::Recover read only the first record; for a MANIFEST started by
// the first Open of a database that record is the snapshot of the empty
// database (log number 0, no files), the "WAL named by the MANIFEST must
// exist" check of DBImpl::Recover (src/db/db_open.cc) is skipped for log
// number 0, and the removal of unreferenced files deleted every table.
// Fixed by treating zeros followed by data as damage, and by failing Open
// when a MANIFEST at that never-opened state finds tables on disk.
#include "base/filename.h"
#include "gtest/gtest.h"
#include "lsmkv/db.h"

namespace lsmkv {
namespace {

TEST(ManifestZeroHeaderTest, ZeroedRecordHeaderDoesNotOpenWithDataMissing) {
  auto env = NewMemEnv(Env::Default());
  Options options;
  options.env = env.get();
  options.create_if_missing = true;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options, "/db", &db).ok());
  for (int i = 0; i < 100; i++) {
    ASSERT_TRUE(db->Put(WriteOptions(), "key" + std::to_string(i), "value").ok());
  }
  ASSERT_TRUE(db->Flush().ok());  // the data is in a table, recorded by a later MANIFEST record
  ASSERT_TRUE(db->Close().ok());
  db.reset();

  std::string manifest_name;
  ASSERT_TRUE(ReadCurrentFile(env.get(), "/db", &manifest_name).ok());
  const std::string manifest = "/db/" + manifest_name;
  std::string data;
  ASSERT_TRUE(ReadFileToString(env.get(), manifest, &data).ok());
  // The first record: 11-byte header + payload (length in bytes 4..5).
  const size_t second = 11 + (static_cast<uint8_t>(data[4]) | (static_cast<uint8_t>(data[5]) << 8));
  ASSERT_LT(second + 16, data.size());
  for (size_t i = second; i < second + 16; i++) data[i] = '\0';
  ASSERT_TRUE(WriteStringToFile(env.get(), data, manifest, true).ok());

  Status s = DB::Open(options, "/db", &db);
  if (s.ok()) {
    int present = 0;
    std::string value;
    for (int i = 0; i < 100; i++)
      present += db->Get(ReadOptions(), "key" + std::to_string(i), &value).ok();
    EXPECT_EQ(100, present) << "Open succeeded with " << 100 - present << " of 100 keys gone";
  } else {
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_NE(std::string::npos, s.ToString().find("MANIFEST")) << s.ToString();
  }
}

}  // namespace
}  // namespace lsmkv
