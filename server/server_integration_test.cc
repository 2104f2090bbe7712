// lsmkv-server end to end: real server processes on free loopback ports,
// driven over TCP by a RESP client. Covers pipelining, concurrency, expiry to
// the millisecond, MULTI/EXEC/WATCH across connections, restarts (clean and
// kill -9 with appendfsync always), authentication, bad input, limits,
// signals, the metrics endpoint, and a byte-for-byte comparison of replies
// with Debian's redis-server.
//
// No test sleeps for a while and hopes: tests about time (expiry, the idle
// timeout) run the server in this process on a ManualClock and move its time
// explicitly; tests that need work to have happened wait for it (a count of
// acknowledged writes, a connection closing, an INFO field), bounded by a
// generous timeout.
//
// LSMKV_SERVER_BIN names the lsmkv-server binary (set by ctest).
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "server/clock.h"
#include "server/config.h"
#include "server/pubsub.h"
#include "server/server.h"
#include "server/test_client.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server::test {
namespace {

using Args = std::vector<std::string>;

std::string ServerBinary() {
  const char* bin = std::getenv("LSMKV_SERVER_BIN");
  return bin ? bin : "./lsmkv-server";
}

std::string Bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}
std::string Int(int64_t v) { return ":" + std::to_string(v) + "\r\n"; }

// How long a test waits for something that should happen within
// milliseconds (a generous bound for loaded machines and sanitizer builds).
constexpr int kPatienceMs = 20000;
constexpr auto kPatience = std::chrono::milliseconds(kPatienceMs);

// Counts what writer threads have done, so a test can wait until they have
// done enough instead of sleeping.
class Progress {
 public:
  void Add() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    count_++;
    cv_.SignalAll();
  }
  int count() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return count_;
  }
  // True once at least n were added; false if kPatience ran out first.
  bool WaitFor(int n) EXCLUDES(mu_) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    MutexLock lock(&mu_);
    while (count_ < n) {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) return false;
      cv_.WaitFor(&mu_, left);
    }
    return true;
  }

 private:
  Mutex mu_;
  CondVar cv_;  // signalled by Add
  int count_ GUARDED_BY(mu_) = 0;
};

