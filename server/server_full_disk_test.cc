// lsmkv-server on a real full disk: a small tmpfs mounted for the test (root
// only; without the right to mount, the binary exits with 77, which ctest
// reports as skipped). The server process (LSMKV_SERVER_BIN) keeps its data
// there next to a filler file; SETs of large values run until the disk is
// full. Then: the error reply names the lack of space, reads go on, INFO
// and the metrics endpoint report the error state and count every refused
// write; once the filler is removed, writes work again by themselves — no
// restart, no command — and everything acknowledged is still there after a
// clean restart.
//
// Waiting: the engine's recovery thread retries on its own schedule, so the
// test polls (bounded) for the SET to succeed rather than sleeping.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "server/test_client.h"
#include "util/testutil.h"

namespace lsmkv::server::test {
namespace {

std::string g_mount_dir;  // the tmpfs, mounted by main

std::string ServerBinary() {
  const char* bin = std::getenv("LSMKV_SERVER_BIN");
  return bin ? bin : "./lsmkv-server";
}

bool WriteFiller(const std::string& path, size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  const std::string chunk(64 * 1024, 'f');
  for (size_t written = 0; written < bytes && out; written += chunk.size()) out << chunk;
  out.flush();
  return static_cast<bool>(out);
}

TEST(ServerFullDiskTest, WritesResumeWhenSpaceReturnsWithoutRestart) {
  const std::string dir = g_mount_dir + "/data";
  const std::string filler = g_mount_dir + "/filler";
  ASSERT_TRUE(WriteFiller(filler, 3 << 20));

  ServerProcess server;
  std::string log;
  ASSERT_TRUE(server.Start(
      ServerBinary(), dir,
      {"--write-buffer-size", "1mb", "--appendfsync", "always", "--metrics-port", "0"}, &log))
      << log;
  RespClient c;
  ASSERT_TRUE(c.Connect(server.port()));

  // Fill the disk with 64 KiB values until a SET is refused.
  const std::string value(64 * 1024, 'v');
  std::map<std::string, std::string> acknowledged;
  std::string reply;
  int i = 0;
  for (; i < 400; i++) {
    const std::string key = "key" + std::to_string(i);
    reply = c.Call({"SET", key, value});
    if (reply != "+OK\r\n") break;
    acknowledged[key] = value;
  }
  ASSERT_LT(i, 400) << "the 8 MiB tmpfs never filled up";
  ASSERT_GT(i, 0);
  EXPECT_EQ(0u, reply.rfind("-ERR ", 0)) << reply;
  EXPECT_NE(std::string::npos, reply.find("space")) << reply;
  const std::string refused_reply = c.Call({"SET", "refused", "x"});
  EXPECT_EQ(0u, refused_reply.rfind("-ERR ", 0)) << refused_reply;

  // Reads go on; INFO tells what is wrong and counts the refused writes.
  EXPECT_EQ(value, BulkValue(c.Call({"GET", "key0"})));
  std::string info = BulkValue(c.Call({"INFO", "everything"}));
  EXPECT_EQ("err", InfoField(info, "aof_last_write_status")) << info;
  EXPECT_EQ("recoverable", InfoField(info, "lsmkv_error_state")) << info;
  EXPECT_NE(std::string::npos, InfoField(info, "lsmkv_background_error").find("space"));
  const std::string errors = InfoField(info, "errorstat_ERR");
  ASSERT_EQ(0u, errors.rfind("count=", 0)) << info;
  EXPECT_GE(std::stoi(errors.substr(6)), 2);
  EXPECT_NE(std::string::npos, InfoField(info, "cmdstat_set").find("failed_calls="));
  EXPECT_EQ(std::string::npos, InfoField(info, "cmdstat_set").find("failed_calls=0"));
  EXPECT_GE(std::stoi(InfoField(info, "lsmkv_failed_writes")), 2);

  // The metrics endpoint shows the same.
  RespClient http;
  ASSERT_TRUE(http.Connect(server.metrics_port()));
  ASSERT_TRUE(http.SendRaw("GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n"));
  const std::string metrics = http.ReadAll();
  EXPECT_NE(std::string::npos, metrics.find("lsmkv_engine_error_state{state=\"recoverable\"} 1"))
      << metrics.substr(0, 2000);
  EXPECT_NE(std::string::npos, metrics.find("lsmkv_server_error_replies_total{code=\"ERR\"}"));

  // Space returns: writes resume by themselves.
  ASSERT_EQ(0, ::unlink(filler.c_str()));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((reply = c.Call({"SET", "after", "space"})) != "+OK\r\n") {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "writes never resumed: " << reply;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  acknowledged["after"] = "space";
  for (int j = 0; j < 20; j++) {
    const std::string key = "more" + std::to_string(j);
    ASSERT_EQ("+OK\r\n", c.Call({"SET", key, value})) << j;
    acknowledged[key] = value;
  }
  info = BulkValue(c.Call({"INFO", "everything"}));
  EXPECT_EQ("ok", InfoField(info, "aof_last_write_status"));
  EXPECT_EQ("none", InfoField(info, "lsmkv_error_state"));
  EXPECT_GE(std::stoi(InfoField(info, "lsmkv_background_error_recoveries")), 1) << info;

  // Nothing acknowledged was lost, across a clean restart too.
  c.Close();
  ASSERT_EQ(0, server.StopWith(SIGTERM)) << server.output();
  ServerProcess again;
  ASSERT_TRUE(again.Start(ServerBinary(), dir, {"--write-buffer-size", "1mb"}, &log)) << log;
  RespClient d;
  ASSERT_TRUE(d.Connect(again.port()));
  for (const auto& [key, expected] : acknowledged) {
    ASSERT_EQ(expected, BulkValue(d.Call({"GET", key}))) << key;
  }
  EXPECT_EQ("+OK\r\n", d.Call({"SET", "after-restart", "x"}));
}

}  // namespace
}  // namespace lsmkv::server::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return lsmkv::test::RunAllTestsOnTmpfs("size=8m", &lsmkv::server::test::g_mount_dir);
}
