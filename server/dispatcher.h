// The dispatcher: runs one client request through Redis's sequence of checks
// (unknown command, arity, authentication, MULTI queueing), takes the key
// locks the command needs, runs its handler in a Txn, commits, and records
// statistics. Also runs EXEC's queued commands as one transaction.
//
// Thread safety: calls for different clients may run concurrently; calls for
// one client must not.
#ifndef LSMKV_SERVER_DISPATCHER_H_
#define LSMKV_SERVER_DISPATCHER_H_

#include <string>
#include <vector>

#include "server/client_state.h"
#include "server/key_locks.h"
#include "server/keyspace.h"
#include "server/reply.h"
#include "server/server_context.h"

namespace lsmkv::server {

// Longest key accepted by writes (the engine's key limit, less the prefixes).
inline constexpr size_t kMaxKeyBytes = 64 * 1024;

// After txn's commit (commit: its status; OK if there was nothing to
// commit): publishes the keyspace notifications its commands queued, or
// drops them if the commit failed (notify.h). Callers hold the stripes of
// the Txn's keys until it returns, so the events of one key are published
// in the order its writes committed.
void FinishEvents(ServerContext* server, Txn& txn, const Status& commit);

// PipelineBatch: lets consecutive pipelined commands of one connection share
// one engine write (and, with appendfsync always, one fsync). Their writes
// go to one Txn, whose reads see the batch's earlier writes; the batch holds
// the key stripes of every command in it until Finish commits, and replies
// reach the client only after Finish, so each command still takes effect
// atomically before its reply is seen. A command whose stripes are busy,
// or that works on the whole keyspace, ends the batch first (never blocking
// while holding stripes).
//
// Thread safety: one batch belongs to one connection.
class PipelineBatch {
 public:
  // server (may be null: then no keyspace notification is published) is
  // where Finish publishes the batch's notifications.
  explicit PipelineBatch(Keyspace* keyspace, ServerContext* server = nullptr)
      : server_(server), txn_(keyspace, 0, /*overlay=*/true) {}
  PipelineBatch(const PipelineBatch&) = delete;
  PipelineBatch& operator=(const PipelineBatch&) = delete;
  ~PipelineBatch();

  bool empty() const { return commands_ == 0; }
  // Commits the batch's writes and releases its stripes. If the commit
  // fails, every reply written since the batch began is replaced by the
  // error (one per command).
  void Finish(Reply& reply);
  // The batch's Txn (tests: Txn::TEST_CachedReads).
  const Txn& TEST_txn() const { return txn_; }

 private:
  friend void ExecuteCommandUnfiltered(ServerContext&, ClientState&, const CommandSpec*,
                                       std::vector<std::string>&, Reply&, PipelineBatch*);
  ServerContext* server_;
  Txn txn_;  // reused from batch to batch
  KeyLocks::Guard guard_;
  size_t reply_start_ = 0;
  size_t commands_ = 0;
  // The batch's commands: each counts as failed if the commit fails.
  std::vector<const CommandSpec*> specs_;
};

// Executes args (args[0] is the command name) for client, appending the
// reply. May move from args (MULTI queues them). Without a batch the
// command's writes are committed before this returns; with one they may be
// left for batch->Finish, which the caller runs before sending replies.
void ExecuteCommand(ServerContext& server, ClientState& client, std::vector<std::string>& args,
                    Reply& reply, PipelineBatch* batch = nullptr);
// The same, for a caller that has looked args[0] up already: spec is
// server.commands->Find(args[0]) (nullptr: unknown command).
void ExecuteCommand(ServerContext& server, ClientState& client, const CommandSpec* spec,
                    std::vector<std::string>& args, Reply& reply, PipelineBatch* batch);

// The same without CLIENT REPLY's filtering (ExecuteCommand applies it).
void ExecuteCommandUnfiltered(ServerContext& server, ClientState& client, const CommandSpec* spec,
                              std::vector<std::string>& args, Reply& reply, PipelineBatch* batch);

// EXEC: runs client.queued atomically (one WriteBatch, every involved stripe
// locked) unless a watched key changed, then leaves MULTI and unwatches.
void ExecuteTransaction(ServerContext& server, ClientState& client, Reply& reply);

// The memory a queued command takes (its argument vector and strings, as
// the parser counts arguments): what multi-max-bytes limits.
uint64_t QueuedCommandMemory(const std::vector<std::string>& args);

// Leaves MULTI and forgets every watched key (DISCARD, EXEC, disconnect).
void DiscardTransaction(ServerContext& server, ClientState& client);
void UnwatchAll(ServerContext& server, ClientState& client);

// The error reply for a failed commit: "ERR <status>", or, for a replicated
// write refused (CLUSTERDOWN) or of unknown outcome (UNKNOWN), the
// replication layer's own reply (cluster.h).
std::string CommitErrorReply(const Status& s);

// "ERR unknown command 'x', with args beginning with: 'a' 'b' ".
std::string UnknownCommandError(const std::vector<std::string>& args);
// "ERR unknown subcommand 'x'. Try NAME HELP."
std::string UnknownSubcommandError(std::string_view subcommand, std::string_view command);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_DISPATCHER_H_
