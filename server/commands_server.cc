// Server commands: INFO, CONFIG GET/SET/RESETSTAT/HELP, COMMAND (COUNT,
// INFO, DOCS, LIST, GETKEYS), SHUTDOWN, TIME, and the glue Redis's own test
// suite needs in external mode (scripts/redis_suite.sh): FUNCTION, answering
// as a Redis 7.0 server with no function library loaded, the harmless
// DEBUG subcommands; and MEMORY USAGE.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>
#include <thread>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/config.h"
#include "server/dispatcher.h"
#include "server/glob.h"
#include "server/info.h"
#include "server/scripting.h"
#include "server/value_codec.h"

namespace lsmkv::server {

namespace {

void Info(CommandContext& ctx) {
  std::vector<std::string> sections;
  for (size_t i = 1; i < ctx.args.size(); i++) sections.push_back(ToLower(ctx.args[i]));
  ctx.reply.Verbatim(BuildInfo(ctx.server, sections));
}

void ApplySideEffects(CommandContext& ctx, const SettingInfo& info) {
  if (info.id == Setting::kAppendfsync) {
    static const FsyncPolicy kPolicies[] = {FsyncPolicy::kEverySec, FsyncPolicy::kAlways,
                                            FsyncPolicy::kNo};
    ctx.server.keyspace->set_fsync_policy(kPolicies[ctx.server.config->Int(Setting::kAppendfsync)]);
  }
}

void ConfigGet(CommandContext& ctx) {
  std::vector<const SettingInfo*> matches;
  std::set<const SettingInfo*> seen;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    for (const SettingInfo& info : Config::Table()) {
      if (GlobMatch(ctx.args[i], info.name, /*nocase=*/true) && seen.insert(&info).second) {
        matches.push_back(&info);
      }
    }
  }
  ctx.reply.Map(matches.size());
  for (const SettingInfo* info : matches) {
    ctx.reply.Bulk(info->name);
    ctx.reply.Bulk(ctx.server.config->Get(*info));
  }
}

// CONFIG SET name value [name value ...]: all or nothing.
void ConfigSet(CommandContext& ctx) {
  const auto& args = ctx.args;
  if (args.size() < 4 || args.size() % 2 != 0) {
    ctx.reply.Error(ArityError("config|set"));
    return;
  }
  std::vector<const SettingInfo*> infos;
  for (size_t i = 2; i < args.size(); i += 2) {
    const SettingInfo* info = Config::Find(args[i]);
    if (info == nullptr) {
      ctx.reply.Error("ERR Unknown option or number of arguments for CONFIG SET - '" + args[i] +
                      "'");
      return;
    }
    if (!info->mutable_at_runtime) {
      ctx.reply.Error("ERR CONFIG SET failed (possibly related to argument '" + args[i] +
                      "') - can't set immutable config");
      return;
    }
    infos.push_back(info);
  }
  std::vector<std::string> previous;
  for (const SettingInfo* info : infos) previous.push_back(ctx.server.config->Get(*info));
  for (size_t k = 0; k < infos.size(); k++) {
    std::string error = ctx.server.config->Set(*infos[k], args[2 + 2 * k + 1]);
    if (!error.empty()) {
      for (size_t r = 0; r < k; r++) {
        std::string restored = ctx.server.config->Set(*infos[r], previous[r]);
        (void)restored;  // the previous value was valid
      }
      ctx.reply.Error("ERR CONFIG SET failed (possibly related to argument '" + args[2 + 2 * k] +
                      "') - " + error);
      return;
    }
  }
  for (const SettingInfo* info : infos) ApplySideEffects(ctx, *info);
  ctx.reply.Ok();
}

void ConfigCommand(CommandContext& ctx) {
  const std::string sub = ToLower(ctx.args[1]);
  if (sub == "get") {
    if (ctx.args.size() < 3) {
      ctx.reply.Error(ArityError("config|get"));
      return;
    }
    ConfigGet(ctx);
  } else if (sub == "set") {
    ConfigSet(ctx);
  } else if (sub == "resetstat") {
    if (ctx.args.size() != 2) {
      ctx.reply.Error(ArityError("config|resetstat"));
      return;
    }
    for (const auto& spec : ctx.server.commands->all()) spec->stats.Reset();
    ServerStats& st = *ctx.server.stats;
    for (auto* counter :
         {&st.connections_received, &st.rejected_connections, &st.commands_processed,
          &st.net_input_bytes, &st.net_output_bytes, &st.protocol_errors, &st.request_timeouts,
          &st.auth_failures, &st.auth_rate_limited, &st.auth_disconnects,
          &st.protected_mode_refusals}) {
      counter->store(0, std::memory_order_relaxed);
    }
    st.errors.Reset();
    ctx.server.keyspace->keyspace_hits.store(0, std::memory_order_relaxed);
    ctx.server.keyspace->keyspace_misses.store(0, std::memory_order_relaxed);
    ctx.server.keyspace->expired_keys.store(0, std::memory_order_relaxed);
    ctx.reply.Ok();
  } else if (sub == "rewrite") {
    ctx.reply.Error("ERR CONFIG REWRITE is not available in lsmkv-server; edit the config file");
  } else if (sub == "help") {
    static const char* const kLines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "HELP",
        "    Print this help."};
    ctx.reply.Array(std::size(kLines));
    for (const char* line : kLines) ctx.reply.Status(line);
  } else {
    ctx.reply.Error(UnknownSubcommandError(ctx.args[1], "CONFIG"));
  }
}

