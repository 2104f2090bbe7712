// lsmkv-abuse: the hostile clients of issue 14 against a running server, for
// scripts/soak_server.sh. For --seconds it runs, each on its own threads:
//   slowloris  connections trickling one byte of an unfinished request at a time
//   bigargs    a request announcing 1M arguments, then empty bulks until cut off
//   watch      WATCH of 60,000 keys, then UNWATCH, over and over
//   multi      MULTI and 20,000 queued SETs, then EXEC or a disconnect
//   stalled    GETs of a 16 MB value from a client that reads nothing for 2 s
//   badauth    pipelines of 10,000 wrong AUTHs
//   keys       KEYS * over the keyspace
// while a prober sends PING every 50 ms on a connection of its own and times
// the replies. Prints one line "name=value ..." with the probe's count,
// maximum and 99th percentile latency (ms), failed probes, and how many
// rounds each abuser completed. Exit 0 unless the server could not be
// reached at all.
//
//   lsmkv-abuse --port PORT [--seconds S] [--only NAME]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "server/test_client.h"

namespace {

using lsmkv::server::test::EncodeCommand;
using lsmkv::server::test::RespClient;
using Clock = std::chrono::steady_clock;

int g_port = 0;
std::atomic<bool> g_stop{false};

// Connects with a bounded send time (a server that stops reading must not
// hang the abuser).
bool Connect(RespClient* c) {
  if (!c->Connect(g_port)) return false;
  c->set_send_timeout(5000);
  return true;
}

// Sends `commands` in pipelines of `chunk`, reading each pipeline's replies
// before the next (a client that reads nothing would stall on its own
// sends). Returns false once the connection is gone.
bool Pipelined(RespClient* c, const std::vector<std::vector<std::string>>& commands, size_t chunk) {
  for (size_t i = 0; i < commands.size() && !g_stop.load(); i += chunk) {
    std::string pipeline;
    const size_t end = std::min(commands.size(), i + chunk);
    for (size_t j = i; j < end; j++) pipeline += EncodeCommand(commands[j]);
    if (!c->SendRaw(pipeline)) return false;
    for (size_t j = i; j < end; j++) {
      if (c->ReadReply(30000).empty()) return false;
    }
  }
  return true;
}

void Pause(int ms) {
  for (int i = 0; i < ms / 10 && !g_stop.load(); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

struct Abuser {
  const char* name;
  int threads;
  std::function<void()> round;  // one round; returns when done or stopped
  std::atomic<uint64_t> rounds{0};
};

void Slowloris() {
  RespClient c;
  if (!Connect(&c)) return Pause(100);
  if (!c.SendRaw("*3\r\n$3\r\nSET\r\n$2\r\nsl\r\n$100000\r\n")) return;
  while (!g_stop.load() && c.SendRaw("x")) Pause(200);
}

void BigArgs() {
  RespClient c;
  if (!Connect(&c)) return Pause(100);
  if (!c.SendRaw("*1000000\r\n$4\r\nECHO\r\n")) return;
  std::string chunk;
  for (int i = 0; i < 10000; i++) chunk += "$0\r\n\r\n";
  // 900,000 of the 1,000,000: the request stays unfinished.
  for (int i = 0; i < 90 && !g_stop.load(); i++) {
    if (!c.SendRaw(chunk)) break;
  }
  c.ReadReply(1000);
}

void Watch() {
  RespClient c;
  if (!Connect(&c)) return Pause(100);
  std::vector<std::string> args = {"WATCH"};
  for (int i = 0; i < 60000; i++) args.push_back("w" + std::to_string(i));
  c.Call(args, 30000);
  c.Call({"UNWATCH"}, 30000);
}

void Multi(uint64_t round) {
  RespClient c;
  if (!Connect(&c)) return Pause(100);
  std::vector<std::vector<std::string>> commands = {{"MULTI"}};
  for (int i = 0; i < 20000; i++) commands.push_back({"SET", "m" + std::to_string(i % 5000), "v"});
  if (!Pipelined(&c, commands, 1000)) return;
  if (round % 2 == 0) c.Call({"EXEC"}, 30000);  // else: leave with the queue full
}

void Stalled() {
  RespClient c;
  if (!Connect(&c)) return Pause(100);
  c.SendRaw(EncodeCommand({"GET", "abuse:big"}) + EncodeCommand({"GET", "abuse:big"}) +
            EncodeCommand({"GET", "abuse:big"}));
  Pause(2000);
}

void BadAuth() {
  RespClient c;
  if (!Connect(&c)) return Pause(100);
  std::vector<std::vector<std::string>> commands;
  for (int i = 0; i < 10000; i++) commands.push_back({"AUTH", "guess" + std::to_string(i)});
  Pipelined(&c, commands, 1000);
}

void Keys() {
  RespClient c;
  if (!Connect(&c)) return Pause(100);
  c.Call({"KEYS", "*"}, 30000);
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 60;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--only") == 0) only = argv[i + 1];
    if (std::strcmp(argv[i], "--port") == 0) g_port = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
  }
  if (g_port <= 0 || seconds <= 0) {
    std::fprintf(stderr, "usage: lsmkv-abuse --port PORT [--seconds S] [--only NAME]\n");
    return 2;
  }
  {
    RespClient setup;
    if (!setup.Connect(g_port)) {
      std::fprintf(stderr, "lsmkv-abuse: cannot connect to port %d\n", g_port);
      return 1;
    }
    setup.Call({"SET", "abuse:big", std::string(16 << 20, 'b')}, 30000);
  }

  std::atomic<uint64_t> multi_rounds{0};
  Abuser abusers[] = {
      {"slowloris", 4, Slowloris}, {"bigargs", 1, BigArgs},
      {"watch", 2, Watch},         {"multi", 1, [&] { Multi(multi_rounds.fetch_add(1)); }},
      {"stalled", 2, Stalled},     {"badauth", 1, BadAuth},
      {"keys", 2, Keys},
  };
  std::vector<std::thread> threads;
  for (Abuser& a : abusers) {
    if (!only.empty() && only != a.name) continue;
    for (int t = 0; t < a.threads; t++) {
      threads.emplace_back([&a] {
        while (!g_stop.load()) {
          a.round();
          a.rounds.fetch_add(1);
        }
      });
    }
  }

  std::vector<double> latencies;
  uint64_t failed = 0;
  RespClient probe;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    if (!probe.connected() && !probe.Connect(g_port)) {
      failed++;
      Pause(50);
      continue;
    }
    const auto start = Clock::now();
    const std::string reply = probe.Call({"PING"}, 10000);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (reply != "+PONG\r\n") {
      failed++;
      probe.Close();
    } else {
      latencies.push_back(ms);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  g_stop.store(true);
  for (std::thread& t : threads) t.join();

  std::sort(latencies.begin(), latencies.end());
  const double max = latencies.empty() ? 0 : latencies.back();
  const double p99 = latencies.empty() ? 0 : latencies[latencies.size() * 99 / 100];
  std::printf("pings=%zu ping_failed=%llu ping_max_ms=%.1f ping_p99_ms=%.1f", latencies.size(),
              static_cast<unsigned long long>(failed), max, p99);
  for (const Abuser& a : abusers) {
    std::printf(" %s_rounds=%llu", a.name, static_cast<unsigned long long>(a.rounds.load()));
  }
  std::printf("\n");
  return 0;
}
