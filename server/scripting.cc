// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT and the script gate
// (scripting.h). The Lua side follows Redis 7.0's documented behaviour:
// KEYS/ARGV, the redis library, the conversions between RESP and Lua types,
// read-only globals and error texts (compared with redis-server 7.0.15).
//
// Lua is C: lua_error unwinds with longjmp, which skips C++ destructors. The
// functions Lua calls (redis.call, the hook) and the conversions therefore
// keep no object with a destructor alive across a call that may raise; the
// buffers they need live in the Run.
#include "server/scripting.h"

#include <openssl/evp.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/config.h"
#include "server/dispatcher.h"
#include "server/keyspace.h"

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
int luaopen_cjson(lua_State* l);
int luaopen_bit(lua_State* l);
}

namespace lsmkv::server {

namespace {

// Instructions between two runs of the hook that checks time and SCRIPT KILL.
constexpr int kHookInstructions = 100000;
// A script's writes are one atomic batch, held in memory until it ends: a
// write command past this many pending bytes fails.
constexpr size_t kMaxScriptWriteBytes = 256u << 20;
// Nesting of a returned table converted to a reply.
constexpr int kMaxReplyDepth = 200;

constexpr std::string_view kNoScript = "NOSCRIPT No matching script. Please use EVAL.";

std::string Sha1Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * length);
  for (unsigned int i = 0; i < length; i++) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

// The Lua heap: every allocation of the state, counted against a cap.
struct Heap {
  size_t used = 0;
  size_t limit = 0;
};

void* HeapAlloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  Heap* heap = static_cast<Heap*>(ud);
  if (ptr == nullptr) osize = 0;
  if (nsize == 0) {
    std::free(ptr);
    heap->used -= osize;
    return nullptr;
  }
  // Only growth may fail (Lua 5.1 requires shrinking to succeed).
  if (nsize > osize && heap->used - osize + nsize > heap->limit) return nullptr;
  void* p = std::realloc(ptr, nsize);
  if (p == nullptr) return nullptr;
  heap->used = heap->used - osize + nsize;
  return p;
}

// The sandbox, run once per Lua state: removes what scripts may not use,
// makes the globals and the library tables read-only (Redis 7.0's texts for
// writes and for reads of undefined globals), and returns the error handler
// every script runs under and the scripts' global environment.
constexpr char kSandbox[] = R"lua(
local real = _G
local getinfo = debug.getinfo
local raw_set, set_mt, set_fenv, load_string = rawset, setmetatable, setfenv, loadstring
local tostring, type, error, ipairs = tostring, type, error, ipairs
local readonly = set_mt({}, {__mode = 'k'})
local function refuse() error('Attempt to modify a readonly table', 2) end
-- A read-only view of t; what getmetatable shows of it is read-only too.
local function protect(t)
  local shown = set_mt({}, {__newindex = refuse, __metatable = false})
  readonly[shown] = true
  local p = set_mt({}, {__index = t, __newindex = refuse, __metatable = shown})
  readonly[p] = true
  return p
end
local string_mt = getmetatable('')
string_mt.__metatable = protect(string_mt)
for _, name in ipairs({'debug', 'print', 'dofile', 'loadfile', 'require', 'module', 'package',
                       'getfenv', 'setfenv', 'newproxy'}) do
  real[name] = nil
end
real.rawset = function(t, k, v)
  if readonly[t] then error('Attempt to modify a readonly table', 0) end
  return raw_set(t, k, v)
end
-- Lua 5.1's unpack overflows on ranges past 2^31 (Redis patched its copy):
-- such a range is refused before it gets there.
local raw_unpack, tonumber_ = unpack, tonumber
real.unpack = function(t, ...)
  if type(t) == 'table' then
    local i, j = ...
    local a, b = tonumber_(i) or 1, tonumber_(j) or #t
    if b - a >= 1000000 then error('too many results to unpack', 0) end
  end
  -- The same arguments: unpack's room on the stack depends on their number.
  return raw_unpack(t, ...)
end
-- LuaBitOp 1.0.2's tohex overflows its buffer for n = -2^31 (Redis patched
-- its copy): that n becomes -(2^31 - 1), which gives the same digits.
local bit_lib = real.bit
local raw_tohex, tobit = bit_lib.tohex, bit_lib.tobit
bit_lib.tohex = function(x, n)
  if n ~= nil and tonumber_(n) and tobit(n) == -2147483648 then n = -2147483647 end
  return raw_tohex(x, n)
end
real.setmetatable = function(t, m)
  if readonly[t] then error('Attempt to modify a readonly table', 0) end
  return set_mt(t, m)
end
for _, name in ipairs({'redis', 'string', 'math', 'table', 'cjson', 'bit', 'coroutine'}) do
  if real[name] then real[name] = protect(real[name]) end
end
local env = set_mt({}, {
  __index = function(_, k)
    local v = real[k]
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = refuse,
  __metatable = protect({})})
readonly[env] = true
real._G = env
real.loadstring = function(s, name)
  -- No precompiled chunks (their loader trusts its input).
  if type(s) == 'string' and s:byte(1) == 27 then return nil, 'binary chunks are not allowed' end
  local f, e = load_string(s, name)
  if f then set_fenv(f, env) end
  return f, e
end
local function handler(err)
  -- Where the script was: the first frame that is neither C nor this file.
  local level = 2
  local info = getinfo(level, 'nSl')
  while info and (info.what == 'C' or info.source == '=sandbox') do
    level = level + 1
    info = getinfo(level, 'nSl')
  end
  if type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end
  if info then
    raw_set(err, 'source', info.source)
    raw_set(err, 'line', info.currentline)
  end
  return err
end
return handler, env
)lua";

// Commands a script may not call (Redis's "noscript" commands).
bool NotAllowedFromScript(std::string_view name) {
  static constexpr std::string_view kDenied[] = {
      "multi", "exec", "discard", "watch", "unwatch", "subscribe", "psubscribe", "ssubscribe",
      "unsubscribe", "punsubscribe", "sunsubscribe", "eval", "evalsha", "eval_ro", "evalsha_ro",
      "script", "fcall", "fcall_ro", "function", "auth", "hello", "reset", "quit", "monitor",
      "sync", "psync", "client", "shutdown",
      // Administration Redis 7.0 refuses in scripts.
      "config", "debug", "save", "bgsave", "bgrewriteaof", "wait", "latency", "replicaof",
      "slaveof", "failover", "module", "acl",
      // Blocking commands: Redis 7.0 refuses them in scripts.
      "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop"};
  for (std::string_view denied : kDenied) {
    if (name == denied) return true;
  }
  return false;
}