// One COMMAND INFO entry: name, arity, flags, first key, last key, step,
// ACL categories, tips, key specs, subcommands.
void CommandEntry(Reply& r, const CommandSpec& spec) {
  std::vector<const char*> flags;
  if (spec.flags & kCmdWrite) flags.push_back("write");
  if (spec.flags & kCmdReadOnly) flags.push_back("readonly");
  if (spec.flags & kCmdAdmin) flags.push_back("admin");
  if (spec.flags & kCmdNoAuth) flags.push_back("no_auth");
  if (spec.flags & kCmdFast) flags.push_back("fast");
  std::vector<std::string> categories;
  categories.push_back(spec.flags & kCmdWrite ? "@write" : "@read");
  categories.push_back(std::string("@") +
                       (std::string(spec.group) == "generic" ? "keyspace" : spec.group));
  categories.push_back(spec.flags & kCmdFast ? "@fast" : "@slow");
  if (spec.flags & kCmdAdmin) categories.push_back("@dangerous");
  r.Array(10);
  r.Bulk(spec.name);
  r.Integer(spec.arity);
  r.Set(flags.size());
  for (const char* f : flags) r.Status(f);
  r.Integer(spec.first_key);
  r.Integer(spec.last_key);
  r.Integer(spec.key_step);
  r.Set(categories.size());
  for (const std::string& c : categories) r.Status(c);
  r.Set(0);
  r.Array(0);
  r.Array(0);
}

void CommandCommand(CommandContext& ctx) {
  const CommandTable& table = *ctx.server.commands;
  const auto& args = ctx.args;
  if (args.size() == 1) {
    ctx.reply.Array(table.all().size());
    for (const auto& spec : table.all()) CommandEntry(ctx.reply, *spec);
    return;
  }
  const std::string sub = ToLower(args[1]);
  if (sub == "count") {
    if (args.size() != 2) {
      ctx.reply.Error(ArityError("command|count"));
      return;
    }
    ctx.reply.Integer(static_cast<int64_t>(table.all().size()));
  } else if (sub == "info") {
    if (args.size() == 2) {
      ctx.reply.Array(table.all().size());
      for (const auto& spec : table.all()) CommandEntry(ctx.reply, *spec);
      return;
    }
    ctx.reply.Array(args.size() - 2);
    for (size_t i = 2; i < args.size(); i++) {
      const CommandSpec* spec = table.Find(args[i]);
      if (spec == nullptr) {
        ctx.reply.Null();
      } else {
        CommandEntry(ctx.reply, *spec);
      }
    }
  } else if (sub == "docs") {
    // No documentation is served; clients fall back to their own help.
    ctx.reply.Map(0);
  } else if (sub == "list") {
    ctx.reply.Array(table.all().size());
    for (const auto& spec : table.all()) ctx.reply.Bulk(spec->name);
  } else if (sub == "getkeys") {
    if (args.size() < 3) {
      ctx.reply.Error(ArityError("command|getkeys"));
      return;
    }
    const CommandSpec* spec = table.Find(args[2]);
    std::vector<std::string> command(args.begin() + 2, args.end());
    if (spec == nullptr) {
      ctx.reply.Error("ERR Invalid command specified");
      return;
    }
    const int n = static_cast<int>(command.size());
    if ((spec->arity > 0 && n != spec->arity) || (spec->arity < 0 && n < -spec->arity)) {
      ctx.reply.Error("ERR Invalid number of arguments specified for command");
      return;
    }
    std::vector<std::string_view> keys;
    CollectKeys(*spec, command, &keys);
    if (keys.empty()) {
      ctx.reply.Error("ERR The command has no key arguments");
      return;
    }
    ctx.reply.Array(keys.size());
    for (std::string_view key : keys) ctx.reply.Bulk(key);
  } else if (sub == "help") {
    static const char* const kLines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all commands.",
        "COUNT",
        "    Return the total number of commands in this server.",
        "LIST",
        "    Return a list of all commands in this server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple commands.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple commands.",
        "GETKEYS <full-command>",
        "    Return the keys from a full command.",
        "HELP",
        "    Print this help."};
    ctx.reply.Array(std::size(kLines));
    for (const char* line : kLines) ctx.reply.Status(line);
  } else {
    ctx.reply.Error(UnknownSubcommandError(args[1], "COMMAND"));
  }
}

// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: there is nothing to save
// (every write is in the log); the options are accepted for compatibility.
void Shutdown(CommandContext& ctx) {
  bool nosave = false, save = false, other = false, abort = false;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    const std::string& opt = ctx.args[i];
    if (EqualsIgnoreCase(opt, "nosave")) {
      nosave = true;
    } else if (EqualsIgnoreCase(opt, "save")) {
      save = true;
    } else if (EqualsIgnoreCase(opt, "now") || EqualsIgnoreCase(opt, "force")) {
      other = true;
    } else if (EqualsIgnoreCase(opt, "abort")) {
      abort = true;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if ((abort && (nosave || save || other)) || (nosave && save)) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  if (abort) {
    ctx.reply.Error("ERR Errors trying to abort SHUTDOWN. Check logs.");
    return;
  }
  // Like Redis, a successful SHUTDOWN sends no reply: the connection closes.
  ctx.client.close_after_reply = true;
  ctx.server.request_shutdown();
}

// SAVE: there is no RDB snapshot to write, since every acknowledged write is
// already in the engine's log. What a client asking for SAVE wants is its
// data in durable tables; SAVE flushes the memtable to a synced table
// (DB::Flush) and replies +OK only once that is done, or the engine's error.
// Slow (it writes a table), so it runs off the event loop; refused inside
// MULTI as in Redis.
void Save(CommandContext& ctx) {
  Status s = ctx.server.keyspace->db()->Flush();
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return;
  }
  ctx.reply.Status("OK");
}

void Time(CommandContext& ctx) {
  const int64_t micros = ctx.server.keyspace->clock()->NowUs();
  ctx.reply.Array(2);
  ctx.reply.Bulk(std::to_string(micros / 1000000));
  ctx.reply.Bulk(std::to_string(micros % 1000000));
}

// FUNCTION: LOAD, DELETE, FLUSH and KILL work on scripting.h's libraries;
// LIST, STATS, DUMP and RESTORE answer as Redis 7.0 does with no library
// (Redis's replies and error texts): they do not show loaded libraries.
//
// What Redis 7.0's FUNCTION DUMP returns with no library: an empty payload,
// then the payload format version (RDB 10, 2 bytes little-endian) and the
// CRC64 of the bytes before it. FUNCTION RESTORE accepts exactly this.
constexpr std::string_view kEmptyFunctionDump("\x0a\x00\x5d\x9b\x5c\x40\x0f\x7f\xa2\xda", 10);

std::string FunctionUsageError(std::string_view sub) {
  return "ERR unknown subcommand or wrong number of arguments for '" +
         std::string(sub.substr(0, 128)) + "'. Try FUNCTION HELP.";
}

void FunctionFlush(CommandContext& ctx) {
  const auto& args = ctx.args;
  if (args.size() > 3) {
    ctx.reply.Error(FunctionUsageError(args[1]));
  } else if (args.size() == 3 && !EqualsIgnoreCase(args[2], "sync") &&
             !EqualsIgnoreCase(args[2], "async")) {
    ctx.reply.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
  } else {
    if (ctx.server.scripting != nullptr) ctx.server.scripting->FunctionFlush();
    ctx.reply.Ok();
  }
}

// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]: no library matches.
void FunctionList(CommandContext& ctx) {
  const auto& args = ctx.args;
  bool with_code = false, library_name = false;
  for (size_t i = 2; i < args.size(); i++) {
    if (!with_code && EqualsIgnoreCase(args[i], "withcode")) {
      with_code = true;
    } else if (!library_name && EqualsIgnoreCase(args[i], "libraryname")) {
      if (i + 1 >= args.size()) {
        ctx.reply.Error("ERR library name argument was not given");
        return;
      }
      library_name = true;
      i++;
    } else {
      ctx.reply.Error("ERR Unknown argument " + args[i].substr(0, 128));
      return;
    }
  }
  ctx.reply.Array(0);
}

// FUNCTION STATS: no script running, the Lua engine (which Redis always
// lists) with no library.
void FunctionStats(CommandContext& ctx) {
  ctx.reply.Map(2);
  ctx.reply.Bulk("running_script");
  ctx.reply.Null();
  ctx.reply.Bulk("engines");
  ctx.reply.Map(1);
  ctx.reply.Bulk("LUA");
  ctx.reply.Map(2);
  ctx.reply.Bulk("libraries_count");
  ctx.reply.Integer(0);
  ctx.reply.Bulk("functions_count");
  ctx.reply.Integer(0);
}

// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]: the payload of no library
// restores nothing; any other is not one this server could have dumped.
void FunctionRestore(CommandContext& ctx) {
  const auto& args = ctx.args;
  if (args.size() > 4) {
    ctx.reply.Error(FunctionUsageError(args[1]));
    return;
  }
  if (args.size() == 4 && !EqualsIgnoreCase(args[3], "flush") &&
      !EqualsIgnoreCase(args[3], "append") && !EqualsIgnoreCase(args[3], "replace")) {
    ctx.reply.Error(
        "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
    return;
  }
  if (args[2] != kEmptyFunctionDump) {
    ctx.reply.Error("ERR DUMP payload version or checksum are wrong");
    return;
  }
  ctx.reply.Ok();
}

void FunctionCommand(CommandContext& ctx) {
  const auto& args = ctx.args;
  const std::string sub = ToLower(args[1]);
  // Subcommands with a fixed number of arguments, as Redis counts them.
  struct Fixed {
    const char* name;
    size_t args;
  };
  static constexpr Fixed kFixed[] = {{"stats", 2}, {"kill", 2}, {"delete", 3}, {"dump", 2}};
  for (const Fixed& f : kFixed) {
    if (sub == f.name && args.size() != f.args) {
      ctx.reply.Error(ArityError(std::string("function|") + f.name));
      return;
    }
  }
  if ((sub == "load" || sub == "restore") && args.size() < 3) {
    ctx.reply.Error(ArityError("function|" + sub));
    return;
  }
  if (sub == "flush") {
    FunctionFlush(ctx);
  } else if (sub == "list") {
    FunctionList(ctx);
  } else if (sub == "stats") {
    FunctionStats(ctx);
  } else if (sub == "kill" && ctx.server.scripting != nullptr) {
    ctx.server.scripting->FunctionKill(ctx);
  } else if (sub == "kill") {
    ctx.reply.Error("NOTBUSY No scripts in execution right now.");
  } else if (sub == "delete" && ctx.server.scripting != nullptr) {
    ctx.server.scripting->FunctionDelete(ctx, args[2]);
  } else if (sub == "delete") {
    ctx.reply.Error("ERR Library not found");
  } else if (sub == "dump") {
    ctx.reply.Bulk(kEmptyFunctionDump);
  } else if (sub == "restore") {
    FunctionRestore(ctx);
  } else if (sub == "load" && ctx.server.scripting != nullptr) {
    // FUNCTION LOAD [REPLACE] code (scripting.h).
    if (args.size() == 3) {
      ctx.server.scripting->FunctionLoad(ctx, args[2], /*replace=*/false);
    } else if (args.size() == 4 && EqualsIgnoreCase(args[2], "replace")) {
      ctx.server.scripting->FunctionLoad(ctx, args[3], /*replace=*/true);
    } else {
      ctx.reply.Error("ERR Unknown option given: " + args[2].substr(0, 128));
    }
  } else if (sub == "load") {
    ctx.reply.Error("ERR scripting is not available in this server");
  } else if (sub == "help" && args.size() == 2) {
    static const char* const kLines[] = {
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <library code>",
        "    Load a library of functions (FCALL, FCALL_RO run them).",
        "DELETE <library>",
        "    Delete a library and its functions.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete every library.",
        "KILL",
        "    Kill the running function if it has not written.",
        "LIST [LIBRARYNAME <pattern>] [WITHCODE], STATS, DUMP, RESTORE <payload> [policy]",
        "    Answer as a server with no library loaded (libraries are not listed or dumped).",
        "HELP",
        "    Print this help."};
    ctx.reply.Array(std::size(kLines));
    for (const char* line : kLines) ctx.reply.Status(line);
  } else {
    ctx.reply.Error(UnknownSubcommandError(args[1], "FUNCTION"));
  }
}

// DEBUG SLEEP sleeps at most this long, and only off the event loop (DEBUG
// runs on a slow-command thread, but a command inside EXEC runs on the
// loop, so there only DEBUG SLEEP 0 is allowed): a longer sleep would hold a
// slow-command thread that KEYS, SCAN or FLUSHALL of other clients need.
constexpr double kDebugSleepMaxSeconds = 1.0;

std::string DebugUsageError(std::string_view sub) {
  return "ERR unknown subcommand or wrong number of arguments for '" +
         std::string(sub.substr(0, 128)) + "'. Try DEBUG HELP.";
}

void DebugSleep(CommandContext& ctx) {
  const std::string& text = ctx.args[2];
  long double seconds = 0;
  if (!ParseLongDouble(text, &seconds) || seconds < 0) {
    ctx.reply.Error(errors::kNotFloat);
    return;
  }
  if (seconds > 0 && ctx.in_exec) {
    ctx.reply.Error("ERR DEBUG SLEEP inside MULTI/EXEC is limited to 0 seconds in lsmkv-server");
    return;
  }
  if (seconds > kDebugSleepMaxSeconds) {
    ctx.reply.Error("ERR DEBUG SLEEP is limited to 1 second in lsmkv-server");
    return;
  }
  if (seconds > 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(std::llround(seconds * 1e6L)));
  }
  ctx.reply.Ok();
}

