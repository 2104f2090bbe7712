#include "db/version_set.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>

#include "base/filename.h"
#include "db/version_invariants.h"
#include "table/table_cache.h"
#include "util/check.h"
#include "util/info_log.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

namespace lsmkv {

namespace {

#if LSMKV_DCHECK_IS_ON
// DCHECK(s.ok()), printing s first: the violation is the useful part.
void DcheckOk(const Status& s) {
  if (!s.ok()) std::fprintf(stderr, "invariant violated: %s\n", s.ToString().c_str());
  DCHECK(s.ok());
}

bool VersionHasFile(const Version& v, int level, uint64_t number) {
  for (const FileRef& f : v.files(level)) {
    if (f->number == number) return true;
  }
  return false;
}
#endif

}  // namespace

void ObsoleteFiles::Add(uint64_t number) {
  MutexLock guard(&mu_);
  numbers_.push_back(number);
  pending_.store(true, std::memory_order_release);
}

std::vector<uint64_t> ObsoleteFiles::Take() {
  MutexLock guard(&mu_);
  std::vector<uint64_t> result;
  result.swap(numbers_);
  pending_.store(false, std::memory_order_release);
  return result;
}

// ----------------------------------------------------------------- Version

uint64_t Version::LevelBytes(int level) const {
  uint64_t sum = 0;
  for (const FileRef& f : files_[level]) sum += f->file_size;
  return sum;
}

bool Version::OverlapInLevel(int level, std::string_view smallest_user,
                             std::string_view largest_user) const {
  const Comparator* ucmp = icmp_->user_comparator();
  for (const FileRef& f : files_[level]) {
    if (ucmp->Compare(ExtractUserKey(f->largest), smallest_user) < 0) continue;
    if (ucmp->Compare(ExtractUserKey(f->smallest), largest_user) > 0) continue;
    return true;
  }
  return false;
}

std::string Version::LevelSummary() const {
  std::string r = "files[";
  for (int level = 0; level < kNumLevels; level++) {
    r += " " + std::to_string(files_[level].size());
  }
  r += " ]";
  return r;
}

namespace {

enum class LookupState { kNotFound, kFound, kDeleted, kCorrupt };

struct LookupResult {
  LookupState state = LookupState::kNotFound;
  std::string* value = nullptr;
};

}  // namespace

template <typename Visitor>
void Version::ForEachFileCovering(std::string_view internal_key, Visitor&& visit) const {
  const Comparator* ucmp = icmp_->user_comparator();
  const std::string_view user_key = ExtractUserKey(internal_key);
  // Level 0: every file whose range holds the key, newest first.
  for (const FileRef& f : files_[0]) {
    if (ucmp->Compare(user_key, ExtractUserKey(f->smallest)) < 0 ||
        ucmp->Compare(user_key, ExtractUserKey(f->largest)) > 0) {
      continue;
    }
    if (visit(f, 0)) return;
  }
  // Deeper levels: at most one file per level can hold the key.
  for (int level = 1; level < kNumLevels; level++) {
    const std::vector<FileRef>& files = files_[level];
    auto it = std::lower_bound(
        files.begin(), files.end(), internal_key,
        [this](const FileRef& f, std::string_view k) { return icmp_->Compare(f->largest, k) < 0; });
    if (it == files.end()) continue;
    if (ucmp->Compare(user_key, ExtractUserKey((*it)->smallest)) < 0) continue;
    if (visit(*it, level)) return;
  }
}

Status Version::Get(const ReadOptions& options, const LookupKey& key, std::string* value,
                    ReadCharge* charge, SequenceNumber* found_seq) const {
  const Comparator* ucmp = icmp_->user_comparator();
  const std::string_view user_key = key.user_key();
  const std::string_view ikey = key.internal_key();
  *charge = ReadCharge();
  const FileRef* first_file = nullptr;
  int first_level = 0;

  // Searches one file; returns true when the lookup is decided.
  auto search = [&](const FileRef& file, int level, Status* status) -> bool {
    const FileMetaData& f = *file;
    LookupResult result;
    result.value = value;
    if (++charge->tables_read == 1) {
      first_file = &file;
      first_level = level;
    } else if (charge->tables_read == 2) {
      charge->file = first_file;  // looked past the first file consulted
      charge->level = first_level;
    }
    Status s = table_cache_->Get(
        options, f.number, f.file_size, ikey,
        [&](std::string_view found_key, std::string_view found_value) {
          ParsedInternalKey parsed;
          if (!ParseInternalKey(found_key, &parsed)) {
            result.state = LookupState::kCorrupt;
            return;
          }
          if (ucmp->Compare(parsed.user_key, user_key) != 0) return;
          if (found_seq != nullptr) *found_seq = parsed.sequence;
          if (parsed.type == kTypeValue) {
            result.state = LookupState::kFound;
            value->assign(found_value.data(), found_value.size());
          } else {
            result.state = LookupState::kDeleted;
          }
        },
        &f.table);
    if (!s.ok()) {
      *status = s;
      return true;
    }
    switch (result.state) {
      case LookupState::kNotFound:
        return false;
      case LookupState::kFound:
        *status = Status::OK();
        return true;
      case LookupState::kDeleted:
        *status = Status::NotFound("");
        return true;
      case LookupState::kCorrupt:
        *status = Status::Corruption("table " + std::to_string(f.number), "bad internal key");
        return true;
    }
    return false;
  };

  Status status;
  bool decided = false;
  ForEachFileCovering(ikey, [&](const FileRef& f, int level) {
    decided = search(f, level, &status);
    return decided;
  });
  return decided ? status : Status::NotFound("");
}

bool Version::RecordReadSample(std::string_view internal_key, ReadCharge* charge) const {
  *charge = ReadCharge();
  ForEachFileCovering(internal_key, [charge](const FileRef& f, int level) {
    if (++charge->tables_read == 1) {
      charge->file = &f;
      charge->level = level;
    }
    return false;  // visit them all
  });
  if (charge->tables_read < 2) charge->file = nullptr;
  return charge->file != nullptr;
}

bool ReadCharge::Apply() const {
  if (file == nullptr) return false;
  // Exactly one reader sees the budget reach zero.
  return (*file)->allowed_seeks.remaining.fetch_sub(1, std::memory_order_relaxed) == 1;
}

// ----------------------------------------------------------------- builder

// Applies edits to a base version to produce a new one, validating the result.
class VersionBuilder {
 public:
  VersionBuilder(VersionSet* vset, const Version* base) : vset_(vset), base_(base) {}