// A Lua number as Redis turns it into an integer reply: truncated, and
// INT64_MIN for what does not fit (what x86's conversion gives Redis).
int64_t LuaNumberToInteger(lua_Number n) {
  if (!(n >= -9223372036854775808.0 && n < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<int64_t>(n);
}

}  // namespace

struct Scripting::Run {
  Scripting* owner = nullptr;
  CommandContext* ctx = nullptr;
  std::string sha;        // the script's SHA1, or the function's name (FCALL)
  bool function = false;  // FCALL: KEYS and ARGV are the function's arguments
  bool read_only = false;
  bool exclusive = false;
  int64_t start_us = 0;
  std::atomic<bool> wrote{false};
  int resp = 2;  // redis.setresp: the protocol of replies redis.call converts
  // Buffers of redis.call (see the file comment).
  std::vector<std::string> args;
  std::string out;
  std::string error;
};

namespace {

thread_local Scripting::Run* tls_run = nullptr;

}  // namespace

class Scripting::State {
 public:
  explicit State(size_t limit) {
    heap_.limit = limit;
    lua_ = lua_newstate(HeapAlloc, &heap_);
  }
  ~State() {
    if (lua_ != nullptr) lua_close(lua_);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  // Opens the libraries and the sandbox. False if the heap cap is too small.
  bool Init();

  lua_State* lua() { return lua_; }
  size_t used() const { return heap_.used; }
  size_t limit() const { return heap_.limit; }

  // sha -> body size: what SCRIPT EXISTS answers.
  std::unordered_map<std::string, size_t> scripts;
  // FUNCTION libraries: name -> code and functions; function -> library and
  // whether it declared no-writes. The Lua functions are in functions_ref.
  struct Library {
    std::string code;
    std::vector<std::string> functions;
  };
  struct Function {
    std::string library;
    bool no_writes = false;
  };
  std::map<std::string, Library> libraries;
  std::unordered_map<std::string, Function> functions;
  int functions_ref = LUA_NOREF;
  // While FUNCTION LOAD runs a library: what redis.register_function
  // registered (the Lua functions in pending_ref); nullptr otherwise.
  struct Pending {
    std::string name;
    bool no_writes;
  };
  std::vector<Pending>* loading = nullptr;
  int pending_ref = LUA_NOREF;
  int handler_ref = LUA_NOREF;
  int env_ref = LUA_NOREF;
  int scripts_ref = LUA_NOREF;  // table sha -> compiled function
  ClientState client;           // the client the scripts' commands run as

 private:
  Heap heap_;
  lua_State* lua_ = nullptr;
};

namespace {

// --- RESP reply -> Lua value (redis.call's result) ---

// Reads a line (without CRLF) at *p, advancing past it.
std::string_view ReadLine(const char** p, const char* end) {
  const char* start = *p;
  const char* cr = static_cast<const char*>(std::memchr(start, '\r', end - start));
  if (cr == nullptr) cr = end;
  *p = cr + 2 <= end ? cr + 2 : end;
  return std::string_view(start, cr - start);
}

int64_t LineInteger(std::string_view line) {
  int64_t v = 0;
  std::from_chars(line.data(), line.data() + line.size(), v);
  return v;
}

void PushReply(lua_State* L, const char** p, const char* end);

// Pushes the RESP2/RESP3 reply at *p (well-formed: written by Reply) as
// Redis converts replies for scripts, advancing *p past it.
void PushReply(lua_State* L, const char** p, const char* end) {
  luaL_checkstack(L, 4, "reached lua stack limit");
  if (*p >= end) {
    lua_pushnil(L);
    return;
  }
  const char type = **p;
  (*p)++;
  const std::string_view line = ReadLine(p, end);
  switch (type) {
    case '+':
      lua_newtable(L);
      lua_pushlstring(L, line.data(), line.size());
      lua_setfield(L, -2, "ok");
      return;
    case '-':
      lua_newtable(L);
      lua_pushlstring(L, line.data(), line.size());
      lua_setfield(L, -2, "err");
      return;
    case ':':
      lua_pushnumber(L, static_cast<lua_Number>(LineInteger(line)));
      return;
    case '$':
    case '=': {
      const int64_t n = LineInteger(line);
      if (n < 0) {
        lua_pushboolean(L, 0);
        return;
      }
      const size_t size = static_cast<size_t>(n) <= static_cast<size_t>(end - *p)
                              ? static_cast<size_t>(n)
                              : static_cast<size_t>(end - *p);
      const char* data = *p;
      *p += size;
      if (*p + 2 <= end) *p += 2;
      if (type == '=' && size >= 4) {
        lua_newtable(L);
        lua_newtable(L);
        lua_pushlstring(L, data, 3);
        lua_setfield(L, -2, "format");
        lua_pushlstring(L, data + 4, size - 4);
        lua_setfield(L, -2, "string");
        lua_setfield(L, -2, "verbatim_string");
        return;
      }
      lua_pushlstring(L, data, size);
      return;
    }
    case '*':
    case '>':
    case '~':
    case '%': {
      const int64_t n = LineInteger(line);
      if (n < 0) {
        lua_pushboolean(L, 0);
        return;
      }
      if (type == '%') {  // {map = {k = v, ...}}
        lua_newtable(L);
        lua_newtable(L);
        for (int64_t i = 0; i < n; i++) {
          PushReply(L, p, end);
          PushReply(L, p, end);
          lua_settable(L, -3);
        }
        lua_setfield(L, -2, "map");
        return;
      }
      if (type == '~') {  // {set = {member = true, ...}}
        lua_newtable(L);
        lua_newtable(L);
        for (int64_t i = 0; i < n; i++) {
          PushReply(L, p, end);
          lua_pushboolean(L, 1);
          lua_settable(L, -3);
        }
        lua_setfield(L, -2, "set");
        return;
      }
      lua_createtable(L, static_cast<int>(std::min<int64_t>(n, 1 << 20)), 0);
      for (int64_t i = 0; i < n; i++) {
        PushReply(L, p, end);
        lua_rawseti(L, -2, static_cast<int>(i + 1));
      }
      return;
    }
    case '_':
      lua_pushnil(L);
      return;
    case '#':
      lua_pushboolean(L, line == "t");
      return;
    case ',': {
      lua_newtable(L);
      lua_pushnumber(L, std::strtod(std::string(line).c_str(), nullptr));
      lua_setfield(L, -2, "double");
      return;
    }
    case '(':
      lua_newtable(L);
      lua_pushlstring(L, line.data(), line.size());
      lua_setfield(L, -2, "big_number");
      return;
    default:
      lua_pushnil(L);
      return;
  }
}

// --- Lua value -> reply (the script's result) ---

// Writes the Lua value at idx (absolute) to reply. resp3 is redis.setresp's
// choice: with 3, booleans become RESP3 booleans.
void WriteValue(lua_State* L, int idx, Reply& reply, int depth, bool resp3) {
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t n = 0;
      const char* s = lua_tolstring(L, idx, &n);
      reply.Bulk(std::string_view(s, n));
      return;
    }
    case LUA_TBOOLEAN:
      if (resp3) {
        reply.Bool(lua_toboolean(L, idx));
      } else if (lua_toboolean(L, idx)) {
        reply.Integer(1);
      } else {
        reply.Null();
      }
      return;
    case LUA_TNUMBER:
      reply.Integer(LuaNumberToInteger(lua_tonumber(L, idx)));
      return;
    case LUA_TTABLE:
      break;
    default:
      reply.Null();
      return;
  }
  if (depth > kMaxReplyDepth || !lua_checkstack(L, 4)) {
    reply.Error("ERR reached lua stack limit");
    return;
  }
  lua_pushliteral(L, "err");
  lua_rawget(L, idx);
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    reply.Error(std::string_view(s, n));
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  lua_pushliteral(L, "ok");
  lua_rawget(L, idx);
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    std::string status(s, n);
    for (char& c : status) {
      if (c == '\r' || c == '\n') c = ' ';
    }
    reply.Status(status);
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  lua_pushliteral(L, "double");
  lua_rawget(L, idx);
  if (lua_type(L, -1) == LUA_TNUMBER) {
    reply.Double(lua_tonumber(L, -1));
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  // RESP3 {map = {k = v, ...}} and {set = {member = true, ...}} (degraded
  // to arrays for a RESP2 caller by Reply).
  for (const char* kind : {"map", "set"}) {
    lua_pushstring(L, kind);
    lua_rawget(L, idx);
    if (lua_type(L, -1) == LUA_TTABLE) {
      const int t = lua_gettop(L);
      size_t n = 0;
      lua_pushnil(L);
      while (lua_next(L, t) != 0) {
        n++;
        lua_pop(L, 1);
      }
      const bool map = kind[0] == 'm';
      if (map) {
        reply.Map(n);
      } else {
        reply.Set(n);
      }
      lua_pushnil(L);
      while (lua_next(L, t) != 0) {
        WriteValue(L, lua_gettop(L) - 1, reply, depth + 1, resp3);
        if (map) WriteValue(L, lua_gettop(L), reply, depth + 1, resp3);
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
      return;
    }
    lua_pop(L, 1);
  }
  // An array: up to the first nil.
  size_t count = 0;
  while (true) {
    lua_rawgeti(L, idx, static_cast<int>(count + 1));
    const bool end = lua_isnil(L, -1);
    lua_pop(L, 1);
    if (end) break;
    count++;
  }
  reply.Array(count);
  for (size_t i = 0; i < count; i++) {
    lua_rawgeti(L, idx, static_cast<int>(i + 1));
    WriteValue(L, lua_gettop(L), reply, depth + 1, resp3);
    lua_pop(L, 1);
  }
}

// Pushes Redis's error table for a "-CODE message" or "message" text (a
// text without a code gets ERR), as redis.error_reply and the redis.call
// argument errors build it.
void PushErrorTable(lua_State* L, std::string_view text) {
  std::string_view code = "ERR";
  std::string_view message = text;
  if (!text.empty() && text[0] == '-') {
    const size_t space = text.find(' ');
    if (space == std::string_view::npos) {
      message = text.substr(1);
    } else {
      code = text.substr(1, space - 1);
      message = text.substr(space + 1);
    }
  }
  while (!message.empty() && (message.back() == '\r' || message.back() == '\n')) {
    message.remove_suffix(1);
  }
  lua_newtable(L);
  lua_pushlstring(L, code.data(), code.size());
  lua_pushliteral(L, " ");
  lua_pushlstring(L, message.data(), message.size());
  lua_concat(L, 3);
  lua_setfield(L, -2, "err");
}

// Runs run.args as a command of the script, appending its reply (in
// run.resp) to run.out; a refusal before the command runs leaves its error
// in run.error instead. Runs no Lua.
void RunScriptCommand(Scripting::Run& run, ClientState& client) {
  CommandContext& ctx = *run.ctx;
  ServerContext& server = ctx.server;
  run.out.clear();
  run.error.clear();
  const CommandSpec* spec = server.commands->Find(run.args[0]);
  if (spec == nullptr) {
    run.error = "ERR Unknown Redis command called from script";
    return;
  }
  const int argc = static_cast<int>(run.args.size());
  if (spec->arity > 0 ? argc != spec->arity : argc < -spec->arity) {
    run.error = "ERR Wrong number of args calling Redis command from script";
    return;
  }
  if (NotAllowedFromScript(spec->name)) {
    run.error = "ERR This Redis command is not allowed from script";
    return;
  }
  if (spec->flags & kCmdWrite) {
    if (ctx.txn.pending_bytes() > kMaxScriptWriteBytes) {
      run.error = "ERR the script's writes exceed " + std::to_string(kMaxScriptWriteBytes >> 20) +
                  " MiB (lsmkv-server applies a script's writes in one atomic batch)";
      return;
    }
    if (run.read_only) {
      run.error = "ERR Write commands are not allowed from read-only scripts.";
      return;
    }
    if (client.read_only) {
      run.error = "NOPERM User readonly has no permissions to run the '" + std::string(spec->name) +
                  "' command";
      return;
    }
    thread_local std::vector<std::string_view> keys;
    keys.clear();
    CollectKeys(*spec, run.args, &keys);
    for (std::string_view key : keys) {
      if (key.size() > kMaxKeyBytes) {
        run.error = "ERR key is too large (lsmkv-server keys are at most 65536 bytes)";
        return;
      }
    }
  }
  Reply reply(&run.out, run.resp);
  client.protocol.store(run.resp, std::memory_order_relaxed);  // handlers may read it
  ctx.txn.set_db(server.keyspace->PhysicalDb(client.db.load(std::memory_order_relaxed)));
  const int64_t start = server.keyspace->clock()->NowUs();
  const uint64_t errors_before = reply.errors();
  CommandContext inner{server, client, *spec, run.args, reply, ctx.txn, /*in_exec=*/true};
  spec->handler(inner);
  const int64_t elapsed = server.keyspace->clock()->NowUs() - start;
  spec->stats.Record(elapsed > 0 ? static_cast<uint64_t>(elapsed) : 0,
                     reply.errors() != errors_before);
  server.stats->commands_processed.fetch_add(1, std::memory_order_relaxed);
  if ((spec->flags & kCmdWrite) && ctx.txn.has_writes()) {
    run.wrote.store(true, std::memory_order_release);
  }
}

// Collects redis.call's arguments into run.args; false (and run.error set)
// if one is neither a string nor a number. Raises nothing.
bool CollectCallArgs(lua_State* L, Scripting::Run& run, int argc) {
  run.args.resize(static_cast<size_t>(argc));
  for (int i = 1; i <= argc; i++) {
    std::string& arg = run.args[static_cast<size_t>(i - 1)];
    if (lua_type(L, i) == LUA_TSTRING) {
      size_t n = 0;
      const char* s = lua_tolstring(L, i, &n);
      arg.assign(s, n);
    } else if (lua_type(L, i) == LUA_TNUMBER) {
      // The shortest text that reads back as the same double.
      char buf[64];
      const auto result = std::to_chars(buf, buf + sizeof(buf), lua_tonumber(L, i));
      arg.assign(buf, result.ptr);
    } else {
      run.error = "Lua redis lib command arguments must be strings or integers";
      return false;
    }
  }
  return true;
}

Scripting::State* StateOf(lua_State* L) {
  return static_cast<Scripting::State*>(lua_touserdata(L, lua_upvalueindex(1)));
}

// redis.call (raise = true) and redis.pcall.
int CallCommand(lua_State* L, bool raise) {
  Scripting::Run* run = tls_run;
  const int argc = lua_gettop(L);
  if (run == nullptr) return luaL_error(L, "redis.call is only available while a script runs");
  if (argc == 0) {
    PushErrorTable(L, "Please specify at least one argument for this redis lib call");
    return raise ? lua_error(L) : 1;
  }
  const bool collected = CollectCallArgs(L, *run, argc);
  lua_settop(L, 0);  // the arguments are copied: their stack room is for the reply
  if (!collected) {
    PushErrorTable(L, run->error);
    return raise ? lua_error(L) : 1;
  }
  RunScriptCommand(*run, StateOf(L)->client);
  if (!run->error.empty()) {
    // Built in the Run's buffer: no C++ temporary is alive if a push raises.
    run->out = "-" + run->error;
    PushErrorTable(L, run->out);
    return raise ? lua_error(L) : 1;
  }
  const char* p = run->out.data();
  const char* end = p + run->out.size();
  const bool is_error = !run->out.empty() && run->out[0] == '-';
  PushReply(L, &p, end);
  if (raise && is_error) return lua_error(L);
  return 1;
}

int LuaCall(lua_State* L) { return CallCommand(L, true); }
int LuaPcall(lua_State* L) { return CallCommand(L, false); }

int LuaErrorReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) {
    return luaL_error(L, "wrong number or type of arguments");
  }
  size_t n = 0;
  const char* s = lua_tolstring(L, 1, &n);
  const std::string_view text(s, n);
  if (!text.empty() && text[0] == '-') {
    PushErrorTable(L, text);
  } else {
    // "-" + text, without a std::string alive across the pushes.
    lua_pushliteral(L, "-");
    lua_pushvalue(L, 1);
    lua_concat(L, 2);
    size_t m = 0;
    const char* t = lua_tolstring(L, -1, &m);
    PushErrorTable(L, std::string_view(t, m));
  }
  return 1;
}

int LuaStatusReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) {
    return luaL_error(L, "wrong number or type of arguments");
  }
  lua_newtable(L);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "ok");
  return 1;
}

