// Blocking commands end to end (blocking.h, Connection::Park): a real
// lsmkv-server process and RESP clients. A blocked client gets no reply until
// another client's write wakes it or its timeout passes; pipelined commands
// after it wait for it; a client that went away while blocked takes nothing.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/test_client.h"

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

// A generous bound for what should take milliseconds (loaded machines,
// sanitizer builds).
constexpr int kPatienceMs = 20000;

class BlockingServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("lsmkv_blocking_it");
    server_ = std::make_unique<ServerProcess>();
    std::string log;
    ASSERT_TRUE(server_->Start(ServerBinary(), dir_, {}, &log)) << log;
    admin_ = Connect();
  }
  void TearDown() override {
    admin_.reset();
    server_.reset();
    RemoveTree(dir_);
  }

  std::unique_ptr<RespClient> Connect() {
    auto client = std::make_unique<RespClient>();
    EXPECT_TRUE(client->Connect(server_->port()));
    return client;
  }

  // INFO clients' blocked_clients.
  int BlockedClients() {
    const std::string info = admin_->Call({"info", "clients"});
    const size_t at = info.find("blocked_clients:");
    if (at == std::string::npos) return -1;
    return std::atoi(info.c_str() + at + 16);
  }

  // Waits until blocked_clients is n (the server's state, observed from
  // outside); false if it never gets there.
  bool WaitForBlocked(int n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kPatienceMs);
    while (BlockedClients() != n) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<RespClient> admin_;
};

TEST_F(BlockingServerTest, AWriteWakesTheBlockedClient) {
  auto blocked = Connect();
  ASSERT_TRUE(blocked->Send({"bzpopmin", "z", "0"}));
  ASSERT_TRUE(WaitForBlocked(1));
  EXPECT_EQ(admin_->Call({"zadd", "z", "1.5", "m"}), ":1\r\n");
  EXPECT_EQ(blocked->ReadReply(kPatienceMs), "*3\r\n" + Bulk("z") + Bulk("m") + Bulk("1.5"));
  EXPECT_EQ(BlockedClients(), 0);
  EXPECT_EQ(admin_->Call({"exists", "z"}), ":0\r\n");
  // The connection serves commands again.
  EXPECT_EQ(blocked->Call({"ping"}), "+PONG\r\n");
}

// SWAPDB gives database 1 the list pushed into database 0: the client
// blocked in database 1 takes it (Redis wakes it too).
TEST_F(BlockingServerTest, SwapDbWakesTheBlockedClient) {
  auto blocked = Connect();
  EXPECT_EQ(blocked->Call({"select", "1"}), "+OK\r\n");
  ASSERT_TRUE(blocked->Send({"blpop", "l", "0"}));
  ASSERT_TRUE(WaitForBlocked(1));
  EXPECT_EQ(admin_->Call({"rpush", "l", "x"}), ":1\r\n");  // database 0: not its key
  EXPECT_EQ(admin_->Call({"swapdb", "0", "1"}), "+OK\r\n");
  EXPECT_EQ(blocked->ReadReply(kPatienceMs), "*2\r\n" + Bulk("l") + Bulk("x"));
  EXPECT_EQ(BlockedClients(), 0);
  EXPECT_EQ(admin_->Call({"select", "1"}), "+OK\r\n");
  EXPECT_EQ(admin_->Call({"exists", "l"}), ":0\r\n");
}

