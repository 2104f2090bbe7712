#include "server/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "server/cpus.h"

namespace lsmkv::server {
namespace {

TEST(ConfigTest, DefaultsMatchTheDocumentedOnes) {
  Config config;
  EXPECT_EQ(config.String(Setting::kBind), "127.0.0.1");
  EXPECT_EQ(config.Int(Setting::kPort), 6380);
  EXPECT_EQ(config.String(Setting::kDir), "./data");
  EXPECT_EQ(config.Get(*Config::Find("appendfsync")), "everysec");
  EXPECT_EQ(config.Int(Setting::kProtoMaxBulkLen), 512ll * 1024 * 1024);
  EXPECT_EQ(config.Get(*Config::Find("appendonly")), "yes");
  EXPECT_EQ(config.Get(*Config::Find("save")), "");
  // Every default is valid.
  for (const SettingInfo& info : Config::Table()) {
    Config scratch;
    EXPECT_EQ(scratch.Set(info, info.default_value), "") << info.name;
  }
}

// io-threads 0 leaves one usable CPU to the engine's background threads,
// and never runs fewer than one loop; the usable CPUs are this process's
// (its affinity mask), at least one, at most the machine's.
TEST(ConfigTest, DefaultIoThreadsLeaveACpuFree) {
  EXPECT_EQ(1, DefaultIoThreads(1));
  EXPECT_EQ(1, DefaultIoThreads(2));
  EXPECT_EQ(3, DefaultIoThreads(4));
  EXPECT_EQ(63, DefaultIoThreads(64));
  const unsigned cpus = UsableCpus();
  EXPECT_GE(cpus, 1u);
  if (std::thread::hardware_concurrency() > 0) {
    EXPECT_LE(cpus, std::thread::hardware_concurrency());
  }
}

TEST(ConfigTest, RedisErrorWording) {
  Config config;
  EXPECT_EQ(config.Set(*Config::Find("maxclients"), "abc"),
            "argument couldn't be parsed into an integer");
  EXPECT_EQ(config.Set(*Config::Find("timeout"), "-1"),
            "argument must be between 0 and 2147483647 inclusive");
  EXPECT_EQ(config.Set(*Config::Find("appendfsync"), "foo"),
            "argument(s) must be one of the following: everysec, always, no");
  EXPECT_EQ(config.Set(*Config::Find("proto-max-bulk-len"), "lots"),
            "argument must be a memory value");
  EXPECT_EQ(config.Set(*Config::Find("appendfsync"), "ALWAYS"), "");
  EXPECT_EQ(config.Get(*Config::Find("appendfsync")), "always");
  EXPECT_EQ(Config::Find("MaxClients"), Config::Find("maxclients"));
  EXPECT_EQ(Config::Find("nonexistent"), nullptr);
}

TEST(ConfigTest, MemoryUnits) {
  int64_t v = 0;
  ASSERT_TRUE(ParseMemory("4096", &v));
  EXPECT_EQ(v, 4096);
  ASSERT_TRUE(ParseMemory("1k", &v));
  EXPECT_EQ(v, 1000);
  ASSERT_TRUE(ParseMemory("1KB", &v));
  EXPECT_EQ(v, 1024);
  ASSERT_TRUE(ParseMemory("512mb", &v));
  EXPECT_EQ(v, 512ll << 20);
  ASSERT_TRUE(ParseMemory("2gb", &v));
  EXPECT_EQ(v, 2ll << 30);
  EXPECT_FALSE(ParseMemory("mb", &v));
  EXPECT_FALSE(ParseMemory("-1", &v));
  EXPECT_FALSE(ParseMemory("1tb", &v));
}

TEST(ConfigTest, OutputBufferLimitInRedisSyntax) {
  Config config;
  const SettingInfo& info = *Config::Find("client-output-buffer-limit");
  EXPECT_EQ(config.Set(info, "normal 1mb 0 0"), "");
  EXPECT_EQ(config.Int(Setting::kClientOutputBufferLimit), 1 << 20);
  EXPECT_EQ(config.Get(info).rfind("normal 1048576 0 0", 0), 0u);
  EXPECT_NE(config.Set(info, "normal 1mb 0"), "");
  EXPECT_NE(config.Set(info, "bogus 1mb 0 0"), "");
}

TEST(ConfigTest, CommandLineAndFile) {
  const std::string path = ::testing::TempDir() + "/lsmkv_server_config_test.conf";
  {
    std::ofstream out(path);
    out << "# a comment\n"
        << "port 7000\n"
        << "requirepass \"two words\"\n"
        << "appendfsync always\n"
        << "client-output-buffer-limit normal 0 0 0\n";
  }
  Config config;
  bool help = false, version = false;
  EXPECT_EQ(
      config.ParseCommandLine({"--config", path, "--port", "7001", "--timeout=5"}, &help, &version),
      "");
  EXPECT_EQ(config.Int(Setting::kPort), 7001);  // the command line wins
  EXPECT_EQ(config.String(Setting::kRequirepass), "two words");
  EXPECT_EQ(config.Int(Setting::kTimeout), 5);
  EXPECT_EQ(config.config_file(), path);

  Config positional;
  EXPECT_EQ(positional.ParseCommandLine({path}, &help, &version), "");
  EXPECT_EQ(positional.Int(Setting::kPort), 7000);

  Config bad;
  EXPECT_NE(bad.ParseCommandLine({"--bogus", "1"}, &help, &version), "");
  EXPECT_NE(bad.ParseCommandLine({"--port"}, &help, &version), "");
  EXPECT_NE(bad.ParseCommandLine({"--port", "99999"}, &help, &version), "");
  {
    std::ofstream out(path);
    out << "port 7000\nnonsense 1\n";
  }
  const std::string error = bad.LoadFile(path);
  EXPECT_NE(error.find(":2: unknown setting 'nonsense'"), std::string::npos) << error;
  std::remove(path.c_str());

  Config h;
  EXPECT_EQ(h.ParseCommandLine({"--help"}, &help, &version), "");
  EXPECT_TRUE(help);
}

TEST(ConfigTest, EngineChoice) {
  Config config;
  const SettingInfo& info = *Config::Find("engine");
  EXPECT_EQ(config.Get(info), "lsm");
  EXPECT_FALSE(info.mutable_at_runtime);
  bool help = false, version = false;
  EXPECT_EQ(config.ParseCommandLine({"--engine", "btree"}, &help, &version), "");
  EXPECT_EQ(config.Get(info), "btree");
  EXPECT_EQ(config.Int(Setting::kEngine), 1);  // StorageEngine::kBTree
  EXPECT_EQ(config.Set(info, "bitcask"), "");
  EXPECT_EQ(config.Int(Setting::kEngine), 2);
  EXPECT_EQ(config.Set(info, "lmdb"),
            "argument(s) must be one of the following: lsm, btree, bitcask");
  const std::string path = ::testing::TempDir() + "/lsmkv_server_engine_test.conf";
  {
    std::ofstream out(path);
    out << "engine bitcask\n";
  }
  Config from_file;
  EXPECT_EQ(from_file.ParseCommandLine({path}, &help, &version), "");
  EXPECT_EQ(from_file.Get(info), "bitcask");
  std::remove(path.c_str());
}

TEST(ConfigTest, RenameCommandInFileAndOnTheCommandLine) {
  const std::string path = ::testing::TempDir() + "/lsmkv_server_rename_test.conf";
  {
    std::ofstream out(path);
    out << "rename-command FLUSHALL \"\"\n"
        << "rename-command config cfg-secret\n";
  }
  Config config;
  bool help = false, version = false;
  EXPECT_EQ(
      config.ParseCommandLine({path, "--rename-command", "SHUTDOWN", "stop-7"}, &help, &version),
      "");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"flushall", ""}, {"config", "cfg-secret"}, {"shutdown", "stop-7"}};
  EXPECT_EQ(config.renames(), expected);
  Config bad;
  EXPECT_NE(bad.ParseCommandLine({"--rename-command", "get"}, &help, &version), "");
  EXPECT_NE(bad.ParseCommandLine({"--rename-command", "get", "two words"}, &help, &version), "");
  {
    std::ofstream out(path);
    out << "rename-command get\n";
  }
  EXPECT_NE(bad.LoadFile(path).find(":1: rename-command needs NAME NEWNAME"), std::string::npos);
  std::remove(path.c_str());
}

TEST(ConfigTest, HelpDocumentsEverySetting) {
  const std::string help = Config::HelpText();
  for (const SettingInfo& info : Config::Table()) {
    EXPECT_NE(help.find(std::string("--") + info.name), std::string::npos) << info.name;
  }
  EXPECT_NE(help.find("--config FILE"), std::string::npos);
}

}  // namespace
}  // namespace lsmkv::server
