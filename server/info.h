// INFO: the sections and field names Redis tools and exporters read
// (server, clients, memory, persistence, stats, replication, cpu,
// commandstats, keyspace), plus an "lsmkv" section with the engine's level
// and compaction statistics.
#ifndef LSMKV_SERVER_INFO_H_
#define LSMKV_SERVER_INFO_H_

#include <string>
#include <vector>

#include "server/server_context.h"

namespace lsmkv::server {

// The INFO text for the requested section names (lowercase; empty or
// "default" = the default set; "all"/"everything" = every section).
// Unknown section names are ignored, as by Redis.
std::string BuildInfo(ServerContext& server, const std::vector<std::string>& sections);

// Resident set size of this process in bytes (0 if unknown).
uint64_t ResidentBytes();

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_INFO_H_