int LuaSha1Hex(lua_State* L) {
  if (lua_gettop(L) != 1) return luaL_error(L, "wrong number of arguments");
  size_t n = 0;
  const char* s = lua_tolstring(L, 1, &n);
  if (s == nullptr) return luaL_error(L, "wrong number of arguments");
  char hex[41];
  {
    const std::string digest = Sha1Hex(std::string_view(s, n));
    std::memcpy(hex, digest.data(), 40);
  }
  lua_pushlstring(L, hex, 40);
  return 1;
}

// redis.log(level, message...): lsmkv-server has no log file for scripts;
// the arguments are checked as Redis checks them and dropped.
int LuaLog(lua_State* L) {
  const int argc = lua_gettop(L);
  if (argc < 2) return luaL_error(L, "redis.log() requires two arguments or more.");
  if (!lua_isnumber(L, 1)) return luaL_error(L, "First argument must be a number (log level).");
  const lua_Number level = lua_tonumber(L, 1);
  if (level < 0 || level > 3) return luaL_error(L, "Invalid debug level.");
  return 0;
}

int LuaSetResp(lua_State* L) {
  Scripting::Run* run = tls_run;
  if (lua_gettop(L) != 1) return luaL_error(L, "redis.setresp() requires one argument.");
  const lua_Number resp = lua_tonumber(L, 1);
  if (resp != 2 && resp != 3) return luaL_error(L, "RESP version must be 2 or 3.");
  if (run != nullptr) run->resp = static_cast<int>(resp);
  return 0;
}

