#include "server/cluster.h"

#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "replication/slots.h"

namespace lsmkv::server {

namespace {

bool ParseUint(std::string_view text, uint64_t max, uint64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

constexpr std::string_view kClusterDown = "CLUSTERDOWN The cluster is down";

}  // namespace

bool SplitHostPort(std::string_view address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  uint64_t p = 0;
  if (!ParseUint(address.substr(colon + 1), 65535, &p) || p == 0) return false;
  *host = std::string(address.substr(0, colon));
  *port = static_cast<int>(p);
  return true;
}

std::string ParseBootstrap(std::string_view spec,
                           std::vector<std::pair<uint64_t, std::string>>* voters) {
  voters->clear();
  std::set<uint64_t> ids;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    const size_t eq = item.find('=');
    uint64_t id = 0;
    std::string host;
    int port = 0;
    if (eq == std::string_view::npos || !ParseUint(item.substr(0, eq), uint64_t{1} << 62, &id) ||
        id == 0 || !SplitHostPort(item.substr(eq + 1), &host, &port)) {
      return "raft-bootstrap: '" + std::string(item) + "' is not ID=HOST:PORT (ID > 0)";
    }
    if (!ids.insert(id).second) return "raft-bootstrap: id " + std::to_string(id) + " twice";
    voters->emplace_back(id, std::string(item.substr(eq + 1)));
    if (comma != std::string_view::npos && spec.empty()) return "raft-bootstrap: a trailing ','";
  }
  return "";
}

Status Cluster::Start(const ClusterOptions& options, std::unique_ptr<Cluster>* out) {
  std::string host;
  int port = 0;
  if (options.id == 0) return Status::InvalidArgument("raft-id must be > 0");
  if (!SplitHostPort(options.raft_address, &host, &port)) {
    return Status::InvalidArgument("raft-address '" + options.raft_address + "' is not HOST:PORT");
  }
  if (!SplitHostPort(options.client_address, &host, &port)) {
    return Status::InvalidArgument("the client address '" + options.client_address +
                                   "' is not HOST:PORT (a replicated node needs a fixed --port)");
  }
  replication::RaftNodeOptions node_options;
  node_options.id = options.id;
  node_options.address = options.raft_address;
  if (!options.raft_bind.empty()) {
    if (!SplitHostPort(options.raft_bind, &host, &port)) {
      return Status::InvalidArgument("raft-bind '" + options.raft_bind + "' is not HOST:PORT");
    }
    node_options.bind_address = options.raft_bind;
  }
  node_options.dir = options.dir;
  const std::string error = ParseBootstrap(options.bootstrap, &node_options.bootstrap);
  if (!error.empty()) return Status::InvalidArgument(error);
  if (!node_options.bootstrap.empty()) {
    bool self = false;
    for (const auto& [id, address] : node_options.bootstrap) {
      if (id == options.id) {
        self = true;
        if (address != options.raft_address) {
          return Status::InvalidArgument("raft-bootstrap names " + address + " for id " +
                                         std::to_string(id) + ", raft-address says " +
                                         options.raft_address);
        }
      }
    }
    if (!self) {
      return Status::InvalidArgument("raft-bootstrap does not name this node's id " +
                                     std::to_string(options.id));
    }
  }
  if (!options.join.empty()) {
    if (!node_options.bootstrap.empty()) {
      return Status::InvalidArgument("raft-join and raft-bootstrap exclude each other");
    }
    if (!SplitHostPort(options.join, &host, &port)) {
      return Status::InvalidArgument("raft-join '" + options.join + "' is not HOST:PORT");
    }
  }
  node_options.client_address = options.client_address;
  node_options.election_timeout_ms = options.election_timeout_ms;
  node_options.snapshot_threshold = options.snapshot_threshold;
  node_options.snapshot_trailing = options.snapshot_trailing;
  node_options.db_options = options.db_options;
  // The server's threads hold the database: an installed snapshot takes
  // effect by re-executing the process, which opens it.
  node_options.replace_hook = [] { ReExecSelf(); };
  std::unique_ptr<Cluster> cluster(new Cluster(options));
  node_options.source = &cluster->source_;
  node_options.restore_failed = [](const Status& s, int failures) {
    std::fprintf(stderr,
                 "lsmkv-server: installing a Raft snapshot failed (%d in a row): %s; "
                 "trying again\n",
                 failures, s.ToString().c_str());
    std::fflush(stderr);
  };
  NetworkSource* source = &cluster->source_;
  node_options.on_open = [source](replication::StateMachine* machine) {
    source->set_machine(machine);
    // Operators (and the process test, which aims a kill -9 at an install)
    // see when an install starts; its end is the re-execution's line.
    machine->set_install_hook([](const replication::SnapshotDescriptor& d) {
      uint64_t bytes = 0;
      for (const replication::SnapshotFile& f : d.files) bytes += f.size;
      std::fprintf(stderr,
                   "lsmkv-server: installing the Raft snapshot of index %llu from server %llu "
                   "(checkpoint %s: %zu files, %llu bytes)\n",
                   static_cast<unsigned long long>(d.index),
                   static_cast<unsigned long long>(d.server), d.checkpoint.c_str(), d.files.size(),
                   static_cast<unsigned long long>(bytes));
      std::fflush(stderr);
    });
  };
  Status s = replication::RaftNode::Start(node_options, &cluster->node_);
  if (!s.ok()) return s;
  Cluster* raw = cluster.get();
  cluster->announcer_ = std::thread([raw] { raw->AnnounceLoop(); });
  *out = std::move(cluster);
  return Status::OK();
}

Cluster::~Cluster() { Stop(); }

void Cluster::Stop() {
  {
    MutexLock l(&mu_);
    stop_ = true;
    cv_.SignalAll();
  }
  if (announcer_.joinable()) announcer_.join();
  if (node_) node_->Stop();
}

Status Cluster::AddNode(uint64_t id, const std::string& raft_address) {
  std::string host;
  int port = 0;
  if (!SplitHostPort(raft_address, &host, &port)) {
    return Status::InvalidArgument("'" + raft_address + "' is not HOST:PORT");
  }
  return node_->AddServer(id, raft_address);
}

Status Cluster::RemoveNode(uint64_t id) {
  // Its client address, read while it is still a member.
  const std::string address = node_->machine()->NodeAddress(id);
  Status s = node_->RemoveServer(id);
  if (!s.ok() || id == options_.id || address.empty()) return s;
  std::string reply;
  Status told = CallAddress(address, {{"CLUSTER", "REMOVED", std::to_string(id)}}, &reply, 0,
                            kPeerTimeoutSeconds);
  if (!told.ok()) {
    std::fprintf(stderr, "lsmkv-server: removed server %llu was not told (%s); stop it\n",
                 static_cast<unsigned long long>(id), told.ToString().c_str());
  }
  return s;
}

std::string Cluster::LeaderRedirect() {
  const replication::RaftNode::Role r = node_->role();
  if (r.state == RAFT_LEADER || r.leader_id == 0) return "";
  const std::string address = node_->machine()->NodeAddress(r.leader_id);
  return address.empty() ? "" : "MOVED 0 " + address;
}

Status Cluster::Announce(uint64_t id, const std::string& address) {
  Status s = node_->AnnounceAndWait(id, address);
  if (s.IsBusy()) return Status::Busy(std::string(kClusterDown) + ": this node does not lead");
  return s;
}

void Cluster::AnnounceLoop() {
  while (true) {
    {
      MutexLock l(&mu_);
      if (stop_) return;
      cv_.WaitFor(&mu_, std::chrono::milliseconds(kAnnounceIntervalMs));
      if (stop_) return;
    }
    TryAnnounce();
  }
}

namespace {

// A blocking RESP connection for the node-to-node calls (CLUSTER ANNOUNCE,
// CLUSTER SNAPSHOT-READ): one request, one reply at a time, every socket
// operation bounded by a timeout.
class PeerConnection {
 public:
  ~PeerConnection() {
    if (fd_ >= 0) close(fd_);
  }
  Status Connect(const std::string& address, int timeout_s) {
    std::string host;
    int port = 0;
    if (!SplitHostPort(address, &host, &port)) {
      return Status::InvalidArgument("peer address '" + address + "' is not HOST:PORT");
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
      return Status::IOError("cannot resolve " + host);
    }
    for (addrinfo* a = found; a != nullptr && fd_ < 0; a = a->ai_next) {
      fd_ = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd_ < 0) continue;
      timeval tv{timeout_s, 0};
      setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      if (connect(fd_, a->ai_addr, a->ai_addrlen) != 0) {
        close(fd_);
        fd_ = -1;
      }
    }
    freeaddrinfo(found);
    if (fd_ < 0) return Status::IOError("cannot connect to " + address);
    return Status::OK();
  }
  // Sends args, reads the reply: a status or integer line (its text), a
  // bulk (its bytes), or an error reply (IOError with its text). Bulks over
  // max_bulk bytes are refused.
  Status Call(const std::vector<std::string>& args, std::string* reply, size_t max_bulk) {
    std::string request = "*" + std::to_string(args.size()) + "\r\n";
    for (const std::string& a : args) {
      request += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    }
    size_t sent = 0;
    while (sent < request.size()) {
      const ssize_t n = send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return Status::IOError("peer: send failed");
      sent += static_cast<size_t>(n);
    }
    std::string line;
    Status s = ReadLine(&line);
    if (!s.ok()) return s;
    if (line.empty()) return Status::Corruption("peer: an empty reply line");
    const char type = line[0];
    const std::string rest = line.substr(1);
    if (type == '-') return Status::IOError("peer replied: " + rest);
    if (type == '+' || type == ':') {
      *reply = rest;
      return Status::OK();
    }
    if (type != '$') return Status::Corruption("peer: unexpected reply type");
    char* end = nullptr;
    const long long len = std::strtoll(rest.c_str(), &end, 10);
    if (end == rest.c_str() || *end != '\0' || len < 0 || static_cast<size_t>(len) > max_bulk) {
      return Status::Corruption("peer: a bulk of length '" + rest + "'");
    }
    s = ReadExactly(static_cast<size_t>(len) + 2, reply);
    if (!s.ok()) return s;
    if (reply->compare(reply->size() - 2, 2, "\r\n") != 0) {
      return Status::Corruption("peer: a bulk not ended by CRLF");
    }
    reply->resize(reply->size() - 2);
    return Status::OK();
  }

