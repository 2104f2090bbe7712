// Recovery: WAL recovery modes on damaged logs, torn tails, damaged MANIFEST
// and CURRENT, removal of unreferenced files, write stalls, and a long model
// test with many level-0 tables across reopens.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/filename.h"
#include "db/db_impl.h"
#include "db/db_testutil.h"
#include "db/write_batch_internal.h"
#include "env/env_util.h"
#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "util/random.h"
#include "util/testutil.h"
#include "wal/log_writer.h"

namespace lsmkv {
namespace {

class RecoveryTest : public test::DBTestBase<> {
 protected:
  RecoveryTest() { dbname_ = "/recovery"; }
  std::vector<std::string> Files(FileType wanted) {
    return test::FilesOfType(env_.get(), dbname_, wanted);
  }
  std::string ReadFile(const std::string& f) {
    std::string data;
    EXPECT_TRUE(ReadFileToString(env_.get(), f, &data).ok());
    return data;
  }
  void WriteFile(const std::string& f, const std::string& data) {
    ASSERT_TRUE(WriteStringToFile(env_.get(), data, f, true).ok());
  }
  std::string InfoLog() { return ReadFile(InfoLogFileName(dbname_)); }

  // Writes n records of ~1 KiB (keys k0000..) and closes, leaving them in
  // one WAL (the write buffer is large). Returns the WAL's name.
  std::string WriteLog(int n) {
    EXPECT_TRUE(Reopen().ok());
    for (int i = 0; i < n; i++) {
      char key[16];
      std::snprintf(key, sizeof(key), "k%04d", i);
      EXPECT_TRUE(
          db_->Put(WriteOptions(), key, std::string(1000, static_cast<char>('a' + i % 26))).ok());
    }
    EXPECT_TRUE(db_->Close().ok());
    db_.reset();
    std::vector<std::string> logs = Files(FileType::kLogFile);
    EXPECT_EQ(1u, logs.size());
    return logs.empty() ? "" : logs.back();
  }
  // Index of the first key missing (n if none).
  int FirstMissing(int n) {
    for (int i = 0; i < n; i++) {
      char key[16];
      std::snprintf(key, sizeof(key), "k%04d", i);
      if (Get(key) == "NOT_FOUND") return i;
    }
    return n;
  }
  int CountPresent(int n) {
    int present = 0;
    for (int i = 0; i < n; i++) {
      char key[16];
      std::snprintf(key, sizeof(key), "k%04d", i);
      const std::string v = Get(key);
      if (v != "NOT_FOUND") {
        EXPECT_EQ(std::string(1000, static_cast<char>('a' + i % 26)), v) << key;
        present++;
      }
    }
    return present;
  }

  // Appends to WAL number `number` (created if missing) a record holding
  // batch with its header set to sequence and, if given, count.
  void AppendBatch(uint64_t number, WriteBatch batch, SequenceNumber sequence,
                   std::optional<uint32_t> count = std::nullopt) {
    WriteBatchInternal::SetSequence(&batch, sequence);
    if (count.has_value()) WriteBatchInternal::SetCount(&batch, *count);
    const std::string name = LogFileName(dbname_, number);
    const uint64_t length = env_->FileExists(name) ? ReadFile(name).size() : 0;
    std::unique_ptr<WritableFile> file;
    ASSERT_TRUE(env_->NewAppendableFile(name, &file).ok());
    log::Writer writer(file.get(), number, length);
    ASSERT_TRUE(writer.AddRecord(WriteBatchInternal::Contents(&batch)).ok());
    ASSERT_TRUE(file->Close().ok());
  }
};

// Damage in the middle of the log (in record 50 of 100, ~33 records per
// 32 KiB block), under each recovery mode.
TEST_F(RecoveryTest, MidLogCorruptionUnderEachMode) {
  struct Case {
    WalRecoveryMode mode;
    bool open_ok;
    int min_present, max_present;
  };
  const Case cases[] = {
      {WalRecoveryMode::kAbsoluteConsistency, false, 0, 0},
      {WalRecoveryMode::kTolerateCorruptedTail, false, 0, 0},
      {WalRecoveryMode::kPointInTime, true, 45, 55},       // the records before the damage
      {WalRecoveryMode::kSkipAnyCorrupted, true, 99, 99},  // only the damaged record lost
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.mode));
    ASSERT_TRUE(DestroyDB(dbname_, options_).ok());
    const std::string log = WriteLog(100);
    std::string data = ReadFile(log);
    const size_t damage = data.size() / 2;
    data[damage] ^= 0x40;
    WriteFile(log, data);
    options_.wal_recovery_mode = c.mode;
    Status s = Reopen();
    EXPECT_EQ(c.open_ok, s.ok()) << s.ToString();
    if (!s.ok()) {
      EXPECT_TRUE(s.IsCorruption()) << s.ToString();
      EXPECT_NE(std::string::npos, s.ToString().find(".log")) << s.ToString();
      continue;
    }
    const int present = CountPresent(100);
    EXPECT_GE(present, c.min_present);
    EXPECT_LE(present, c.max_present);
    EXPECT_NE(std::string::npos, InfoLog().find("WAL damage")) << "the loss must be reported";
    if (c.mode == WalRecoveryMode::kPointInTime) {
      // Exactly a prefix: nothing after the damage is kept, even intact records.
      EXPECT_EQ(present, FirstMissing(100));
      EXPECT_EQ("NOT_FOUND", Get("k0099"));
    } else {
      EXPECT_NE("NOT_FOUND", Get("k0099"));  // salvage keeps what follows
    }
    // Sequence numbers of dropped records are not reused.
    std::string seq;
    ASSERT_TRUE(db_->GetProperty("lsmkv.last-sequence", &seq));
    EXPECT_GE(std::stoull(seq), 100u);
    db_.reset();
  }
}

