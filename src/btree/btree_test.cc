// The B+tree engine beyond the engine-neutral suite: its page format (every
// bit flip and truncation detected), the tree's shape under inserts and
// deletes (invariants checked after every batch against a std::map model,
// with large keys and values in overflow pages), space reuse through the
// free pages, snapshots that stay stable while writers change the tree,
// recovery from the two meta pages and the logs, and damage refused.
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "btree/page.h"
#include "env/fault_injection_env.h"
#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/random.h"

namespace lsmkv {
namespace {

using btree::kPageSize;

class ReverseComparator final : public Comparator {
 public:
  int Compare(std::string_view a, std::string_view b) const override {
    return BytewiseComparator()->Compare(b, a);
  }
  const char* Name() const override { return "test.btree.reverse"; }
  void FindShortestSeparator(std::string*, std::string_view) const override {}
  void FindShortSuccessor(std::string*) const override {}
};

// ---------------------------------------------------------------- format

TEST(BTreePageTest, MetaRoundTripAndEveryFlipDetected) {
  btree::Meta m;
  m.checkpoint = 7;
  m.root = 9;
  m.page_count = 12;
  m.last_sequence = 1234;
  m.wal_number = 5;
  m.keys = 99;
  m.depth = 2;
  m.comparator = "lsmkv.BytewiseComparator";
  const std::string page = btree::EncodeMeta(m, 1);
  ASSERT_EQ(page.size(), kPageSize);
  btree::Meta d;
  ASSERT_TRUE(btree::DecodeMeta(page, 1, &d).ok());
  EXPECT_EQ(d.checkpoint, 7u);
  EXPECT_EQ(d.root, 9u);
  EXPECT_EQ(d.page_count, 12u);
  EXPECT_EQ(d.last_sequence, 1234u);
  EXPECT_EQ(d.wal_number, 5u);
  EXPECT_EQ(d.keys, 99u);
  EXPECT_EQ(d.depth, 2u);
  EXPECT_EQ(d.comparator, m.comparator);
  // Read from the other slot: the page says where it belongs.
  EXPECT_TRUE(btree::DecodeMeta(page, 0, &d).IsCorruption());
  for (size_t i = 0; i < page.size(); i += 7) {
    std::string bad = page;
    bad[i] ^= 0x04;
    EXPECT_FALSE(btree::DecodeMeta(bad, 1, &d).ok()) << i;
  }
  EXPECT_FALSE(btree::DecodeMeta(page.substr(0, kPageSize - 1), 1, &d).ok());
  // A newer format version is refused as such, not as damage.
  std::string newer = page;
  newer[5] = 2;
  EncodeFixed32(newer.data(), crc32c::Mask(crc32c::Value(newer.data() + 4, kPageSize - 4)));
  EXPECT_TRUE(btree::DecodeMeta(newer, 1, &d).IsNotSupported());
}

TEST(BTreePageTest, NodeDecodeRejectsOverrunsAndGarbage) {
  std::string page(kPageSize, '\0');
  std::string body;
  btree::PutBlob(&body, "alpha", 0);
  btree::PutBlob(&body, "one", 0);
  btree::PutBlob(&body, std::string(5000, 'k'), 77);
  btree::PutBlob(&body, "two", 0);
  std::memcpy(page.data() + btree::kHeaderSize, body.data(), body.size());
  btree::SealPage(page.data(), btree::PageType::kLeaf, 2, 3, 1, body.size());
  btree::PageHeader h;
  ASSERT_TRUE(btree::CheckPage(page, 3, &h).ok());
  btree::DecodedNode n;
  ASSERT_TRUE(btree::DecodeNode(page, h, &n).ok());
  ASSERT_EQ(n.keys.size(), 2u);
  EXPECT_EQ(n.keys[0].data, "alpha");
  EXPECT_EQ(n.keys[1].length, 5000u);
  EXPECT_EQ(n.keys[1].overflow, 77u);
  EXPECT_EQ(n.values[1].data, "two");
  // The page read at another number.
  EXPECT_TRUE(btree::CheckPage(page, 4, &h).IsCorruption());
  // More entries than the body holds; fewer (bytes after the last); a
  // body length that cuts an entry or claims the zeros after it.
  for (uint16_t count : {3, 1}) {
    std::string bad = page;
    btree::SealPage(bad.data(), btree::PageType::kLeaf, count, 3, 1, body.size());
    ASSERT_TRUE(btree::CheckPage(bad, 3, &h).ok());
    EXPECT_TRUE(btree::DecodeNode(bad, h, &n).IsCorruption()) << count;
  }
  for (size_t length : {body.size() - 1, body.size() + 1}) {
    std::string bad = page;
    btree::SealPage(bad.data(), btree::PageType::kLeaf, 2, 3, 1, length);
    Status s = btree::CheckPage(bad, 3, &h);
    if (s.ok()) s = btree::DecodeNode(bad, h, &n);
    EXPECT_TRUE(s.IsCorruption()) << length;
  }
  // Every bit flip is caught by the checksum.
  for (size_t i = 0; i < 64 + body.size(); i++) {
    std::string bad = page;
    bad[i] ^= 0x01;
    EXPECT_FALSE(btree::CheckPage(bad, 3, &h).ok()) << i;
  }
}

// ---------------------------------------------------------------- engine

class BTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mem_ = NewMemEnv(Env::Default());
    env_ = std::make_unique<FaultInjectionEnv>(mem_.get());
  }
  Options Opts() {
    Options o;
    o.env = env_.get();
    o.create_if_missing = true;
    o.engine = StorageEngine::kBTree;
    o.btree_checkpoint_bytes = 64 << 10;
    return o;
  }
  Status Open(const Options& o) {
    db_.reset();
    return DB::Open(o, "/db", &db_);
  }
  std::string Prop(const std::string& name) {
    std::string v;
    EXPECT_TRUE(db_->GetProperty(name, &v)) << name;
    return v;
  }
  uint64_t Num(const std::string& name) { return std::stoull(Prop(name)); }
  std::map<std::string, std::string> Scan(const ReadOptions& ro = ReadOptions()) {
    std::map<std::string, std::string> out;
    auto it = db_->NewIterator(ro);
    for (it->SeekToFirst(); it->Valid(); it->Next()) out[std::string(it->key())] = it->value();
    EXPECT_TRUE(it->status().ok());
    return out;
  }
  // Checks every key of the model, the order both ways, and the invariants.
  void Verify(const std::map<std::string, std::string>& model) {
    ASSERT_EQ(Prop("lsmkv.btree.check"), "ok");
    ASSERT_EQ(Num("lsmkv.btree.keys"), model.size());
    auto it = db_->NewIterator(ReadOptions());
    auto m = model.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++m) {
      ASSERT_NE(m, model.end());
      ASSERT_EQ(it->key(), m->first);
      ASSERT_EQ(it->value(), m->second);
    }
    ASSERT_EQ(m, model.end());
    auto r = model.rbegin();
    for (it->SeekToLast(); it->Valid(); it->Prev(), ++r) {
      ASSERT_NE(r, model.rend());
      ASSERT_EQ(it->key(), r->first);
    }
    ASSERT_EQ(r, model.rend());
  }

  std::unique_ptr<Env> mem_;
  std::unique_ptr<FaultInjectionEnv> env_;
  std::unique_ptr<DB> db_;
};

