// Server: lsmkv-server's process-level object. It opens the database with
// the configured engine options (and the expiry compaction filter), listens,
// runs the Asio event loop on io-threads threads, the background worker
// (appendfsync everysec, expiry sweep) and the metrics endpoint, and shuts
// all of it down in order.
//
// Shutdown (SIGTERM, SIGINT, SHUTDOWN): stop accepting; every connection
// finishes the command it is running, writes its replies and closes; the
// event loop drains; the background worker stops; the database is closed
// (every acknowledged write recoverable). Run then returns.
//
// Time: the server reads the time from the Clock it is built with (clock.h):
// SystemClock() in lsmkv-server, a ManualClock in tests that run a server
// in process and move its time explicitly.
//
// Thread safety: RequestShutdown, stopping and context may be used from any
// thread; Open, Listen and Run are called once, in that order, by main.
#ifndef LSMKV_SERVER_SERVER_H_
#define LSMKV_SERVER_SERVER_H_

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif
#include <asio.hpp>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "lsmkv/db.h"
#include "server/auth_guard.h"
#include "server/client_state.h"
#include "server/clock.h"
#include "server/command_table.h"
#include "server/config.h"
#include "server/expiry_filter.h"
#include "server/keyspace.h"
#include "server/pubsub.h"
#include "server/scan_cursors.h"
#include "server/scripting.h"
#include "server/server_context.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {

class BackgroundWorker;
class Cluster;
class Connection;
class MetricsEndpoint;

class Server {
 public:
  // REQUIRES: config and clock outlive the server.
  Server(Config* config, std::string executable, const Clock* clock = SystemClock());
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // Creates the data directory if missing and opens the database there.
  Status Open();
  // Binds the listening socket (and the metrics endpoint). Error message in
  // *error on failure.
  bool Listen(std::string* error);
  // Serves clients until shutdown, then closes everything. Returns the
  // database's Close status.
  Status Run() EXCLUDES(shutdown_mu_, io_done_mu_);

  void RequestShutdown() EXCLUDES(shutdown_mu_);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  ServerContext& context() { return context_; }
  // "127.0.0.1:6380" as actually bound.
  std::string listen_address() const;
  int metrics_port() const { return metrics_port_; }

  // Threads for commands that are O(N) in the keyspace (kCmdSlow: KEYS,
  // DBSIZE, FLUSHALL, INFO) and for large EXECs, so that they never hold an
  // event-loop thread: other clients keep being served meanwhile.
  asio::thread_pool& slow_pool() { return slow_pool_; }

  // A replicated node's command threads (raft-workers of them), nullptr when
  // standalone: every command of a replicated node runs there, because a
  // write waits for its Raft entry to be applied and a read for a barrier
  // (cluster.h), and that wait must hold neither an event-loop thread nor
  // other clients' commands. The pool's size bounds the commands waiting
  // at once.
  asio::thread_pool* cluster_pool() { return cluster_pool_.get(); }

  // Called by a connection when it closes.
  void OnConnectionClosed(uint64_t id) EXCLUDES(connections_mu_);

 private:
  void DoAccept();
  void OnAccept(const asio::error_code& error, asio::ip::tcp::socket socket)
      EXCLUDES(connections_mu_);
  // Tells a client it cannot be served ("-ERR max number of clients
  // reached"), without blocking, and closes its socket.
  void Refuse(asio::ip::tcp::socket& socket);
  // Out of descriptors (EMFILE): frees the spare descriptor, accepts one
  // waiting client, refuses it, and takes the spare back. False if there was
  // no spare or nobody to accept. Runs on strand_.
  bool RefuseWithSpareDescriptor();
  void ScheduleTick();
  void Tick() EXCLUDES(connections_mu_);
  void BeginShutdown() EXCLUDES(connections_mu_);  // runs on strand_
  // Strong references to every open connection (for Stop and CheckTimeouts,
  // called without connections_mu_ held).
  std::vector<std::shared_ptr<Connection>> OpenConnections() EXCLUDES(connections_mu_);

  Config* config_;
  std::string executable_;
  const Clock* const clock_;
  std::shared_ptr<ExpiryFilter> expiry_filter_;
  std::unique_ptr<DB> db_;            // standalone: the database
  std::unique_ptr<Cluster> cluster_;  // replicated: the Raft node, owning the database
  std::unique_ptr<Keyspace> keyspace_;
  CommandTable commands_;
  ClientRegistry clients_;
  ScanCursors cursors_;
  PubSub pubsub_;
  AuthGuard auth_guard_;
  ServerStats stats_;
  Scripting scripting_;
  ServerContext context_;

  asio::io_context io_;
  asio::thread_pool slow_pool_{2};
  std::unique_ptr<asio::thread_pool> cluster_pool_;  // replicated only
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  // The acceptor, the signals and the timers share this strand, so their
  // handlers and BeginShutdown never run concurrently.
  asio::strand<asio::io_context::executor_type> strand_;
  asio::ip::tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer tick_timer_;
  asio::steady_timer accept_retry_timer_;
  int io_threads_ = 1;

  Mutex connections_mu_;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections_ GUARDED_BY(connections_mu_);

  std::unique_ptr<BackgroundWorker> background_;
  std::unique_ptr<MetricsEndpoint> metrics_;
  int metrics_port_ = -1;

  std::atomic<bool> stopping_{false};
  Mutex shutdown_mu_;
  CondVar shutdown_cv_;  // signalled when shutdown_requested_ is set
  bool shutdown_requested_ GUARDED_BY(shutdown_mu_) = false;

  // Run's io threads: how many are still in io_.run().
  Mutex io_done_mu_;
  CondVar io_done_cv_;  // signalled when io_running_ drops
  int io_running_ GUARDED_BY(io_done_mu_) = 0;

  uint64_t last_tick_commands_ = 0;  // strand_ only
  int spare_fd_ = -1;                // strand_ only (after Listen)
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_SERVER_H_
