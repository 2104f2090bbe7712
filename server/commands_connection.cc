// Connection commands: PING, ECHO, HELLO, AUTH, QUIT, SELECT, CLIENT.
#include <algorithm>
#include <iterator>
#include <limits>

#include "server/auth_guard.h"
#include "server/command_util.h"
#include "server/config.h"
#include "server/dispatcher.h"
#include "server/pubsub.h"

namespace lsmkv::server {

namespace {

// Compares without an early exit, so timing does not reveal the password.
bool SecretEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; i++) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

// The users: "default" (requirepass; with none every password passes) and
// "readonly" (readonly-password, if set). AUTH with a password alone tries
// the default user, then the read-only one.
bool CheckCredentials(CommandContext& ctx, std::string_view user, bool has_user,
                      std::string_view password, bool* read_only) {
  const std::string required = ctx.server.config->String(Setting::kRequirepass);
  const std::string readonly = ctx.server.config->String(Setting::kReadonlyPassword);
  *read_only = false;
  if ((!has_user || user == "default") && (required.empty() || SecretEquals(password, required))) {
    return true;
  }
  if ((!has_user || user == "readonly") && !readonly.empty() && SecretEquals(password, readonly)) {
    *read_only = true;
    return true;
  }
  return false;
}

// Checks a password under the limits on guessing (auth_guard.h): a blocked
// source is refused unchecked, and a connection is closed at its
// auth-max-failures-th failure. Writes the error reply on failure.
bool Authenticate(CommandContext& ctx, std::string_view user, bool has_user,
                  std::string_view password) {
  ServerStats& stats = *ctx.server.stats;
  const Config& config = *ctx.server.config;
  const int64_t max_failures = config.Int(Setting::kAuthMaxFailures);
  const int64_t block_ms = config.Int(Setting::kAuthBlockSeconds) * 1000;
  const int64_t now = ctx.server.keyspace->clock()->NowMs();
  const std::string_view source = AuthGuard::SourceOf(ctx.client.address);
  AuthGuard* guard = ctx.server.auth_guard;
  if (guard != nullptr && !guard->Allowed(source, now, max_failures, block_ms)) {
    stats.auth_rate_limited.fetch_add(1, std::memory_order_relaxed);
    ctx.reply.Error("ERR too many failed AUTH attempts from this address; try again in " +
                    std::to_string(block_ms / 1000) + " seconds (auth-block-seconds)");
    ctx.client.close_after_reply = true;
    return false;
  }
  bool read_only = false;
  if (!CheckCredentials(ctx, user, has_user, password, &read_only)) {
    stats.auth_failures.fetch_add(1, std::memory_order_relaxed);
    if (guard != nullptr) guard->RecordFailure(source, now, block_ms);
    ctx.reply.Error("WRONGPASS invalid username-password pair or user is disabled.");
    if (++ctx.client.auth_failures >= max_failures) {
      // Whatever else the client pipelined is not looked at.
      stats.auth_disconnects.fetch_add(1, std::memory_order_relaxed);
      ctx.client.close_after_reply = true;
    }
    return false;
  }
  if (guard != nullptr) guard->RecordSuccess(source);
  ctx.client.auth_failures = 0;
  ctx.client.authenticated = true;
  ctx.client.read_only = read_only;
  return true;
}

// Client names are printable ASCII without spaces ('!' to '~').
bool ValidClientName(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

void SetClientName(ClientState& client, std::string_view name) {
  MutexLock lock(&client.info_mu);
  client.name.assign(name);
}

void Ping(CommandContext& ctx) {
  if (ctx.args.size() > 2) {
    ctx.reply.Error(ArityError("ping"));
  } else if (ctx.reply.protocol() == 2 && ctx.client.subscribed()) {
    // A RESP2 subscriber's replies are arrays, as its messages are.
    ctx.reply.Array(2);
    ctx.reply.Bulk("pong");
    ctx.reply.Bulk(ctx.args.size() == 2 ? std::string_view(ctx.args[1]) : "");
  } else if (ctx.args.size() == 2) {
    ctx.reply.Bulk(ctx.args[1]);
  } else {
    ctx.reply.Status("PONG");
  }
}

void Echo(CommandContext& ctx) { ctx.reply.Bulk(ctx.args[1]); }

void Auth(CommandContext& ctx) {
  if (ctx.args.size() > 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  const bool has_user = ctx.args.size() == 3;
  if (!has_user && ctx.server.config->String(Setting::kRequirepass).empty()) {
    ctx.reply.Error(
        "ERR AUTH <password> called without any password configured for the default user. Are "
        "you sure your configuration is correct?");
    return;
  }
  const std::string_view user = has_user ? std::string_view(ctx.args[1]) : "default";
  if (!Authenticate(ctx, user, has_user, ctx.args.back())) return;
  ctx.reply.Ok();
}

// HELLO [protover [AUTH username password] [SETNAME clientname]]
void Hello(CommandContext& ctx) {
  const auto& args = ctx.args;
  int64_t version = 0;
  if (args.size() >= 2) {
    if (!ParseInt64(args[1], &version)) {
      ctx.reply.Error("ERR Protocol version is not an integer or out of range");
      return;
    }
    if (version < 2 || version > 3) {
      ctx.reply.Error("NOPROTO unsupported protocol version");
      return;
    }
  }
  const std::string* user = nullptr;
  const std::string* password = nullptr;
  const std::string* name = nullptr;
  for (size_t j = 2; j < args.size(); j++) {
    const size_t more = args.size() - 1 - j;
    if (EqualsIgnoreCase(args[j], "auth") && more >= 2) {
      user = &args[j + 1];
      password = &args[j + 2];
      j += 2;
    } else if (EqualsIgnoreCase(args[j], "setname") && more >= 1) {
      name = &args[j + 1];
      if (!ValidClientName(*name)) {
        ctx.reply.Error("ERR Client names cannot contain spaces, newlines or special characters.");
        return;
      }
      j++;
    } else {
      ctx.reply.Error("ERR Syntax error in HELLO option '" + args[j] + "'");
      return;
    }
  }
  if (user != nullptr) {
    if (!Authenticate(ctx, *user, /*has_user=*/true, *password)) return;
  }
  if (!ctx.client.authenticated && !ctx.server.config->String(Setting::kRequirepass).empty()) {
    ctx.reply.Error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
        "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
        "protocol version at the same time");
    return;
  }
  if (name != nullptr) SetClientName(ctx.client, *name);
  if (version != 0) {
    ctx.client.protocol.store(static_cast<int>(version), std::memory_order_relaxed);
    ctx.reply.set_protocol(static_cast<int>(version));
    // Messages published from now on take the new shape.
    if (ctx.client.subscriber != nullptr)
      ctx.client.subscriber->set_protocol(static_cast<int>(version));
  }
  Reply& r = ctx.reply;
  r.Map(7);
  r.Bulk("server");
  r.Bulk("lsmkv");
  r.Bulk("version");
  r.Bulk(kRedisCompatVersion);
  r.Bulk("proto");
  r.Integer(ctx.client.protocol.load(std::memory_order_relaxed));
  r.Bulk("id");
  r.Integer(static_cast<int64_t>(ctx.client.id));
  r.Bulk("mode");
  r.Bulk("standalone");
  r.Bulk("role");
  r.Bulk("master");
  r.Bulk("modules");
  r.Array(0);
}

void Quit(CommandContext& ctx) {
  ctx.client.close_after_reply = true;
  ctx.reply.Ok();
}

// SELECT index: later commands of this client (also later ones of its EXEC)
// work on that logical database.
void Select(CommandContext& ctx) {
  int db = 0;
  if (!ParseDbIndex(ctx, ctx.args[1], errors::kNotInteger, &db)) return;
  ctx.client.db.store(db, std::memory_order_relaxed);
  ctx.reply.Ok();
}

// One CLIENT LIST line (Redis's field names; fields lsmkv-server does not
// track are reported as Redis reports an idle client).
std::string ClientLine(const ClientState& c, int64_t now_ms) {
  std::string name;
  {
    MutexLock lock(&c.info_mu);
    name = c.name;
  }
  const CommandSpec* last = c.last_command.load(std::memory_order_relaxed);
  const int64_t age = (now_ms - c.created_ms) / 1000;
  const int64_t idle = (now_ms - c.last_interaction_ms.load(std::memory_order_relaxed)) / 1000;
  return "id=" + std::to_string(c.id) + " addr=" + c.address + " laddr=" + c.local_address +
         " fd=-1 name=" + name + " age=" + std::to_string(age) +
         " idle=" + std::to_string(idle < 0 ? 0 : idle) +
         " flags=N db=" + std::to_string(c.db.load(std::memory_order_relaxed)) +
         " sub=0 psub=0 ssub=0" +
         " multi=-1 qbuf=" + std::to_string(c.query_buffer_bytes.load(std::memory_order_relaxed)) +
         " qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=" +
         std::to_string(c.output_buffer_bytes.load(std::memory_order_relaxed)) +
         " tot-mem=0 events=r cmd=" + (last ? last->name : "NULL") +
         " user=default redir=-1 resp=" +
         std::to_string(c.protocol.load(std::memory_order_relaxed)) + "\n";
}

void Client(CommandContext& ctx) {
  const auto& args = ctx.args;
  const std::string sub = ToLower(args[1]);
  auto arity = [&](size_t n, bool at_least = false) {
    if (at_least ? args.size() >= n : args.size() == n) return true;
    ctx.reply.Error(ArityError("client|" + sub));
    return false;
  };
  if (sub == "id") {
    if (arity(2)) ctx.reply.Integer(static_cast<int64_t>(ctx.client.id));
  } else if (sub == "getname") {
    if (!arity(2)) return;
    std::string name;
    {
      MutexLock lock(&ctx.client.info_mu);
      name = ctx.client.name;
    }
    if (name.empty()) {
      ctx.reply.Null();
    } else {
      ctx.reply.Bulk(name);
    }
  } else if (sub == "setname") {
    if (!arity(3)) return;
    if (!ValidClientName(args[2])) {
      ctx.reply.Error("ERR Client names cannot contain spaces, newlines or special characters.");
      return;
    }
    SetClientName(ctx.client, args[2]);
    ctx.reply.Ok();
  } else if (sub == "list") {
    if (!arity(2, true)) return;
    const int64_t now = ctx.server.keyspace->clock()->NowMs();
    std::string text;
    ctx.server.clients->ForEach([&](const ClientState& c) { text += ClientLine(c, now); });
    ctx.reply.Verbatim(text);
  } else if (sub == "unblock") {
    // CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if the client had a blocked
    // command, which then ends as at its timeout or with -UNBLOCKED.
    if (args.size() < 3) {
      ctx.reply.Error(ArityError("client|" + sub));
      return;
    }
    if (args.size() > 4) {  // Redis's own wording for this case
      ctx.reply.Error(
          "ERR unknown subcommand or wrong number of arguments for 'unblock'. Try "
          "CLIENT HELP.");
      return;
    }
    int64_t id = 0;
    if (!ParseInt64(args[2], &id)) {
      ctx.reply.Error(errors::kNotInteger);
      return;
    }
    bool error = false;
    if (args.size() == 4) {
      if (EqualsIgnoreCase(args[3], "error")) {
        error = true;
      } else if (!EqualsIgnoreCase(args[3], "timeout")) {
        ctx.reply.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
        return;
      }
    }
    const bool unblocked = id > 0 && ctx.server.clients->Unblock(static_cast<uint64_t>(id), error);
    ctx.reply.Integer(unblocked ? 1 : 0);
  } else if (sub == "info") {
    if (arity(2)) ctx.reply.Verbatim(ClientLine(ctx.client, ctx.server.keyspace->clock()->NowMs()));
  } else if (sub == "reply") {
    if (!arity(3)) return;
    // OFF and SKIP reply nothing; ON replies +OK even after OFF (the
    // dispatcher decides what reaches the client after the command ran).
    if (EqualsIgnoreCase(args[2], "on")) {
      ctx.client.reply_off = false;
      ctx.client.reply_skip = false;
      ctx.client.reply_skip_next = false;
      ctx.reply.Ok();
    } else if (EqualsIgnoreCase(args[2], "off")) {
      ctx.client.reply_off = true;
    } else if (EqualsIgnoreCase(args[2], "skip")) {
      if (!ctx.client.reply_off) ctx.client.reply_skip_next = true;
    } else {
      ctx.reply.Error(errors::kSyntax);
    }
  } else if (sub == "help") {
    if (!arity(2)) return;
    static const char* const kLines[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "LIST",
        "    Return information about client connections.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "HELP",
        "    Print this help."};
    ctx.reply.Array(std::size(kLines));
    for (const char* line : kLines) ctx.reply.Status(line);
  } else {
    ctx.reply.Error(UnknownSubcommandError(args[1], "CLIENT"));
  }
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, CommandHandler handler) {
  list->push_back(std::unique_ptr<CommandSpec>(
      new CommandSpec{name, arity, flags, 0, 0, 0, "connection", handler, {}}));
}

}  // namespace

void RegisterConnectionCommands(CommandList* list) {
  Add(list, "ping", -1, kCmdFast, Ping);
  Add(list, "echo", 2, kCmdFast, Echo);
  Add(list, "auth", -2, kCmdNoAuth | kCmdFast, Auth);
  Add(list, "hello", -1, kCmdNoAuth | kCmdFast, Hello);
  Add(list, "quit", -1, kCmdNoAuth | kCmdFast | kCmdTransaction, Quit);
  Add(list, "select", 2, kCmdFast, Select);
  Add(list, "client", -2, 0, Client);
}

}  // namespace lsmkv::server
