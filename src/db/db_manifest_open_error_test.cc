// Regression test for an engine defect, fixed in 2026-11-21. What it was:
// VersionSet::Recover (src/db/version_set.cc) turned every failure to open
// the MANIFEST named by CURRENT into Status::Corruption("CURRENT names
// MANIFEST-... which cannot be opened", ...). A MANIFEST that exists but
// cannot be opened (permission denied, EIO, too many open files) is an I/O
// error, not damage: Corruption would send an operator (or a tool that
// dispatches on IsCorruption) to repair an intact database. Only a missing
// MANIFEST is corruption.
#include "gtest/gtest.h"
#include "lsmkv/db.h"

namespace lsmkv {
namespace {

// Fails every open of a MANIFEST for reading, as chmod 000 would.
class UnreadableManifestEnv : public EnvWrapper {
 public:
  explicit UnreadableManifestEnv(Env* target) : EnvWrapper(target) {}
  Status NewSequentialFile(const std::string& f, std::unique_ptr<SequentialFile>* r) override {
    if (f.find("/MANIFEST-") != std::string::npos) {
      r->reset();
      return Status::IOError(f, "Permission denied");
    }
    return EnvWrapper::NewSequentialFile(f, r);
  }
};

TEST(ManifestOpenErrorTest, UnreadableManifestIsAnIOErrorNotCorruption) {
  auto mem = NewMemEnv(Env::Default());
  Options options;
  options.env = mem.get();
  options.create_if_missing = true;
  {
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(options, "/db", &db).ok());
    ASSERT_TRUE(db->Put(WriteOptions(), "k", "v").ok());
  }
  UnreadableManifestEnv env(mem.get());
  options.env = &env;
  std::unique_ptr<DB> db;
  Status s = DB::Open(options, "/db", &db);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string::npos, s.ToString().find("/db/MANIFEST-")) << s.ToString();
  EXPECT_TRUE(s.IsIOError()) << "an unreadable MANIFEST is reported as " << s.ToString();
  EXPECT_FALSE(s.IsCorruption()) << s.ToString();
}

}  // namespace
}  // namespace lsmkv
