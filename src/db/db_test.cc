// Engine-level tests of DB through the public API (on PosixEnv and MemEnv).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "base/filename.h"
#include "db/db_impl.h"
#include "db/db_testutil.h"
#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "table/format.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

class DBTest : public test::DBTestBase<::testing::TestWithParam<bool /*use_mem_env*/>> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      dbname_ = "/memdb";
    } else {
      options_.env = nullptr;  // Env::Default()
      dbname_ = test::NewTempDir("dbtest");
    }
    ASSERT_TRUE(Reopen().ok());
  }
  void TearDown() override {
    db_.reset();
    if (!GetParam()) test::RemoveTree(dbname_);
  }

  uint64_t LastSequence() {
    std::string v;
    EXPECT_TRUE(db_->GetProperty("lsmkv.last-sequence", &v));
    return std::stoull(v);
  }
};

TEST_P(DBTest, EmptyAndMissing) {
  EXPECT_EQ("NOT_FOUND", Get("a"));
  EXPECT_EQ("NOT_FOUND", Get(""));
}

TEST_P(DBTest, BinarySafeRoundTripAcrossReopen) {
  std::vector<std::pair<std::string, std::string>> data;
  for (int b = 0; b < 256; b++) {
    data.emplace_back(std::string("k") + static_cast<char>(b),
                      std::string(3, static_cast<char>(b)));
  }
  data.emplace_back("a|b", "c|d");
  data.emplace_back("line\nbreak", "value\nwith\nnewlines");
  data.emplace_back(std::string("nul\0key", 7), std::string("nul\0value", 9));
  data.emplace_back("", "value of the empty key");
  data.emplace_back("empty value", "");
  Random rnd(test::TestSeed());
  data.emplace_back("one MiB", rnd.RandomBytes(1 << 20));
  for (const auto& [k, v] : data) ASSERT_TRUE(Put(k, v).ok());
  for (int round = 0; round < 3; round++) {
    for (const auto& [k, v] : data) ASSERT_EQ(v, Get(k)) << "round " << round;
    ASSERT_TRUE(Reopen().ok());
  }
}

TEST_P(DBTest, DeleteHidesValueAndSurvivesReopen) {
  ASSERT_TRUE(Put("x", "1").ok());
  ASSERT_TRUE(db_->Delete(WriteOptions(), "x").ok());
  ASSERT_TRUE(db_->Delete(WriteOptions(), "never-existed").ok());
  EXPECT_EQ("NOT_FOUND", Get("x"));
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ("NOT_FOUND", Get("x"));
  ASSERT_TRUE(Put("x", "2").ok());
  EXPECT_EQ("2", Get("x"));
}

TEST_P(DBTest, BatchIsAtomicAndOrdered) {
  WriteBatch batch;
  batch.Put("a", "1");
  batch.Put("b", "2");
  batch.Delete("a");
  batch.Put("c", "3");
  EXPECT_EQ(4u, batch.Count());
  ASSERT_TRUE(db_->Write(WriteOptions(), &batch).ok());
  EXPECT_EQ("NOT_FOUND", Get("a"));
  EXPECT_EQ("2", Get("b"));
  EXPECT_EQ("3", Get("c"));
  EXPECT_EQ(4u, LastSequence());
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ("NOT_FOUND", Get("a"));
  EXPECT_EQ("3", Get("c"));
}

