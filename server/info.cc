#include "server/info.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "server/client_state.h"
#include "server/cluster.h"
#include "server/command_table.h"
#include "server/config.h"
#include "server/engine_stats.h"
#include "server/expiry_filter.h"
#include "server/keyspace.h"
#include "server/pubsub.h"
#include "server/scripting.h"

namespace lsmkv::server {

namespace {

const char* const kDefaultSections[] = {"server",  "clients",     "memory", "persistence",
                                        "stats",   "replication", "cpu",    "errorstats",
                                        "cluster", "keyspace",    "lsmkv"};
const char* const kAllSections[] = {"server",     "clients",     "memory",   "persistence",
                                    "stats",      "replication", "cpu",      "commandstats",
                                    "errorstats", "cluster",     "keyspace", "lsmkv"};

class Section {
 public:
  Section(std::string* out, const char* title) : out_(out) {
    if (!out_->empty()) out_->append("\r\n");
    out_->append("# ").append(title).append("\r\n");
  }
  void Field(const std::string& name, const std::string& value) {
    out_->append(name).append(":").append(value).append("\r\n");
  }
  void Field(const std::string& name, uint64_t value) { Field(name, std::to_string(value)); }
  void Field(const std::string& name, int64_t value) { Field(name, std::to_string(value)); }
  void Field(const std::string& name, int value) { Field(name, std::to_string(value)); }
  void FieldDouble(const std::string& name, double value, int decimals = 2) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
    Field(name, std::string(buf));
  }

 private:
  std::string* out_;
};

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "K", "M", "G", "T"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    unit++;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof(buf), "%lluB", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof(buf), "%.2f%s", value, units[unit]);
  }
  return buf;
}

uint64_t Load(const std::atomic<uint64_t>& v) { return v.load(std::memory_order_relaxed); }

uint64_t EngineProperty(DB* db, const char* name) {
  std::string value;
  if (!db->GetProperty(name, &value)) return 0;
  return std::strtoull(value.c_str(), nullptr, 10);
}

void ServerSection(ServerContext& server, std::string* out) {
  Section s(out, "Server");
  struct utsname name;
  std::string os = "Linux";
  if (uname(&name) == 0) os = std::string(name.sysname) + " " + name.release + " " + name.machine;
  const int64_t now = server.keyspace->clock()->NowMs();
  const int64_t uptime = (now - server.start_time_ms) / 1000;
  s.Field("redis_version", kRedisCompatVersion);
  s.Field("lsmkv_version", kServerVersion);
  s.Field("redis_mode", "standalone");
  s.Field("lsmkv_engine", server.config->Get(*Config::Find("engine")));
  s.Field("os", os);
  s.Field("arch_bits", static_cast<int>(sizeof(void*) * 8));
  s.Field("multiplexing_api", "epoll");
  s.Field("process_id", static_cast<int64_t>(getpid()));
  s.Field("tcp_port", server.tcp_port);
  s.Field("server_time_usec", now * 1000);
  s.Field("uptime_in_seconds", uptime);
  s.Field("uptime_in_days", uptime / 86400);
  s.Field("hz", server.config->Int(Setting::kHz));
  s.Field("configured_hz", server.config->Int(Setting::kHz));
  s.Field("executable", server.executable);
  s.Field("config_file", server.config->config_file());
  s.Field("io_threads_active", server.io_threads > 1 ? 1 : 0);
  s.Field("io_threads", server.io_threads);
}

void ClientsSection(ServerContext& server, std::string* out) {
  Section s(out, "Clients");
  s.Field("connected_clients", static_cast<uint64_t>(server.clients->size()));
  s.Field("cluster_connections", 0);
  s.Field("maxclients", server.config->Int(Setting::kMaxclients));
  s.Field("blocked_clients", server.keyspace->blocking().waiters());
  s.Field("tracking_clients", 0);
  s.Field("clients_in_timeout_table", 0);
}