std::string Key(Random* rnd, int i) {
  // Mostly short keys; some long enough for overflow pages.
  char buf[32];
  std::snprintf(buf, sizeof(buf), "k%08d", i);
  std::string k = buf;
  if (rnd->OneIn(40)) k.append(1000 + rnd->Uniform(3000), static_cast<char>('a' + i % 26));
  return k;
}
std::string Value(Random* rnd) {
  const uint32_t kind = rnd->Uniform(20);
  const size_t n = kind == 0 ? 1001 + rnd->Uniform(20000) : kind == 1 ? 0 : rnd->Uniform(300);
  return std::string(n, static_cast<char>('A' + rnd->Uniform(26)));
}

TEST_F(BTreeTest, ModelRunWithSplitsMergesOverflowAndReopens) {
  ASSERT_TRUE(Open(Opts()).ok());
  Random rnd(301);
  std::map<std::string, std::string> model;
  std::vector<std::string> keys;
  uint64_t max_depth = 0;
  for (int round = 0; round < 6; round++) {
    for (int b = 0; b < 150; b++) {
      WriteBatch batch;
      std::map<std::string, std::optional<std::string>> effect;
      const int ops = 1 + static_cast<int>(rnd.Uniform(30));
      for (int i = 0; i < ops; i++) {
        const uint32_t what = rnd.Uniform(10);
        // Deletes grow with the rounds so that the tree shrinks too.
        if (what < 4 + static_cast<uint32_t>(round) && !keys.empty()) {
          const std::string& k = keys[rnd.Uniform(static_cast<uint32_t>(keys.size()))];
          batch.Delete(k);
          model.erase(k);
        } else if (what == 9 && rnd.OneIn(4) && !keys.empty()) {
          std::string a = keys[rnd.Uniform(static_cast<uint32_t>(keys.size()))];
          std::string z = keys[rnd.Uniform(static_cast<uint32_t>(keys.size()))];
          if (z < a) std::swap(a, z);
          batch.DeleteRange(a, z);
          model.erase(model.lower_bound(a), model.lower_bound(z));
        } else {
          const std::string k = Key(&rnd, static_cast<int>(rnd.Uniform(4000)));
          const std::string v = Value(&rnd);
          batch.Put(k, v);
          model[k] = v;
          keys.push_back(k);
        }
      }
      ASSERT_TRUE(db_->Write(WriteOptions(), &batch).ok());
      ASSERT_EQ(Prop("lsmkv.btree.check"), "ok") << round << "/" << b;
    }
    Verify(model);
    // Point reads, present and absent.
    for (int i = 0; i < 200; i++) {
      const std::string k = Key(&rnd, static_cast<int>(rnd.Uniform(4000)));
      std::string v;
      Status s = db_->Get(ReadOptions(), k, &v);
      auto m = model.find(k);
      if (m == model.end()) {
        ASSERT_TRUE(s.IsNotFound()) << s.ToString();
      } else {
        ASSERT_TRUE(s.ok()) << s.ToString();
        ASSERT_EQ(v, m->second);
      }
    }
    EXPECT_GT(Num("lsmkv.btree.checkpoints"), 0u);
    max_depth = std::max(max_depth, Num("lsmkv.btree.depth"));
    if (round % 2 == 0) {
      // Reopen: from the pages and the logs.
      ASSERT_TRUE(Open(Opts()).ok());
    } else {
      // Power loss after a clean close: nothing is lost.
      ASSERT_TRUE(db_->Close().ok());
      db_.reset();
      ASSERT_TRUE(env_->DropUnsyncedData().ok());
      ASSERT_TRUE(Open(Opts()).ok());
    }
    Verify(model);
  }
  EXPECT_GE(max_depth, 2u);
}

