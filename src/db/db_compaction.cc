// Leveled compaction: merging inputs into the next level in the background,
// manual CompactRange, and the drop rules for old versions and tombstones.
#include <algorithm>

#include "base/filename.h"
#include "db/compaction.h"
#include "db/db_impl.h"
#include "db/merging_iterator.h"
#include "db/version_invariants.h"
#include "lsmkv/compaction_filter.h"
#include "table/table_builder.h"
#include "util/check.h"

namespace lsmkv {

bool DBImpl::PickNextCompaction(Compaction* c) {
  const Comparator* ucmp = icmp_.user_comparator();
  std::shared_ptr<Version> v = versions_->current();
  if (manual_ != nullptr && !manual_->done && !manual_->in_progress) {
    ManualCompaction* m = manual_;
    const bool picked =
        PickRangeCompaction(options_, icmp_, *v, m->level, m->begin, m->end, m->bottommost, c);
    if (!picked) {
      m->done = true;  // nothing of the range in this level
      bg_cv_.SignalAll();
    } else if (inflight_.Conflicts(*c, ucmp)) {
      return false;  // waits for the running compactions; nothing else starts meanwhile
    } else {
      m->in_progress = true;
      inflight_.Add(c, ucmp);
      return true;
    }
  }
  if (PickCompaction(options_, icmp_, *v, inflight_, compact_cursor_, c)) {
    inflight_.Add(c, ucmp);
    return true;
  }
  // No level is over its budget: compact a file reads keep looking past.
  // Files gone from the current version are forgotten; one whose compaction
  // conflicts with a running one waits.
  for (auto it = read_compaction_files_.begin(); it != read_compaction_files_.end();) {
    const auto& [level, file] = *it;
    const std::vector<FileRef>& files = v->files(level);
    const bool present =
        level < kNumLevels - 1 && std::find(files.begin(), files.end(), file) != files.end();
    if (!present) {
      it = read_compaction_files_.erase(it);
      continue;
    }
    if (PickReadCompaction(options_, icmp_, *v, inflight_, level, file, c)) {
      read_compaction_files_.erase(it);
      read_compactions_++;
      inflight_.Add(c, ucmp);
      return true;
    }
    ++it;
  }
  // Nothing else to do: reclaim what range tombstones delete.
  if (PickRangeDeletionCompaction(*v, c)) {
    range_deletion_compactions_++;
    inflight_.Add(c, ucmp);
    return true;
  }
  return false;
}

bool DBImpl::PickRangeDeletionCompaction(const Version& v, Compaction* c) {
  if (v.range_tombstones().empty()) return false;
  const Comparator* ucmp = icmp_.user_comparator();
  // Only tombstones every snapshot sees: then the compaction drops all the
  // data they cover in its inputs, so their pending tables shrink (a
  // tombstone a snapshot predates would keep its data, and be picked again
  // and again).
  SequenceNumber oldest = snapshots_.empty() ? versions_->LastSequence() : *snapshots_.begin();
  {
    SpinMutexLock txn_lock(&txn_mu_);
    if (tracker_.active()) oldest = std::min(oldest, tracker_.OldestStart());
  }
  for (const RangeTombstoneRecord& r : v.range_tombstones()) {  // ascending sequence
    if (r.tombstone.seq > oldest) break;
    // The shallowest level holding a pending table, and the deepest holding
    // anything of the range (rewritten into itself if it is the shallowest:
    // nothing is below).
    int shallowest = -1;
    int deepest = -1;
    for (int level = 0; level < kNumLevels; level++) {
      for (const FileRef& f : v.files(level)) {
        if (!RangeOverlaps(ucmp, r.tombstone.begin, r.tombstone.end, ExtractUserKey(f->smallest),
                           ExtractUserKey(f->largest))) {
          continue;
        }
        deepest = level;
        if (shallowest < 0 &&
            std::binary_search(r.pending_files.begin(), r.pending_files.end(), f->number)) {
          shallowest = level;
        }
      }
    }
    if (shallowest < 0) continue;
    // Level 0 is never rewritten into itself: its files are searched newest
    // number first, so a new file must hold the newest data (it goes to
    // level 1 instead).
    const bool bottommost = shallowest == deepest && shallowest > 0;
    Compaction candidate;
    if (!PickRangeCompaction(options_, icmp_, v, shallowest, &r.tombstone.begin, &r.tombstone.end,
                             bottommost, &candidate)) {
      continue;
    }
    if (inflight_.Conflicts(candidate, ucmp)) continue;
    *c = std::move(candidate);
    LSMKV_LOG(info_log_.get(), "compacting L%d over range tombstone @%llu (%zu pending tables)",
              shallowest, static_cast<unsigned long long>(r.tombstone.seq), r.pending_files.size());
    return true;
  }
  return false;
}

// Runs one compaction picked (and registered) by MaybeScheduleBackgroundWork
// on its own thread, then lets the scheduler start whatever is due next.
void DBImpl::BackgroundCompactionCall(std::shared_ptr<Compaction> c) {
  InstrumentedMutexLock lock(&mu_);
  if (!shutting_down_ && bg_error_.ok()) {
    bool manifest_failed = false;
    Status s = RunCompaction(c.get(), &manifest_failed);
    if (s.ok()) {
      compaction_backoff_micros_ = 0;
    } else if (s.IsNoSpace() && !manifest_failed) {
      // Nothing changed but the space the outputs took, now released: the
      // DB stays writable and compactions try again after a backoff.
      stats_.compactions_out_of_space++;
      LSMKV_LOG(info_log_.get(), "compaction L%d->L%d ran out of space: %s", c->level,
                c->output_level(), s.ToString().c_str());
      BackOffCompactions("a compaction ran out of space");
      if (c->manual && manual_ != nullptr) manual_->status = s;
    } else if (!(s.IsAborted() && shutting_down_)) {
      LSMKV_LOG(info_log_.get(), "compaction L%d->L%d failed: %s", c->level, c->output_level(),
                s.ToString().c_str());
      SetBackgroundError(s);
    }
    if (s.ok() && check_after_compaction_.load(std::memory_order_relaxed)) {
      lock.Unlock();
      Status inv = TEST_CheckInvariants();
      lock.Lock();
      invariant_checks_++;
      if (!inv.ok() && first_invariant_violation_.ok()) first_invariant_violation_ = inv;
    }
  }
  inflight_.Remove(*c);
  const uint64_t estimate = c->IsTrivialMove() ? 0 : c->InputBytes();
  DCHECK_GE(compaction_bytes_reserved_, estimate);
  compaction_bytes_reserved_ -= estimate;
  if (c->manual && manual_ != nullptr) manual_->done = true;
  // Drop this compaction's references to its input files, so that the
  // deletion pass below finds them unreferenced and removes them now.
  for (auto& which : c->inputs) which.clear();
  c->grandparents.clear();
  DeleteObsoleteFiles();
  bg_compactions_running_--;
  MaybeScheduleBackgroundWork();
  bg_cv_.SignalAll();
}

// Releases mu_ during the merge. c is registered in inflight_, so no other
// compaction touches its files or its output range.
Status DBImpl::RunCompaction(Compaction* c, bool* manifest_failed) {
  *manifest_failed = false;
  const uint64_t start = env_->NowMicros();
  VersionEdit edit;
  LevelStats& stats = level_stats_[c->output_level()];
  if (c->IsTrivialMove()) {
    DCHECK_EQ(c->inputs[0].size(), 1u);
    DCHECK(c->inputs[1].empty());
    DCHECK_EQ(c->output_level(), c->level + 1);
    const FileRef& f = c->inputs[0][0];
    edit.RemoveFile(c->level, f->number);
    edit.AddFile(c->output_level(), *f);
    Status s = versions_->LogAndApply(&edit);
    if (!s.ok()) {
      *manifest_failed = true;
      return s;
    }
    stats.moves++;
    InstallView();
    LSMKV_LOG(info_log_.get(), "moved table %llu from L%d to L%d",
              static_cast<unsigned long long>(f->number), c->level, c->output_level());
    return Status::OK();
  }

  SnapshotBounds snapshots;
  snapshots.any = !snapshots_.empty();
  snapshots.smallest = snapshots.any ? *snapshots_.begin() : versions_->LastSequence();
  snapshots.newest = snapshots.any ? *snapshots_.rbegin() : 0;
  {
    // Running transactions' read views count as snapshots (they are not in
    // snapshots_; see BeginTransactionView).
    SpinMutexLock txn_lock(&txn_mu_);
    if (tracker_.active()) {
      snapshots.smallest = snapshots.any ? std::min(snapshots.smallest, tracker_.OldestStart())
                                         : tracker_.OldestStart();
      snapshots.newest = std::max(snapshots.newest, tracker_.NewestStart());
      snapshots.any = true;
    }
  }
  std::shared_ptr<Version> base = versions_->current();
  std::vector<FileMetaData> outputs;
  KeptTombstones kept;
  mu_.Unlock();
  Status s = MergeCompactionInputs(*c, *base, snapshots, &outputs, &kept);
  if (s.ok() && !outputs.empty()) s = env_->SyncDir(dbname_);
  mu_.Lock();

  if (s.ok()) {
#if LSMKV_DCHECK_IS_ON
    // Outputs are new files, in key order, never sharing a user key.
    for (size_t i = 0; i < outputs.size(); i++) {
      for (int which = 0; which < 2; which++) {
        for (const FileRef& f : c->inputs[which]) DCHECK_NE(outputs[i].number, f->number);
      }
      if (i > 0) {
        DCHECK_GT(outputs[i].number, outputs[i - 1].number);
        DCHECK_LT(icmp_.user_comparator()->Compare(ExtractUserKey(outputs[i - 1].largest),
                                                   ExtractUserKey(outputs[i].smallest)),
                  0);
      }
    }
#endif
    for (int which = 0; which < 2; which++) {
      for (const FileRef& f : c->inputs[which]) edit.RemoveFile(c->level + which, f->number);
    }
    for (const FileMetaData& out : outputs) edit.AddFile(c->output_level(), out);
    std::vector<SequenceNumber> known;
    for (const RangeTombstoneRecord& r : base->range_tombstones()) known.push_back(r.tombstone.seq);
    for (auto& [number, seqs] : kept) {
      std::sort(seqs.begin(), seqs.end());
      seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
    }
    edit.SetCompactionTombstones(std::move(known), std::move(kept));
    s = versions_->LogAndApply(&edit);
    if (!s.ok()) {
      // The edit may be on disk: the outputs go only once the MANIFEST is
      // rewritten (TryResume) or at the next Open.
      *manifest_failed = true;
      for (const FileMetaData& out : outputs) orphan_tables_.push_back(out.number);
      return s;
    }
  }
  if (!s.ok()) {
    // No MANIFEST knows the outputs (the merge removed its own on failure;
    // these are complete tables whose directory sync failed).
    mu_.Unlock();
    for (const FileMetaData& out : outputs) {
      env_->RemoveFile(TableFileName(dbname_, out.number)).PermitUncheckedError();
    }
    mu_.Lock();
    return s;
  }
  uint64_t written = 0;
  for (const FileMetaData& out : outputs) written += out.file_size;
  stats.compactions++;
  stats.bytes_read += c->InputBytes();
  stats.bytes_written += written;
  const uint64_t micros = env_->NowMicros() - start;
  stats.micros += micros;
  compaction_micros_.Add(static_cast<double>(micros));
  InstallView();
  LSMKV_LOG(info_log_.get(), "compacted %zu+%zu files L%d->L%d: %zu outputs, %llu bytes; %s",
            c->inputs[0].size(), c->inputs[1].size(), c->level, c->output_level(), outputs.size(),
            static_cast<unsigned long long>(written), versions_->current()->LevelSummary().c_str());
  return Status::OK();  // the caller removes the inputs once it released them
}

namespace {

// The drop rules and the compaction filter, applied to the merged input in
// internal key order (each user key's entries newest first): whether an
// entry is dropped depends on the entries of its user key seen before it.
class DropRules {
 public:
  // smallest_snapshot: the oldest live snapshot (the last sequence if none);
  // newest_snapshot and any_snapshot: the newest live one, if any. filter
  // may be null.
  DropRules(const Compaction& c, const Version& base, const Comparator* ucmp,
            const CompactionFilter* filter, SequenceNumber smallest_snapshot,
            SequenceNumber newest_snapshot, bool any_snapshot)
      : c_(c),
        base_(base),
        ucmp_(ucmp),
        filter_(filter),
        tombstones_(base.range_tombstone_set()),
        smallest_snapshot_(smallest_snapshot),
        newest_snapshot_(newest_snapshot),
        any_snapshot_(any_snapshot) {}

