// Hash fields and power loss: the compaction filter removes a dead hash's
// fields only once the write that ended the hash is durable
// (expiry_filter.h, durable_view.h). The database runs on a
// FaultInjectionEnv over an in-memory filesystem; a simulated power loss
// drops every byte not synced (the log's unsynced tail with it) and the
// server's pieces then open the database again.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "env/fault_injection_env.h"
#include "lsmkv/compaction_filter.h"
#include "lsmkv/db.h"
#include "lsmkv/env.h"
#include "server/auth_guard.h"
#include "server/client_state.h"
#include "server/clock.h"
#include "server/collection.h"
#include "server/command_table.h"
#include "server/config.h"
#include "server/dispatcher.h"
#include "server/expiry_filter.h"
#include "server/keyspace.h"
#include "server/scan_cursors.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {
namespace {

using Args = std::vector<std::string>;

std::string Int(int64_t v) { return ":" + std::to_string(v) + "\r\n"; }

// Forwards to the server's filter; once armed, the first hash field it is
// offered holds the compaction there until Release, so that the test can
// write while a compaction is under way (after its flush).
class GatedFilter : public CompactionFilter {
 public:
  explicit GatedFilter(std::shared_ptr<ExpiryFilter> inner) : inner_(std::move(inner)) {}

  Decision Filter(int level, std::string_view key, std::string_view value) const override {
    if (!key.empty() && key[0] == kHashFieldPrefix) {
      MutexLock lock(&mu_);
      if (armed_) {
        armed_ = false;
        entered_ = true;
        cv_.SignalAll();
        while (!released_) cv_.Wait(&mu_);
      }
    }
    return inner_->Filter(level, key, value);
  }
  const char* Name() const override { return "test.GatedFilter"; }

  void Arm() {
    MutexLock lock(&mu_);
    armed_ = true;
    entered_ = false;
    released_ = false;
  }
  // Waits until a compaction is held in the filter.
  void WaitEntered() {
    MutexLock lock(&mu_);
    while (!entered_) cv_.Wait(&mu_);
  }
  void Release() {
    MutexLock lock(&mu_);
    released_ = true;
    cv_.SignalAll();
  }

 private:
  const std::shared_ptr<ExpiryFilter> inner_;
  mutable Mutex mu_;
  mutable CondVar cv_;
  mutable bool armed_ GUARDED_BY(mu_) = false;
  mutable bool entered_ GUARDED_BY(mu_) = false;
  mutable bool released_ GUARDED_BY(mu_) = false;
};

class HashDurabilityTest : public ::testing::Test {
 protected:
  HashDurabilityTest() : mem_env_(NewMemEnv(Env::Default())), fault_env_(mem_env_.get()) {}

  void SetUp() override {
    filter_ = std::make_shared<ExpiryFilter>(&clock_);
    gate_ = std::make_shared<GatedFilter>(filter_);
    context_.config = &config_;
    context_.commands = &commands_;
    context_.clients = &clients_;
    context_.cursors = &cursors_;
    context_.expiry_filter = filter_.get();
    context_.stats = &stats_;
    context_.auth_guard = &auth_guard_;
    context_.request_shutdown = [] {};
    client_.id = clients_.NextId();
    client_.authenticated = true;
    Open();
  }

  void TearDown() override { Shut(); }

  // Opens the database as lsmkv-server does (filter, point-in-time
  // recovery, a Keyspace publishing the durable state), appendfsync
  // everysec.
  void Open() {
    Options options;
    options.env = &fault_env_;
    options.create_if_missing = true;
    options.wal_recovery_mode = WalRecoveryMode::kPointInTime;
    options.compaction_filter = gate_;
    ASSERT_TRUE(DB::Open(options, "/db", &db_).ok());
    filter_->AttachDb(db_.get());
    keyspace_ = std::make_unique<Keyspace>(db_.get(), &clock_, filter_->durable_view());
    keyspace_->set_fsync_policy(FsyncPolicy::kEverySec);
    context_.keyspace = keyspace_.get();
  }

  void Shut() {
    keyspace_.reset();  // clears the durable view before Close
    if (db_) db_->Close().PermitUncheckedError();
    filter_->DetachDb();
    db_.reset();
  }

  // Power fails: what was not synced is lost. Then the database is opened
  // again.
  void PowerLoss() {
    fault_env_.SetFilesystemActive(false);  // Close's own log sync fails
    Shut();
    ASSERT_TRUE(fault_env_.DropUnsyncedData().ok());
    fault_env_.SetFilesystemActive(true);
    Open();
  }

  std::string Run(Args args) {
    std::string out;
    Reply reply(&out, 2);
    ExecuteCommand(context_, client_, args, reply);
    return out;
  }

  // Hash fields stored in the engine (of any version).
  size_t StoredFields() {
    ReadOptions options;
    options.lower_bound = std::string(1, kHashFieldPrefix);
    options.upper_bound = std::string(1, kHashFieldPrefix + 1);
    size_t n = 0;
    auto it = db_->NewIterator(options);
    for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
    EXPECT_TRUE(it->status().ok());
    return n;
  }