TEST_F(BTreeTest, DeletesRebalanceAndFreePagesAreReused) {
  ASSERT_TRUE(Open(Opts()).ok());
  Random rnd(7);
  std::map<std::string, std::string> model;
  auto fill = [&](int from, int to) {
    for (int i = from; i < to; i += 50) {
      WriteBatch batch;
      for (int j = i; j < std::min(to, i + 50); j++) {
        char k[16];
        std::snprintf(k, sizeof(k), "%08d", j);
        const std::string v(100, static_cast<char>('a' + j % 26));
        batch.Put(k, v);
        model[k] = v;
      }
      ASSERT_TRUE(db_->Write(WriteOptions(), &batch).ok());
    }
  };
  fill(0, 20000);
  ASSERT_TRUE(db_->Flush().ok());
  const uint64_t pages_full = Num("lsmkv.btree.pages");
  const uint64_t depth_full = Num("lsmkv.btree.depth");
  EXPECT_GE(depth_full, 3u);
  // Delete 98% in random order: the tree shrinks level by level.
  std::vector<std::string> all;
  for (const auto& [k, v] : model) all.push_back(k);
  for (size_t i = all.size(); i > 1; i--)
    std::swap(all[i - 1], all[rnd.Uniform(static_cast<uint32_t>(i))]);
  for (size_t i = 0; i < all.size() * 98 / 100; i++) {
    ASSERT_TRUE(db_->Delete(WriteOptions(), all[i]).ok());
    model.erase(all[i]);
    if (i % 997 == 0) {
      ASSERT_EQ(Prop("lsmkv.btree.check"), "ok") << i;
    }
  }
  Verify(model);
  EXPECT_LT(Num("lsmkv.btree.depth"), depth_full);
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->Flush().ok());  // nothing new: no checkpoint, no change
  EXPECT_GT(Num("lsmkv.btree.free-pages"), pages_full / 2);
  // Fill again: the file does not grow much, it reuses its free pages.
  for (int cycle = 0; cycle < 3; cycle++) {
    fill(0, 20000);
    ASSERT_TRUE(db_->Flush().ok());
    for (const auto& [k, v] : std::map<std::string, std::string>(model)) {
      ASSERT_TRUE(db_->Delete(WriteOptions(), k).ok());
      model.erase(k);
    }
    ASSERT_TRUE(db_->Flush().ok());
    EXPECT_EQ(Num("lsmkv.btree.keys"), 0u);
    EXPECT_EQ(Num("lsmkv.btree.depth"), 0u);
  }
  fill(0, 20000);
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_LE(Num("lsmkv.btree.pages"), pages_full * 3);
  Verify(model);
  ASSERT_TRUE(Open(Opts()).ok());
  Verify(model);
}