// A torn last record (a write cut by a crash) under each mode.
TEST_F(RecoveryTest, TornTailUnderEachMode) {
  const WalRecoveryMode modes[] = {
      WalRecoveryMode::kAbsoluteConsistency, WalRecoveryMode::kTolerateCorruptedTail,
      WalRecoveryMode::kPointInTime, WalRecoveryMode::kSkipAnyCorrupted};
  for (WalRecoveryMode mode : modes) {
    SCOPED_TRACE(static_cast<int>(mode));
    options_.wal_recovery_mode = WalRecoveryMode::kPointInTime;
    ASSERT_TRUE(DestroyDB(dbname_, options_).ok());
    const std::string log = WriteLog(10);
    std::string data = ReadFile(log);
    data.resize(data.size() - 300);  // cuts the last record
    WriteFile(log, data);
    options_.wal_recovery_mode = mode;
    Status s = Reopen();
    if (mode == WalRecoveryMode::kAbsoluteConsistency) {
      EXPECT_TRUE(s.IsCorruption()) << s.ToString();
      continue;
    }
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(9, CountPresent(10));
    EXPECT_EQ("NOT_FOUND", Get("k0009"));
    db_.reset();
  }
}

// A log that ends inside a record followed by a log with records: a hole in
// the write history, not a torn tail, under each mode.
TEST_F(RecoveryTest, TornLogFollowedByALogWithRecordsIsAHole) {
  const WalRecoveryMode modes[] = {
      WalRecoveryMode::kAbsoluteConsistency, WalRecoveryMode::kTolerateCorruptedTail,
      WalRecoveryMode::kPointInTime, WalRecoveryMode::kSkipAnyCorrupted};
  for (WalRecoveryMode mode : modes) {
    SCOPED_TRACE(static_cast<int>(mode));
    options_.wal_recovery_mode = WalRecoveryMode::kPointInTime;
    ASSERT_TRUE(DestroyDB(dbname_, options_).ok());
    const std::string log = WriteLog(10);  // sequences 1..10
    std::string data = ReadFile(log);
    data.resize(data.size() - 300);  // cuts record 10
    WriteFile(log, data);
    uint64_t number = 0;
    FileType type;
    ASSERT_TRUE(ParseFileName(log.substr(log.rfind('/') + 1), &number, &type));
    WriteBatch later;
    later.Put("k0100", "later");
    AppendBatch(number + 50, later, 11);
    options_.wal_recovery_mode = mode;
    Status s = Reopen();
    if (mode == WalRecoveryMode::kAbsoluteConsistency) {
      EXPECT_TRUE(s.IsCorruption()) << s.ToString();
      continue;
    }
    if (mode == WalRecoveryMode::kTolerateCorruptedTail) {
      EXPECT_TRUE(s.IsCorruption()) << s.ToString();
      EXPECT_NE(std::string::npos, s.ToString().find(log)) << s.ToString();
      EXPECT_NE(std::string::npos, s.ToString().find("followed by later records")) << s.ToString();
      continue;
    }
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(9, CountPresent(10));
    EXPECT_NE(std::string::npos, InfoLog().find("WAL hole: " + log + " ends inside a record"))
        << InfoLog();
    EXPECT_EQ(1u, Stat("wal damaged regions dropped at open"));
    EXPECT_GT(Stat("wal damaged bytes dropped at open"), 0u);
    if (mode == WalRecoveryMode::kPointInTime) {
      EXPECT_EQ("NOT_FOUND", Get("k0100"));  // after the hole: dropped
      EXPECT_EQ(1u, Stat("wal intact records dropped at open"));
    } else {
      EXPECT_EQ("later", Get("k0100"));
      EXPECT_EQ(0u, Stat("wal intact records dropped at open"));
    }
    std::string seq;
    ASSERT_TRUE(db_->GetProperty("lsmkv.last-sequence", &seq));
    EXPECT_EQ("11", seq);
    db_.reset();
  }
}

