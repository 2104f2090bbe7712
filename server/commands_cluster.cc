// Cluster commands (docs/replication.md): CLUSTER SLOTS / SHARDS / NODES /
// INFO / MYID / KEYSLOT / HELP, READONLY and READWRITE. A replicated server
// (cluster.h) is one shard owning every slot: its leader is the master, the
// other nodes that announced an address are its replicas. A standalone server
// answers as Redis does with cluster support disabled.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "replication/slots.h"
#include "server/cluster.h"
#include "server/command_table.h"
#include "server/command_util.h"
#include "server/dispatcher.h"
#include "server/keyspace.h"
#include "server/value_codec.h"
#include "util/check.h"

namespace lsmkv::server {

namespace {

constexpr std::string_view kDisabled = "ERR This instance has cluster support disabled";
constexpr int64_t kLastSlot = replication::kSlotCount - 1;

// The known nodes, leader first; waits up to an election timeout for a leader.
std::vector<Cluster::NodeView> OrderedNodes(Cluster* cluster) {
  cluster->WaitForLeader();
  std::vector<Cluster::NodeView> nodes = cluster->Nodes();
  std::stable_partition(nodes.begin(), nodes.end(),
                        [](const Cluster::NodeView& v) { return v.leader; });
  return nodes;
}

void NodeTriple(Reply& reply, const Cluster::NodeView& v) {
  std::string host;
  int port = 0;
  SplitHostPort(v.address, &host, &port);
  reply.Array(3);
  reply.Bulk(host);
  reply.Integer(port);
  reply.Bulk(Cluster::NodeName(v.id));
}

void Slots(CommandContext& ctx, Cluster* cluster) {
  std::vector<Cluster::NodeView> nodes = OrderedNodes(cluster);
  if (nodes.empty() || !nodes[0].leader || nodes[0].address.empty()) {
    ctx.reply.Array(0);  // no master known: no slot is served
    return;
  }
  size_t listed = 0;
  for (const auto& v : nodes) listed += v.address.empty() ? 0 : 1;
  ctx.reply.Array(1);
  ctx.reply.Array(2 + listed);
  ctx.reply.Integer(0);
  ctx.reply.Integer(kLastSlot);
  for (const auto& v : nodes) {
    if (!v.address.empty()) NodeTriple(ctx.reply, v);
  }
}

void Shards(CommandContext& ctx, Cluster* cluster) {
  std::vector<Cluster::NodeView> nodes = OrderedNodes(cluster);
  const uint64_t applied = cluster->applied_index();
  // On the leader, the others' match indexes (RaftNode::Info::peers).
  const replication::RaftNode::Info info = cluster->info();
  auto offset = [&](const Cluster::NodeView& v) -> uint64_t {
    if (v.self) return applied;
    for (const auto& peer : info.peers) {
      if (peer.id == v.id) return peer.match_index;
    }
    return 0;  // not known here (a follower knows only its own)
  };
  size_t listed = 0;
  for (const auto& v : nodes) listed += v.address.empty() ? 0 : 1;
  ctx.reply.Array(1);
  ctx.reply.Map(2);
  ctx.reply.Bulk("slots");
  ctx.reply.Array(2);
  ctx.reply.Integer(0);
  ctx.reply.Integer(kLastSlot);
  ctx.reply.Bulk("nodes");
  ctx.reply.Array(listed);
  for (const auto& v : nodes) {
    if (v.address.empty()) continue;
    std::string host;
    int port = 0;
    SplitHostPort(v.address, &host, &port);
    ctx.reply.Map(7);
    ctx.reply.Bulk("id");
    ctx.reply.Bulk(Cluster::NodeName(v.id));
    ctx.reply.Bulk("port");
    ctx.reply.Integer(port);
    ctx.reply.Bulk("ip");
    ctx.reply.Bulk(host);
    ctx.reply.Bulk("endpoint");
    ctx.reply.Bulk(host);
    ctx.reply.Bulk("role");
    ctx.reply.Bulk(v.leader ? "master" : "replica");
    ctx.reply.Bulk("replication-offset");
    ctx.reply.Integer(static_cast<int64_t>(offset(v)));
    ctx.reply.Bulk("health");
    ctx.reply.Bulk("online");
  }
}

void Nodes(CommandContext& ctx, Cluster* cluster) {
  std::vector<Cluster::NodeView> nodes = OrderedNodes(cluster);
  const replication::RaftNode::Role role = cluster->role();
  std::string leader_name = "-";
  for (const auto& v : nodes) {
    if (v.leader) leader_name = Cluster::NodeName(v.id);
  }
  std::string out;
  for (const auto& v : nodes) {
    out += Cluster::NodeName(v.id) + " " + (v.address.empty() ? ":0" : v.address) + "@0 ";
    if (v.self) out += "myself,";
    out += v.leader ? "master - " : "slave " + leader_name + " ";
    out += "0 0 " + std::to_string(role.term) + " connected";
    if (v.leader) out += " 0-" + std::to_string(kLastSlot);
    out += "\n";
  }
  ctx.reply.Verbatim(out);
}

void InfoCmd(CommandContext& ctx, Cluster* cluster) {
  const replication::RaftNode::Role role = cluster->role();
  const bool ok = role.leader_id != 0;
  std::string out;
  out += std::string("cluster_enabled:1\r\ncluster_state:") + (ok ? "ok" : "fail") + "\r\n";
  out += "cluster_slots_assigned:16384\r\n";
  out += std::string("cluster_slots_ok:") + (ok ? "16384" : "0") + "\r\n";
  out += "cluster_slots_pfail:0\r\n";
  out += std::string("cluster_slots_fail:") + (ok ? "0" : "16384") + "\r\n";
  out += "cluster_known_nodes:" + std::to_string(cluster->Nodes().size()) + "\r\n";
  out += "cluster_size:1\r\n";
  out += "cluster_current_epoch:" + std::to_string(role.term) + "\r\n";
  out += "cluster_my_epoch:" + std::to_string(role.term) + "\r\n";
  ctx.reply.Verbatim(out);
}

// The node-to-node subcommands (ANNOUNCE, ADD-NODE, REMOVE-NODE, REMOVED,
// SNAPSHOT-READ, SNAPSHOT-NEWEST): a replicated server only, exactly `args` arguments, not for
// the read-only user. Replies the error and returns false otherwise.
bool InternalCallAllowed(CommandContext& ctx, const std::string& sub, size_t args) {
  if (ctx.server.cluster == nullptr) {
    ctx.reply.Error(kDisabled);
    return false;
  }
  if (ctx.args.size() != args) {
    ctx.reply.Error(ArityError("cluster|" + sub));
    return false;
  }
  if (ctx.client.read_only) {
    ctx.reply.Error("NOPERM User readonly has no permissions to run the 'cluster|" + sub +
                    "' command");
    return false;
  }
  return true;
}

// A Raft id argument (> 0); replies the error and returns false otherwise.
bool ParseRaftId(CommandContext& ctx, const std::string& text, uint64_t* id) {
  int64_t value = 0;
  if (!ParseIntArg(ctx, text, &value)) return false;
  if (value <= 0) {
    ctx.reply.Error("ERR invalid Raft id");
    return false;
  }
  *id = static_cast<uint64_t>(value);
  return true;
}

// CLUSTER COUNTKEYSINSLOT <slot> / GETKEYSINSLOT <slot> <count>: this node's
// live keys of one slot in the selected database — one range scan, the keys
// being laid out by slot (value_codec.h, the slot layout).
void KeysInSlot(CommandContext& ctx, bool get) {
  if (ctx.args.size() != (get ? 4u : 3u)) {
    ctx.reply.Error(ArityError(get ? "cluster|getkeysinslot" : "cluster|countkeysinslot"));
    return;
  }
  int64_t slot = 0, limit = INT64_MAX;
  if (!ParseIntArg(ctx, ctx.args[2], &slot)) return;
  if (slot < 0 || slot > kLastSlot) {
    ctx.reply.Error("ERR Invalid slot");
    return;
  }
  if (get) {
    if (!ParseIntArg(ctx, ctx.args[3], &limit)) return;
    if (limit < 0) {
      ctx.reply.Error("ERR Invalid number of keys");
      return;
    }
  }
  DCHECK(key_layout() == KeyLayout::kSlotted);  // a replicated node's
  std::string lower;
  AppendDbKeyPrefix(kDataPrefix, ctx.txn.db(), &lower);
  lower.push_back(static_cast<char>(slot >> 8));
  lower.push_back(static_cast<char>(slot & 0xff));
  ReadOptions options;
  options.lower_bound = lower;
  options.upper_bound = PrefixSuccessor(lower);
  std::unique_ptr<Iterator> it = ctx.txn.keyspace()->db()->NewIterator(options);
  const int64_t now = ctx.txn.now_ms();
  std::vector<std::string> keys;
  int64_t count = 0;
  for (it->SeekToFirst(); it->Valid() && count < limit; it->Next()) {
    DecodedValue decoded;
    if (!DecodeValue(it->value(), &decoded) || IsExpired(decoded.deadline_ms, now)) continue;
    count++;
    if (get) keys.emplace_back(it->key().substr(lower.size()));
  }
  Status s = it->status();
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return;
  }
  if (!get) {
    ctx.reply.Integer(count);
    return;
  }
  ctx.reply.Array(keys.size());
  for (const std::string& key : keys) ctx.reply.Bulk(key);
}

void ClusterCommand(CommandContext& ctx) {
  const std::string sub = ToLower(ctx.args[1]);
  if (sub == "help") {
    static const char* const kHelp[] = {
        "CLUSTER <subcommand> [<arg> ...]. Subcommands are:",
        "SLOTS",
        "    The slot ranges and the nodes serving them (one shard: every slot).",
        "SHARDS",
        "    The shards, their slots and nodes.",
        "NODES",
        "    The nodes in Redis's CLUSTER NODES format.",
        "INFO",
        "    The cluster state.",
        "MYID",
        "    This node's id.",
        "KEYSLOT <key>",
        "    The hash slot of a key.",
        "COUNTKEYSINSLOT <slot>",
        "    The number of keys in a slot on this node.",
        "GETKEYSINSLOT <slot> <count>",
        "    Up to count keys of a slot on this node.",
        "HELP",
        "    Prints this help."};
    ctx.reply.Array(std::size(kHelp));
    for (const char* line : kHelp) ctx.reply.Status(line);
    return;
  }
  if (sub == "keyslot") {
    if (ctx.args.size() != 3) {
      ctx.reply.Error(ArityError("cluster|keyslot"));
      return;
    }
    ctx.reply.Integer(replication::KeySlot(ctx.args[2]));
    return;
  }
  Cluster* cluster = ctx.server.cluster;
  if (sub == "announce") {
    // CLUSTER ANNOUNCE <raft-id> <host:port>: sent by a follower to the
    // leader to record the address clients reach it at (cluster.h).
    uint64_t id = 0;
    if (!InternalCallAllowed(ctx, sub, 4) || !ParseRaftId(ctx, ctx.args[2], &id)) return;
    Status s = cluster->Announce(id, ctx.args[3]);
    if (s.ok()) {
      ctx.reply.Ok();
    } else {
      ctx.reply.Error(CommitErrorReply(s));
    }
    return;
  }
  if (sub == "add-node" || sub == "remove-node") {
    // CLUSTER ADD-NODE <raft-id> <raft-host:port> (what --raft-join sends),
    // CLUSTER REMOVE-NODE <raft-id>: membership changes, on the leader.
    uint64_t id = 0;
    if (!InternalCallAllowed(ctx, sub, sub == "add-node" ? 4 : 3) ||
        !ParseRaftId(ctx, ctx.args[2], &id)) {
      return;
    }
    const std::string redirect = cluster->LeaderRedirect();
    if (!redirect.empty()) {
      ctx.reply.Error(redirect);
      return;
    }
    Status s = sub == "add-node" ? cluster->AddNode(id, ctx.args[3]) : cluster->RemoveNode(id);
    if (s.ok()) {
      ctx.reply.Ok();
      if (sub == "remove-node" && id == cluster->id()) {
        // The leader removed itself: it stepped down, and leaves as a
        // removed node does (CLUSTER REMOVED).
        std::fprintf(stderr, "lsmkv-server: removed from the cluster; shutting down\n");
        ctx.server.request_shutdown();
      }
    } else {
      ctx.reply.Error("ERR " + s.ToString());
    }
    return;
  }
  if (sub == "removed") {
    // CLUSTER REMOVED <raft-id>: the leader telling this node (that id) it
    // was removed from the configuration (Cluster::RemoveNode): it shuts
    // down, its data directory kept.
    uint64_t id = 0;
    if (!InternalCallAllowed(ctx, sub, 3) || !ParseRaftId(ctx, ctx.args[2], &id)) return;
    if (id != cluster->id()) {
      ctx.reply.Error("ERR this is server " + std::to_string(cluster->id()) + ", not " +
                      std::to_string(id));
      return;
    }
    ctx.reply.Ok();
    std::fprintf(stderr, "lsmkv-server: removed from the cluster; shutting down\n");
    ctx.server.request_shutdown();
    return;
  }
  if (sub == "snapshot-newest") {
    // CLUSTER SNAPSHOT-NEWEST: the descriptor of this node's newest snapshot,
    // for a follower whose own snapshot's checkpoint is gone (cluster.h).
    if (!InternalCallAllowed(ctx, sub, 2)) return;
    const std::string descriptor = cluster->NewestSnapshot();
    if (descriptor.empty()) {
      ctx.reply.Error("ERR this node has taken no snapshot since it started");
    } else {
      ctx.reply.Bulk(descriptor);
    }
    return;
  }
  if (sub == "snapshot-read") {
    // CLUSTER SNAPSHOT-READ <checkpoint> <file> <offset> <count>: a follower
    // fetching a Raft snapshot's files (cluster.h).
    if (!InternalCallAllowed(ctx, sub, 6)) return;
    int64_t offset = 0, count = 0;
    if (!ParseIntArg(ctx, ctx.args[4], &offset) || !ParseIntArg(ctx, ctx.args[5], &count)) return;
    if (offset < 0 || count < 0) {
      ctx.reply.Error("ERR offset and count must not be negative");
      return;
    }
    std::string data;
    Status s = cluster->ReadSnapshotFile(ctx.args[2], ctx.args[3], static_cast<uint64_t>(offset),
                                         static_cast<size_t>(count), &data);
    if (s.ok()) {
      ctx.reply.Bulk(data);
    } else {
      ctx.reply.Error("ERR " + s.ToString());
    }
    return;
  }
  if (sub == "countkeysinslot" || sub == "getkeysinslot") {
    if (cluster == nullptr) {
      ctx.reply.Error(kDisabled);
      return;
    }
    return KeysInSlot(ctx, /*get=*/sub == "getkeysinslot");
  }
  const bool known =
      sub == "slots" || sub == "shards" || sub == "nodes" || sub == "info" || sub == "myid";
  if (!known) {
    ctx.reply.Error(UnknownSubcommandError(ctx.args[1], "CLUSTER"));
    return;
  }
  if (cluster == nullptr) {
    ctx.reply.Error(kDisabled);
    return;
  }
  if (ctx.args.size() != 2) {
    ctx.reply.Error(ArityError("cluster|" + sub));
    return;
  }
  if (sub == "slots") return Slots(ctx, cluster);
  if (sub == "shards") return Shards(ctx, cluster);
  if (sub == "nodes") return Nodes(ctx, cluster);
  if (sub == "info") return InfoCmd(ctx, cluster);
  ctx.reply.Bulk(Cluster::NodeName(cluster->id()));  // myid
}

void Readonly(CommandContext& ctx) {
  if (ctx.server.cluster == nullptr) {
    ctx.reply.Error(kDisabled);
    return;
  }
  ctx.client.cluster_readonly = true;
  ctx.reply.Ok();
}

void Readwrite(CommandContext& ctx) {
  if (ctx.server.cluster == nullptr) {
    ctx.reply.Error(kDisabled);
    return;
  }
  ctx.client.cluster_readonly = false;
  ctx.reply.Ok();
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, CommandHandler handler) {
  list->push_back(std::unique_ptr<CommandSpec>(
      new CommandSpec{name, arity, flags, 0, 0, 0, "cluster", handler, {}}));
}

}  // namespace

void RegisterClusterCommands(CommandList* list) {
  Add(list, "cluster", -2, 0, ClusterCommand);
  Add(list, "readonly", 1, kCmdFast, Readonly);
  Add(list, "readwrite", 1, kCmdFast, Readwrite);
}

}  // namespace lsmkv::server