// DEBUG: the subcommands that are harmless on lsmkv-server. Everything else
// (RELOAD, RESTART, SEGFAULT, OBJECT, POPULATE, DIGEST...) is refused with an
// error naming it: each would crash or block the server, change data behind
// the engine's back, or report Redis internals lsmkv does not have.
void DebugCommand(CommandContext& ctx) {
  const auto& args = ctx.args;
  const std::string sub = ToLower(args[1]);
  if (sub == "help" && args.size() == 2) {
    static const char* const kLines[] = {
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. lsmkv-server supports:",
        "LOG <message>",
        "    Write <message> to the server's log (standard error).",
        "SLEEP <seconds>",
        "    Sleep, at most 1 second (0 inside MULTI/EXEC), then reply.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Stop (0) or restart (1) the background expiry sweep.",
        "QUICKLIST-PACKED-THRESHOLD <size>",
        "    Accepted and ignored: lsmkv-server has no list encodings.",
        "CHANGE-REPL-ID",
        "    Accepted and ignored: lsmkv-server has no replication.",
        "HELP",
        "    Print this help."};
    ctx.reply.Array(std::size(kLines));
    for (const char* line : kLines) ctx.reply.Status(line);
  } else if (sub == "log" && args.size() == 3) {
    std::fprintf(stderr, "lsmkv-server: DEBUG LOG: %.*s\n",
                 static_cast<int>(std::min<size_t>(args[2].size(), 1024)), args[2].data());
    ctx.reply.Ok();
  } else if (sub == "sleep" && args.size() == 3) {
    DebugSleep(ctx);
  } else if (sub == "set-active-expire" && args.size() == 3) {
    int64_t on = 0;
    if (!ParseIntArg(ctx, args[2], &on)) return;
    ctx.server.keyspace->active_expire.store(on != 0, std::memory_order_relaxed);
    ctx.reply.Ok();
  } else if (sub == "quicklist-packed-threshold" && args.size() == 3) {
    int64_t bytes = 0;
    if (!ParseMemory(args[2], &bytes) || bytes <= 1 || bytes >= (int64_t{4} << 30)) {
      ctx.reply.Error("ERR argument must be a memory value bigger than 1 and smaller than 4gb");
      return;
    }
    ctx.reply.Ok();
  } else if (sub == "change-repl-id" && args.size() == 2) {
    ctx.reply.Ok();
  } else {
    static const char* const kKnown[] = {
        "help",          "log", "sleep", "set-active-expire", "quicklist-packed-threshold",
        "change-repl-id"};
    for (const char* known : kKnown) {
      if (sub == known) {
        ctx.reply.Error(DebugUsageError(args[1]));
        return;
      }
    }
    ctx.reply.Error("ERR DEBUG '" + args[1].substr(0, 64) +
                    "' is not supported by lsmkv-server (it has only the harmless subcommands: "
                    "see DEBUG HELP)");
  }
}