// redis.set_repl: Redis 7.0 always replicates effects; the level is checked
// and has no effect here (lsmkv-server has no replication).
int LuaSetRepl(lua_State* L) {
  if (lua_gettop(L) != 1) return luaL_error(L, "redis.set_repl() requires one argument.");
  const lua_Number flags = lua_tonumber(L, 1);
  if (flags < 0 || flags > 3)
    return luaL_error(
        L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
  return 0;
}

// redis.replicate_commands: a no-op that answers true in Redis 7.0.
int LuaReplicateCommands(lua_State* L) {
  lua_pushboolean(L, 1);
  return 1;
}

bool ValidFunctionName(const char* name, size_t n) {
  if (n == 0) return false;
  for (size_t i = 0; i < n; i++) {
    const char c = name[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

// redis.register_function(name, callback) or
// redis.register_function{function_name=..., callback=..., flags={...}}:
// only while FUNCTION LOAD runs a library.
int LuaRegisterFunction(lua_State* L) {
  Scripting::State* state = StateOf(L);
  if (state->loading == nullptr) {
    return luaL_error(L, "redis.register_function can only be called on FUNCTION LOAD command");
  }
  bool no_writes = false;
  if (lua_gettop(L) == 1 && lua_type(L, 1) == LUA_TTABLE) {
    lua_getfield(L, 1, "function_name");
    lua_getfield(L, 1, "callback");
    lua_getfield(L, 1, "flags");
    if (lua_type(L, 2) != LUA_TSTRING || lua_type(L, 3) != LUA_TFUNCTION) {
      return luaL_error(L, "function_name and callback are required");
    }
    if (lua_type(L, 4) == LUA_TTABLE) {
      for (int i = 1;; i++) {
        lua_rawgeti(L, 4, i);
        if (lua_isnil(L, -1)) {
          lua_pop(L, 1);
          break;
        }
        const char* flag = lua_tostring(L, -1);
        if (flag == nullptr) return luaL_error(L, "unknown flag given");
        const std::string_view f(flag);
        if (f == "no-writes") {
          no_writes = true;
        } else if (f != "allow-oom" && f != "allow-stale" && f != "no-cluster" &&
                   f != "allow-cross-slot-keys") {
          return luaL_error(L, "unknown flag given");
        }
        lua_pop(L, 1);
      }
    }
    lua_remove(L, 4);
    lua_remove(L, 1);  // name, callback
  } else if (lua_gettop(L) != 2 || lua_type(L, 1) != LUA_TSTRING ||
             lua_type(L, 2) != LUA_TFUNCTION) {
    return luaL_error(L, "wrong number of arguments to redis.register_function");
  }
  size_t n = 0;
  const char* name = lua_tolstring(L, 1, &n);
  if (!ValidFunctionName(name, n)) {
    return luaL_error(L,
                      "Function names can only contain letters, numbers, or underscores(_) and "
                      "must be at least one character long");
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, state->pending_ref);
  lua_pushvalue(L, 1);
  lua_rawget(L, -2);
  if (!lua_isnil(L, -1)) return luaL_error(L, "Function already exists in the library");
  lua_pop(L, 1);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_rawset(L, -3);
  state->loading->push_back({std::string(name, n), no_writes});
  return 0;
}

int LuaBreakpoint(lua_State* L) {
  lua_pushboolean(L, 0);  // no debugger: as Redis outside a debugging session
  return 1;
}

int LuaDebug(lua_State* /*L*/) { return 0; }

// Pushes the C function f as field name of the table on top.
void SetFunction(lua_State* L, const char* name, lua_CFunction f, Scripting::State* state) {
  lua_pushlightuserdata(L, state);
  lua_pushcclosure(L, f, 1);
  lua_setfield(L, -2, name);
}

void SetNumber(lua_State* L, const char* name, int value) {
  lua_pushnumber(L, value);
  lua_setfield(L, -2, name);
}

int OpenLibraries(lua_State* L) {
  Scripting::State* state = static_cast<Scripting::State*>(lua_touserdata(L, 1));
  const lua_CFunction libs[] = {luaopen_base, luaopen_table, luaopen_string, luaopen_math,
                                luaopen_debug};
  for (lua_CFunction lib : libs) {
    lua_pushcfunction(L, lib);
    lua_call(L, 0, 0);
  }
  lua_pushcfunction(L, luaopen_cjson);
  lua_call(L, 0, 1);
  lua_setglobal(L, "cjson");
  lua_pushcfunction(L, luaopen_bit);
  lua_call(L, 0, 1);
  lua_setglobal(L, "bit");
  lua_newtable(L);
  SetFunction(L, "call", LuaCall, state);
  SetFunction(L, "pcall", LuaPcall, state);
  SetFunction(L, "error_reply", LuaErrorReply, state);
  SetFunction(L, "status_reply", LuaStatusReply, state);
  SetFunction(L, "sha1hex", LuaSha1Hex, state);
  SetFunction(L, "log", LuaLog, state);
  SetFunction(L, "setresp", LuaSetResp, state);
  SetFunction(L, "set_repl", LuaSetRepl, state);
  SetFunction(L, "replicate_commands", LuaReplicateCommands, state);
  SetFunction(L, "breakpoint", LuaBreakpoint, state);
  SetFunction(L, "register_function", LuaRegisterFunction, state);
  SetFunction(L, "debug", LuaDebug, state);
  SetNumber(L, "LOG_DEBUG", 0);
  SetNumber(L, "LOG_VERBOSE", 1);
  SetNumber(L, "LOG_NOTICE", 2);
  SetNumber(L, "LOG_WARNING", 3);
  SetNumber(L, "REPL_NONE", 0);
  SetNumber(L, "REPL_AOF", 1);
  SetNumber(L, "REPL_SLAVE", 2);
  SetNumber(L, "REPL_REPLICA", 2);
  SetNumber(L, "REPL_ALL", 3);
  lua_setglobal(L, "redis");
  if (luaL_loadbuffer(L, kSandbox, sizeof(kSandbox) - 1, "=sandbox") != 0) return lua_error(L);
  lua_call(L, 0, 2);  // handler, env
  state->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  state->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  state->scripts_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  state->functions_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

}  // namespace

bool Scripting::State::Init() {
  if (lua_ == nullptr) return false;
  client.authenticated = true;
  return lua_cpcall(lua_, OpenLibraries, this) == 0;
}

namespace {

// Compiles body as the script sha into state (unless there already). On
// failure returns Redis's error text.
struct CompileArgs {
  Scripting::State* state;
  const char* body;
  size_t size;
  const char* sha;
  bool failed;
};

int CompileProtected(lua_State* L) {
  CompileArgs* a = static_cast<CompileArgs*>(lua_touserdata(L, 1));
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->state->scripts_ref);
  if (luaL_loadbuffer(L, a->body, a->size, "@user_script") != 0) {
    a->failed = true;
    return 1;  // the message
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->state->env_ref);
  lua_setfenv(L, -2);
  lua_setfield(L, -2, a->sha);
  a->failed = false;
  return 0;
}

}  // namespace

// Redis 7.0's shebang, "#!lua [flags=f1,f2,...]": sets *no_writes if the
// flags hold no-writes. Returns "" or Redis's error text.
static std::string ParseShebang(std::string_view body, bool* no_writes) {
  *no_writes = false;
  if (body.substr(0, 2) != "#!") return "";
  std::string_view line = body.substr(0, body.find('\n'));
  std::vector<std::string_view> parts;
  while (!line.empty()) {
    const size_t space = line.find(' ');
    const std::string_view part = line.substr(0, space);
    if (!part.empty()) parts.push_back(part);
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  if (parts.empty() || parts[0] != "#!lua") {
    return "ERR Unexpected engine in script shebang: " +
           std::string(parts.empty() ? std::string_view("#!") : parts[0]).substr(0, 128);
  }
  static constexpr std::string_view kFlags[] = {"no-writes", "allow-oom", "allow-stale",
                                                "no-cluster", "allow-cross-slot-keys"};
  for (size_t i = 1; i < parts.size(); i++) {
    if (parts[i].substr(0, 6) != "flags=") {
      return "ERR Unknown lua shebang option: " + std::string(parts[i].substr(0, 128));
    }
    std::string_view flags = parts[i].substr(6);
    while (!flags.empty()) {
      const size_t comma = flags.find(',');
      const std::string_view flag = flags.substr(0, comma);
      if (!flag.empty()) {
        bool known = false;
        for (std::string_view k : kFlags) known = known || flag == k;
        if (!known) {
          return "ERR Unexpected flag in script shebang: " + std::string(flag.substr(0, 128));
        }
        if (flag == "no-writes") *no_writes = true;
      }
      if (comma == std::string_view::npos) break;
      flags.remove_prefix(comma + 1);
    }
  }
  return "";
}

// Compiles a script into the cache. Returns "" or the error reply text.
// REQUIRES: lua_mu_ held.
static std::string CompileScript(Scripting::State& state, const std::string& sha,
                                 std::string_view body) {
  if (state.scripts.count(sha) != 0) return "";
  lua_State* L = state.lua();
  // A script may start with "#!lua [flags=...]" (Redis 7.0's shebang): the
  // line is kept as a blank line so line numbers do not move.
  std::string code;
  std::string_view source = body;
  if (body.substr(0, 2) == "#!") {
    const size_t eol = body.find('\n');
    bool no_writes = false;
    const std::string error = ParseShebang(body, &no_writes);
    if (!error.empty()) return error;
    code = "\n";
    if (eol != std::string_view::npos) code += body.substr(eol + 1);
    source = code;
  }
  CompileArgs args{&state, source.data(), source.size(), sha.c_str(), false};
  lua_pushcfunction(L, CompileProtected);
  lua_pushlightuserdata(L, &args);
  const int status = lua_pcall(L, 1, 1, 0);
  std::string error;
  if (status != 0 || args.failed) {
    size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    error = "ERR Error compiling script (new function): " +
            (s != nullptr ? std::string(s, n) : std::string("not enough memory"));
  } else {
    state.scripts.emplace(sha, body.size());
  }
  lua_pop(L, 1);
  return error;
}

Scripting::Scripting(size_t lua_memory_limit) {
  state_ = std::make_unique<State>(lua_memory_limit);
  CHECK(state_->Init());
  info_lua_bytes_.store(state_->used());
}

Scripting::~Scripting() = default;

size_t Scripting::lua_memory() const { return state_->used(); }

bool Scripting::EnterOrBusy() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      waiters_.fetch_add(1, std::memory_order_acq_rel);
      cv_.wait(lock, [this] { return !running_.load() || busy_.load(); });
      waiters_.fetch_sub(1, std::memory_order_acq_rel);
      if (busy_.load()) return false;
    }
    if (TryEnter()) return true;
  }
}

bool Scripting::BeginExclusive() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !exclusive_held_ || busy_.load(); });
    if (exclusive_held_) return false;  // another script is busy
    exclusive_held_ = true;
    running_.store(true, std::memory_order_seq_cst);
  }
  uint64_t n = 0;
  while ((n = active_.load(std::memory_order_seq_cst)) != 0) {
    active_.wait(n, std::memory_order_seq_cst);
  }
  return true;
}