  // Runs CompactRange with the first hash field's filter call held while
  // during() runs: during() writes after the compaction's flush, while it
  // compacts.
  void CompactWhile(const std::function<void()>& during) {
    gate_->Arm();
    Status compacted;
    std::thread compaction([&] { compacted = db_->CompactRange(nullptr, nullptr); });
    gate_->WaitEntered();
    during();
    gate_->Release();
    compaction.join();
    ASSERT_TRUE(compacted.ok()) << compacted.ToString();
  }

  ManualClock clock_{int64_t{1700000000000} * 1000};
  std::unique_ptr<Env> mem_env_;
  FaultInjectionEnv fault_env_;
  std::shared_ptr<ExpiryFilter> filter_;
  std::shared_ptr<GatedFilter> gate_;
  std::unique_ptr<DB> db_;
  std::unique_ptr<Keyspace> keyspace_;
  Config config_;
  CommandTable commands_;
  ClientRegistry clients_;
  ScanCursors cursors_;
  ServerStats stats_;
  AuthGuard auth_guard_;
  ServerContext context_;
  ClientState client_;
};

Args HsetArgs(const std::string& key, int fields) {
  Args args = {"hset", key};
  for (int i = 0; i < fields; i++) {
    args.push_back("f" + std::to_string(i));
    args.push_back("v" + std::to_string(i));
  }
  return args;
}

// The gap this guards against: HSET (durable), DEL (in the log, not synced
// yet), a compaction that sees the DEL and writes its (synced) tables, then
// a power loss that undoes the DEL. The filter must have kept the fields.
TEST_F(HashDurabilityTest, UnsyncedDeleteKeepsFieldsThroughPowerLoss) {
  ASSERT_EQ(Run(HsetArgs("h", 20)), Int(20));
  ASSERT_TRUE(db_->Flush().ok());              // the fields in a table
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());  // the durable state: h live
  CompactWhile([&] { EXPECT_EQ(Run({"del", "h"}), Int(1)); });
  EXPECT_EQ(Run({"exists", "h"}), Int(0));
  // The deletion is visible to the compaction (condition (a)) but not durable.
  EXPECT_EQ(filter_->elements_removed(), 0u);
  EXPECT_EQ(StoredFields(), 20u);

  PowerLoss();
  // The DEL was in the log's unsynced tail: the hash is back, whole.
  EXPECT_EQ(Run({"hlen", "h"}), Int(20));
  EXPECT_EQ(Run({"hkeys", "h"}).substr(0, 5), "*20\r\n");
  EXPECT_EQ(Run({"hget", "h", "f19"}), "$3\r\nv19\r\n");

  // Once a deletion is durable the fields go, and stay gone.
  EXPECT_EQ(Run({"del", "h"}), Int(1));
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ(filter_->elements_removed(), 20u);
  EXPECT_EQ(StoredFields(), 0u);
  PowerLoss();
  EXPECT_EQ(Run({"exists", "h"}), Int(0));
  EXPECT_EQ(Run({"hlen", "h"}), Int(0));
}

// The same with the hash created again under its name and with SET over a
// hash, both after the durable state: the old version's fields stay until
// the new state is durable; a power loss in between restores the old hash.
TEST_F(HashDurabilityTest, UnsyncedRecreateAndOverwriteKeepFields) {
  ASSERT_EQ(Run(HsetArgs("r", 10)), Int(10));
  ASSERT_EQ(Run(HsetArgs("s", 10)), Int(10));
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());
  CompactWhile([&] {
    EXPECT_EQ(Run({"del", "r"}), Int(1));
    EXPECT_EQ(Run(HsetArgs("r", 3)), Int(3));
    EXPECT_EQ(Run({"set", "s", "string"}), "+OK\r\n");
  });
  EXPECT_EQ(filter_->elements_removed(), 0u);
  EXPECT_EQ(Run({"hlen", "r"}), Int(3));
  PowerLoss();
  EXPECT_EQ(Run({"hlen", "r"}), Int(10));
  EXPECT_EQ(Run({"hkeys", "r"}).substr(0, 5), "*10\r\n");
  EXPECT_EQ(Run({"hlen", "s"}), Int(10));
  EXPECT_EQ(Run({"hkeys", "s"}).substr(0, 5), "*10\r\n");
}

// A hash created after the durable state and flushed (so its creation is
// durable), then deleted without a sync: in the durable state its metadata
// is absent too, but only because it did not exist yet — its fields must
// stay (the filter requires the field itself in the durable state).
TEST_F(HashDurabilityTest, HashCreatedAfterTheDurableStateKeepsFields) {
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());  // the durable state: empty
  ASSERT_EQ(Run(HsetArgs("h", 10)), Int(10));
  ASSERT_TRUE(db_->Flush().ok());  // the hash is durable, in a table
  CompactWhile([&] { EXPECT_EQ(Run({"del", "h"}), Int(1)); });
  EXPECT_EQ(filter_->elements_removed(), 0u);
  PowerLoss();
  EXPECT_EQ(Run({"hlen", "h"}), Int(10));
  EXPECT_EQ(Run({"hkeys", "h"}).substr(0, 5), "*10\r\n");
}