  void Apply(const VersionEdit& edit) {
    for (const auto& [level, number] : edit.deleted_files()) {
      deleted_[level].insert(number);
      // A file added by an earlier edit of this batch and removed now.
      auto& added = added_[level];
      added.erase(std::remove_if(added.begin(), added.end(),
                                 [n = number](const FileRef& f) { return f->number == n; }),
                  added.end());
    }
    for (const auto& [level, meta] : edit.new_files()) {
      deleted_[level].erase(meta.number);
      added_[level].push_back(RefFor(meta));
    }
    if (!edit.put_range_tombstones().empty() || !edit.removed_range_tombstones().empty()) {
      InitTombstones();
      for (SequenceNumber seq : edit.removed_range_tombstones()) tombstones_.erase(seq);
      for (const RangeTombstoneRecord& r : edit.put_range_tombstones()) {
        tombstones_[r.tombstone.seq] = r;
      }
    }
  }

  void InitTombstones() {
    if (tombstones_initialized_) return;
    for (const RangeTombstoneRecord& r : base_->range_tombstones_) tombstones_[r.tombstone.seq] = r;
    tombstones_initialized_ = true;
  }

  // One FileMetaData object per file number across all versions: a file
  // moved to another level (or re-added) keeps the object older versions
  // share, so it is reported obsolete only when no version holds it at all.
  FileRef RefFor(const FileMetaData& meta) {
    if (!known_initialized_) {
      for (int level = 0; level < kNumLevels; level++) {
        for (const FileRef& f : base_->files_[level]) known_.emplace(f->number, f);
      }
      known_initialized_ = true;
    }
    auto it = known_.find(meta.number);
    if (it != known_.end()) return it->second;
    FileRef ref = vset_->MakeFileRef(meta);
    known_.emplace(meta.number, ref);
    return ref;
  }