TEST_P(DBTest, OversizedKeyOrValueRejectedAndNotWritten) {
  options_.max_key_size = 100;
  options_.max_value_size = 1000;
  ASSERT_TRUE(Reopen().ok());
  const uint64_t before = LastSequence();
  Status s = Put(std::string(101, 'k'), "v");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(std::string::npos, s.ToString().find("max_key_size (100 bytes)")) << s.ToString();
  s = Put("k", std::string(1001, 'v'));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(std::string::npos, s.ToString().find("max_value_size (1000 bytes)")) << s.ToString();
  // A batch with one bad operation writes nothing at all.
  WriteBatch batch;
  batch.Put("good", "v");
  batch.Put("bad", std::string(1001, 'v'));
  EXPECT_TRUE(db_->Write(WriteOptions(), &batch).IsInvalidArgument());
  EXPECT_EQ(before, LastSequence());
  EXPECT_EQ("NOT_FOUND", Get("good"));
  EXPECT_EQ("NOT_FOUND", Get("k"));
  // The limits themselves are allowed.
  ASSERT_TRUE(Put(std::string(100, 'k'), std::string(1000, 'v')).ok());
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ(std::string(1000, 'v'), Get(std::string(100, 'k')));
}

TEST_P(DBTest, SecondOpenFailsWithClearMessage) {
  std::unique_ptr<DB> second;
  Status s = DB::Open(options_, dbname_, &second);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(nullptr, second);
  EXPECT_NE(std::string::npos, s.ToString().find("LOCK")) << s.ToString();
  // The first handle is unaffected.
  ASSERT_TRUE(Put("k", "v").ok());
  EXPECT_EQ("v", Get("k"));
}

TEST_P(DBTest, CallsAfterCloseFailCleanly) {
  ASSERT_TRUE(Put("k", "v").ok());
  ASSERT_TRUE(db_->Close().ok());
  ASSERT_TRUE(db_->Close().ok());  // idempotent
  std::string v;
  EXPECT_FALSE(db_->Put(WriteOptions(), "k", "v").ok());
  EXPECT_FALSE(db_->Delete(WriteOptions(), "k").ok());
  EXPECT_FALSE(db_->Get(ReadOptions(), "k", &v).ok());
  WriteBatch batch;
  batch.Put("a", "b");
  EXPECT_FALSE(db_->Write(WriteOptions(), &batch).ok());
  EXPECT_FALSE(db_->Flush().ok());
  EXPECT_FALSE(db_->GetProperty("lsmkv.stats", &v));
  // The directory is free again.
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ("v", Get("k"));
}

TEST_P(DBTest, OpenOptionsAreChecked) {
  db_.reset();
  Options o = options_;
  o.create_if_missing = false;
  std::unique_ptr<DB> db;
  Status s = DB::Open(o, dbname_ + "/nonexistent", &db);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("create_if_missing")) << s.ToString();
  o = options_;
  o.error_if_exists = true;
  s = DB::Open(o, dbname_, &db);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  o = options_;
  o.max_write_buffer_number = 1;
  EXPECT_TRUE(DB::Open(o, dbname_, &db).IsInvalidArgument());
  for (size_t h : {size_t{3} << 20, size_t{4096}, size_t{2} << 30}) {
    o = options_;
    o.memtable_huge_page_size = h;
    s = DB::Open(o, dbname_, &db);
    EXPECT_TRUE(s.IsInvalidArgument()) << h << ": " << s.ToString();
    EXPECT_NE(std::string::npos, s.ToString().find("memtable_huge_page_size")) << s.ToString();
  }
  o = options_;
  o.memtable_run_size = 1023;
  s = DB::Open(o, dbname_, &db);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("memtable_run_size")) << s.ToString();
  for (double ratio : {-0.01, 0.26, std::nan("")}) {
    o = options_;
    o.memtable_index_ratio = ratio;
    s = DB::Open(o, dbname_, &db);
    EXPECT_TRUE(s.IsInvalidArgument()) << ratio << ": " << s.ToString();
    EXPECT_NE(std::string::npos, s.ToString().find("memtable_index_ratio")) << s.ToString();
  }
}

