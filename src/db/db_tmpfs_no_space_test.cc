// A full disk on a real filesystem: a 4 MiB tmpfs mounted for the test (root
// only; without the right to mount, the binary exits with 77, which ctest
// reports as skipped). The PosixEnv's writes fail with ENOSPC after writing
// what fits, as they do on any full filesystem; the DB must refuse writes
// cleanly while full, resume by itself once a filler file is removed (no
// reopen), and keep every acknowledged write across a reopen, after which
// writes (and compactions) go on.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "db/db_impl.h"
#include "db/db_testutil.h"
#include "gtest/gtest.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

std::string g_mount_dir;  // the tmpfs, mounted by main

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "key%06d", i);
  return buf;
}

TEST(TmpfsNoSpaceTest, FullDiskResumesWithoutReopen) {
  const std::string dbname = g_mount_dir + "/db";
  const std::string filler = g_mount_dir + "/filler";
  {
    std::ofstream out(filler, std::ios::binary);
    std::string block(64 * 1024, 'f');
    for (int i = 0; i < 24; i++)
      out.write(block.data(), static_cast<std::streamsize>(block.size()));
    ASSERT_TRUE(out.good());
  }
  Options options;
  options.create_if_missing = true;
  options.write_buffer_size = 256 * 1024;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options, dbname, &db).ok());
  std::map<std::string, std::string> model;
  std::set<std::string> refused;
  auto put = [&](int i) {
    const std::string value(32 * 1024, static_cast<char>('a' + i % 26));
    Status s = db->Put(WriteOptions(), Key(i), value);
    if (s.ok()) {
      model[Key(i)] = value;
    } else {
      refused.insert(Key(i));
    }
    return s;
  };
  int i = 0;
  Status s;
  for (; i < 1000 && s.ok(); i++) s = put(i);
  ASSERT_TRUE(s.IsNoSpace()) << "after " << i << " writes: " << s.ToString();
  std::string state;
  ASSERT_TRUE(db->GetProperty("lsmkv.error-state", &state));
  EXPECT_TRUE(state == "recoverable" || state == "none") << state;  // none: level 0 full
  s = put(i++);
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_EQ(model, test::ScanContents(db.get()));

  ASSERT_EQ(0, ::unlink(filler.c_str()));  // the operator frees space
  s = put(i++);
  ASSERT_TRUE(s.ok()) << "first write after space was freed: " << s.ToString();
  ASSERT_TRUE(db->GetProperty("lsmkv.error-state", &state));
  EXPECT_EQ("none", state);
  for (int j = 0; j < 5; j++) ASSERT_TRUE(put(i++).ok());
  EXPECT_EQ(model, test::ScanContents(db.get()));

  // A restart keeps everything acknowledged, and the DB takes writes after
  // it (its first compaction must not fill the disk again).
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  ASSERT_TRUE(DB::Open(options, dbname, &db).ok());
  EXPECT_EQ(model, test::ScanContents(db.get()));
  for (const std::string& k : refused) {
    if (model.count(k) == 0) {
      EXPECT_EQ("NOT_FOUND", test::GetOrStatus(db.get(), k));
    }
  }
  for (int j = 0; j < 5; j++) {
    s = put(i++);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  ASSERT_TRUE(static_cast<DBImpl*>(db.get())->TEST_WaitForBackgroundWork().ok());
  ASSERT_TRUE(db->GetProperty("lsmkv.error-state", &state));
  EXPECT_EQ("none", state);
  EXPECT_EQ(model, test::ScanContents(db.get()));
  ASSERT_TRUE(db->Close().ok());
}

}  // namespace
}  // namespace lsmkv

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return lsmkv::test::RunAllTestsOnTmpfs("size=4m", &lsmkv::g_mount_dir);
}