void Scripting::EndExclusive() {
  std::lock_guard<std::mutex> lock(mu_);
  exclusive_held_ = false;
  busy_.store(false);
  running_.store(false, std::memory_order_seq_cst);
  cv_.notify_all();
}

bool Scripting::CheckRun(Run& run) {
  if (kill_.load(std::memory_order_acquire)) return true;
  if (!run.exclusive || busy_.load(std::memory_order_relaxed)) return false;
  const int64_t limit_ms = run.ctx->server.config->Int(Setting::kLuaTimeLimit);
  const int64_t elapsed_us = run.ctx->server.keyspace->clock()->NowUs() - run.start_us;
  if (elapsed_us >= limit_ms * 1000) {
    std::lock_guard<std::mutex> lock(mu_);
    busy_.store(true);
    cv_.notify_all();
  }
  return false;
}

namespace {

void CountHook(lua_State* L, lua_Debug* /*ar*/) {
  Scripting::Run* run = tls_run;
  if (run == nullptr) return;
  if (run->owner->CheckRunForHook(*run)) {
    // From now on on every line too: a pcall inside a loop catches one
    // error, the loop's next line raises the next.
    lua_sethook(L, CountHook, LUA_MASKCOUNT | LUA_MASKLINE, kHookInstructions);
    lua_pushliteral(L, "Script killed by user with SCRIPT KILL...");
    lua_error(L);
  }
}

// Sets KEYS and ARGV, runs the compiled script under the error handler and
// writes its result (or error) to the reply. Run by lua_cpcall.
int RunProtected(lua_State* L) {
  Scripting::Run* run = static_cast<Scripting::Run*>(lua_touserdata(L, 1));
  Scripting::State* state = static_cast<Scripting::State*>(lua_touserdata(L, 2));
  const std::vector<std::string>& args = run->ctx->args;
  const size_t numkeys = static_cast<size_t>(std::strtoll(args[2].c_str(), nullptr, 10));
  lua_createtable(L, static_cast<int>(numkeys), 0);
  for (size_t i = 0; i < numkeys; i++) {
    lua_pushlstring(L, args[3 + i].data(), args[3 + i].size());
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  lua_setglobal(L, "KEYS");
  lua_createtable(L, static_cast<int>(args.size() - 3 - numkeys), 0);
  for (size_t i = 3 + numkeys; i < args.size(); i++) {
    lua_pushlstring(L, args[i].data(), args[i].size());
    lua_rawseti(L, -2, static_cast<int>(i - 2 - numkeys));
  }
  lua_setglobal(L, "ARGV");
  lua_rawgeti(L, LUA_REGISTRYINDEX, state->handler_ref);
  const int handler = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, run->function ? state->functions_ref : state->scripts_ref);
  lua_getfield(L, -1, run->sha.c_str());
  lua_remove(L, -2);
  int nargs = 0;
  if (run->function) {  // fn(KEYS, ARGV)
    lua_getglobal(L, "KEYS");
    lua_getglobal(L, "ARGV");
    nargs = 2;
  }
  Reply& reply = run->ctx->reply;
  const int status = lua_pcall(L, nargs, 1, handler);
  const int result = lua_gettop(L);
  if (status == 0) {
    WriteValue(L, result, reply, 0, run->resp == 3);
    return 0;
  }
  if (status == LUA_ERRMEM) {
    lua_pushliteral(
        L, "ERR Error running script: not enough memory (the Lua heap limit of lsmkv-server)");
    lua_replace(L, result);
  }
  if (lua_type(L, result) == LUA_TTABLE) {
    lua_getfield(L, result, "err");
    lua_getfield(L, result, "source");
    lua_getfield(L, result, "line");
    if (lua_type(L, -3) == LUA_TSTRING) {
      size_t n = 0;
      const char* msg = lua_tolstring(L, -3, &n);
      if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TNUMBER) {
        // "<msg> script: <sha>, on <source>:<line>."
        lua_pushlstring(L, msg, n);
        lua_pushliteral(L, " script: ");
        lua_pushstring(L, run->sha.c_str());
        lua_pushliteral(L, ", on ");
        lua_pushvalue(L, -6);
        lua_pushliteral(L, ":");
        lua_pushvalue(L, -7);
        lua_pushliteral(L, ".");
        lua_concat(L, 8);
        msg = lua_tolstring(L, -1, &n);
      }
      reply.Error(std::string_view(msg, n));
      return 0;
    }
    reply.Error("ERR Error running script: the error is not a string");
    return 0;
  }
  size_t n = 0;
  const char* msg = lua_tolstring(L, result, &n);
  reply.Error(msg != nullptr ? std::string_view(msg, n)
                             : std::string_view("ERR Error running script"));
  return 0;
}

}  // namespace

