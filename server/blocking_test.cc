// BlockingKeys (blocking.h): who waits on which keys, the oldest woken first,
// cancellation, and the Txn side — a commit wakes the waiters of the keys it
// wrote, only once applied, and only in their database.
#include "server/blocking.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "server/command_test_fixture.h"

namespace lsmkv::server {
namespace {

TEST(BlockingKeysTest, SignalWakesWaitersOfTheKeyOldestFirst) {
  BlockingKeys keys;
  std::vector<int> woken;
  EXPECT_FALSE(keys.HasWaiters());
  const uint64_t a = keys.Wait({"k1", "k2", "k1"}, [&] { woken.push_back(1); });
  const uint64_t b = keys.Wait({"k2"}, [&] { woken.push_back(2); });
  keys.Wait({"k3"}, [&] { woken.push_back(3); });
  EXPECT_NE(a, b);
  EXPECT_TRUE(keys.HasWaiters());
  EXPECT_EQ(keys.waiters(), 3u);
  keys.Signal("k2");  // the oldest only
  EXPECT_EQ(woken, (std::vector<int>{1}));
  EXPECT_EQ(keys.waiters(), 2u);
  // Woken once: its other key no longer knows it.
  keys.Signal("k1");
  EXPECT_EQ(woken, (std::vector<int>{1}));
  EXPECT_FALSE(keys.Cancel(a));
  keys.Signal("k2");
  EXPECT_EQ(woken, (std::vector<int>{1, 2}));
  keys.Signal("nobody");
  keys.Signal("k3");
  EXPECT_EQ(woken, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(keys.HasWaiters());
}

TEST(BlockingKeysTest, SignalEveryWakesTheOldestWaiterOfEachKeyOnce) {
  BlockingKeys keys;
  std::vector<int> woken;
  keys.Wait({"a", "b"}, [&] { woken.push_back(1); });
  keys.Wait({"a"}, [&] { woken.push_back(2); });
  keys.Wait({"b"}, [&] { woken.push_back(3); });
  keys.Wait({"c"}, [&] { woken.push_back(4); });
  keys.SignalEvery();
  std::sort(woken.begin(), woken.end());
  // 1 is the oldest of a and b (woken once); 2 then is the oldest of a, or
  // 3 of b, depending on which key is visited first; 4 of c.
  ASSERT_EQ(woken.size(), 3u);
  EXPECT_EQ(woken[0], 1);
  EXPECT_TRUE(woken[1] == 2 || woken[1] == 3);
  EXPECT_EQ(woken[2], 4);
  EXPECT_EQ(keys.waiters(), 1u);
  keys.SignalEvery();
  EXPECT_EQ(keys.waiters(), 0u);
  keys.SignalEvery();  // nobody waits: a no-op
  EXPECT_EQ(woken.size(), 4u);
}

TEST(BlockingKeysTest, CancelForgetsTheWaiter) {
  BlockingKeys keys;
  int woken = 0;
  const uint64_t t = keys.Wait({"a", "b"}, [&] { woken++; });
  EXPECT_TRUE(keys.Cancel(t));
  EXPECT_FALSE(keys.Cancel(t));
  keys.Signal("a");
  keys.Signal("b");
  EXPECT_EQ(woken, 0);
  EXPECT_EQ(keys.waiters(), 0u);
}

// Signals and cancellations race from several threads: every waiter is
// either woken exactly once or cancelled, never both, never twice.
TEST(BlockingKeysTest, ConcurrentSignalAndCancel) {
  BlockingKeys keys;
  constexpr int kWaiters = 2000;
  std::vector<std::atomic<int>> woken(kWaiters);
  std::vector<uint64_t> tickets(kWaiters);
  for (int i = 0; i < kWaiters; i++) {
    tickets[i] = keys.Wait({"k" + std::to_string(i % 7), "shared"}, [&woken, i] { woken[i]++; });
  }
  std::vector<std::atomic<int>> cancelled(kWaiters);
  std::thread signaller([&] {
    for (int round = 0; round < kWaiters; round++) {
      for (int k = 0; k < 7; k++) keys.Signal("k" + std::to_string(k));
    }
  });
  std::thread canceller([&] {
    for (int i = 0; i < kWaiters; i += 2) {
      if (keys.Cancel(tickets[i])) cancelled[i]++;
    }
  });
  signaller.join();
  canceller.join();
  while (keys.HasWaiters()) keys.Signal("shared");
  for (int i = 0; i < kWaiters; i++) {
    EXPECT_EQ(woken[i].load() + cancelled[i].load(), 1) << i;
  }
  EXPECT_EQ(keys.waiters(), 0u);
}

class BlockingTxnTest : public CommandsTest {};

TEST_F(BlockingTxnTest, CommitWakesWaitersOfKeysItWrote) {
  BlockingKeys& blocking = keyspace_->blocking();
  int woken_db0 = 0, woken_db1 = 0, woken_other = 0;
  blocking.Wait({DataKey(0, "list")}, [&] { woken_db0++; });
  blocking.Wait({DataKey(1, "list")}, [&] { woken_db1++; });
  blocking.Wait({DataKey(0, "other")}, [&] { woken_other++; });
  {
    Txn txn(keyspace_.get(), clock_.NowMs());
    txn.Put("list", ValueType::kString, 0, "v");
    EXPECT_EQ(woken_db0, 0);  // not before the write is applied
    ASSERT_TRUE(txn.Commit().ok());
  }
  EXPECT_EQ(woken_db0, 1);
  EXPECT_EQ(woken_db1, 0);  // another database
  EXPECT_EQ(woken_other, 0);
  // A deletion wakes too (a blocked XREADGROUP fails; a pop waits on).
  {
    Txn txn(keyspace_.get(), clock_.NowMs());
    txn.Delete("other");
    ASSERT_TRUE(txn.Commit().ok());
  }
  EXPECT_EQ(woken_other, 1);
  blocking.Wait({DataKey(0, "other")}, [&] { woken_other++; });
  // Through a command, in the client's database.
  EXPECT_EQ(Run({"select", "1"}), kOk);
  EXPECT_EQ(Run({"set", "list", "x"}), kOk);
  EXPECT_EQ(woken_db1, 1);
  EXPECT_EQ(Run({"set", "other", "x"}), kOk);  // database 1's "other": nobody waits
  EXPECT_EQ(woken_other, 1);
  EXPECT_EQ(blocking.waiters(), 1u);
  // FLUSHDB wakes every waiter (any database).
  EXPECT_EQ(Run({"flushdb"}), kOk);
  EXPECT_EQ(woken_other, 2);
  EXPECT_EQ(blocking.waiters(), 0u);
}

}  // namespace
}  // namespace lsmkv::server