  // Decides the next input entry (*key, *value), whose key parsed as *parsed;
  // returns true if it is dropped. A value the filter removes comes back as
  // a deletion at its own sequence, which hides older versions like a
  // Delete would: *key then points into this object (valid until the next
  // call), *value is empty and parsed->type is kTypeDeletion.
  // *new_user_key: whether the entry is the first of its user key.
  // *kept_covered: the entry is kept although a range tombstone of the base
  // version covers it (a snapshot still reads it).
  bool Drop(ParsedInternalKey* parsed, std::string_view* key, std::string_view* value,
            bool* new_user_key, bool* kept_covered) {
    *kept_covered = false;
    *new_user_key =
        !has_current_user_key_ || ucmp_->Compare(parsed->user_key, current_user_key_) != 0;
    if (*new_user_key) {
      current_user_key_.assign(parsed->user_key);
      has_current_user_key_ = true;
      last_sequence_for_key_ = kMaxSequenceNumber;
    }
    bool drop = false;
    if (last_sequence_for_key_ <= smallest_snapshot_) {
      drop = true;  // a newer version of this key is visible to every snapshot
    } else if (parsed->type == kTypeDeletion && parsed->sequence <= smallest_snapshot_ &&
               c_.IsBaseLevelForKey(base_, parsed->user_key, ucmp_)) {
      drop = true;  // nothing older below can be uncovered, and every snapshot sees the delete
    }
    if (!drop && tombstones_ != nullptr &&
        tombstones_->Covers(parsed->user_key, parsed->sequence, kMaxSequenceNumber)) {
      // Deleted by a range tombstone. Dropped if no snapshot reads it: every
      // snapshot is at or after a covering tombstone (the oldest one is), or
      // none is at or after the entry.
      if (tombstones_->Covers(parsed->user_key, parsed->sequence, smallest_snapshot_) ||
          (any_snapshot_ && parsed->sequence > newest_snapshot_)) {
        drop = true;
        range_deleted_++;
      } else {
        *kept_covered = true;
      }
    }
    if (!drop && filter_ != nullptr && parsed->type == kTypeValue &&
        (!any_snapshot_ || parsed->sequence > newest_snapshot_) &&
        filter_->Filter(c_.output_level(), parsed->user_key, *value) ==
            CompactionFilter::Decision::kRemove) {
      // No snapshot can read this value: it becomes a deletion at its own
      // sequence, which hides older versions like a Delete would.
      filtered_key_.clear();
      AppendInternalKey(&filtered_key_, parsed->user_key, parsed->sequence, kTypeDeletion);
      *key = filtered_key_;
      *value = std::string_view();
      parsed->type = kTypeDeletion;
      filtered_values_++;
      if (parsed->sequence <= smallest_snapshot_ &&
          c_.IsBaseLevelForKey(base_, parsed->user_key, ucmp_)) {
        drop = true;
      }
    }
    last_sequence_for_key_ = parsed->sequence;
    return drop;
  }

