// ServerContext: the server-wide objects a command may use, and ServerStats,
// the counters INFO stats and the metrics endpoint report.
//
// Thread safety: the pointed-to objects are thread-safe; the context itself
// is built before the first client and not changed afterwards.
#ifndef LSMKV_SERVER_SERVER_CONTEXT_H_
#define LSMKV_SERVER_SERVER_CONTEXT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "server/error_stats.h"

namespace lsmkv::server {

class AuthGuard;
class ClientRegistry;
class Cluster;
class CommandTable;
class Config;
class ExpiryFilter;
class Keyspace;
class PubSub;
class ScanCursors;
class Scripting;

struct ServerStats {
  std::atomic<uint64_t> connections_received{0};
  std::atomic<uint64_t> rejected_connections{0};
  std::atomic<uint64_t> commands_processed{0};
  std::atomic<uint64_t> net_input_bytes{0};
  std::atomic<uint64_t> net_output_bytes{0};
  ErrorStats errors;  // every error reply, by code
  std::atomic<uint64_t> protocol_errors{0};
  // Connections closed because a request stayed incomplete too long.
  std::atomic<uint64_t> request_timeouts{0};
  // AUTH: wrong passwords, attempts refused unchecked (source blocked),
  // connections closed for too many failures, clients refused by protected
  // mode.
  std::atomic<uint64_t> auth_failures{0};
  std::atomic<uint64_t> auth_rate_limited{0};
  std::atomic<uint64_t> auth_disconnects{0};
  std::atomic<uint64_t> protected_mode_refusals{0};
  std::atomic<uint64_t> sweep_runs{0};
  // Maintained by the server's once-a-second tick.
  std::atomic<uint64_t> instantaneous_ops_per_sec{0};
};

struct ServerContext {
  Config* config = nullptr;
  Keyspace* keyspace = nullptr;
  CommandTable* commands = nullptr;
  ClientRegistry* clients = nullptr;
  ScanCursors* cursors = nullptr;
  PubSub* pubsub = nullptr;  // the pub/sub registry (pubsub.h)
  const ExpiryFilter* expiry_filter = nullptr;
  AuthGuard* auth_guard = nullptr;  // nullptr: failed AUTHs are not limited per source
  ServerStats* stats = nullptr;
  // The Raft node of a replicated server (cluster.h); nullptr: standalone.
  Cluster* cluster = nullptr;
  // EVAL/SCRIPT and the script gate (scripting.h); nullptr: scripts are
  // refused and no command waits for one.
  Scripting* scripting = nullptr;
  // Asks the server to stop accepting, finish in-flight commands, close the
  // database and exit 0. Safe to call from any thread, more than once.
  std::function<void()> request_shutdown;
  int64_t start_time_ms = 0;  // Unix ms
  int tcp_port = 0;           // the port actually listened on
  std::string executable;
  int io_threads = 0;
};

// The lsmkv-server version and the Redis version whose behaviour it follows.
inline constexpr const char kServerVersion[] = "0.1.0";
inline constexpr const char kRedisCompatVersion[] = "7.0.0";

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_SERVER_CONTEXT_H_
