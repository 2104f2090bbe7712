// The replication command format and the replicated state machine: encoding
// round trips and every kind of damage refused; apply, replay after restart,
// power loss keeping a prefix of the applied entries, the digest.
#include "replication/state_machine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "db/write_batch_internal.h"
#include "env/fault_injection_env.h"
#include "lsmkv/env.h"
#include "lsmkv/iterator.h"
#include "lsmkv/write_batch.h"
#include "replication/command.h"
#include "replication/snapshot.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv::replication {
namespace {

using Model = std::map<std::string, std::string>;

// Records a batch's operations as text, to compare batches.
class Recorder : public WriteBatch::Handler {
 public:
  void Put(std::string_view k, std::string_view v) override {
    ops += "P(" + std::string(k) + "," + std::string(v) + ")";
  }
  void Delete(std::string_view k) override { ops += "D(" + std::string(k) + ")"; }
  bool DeleteRange(std::string_view b, std::string_view e) override {
    ops += "R(" + std::string(b) + "," + std::string(e) + ")";
    return true;
  }
  std::string ops;
};

std::string OpsOf(const WriteBatch& batch) {
  Recorder r;
  EXPECT_TRUE(batch.Iterate(&r).ok());
  return r.ops;
}

TEST(CommandTest, RoundTrip) {
  WriteBatch batch;
  batch.Put("a", "1");
  batch.Delete("b");
  batch.DeleteRange("c", "d");
  batch.Put(std::string("\0k", 2), std::string(1000, 'v'));
  std::string cmd;
  ASSERT_TRUE(EncodeWriteCommand(batch, &cmd).ok());
  EXPECT_EQ(cmd[0], static_cast<char>(kCommandVersion));
  CommandType type;
  WriteBatch decoded;
  ASSERT_TRUE(DecodeCommand(cmd, &type, &decoded).ok());
  EXPECT_EQ(type, CommandType::kWrite);
  EXPECT_EQ(OpsOf(batch), OpsOf(decoded));
}

TEST(CommandTest, ReservedKeysRefused) {
  const std::string reserved(kReservedPrefix);
  std::string cmd = "untouched";
  {
    WriteBatch b;
    b.Put(reserved + "applied", "x");
    EXPECT_TRUE(EncodeWriteCommand(b, &cmd).IsInvalidArgument());
  }
  {
    WriteBatch b;
    b.Delete(reserved);
    EXPECT_TRUE(EncodeWriteCommand(b, &cmd).IsInvalidArgument());
  }
  {
    WriteBatch b;  // a range covering the whole prefix
    b.DeleteRange("a", "\xff\xff\xff");
    EXPECT_TRUE(EncodeWriteCommand(b, &cmd).IsInvalidArgument());
  }
  {
    WriteBatch b;  // a range inside it
    b.DeleteRange(reserved + "a", reserved + "b");
    EXPECT_TRUE(EncodeWriteCommand(b, &cmd).IsInvalidArgument());
  }
  EXPECT_EQ(cmd, "untouched");
  {
    WriteBatch b;  // ranges that end at the prefix or start after it are fine
    b.DeleteRange("a", reserved);
    std::string after(kReservedPrefix);
    after.back() = static_cast<char>(after.back() + 1);
    b.DeleteRange(after, after + "z");
    b.Put(
        "\xff\xff"
        "raf",
        "neighbour");
    EXPECT_TRUE(EncodeWriteCommand(b, &cmd).ok());
  }
  // A damaged leader's command naming a reserved key is refused on decode too.
  WriteBatch evil;
  evil.Put(reserved + "applied", "12345678");
  CommandType type;
  WriteBatch decoded;
  Status s = DecodeCommand(FrameCommand(kCommandVersion, 1, WriteBatchInternal::Contents(&evil)),
                           &type, &decoded);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

TEST(CommandTest, EveryByteFlipAndTruncationIsCorruption) {
  WriteBatch batch;
  batch.Put("key", "value");
  batch.Delete("gone");
  std::string cmd;
  ASSERT_TRUE(EncodeWriteCommand(batch, &cmd).ok());
  CommandType type;
  WriteBatch decoded;
  for (size_t i = 0; i < cmd.size(); i++) {
    for (int bit = 0; bit < 8; bit++) {
      std::string damaged = cmd;
      damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
      Status s = DecodeCommand(damaged, &type, &decoded);
      EXPECT_TRUE(s.IsCorruption()) << "byte " << i << " bit " << bit << ": " << s.ToString();
    }
  }
  for (size_t n = 0; n < cmd.size(); n++) {
    EXPECT_TRUE(DecodeCommand(cmd.substr(0, n), &type, &decoded).IsCorruption()) << n;
  }
}

TEST(CommandTest, VersionTypeLengthAndPadding) {
  CommandType type;
  WriteBatch decoded;
  WriteBatch batch;
  batch.Put("k", "v");
  const std::string body(WriteBatchInternal::Contents(&batch));
  std::string cmd;
  ASSERT_TRUE(EncodeWriteCommand(batch, &cmd).ok());
  EXPECT_EQ(cmd.size() % 8, 0u);
  EXPECT_EQ(cmd, FrameCommand(kCommandVersion, 1, body));
  EXPECT_TRUE(
      DecodeCommand(FrameCommand(kCommandVersion + 1, 1, body), &type, &decoded).IsNotSupported());
  EXPECT_TRUE(DecodeCommand(FrameCommand(0, 1, body), &type, &decoded).IsCorruption());
  EXPECT_TRUE(
      DecodeCommand(FrameCommand(kCommandVersion, 9, body), &type, &decoded).IsCorruption());
  // A body too short for a batch header.
  EXPECT_TRUE(DecodeCommand(FrameCommand(kCommandVersion, 1, body.substr(0, 5)), &type, &decoded)
                  .IsCorruption());
  // Every body length from 0 to 24 pads to a multiple of 8 and nothing more.
  for (size_t n = 0; n <= 24; n++) {
    const std::string framed = FrameCommand(kCommandVersion, 1, std::string(n, 'x'));
    EXPECT_EQ(framed.size() % 8, 0u);
    EXPECT_LT(framed.size() - (6 + n + 4), 8u);
  }
  // Extra zero padding (8 bytes or more) is not a valid command.
  EXPECT_TRUE(DecodeCommand(cmd + std::string(8, '\0'), &type, &decoded).IsCorruption());
}

class StateMachineTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::NewTempDir("replication_sm"); }
  void TearDown() override {
    machine_.reset();
    test::RemoveTree(dir_);
  }
  void Open(const Options& options = ReplicaOptions()) {
    machine_.reset();
    Status s = StateMachine::Open(options, dir_, &machine_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  static std::string PutCommand(const std::string& k, const std::string& v) {
    WriteBatch b;
    b.Put(k, v);
    std::string cmd;
    EXPECT_TRUE(EncodeWriteCommand(b, &cmd).ok());
    return cmd;
  }
  Model Contents() {
    Model m;
    std::unique_ptr<Iterator> it(machine_->db()->NewIterator(ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (!it->key().starts_with(kReservedPrefix)) m[std::string(it->key())] = it->value();
    }
    EXPECT_TRUE(it->status().ok());
    return m;
  }

  std::string dir_;
  std::unique_ptr<StateMachine> machine_;
};

TEST_F(StateMachineTest, RefusesNonPrefixRecovery) {
  Options options = ReplicaOptions();
  options.wal_recovery_mode = WalRecoveryMode::kSkipAnyCorrupted;
  std::unique_ptr<StateMachine> m;
  EXPECT_TRUE(StateMachine::Open(options, dir_, &m).IsInvalidArgument());
  EXPECT_EQ(m, nullptr);
}

TEST_F(StateMachineTest, ApplyReplayAndGaps) {
  Open();
  EXPECT_EQ(machine_->applied_index(), 0u);
  bool applied = false;
  EXPECT_TRUE(machine_->Apply(0, PutCommand("a", "0"), &applied).IsInvalidArgument());
  ASSERT_TRUE(machine_->Apply(1, PutCommand("a", "1"), &applied).ok());
  EXPECT_TRUE(applied);
  ASSERT_TRUE(machine_->Apply(2, PutCommand("a", "2"), &applied).ok());
  // Index 3 was a barrier or a configuration change: no command reaches the FSM.
  ASSERT_TRUE(machine_->Apply(4, PutCommand("b", "4"), &applied).ok());
  EXPECT_EQ(machine_->applied_index(), 4u);
  // A damaged command applies nothing, and the applied index stays.
  std::string bad = PutCommand("c", "5");
  bad[3] ^= 1;
  EXPECT_TRUE(machine_->Apply(5, bad, &applied).IsCorruption());
  EXPECT_FALSE(applied);
  EXPECT_EQ(machine_->applied_index(), 4u);

  // Restart: Raft replays from its last snapshot; the earlier entries must not
  // take effect again (a replayed "a=1" would undo "a=2").
  Open();
  EXPECT_EQ(machine_->applied_index(), 4u);
  ASSERT_TRUE(machine_->Apply(1, PutCommand("a", "1"), &applied).ok());
  EXPECT_FALSE(applied);
  ASSERT_TRUE(machine_->Apply(4, PutCommand("b", "overwritten?"), &applied).ok());
  EXPECT_FALSE(applied);
  EXPECT_EQ(Contents(), (Model{{"a", "2"}, {"b", "4"}}));
  ASSERT_TRUE(machine_->Apply(5, PutCommand("c", "5"), &applied).ok());
  EXPECT_TRUE(applied);
  EXPECT_EQ(Contents(), (Model{{"a", "2"}, {"b", "4"}, {"c", "5"}}));
}

TEST(CommandTest, AnnouncementRoundTripAndLimits) {
  std::string cmd;
  ASSERT_TRUE(EncodeAnnounceCommand(Announcement{7, "127.0.0.1:6380"}, &cmd).ok());
  EXPECT_EQ(cmd.size() % 8, 0u);
  CommandType type;
  WriteBatch batch;
  Announcement a;
  ASSERT_TRUE(DecodeCommand(cmd, &type, &batch, &a).ok());
  EXPECT_EQ(type, CommandType::kAnnounce);
  EXPECT_EQ(a.id, 7u);
  EXPECT_EQ(a.address, "127.0.0.1:6380");
  // Without a place for the announcement it still decodes (and is checked).
  ASSERT_TRUE(DecodeCommand(cmd, &type, &batch).ok());
  EXPECT_EQ(type, CommandType::kAnnounce);
  EXPECT_TRUE(EncodeAnnounceCommand(Announcement{0, "h:1"}, &cmd).IsInvalidArgument());
  EXPECT_TRUE(EncodeAnnounceCommand(Announcement{1, ""}, &cmd).IsInvalidArgument());
  EXPECT_TRUE(EncodeAnnounceCommand(Announcement{1, "a b:1"}, &cmd).IsInvalidArgument());
  EXPECT_TRUE(EncodeAnnounceCommand(Announcement{1, std::string(kMaxAddressBytes + 1, 'h')}, &cmd)
                  .IsInvalidArgument());
  ASSERT_TRUE(
      EncodeAnnounceCommand(Announcement{1, std::string(kMaxAddressBytes, 'h')}, &cmd).ok());
  // Announcements came with version 2: framed as version 1 the type is unknown.
  {
    std::string v2;
    ASSERT_TRUE(EncodeAnnounceCommand(Announcement{5, "h:1"}, &v2).ok());
    const std::string body = v2.substr(6, 8 + 3);
    EXPECT_TRUE(DecodeCommand(FrameCommand(kCommandVersion, 2, body), &type, &batch).ok());
    EXPECT_TRUE(DecodeCommand(FrameCommand(1, 2, body), &type, &batch).IsCorruption());
  }
  // Forged bodies: too short for an id, id 0, a control byte in the address.
  std::string body(4, '\0');
  EXPECT_TRUE(DecodeCommand(FrameCommand(kCommandVersion, 2, body), &type, &batch).IsCorruption());
  body.assign(8, '\0');
  body += "h:1";
  EXPECT_TRUE(DecodeCommand(FrameCommand(kCommandVersion, 2, body), &type, &batch).IsCorruption());
  body.assign("\x01\0\0\0\0\0\0\0", 8);
  body += "h\n:1";
  EXPECT_TRUE(DecodeCommand(FrameCommand(kCommandVersion, 2, body), &type, &batch).IsCorruption());
  // Every byte flip of a valid announcement is refused.
  ASSERT_TRUE(EncodeAnnounceCommand(Announcement{3, "10.0.0.3:7000"}, &cmd).ok());
  for (size_t i = 0; i < cmd.size(); i++) {
    std::string bad = cmd;
    bad[i] ^= 0x20;
    EXPECT_FALSE(DecodeCommand(bad, &type, &batch).ok()) << "byte " << i;
  }
}

TEST_F(StateMachineTest, AnnouncedAddressesAreAppliedAndKept) {
  Open();
  bool applied = false;
  std::string cmd;
  ASSERT_TRUE(EncodeAnnounceCommand(Announcement{2, "127.0.0.1:7002"}, &cmd).ok());
  ASSERT_TRUE(machine_->Apply(1, cmd, &applied).ok());
  EXPECT_TRUE(applied);
  ASSERT_TRUE(machine_->Apply(2, PutCommand("k", "v"), &applied).ok());
  ASSERT_TRUE(EncodeAnnounceCommand(Announcement{1, "127.0.0.1:7001"}, &cmd).ok());
  ASSERT_TRUE(machine_->Apply(3, cmd, &applied).ok());
  ASSERT_TRUE(EncodeAnnounceCommand(Announcement{2, "127.0.0.1:7022"}, &cmd).ok());
  ASSERT_TRUE(machine_->Apply(4, cmd, &applied).ok());
  const std::map<uint64_t, std::string> want = {{1, "127.0.0.1:7001"}, {2, "127.0.0.1:7022"}};
  EXPECT_EQ(machine_->NodeAddresses(), want);
  EXPECT_EQ(machine_->NodeAddress(2), "127.0.0.1:7022");
  EXPECT_EQ(machine_->NodeAddress(3), "");
  // Addresses are replicated state, not user data: the digest ignores them.
  EXPECT_EQ(Contents(), (Model{{"k", "v"}}));
  // Reopened, the directory is read back; a replayed old announcement is skipped.
  Open();
  EXPECT_EQ(machine_->NodeAddresses(), want);
  ASSERT_TRUE(EncodeAnnounceCommand(Announcement{2, "127.0.0.1:7002"}, &cmd).ok());
  ASSERT_TRUE(machine_->Apply(1, cmd, &applied).ok());
  EXPECT_FALSE(applied);
  EXPECT_EQ(machine_->NodeAddress(2), "127.0.0.1:7022");
}

TEST_F(StateMachineTest, LiveNamingAMissingDatabaseIsCorruption) {
  Open();
  machine_.reset();
  ASSERT_TRUE(WriteStringToFile(Env::Default(), "db-3\n", dir_ + "/LIVE", true).ok());
  std::unique_ptr<StateMachine> m;
  Status s = StateMachine::Open(ReplicaOptions(), dir_, &m);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/db-3")) << "an empty database was created";
  EXPECT_TRUE(Env::Default()->FileExists(dir_ + "/db-0")) << "the old database was removed";
  ASSERT_TRUE(WriteStringToFile(Env::Default(), "db-x\n", dir_ + "/LIVE", true).ok());
  EXPECT_TRUE(StateMachine::Open(ReplicaOptions(), dir_, &m).IsCorruption());
}

TEST_F(StateMachineTest, MalformedAppliedIndexIsCorruption) {
  Open();
  ASSERT_TRUE(machine_->db()->Put(WriteOptions(), kAppliedIndexKey, "short").ok());
  machine_.reset();
  std::unique_ptr<StateMachine> m;
  EXPECT_TRUE(StateMachine::Open(ReplicaOptions(), dir_, &m).IsCorruption());
}

TEST_F(StateMachineTest, DigestIgnoresAppliedIndexAndSeesData) {
  Open();
  bool applied;
  ASSERT_TRUE(machine_->Apply(1, PutCommand("a", "1"), &applied).ok());
  ASSERT_TRUE(machine_->Apply(2, PutCommand("b", "2"), &applied).ok());
  uint64_t d1, n1;
  ASSERT_TRUE(machine_->Digest(&d1, &n1).ok());
  EXPECT_EQ(n1, 2u);

  const std::string other_dir = test::NewTempDir("replication_sm_other");
  std::unique_ptr<StateMachine> other;
  ASSERT_TRUE(StateMachine::Open(ReplicaOptions(), other_dir, &other).ok());
  // Same data reached through different log indexes (barriers in between).
  ASSERT_TRUE(other->Apply(3, PutCommand("a", "1"), &applied).ok());
  ASSERT_TRUE(other->Apply(7, PutCommand("b", "2"), &applied).ok());
  uint64_t d2, n2;
  ASSERT_TRUE(other->Digest(&d2, &n2).ok());
  EXPECT_EQ(d1, d2);
  EXPECT_EQ(n1, n2);
  ASSERT_TRUE(other->Apply(8, PutCommand("b", "3"), &applied).ok());
  ASSERT_TRUE(other->Digest(&d2, &n2).ok());
  EXPECT_NE(d1, d2);
  // Swapped values across keys change the digest too.
  ASSERT_TRUE(other->Apply(9, PutCommand("a", "2"), &applied).ok());
  ASSERT_TRUE(other->Apply(10, PutCommand("b", "1"), &applied).ok());
  ASSERT_TRUE(other->Digest(&d2, &n2).ok());
  EXPECT_NE(d1, d2);
  other.reset();
  test::RemoveTree(other_dir);
}

// Power loss with unsynced applies: the recovered database holds exactly the
// effect of entries 1..applied_index() (a prefix — never a later entry without
// an earlier one), and re-applying the whole log reaches the full state.
TEST_F(StateMachineTest, PowerLossKeepsAPrefixAndReplayCompletesIt) {
  const uint32_t seed = test::TestSeed(2026);
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  FaultInjectionEnv env(Env::Default());
  Options options = ReplicaOptions();
  options.env = &env;
  options.write_buffer_size = 64 << 10;  // flushes and compactions between crashes

  std::vector<std::string> log;  // log[i] = command of entry i + 1
  std::vector<Model> after;      // after[i] = state after entries 1..i
  after.push_back({});
  int lost_total = 0;
  for (int crash = 0; crash < 12; crash++) {
    if (crash % 2 == 1) env.SetPartialWriteLoss(rnd.Next());
    Open(options);
    const uint64_t recovered = machine_->applied_index();
    ASSERT_LE(recovered, log.size());
    ASSERT_EQ(Contents(), after[recovered])
        << "crash " << crash << ": not the prefix of " << recovered << " entries";
    lost_total += static_cast<int>(log.size() - recovered);
    // Raft re-applies every entry from its snapshot (none here): index 1 on.
    bool applied;
    for (uint64_t i = 1; i <= log.size(); i++) {
      ASSERT_TRUE(machine_->Apply(i, log[i - 1], &applied).ok());
      EXPECT_EQ(applied, i > recovered) << i;
    }
    ASSERT_EQ(Contents(), after.back());
    // New entries: puts, deletes and range deletions over a small key space.
    const int n = 50 + static_cast<int>(rnd.Uniform(300));
    for (int j = 0; j < n; j++) {
      WriteBatch b;
      Model next = after.back();
      const int ops = 1 + static_cast<int>(rnd.Uniform(4));
      for (int o = 0; o < ops; o++) {
        const std::string k = "k" + std::to_string(rnd.Uniform(200));
        const uint32_t what = rnd.Uniform(10);
        if (what < 7) {
          const std::string v = std::to_string(log.size()) + "." + std::to_string(o) +
                                std::string(rnd.Uniform(300), 'x');
          b.Put(k, v);
          next[k] = v;
        } else if (what < 9) {
          b.Delete(k);
          next.erase(k);
        } else {
          const std::string e = k + "5";
          b.DeleteRange(k, e);
          next.erase(next.lower_bound(k), next.lower_bound(e));
        }
      }
      std::string cmd;
      ASSERT_TRUE(EncodeWriteCommand(b, &cmd).ok());
      log.push_back(cmd);
      ASSERT_TRUE(machine_->Apply(log.size(), cmd, &applied).ok());
      ASSERT_TRUE(applied);
      after.push_back(std::move(next));
    }
    env.SetFilesystemActive(false);
    machine_.reset();
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    env.SetFilesystemActive(true);
    env.ClearPartialWriteLoss();
  }
  std::printf("%zu entries, %d unsynced applies lost to power loss and re-applied\n", log.size(),
              lost_total);
  EXPECT_GT(lost_total, 0) << "no power loss lost anything: the test exercised nothing";
}

// ------------------------------------------------------------------ snapshots

TEST(SnapshotDescriptorTest, RoundTripAndDamage) {
  SnapshotDescriptor d;
  d.index = 12345;
  d.server = 3;
  d.checkpoint = "00000000000000012345";
  d.files = {{"CURRENT", 16, 0xdeadbeef}, {"000005.sst", 1 << 20, 7}};
  const std::string enc = EncodeSnapshotDescriptor(d);
  SnapshotDescriptor out;
  ASSERT_TRUE(DecodeSnapshotDescriptor(enc, &out).ok());
  EXPECT_EQ(out.index, d.index);
  EXPECT_EQ(out.server, d.server);
  EXPECT_EQ(out.checkpoint, d.checkpoint);
  ASSERT_EQ(out.files.size(), 2u);
  EXPECT_EQ(out.files[1].name, "000005.sst");
  EXPECT_EQ(out.files[1].size, 1u << 20);
  EXPECT_EQ(out.files[0].crc, 0xdeadbeefu);
  for (size_t i = 0; i < enc.size(); i++) {
    std::string bad = enc;
    bad[i] ^= 0x20;
    EXPECT_TRUE(DecodeSnapshotDescriptor(bad, &out).IsCorruption()) << i;
  }
  for (size_t n = 0; n < enc.size(); n++) {
    EXPECT_TRUE(DecodeSnapshotDescriptor(enc.substr(0, n), &out).IsCorruption()) << n;
  }
  // Names that would leave the directory, and repeated files, are refused even
  // with a valid checksum.
  for (const char* name : {"..", ".", "", "a/b", "../../etc/passwd"}) {
    SnapshotDescriptor evil = d;
    evil.files[0].name = name;
    EXPECT_TRUE(DecodeSnapshotDescriptor(EncodeSnapshotDescriptor(evil), &out).IsCorruption())
        << name;
    evil = d;
    evil.checkpoint = name;
    EXPECT_TRUE(DecodeSnapshotDescriptor(EncodeSnapshotDescriptor(evil), &out).IsCorruption())
        << name;
  }
  SnapshotDescriptor twice = d;
  twice.files[1].name = twice.files[0].name;
  EXPECT_TRUE(DecodeSnapshotDescriptor(EncodeSnapshotDescriptor(twice), &out).IsCorruption());
  std::string newer = EncodeSnapshotDescriptor(d);
  newer[0] = static_cast<char>(kSnapshotVersion + 1);
  newer.resize(newer.size() - 4);
  PutFixed32(&newer, crc32c::Mask(crc32c::Value(newer.data(), newer.size())));
  EXPECT_TRUE(DecodeSnapshotDescriptor(newer, &out).IsNotSupported());
}

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    leader_dir_ = test::NewTempDir("replication_snap_leader");
    follower_dir_ = test::NewTempDir("replication_snap_follower");
    source_.Add(1, leader_dir_);
    ASSERT_TRUE(StateMachine::Open(ReplicaOptions(), leader_dir_, &leader_).ok());
    bool applied;
    for (uint64_t i = 1; i <= 400; i++) {
      WriteBatch b;
      b.Put("k" + std::to_string(i % 97), "v" + std::to_string(i) + std::string(200, 'x'));
      if (i % 10 == 0) b.Delete("k" + std::to_string((i / 10) % 97));
      std::string cmd;
      ASSERT_TRUE(EncodeWriteCommand(b, &cmd).ok());
      ASSERT_TRUE(leader_->Apply(i, cmd, &applied).ok());
      if (i == 200) {
        ASSERT_TRUE(leader_->db()->Flush().ok());  // tables and a WAL
      }
    }
    ASSERT_TRUE(leader_->TakeSnapshot(1, &descriptor_).ok());
    ASSERT_TRUE(leader_->Digest(&digest_, &keys_).ok());
  }
  void TearDown() override {
    leader_.reset();
    follower_.reset();
    test::RemoveTree(leader_dir_);
    test::RemoveTree(follower_dir_);
  }
  // The follower: 10 entries of its own, all later overwritten by the snapshot.
  void OpenFollower(const Options& options) {
    follower_.reset();
    Status s = StateMachine::Open(options, follower_dir_, &follower_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void ApplyOwn() {
    bool applied;
    for (uint64_t i = 1; i <= 10; i++) {
      WriteBatch b;
      b.Put("own" + std::to_string(i), "x");
      std::string cmd;
      ASSERT_TRUE(EncodeWriteCommand(b, &cmd).ok());
      ASSERT_TRUE(follower_->Apply(i, cmd, &applied).ok());
    }
  }
  uint64_t FollowerDigest() {
    uint64_t d = 0, n = 0;
    EXPECT_TRUE(follower_->Digest(&d, &n).ok());
    return d;
  }

  std::string leader_dir_, follower_dir_;
  DirectorySource source_;
  std::unique_ptr<StateMachine> leader_, follower_;
  std::string descriptor_;
  uint64_t digest_ = 0, keys_ = 0;
};

TEST_F(SnapshotTest, InstallReplacesTheDatabaseAndSurvivesReopen) {
  OpenFollower(ReplicaOptions());
  ApplyOwn();
  const uint64_t own_digest = FollowerDigest();
  ASSERT_TRUE(follower_->RestoreSnapshot(descriptor_, /*self=*/2, &source_).ok());
  EXPECT_EQ(follower_->applied_index(), 400u);
  EXPECT_EQ(follower_->installed_snapshots(), 1u);
  EXPECT_EQ(FollowerDigest(), digest_);
  EXPECT_NE(FollowerDigest(), own_digest);
  // Later entries apply on the installed database; a restart keeps it.
  bool applied;
  WriteBatch b;
  b.Put("after", "snapshot");
  std::string cmd;
  ASSERT_TRUE(EncodeWriteCommand(b, &cmd).ok());
  ASSERT_TRUE(follower_->Apply(401, cmd, &applied).ok());
  EXPECT_TRUE(applied);
  OpenFollower(ReplicaOptions());
  EXPECT_EQ(follower_->applied_index(), 401u);
  std::string v;
  ASSERT_TRUE(follower_->db()->Get(ReadOptions(), "after", &v).ok());
  // Libraft restores the last snapshot at every start: now a no-op.
  ASSERT_TRUE(follower_->RestoreSnapshot(descriptor_, 2, &source_).ok());
  EXPECT_EQ(follower_->applied_index(), 401u);
  EXPECT_EQ(follower_->installed_snapshots(), 0u);
  // Only the live database directory is left.
  std::vector<std::string> children;
  ASSERT_TRUE(Env::Default()->GetChildren(follower_dir_, &children).ok());
  int dbs = 0;
  for (const auto& c : children) dbs += c.starts_with("db-");
  EXPECT_EQ(dbs, 1);
}

TEST_F(SnapshotTest, InstallAndReplaceHooksRunOnceEach) {
  OpenFollower(ReplicaOptions());
  ApplyOwn();
  std::string live_at_hook;
  int calls = 0;
  follower_->set_replace_hook([&] {
    calls++;
    // LIVE already names the installed database: a process ending here
    // reopens it (the server re-executes itself at this point).
    ASSERT_TRUE(ReadFileToString(Env::Default(), follower_dir_ + "/LIVE", &live_at_hook).ok());
  });
  // The install hook runs first, before anything is fetched.
  int installs = 0;
  follower_->set_install_hook([&](const SnapshotDescriptor& d) {
    installs++;
    EXPECT_EQ(d.index, 400u);
    EXPECT_EQ(d.server, 1u);
    EXPECT_FALSE(d.files.empty());
    EXPECT_EQ(calls, 0);
    EXPECT_FALSE(Env::Default()->FileExists(follower_dir_ + "/incoming"));
  });
  ASSERT_TRUE(follower_->RestoreSnapshot(descriptor_, /*self=*/2, &source_).ok());
  EXPECT_EQ(installs, 1);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(live_at_hook, "db-1\n");
  // The hook returned: the switch completed in process.
  EXPECT_EQ(follower_->applied_index(), 400u);
  EXPECT_EQ(FollowerDigest(), digest_);
  // A restore at or below the applied index changes nothing and calls nothing.
  ASSERT_TRUE(follower_->RestoreSnapshot(descriptor_, 2, &source_).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(installs, 1);
}

// A source whose servers answer Newest with their newest snapshot.
class NewestSource final : public SnapshotSource {
 public:
  NewestSource(DirectorySource* files, std::map<uint64_t, StateMachine*> machines)
      : files_(files), machines_(std::move(machines)) {}
  Status Fetch(uint64_t server, const std::string& checkpoint, const std::string& name, Env* env,
               const std::string& dest) override {
    return files_->Fetch(server, checkpoint, name, env, dest);
  }
  Status Newest(uint64_t server, std::string* descriptor) override {
    newest_calls++;
    auto it = machines_.find(server);
    if (it == machines_.end()) return Status::NotFound("no server");
    *descriptor = it->second->NewestSnapshot();
    return descriptor->empty() ? Status::NotFound("no snapshot") : Status::OK();
  }
  int newest_calls = 0;

 private:
  DirectorySource* files_;
  std::map<uint64_t, StateMachine*> machines_;
};

TEST_F(SnapshotTest, AGoneCheckpointIsReplacedByTheHoldersNewest) {
  // The leader moves on, takes a newer snapshot and loses the one the
  // follower was sent (as kKeptCheckpoints deletes old ones).
  EXPECT_EQ(leader_->NewestSnapshot(), descriptor_);
  bool applied;
  for (uint64_t i = 401; i <= 450; i++) {
    WriteBatch b;
    b.Put("later" + std::to_string(i), "v");
    std::string cmd;
    ASSERT_TRUE(EncodeWriteCommand(b, &cmd).ok());
    ASSERT_TRUE(leader_->Apply(i, cmd, &applied).ok());
  }
  std::string newer;
  ASSERT_TRUE(leader_->TakeSnapshot(1, &newer).ok());
  EXPECT_EQ(leader_->NewestSnapshot(), newer);
  uint64_t newer_digest = 0, newer_keys = 0;
  ASSERT_TRUE(leader_->Digest(&newer_digest, &newer_keys).ok());
  SnapshotDescriptor old_d;
  ASSERT_TRUE(DecodeSnapshotDescriptor(descriptor_, &old_d).ok());
  test::RemoveTree(leader_dir_ + "/checkpoints/" + old_d.checkpoint);

  OpenFollower(ReplicaOptions());
  ApplyOwn();
  // Without a source that knows newer snapshots, the install fails and the
  // follower keeps its database.
  Status s = follower_->RestoreSnapshot(descriptor_, /*self=*/2, &source_);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(follower_->applied_index(), 10u);
  // With one, the holder's newest (index 450 >= 400) is installed instead.
  NewestSource newest(&source_, {{1, leader_.get()}});
  s = follower_->RestoreSnapshot(descriptor_, 2, &newest);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(newest.newest_calls, 1);
  EXPECT_EQ(follower_->applied_index(), 450u);
  EXPECT_EQ(follower_->newer_snapshots_installed(), 1u);
  EXPECT_EQ(FollowerDigest(), newer_digest);
  // Replaying the log after the asked snapshot's index skips what it holds.
  WriteBatch b;
  b.Put("later401", "replayed");
  std::string cmd;
  ASSERT_TRUE(EncodeWriteCommand(b, &cmd).ok());
  ASSERT_TRUE(follower_->Apply(401, cmd, &applied).ok());
  EXPECT_FALSE(applied);
  EXPECT_EQ(FollowerDigest(), newer_digest);
}

TEST_F(SnapshotTest, AnOlderNewestIsNotInstalled) {
  // The holder's newest snapshot is older than the one asked for (it lost
  // its applies and the newer checkpoint): refused, nothing changes.
  std::string asked = descriptor_;
  SnapshotDescriptor d;
  ASSERT_TRUE(DecodeSnapshotDescriptor(asked, &d).ok());
  d.index = 500;
  d.checkpoint = "00000000000000000500";
  asked = EncodeSnapshotDescriptor(d);
  OpenFollower(ReplicaOptions());
  ApplyOwn();
  NewestSource newest(&source_, {{1, leader_.get()}});
  EXPECT_FALSE(follower_->RestoreSnapshot(asked, 2, &newest).ok());
  EXPECT_EQ(newest.newest_calls, 1);
  EXPECT_EQ(follower_->applied_index(), 10u);
  EXPECT_EQ(follower_->newer_snapshots_installed(), 0u);
}

TEST_F(SnapshotTest, OwnCheckpointNeedsNoSource) {
  // A replica whose unsynced applies were lost below its own snapshot restores
  // from its own checkpoints/ (server == self), with no source at all.
  leader_.reset();
  std::unique_ptr<StateMachine> copy;
  const std::string dir = test::NewTempDir("replication_snap_self");
  ASSERT_TRUE(StateMachine::Open(ReplicaOptions(), dir, &copy).ok());
  copy.reset();
  // Give the new replica the leader's checkpoints directory as its own.
  ASSERT_EQ(std::system(("cp -r " + leader_dir_ + "/checkpoints " + dir + "/").c_str()), 0);
  ASSERT_TRUE(StateMachine::Open(ReplicaOptions(), dir, &copy).ok());
  ASSERT_TRUE(copy->RestoreSnapshot(descriptor_, /*self=*/1, /*source=*/nullptr).ok());
  uint64_t d, n;
  ASSERT_TRUE(copy->Digest(&d, &n).ok());
  EXPECT_EQ(d, digest_);
  // Someone else's snapshot with no source is a clear error.
  SnapshotDescriptor other;
  ASSERT_TRUE(DecodeSnapshotDescriptor(descriptor_, &other).ok());
  other.server = 7;
  other.index = 999;
  EXPECT_TRUE(
      copy->RestoreSnapshot(EncodeSnapshotDescriptor(other), 1, nullptr).IsInvalidArgument());
  copy.reset();
  test::RemoveTree(dir);
}

TEST_F(SnapshotTest, DamagedFileIsRefusedAndTheOldDatabaseStays) {
  OpenFollower(ReplicaOptions());
  ApplyOwn();
  const uint64_t own_digest = FollowerDigest();
  SnapshotDescriptor d;
  ASSERT_TRUE(DecodeSnapshotDescriptor(descriptor_, &d).ok());
  // Flip one byte of the largest file in the leader's checkpoint.
  const SnapshotFile* largest = &d.files[0];
  for (const auto& f : d.files) {
    if (f.size > largest->size) largest = &f;
  }
  const std::string path = leader_dir_ + "/checkpoints/" + d.checkpoint + "/" + largest->name;
  std::string data;
  ASSERT_TRUE(ReadFileToString(Env::Default(), path, &data).ok());
  data[data.size() / 2] ^= 1;
  ASSERT_TRUE(Env::Default()->RemoveFile(path).ok());
  ASSERT_TRUE(WriteStringToFile(Env::Default(), data, path, true).ok());
  Status s = follower_->RestoreSnapshot(descriptor_, 2, &source_);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(follower_->applied_index(), 10u);
  EXPECT_EQ(FollowerDigest(), own_digest);
  EXPECT_FALSE(Env::Default()->FileExists(follower_dir_ + "/incoming"));
  // A missing checkpoint (deleted by the leader) is an error, not a partial install.
  ASSERT_TRUE(Env::Default()->RemoveFile(path).ok());
  EXPECT_FALSE(follower_->RestoreSnapshot(descriptor_, 2, &source_).ok());
  EXPECT_EQ(FollowerDigest(), own_digest);
}

TEST_F(SnapshotTest, OnlyTheNewestCheckpointsAreKept) {
  bool applied;
  for (uint64_t i = 401; i <= 410; i++) {
    std::string cmd;
    WriteBatch b;
    b.Put("x", std::to_string(i));
    ASSERT_TRUE(EncodeWriteCommand(b, &cmd).ok());
    ASSERT_TRUE(leader_->Apply(i, cmd, &applied).ok());
    std::string desc;
    ASSERT_TRUE(leader_->TakeSnapshot(1, &desc).ok());
  }
  std::vector<std::string> kept;
  ASSERT_TRUE(Env::Default()->GetChildren(leader_dir_ + "/checkpoints", &kept).ok());
  std::erase_if(kept, [](const std::string& n) { return n == "." || n == ".."; });
  std::sort(kept.begin(), kept.end());
  ASSERT_EQ(kept.size(), static_cast<size_t>(kKeptCheckpoints));
  EXPECT_EQ(kept.back(), "00000000000000000410");
}

// An I/O error at every step of an install, each followed by a power loss:
// the replica reopens with either its old state or the snapshot's, never a
// mix, and the install then completes.
TEST_F(SnapshotTest, IoErrorSweepWithPowerLossDuringInstall) {
  FaultInjectionEnv env(Env::Default());
  Options options = ReplicaOptions();
  options.env = &env;
  OpenFollower(options);
  ApplyOwn();
  const uint64_t own_digest = FollowerDigest();
  follower_.reset();
  // Count each operation in a fault-free install on a copy.
  const std::string probe = test::NewTempDir("replication_snap_probe");
  ASSERT_EQ(std::system(("cp -r " + follower_dir_ + "/. " + probe + "/").c_str()), 0);
  FaultInjectionEnv counting(Env::Default());  // its own: the probe is removed behind its back
  Options probe_options = options;
  probe_options.env = &counting;
  std::unique_ptr<StateMachine> m;
  ASSERT_TRUE(StateMachine::Open(probe_options, probe, &m).ok());
  counting.ResetCounts();
  ASSERT_TRUE(m->RestoreSnapshot(descriptor_, 2, &source_).ok());
  std::vector<std::pair<FaultOp, uint64_t>> plan;
  for (FaultOp op : {FaultOp::kOpen, FaultOp::kRead, FaultOp::kAppend, FaultOp::kSync,
                     FaultOp::kClose, FaultOp::kRename, FaultOp::kRemove, FaultOp::kSyncDir,
                     FaultOp::kCreateDir, FaultOp::kGetChildren}) {
    for (uint64_t n = 1; n <= counting.CallCount(op); n++) plan.emplace_back(op, n);
  }
  m.reset();
  test::RemoveTree(probe);
  ASSERT_GT(plan.size(), 20u);
  int failed_installs = 0, old_state = 0, new_state = 0;
  std::vector<std::string> used;
  for (const auto& [op, n] : plan) {
    SCOPED_TRACE(std::string(FaultOpName(op)) + " #" + std::to_string(n));
    OpenFollower(options);
    ASSERT_EQ(follower_->applied_index(), 10u);
    env.ResetCounts();
    env.FailNth(op, n);
    Status s = follower_->RestoreSnapshot(descriptor_, 2, &source_);
    env.ClearFaults();
    failed_installs += !s.ok();
    // Power loss, then a restart.
    env.SetFilesystemActive(false);
    follower_.reset();
    Status dropped = env.DropUnsyncedData();
    ASSERT_TRUE(dropped.ok()) << dropped.ToString();
    env.SetFilesystemActive(true);
    OpenFollower(options);
    const uint64_t applied = follower_->applied_index();
    if (applied == 10) {
      EXPECT_EQ(FollowerDigest(), own_digest);
      old_state++;
    } else {
      ASSERT_EQ(applied, 400u);
      EXPECT_EQ(FollowerDigest(), digest_);
      new_state++;
    }
    if (s.ok()) {
      EXPECT_EQ(applied, 400u) << "an acknowledged install was lost";
    }
    // Raft restores the snapshot again at start: it completes.
    ASSERT_TRUE(follower_->RestoreSnapshot(descriptor_, 2, &source_).ok());
    EXPECT_EQ(follower_->applied_index(), 400u);
    EXPECT_EQ(FollowerDigest(), digest_);
    // A fresh replica in the old state for the next step of the sweep (the
    // used one stays until the end: the Env tracks its files).
    follower_.reset();
    used.push_back(follower_dir_);
    follower_dir_ = test::NewTempDir("replication_snap_follower");
    OpenFollower(options);
    ApplyOwn();
    follower_.reset();
  }
  for (const std::string& dir : used) test::RemoveTree(dir);
  std::printf(
      "%zu injected I/O errors during installs: %d installs failed; after power loss %d "
      "replicas had the old state, %d the snapshot's\n",
      plan.size(), failed_installs, old_state, new_state);
  EXPECT_GT(failed_installs, 0);
}

}  // namespace
}  // namespace lsmkv::replication
