// The Bitcask engine (docs/engines.md, docs/format/bitcask.md).
//
// Append-only data files; an in-memory keydir ordered by the comparator maps
// each key to a short chain of versions (newest first) so that snapshots and
// iterators see a point in time; merge rewrites the live versions of every
// closed file into new files (with hint files) and swaps them in by
// rewriting the manifest atomically, deleting the old files only after.
//
// Locks: write_mu_ orders writers (Write, WriteIf, rotation, the swap of a
// merge) and guards the active file; mu_ guards the keydir, the snapshot
// list, the file table and the error state. Order: merge_mu_ before
// write_mu_ before mu_. Reads take mu_ only for the keydir lookup and read
// the value with no lock held.
#include "bitcask/bitcask_db.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "bitcask/format.h"
#include "bitcask/keydir.h"
#include "db/conditional_write.h"
#include "db/engine_file.h"
#include "db/engine_util.h"
#include "db/failed_transaction.h"
#include "util/comparator.h"
#include "util/mutex.h"
#include "util/node_heap.h"
#include "util/thread_annotations.h"

namespace lsmkv {

namespace {

using bitcask::OpType;

constexpr const char* kManifestName = "BITCASK-MANIFEST";

std::string DataFileName(const std::string& dir, uint64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "/%06" PRIu64 ".bcd", number);
  return dir + buf;
}
std::string HintFileName(const std::string& dir, uint64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "/%06" PRIu64 ".bch", number);
  return dir + buf;
}
// The number of a data (.bcd) or hint (.bch) file name, or false.
bool ParseBitcaskName(const std::string& name, uint64_t* number, bool* hint) {
  if (name.size() < 5) return false;
  const std::string ext = name.substr(name.size() - 4);
  if (ext != ".bcd" && ext != ".bch") return false;
  *hint = ext == ".bch";
  const std::string digits = name.substr(0, name.size() - 4);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  *number = std::stoull(digits);
  return true;
}

Status ClosedError() { return Status::InvalidArgument("closed"); }

// One version of a key: where its op lies, or a deletion.
struct Version {
  uint64_t sequence;
  uint64_t file;
  uint64_t offset;
  uint32_t size;
  bool deleted;
};
// A key's versions, newest first; in the NodeHeap beside the keydir's map
// nodes (a point read touches both).
using VersionChain = std::vector<Version, NodeAllocator<Version>>;

class BitcaskSnapshot final : public Snapshot {
 public:
  explicit BitcaskSnapshot(uint64_t sequence) : sequence_(sequence) {}
  uint64_t sequence() const { return sequence_; }

 private:
  const uint64_t sequence_;
};

class BitcaskDB;

class BitcaskIterator final : public Iterator {
 public:
  BitcaskIterator(BitcaskDB* db, const ReadOptions& options);
  ~BitcaskIterator() override;
  bool Valid() const override { return valid_; }
  void SeekToFirst() override;
  void SeekToLast() override;
  void Seek(std::string_view target) override;
  void SeekForPrev(std::string_view target) override;
  void Next() override;
  void Prev() override;
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }
  Status status() const override { return status_; }

 private:
  // Positions on the first visible key >= target (forward) or the last
  // visible key <= target (backward); nullopt target = the end.
  void Position(const std::optional<std::string>& target, bool forward, bool strict);

  BitcaskDB* const db_;
  const Snapshot* snapshot_;  // own, or the caller's
  bool own_snapshot_;
  uint64_t sequence_;
  std::optional<std::string> lower_, upper_;
  bool valid_ = false;
  std::string key_, value_;
  Status status_;
};

class BitcaskDB final : public DB, public ConditionalWriter {
 public:
  BitcaskDB(const Options& options, const std::string& path)
      : options_(options),
        env_(options.env != nullptr ? options.env : Env::Default()),
        path_(path),
        comparator_(options.comparator != nullptr ? options.comparator : BytewiseComparator()),
        less_(comparator_),
        keydir_(less_) {}

  ~BitcaskDB() override { Close().PermitUncheckedError(); }

  Status OpenAndRecover();

  // ---------------------------------------------------------------- writes
  Status Put(const WriteOptions& o, std::string_view key, std::string_view value) override {
    WriteBatch batch;
    batch.Put(key, value);
    return Write(o, &batch);
  }
  Status Delete(const WriteOptions& o, std::string_view key) override {
    WriteBatch batch;
    batch.Delete(key);
    return Write(o, &batch);
  }
  Status Write(const WriteOptions& o, WriteBatch* batch) override { return WriteIf(o, batch, {}); }
  Status WriteIf(const WriteOptions& o, WriteBatch* batch,
                 const std::function<Status()>& check) override;

  // ---------------------------------------------------------------- reads
  // Without a snapshot a read sees the newest version at its lookup (the
  // lookup and the choice of version are one hold of mu_: a sequence taken
  // in an earlier hold could meanwhile lose its version to an overwrite
  // that replaced it in place, and the read would find nothing).
  Status Get(const ReadOptions& o, std::string_view key, std::string* value) override {
    const uint64_t sequence = o.snapshot != nullptr
                                  ? static_cast<const BitcaskSnapshot*>(o.snapshot)->sequence()
                                  : UINT64_MAX;
    return ReadAt(key, sequence, value);
  }