void MemorySection(ServerContext& server, std::string* out) {
  Section s(out, "Memory");
  const uint64_t rss = ResidentBytes();
  DB* db = server.keyspace->db();
  // Redis's used_memory is what its allocator holds for data; here the data
  // is on disk, so the process's resident size is the honest figure.
  s.Field("used_memory", rss);
  s.Field("used_memory_human", HumanBytes(rss));
  s.Field("used_memory_rss", rss);
  s.Field("used_memory_rss_human", HumanBytes(rss));
  s.Field("maxmemory", 0);
  s.Field("maxmemory_human", "0B");
  s.Field("maxmemory_policy", "noeviction");
  s.Field("mem_allocator", "libc");
  if (server.scripting != nullptr) {  // the Lua heap (scripting.h)
    const uint64_t lua = server.scripting->info_lua_bytes();
    s.Field("used_memory_lua", lua);
    s.Field("used_memory_lua_human", HumanBytes(lua));
    s.Field("number_of_cached_scripts", server.scripting->info_cached_scripts());
  }
  s.Field("lsmkv_memtable_bytes", EngineProperty(db, "lsmkv.cur-size-active-mem-table"));
  s.Field("lsmkv_immutable_memtables", EngineProperty(db, "lsmkv.num-immutable-mem-table"));
  s.Field("lsmkv_block_cache_capacity", server.config->Int(Setting::kBlockCacheSize));
}

void PersistenceSection(ServerContext& server, std::string* out) {
  Section s(out, "Persistence");
  Keyspace& ks = *server.keyspace;
  s.Field("loading", 0);
  s.Field("async_loading", 0);
  s.Field("rdb_changes_since_last_save", ks.write_generation());
  s.Field("rdb_bgsave_in_progress", 0);
  s.Field("rdb_last_save_time", server.start_time_ms / 1000);
  s.Field("rdb_last_bgsave_status", "ok");
  s.Field("aof_enabled", 1);
  s.Field("aof_rewrite_in_progress", 0);
  s.Field("aof_rewrite_scheduled", 0);
  s.Field("aof_last_bgrewrite_status", "ok");
  // "err" while the engine refuses writes (a full disk, an I/O error) or
  // since the last background fsync failed.
  const bool write_error = ks.last_sync_error_ms.load(std::memory_order_relaxed) != 0 ||
                           EngineErrorState(ks.db()) != "none";
  s.Field("aof_last_write_status", write_error ? "err" : "ok");
  s.Field("appendfsync", server.config->Get(*Config::Find("appendfsync")));
  s.Field("lsmkv_background_syncs", Load(ks.syncs));
}

void StatsSection(ServerContext& server, std::string* out) {
  Section s(out, "Stats");
  ServerStats& st = *server.stats;
  Keyspace& ks = *server.keyspace;
  const uint64_t by_compaction = server.expiry_filter ? server.expiry_filter->removed() : 0;
  s.Field("total_connections_received", Load(st.connections_received));
  s.Field("total_commands_processed", Load(st.commands_processed));
  s.Field("instantaneous_ops_per_sec", Load(st.instantaneous_ops_per_sec));
  s.Field("total_net_input_bytes", Load(st.net_input_bytes));
  s.Field("total_net_output_bytes", Load(st.net_output_bytes));
  s.Field("rejected_connections", Load(st.rejected_connections));
  s.Field("expired_keys", Load(ks.expired_keys) + by_compaction);
  s.Field("expired_keys_by_sweep", Load(ks.expired_keys));
  s.Field("expired_keys_by_compaction", by_compaction);
  // Fields of deleted, expired or overwritten hashes the compaction filter
  // removed (lsmkv's own; docs/format/redis.md).
  s.Field("lsmkv_hash_fields_reclaimed",
          server.expiry_filter ? server.expiry_filter->elements_removed() : 0);
  s.Field("evicted_keys", 0);
  s.Field("keyspace_hits", Load(ks.keyspace_hits));
  s.Field("keyspace_misses", Load(ks.keyspace_misses));
  const PubSub* pubsub = server.pubsub;
  s.Field("pubsub_channels", pubsub ? pubsub->NumChannels(PubSub::Kind::kChannel) : 0);
  s.Field("pubsub_patterns", pubsub ? pubsub->NumPat() : 0);
  s.Field("pubsubshard_channels", pubsub ? pubsub->NumChannels(PubSub::Kind::kShard) : 0);
  s.Field("total_error_replies", st.errors.total());
  s.Field("total_protocol_errors", Load(st.protocol_errors));
  s.Field("lsmkv_request_timeouts", Load(st.request_timeouts));
  s.Field("lsmkv_auth_failures", Load(st.auth_failures));
  s.Field("lsmkv_auth_rate_limited", Load(st.auth_rate_limited));
  s.Field("lsmkv_auth_disconnects", Load(st.auth_disconnects));
  s.Field("lsmkv_protected_mode_refusals", Load(st.protected_mode_refusals));
  // Key-lock stripes found taken: taken while spinning, or after a sleep
  // (key_locks.h, SpinPolicy).
  const KeyLocks::WaitStats waits = ks.locks().wait_stats();
  s.Field("lsmkv_key_lock_spins", waits.spun);
  s.Field("lsmkv_key_lock_sleeps", waits.slept);
}