// A batch of no operations (never written by the engine, valid by the
// format) consumes no sequence number: a header sequence of 0 must not make
// the last sequence wrap around.
TEST_F(RecoveryTest, EmptyBatchConsumesNoSequenceNumber) {
  const std::string log = WriteLog(5);  // sequences 1..5
  uint64_t number = 0;
  FileType type;
  ASSERT_TRUE(ParseFileName(log.substr(log.rfind('/') + 1), &number, &type));
  AppendBatch(number, WriteBatch(), 0, 0);
  ASSERT_TRUE(Reopen().ok());
  std::string seq;
  ASSERT_TRUE(db_->GetProperty("lsmkv.last-sequence", &seq));
  EXPECT_EQ("5", seq);
  EXPECT_EQ(5, CountPresent(5));
  ASSERT_TRUE(db_->Put(WriteOptions(), "after", "v").ok());
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ("v", Get("after"));
}

TEST_F(RecoveryTest, ParanoidChecksFailOnAnyDamage) {
  const std::string log = WriteLog(100);
  std::string data = ReadFile(log);
  data[data.size() / 2] ^= 1;
  WriteFile(log, data);
  options_.paranoid_checks = true;
  options_.wal_recovery_mode = WalRecoveryMode::kSkipAnyCorrupted;
  EXPECT_TRUE(Reopen().IsCorruption());
}

TEST_F(RecoveryTest, DamagedManifestOrCurrentFailsOpenNamingTheFile) {
  ASSERT_TRUE(Reopen().ok());
  ASSERT_TRUE(db_->Put(WriteOptions(), "k", "v").ok());
  ASSERT_TRUE(db_->Flush().ok());
  db_.reset();
  std::vector<std::string> manifests = Files(FileType::kDescriptorFile);
  ASSERT_EQ(1u, manifests.size());
  const std::string manifest = manifests[0];
  const std::string good_manifest = ReadFile(manifest);
  const std::string good_current = ReadFile(CurrentFileName(dbname_));

  // Every byte of the MANIFEST, flipped: Open fails naming it, or (for the
  // few bytes that carry no meaning, e.g. block trailer padding) succeeds
  // with the data intact. It never opens with wrong contents.
  int failed = 0;
  for (size_t i = 0; i < good_manifest.size(); i++) {
    std::string bad = good_manifest;
    bad[i] ^= 0x10;
    WriteFile(manifest, bad);
    Status s = Reopen();
    if (s.ok()) {
      EXPECT_EQ("v", Get("k")) << "byte " << i;
      db_.reset();
      // Open wrote a new MANIFEST: restore the original layout.
      ASSERT_TRUE(DestroyDB(dbname_, options_).ok());
      ASSERT_TRUE(Reopen().ok());
      ASSERT_TRUE(db_->Put(WriteOptions(), "k", "v").ok());
      ASSERT_TRUE(db_->Flush().ok());
      db_.reset();
      manifests = Files(FileType::kDescriptorFile);
      ASSERT_EQ(1u, manifests.size());
      ASSERT_EQ(good_manifest.size(), ReadFile(manifests[0]).size());
      WriteFile(CurrentFileName(dbname_), ReadFile(CurrentFileName(dbname_)));
      continue;
    }
    failed++;
    EXPECT_TRUE(s.IsCorruption()) << "byte " << i << ": " << s.ToString();
    EXPECT_NE(std::string::npos, s.ToString().find("MANIFEST")) << s.ToString();
  }
  EXPECT_GT(failed, static_cast<int>(good_manifest.size() * 9 / 10));
  WriteFile(manifests[0], ReadFile(manifests[0]));

  // CURRENT damaged, empty, or naming a missing MANIFEST.
  for (const std::string& bad : {std::string(""), std::string("MANIFEST-00000x\n"),
                                 std::string("garbage"), std::string("MANIFEST-999999\n")}) {
    WriteFile(CurrentFileName(dbname_), bad);
    Status s = Reopen();
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_NE(std::string::npos, s.ToString().find("CURRENT")) << s.ToString();
  }
}

