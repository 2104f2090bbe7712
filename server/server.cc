#include "server/server.h"

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "server/background.h"
#include "server/cluster.h"
#include "server/collection.h"
#include "server/connection.h"
#include "server/cpus.h"
#include "server/dispatcher.h"
#include "server/fd_limits.h"
#include "server/metrics.h"
#include "server/value_codec.h"
#include "util/check.h"

namespace lsmkv::server {

namespace {

// Connections get this long to finish after shutdown starts; then the event
// loop is stopped regardless.
constexpr auto kShutdownGrace = std::chrono::seconds(10);

CompressionType CompressionFromConfig(int64_t index) {
  static const CompressionType kTypes[] = {CompressionType::kNone, CompressionType::kSnappy,
                                           CompressionType::kLZ4, CompressionType::kZstd};
  return kTypes[index];
}

// The engine setting's choices are in StorageEngine's order.
StorageEngine EngineFromConfig(int64_t index) {
  static const StorageEngine kEngines[] = {StorageEngine::kLsm, StorageEngine::kBTree,
                                           StorageEngine::kBitcask};
  return kEngines[index];
}

FsyncPolicy PolicyFromConfig(int64_t index) {
  static const FsyncPolicy kPolicies[] = {FsyncPolicy::kEverySec, FsyncPolicy::kAlways,
                                          FsyncPolicy::kNo};
  return kPolicies[index];
}

}  // namespace

Server::Server(Config* config, std::string executable, const Clock* clock)
    : config_(config),
      executable_(std::move(executable)),
      clock_(clock),
      work_(asio::make_work_guard(io_)),
      strand_(asio::make_strand(io_)),
      acceptor_(strand_),
      signals_(strand_, SIGINT, SIGTERM),
      tick_timer_(strand_),
      accept_retry_timer_(strand_) {
  int threads = static_cast<int>(config_->Int(Setting::kIoThreads));
  if (threads <= 0) threads = DefaultIoThreads(UsableCpus());
  io_threads_ = threads;
}

Server::~Server() {
  if (spare_fd_ >= 0) ::close(spare_fd_);
  if (background_) background_->Stop();
  metrics_.reset();
  // The durable view's iterator must not outlive the DB's Close.
  if (expiry_filter_) expiry_filter_->durable_view()->Clear();
  if (db_) db_->Close().PermitUncheckedError();
  if (cluster_) {
    cluster_->Stop();
    cluster_->db()->Close().PermitUncheckedError();
  }
  if (expiry_filter_) expiry_filter_->DetachDb();  // no compaction runs after Close
}

Status Server::Open() {
  const std::string dir = config_->String(Setting::kDir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create data directory " + dir, ec.message());

  for (const auto& [name, new_name] : config_->renames()) {
    const std::string error = commands_.Rename(name, new_name);
    if (!error.empty()) return Status::InvalidArgument(error);
  }
  // Every client must be able to get a descriptor (fd_limits.h).
  const int64_t wanted = config_->Int(Setting::kMaxclients);
  std::string explanation;
  const int64_t fit = FitMaxClients(wanted, config_->Int(Setting::kMaxOpenFiles), &explanation);
  if (fit < 1) {
    return Status::InvalidArgument("no room for clients under the open-file limit", explanation);
  }
  config_->SetUpperBound(Setting::kMaxclients, fit);
  if (fit < wanted) {
    const std::string error = config_->Set(*Config::Find("maxclients"), std::to_string(fit));
    DCHECK(error.empty());
    (void)error;
    std::fprintf(stderr, "lsmkv-server: maxclients lowered from %lld to %lld: %s\n",
                 static_cast<long long>(wanted), static_cast<long long>(fit), explanation.c_str());
  }

  expiry_filter_ = std::make_shared<ExpiryFilter>(clock_);
  Options options;
  options.create_if_missing = true;
  // WATCH runs on engine transactions, which need a prefix-keeping recovery
  // (lsmkv/transaction.h): a damaged WAL keeps what precedes the damage,
  // as redis-check-aof truncating an AOF does.
  options.wal_recovery_mode = WalRecoveryMode::kPointInTime;
  options.compaction_filter = expiry_filter_;
  options.write_buffer_size = static_cast<size_t>(config_->Int(Setting::kWriteBufferSize));
  options.block_cache_size = static_cast<size_t>(config_->Int(Setting::kBlockCacheSize));
  // A point index of an eighth of the write buffer (the engine's default is
  // a 32nd, sized for 100-byte values): the data model's entries are small
  // (a list element or hash field is a key of ~30 bytes and a short value),
  // a 64 MiB memtable holds a million of them, and pops, HSET, SADD and
  // ZADD read keys written moments before. With the default's 262,144 slots
  // a third of RPOP's element reads after the benchmark's pushes and LPOPs
  // missed the index and searched the skiplist; with 1,048,576 LPOP and
  // RPOP took 15-18 % less server CPU (docs/BENCHMARKS.md, issue 18). The
  // index is counted in the memtable's size, so memory stays bounded by
  // write-buffer-size; a memtable holds about a tenth fewer entries.
  options.memtable_index_ratio = 1.0 / 8;
  options.engine = EngineFromConfig(config_->Int(Setting::kEngine));
  options.compression = CompressionFromConfig(config_->Int(Setting::kCompression));
  options.max_open_files = static_cast<int>(config_->Int(Setting::kMaxOpenFiles));
  options.bloom_bits_per_key = static_cast<int>(config_->Int(Setting::kBloomBitsPerKey));
  options.max_background_compactions =
      static_cast<int>(config_->Int(Setting::kMaxBackgroundCompactions));
  options.target_file_size = static_cast<uint64_t>(config_->Int(Setting::kTargetFileSize));
  options.block_size = static_cast<size_t>(config_->Int(Setting::kBlockSize));
  // Keys carry a one-byte prefix (expiry hints nine bytes), hash fields
  // their key, field and 13 bytes (collection.h); values a header of up to
  // nine bytes over proto-max-bulk-len.
  options.max_key_size = kMaxKeyBytes + kMaxFieldBytes + kElementKeyOverhead + 16;
  // The engine's value limit is fixed now; proto-max-bulk-len may change at
  // run time but never above it (a bulk the engine would refuse is refused
  // by the parser before it is received).
  const int64_t max_bulk =
      std::max<int64_t>(config_->Int(Setting::kProtoMaxBulkLen), int64_t{512} << 20);
  options.max_value_size = static_cast<size_t>(max_bulk) + kMaxValueHeader;
  config_->SetUpperBound(Setting::kProtoMaxBulkLen, max_bulk);
  DB* db = nullptr;
  Status s;
  const uint64_t raft_id = static_cast<uint64_t>(config_->Int(Setting::kRaftId));
  // A replicated node's keys carry their hash slot (value_codec.h); set
  // before the first key is built, for the whole process.
  SetKeyLayout(raft_id > 0 ? KeyLayout::kSlotted : KeyLayout::kFlat);
  if (raft_id > 0) {
    // A replicated node (cluster.h): the database is its Raft state machine's.
    if (options.engine != StorageEngine::kLsm) {
      return Status::InvalidArgument("a replicated server (--raft-id) needs --engine lsm");
    }
    ClusterOptions cluster_options;
    cluster_options.id = raft_id;
    cluster_options.raft_address = config_->String(Setting::kRaftAddress);
    cluster_options.bootstrap = config_->String(Setting::kRaftBootstrap);
    cluster_options.join = config_->String(Setting::kRaftJoin);
    cluster_options.raft_bind = config_->String(Setting::kRaftBind);
    std::string raft_host;
    int raft_port = 0;
    if (!SplitHostPort(cluster_options.raft_address, &raft_host, &raft_port)) {
      return Status::InvalidArgument("--raft-address '" + cluster_options.raft_address +
                                     "' is not HOST:PORT");
    }
    const int64_t port = config_->Int(Setting::kPort);
    if (port == 0) return Status::InvalidArgument("a replicated server (--raft-id) needs a --port");
    // Clients reach this node at the Raft address's host and the client port.
    cluster_options.client_address = raft_host + ":" + std::to_string(port);
    cluster_options.dir = dir;
    cluster_options.snapshot_threshold =
        static_cast<unsigned>(config_->Int(Setting::kRaftSnapshotThreshold));
    cluster_options.snapshot_trailing =
        static_cast<unsigned>(config_->Int(Setting::kRaftSnapshotTrailing));
    cluster_options.db_options = options;
    Config* config = config_;
    cluster_options.password = [config] { return config->String(Setting::kRequirepass); };
    s = Cluster::Start(cluster_options, &cluster_);
    if (!s.ok()) return s;
    db = cluster_->db();
  } else {
    if (!config_->String(Setting::kRaftBootstrap).empty() ||
        !config_->String(Setting::kRaftAddress).empty() ||
        !config_->String(Setting::kRaftJoin).empty() ||
        !config_->String(Setting::kRaftBind).empty()) {
      return Status::InvalidArgument(
          "--raft-address, --raft-bootstrap, --raft-join and --raft-bind need --raft-id");
    }
    s = DB::Open(options, dir, &db_);
    if (!s.ok()) return s;
    db = db_.get();
  }

  // Stale hash fields are reclaimed from here on (expiry_filter.h).
  expiry_filter_->AttachDb(db);
  // The keyspace publishes the durable state the filter decides by.
  keyspace_ = std::make_unique<Keyspace>(db, clock_, expiry_filter_->durable_view());
  keyspace_->set_replicator(cluster_.get());
  s = keyspace_->LoadDatabaseMap();
  if (!s.ok()) return s;
  keyspace_->set_fsync_policy(PolicyFromConfig(config_->Int(Setting::kAppendfsync)));

  context_.config = config_;
  context_.keyspace = keyspace_.get();
  context_.commands = &commands_;
  context_.clients = &clients_;
  context_.cursors = &cursors_;
  context_.pubsub = &pubsub_;
  context_.auth_guard = &auth_guard_;
  context_.expiry_filter = expiry_filter_.get();
  context_.stats = &stats_;
  context_.cluster = cluster_.get();
  if (cluster_) {
    cluster_pool_ = std::make_unique<asio::thread_pool>(
        static_cast<size_t>(config_->Int(Setting::kRaftWorkers)));
  }
  context_.scripting = &scripting_;
  context_.request_shutdown = [this] {
    scripting_.KillForShutdown();  // a running script must not hold the shutdown up
    RequestShutdown();
  };
  context_.start_time_ms = clock_->NowMs();
  context_.executable = executable_;
  context_.io_threads = io_threads_;
  return Status::OK();
}

bool Server::Listen(std::string* error) {
  const std::string bind = config_->String(Setting::kBind);
  asio::error_code ec;
  const asio::ip::address address = asio::ip::make_address(bind, ec);
  if (ec) {
    *error = "invalid bind address '" + bind + "': " + ec.message();
    return false;
  }
  const asio::ip::tcp::endpoint endpoint(address,
                                         static_cast<unsigned short>(config_->Int(Setting::kPort)));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "cannot listen on " + bind + ":" + std::to_string(config_->Int(Setting::kPort)) +
             ": " + ec.message();
    return false;
  }
  context_.tcp_port = acceptor_.local_endpoint().port();
  // RefuseWithSpareDescriptor's synchronous accept must never wait.
  acceptor_.non_blocking(true, ec);
  // Held so that, out of descriptors, the server can still accept a client
  // to tell it so (RefuseWithSpareDescriptor).
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

  const int64_t metrics_port = config_->Int(Setting::kMetricsPort);
  if (metrics_port >= 0) {
    metrics_ = std::make_unique<MetricsEndpoint>(&context_);
    if (!metrics_->Start(bind, static_cast<int>(metrics_port), error)) return false;
    metrics_port_ = metrics_->port();
  }
  return true;
}

std::string Server::listen_address() const {
  asio::error_code ec;
  const auto endpoint = acceptor_.local_endpoint(ec);
  if (ec) return "?";
  std::string host = endpoint.address().to_string();
  if (endpoint.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

Status Server::Run() {
  signals_.async_wait([this](const asio::error_code& error, int) {
    if (!error) RequestShutdown();
  });
  background_ = std::make_unique<BackgroundWorker>(&context_);
  background_->Start();
  DoAccept();
  ScheduleTick();

  {
    MutexLock lock(&io_done_mu_);
    io_running_ = io_threads_;
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < io_threads_; i++) {
    threads.emplace_back([this] {
      io_.run();
      MutexLock lock(&io_done_mu_);
      io_running_--;
      io_done_cv_.SignalAll();
    });
  }
  {
    MutexLock lock(&shutdown_mu_);
    while (!shutdown_requested_) shutdown_cv_.Wait(&shutdown_mu_);
  }
  bool drained = false;
  {
    const auto deadline = std::chrono::steady_clock::now() + kShutdownGrace;
    MutexLock lock(&io_done_mu_);
    while (io_running_ > 0) {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) break;
      io_done_cv_.WaitFor(&io_done_mu_, left);
    }
    drained = io_running_ == 0;
  }
  if (!drained) {
    std::fprintf(stderr, "lsmkv-server: connections still busy after %lld s; stopping anyway\n",
                 static_cast<long long>(kShutdownGrace.count()));
    io_.stop();
  }
  for (std::thread& t : threads) t.join();
  // A slow command still running (only if the event loop was stopped
  // before its connection finished) completes before the database closes.
  slow_pool_.join();
  if (cluster_pool_) cluster_pool_->join();
  background_->Stop();
  metrics_.reset();
  // No publication after the background thread stopped; compactions that
  // run during Close keep every element from here on.
  expiry_filter_->durable_view()->Clear();
  Status s;
  if (cluster_) {
    // Another voter takes over before this one leaves (SHUTDOWN, SIGTERM).
    cluster_->TransferLeadership();
    cluster_->Stop();
    s = cluster_->db()->Close();
  } else {
    s = db_->Close();
  }
  expiry_filter_->DetachDb();  // no compaction runs after Close
  return s;
}

void Server::RequestShutdown() {
  if (stopping_.exchange(true, std::memory_order_acq_rel)) return;
  asio::post(strand_, [this] { BeginShutdown(); });
  MutexLock lock(&shutdown_mu_);
  shutdown_requested_ = true;
  shutdown_cv_.SignalAll();
}

void Server::BeginShutdown() {
  asio::error_code ec;
  acceptor_.close(ec);
  signals_.cancel(ec);
  tick_timer_.cancel();
  accept_retry_timer_.cancel();
  for (auto& c : OpenConnections()) c->Stop();
  work_.reset();
}

std::vector<std::shared_ptr<Connection>> Server::OpenConnections() {
  std::vector<std::shared_ptr<Connection>> open;
  MutexLock lock(&connections_mu_);
  for (auto& [id, weak] : connections_) {
    if (auto c = weak.lock()) open.push_back(std::move(c));
  }
  return open;
}

void Server::DoAccept() {
  acceptor_.async_accept(asio::make_strand(io_),
                         [this](const asio::error_code& error, asio::ip::tcp::socket socket) {
                           OnAccept(error, std::move(socket));
                         });
}

void Server::OnAccept(const asio::error_code& error, asio::ip::tcp::socket socket) {
  if (stopping() || !acceptor_.is_open()) return;
  if (error == asio::error::no_descriptors && RefuseWithSpareDescriptor()) {
    DoAccept();
    return;
  }
  if (error) {
    // E.g. out of file descriptors: retry shortly instead of spinning.
    std::fprintf(stderr, "lsmkv-server: accept: %s\n", error.message().c_str());
    accept_retry_timer_.expires_after(std::chrono::milliseconds(100));
    accept_retry_timer_.async_wait([this](const asio::error_code& e) {
      if (!e && !stopping()) DoAccept();
    });
    return;
  }
  stats_.connections_received.fetch_add(1, std::memory_order_relaxed);
  size_t open_connections = 0;
  {
    MutexLock lock(&connections_mu_);
    open_connections = connections_.size();
  }
  asio::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  if (!ec && AuthGuard::ProtectedModeRefuses(config_->Int(Setting::kProtectedMode) != 0,
                                             !config_->String(Setting::kRequirepass).empty(),
                                             acceptor_.local_endpoint(ec).address().is_loopback(),
                                             peer.address().is_loopback())) {
    stats_.protected_mode_refusals.fetch_add(1, std::memory_order_relaxed);
    static const char kDenied[] =
        "-DENIED Redis is running in protected mode because protected mode is enabled and no "
        "password is set for the default user. lsmkv-server then accepts clients from the "
        "loopback interface only. To accept others: set a password (requirepass), or, on a "
        "trusted network only, CONFIG SET protected-mode no from a loopback client (or start "
        "with --protected-mode no).\r\n";
    socket.non_blocking(true, ec);
    socket.write_some(asio::buffer(kDenied, sizeof(kDenied) - 1), ec);
    socket.close(ec);
  } else if (open_connections >= static_cast<size_t>(config_->Int(Setting::kMaxclients))) {
    Refuse(socket);
  } else {
    auto connection = std::make_shared<Connection>(this, std::move(socket));
    {
      MutexLock lock(&connections_mu_);
      connections_[connection->id()] = connection;
    }
    connection->Start();
  }
  DoAccept();
}

void Server::Refuse(asio::ip::tcp::socket& socket) {
  stats_.rejected_connections.fetch_add(1, std::memory_order_relaxed);
  static const char kRefusal[] = "-ERR max number of clients reached\r\n";
  asio::error_code ec;
  socket.non_blocking(true, ec);  // a full socket buffer must not block the strand
  socket.write_some(asio::buffer(kRefusal, sizeof(kRefusal) - 1), ec);
  socket.close(ec);
}

bool Server::RefuseWithSpareDescriptor() {
  if (spare_fd_ < 0) return false;
  ::close(spare_fd_);
  spare_fd_ = -1;
  asio::ip::tcp::socket socket(io_);
  asio::error_code ec;
  acceptor_.accept(socket, ec);
  if (!ec) {
    stats_.connections_received.fetch_add(1, std::memory_order_relaxed);
    Refuse(socket);
  }
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return !ec;
}

void Server::OnConnectionClosed(uint64_t id) {
  MutexLock lock(&connections_mu_);
  connections_.erase(id);
}

void Server::ScheduleTick() {
  tick_timer_.expires_after(std::chrono::seconds(1));
  tick_timer_.async_wait([this](const asio::error_code& error) {
    if (error || stopping()) return;
    Tick();
    ScheduleTick();
  });
}

void Server::Tick() {
  const uint64_t processed = stats_.commands_processed.load(std::memory_order_relaxed);
  stats_.instantaneous_ops_per_sec.store(processed - last_tick_commands_,
                                         std::memory_order_relaxed);
  last_tick_commands_ = processed;
  const int64_t idle_s = config_->Int(Setting::kTimeout);
  const int64_t request_s = config_->Int(Setting::kClientRequestTimeout);
  if (idle_s <= 0 && request_s <= 0) return;
  const int64_t now = clock_->NowMs();
  for (auto& c : OpenConnections()) c->CheckTimeouts(now, idle_s * 1000, request_s * 1000);
}

}  // namespace lsmkv::server
