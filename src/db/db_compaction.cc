// Leveled compaction: merging inputs into the next level in the background,
// manual CompactRange, and the drop rules for old versions and tombstones.
#include <algorithm>

#include "base/filename.h"
#include "db/compaction.h"
#include "db/db_impl.h"
#include "db/merging_iterator.h"
#include "lsmkv/compaction_filter.h"
#include "table/table_builder.h"

namespace lsmkv {

bool DBImpl::PickNextCompaction(Compaction* c) {
  const Comparator* ucmp = icmp_.user_comparator();
  std::shared_ptr<Version> v = versions_->current();
  if (manual_ != nullptr && !manual_->done && !manual_->in_progress) {
    ManualCompaction* m = manual_;
    const bool picked = PickRangeCompaction(options_, icmp_, *v, m->level, m->begin, m->end, c);
    if (picked && m->bottommost) {
      c->same_level_output = true;  // the level is the deepest holding the range
      c->inputs[1].clear();
      c->grandparents.clear();
    }
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
  return false;
}

// Runs one compaction picked (and registered) by MaybeScheduleBackgroundWork
// on its own thread, then lets the scheduler start whatever is due next.
void DBImpl::BackgroundCompactionCall(std::shared_ptr<Compaction> c) {
  InstrumentedMutexLock lock(&mu_);
  if (!shutting_down_ && bg_error_.ok()) {
    Status s = RunCompaction(c.get());
    if (!s.ok() && !(s.IsAborted() && shutting_down_)) {
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
Status DBImpl::RunCompaction(Compaction* c) {
  const uint64_t start = env_->NowMicros();
  VersionEdit edit;
  LevelStats& stats = level_stats_[c->output_level()];
  if (c->IsTrivialMove()) {
    const FileRef& f = c->inputs[0][0];
    edit.RemoveFile(c->level, f->number);
    edit.AddFile(c->output_level(), *f);
    Status s = versions_->LogAndApply(&edit);
    if (!s.ok()) return s;
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
  std::shared_ptr<Version> base = versions_->current();
  std::vector<FileMetaData> outputs;
  mu_.Unlock();
  Status s = MergeCompactionInputs(*c, *base, snapshots, &outputs);
  if (s.ok() && !outputs.empty()) s = env_->SyncDir(dbname_);
  mu_.Lock();

  if (s.ok()) {
    for (int which = 0; which < 2; which++) {
      for (const FileRef& f : c->inputs[which]) edit.RemoveFile(c->level + which, f->number);
    }
    for (const FileMetaData& out : outputs) edit.AddFile(c->output_level(), out);
    s = versions_->LogAndApply(&edit);
  }
  if (!s.ok()) {
    // Outputs the MANIFEST may not know about are removed at the next Open.
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

// Streams the inputs through a merging iterator into new tables, applying the
// drop rules and the compaction filter. Runs without the DB mutex (takes it
// briefly to allocate file numbers).
Status DBImpl::MergeCompactionInputs(const Compaction& c, const Version& base,
                                     SnapshotBounds snapshots, std::vector<FileMetaData>* outputs) {
  const SequenceNumber smallest_snapshot = snapshots.smallest;
  const CompactionFilter* filter = options_.compaction_filter.get();
  std::string filtered_key;  // a value the filter removed, re-keyed as a deletion
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

  std::unique_ptr<WritableFile> file;
  std::unique_ptr<TableBuilder> builder;
  FileMetaData meta;
  Status s;
  auto finish_output = [&]() -> Status {
    Status fs = builder->Finish();
    if (fs.ok()) fs = file->Close();
    meta.file_size = builder->FileSize();
    meta.num_entries = builder->NumEntries();
    builder.reset();
    file.reset();
    if (fs.ok()) outputs->push_back(meta);
    return fs;
  };
  std::string current_user_key;
  bool has_current_user_key = false;
  SequenceNumber last_sequence_for_key = kMaxSequenceNumber;
  size_t grandparent_index = 0;
  uint64_t overlapped_bytes = 0;
  bool seen_key = false;
  uint64_t entries = 0;
  uint64_t rate_charged = 0;
  uint64_t filtered_values = 0;  // bytes of the current output passed through the rate limiter

  for (input->SeekToFirst(); input->Valid() && s.ok(); input->Next()) {
    if ((++entries & 0x3ff) == 0) {
      if (shutting_down_flag_.load(std::memory_order_acquire)) {
        s = Status::Aborted("compaction", "database is closing");
        break;
      }
      if (builder != nullptr && builder->FileSize() >= rate_charged + kRateLimitChunk) {
        rate_limiter_.Request(builder->FileSize() - rate_charged);
        rate_charged = builder->FileSize();
      }
    }
    std::string_view key = input->key();
    std::string_view value = input->value();
    ParsedInternalKey parsed;
    if (!ParseInternalKey(key, &parsed)) {
      s = Status::Corruption("compaction input", "unparsable internal key");
      break;
    }
    const bool new_user_key =
        !has_current_user_key || ucmp->Compare(parsed.user_key, current_user_key) != 0;
    if (new_user_key) {
      current_user_key.assign(parsed.user_key);
      has_current_user_key = true;
      last_sequence_for_key = kMaxSequenceNumber;
    }
    bool drop = false;
    if (last_sequence_for_key <= smallest_snapshot) {
      drop = true;  // a newer version of this key is visible to every snapshot
    } else if (parsed.type == kTypeDeletion && parsed.sequence <= smallest_snapshot &&
               c.IsBaseLevelForKey(base, parsed.user_key, ucmp)) {
      drop = true;  // nothing older below can be uncovered, and every snapshot sees the delete
    }
    if (!drop && filter != nullptr && parsed.type == kTypeValue &&
        (!snapshots.any || parsed.sequence > snapshots.newest) &&
        filter->Filter(c.output_level(), parsed.user_key, value) ==
            CompactionFilter::Decision::kRemove) {
      // No snapshot can read this value: it becomes a deletion at its own
      // sequence, which hides older versions like a Delete would.
      filtered_key.clear();
      AppendInternalKey(&filtered_key, parsed.user_key, parsed.sequence, kTypeDeletion);
      key = filtered_key;
      value = std::string_view();
      parsed.type = kTypeDeletion;
      filtered_values++;
      if (parsed.sequence <= smallest_snapshot &&
          c.IsBaseLevelForKey(base, parsed.user_key, ucmp)) {
        drop = true;
      }
    }
    last_sequence_for_key = parsed.sequence;

    // Grandparent overlap so far (for cutting outputs early).
    while (grandparent_index < c.grandparents.size() &&
           icmp_.Compare(key, c.grandparents[grandparent_index]->largest) > 0) {
      if (seen_key) overlapped_bytes += c.grandparents[grandparent_index]->file_size;
      grandparent_index++;
    }
    seen_key = true;
    if (drop) continue;

    // Cut outputs only between user keys: a level never has one user key in two files.
    if (builder != nullptr && new_user_key &&
        (builder->FileSize() >= c.max_output_file_size ||
         overlapped_bytes > c.max_grandparent_overlap)) {
      s = finish_output();
      overlapped_bytes = 0;
      if (!s.ok()) break;
    }
    if (builder == nullptr) {
      rate_charged = 0;
      meta = FileMetaData();
      {
        InstrumentedMutexLock lock(&mu_);
        meta.number = versions_->NewFileNumber();
      }
      s = env_->NewWritableFile(TableFileName(dbname_, meta.number), &file);
      if (!s.ok()) break;
      builder = std::make_unique<TableBuilder>(table_options_, file.get());
      meta.smallest.assign(key.data(), key.size());
      meta.smallest_seqno = kMaxSequenceNumber;
    }
    meta.largest.assign(key.data(), key.size());
    meta.smallest_seqno = std::min(meta.smallest_seqno, parsed.sequence);
    meta.largest_seqno = std::max(meta.largest_seqno, parsed.sequence);
    if (parsed.type == kTypeDeletion) meta.num_deletions++;
    s = builder->Add(key, value);
  }
  if (filtered_values > 0) {
    LSMKV_LOG(info_log_.get(), "compaction filter %s removed %llu values", filter->Name(),
              static_cast<unsigned long long>(filtered_values));
  }
  if (s.ok()) s = input->status();
  if (s.ok() && builder != nullptr) s = finish_output();
  if (builder != nullptr) builder->Abandon();
  if (!s.ok()) {
    file.reset();
    for (const FileMetaData& out : *outputs) {
      env_->RemoveFile(TableFileName(dbname_, out.number)).PermitUncheckedError();
    }
    if (meta.number != 0)
      env_->RemoveFile(TableFileName(dbname_, meta.number)).PermitUncheckedError();
    outputs->clear();
  }
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
  // itself, so that the filter sees every value of the range.
  const int last_step = options_.compaction_filter != nullptr ? max_level : max_level - 1;
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
  {
    InstrumentedMutexLock lock(&mu_);
    if (shutting_down_) return Status::InvalidArgument("database is closed");
    v = versions_->current();
  }
  const Comparator* ucmp = icmp_.user_comparator();
  for (int level = 0; level < kNumLevels; level++) {
    const std::vector<FileRef>& files = v->files(level);
    for (size_t i = 0; i < files.size(); i++) {
      const FileMetaData& f = *files[i];
      const std::string where = "L" + std::to_string(level) + " table " + std::to_string(f.number);
      if (level > 0 && i > 0 &&
          ucmp->Compare(ExtractUserKey(files[i - 1]->largest), ExtractUserKey(f.smallest)) >= 0) {
        return Status::Corruption(where, "overlaps the previous file of its level");
      }
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
