// The Bitcask engine beyond the engine-neutral suite: its formats (every
// truncation and bit flip detected), merge (contents and snapshots kept,
// hint files written and used, a damaged hint rebuilt from the data file,
// a crash or an error at every step of a merge loses nothing, a damaged
// record is never copied forward), the background merge, torn tails.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bitcask/format.h"
#include "db/model_testutil.h"
#include "env/fault_injection_env.h"
#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "util/random.h"

namespace lsmkv {
namespace {

using test::ModelState;

// ---------------------------------------------------------------- formats

TEST(BitcaskFormatTest, RecordRoundTripAndEveryFlipOrTruncationDetected) {
  std::string rec;
  std::vector<bitcask::OpLocation> loc;
  bitcask::EncodeRecord(41,
                        {{bitcask::OpType::kPut, "alpha", "one"},
                         {bitcask::OpType::kDelete, "beta", ""},
                         {bitcask::OpType::kPut, "", std::string(300, 'x')}},
                        &rec, &loc);
  ASSERT_EQ(loc.size(), 3u);
  uint32_t length, crc;
  ASSERT_TRUE(bitcask::DecodeRecordHeader(rec, &length, &crc).ok());
  ASSERT_EQ(length + bitcask::kRecordHeaderSize, rec.size());
  std::vector<bitcask::DecodedOp> ops;
  ASSERT_TRUE(bitcask::DecodeRecordPayload(std::string_view(rec).substr(12), crc, &ops).ok());
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(ops[0].key, "alpha");
  EXPECT_EQ(ops[0].value, "one");
  EXPECT_EQ(ops[0].sequence, 41u);
  EXPECT_EQ(ops[1].type, bitcask::OpType::kDelete);
  EXPECT_EQ(ops[2].sequence, 43u);
  for (size_t i = 0; i < 3; i++) {
    EXPECT_EQ(ops[i].offset, loc[i].offset);
    EXPECT_EQ(ops[i].size, loc[i].size);
    // Each op reads back alone, checked, and only for its key.
    bitcask::OpType type;
    std::string_view value;
    const std::string_view bytes = std::string_view(rec).substr(loc[i].offset, loc[i].size);
    ASSERT_TRUE(bitcask::DecodeOp(bytes, ops[i].key, &type, &value).ok());
    EXPECT_FALSE(bitcask::DecodeOp(bytes, "other", &type, &value).ok());
  }
  // Every single-bit flip is caught by the header or the payload checksum.
  for (size_t i = 0; i < rec.size(); i++) {
    for (int bit = 0; bit < 8; bit++) {
      std::string bad = rec;
      bad[i] ^= static_cast<char>(1 << bit);
      Status s = bitcask::DecodeRecordHeader(bad, &length, &crc);
      if (s.ok() && length + 12 == bad.size()) {
        s = bitcask::DecodeRecordPayload(std::string_view(bad).substr(12), crc, &ops);
      }
      EXPECT_FALSE(s.ok() && length + 12 == bad.size()) << "byte " << i << " bit " << bit;
    }
  }
  // A flip inside an op is caught by the op's own checksum when it is read
  // alone (a value read after start-up from a hinted file).
  for (size_t i = loc[0].offset; i < loc[0].offset + loc[0].size; i++) {
    std::string bad = rec;
    bad[i] ^= 0x10;
    bitcask::OpType type;
    std::string_view value;
    EXPECT_FALSE(bitcask::DecodeOp(std::string_view(bad).substr(loc[0].offset, loc[0].size),
                                   "alpha", &type, &value)
                     .ok())
        << i;
  }
}

TEST(BitcaskFormatTest, HintsAndManifestDetectDamage) {
  std::string entries;
  bitcask::EncodeHintEntry({bitcask::OpType::kPut, 7, 100, 20, "key"}, &entries);
  bitcask::EncodeHintEntry({bitcask::OpType::kDelete, 9, 120, 8, "gone"}, &entries);
  const std::string hint = bitcask::FinishHintFile(entries);
  std::vector<bitcask::HintEntry> decoded;
  ASSERT_TRUE(bitcask::DecodeHintFile(hint, &decoded).ok());
  ASSERT_EQ(decoded.size(), 2u);
  EXPECT_EQ(decoded[1].key, "gone");
  EXPECT_EQ(decoded[1].sequence, 9u);
  for (size_t i = 0; i < hint.size(); i++) {
    std::string bad = hint;
    bad[i] ^= 0x01;
    EXPECT_FALSE(bitcask::DecodeHintFile(bad, &decoded).ok()) << i;
  }
  for (size_t n = 0; n < hint.size(); n++) {
    EXPECT_FALSE(bitcask::DecodeHintFile(hint.substr(0, n), &decoded).ok()) << n;
  }
  bitcask::Manifest m;
  m.next_file = 12;
  m.comparator = "lsmkv.BytewiseComparator";
  m.files = {3, 9, 11};
  const std::string bytes = bitcask::EncodeManifest(m);
  bitcask::Manifest back;
  ASSERT_TRUE(bitcask::DecodeManifest(bytes, &back).ok());
  EXPECT_EQ(back.files, m.files);
  EXPECT_EQ(back.next_file, 12u);
  EXPECT_EQ(back.comparator, m.comparator);
  for (size_t i = 0; i < bytes.size(); i++) {
    std::string bad = bytes;
    bad[i] ^= 0x04;
    EXPECT_FALSE(bitcask::DecodeManifest(bad, &back).ok()) << i;
  }
}

// ---------------------------------------------------------------- engine

class BitcaskTest : public ::testing::Test {
 protected:
  BitcaskTest() : mem_(NewMemEnv(Env::Default())), env_(mem_.get()) {}
  ~BitcaskTest() override { db_.reset(); }