void Scripting::RunScript(CommandContext& ctx, const std::string& sha, bool function,
                          bool read_only, bool exclusive) {
  State& state = *state_;
  lua_State* L = state.lua();
  Run run;
  run.owner = this;
  run.ctx = &ctx;
  run.sha = sha;
  run.function = function;
  run.read_only = read_only;
  run.exclusive = exclusive;
  run.start_us = ctx.server.keyspace->clock()->NowUs();
  state.client.db.store(ctx.client.db.load(std::memory_order_relaxed), std::memory_order_relaxed);
  state.client.read_only = ctx.client.read_only;
  state.client.protocol.store(2);
  {
    std::lock_guard<std::mutex> lock(mu_);
    kill_.store(false);
    busy_function_.store(function);
    current_.store(&run);
  }
  tls_run = &run;
  std::string* out = ctx.reply.buffer();
  const size_t mark = out->size();
  lua_sethook(L, CountHook, LUA_MASKCOUNT, kHookInstructions);
  lua_pushcfunction(L, RunProtected);
  lua_pushlightuserdata(L, &run);
  lua_pushlightuserdata(L, &state);
  const int status = lua_pcall(L, 2, 0, 0);
  lua_sethook(L, nullptr, 0, 0);
  if (status != 0) {
    // Out of memory outside the script's own pcall (KEYS, ARGV, the reply).
    out->resize(mark);
    ctx.reply.Error(
        "ERR Error running script: not enough memory (the Lua heap limit of lsmkv-server)");
    lua_pop(L, 1);
  }
  lua_settop(L, 0);
  tls_run = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    current_.store(nullptr);
    kill_.store(false);
  }
  // What the script allocated and dropped goes back now while it is large.
  if (state.used() > state.limit() / 2) {
    lua_gc(L, LUA_GCCOLLECT, 0);
  } else {
    lua_gc(L, LUA_GCSTEP, 0);
  }
  // The script's SELECT does not change the caller's database.
  ctx.txn.set_db(ctx.server.keyspace->PhysicalDb(ctx.client.db.load(std::memory_order_relaxed)));
}

namespace {

// EVAL's and FCALL's numkeys (ctx.args[2]): false after replying Redis's error.
bool CheckNumKeys(CommandContext& ctx) {
  const auto& args = ctx.args;
  int64_t numkeys = 0;
  if (!ParseInt64(args[2], &numkeys)) {
    ctx.reply.Error(errors::kNotInteger);
    return false;
  }
  if (numkeys < 0) {
    ctx.reply.Error("ERR Number of keys can't be negative");
    return false;
  }
  if (static_cast<uint64_t>(numkeys) > args.size() - 3) {
    ctx.reply.Error("ERR Number of keys can't be greater than number of args");
    return false;
  }
  return true;
}

}  // namespace

void Scripting::Eval(CommandContext& ctx, bool by_sha, bool read_only) {
  const auto& args = ctx.args;
  if (!CheckNumKeys(ctx)) return;
  std::string sha = by_sha ? ToLower(args[1]) : Sha1Hex(args[1]);
  if (by_sha) {
    std::lock_guard<std::mutex> lock(lua_mu_);
    if (sha.size() != 40 || state_->scripts.count(sha) == 0) {
      ctx.reply.Error(kNoScript);
      return;
    }
  }
  Execute(ctx, sha, /*function=*/false, by_sha, read_only);
}

void Scripting::Fcall(CommandContext& ctx, bool read_only) {
  if (!CheckNumKeys(ctx)) return;
  const std::string& name = ctx.args[1];
  {
    std::lock_guard<std::mutex> lock(lua_mu_);
    auto it = state_->functions.find(name);
    if (it == state_->functions.end()) {
      ctx.reply.Error("ERR Function not found");
      return;
    }
    if (read_only && !it->second.no_writes) {
      ctx.reply.Error("ERR Can not execute a script with write flag using *_ro command.");
      return;
    }
  }
  Execute(ctx, name, /*function=*/true, /*by_sha=*/false, read_only);
}

void Scripting::Execute(CommandContext& ctx, const std::string& name, bool function, bool by_sha,
                        bool read_only) {
  const auto& args = ctx.args;
  // Outside EXEC: the gate exclusively, then every stripe (scripting.h).
  const bool exclusive = !ctx.in_exec;
  struct Exclusive {
    Scripting* owner = nullptr;
    ~Exclusive() {
      if (owner != nullptr) owner->EndExclusive();
    }
  } exclusive_hold;
  KeyLocks::Guard stripes;
  if (exclusive) {
    if (!BeginExclusive()) {
      ctx.reply.Error(busy_error());
      return;
    }
    exclusive_hold.owner = this;
    stripes = ctx.server.keyspace->locks().LockAll();
  }
  std::string* out = ctx.reply.buffer();
  const size_t mark = out->size();
  {
    std::lock_guard<std::mutex> lock(lua_mu_);
    if (function) {
      auto it = state_->functions.find(name);
      if (it == state_->functions.end()) {  // deleted meanwhile
        ctx.reply.Error("ERR Function not found");
        return;
      }
      read_only = read_only || it->second.no_writes;
    } else if (by_sha) {
      if (state_->scripts.count(name) == 0) {  // flushed meanwhile
        ctx.reply.Error(kNoScript);
        return;
      }
    } else {
      if (state_->scripts.count(name) == 0 && state_->scripts.size() >= kMaxCachedScripts) {
        ResetStateLocked();
      }
      const std::string error = CompileScript(*state_, name, args[1]);
      if (!error.empty()) {
        ctx.reply.Error(error);
        return;
      }
      bool no_writes = false;
      ParseShebang(args[1], &no_writes);  // valid: it compiled
      read_only = read_only || no_writes;
    }
    RunScript(ctx, name, function, read_only, exclusive);
    UpdateInfoLocked();
  }
  if (exclusive && ctx.txn.has_writes()) {
    // Committed before the stripes and the gate are released.
    Status s = ctx.txn.Commit();
    if (!s.ok()) {
      out->resize(mark);
      ctx.reply.Error("ERR " + s.ToString());
    }
  }
}