TEST_F(BTreeTest, SnapshotsAndIteratorsStayStableWhileTheTreeChanges) {
  ASSERT_TRUE(Open(Opts()).ok());
  std::map<std::string, std::string> before;
  for (int i = 0; i < 3000; i++) {
    const std::string k = "key" + std::to_string(i);
    ASSERT_TRUE(db_->Put(WriteOptions(), k, "v1-" + k).ok());
    before[k] = "v1-" + k;
  }
  const Snapshot* snap = db_->GetSnapshot();
  auto it = db_->NewIterator(ReadOptions());
  it->SeekToFirst();
  // Rewrite, delete, checkpoint and reopen-free churn under the snapshot.
  for (int i = 0; i < 3000; i += 2) {
    ASSERT_TRUE(db_->Delete(WriteOptions(), "key" + std::to_string(i)).ok());
  }
  for (int i = 1; i < 3000; i += 2) {
    ASSERT_TRUE(db_->Put(WriteOptions(), "key" + std::to_string(i), "v2").ok());
  }
  ASSERT_TRUE(db_->Flush().ok());
  ReadOptions ro;
  ro.snapshot = snap;
  EXPECT_EQ(Scan(ro), before);
  std::map<std::string, std::string> seen;
  for (; it->Valid(); it->Next()) seen[std::string(it->key())] = it->value();
  EXPECT_EQ(seen, before);
  std::string v;
  ASSERT_TRUE(db_->Get(ro, "key0", &v).ok());
  EXPECT_EQ(v, "v1-key0");
  EXPECT_TRUE(db_->Get(ReadOptions(), "key0", &v).IsNotFound());
  db_->ReleaseSnapshot(snap);
  EXPECT_EQ(Scan().size(), 1500u);
}