  // The value of key as of sequence: NotFound, the value, or the read error.
  Status ReadAt(std::string_view key, uint64_t sequence, std::string* value) EXCLUDES(mu_) {
    Version v;
    std::shared_ptr<RandomAccessFile> file;
    {
      MutexLock lock(&mu_);
      if (closed_) return ClosedError();
      auto it = keydir_.find(key);
      if (it == keydir_.end()) return Status::NotFound("");
      const Version* visible = VisibleVersion(it->second, sequence);
      if (visible == nullptr || visible->deleted) return Status::NotFound("");
      v = *visible;
      Status s = FileLocked(v.file, &file);
      if (!s.ok()) return s;
    }
    return ReadVersion(v, key, value, std::move(file));
  }

  // Reads v's op. file: v's file, pinned under mu_ in the same hold as the
  // lookup that found v, so that a merge which swaps v's file out in between
  // cannot take it away (the open reader stays readable); nullptr pins it
  // here, for a caller whose file cannot go (the merge reading its own
  // inputs). A file opened before it grew (the active file; PosixEnv may map
  // a file at its size when opened) is opened again once when a read comes
  // back short.
  Status ReadVersion(const Version& v, std::string_view key, std::string* value,
                     std::shared_ptr<RandomAccessFile> file = nullptr) EXCLUDES(mu_) {
    for (int attempt = 0;; attempt++) {
      if (file == nullptr || attempt == 1) {
        MutexLock lock(&mu_);
        if (attempt == 1) {
          auto it = files_.find(v.file);
          if (it != files_.end()) it->second.reader.reset();
        }
        Status s = FileLocked(v.file, &file);
        if (!s.ok()) return s;
      }
      Status s = ReadValue(file.get(), v, key, value);
      if (attempt == 0 && s.IsCorruption() &&
          s.ToString().find("short read") != std::string::npos) {
        continue;
      }
      return s;
    }
  }

  static Status ReadValue(RandomAccessFile* file, const Version& v, std::string_view key,
                          std::string* value) {
    std::string scratch(v.size, '\0');
    std::string_view result;
    Status s = file->Read(v.offset, v.size, &result, scratch.data());
    if (!s.ok()) return s;
    if (result.size() != v.size) return Status::Corruption("bitcask value", "short read");
    OpType type;
    std::string_view stored;
    s = bitcask::DecodeOp(result, key, &type, &stored);
    if (!s.ok()) return s;
    if (type != OpType::kPut) return Status::Corruption("bitcask value", "not a put");
    value->assign(stored.data(), stored.size());
    return Status::OK();
  }

  std::unique_ptr<Iterator> NewIterator(const ReadOptions& o) override {
    {
      MutexLock lock(&mu_);
      if (closed_) return std::unique_ptr<Iterator>(NewEmptyIterator(ClosedError()));
    }
    return std::make_unique<BitcaskIterator>(this, o);
  }

  const Snapshot* GetSnapshot() override {
    MutexLock lock(&mu_);
    if (closed_) return nullptr;
    snapshots_.insert(last_sequence_);
    return new BitcaskSnapshot(last_sequence_);
  }
  void ReleaseSnapshot(const Snapshot* snapshot) override {
    if (snapshot == nullptr) return;
    const auto* s = static_cast<const BitcaskSnapshot*>(snapshot);
    {
      MutexLock lock(&mu_);
      auto it = snapshots_.find(s->sequence());
      if (it != snapshots_.end()) snapshots_.erase(it);
    }
    delete s;
  }

  std::unique_ptr<Transaction> BeginTransaction(const WriteOptions&,
                                                const TransactionOptions&) override {
    // The engine switch wraps this DB with the generic transactions
    // (engines/transactional_db.h), which use WriteIf.
    return NewFailedTransaction(
        Status::NotSupported("bitcask transactions", "open the database with DB::Open"));
  }

  Status CompactRange(const std::string*, const std::string*) override {
    {
      MutexLock lock(&mu_);
      if (closed_) return ClosedError();
    }
    return Merge();
  }

  Status GetApproximateSizes(const Range* ranges, int n, uint64_t* sizes) override {
    MutexLock lock(&mu_);
    for (int i = 0; i < n; i++) sizes[i] = 0;
    if (closed_) return ClosedError();
    for (int i = 0; i < n; i++) {
      for (auto it = keydir_.lower_bound(ranges[i].start);
           it != keydir_.end() && less_(it->first, ranges[i].limit); ++it) {
        if (!it->second.front().deleted) sizes[i] += it->second.front().size;
      }
    }
    return Status::OK();
  }

  Status Flush() override {
    MutexLock wlock(&write_mu_);
    {
      MutexLock lock(&mu_);
      if (closed_) return ClosedError();
      if (!bg_error_.ok()) return bg_error_;
    }
    Status s = active_->Sync();
    if (!s.ok()) SetError(s);
    return s;
  }

  bool GetProperty(std::string_view name, std::string* value) override;

  Status Close() override {
    {
      // No merge starts from now on; wait for the scheduled ones (they
      // reference this object).
      MutexLock lock(&mu_);
      closing_ = true;
      while (pending_merges_ > 0) merges_done_.Wait(&mu_);
    }
    MutexLock mlock(&merge_mu_);
    MutexLock wlock(&write_mu_);
    MutexLock lock(&mu_);
    if (closed_) return Status::OK();
    closed_ = true;
    Status result;
    if (active_ != nullptr) {
      // Writes with sync=false are flushed to the OS by each write already;
      // Close makes them durable as the DB contract asks.
      if (bg_error_.ok()) result = active_->Sync();
      Status c = active_->Close();
      if (result.ok()) result = c;
      active_.reset();
    }
    if (result.ok() && !bg_error_.ok()) result = bg_error_;
    files_.clear();
    keydir_.clear();
    if (lock_ != nullptr) {
      env_->UnlockFile(lock_).PermitUncheckedError();
      lock_ = nullptr;
    }
    return result;
  }