// Memtables in runs (Options::memtable_run_size): reads, a snapshot taken
// between runs and iterators in both directions see exactly the writes, in
// the memtable and after a reopen replays the log into a new one.
TEST_P(DBTest, MemTableRuns) {
  options_.write_buffer_size = 1 << 20;
  options_.memtable_run_size = 32 << 10;  // 32 runs' worth: 16 runs, the last grows
  ASSERT_TRUE(Reopen().ok());
  auto key = [](int i) { return "k" + std::to_string(i * 7919 % 3000); };
  auto value = [](int i, int round) { return std::string(100, 'a' + (i + round) % 26); };
  for (int i = 0; i < 3000; i++) ASSERT_TRUE(Put(key(i), value(i, 0)).ok());
  const Snapshot* snap = db_->GetSnapshot();
  for (int i = 0; i < 3000; i += 2) ASSERT_TRUE(Put(key(i), value(i, 1)).ok());
  for (int i = 0; i < 3000; i += 5) ASSERT_TRUE(Delete(key(i)).ok());
  std::string runs;
  ASSERT_TRUE(db_->GetProperty("lsmkv.num-entries-active-mem-table", &runs));
  ASSERT_EQ(runs, "5100");  // nothing flushed: every write is in the memtable's runs
  auto want = [&](int i, bool at_snapshot) -> std::string {
    if (at_snapshot) return value(i, 0);
    if (i % 5 == 0) return "NOT_FOUND";
    return value(i, i % 2 == 0 ? 1 : 0);
  };
  for (int pass = 0; pass < 2; pass++) {
    SCOPED_TRACE(pass == 0 ? "in the memtable" : "after a reopen");
    for (int i = 0; i < 3000; i++) {
      ASSERT_EQ(want(i, false), Get(key(i))) << i;
      if (snap != nullptr) {
        ASSERT_EQ(want(i, true), Get(key(i), snap)) << i;
      }
    }
    // A full scan each way lists the live keys in order.
    std::map<std::string, std::string> live;
    for (int i = 0; i < 3000; i++) {
      if (want(i, false) != "NOT_FOUND") live[key(i)] = want(i, false);
    }
    std::unique_ptr<Iterator> it(db_->NewIterator(ReadOptions()));
    auto m = live.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++m) {
      ASSERT_NE(m, live.end());
      ASSERT_EQ(it->key(), m->first);
      ASSERT_EQ(it->value(), m->second);
    }
    ASSERT_EQ(m, live.end());
    auto r = live.rbegin();
    for (it->SeekToLast(); it->Valid(); it->Prev(), ++r) {
      ASSERT_NE(r, live.rend());
      ASSERT_EQ(it->key(), r->first);
    }
    ASSERT_EQ(r, live.rend());
    ASSERT_TRUE(it->status().ok());
    it.reset();
    if (pass == 0) {
      db_->ReleaseSnapshot(snap);
      snap = nullptr;
      ASSERT_TRUE(Reopen().ok());  // replays the log into a new memtable
    }
  }
}

// Memtables take huge-page chunks only when the write buffer holds at least
// eight of them; either way the data reads back across a reopen.
TEST_P(DBTest, MemTableHugePages) {
  for (size_t huge : {size_t{0}, size_t{64} << 10, size_t{2} << 20}) {
    SCOPED_TRACE(huge);
    options_.memtable_huge_page_size = huge;
    options_.write_buffer_size = 1 << 20;  // 16 chunks of 64 KiB; too small for 2 MiB ones
    ASSERT_TRUE(Reopen().ok());
    for (int i = 0; i < 3000; i++) {
      ASSERT_TRUE(Put("k" + std::to_string(i * 7919 % 3000), std::string(100, 'a' + i % 26)).ok());
    }
    for (int i = 0; i < 3000; i += 7) {
      ASSERT_EQ(std::string(100, 'a' + i % 26), Get("k" + std::to_string(i * 7919 % 3000)));
    }
    ASSERT_TRUE(Reopen().ok());  // replays the log into a new memtable
    for (int i = 0; i < 3000; i++) {
      ASSERT_EQ(std::string(100, 'a' + i % 26), Get("k" + std::to_string(i * 7919 % 3000)));
    }
  }
}