TEST_F(RecoveryTest, UnreferencedFilesAreRemovedAtOpen) {
  ASSERT_TRUE(Reopen().ok());
  ASSERT_TRUE(db_->Put(WriteOptions(), "k", "v").ok());
  ASSERT_TRUE(db_->Flush().ok());
  db_.reset();
  // Leftovers of a crash: a table never committed, an old log, a temp file.
  WriteFile(TableFileName(dbname_, 900), "half-written table");
  WriteFile(LogFileName(dbname_, 1), "old log");
  WriteFile(TempFileName(dbname_, 901), "temp");
  ASSERT_TRUE(Reopen().ok());
  EXPECT_FALSE(env_->FileExists(TableFileName(dbname_, 900)));
  EXPECT_FALSE(env_->FileExists(LogFileName(dbname_, 1)));
  EXPECT_FALSE(env_->FileExists(TempFileName(dbname_, 901)));
  EXPECT_EQ("v", Get("k"));
  EXPECT_NE(std::string::npos, InfoLog().find("removed unreferenced file"));
  // Exactly the live tables remain.
  std::string live;
  ASSERT_TRUE(db_->GetProperty("lsmkv.live-files", &live));
  EXPECT_EQ(1u, Files(FileType::kTableFile).size());
  EXPECT_EQ(TableFileName(dbname_, std::stoull(live)), Files(FileType::kTableFile)[0]);
}

// An Env that holds the jobs given to Schedule (the flushes, the file purges)
// until the test releases them: flushes lag behind the writer exactly as long
// as the test decides, not as long as a delay happens to last.
class HeldJobsEnv : public EnvWrapper {
 public:
  explicit HeldJobsEnv(Env* base) : EnvWrapper(base) {}
  ~HeldJobsEnv() override { Open(); }

  void Schedule(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!open_) {
        held_.push_back(std::move(fn));
        return;
      }
    }
    EnvWrapper::Schedule(std::move(fn));
  }
  // Hands every held job to the background thread, in order.
  void ReleaseHeld() {
    std::vector<std::function<void()>> jobs;
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs.swap(held_);
    }
    for (auto& job : jobs) EnvWrapper::Schedule(std::move(job));
  }
  // Releases the held jobs and runs later ones at once.
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    ReleaseHeld();
  }

 private:
  std::mutex mu_;
  bool open_ = false;                        // guarded by mu_
  std::vector<std::function<void()>> held_;  // guarded by mu_
};

// The "name: N" counter of the lsmkv.stats property.
uint64_t StatsCounter(DB* db, const std::string& name) {
  std::string stats;
  if (!db->GetProperty("lsmkv.stats", &stats)) return 0;
  const size_t at = stats.find(name + ": ");
  return at == std::string::npos ? 0 : std::stoull(stats.substr(at + name.size() + 2));
}