  Status Resume() override {
    MutexLock wlock(&write_mu_);
    {
      MutexLock lock(&mu_);
      if (closed_) return ClosedError();
      if (bg_error_.ok()) return Status::OK();
      if (!bg_error_.IsNoSpace()) return bg_error_;
    }
    // A failed append may have left a partial record at the active file's
    // end (recovery ignores an incomplete last record): continue in a new
    // file.
    Status s = RotateLocked(/*sync_old=*/false);
    MutexLock lock(&mu_);
    if (s.ok()) bg_error_ = Status::OK();
    return s.ok() ? Status::OK() : bg_error_;
  }

 private:
  friend class BitcaskIterator;

  struct FileInfo {
    uint64_t bytes = 0;       // bytes of records
    uint64_t dead_bytes = 0;  // bytes of ops no version points to
    std::shared_ptr<RandomAccessFile> reader;
  };

  // The newest version visible at sequence, or nullptr.
  static const Version* VisibleVersion(const VersionChain& chain, uint64_t sequence) {
    for (const Version& v : chain) {
      if (v.sequence <= sequence) return &v;
    }
    return nullptr;
  }

  Status FileLocked(uint64_t number, std::shared_ptr<RandomAccessFile>* file) REQUIRES(mu_) {
    auto it = files_.find(number);
    if (it == files_.end()) return Status::Corruption("bitcask", "keydir names a missing file");
    if (it->second.reader == nullptr) {
      std::unique_ptr<RandomAccessFile> f;
      Status s = env_->NewRandomAccessFile(DataFileName(path_, number), &f);
      if (!s.ok()) return s;
      it->second.reader = std::move(f);
    }
    *file = it->second.reader;
    return Status::OK();
  }

  // Adds version v of key (newest first) and drops the versions no snapshot
  // can see any more; their bytes become dead.
  void ApplyLocked(std::string_view key, const Version& v) REQUIRES(mu_) {
    // A key after every key (start-up from hint files, which a merge writes
    // in key order; appends in key order) goes in at the end without a
    // search from the root: one comparison instead of a walk of cache misses.
    const bool after_last = keydir_.empty() || less_(std::prev(keydir_.end())->first, key);
    auto it = after_last ? keydir_.end() : keydir_.find(key);
    if (it == keydir_.end()) {
      if (v.deleted) {
        files_[v.file].dead_bytes += v.size;  // nothing to delete
        return;
      }
      // The end is the exact place when after_last; otherwise a hint that
      // does not fit makes emplace_hint search as emplace does.
      keydir_.emplace_hint(it, key, VersionChain{v});
      return;
    }
    VersionChain& chain = it->second;
    if (snapshots_.empty() && chain.size() == 1) {
      // Nothing can read the old version: replace it in place.
      files_[chain.front().file].dead_bytes += chain.front().size;
      chain.front() = v;
    } else {
      chain.insert(chain.begin(), v);
      PruneLocked(chain);
    }
    if (chain.size() == 1 && chain.front().deleted) {
      files_[chain.front().file].dead_bytes += chain.front().size;
      keydir_.erase(it);
    }
  }

  void PruneLocked(VersionChain& chain) REQUIRES(mu_) {
    // Keep versions down to the one the oldest snapshot sees.
    size_t keep = 1;
    if (!snapshots_.empty()) {
      const uint64_t oldest = *snapshots_.begin();
      keep = chain.size();
      for (size_t i = 0; i < chain.size(); i++) {
        if (chain[i].sequence <= oldest) {
          keep = i + 1;
          break;
        }
      }
    }
    for (size_t i = keep; i < chain.size(); i++) files_[chain[i].file].dead_bytes += chain[i].size;
    chain.resize(std::min(keep, chain.size()));
  }

