// lsmkv-server: a Redis-protocol server over lsmkv. See --help, README.md
// ("lsmkv-server") and docs/REDIS_COMPAT.md.
//
// Exit codes: 0 after a clean shutdown (SHUTDOWN, SIGTERM, SIGINT) or for
// --help/--version; 1 if the database cannot be opened, the address cannot
// be bound, or closing the database failed; 2 for a usage or config error.
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "server/config.h"
#include "server/server.h"

int main(int argc, char** argv) {
  using lsmkv::server::Config;
  using lsmkv::server::Setting;
  std::signal(SIGPIPE, SIG_IGN);

  Config config;
  std::vector<std::string> args(argv + 1, argv + argc);
  bool help = false, version = false;
  const std::string error = config.ParseCommandLine(args, &help, &version);
  if (!error.empty()) {
    std::fprintf(stderr, "lsmkv-server: %s\n", error.c_str());
    return 2;
  }
  if (help) {
    std::fputs(Config::HelpText().c_str(), stdout);
    return 0;
  }
  if (version) {
    std::printf("lsmkv-server %s (Redis %s protocol and commands)\n", lsmkv::server::kServerVersion,
                lsmkv::server::kRedisCompatVersion);
    return 0;
  }

  lsmkv::server::Server server(&config, argc > 0 ? argv[0] : "lsmkv-server");
  lsmkv::Status s = server.Open();
  if (!s.ok()) {
    std::fprintf(stderr, "lsmkv-server: cannot open the database in %s: %s\n",
                 config.String(Setting::kDir).c_str(), s.ToString().c_str());
    return 1;
  }
  std::string listen_error;
  if (!server.Listen(&listen_error)) {
    std::fprintf(stderr, "lsmkv-server: %s\n", listen_error.c_str());
    return 1;
  }
  const auto& fsync_info = *Config::Find("appendfsync");
  std::printf(
      "lsmkv-server %s listening on %s (data directory %s, appendfsync %s, %d io threads)\n",
      lsmkv::server::kServerVersion, server.listen_address().c_str(),
      config.String(Setting::kDir).c_str(), config.Get(fsync_info).c_str(),
      server.context().io_threads);
  if (server.metrics_port() >= 0) {
    std::printf("lsmkv-server metrics on http://%s:%d/metrics\n",
                config.String(Setting::kBind).c_str(), server.metrics_port());
  }
  std::fflush(stdout);

  s = server.Run();
  if (!s.ok()) {
    std::fprintf(stderr, "lsmkv-server: closing the database: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("lsmkv-server: shut down cleanly\n");
  std::fflush(stdout);
  return 0;
}
