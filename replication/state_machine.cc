#include "replication/state_machine.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "lsmkv/iterator.h"
#include "lsmkv/tools.h"
#include "lsmkv/write_batch.h"
#include "replication/command.h"
#include "util/coding.h"
#include "util/hash.h"

namespace lsmkv::replication {

namespace {

constexpr char kLiveFile[] = "LIVE";
constexpr char kCheckpointDir[] = "checkpoints";
constexpr char kIncomingDir[] = "incoming";

std::string DbDirName(uint64_t n) { return "db-" + std::to_string(n); }

// "db-N" -> N; false for anything else.
bool ParseDbDirName(std::string_view name, uint64_t* n) {
  if (!name.starts_with("db-") || name.size() == 3 || name.size() > 3 + 19) return false;
  uint64_t v = 0;
  for (char c : name.substr(3)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *n = v;
  return true;
}

std::string CheckpointName(uint64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020" PRIu64, index);
  return buf;
}

// Removes path: a file, or a directory and everything in it.
Status RemoveAll(Env* env, const std::string& path) {
  if (!env->FileExists(path)) return Status::OK();
  if (env->RemoveFile(path).ok()) return Status::OK();
  std::vector<std::string> children;
  Status s = env->GetChildren(path, &children);
  if (!s.ok()) return s;
  for (const std::string& c : children) {
    if (c == "." || c == "..") continue;
    s = RemoveAll(env, path + "/" + c);
    if (!s.ok()) return s;
  }
  return env->RemoveDir(path);
}

Status ReadAppliedIndex(DB* db, const std::string& where, uint64_t* applied) {
  std::string value;
  Status s = db->Get(ReadOptions(), kAppliedIndexKey, &value);
  if (s.IsNotFound()) {
    *applied = 0;
    return Status::OK();
  }
  if (!s.ok()) return s;
  if (value.size() != 8) {
    return Status::Corruption("replication: applied index of " + std::to_string(value.size()) +
                              " bytes in " + where);
  }
  *applied = DecodeFixed64(value.data());
  return Status::OK();
}

// Points LIVE at db-n: written to a temporary file, synced, renamed over LIVE,
// the directory synced.
Status WriteLive(Env* env, const std::string& root, uint64_t n) {
  const std::string tmp = root + "/" + kLiveFile + ".tmp";
  Status s = WriteStringToFile(env, DbDirName(n) + "\n", tmp, /*sync=*/true);
  if (s.ok()) s = env->RenameFile(tmp, root + "/" + kLiveFile);
  if (s.ok()) s = env->SyncDir(root);
  return s;
}

}  // namespace

Options ReplicaOptions() {
  Options options;
  options.create_if_missing = true;
  options.wal_recovery_mode = WalRecoveryMode::kPointInTime;
  return options;
}

Status StateMachine::Open(const Options& given, const std::string& root,
                          std::unique_ptr<StateMachine>* out) {
  if (given.wal_recovery_mode == WalRecoveryMode::kSkipAnyCorrupted) {
    return Status::InvalidArgument(
        "replication: a replica's database needs a prefix-preserving wal_recovery_mode "
        "(kPointInTime, kTolerateCorruptedTail or kAbsoluteConsistency), not kSkipAnyCorrupted");
  }
  Options options = given;
  if (options.env == nullptr) options.env = Env::Default();
  Env* env = options.env;
  if (!env->FileExists(root)) {
    Status s = env->CreateDir(root);
    if (!s.ok()) return s;
  }
  uint64_t live = 0;
  const std::string live_path = root + "/" + kLiveFile;
  if (env->FileExists(live_path)) {
    std::string text;
    Status s = ReadFileToString(env, live_path, &text);
    if (!s.ok()) return s;
    if (text.empty() || text.back() != '\n' ||
        !ParseDbDirName(std::string_view(text).substr(0, text.size() - 1), &live)) {
      return Status::Corruption("replication: " + live_path + " does not name a db-N directory");
    }
  } else {
    Status s = WriteLive(env, root, 0);
    if (!s.ok()) return s;
  }
  const std::string db_dir = root + "/" + DbDirName(live);
  // Only db-0 is created here (a crash may come between LIVE and its creation);
  // a later database named by LIVE must exist, never be silently recreated
  // empty — checked before anything is removed.
  if (live != 0 && !env->FileExists(db_dir)) {
    return Status::Corruption("replication: " + live_path + " names " + DbDirName(live) +
                              ", which does not exist");
  }
  // What a crash left: a partial fetch, a fetched database never made live, or
  // the database a completed switch left behind.
  std::vector<std::string> children;
  Status s = env->GetChildren(root, &children);
  if (!s.ok()) return s;
  for (const std::string& c : children) {
    uint64_t n;
    if (c == kIncomingDir || c == std::string(kLiveFile) + ".tmp" ||
        (ParseDbDirName(c, &n) && n != live)) {
      s = RemoveAll(env, root + "/" + c);
      if (!s.ok()) return s;
    }
  }
  std::unique_ptr<DB> db;
  s = DB::Open(options, db_dir, &db);
  if (!s.ok()) return s;
  uint64_t applied = 0;
  s = ReadAppliedIndex(db.get(), db_dir, &applied);
  if (!s.ok()) return s;
  std::unique_ptr<StateMachine> machine(
      new StateMachine(options, root, live, std::move(db), applied));
  s = machine->LoadNodes();
  if (!s.ok()) return s;
  *out = std::move(machine);
  return Status::OK();
}

namespace {

std::string NodeKey(uint64_t id) {
  std::string key(kNodeAddressPrefix);
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(id >> shift));
  return key;
}

}  // namespace

Status StateMachine::LoadNodes() {
  std::map<uint64_t, std::string> nodes;
  std::unique_ptr<Iterator> it(db_->NewIterator(ReadOptions()));
  for (it->Seek(kNodeAddressPrefix); it->Valid() && it->key().starts_with(kNodeAddressPrefix);
       it->Next()) {
    const std::string_view suffix = it->key().substr(kNodeAddressPrefix.size());
    if (suffix.size() != 8) {
      return Status::Corruption("replication: a node address key with a " +
                                std::to_string(suffix.size()) + "-byte id");
    }
    uint64_t id = 0;
    for (char c : suffix) id = (id << 8) | static_cast<unsigned char>(c);
    nodes[id] = std::string(it->value());
  }
  if (!it->status().ok()) return it->status();
  MutexLock l(&nodes_mu_);
  nodes_.swap(nodes);
  return Status::OK();
}

std::map<uint64_t, std::string> StateMachine::NodeAddresses() const {
  MutexLock l(&nodes_mu_);
  return nodes_;
}

std::string StateMachine::NodeAddress(uint64_t id) const {
  MutexLock l(&nodes_mu_);
  auto it = nodes_.find(id);
  return it == nodes_.end() ? std::string() : it->second;
}

Status StateMachine::Apply(uint64_t index, std::string_view command, bool* applied) {
  *applied = false;
  if (index == 0) return Status::InvalidArgument("replication: log index 0");
  if (index <= applied_index()) return Status::OK();  // replayed after a restart
  CommandType type;
  WriteBatch batch;
  Announcement announcement;
  Status s = DecodeCommand(command, &type, &batch, &announcement);
  if (!s.ok()) return s;
  if (type == CommandType::kAnnounce) batch.Put(NodeKey(announcement.id), announcement.address);
  std::string index_value;
  PutFixed64(&index_value, index);
  batch.Put(kAppliedIndexKey, index_value);
  s = db_->Write(WriteOptions(), &batch);
  if (!s.ok()) return s;
  applied_index_.store(index, std::memory_order_release);
  if (type == CommandType::kAnnounce) {
    MutexLock l(&nodes_mu_);
    nodes_[announcement.id] = announcement.address;
  }
  *applied = true;
  return Status::OK();
}

Status StateMachine::TakeSnapshot(uint64_t self, std::string* descriptor) {
  Env* env = options_.env;
  const std::string dir = root_ + "/" + kCheckpointDir;
  if (!env->FileExists(dir)) {
    Status s = env->CreateDir(dir);
    if (!s.ok()) return s;
  }
  SnapshotDescriptor d;
  d.index = applied_index();
  d.server = self;
  d.checkpoint = CheckpointName(d.index);
  const std::string path = dir + "/" + d.checkpoint;
  // A checkpoint at this index from before a crash may be incomplete: redo it.
  Status s = RemoveAll(env, path);
  if (s.ok()) s = CreateCheckpoint(db_.get(), path);
  if (!s.ok()) return s;
  std::vector<std::string> files;
  s = env->GetChildren(path, &files);
  if (!s.ok()) return s;
  std::sort(files.begin(), files.end());
  for (const std::string& name : files) {
    if (name == "." || name == "..") continue;
    SnapshotFile f;
    f.name = name;
    s = FileChecksum(env, path + "/" + name, &f.size, &f.crc);
    if (!s.ok()) return s;
    d.files.push_back(std::move(f));
  }
  // Keep the newest kKeptCheckpoints (names sort by index).
  std::vector<std::string> kept;
  s = env->GetChildren(dir, &kept);
  if (!s.ok()) return s;
  std::erase_if(kept, [](const std::string& n) { return n == "." || n == ".."; });
  std::sort(kept.begin(), kept.end());
  for (size_t i = 0; i + kKeptCheckpoints < kept.size(); i++) {
    s = RemoveAll(env, dir + "/" + kept[i]);
    if (!s.ok()) return s;
  }
  *descriptor = EncodeSnapshotDescriptor(d);
  MutexLock l(&newest_mu_);
  newest_ = *descriptor;
  return Status::OK();
}

std::string StateMachine::NewestSnapshot() const {
  MutexLock l(&newest_mu_);
  return newest_;
}

Status StateMachine::FetchAny(SnapshotDescriptor* d, uint64_t self, SnapshotSource* source,
                              const std::string& dir) {
  Status s = FetchInto(*d, self, source, dir);
  if (s.ok() || source == nullptr) return s;
  std::vector<uint64_t> servers = {d->server};
  for (const auto& [id, address] : NodeAddresses()) {
    if (id != d->server && id != self) servers.push_back(id);
  }
  Env* env = options_.env;
  for (uint64_t server : servers) {
    std::string encoded;
    SnapshotDescriptor newer;
    if (!source->Newest(server, &encoded).ok() || !DecodeSnapshotDescriptor(encoded, &newer).ok() ||
        newer.server != server || newer.index < d->index ||
        (newer.index == d->index && newer.checkpoint == d->checkpoint && server == d->server)) {
      continue;
    }
    Status r = RemoveAll(env, dir);
    if (r.ok()) r = env->CreateDir(dir);
    if (r.ok()) r = FetchInto(newer, self, source, dir);
    if (r.ok()) {
      *d = std::move(newer);
      newer_installed_++;
      return r;
    }
  }
  return s;
}

Status StateMachine::FetchInto(const SnapshotDescriptor& d, uint64_t self, SnapshotSource* source,
                               const std::string& dir) {
  Env* env = options_.env;
  const std::string local = root_ + "/" + kCheckpointDir + "/" + d.checkpoint;
  DirectorySource own;
  own.Add(self, root_);
  SnapshotSource* from = (d.server == self && env->FileExists(local)) ? &own : source;
  if (from == nullptr) {
    return Status::InvalidArgument("replication: no source to fetch snapshot " + d.checkpoint +
                                   " of server " + std::to_string(d.server));
  }
  for (const SnapshotFile& f : d.files) {
    const std::string dest = dir + "/" + f.name;
    Status s = from->Fetch(d.server, d.checkpoint, f.name, env, dest);
    if (!s.ok()) return s;
    uint64_t size;
    uint32_t crc;
    s = FileChecksum(env, dest, &size, &crc);
    if (!s.ok()) return s;
    if (size != f.size || crc != f.crc) {
      return Status::Corruption("replication: snapshot file " + f.name + " of checkpoint " +
                                d.checkpoint + " does not match its descriptor (" +
                                std::to_string(size) + " bytes, expected " +
                                std::to_string(f.size) + ")");
    }
  }
  return env->SyncDir(dir);
}

Status StateMachine::RestoreSnapshot(std::string_view descriptor, uint64_t self,
                                     SnapshotSource* source) {
  SnapshotDescriptor d;
  Status s = DecodeSnapshotDescriptor(descriptor, &d);
  if (!s.ok()) return s;
  if (d.index <= applied_index()) {
    // libraft restores its own last snapshot at start: that checkpoint is
    // complete (TakeSnapshot returned before libraft kept the descriptor).
    if (d.server == self) {
      MutexLock l(&newest_mu_);
      if (newest_.empty()) newest_ = std::string(descriptor);
    }
    return Status::OK();
  }
  if (install_hook_) install_hook_(d);
  Env* env = options_.env;
  const std::string incoming = root_ + "/" + kIncomingDir;
  s = RemoveAll(env, incoming);
  if (s.ok()) s = env->CreateDir(incoming);
  if (s.ok()) s = FetchAny(&d, self, source, incoming);
  const uint64_t next = live_ + 1;
  const std::string next_dir = root_ + "/" + DbDirName(next);
  if (s.ok()) s = RemoveAll(env, next_dir);
  if (s.ok()) s = env->RenameFile(incoming, next_dir);
  if (s.ok()) s = env->SyncDir(root_);
  std::unique_ptr<DB> db;
  if (s.ok()) s = DB::Open(options_, next_dir, &db);
  uint64_t applied = 0;
  if (s.ok()) s = ReadAppliedIndex(db.get(), next_dir, &applied);
  if (s.ok() && applied != d.index) {
    s = Status::Corruption("replication: snapshot " + d.checkpoint + " holds index " +
                           std::to_string(applied) + ", its descriptor says " +
                           std::to_string(d.index));
  }
  if (!s.ok()) {
    db.reset();
    RemoveAll(env, incoming).PermitUncheckedError();
    RemoveAll(env, next_dir).PermitUncheckedError();
    return s;
  }
  s = WriteLive(env, root_, next);
  if (!s.ok()) {
    // LIVE may or may not name next_dir now (the rename may have happened
    // without its directory sync): keep both databases; Open removes whichever
    // LIVE does not name, and both are consistent states.
    db.reset();
    return s;
  }
  const std::string old_dir = root_ + "/" + DbDirName(live_);
  if (replace_hook_) {
    db.reset();  // the installed database is live on disk; the hook may end the process
    replace_hook_();
    s = DB::Open(options_, next_dir, &db);  // the hook returned: switch in this process
    if (!s.ok()) return s;
  }
  db_.swap(db);
  db.reset();  // closes the old database
  live_ = next;
  applied_index_.store(applied, std::memory_order_release);
  installed_snapshots_++;
  // Best effort: Open removes it if this fails or a crash comes first.
  RemoveAll(env, old_dir).PermitUncheckedError();
  return LoadNodes();
}

Status StateMachine::Digest(uint64_t* digest, uint64_t* keys) const {
  std::unique_ptr<Iterator> it(db_->NewIterator(ReadOptions()));
  uint64_t h = 0x9e3779b97f4a7c15ull;
  uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().starts_with(kReservedPrefix)) continue;
    // Order-dependent: the iterator yields keys in order on every replica.
    h = Mix64(h ^ Hash64(it->key(), 0x6b6579));
    h = Mix64(h ^ Hash64(it->value(), 0x76616c));
    ++n;
  }
  if (!it->status().ok()) return it->status();
  *digest = h;
  *keys = n;
  return Status::OK();
}

}  // namespace lsmkv::replication