  // Values the compaction filter removed so far.
  uint64_t filtered_values() const { return filtered_values_; }
  // Entries dropped because a range tombstone deletes them.
  uint64_t range_deleted() const { return range_deleted_; }
  const RangeTombstoneSet* tombstones() const { return tombstones_; }

 private:
  const Compaction& c_;
  const Version& base_;
  const Comparator* const ucmp_;
  const CompactionFilter* const filter_;
  const RangeTombstoneSet* const tombstones_;  // the base version's; null if none
  const SequenceNumber smallest_snapshot_;
  const SequenceNumber newest_snapshot_;
  const bool any_snapshot_;
  std::string current_user_key_;
  bool has_current_user_key_ = false;
  SequenceNumber last_sequence_for_key_ = kMaxSequenceNumber;
  std::string filtered_key_;  // a value the filter removed, re-keyed as a deletion
  uint64_t filtered_values_ = 0;
  uint64_t range_deleted_ = 0;
};

// The tables one compaction writes: at most one open at a time (the caller
// decides where to cut); each finished one is appended to *outputs. Used
// without the DB mutex: the caller allocates the file numbers.
class CompactionOutputs {
 public:
  CompactionOutputs(Env* env, const std::string& dbname, const TableOptions& options,
                    std::vector<FileMetaData>* outputs)
      : env_(env), dbname_(dbname), options_(options), outputs_(outputs) {}