  // Builds the new version into *v. Corruption if the result violates the
  // level invariants (levels >= 1 sorted and non-overlapping).
  Status SaveTo(Version* v) {
    const InternalKeyComparator* icmp = vset_->icmp_;
    if (!tombstones_initialized_) {
      v->range_tombstones_ = base_->range_tombstones_;
      v->range_tombstone_set_ = base_->range_tombstone_set_;
    } else {
      std::vector<RangeTombstone> plain;
      for (auto& [seq, r] : tombstones_) {
        v->range_tombstones_.push_back(r);
        plain.push_back(r.tombstone);
      }
      if (!plain.empty()) {
        v->range_tombstone_set_ =
            std::make_shared<const RangeTombstoneSet>(icmp->user_comparator(), plain);
      }
    }
    for (int level = 0; level < kNumLevels; level++) {
      std::vector<FileRef>& out = v->files_[level];
      for (const FileRef& f : base_->files_[level]) {
        if (deleted_[level].count(f->number) == 0) out.push_back(f);
      }
      for (const FileRef& f : added_[level]) {
        if (deleted_[level].count(f->number) == 0) out.push_back(f);
      }
      if (level == 0) {
        std::sort(out.begin(), out.end(),
                  [](const FileRef& a, const FileRef& b) { return a->number > b->number; });
      } else {
        std::sort(out.begin(), out.end(), [icmp](const FileRef& a, const FileRef& b) {
          return icmp->Compare(a->smallest, b->smallest) < 0;
        });
        for (size_t i = 1; i < out.size(); i++) {
          if (icmp->Compare(out[i - 1]->largest, out[i]->smallest) >= 0) {
            return Status::Corruption("MANIFEST", "overlapping files " +
                                                      std::to_string(out[i - 1]->number) + " and " +
                                                      std::to_string(out[i]->number) +
                                                      " in level " + std::to_string(level));
          }
        }
      }
    }
    return Status::OK();
  }