void ReplicationSection(ServerContext& server, std::string* out) {
  Section s(out, "Replication");
  if (server.cluster == nullptr) {
    s.Field("role", "master");
    s.Field("connected_slaves", 0);
    s.Field("master_repl_offset", 0);
    return;
  }
  // A replicated node (docs/replication.md): Redis's fields where they have a
  // meaning here, then the Raft view.
  const replication::RaftNode::Info info = server.cluster->info();
  const bool leader = info.state == RAFT_LEADER;
  s.Field("role", leader ? "master" : "slave");
  if (!leader) {
    std::string leader_address;
    for (const Cluster::NodeView& v : server.cluster->Nodes()) {
      if (v.id == info.leader_id) leader_address = v.address;
    }
    std::string host;
    int port = 0;
    if (SplitHostPort(leader_address, &host, &port)) {
      s.Field("master_host", host);
      s.Field("master_port", port);
    }
    s.Field("master_link_status", info.leader_id != 0 ? "up" : "down");
  } else {
    // The other servers as the leader sees them: Redis's replica lines, the
    // offset the entry up to which a server's log matches this one's, the
    // lag in entries (not seconds, as Redis's is), and its Raft id and role.
    const std::vector<Cluster::NodeView> nodes = server.cluster->Nodes();
    s.Field("connected_slaves", static_cast<uint64_t>(info.peers.size()));
    for (size_t i = 0; i < info.peers.size(); i++) {
      const auto& peer = info.peers[i];
      std::string host = "?";
      int port = 0;
      for (const Cluster::NodeView& v : nodes) {
        if (v.id == peer.id) SplitHostPort(v.address, &host, &port);
      }
      const uint64_t lag =
          info.last_index > peer.match_index ? info.last_index - peer.match_index : 0;
      s.Field("slave" + std::to_string(i), "ip=" + host + ",port=" + std::to_string(port) +
                                               ",state=" + (peer.voter ? "online" : "catching_up") +
                                               ",offset=" + std::to_string(peer.match_index) +
                                               ",lag=" + std::to_string(lag) +
                                               ",raft_id=" + std::to_string(peer.id) +
                                               ",raft_role=" + (peer.voter ? "voter" : "spare"));
    }
  }
  s.Field("master_repl_offset", info.applied_index);
  const char* state = info.state == RAFT_LEADER      ? "leader"
                      : info.state == RAFT_CANDIDATE ? "candidate"
                      : info.state == RAFT_FOLLOWER  ? "follower"
                                                     : "unavailable";
  s.Field("raft_id", info.id);
  s.Field("raft_state", std::string(state));
  s.Field("raft_term", info.term);
  s.Field("raft_leader_id", info.leader_id);
  s.Field("raft_commit_index", info.commit_index);
  s.Field("raft_last_applied", info.last_applied);
  s.Field("raft_applied_index", info.applied_index);
  s.Field("raft_last_index", info.last_index);
  s.Field("raft_apply_lag", info.commit_index > info.last_applied
                                ? info.commit_index - info.last_applied
                                : uint64_t{0});
  s.Field("raft_snapshots_installed", info.installed_snapshots);
  s.Field("raft_fsm_errors", info.fsm_errors);
  s.Field("raft_installs_held", info.installs_held);
  s.Field("raft_restoring", info.restoring ? 1 : 0);
  if (!info.fsm_last_error.empty()) {
    // One line of INFO, and no "a=b,c=d" that clients would parse as fields.
    std::string error = info.fsm_last_error;
    for (char& ch : error) {
      if (ch == '\r' || ch == '\n') ch = ' ';
      if (ch == ',') ch = ';';
    }
    s.Field("raft_fsm_last_error", error);
  }
}

void CpuSection(std::string* out) {
  Section s(out, "CPU");
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  s.FieldDouble("used_cpu_sys", seconds(usage.ru_stime), 6);
  s.FieldDouble("used_cpu_user", seconds(usage.ru_utime), 6);
}

