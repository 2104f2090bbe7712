// The command model: what a command is (CommandSpec), what a handler gets
// (CommandContext), and per-command statistics (CommandStats).
//
// A handler validates its arguments, reads and writes keys through ctx.txn
// and writes exactly one reply through ctx.reply. The dispatcher has already
// checked the arity and authentication, taken the key locks the spec asks
// for, and commits ctx.txn after the handler returns (replacing the reply
// with an error if the commit fails).
#ifndef LSMKV_SERVER_COMMAND_H_
#define LSMKV_SERVER_COMMAND_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/client_state.h"
#include "server/keyspace.h"
#include "server/reply.h"
#include "server/server_context.h"

namespace lsmkv::server {

enum CommandFlag : uint32_t {
  kCmdWrite = 1 << 0,        // changes keys: stripes of its keys are locked
  kCmdReadOnly = 1 << 1,     // only reads keys
  kCmdAdmin = 1 << 2,        // server administration (CONFIG, SHUTDOWN)
  kCmdNoAuth = 1 << 3,       // allowed before authentication (AUTH, HELLO, QUIT)
  kCmdFast = 1 << 4,         // O(1) or O(log N)
  kCmdKeyspace = 1 << 5,     // reads or changes the whole keyspace: EXEC locks every stripe
  kCmdLockAll = 1 << 6,      // takes every stripe even outside EXEC (FLUSHDB)
  kCmdTransaction = 1 << 7,  // MULTI, EXEC, DISCARD, WATCH: never queued
  kCmdNoMulti = 1 << 8,      // refused inside MULTI (SHUTDOWN is run at once in Redis)
  kCmdSlow = 1 << 9,         // O(N) in the keyspace: runs on the slow-command threads,
                             // off the event loop (connection.h)
  kCmdScript = 1 << 10,      // runs a Lua script: takes the script gate exclusively and
                             // every stripe itself (scripting.h); never batched
  // Set by CommandTable from the name (AllowedWhileBusy), not by Add:
  kCmdWhileBusy = 1 << 11,            // runs while a script is busy
  kCmdWhileBusySubcommand = 1 << 12,  // ... with some subcommands (SCRIPT KILL)
};

// Latency buckets (upper bounds, microseconds) of CommandStats; the last
// bucket is +Inf.
inline constexpr std::array<uint64_t, 16> kLatencyBucketsMicros = {
    10,   25,    50,    100,   250,    500,    1000,   2500,
    5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000};

// Thread safety: every field is an atomic updated with relaxed ordering.
struct CommandStats {
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> micros{0};
  std::atomic<uint64_t> failed_calls{0};    // ran and replied with an error
  std::atomic<uint64_t> rejected_calls{0};  // refused before running (arity, auth)
  std::array<std::atomic<uint64_t>, kLatencyBucketsMicros.size() + 1> buckets{};

  void Record(uint64_t elapsed_micros, bool failed);
  void Reset();
};

struct CommandContext;
using CommandHandler = void (*)(CommandContext& ctx);
// Finds the key arguments of a command whose keys cannot be described by
// first_key/last_key/key_step (a numkeys argument: ZUNIONSTORE, LMPOP...).
// Appends views of args' key arguments to *keys. Must not fail: with a
// malformed numkeys it appends only the arguments that exist (the handler
// then replies the error); it never reads past args.
using KeyFinder = void (*)(const std::vector<std::string>& args,
                           std::vector<std::string_view>* keys);

struct CommandSpec {
  const char* name;  // lowercase
  int arity;         // > 0: exactly; < 0: at least -arity (the name counts)
  uint32_t flags;
  int first_key;  // 0 = no keys
  int last_key;   // negative counts from the end (-1 = last argument)
  int key_step;
  const char* group;  // COMMAND DOCS / ACL category: string, keyspace, connection...
  CommandHandler handler;
  mutable CommandStats stats;
  // If set, used instead of first_key/last_key/key_step (CollectKeys).
  KeyFinder find_keys = nullptr;
};

// A KeyFinder helper: appends args[first], args[first + 1], ...: count of
// them, where count is the integer at args[numkeys_index], clamped to the
// arguments there are (nothing if it is not a positive integer).
void CollectNumKeys(const std::vector<std::string>& args, size_t numkeys_index, size_t first,
                    std::vector<std::string_view>* keys);

// Appends the key arguments of args (per spec's key positions, or its
// find_keys) to *keys.
void CollectKeys(const CommandSpec& spec, const std::vector<std::string>& args,
                 std::vector<std::string_view>* keys);

struct CommandContext {
  ServerContext& server;
  ClientState& client;
  const CommandSpec& spec;
  const std::vector<std::string>& args;
  Reply& reply;
  Txn& txn;
  bool in_exec;  // running as part of EXEC
};

// Redis's error texts, shared by the handlers.
namespace errors {
inline constexpr std::string_view kSyntax = "ERR syntax error";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kNoAuth = "NOAUTH Authentication required.";
inline constexpr std::string_view kTooLarge =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
}  // namespace errors

// "ERR wrong number of arguments for 'NAME' command".
std::string ArityError(std::string_view full_name);
// "ERR invalid expire time in 'NAME' command".
std::string InvalidExpireError(std::string_view name);

// Registration, one function per command family (commands_*.cc).
using CommandList = std::vector<std::unique_ptr<CommandSpec>>;
void RegisterConnectionCommands(CommandList* list);
void RegisterStringCommands(CommandList* list);
void RegisterBitCommands(CommandList* list);
void RegisterSortCommands(CommandList* list);
void RegisterHashCommands(CommandList* list);
void RegisterListCommands(CommandList* list);
void RegisterSetCommands(CommandList* list);
void RegisterZSetCommands(CommandList* list);
void RegisterStreamCommands(CommandList* list);
void RegisterKeyCommands(CommandList* list);
void RegisterExpireCommands(CommandList* list);
void RegisterServerCommands(CommandList* list);
void RegisterClusterCommands(CommandList* list);
void RegisterTransactionCommands(CommandList* list);
void RegisterPubSubCommands(CommandList* list);
void RegisterScriptingCommands(CommandList* list);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_COMMAND_H_