  void SetError(const Status& s) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if (bg_error_.ok()) bg_error_ = s;
  }

  // Replaces the manifest atomically (temporary file, fsync, rename, fsync
  // of the directory). *renamed tells whether the rename happened: after it
  // the new manifest may be the one a crash leaves, even if this fails.
  Status WriteManifest(const bitcask::Manifest& m, bool* renamed = nullptr) {
    const std::string name = path_ + "/" + kManifestName;
    if (renamed != nullptr) *renamed = false;
    Status s = WriteStringToFile(env_, bitcask::EncodeManifest(m), name + ".tmp", /*sync=*/true);
    if (s.ok()) s = env_->RenameFile(name + ".tmp", name);
    if (s.ok() && renamed != nullptr) *renamed = true;
    if (s.ok()) s = env_->SyncDir(path_);
    return s;
  }

  // Closes the active file (synced if sync_old, so that no later file can
  // survive a crash that loses its tail) and starts a new one.
  Status RotateLocked(bool sync_old) REQUIRES(write_mu_) EXCLUDES(mu_);
  Status NewActiveLocked() REQUIRES(write_mu_) EXCLUDES(mu_);
  Status RecoverFile(uint64_t number, bool use_hint) EXCLUDES(mu_);
  Status Merge() EXCLUDES(merge_mu_, write_mu_, mu_);
  void MaybeScheduleMerge() EXCLUDES(mu_);

  const Options options_;
  Env* const env_;
  const std::string path_;
  const Comparator* const comparator_;
  const ComparatorLess less_;

  Mutex merge_mu_ ACQUIRED_BEFORE(write_mu_);
  Mutex write_mu_ ACQUIRED_BEFORE(mu_);
  std::unique_ptr<WritableFile> active_ GUARDED_BY(write_mu_);
  uint64_t active_number_ GUARDED_BY(write_mu_) = 0;
  uint64_t active_bytes_ GUARDED_BY(write_mu_) = 0;
  std::string record_ GUARDED_BY(write_mu_);                          // scratch
  std::vector<bitcask::OpToEncode> encode_ GUARDED_BY(write_mu_);     // scratch
  std::vector<bitcask::OpLocation> locations_ GUARDED_BY(write_mu_);  // scratch

  mutable Mutex mu_;
  bool closed_ GUARDED_BY(mu_) = false;
  bool closing_ GUARDED_BY(mu_) = false;
  FileLock* lock_ = nullptr;
  // Ordered for iterators, hashed for point lookups (bitcask/keydir.h).
  bitcask::Keydir<VersionChain> keydir_ GUARDED_BY(mu_);
  std::multiset<uint64_t> snapshots_ GUARDED_BY(mu_);
  std::map<uint64_t, FileInfo> files_ GUARDED_BY(mu_);  // every live data file
  uint64_t last_sequence_ GUARDED_BY(mu_) = 0;
  uint64_t next_file_ GUARDED_BY(mu_) = 1;
  Status bg_error_ GUARDED_BY(mu_);
  bool merge_scheduled_ GUARDED_BY(mu_) = false;
  uint64_t merges_ GUARDED_BY(mu_) = 0;
  uint64_t merge_failures_ GUARDED_BY(mu_) = 0;
  Status last_merge_error_ GUARDED_BY(mu_);
  uint64_t hint_files_used_ GUARDED_BY(mu_) = 0;
  uint64_t hint_files_rejected_ GUARDED_BY(mu_) = 0;
  uint64_t torn_tails_ GUARDED_BY(mu_) = 0;
  uint64_t recovery_micros_ GUARDED_BY(mu_) = 0;
  // Background merges scheduled and not finished (Close waits for them).
  int pending_merges_ GUARDED_BY(mu_) = 0;
  CondVar merges_done_;
};

// ---------------------------------------------------------------- writes

Status BitcaskDB::WriteIf(const WriteOptions& o, WriteBatch* batch,
                          const std::function<Status()>& check) {
  // Collect the ops; range deletions become deletions of the keys in range
  // (in the keydir now, or put earlier in this batch). The ops point into
  // the batch (unchanged until this returns) or, for the keys a range
  // deletion found, into owned: no copy of a put's key or value.
  struct Collector : WriteBatch::Handler {
    BitcaskDB* db;
    std::vector<std::pair<std::string_view, std::optional<std::string_view>>> ops;
    // Each key its own allocation, so the views stay valid as owned grows
    // (and a batch without range deletions allocates nothing here).
    std::vector<std::unique_ptr<std::string>> owned;
    size_t max_key = 0, max_value = 0;
    Status error;
    explicit Collector(BitcaskDB* d)
        : db(d), max_key(d->options_.max_key_size), max_value(d->options_.max_value_size) {}
    void Put(std::string_view k, std::string_view v) override {
      if (k.size() > max_key || v.size() > max_value) {
        if (error.ok()) {
          error = Status::InvalidArgument(k.size() > max_key ? "key exceeds max_key_size"
                                                             : "value exceeds max_value_size");
        }
        return;
      }
      ops.emplace_back(k, v);
    }
    void Delete(std::string_view k) override {
      if (k.size() > max_key) {
        if (error.ok()) error = Status::InvalidArgument("key exceeds max_key_size");
        return;
      }
      ops.emplace_back(k, std::nullopt);
    }
    bool DeleteRange(std::string_view b, std::string_view e) override {
      std::vector<std::string_view> keys;
      {
        MutexLock lock(&db->mu_);
        for (auto it = db->keydir_.lower_bound(b);
             it != db->keydir_.end() && db->less_(it->first, e); ++it) {
          if (!it->second.front().deleted) {
            keys.push_back(*owned.emplace_back(std::make_unique<std::string>(it->first)));
          }
        }
      }
      // Keys put or deleted earlier in this batch (deleting one twice, or
      // one the keydir also gave, is harmless).
      for (const auto& [k, v] : ops) {
        if (!db->less_(k, b) && db->less_(k, e)) keys.push_back(k);
      }
      for (std::string_view k : keys) ops.emplace_back(k, std::nullopt);
      return true;
    }
  };

  MutexLock wlock(&write_mu_);
  {
    MutexLock lock(&mu_);
    if (closed_) return ClosedError();
    if (!bg_error_.ok()) return bg_error_;
  }
  if (check) {
    Status s = check();
    if (!s.ok()) return s;
  }
  Collector collector(this);
  Status s = batch->Iterate(&collector);
  if (s.ok()) s = collector.error;
  if (!s.ok()) return s;
  if (collector.ops.empty()) return Status::OK();

  uint64_t first_sequence;
  {
    MutexLock lock(&mu_);
    first_sequence = last_sequence_ + 1;
  }
  std::vector<bitcask::OpToEncode>& encode = encode_;
  encode.clear();
  for (const auto& [k, v] : collector.ops) {
    encode.push_back({v ? OpType::kPut : OpType::kDelete, k, v ? *v : std::string_view()});
  }
  record_.clear();
  std::vector<bitcask::OpLocation>& locations = locations_;
  locations.clear();
  bitcask::EncodeRecord(first_sequence, encode, &record_, &locations);
  if (active_bytes_ > 0 && active_bytes_ + record_.size() > options_.bitcask_max_file_size) {
    s = RotateLocked(/*sync_old=*/true);
    if (!s.ok()) {
      SetError(s);
      return s;
    }
  }
  const uint64_t base = active_bytes_;
  s = active_->Append(record_);
  if (s.ok()) s = active_->Flush();  // readers open the file by name
  if (s.ok() && o.sync) s = active_->Sync();
  if (!s.ok()) {
    SetError(s);
    return s;
  }
  active_bytes_ += record_.size();
  {
    MutexLock lock(&mu_);
    files_[active_number_].bytes = active_bytes_;
    for (size_t i = 0; i < encode.size(); i++) {
      ApplyLocked(encode[i].key,
                  Version{first_sequence + i, active_number_, base + locations[i].offset,
                          locations[i].size, encode[i].type == OpType::kDelete});
    }
    last_sequence_ = first_sequence + encode.size() - 1;
  }
  MaybeScheduleMerge();
  return Status::OK();
}

