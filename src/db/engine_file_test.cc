#include "db/engine_file.h"

#include <cstdio>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "util/crc32c.h"

namespace lsmkv {
namespace {

TEST(EngineFileTest, RoundTripsEveryEngine) {
  for (StorageEngine e : {StorageEngine::kLsm, StorageEngine::kBTree, StorageEngine::kBitcask}) {
    const std::string bytes = EncodeEngineFile(e);
    EXPECT_TRUE(bytes.starts_with("lsmkv-engine 1\n"));
    StorageEngine decoded = StorageEngine::kLsm;
    ASSERT_TRUE(DecodeEngineFile(bytes, &decoded).ok());
    EXPECT_EQ(decoded, e);
  }
  EXPECT_EQ(EncodeEngineFile(StorageEngine::kBTree).substr(0, 21), "lsmkv-engine 1\nbtree\n");
}

TEST(EngineFileTest, EveryBitFlipAndTruncationIsDetected) {
  const std::string good = EncodeEngineFile(StorageEngine::kBitcask);
  for (size_t i = 0; i < good.size(); i++) {
    for (int bit = 0; bit < 8; bit++) {
      std::string bad = good;
      bad[i] ^= static_cast<char>(1 << bit);
      StorageEngine e;
      EXPECT_FALSE(DecodeEngineFile(bad, &e).ok()) << "byte " << i << " bit " << bit;
    }
  }
  for (size_t n = 0; n < good.size(); n++) {
    StorageEngine e;
    EXPECT_TRUE(DecodeEngineFile(good.substr(0, n), &e).IsCorruption()) << n;
  }
  StorageEngine e;
  EXPECT_TRUE(DecodeEngineFile(good + "x", &e).IsCorruption());
}

// A newer format version or an unknown engine, with a valid checksum: the
// file is intact, this build just cannot use it: NotSupported, not Corruption.
TEST(EngineFileTest, NewerVersionsAndUnknownEnginesAreNotSupported) {
  auto with_valid_crc = [](const std::string& body) {
    const uint32_t crc = crc32c::Mask(crc32c::Value(body.data(), body.size()));
    char hex[16];
    std::snprintf(hex, sizeof(hex), "%08x\n", crc);
    return body + hex;
  };
  StorageEngine e;
  ASSERT_TRUE(DecodeEngineFile(with_valid_crc("lsmkv-engine 1\nlsm\n"), &e).ok());
  Status s = DecodeEngineFile(with_valid_crc("lsmkv-engine 2\nlsm\n"), &e);
  EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
  EXPECT_NE(s.ToString().find("version 2"), std::string::npos) << s.ToString();
  s = DecodeEngineFile(with_valid_crc("lsmkv-engine 1\nhash\n"), &e);
  EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
  s = DecodeEngineFile(with_valid_crc("leveldb-engine\nlsm\n"), &e);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

TEST(EngineFileTest, WriteAndReadThroughEnv) {
  std::unique_ptr<Env> env = NewMemEnv(Env::Default());
  ASSERT_TRUE(env->CreateDir("/d").ok());
  StorageEngine e = StorageEngine::kLsm;
  bool present = true;
  ASSERT_TRUE(ReadEngineFile(env.get(), "/d", &e, &present).ok());
  EXPECT_FALSE(present);
  ASSERT_TRUE(WriteEngineFile(env.get(), "/d", StorageEngine::kBTree).ok());
  ASSERT_TRUE(ReadEngineFile(env.get(), "/d", &e, &present).ok());
  EXPECT_TRUE(present);
  EXPECT_EQ(e, StorageEngine::kBTree);
  EXPECT_FALSE(env->FileExists("/d/ENGINE.tmp"));
  ASSERT_TRUE(WriteStringToFile(env.get(), "garbage", "/d/ENGINE", false).ok());
  Status s = ReadEngineFile(env.get(), "/d", &e, &present);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.ToString().find("/d/ENGINE"), std::string::npos) << s.ToString();
}

// An LSM database made before the ENGINE file existed (CURRENT, no ENGINE)
// still opens as an LSM database and is refused to the other engines.
TEST(EngineFileTest, LsmDatabaseWithoutEngineFile) {
  std::unique_ptr<Env> env = NewMemEnv(Env::Default());
  Options o;
  o.env = env.get();
  o.create_if_missing = true;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(o, "/old", &db).ok());
  ASSERT_TRUE(db->Put(WriteOptions(), "k", "v").ok());
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  ASSERT_TRUE(env->RemoveFile("/old/ENGINE").ok());
  o.engine = StorageEngine::kBitcask;
  Status s = DB::Open(o, "/old", &db);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.ToString().find("lsm"), std::string::npos) << s.ToString();
  o.engine = StorageEngine::kLsm;
  ASSERT_TRUE(DB::Open(o, "/old", &db).ok());
  std::string value;
  ASSERT_TRUE(db->Get(ReadOptions(), "k", &value).ok());
  EXPECT_EQ(value, "v");
}

TEST(EngineFileTest, DamagedEngineFileRefusesOpen) {
  std::unique_ptr<Env> env = NewMemEnv(Env::Default());
  Options o;
  o.env = env.get();
  o.create_if_missing = true;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(o, "/db", &db).ok());
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  std::string contents;
  ASSERT_TRUE(ReadFileToString(env.get(), "/db/ENGINE", &contents).ok());
  contents[16] ^= 1;
  ASSERT_TRUE(WriteStringToFile(env.get(), contents, "/db/ENGINE", false).ok());
  Status s = DB::Open(o, "/db", &db);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  // DestroyDB still removes it all.
  ASSERT_TRUE(DestroyDB("/db", o).ok());
  EXPECT_FALSE(env->FileExists("/db/ENGINE"));
}

}  // namespace
}  // namespace lsmkv