// A flushed memtable's huge-page chunks go to the next memtables: after
// many flushes the DB has obtained no more chunks than the memtables alive
// at once can hold, and every value, written into reused memory, reads back
// (from memtables and from the tables they were flushed to).
TEST_P(DBTest, MemTableChunksAreReusedAcrossFlushes) {
  options_.memtable_huge_page_size = 64 << 10;
  options_.write_buffer_size = 1 << 20;  // 16 chunks per memtable
  ASSERT_TRUE(Reopen().ok());
  std::map<std::string, std::string> model;
  Random rnd(test::TestSeed());
  for (int i = 0; i < 80000; i++) {  // about 12 MB: a dozen write buffers
    const std::string key = "k" + std::to_string(rnd.Uniform(20000));
    const std::string value = rnd.RandomBytes(100 + rnd.Uniform(50));
    ASSERT_TRUE(Put(key, value).ok());
    model[key] = value;
    if (i % 10000 == 9999) {
      for (int j = 0; j < 200; j++) {
        const std::string probe = "k" + std::to_string(rnd.Uniform(20000));
        auto it = model.find(probe);
        ASSERT_EQ(it == model.end() ? "NOT_FOUND" : it->second, Get(probe)) << probe;
      }
    }
  }
  ASSERT_TRUE(db_->Flush().ok());
  const uint64_t flushes = Stat("flushes");
  const uint64_t made = Stat("memtable chunks allocated");
  const uint64_t reused = Stat("memtable chunks reused");
  ASSERT_GE(flushes, 8u);
  EXPECT_GT(reused, 0u);
  // Without reuse every memtable would take 16 new chunks; with it, only as
  // many as the memtables alive at once (the active one and the frozen ones
  // being flushed) hold, plus the chunks faulted in ahead of the writer
  // (DBImpl::kMemTableChunkReserve, 2).
  const uint64_t alive = static_cast<uint64_t>(options_.max_write_buffer_number) + 1;
  EXPECT_LE(made, alive * 16 + 2);
  EXPECT_LT(made, flushes * 16);
  EXPECT_LE(Stat("memtable chunks kept"), 16u);  // at most one write buffer's worth
  for (const auto& [key, value] : model) ASSERT_EQ(value, Get(key)) << key;
  ASSERT_TRUE(Reopen().ok());
  for (const auto& [key, value] : model) ASSERT_EQ(value, Get(key)) << key;
}

// Options::table_format_version picks the format new tables are written in;
// tables of both formats are read whatever it says; other values are refused.
TEST_P(DBTest, TableFormatVersionOption) {
  Env* env = options_.env != nullptr ? options_.env : Env::Default();
  auto table_versions = [&] {
    std::set<uint64_t> numbers;
    EXPECT_TRUE(test::TableNumbersInDir(env, dbname_, &numbers).ok());
    std::map<uint64_t, uint32_t> versions;
    for (uint64_t n : numbers) {
      const std::string name = TableFileName(dbname_, n);
      uint64_t size = 0;
      EXPECT_TRUE(env->GetFileSize(name, &size).ok());
      std::unique_ptr<RandomAccessFile> file;
      EXPECT_TRUE(env->NewRandomAccessFile(name, &file).ok());
      TableFooter footer;
      EXPECT_TRUE(ReadTableFooter(file.get(), size, &footer).ok()) << name;
      versions[n] = footer.footer.version();
    }
    return versions;
  };
  options_.table_format_version = 1;
  ASSERT_TRUE(Reopen().ok());
  ASSERT_TRUE(Put("a", "1").ok());
  ASSERT_TRUE(db_->Flush().ok());
  std::map<uint64_t, uint32_t> v1 = table_versions();
  ASSERT_EQ(1u, v1.size());
  EXPECT_EQ(1u, v1.begin()->second);

  options_.table_format_version = 2;
  ASSERT_TRUE(Reopen().ok());
  ASSERT_TRUE(Put("b", "2").ok());
  ASSERT_TRUE(db_->Flush().ok());
  std::map<uint64_t, uint32_t> both = table_versions();
  ASSERT_EQ(2u, both.size());
  EXPECT_EQ(1u, both.begin()->second);
  EXPECT_EQ(2u, both.rbegin()->second);
  EXPECT_EQ("1", Get("a"));
  EXPECT_EQ("2", Get("b"));

  for (uint32_t bad : {0u, 3u}) {
    options_.table_format_version = bad;
    Status s = Reopen();
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_NE(std::string::npos, s.ToString().find("table_format_version")) << s.ToString();
  }
  options_.table_format_version = 2;
  ASSERT_TRUE(Reopen().ok());
}