TEST_F(RecoveryTest, FullFrozenQueueStallsWritersAndDropsNothing) {
  HeldJobsEnv held(env_.get());
  options_.env = &held;
  options_.write_buffer_size = 8 * 1024;
  options_.max_write_buffer_number = 3;
  ASSERT_TRUE(Reopen().ok());
  auto* impl = static_cast<DBImpl*>(db_.get());
  // A writer thread fills memtables while every flush is held back, so the
  // frozen queue fills and the writer must slow down, then stop. Only once it
  // has stopped (the "write stops" counter grew) are the held flushes let
  // go; then the next stop, and so on until the writes are done.
  std::atomic<bool> writer_done{false};
  std::atomic<bool> write_failed{false};
  size_t max_frozen = 0;
  std::thread writer([&] {
    for (int i = 0; i < 200 && !write_failed; i++) {
      if (!db_->Put(WriteOptions(), "key" + std::to_string(i), std::string(1000, 'x')).ok()) {
        write_failed = true;
      }
      max_frozen = std::max(max_frozen, impl->TEST_ImmutableCount());
    }
    writer_done = true;
  });
  uint64_t stops_seen = 0;
  int releases = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!writer_done && std::chrono::steady_clock::now() < deadline) {
    const uint64_t stops = StatsCounter(db_.get(), "write stops");
    if (stops > stops_seen) {
      stops_seen = stops;
      held.ReleaseHeld();
      releases++;
    } else {
      std::this_thread::yield();  // polling the stop counter, the writer's observable state
    }
  }
  held.Open();
  writer.join();
  ASSERT_TRUE(writer_done) << "the writer did not finish within 60 s";
  ASSERT_FALSE(write_failed);
  EXPECT_GT(releases, 0);
  EXPECT_LE(max_frozen, 2u);  // max_write_buffer_number - 1
  std::string stats;
  ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
  EXPECT_EQ(std::string::npos, stats.find("write stops: 0\n")) << stats;
  EXPECT_EQ(std::string::npos, stats.find("write slowdowns: 0\n")) << stats;
  EXPECT_EQ(std::string::npos, stats.find("stall micros: 0\n")) << stats;
  for (int i = 0; i < 200; i++) ASSERT_EQ(std::string(1000, 'x'), Get("key" + std::to_string(i)));
  db_.reset();
  options_.env = env_.get();
}

// 200,000 random puts and deletes with a 64 KiB write buffer: many level-0
// tables; after each of several reopens every Get matches a std::map.
TEST_F(RecoveryTest, ModelWithManyTablesAcrossReopens) {
  options_.write_buffer_size = 64 * 1024;
  ASSERT_TRUE(Reopen().ok());
  const uint32_t seed = test::TestSeed(77);
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  std::map<std::string, std::string> model;
  constexpr int kKeys = 20000;
  auto verify = [&] {
    for (int k = 0; k < kKeys; k++) {
      const std::string key = "key" + std::to_string(k);
      auto it = model.find(key);
      ASSERT_EQ(it == model.end() ? "NOT_FOUND" : it->second, Get(key)) << key;
    }
  };
  uint64_t total_flushes = 0;
  for (int i = 1; i <= 200000; i++) {
    const std::string key = "key" + std::to_string(rnd.Uniform(kKeys));
    if (rnd.OneIn(4)) {
      ASSERT_TRUE(db_->Delete(WriteOptions(), key).ok());
      model.erase(key);
    } else {
      std::string value = rnd.RandomBytes(rnd.Uniform(120));
      ASSERT_TRUE(db_->Put(WriteOptions(), key, value).ok());
      model[key] = std::move(value);
    }
    if (i % 50000 == 0) {
      std::string stats;
      ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
      total_flushes += std::stoull(stats.substr(stats.find("flushes: ") + 9));
      ASSERT_TRUE(Reopen().ok());
      verify();
    }
  }
  // Open starts due compactions at once; count files once they settled.
  ASSERT_TRUE(static_cast<DBImpl*>(db_.get())->TEST_WaitForBackgroundWork().ok());
  std::string levels;
  ASSERT_TRUE(db_->GetProperty("lsmkv.live-files", &levels));
  const size_t tables = static_cast<size_t>(std::count(levels.begin(), levels.end(), ' ') + 1);
  EXPECT_EQ(tables, Files(FileType::kTableFile).size())
      << "orphan or missing table files; live: " << levels;
  // Many level-0 tables were written (compaction then merges them).
  EXPECT_GT(total_flushes, 100u);
  std::string stats;
  ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
  // Lookups of absent keys are answered by bloom filters, not data blocks.
  EXPECT_EQ(std::string::npos, stats.find("bloom filter useful: 0\n")) << stats;
}