// MEMORY USAGE key [SAMPLES count]: the bytes lsmkv stores for key — its
// name and encoded value and, for a collection, its elements' engine keys
// and values, estimated like Redis from the first `count` elements (default
// 5, 0 = all): their average size times the element count. Uncompressed
// sizes, without the engine's per-entry overhead. Nil for an absent key.
// Redis's test suite calls it outside any test (scripts/redis_suite.sh).
void MemoryUsage(CommandContext& ctx) {
  const auto& args = ctx.args;
  if (args.size() != 3 && args.size() != 5) {
    ctx.reply.Error(args.size() < 3 ? ArityError("memory|usage") : std::string(errors::kSyntax));
    return;
  }
  int64_t samples = 5;
  if (args.size() == 5) {
    if (!EqualsIgnoreCase(args[3], "samples")) {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
    if (!ParseIntArg(ctx, args[4], &samples)) return;
    if (samples < 0) {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  const std::string& key = args[2];
  Entry entry;
  bool found = false;
  if (!ReadKey(ctx, key, &entry, &found)) return;
  if (!found) {
    ctx.reply.Null();
    return;
  }
  uint64_t bytes = key.size() + entry.payload.size() + 9;  // + flags and deadline
  if (IsCollectionType(entry.type)) {
    Collection c;
    if (!ReadCollection(ctx, key, entry.type, &c)) return;
    uint64_t sampled = 0, sampled_bytes = 0;
    Status s = ctx.txn.ScanElements(c.prefix, PrefixSuccessor(c.prefix),
                                    [&](std::string_view element, std::string_view value) {
                                      sampled++;
                                      sampled_bytes += element.size() + value.size();
                                      return samples == 0 || sampled < uint64_t(samples);
                                    });
    if (!s.ok()) {
      ctx.reply.Error("ERR " + s.ToString());
      return;
    }
    if (sampled > 0) bytes += sampled_bytes * c.meta.count / sampled;
  }
  ctx.reply.Integer(static_cast<int64_t>(bytes));
}

void MemoryCommand(CommandContext& ctx) {
  const std::string sub = ToLower(ctx.args[1]);
  if (sub == "usage") {
    MemoryUsage(ctx);
  } else if (sub == "help" && ctx.args.size() == 2) {
    static const char* const kLines[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. lsmkv-server supports:",
        "USAGE <key> [SAMPLES <count>]",
        "    Return the bytes lsmkv stores for the key (name, value and, for a collection,",
        "    its elements estimated from <count> of them; 5 by default, 0 = all).",
        "HELP",
        "    Print this help."};
    ctx.reply.Array(std::size(kLines));
    for (const char* line : kLines) ctx.reply.Status(line);
  } else {
    ctx.reply.Error(UnknownSubcommandError(ctx.args[1], "MEMORY"));
  }
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, CommandHandler handler) {
  list->push_back(std::unique_ptr<CommandSpec>(
      new CommandSpec{name, arity, flags, 0, 0, 0, "server", handler, {}}));
}

}  // namespace

void RegisterServerCommands(CommandList* list) {
  Add(list, "info", -1, kCmdKeyspace | kCmdSlow, Info);
  Add(list, "config", -2, kCmdAdmin, ConfigCommand);
  Add(list, "command", -1, 0, CommandCommand);
  Add(list, "shutdown", -1, kCmdAdmin | kCmdNoMulti, Shutdown);
  Add(list, "save", 1, kCmdAdmin | kCmdNoMulti | kCmdSlow, Save);
  Add(list, "time", 1, kCmdFast, Time);
  Add(list, "function", -2, 0, FunctionCommand);
  Add(list, "debug", -2, kCmdAdmin | kCmdSlow, DebugCommand);
  // MEMORY USAGE's key is its third argument (none for MEMORY HELP).
  list->push_back(std::unique_ptr<CommandSpec>(
      new CommandSpec{"memory", -2, kCmdReadOnly, 2, 2, 1, "server", MemoryCommand, {}}));
}

}  // namespace lsmkv::server