void Scripting::ResetStateLocked() {
  auto fresh = std::make_unique<State>(state_->limit());
  CHECK(fresh->Init());
  std::map<std::string, State::Library> libraries;
  libraries.swap(state_->libraries);
  state_ = std::move(fresh);
  // The function libraries survive SCRIPT FLUSH: loaded again.
  for (const auto& [library, lib] : libraries) {
    std::string name;
    LoadLibraryLocked(lib.code, /*replace=*/false, &name);
  }
  UpdateInfoLocked();
}

namespace {

int LoadLibraryProtected(lua_State* L) {
  Scripting::State* state = static_cast<Scripting::State*>(lua_touserdata(L, 1));
  const std::string_view* code = static_cast<const std::string_view*>(lua_touserdata(L, 2));
  lua_newtable(L);
  state->pending_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_rawgeti(L, LUA_REGISTRYINDEX, state->handler_ref);
  const int handler = lua_gettop(L);
  if (luaL_loadbuffer(L, code->data(), code->size(), "@user_function") != 0) {
    lua_pushliteral(L, "ERR Error compiling function: ");
    lua_insert(L, -2);
    lua_concat(L, 2);
    return 1;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, state->env_ref);
  lua_setfenv(L, -2);
  if (lua_pcall(L, 0, 0, handler) != 0) {
    lua_pushliteral(L, "ERR Error registering functions: ");
    if (lua_type(L, -2) == LUA_TTABLE) {
      lua_getfield(L, -2, "err");
    } else {
      lua_pushvalue(L, -2);
    }
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pop(L, 1);
      lua_pushliteral(L, "unknown error");
    }
    lua_concat(L, 2);
    return 1;
  }
  return 0;
}

}  // namespace

