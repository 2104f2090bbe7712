// Connection: one client socket on the Asio event loop.
//
// Commands that take time in proportion to the keyspace (kCmdSlow) and large
// EXECs run on the server's slow-command threads instead of the event
// loop, one at a time per connection, so that they do not delay other
// clients' commands.
//
// On a replicated node (Server::cluster_pool) every run of buffered commands
// goes to the cluster threads that way (RunBatch / BatchDone), because each
// command waits for Raft there.
//
// A connection alternates between reading and writing, never both: it reads
// a chunk, executes every complete command in it (pipelining) until about
// 64 KiB of replies are pending, writes them (once the event loop has run
// the other handlers it holds ready: DeferWrite), and continues with the
// buffered commands or the next read. A client that does not read its
// replies therefore stops being served instead of growing server memory;
// a single reply over client-output-buffer-limit is replaced by an error and
// the connection closed. Protocol errors get Redis's "-ERR Protocol error:
// ..." reply, then the connection closes; nothing else is affected.
//
// Blocking commands (BLPOP...) park the connection: it reads and runs
// nothing until a write wakes it (the command runs again) or the command's
// timeout passes (a null reply); replies of the commands before it are
// written meanwhile.
//
// Pub/sub: a publisher on another io thread appends messages to the
// client's Subscriber (pubsub.h) and calls ClientState::pubsub_notify, which
// posts OnPubSub to this connection's strand. OnPubSub moves the messages
// to out_ and, if the connection is idle in a read (the usual case for a
// subscriber), writes them at once with a synchronous non-blocking
// write_some beside the pending async read: a socket may have one read and
// one write under way, and the write never blocks the strand. Only if the
// socket does not take everything is the read cancelled (read_cancelled_),
// so that the async write of the rest is, as always, the only socket
// operation: OnRead then goes on with Process, which writes out_ (and
// consumes whatever bytes the read brought, if it completed anyway). In any
// other state (writing, executing off the loop, parked) the messages wait
// in out_ for the write that follows. A subscriber whose undelivered
// messages pass the pubsub output limit is closed.
//
// Thread safety: all handlers of one connection run on its strand (the
// socket's executor). Stop and CheckTimeouts may be called from any thread;
// so may the client's waker (ClientState::wake), which only posts OnWake,
// and its pubsub_notify, which only posts OnPubSub.
#ifndef LSMKV_SERVER_CONNECTION_H_
#define LSMKV_SERVER_CONNECTION_H_

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif
#include <asio.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "server/client_state.h"
#include "server/dispatcher.h"
#include "server/reply.h"
#include "server/resp_parser.h"
#include "server/server_context.h"

namespace lsmkv::server {

class Server;

// How long shutdown waits for a client to take replies already being
// written before the connection is dropped.
inline constexpr std::chrono::milliseconds kStalledWriterGrace{1000};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // REQUIRES: socket's executor is a strand; server outlives the connection.
  Connection(Server* server, asio::ip::tcp::socket socket);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  uint64_t id() const { return state_.id; }
  ClientState& state() { return state_; }

  // Registers the client and starts reading.
  void Start();
  // Graceful stop for shutdown: the command running (if any) completes and
  // its reply is written, then the socket closes. A client that does not
  // take its pending replies within kStalledWriterGrace is dropped, so that
  // one stalled reader cannot hold up shutdown. Thread-safe.
  void Stop();
  // Closes the connection if it has been idle for at least idle_timeout_ms,
  // or if a request has stayed incomplete for at least request_timeout_ms
  // (a client trickling a command byte by byte is not idle, but is not
  // served either). A timeout of 0 is not checked. Thread-safe.
  void CheckTimeouts(int64_t now_ms, int64_t idle_timeout_ms, int64_t request_timeout_ms);

 private:
  void DoRead();
  void OnRead(const asio::error_code& error, size_t bytes);
  // Executes buffered commands, then defers the write of their replies
  // (DeferWrite), or reads or closes.
  void Process();
  // Executes complete buffered commands until about kWriteThreshold bytes of
  // replies are pending (or the connection is to close), then commits them.
  void ExecuteBuffered(ServerContext& ctx, Reply& reply);
  // Writes out_ without blocking; true if nothing is left to send.
  bool WriteNow();
  // Queues the write of out_ behind the handlers the event loop holds
  // ready now (asio runs them in order), as Redis writes its replies just
  // before it sleeps: a client reading many connections is then woken
  // once for a round of replies, not once per connection — each wake-up
  // costs the writer several microseconds in the kernel (the wake-up was a
  // quarter of lsmkv-server's CPU on pipelined LPOP, docs/BENCHMARKS.md).
  // Until OnDeferredWrite runs, the write counts as pending (writing_).
  // REQUIRES: no socket operation pending; out_ not empty.
  void DeferWrite();
  // Writes out_ (WriteNow, or DoWrite for the rest) and continues as
  // Process would after a write: reads, closes or runs buffered requests.
  void OnDeferredWrite();
  void DoWrite();
  void OnWrite(const asio::error_code& error, size_t bytes);
  void Close();
  void RefreshParserLimits();
  // True if the command in args_ (spec: its lookup, nullptr if unknown)
  // should run on the slow-command threads.
  bool RunsOffLoop(const CommandSpec* spec) const;
  // Runs args_ on the server's slow-command threads; its reply is appended
  // to out_ on the strand afterwards, and Process continues. Nothing else
  // of this connection runs meanwhile (no read, no other command).
  void ExecuteOffLoop(ServerContext& ctx);
  // What follows every command: the output limit, QUIT. False if the
  // connection is to close after the write.
  bool AfterCommand(ServerContext& ctx, Reply& reply);
  // The checks AfterCommand and RunBatch share, on the replies in *out
  // (pending: bytes of earlier replies not in it): drops an oversized
  // argument vector, applies AUTH to the parser's limits, replaces replies
  // over client-output-buffer-limit by the error. False if the connection is
  // to close after the write (that error, or QUIT).
  bool CheckAfterCommand(ServerContext& ctx, Reply& reply, std::string* out, size_t pending);
  // Back on the strand with the off-loop command's reply.
  void OffLoopDone(std::string out);

