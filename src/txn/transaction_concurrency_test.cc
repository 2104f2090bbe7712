// Transactions under concurrency: the history checker itself (it must find
// each anomaly in a history built to show it), then real concurrent
// list-append histories checked at both levels, and the bank invariant — all
// while flushes and compactions run.
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "db/db_testutil.h"
#include "gtest/gtest.h"
#include "lsmkv/transaction.h"
#include "txn/history_checker_testutil.h"

namespace lsmkv::test {
namespace {

HistoryOp Read(const std::string& key, std::vector<uint64_t> seen) {
  HistoryOp op;
  op.key = key;
  op.read = std::move(seen);
  return op;
}
HistoryOp Append(const std::string& key, uint64_t value) {
  HistoryOp op;
  op.append = true;
  op.key = key;
  op.value = value;
  return op;
}
HistoryTxn Txn(std::vector<HistoryOp> ops, bool committed = true) {
  HistoryTxn t;
  t.ops = std::move(ops);
  t.committed = committed;
  return t;
}

TEST(HistoryCheckerTest, CleanSerialHistory) {
  std::vector<HistoryTxn> h = {Txn({Read("x", {}), Append("x", 1)}),
                               Txn({Read("x", {1}), Append("x", 2), Read("y", {})})};
  HistoryReport r = CheckListAppendHistory(h, {{"x", {1, 2}}, {"y", {}}}, false);
  EXPECT_TRUE(r.anomalies.empty()) << r.ToString();
  EXPECT_EQ(1u, r.edges_ww);
  EXPECT_EQ(1u, r.edges_wr);
}

TEST(HistoryCheckerTest, FindsG0) {
  std::vector<HistoryTxn> h = {Txn({Append("x", 1), Append("y", 3)}),
                               Txn({Append("x", 2), Append("y", 4)})};
  HistoryReport r = CheckListAppendHistory(h, {{"x", {1, 2}}, {"y", {4, 3}}}, true);
  EXPECT_TRUE(r.Has("G0")) << r.ToString();
}

TEST(HistoryCheckerTest, FindsG1c) {
  std::vector<HistoryTxn> h = {Txn({Append("x", 1), Read("y", {2})}),
                               Txn({Append("y", 2), Read("x", {1})})};
  HistoryReport r = CheckListAppendHistory(h, {{"x", {1}}, {"y", {2}}}, true);
  EXPECT_TRUE(r.Has("G1c")) << r.ToString();
  EXPECT_FALSE(r.Has("G0")) << r.ToString();
}

TEST(HistoryCheckerTest, FindsGSingle) {
  std::vector<HistoryTxn> h = {Txn({Append("x", 1), Append("y", 2)}),
                               Txn({Read("x", {1}), Read("y", {})})};
  HistoryReport r = CheckListAppendHistory(h, {{"x", {1}}, {"y", {2}}}, true);
  EXPECT_TRUE(r.Has("G-single")) << r.ToString();
}

TEST(HistoryCheckerTest, FindsG2OnlyWhenAskedForSerializability) {
  std::vector<HistoryTxn> h = {Txn({Read("x", {}), Read("y", {}), Append("x", 1)}),
                               Txn({Read("x", {}), Read("y", {}), Append("y", 2)})};
  const std::map<std::string, std::vector<uint64_t>> final_lists = {{"x", {1}}, {"y", {2}}};
  HistoryReport serializable = CheckListAppendHistory(h, final_lists, false);
  EXPECT_TRUE(serializable.Has("G2")) << serializable.ToString();
  HistoryReport si = CheckListAppendHistory(h, final_lists, true);
  EXPECT_TRUE(si.anomalies.empty()) << si.ToString();
}

TEST(HistoryCheckerTest, FindsAbortedReadsAndBadOrders) {
  std::vector<HistoryTxn> h = {Txn({Append("x", 5)}, /*committed=*/false), Txn({Read("x", {5})}),
                               Txn({Append("y", 1)}), Txn({Append("y", 2)}), Txn({Read("y", {2})})};
  HistoryReport r = CheckListAppendHistory(h, {{"x", {}}, {"y", {1, 2}}}, true);
  EXPECT_TRUE(r.Has("G1a")) << r.ToString();
  EXPECT_TRUE(r.Has("incompatible-order")) << r.ToString();
  HistoryReport lost = CheckListAppendHistory({Txn({Append("z", 9)})}, {{"z", {}}}, true);
  EXPECT_TRUE(lost.Has("lost-append")) << lost.ToString();
}

HistoryTxn Ticketed(std::vector<HistoryOp> ops, bool committed, uint64_t ticket) {
  HistoryTxn t = Txn(std::move(ops), committed);
  t.ticket = ticket;
  return t;
}

// T2 read x before T1's append to it and appended to y, which nobody read:
// committing T2 after T1 would have been serializable (T2 before T1) — an
// avoidable abort. T3 read y before T4's append and appended to x, which T4
// had read: T3 rw-> T4 rw-> T3 would be write skew, a necessary abort at
// serializability and an avoidable one at snapshot isolation (two rw edges).
TEST(HistoryCheckerTest, ClassifiesAborts) {
  std::vector<HistoryTxn> h = {
      Ticketed({Read("x", {}), Append("x", 1)}, true, 10),
      Ticketed({Read("x", {}), Append("y", 2)}, false, 11),
      Ticketed({Read("z", {}), Read("w", {}), Append("w", 3)}, true, 20),
      Ticketed({Read("w", {}), Read("z", {}), Append("z", 4)}, false, 21),
      // Aborted without a ticket (not by a conflict): not classified.
      Txn({Append("v", 5)}, false),
      // A lost update: both read x = [1] and append; the second must abort at
      // either level.
      Ticketed({Read("x", {1}), Append("x", 6)}, true, 30),
      Ticketed({Read("x", {1}), Append("x", 7)}, false, 31),
  };
  const std::map<std::string, std::vector<uint64_t>> lists = {
      {"x", {1, 6}}, {"y", {}}, {"z", {}}, {"w", {3}}, {"v", {}}};
  ASSERT_TRUE(CheckListAppendHistory(h, lists, false).anomalies.empty());
  AbortReport serializable = ClassifyAborts(h, lists, false);
  EXPECT_EQ(serializable.classified, 3u) << serializable.ToString();
  EXPECT_EQ(serializable.avoidable, 1u) << serializable.ToString();
  EXPECT_EQ(serializable.necessary, 2u) << serializable.ToString();
  AbortReport si = ClassifyAborts(h, lists, true);
  EXPECT_EQ(si.avoidable, 2u) << si.ToString();
  EXPECT_EQ(si.necessary, 1u) << si.ToString();
  // Tickets decide who came before: with the lost update's committed side
  // after the aborted one (ticket 32 > 31), the abort had nothing to avoid.
  h[5].ticket = 32;
  EXPECT_EQ(ClassifyAborts(h, lists, false).avoidable, 2u);
}

// ---- real histories ----

std::vector<uint64_t> ParseList(const std::string& s) {
  std::vector<uint64_t> out;
  std::istringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(std::stoull(item));
  }
  return out;
}

class TransactionConcurrencyTest : public DBTestBase<::testing::Test> {
 protected:
  TransactionConcurrencyTest() {
    options_.wal_recovery_mode = WalRecoveryMode::kPointInTime;
    options_.write_buffer_size = 32 * 1024;  // many flushes
    options_.level0_file_limit = 2;
    options_.max_bytes_for_level_base = 256 * 1024;
    options_.target_file_size = 64 * 1024;
    EXPECT_TRUE(Reopen().ok());
  }