std::string Scripting::LoadLibraryLocked(std::string_view code, bool replace, std::string* name) {
  // "#!lua name=<library>" first.
  if (code.substr(0, 2) != "#!") return "ERR Missing library metadata";
  const size_t eol = code.find('\n');
  std::string_view line = code.substr(0, eol);
  std::vector<std::string_view> parts;
  while (!line.empty()) {
    const size_t space = line.find(' ');
    if (space != 0) parts.push_back(line.substr(0, space));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  const std::string_view engine = parts[0].substr(2);
  if (engine != "lua") return "ERR Engine '" + std::string(engine.substr(0, 128)) + "' not found";
  name->clear();
  bool named = false;
  for (size_t i = 1; i < parts.size(); i++) {
    if (parts[i].substr(0, 5) != "name=") {
      return "ERR Invalid metadata value given: " + std::string(parts[i].substr(0, 128));
    }
    *name = std::string(parts[i].substr(5));
    named = true;
  }
  if (!named) return "ERR Library name was not given";
  if (!ValidFunctionName(name->data(), name->size())) {
    return "ERR Library names can only contain letters, numbers, or underscores(_) and must be "
           "at least one character long";
  }
  State& state = *state_;
  if (!replace && state.libraries.count(*name) != 0) {
    return "ERR Library '" + *name + "' already exists";
  }
  std::string body = "\n";  // the shebang line stays a (blank) line
  if (eol != std::string_view::npos) body += code.substr(eol + 1);
  const std::string_view body_view = body;
  lua_State* L = state.lua();
  std::vector<State::Pending> pending;
  state.loading = &pending;
  lua_pushcfunction(L, LoadLibraryProtected);
  lua_pushlightuserdata(L, &state);
  lua_pushlightuserdata(L, const_cast<std::string_view*>(&body_view));
  const int status = lua_pcall(L, 2, 1, 0);
  state.loading = nullptr;
  std::string error;
  if (status != 0) {
    error =
        "ERR Error registering functions: not enough memory (the Lua heap limit of "
        "lsmkv-server)";
  } else if (lua_type(L, -1) == LUA_TSTRING) {
    error = lua_tostring(L, -1);
  } else if (pending.empty()) {
    error = "ERR No functions registered";
  } else {
    for (const State::Pending& f : pending) {
      auto it = state.functions.find(f.name);
      if (it != state.functions.end() && it->second.library != *name) {
        error = "ERR Function " + f.name + " already exists";
        break;
      }
    }
  }
  lua_settop(L, 0);
  if (error.empty()) {
    // Replace the library's old functions by the new ones.
    lua_rawgeti(L, LUA_REGISTRYINDEX, state.functions_ref);
    auto old = state.libraries.find(*name);
    if (old != state.libraries.end()) {
      for (const std::string& f : old->second.functions) {
        lua_pushnil(L);
        lua_setfield(L, -2, f.c_str());
        state.functions.erase(f);
      }
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, state.pending_ref);
    State::Library library;
    library.code = std::string(code);
    for (const State::Pending& f : pending) {
      lua_getfield(L, -1, f.name.c_str());
      lua_setfield(L, -3, f.name.c_str());
      state.functions[f.name] = State::Function{*name, f.no_writes};
      library.functions.push_back(f.name);
    }
    state.libraries[*name] = std::move(library);
    lua_settop(L, 0);
  }
  luaL_unref(L, LUA_REGISTRYINDEX, state.pending_ref);
  state.pending_ref = LUA_NOREF;
  return error;
}

void Scripting::FunctionLoad(CommandContext& ctx, std::string_view code, bool replace) {
  std::lock_guard<std::mutex> lock(lua_mu_);
  std::string name;
  const std::string error = LoadLibraryLocked(code, replace, &name);
  UpdateInfoLocked();
  if (!error.empty()) {
    ctx.reply.Error(error);
  } else {
    ctx.reply.Bulk(name);
  }
}

void Scripting::FunctionFlush() {
  std::lock_guard<std::mutex> lock(lua_mu_);
  State& state = *state_;
  lua_State* L = state.lua();
  lua_newtable(L);
  lua_rawseti(L, LUA_REGISTRYINDEX, state.functions_ref);
  state.functions.clear();
  state.libraries.clear();
}

void Scripting::FunctionDelete(CommandContext& ctx, const std::string& library) {
  std::lock_guard<std::mutex> lock(lua_mu_);
  State& state = *state_;
  auto it = state.libraries.find(library);
  if (it == state.libraries.end()) {
    ctx.reply.Error("ERR Library not found");
    return;
  }
  lua_State* L = state.lua();
  lua_rawgeti(L, LUA_REGISTRYINDEX, state.functions_ref);
  for (const std::string& f : it->second.functions) {
    lua_pushnil(L);
    lua_setfield(L, -2, f.c_str());
    state.functions.erase(f);
  }
  lua_settop(L, 0);
  state.libraries.erase(it);
  ctx.reply.Ok();
}

void Scripting::FunctionKill(CommandContext& ctx) {
  std::lock_guard<std::mutex> lock(mu_);
  Run* run = current_.load();
  if (run == nullptr || !run->function) {
    ctx.reply.Error("NOTBUSY No scripts in execution right now.");
  } else if (run->wrote.load(std::memory_order_acquire)) {
    ctx.reply.Error(
        "UNKILLABLE Sorry the script already executed write commands against the dataset. You "
        "can either wait the script termination or kill the server in a hard way using the "
        "SHUTDOWN NOSAVE command.");
  } else {
    kill_.store(true, std::memory_order_release);
    ctx.reply.Ok();
  }
}

void Scripting::UpdateInfoLocked() {
  info_lua_bytes_.store(state_->used(), std::memory_order_relaxed);
  info_cached_scripts_.store(state_->scripts.size(), std::memory_order_relaxed);
}

void Scripting::Script(CommandContext& ctx) {
  const auto& args = ctx.args;
  const std::string sub = ToLower(args[1]);
  if (sub == "kill" && args.size() == 2) {
    std::lock_guard<std::mutex> lock(mu_);
    Run* run = current_.load();
    if (run == nullptr || run->function) {
      ctx.reply.Error("NOTBUSY No scripts in execution right now.");
    } else if (run->wrote.load(std::memory_order_acquire)) {
      ctx.reply.Error(
          "UNKILLABLE Sorry the script already executed write commands against the dataset. You "
          "can either wait the script termination or kill the server in a hard way using the "
          "SHUTDOWN NOSAVE command.");
    } else {
      kill_.store(true, std::memory_order_release);
      ctx.reply.Ok();
    }
    return;
  }
  if (sub == "load" && args.size() == 3) {
    const std::string sha = Sha1Hex(args[2]);
    std::lock_guard<std::mutex> lock(lua_mu_);
    if (state_->scripts.count(sha) == 0 && state_->scripts.size() >= kMaxCachedScripts) {
      ResetStateLocked();
    }
    const std::string error = CompileScript(*state_, sha, args[2]);
    UpdateInfoLocked();
    if (!error.empty()) {
      ctx.reply.Error(error);
    } else {
      ctx.reply.Bulk(sha);
    }
    return;
  }
  if (sub == "exists" && args.size() >= 3) {
    std::lock_guard<std::mutex> lock(lua_mu_);
    ctx.reply.Array(args.size() - 2);
    for (size_t i = 2; i < args.size(); i++) {
      ctx.reply.Integer(state_->scripts.count(ToLower(args[i])) != 0 ? 1 : 0);
    }
    return;
  }
  if (sub == "flush") {
    if (args.size() > 3 || (args.size() == 3 && !EqualsIgnoreCase(args[2], "async") &&
                            !EqualsIgnoreCase(args[2], "sync"))) {
      ctx.reply.Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
      return;
    }
    std::lock_guard<std::mutex> lock(lua_mu_);
    ResetStateLocked();
    ctx.reply.Ok();
    return;
  }
  if (sub == "help" && args.size() == 2) {
    static const char* const kLines[] = {
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache (both modes flush at once in lsmkv-server).",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help."};
    ctx.reply.Array(std::size(kLines));
    for (const char* line : kLines) ctx.reply.Status(line);
    return;
  }
  if (sub == "kill" || sub == "load" || sub == "exists" || sub == "help") {
    ctx.reply.Error(ArityError("script|" + sub));
    return;
  }
  ctx.reply.Error(UnknownSubcommandError(args[1], "SCRIPT"));
}

uint32_t WhileBusyFlags(std::string_view name) {
  static constexpr std::string_view kAllowed[] = {"multi", "discard", "watch", "unwatch",
                                                  "auth",  "hello",   "quit",  "shutdown"};
  for (std::string_view allowed : kAllowed) {
    if (name == allowed) return kCmdWhileBusy;
  }
  if (name == "script" || name == "function") return kCmdWhileBusySubcommand;
  return 0;
}

bool AllowedWhileBusy(const CommandSpec& spec, const std::vector<std::string>& args) {
  // The flags CommandTable set from the name: one test for most commands.
  if (spec.flags & kCmdWhileBusy) return true;
  if (!(spec.flags & kCmdWhileBusySubcommand) || args.size() < 2) return false;
  const std::string_view name = spec.name;
  if (name == "script") return EqualsIgnoreCase(args[1], "kill");
  return EqualsIgnoreCase(args[1], "kill") || EqualsIgnoreCase(args[1], "stats");
}

namespace {

void NoScripting(CommandContext& ctx) {
  ctx.reply.Error("ERR scripting is not available in this server");
}

void EvalCommand(CommandContext& ctx) {
  if (ctx.server.scripting == nullptr) return NoScripting(ctx);
  ctx.server.scripting->Eval(ctx, /*by_sha=*/false, /*read_only=*/false);
}
void EvalShaCommand(CommandContext& ctx) {
  if (ctx.server.scripting == nullptr) return NoScripting(ctx);
  ctx.server.scripting->Eval(ctx, /*by_sha=*/true, /*read_only=*/false);
}
void EvalRoCommand(CommandContext& ctx) {
  if (ctx.server.scripting == nullptr) return NoScripting(ctx);
  ctx.server.scripting->Eval(ctx, /*by_sha=*/false, /*read_only=*/true);
}
void EvalShaRoCommand(CommandContext& ctx) {
  if (ctx.server.scripting == nullptr) return NoScripting(ctx);
  ctx.server.scripting->Eval(ctx, /*by_sha=*/true, /*read_only=*/true);
}
void FcallCommand(CommandContext& ctx) {
  if (ctx.server.scripting == nullptr) return NoScripting(ctx);
  ctx.server.scripting->Fcall(ctx, /*read_only=*/false);
}
void FcallRoCommand(CommandContext& ctx) {
  if (ctx.server.scripting == nullptr) return NoScripting(ctx);
  ctx.server.scripting->Fcall(ctx, /*read_only=*/true);
}
void ScriptCommand(CommandContext& ctx) {
  if (ctx.server.scripting == nullptr) return NoScripting(ctx);
  ctx.server.scripting->Script(ctx);
}

void EvalKeys(const std::vector<std::string>& args, std::vector<std::string_view>* keys) {
  CollectNumKeys(args, 2, 3, keys);
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, CommandHandler handler,
         KeyFinder find_keys) {
  list->push_back(std::unique_ptr<CommandSpec>(
      new CommandSpec{name, arity, flags, 0, 0, 0, "scripting", handler, {}, find_keys}));
}

}  // namespace

void RegisterScriptingCommands(CommandList* list) {
  // kCmdKeyspace: a script queued in MULTI makes EXEC lock every stripe.
  // kCmdSlow: a script runs off the event loop, which stays free to answer
  // -BUSY and SCRIPT KILL.
  constexpr uint32_t kScriptFlags = kCmdScript | kCmdKeyspace | kCmdSlow;
  Add(list, "eval", -3, kScriptFlags, EvalCommand, EvalKeys);
  Add(list, "evalsha", -3, kScriptFlags, EvalShaCommand, EvalKeys);
  Add(list, "eval_ro", -3, kScriptFlags | kCmdReadOnly, EvalRoCommand, EvalKeys);
  Add(list, "evalsha_ro", -3, kScriptFlags | kCmdReadOnly, EvalShaRoCommand, EvalKeys);
  Add(list, "fcall", -3, kScriptFlags, FcallCommand, EvalKeys);
  Add(list, "fcall_ro", -3, kScriptFlags | kCmdReadOnly, FcallRoCommand, EvalKeys);
  Add(list, "script", -2, 0, ScriptCommand, nullptr);
}

}  // namespace lsmkv::server