Status BitcaskDB::NewActiveLocked() {
  uint64_t number;
  {
    MutexLock lock(&mu_);
    number = next_file_++;
  }
  std::unique_ptr<WritableFile> file;
  Status s = env_->NewWritableFile(DataFileName(path_, number), &file);
  if (s.ok()) s = env_->SyncDir(path_);  // the file's name survives a crash
  if (!s.ok()) {
    env_->RemoveFile(DataFileName(path_, number)).PermitUncheckedError();
    return s;
  }
  active_ = std::move(file);
  active_number_ = number;
  active_bytes_ = 0;
  MutexLock lock(&mu_);
  files_[number] = FileInfo{};
  return Status::OK();
}

Status BitcaskDB::RotateLocked(bool sync_old) {
  if (active_ != nullptr) {
    Status s = sync_old ? active_->Sync() : Status::OK();
    Status c = active_->Close();
    if (s.ok()) s = c;
    if (!s.ok() && sync_old) return s;
    active_.reset();
  }
  return NewActiveLocked();
}

// ---------------------------------------------------------------- recovery

Status BitcaskDB::RecoverFile(uint64_t number, bool use_hint) {
  const std::string name = DataFileName(path_, number);
  uint64_t size = 0;
  Status s = env_->GetFileSize(name, &size);
  if (!s.ok()) return Status::Corruption(name, "a data file the manifest lists is missing");
  if (use_hint && env_->FileExists(HintFileName(path_, number))) {
    std::string contents;
    std::vector<bitcask::HintEntry> entries;
    s = ReadFileToString(env_, HintFileName(path_, number), &contents);
    if (s.ok()) s = bitcask::DecodeHintFile(contents, &entries);
    bool sane = s.ok();
    for (const auto& e : entries) sane = sane && e.offset + e.size <= size;
    MutexLock lock(&mu_);
    if (sane) {
      hint_files_used_++;
      files_[number].bytes = size;
      for (const auto& e : entries) {
        auto it = keydir_.find(e.key);
        const Version v{e.sequence, number, e.offset, e.size, e.type == OpType::kDelete};
        if (it == keydir_.end()) {
          keydir_.emplace(e.key, VersionChain{v});
        } else if (e.sequence > it->second.front().sequence) {
          files_[it->second.front().file].dead_bytes += it->second.front().size;
          it->second.front() = v;
        } else if (e.sequence < it->second.front().sequence) {
          files_[number].dead_bytes += e.size;
        }
        last_sequence_ = std::max(last_sequence_, e.sequence);
      }
      return Status::OK();
    }
    hint_files_rejected_++;  // damaged: scan the data file instead
  }
  // The whole file in one read (data files are at most about
  // bitcask_max_file_size), parsed in memory.
  std::unique_ptr<RandomAccessFile> file;
  s = env_->NewRandomAccessFile(name, &file);
  if (!s.ok()) return s;
  std::string buffer(size, '\0');
  std::string_view contents;
  if (size > 0) {
    s = file->Read(0, size, &contents, buffer.data());
    if (!s.ok()) return s;
    if (contents.size() != size) return Status::Corruption(name, "short read");
  }
  uint64_t offset = 0;
  std::vector<bitcask::DecodedOp> ops;
  while (offset < size) {
    if (size - offset < bitcask::kRecordHeaderSize) {
      MutexLock lock(&mu_);
      torn_tails_++;  // an incomplete header at the end: a write cut short
      break;
    }
    const std::string_view header = contents.substr(offset, bitcask::kRecordHeaderSize);
    uint32_t length = 0, crc = 0;
    s = bitcask::DecodeRecordHeader(header, &length, &crc);
    if (!s.ok())
      return Status::Corruption(name, s.ToString() + " at offset " + std::to_string(offset));
    if (offset + bitcask::kRecordHeaderSize + length > size) {
      MutexLock lock(&mu_);
      torn_tails_++;  // the payload runs past the end: a write cut short
      break;
    }
    const std::string_view payload = contents.substr(offset + bitcask::kRecordHeaderSize, length);
    s = bitcask::DecodeRecordPayload(payload, crc, &ops);
    if (!s.ok())
      return Status::Corruption(name, s.ToString() + " at offset " + std::to_string(offset));
    MutexLock lock(&mu_);
    for (const auto& op : ops) {
      const Version v{op.sequence, number, offset + op.offset, op.size, op.type == OpType::kDelete};
      auto it = keydir_.find(op.key);
      if (it == keydir_.end()) {
        keydir_.emplace(op.key, VersionChain{v});
      } else if (op.sequence > it->second.front().sequence) {
        files_[it->second.front().file].dead_bytes += it->second.front().size;
        it->second.front() = v;
      } else if (op.sequence < it->second.front().sequence) {
        files_[number].dead_bytes += op.size;
      }
      last_sequence_ = std::max(last_sequence_, op.sequence);
    }
    offset += bitcask::kRecordHeaderSize + length;
  }
  MutexLock lock(&mu_);
  files_[number].bytes = size;
  return Status::OK();
}