TEST_F(BTreeTest, ReadersRunThroughWritesAndCheckpoints) {
  // Readers never block on the writer, and see whole batches: each batch
  // writes the same round number into all of its keys, so a point in time
  // has one round for every key of a group.
  Options o = Opts();
  o.btree_checkpoint_bytes = 4096;  // a checkpoint every few batches
  ASSERT_TRUE(Open(o).ok());
  constexpr int kGroups = 20, kKeys = 30, kRounds = 150;
  auto key = [](int g, int k) { return "g" + std::to_string(g) + "/" + std::to_string(100 + k); };
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> torn{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; r++) {
    readers.emplace_back([&, r] {
      Random rnd(static_cast<uint32_t>(r + 1));
      while (!done.load()) {
        const int g = static_cast<int>(rnd.Uniform(kGroups));
        ReadOptions ro;
        ro.lower_bound = "g" + std::to_string(g) + "/";
        ro.upper_bound = "g" + std::to_string(g) + "0";
        auto it = db_->NewIterator(ro);
        std::set<std::string> rounds;
        int n = 0;
        for (it->SeekToFirst(); it->Valid(); it->Next(), n++)
          rounds.insert(std::string(it->value()));
        if (rounds.size() > 1 || (n != 0 && n != kKeys)) torn++;
        reads++;
      }
    });
  }
  for (int round = 0; round < kRounds; round++) {
    // Every tenth round waits for a reader to finish a scan, so reads and
    // writes interleave however the threads are scheduled (on a loaded
    // machine the writer could otherwise finish before a reader starts).
    if (round % 10 == 0) {
      const int seen = reads.load();
      while (reads.load() == seen) std::this_thread::yield();
    }
    const int g = round % kGroups;
    WriteBatch batch;
    for (int k = 0; k < kKeys; k++) batch.Put(key(g, k), "round" + std::to_string(round));
    ASSERT_TRUE(db_->Write(WriteOptions(), &batch).ok());
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_GT(Num("lsmkv.btree.checkpoints"), 10u);
  EXPECT_EQ(Prop("lsmkv.btree.check"), "ok");
}

TEST_F(BTreeTest, RecoversFromTheOtherMetaAfterATornCheckpoint) {
  Options o = Opts();
  ASSERT_TRUE(Open(o).ok());
  for (int i = 0; i < 500; i++) {
    ASSERT_TRUE(db_->Put(WriteOptions(), "a" + std::to_string(i), std::string(50, 'x')).ok());
  }
  ASSERT_TRUE(db_->Flush().ok());
  for (int i = 0; i < 500; i++) {
    ASSERT_TRUE(db_->Put(WriteOptions(), "b" + std::to_string(i), std::string(50, 'y')).ok());
  }
  WriteOptions sync;
  sync.sync = true;
  ASSERT_TRUE(db_->Put(sync, "last", "synced").ok());
  // Crash inside the next checkpoint, at each of its page-file writes and
  // syncs: the last committed meta (or the new one) with the logs holds
  // every synced write.
  // The unsynced page writes are kept, lost or torn at random (a disk that
  // reorders and tears writes), 8 seeds per crash point.
  for (int run = 0; run < 32; run++) {
    const int fail_at = 1 + run % 4;
    // Changes for the checkpoint to write (not synced: may be lost).
    for (int i = 0; i < 50; i++) {
      ASSERT_TRUE(db_->Put(WriteOptions(), "b" + std::to_string(i), std::string(50, 'y')).ok());
    }
    env_->FailNth(fail_at <= 2 ? FaultOp::kAppend : FaultOp::kSync,
                  fail_at <= 2 ? fail_at : fail_at - 2);
    Status s = db_->Flush();
    env_->ClearFaults();
    env_->SetFilesystemActive(false);
    db_.reset();
    env_->SetFilesystemActive(true);
    env_->SetPartialWriteLoss(static_cast<uint64_t>(run) + 1);
    ASSERT_TRUE(env_->DropUnsyncedData().ok());
    ASSERT_TRUE(Open(o).ok()) << run;
    std::string v;
    ASSERT_TRUE(db_->Get(ReadOptions(), "last", &v).ok()) << run;
    EXPECT_EQ(v, "synced");
    EXPECT_EQ(Scan().size(), 1001u);
    EXPECT_EQ(Prop("lsmkv.btree.check"), "ok");
    (void)s;
  }
}

TEST_F(BTreeTest, DamagedPagesAreRefusedAndTheComparatorIsChecked) {
  ASSERT_TRUE(Open(Opts()).ok());
  for (int i = 0; i < 2000; i++) {
    ASSERT_TRUE(db_->Put(WriteOptions(), "k" + std::to_string(i), std::string(80, 'v')).ok());
  }
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  std::string file;
  ASSERT_TRUE(ReadFileToString(env_.get(), "/db/BTREE", &file).ok());
  ASSERT_GT(file.size(), 10 * kPageSize);
  // A flip in any tree page (past the two metas) is refused at open: every
  // page of the committed tree is read and checked when the tree loads.
  int refused = 0, opened = 0;
  for (size_t page = 2; page < file.size() / kPageSize; page++) {
    std::string bad = file;
    bad[page * kPageSize + 100] ^= 0x20;
    ASSERT_TRUE(WriteStringToFile(env_.get(), bad, "/db/BTREE", false).ok());
    Status s = Open(Opts());
    if (s.ok()) {
      // Only a page the tree does not use (a free page) may be damaged
      // without notice; the contents are then whole.
      opened++;
      EXPECT_EQ(Scan().size(), 2000u);
      db_.reset();
    } else {
      EXPECT_TRUE(s.IsCorruption()) << s.ToString();
      refused++;
    }
  }
  EXPECT_GT(refused, 10);
  ASSERT_TRUE(WriteStringToFile(env_.get(), file, "/db/BTREE", false).ok());
  ASSERT_TRUE(Open(Opts()).ok());
  EXPECT_EQ(Scan().size(), 2000u);
  db_.reset();
  // Both metas damaged: refused.
  std::string bad = file;
  bad[10] ^= 1;
  bad[kPageSize + 10] ^= 1;
  ASSERT_TRUE(WriteStringToFile(env_.get(), bad, "/db/BTREE", false).ok());
  EXPECT_TRUE(Open(Opts()).IsCorruption());
  ASSERT_TRUE(WriteStringToFile(env_.get(), file, "/db/BTREE", false).ok());
  // Another comparator: refused with both names.
  Options o = Opts();
  ReverseComparator reverse;
  o.comparator = &reverse;
  Status s = Open(o);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.ToString().find("test.btree.reverse"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace lsmkv