  bool open() const { return builder_ != nullptr; }
  // The number of the open table. Requires open().
  uint64_t number() const { return meta_.number; }
  // Bytes of the open table so far. Requires open().
  uint64_t FileSize() const { return builder_->FileSize(); }

  // Creates table file number (which RemoveAll removes from now on, even if
  // this fails); first_key is the first key it will hold. Requires !open().
  Status Open(uint64_t number, std::string_view first_key) {
    meta_ = FileMetaData();
    meta_.number = number;
    Status s = env_->NewWritableFile(TableFileName(dbname_, meta_.number), &file_);
    if (!s.ok()) return s;
    builder_ = std::make_unique<TableBuilder>(options_, file_.get());
    meta_.smallest.assign(first_key.data(), first_key.size());
    meta_.smallest_seqno = kMaxSequenceNumber;
    return Status::OK();
  }

  // Adds an entry to the open table (requires open()), widening its key and
  // sequence ranges.
  Status Add(std::string_view key, std::string_view value, const ParsedInternalKey& parsed) {
    // Strictly increasing internal keys into the builder (the filter's
    // re-keyed deletion sorts right after the value it replaces).
    DCHECK(builder_->NumEntries() == 0 || options_.comparator->Compare(meta_.largest, key) < 0);
    meta_.largest.assign(key.data(), key.size());
    meta_.smallest_seqno = std::min(meta_.smallest_seqno, parsed.sequence);
    meta_.largest_seqno = std::max(meta_.largest_seqno, parsed.sequence);
    if (parsed.type == kTypeDeletion) meta_.num_deletions++;
    return builder_->Add(key, value);
  }

