// MetricsEndpoint: Prometheus text format on http://BIND:PORT/metrics,
// served by prometheus-cpp's Exposer. Each scrape reads the server's own
// counters (no extra work on the command path):
//   lsmkv_server_commands_total{command}            calls per command
//   lsmkv_server_command_errors_total{command}      failed + rejected calls
//   lsmkv_server_command_duration_seconds{command}  latency histogram
//   lsmkv_server_connected_clients, ..._connections_received_total,
//   ..._rejected_connections_total, ..._net_{input,output}_bytes_total,
//   ..._keyspace_{hits,misses}_total, ..._expired_keys_total{by},
//   ..._resident_memory_bytes
//   lsmkv_engine_<statistic> and lsmkv_engine_level_*{level}: the engine's
//   lsmkv.stats / lsmkv.levels figures.
//
// Thread safety: scrapes run on the Exposer's threads; everything they read
// is thread-safe.
#ifndef LSMKV_SERVER_METRICS_H_
#define LSMKV_SERVER_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include "server/server_context.h"

namespace prometheus {
class Exposer;
}

namespace lsmkv::server {

class MetricsCollector;

class MetricsEndpoint {
 public:
  explicit MetricsEndpoint(ServerContext* context);
  ~MetricsEndpoint();

  // Binds bind_address:port (0 = a free port). Error message in *error.
  bool Start(const std::string& bind_address, int port, std::string* error);
  // The bound port (after Start).
  int port() const;

 private:
  ServerContext* context_;
  std::shared_ptr<MetricsCollector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_METRICS_H_