TEST_P(DBTest, SequenceNumbersNeverGoBackwards) {
  uint64_t last = 0;
  for (int round = 0; round < 5; round++) {
    ASSERT_TRUE(Put("k" + std::to_string(round), "v").ok());
    const uint64_t now = LastSequence();
    EXPECT_GT(now, last);
    last = now;
    ASSERT_TRUE(Reopen().ok());
    EXPECT_EQ(last, LastSequence());
  }
}

TEST_P(DBTest, DestroyRemovesEverythingAndRefusesOpenDB) {
  ASSERT_TRUE(Put("k", "v").ok());
  EXPECT_FALSE(DestroyDB(dbname_, options_).ok());  // still open
  db_.reset();
  ASSERT_TRUE(DestroyDB(dbname_, options_).ok());
  std::vector<std::string> children;
  Env* env = options_.env ? options_.env : Env::Default();
  env->GetChildren(dbname_, &children).PermitUncheckedError();
  EXPECT_TRUE(children.empty());
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ("NOT_FOUND", Get("k"));
}

// Random puts, deletes and batches against a std::map, with a tiny write
// buffer (many memtables and tables) and reopens.
TEST_P(DBTest, ModelWithSmallBuffersAndReopens) {
  options_.write_buffer_size = 64 * 1024;
  options_.max_write_buffer_number = 3;
  ASSERT_TRUE(Reopen().ok());
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  std::map<std::string, std::string> model;
  const int kOps = GetParam() ? 60000 : 30000;
  for (int i = 0; i < kOps; i++) {
    const std::string key = "key" + std::to_string(rnd.Uniform(5000));
    const uint32_t op = rnd.Uniform(10);
    if (op < 6) {
      const std::string value = rnd.RandomBytes(rnd.Uniform(200));
      ASSERT_TRUE(Put(key, value).ok());
      model[key] = value;
    } else if (op < 8) {
      ASSERT_TRUE(db_->Delete(WriteOptions(), key).ok());
      model.erase(key);
    } else {
      WriteBatch batch;
      for (int j = 0; j < 5; j++) {
        const std::string k = "key" + std::to_string(rnd.Uniform(5000));
        if (rnd.OneIn(3)) {
          batch.Delete(k);
          model.erase(k);
        } else {
          const std::string v = rnd.RandomBytes(rnd.Uniform(50));
          batch.Put(k, v);
          model[k] = v;
        }
      }
      ASSERT_TRUE(db_->Write(WriteOptions(), &batch).ok());
    }
    if (i % 15000 == 14999) {
      ASSERT_TRUE(Reopen().ok());
      for (int k = 0; k < 5000; k++) {
        const std::string key2 = "key" + std::to_string(k);
        auto it = model.find(key2);
        ASSERT_EQ(it == model.end() ? "NOT_FOUND" : it->second, Get(key2)) << key2;
      }
    }
  }
  std::string levels;
  ASSERT_TRUE(db_->GetProperty("lsmkv.levels", &levels));
  for (int k = 0; k < 5000; k++) {
    const std::string key = "key" + std::to_string(k);
    auto it = model.find(key);
    ASSERT_EQ(it == model.end() ? "NOT_FOUND" : it->second, Get(key)) << key;
  }
}