void CommandStatsSection(ServerContext& server, std::string* out) {
  Section s(out, "Commandstats");
  for (const auto& spec : server.commands->all()) {
    const CommandStats& st = spec->stats;
    const uint64_t calls = Load(st.calls);
    const uint64_t rejected = Load(st.rejected_calls);
    if (calls == 0 && rejected == 0) continue;
    const uint64_t micros = Load(st.micros);
    char line[256];
    std::snprintf(line, sizeof(line),
                  "calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,failed_calls=%llu",
                  static_cast<unsigned long long>(calls), static_cast<unsigned long long>(micros),
                  calls ? static_cast<double>(micros) / calls : 0.0,
                  static_cast<unsigned long long>(rejected),
                  static_cast<unsigned long long>(Load(st.failed_calls)));
    s.Field(std::string("cmdstat_") + spec->name, std::string(line));
  }
}

void ErrorStatsSection(ServerContext& server, std::string* out) {
  Section s(out, "Errorstats");
  for (const auto& [code, count] : server.stats->errors.ByCode()) {
    s.Field("errorstat_" + code, "count=" + std::to_string(count));
  }
}

void KeyspaceSection(ServerContext& server, std::string* out) {
  Section s(out, "Keyspace");
  Keyspace& keyspace = *server.keyspace;
  const int64_t databases = server.config->Int(Setting::kDatabases);
  const int64_t now = keyspace.clock()->NowMs();
  for (int db = 0; db < databases && db < kMaxDatabases; db++) {
    uint64_t keys = 0, with_deadline = 0;
    if (!keyspace.CountKeys(keyspace.PhysicalDb(db), now, &keys, &with_deadline).ok() ||
        keys == 0) {
      continue;
    }
    s.Field("db" + std::to_string(db), "keys=" + std::to_string(keys) + ",expires=" +
                                           std::to_string(with_deadline) + ",avg_ttl=0");
  }
}

void LsmkvSection(ServerContext& server, std::string* out) {
  Section s(out, "Lsmkv");
  DB* db = server.keyspace->db();
  s.Field("lsmkv_error_state", EngineErrorState(db));
  s.Field("lsmkv_background_error", EngineBackgroundError(db));
  // Live range tombstones (FLUSHALL writes one per keyspace prefix; the
  // engine's compactions retire them as they reclaim the data).
  s.Field("lsmkv_range_tombstones", EngineProperty(db, "lsmkv.range-tombstones"));
  const EngineStats stats = ReadEngineStats(server.keyspace->db());
  for (const auto& [name, value] : stats.counters) {
    if (name == "write_amplification") {
      s.FieldDouble("lsmkv_" + name, value);
    } else {
      s.Field("lsmkv_" + name, static_cast<uint64_t>(value));
    }
  }
  for (const LevelStats& l : stats.levels) {
    char line[256];
    std::snprintf(line, sizeof(line),
                  "files=%.0f,bytes=%.0f,score=%.2f,compactions=%.0f,compaction_bytes_read=%.0f,"
                  "compaction_bytes_written=%.0f,compaction_seconds=%.1f",
                  l.files, l.bytes, l.score, l.compactions, l.compaction_bytes_read,
                  l.compaction_bytes_written, l.compaction_seconds);
    s.Field("lsmkv_level_" + l.level, std::string(line));
  }
}

}  // namespace

uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

std::string BuildInfo(ServerContext& server, const std::vector<std::string>& requested) {
  std::set<std::string> wanted;
  if (requested.empty()) wanted.insert("default");
  for (const std::string& name : requested) wanted.insert(name);
  if (wanted.erase("default"))
    wanted.insert(std::begin(kDefaultSections), std::end(kDefaultSections));
  if (wanted.erase("all") + wanted.erase("everything") > 0) {
    wanted.insert(std::begin(kAllSections), std::end(kAllSections));
  }
  std::string out;
  for (const char* name : kAllSections) {
    if (!wanted.count(name)) continue;
    const std::string section = name;
    if (section == "server") ServerSection(server, &out);
    if (section == "clients") ClientsSection(server, &out);
    if (section == "memory") MemorySection(server, &out);
    if (section == "persistence") PersistenceSection(server, &out);
    if (section == "stats") StatsSection(server, &out);
    if (section == "replication") ReplicationSection(server, &out);
    if (section == "cpu") CpuSection(&out);
    if (section == "commandstats") CommandStatsSection(server, &out);
    if (section == "errorstats") ErrorStatsSection(server, &out);
    if (section == "cluster") {
      Section c(&out, "Cluster");
      c.Field("cluster_enabled", server.cluster != nullptr ? 1 : 0);
    }
    if (section == "keyspace") KeyspaceSection(server, &out);
    if (section == "lsmkv") LsmkvSection(server, &out);
  }
  return out;
}

}  // namespace lsmkv::server
