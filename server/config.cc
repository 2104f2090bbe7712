#include "server/config.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "server/notify.h"
#include "server/resp_parser.h"
#include "server/value_codec.h"

namespace lsmkv::server {

namespace {

constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
constexpr int64_t kLongMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMiB = 1024 * 1024;
// The engine takes values up to 2^31 bytes; a value is a bulk plus a header.
constexpr int64_t kMaxBulkLen = (int64_t{1} << 31) - static_cast<int64_t>(kMaxValueHeader);

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Passwords: CONFIG GET shows kMaskedSecret instead.
bool IsSecret(Setting id) {
  return id == Setting::kRequirepass || id == Setting::kReadonlyPassword;
}

std::vector<SettingInfo> BuildTable() {
  using K = SettingKind;
  std::vector<SettingInfo> t = {
      {Setting::kBind,
       "bind",
       K::kString,
       false,
       "127.0.0.1",
       0,
       0,
       {},
       "address to listen on (loopback unless told otherwise)"},
      {Setting::kPort,
       "port",
       K::kInt,
       false,
       "6380",
       0,
       65535,
       {},
       "TCP port; 0 picks a free port (printed at startup)"},
      {Setting::kDir,
       "dir",
       K::kString,
       false,
       "./data",
       0,
       0,
       {},
       "data directory holding the lsmkv database (created if missing)"},
      {Setting::kAppendfsync,
       "appendfsync",
       K::kEnum,
       true,
       "everysec",
       0,
       0,
       {"everysec", "always", "no"},
       "always: fsync before every write is acknowledged; everysec: fsync at most once a "
       "second in the background; no: leave it to the OS"},
      {Setting::kAppendonly,
       "appendonly",
       K::kBool,
       true,  // to its only value, yes
       "yes",
       0,
       0,
       {},
       "always yes: every write goes to lsmkv's write-ahead log (reported for Redis tools)"},
      {Setting::kSave,
       "save",
       K::kString,
       true,  // to its only value, "" (Redis's test suite sets it)
       "",
       0,
       0,
       {},
       "always empty: there are no RDB snapshots (reported for Redis tools)"},
      {Setting::kDatabases,
       "databases",
       K::kInt,
       false,
       "16",
       1,
       256,
       {},
       "number of databases (SELECT 0 .. databases-1)"},
      {Setting::kMaxclients,
       "maxclients",
       K::kInt,
       true,
       "10000",
       1,
       kIntMax,
       {},
       "most simultaneous clients; more are refused with an error"},
      {Setting::kTimeout,
       "timeout",
       K::kInt,
       true,
       "0",
       0,
       kIntMax,
       {},
       "close a client idle for this many seconds (0 = never)"},
      {Setting::kRequirepass,
       "requirepass",
       K::kString,
       true,
       "",
       0,
       0,
       {},
       "password clients must give with AUTH or HELLO ... AUTH (empty = none)"},
      {Setting::kProtoMaxBulkLen,
       "proto-max-bulk-len",
       K::kBytes,
       true,
       "512mb",
       kMiB,
       kMaxBulkLen,
       {},
       "largest bulk string in a request (and largest value); at run time at most "
       "max(512mb, the value at startup)"},
      {Setting::kClientQueryBufferLimit,
       "client-query-buffer-limit",
       K::kBytes,
       true,
       "1gb",
       kMiB,
       kLongMax,
       {},
       "most bytes one unfinished request may hold"},
      {Setting::kClientOutputBufferLimit,
       "client-output-buffer-limit",
       K::kOutputLimit,
       true,
       "normal 1gb 0 0",
       0,
       kLongMax,
       {},
       "\"CLASS HARD SOFT SECONDS\"...: a client whose pending replies exceed the normal class's "
       "HARD bytes gets an error and is disconnected; a subscriber whose undelivered messages "
       "exceed the pubsub class's HARD (default 32mb) is disconnected (0 = unlimited; SOFT, "
       "SECONDS and the replica class are accepted and ignored)"},
      {Setting::kProtoMaxMultibulkLen,
       "proto-max-multibulk-len",
       K::kInt,
       true,
       "1048576",
       1,
       kIntMax,
       {},
       "most arguments in one command; more is a protocol error"},
      {Setting::kClientRequestTimeout,
       "client-request-timeout",
       K::kInt,
       true,
       "60",
       0,
       kIntMax,
       {},
       "close a client whose request stays incomplete this many seconds (0 = never)"},
      {Setting::kMultiMaxCommands,
       "multi-max-commands",
       K::kInt,
       true,
       "100000",
       1,
       kIntMax,
       {},
       "most commands one MULTI may queue; more aborts the transaction"},
      {Setting::kMultiMaxBytes,
       "multi-max-bytes",
       K::kBytes,
       true,
       "64mb",
       1024,
       kLongMax,
       {},
       "most memory one MULTI's queued commands may take; more aborts the transaction"},
      {Setting::kLuaTimeLimit,
       "lua-time-limit",
       K::kInt,
       true,
       "5000",
       0,
       kLongMax,
       {},
       "ms a script runs before other clients get -BUSY (alias of busy-reply-threshold)"},
      {Setting::kBusyReplyThreshold,
       "busy-reply-threshold",
       K::kInt,
       true,
       "5000",
       0,
       kLongMax,
       {},
       "ms a script runs before other clients get -BUSY (alias of lua-time-limit)"},
      {Setting::kProtectedMode,
       "protected-mode",
       K::kBool,
       true,
       "yes",
       0,
       0,
       {},
       "without requirepass and bound to a non-loopback address, refuse non-loopback clients"},
      {Setting::kReadonlyPassword,
       "readonly-password",
       K::kString,
       true,
       "",
       0,
       0,
       {},
       "password of the read-only user (AUTH readonly PASSWORD): no writes, no admin commands"},
      {Setting::kAuthMaxFailures,
       "auth-max-failures",
       K::kInt,
       true,
       "10",
       1,
       kIntMax,
       {},
       "failed AUTHs after which a connection is closed and its address blocked"},
      {Setting::kAuthBlockSeconds,
       "auth-block-seconds",
       K::kInt,
       true,
       "10",
       1,
       kIntMax,
       {},
       "how long an address stays blocked after its last failed AUTH"},
      {Setting::kIoThreads,
       "io-threads",
       K::kInt,
       false,
       "0",
       0,
       128,
       {},
       "threads serving clients (0 = one per usable CPU but one, at least one)"},
      {Setting::kHz, "hz", K::kInt, true, "10", 1, 500, {}, "background expiry sweeps per second"},
      {Setting::kMetricsPort,
       "metrics-port",
       K::kInt,
       false,
       "-1",
       -1,
       65535,
       {},
       "serve Prometheus metrics on http://BIND:PORT/metrics (-1 = off, 0 = a free port)"},
      {Setting::kMaxmemory,
       "maxmemory",
       K::kBytes,
       false,
       "0",
       0,
       0,
       {},
       "always 0: data lives on disk, memory is bounded by the engine options"},
      {Setting::kWriteBufferSize,
       "write-buffer-size",
       K::kBytes,
       false,
       "64mb",
       64 * 1024,
       kLongMax,
       {},
       "engine: memtable bytes before it is frozen and flushed"},
      {Setting::kBlockCacheSize,
       "block-cache-size",
       K::kBytes,
       false,
       "32mb",
       0,
       kLongMax,
       {},
       "engine: bytes of uncompressed table blocks kept in memory"},
      {Setting::kEngine,
       "engine",
       K::kEnum,
       false,
       "lsm",
       0,
       0,
       {"lsm", "btree", "bitcask"},
       "engine: the storage engine of a new database (an existing one must match)"},
      {Setting::kRaftId,
       "raft-id",
       K::kInt,
       false,
       "0",
       0,
       int64_t{1} << 62,
       {},
       "this node's Raft id (> 0: a replicated node, docs/replication.md; 0: standalone)"},
      {Setting::kRaftAddress,
       "raft-address",
       K::kString,
       false,
       "",
       0,
       0,
       {},
       "HOST:PORT this node's Raft messages use (needed with --raft-id)"},
      {Setting::kRaftBootstrap,
       "raft-bootstrap",
       K::kString,
       false,
       "",
       0,
       0,
       {},
       "the voters of a new cluster, ID=HOST:PORT,... (ignored once the node has Raft state)"},
      {Setting::kRaftJoin,
       "raft-join",
       K::kString,
       false,
       "",
       0,
       0,
       {},
       "a member's client HOST:PORT to ask to add this new node to its cluster (not with "
       "--raft-bootstrap)"},
      {Setting::kRaftBind,
       "raft-bind",
       K::kString,
       false,
       "",
       0,
       0,
       {},
       "HOST:PORT the Raft transport listens on when it is not --raft-address (behind a proxy or "
       "NAT)"},
      {Setting::kRaftSnapshotThreshold,
       "raft-snapshot-threshold",
       K::kInt,
       false,
       "8192",
       16,
       int64_t{1} << 30,
       {},
       "Raft log entries applied between two snapshots (checkpoints)"},
      {Setting::kRaftSnapshotTrailing,
       "raft-snapshot-trailing",
       K::kInt,
       false,
       "4096",
       8,
       int64_t{1} << 30,
       {},
       "Raft log entries kept behind a snapshot: a follower further behind installs a snapshot"},
      {Setting::kRaftWorkers,
       "raft-workers",
       K::kInt,
       false,
       "64",
       1,
       1024,
       {},
       "threads running clients' commands on a replicated node: commands waiting for Raft at once"},
      {Setting::kCompression,
       "compression",
       K::kEnum,
       false,
       "none",
       0,
       0,
       {"none", "snappy", "lz4", "zstd"},
       "engine: table block compression"},
      {Setting::kMaxOpenFiles,
       "max-open-files",
       K::kInt,
       false,
       "1000",
       16,
       kIntMax,
       {},
       "engine: table files kept open"},
      {Setting::kBloomBitsPerKey,
       "bloom-bits-per-key",
       K::kInt,
       false,
       "10",
       0,
       64,
       {},
       "engine: bloom filter bits per key (0 = no filters)"},
      {Setting::kMaxBackgroundCompactions,
       "max-background-compactions",
       K::kInt,
       false,
       "1",
       1,
       64,
       {},
       "engine: compaction threads"},
      {Setting::kTargetFileSize,
       "target-file-size",
       K::kBytes,
       false,
       "8mb",
       64 * 1024,
       kLongMax,
       {},
       "engine: size at which compaction outputs are cut"},
      {Setting::kBlockSize,
       "block-size",
       K::kBytes,
       false,
       "4kb",
       256,
       64 * kMiB,
       {},
       "engine: uncompressed bytes per table block"},
      {Setting::kNotifyKeyspaceEvents,
       "notify-keyspace-events",
       K::kNotifyFlags,
       true,
       "",
       0,
       0,
       {},
       "keyspace notifications: Redis's event classes (K E g $ l s h z x e t m d n A; \"\" = "
       "off), published on __keyspace@DB__:KEY and __keyevent@DB__:EVENT"},
  };
  // Redis's encoding thresholds, with Redis's defaults and bounds.
  struct Ignored {
    Setting id;
    const char* name;
    SettingKind kind;
    const char* default_value;
    int64_t min;
    int64_t max;
  };
  constexpr int64_t kIntMin = std::numeric_limits<int32_t>::min();
  static const Ignored kIgnored[] = {
      {Setting::kHashMaxListpackEntries, "hash-max-listpack-entries", K::kInt, "128", 0, kLongMax},
      {Setting::kHashMaxZiplistEntries, "hash-max-ziplist-entries", K::kInt, "128", 0, kLongMax},
      {Setting::kHashMaxListpackValue, "hash-max-listpack-value", K::kBytes, "64", 0, kLongMax},
      {Setting::kHashMaxZiplistValue, "hash-max-ziplist-value", K::kBytes, "64", 0, kLongMax},
      {Setting::kZsetMaxListpackEntries, "zset-max-listpack-entries", K::kInt, "128", 0, kLongMax},
      {Setting::kZsetMaxZiplistEntries, "zset-max-ziplist-entries", K::kInt, "128", 0, kLongMax},
      {Setting::kZsetMaxListpackValue, "zset-max-listpack-value", K::kBytes, "64", 0, kLongMax},
      {Setting::kZsetMaxZiplistValue, "zset-max-ziplist-value", K::kBytes, "64", 0, kLongMax},
      {Setting::kListMaxListpackSize, "list-max-listpack-size", K::kInt, "-2", kIntMin, kIntMax},
      {Setting::kListMaxZiplistSize, "list-max-ziplist-size", K::kInt, "-2", kIntMin, kIntMax},
      {Setting::kListCompressDepth, "list-compress-depth", K::kInt, "0", 0, kIntMax},
      {Setting::kSetMaxIntsetEntries, "set-max-intset-entries", K::kInt, "512", 0, kLongMax},
      {Setting::kStreamNodeMaxBytes, "stream-node-max-bytes", K::kBytes, "4096", 0, kLongMax},
  };
  for (const Ignored& i : kIgnored) {
    t.push_back({i.id,
                 i.name,
                 i.kind,
                 true,
                 i.default_value,
                 i.min,
                 i.max,
                 {},
                 "accepted and ignored: a Redis encoding threshold (lsmkv-server has no compact "
                 "encodings)"});
  }
  t.push_back({Setting::kStreamNodeMaxEntries,
               "stream-node-max-entries",
               K::kInt,
               true,
               "100",
               0,
               kLongMax,
               {},
               "approximate stream trimming (MAXLEN/MINID ~) removes whole blocks of this many "
               "entries, by insertion order (Redis: whole radix-tree nodes); 0 = blocks of 100"});
  return t;
}

std::string RangeError(int64_t min, int64_t max) {
  return "argument must be between " + std::to_string(min) + " and " + std::to_string(max) +
         " inclusive";
}

}  // namespace

bool ParseMemory(std::string_view text, int64_t* bytes) {
  std::string lower = Lower(text);
  int64_t multiplier = 1;
  struct Unit {
    const char* suffix;
    int64_t factor;
  };
  static const Unit kUnits[] = {{"kb", 1024}, {"mb", 1024 * 1024}, {"gb", 1024ll * 1024 * 1024},
                                {"k", 1000},  {"m", 1000 * 1000},  {"g", 1000ll * 1000 * 1000},
                                {"b", 1}};
  for (const Unit& unit : kUnits) {
    const size_t n = std::string_view(unit.suffix).size();
    if (lower.size() > n && lower.compare(lower.size() - n, n, unit.suffix) == 0 &&
        std::isdigit(static_cast<unsigned char>(lower[lower.size() - n - 1]))) {
      multiplier = unit.factor;
      lower.resize(lower.size() - n);
      break;
    }
  }
  int64_t value = 0;
  if (!ParseInt64(lower, &value) || value < 0) return false;
  if (value > std::numeric_limits<int64_t>::max() / multiplier) return false;
  *bytes = value * multiplier;
  return true;
}

const std::vector<SettingInfo>& Config::Table() {
  static const std::vector<SettingInfo> table = BuildTable();
  return table;
}

const SettingInfo* Config::Find(std::string_view name) {
  const std::string lower = Lower(name);
  for (const SettingInfo& info : Table()) {
    if (lower == info.name) return &info;
  }
  return nullptr;
}

Config::Config() {
  for (auto& v : ints_) v.store(0, std::memory_order_relaxed);
  for (auto& v : bounds_) v.store(0, std::memory_order_relaxed);
  for (const SettingInfo& info : Table()) {
    std::string error = Set(info, info.default_value);
    (void)error;  // defaults are valid by construction (config_test checks)
  }
}

bool Config::SetUpperBound(Setting id, int64_t max) {
  bounds_[static_cast<int>(id)].store(max, std::memory_order_relaxed);
  return Int(id) <= max;
}

int64_t Config::UpperBound(const SettingInfo& info) const {
  const int64_t bound = bounds_[static_cast<int>(info.id)].load(std::memory_order_relaxed);
  return bound > 0 ? std::min(bound, info.max) : info.max;
}

std::string Config::Set(const SettingInfo& info, std::string_view text) {
  const int index = static_cast<int>(info.id);
  switch (info.kind) {
    case SettingKind::kString: {
      if (info.id == Setting::kSave && !text.empty()) {
        return "lsmkv-server takes no RDB snapshots; save must be empty";
      }
      if (IsSecret(info.id) && text == kMaskedSecret) {
        return "this is the mask CONFIG GET shows for a password, not a password";
      }
      MutexLock lock(&strings_mu_);
      strings_[index] = std::string(text);
      return "";
    }
    case SettingKind::kInt: {
      int64_t value = 0;
      if (!ParseInt64(text, &value)) return "argument couldn't be parsed into an integer";
      if (value < info.min || value > UpperBound(info))
        return RangeError(info.min, UpperBound(info));
      ints_[index].store(value, std::memory_order_relaxed);
      // lua-time-limit and busy-reply-threshold are one setting.
      if (info.id == Setting::kLuaTimeLimit) {
        ints_[static_cast<int>(Setting::kBusyReplyThreshold)].store(value,
                                                                    std::memory_order_relaxed);
      } else if (info.id == Setting::kBusyReplyThreshold) {
        ints_[static_cast<int>(Setting::kLuaTimeLimit)].store(value, std::memory_order_relaxed);
      }
      return "";
    }
    case SettingKind::kBytes: {
      int64_t value = 0;
      if (!ParseMemory(text, &value)) return "argument must be a memory value";
      if (value < info.min || value > UpperBound(info))
        return RangeError(info.min, UpperBound(info));
      ints_[index].store(value, std::memory_order_relaxed);
      return "";
    }
    case SettingKind::kEnum: {
      const std::string lower = Lower(text);
      for (size_t i = 0; i < info.choices.size(); i++) {
        if (lower == info.choices[i]) {
          ints_[index].store(static_cast<int64_t>(i), std::memory_order_relaxed);
          return "";
        }
      }
      std::string reason = "argument(s) must be one of the following: ";
      for (size_t i = 0; i < info.choices.size(); i++) {
        if (i > 0) reason += ", ";
        reason += info.choices[i];
      }
      return reason;
    }
    case SettingKind::kBool: {
      const std::string lower = Lower(text);
      if (lower != "yes" && lower != "no") return "argument must be 'yes' or 'no'";
      if (info.id == Setting::kAppendonly && lower != "yes") {
        return "lsmkv-server always logs every write; appendonly must be yes";
      }
      ints_[index].store(lower == "yes" ? 1 : 0, std::memory_order_relaxed);
      return "";
    }
    case SettingKind::kNotifyFlags: {
      uint32_t flags = 0;
      if (!ParseNotifyFlags(text, &flags)) {
        return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
      }
      ints_[index].store(flags, std::memory_order_relaxed);
      return "";
    }
    case SettingKind::kOutputLimit: {
      std::vector<std::string> parts;
      if (!SplitInlineArgs(text, &parts) || parts.size() % 4 != 0 || parts.empty()) {
        return "Wrong number of arguments in buffer limit configuration.";
      }
      int64_t hard = -1, pubsub = -1;
      for (size_t i = 0; i < parts.size(); i += 4) {
        const std::string cls = Lower(parts[i]);
        if (cls != "normal" && cls != "replica" && cls != "slave" && cls != "pubsub") {
          return "Invalid client class specified in buffer limit configuration.";
        }
        int64_t h = 0, soft = 0, seconds = 0;
        if (!ParseMemory(parts[i + 1], &h) || !ParseMemory(parts[i + 2], &soft) ||
            !ParseInt64(parts[i + 3], &seconds) || seconds < 0) {
          return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        }
        if (cls == "normal") hard = h;
        if (cls == "pubsub") pubsub = h;
      }
      if (hard >= 0) ints_[index].store(hard, std::memory_order_relaxed);
      if (pubsub >= 0) pubsub_output_limit_.store(pubsub, std::memory_order_relaxed);
      return "";
    }
  }
  return "unknown setting kind";
}

std::string Config::Get(const SettingInfo& info) const {
  const int64_t value = Int(info.id);
  switch (info.kind) {
    case SettingKind::kString:
      if (IsSecret(info.id)) return String(info.id).empty() ? "" : kMaskedSecret;
      return String(info.id);
    case SettingKind::kInt:
    case SettingKind::kBytes:
      return std::to_string(value);
    case SettingKind::kEnum:
      return info.choices[static_cast<size_t>(value)];
    case SettingKind::kBool:
      return value ? "yes" : "no";
    case SettingKind::kNotifyFlags:
      return NotifyFlagsToString(static_cast<uint32_t>(value));
    case SettingKind::kOutputLimit:
      return "normal " + std::to_string(value) + " 0 0 slave 0 0 0 pubsub " +
             std::to_string(PubsubOutputLimit()) + " 0 0";
  }
  return "";
}

std::string Config::String(Setting id) const {
  MutexLock lock(&strings_mu_);
  return strings_[static_cast<int>(id)];
}

std::string Config::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return path + ": cannot open the config file";
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    number++;
    size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos || line[start] == '#') continue;
    std::vector<std::string> words;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (!SplitInlineArgs(line, &words)) return where + "unbalanced quotes";
    if (words.empty()) continue;
    if (Lower(words[0]) == "rename-command") {
      if (words.size() != 3)
        return where + "rename-command needs NAME NEWNAME (\"\" disables NAME)";
      const std::string error = AddRename(words[1], words[2]);
      if (!error.empty()) return where + error;
      continue;
    }
    const SettingInfo* info = Find(words[0]);
    if (info == nullptr) return where + "unknown setting '" + words[0] + "'";
    std::string value;
    for (size_t i = 1; i < words.size(); i++) {
      if (i > 1) value += ' ';
      value += words[i];
    }
    std::string error = Set(*info, value);
    if (!error.empty()) return where + words[0] + ": " + error;
  }
  config_file_ = path;
  return "";
}