// 16 threads x 10,000 writes, every fourth one synced; all present after reopen.
TEST_P(DBTest, ConcurrentWritersMixedSync) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 10000;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; i++) {
        WriteOptions wo;
        wo.sync = (i % 4 == 0) && (i % 100 < 8);  // a few hundred syncs per thread
        const std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!db_->Put(wo, key, std::to_string(i * 7)).ok()) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(0, failures.load());
  EXPECT_EQ(static_cast<uint64_t>(kThreads * kPerThread), LastSequence());
  ASSERT_TRUE(Reopen().ok());
  for (int t = 0; t < kThreads; t++) {
    for (int i = 0; i < kPerThread; i++) {
      ASSERT_EQ(std::to_string(i * 7), Get("t" + std::to_string(t) + "-" + std::to_string(i)));
    }
  }
}

// Readers running during flushes never miss a key written before their read began.
TEST_P(DBTest, ReadersDuringFlushesSeeEverything) {
  options_.write_buffer_size = 32 * 1024;
  ASSERT_TRUE(Reopen().ok());
  std::atomic<int> written{0};
  std::atomic<bool> stop{false};
  std::atomic<int> misses{0};
  std::thread reader([&] {
    Random rnd(7);
    while (!stop.load()) {
      const int n = written.load();
      if (n == 0) continue;
      const int k = static_cast<int>(rnd.Uniform(static_cast<uint32_t>(n)));
      if (Get("key" + std::to_string(k)) != "value" + std::to_string(k)) misses++;
    }
  });
  for (int i = 0; i < 20000; i++) {
    ASSERT_TRUE(Put("key" + std::to_string(i), "value" + std::to_string(i)).ok());
    written.store(i + 1);
  }
  stop = true;
  reader.join();
  EXPECT_EQ(0, misses.load());
  std::string stats;
  ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
  EXPECT_NE(std::string::npos, stats.find("flushes: ")) << stats;
}

// Point reads of tables find their data block through the tables' index
// fences (Table::BuildIndexFences), before and after a reopen: every key
// reads back, absent keys stay absent, and the fences decided nearly every
// lookup that reached a table.
TEST_P(DBTest, PointReadsFindBlocksThroughIndexFences) {
  options_.block_size = 512;  // many blocks per table
  ASSERT_TRUE(Reopen().ok());
  auto key = [](int i) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "tenant/7/user:%08d", i);
    return std::string(buf);
  };
  for (int i = 0; i < 6000; i += 2) ASSERT_TRUE(Put(key(i), "value" + std::to_string(i)).ok());
  ASSERT_TRUE(db_->Flush().ok());
  for (int round = 0; round < 2; round++) {
    const uint64_t hits_before = Stat("index fence hits");
    const uint64_t ties_before = Stat("index fence ties");
    for (int i = 0; i < 6000; i++) {
      ASSERT_EQ(i % 2 == 0 ? "value" + std::to_string(i) : "NOT_FOUND", Get(key(i))) << i;
    }
    ASSERT_EQ("NOT_FOUND", Get("tenant/6"));
    ASSERT_EQ("NOT_FOUND", Get("tenant/8"));
    const uint64_t hits = Stat("index fence hits") - hits_before;
    const uint64_t ties = Stat("index fence ties") - ties_before;
    // The 3,000 present keys all reach a table; absent ones that pass the
    // filter do too.
    EXPECT_GE(hits + ties, 3000u);
    EXPECT_GT(hits, 20 * ties) << hits << " " << ties;
    ASSERT_TRUE(Reopen().ok());  // the fences of tables opened anew
  }
}