// CLIENT UNBLOCK ends another client's block as at its timeout, or with
// -UNBLOCKED; 0 for a client that is not blocked (or does not exist).
TEST_F(BlockingServerTest, ClientUnblock) {
  auto blocked = Connect();
  const std::string id_reply = blocked->Call({"client", "id"});
  ASSERT_EQ(id_reply[0], ':');
  const std::string id = id_reply.substr(1, id_reply.size() - 3);
  EXPECT_EQ(admin_->Call({"client", "unblock", id}), ":0\r\n");  // not blocked
  EXPECT_EQ(admin_->Call({"client", "unblock", "987654"}), ":0\r\n");
  EXPECT_EQ(admin_->Call({"client", "unblock", id, "later"}),
            "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n");
  ASSERT_TRUE(blocked->Send({"blpop", "l", "0"}));
  ASSERT_TRUE(WaitForBlocked(1));
  EXPECT_EQ(admin_->Call({"client", "unblock", id}), ":1\r\n");
  EXPECT_EQ(blocked->ReadReply(kPatienceMs), "*-1\r\n");
  ASSERT_TRUE(WaitForBlocked(0));
  ASSERT_TRUE(blocked->Send({"bzpopmin", "z", "0"}));
  ASSERT_TRUE(WaitForBlocked(1));
  EXPECT_EQ(admin_->Call({"client", "unblock", id, "error"}), ":1\r\n");
  EXPECT_EQ(blocked->ReadReply(kPatienceMs), "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
  ASSERT_TRUE(WaitForBlocked(0));
  EXPECT_EQ(admin_->Call({"client", "unblock", id}), ":0\r\n");
  // Unblocked clients are no longer waiters: a write wakes nobody, and the
  // connection serves commands again.
  EXPECT_EQ(admin_->Call({"rpush", "l", "x"}), ":1\r\n");
  EXPECT_EQ(blocked->Call({"lpop", "l"}), Bulk("x"));
}

TEST_F(BlockingServerTest, PipelinedCommandsWaitForTheBlockedOne) {
  auto blocked = Connect();
  ASSERT_TRUE(blocked->SendRaw(EncodeCommand({"set", "x", "1"}) +
                               EncodeCommand({"bzpopmax", "z", "0"}) +
                               EncodeCommand({"get", "x"})));
  EXPECT_EQ(blocked->ReadReply(kPatienceMs), "+OK\r\n");  // before the block: sent at once
  ASSERT_TRUE(WaitForBlocked(1));
  EXPECT_EQ(admin_->Call({"set", "x", "2"}), "+OK\r\n");
  EXPECT_EQ(admin_->Call({"zadd", "z", "1", "a", "2", "b"}), ":2\r\n");
  EXPECT_EQ(blocked->ReadReply(kPatienceMs), "*3\r\n" + Bulk("z") + Bulk("b") + Bulk("2"));
  EXPECT_EQ(blocked->ReadReply(kPatienceMs), Bulk("2"));  // ran after the pop
}

TEST_F(BlockingServerTest, TimeoutRepliesNull) {
  auto blocked = Connect();
  EXPECT_EQ(blocked->Call({"bzpopmin", "z", "0.05"}, kPatienceMs), "*-1\r\n");
  EXPECT_EQ(blocked->Call({"bzmpop", "0.05", "2", "a", "b", "min"}, kPatienceMs), "*-1\r\n");
  EXPECT_EQ(BlockedClients(), 0);
  EXPECT_EQ(blocked->Call({"hello", "3"}).substr(0, 1), "%");
  EXPECT_EQ(blocked->Call({"bzpopmin", "z", "0.05"}, kPatienceMs), "_\r\n");  // RESP3 null
}

TEST_F(BlockingServerTest, OldestWaiterFirstAndOneMemberEach) {
  auto first = Connect();
  auto second = Connect();
  ASSERT_TRUE(first->Send({"bzpopmin", "z", "0"}));
  ASSERT_TRUE(WaitForBlocked(1));
  ASSERT_TRUE(second->Send({"bzpopmin", "z", "0"}));
  ASSERT_TRUE(WaitForBlocked(2));
  EXPECT_EQ(admin_->Call({"zadd", "z", "1", "a"}), ":1\r\n");
  // One member: one client gets it, the other waits on (blocked again).
  EXPECT_EQ(first->ReadReply(kPatienceMs), "*3\r\n" + Bulk("z") + Bulk("a") + Bulk("1"));
  ASSERT_TRUE(WaitForBlocked(1));
  EXPECT_EQ(admin_->Call({"zadd", "z", "2", "b"}), ":1\r\n");
  EXPECT_EQ(second->ReadReply(kPatienceMs), "*3\r\n" + Bulk("z") + Bulk("b") + Bulk("2"));
  EXPECT_EQ(BlockedClients(), 0);
}

TEST_F(BlockingServerTest, AClientThatLeftTakesNothing) {
  auto gone = Connect();
  ASSERT_TRUE(gone->Send({"bzpopmin", "z", "0"}));
  ASSERT_TRUE(WaitForBlocked(1));
  gone->Close();
  // Seen when the write wakes it (or before, if the server noticed): the
  // member stays.
  EXPECT_EQ(admin_->Call({"zadd", "z", "1", "a"}), ":1\r\n");
  ASSERT_TRUE(WaitForBlocked(0));
  EXPECT_EQ(admin_->Call({"zcard", "z"}), ":1\r\n");
}

// The list family: BLPOP woken by RPUSH (several elements: one each, in the
// order the clients blocked), BLMOVE moving into another list.
TEST_F(BlockingServerTest, ListsWakeInOrder) {
  auto first = Connect();
  auto second = Connect();
  auto mover = Connect();
  ASSERT_TRUE(first->Send({"blpop", "l", "0"}));
  ASSERT_TRUE(WaitForBlocked(1));
  ASSERT_TRUE(second->Send({"brpop", "other", "l", "0"}));
  ASSERT_TRUE(WaitForBlocked(2));
  ASSERT_TRUE(mover->Send({"blmove", "src", "dst", "left", "right", "0"}));
  ASSERT_TRUE(WaitForBlocked(3));
  EXPECT_EQ(admin_->Call({"rpush", "l", "a", "b", "c"}), ":3\r\n");
  EXPECT_EQ(first->ReadReply(kPatienceMs), "*2\r\n" + Bulk("l") + Bulk("a"));
  EXPECT_EQ(second->ReadReply(kPatienceMs), "*2\r\n" + Bulk("l") + Bulk("c"));
  EXPECT_EQ(admin_->Call({"lrange", "l", "0", "-1"}), "*1\r\n" + Bulk("b"));
  EXPECT_EQ(admin_->Call({"lpush", "src", "m"}), ":1\r\n");
  EXPECT_EQ(mover->ReadReply(kPatienceMs), Bulk("m"));
  EXPECT_EQ(admin_->Call({"lrange", "dst", "0", "-1"}), "*1\r\n" + Bulk("m"));
  EXPECT_EQ(mover->Call({"blmove", "src", "dst", "left", "right", "0.05"}, kPatienceMs), "*-1\r\n");
  EXPECT_EQ(BlockedClients(), 0);
}

// The oldest waiter's turn ends in an error (its destination holds another
// type): it takes nothing, and the next waiter is served.
TEST_F(BlockingServerTest, AnErrorPassesTheTurnOn) {
  auto first = Connect();
  auto second = Connect();
  EXPECT_EQ(admin_->Call({"set", "target1", "nolist"}), "+OK\r\n");
  ASSERT_TRUE(first->Send({"brpoplpush", "blist", "target1", "0"}));
  ASSERT_TRUE(WaitForBlocked(1));
  ASSERT_TRUE(second->Send({"brpoplpush", "blist", "target2", "0"}));
  ASSERT_TRUE(WaitForBlocked(2));
  EXPECT_EQ(admin_->Call({"lpush", "blist", "foo"}), ":1\r\n");
  EXPECT_EQ(first->ReadReply(kPatienceMs).substr(0, 10), "-WRONGTYPE");
  EXPECT_EQ(second->ReadReply(kPatienceMs), Bulk("foo"));
  EXPECT_EQ(admin_->Call({"lrange", "target2", "0", "-1"}), "*1\r\n" + Bulk("foo"));
}

// Streams: every blocked reader of a stream is served by one XADD ('$' is
// the last id when XREAD blocked); a blocked XREADGROUP fails when its
// stream is deleted.
TEST_F(BlockingServerTest, StreamReadersAllWake) {
  auto first = Connect();
  auto second = Connect();
  auto group_reader = Connect();
  EXPECT_EQ(admin_->Call({"xadd", "s", "1-1", "a", "b"}), Bulk("1-1"));
  EXPECT_EQ(admin_->Call({"xgroup", "create", "s", "g", "$"}), "+OK\r\n");
  ASSERT_TRUE(first->Send({"xread", "block", "0", "streams", "s", "$"}));
  ASSERT_TRUE(WaitForBlocked(1));
  ASSERT_TRUE(second->Send({"xread", "block", "0", "streams", "s", "$"}));
  ASSERT_TRUE(WaitForBlocked(2));
  ASSERT_TRUE(
      group_reader->Send({"xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"}));
  ASSERT_TRUE(WaitForBlocked(3));
  EXPECT_EQ(admin_->Call({"xadd", "s", "2-1", "c", "d"}), Bulk("2-1"));
  const std::string served =
      "*1\r\n*2\r\n" + Bulk("s") + "*1\r\n*2\r\n" + Bulk("2-1") + "*2\r\n" + Bulk("c") + Bulk("d");
  EXPECT_EQ(first->ReadReply(kPatienceMs), served);
  EXPECT_EQ(second->ReadReply(kPatienceMs), served);
  EXPECT_EQ(group_reader->ReadReply(kPatienceMs), served);
  ASSERT_TRUE(WaitForBlocked(0));
  ASSERT_TRUE(
      group_reader->Send({"xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"}));
  ASSERT_TRUE(WaitForBlocked(1));
  EXPECT_EQ(admin_->Call({"del", "s"}), ":1\r\n");
  EXPECT_EQ(group_reader->ReadReply(kPatienceMs), "-UNBLOCKED the stream key no longer exists\r\n");
  EXPECT_EQ(first->Call({"xread", "block", "50", "streams", "s", "$"}, kPatienceMs), "*-1\r\n");
}

TEST_F(BlockingServerTest, ShutdownWithABlockedClient) {
  auto blocked = Connect();
  ASSERT_TRUE(blocked->Send({"bzpopmin", "z", "0"}));
  ASSERT_TRUE(WaitForBlocked(1));
  const int status = server_->StopWith(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(blocked->WaitClosed(kPatienceMs));
}

}  // namespace
}  // namespace lsmkv::server::test