  Options Opts() {
    Options o;
    o.engine = StorageEngine::kBitcask;
    o.env = &env_;
    o.create_if_missing = true;
    o.bitcask_max_file_size = 16 << 10;           // many files
    o.bitcask_merge_min_dead_bytes = 1ull << 40;  // merges only when asked
    return o;
  }
  Status Open(const Options& o) {
    db_.reset();
    return DB::Open(o, "/bc", &db_);
  }
  ModelState Contents() {
    ModelState out;
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    for (it->SeekToFirst(); it->Valid(); it->Next()) out[std::string(it->key())] = it->value();
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return out;
  }
  uint64_t Property(const std::string& name) {
    std::string v;
    EXPECT_TRUE(db_->GetProperty(name, &v)) << name;
    return std::stoull(v);
  }
  // Writes rounds of overwrites and deletes over 300 keys.
  void Churn(ModelState* model, int rounds, uint64_t seed) {
    Random rnd(seed);
    for (int r = 0; r < rounds; r++) {
      for (int i = 0; i < 300; i++) {
        const std::string k = "key" + std::to_string(rnd.Uniform(300));
        if (rnd.OneIn(4)) {
          ASSERT_TRUE(db_->Delete(WriteOptions(), k).ok());
          model->erase(k);
        } else {
          const std::string v = "v" + std::to_string(r) + "." + std::string(rnd.Uniform(200), 'x');
          ASSERT_TRUE(db_->Put(WriteOptions(), k, v).ok());
          (*model)[k] = v;
        }
      }
    }
  }
  std::vector<std::string> Files(const std::string& suffix) {
    std::vector<std::string> children, out;
    EXPECT_TRUE(env_.GetChildren("/bc", &children).ok());
    for (const auto& c : children) {
      if (c.size() > suffix.size() && c.ends_with(suffix)) out.push_back(c);
    }
    return out;
  }