// Without any durable state published (as right after startup) nothing is
// removed, even when the end is long synced.
TEST_F(HashDurabilityTest, NoDurableStateKeepsEverything) {
  ASSERT_EQ(Run(HsetArgs("h", 5)), Int(5));
  EXPECT_EQ(Run({"del", "h"}), Int(1));
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ(filter_->elements_removed(), 0u);
  EXPECT_EQ(StoredFields(), 5u);
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ(filter_->elements_removed(), 5u);
  EXPECT_EQ(StoredFields(), 0u);
}

// A range deletion is a write like any other for the filter: fields whose
// metadata a range deletion removed (and which it does not cover) are kept
// while that deletion is not durable, and removed once it is.
TEST_F(HashDurabilityTest, RangeDeletedMetadataEndsFieldsOnlyOnceDurable) {
  ASSERT_EQ(Run(HsetArgs("h", 20)), Int(20));
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());
  const std::string data_begin(1, kDataPrefix);
  const std::string data_end(1, kDataPrefix + 1);
  CompactWhile([&] { ASSERT_TRUE(db_->DeleteRange(WriteOptions(), data_begin, data_end).ok()); });
  EXPECT_EQ(Run({"exists", "h"}), Int(0));
  EXPECT_EQ(filter_->elements_removed(), 0u);
  EXPECT_EQ(StoredFields(), 20u);
  PowerLoss();
  EXPECT_EQ(Run({"hlen", "h"}), Int(20));
  EXPECT_EQ(Run({"hkeys", "h"}).substr(0, 5), "*20\r\n");

  ASSERT_TRUE(db_->DeleteRange(WriteOptions(), data_begin, data_end).ok());
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ(filter_->elements_removed(), 20u);
  EXPECT_EQ(StoredFields(), 0u);
  PowerLoss();
  EXPECT_EQ(Run({"hlen", "h"}), Int(0));
}

// FLUSHALL is one atomic write of range deletions: a power loss before it
// is synced brings back every key, string and hash whole (also when a
// compaction ran while it was in the log's unsynced tail: the filter kept
// the fields, as the deletion was not durable); once synced, everything
// stays gone, the server state ('m' keys) stays, and the fields leave the
// disk.
TEST_F(HashDurabilityTest, FlushAllIsAllOrNothingThroughPowerLoss) {
  ASSERT_EQ(Run(HsetArgs("h", 20)), Int(20));
  ASSERT_EQ(Run(HsetArgs("g", 5)), Int(5));
  ASSERT_EQ(Run({"set", "s", "v"}), "+OK\r\n");
  ASSERT_EQ(Run({"set", "t", "v", "ex", "100"}), "+OK\r\n");
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());  // all of it durable
  CompactWhile([&] { EXPECT_EQ(Run({"flushall"}), "+OK\r\n"); });
  EXPECT_EQ(Run({"dbsize"}), Int(0));
  EXPECT_EQ(filter_->elements_removed(), 0u);

  PowerLoss();
  EXPECT_EQ(Run({"dbsize"}), Int(4));
  EXPECT_EQ(Run({"hlen", "h"}), Int(20));
  EXPECT_EQ(Run({"hkeys", "h"}).substr(0, 5), "*20\r\n");
  EXPECT_EQ(Run({"hkeys", "g"}).substr(0, 4), "*5\r\n");
  EXPECT_EQ(Run({"get", "s"}), "$1\r\nv\r\n");
  EXPECT_EQ(Run({"exists", "t"}), Int(1));
  EXPECT_EQ(StoredFields(), 25u);

  // Synced: gone for good, and the space is reclaimed.
  EXPECT_EQ(Run({"flushall"}), "+OK\r\n");
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());
  PowerLoss();
  EXPECT_EQ(Run({"dbsize"}), Int(0));
  EXPECT_EQ(Run({"hlen", "h"}), Int(0));
  EXPECT_EQ(StoredFields(), 0u);
  std::string floor;
  EXPECT_TRUE(db_->Get(ReadOptions(), "mcollection-version-floor", &floor).ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  const std::string bounds[] = {"h", "i"};
  const Range fields{bounds[0], bounds[1]};
  uint64_t size = 1;
  ASSERT_TRUE(db_->GetApproximateSizes(&fields, 1, &size).ok());
  EXPECT_EQ(size, 0u);
  // A hash created afterwards is not touched by the old deletion.
  ASSERT_EQ(Run(HsetArgs("h", 3)), Int(3));
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  PowerLoss();
  EXPECT_EQ(Run({"hlen", "h"}), Int(3));
  EXPECT_EQ(StoredFields(), 3u);
}

}  // namespace
}  // namespace lsmkv::server