 private:
  Status Fill() {
    char buf[64 * 1024];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return Status::IOError("peer: connection closed or timed out");
    buffer_.append(buf, static_cast<size_t>(n));
    return Status::OK();
  }
  Status ReadLine(std::string* line) {
    size_t eol;
    while ((eol = buffer_.find("\r\n")) == std::string::npos) {
      if (buffer_.size() > 64 * 1024) return Status::Corruption("peer: a reply line too long");
      Status s = Fill();
      if (!s.ok()) return s;
    }
    *line = buffer_.substr(0, eol);
    buffer_.erase(0, eol + 2);
    return Status::OK();
  }
  Status ReadExactly(size_t n, std::string* out) {
    while (buffer_.size() < n) {
      Status s = Fill();
      if (!s.ok()) return s;
    }
    out->assign(buffer_, 0, n);
    buffer_.erase(0, n);
    return Status::OK();
  }

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace

std::string AddressInNodes(std::string_view nodes, uint64_t id) {
  const std::string name = Cluster::NodeName(id) + " ";
  size_t start = 0;
  while (start < nodes.size()) {
    size_t end = nodes.find('\n', start);
    if (end == std::string_view::npos) end = nodes.size();
    const std::string_view line = nodes.substr(start, end - start);
    if (line.starts_with(name)) {
      std::string_view rest = line.substr(name.size());
      rest = rest.substr(0, rest.find(' '));
      rest = rest.substr(0, rest.find('@'));
      return rest == ":0" ? std::string() : std::string(rest);
    }
    start = end + 1;
  }
  return "";
}

namespace {

// Bytes per CLUSTER SNAPSHOT-READ.
constexpr size_t kSnapshotChunk = 4 << 20;

}  // namespace

Status Cluster::CallPeer(uint64_t server, const std::vector<std::vector<std::string>>& commands,
                         std::string* last_reply, size_t max_bulk) {
  const std::string address = node_->machine()->NodeAddress(server);
  if (address.empty()) {
    return Status::NotFound("no address is known for server " + std::to_string(server));
  }
  return CallAddress(address, commands, last_reply, max_bulk, kPeerTimeoutSeconds);
}

Status Cluster::CallAddress(const std::string& address,
                            const std::vector<std::vector<std::string>>& commands,
                            std::string* last_reply, size_t max_bulk, int timeout_s) {
  PeerConnection peer;
  Status s = peer.Connect(address, timeout_s);
  const std::string password = options_.password ? options_.password() : std::string();
  if (s.ok() && !password.empty()) s = peer.Call({"AUTH", password}, last_reply, 0);
  for (size_t i = 0; s.ok() && i < commands.size(); i++) {
    s = peer.Call(commands[i], last_reply, max_bulk);
  }
  return s;
}

void Cluster::TryJoin() {
  // Asks the member named by --raft-join (following -MOVED to the leader) to
  // add this node; the call returns once it is a voter (or fails: retried).
  std::string target = options_.join;
  for (int hop = 0; hop < 3; hop++) {
    std::string reply;
    Status s = CallAddress(
        target, {{"CLUSTER", "ADD-NODE", std::to_string(options_.id), options_.raft_address}},
        &reply, 0, kJoinTimeoutSeconds);
    if (s.ok()) return;
    const std::string text = s.ToString();
    const size_t moved = text.find("MOVED ");
    if (moved == std::string::npos) return;  // retried at the next interval
    const size_t space = text.find(' ', moved + 6);
    if (space == std::string::npos) return;
    target = text.substr(space + 1);
  }
}

Status Cluster::NetworkSource::Fetch(uint64_t server, const std::string& checkpoint,
                                     const std::string& name, Env* env, const std::string& dest) {
  if (!replication::IsPlainFileName(checkpoint) || !replication::IsPlainFileName(name)) {
    return Status::InvalidArgument("snapshot source: not a plain name");
  }
  std::unique_ptr<WritableFile> file;
  Status s = env->NewWritableFile(dest, &file);
  if (!s.ok()) return s;
  const std::string address = AddressOf(server);
  PeerConnection peer;
  s = address.empty()
          ? Status::NotFound("snapshot source: no address for server " + std::to_string(server))
          : peer.Connect(address, kPeerTimeoutSeconds);
  std::string chunk;
  const std::string password =
      cluster_->options_.password ? cluster_->options_.password() : std::string();
  if (s.ok() && !password.empty()) s = peer.Call({"AUTH", password}, &chunk, 0);
  uint64_t offset = 0;
  while (s.ok()) {
    s = peer.Call({"CLUSTER", "SNAPSHOT-READ", checkpoint, name, std::to_string(offset),
                   std::to_string(kSnapshotChunk)},
                  &chunk, kSnapshotChunk);
    if (!s.ok() || chunk.empty()) break;
    s = file->Append(chunk);
    offset += chunk.size();
  }
  if (s.ok()) s = file->Sync();
  Status c = file->Close();
  if (s.ok()) s = c;
  return s;
}

std::string Cluster::NetworkSource::AddressOf(uint64_t server) {
  replication::StateMachine* machine = machine_.load(std::memory_order_acquire);
  std::string address = machine != nullptr ? machine->NodeAddress(server) : std::string();
  // A node that has not applied the holder's announcement (a new one joining)
  // asks the member it joined through (CLUSTER NODES).
  if (address.empty() && !cluster_->options_.join.empty()) {
    std::string nodes;
    if (cluster_
            ->CallAddress(cluster_->options_.join, {{"CLUSTER", "NODES"}}, &nodes, 1 << 20,
                          kPeerTimeoutSeconds)
            .ok()) {
      address = AddressInNodes(nodes, server);
    }
  }
  return address;
}

Status Cluster::NetworkSource::Newest(uint64_t server, std::string* descriptor) {
  const std::string address = AddressOf(server);
  if (address.empty()) {
    return Status::NotFound("snapshot source: no address for server " + std::to_string(server));
  }
  return cluster_->CallAddress(address, {{"CLUSTER", "SNAPSHOT-NEWEST"}}, descriptor, 1 << 20,
                               kPeerTimeoutSeconds);
}

std::string Cluster::NewestSnapshot() const {
  replication::StateMachine* machine = source_.machine();
  return machine != nullptr ? machine->NewestSnapshot() : std::string();
}

Status Cluster::ReadSnapshotFile(const std::string& checkpoint, const std::string& name,
                                 uint64_t offset, size_t count, std::string* out) {
  if (!replication::IsPlainFileName(checkpoint) || !replication::IsPlainFileName(name)) {
    return Status::InvalidArgument("not a plain file name");
  }
  count = std::min(count, kSnapshotChunk);
  Env* env = options_.db_options.env != nullptr ? options_.db_options.env : Env::Default();
  std::unique_ptr<RandomAccessFile> file;
  Status s = env->NewRandomAccessFile(
      options_.dir + "/replica/checkpoints/" + checkpoint + "/" + name, &file);
  if (!s.ok()) return s;
  out->resize(count);
  std::string_view result;
  s = file->Read(offset, count, &result, out->data());
  if (!s.ok()) return s;
  if (!result.empty() && result.data() != out->data())
    std::memmove(out->data(), result.data(), result.size());
  out->resize(result.size());
  return Status::OK();
}

void Cluster::TryAnnounce() {
  const replication::RaftNode::Role r = node_->role();
  if (!options_.join.empty() && !r.voter) {
    TryJoin();
    return;
  }
  if (r.state == RAFT_LEADER || r.leader_id == 0) return;  // a leader announces itself
  if (node_->machine()->NodeAddress(options_.id) == options_.client_address) return;
  const std::string leader = node_->machine()->NodeAddress(r.leader_id);
  if (leader.empty()) return;
  std::string reply;
  // A failure is retried at the next interval.
  CallPeer(r.leader_id,
           {{"CLUSTER", "ANNOUNCE", std::to_string(options_.id), options_.client_address}}, &reply,
           0)
      .PermitUncheckedError();
}

Status Cluster::Replicate(const WriteBatch& batch) {
  Status s = node_->ProposeAndWait(batch);
  if (s.ok()) return s;
  if (s.IsBusy()) {
    return Status::Busy(std::string(kClusterDown) +
                        ": this node stopped leading before the write was replicated; it was not "
                        "applied");
  }
  if (s.IsAborted()) {
    return Status::Aborted(
        "UNKNOWN the write's outcome is unknown: this node stopped leading after proposing it, "
        "so it may or may not be applied");
  }
  return s;
}

std::string Cluster::NodeName(uint64_t id) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%040" PRIx64, id);
  return buf;
}

std::string Cluster::MovedTo(std::string_view key, uint64_t leader) {
  const std::string address = node_->machine()->NodeAddress(leader);
  if (address.empty()) return "";
  return "MOVED " + std::to_string(replication::KeySlot(key)) + " " + address;
}

replication::RaftNode::Role Cluster::WaitForLeader() {
  return node_->WaitForRole(
      [this](const replication::RaftNode::Role& r) {
        if (r.state == RAFT_LEADER) return r.ready;
        return r.leader_id != 0 && !node_->machine()->NodeAddress(r.leader_id).empty();
      },
      options_.election_timeout_ms);
}

std::string Cluster::Admit(bool write, bool data, bool keyed, std::string_view first_key,
                           bool readonly_client, bool* read_point) {
  if (!data && !keyed) return "";
  replication::RaftNode::Role r = node_->role();
  if (!write && readonly_client && r.state != RAFT_LEADER) return "";  // a stale read
  const bool leads = r.state == RAFT_LEADER && r.ready;
  if (!leads) {
    const bool follower_knows = r.state != RAFT_LEADER && r.leader_id != 0 &&
                                !node_->machine()->NodeAddress(r.leader_id).empty();
    if (!follower_knows) r = WaitForLeader();
  }
  if (r.state == RAFT_LEADER) {
    if (!r.ready) return std::string(kClusterDown);
    if (write) return "";  // proposed at commit
    if (*read_point) return "";
    Status s = node_->Barrier();
    if (s.ok()) {
      *read_point = true;
      return "";
    }
    return std::string(kClusterDown) + ": no read point (" + s.ToString() + ")";
  }
  if (r.leader_id == 0) return std::string(kClusterDown);
  if (!keyed) {
    if (!write) return "";  // KEYS, DBSIZE, SCAN...: this replica's data, as Redis's replicas
    return "READONLY You can't write against a read only replica.";
  }
  const std::string moved = MovedTo(first_key, r.leader_id);
  return moved.empty() ? std::string(kClusterDown) : moved;
}

std::vector<Cluster::NodeView> Cluster::Nodes() {
  const replication::RaftNode::Role r = node_->role();
  const std::map<uint64_t, std::string> addresses = node_->machine()->NodeAddresses();
  std::vector<uint64_t> ids = r.voters;
  if (std::find(ids.begin(), ids.end(), options_.id) == ids.end()) ids.push_back(options_.id);
  std::vector<NodeView> nodes;
  for (uint64_t id : ids) {
    NodeView v;
    v.id = id;
    auto it = addresses.find(id);
    if (it != addresses.end()) v.address = it->second;
    v.self = id == options_.id;
    if (v.self) v.address = options_.client_address;
    v.leader = id == r.leader_id;
    nodes.push_back(std::move(v));
  }
  return nodes;
}

void Cluster::TransferLeadership() {
  if (!node_) return;
  Status s = node_->TransferLeadership(options_.election_timeout_ms);
  if (!s.ok()) {
    std::fprintf(stderr, "lsmkv-server: leadership not transferred: %s\n", s.ToString().c_str());
  }
}

void ReExecSelf() {
  std::vector<std::string> args;
  {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t start = 0;
    while (start < all.size()) {
      size_t end = all.find('\0', start);
      if (end == std::string::npos) end = all.size();
      args.push_back(all.substr(start, end - start));
      start = end + 1;
    }
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    const int own = dirfd(d);
    while (dirent* e = readdir(d)) {
      const int fd = std::atoi(e->d_name);
      if (fd > 2 && fd != own) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    closedir(d);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fprintf(stderr, "lsmkv-server: a Raft snapshot was installed; restarting to serve it\n");
  std::fflush(stderr);
  if (!args.empty()) execv("/proc/self/exe", argv.data());
  std::perror("lsmkv-server: re-executing after a snapshot install failed");
  std::abort();
}

}  // namespace lsmkv::server