  std::unique_ptr<Env> mem_;
  FaultInjectionEnv env_;
  std::unique_ptr<DB> db_;
};

TEST_F(BitcaskTest, MergeKeepsContentsAndSnapshotsAndWritesHints) {
  ASSERT_TRUE(Open(Opts()).ok());
  ModelState model;
  Churn(&model, 6, 1);
  const ModelState before = model;
  const Snapshot* snap = db_->GetSnapshot();
  Churn(&model, 3, 2);
  const uint64_t dead = Property("lsmkv.bitcask.dead-bytes");
  const uint64_t files = Property("lsmkv.bitcask.data-files");
  EXPECT_GT(dead, 0u);
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ(Property("lsmkv.bitcask.merges"), 1u);
  EXPECT_LT(Property("lsmkv.bitcask.dead-bytes"), dead);
  EXPECT_LT(Property("lsmkv.bitcask.data-files"), files);
  EXPECT_EQ(Contents(), model);
  // The snapshot taken before still sees its state after the merge.
  ReadOptions ro;
  ro.snapshot = snap;
  ModelState seen;
  std::unique_ptr<Iterator> it = db_->NewIterator(ro);
  for (it->SeekToFirst(); it->Valid(); it->Next()) seen[std::string(it->key())] = it->value();
  it.reset();
  EXPECT_EQ(seen, before);
  db_->ReleaseSnapshot(snap);
  EXPECT_FALSE(Files(".bch").empty()) << "merge wrote no hint files";
  // Start-up uses the hints and finds the same contents.
  ASSERT_TRUE(db_->Close().ok());
  ASSERT_TRUE(Open(Opts()).ok());
  std::string stats;
  ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
  EXPECT_EQ(stats.find("hint files used 0 ("), std::string::npos) << stats;
  EXPECT_EQ(Contents(), model);
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ(Property("lsmkv.bitcask.dead-bytes"), 0u);
  EXPECT_EQ(Contents(), model);
}

TEST_F(BitcaskTest, DamagedHintIsRebuiltFromTheDataFile) {
  ASSERT_TRUE(Open(Opts()).ok());
  ModelState model;
  Churn(&model, 4, 3);
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  ASSERT_TRUE(db_->Close().ok());
  for (const std::string& hint : Files(".bch")) {
    std::string contents;
    ASSERT_TRUE(ReadFileToString(&env_, "/bc/" + hint, &contents).ok());
    contents[contents.size() / 2] ^= 0x20;
    ASSERT_TRUE(WriteStringToFile(&env_, contents, "/bc/" + hint, true).ok());
  }
  ASSERT_TRUE(Open(Opts()).ok());
  std::string stats;
  ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
  EXPECT_NE(stats.find("rejected"), std::string::npos);
  EXPECT_EQ(stats.find("(rejected 0)"), std::string::npos) << stats;
  EXPECT_EQ(Contents(), model);
}

// A flipped byte in a data file whose keydir came from a hint (not read at
// start-up) shows as Corruption on the read, never as a wrong value; and a
// merge refuses to copy the damaged op forward (the old files stay).
TEST_F(BitcaskTest, DamageAfterStartupIsReportedAndNotMergedForward) {
  ASSERT_TRUE(Open(Opts()).ok());
  ModelState model;
  Churn(&model, 3, 4);
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  ASSERT_TRUE(db_->Close().ok());
  std::vector<std::string> data = Files(".bcd");
  ASSERT_FALSE(data.empty());
  // Damage the middle of the largest data file.
  std::string victim;
  uint64_t largest = 0;
  for (const auto& f : data) {
    uint64_t size = 0;
    ASSERT_TRUE(env_.GetFileSize("/bc/" + f, &size).ok());
    if (size > largest) {
      largest = size;
      victim = f;
    }
  }
  std::string contents;
  ASSERT_TRUE(ReadFileToString(&env_, "/bc/" + victim, &contents).ok());
  contents[contents.size() / 2] ^= 0x01;
  ASSERT_TRUE(WriteStringToFile(&env_, contents, "/bc/" + victim, true).ok());
  ASSERT_TRUE(Open(Opts()).ok()) << "hints let the damaged file open unread";
  int corrupt = 0;
  for (const auto& [k, v] : model) {
    std::string value;
    Status s = db_->Get(ReadOptions(), k, &value);
    if (s.ok()) {
      ASSERT_EQ(value, v) << k;
    } else {
      ASSERT_TRUE(s.IsCorruption()) << k << ": " << s.ToString();
      corrupt++;
    }
  }
  EXPECT_EQ(corrupt, 1);
  Status s = db_->CompactRange(nullptr, nullptr);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(env_.FileExists("/bc/" + victim)) << "the merge deleted its damaged input";
  // paranoid_checks reads every data file at open: refused.
  ASSERT_TRUE(db_->Close().ok());
  Options paranoid = Opts();
  paranoid.paranoid_checks = true;
  EXPECT_TRUE(Open(paranoid).IsCorruption());
}

// An error at each I/O call of a merge, and a crash (power loss) at each
// call: the merge fails or completes, and after a reopen every key is there.
TEST_F(BitcaskTest, FailureOrCrashAtEveryStepOfAMergeLosesNothing) {
  ASSERT_TRUE(Open(Opts()).ok());
  ModelState model;
  Churn(&model, 4, 5);
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  int failed_merges = 0, crashes = 0;
  for (const FaultOp op : {FaultOp::kOpen, FaultOp::kAppend, FaultOp::kSync, FaultOp::kClose,
                           FaultOp::kRename, FaultOp::kSyncDir, FaultOp::kRead}) {
    for (uint64_t nth = 1; nth <= 8; nth++) {
      for (const bool crash : {false, true}) {
        SCOPED_TRACE(std::string(FaultOpName(op)) + " #" + std::to_string(nth) +
                     (crash ? " then power loss" : ""));
        ASSERT_TRUE(Open(Opts()).ok());
        ASSERT_EQ(Contents(), model);
        env_.ResetCounts();
        env_.FailNth(op, nth);
        Status s = db_->CompactRange(nullptr, nullptr);
        env_.ClearFaults();
        if (!s.ok()) failed_merges++;
        if (crash) {
          crashes++;
          env_.SetFilesystemActive(false);
          db_->Close().PermitUncheckedError();
          db_.reset();
          ASSERT_TRUE(env_.DropUnsyncedData().ok());
          env_.SetFilesystemActive(true);
        } else {
          db_->Close().PermitUncheckedError();
          db_.reset();
        }
        Status reopened = Open(Opts());
        ASSERT_TRUE(reopened.ok()) << reopened.ToString();
        ASSERT_EQ(Contents(), model);
        ASSERT_TRUE(db_->Close().ok());
        db_.reset();
      }
    }
  }
  EXPECT_GT(failed_merges, 10);
  std::printf("bitcask merge faults: %d failed merges, %d power losses, nothing lost\n",
              failed_merges, crashes);
}

TEST_F(BitcaskTest, BackgroundMergeRunsPastTheDeadRatio) {
  Options o = Opts();
  o.bitcask_merge_min_dead_bytes = 64 << 10;
  o.bitcask_merge_dead_ratio = 0.5;
  ASSERT_TRUE(Open(o).ok());
  ModelState model;
  Churn(&model, 20, 6);
  // The merges run on the Env's background thread (Close waits for one under
  // way). At least one has completed, not failed, by the end of the churn or
  // soon after: say what the DB saw if not (the stats of the reopened DB
  // below start from zero).
  std::string merges, stats;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (db_->GetProperty("lsmkv.bitcask.merges", &merges) && merges == "0" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polls for the merge
  }
  ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
  ASSERT_NE(merges, "0") << stats;
  ASSERT_EQ(stats.find("last merge error"), std::string::npos) << stats;
  ASSERT_TRUE(db_->Close().ok());
  ASSERT_TRUE(Open(o).ok());
  EXPECT_EQ(Contents(), model);
  // Merged files come with hints: at least one was used at start-up.
  ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
  EXPECT_EQ(stats.find("hint files used 0 ("), std::string::npos) << stats;
}

TEST_F(BitcaskTest, TornTailIsDroppedAndTheRestKept) {
  ASSERT_TRUE(Open(Opts()).ok());
  ASSERT_TRUE(db_->Put(WriteOptions(), "a", "1").ok());
  ASSERT_TRUE(db_->Put(WriteOptions(), "b", "2").ok());
  ASSERT_TRUE(db_->Close().ok());
  // Cut the newest non-empty data file inside its last record.
  std::vector<std::string> data = Files(".bcd");
  std::string last;
  for (const auto& f : data) {
    uint64_t size = 0;
    ASSERT_TRUE(env_.GetFileSize("/bc/" + f, &size).ok());
    if (size > 0) last = f;
  }
  std::string contents;
  ASSERT_TRUE(ReadFileToString(&env_, "/bc/" + last, &contents).ok());
  for (size_t cut = 1; cut < 20; cut++) {
    ASSERT_TRUE(
        WriteStringToFile(&env_, contents.substr(0, contents.size() - cut), "/bc/" + last, true)
            .ok());
    ASSERT_TRUE(Open(Opts()).ok()) << cut;
    std::string v;
    ASSERT_TRUE(db_->Get(ReadOptions(), "a", &v).ok());
    EXPECT_TRUE(db_->Get(ReadOptions(), "b", &v).IsNotFound());
    ASSERT_TRUE(db_->Close().ok());
  }
}

// A read finds its version under the keydir lock and reads the value after
// releasing it; a merge may swap that version's file out in between. The
// file is pinned with the lookup, so such a read still succeeds (it once
// failed with "keydir names a missing file", found by crashtest_smoke_bitcask);
// and a Get without a snapshot picks its version in the lookup's own hold
// (it once took the sequence in an earlier hold, and an overwrite replacing
// the version in place between the two made it answer NotFound). Readers
// (Get and scans) race overwrites and merges of 200 keys that always exist.
TEST_F(BitcaskTest, ReadsRacingMergesNeverLoseTheirFile) {
  ASSERT_TRUE(Open(Opts()).ok());
  for (int i = 0; i < 200; i++) {
    ASSERT_TRUE(db_->Put(WriteOptions(), "key" + std::to_string(i), std::string(100, 'a')).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; t++) {
    readers.emplace_back([&, t] {
      Random rnd(77 + t);
      std::string value;
      while (!stop.load()) {
        if (t == 0) {
          Status s = db_->Get(ReadOptions(), "key" + std::to_string(rnd.Uniform(200)), &value);
          if (!s.ok()) failures++;
        } else {
          std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
          for (it->SeekToFirst(); it->Valid(); it->Next()) {
          }
          if (!it->status().ok()) failures++;
        }
      }
    });
  }
  Random rnd(5);
  for (int round = 0; round < 60 && failures.load() == 0; round++) {
    for (int i = 0; i < 200; i++) {
      ASSERT_TRUE(db_->Put(WriteOptions(), "key" + std::to_string(rnd.Uniform(200)),
                           std::string(100, static_cast<char>('a' + round % 26)))
                      .ok());
    }
    ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());  // a merge
  }
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(BitcaskTest, LargeKeysAndValues) {
  ASSERT_TRUE(Open(Opts()).ok());
  const std::string big_key(64 << 10, 'k');
  const std::string big_value(2 << 20, 'v');
  ASSERT_TRUE(db_->Put(WriteOptions(), big_key, big_value).ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  ASSERT_TRUE(db_->Close().ok());
  ASSERT_TRUE(Open(Opts()).ok());
  std::string v;
  ASSERT_TRUE(db_->Get(ReadOptions(), big_key, &v).ok());
  EXPECT_EQ(v, big_value);
}

}  // namespace
}  // namespace lsmkv
