// Leveled compaction: merging inputs into the next level in the background,
// manual CompactRange, and the drop rules for old versions and tombstones.
#include <algorithm>

#include "db/compaction.h"
#include "db/db_impl.h"
#include "db/filename.h"
#include "db/merging_iterator.h"
#include "table/table_builder.h"

namespace lsmkv {

bool DBImpl::NeedsCompaction() const {
  const Version& v = *versions_->current();
  for (int level = 0; level < kNumLevels - 1; level++) {
    if (LevelScore(options_, v, level) >= options_.compaction_soft_limit) return true;
  }
  return false;
}

// One step of background compaction: the pending manual request first, else
// the most urgent level. REQUIRES: mu_ held via lock; background thread only.
Status DBImpl::BackgroundCompaction(std::unique_lock<std::mutex>& lock) {
  Compaction c;
  std::shared_ptr<Version> base = versions_->current();
  if (manual_ != nullptr) {
    ManualCompaction* m = manual_;
    const bool picked = PickRangeCompaction(options_, icmp_, *base, m->level, m->begin, m->end, &c);
    m->done = true;  // one level per request; CompactRange walks the levels
    if (!picked) return Status::OK();
  } else if (!PickCompaction(options_, icmp_, *base, compact_cursor_, &c)) {
    return Status::OK();
  }
  return RunCompaction(lock, &c);
}

// REQUIRES: mu_ held via lock; released during the merge.
Status DBImpl::RunCompaction(std::unique_lock<std::mutex>& lock, Compaction* c) {
  const uint64_t start = env_->NowMicros();
  VersionEdit edit;
  LevelStats& stats = level_stats_[c->output_level()];
  if (c->IsTrivialMove()) {
    const FileRef& f = c->inputs[0][0];
    edit.RemoveFile(c->level, f->number);
    edit.AddFile(c->output_level(), *f);
    Status s = versions_->LogAndApply(&edit, &lock);
    if (!s.ok()) return s;
    stats.moves++;
    InstallView();
    LSMKV_LOG(info_log_.get(), "moved table %llu from L%d to L%d",
              static_cast<unsigned long long>(f->number), c->level, c->output_level());
    return Status::OK();
  }

  const SequenceNumber smallest_snapshot =
      snapshots_.empty() ? versions_->LastSequence() : *snapshots_.begin();
  std::shared_ptr<Version> base = versions_->current();
  std::vector<FileMetaData> outputs;
  compacting_level_ = c->level;
  lock.unlock();
  Status s = MergeCompactionInputs(*c, *base, smallest_snapshot, &outputs, &lock);
  if (s.ok() && !outputs.empty()) s = env_->SyncDir(dbname_);
  if (!lock.owns_lock()) lock.lock();
  compacting_level_ = -1;

  if (s.ok()) {
    for (int which = 0; which < 2; which++) {
      for (const FileRef& f : c->inputs[which]) edit.RemoveFile(c->level + which, f->number);
    }
    for (const FileMetaData& out : outputs) edit.AddFile(c->output_level(), out);
    s = versions_->LogAndApply(&edit, &lock);
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
  stats.micros += env_->NowMicros() - start;
  InstallView();
  LSMKV_LOG(info_log_.get(), "compacted %zu+%zu files L%d->L%d: %zu outputs, %llu bytes; %s",
            c->inputs[0].size(), c->inputs[1].size(), c->level, c->output_level(), outputs.size(),
            static_cast<unsigned long long>(written), versions_->current()->LevelSummary().c_str());
  DeleteObsoleteFiles(lock);
  return Status::OK();
}

// Streams the inputs through a merging iterator into new tables, applying the
// drop rules. Runs without the DB mutex (takes it briefly to allocate file
// numbers and to flush a waiting memtable first, which has priority).
Status DBImpl::MergeCompactionInputs(const Compaction& c, const Version& base,
                                     SequenceNumber smallest_snapshot,
                                     std::vector<FileMetaData>* outputs,
                                     std::unique_lock<std::mutex>* lock) {
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

  for (input->SeekToFirst(); input->Valid() && s.ok(); input->Next()) {
    if ((++entries & 0x3ff) == 0) {
      if (shutting_down_flag_.load(std::memory_order_acquire)) {
        s = Status::Aborted("compaction", "database is closing");
        break;
      }
      if (imm_pending_.load(std::memory_order_acquire)) {
        // A frozen memtable waits: flush it first so writers do not stall.
        lock->lock();
        Status fs = imm_.empty() ? Status::OK() : FlushOldestMemTable(*lock);
        lock->unlock();
        if (!fs.ok()) {
          s = fs;
          break;
        }
      }
      if (builder != nullptr) {
        const uint64_t size = builder->FileSize();
        if (size > rate_counted_) RateLimit(size - rate_counted_);
        rate_counted_ = size;
      }
    }
    const std::string_view key = input->key();
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
      rate_counted_ = 0;
      lock->lock();
      meta = FileMetaData();
      meta.number = versions_->NewFileNumber();
      lock->unlock();
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
    s = builder->Add(key, input->value());
  }
  if (s.ok()) s = input->status();
  if (s.ok() && builder != nullptr) s = finish_output();
  if (builder != nullptr) builder->Abandon();
  if (!s.ok()) {
    file.reset();
    for (const FileMetaData& out : *outputs) {
      env_->RemoveFile(TableFileName(dbname_, out.number)).PermitUncheckedError();
    }
    if (meta.number != 0) env_->RemoveFile(TableFileName(dbname_, meta.number)).PermitUncheckedError();
    outputs->clear();
  }
  return s;
}

// Token bucket over compaction and flush writes (Options::rate_limit_bytes_per_sec).
void DBImpl::RateLimit(uint64_t bytes) {
  if (options_.rate_limit_bytes_per_sec == 0) return;
  const uint64_t now = env_->NowMicros();
  const double rate = static_cast<double>(options_.rate_limit_bytes_per_sec);
  rate_tokens_ = std::min(rate, rate_tokens_ + (now - rate_last_micros_) * rate / 1e6);
  rate_last_micros_ = now;
  rate_tokens_ -= static_cast<double>(bytes);
  if (rate_tokens_ < 0) {
    env_->SleepForMicroseconds(static_cast<int>(-rate_tokens_ / rate * 1e6));
  }
}

Status DBImpl::CompactRange(const std::string* begin, const std::string* end) {
  if (closed_.load(std::memory_order_acquire)) return Status::InvalidArgument("database is closed");
  Status s = Flush();
  if (!s.ok()) return s;
  std::unique_lock<std::mutex> lock(mu_);
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
  for (int level = 0; level < max_level; level++) {
    ManualCompaction m;
    m.level = level;
    m.begin = begin;
    m.end = end;
    while (manual_ != nullptr) bg_cv_.wait(lock);  // one manual compaction at a time
    manual_ = &m;
    MaybeScheduleBackgroundWork();
    while (!m.done && bg_error_.ok() && !shutting_down_) bg_cv_.wait(lock);
    manual_ = nullptr;
    bg_cv_.notify_all();
    if (!bg_error_.ok()) return bg_error_;
    if (shutting_down_) return Status::InvalidArgument("database is closed");
  }
  return Status::OK();
}

Status DBImpl::TEST_CheckInvariants() {
  std::shared_ptr<Version> v;
  {
    std::lock_guard<std::mutex> guard(mu_);
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