// Calls fn until it returns true (with a short pause between calls, so a
// server is not flooded); false if kPatience ran out first. For state only
// observable from outside, e.g. an INFO field the background sweep updates.
template <typename Fn>
bool PollUntil(Fn fn) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (!fn()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// lsmkv-server in this process, on a ManualClock that starts at kStartMs and
// moves only when the test moves it. Runs Server::Run on a thread; the
// destructor shuts the server down as SHUTDOWN would.
class InProcessServer {
 public:
  static constexpr int64_t kStartMs = 1700000000000;  // 2023-11-14 22:13:20 UTC

  // settings: name/value pairs as on the command line, without "--".
  InProcessServer(const std::string& dir, const std::vector<Args>& settings) {
    std::vector<Args> all = {{"port", "0"}, {"dir", dir}, {"io-threads", "2"}};
    all.insert(all.end(), settings.begin(), settings.end());
    for (const Args& s : all) {
      const SettingInfo* info = Config::Find(s[0]);
      if (info == nullptr) {
        error_ = "unknown setting " + s[0];
        return;
      }
      const std::string e = config_.Set(*info, s[1]);
      if (!e.empty()) error_ = s[0] + ": " + e;
    }
  }
  ~InProcessServer() {
    if (thread_.joinable()) {
      server_->RequestShutdown();
      thread_.join();
      EXPECT_TRUE(run_status_.ok()) << run_status_.ToString();
    }
  }

  // Opens, listens and starts serving; false (with error()) on failure.
  bool Start() {
    if (!error_.empty()) return false;
    server_ = std::make_unique<Server>(&config_, "server_integration_test", &clock_);
    Status s = server_->Open();
    if (!s.ok()) {
      error_ = s.ToString();
      return false;
    }
    if (!server_->Listen(&error_)) return false;
    thread_ = std::thread([this] { run_status_ = server_->Run(); });
    return true;
  }
  const std::string& error() const { return error_; }
  int port() { return server_->context().tcp_port; }
  ServerContext& context() { return server_->context(); }
  ManualClock& clock() { return clock_; }

 private:
  Config config_;
  ManualClock clock_{kStartMs * 1000};
  std::unique_ptr<Server> server_;
  std::thread thread_;
  Status run_status_;
  std::string error_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("lsmkv_server_it"); }
  void TearDown() override {
    server_.reset();
    RemoveTree(dir_);
  }

  // Starts (or restarts) the server on dir_ with extra flags.
  void StartServer(const Args& extra = {}) {
    server_ = std::make_unique<ServerProcess>();
    std::string log;
    ASSERT_TRUE(server_->Start(ServerBinary(), dir_, extra, &log)) << log;
  }

  std::unique_ptr<RespClient> Connect() {
    auto client = std::make_unique<RespClient>();
    EXPECT_TRUE(client->Connect(server_->port()));
    return client;
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ServerTest, BindsLoopbackByDefaultAndPrintsWhere) {
  StartServer();
  EXPECT_NE(server_->output().find("listening on 127.0.0.1:" + std::to_string(server_->port())),
            std::string::npos);
  auto c = Connect();
  EXPECT_EQ(c->Call({"PING"}), "+PONG\r\n");
  // Not reachable on the machine's other addresses.
  ifaddrs* addrs = nullptr;
  ASSERT_EQ(getifaddrs(&addrs), 0);
  int checked = 0;
  for (ifaddrs* a = addrs; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    sockaddr_in addr = *reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    if ((ntohl(addr.sin_addr.s_addr) >> 24) == 127) continue;
    addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_NE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << "reachable on " << inet_ntoa(addr.sin_addr);
    close(fd);
    checked++;
  }
  freeifaddrs(addrs);
  std::printf("non-loopback IPv4 addresses checked: %d\n", checked);
}

TEST_F(ServerTest, PipelineOfTenThousandCommands) {
  StartServer();
  auto c = Connect();
  std::string batch;
  for (int i = 0; i < 10000; i++) {
    batch += EncodeCommand({"SET", "key:" + std::to_string(i), "value:" + std::to_string(i)});
    batch += EncodeCommand({"GET", "key:" + std::to_string(i)});
  }
  batch += "PING\r\n";  // inline, mixed in
  ASSERT_TRUE(c->SendRaw(batch));
  for (int i = 0; i < 10000; i++) {
    ASSERT_EQ(c->ReadReply(), "+OK\r\n") << i;
    ASSERT_EQ(c->ReadReply(), Bulk("value:" + std::to_string(i))) << i;
  }
  EXPECT_EQ(c->ReadReply(), "+PONG\r\n");
  EXPECT_EQ(c->Call({"DBSIZE"}), Int(10000));
}

TEST_F(ServerTest, InlineAndBinarySafe) {
  StartServer();
  auto c = Connect();
  ASSERT_TRUE(c->SendRaw("set greeting \"hello world\"\r\nget greeting\r\n"));
  EXPECT_EQ(c->ReadReply(), "+OK\r\n");
  EXPECT_EQ(c->ReadReply(), Bulk("hello world"));
  std::string binary;
  for (uint32_t i = 0; i < 1024 * 1024; i++) binary.push_back(static_cast<char>(i * 7919u % 256));
  EXPECT_EQ(c->Call({"SET", std::string("bin\0key", 7), binary}), "+OK\r\n");
  EXPECT_EQ(c->Call({"GET", std::string("bin\0key", 7)}), Bulk(binary));
}

TEST_F(ServerTest, ConcurrentClientsIncrementExactly) {
  StartServer();
  constexpr int kClients = 8;
  constexpr int kIncrements = 1000;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kClients; t++) {
    threads.emplace_back([&, t] {
      RespClient c;
      if (!c.Connect(server_->port())) {
        failures++;
        return;
      }
      for (int i = 0; i < kIncrements; i++) {
        // Half the clients pipeline in groups of 10.
        if (t % 2 == 0) {
          if (c.Call({"INCR", "counter"})[0] != ':') failures++;
        } else if (i % 10 == 0) {
          std::string group;
          for (int j = 0; j < 10; j++) group += EncodeCommand({"INCR", "counter"});
          c.SendRaw(group);
          for (int j = 0; j < 10; j++) {
            if (c.ReadReply()[0] != ':') failures++;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto c = Connect();
  EXPECT_EQ(c->Call({"GET", "counter"}), Bulk(std::to_string(kClients * kIncrements)));
}

TEST_F(ServerTest, ExpiryToTheMillisecond) {
  InProcessServer server(dir_, {});
  ASSERT_TRUE(server.Start()) << server.error();
  RespClient client;
  ASSERT_TRUE(client.Connect(server.port()));
  RespClient* c = &client;
  EXPECT_EQ(c->Call({"TIME"}), "*2\r\n" + Bulk(std::to_string(InProcessServer::kStartMs / 1000)) +
                                   Bulk("0"));  // the server runs on the test's clock
  EXPECT_EQ(c->Call({"SET", "k", "v", "PX", "100"}), "+OK\r\n");
  server.clock().AdvanceMs(50);
  EXPECT_EQ(c->Call({"GET", "k"}), Bulk("v"));
  server.clock().AdvanceMs(49);
  EXPECT_EQ(c->Call({"PTTL", "k"}), Int(1));
  server.clock().AdvanceMs(1);  // the deadline itself: gone
  EXPECT_EQ(c->Call({"GET", "k"}), "$-1\r\n");
  server.clock().AdvanceMs(50);  // 150 ms after the SET
  EXPECT_EQ(c->Call({"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(c->Call({"PTTL", "k"}), Int(-2));
  // The background sweep deletes expired keys: "k" and, once their 10 ms
  // have passed on the clock, these 20 (it runs hz times a second).
  for (int i = 0; i < 20; i++) c->Call({"SET", "s" + std::to_string(i), "v", "PX", "10"});
  server.clock().AdvanceMs(10);
  std::string info;
  EXPECT_TRUE(PollUntil([&] {
    info = BulkValue(c->Call({"INFO", "stats"}));
    return info.find("expired_keys_by_sweep:21") != std::string::npos;
  })) << info;
  EXPECT_NE(info.find("expired_keys_by_sweep:21"), std::string::npos) << info;
  EXPECT_EQ(c->Call({"DBSIZE"}), Int(0));
}

TEST_F(ServerTest, WatchAcrossConnections) {
  StartServer();
  auto a = Connect();
  auto b = Connect();
  EXPECT_EQ(a->Call({"SET", "w", "1"}), "+OK\r\n");
  EXPECT_EQ(a->Call({"WATCH", "w"}), "+OK\r\n");
  EXPECT_EQ(b->Call({"SET", "w", "2"}), "+OK\r\n");
  EXPECT_EQ(a->Call({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(a->Call({"INCR", "w"}), "+QUEUED\r\n");
  EXPECT_EQ(a->Call({"EXEC"}), "*-1\r\n");
  EXPECT_EQ(a->Call({"WATCH", "w"}), "+OK\r\n");
  EXPECT_EQ(a->Call({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(a->Call({"INCR", "w"}), "+QUEUED\r\n");
  EXPECT_EQ(a->Call({"SET", "x", "y"}), "+QUEUED\r\n");
  EXPECT_EQ(a->Call({"EXEC"}), "*2\r\n:3\r\n+OK\r\n");
  // A disconnect mid-MULTI leaves nothing behind.
  EXPECT_EQ(b->Call({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(b->Call({"SET", "never", "1"}), "+QUEUED\r\n");
  b->Close();
  EXPECT_EQ(a->Call({"EXISTS", "never"}), Int(0));
}

// FLUSHALL replies at once; the background thread then flushes the
// memtable, and the engine's compactions for range deletions reclaim the
// data and retire the range tombstones (INFO lsmkv_range_tombstones) with
// no further command.
TEST_F(ServerTest, FlushAllIsReclaimedInTheBackground) {
  StartServer();
  auto c = Connect();
  Args mset = {"MSET"};
  Args hset = {"HSET", "h"};
  for (int i = 0; i < 2000; i++) {
    mset.push_back("k" + std::to_string(i));
    mset.push_back(std::string(100, 'v'));
    hset.push_back("f" + std::to_string(i));
    hset.push_back(std::string(100, 'v'));
  }
  EXPECT_EQ(c->Call(mset), "+OK\r\n");
  EXPECT_EQ(c->Call(hset), Int(2000));
  EXPECT_EQ(InfoField(BulkValue(c->Call({"INFO", "lsmkv"})), "lsmkv_range_tombstones"), "0");
  EXPECT_EQ(c->Call({"FLUSHALL", "ASYNC"}), "+OK\r\n");
  EXPECT_EQ(c->Call({"DBSIZE"}), Int(0));
  EXPECT_EQ(c->Call({"HLEN", "h"}), Int(0));
  std::string tombstones;
  EXPECT_TRUE(PollUntil([&] {
    tombstones = InfoField(BulkValue(c->Call({"INFO", "lsmkv"})), "lsmkv_range_tombstones");
    return tombstones == "0";
  })) << tombstones;
  EXPECT_EQ(c->Call({"SET", "k1", "new"}), "+OK\r\n");
  EXPECT_EQ(c->Call({"GET", "k1"}), Bulk("new"));
  EXPECT_EQ(c->Call({"DBSIZE"}), Int(1));
}

TEST_F(ServerTest, RestartKeepsData) {
  StartServer();
  {
    auto c = Connect();
    EXPECT_EQ(c->Call({"MSET", "a", "1", "b", "2"}), "+OK\r\n");
    EXPECT_EQ(c->Call({"SET", "t", "v", "EX", "1000"}), "+OK\r\n");
    EXPECT_EQ(c->Call({"SHUTDOWN"}), "");  // no reply: the server closes the connection
  }
  const int status = server_->Wait();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(server_->output().find("shut down cleanly"), std::string::npos);
  StartServer();
  auto c = Connect();
  EXPECT_EQ(c->Call({"MGET", "a", "b"}), "*2\r\n" + Bulk("1") + Bulk("2"));
  EXPECT_EQ(c->Call({"TTL", "t"}), Int(1000));
}

TEST_F(ServerTest, KillNineWithAppendfsyncAlwaysLosesNoAcknowledgedWrite) {
  StartServer({"--appendfsync", "always"});
  Mutex mu;
  std::map<std::string, std::string> acknowledged;  // guarded by mu
  Progress progress;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; t++) {
    writers.emplace_back([&, t] {
      RespClient c;
      if (!c.Connect(server_->port())) return;
      for (int i = 0; !stop.load(); i++) {
        const std::string key = "k" + std::to_string(t) + ":" + std::to_string(i);
        const std::string value = "v" + std::to_string(i);
        const std::string reply = c.Call({"SET", key, value}, 2000);
        if (reply != "+OK\r\n") break;  // the server is gone
        {
          MutexLock lock(&mu);
          acknowledged[key] = value;
        }
        progress.Add();
      }
    });
  }
  // Kill while the writers are busy, once they have had a few hundred writes
  // acknowledged.
  EXPECT_TRUE(progress.WaitFor(200)) << progress.count();
  const int status = server_->StopWith(SIGKILL);
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_GT(acknowledged.size(), 10u);
  StartServer();
  auto c = Connect();
  std::string batch;
  for (const auto& [key, value] : acknowledged) batch += EncodeCommand({"GET", key});
  ASSERT_TRUE(c->SendRaw(batch));
  size_t missing = 0;
  for (const auto& [key, value] : acknowledged) {
    if (c->ReadReply() != Bulk(value)) missing++;
  }
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged writes";
  std::printf("kill -9: %zu acknowledged writes, all present after restart\n", acknowledged.size());
}

TEST_F(ServerTest, RequirePassRefusesEverythingButAuthHelloQuit) {
  StartServer({"--requirepass", "s3cret"});
  auto c = Connect();
  const std::string noauth = "-NOAUTH Authentication required.\r\n";
  const std::vector<Args> commands = {{"PING"},
                                      {"ECHO", "x"},
                                      {"SELECT", "0"},
                                      {"COMMAND"},
                                      {"CLIENT", "ID"},
                                      {"GET", "k"},
                                      {"SET", "k", "v"},
                                      {"SETNX", "k", "v"},
                                      {"SETEX", "k", "1", "v"},
                                      {"PSETEX", "k", "1", "v"},
                                      {"GETSET", "k", "v"},
                                      {"GETDEL", "k"},
                                      {"GETEX", "k"},
                                      {"MGET", "k"},
                                      {"MSET", "k", "v"},
                                      {"MSETNX", "k", "v"},
                                      {"DEL", "k"},
                                      {"UNLINK", "k"},
                                      {"EXISTS", "k"},
                                      {"TYPE", "k"},
                                      {"INCR", "k"},
                                      {"DECR", "k"},
                                      {"INCRBY", "k", "1"},
                                      {"DECRBY", "k", "1"},
                                      {"INCRBYFLOAT", "k", "1"},
                                      {"APPEND", "k", "v"},
                                      {"STRLEN", "k"},
                                      {"GETRANGE", "k", "0", "1"},
                                      {"SETRANGE", "k", "0", "v"},
                                      {"EXPIRE", "k", "1"},
                                      {"PEXPIRE", "k", "1"},
                                      {"EXPIREAT", "k", "1"},
                                      {"PEXPIREAT", "k", "1"},
                                      {"TTL", "k"},
                                      {"PTTL", "k"},
                                      {"PERSIST", "k"},
                                      {"SCAN", "0"},
                                      {"KEYS", "*"},
                                      {"RANDOMKEY"},
                                      {"DBSIZE"},
                                      {"FLUSHDB"},
                                      {"FLUSHALL"},
                                      {"MULTI"},
                                      {"EXEC"},
                                      {"DISCARD"},
                                      {"WATCH", "k"},
                                      {"UNWATCH"},
                                      {"INFO"},
                                      {"CONFIG", "GET", "*"},
                                      {"SHUTDOWN"}};
  for (const Args& args : commands) EXPECT_EQ(c->Call(args), noauth) << args[0];
  EXPECT_EQ(c->Call({"HELLO", "3"}).substr(0, 7), "-NOAUTH");
  EXPECT_EQ(c->Call({"AUTH", "nope"}),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(c->Call({"AUTH", "s3cret"}), "+OK\r\n");
  EXPECT_EQ(c->Call({"GET", "k"}), "$-1\r\n");
  auto d = Connect();
  EXPECT_EQ(d->Call({"HELLO", "3", "AUTH", "default", "s3cret"}).substr(0, 2), "%7");
  EXPECT_EQ(d->Call({"GET", "k"}), "_\r\n");
  auto e = Connect();
  EXPECT_EQ(e->Call({"QUIT"}), "+OK\r\n");
  EXPECT_TRUE(e->WaitClosed());
  // Before AUTH, big requests are protocol errors (as in Redis).
  auto f = Connect();
  ASSERT_TRUE(f->SendRaw("*20\r\n"));
  EXPECT_EQ(f->ReadReply(), "-ERR Protocol error: unauthenticated multibulk length\r\n");
  EXPECT_TRUE(f->WaitClosed());
}

TEST_F(ServerTest, MalformedInputClosesOnlyThatConnection) {
  StartServer({"--proto-max-bulk-len", "1mb"});
  auto good = Connect();
  EXPECT_EQ(good->Call({"SET", "a", "1"}), "+OK\r\n");
  struct Case {
    std::string input;
    std::string reply;
  };
  const std::vector<Case> cases = {
      {"*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
      {"*2\r\n$4\r\nPING\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"},
      {"*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
      {"*1\r\n$1048577\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
      {"echo \"unbalanced\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
      {std::string(70 * 1024, 'x'), "-ERR Protocol error: too big inline request\r\n"},
      {"*" + std::string(70 * 1024, '9'), "-ERR Protocol error: too big mbulk count string\r\n"},
  };
  for (const Case& c : cases) {
    auto bad = Connect();
    ASSERT_TRUE(bad->SendRaw(c.input));
    EXPECT_EQ(bad->ReadReply(), c.reply) << c.input.substr(0, 30);
    EXPECT_TRUE(bad->WaitClosed()) << c.input.substr(0, 30);
    EXPECT_EQ(good->Call({"INCR", "a"})[0], ':');
  }
  // Random bytes never take the server down.
  for (int i = 0; i < 50; i++) {
    RespClient junk;
    ASSERT_TRUE(junk.Connect(server_->port()));
    std::string noise;
    for (int j = 0; j < 300; j++) noise.push_back(static_cast<char>((i * 131 + j * 17) % 256));
    junk.SendRaw(noise);
  }
  EXPECT_EQ(good->Call({"GET", "a"}), Bulk(std::to_string(1 + cases.size())));
}

TEST_F(ServerTest, OutputBufferLimitClosesTheGreedyClient) {
  StartServer({"--client-output-buffer-limit", "normal 100kb 0 0"});
  auto c = Connect();
  auto other = Connect();
  EXPECT_EQ(c->Call({"SET", "big", std::string(200 * 1024, 'b')}), "+OK\r\n");
  EXPECT_EQ(c->Call({"GET", "big"}),
            "-ERR client output buffer limit reached (client-output-buffer-limit); closing the "
            "connection\r\n");
  EXPECT_TRUE(c->WaitClosed());
  EXPECT_EQ(other->Call({"STRLEN", "big"}), Int(200 * 1024));
}

TEST_F(ServerTest, MaxClientsAndIdleTimeout) {
  InProcessServer server(dir_, {{"maxclients", "2"}, {"timeout", "1"}});
  ASSERT_TRUE(server.Start()) << server.error();
  RespClient a, b;
  ASSERT_TRUE(a.Connect(server.port()));
  ASSERT_TRUE(b.Connect(server.port()));
  EXPECT_EQ(a.Call({"PING"}), "+PONG\r\n");
  EXPECT_EQ(b.Call({"PING"}), "+PONG\r\n");
  RespClient third;
  ASSERT_TRUE(third.Connect(server.port()));
  EXPECT_EQ(third.ReadReply(), "-ERR max number of clients reached\r\n");
  EXPECT_TRUE(third.WaitClosed());
  // Idle clients are closed once a second (timeout 1) has passed on the
  // server's clock; a busy one is not. b talks every 600 ms of clock time,
  // so whenever the once-a-second check runs, b has been idle < 1 s while a
  // has been idle 1.2 s by the end.
  for (int i = 0; i < 2; i++) {
    server.clock().AdvanceMs(600);
    EXPECT_EQ(b.Call({"PING"}), "+PONG\r\n");
  }
  EXPECT_TRUE(a.WaitClosed(kPatienceMs));
  EXPECT_EQ(b.Call({"PING"}), "+PONG\r\n");
}

TEST_F(ServerTest, SigtermAndSigintExitZero) {
  for (int signal : {SIGTERM, SIGINT}) {
    StartServer();
    auto c = Connect();
    EXPECT_EQ(c->Call({"SET", "s", std::to_string(signal)}), "+OK\r\n");
    const int status = server_->StopWith(signal);
    ASSERT_TRUE(WIFEXITED(status)) << "signal " << signal;
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_TRUE(c->WaitClosed());
  }
  StartServer();
  auto c = Connect();
  EXPECT_EQ(c->Call({"GET", "s"}), Bulk(std::to_string(SIGINT)));
}

TEST_F(ServerTest, ShutdownWhileClientsAreBusy) {
  StartServer();
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  Progress progress;
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; t++) {
    writers.emplace_back([&, t] {
      RespClient c;
      if (!c.Connect(server_->port())) return;
      for (int i = 0; !stop; i++) {
        if (c.Call({"INCR", "busy"}, 3000)[0] != ':') break;
        acknowledged++;
        progress.Add();
      }
    });
  }
  // SIGTERM while the writers are busy, once they have a few hundred INCRs
  // acknowledged.
  EXPECT_TRUE(progress.WaitFor(200)) << progress.count();
  const int status = server_->StopWith(SIGTERM);
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  StartServer();
  auto c = Connect();
  // Every acknowledged INCR is there (a command in flight may have been
  // applied without its reply reaching the client).
  const int64_t value = std::stoll(BulkValue(c->Call({"GET", "busy"})));
  EXPECT_GE(value, acknowledged.load());
  EXPECT_LE(value, acknowledged.load() + 4);
}

TEST_F(ServerTest, MetricsEndpoint) {
  StartServer({"--metrics-port", "0"});
  ASSERT_GT(server_->metrics_port(), 0) << server_->output();
  auto c = Connect();
  EXPECT_EQ(c->Call({"SET", "m", "1"}), "+OK\r\n");
  EXPECT_EQ(c->Call({"GET", "m"}), Bulk("1"));
  RespClient http;  // a plain TCP client is enough for one HTTP request
  ASSERT_TRUE(http.Connect(server_->metrics_port()));
  ASSERT_TRUE(http.SendRaw("GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n"));
  const std::string body = http.ReadAll(5000);
  for (const char* needle :
       {"lsmkv_server_commands_total{command=\"set\"} 1",
        "lsmkv_server_command_duration_seconds_bucket{command=\"get\",le=\"+Inf\"} 1",
        "lsmkv_server_connected_clients", "lsmkv_engine_writes",
        "lsmkv_engine_level_files{level=\"L0\"}"}) {
    EXPECT_NE(body.find(needle), std::string::npos) << needle << "\n" << body.substr(0, 3000);
  }
}

// The commands the redis-server comparison sends, in order: errors of
// arity, syntax and range, edge cases of every command family, and state
// that later commands read back.
const std::vector<Args>& RedisComparisonScript() {
  static const std::vector<Args> script = {{"PING"},
                                           {"PING", "hello"},
                                           {"ECHO", "x"},
                                           {"FOO", "a", "b"},
                                           {"GET"},
                                           {"GET", "a", "b"},
                                           {"SET", "k", "v", "XX", "NX"},
                                           {"SET", "k", "v", "EX", "0"},
                                           {"SET", "k", "v", "EX", "-1"},
                                           {"SET", "k", "v", "EX", "abc"},
                                           {"SET", "k", "v", "PX", "9223372036854775807"},
                                           {"SET", "k", "v", "KEEPTTL", "EX", "10"},
                                           {"SET", "k", "v", "GET"},
                                           {"SET", "k", "10"},
                                           {"INCRBY", "k", "9223372036854775800"},
                                           {"INCRBY", "k", "abc"},
                                           {"DECRBY", "k", "-9223372036854775808"},
                                           {"SET", "f", "abc"},
                                           {"INCR", "f"},
                                           {"INCRBYFLOAT", "f", "1"},
                                           {"SET", "f", "10.5"},
                                           {"INCRBYFLOAT", "f", "0.1"},
                                           {"INCRBYFLOAT", "f", "abc"},
                                           {"INCRBYFLOAT", "f", "inf"},
                                           {"SET", "f", "5.0e3"},
                                           {"INCRBYFLOAT", "f", "1e308"},
                                           {"INCRBYFLOAT", "f", "-1e308"},
                                           {"SET", "f", "3"},
                                           {"SETRANGE", "f", "-1", "a"},
                                           {"SETRANGE", "f", "536870912", "a"},
                                           {"SETRANGE", "nokey", "0", ""},
                                           {"GETRANGE", "f", "0", "-1"},
                                           {"EXPIRE", "f", "abc"},
                                           {"EXPIRE", "f", "10", "NX", "XX"},
                                           {"EXPIRE", "f", "10", "GT", "LT"},
                                           {"EXPIRE", "f", "9223372036854775807"},
                                           {"TTL", "f"},
                                           {"SELECT", "abc"},
                                           {"SELECT", "0"},
                                           {"CLIENT", "SETNAME", "a b"},
                                           {"CLIENT", "GETNAME"},
                                           {"CLIENT", "foo"},
                                           {"CLIENT"},
                                           {"CONFIG", "SET", "foo", "bar"},
                                           {"CONFIG", "GET", "save"},
                                           {"CONFIG", "GET", "nonexist"},
                                           {"CONFIG", "GET", "maxmemory"},
                                           {"CONFIG", "GET", "appendfsync"},
                                           {"CONFIG", "GET", "timeout"},
                                           {"CONFIG", "SET", "timeout", "-1"},
                                           {"CONFIG", "SET", "maxclients", "abc"},
                                           {"CONFIG", "SET", "appendfsync", "foo"},
                                           {"CONFIG", "SET", "a"},
                                           {"CONFIG", "GET"},
                                           {"TYPE", "f"},
                                           {"TYPE", "nokey"},
                                           {"SCAN", "abc"},
                                           {"SCAN", "0", "COUNT", "0"},
                                           {"SCAN", "0", "MATCH"},
                                           {"MSET", "a"},
                                           {"MSETNX", "a", "b", "c"},
                                           {"AUTH", "foo"},
                                           {"AUTH", "a", "b"},
                                           {"HELLO", "4"},
                                           {"HELLO", "abc"},
                                           {"HELLO", "2", "AUTH", "a", "b"},
                                           {"ECHO"},
                                           {"PING", "a", "b"},
                                           {"MULTI"},
                                           {"MULTI"},
                                           {"WATCH", "a"},
                                           {"FOO"},
                                           {"EXEC"},
                                           {"EXEC"},
                                           {"DISCARD"},
                                           {"GETEX", "f", "PERSIST", "EX", "10"},
                                           {"GETEX", "f", "EX", "0"},
                                           {"SETEX", "k", "0", "v"},
                                           {"PSETEX", "k", "-1", "v"},
                                           {"SHUTDOWN", "foo"},
                                           {"SET", "s", "Hello World"},
                                           {"GETRANGE", "s", "0", "3"},
                                           {"GETRANGE", "s", "-3", "-1"},
                                           {"GETRANGE", "s", "0", "-100"},
                                           {"GETRANGE", "s", "5", "3"},
                                           {"GETRANGE", "s", "-100", "-50"},
                                           {"GETRANGE", "s", "100", "200"},
                                           {"SETRANGE", "s", "20", "xyz"},
                                           {"GET", "s"},
                                           {"APPEND", "s", "!"},
                                           {"STRLEN", "s"},
                                           {"EXISTS", "s", "s", "nokey"},
                                           {"DEL", "s", "s", "x"},
                                           {"SET", "k", "v"},
                                           {"EXPIRE", "k", "100", "GT"},
                                           {"EXPIRE", "k", "100", "LT"},
                                           {"EXPIRE", "k", "100", "XX"},
                                           {"TTL", "k"},
                                           {"EXPIRE", "k", "50", "GT"},
                                           {"EXPIRE", "k", "200", "GT"},
                                           {"TTL", "k"},
                                           {"PERSIST", "k"},
                                           {"PERSIST", "k"},
                                           {"EXPIRE", "k", "-1"},
                                           {"EXISTS", "k"},
                                           {"SET", "k", "v", "EX", "100"},
                                           {"SET", "k", "v2", "KEEPTTL"},
                                           {"TTL", "k"},
                                           {"SET", "k", "v3", "NX", "GET"},
                                           {"SET", "k", "v4", "XX", "GET"},
                                           {"SET", "nx1", "v", "XX", "GET"},
                                           {"GETEX", "k"},
                                           {"GETEX", "k", "PERSIST"},
                                           {"TTL", "k"},
                                           {"GETEX", "nokey", "EX", "10"},
                                           {"GETEX", "k", "EXAT", "1"},
                                           {"EXISTS", "k"},
                                           {"SET", "n", "9223372036854775807"},
                                           {"INCR", "n"},
                                           {"SET", "n", " 1"},
                                           {"INCR", "n"},
                                           {"SET", "n", "01"},
                                           {"INCR", "n"},
                                           {"SET", "n", "1.5"},
                                           {"INCRBYFLOAT", "n", "1.5"},
                                           {"INCRBYFLOAT", "n", "0x10"},
                                           {"INCRBYFLOAT", "n", "1e-20"},
                                           {"MGET", "a", "b", "n"},
                                           {"MSETNX", "x1", "1", "n", "2"},
                                           {"MSETNX", "x1", "1", "x2", "2"},
                                           {"MSET", "a", "1", "a", "2"},
                                           {"GET", "a"},
                                           {"GETSET", "a", "3"},
                                           {"GETDEL", "a"},
                                           {"GETDEL", "a"},
                                           {"SETNX", "a", "1"},
                                           {"SETNX", "a", "2"},
                                           {"DECR", "a"},
                                           {"KEYS", "x1*"},
                                           {"SCAN", "0", "MATCH", "x2*", "COUNT", "1000"},
                                           {"DBSIZE"},
                                           {"MULTI"},
                                           {"SET", "t", "1"},
                                           {"INCR", "t"},
                                           {"INCR", "s"},
                                           {"GET", "t"},
                                           {"EXEC"},
                                           {"WATCH", "t"},
                                           {"UNWATCH"},
                                           {"RENAME", "nokey", "x"},
                                           {"RENAME", "nokey", "nokey"},
                                           {"RENAMENX", "nokey", "x"},
                                           {"RENAME", "t"},
                                           {"SET", "r1", "v"},
                                           {"RENAME", "r1", "r1"},
                                           {"RENAMENX", "r1", "r1"},
                                           {"SET", "r2", "w"},
                                           {"RENAMENX", "r1", "r2"},
                                           {"RENAME", "r1", "r2"},
                                           {"GET", "r2"},
                                           {"EXISTS", "r1"},
                                           {"HSET", "rh", "a", "1", "b", "2"},
                                           {"PEXPIRE", "rh", "100000"},
                                           {"RENAME", "rh", "r2"},
                                           {"TYPE", "r2"},
                                           {"HGETALL", "r2"},
                                           {"RENAMENX", "r2", "rh"},
                                           {"HGET", "rh", "b"},
                                           {"EXISTS", "r2"},
                                           {"PERSIST", "rh"},
                                           {"PERSIST", "rh"},
                                           {"HELLO", "3", "SETNAME", "a b"},
                                           {"FLUSHDB", "foo"},
                                           {"FLUSHDB"},
                                           {"DBSIZE"},
                                           {"RANDOMKEY"},
                                           {"FLUSHALL", "SYNC"},
                                           {"SCAN", "0"}};
  return script;
}

// A loopback TCP port that was free a moment ago (for redis-server, which
// cannot report one it picked itself).
void PickFreeLoopbackPort(int* port) {
  const int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  close(probe);
}

// Starts redis-server (binary) on 127.0.0.1:port with dir as its working
// directory, no persistence; returns its pid (the caller stops it with
// SHUTDOWN NOSAVE and reaps it).
pid_t StartRedisServer(const char* binary, int port, const std::string& dir) {
  const pid_t redis = fork();
  if (redis == 0) {
    const std::string port_text = std::to_string(port);
    execl(binary, binary, "--port", port_text.c_str(), "--bind", "127.0.0.1", "--save", "",
          "--appendonly", "no", "--dir", dir.c_str(), "--loglevel", "warning",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return redis;
}

// The same commands against redis-server and lsmkv-server: every reply must
// be byte-identical.
// The hash commands' part of the comparison (run after the script above):
// fields are set in byte order, so Redis's insertion order and lsmkv's field
// order agree; random picks are compared only where the reply is fixed.
const std::vector<Args>& HashComparisonScript() {
  static const std::vector<Args> script = {
      {"HSET", "hh", "a", "1", "b", "2"},
      {"HSET", "hh", "a"},
      {"HMSET", "hh", "a"},
      {"HSET", "hh", "c", "3", "a", "4"},
      {"HGET", "hh", "a"},
      {"HGET", "hh", "zz"},
      {"HGET", "nokey", "a"},
      {"HMGET", "hh", "a", "zz", "c"},
      {"HMGET", "nokey", "a"},
      {"HMSET", "hh", "d", "x"},
      {"HSETNX", "hh", "a", "9"},
      {"HSETNX", "hh", "e", "9"},
      {"HLEN", "hh"},
      {"HLEN", "nokey"},
      {"HEXISTS", "hh", "a"},
      {"HEXISTS", "hh", "zz"},
      {"HSTRLEN", "hh", "d"},
      {"HSTRLEN", "hh", "zz"},
      {"HKEYS", "hh"},
      {"HVALS", "hh"},
      {"HGETALL", "hh"},
      {"HKEYS", "nokey"},
      {"HGETALL", "nokey"},
      {"HINCRBY", "hh", "a", "5"},
      {"HINCRBY", "hh", "d", "1"},
      {"HINCRBY", "hh", "a", "abc"},
      {"HINCRBY", "hh", "a", "9223372036854775807"},
      {"HINCRBY", "hh", "new", "-3"},
      {"HINCRBYFLOAT", "hh", "b", "0.5"},
      {"HINCRBYFLOAT", "hh", "d", "1"},
      {"HINCRBYFLOAT", "hh", "b", "inf"},
      {"HINCRBYFLOAT", "hh", "b", "abc"},
      {"HINCRBYFLOAT", "hh", "b", "1e3"},
      {"HRANDFIELD", "hh", "0"},
      {"HRANDFIELD", "nokey"},
      {"HRANDFIELD", "nokey", "5"},
      {"HRANDFIELD", "hh", "1", "foo"},
      {"HRANDFIELD", "hh", "abc"},
      {"HRANDFIELD", "hh", "-9223372036854775808"},
      {"HRANDFIELD", "hh", "4611686018427387904", "WITHVALUES"},
      {"HSCAN", "hh", "0"},
      {"HSCAN", "hh", "0", "MATCH", "a*", "COUNT", "100"},
      {"HSCAN", "hh", "abc"},
      {"HSCAN", "hh", "0", "COUNT", "0"},
      {"HSCAN", "hh", "0", "FOO", "bar"},
      {"HSCAN", "nokey", "0", "FOO"},
      {"TYPE", "hh"},
      {"GET", "hh"},
      {"APPEND", "hh", "x"},
      {"INCR", "hh"},
      {"SET", "hs", "v"},
      {"HSET", "hs", "a", "b"},
      {"HGET", "hs", "a"},
      {"HRANDFIELD", "hs", "1", "foo"},
      {"EXPIRE", "hh", "100"},
      {"HSET", "hh", "z", "1"},
      {"TTL", "hh"},
      {"PERSIST", "hh"},
      {"TTL", "hh"},
      {"HDEL", "hh", "a", "a", "zz"},
      {"HDEL", "hh", "b", "c", "d", "e", "new"},
      {"HGETALL", "hh"},
      {"HDEL", "hh", "z"},
      {"EXISTS", "hh"},
      {"HDEL", "nokey", "a"},
      {"HSET", "hh", "y", "1"},
      {"SET", "hh", "str", "XX"},
      {"GET", "hh"},
      {"DEL", "hh", "hs"}};
  return script;
}

// EVAL, EVALSHA, EVAL_RO and SCRIPT (scripting.h): conversions both ways,
// errors, the sandbox and the SCRIPT family, as redis-server 7.0.15 answers
// them (the libraries lsmkv-server leaves out, cmsgpack and struct, are not
// called).
const std::vector<Args>& ScriptingComparisonScript() {
  static const std::vector<Args> script = {
      {"eval", "return 1", "0"},
      {"eval", "return 1.9", "0"},
      {"eval", "return -3.7", "0"},
      {"eval", "return true", "0"},
      {"eval", "return false", "0"},
      {"eval", "return nil", "0"},
      {"eval", "return {1,2,3,'x',nil,5}", "0"},
      {"eval", "return {1,{2,{3}},'a'}", "0"},
      {"eval", "return {ok='fine'}", "0"},
      {"eval", "return {err='My Error'}", "0"},
      {"eval", "return {err='bad'}", "0"},
      {"eval", "return redis.error_reply('CUSTOM x')", "0"},
      {"eval", "return redis.error_reply('nocode')", "0"},
      {"eval", "return redis.status_reply('PONG')", "0"},
      {"eval", "return redis.sha1hex('abc')", "0"},
      {"eval", "return redis.sha1hex('')", "0"},
      {"eval", "return KEYS[1]..ARGV[1]", "1", "k", "a"},
      {"eval", "return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}", "2", "a", "b", "c", "d"},
      {"eval", "return #KEYS", "3", "a", "b", "c"},
      {"eval", "return 1", "-1"},
      {"eval", "return 1", "2", "a"},
      {"eval", "return 1", "abc"},
      {"eval", "x = 1", "0"},
      {"eval", "return y", "0"},
      {"eval", "return os", "0"},
      {"eval", "return loadfile", "0"},
      {"eval", "return dofile", "0"},
      {"eval", "syntax error here", "0"},
      {"eval", "error('boom')", "0"},
      {"eval", "error({err='ERR tbl'})", "0"},
      {"eval", "return redis.call('set','k1','v1')", "0"},
      {"eval", "return redis.call('get','k1')", "0"},
      {"eval", "return redis.call('get','nokey')", "0"},
      {"eval", "return type(redis.call('get','nokey'))", "0"},
      {"eval", "return redis.call('incr','k1')", "0"},
      {"eval", "return redis.pcall('incr','k1')", "0"},
      {"eval", "local r = redis.pcall('incr','k1'); return r['err']", "0"},
      {"eval", "return redis.call('nosuch')", "0"},
      {"eval", "return redis.pcall('nosuch')", "0"},
      {"eval", "return redis.call('get')", "0"},
      {"eval", "return redis.call()", "0"},
      {"eval", "return redis.call({})", "0"},
      {"eval", "return redis.call('set','k2',1.5)", "0"},
      {"eval", "return redis.call('get','k2')", "0"},
      {"eval", "return redis.call('rpush','l',1,2,3)", "0"},
      {"eval", "return redis.call('lrange','l',0,-1)", "0"},
      {"eval", "return redis.call('ping')", "0"},
      {"eval", "return redis.call('multi')", "0"},
      {"eval", "return redis.call('exec')", "0"},
      {"eval", "return redis.call('watch','x')", "0"},
      {"eval", "return redis.call('subscribe','x')", "0"},
      {"eval", "return redis.call('blpop','emptylist',0)", "0"},
      {"eval", "return redis.call('eval','return 1',0)", "0"},
      {"eval", "return redis.call('hset','h','a',1,'b',2)", "0"},
      {"eval", "return redis.call('hgetall','h')", "0"},
      {"eval", "return redis.call('type','h')", "0"},
      {"eval", "return redis.call('exists','h', 'nokey')", "0"},
      {"eval", "return redis.call('zadd','z',1.5,'a')", "0"},
      {"eval", "return redis.call('zscore','z','a')", "0"},
      {"eval", "return redis.call('smembers','nokey')", "0"},
      {"eval", "return redis.call('lpush','k1','x')", "0"},
      {"eval", "return redis.pcall('lpush','k1','x')", "0"},
      {"eval", "return tostring(redis.pcall('lpush','k1','x')['err'])", "0"},
      {"eval", "return redis.log(redis.LOG_WARNING, 'hi')", "0"},
      {"eval", "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
       "0"},
      {"eval", "return redis.setresp(3)", "0"},
      {"eval", "return redis.set_repl(redis.REPL_ALL)", "0"},
      {"eval", "return redis.replicate_commands()", "0"},
      {"eval", "return redis.REPL_ALL", "0"},
      {"eval", "return cjson.encode({1,2})", "0"},
      {"eval", "return cjson.decode('[1,2,3]')", "0"},
      {"eval", "return bit.band(7,3)", "0"},
      {"eval", "return string.format('%d', 5)", "0"},
      {"eval", "return math.floor(2.5)", "0"},
      {"eval", "return table.concat({'a','b'}, ',')", "0"},
      {"eval", "return tonumber('12')", "0"},
      {"eval", "return 9007199254740993", "0"},
      {"eval", "return 1e20", "0"},
      {"eval", "return -0.5", "0"},
      {"eval", "return {1.5, 2.9}", "0"},
      {"eval", "return redis.call('set','k3','v', 'ex', 100)", "0"},
      {"evalsha", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"},
      {"evalsha", "4de2f4f50ebb0b3bfaa92ed2ca1db15bdbb0f6e4", "0"},
      {"evalsha", "abc", "0"},
      {"script", "load", "return 'loaded'"},
      {"evalsha", "19ebd6bc28ec2ffa5d497a7ae41ab21a1d7dd69a", "0"},
      {"script", "exists", "19ebd6bc28ec2ffa5d497a7ae41ab21a1d7dd69a", "abc"},
      {"script", "exists"},
      {"script", "flush"},
      {"script", "flush", "async"},
      {"script", "flush", "sync"},
      {"script", "flush", "bad"},
      {"script", "exists", "19ebd6bc28ec2ffa5d497a7ae41ab21a1d7dd69a"},
      {"script", "kill"},
      {"script", "bogus"},
      {"script"},
      {"eval_ro", "return redis.call('get','k1')", "1", "k1"},
      {"eval_ro", "return redis.call('set','k1','x')", "1", "k1"},
      {"eval_ro", "return redis.pcall('set','k1','x')", "1", "k1"},
      {"evalsha_ro", "abc", "0"},
      {"eval", "return redis.call('get',KEYS[1])", "1", "k1"},
      {"eval", "return redis.call('select', 1)", "0"},
      {"eval", "local t = {} ; t[1] = 'a'; t[3] = 'c'; return t", "0"},
      {"eval", "return {1, false, 3}", "0"},
      {"eval", "return {1, true, 3}", "0"},
      {"eval", "return string.rep('x', 10)", "0"},
      {"eval", "local a = {} ; setmetatable(_G, nil); return 1", "0"},
      {"eval", "return _G.x", "0"},
      {"eval", "rawset(_G, 'x', 1); return x", "0"},
      {"eval", "return redis.call('config','get','maxmemory')", "0"},
      {"eval", "return redis.call('time')[1] ~= nil", "0"},
      {"eval", "return pcall(function() error('x') end)", "0"},
      {"eval", "return select('#', redis.call('ping'))", "0"},
      {"eval", "return redis.call('ping')['ok']", "0"},
      {"eval", "return redis.breakpoint", "0"},
      {"eval", "return redis.debug", "0"},
      {"eval", "return loadstring('return 1')()", "0"},
      {"eval", "return print", "0"},
      {"eval", "return unpack({1,2})", "0"},
      {"eval", "return redis.call('llen', 'l')", "0"},
      {"eval", "return redis.call('del', 'l','h','z','k1','k2','k3')", "0"},
      {"eval", "return {1,2}", "0"},
      {"eval", "return redis.call('hgetall','nohash')", "0"},
      {"eval", "redis.setresp(3); return redis.call('hgetall','nohash')", "0"},
      {"hset", "h", "a", "1"},
      {"eval", "redis.setresp(3); return redis.call('hgetall','h')", "0"},
      {"eval", "redis.setresp(3); return redis.call('smembers','nos')", "0"},
      {"eval", "return {double=3.5}", "0"},
      {"eval", "return false", "0"},
      {"eval", "return true", "0"},
      {"eval", "redis.setresp(3); return true", "0"},
      {"eval", "return nil", "0"},
      {"eval", "redis.setresp(3); return redis.call('hgetall','h')", "0"},
      {"eval", "return {double=3.5}", "0"},
      {"eval", "return {map={a=1}}", "0"},
      {"eval", "return {set={a=true}}", "0"},
      {"eval", "return redis.call('incrbyfloat','f','1.5')", "0"},
      {"eval", "return redis.call('zrange','nz',0,-1,'withscores')", "0"},
      {"eval", "return cjson.decode('{\"a\":[1,2,{\"b\":null}]}')['a'][3]", "0"},
      {"eval", "return bit.tohex(65535, -2147483648)", "0"},
      {"eval", "return #ARGV", "0", "a", "b", "c"},
      {"eval", "return redis.call('exists', unpack(KEYS))", "3", "a", "b", "h"},
      {"eval", "return redis.call('del', 'h', 'f')", "0"},
      {"config", "get", "lua-time-limit"},
      {"config", "get", "busy-reply-threshold"},
      {"config", "get", "busy-reply-threshold"},
      {"config", "set", "busy-reply-threshold", "5000"},
      {"config", "get", "lua-time-limit"},
      {"eval_ro", "return 1", "0"},
      {"eval", "return string.format('%5.2f', 3.14159)", "0"},
      {"eval", "return math.huge", "0"},
      {"eval", "return -math.huge", "0"},
      {"eval", "return 0/0", "0"},
      {"eval", "return tostring(0/0) ~= nil", "0"},
      {"eval", "return {1, 'two', {3, {ok='four'}, {err='five'}}}", "0"},
  };
  return script;
}

TEST_F(ServerTest, RepliesMatchRedisServer) {
  const char* kRedis = "/usr/bin/redis-server";
  ASSERT_EQ(access(kRedis, X_OK), 0) << "redis-server is needed (scripts/bootstrap.sh installs it)";
  StartServer();
  int redis_port = 0;
  ASSERT_NO_FATAL_FAILURE(PickFreeLoopbackPort(&redis_port));
  const std::string redis_dir = dir_ + "-redis";
  std::filesystem::create_directories(redis_dir);
  const pid_t redis = StartRedisServer(kRedis, redis_port, redis_dir);
  RespClient r;
  ASSERT_TRUE(r.Connect(redis_port, 10000));
  auto l = Connect();
  int compared = 0;
  for (const std::vector<Args>* script :
       {&RedisComparisonScript(), &HashComparisonScript(), &ScriptingComparisonScript()}) {
    for (const Args& args : *script) {
      const std::string expected = r.Call(args);
      ASSERT_FALSE(expected.empty()) << "redis-server did not answer " << args[0];
      EXPECT_EQ(l->Call(args), expected) << [&] {
        std::string s;
        for (const auto& a : args) s += a + " ";
        return s;
      }();
      compared++;
    }
  }
  std::printf("%d replies identical to redis-server's\n", compared);
  r.Call({"SHUTDOWN", "NOSAVE"});
  int status = 0;
  waitpid(redis, &status, 0);
  RemoveTree(redis_dir);
}

// One byte at a time keeps a connection from being idle, but a request that
// never completes is closed after client-request-timeout seconds of the
// server's clock; complete requests, however slow the client, are not.
TEST_F(ServerTest, UnfinishedRequestTimesOut) {
  InProcessServer server(dir_, {{"timeout", "100"}, {"client-request-timeout", "5"}});
  ASSERT_TRUE(server.Start()) << server.error();
  RespClient slow, steady, observer;
  ASSERT_TRUE(slow.Connect(server.port()));
  ASSERT_TRUE(steady.Connect(server.port()));
  ASSERT_TRUE(observer.Connect(server.port()));
  ASSERT_TRUE(slow.SendRaw("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\n"));
  EXPECT_EQ(steady.Call({"PING"}), "+PONG\r\n");  // the server has read slow's bytes by now
  for (int second = 0; second < 7; second++) {
    server.clock().AdvanceMs(1000);
    ASSERT_TRUE(slow.SendRaw("x")) << second;
    EXPECT_EQ(steady.Call({"PING"}), "+PONG\r\n") << second;
  }
  EXPECT_TRUE(slow.WaitClosed(kPatienceMs));
  EXPECT_EQ(steady.Call({"PING"}), "+PONG\r\n");
  EXPECT_EQ(InfoField(BulkValue(observer.Call({"INFO", "stats"})), "lsmkv_request_timeouts"), "1");
  EXPECT_EQ(BulkValue(observer.Call({"GET", "k"})), "<nil>");
}

// proto-max-bulk-len cannot be raised at run time past the engine's value
// limit (fixed at startup), so a value is never received whole only to be
// refused.
TEST_F(ServerTest, ProtoMaxBulkLenAgreesWithTheEngine) {
  InProcessServer server(dir_, {});
  ASSERT_TRUE(server.Start()) << server.error();
  RespClient c;
  ASSERT_TRUE(c.Connect(server.port()));
  EXPECT_EQ(c.Call({"CONFIG", "SET", "proto-max-bulk-len", "600mb"}),
            "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument "
            "must be between 1048576 and 536870912 inclusive\r\n");
  EXPECT_EQ(c.Call({"CONFIG", "SET", "proto-max-bulk-len", "1mb"}), "+OK\r\n");
  EXPECT_EQ(c.Call({"CONFIG", "SET", "proto-max-bulk-len", "512mb"}), "+OK\r\n");
  // A bulk over the limit is refused from its header, before its bytes.
  EXPECT_EQ(c.Call({"CONFIG", "SET", "proto-max-bulk-len", "1mb"}), "+OK\r\n");
  ASSERT_TRUE(c.SendRaw("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n"));
  EXPECT_EQ(c.ReadReply(), "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_TRUE(c.WaitClosed());
}

TEST_F(ServerTest, ArgumentCountIsCapped) {
  InProcessServer server(dir_, {{"proto-max-multibulk-len", "1000"}});
  ASSERT_TRUE(server.Start()) << server.error();
  RespClient c;
  ASSERT_TRUE(c.Connect(server.port()));
  Args del = {"DEL"};
  for (int i = 0; i < 999; i++) del.push_back("k" + std::to_string(i));
  EXPECT_EQ(c.Call(del), Int(0));
  ASSERT_TRUE(c.SendRaw("*10000001\r\n$4\r\nECHO\r\n"));
  EXPECT_EQ(c.ReadReply(),
            "-ERR Protocol error: invalid multibulk length (more than 1000 arguments, "
            "proto-max-multibulk-len)\r\n");
  EXPECT_TRUE(c.WaitClosed());
}

// Under a low open-file limit, maxclients is lowered at startup to what fits
// (with a message saying why), and clients beyond it get Redis's error
// instead of waiting forever for a descriptor.
TEST_F(ServerTest, MaxclientsFitsTheOpenFileLimit) {
  server_ = std::make_unique<ServerProcess>();
  server_->set_fd_limit(128);
  std::string log;
  ASSERT_TRUE(server_->Start(ServerBinary(), dir_, {"--max-open-files", "16"}, &log)) << log;
  EXPECT_NE(server_->output().find("maxclients lowered from 10000 to "), std::string::npos)
      << server_->output();
  auto admin = Connect();
  const std::string reply = admin->Call({"CONFIG", "GET", "maxclients"});
  const size_t at = reply.rfind("$");
  ASSERT_NE(at, std::string::npos) << reply;
  const int maxclients = std::atoi(BulkValue(reply.substr(at)).c_str());
  ASSERT_GT(maxclients, 1);
  ASSERT_LT(maxclients, 128);
  EXPECT_EQ(
      admin->Call({"CONFIG", "SET", "maxclients", "10000"}).rfind("-ERR CONFIG SET failed", 0), 0u);
  std::vector<std::unique_ptr<RespClient>> clients;
  for (int i = 1; i < maxclients; i++) {  // admin is one
    clients.push_back(Connect());
    ASSERT_EQ(clients.back()->Call({"PING"}), "+PONG\r\n") << i;
  }
  for (int i = 0; i < 3; i++) {
    RespClient extra;
    ASSERT_TRUE(extra.Connect(server_->port()));
    EXPECT_EQ(extra.ReadReply(), "-ERR max number of clients reached\r\n") << i;
    EXPECT_TRUE(extra.WaitClosed());
  }
  EXPECT_EQ(admin->Call({"PING"}), "+PONG\r\n");
}

// A client that stops reading in the middle of a large reply does not hold
// up shutdown: it is dropped after a short grace.
TEST_F(ServerTest, ShutdownDropsAStalledReader) {
  StartServer();
  auto c = Connect();
  EXPECT_EQ(c->Call({"SET", "big", std::string(8 << 20, 'b')}), "+OK\r\n");
  RespClient stalled;
  ASSERT_TRUE(stalled.Connect(server_->port()));
  ASSERT_TRUE(stalled.SendRaw(EncodeCommand({"GET", "big"}) + EncodeCommand({"GET", "big"}) +
                              EncodeCommand({"GET", "big"})));
  // Wait until the first GET ran (its reply is then being written to a
  // client that reads nothing).
  ASSERT_TRUE(PollUntil([&] {
    const std::string info = BulkValue(c->Call({"INFO", "commandstats"}));
    return info.find("cmdstat_get:calls=") != std::string::npos;
  }));
  const int status = server_->StopWith(SIGTERM, /*timeout_ms=*/6000);
  ASSERT_NE(status, -1) << "shutdown waited for the stalled reader";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << server_->output();
  EXPECT_EQ(server_->output().find("still busy"), std::string::npos) << server_->output();
}

// Keyspace-wide commands run on the slow-command threads: with a single
// event-loop thread, a FLUSHALL that waits (here for stripe locks the test
// holds, as it would for a long scan) does not stop another client's PING
// from being answered. On the event loop, the PING would wait with it.
TEST_F(ServerTest, SlowCommandsDoNotHoldTheEventLoop) {
  InProcessServer server(dir_, {{"io-threads", "1"}});
  ASSERT_TRUE(server.Start()) << server.error();
  RespClient flusher, ping;
  ASSERT_TRUE(flusher.Connect(server.port()));
  ASSERT_TRUE(ping.Connect(server.port()));
  EXPECT_EQ(flusher.Call({"SET", "k", "v"}), "+OK\r\n");
  KeyLocks::Guard held = server.context().keyspace->locks().LockAll();
  ASSERT_TRUE(flusher.Send({"FLUSHALL"}));
  for (int i = 0; i < 3; i++) EXPECT_EQ(ping.Call({"PING"}, 5000), "+PONG\r\n") << i;
  EXPECT_EQ(flusher.ReadReply(100), "");  // still waiting for the locks
  held.Release();
  EXPECT_EQ(flusher.ReadReply(kPatienceMs), "+OK\r\n");
  EXPECT_EQ(ping.Call({"DBSIZE"}), Int(0));
}

// 100,000 wrong AUTHs in one pipeline: ten are checked, then the connection
// is closed; the rest are never looked at.
TEST_F(ServerTest, PipelinedPasswordGuessingIsCutOff) {
  InProcessServer server(dir_, {{"requirepass", "secret"}});
  ASSERT_TRUE(server.Start()) << server.error();
  RespClient guesser, admin;
  ASSERT_TRUE(guesser.Connect(server.port()));
  std::string pipeline;
  for (int i = 0; i < 100000; i++) pipeline += EncodeCommand({"AUTH", "g" + std::to_string(i)});
  guesser.set_send_timeout(5000);
  guesser.SendRaw(pipeline);  // may fail part way: the server closes
  int wrong = 0;
  while (guesser.ReadReply(kPatienceMs) ==
         "-WRONGPASS invalid username-password pair or user is disabled.\r\n") {
    wrong++;
  }
  EXPECT_EQ(wrong, 10);
  EXPECT_TRUE(guesser.WaitClosed());
  // The address (127.0.0.1) is blocked for auth-block-seconds, on the
  // server's clock.
  ASSERT_TRUE(admin.Connect(server.port()));
  EXPECT_EQ(admin.Call({"AUTH", "secret"}),
            "-ERR too many failed AUTH attempts from this address; try again in 10 seconds "
            "(auth-block-seconds)\r\n");
  EXPECT_TRUE(admin.WaitClosed());
  server.clock().AdvanceMs(10000);
  RespClient later;
  ASSERT_TRUE(later.Connect(server.port()));
  EXPECT_EQ(later.Call({"AUTH", "secret"}), "+OK\r\n");
  const std::string info = BulkValue(later.Call({"INFO", "stats"}));
  EXPECT_EQ(InfoField(info, "lsmkv_auth_failures"), "10");
  EXPECT_EQ(InfoField(info, "lsmkv_auth_disconnects"), "1");
  EXPECT_EQ(InfoField(info, "lsmkv_auth_rate_limited"), "1");
}

// rename-command at startup: the old names are unknown, a disabled command
// is gone, the new name works.
TEST_F(ServerTest, RenamedAndDisabledCommands) {
  StartServer({"--rename-command", "FLUSHALL", "", "--rename-command", "CONFIG", "cfg-4d2e"});
  auto c = Connect();
  EXPECT_EQ(c->Call({"SET", "k", "v"}), "+OK\r\n");
  EXPECT_EQ(c->Call({"FLUSHALL"}),
            "-ERR unknown command 'FLUSHALL', with args beginning with: \r\n");
  EXPECT_EQ(c->Call({"CONFIG", "GET", "port"}),
            "-ERR unknown command 'CONFIG', with args beginning with: 'GET' 'port' \r\n");
  EXPECT_EQ(c->Call({"CFG-4D2E", "GET", "maxclients"}),
            "*2\r\n" + Bulk("maxclients") + Bulk("10000"));
  EXPECT_EQ(c->Call({"GET", "k"}), Bulk("v"));
}

// Protected mode: bound to every address without a password, the server
// refuses clients that do not come from loopback, with Redis's -DENIED.
TEST_F(ServerTest, ProtectedModeRefusesNonLoopbackClients) {
  ifaddrs* addrs = nullptr;
  ASSERT_EQ(getifaddrs(&addrs), 0);
  sockaddr_in outside{};
  bool found = false;
  for (ifaddrs* a = addrs; a != nullptr && !found; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    outside = *reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    found = (ntohl(outside.sin_addr.s_addr) >> 24) != 127;
  }
  freeifaddrs(addrs);
  if (!found) GTEST_SKIP() << "this machine has no non-loopback IPv4 address to connect from";
  auto connect_from_outside = [&](int port) {
    sockaddr_in addr = outside;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    const std::string ping = EncodeCommand({"PING"});
    EXPECT_EQ(send(fd, ping.data(), ping.size(), MSG_NOSIGNAL), static_cast<ssize_t>(ping.size()));
    std::string reply;
    char buffer[4096];
    ssize_t n;
    timeval patience{kPatienceMs / 1000, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
    // One line is the whole reply (+PONG, -DENIED ..., -NOAUTH ...).
    while (reply.find("\r\n") == std::string::npos &&
           (n = recv(fd, buffer, sizeof(buffer), 0)) > 0) {
      reply.append(buffer, static_cast<size_t>(n));
    }
    close(fd);
    return reply;
  };
  {
    InProcessServer server(dir_, {{"bind", "0.0.0.0"}});
    ASSERT_TRUE(server.Start()) << server.error();
    EXPECT_EQ(
        connect_from_outside(server.port())
            .rfind("-DENIED Redis is running in protected mode because protected mode is enabled "
                   "and no password is set for the default user.",
                   0),
        0u);
    RespClient local;
    ASSERT_TRUE(local.Connect(server.port()));
    EXPECT_EQ(local.Call({"PING"}), "+PONG\r\n");
    EXPECT_EQ(InfoField(BulkValue(local.Call({"INFO", "stats"})), "lsmkv_protected_mode_refusals"),
              "1");
  }
  {
    InProcessServer server(dir_, {{"bind", "0.0.0.0"}, {"protected-mode", "no"}});
    ASSERT_TRUE(server.Start()) << server.error();
    EXPECT_EQ(connect_from_outside(server.port()), "+PONG\r\n");
  }
  {
    InProcessServer server(dir_, {{"bind", "0.0.0.0"}, {"requirepass", "pw"}});
    ASSERT_TRUE(server.Start()) << server.error();
    EXPECT_EQ(connect_from_outside(server.port()), "-NOAUTH Authentication required.\r\n");
  }
}

// ---- Pub/sub ----

// A pub/sub frame: ["message", channel, payload] and the like, as an array
// (RESP2) or a push (RESP3).
std::string Frame(const Args& parts, const std::string& integer = "", bool push = false) {
  std::string out =
      (push ? ">" : "*") + std::to_string(parts.size() + (integer.empty() ? 0 : 1)) + "\r\n";
  for (const std::string& p : parts) out += Bulk(p);
  if (!integer.empty()) out += ":" + integer + "\r\n";
  return out;
}

// Asks PUBSUB NUMSUB channel until it answers n (a disconnect is noticed by
// the server asynchronously); false after kPatienceMs.
bool WaitNumSub(RespClient& c, const std::string& channel, int64_t n) {
  const std::string want = "*2\r\n" + Bulk(channel) + Int(n);
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < deadline) {
    if (c.Call({"PUBSUB", "NUMSUB", channel}) == want) return true;
  }
  return false;
}

// Two clients on different io threads: confirmations with the running count,
// messages to channel and pattern subscribers, PUBLISH's receiver count.
TEST_F(ServerTest, PubSubDeliversAcrossConnections) {
  StartServer({"--io-threads", "4"});
  auto sub = Connect();
  auto pub = Connect();
  EXPECT_EQ(sub->Call({"SUBSCRIBE", "news", "sport"}), Frame({"subscribe", "news"}, "1"));
  EXPECT_EQ(sub->ReadReply(), Frame({"subscribe", "sport"}, "2"));
  EXPECT_EQ(sub->Call({"PSUBSCRIBE", "n*"}), Frame({"psubscribe", "n*"}, "3"));
  EXPECT_EQ(pub->Call({"PUBSUB", "NUMSUB", "news", "sport", "none"}),
            "*6\r\n" + Bulk("news") + Int(1) + Bulk("sport") + Int(1) + Bulk("none") + Int(0));
  EXPECT_EQ(pub->Call({"PUBSUB", "NUMPAT"}), Int(1));
  EXPECT_EQ(pub->Call({"PUBSUB", "CHANNELS"}), "*2\r\n" + Bulk("news") + Bulk("sport"));
  EXPECT_EQ(pub->Call({"PUBSUB", "CHANNELS", "s*"}), "*1\r\n" + Bulk("sport"));
  const std::string stats = BulkValue(pub->Call({"INFO", "stats"}));
  EXPECT_EQ(InfoField(stats, "pubsub_channels"), "2");
  EXPECT_EQ(InfoField(stats, "pubsub_patterns"), "1");
  EXPECT_EQ(InfoField(stats, "pubsubshard_channels"), "0");

  EXPECT_EQ(pub->Call({"PUBLISH", "news", "hello"}), Int(2));  // channel + pattern
  EXPECT_EQ(sub->ReadReply(kPatienceMs), Frame({"message", "news", "hello"}));
  EXPECT_EQ(sub->ReadReply(kPatienceMs), Frame({"pmessage", "n*", "news", "hello"}));
  EXPECT_EQ(pub->Call({"PUBLISH", "sport", "goal"}), Int(1));
  EXPECT_EQ(sub->ReadReply(kPatienceMs), Frame({"message", "sport", "goal"}));
  EXPECT_EQ(pub->Call({"PUBLISH", "zzz", "x"}), Int(0));
  EXPECT_EQ(pub->Call({"PUBLISH", "nx", "y"}), Int(1));
  EXPECT_EQ(sub->ReadReply(kPatienceMs), Frame({"pmessage", "n*", "nx", "y"}));

  // Many messages in a row arrive whole and in order.
  std::string big(100000, 'b');
  for (int i = 0; i < 200; i++) {
    ASSERT_EQ(pub->Call({"PUBLISH", "sport", std::to_string(i) + big}), Int(1));
  }
  for (int i = 0; i < 200; i++) {
    ASSERT_EQ(sub->ReadReply(kPatienceMs), Frame({"message", "sport", std::to_string(i) + big}))
        << i;
  }
}

// CLIENT REPLY over a socket: silenced replies of pipelined commands (which
// leave the pipeline batch) never reach the client, the writes still happen,
// and a RESP3 subscriber with replies off still gets its confirmations and
// messages (Redis's pubsub unit, "PubSub messages with CLIENT REPLY OFF").
TEST_F(ServerTest, ClientReplyOffSkipOnPipelined) {
  StartServer();
  auto c = Connect();
  std::string batch;
  for (const Args& args :
       {Args{"SET", "a", "1"}, Args{"CLIENT", "REPLY", "OFF"}, Args{"INCR", "a"}, Args{"GET", "a"},
        Args{"NOSUCH"}, Args{"CLIENT", "REPLY", "ON"}, Args{"GET", "a"},
        Args{"CLIENT", "REPLY", "SKIP"}, Args{"INCR", "a"}, Args{"GET", "a"}}) {
    batch += EncodeCommand(args);
  }
  ASSERT_TRUE(c->SendRaw(batch));
  EXPECT_EQ(c->ReadReply(), "+OK\r\n");
  EXPECT_EQ(c->ReadReply(), "+OK\r\n");  // CLIENT REPLY ON
  EXPECT_EQ(c->ReadReply(), Bulk("2"));
  EXPECT_EQ(c->ReadReply(), Bulk("3"));  // the INCR after SKIP ran, unanswered
  EXPECT_EQ(c->Call({"PING"}), "+PONG\r\n");

  auto sub = Connect();
  auto pub = Connect();
  ASSERT_EQ(sub->Call({"HELLO", "3"}).substr(0, 2), "%7");
  ASSERT_TRUE(sub->Send({"CLIENT", "REPLY", "OFF"}));
  EXPECT_EQ(sub->Call({"SUBSCRIBE", "channel"}), Frame({"subscribe", "channel"}, "1", true));
  EXPECT_EQ(sub->Call({"PSUBSCRIBE", "ch*"}), Frame({"psubscribe", "ch*"}, "2", true));
  EXPECT_EQ(pub->Call({"PUBLISH", "channel", "hello"}), Int(2));
  EXPECT_EQ(sub->ReadReply(kPatienceMs), Frame({"message", "channel", "hello"}, "", true));
  EXPECT_EQ(sub->ReadReply(kPatienceMs), Frame({"pmessage", "ch*", "channel", "hello"}, "", true));
  EXPECT_EQ(sub->Call({"UNSUBSCRIBE", "channel"}), Frame({"unsubscribe", "channel"}, "1", true));
  EXPECT_EQ(sub->Call({"CLIENT", "REPLY", "ON"}), "+OK\r\n");
}

// Keyspace notifications end to end: a pattern subscriber sees the events of
// another client's commands, and the background sweep's "expired" event.
TEST_F(ServerTest, KeyspaceNotificationsReachSubscribers) {
  StartServer();
  auto sub = Connect();
  auto c = Connect();
  EXPECT_EQ(sub->Call({"PSUBSCRIBE", "*"}), Frame({"psubscribe", "*"}, "1"));
  EXPECT_EQ(c->Call({"CONFIG", "SET", "notify-keyspace-events", "KEA"}), "+OK\r\n");
  EXPECT_EQ(c->Call({"SET", "foo", "bar"}), "+OK\r\n");
  EXPECT_EQ(sub->ReadReply(kPatienceMs), Frame({"pmessage", "*", "__keyspace@0__:foo", "set"}));
  EXPECT_EQ(sub->ReadReply(kPatienceMs), Frame({"pmessage", "*", "__keyevent@0__:set", "foo"}));
  EXPECT_EQ(c->Call({"CONFIG", "SET", "notify-keyspace-events", "Ex"}), "+OK\r\n");
  EXPECT_EQ(c->Call({"PSETEX", "foo", "100", "1"}), "+OK\r\n");
  EXPECT_EQ(sub->ReadReply(kPatienceMs), Frame({"pmessage", "*", "__keyevent@0__:expired", "foo"}));
  EXPECT_EQ(c->Call({"EXISTS", "foo"}), Int(0));
}

// In RESP2 a subscriber may run only the pub/sub commands, PING (an array
// reply) and QUIT; UNSUBSCRIBE and PUNSUBSCRIBE without names drop them all.
TEST_F(ServerTest, PubSubResp2SubscribedModeAndUnsubscribeAll) {
  StartServer();
  auto c = Connect();
  EXPECT_EQ(c->Call({"UNSUBSCRIBE"}), "*3\r\n" + Bulk("unsubscribe") + "$-1\r\n" + Int(0));
  EXPECT_EQ(c->Call({"PUNSUBSCRIBE"}), "*3\r\n" + Bulk("punsubscribe") + "$-1\r\n" + Int(0));
  EXPECT_EQ(c->Call({"SUBSCRIBE", "a"}), Frame({"subscribe", "a"}, "1"));
  EXPECT_EQ(c->Call({"SUBSCRIBE", "b"}), Frame({"subscribe", "b"}, "2"));
  EXPECT_EQ(c->Call({"PSUBSCRIBE", "p*"}), Frame({"psubscribe", "p*"}, "3"));
  EXPECT_EQ(c->Call({"GET", "k"}),
            "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
            "RESET are allowed in this context\r\n");
  EXPECT_EQ(c->Call({"PUBSUB", "NUMPAT"}),
            "-ERR Can't execute 'pubsub|numpat': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
            "QUIT / RESET are allowed in this context\r\n");
  EXPECT_EQ(c->Call({"PING"}), "*2\r\n" + Bulk("pong") + Bulk(""));
  EXPECT_EQ(c->Call({"PING", "hi"}), "*2\r\n" + Bulk("pong") + Bulk("hi"));
  // Unsubscribe all: one confirmation per channel, counting down (channels
  // in any order).
  ASSERT_TRUE(c->Send({"UNSUBSCRIBE"}));
  const std::string first = c->ReadReply();
  const std::string second = c->ReadReply();
  EXPECT_TRUE(
      (first == Frame({"unsubscribe", "a"}, "2") && second == Frame({"unsubscribe", "b"}, "1")) ||
      (first == Frame({"unsubscribe", "b"}, "2") && second == Frame({"unsubscribe", "a"}, "1")))
      << first << second;
  EXPECT_EQ(c->Call({"GET", "k"}).substr(0, 16), "-ERR Can't execu");  // the pattern remains
  EXPECT_EQ(c->Call({"PUNSUBSCRIBE"}), Frame({"punsubscribe", "p*"}, "0"));
  EXPECT_EQ(c->Call({"PING"}), "+PONG\r\n");  // out of subscribed mode
  EXPECT_EQ(c->Call({"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(c->Call({"SUBSCRIBE", "z"}), Frame({"subscribe", "z"}, "1"));
  EXPECT_EQ(c->Call({"QUIT"}), "+OK\r\n");
  EXPECT_TRUE(c->WaitClosed());
}

// RESP3 (HELLO 3): confirmations and messages are push frames, and any
// command may run between them.
TEST_F(ServerTest, PubSubResp3Push) {
  StartServer({"--io-threads", "2"});
  auto sub = Connect();
  auto pub = Connect();
  ASSERT_EQ(sub->Call({"HELLO", "3"}).substr(0, 2), "%7");
  EXPECT_EQ(sub->Call({"UNSUBSCRIBE"}), ">3\r\n" + Bulk("unsubscribe") + "_\r\n" + Int(0));
  EXPECT_EQ(sub->Call({"SUBSCRIBE", "ch"}), Frame({"subscribe", "ch"}, "1", true));
  EXPECT_EQ(sub->Call({"PING"}), "+PONG\r\n");
  EXPECT_EQ(sub->Call({"SET", "k", "v"}), "+OK\r\n");
  EXPECT_EQ(sub->Call({"GET", "k"}), Bulk("v"));
  EXPECT_EQ(pub->Call({"PUBLISH", "ch", "m1"}), Int(1));
  EXPECT_EQ(sub->ReadReply(kPatienceMs), Frame({"message", "ch", "m1"}, "", true));
  // A client publishing to itself gets its message before the reply.
  ASSERT_TRUE(sub->Send({"PUBLISH", "ch", "self"}));
  EXPECT_EQ(sub->ReadReply(kPatienceMs), Frame({"message", "ch", "self"}, "", true));
  EXPECT_EQ(sub->ReadReply(kPatienceMs), Int(1));
  EXPECT_EQ(sub->Call({"SSUBSCRIBE", "sh"}), Frame({"ssubscribe", "sh"}, "1", true));
  EXPECT_EQ(pub->Call({"SPUBLISH", "sh", "s1"}), Int(1));
  EXPECT_EQ(sub->ReadReply(kPatienceMs), Frame({"smessage", "sh", "s1"}, "", true));
  EXPECT_EQ(pub->Call({"PUBSUB", "SHARDNUMSUB", "sh"}), "*2\r\n" + Bulk("sh") + Int(1));
  // Back to RESP2: the subscriber is restricted again and messages are arrays.
  EXPECT_EQ(sub->Call({"HELLO", "2"}).substr(0, 3), "*14");
  EXPECT_EQ(sub->Call({"GET", "k"}).substr(0, 16), "-ERR Can't execu");
  EXPECT_EQ(pub->Call({"PUBLISH", "ch", "m2"}), Int(1));
  EXPECT_EQ(sub->ReadReply(kPatienceMs), Frame({"message", "ch", "m2"}));
}

// Subscriptions end with the connection: PUBSUB NUMSUB drops back to 0.
TEST_F(ServerTest, PubSubDisconnectForgetsSubscriptions) {
  StartServer({"--io-threads", "2"});
  auto observer = Connect();
  std::vector<std::unique_ptr<RespClient>> subs;
  for (int i = 0; i < 5; i++) {
    subs.push_back(Connect());
    ASSERT_EQ(subs.back()->Call({"SUBSCRIBE", "gone"}), Frame({"subscribe", "gone"}, "1"));
    ASSERT_EQ(subs.back()->Call({"PSUBSCRIBE", "g*"}), Frame({"psubscribe", "g*"}, "2"));
  }
  EXPECT_EQ(observer->Call({"PUBSUB", "NUMSUB", "gone"}), "*2\r\n" + Bulk("gone") + Int(5));
  EXPECT_EQ(observer->Call({"PUBLISH", "gone", "x"}), Int(10));
  for (auto& s : subs) s->Close();
  EXPECT_TRUE(WaitNumSub(*observer, "gone", 0));
  EXPECT_EQ(observer->Call({"PUBSUB", "NUMPAT"}), Int(0));
  EXPECT_EQ(observer->Call({"PUBSUB", "CHANNELS"}), "*0\r\n");
  EXPECT_EQ(observer->Call({"PUBLISH", "gone", "x"}), Int(0));
}

// A subscriber that does not read is disconnected once its undelivered
// messages pass client-output-buffer-limit's pubsub class; the publisher
// is never held up, and other subscribers keep getting their messages.
TEST_F(ServerTest, PubSubSlowReaderIsDisconnectedAtTheOutputLimit) {
  StartServer({"--io-threads", "2", "--client-output-buffer-limit", "pubsub 1mb 0 0"});
  auto slow = Connect();
  auto fast = Connect();
  auto pub = Connect();
  ASSERT_EQ(slow->Call({"SUBSCRIBE", "flood"}), Frame({"subscribe", "flood"}, "1"));
  ASSERT_EQ(fast->Call({"SUBSCRIBE", "flood"}), Frame({"subscribe", "flood"}, "1"));
  // Far more than the limit plus what the kernel's socket buffers hold.
  const std::string payload(256 * 1024, 'p');
  for (int i = 0; i < 400; i++) {
    ASSERT_EQ(pub->Call({"PUBLISH", "flood", payload}, kPatienceMs).substr(0, 1), ":") << i;
    ASSERT_EQ(fast->ReadReply(kPatienceMs), Frame({"message", "flood", payload})) << i;
  }
  // The slow client finds its connection closed (after whatever had been
  // sent), and the registry has forgotten it.
  EXPECT_TRUE(slow->WaitClosed(kPatienceMs));
  EXPECT_TRUE(WaitNumSub(*pub, "flood", 1));
  EXPECT_EQ(pub->Call({"CONFIG", "GET", "client-output-buffer-limit"}),
            "*2\r\n" + Bulk("client-output-buffer-limit") +
                Bulk("normal 1073741824 0 0 slave 0 0 0 pubsub 1048576 0 0"));
}

// lsmkv-server's own bounds: channel names of at most 64 KiB, patterns of
// at most 1 KiB, at most 100,000 subscriptions per client; a refused
// command subscribes nothing.
TEST_F(ServerTest, PubSubLimitsOnNamesAndSubscriptions) {
  StartServer();
  auto c = Connect();
  EXPECT_EQ(c->Call({"SUBSCRIBE", "ok", std::string(kMaxChannelBytes + 1, 'n')}),
            "-ERR channel name is too long (lsmkv-server allows 65536 bytes)\r\n");
  EXPECT_EQ(c->Call({"PUBSUB", "NUMSUB", "ok"}), "*2\r\n" + Bulk("ok") + Int(0));
  EXPECT_EQ(c->Call({"PUBLISH", std::string(kMaxChannelBytes + 1, 'n'), "m"}),
            "-ERR channel name is too long (lsmkv-server allows 65536 bytes)\r\n");
  EXPECT_EQ(c->Call({"PSUBSCRIBE", std::string(kMaxPatternBytes + 1, '*')}),
            "-ERR pattern is too long (lsmkv-server allows 1024 bytes)\r\n");
  EXPECT_EQ(c->Call({"SUBSCRIBE", std::string(kMaxChannelBytes, 'n')}),
            Frame({"subscribe", std::string(kMaxChannelBytes, 'n')}, "1"));
  EXPECT_EQ(c->Call({"UNSUBSCRIBE"}),
            Frame({"unsubscribe", std::string(kMaxChannelBytes, 'n')}, "0"));
  Args many = {"PSUBSCRIBE"};
  for (size_t i = 0; i < kMaxSubscriptionsPerClient; i++) many.push_back("p" + std::to_string(i));
  ASSERT_TRUE(c->Send(many));
  for (size_t i = 0; i < kMaxSubscriptionsPerClient; i++) {
    ASSERT_EQ(c->ReadReply(kPatienceMs),
              Frame({"psubscribe", "p" + std::to_string(i)}, std::to_string(i + 1)))
        << i;
  }
  EXPECT_EQ(c->Call({"SUBSCRIBE", "one-more"}),
            "-ERR too many subscriptions (lsmkv-server allows 100000 per client)\r\n");
  EXPECT_EQ(c->Call({"PUNSUBSCRIBE", "p7"}), Frame({"punsubscribe", "p7"}, "99999"));
  EXPECT_EQ(c->Call({"SUBSCRIBE", "one-more"}), Frame({"subscribe", "one-more"}, "100000"));
}

// The same pub/sub conversation with redis-server and lsmkv-server: every
// reply and message byte-identical (RESP2 and RESP3).
TEST_F(ServerTest, PubSubMatchesRedisServer) {
  const char* kRedis = "/usr/bin/redis-server";
  ASSERT_EQ(access(kRedis, X_OK), 0) << "redis-server is needed (scripts/bootstrap.sh installs it)";
  StartServer();
  int redis_port = 0;
  ASSERT_NO_FATAL_FAILURE(PickFreeLoopbackPort(&redis_port));
  const std::string redis_dir = dir_ + "-redis";
  std::filesystem::create_directories(redis_dir);
  const pid_t redis = StartRedisServer(kRedis, redis_port, redis_dir);
  // Each step: which client (0 subscriber, 1 publisher), the command, and
  // how many replies/messages the subscriber and the publisher then read.
  struct Step {
    int client;
    Args args;
    int sub_reads;
    int pub_reads;
  };
  const std::vector<Step> steps = {
      {0, {"UNSUBSCRIBE"}, 1, 0},
      {0, {"PUNSUBSCRIBE"}, 1, 0},
      {0, {"SUNSUBSCRIBE"}, 1, 0},
      {0, {"SUBSCRIBE", "a", "b", "a"}, 3, 0},
      {0, {"PSUBSCRIBE", "h*", "?"}, 2, 0},
      {0, {"SSUBSCRIBE", "s1"}, 1, 0},
      {0, {"SUBSCRIBE"}, 1, 0},
      {0, {"PING"}, 1, 0},
      {0, {"PING", "x"}, 1, 0},
      {0, {"PING", "x", "y"}, 1, 0},
      {0, {"GET", "k"}, 1, 0},
      {0, {"CLIENT", "LIST"}, 1, 0},
      {0, {"HELLO", "3"}, 1, 0},
      {0, {"MULTI"}, 1, 0},
      {0, {"NOSUCH"}, 1, 0},
      {1, {"PUBLISH", "a", "m1"}, 2, 1},  // channel a and pattern "?"
      {1, {"PUBLISH", "hello", "m2"}, 1, 1},
      {1, {"PUBLISH", "b", ""}, 2, 1},  // channel b and pattern "?"
      {1, {"SPUBLISH", "s1", "m3"}, 1, 1},
      {1, {"SPUBLISH", "a", "m3"}, 0, 1},
      {1, {"PUBSUB", "NUMSUB", "a", "b", "c"}, 0, 1},
      {1, {"PUBSUB", "NUMSUB"}, 0, 1},
      {1, {"PUBSUB", "NUMPAT"}, 0, 1},
      {1, {"PUBSUB", "NUMPAT", "x"}, 0, 1},
      {1, {"PUBSUB", "CHANNELS", "a*"}, 0, 1},
      {1, {"PUBSUB", "CHANNELS", "a", "b"}, 0, 1},
      {1, {"PUBSUB", "SHARDCHANNELS"}, 0, 1},
      {1, {"PUBSUB", "SHARDNUMSUB", "s1", "a"}, 0, 1},
      {1, {"PUBSUB", "HELP"}, 0, 1},
      {1, {"PUBSUB", "NOPE"}, 0, 1},
      {1, {"PUBSUB"}, 0, 1},
      {1, {"PUBLISH", "a"}, 0, 1},
      {0, {"UNSUBSCRIBE", "zz"}, 1, 0},
      {0, {"UNSUBSCRIBE", "b", "a"}, 2, 0},
      {0, {"PUNSUBSCRIBE", "h*"}, 1, 0},
      {0, {"SUNSUBSCRIBE"}, 1, 0},
      {1, {"HELLO", "3"}, 0, 1},  // skipped below: HELLO names the server
      {1, {"PSUBSCRIBE", "*"}, 0, 1},
      {1, {"PUBLISH", "x", "self"}, 1, 2},  // message to itself first, then :2
      {1, {"SET", "k", "v"}, 0, 1},
      {1, {"PUNSUBSCRIBE"}, 0, 1},
      {0, {"PUNSUBSCRIBE"}, 1, 0},
      {0, {"HELLO", "2"}, 1, 0},
      {0, {"PING"}, 1, 0},
      {0, {"GET", "k"}, 1, 0},
  };
  RespClient r[2];
  std::unique_ptr<RespClient> l[2];
  for (int i = 0; i < 2; i++) {
    ASSERT_TRUE(r[i].Connect(redis_port, 10000));
    l[i] = Connect();
  }
  int compared = 0;
  for (const Step& step : steps) {
    const bool hello = step.args[0] == "HELLO";  // server name and version differ
    ASSERT_TRUE(r[step.client].Send(step.args));
    ASSERT_TRUE(l[step.client]->Send(step.args));
    for (int who = 0; who < 2; who++) {
      const int reads = who == 0 ? step.sub_reads : step.pub_reads;
      for (int n = 0; n < reads; n++) {
        const std::string expected = r[who].ReadReply(kPatienceMs);
        ASSERT_FALSE(expected.empty()) << "redis-server did not answer " << step.args[0];
        const std::string got = l[who]->ReadReply(kPatienceMs);
        if (hello) continue;
        EXPECT_EQ(got, expected) << step.args[0] << " "
                                 << (step.args.size() > 1 ? step.args[1] : "") << " (read " << n
                                 << " of client " << who << ")";
        compared++;
      }
    }
  }
  std::printf("%d pub/sub replies identical to redis-server's\n", compared);
  r[1].Call({"SHUTDOWN", "NOSAVE"});
  int status = 0;
  waitpid(redis, &status, 0);
  RemoveTree(redis_dir);
}

}  // namespace
}  // namespace lsmkv::server::test