Status BitcaskDB::OpenAndRecover() {
  const uint64_t start = env_->NowMicros();
  const std::string manifest_name = path_ + "/" + kManifestName;
  if (options_.create_if_missing) {
    Status s = env_->CreateDir(path_);
    if (!s.ok()) return Status::IOError("cannot create database directory " + path_, s.ToString());
  }
  Status s = env_->LockFile(path_ + "/LOCK", &lock_);
  if (!s.ok()) {
    lock_ = nullptr;
    return s;
  }
  bitcask::Manifest manifest;
  if (!env_->FileExists(manifest_name)) {
    if (!options_.create_if_missing) {
      return Status::InvalidArgument(path_, "does not exist (create_if_missing is false)");
    }
    s = WriteEngineFile(env_, path_, StorageEngine::kBitcask);
    if (!s.ok()) return s;
    manifest.comparator = comparator_->Name();
    s = WriteManifest(manifest);
    if (!s.ok()) return s;
  } else {
    if (options_.error_if_exists) {
      return Status::InvalidArgument(path_, "exists (error_if_exists is true)");
    }
    std::string contents;
    s = ReadFileToString(env_, manifest_name, &contents);
    if (s.ok()) s = bitcask::DecodeManifest(contents, &manifest);
    if (!s.ok()) return Status::Corruption(manifest_name, s.ToString());
    if (manifest.comparator != comparator_->Name()) {
      return Status::InvalidArgument(path_, "was created with comparator " + manifest.comparator +
                                                ", not " + comparator_->Name());
    }
  }
  // The live files: those the manifest lists, and data files numbered at or
  // above its next_file (started after it was written). Files below it that
  // it does not list are left-overs of a merge: removed.
  std::vector<std::string> children;
  s = env_->GetChildren(path_, &children);
  if (!s.ok()) return s;
  std::set<uint64_t> live(manifest.files.begin(), manifest.files.end());
  std::vector<std::string> leftovers;
  uint64_t max_number = manifest.next_file - 1;
  for (const std::string& child : children) {
    uint64_t number;
    bool hint;
    if (!ParseBitcaskName(child, &number, &hint)) continue;
    max_number = std::max(max_number, number);
    if (number >= manifest.next_file) {
      if (!hint) live.insert(number);
    } else if (live.count(number) == 0) {
      leftovers.push_back(child);
    }
  }
  {
    MutexLock lock(&mu_);
    next_file_ = max_number + 1;
  }
  for (uint64_t number : live) {
    // With paranoid_checks every data file is read and checked whole.
    s = RecoverFile(number, /*use_hint=*/!options_.paranoid_checks);
    if (!s.ok()) return s;
  }
  {
    MutexLock lock(&mu_);
    for (auto it = keydir_.begin(); it != keydir_.end();) {
      if (it->second.front().deleted) {
        files_[it->second.front().file].dead_bytes += it->second.front().size;
        it = keydir_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const std::string& child : leftovers) {
    env_->RemoveFile(path_ + "/" + child).PermitUncheckedError();
  }
  {
    MutexLock wlock(&write_mu_);
    s = NewActiveLocked();
  }
  if (!s.ok()) return s;
  MutexLock lock(&mu_);
  recovery_micros_ = env_->NowMicros() - start;
  return Status::OK();
}

// ---------------------------------------------------------------- merge

void BitcaskDB::MaybeScheduleMerge() {
  MutexLock lock(&mu_);
  if (merge_scheduled_ || closing_ || !bg_error_.ok()) return;
  uint64_t bytes = 0, dead = 0;
  for (const auto& [number, info] : files_) {
    bytes += info.bytes;
    dead += info.dead_bytes;
  }
  if (dead < options_.bitcask_merge_min_dead_bytes ||
      static_cast<double>(dead) < options_.bitcask_merge_dead_ratio * static_cast<double>(bytes)) {
    return;
  }
  merge_scheduled_ = true;
  pending_merges_++;
  env_->Schedule([this] {
    Merge().PermitUncheckedError();
    MutexLock lock(&mu_);
    merge_scheduled_ = false;
    pending_merges_--;
    merges_done_.SignalAll();
  });
}

Status BitcaskDB::Merge() {
  MutexLock mlock(&merge_mu_);
  // 1. Close the active file: every file now is immutable input.
  std::set<uint64_t> inputs;
  {
    MutexLock wlock(&write_mu_);
    {
      MutexLock lock(&mu_);
      if (closed_) return ClosedError();
      if (!bg_error_.ok()) return bg_error_;
    }
    Status s = RotateLocked(/*sync_old=*/true);
    if (!s.ok()) {
      SetError(s);
      return s;
    }
    MutexLock lock(&mu_);
    for (const auto& [number, info] : files_) {
      if (number != active_number_) inputs.insert(number);
    }
  }
  // 2. The versions to copy: every version in an input file, except a
  // deletion with nothing older kept (all older data is in the inputs and
  // is dropped with it).
  struct Copy {
    std::string key;
    Version from;
    Version to;
    bool dropped;
  };
  std::vector<Copy> copies;
  {
    MutexLock lock(&mu_);
    for (const auto& [key, chain] : keydir_) {
      for (size_t i = 0; i < chain.size(); i++) {
        if (inputs.count(chain[i].file) == 0) continue;
        const bool oldest = i + 1 == chain.size();
        copies.push_back({std::string(key.view()), chain[i], chain[i], chain[i].deleted && oldest});
      }
    }
  }
  // 3. Write the outputs with hint files, reading and checking every op.
  std::vector<uint64_t> outputs;
  std::unique_ptr<WritableFile> out;
  uint64_t out_number = 0, out_bytes = 0;
  std::string hints, record;
  std::vector<bitcask::OpLocation> locations;
  auto finish_output = [&]() -> Status {
    if (out == nullptr) return Status::OK();
    Status s = out->Sync();
    if (s.ok()) s = out->Close();
    out.reset();
    if (s.ok()) {
      s = WriteStringToFile(env_, bitcask::FinishHintFile(hints), HintFileName(path_, out_number),
                            /*sync=*/true);
    }
    hints.clear();
    return s;
  };
  auto abandon = [&](const Status& error) {
    out.reset();
    for (uint64_t n : outputs) {
      env_->RemoveFile(DataFileName(path_, n)).PermitUncheckedError();
      env_->RemoveFile(HintFileName(path_, n)).PermitUncheckedError();
    }
    MutexLock lock(&mu_);
    merge_failures_++;
    last_merge_error_ = error;
    return error;
  };
  std::string value;
  for (Copy& c : copies) {
    if (c.dropped) continue;
    std::string_view stored;
    if (!c.from.deleted) {
      // Checked here: a damaged op is never copied forward; the merge stops
      // and the old files stay (the read error shows on Get too).
      Status s = ReadVersion(c.from, c.key, &value);
      if (!s.ok()) return abandon(s);
      stored = value;
    }
    if (out == nullptr || out_bytes > options_.bitcask_max_file_size) {
      Status s = finish_output();
      if (!s.ok()) return abandon(s);
      {
        MutexLock lock(&mu_);
        out_number = next_file_++;
      }
      outputs.push_back(out_number);
      s = env_->NewWritableFile(DataFileName(path_, out_number), &out);
      if (!s.ok()) return abandon(s);
      out_bytes = 0;
    }
    record.clear();
    bitcask::EncodeRecord(c.from.sequence,
                          {{c.from.deleted ? OpType::kDelete : OpType::kPut, c.key, stored}},
                          &record, &locations);
    Status s = out->Append(record);
    if (!s.ok()) return abandon(s);
    c.to = Version{c.from.sequence, out_number, out_bytes + locations[0].offset, locations[0].size,
                   c.from.deleted};
    bitcask::EncodeHintEntry({c.from.deleted ? OpType::kDelete : OpType::kPut, c.from.sequence,
                              c.to.offset, c.to.size, c.key},
                             &hints);
    out_bytes += record.size();
  }
  Status s = finish_output();
  if (s.ok()) s = env_->SyncDir(path_);
  if (!s.ok()) return abandon(s);

  // 4. The swap: the manifest names the new set (written atomically), then
  // the keydir points at the copies, then the inputs go.
  {
    MutexLock wlock(&write_mu_);
    bitcask::Manifest manifest;
    manifest.comparator = comparator_->Name();
    {
      MutexLock lock(&mu_);
      manifest.next_file = next_file_;
      for (const auto& [number, info] : files_) {
        if (inputs.count(number) == 0) manifest.files.push_back(number);
      }
    }
    manifest.files.insert(manifest.files.end(), outputs.begin(), outputs.end());
    bool renamed = false;
    s = WriteManifest(manifest, &renamed);
    if (!s.ok() && renamed) {
      // Either manifest may be the durable one, and each names a complete
      // set of files: delete nothing, refuse writes until a reopen settles it.
      MutexLock lock(&mu_);
      merge_failures_++;
      last_merge_error_ = s;
      if (bg_error_.ok()) bg_error_ = s;
      return s;
    }
    if (!s.ok()) return abandon(s);
    MutexLock lock(&mu_);
    for (const Copy& c : copies) {
      auto it = keydir_.find(c.key);
      if (it == keydir_.end()) continue;
      VersionChain& chain = it->second;
      for (size_t i = 0; i < chain.size(); i++) {
        if (chain[i].sequence != c.from.sequence || chain[i].file != c.from.file) continue;
        if (c.dropped) {
          chain.erase(chain.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          chain[i] = c.to;
        }
        break;
      }
      if (chain.empty()) keydir_.erase(it);
    }
    for (uint64_t n : inputs) files_.erase(n);
    for (uint64_t n : outputs) {
      uint64_t size = 0;
      env_->GetFileSize(DataFileName(path_, n), &size).PermitUncheckedError();
      files_[n].bytes = size;
    }
    merges_++;
  }
  // Readers holding an input file's handle keep reading it after removal.
  for (uint64_t n : inputs) {
    env_->RemoveFile(DataFileName(path_, n)).PermitUncheckedError();
    env_->RemoveFile(HintFileName(path_, n)).PermitUncheckedError();
  }
  return Status::OK();
}

bool BitcaskDB::GetProperty(std::string_view name, std::string* value) {
  MutexLock lock(&mu_);
  if (closed_) return false;
  uint64_t bytes = 0, dead = 0;
  for (const auto& [number, info] : files_) {
    bytes += info.bytes;
    dead += info.dead_bytes;
  }
  if (name == "lsmkv.stats") {
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  "bitcask: %zu keys, %zu data files, %" PRIu64 " bytes (%" PRIu64
                  " dead), last sequence %" PRIu64 ", %" PRIu64 " merges (%" PRIu64
                  " failed), hint files used %" PRIu64 " (rejected %" PRIu64
                  "), torn tails %" PRIu64 ", recovery %" PRIu64 " us\n",
                  keydir_.size(), files_.size(), bytes, dead, last_sequence_, merges_,
                  merge_failures_, hint_files_used_, hint_files_rejected_, torn_tails_,
                  recovery_micros_);
    *value = buf;
    if (!last_merge_error_.ok())
      *value += "last merge error: " + last_merge_error_.ToString() + "\n";
    return true;
  }
  if (CommonEngineProperty(name, bg_error_, last_sequence_, value)) return true;
  if (name == "lsmkv.bitcask.keys") {
    *value = std::to_string(keydir_.size());
    return true;
  }
  if (name == "lsmkv.bitcask.data-files") {
    *value = std::to_string(files_.size());
    return true;
  }
  if (name == "lsmkv.bitcask.dead-bytes") {
    *value = std::to_string(dead);
    return true;
  }
  if (name == "lsmkv.bitcask.live-bytes") {
    *value = std::to_string(bytes - std::min(bytes, dead));
    return true;
  }
  if (name == "lsmkv.bitcask.merges") {
    *value = std::to_string(merges_);
    return true;
  }
  if (name == "lsmkv.bitcask.recovery-micros") {
    *value = std::to_string(recovery_micros_);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- iterator

BitcaskIterator::BitcaskIterator(BitcaskDB* db, const ReadOptions& options)
    : db_(db), lower_(options.lower_bound), upper_(options.upper_bound) {
  if (options.snapshot != nullptr) {
    snapshot_ = options.snapshot;
    own_snapshot_ = false;
  } else {
    snapshot_ = db_->GetSnapshot();
    own_snapshot_ = true;
  }
  sequence_ = snapshot_ != nullptr ? static_cast<const BitcaskSnapshot*>(snapshot_)->sequence() : 0;
  if (snapshot_ == nullptr) status_ = ClosedError();
}

BitcaskIterator::~BitcaskIterator() {
  if (own_snapshot_ && snapshot_ != nullptr) db_->ReleaseSnapshot(snapshot_);
}

void BitcaskIterator::Position(const std::optional<std::string>& target, bool forward,
                               bool strict) {
  valid_ = false;
  if (!status_.ok()) return;
  const ComparatorLess& less = db_->less_;
  std::string key;
  Version v{};
  std::shared_ptr<RandomAccessFile> file;  // v's, pinned with v (see ReadVersion)
  {
    MutexLock lock(&db_->mu_);
    if (db_->closed_) {
      status_ = ClosedError();
      return;
    }
    auto& dir = db_->keydir_;
    if (forward) {
      auto it = !target  ? dir.begin()
                : strict ? dir.upper_bound(*target)
                         : dir.lower_bound(*target);
      for (; it != dir.end(); ++it) {
        if (upper_ && !less(it->first, *upper_)) return;
        const Version* visible = BitcaskDB::VisibleVersion(it->second, sequence_);
        if (visible != nullptr && !visible->deleted) {
          key = it->first;
          v = *visible;
          break;
        }
      }
      if (it == dir.end()) return;
    } else {
      auto it = !target ? dir.end() : strict ? dir.lower_bound(*target) : dir.upper_bound(*target);
      while (it != dir.begin()) {
        --it;
        if (lower_ && less(it->first, *lower_)) return;
        const Version* visible = BitcaskDB::VisibleVersion(it->second, sequence_);
        if (visible != nullptr && !visible->deleted) {
          key = it->first;
          v = *visible;
          goto found;
        }
      }
      return;
    }
  found:
    status_ = db_->FileLocked(v.file, &file);
    if (!status_.ok()) return;
  }
  status_ = db_->ReadVersion(v, key, &value_, std::move(file));
  if (!status_.ok()) return;
  key_ = std::move(key);
  valid_ = true;
}

void BitcaskIterator::SeekToFirst() { Position(lower_, /*forward=*/true, /*strict=*/false); }
void BitcaskIterator::SeekToLast() {
  // The last key below upper_: strictly before it.
  Position(upper_, /*forward=*/false, /*strict=*/true);
}
void BitcaskIterator::Seek(std::string_view target) {
  std::string t(target);
  if (lower_ && db_->less_(t, *lower_)) t = *lower_;
  Position(t, /*forward=*/true, /*strict=*/false);
}
void BitcaskIterator::SeekForPrev(std::string_view target) {
  if (upper_ && !db_->less_(target, *upper_)) {
    SeekToLast();
    return;
  }
  Position(std::string(target), /*forward=*/false, /*strict=*/false);
}
void BitcaskIterator::Next() { Position(key_, /*forward=*/true, /*strict=*/true); }
void BitcaskIterator::Prev() { Position(key_, /*forward=*/false, /*strict=*/true); }

}  // namespace

Status OpenBitcaskDB(const Options& options, const std::string& path, std::unique_ptr<DB>* out) {
  out->reset();
  if (!(options.bitcask_merge_dead_ratio > 0 && options.bitcask_merge_dead_ratio <= 1) ||
      options.bitcask_max_file_size < 4096) {
    return Status::InvalidArgument(
        "bitcask_merge_dead_ratio must be in (0, 1] and bitcask_max_file_size >= 4096");
  }
  auto db = std::make_unique<BitcaskDB>(options, path);
  Status s = db->OpenAndRecover();
  if (!s.ok()) return s;
  *out = std::move(db);
  return Status::OK();
}

Status DestroyBitcaskDB(const std::string& path, const Options& options) {
  return DestroyEngineFiles(options, path, [](const std::string& name) {
    uint64_t number;
    bool hint;
    return ParseBitcaskName(name, &number, &hint) || name == kManifestName ||
           name == std::string(kManifestName) + ".tmp";
  });
}

}  // namespace lsmkv
