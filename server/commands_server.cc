// Server commands: INFO, CONFIG GET/SET/RESETSTAT/HELP, COMMAND (COUNT,
// INFO, DOCS, LIST, GETKEYS), SHUTDOWN, TIME.
#include <set>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/config.h"
#include "server/dispatcher.h"
#include "server/glob.h"
#include "server/info.h"

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

void Time(CommandContext& ctx) {
  const int64_t micros = ctx.server.keyspace->clock()->NowUs();
  ctx.reply.Array(2);
  ctx.reply.Bulk(std::to_string(micros / 1000000));
  ctx.reply.Bulk(std::to_string(micros % 1000000));
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
  Add(list, "shutdown", -1, kCmdAdmin, Shutdown);
  Add(list, "time", 1, kCmdFast, Time);
}

}  // namespace lsmkv::server
