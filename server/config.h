// Config: every lsmkv-server setting, named as Redis names it where Redis has
// it. One table serves the command line (--name value), the config file
// (redis.conf style "name value" lines), --help, and CONFIG GET/SET.
//
// Values are validated with Redis's CONFIG SET wording. Settings marked
// immutable (bind, port, dir, engine options...) are read at startup only.
//
// Thread safety: getters and Set may be called concurrently; numeric
// settings are atomics, strings are guarded by a mutex.
#ifndef LSMKV_SERVER_CONFIG_H_
#define LSMKV_SERVER_CONFIG_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {

enum class Setting : int {
  kBind,
  kPort,
  kDir,
  kAppendfsync,
  kAppendonly,
  kSave,
  kDatabases,
  kMaxclients,
  kTimeout,
  kRequirepass,
  kProtoMaxBulkLen,
  kClientQueryBufferLimit,
  kClientOutputBufferLimit,
  kProtoMaxMultibulkLen,
  kClientRequestTimeout,
  kMultiMaxCommands,
  kMultiMaxBytes,
  // Scripts (scripting.h): milliseconds after which a running script makes
  // other clients' commands answer -BUSY; busy-reply-threshold is Redis
  // 7.0's name for the same setting (setting one sets both).
  kLuaTimeLimit,
  kBusyReplyThreshold,
  kProtectedMode,
  kReadonlyPassword,
  kAuthMaxFailures,
  kAuthBlockSeconds,
  kIoThreads,
  kHz,
  kMetricsPort,
  kMaxmemory,
  kWriteBufferSize,
  kBlockCacheSize,
  kCompression,
  kMaxOpenFiles,
  kBloomBitsPerKey,
  kMaxBackgroundCompactions,
  kTargetFileSize,
  kBlockSize,
  kNotifyKeyspaceEvents,
  // Redis's encoding thresholds (and their pre-7.0 ziplist names): accepted
  // and ignored, lsmkv-server has no compact encodings. Redis's test suite
  // sets them (scripts/redis_suite.sh).
  kHashMaxListpackEntries,
  kHashMaxZiplistEntries,
  kHashMaxListpackValue,
  kHashMaxZiplistValue,
  kZsetMaxListpackEntries,
  kZsetMaxZiplistEntries,
  kZsetMaxListpackValue,
  kZsetMaxZiplistValue,
  kListMaxListpackSize,
  kListMaxZiplistSize,
  kListCompressDepth,
  kSetMaxIntsetEntries,
  kStreamNodeMaxBytes,
  // Used: the block size of approximate stream trimming (commands_stream.cc).
  kStreamNodeMaxEntries,
  // The storage engine (Options::engine): lsm, btree or bitcask; a
  // directory opens only with the engine that created it.
  kEngine,
  // Replication (cluster.h, docs/replication.md): this node's Raft id (0:
  // standalone), the HOST:PORT its Raft messages use, and the voters of a new
  // cluster ("1=HOST:PORT,2=HOST:PORT,..."; ignored once the node has Raft
  // state).
  kRaftId,
  kRaftAddress,
  kRaftBootstrap,
  // A member's client HOST:PORT: this new node asks it to be added (cluster.h).
  kRaftJoin,
  // Where the Raft transport listens when not at raft-address (a proxy, NAT).
  kRaftBind,
  // Raft log entries between snapshots, and entries kept behind one (a
  // follower further behind than that catches up by a snapshot install).
  kRaftSnapshotThreshold,
  kRaftSnapshotTrailing,
  kRaftWorkers,
  kCount,
};

// kNotifyFlags: notify-keyspace-events' flag string (notify.h), kept as its
// bits (Int).
enum class SettingKind { kString, kInt, kBytes, kEnum, kBool, kOutputLimit, kNotifyFlags };

struct SettingInfo {
  Setting id;
  const char* name;
  SettingKind kind;
  bool mutable_at_runtime;
  const char* default_value;
  int64_t min;  // kInt / kBytes bounds (inclusive)
  int64_t max;
  std::vector<std::string> choices;  // kEnum, in order; the value is the index
  const char* help;
};

class Config {
 public:
  Config();

  // The table, in --help order.
  static const std::vector<SettingInfo>& Table();
  // nullptr if unknown (name compared without case).
  static const SettingInfo* Find(std::string_view name);

  // Validates and stores text. Returns "" on success, else the reason in
  // Redis's wording ("argument couldn't be parsed into an integer").
  // Immutability is the caller's rule (CONFIG SET checks it).
  std::string Set(const SettingInfo& info, std::string_view text) EXCLUDES(strings_mu_);
  // The current value as CONFIG GET shows it.
  std::string Get(const SettingInfo& info) const;

  int64_t Int(Setting id) const {
    return ints_[static_cast<int>(id)].load(std::memory_order_relaxed);
  }
  std::string String(Setting id) const EXCLUDES(strings_mu_);
  // client-output-buffer-limit's pubsub class: the hard limit, in bytes, on
  // a subscriber's undelivered messages (0 = unlimited; default 32mb).
  int64_t PubsubOutputLimit() const { return pubsub_output_limit_.load(std::memory_order_relaxed); }

  // Lowers the largest value Set accepts for a numeric setting below the
  // table's max, for limits that must agree with something fixed at startup
  // (proto-max-bulk-len with the engine's value limit, maxclients with the
  // open-file limit). Returns false if the current value is above max (the
  // caller decides whether to lower it).
  bool SetUpperBound(Setting id, int64_t max);
  int64_t UpperBound(const SettingInfo& info) const;

  // Parses argv (after the program name): "--name value" pairs, "--config
  // FILE", a leading positional config file path. The file is read first, so
  // the command line overrides it. Returns "" or an error message; *help is
  // set if --help was given, *version for --version.
  std::string ParseCommandLine(const std::vector<std::string>& args, bool* help, bool* version);
  // Reads a redis.conf-style file: "name value..." per line, '#' comments,
  // quoting as in inline commands. Returns "" or "FILE:LINE: reason".
  std::string LoadFile(const std::string& path);
  const std::string& config_file() const { return config_file_; }

  // rename-command NAME NEWNAME (config file) / --rename-command NAME NEWNAME:
  // NAME is served as NEWNAME ("" disables it). Read at startup only.
  std::string AddRename(std::string_view command, std::string_view new_name);
  const std::vector<std::pair<std::string, std::string>>& renames() const { return renames_; }

  // The --help text.
  static std::string HelpText();

 private:
  std::atomic<int64_t> ints_[static_cast<int>(Setting::kCount)];
  std::atomic<int64_t> pubsub_output_limit_{32 << 20};
  // 0 = the table's max applies.
  std::atomic<int64_t> bounds_[static_cast<int>(Setting::kCount)];
  mutable Mutex strings_mu_;
  std::string strings_[static_cast<int>(Setting::kCount)] GUARDED_BY(strings_mu_);
  std::string config_file_;
  std::vector<std::pair<std::string, std::string>> renames_;  // startup only
};

// What CONFIG GET shows for a password that is set (never the password).
inline constexpr char kMaskedSecret[] = "********";

// Parses a Redis memory value ("512mb", "1gb", "100k", "4096"); false if invalid.
bool ParseMemory(std::string_view text, int64_t* bytes);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_CONFIG_H_