// A database written with the classic bloom layout (table_format_version
// 1, or an older lsmkv) and reopened by today's defaults: the old tables keep
// their classic filters and still use them, new tables get the line layout,
// and both rule out absent keys and never a present one.
TEST_P(DBTest, TablesOfBothFilterLayoutsAreReadWithTheirFilters) {
  Env* env = options_.env != nullptr ? options_.env : Env::Default();
  auto key = [](int i) { return "key" + std::to_string(100000 + i); };
  options_.level0_file_limit = 10;  // both flushes stay tables of their own
  options_.level0_slowdown_writes_trigger = 20;
  options_.level0_stop_writes_trigger = 30;
  options_.read_compaction_bytes_per_seek = 0;  // nor do reads merge them
  options_.table_format_version = 1;
  ASSERT_TRUE(Reopen().ok());
  for (int i = 0; i < 2000; i += 2) ASSERT_TRUE(Put(key(i), "old" + std::to_string(i)).ok());
  ASSERT_TRUE(db_->Flush().ok());
  options_.table_format_version = 2;
  ASSERT_TRUE(Reopen().ok());
  for (int i = 1; i < 2000; i += 2) ASSERT_TRUE(Put(key(i), "new" + std::to_string(i)).ok());
  ASSERT_TRUE(db_->Flush().ok());
  // Two tables over the same key range, one per layout (meta-index names
  // are stored whole).
  const std::vector<std::string> tables = test::FilesOfType(env, dbname_, FileType::kTableFile);
  ASSERT_EQ(2u, tables.size());
  int classic = 0, lines = 0;
  for (const std::string& t : tables) {
    std::string bytes;
    ASSERT_TRUE(ReadFileToString(env, t, &bytes).ok());
    if (bytes.find(kLineFilterBlockName) != std::string::npos) {
      lines++;
    } else if (bytes.find(kFilterBlockName) != std::string::npos) {
      classic++;
    }
  }
  EXPECT_EQ(1, classic);
  EXPECT_EQ(1, lines);
  for (int round = 0; round < 2; round++) {
    const uint64_t checks_before = Stat("bloom filter checks");
    const uint64_t useful_before = Stat("bloom filter useful");
    for (int i = 0; i < 2000; i++) {
      ASSERT_EQ((i % 2 == 0 ? "old" : "new") + std::to_string(i), Get(key(i))) << i;
    }
    for (int i = 0; i < 2000; i++) ASSERT_EQ("NOT_FOUND", Get(key(i) + "x")) << i;
    const uint64_t checks = Stat("bloom filter checks") - checks_before;
    const uint64_t useful = Stat("bloom filter useful") - useful_before;
    // The newer table (lines) is asked first: an old key is ruled out by
    // its filter and found through the classic one, a new key found at
    // once; an absent key meets both filters and nearly always stops at
    // each (about 1 % false positives). A few keys at the ends of the range
    // lie outside one table's key range and skip its filter.
    EXPECT_LE(checks, 1000u * 2 + 1000u + 2000u * 2);
    EXPECT_GE(checks, 1000u * 2 + 1000u + 2000u * 2 - 8);
    EXPECT_GE(useful, 1000u + 2000u * 2 - 8 - 120) << useful;
    EXPECT_LE(useful, 1000u + 2000u * 2) << useful;
    ASSERT_TRUE(Reopen().ok());
  }
}