std::string Config::AddRename(std::string_view command, std::string_view new_name) {
  if (command.empty()) return "rename-command needs a command name";
  for (char c : new_name) {
    if (c <= ' ' || c > '~')
      return "rename-command: the new name must be printable, without spaces";
  }
  renames_.emplace_back(Lower(command), Lower(new_name));
  return "";
}

std::string Config::ParseCommandLine(const std::vector<std::string>& args, bool* help,
                                     bool* version) {
  *help = false;
  *version = false;
  // The config file goes first so that flags override it.
  std::string file;
  size_t first = 0;
  if (!args.empty() && args[0].rfind("-", 0) != 0) {
    file = args[0];
    first = 1;
  }
  std::vector<std::pair<std::string, std::string>> flags;
  std::vector<std::pair<std::string, std::string>> renames;
  for (size_t i = first; i < args.size(); i++) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      *help = true;
      return "";
    }
    if (arg == "-v" || arg == "--version") {
      *version = true;
      return "";
    }
    if (arg.rfind("--", 0) != 0) return "unexpected argument '" + arg + "' (see --help)";
    std::string name = arg.substr(2);
    std::string value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else {
      if (i + 1 >= args.size()) return "--" + name + " needs a value (see --help)";
      value = args[++i];
    }
    if (name == "config") {
      file = value;
      continue;
    }
    if (name == "rename-command") {  // two values: NAME NEWNAME
      if (eq != std::string::npos || i + 1 >= args.size()) {
        return "--rename-command needs two values: NAME NEWNAME (\"\" disables NAME)";
      }
      renames.emplace_back(value, args[++i]);  // after the file's
      continue;
    }
    flags.emplace_back(name, value);
  }
  if (!file.empty()) {
    std::string error = LoadFile(file);
    if (!error.empty()) return error;
  }
  for (const auto& [command, new_name] : renames) {
    const std::string error = AddRename(command, new_name);
    if (!error.empty()) return "--rename-command: " + error;
  }
  for (const auto& [name, value] : flags) {
    const SettingInfo* info = Find(name);
    if (info == nullptr) return "unknown option --" + name + " (see --help)";
    std::string error = Set(*info, value);
    if (!error.empty()) return "--" + name + " " + value + ": " + error;
  }
  return "";
}

