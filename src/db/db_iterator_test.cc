// DB iterators and snapshots through the public API, against std::map models.
#include <cstring>
#include <map>
#include <sstream>
#include <thread>

#include "db/db_testutil.h"
#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

using Model = std::map<std::string, std::string>;

class DBIteratorTest : public test::DBTestBase<> {
 protected:
  void SetUp() override {
    dbname_ = "/iterdb";
    options_.write_buffer_size = 16 * 1024;  // many memtables, tables and compactions
    options_.target_file_size = 16 * 1024;
    options_.max_bytes_for_level_base = 64 * 1024;
    ASSERT_TRUE(Reopen().ok());
  }
};

std::string RandomKey(Random* rnd) {
  // A small key space with awkward keys: empty, NUL, 0xff, prefixes.
  static const char* const kSpecial[] = {"", "\x00", "\xff", "a", "a\x00", "ab", "b", "\xff\xff"};
  if (rnd->OneIn(10)) {
    const char* k = kSpecial[rnd->Uniform(8)];
    return std::string(k, (k[0] == '\0' && rnd->OneIn(2)) ? 1 : std::strlen(k));
  }
  return "k" + std::to_string(rnd->Uniform(300));
}

class DBIteratorModelTest : public DBIteratorTest,
                            public ::testing::WithParamInterface<uint32_t> {};

// Several seeds (the parameter is added to $LSMKV_TEST_SEED or 11), each
// 100,000 operations.
TEST_P(DBIteratorModelTest, ModelWithSnapshotsFlushesAndReopens) {
  const uint32_t seed = test::TestSeed(11) + GetParam();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  Model model;
  struct Snap {
    const Snapshot* snapshot;
    Model model;
  };
  std::vector<Snap> snaps;
  for (int i = 0; i < 100000; i++) {
    const uint32_t op = rnd.Uniform(100);
    if (op < 55) {
      const std::string k = RandomKey(&rnd), v = rnd.RandomBytes(rnd.Uniform(40));
      ASSERT_TRUE(db_->Put(WriteOptions(), k, v).ok());
      model[k] = v;
    } else if (op < 75) {
      const std::string k = RandomKey(&rnd);
      ASSERT_TRUE(db_->Delete(WriteOptions(), k).ok());
      model.erase(k);
    } else if (op < 85) {
      WriteBatch batch;
      for (int j = 0; j < 4; j++) {
        const std::string k = RandomKey(&rnd);
        if (rnd.OneIn(3)) {
          batch.Delete(k);
          model.erase(k);
        } else {
          batch.Put(k, "b" + std::to_string(i));
          model[k] = "b" + std::to_string(i);
        }
      }
      ASSERT_TRUE(db_->Write(WriteOptions(), &batch).ok());
    } else if (op < 87 && snaps.size() < 8) {
      snaps.push_back({db_->GetSnapshot(), model});
    } else if (op < 89 && !snaps.empty()) {
      const size_t which = rnd.Uniform(static_cast<uint32_t>(snaps.size()));
      db_->ReleaseSnapshot(snaps[which].snapshot);
      snaps.erase(snaps.begin() + static_cast<long>(which));
    } else if (op < 90) {
      ASSERT_TRUE(db_->Flush().ok());
    } else if (op < 91 && rnd.OneIn(20)) {
      for (const Snap& s : snaps) db_->ReleaseSnapshot(s.snapshot);
      snaps.clear();  // snapshots do not survive a reopen
      ASSERT_TRUE(Reopen().ok());
    } else {
      // An iterator, at the latest state or at a snapshot, with random bounds.
      ReadOptions ro;
      const Model* expected = &model;
      if (!snaps.empty() && rnd.OneIn(2)) {
        const Snap& s = snaps[rnd.Uniform(static_cast<uint32_t>(snaps.size()))];
        ro.snapshot = s.snapshot;
        expected = &s.model;
      }
      if (rnd.OneIn(3)) ro.lower_bound = RandomKey(&rnd);
      if (rnd.OneIn(3)) ro.upper_bound = RandomKey(&rnd);
      std::unique_ptr<Iterator> it = db_->NewIterator(ro);
      test::ExpectIteratorMatchesModel(it.get(), *expected, ro, &rnd, 30, RandomKey);
      if (HasFatalFailure()) return;
      // Point reads at the same snapshot agree too.
      const std::string k = RandomKey(&rnd);
      std::string v;
      Status s = db_->Get(ro, k, &v);
      auto found = expected->find(k);
      if (found == expected->end()) {
        ASSERT_TRUE(s.IsNotFound()) << s.ToString();
      } else {
        ASSERT_TRUE(s.ok()) << s.ToString();
        ASSERT_EQ(found->second, v);
      }
    }
  }
  for (const Snap& s : snaps) db_->ReleaseSnapshot(s.snapshot);
}

INSTANTIATE_TEST_SUITE_P(Seeds, DBIteratorModelTest, ::testing::Values(0u, 1u, 2u));