  // A replicated node (Server::cluster_pool): every command runs on the
  // cluster threads, a run of buffered commands at a time, because it waits
  // for Raft. RunBatch is ExecuteBuffered off the loop: it parses and runs
  // commands until about kWriteThreshold bytes of replies (pending: those
  // already in out_) are due, the buffer holds no complete request, the
  // connection is to close, or a command blocks; BatchDone takes the
  // outcome back on the strand and continues Process. Nothing else of this
  // connection runs meanwhile but writes of earlier replies and pub/sub
  // deliveries.
  struct BatchResult {
    std::string out;                         // the replies
    bool starved = false;                    // stopped for want of bytes
    bool close = false;                      // close after the write
    bool park = false;                       // the last command blocks (args_ holds it)
    const CommandSpec* park_spec = nullptr;  // its lookup
    bool parsed = false;                     // a command was parsed
    int64_t request_started_ms = 0;          // request_started_ms_ after the last one
    size_t buffered = 0;                     // bytes left in the parser
  };
  void ExecuteBufferedOffLoop(ServerContext& ctx, asio::thread_pool& pool);
  BatchResult RunBatch(ServerContext& ctx, size_t pending);
  void BatchDone(BatchResult result);

  // Blocking commands (blocking.h). Park: the command in args_ (spec)
  // asked to block (ClientState::block); nothing more of this connection
  // runs (no read, no command) until OnWake runs it again or
  // OnBlockTimeout replies the null. first: a new block (it keeps args_
  // and arms the timer); else the command blocked again after a wake-up
  // (the first deadline stands).
  void Park(const CommandSpec* spec, bool first);
  // A write made a key ready (posted by the client's waker).
  void OnWake();
  // The block's deadline passed.
  void OnBlockTimeout();
  // CLIENT UNBLOCK (ClientRegistry::Unblock): ends the block with an
  // -UNBLOCKED error if error, else as OnBlockTimeout does.
  void OnUnblock(bool error);
  // What OnBlockTimeout and OnUnblock share: unless a wake-up is already on
  // its way (it runs the command), replies the null or the error and
  // resumes the connection.
  void EndBlock(bool error);
  // After the blocked command replied: back to serving the connection.
  void FinishBlock(ServerContext& ctx, Reply& reply);
  // True if the peer closed its end (a blocked client that went away must
  // not take the element it waited for).
  bool PeerClosed();
  // Pub/sub messages are pending (posted by pubsub_notify): see above.
  void OnPubSub();
  // Tells the client's Subscriber how many bytes are not yet sent.
  void UpdateUnsent();
  Server* server_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer stop_timer_;   // Stop's grace for a pending write
  asio::steady_timer block_timer_;  // a blocked command's deadline
  RespParser parser_;
  std::vector<std::string> args_;
  // The last command name looked up and its spec (pipelines repeat one
  // command): FindCommand compares bytes before hashing. The table does
  // not change once the server runs (CommandTable::Rename is for startup).
  std::string last_name_;
  const CommandSpec* last_spec_ = nullptr;
  const CommandSpec* FindCommand(ServerContext& ctx, const std::string& name);
  std::string out_;      // replies not yet handed to the socket
  std::string sending_;  // replies being written
  ClientState state_;
  PipelineBatch batch_;
  bool reading_ = false;
  bool writing_ = false;
  bool stopping_ = false;
  bool close_after_write_ = false;
  bool closed_ = false;
  bool registered_ = false;
  bool executing_ = false;  // a command runs on the slow-command or cluster threads
  // Cluster threads only: the buffered bytes hold no complete request; read
  // before running anything more.
  bool starved_ = false;
  bool close_pending_ = false;  // Close was asked for while executing_
  bool blocked_ = false;        // a blocking command waits (Park)
  // OnPubSub cancelled the pending read to write messages asynchronously:
  // OnRead's operation_aborted is not an error then.
  bool read_cancelled_ = false;
  // The blocked command, run again on each wake-up, and its deadline (Unix
  // ms on the keyspace clock; 0 = none).
  const CommandSpec* blocked_spec_ = nullptr;
  std::vector<std::string> blocked_args_;
  int64_t block_deadline_ms_ = 0;
  // Keeps this connection alive while it is parked with no socket operation
  // or timer pending (the waker holds only a weak reference); reset when the
  // block ends or the connection closes.
  std::shared_ptr<Connection> keep_alive_while_blocked_;
  // When the first bytes of the incomplete request arrived (clock ms), or 0
  // when no request is incomplete.
  int64_t request_started_ms_ = 0;
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_CONNECTION_H_