std::string Config::HelpText() {
  std::ostringstream out;
  out << "Usage: lsmkv-server [CONFIG_FILE] [--config FILE] [--NAME VALUE]...\n\n"
         "A Redis-protocol server over the lsmkv storage engine: redis-cli, redis-benchmark\n"
         "and Redis client libraries talk to it; data lives in a crash-safe LSM database.\n\n"
         "Every setting may be given as --NAME VALUE (or --NAME=VALUE), as a \"NAME VALUE\"\n"
         "line of the config file (redis.conf style, '#' comments, quotes allowed), and the\n"
         "runtime ones with CONFIG SET. The command line overrides the file.\n"
         "Sizes accept Redis units: 4096, 100k, 64kb, 16mb, 1gb.\n\n"
         "Settings (default in brackets; * = CONFIG SET at runtime):\n";
  for (const SettingInfo& info : Table()) {
    std::string head = std::string("  --") + info.name + (info.mutable_at_runtime ? " *" : "");
    out << head;
    out << std::string(head.size() < 32 ? 32 - head.size() : 1, ' ');
    out << info.help;
    if (!info.choices.empty()) {
      out << " (";
      for (size_t i = 0; i < info.choices.size(); i++) out << (i ? "|" : "") << info.choices[i];
      out << ")";
    }
    out << " [" << info.default_value << "]\n";
  }
  out << "\nOther flags:\n"
         "  --config FILE                 read settings from FILE first\n"
         "  -h, --help                    this text\n"
         "  -v, --version                 print the version\n\n"
         "Stop it with SHUTDOWN, SIGTERM or SIGINT: it finishes the commands in flight,\n"
         "closes the database cleanly and exits 0.\n";
  return out.str();
}

}  // namespace lsmkv::server