// An iterator keeps seeing its state while writes and flushes replace the
// memtables and tables it reads.
TEST_F(DBIteratorTest, IteratorPinsItsViewAcrossFlushes) {
  Model model;
  for (int i = 0; i < 2000; i++) {
    const std::string k = "key" + std::to_string(i);
    ASSERT_TRUE(db_->Put(WriteOptions(), k, "v1-" + std::to_string(i)).ok());
    model[k] = "v1-" + std::to_string(i);
  }
  std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
  for (int round = 0; round < 20; round++) {
    for (int i = 0; i < 2000; i += 3) {
      ASSERT_TRUE(db_->Put(WriteOptions(), "key" + std::to_string(i), "new").ok());
      ASSERT_TRUE(db_->Delete(WriteOptions(), "key" + std::to_string(i + 1)).ok());
    }
    ASSERT_TRUE(db_->Flush().ok());
  }
  test::ExpectScanMatchesModel(it.get(), model);
}

// An iterator left open across 20 compactions keeps returning its data; the
// tables those compactions replaced stay on disk until it is destroyed and
// are deleted afterwards.
TEST_F(DBIteratorTest, IteratorPinsFilesAcrossCompactions) {
  Model model;
  for (int i = 0; i < 3000; i++) {
    const std::string k = "key" + std::to_string(i);
    ASSERT_TRUE(db_->Put(WriteOptions(), k, "v1-" + std::to_string(i)).ok());
    model[k] = "v1-" + std::to_string(i);
  }
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  std::string pinned_files;
  ASSERT_TRUE(db_->GetProperty("lsmkv.live-files", &pinned_files));
  ASSERT_FALSE(pinned_files.empty());
  std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
  for (int round = 0; round < 20; round++) {
    for (int i = round % 3; i < 3000; i += 3) {
      ASSERT_TRUE(
          db_->Put(WriteOptions(), "key" + std::to_string(i), "r" + std::to_string(round)).ok());
    }
    ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  }
  std::string live_now;
  ASSERT_TRUE(db_->GetProperty("lsmkv.live-files", &live_now));
  std::istringstream pinned(pinned_files);
  std::vector<uint64_t> old_files;
  for (uint64_t n; pinned >> n;) {
    old_files.push_back(n);
    EXPECT_EQ(std::string::npos, (" " + live_now + " ").find(" " + std::to_string(n) + " "))
        << "table " << n << " should have been compacted away";
  }
  auto table_exists = [&](uint64_t n) {
    char name[64];
    std::snprintf(name, sizeof(name), "/iterdb/%06llu.sst", static_cast<unsigned long long>(n));
    return env_->FileExists(name);
  };
  for (uint64_t n : old_files) EXPECT_TRUE(table_exists(n)) << "pinned table " << n << " deleted";
  test::ExpectScanMatchesModel(it.get(), model);
  if (HasFatalFailure()) return;
  it.reset();
  // The next background step deletes what nothing references any more.
  ASSERT_TRUE(db_->Put(WriteOptions(), "trigger", "x").ok());
  ASSERT_TRUE(db_->Flush().ok());
  for (uint64_t n : old_files) EXPECT_FALSE(table_exists(n)) << "table " << n << " not deleted";
}

TEST_F(DBIteratorTest, ConcurrentIteratorsAndWriters) {
  for (int i = 0; i < 1000; i++) {
    ASSERT_TRUE(db_->Put(WriteOptions(), "k" + std::to_string(1000 + i), "v").ok());
  }
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    Random rnd(5);
    for (int i = 0; !stop.load() && i < 20000; i++) {
      // Values only ever change between "v" and "w": readers see one or the other.
      if (!db_->Put(WriteOptions(), "k" + std::to_string(1000 + rnd.Uniform(1000)),
                    rnd.OneIn(2) ? "v" : "w")
               .ok()) {
        break;
      }
    }
  });
  std::vector<std::thread> readers;
  std::atomic<int> errors{0};
  for (int r = 0; r < 3; r++) {
    readers.emplace_back([&] {
      for (int round = 0; round < 30; round++) {
        const Snapshot* snap = db_->GetSnapshot();
        ReadOptions ro;
        ro.snapshot = snap;
        std::unique_ptr<Iterator> it = db_->NewIterator(ro);
        int n = 0;
        std::string last;
        for (it->SeekToFirst(); it->Valid(); it->Next(), n++) {
          if (!last.empty() && std::string(it->key()) <= last) errors++;
          last = it->key();
          if (it->value() != "v" && it->value() != "w") errors++;
        }
        if (n != 1000 || !it->status().ok()) errors++;
        it.reset();
        db_->ReleaseSnapshot(snap);
      }
    });
  }
  for (auto& t : readers) t.join();
  stop = true;
  writer.join();
  EXPECT_EQ(0, errors.load());
}

TEST_F(DBIteratorTest, ClosedDatabaseGivesErrorIterator) {
  ASSERT_TRUE(db_->Close().ok());
  std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_FALSE(it->status().ok());
  EXPECT_EQ(nullptr, db_->GetSnapshot());
}

}  // namespace
}  // namespace lsmkv