 private:
  VersionSet* vset_;
  const Version* base_;
  std::set<uint64_t> deleted_[kNumLevels];
  std::vector<FileRef> added_[kNumLevels];
  std::map<uint64_t, FileRef> known_;  // every file object seen or made
  bool known_initialized_ = false;
  std::map<SequenceNumber, RangeTombstoneRecord> tombstones_;  // once initialized
  bool tombstones_initialized_ = false;
};

// ----------------------------------------------------------------- VersionSet

VersionSet::VersionSet(std::string dbname, const Options* options, TableCache* table_cache,
                       const InternalKeyComparator* icmp, InfoLog* info_log, InstrumentedMutex* mu,
                       std::atomic<SequenceNumber>* last_sequence)
    : env_(options->env),
      dbname_(std::move(dbname)),
      options_(options),
      table_cache_(table_cache),
      icmp_(icmp),
      info_log_(info_log),
      obsolete_(std::make_shared<ObsoleteFiles>()),
      mu_(mu),
      last_sequence_(last_sequence),
      current_(new Version(table_cache, icmp)) {}

VersionSet::~VersionSet() = default;

FileRef VersionSet::MakeFileRef(const FileMetaData& meta) {
  std::weak_ptr<ObsoleteFiles> obsolete = obsolete_;
  auto* f = new FileMetaData(meta);
  const uint64_t per_seek = options_->read_compaction_bytes_per_seek;
  f->allowed_seeks.remaining.store(
      per_seek == 0 ? INT64_MAX
                    : static_cast<int64_t>(std::max<uint64_t>(100, meta.file_size / per_seek)),
      std::memory_order_relaxed);
  return FileRef(f, [obsolete](const FileMetaData* f) {
    if (auto sink = obsolete.lock()) sink->Add(f->number);
    delete f;
  });
}

Status VersionSet::CreateNewDatabase(Env* env, const std::string& dbname,
                                     const InternalKeyComparator& icmp) {
  VersionEdit edit;
  edit.SetComparatorName(icmp.user_comparator()->Name());
  edit.SetLogNumber(0);
  edit.SetNextFileNumber(2);
  edit.SetLastSequence(0);
  const uint64_t manifest_number = 1;
  const std::string manifest = DescriptorFileName(dbname, manifest_number);
  std::unique_ptr<WritableFile> file;
  Status s = env->NewWritableFile(manifest, &file);
  if (!s.ok()) return s;
  {
    log::Writer writer(file.get(), manifest_number);
    std::string record;
    edit.EncodeTo(&record);
    s = writer.AddRecord(record);
    if (s.ok()) s = file->Sync();
    if (s.ok()) s = file->Close();
  }
  if (!s.ok()) {
    env->RemoveFile(manifest).PermitUncheckedError();
    return s;
  }
  // Once SetCurrentFile has run, CURRENT may name the MANIFEST even if it
  // failed (e.g. the directory sync after the rename): never remove it then.
  return SetCurrentFile(env, dbname, manifest_number);
}

namespace {

// Fails recovery on any MANIFEST damage other than a torn tail.
struct ManifestReporter : public log::Reader::Reporter {
  Status* status;
  void Corruption(uint64_t offset, size_t bytes, const Status& reason) override {
    if (status->ok()) *status = reason;
  }
};

}  // namespace

Status VersionSet::Recover() {
  std::string manifest_name;
  Status s = ReadCurrentFile(env_, dbname_, &manifest_name);
  if (!s.ok()) return s;
  const std::string manifest_path = dbname_ + "/" + manifest_name;
  uint64_t manifest_number = 0;
  FileType type;
  if (!ParseFileName(manifest_name, &manifest_number, &type) || type != FileType::kDescriptorFile) {
    return Status::Corruption("CURRENT", "names " + manifest_name + ", not a MANIFEST");
  }
  std::unique_ptr<SequentialFile> file;
  s = env_->NewSequentialFile(manifest_path, &file);
  if (!s.ok()) {
    // A missing MANIFEST is damage; any other failure (permission, EIO, too
    // many open files) is the I/O error it is — the database may be intact.
    if (s.subcode() != Status::SubCode::kPathNotFound) return s;
    return Status::Corruption("CURRENT names " + manifest_name + " which cannot be opened",
                              s.ToString());
  }

  bool have_comparator = false, have_log = false, have_next = false, have_seq = false;
  uint64_t log_number = 0, next_file = 0;
  SequenceNumber last_sequence = 0;
  VersionBuilder builder(this, current_.get());
  Status read_status;
  ManifestReporter reporter;
  reporter.status = &read_status;
  log::Reader reader(file.get(), &reporter, /*verify_checksums=*/true, manifest_number,
                     manifest_path);
  std::string record;
  int edits = 0;
  while (reader.ReadRecord(&record) && read_status.ok()) {
    VersionEdit edit;
    s = edit.DecodeFrom(record, icmp_->user_comparator());
    if (!s.ok()) {
      return Status::Corruption(manifest_path,
                                "edit " + std::to_string(edits) + ": " + s.ToString());
    }
    edits++;
    if (edit.has_comparator_name()) {
      if (edit.comparator_name() != icmp_->user_comparator()->Name()) {
        return Status::InvalidArgument(manifest_path, "database uses comparator " +
                                                          edit.comparator_name() + ", not " +
                                                          icmp_->user_comparator()->Name());
      }
      have_comparator = true;
    }
    builder.Apply(edit);
    if (edit.has_log_number()) {
      log_number = edit.log_number();
      have_log = true;
    }
    if (edit.has_next_file_number()) {
      next_file = edit.next_file_number();
      have_next = true;
    }
    if (edit.has_last_sequence()) {
      last_sequence = edit.last_sequence();
      have_seq = true;
    }
    for (const auto& [level, key] : edit.compact_pointers()) compact_pointer_[level] = key;
  }
  if (!read_status.ok()) return Status::Corruption(manifest_path, read_status.ToString());
  if (!reader.status().ok()) return reader.status();
  if (reader.TornTail()) {
    LSMKV_LOG(info_log_, "MANIFEST %s: torn tail of %llu bytes ignored (an unfinished edit)",
              manifest_path.c_str(), static_cast<unsigned long long>(reader.TornTailBytes()));
  }
  if (!have_comparator || !have_log || !have_next || !have_seq) {
    return Status::Corruption(manifest_path,
                              "missing comparator, log number, next file number "
                              "or last sequence (" +
                                  std::to_string(edits) + " edits read)");
  }

  auto v = std::shared_ptr<Version>(new Version(table_cache_, icmp_));
  s = builder.SaveTo(v.get());
  if (!s.ok()) return Status::Corruption(manifest_path, s.ToString());
  {
    // Reported, not refused (Open's checks decide what is fatal); while the
    // damage lasts, LogAndApply's invariant assertions stand down.
    Status inv = CheckVersionInvariants(*v, *icmp_, std::max(next_file, manifest_number + 1));
    if (!inv.ok()) {
      LSMKV_LOG(info_log_, "MANIFEST %s describes an inconsistent version: %s",
                manifest_path.c_str(), inv.ToString().c_str());
    }
  }
  current_ = std::move(v);
  manifest_file_number_ = manifest_number;
  next_file_number_ = next_file;
  MarkFileNumberUsed(manifest_number);
  MarkFileNumberUsed(log_number);
  log_number_ = log_number;
  SetLastSequence(last_sequence);
  LSMKV_LOG(info_log_, "recovered %s: %d edits, %s, log %llu, next file %llu, last seq %llu",
            manifest_name.c_str(), edits, current_->LevelSummary().c_str(),
            static_cast<unsigned long long>(log_number_),
            static_cast<unsigned long long>(next_file_number_),
            static_cast<unsigned long long>(last_sequence));
  return Status::OK();
}

void VersionSet::WriteSnapshot(VersionEdit* edit) const {
  edit->SetComparatorName(icmp_->user_comparator()->Name());
  for (int level = 0; level < kNumLevels; level++) {
    if (!compact_pointer_[level].empty()) edit->SetCompactPointer(level, compact_pointer_[level]);
    for (const FileRef& f : current_->files_[level]) edit->AddFile(level, *f);
  }
  for (const RangeTombstoneRecord& r : current_->range_tombstones_) edit->PutRangeTombstone(r);
}

void VersionSet::ResolveRangeTombstones(VersionEdit* edit) const {
  const Comparator* ucmp = icmp_->user_comparator();
  // Files the edit removes for good (not moved to another level).
  std::set<uint64_t> added_numbers;
  for (const auto& [level, f] : edit->new_files()) added_numbers.insert(f.number);
  std::set<uint64_t> removed;
  for (const auto& [level, number] : edit->deleted_files()) {
    if (added_numbers.count(number) == 0) removed.insert(number);
  }
  auto overlaps = [ucmp](const RangeTombstone& t, const FileMetaData& f) {
    return RangeOverlaps(ucmp, t.begin, t.end, ExtractUserKey(f.smallest),
                         ExtractUserKey(f.largest));
  };
  const std::vector<SequenceNumber>& known = edit->compaction_known_tombstones();
  auto kept = [edit](uint64_t number, SequenceNumber seq) {
    for (const auto& [n, seqs] : edit->compaction_kept()) {
      if (n == number) return std::find(seqs.begin(), seqs.end(), seq) != seqs.end();
    }
    return false;
  };

  // The version's tombstones: drop the removed tables; a compaction's
  // outputs join a tombstone it kept covered entries of, or any tombstone
  // it did not know that they overlap. (A flush's tables hold only entries
  // newer than every tombstone already in the version: memtables are
  // flushed oldest first.)
  for (const RangeTombstoneRecord& r : current_->range_tombstones_) {
    const SequenceNumber seq = r.tombstone.seq;
    if (edit->removed_range_tombstones().count(seq) != 0) continue;
    std::set<uint64_t> pending;
    for (uint64_t n : r.pending_files) {
      if (removed.count(n) == 0) pending.insert(n);
    }
    if (edit->has_compaction_tombstones()) {
      const bool knew = std::find(known.begin(), known.end(), seq) != known.end();
      for (const auto& [level, f] : edit->new_files()) {
        if (removed.count(f.number) != 0 || pending.count(f.number) != 0) continue;
        if (knew ? kept(f.number, seq) : overlaps(r.tombstone, f)) pending.insert(f.number);
      }
    }
    if (pending.empty()) {
      edit->RemoveRangeTombstone(seq);
    } else if (pending.size() != r.pending_files.size() ||
               !std::equal(pending.begin(), pending.end(), r.pending_files.begin())) {
      edit->PutRangeTombstone(
          RangeTombstoneRecord{r.tombstone, std::vector<uint64_t>(pending.begin(), pending.end())});
    }
  }

  // A flush's new tombstones: every table that overlaps them may hold an
  // older entry they cover (the flushed table included). One that overlaps
  // no table covers nothing and is dropped here.
  for (const RangeTombstone& t : edit->flushed_range_tombstones()) {
    std::set<uint64_t> pending;
    for (int level = 0; level < kNumLevels; level++) {
      for (const FileRef& f : current_->files_[level]) {
        if (removed.count(f->number) == 0 && overlaps(t, *f)) pending.insert(f->number);
      }
    }
    for (const auto& [level, f] : edit->new_files()) {
      if (overlaps(t, f)) pending.insert(f.number);
    }
    if (!pending.empty()) {
      edit->PutRangeTombstone(
          RangeTombstoneRecord{t, std::vector<uint64_t>(pending.begin(), pending.end())});
    }
  }
}

Status VersionSet::LogAndApply(VersionEdit* edit) {
  mu_->AssertHeld();
  // One edit at a time: each is built on the version the previous one
  // installed (flush and compaction threads commit concurrently).
  while (manifest_busy_) manifest_cv_.Wait(mu_);
  manifest_busy_ = true;
  Status s = LogAndApplyExclusive(edit);
  DCHECK(manifest_busy_);  // the exclusive section kept its reservation
  manifest_busy_ = false;
  manifest_cv_.SignalAll();
  return s;
}

Status VersionSet::LogAndApplyExclusive(VersionEdit* edit) {
  ResolveRangeTombstones(edit);
  if (edit->has_log_number()) {
    if (edit->log_number() < log_number_ || edit->log_number() >= next_file_number_) {
      return Status::InvalidArgument("version edit log number out of range");
    }
  } else {
    edit->SetLogNumber(log_number_);
  }
  edit->SetLastSequence(LastSequence());
#if LSMKV_DCHECK_IS_ON
  // Edits come from this engine (flush, compaction, Open): new files were
  // numbered by NewFileNumber, removed files are in the version they leave.
  for (const auto& [level, f] : edit->new_files()) DCHECK_LT(f.number, next_file_number_);
  for (const auto& [level, number] : edit->deleted_files()) {
    DCHECK(VersionHasFile(*current_, level, number));
  }
  const bool base_consistent = CheckVersionInvariants(*current_, *icmp_, next_file_number_).ok();
#endif

  auto v = std::shared_ptr<Version>(new Version(table_cache_, icmp_));
  {
    VersionBuilder builder(this, current_.get());
    builder.Apply(*edit);
    Status s = builder.SaveTo(v.get());
    if (!s.ok()) return s;
  }
#if LSMKV_DCHECK_IS_ON
  // Checked before the MANIFEST records it. A version recovered damaged is
  // input, not this code's doing: only a consistent base must stay so.
  if (base_consistent) DcheckOk(CheckVersionInvariants(*v, *icmp_, next_file_number_));
#endif

  // A new MANIFEST starts with a snapshot of the state before this edit.
  const bool new_manifest =
      manifest_log_ == nullptr || manifest_size_ >= options_->max_manifest_file_size;
  uint64_t new_manifest_number = 0;
  std::string snapshot_record;
  if (new_manifest) {
    new_manifest_number = NewFileNumber();
    VersionEdit snapshot;
    WriteSnapshot(&snapshot);
    snapshot.SetLogNumber(log_number_);
    snapshot.SetNextFileNumber(next_file_number_);
    snapshot.SetLastSequence(LastSequence());
    snapshot.EncodeTo(&snapshot_record);
  }
  edit->SetNextFileNumber(next_file_number_);
  std::string record;
  edit->EncodeTo(&record);
#if LSMKV_DCHECK_IS_ON
  {
    // The record reads back (the MANIFEST is replayed with DecodeFrom).
    VersionEdit decoded;
    DcheckOk(decoded.DecodeFrom(record, icmp_->user_comparator()));
    DCHECK_EQ(decoded.new_files().size(), edit->new_files().size());
    DCHECK(decoded.deleted_files() == edit->deleted_files());
  }
#endif

  std::unique_ptr<WritableFile> new_file;
  std::unique_ptr<log::Writer> new_writer;
  const std::string new_manifest_path = DescriptorFileName(dbname_, new_manifest_number);
  Status s;
  // This caller owns the MANIFEST (manifest_busy_): the objects are used
  // without mu_ through these copies of the pointers.
  log::Writer* writer = manifest_log_.get();
  WritableFile* file = manifest_file_.get();
  mu_->Unlock();
  {
    if (new_manifest) {
      s = env_->NewWritableFile(new_manifest_path, &new_file);
      if (s.ok()) {
        new_writer = std::make_unique<log::Writer>(new_file.get(), new_manifest_number);
        s = new_writer->AddRecord(snapshot_record);
      }
      writer = new_writer.get();
      file = new_file.get();
    }
    if (s.ok()) s = writer->AddRecord(record);
    if (s.ok()) s = file->Sync();
    if (!s.ok() && new_manifest) {
      new_writer.reset();
      new_file.reset();
      env_->RemoveFile(new_manifest_path).PermitUncheckedError();
    } else if (s.ok() && new_manifest) {
      // After this call CURRENT may name the new MANIFEST even on failure (a
      // failed directory sync follows the rename): it is never removed here.
      s = SetCurrentFile(env_, dbname_, new_manifest_number);
    }
  }
  mu_->Lock();

  if (!s.ok()) {
    // The MANIFEST may now end in a partial record: never append to it again.
    manifest_log_.reset();
    manifest_file_.reset();
    manifest_write_failed_ = true;
    LSMKV_LOG(info_log_, "MANIFEST write failed: %s", s.ToString().c_str());
    return s;
  }
  DCHECK_GE(edit->log_number(), log_number_);  // WALs once obsolete stay so
  if (new_manifest) {
    DCHECK_GT(new_manifest_number, manifest_file_number_);
    if (manifest_file_ != nullptr) manifest_file_->Close().PermitUncheckedError();
    if (manifest_file_number_ != 0) obsolete_manifests_.push_back(manifest_file_number_);
    manifest_log_ = std::move(new_writer);
    manifest_file_ = std::move(new_file);
    manifest_file_number_ = new_manifest_number;
    manifest_size_ = 0;
  }
  manifest_size_ = manifest_log_->file_size();
  manifest_write_failed_ = false;  // the new MANIFEST holds the whole state
  log_number_ = edit->log_number();
  current_ = std::move(v);
  return Status::OK();
}

void VersionSet::AddLiveFiles(std::set<uint64_t>* live) const {
  mu_->AssertHeld();
  for (int level = 0; level < kNumLevels; level++) {
    for (const FileRef& f : current_->files_[level]) live->insert(f->number);
  }
}

}  // namespace lsmkv