  // Runs fn until stop, flushing and compacting in the background meanwhile.
  void WithBackgroundChurn(const std::function<void()>& fn) {
    std::atomic<bool> stop{false};
    std::thread churn([&] {
      int i = 0;
      while (!stop.load()) {
        if (i++ % 4 == 0) {
          EXPECT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
        } else {
          EXPECT_TRUE(db_->Flush().ok());
        }
        std::this_thread::yield();
      }
    });
    fn();
    stop = true;
    churn.join();
  }

  // tracker_cap: Options::max_transaction_tracker_bytes (0: the default);
  // a small one makes the DB expire running transactions, which must then
  // fail (Aborted) and never commit.
  HistoryReport RunListAppend(IsolationLevel level, int threads, int txns_per_thread,
                              size_t* committed_out, size_t tracker_cap = 0,
                              size_t* expired_out = nullptr, AbortReport* aborts = nullptr) {
    if (tracker_cap != 0) {
      options_.max_transaction_tracker_bytes = tracker_cap;
      EXPECT_TRUE(Reopen().ok());
    }
    std::atomic<size_t> expired_count{0};
    const int kKeys = 6;
    std::mutex mu;
    std::vector<HistoryTxn> history;
    WithBackgroundChurn([&] {
      std::vector<std::thread> workers;
      for (int w = 0; w < threads; w++) {
        workers.emplace_back([&, w] {
          Random rnd(1000 + w);
          std::vector<HistoryTxn> mine;
          uint64_t next_value = static_cast<uint64_t>(w + 1) * 1'000'000;
          for (int i = 0; i < txns_per_thread; i++) {
            TransactionOptions to;
            to.isolation = level;
            auto t = db_->BeginTransaction(WriteOptions(), to);
            HistoryTxn record;
            const int ops = 1 + static_cast<int>(rnd.Uniform(4));
            bool failed = false, expired = false;
            auto note = [&](const Status& st) {  // an expiry ends the transaction's work
              if (st.IsAborted() && tracker_cap != 0) {
                expired = true;
              } else if (!st.ok() && !st.IsNotFound()) {
                failed = true;
              }
            };
            if (rnd.OneIn(5)) {  // a scan: reads every list through an iterator
              auto it = t->NewIterator(ReadOptions());
              std::map<std::string, std::string> seen;
              for (it->SeekToFirst(); it->Valid(); it->Next())
                seen[std::string(it->key())] = it->value();
              note(it->status());
              for (int k = 0; k < kKeys && !expired; k++) {
                const std::string key = "k" + std::to_string(k);
                record.ops.push_back(Read(key, ParseList(seen[key])));
              }
            }
            for (int o = 0; o < ops && !failed && !expired; o++) {
              const std::string key = "k" + std::to_string(rnd.Uniform(kKeys));
              std::string list;
              Status s = t->Get(ReadOptions(), key, &list);
              if (s.IsNotFound()) list.clear();
              note(s);
              if (expired) break;
              record.ops.push_back(Read(key, ParseList(list)));
              if (rnd.OneIn(2)) {
                const uint64_t v = next_value++;
                note(t->Put(key, list + std::to_string(v) + ","));
                record.ops.push_back(Append(key, v));
              }
            }
            EXPECT_FALSE(failed);
            Status s = t->Commit();
            EXPECT_TRUE(s.ok() || s.IsBusy() || (tracker_cap != 0 && s.IsAborted()))
                << s.ToString();
            if (expired) {
              EXPECT_FALSE(s.ok()) << "an expired transaction committed";
            }
            if (s.IsAborted()) expired_count++;
            record.committed = s.ok();
            if (s.ok()) {
              record.ticket =
                  t->GetCommitSequence() != 0 ? t->GetCommitSequence() : t->GetReadSequence();
            } else if (s.IsBusy()) {
              std::string last;
              EXPECT_TRUE(db_->GetProperty("lsmkv.last-sequence", &last));
              record.ticket = std::stoull(last);
            }
            // Reads after the transaction's own append would see it: the
            // workload reads each key before appending to it, and a second
            // read of an appended key shows a list that ends in its own
            // value; drop such reads (they say nothing about others).
            std::map<std::string, uint64_t> appended;
            std::vector<HistoryOp> kept;
            for (const HistoryOp& op : record.ops) {
              if (op.append) {
                appended[op.key] = op.value;
              } else if (appended.count(op.key) != 0) {
                continue;
              }
              kept.push_back(op);
            }
            record.ops = std::move(kept);
            mine.push_back(std::move(record));
          }
          std::lock_guard<std::mutex> lock(mu);
          for (auto& r : mine) history.push_back(std::move(r));
        });
      }
      for (auto& t : workers) t.join();
    });
    std::map<std::string, std::vector<uint64_t>> final_lists;
    for (int k = 0; k < kKeys; k++) {
      const std::string key = "k" + std::to_string(k);
      const std::string v = Get(key);
      final_lists[key] = v == "NOT_FOUND" ? std::vector<uint64_t>{} : ParseList(v);
    }
    *committed_out = 0;
    for (const auto& t : history) *committed_out += t.committed;
    if (expired_out != nullptr) *expired_out = expired_count.load();
    if (aborts != nullptr) {
      *aborts = ClassifyAborts(history, final_lists, level == IsolationLevel::kSnapshot);
    }
    return CheckListAppendHistory(history, final_lists, level == IsolationLevel::kSnapshot);
  }
};

// Also measures the false-abort rate (ClassifyAborts): printed, and in
// docs/transactions.md.
TEST_F(TransactionConcurrencyTest, ListAppendHistoryIsSerializable) {
  size_t committed = 0;
  AbortReport aborts;
  HistoryReport r =
      RunListAppend(IsolationLevel::kSerializable, 4, 400, &committed, 0, nullptr, &aborts);
  EXPECT_TRUE(r.anomalies.empty()) << r.ToString();
  EXPECT_GT(committed, 100u);
  EXPECT_GT(r.edges_rw, 0u) << "the workload must create anti-dependencies to be meaningful";
  // Every transaction either committed or was refused by a conflict.
  EXPECT_EQ(aborts.classified, 1600u - committed) << aborts.ToString();
  EXPECT_GT(aborts.necessary, 0u) << aborts.ToString();
  std::printf("serializable: %zu of 1600 committed; %s; %s\n", committed, r.ToString().c_str(),
              aborts.ToString().c_str());
}

// At snapshot isolation a transaction aborts only when another committed a
// key it appends to after its start; the workload reads each key before
// appending to it, so every such abort prevents a lost update (a cycle with
// one rw edge): none may be avoidable.
TEST_F(TransactionConcurrencyTest, ListAppendHistoryAtSnapshotIsolationShowsOnlyG2) {
  size_t committed = 0;
  AbortReport aborts;
  HistoryReport r =
      RunListAppend(IsolationLevel::kSnapshot, 4, 400, &committed, 0, nullptr, &aborts);
  EXPECT_TRUE(r.anomalies.empty()) << r.ToString();
  EXPECT_GT(committed, 100u);
  EXPECT_EQ(aborts.classified, 1600u - committed) << aborts.ToString();
  EXPECT_EQ(aborts.avoidable, 0u) << aborts.ToString();
  std::printf("snapshot: %zu of 1600 committed; %s; %s\n", committed, r.ToString().c_str(),
              aborts.ToString().c_str());
}

TEST_F(TransactionConcurrencyTest, ListAppendHistoryStaysSerializableWhileTheTrackerCapExpires) {
  size_t committed = 0, expired = 0;
  HistoryReport r = RunListAppend(IsolationLevel::kSerializable, 4, 400, &committed,
                                  /*tracker_cap=*/300, &expired);
  EXPECT_TRUE(r.anomalies.empty()) << r.ToString();
  EXPECT_GT(committed, 50u);
  EXPECT_GT(expired, 0u)
      << "a 300-byte cap (about 3 keys) must expire transactions under this load";
  std::printf("serializable, 300-byte tracker cap: %zu of 1600 committed, %zu expired; %s\n",
              committed, expired, r.ToString().c_str());
}

// Accounts, threads moving money in transactions with retries, readers
// summing every account in their own transaction: the total never changes.
void RunBank(DB* db, IsolationLevel level, int accounts, int movers, int moves_each,
             std::atomic<uint64_t>* retries, std::atomic<uint64_t>* sums_checked) {
  const int64_t kInitial = 1000;
  std::atomic<bool> done{false};
  auto sum_all = [&]() -> int64_t {
    TransactionOptions to;
    to.isolation = level;
    auto t = db->BeginTransaction(WriteOptions(), to);
    int64_t sum = 0;
    int n = 0;
    auto it = t->NewIterator(ReadOptions());
    for (it->SeekToFirst(); it->Valid(); it->Next(), n++)
      sum += std::stoll(std::string(it->value()));
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    EXPECT_EQ(accounts, n);
    it.reset();
    EXPECT_TRUE(t->Commit().ok());
    return sum;
  };
  std::thread reader([&] {
    while (!done.load()) {
      EXPECT_EQ(kInitial * accounts, sum_all());
      (*sums_checked)++;
    }
  });
  std::vector<std::thread> threads;
  for (int m = 0; m < movers; m++) {
    threads.emplace_back([&, m] {
      Random rnd(77 + m);
      for (int i = 0; i < moves_each; i++) {
        // Halfway, wait for the reader's first sum: at least one sum checks
        // a state in the middle of the transfers, however the threads are
        // scheduled (the movers can otherwise finish before the reader
        // runs at all, as happened on a loaded two-core machine).
        if (i == moves_each / 2) {
          while (sums_checked->load() == 0) std::this_thread::yield();
        }
        const std::string from = "acct" + std::to_string(rnd.Uniform(accounts));
        const std::string to_key = "acct" + std::to_string(rnd.Uniform(accounts));
        const int64_t amount = 1 + rnd.Uniform(50);
        while (true) {
          TransactionOptions to;
          to.isolation = level;
          auto t = db->BeginTransaction(WriteOptions(), to);
          std::string a, b;
          ASSERT_TRUE(t->Get(ReadOptions(), from, &a).ok());
          ASSERT_TRUE(t->Get(ReadOptions(), to_key, &b).ok());
          if (from != to_key) {
            ASSERT_TRUE(t->Put(from, std::to_string(std::stoll(a) - amount)).ok());
            ASSERT_TRUE(t->Put(to_key, std::to_string(std::stoll(b) + amount)).ok());
          }
          Status s = t->Commit();
          if (s.ok()) break;
          ASSERT_TRUE(s.IsBusy()) << s.ToString();
          (*retries)++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(kInitial * accounts, sum_all());
}

TEST_F(TransactionConcurrencyTest, BankTotalNeverChanges) {
  for (IsolationLevel level : {IsolationLevel::kSerializable, IsolationLevel::kSnapshot}) {
    const int kAccounts = 16;
    for (int a = 0; a < kAccounts; a++) ASSERT_TRUE(Put("acct" + std::to_string(a), "1000").ok());
    std::atomic<uint64_t> retries{0}, sums{0};
    WithBackgroundChurn([&] { RunBank(db_.get(), level, kAccounts, 4, 300, &retries, &sums); });
    EXPECT_GT(sums.load(), 0u);
    std::printf("%s: 1200 transfers, %llu retries, %llu consistent sums\n",
                level == IsolationLevel::kSnapshot ? "snapshot" : "serializable",
                static_cast<unsigned long long>(retries.load()),
                static_cast<unsigned long long>(sums.load()));
    std::string running;
    ASSERT_TRUE(db_->GetProperty("lsmkv.txn-tracked-keys", &running));
    EXPECT_EQ("0", running);  // nothing pinned once every transaction ended
  }
}

}  // namespace
}  // namespace lsmkv::test