  // Finishes and closes the open table (requires open()); appends it to
  // *outputs if both worked. Leaves no table open either way.
  Status Finish() {
    DCHECK_GT(builder_->NumEntries(), 0u);  // an output is opened for a key it then takes
    Status fs = builder_->Finish();
    if (fs.ok()) fs = file_->Close();
    meta_.file_size = builder_->FileSize();
    meta_.num_entries = builder_->NumEntries();
    builder_.reset();
    file_.reset();
    if (fs.ok()) outputs_->push_back(meta_);
    return fs;
  }

  // Abandons the open table, if any (its file stays until RemoveAll).
  void AbandonOpen() {
    if (builder_ != nullptr) builder_->Abandon();
  }

  // After a failure (none of the tables is installed): removes the file of
  // every table this compaction created and clears *outputs.
  void RemoveAll() {
    file_.reset();
    for (const FileMetaData& out : *outputs_) {
      env_->RemoveFile(TableFileName(dbname_, out.number)).PermitUncheckedError();
    }
    if (meta_.number != 0)
      env_->RemoveFile(TableFileName(dbname_, meta_.number)).PermitUncheckedError();
    outputs_->clear();
  }

 private:
  Env* const env_;
  const std::string& dbname_;
  const TableOptions& options_;
  std::vector<FileMetaData>* const outputs_;
  std::unique_ptr<WritableFile> file_;
  std::unique_ptr<TableBuilder> builder_;  // null: no table open
  FileMetaData meta_;                      // of the open (or last opened) table
};

}  // namespace

// Streams the inputs through a merging iterator into new tables, applying the
// drop rules and the compaction filter (DropRules). Runs without the DB mutex
// (takes it briefly to allocate file numbers). On failure no output is left.
Status DBImpl::MergeCompactionInputs(const Compaction& c, const Version& base,
                                     SnapshotBounds snapshots, std::vector<FileMetaData>* outputs,
                                     KeptTombstones* kept) {
  const Comparator* ucmp = icmp_.user_comparator();
  ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;
  std::vector<std::unique_ptr<Iterator>> children;
  for (int which = 0; which < 2; which++) {
    for (const FileRef& f : c.inputs[which]) {
      children.emplace_back(table_cache_->NewIterator(ro, f->number, f->file_size));
    }
  }
  std::unique_ptr<Iterator> input(NewMergingIterator(&icmp_, std::move(children)));

  const CompactionFilter* filter = options_.compaction_filter.get();
  DropRules rules(c, base, ucmp, filter, snapshots.smallest, snapshots.newest, snapshots.any);
  CompactionOutputs out(env_, dbname_, table_options_, outputs);
  Status s;
  std::string previous_key;  // the input's previous internal key
  size_t grandparent_index = 0;
  uint64_t overlapped_bytes = 0;
  bool seen_key = false;
  uint64_t entries = 0;
  uint64_t rate_charged = 0;             // bytes of the open output passed through the rate limiter
  std::vector<SequenceNumber> covering;  // scratch

  for (input->SeekToFirst(); input->Valid() && s.ok(); input->Next()) {
    if ((++entries & 0x3ff) == 0) {
      if (shutting_down_flag_.load(std::memory_order_acquire)) {
        s = Status::Aborted("compaction", "database is closing");
        break;
      }
      if (out.open() && out.FileSize() >= rate_charged + kRateLimitChunk) {
        rate_limiter_.Request(out.FileSize() - rate_charged);
        rate_charged = out.FileSize();
      }
    }
    std::string_view key = input->key();
    std::string_view value = input->value();
    ParsedInternalKey parsed;
    if (!ParseInternalKey(key, &parsed)) {
      s = Status::Corruption("compaction input", "unparsable internal key");
      break;
    }
    // The inputs are tables read from disk: their order is checked, not
    // assumed, so that everything below may assert on it.
    if (entries > 1 && icmp_.Compare(previous_key, key) >= 0) {
      s = Status::Corruption("compaction input", "keys out of order");
      break;
    }
    previous_key.assign(key.data(), key.size());
    bool new_user_key = false;
    bool kept_covered = false;
    const bool drop = rules.Drop(&parsed, &key, &value, &new_user_key, &kept_covered);

    // Grandparent overlap so far (for cutting outputs early).
    while (grandparent_index < c.grandparents.size() &&
           icmp_.Compare(key, c.grandparents[grandparent_index]->largest) > 0) {
      if (seen_key) overlapped_bytes += c.grandparents[grandparent_index]->file_size;
      grandparent_index++;
    }
    seen_key = true;
    if (drop) continue;

    // Cut outputs only between user keys: a level never has one user key in two files.
    if (out.open() && new_user_key &&
        (out.FileSize() >= c.max_output_file_size ||
         overlapped_bytes > c.max_grandparent_overlap)) {
      s = out.Finish();
      overlapped_bytes = 0;
      if (!s.ok()) break;
    }
    if (!out.open()) {
      // An output starts at a new user key, after everything already written.
      DCHECK(outputs->empty() || new_user_key);
      DCHECK(outputs->empty() || icmp_.Compare(outputs->back().largest, key) < 0);
      rate_charged = 0;
      uint64_t number = 0;
      {
        InstrumentedMutexLock lock(&mu_);
        number = versions_->NewFileNumber();
      }
      DCHECK(outputs->empty() || outputs->back().number < number);
      s = out.Open(number, key);
      if (!s.ok()) break;
    }
    if (kept_covered) {
      // This output may hold what these tombstones cover: they stay until
      // it is compacted again (VersionSet::ResolveRangeTombstones).
      const uint64_t number = out.number();
      if (kept->empty() || kept->back().first != number) {
        kept->emplace_back(number, std::vector<SequenceNumber>());
      }
      covering.clear();
      rules.tombstones()->CoveringAbove(parsed.user_key, parsed.sequence, &covering);
      std::vector<SequenceNumber>& seqs = kept->back().second;
      for (SequenceNumber seq : covering) {
        if (std::find(seqs.begin(), seqs.end(), seq) == seqs.end()) seqs.push_back(seq);
      }
    }
    s = out.Add(key, value, parsed);
  }
  if (rules.range_deleted() > 0) {
    LSMKV_LOG(info_log_.get(), "compaction dropped %llu entries deleted by range tombstones",
              static_cast<unsigned long long>(rules.range_deleted()));
  }
  if (rules.filtered_values() > 0) {
    LSMKV_LOG(info_log_.get(), "compaction filter %s removed %llu values", filter->Name(),
              static_cast<unsigned long long>(rules.filtered_values()));
  }
  if (s.ok()) s = input->status();
  if (s.ok() && out.open()) s = out.Finish();
  out.AbandonOpen();
  if (!s.ok()) out.RemoveAll();
  return s;
}

Status DBImpl::CompactRange(const std::string* begin, const std::string* end) {
  if (closed_.load(std::memory_order_acquire)) return Status::InvalidArgument("database is closed");
  Status s = Flush();
  if (!s.ok()) return s;
  InstrumentedMutexLock lock(&mu_);
  // Close may have run since Flush returned (versions_ is gone then).
  if (shutting_down_) return Status::InvalidArgument("database is closed");
  // The deepest level holding data in the range: everything ends up there.
  int max_level = 1;
  {
    std::shared_ptr<Version> v = versions_->current();
    std::string_view lo, hi;
    if (begin) lo = *begin;
    if (end) hi = *end;
    for (int level = 1; level < kNumLevels; level++) {
      if (!OverlappingFiles(*v, level, icmp_.user_comparator(), begin ? &lo : nullptr,
                            end ? &hi : nullptr)
               .empty()) {
        max_level = level;
      }
    }
  }
  // With a compaction filter the deepest level is rewritten too, into
  // itself, so that the filter sees every value of the range; so it is with
  // range tombstones, so that the data they delete is dropped (and they are
  // retired) wherever it lies.
  bool tombstones = false;
  {
    std::shared_ptr<Version> v = versions_->current();
    tombstones = !v->range_tombstones().empty();
  }
  const int last_step =
      options_.compaction_filter != nullptr || tombstones ? max_level : max_level - 1;
  for (int level = 0; level <= last_step; level++) {
    ManualCompaction m;
    m.level = level;
    m.bottommost = level == max_level;
    m.begin = begin;
    m.end = end;
    while (manual_ != nullptr && !shutting_down_) bg_cv_.Wait(&mu_);  // one at a time
    manual_ = &m;
    MaybeScheduleBackgroundWork();
    while (!m.done && bg_error_.ok() && !shutting_down_) bg_cv_.Wait(&mu_);
    manual_ = nullptr;
    bg_cv_.SignalAll();
    if (!bg_error_.ok()) return bg_error_;
    if (!m.status.ok()) return m.status;
    if (shutting_down_) return Status::InvalidArgument("database is closed");
  }
  return Status::OK();
}

uint64_t DBImpl::TEST_InvariantChecks(Status* first_violation) {
  InstrumentedMutexLock lock(&mu_);
  *first_violation = first_invariant_violation_;
  return invariant_checks_;
}

Status DBImpl::TEST_CheckInvariants() {
  Status s = CheckInvariantsOfCurrentVersion();
  PurgeObsoleteFilesIfNeeded();  // the version it held may have been the last user of a table
  return s;
}

Status DBImpl::CheckInvariantsOfCurrentVersion() {
  std::shared_ptr<Version> v;
  uint64_t next_file_number = 0;
  {
    InstrumentedMutexLock lock(&mu_);
    if (shutting_down_) return Status::InvalidArgument("database is closed");
    v = versions_->current();
    next_file_number = versions_->NextFileNumber();
  }
  // The metadata first (the part LogAndApply asserts in DCHECK builds), then
  // each table's contents against its metadata.
  Status meta_status = CheckVersionInvariants(*v, icmp_, next_file_number);
  if (!meta_status.ok()) return meta_status;
  for (int level = 0; level < kNumLevels; level++) {
    const std::vector<FileRef>& files = v->files(level);
    for (size_t i = 0; i < files.size(); i++) {
      const FileMetaData& f = *files[i];
      const std::string where = "L" + std::to_string(level) + " table " + std::to_string(f.number);
      std::unique_ptr<Iterator> it(table_cache_->NewIterator(ReadOptions(), f.number, f.file_size));
      uint64_t entries = 0;
      SequenceNumber lo = kMaxSequenceNumber, hi = 0;
      std::string first, last;
      for (it->SeekToFirst(); it->Valid(); it->Next(), entries++) {
        ParsedInternalKey parsed;
        if (!ParseInternalKey(it->key(), &parsed)) return Status::Corruption(where, "bad key");
        if (entries == 0) first.assign(it->key());
        last.assign(it->key());
        lo = std::min(lo, parsed.sequence);
        hi = std::max(hi, parsed.sequence);
      }
      if (!it->status().ok()) return it->status();
      if (entries != f.num_entries || first != f.smallest || last != f.largest ||
          lo != f.smallest_seqno || hi != f.largest_seqno) {
        return Status::Corruption(where, "metadata does not match contents");
      }
    }
  }
  return Status::OK();
}

}  // namespace lsmkv