// A write-ahead log with preallocated space (Options::wal_preallocate_bytes)
// on the real file system: while the database is open the log is followed
// by reserved zeros; a copy of the directory taken then (what a kill -9
// leaves) opens under every mode with every synced write; a write cut short
// over the zeros is a torn tail; Close trims the reserved space.
TEST(WalPreallocationTest, CrashImagesRecoverAndCloseTrims) {
  const std::string dir = test::NewTempDir("wal_prealloc");
  Env* env = Env::Default();
  Options options;
  options.create_if_missing = true;
  options.wal_preallocate_bytes = 64 << 10;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options, dir + "/db", &db).ok());
  WriteOptions sync;
  sync.sync = true;
  constexpr int kKeys = 300;
  auto value = [](int i) { return std::string(300, static_cast<char>('a' + i % 26)); };
  auto key = [](int i) {
    char k[16];
    std::snprintf(k, sizeof(k), "k%04d", i);
    return std::string(k);
  };
  for (int i = 0; i < kKeys; i++) ASSERT_TRUE(db->Put(sync, key(i), value(i)).ok());

  std::vector<std::string> logs = test::FilesOfType(env, dir + "/db", FileType::kLogFile);
  ASSERT_EQ(1u, logs.size());
  std::string wal;
  ASSERT_TRUE(ReadFileToString(env, logs[0], &wal).ok());
  const size_t data_end = wal.find_last_not_of('\0') + 1;
  ASSERT_GT(data_end, size_t{kKeys} * 300);
  ASSERT_EQ(0u, wal.size() % (64 << 10)) << "the log's size moves in reserved blocks";
  ASSERT_GT(wal.size() - data_end, 0u);

  // Copies the directory as it is now, with the log replaced by `log`.
  auto crash_image = [&](const std::string& name, const std::string& log) {
    const std::string copy = dir + "/" + name;
    EXPECT_TRUE(env->CreateDir(copy).ok());
    std::vector<std::string> children;
    EXPECT_TRUE(env->GetChildren(dir + "/db", &children).ok());
    for (const std::string& child : children) {
      if (dir + "/db/" + child == logs[0]) {
        EXPECT_TRUE(WriteStringToFile(env, log, copy + "/" + child, true).ok());
      } else {
        EXPECT_TRUE(CopyFile(env, dir + "/db/" + child, copy + "/" + child, UINT64_MAX).ok());
      }
    }
    return copy;
  };
  const WalRecoveryMode modes[] = {
      WalRecoveryMode::kAbsoluteConsistency, WalRecoveryMode::kTolerateCorruptedTail,
      WalRecoveryMode::kPointInTime, WalRecoveryMode::kSkipAnyCorrupted};
  int image = 0;
  for (WalRecoveryMode mode : modes) {
    SCOPED_TRACE(WalRecoveryModeName(mode));
    Options o;
    o.wal_recovery_mode = mode;
    // The reserved zeros end the log cleanly: every write is there.
    {
      std::unique_ptr<DB> copy;
      ASSERT_TRUE(DB::Open(o, crash_image("zeros" + std::to_string(image), wal), &copy).ok());
      for (int i = 0; i < kKeys; i++) {
        std::string v;
        ASSERT_TRUE(copy->Get(ReadOptions(), key(i), &v).ok()) << i;
        ASSERT_EQ(v, value(i));
      }
    }
    // The last write cut short: the bytes from inside its payload on read
    // as zeros. A torn tail: the last key is gone, nothing else.
    {
      std::string torn = wal;
      std::fill(torn.begin() + static_cast<ptrdiff_t>(data_end - 100), torn.end(), '\0');
      std::unique_ptr<DB> copy;
      Status s = DB::Open(o, crash_image("torn" + std::to_string(image), torn), &copy);
      if (mode == WalRecoveryMode::kAbsoluteConsistency) {
        EXPECT_TRUE(s.IsCorruption()) << s.ToString();
      } else {
        ASSERT_TRUE(s.ok()) << s.ToString();
        std::string v;
        for (int i = 0; i + 1 < kKeys; i++) ASSERT_TRUE(copy->Get(ReadOptions(), key(i), &v).ok());
        EXPECT_TRUE(copy->Get(ReadOptions(), key(kKeys - 1), &v).IsNotFound());
      }
    }
    image++;
  }

  ASSERT_TRUE(db->Close().ok());
  db.reset();
  // Close trimmed the reserved space (the log may since have been replaced
  // by a newer one; every log left ends in its data).
  for (const std::string& log : test::FilesOfType(env, dir + "/db", FileType::kLogFile)) {
    std::string data;
    ASSERT_TRUE(ReadFileToString(env, log, &data).ok());
    if (data.size() >= log::kHeaderSize) {
      EXPECT_NE(std::string::npos, data.find_first_not_of('\0', data.size() - log::kHeaderSize))
          << log;
    }
  }
  test::RemoveTree(dir);
}

}  // namespace
}  // namespace lsmkv