// Point reads pin the tables they find (at most max_open_files / 2), read
// right through the pins, and a pin goes with the last version that holds
// its file: an iterator's view keeps the compacted files' pins, its end
// releases them.
TEST_P(DBTest, PointReadsPinTablesUntilTheirFilesLeaveEveryVersion) {
  options_.max_open_files = 6;
  options_.level0_file_limit = 10;  // five flushes stay five level-0 tables
  options_.level0_slowdown_writes_trigger = 20;
  options_.level0_stop_writes_trigger = 30;
  ASSERT_TRUE(Reopen().ok());
  auto property = [&](const char* name) {
    std::string v;
    EXPECT_TRUE(db_->GetProperty(name, &v)) << name;
    return std::stoi(v);
  };
  auto key = [](int t, int j) { return "t" + std::to_string(t) + "-" + std::to_string(j); };
  for (int t = 0; t < 5; t++) {
    for (int j = 0; j < 20; j++) ASSERT_TRUE(Put(key(t, j), "v" + key(t, j)).ok());
    ASSERT_TRUE(db_->Flush().ok());
  }
  EXPECT_EQ(0, property("lsmkv.pinned-tables"));
  for (int round = 0; round < 2; round++) {
    for (int t = 0; t < 5; t++) {
      for (int j = 0; j < 20; j++) ASSERT_EQ("v" + key(t, j), Get(key(t, j)));
    }
    EXPECT_EQ(3, property("lsmkv.pinned-tables"));  // max_open_files / 2
    EXPECT_LE(property("lsmkv.open-tables"), 6);
  }
  std::unique_ptr<Iterator> it(db_->NewIterator(ReadOptions()));
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ(3, property("lsmkv.pinned-tables"));  // the iterator's version holds them
  int n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
  EXPECT_EQ(100, n);
  it.reset();
  EXPECT_EQ(0, property("lsmkv.pinned-tables"));
  for (int t = 0; t < 5; t++) {
    for (int j = 0; j < 20; j++) ASSERT_EQ("v" + key(t, j), Get(key(t, j)));
  }
  std::string live;
  ASSERT_TRUE(db_->GetProperty("lsmkv.live-files", &live));
  const int live_files = static_cast<int>(std::count(live.begin(), live.end(), ' ')) + 1;
  EXPECT_EQ(std::min(live_files, 3), property("lsmkv.pinned-tables")) << live;
}

// Close may run while other threads read, take snapshots, ask for properties
// and compact (db.h: every method may be called concurrently). Each call
// either works or reports the closed database. (Readers used to read the
// sequence through the VersionSet that Close deletes, and CompactRange used it
// after its Flush without re-checking; hitting that needs a preemption at one
// exact point, so this test checks the contract, not that interleaving.)
TEST_P(DBTest, CloseWhileOtherCallsRun) {
  for (int i = 0; i < 200; i++) ASSERT_TRUE(Put("key" + std::to_string(i), "v").ok());
  constexpr int kReaders = 3;
  std::atomic<int> ready{0};
  std::atomic<int> unexpected{0};
  auto closed_or_ok = [&](const Status& s) {
    if (s.IsInvalidArgument()) return false;  // closed: stop
    if (!s.ok() && !s.IsNotFound()) unexpected++;
    return true;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kReaders; t++) {
    threads.emplace_back([&, t] {
      Random rnd(static_cast<uint32_t>(t + 1));
      bool counted = false;
      for (int n = 0;; n++) {
        std::string v;
        const std::string key = "key" + std::to_string(rnd.Uniform(200));
        if (!closed_or_ok(db_->Get(ReadOptions(), key, &v))) break;
        if (db_->GetProperty("lsmkv.last-sequence", &v) && v.empty()) unexpected++;
        // Reader 0 stays on the lock-free read path (no snapshot, no iterator).
        if (t != 0) {
          const Snapshot* snapshot = db_->GetSnapshot();
          if (snapshot != nullptr) db_->ReleaseSnapshot(snapshot);
          std::unique_ptr<Iterator> it(db_->NewIterator(ReadOptions()));
          it->SeekToFirst();
          if (!closed_or_ok(it->status())) break;
        }
        if (!counted && n >= 20) {
          counted = true;
          ready++;
        }
      }
      if (!counted) ready++;
    });
  }
  threads.emplace_back([&] {
    while (true) {
      Status s = db_->CompactRange(nullptr, nullptr);
      if (!closed_or_ok(s)) break;
    }
  });
  while (ready.load() < kReaders) std::this_thread::yield();
  EXPECT_TRUE(db_->Close().ok());
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(0, unexpected.load());
}

INSTANTIATE_TEST_SUITE_P(Envs, DBTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "MemEnv" : "PosixEnv"; });

}  // namespace
}  // namespace lsmkv
