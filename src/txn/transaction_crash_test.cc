// Transactions across crashes: a bank run with synced commits is killed with
// SIGKILL at random points (the parent waits for a number of acknowledged
// commits, never a timer); after every kill the reopened database holds every
// account and the same total. Then the WAL of a killed run is damaged byte by
// byte: with a prefix-keeping recovery mode (kPointInTime, required for
// transactions) the total survives every flip; kSkipAnyCorrupted, which
// transactions refuse, is measured on the same damage for comparison.
//
// LSMKV_TXN_CRASH_CYCLES (default 4) sets the number of kill cycles; make
// crashtest runs many more.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "lsmkv/transaction.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv::test {
namespace {

constexpr int kAccounts = 20;
constexpr int64_t kInitial = 1000;

std::string Account(int i) { return "acct" + std::to_string(i); }

Options BankOptions(WalRecoveryMode mode) {
  Options o;
  o.create_if_missing = true;
  o.wal_recovery_mode = mode;
  o.write_buffer_size = 8 << 20;  // the killed run's commits stay in the WAL
  return o;
}

// The child: opens the bank (creating it in one transaction if new), then
// moves money from two threads with synced commits, writing one byte to fd
// per acknowledged commit, until killed.
[[noreturn]] void RunBankChild(const std::string& dir, int fd, uint32_t seed) {
  std::unique_ptr<DB> db;
  if (!DB::Open(BankOptions(WalRecoveryMode::kPointInTime), dir, &db).ok()) _exit(2);
  WriteOptions sync;
  sync.sync = true;
  {
    auto t = db->BeginTransaction(sync, TransactionOptions());
    std::string v;
    if (t->Get(ReadOptions(), Account(0), &v).IsNotFound()) {
      for (int i = 0; i < kAccounts; i++) {
        if (!t->Put(Account(i), std::to_string(kInitial)).ok()) _exit(3);
      }
      if (!t->Commit().ok()) _exit(4);
    }
  }
  std::vector<std::thread> threads;
  for (int th = 0; th < 2; th++) {
    threads.emplace_back([&, th] {
      Random rnd(seed + th);
      TransactionOptions to;
      to.isolation = IsolationLevel::kSerializable;
      while (true) {
        const int a = static_cast<int>(rnd.Uniform(kAccounts));
        const int b = static_cast<int>(rnd.Uniform(kAccounts));
        if (a == b) continue;
        auto t = db->BeginTransaction(sync, to);
        std::string va, vb;
        if (!t->Get(ReadOptions(), Account(a), &va).ok()) _exit(5);
        if (!t->Get(ReadOptions(), Account(b), &vb).ok()) _exit(5);
        const int64_t amount = 1 + rnd.Uniform(100);
        if (!t->Put(Account(a), std::to_string(std::stoll(va) - amount)).ok()) _exit(6);
        if (!t->Put(Account(b), std::to_string(std::stoll(vb) + amount)).ok()) _exit(6);
        Status s = t->Commit();
        if (s.ok()) {
          const char c = 'c';
          if (write(fd, &c, 1) != 1) _exit(7);
        } else if (!s.IsBusy()) {
          _exit(8);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  _exit(0);
}

// Runs the child until it acknowledged `commits` commits, then SIGKILLs it.
void RunAndKill(const std::string& dir, int commits, uint32_t seed) {
  int fds[2];
  ASSERT_EQ(0, pipe(fds));
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    RunBankChild(dir, fds[1], seed);
  }
  close(fds[1]);
  int seen = 0;
  char buf[256];
  while (seen < commits) {
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;  // the child died on its own: waitpid reports how
    seen += static_cast<int>(n);
  }
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(pid, waitpid(pid, &status, 0));
  close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status))
      << "the bank child exited by itself, status " << WEXITSTATUS(status);
  ASSERT_GE(seen, commits);
}

// Opens dir with mode and reads every account (plain reads, no
// transaction). Returns the total; *found counts the accounts present.
Status ReadTotal(const std::string& dir, WalRecoveryMode mode, int64_t* total, int* found) {
  std::unique_ptr<DB> db;
  Options o = BankOptions(mode);
  o.create_if_missing = false;
  Status s = DB::Open(o, dir, &db);
  if (!s.ok()) return s;
  *total = 0;
  *found = 0;
  for (int i = 0; i < kAccounts; i++) {
    std::string v;
    s = db->Get(ReadOptions(), Account(i), &v);
    if (s.IsNotFound()) continue;
    if (!s.ok()) return s;
    *total += std::stoll(v);
    (*found)++;
  }
  std::string seq;
  db->GetProperty("lsmkv.last-sequence", &seq);
  return db->Close();
}

int Cycles() {
  const char* env = std::getenv("LSMKV_TXN_CRASH_CYCLES");
  return env != nullptr ? std::max(1, std::atoi(env)) : 4;
}

TEST(TransactionCrashTest, BankTotalSurvivesKill9) {
  const std::string dir = NewTempDir("txn_crash");
  Random rnd(TestSeed());
  const int cycles = Cycles();
  for (int cycle = 0; cycle < cycles; cycle++) {
    RunAndKill(dir, 20 + static_cast<int>(rnd.Uniform(200)), rnd.Next());
    if (HasFatalFailure()) return;
    int64_t total = 0;
    int found = 0;
    Status s = ReadTotal(dir, WalRecoveryMode::kPointInTime, &total, &found);
    ASSERT_TRUE(s.ok()) << "cycle " << cycle << ": " << s.ToString();
    ASSERT_EQ(kAccounts, found) << "cycle " << cycle;
    ASSERT_EQ(kInitial * kAccounts, total) << "cycle " << cycle;
  }
  std::printf("%d kill -9 cycles, total intact after each\n", cycles);
  RemoveTree(dir);
}

std::vector<std::filesystem::path> LogFiles(const std::string& dir) {
  std::vector<std::filesystem::path> logs;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".log") logs.push_back(entry.path());
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

TEST(TransactionCrashTest, BankTotalSurvivesWalByteFlipsWithPrefixRecovery) {
  const std::string base = NewTempDir("txn_flip");
  const std::string pristine = base + "/pristine";
  RunAndKill(pristine, 400, TestSeed());
  if (HasFatalFailure()) return;
  std::vector<std::filesystem::path> logs = LogFiles(pristine);
  ASSERT_FALSE(logs.empty());
  const std::filesystem::path log = logs.back();
  const uint64_t size = std::filesystem::file_size(log);
  ASSERT_GT(size, 10'000u) << "the killed run's commits should be in the WAL";
  Random rnd(TestSeed() + 1);
  const int kFlips = 24;
  int skip_any_broken = 0, prefix_lost_commits = 0;
  for (int flip = 0; flip < kFlips; flip++) {
    // A byte in the last eighth of the log, before its last records: the
    // damaged record is often some account's last write (earlier ones are
    // overwritten by later transfers anyway), and intact records follow it.
    const uint64_t offset = size * 7 / 8 + rnd.Uniform(static_cast<uint32_t>(size / 8 - 100));
    const int bit = static_cast<int>(rnd.Uniform(8));
    for (WalRecoveryMode mode :
         {WalRecoveryMode::kPointInTime, WalRecoveryMode::kSkipAnyCorrupted}) {
      const std::string copy = base + "/copy";
      RemoveTree(copy);
      std::filesystem::copy(pristine, copy);
      const std::filesystem::path damaged = std::filesystem::path(copy) / log.filename();
      {
        std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(static_cast<std::streamoff>(offset));
        char c = 0;
        f.read(&c, 1);
        c = static_cast<char>(c ^ (1 << bit));
        f.seekp(static_cast<std::streamoff>(offset));
        f.write(&c, 1);
      }
      int64_t total = 0;
      int found = 0;
      Status s = ReadTotal(copy, mode, &total, &found);
      ASSERT_TRUE(s.ok()) << s.ToString();
      const bool intact = found == kAccounts && total == kInitial * kAccounts;
      if (mode == WalRecoveryMode::kPointInTime) {
        // The accounts may be lost whole (the flip hit the creating
        // transaction): then nothing of the bank survives, never a part.
        EXPECT_TRUE(intact || (found == 0 && total == 0))
            << "flip at " << offset << ": " << found << " accounts, total " << total;
        prefix_lost_commits += !intact;
      } else {
        skip_any_broken += !intact;
      }
    }
  }
  std::printf(
      "%d WAL byte flips: kPointInTime kept the total every time (%d lost the whole bank); "
      "kSkipAnyCorrupted broke it %d times\n",
      kFlips, prefix_lost_commits, skip_any_broken);
  RemoveTree(base);
}

}  // namespace
}  // namespace lsmkv::test
