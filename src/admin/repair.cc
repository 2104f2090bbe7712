// RepairDB (lsmkv/tools.h): rebuilds a damaged database from what is
// readable in its tables and write-ahead logs.
//
// Steps: (1) read the old MANIFEST, if any, and decide whether to trust it;
// (2) walk every source table block by block (located through its index,
// or through its salvage block when the index is unusable), salvaging the
// intact entry groups of a damaged block (format version 2) and noting the
// key ranges of what was lost; (3) replay the source WALs with
// skip-corrupted semantics into a memtable; (4) merge everything (newest
// version per user key; deletions, point and range, applied; keys that a lost block or group
// may have held a newer version of are withheld) into new tables at the
// last level; (5) write a
// new empty WAL and a new MANIFEST, hard-link every old file into lost/,
// switch CURRENT, then remove the old names.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <set>

#include "admin/manifest_reader.h"
#include "admin/table_walker.h"
#include "admin/tool_util.h"
#include "base/dbformat.h"
#include "base/filename.h"
#include "db/merging_iterator.h"
#include "db/range_tombstones.h"
#include "db/write_batch_internal.h"
#include "memtable/memtable.h"
#include "table/table.h"
#include "table/table_builder.h"
#include "table/table_options.h"
#include "wal/batch_reader.h"
#include "wal/log_writer.h"

namespace lsmkv {

namespace {

using tools::TableWalker;

std::string Num(uint64_t n) { return std::to_string(n); }

// A user-key range whose table data was lost, with the newest sequence
// number that data may have had. A surviving version (user_key, s) in the
// range may be stale iff s < that bound (sequence numbers are unique: a
// version with the bound's own sequence is the lost entry itself, or newer).
struct LostRange {
  bool lo_unbounded = false, hi_unbounded = false;
  std::string lo, hi;  // inclusive user keys
  SequenceNumber max_sequence = kMaxSequenceNumber;
  // For user key lo only: the lost block's entries follow the previous
  // block's separator (lo, lo_max_sequence) in internal-key order, so their
  // versions of lo are older than that.
  SequenceNumber lo_max_sequence = kMaxSequenceNumber;
};

// Answers "may a lost entry be newer than (user_key, sequence)?" for user
// keys presented in increasing order.
class LostRangeIndex {
 public:
  LostRangeIndex(std::vector<LostRange> ranges, const Comparator* ucmp)
      : ranges_(std::move(ranges)), ucmp_(ucmp) {
    std::sort(ranges_.begin(), ranges_.end(), [this](const LostRange& a, const LostRange& b) {
      if (a.lo_unbounded != b.lo_unbounded) return a.lo_unbounded;
      return ucmp_->Compare(a.lo, b.lo) < 0;
    });
  }
  bool Shadows(std::string_view user_key, SequenceNumber sequence) {
    while (next_ < ranges_.size() &&
           (ranges_[next_].lo_unbounded || ucmp_->Compare(ranges_[next_].lo, user_key) <= 0)) {
      active_.push_back(&ranges_[next_++]);
    }
    active_.erase(std::remove_if(active_.begin(), active_.end(),
                                 [&](const LostRange* r) {
                                   return !r->hi_unbounded && ucmp_->Compare(r->hi, user_key) < 0;
                                 }),
                  active_.end());
    for (const LostRange* r : active_) {
      SequenceNumber bound = r->max_sequence;
      if (!r->lo_unbounded && ucmp_->Compare(r->lo, user_key) == 0) {
        bound = std::min(bound, r->lo_max_sequence);
      }
      if (sequence < bound) return true;
    }
    return false;
  }

 private:
  std::vector<LostRange> ranges_;
  const Comparator* ucmp_;
  size_t next_ = 0;
  std::vector<const LostRange*> active_;
};

// How the merge reads one data block of a source table: as a whole
// (verified by its checksum) or, format version 2, salvaged entry group by
// entry group; and how many entries the scan found in it.
struct BlockPlan {
  size_t index = 0;
  bool salvaged = false;
  size_t entries = 0;
};

// The readable blocks of one table, entry by entry. Forward only
// (SeekToFirst and Next): all a merge needs. A block that does not give
// the scan's entries again is an error, never skipped.
class SalvageIterator final : public Iterator {
 public:
  SalvageIterator(const TableWalker* walker, std::vector<BlockPlan> blocks,
                  tools::Progress* progress)
      : walker_(walker), blocks_(std::move(blocks)), progress_(progress) {}

  bool Valid() const override { return status_.ok() && pos_ < entries_.size(); }
  void SeekToFirst() override {
    status_ = Status::OK();
    block_ = 0;
    Load();
  }
  void Next() override {
    if (++pos_ == entries_.size()) {
      block_++;
      Load();
    }
  }
  void SeekToLast() override { Unsupported(); }
  void Seek(std::string_view) override { Unsupported(); }
  void SeekForPrev(std::string_view) override { Unsupported(); }
  void Prev() override { Unsupported(); }
  std::string_view key() const override { return entries_[pos_].key; }
  std::string_view value() const override { return entries_[pos_].value; }
  Status status() const override { return status_; }

 private:
  void Load() {
    entries_.clear();
    pos_ = 0;
    for (; block_ < blocks_.size(); block_++) {
      const BlockPlan& plan = blocks_[block_];
      Status s;
      if (plan.salvaged) {
        TableWalker::BlockSalvage salvage;
        s = walker_->SalvageDataBlock(plan.index, &salvage);
        entries_ = std::move(salvage.entries);
      } else {
        s = walker_->ReadDataBlock(plan.index, &entries_);
      }
      progress_->Add(walker_->blocks()[plan.index].handle.size() + kBlockTrailerSize);
      if (s.ok() && entries_.size() != plan.entries) {
        s = Status::Corruption("data block " + std::to_string(plan.index) + " gave " +
                               std::to_string(entries_.size()) + " entries, " +
                               std::to_string(plan.entries) + " before");
      }
      if (!s.ok()) {
        status_ = Status::IOError(walker_->path(), "changed during the repair: " + s.ToString());
        entries_.clear();
        return;
      }
      if (!entries_.empty()) return;
    }
  }
  void Unsupported() {
    entries_.clear();
    status_ = Status::NotSupported("salvage iterator is forward only");
  }

  const TableWalker* walker_;
  const std::vector<BlockPlan> blocks_;
  tools::Progress* progress_;
  size_t block_ = 0;
  std::vector<TableWalker::Entry> entries_;
  size_t pos_ = 0;
  Status status_;
};

// The user-key ranges a table lost, found by walking it in key order: a
// gap (lost entry groups or blocks) lies between the last key known before
// it and the first key known after it — entries read intact, and block
// separators (>= every key of their block, < every key of the next).
class GapTracker {
 public:
  GapTracker(SequenceNumber table_max, std::vector<LostRange>* out)
      : table_max_(table_max), out_(out) {}
  // An internal key known to be in the table's key order here.
  void Known(std::string_view key) {
    if (in_gap_) {
      gap_.hi = std::string(ExtractUserKey(key));
      out_->push_back(std::move(gap_));
      in_gap_ = false;
    }
    known_.assign(key.data(), key.size());
  }
  // Entries were lost here.
  void Lost() {
    if (in_gap_) return;
    in_gap_ = true;
    gap_ = LostRange();
    gap_.max_sequence = table_max_;
    if (known_.empty()) {
      gap_.lo_unbounded = true;
    } else {
      // Lost entries follow known_ in internal-key order: their versions of
      // its user key are older than it.
      gap_.lo = std::string(ExtractUserKey(known_));
      gap_.lo_max_sequence = ExtractTag(known_) >> 8;
    }
  }
  // The end of the table; largest: its last key, if known.
  void Finish(const std::string* largest) {
    if (!in_gap_) return;
    if (largest != nullptr) {
      gap_.hi = std::string(ExtractUserKey(*largest));
    } else {
      gap_.hi_unbounded = true;
    }
    out_->push_back(std::move(gap_));
    in_gap_ = false;
  }

 private:
  const SequenceNumber table_max_;
  std::vector<LostRange>* const out_;
  std::string known_;  // internal keys are never empty
  bool in_gap_ = false;
  LostRange gap_;
};

// A memtable referenced by this tool only.
struct MemTableUnref {
  void operator()(MemTable* m) const { m->Unref(); }
};
using MemTablePtr = std::unique_ptr<MemTable, MemTableUnref>;

class Repairer {
 public:
  Repairer(const std::string& dbname, const RepairOptions& options, RepairReport* report)
      : dbname_(dbname),
        options_(options.db_options),
        env_(options_.env != nullptr ? options_.env : Env::Default()),
        progress_fn_(options.progress),
        report_(report),
        icmp_(options_.comparator != nullptr ? options_.comparator : BytewiseComparator()) {
    table_options_ = TableOptionsFromOptions(options_, &icmp_);
  }

  Status Run();

 private:
  Status RunLocked();
  struct TableSource {
    uint64_t number = 0;
    std::unique_ptr<TableWalker> walker;
    std::vector<BlockPlan> blocks;
  };

  void ReadOldManifest();
  void SelectSources(std::vector<uint64_t>* tables, std::vector<uint64_t>* logs);
  const FileMetaData* KnownMeta(uint64_t number) const;
  void AddWholeFileLoss(uint64_t number, const std::string& why, RepairFileReport* r);
  Status ScanTable(uint64_t number);
  // Replays the WALs numbers (oldest first) into mem_.
  Status ReplayLogs(const std::vector<uint64_t>& numbers);
  Status WriteMerged();
  Status AddOutput(std::string_view key, std::string_view value);
  Status FinishOutput();
  Status Install();
  Status RetireOldFiles(std::vector<std::string>* linked);
  void NoteSequence(SequenceNumber s) { max_sequence_ = std::max(max_sequence_, s); }

  const std::string dbname_;
  const Options options_;
  Env* const env_;
  const ProgressFunction progress_fn_;
  RepairReport* const report_;
  const InternalKeyComparator icmp_;
  TableOptions table_options_;

  tools::DbFiles files_;  // as found, before the repair wrote anything
  tools::ManifestContents old_;
  bool have_old_ = false;
  uint64_t next_number_ = 1;
  SequenceNumber max_sequence_ = 0;
  std::unique_ptr<tools::Progress> progress_;

  std::vector<TableSource> tables_;
  std::vector<LostRange> lost_ranges_;
  MemTablePtr mem_;
  SequenceNumber mem_last_sequence_ = 0;

  // The output table being written, and the finished ones.
  std::unique_ptr<WritableFile> out_file_;
  std::unique_ptr<TableBuilder> builder_;
  FileMetaData out_meta_;
  std::vector<FileMetaData> outputs_;
};

const FileMetaData* Repairer::KnownMeta(uint64_t number) const {
  if (!have_old_) return nullptr;
  auto it = old_.ever_added.find(number);
  return it == old_.ever_added.end() ? nullptr : &it->second;
}

void Repairer::ReadOldManifest() {
  std::string name;
  uint64_t number = 0;
  FileType type;
  Status s = ReadCurrentFile(env_, dbname_, &name);
  if (!s.ok() || !ParseFileName(name, &number, &type) || type != FileType::kDescriptorFile) {
    if (files_.manifests.empty()) {
      report_->warnings.push_back(
          "no usable CURRENT and no MANIFEST: every table and WAL present "
          "was salvaged");
      return;
    }
    number = files_.manifests.rbegin()->first;
    name = files_.manifests.rbegin()->second;
    report_->warnings.push_back("CURRENT is missing or damaged (" + s.ToString() +
                                "); read the newest MANIFEST present, " + name);
  }
  s = tools::ReadManifest(env_, dbname_ + "/" + name, number, &old_, nullptr,
                          icmp_.user_comparator());
  if (!s.ok()) {
    report_->warnings.push_back(name + " cannot be read: " + s.ToString());
    return;
  }
  have_old_ = true;
  report_->old_manifest = name;
  // Numbers and sequences are never reused, whatever else is wrong with it.
  if (old_.has_next_file_number) next_number_ = std::max(next_number_, old_.next_file_number);
  if (old_.has_last_sequence) NoteSequence(old_.last_sequence);
  std::string why_not;
  if (!old_.damage.empty()) {
    why_not = old_.damage.front();
  } else if (old_.comparator != icmp_.user_comparator()->Name()) {
    why_not = "it names comparator " + tools::EscapeAll(old_.comparator);
  } else if (!tools::CheckLevels(old_, icmp_).empty()) {
    why_not = tools::CheckLevels(old_, icmp_).front();
  } else if (old_.log_number != 0 && files_.logs.count(old_.log_number) == 0) {
    why_not = "the WAL it needs, " + LogFileName(dbname_, old_.log_number) +
              ", is missing (edits were lost)";
  }
  if (!why_not.empty()) {
    report_->warnings.push_back(
        name + " is damaged (" + why_not +
        "): every table and WAL present was salvaged, so data deleted long ago may reappear "
        "if an obsolete file was still present");
    return;
  }
  report_->old_manifest_trusted = true;
}

void Repairer::SelectSources(std::vector<uint64_t>* tables, std::vector<uint64_t>* logs) {
  const bool trusted = report_->old_manifest_trusted;
  for (const auto& [number, name] : files_.tables) {
    if (!trusted || old_.live.count(number) != 0) {
      tables->push_back(number);
    } else {
      RepairFileReport r;
      r.file = name;
      r.outcome = "not needed";
      r.records_lost = 0;
      r.details.push_back("not referenced by " + report_->old_manifest +
                          " (left by an interrupted flush or compaction)");
      report_->files.push_back(std::move(r));
    }
  }
  if (trusted) {
    for (const auto& [number, live] : old_.live) {
      if (files_.tables.count(number) != 0) continue;
      RepairFileReport r;
      r.file = TableFileName("", number).substr(1);
      AddWholeFileLoss(number, "in " + report_->old_manifest + " but missing from the directory",
                       &r);
      r.outcome = "missing";
      report_->files.push_back(std::move(r));
    }
  }
  for (const auto& [number, name] : files_.logs) {
    if (!trusted || number >= old_.log_number) {
      logs->push_back(number);
    } else {
      RepairFileReport r;
      r.file = name;
      r.outcome = "not needed";
      r.records_lost = 0;
      r.details.push_back("older than the log number of " + report_->old_manifest +
                          " (its contents are in tables)");
      report_->files.push_back(std::move(r));
    }
  }
}

// Records that nothing of table `number` could be read, and protects its
// key range (if known) against stale older versions.
void Repairer::AddWholeFileLoss(uint64_t number, const std::string& why, RepairFileReport* r) {
  r->details.push_back(why);
  const FileMetaData* meta = KnownMeta(number);
  if (meta == nullptr) {
    report_->warnings.push_back(
        r->file +
        ": its key range is unknown (no MANIFEST entry): keys it held a newer "
        "version of may show an older one");
    return;
  }
  r->records_lost = meta->num_entries;
  LostRange range;
  range.lo = std::string(ExtractUserKey(meta->smallest));
  range.hi = std::string(ExtractUserKey(meta->largest));
  range.max_sequence = meta->largest_seqno;
  lost_ranges_.push_back(std::move(range));
}

Status Repairer::ScanTable(uint64_t number) {
  const std::string path = TableFileName(dbname_, number);
  RepairFileReport r;
  r.file = files_.tables[number];
  const uint64_t size = tools::FileSizeOrZero(env_, path);
  auto walker = std::make_unique<TableWalker>(&icmp_);
  Status s = walker->Open(env_, path);
  if (!s.ok()) {
    if (!s.IsCorruption()) return s;
    r.outcome = "unreadable";
    r.bytes_lost = size;
    AddWholeFileLoss(number, s.ToString(), &r);
    report_->files.push_back(std::move(r));
    progress_->Add(2 * size);
    return Status::OK();
  }
  const FileMetaData* meta = KnownMeta(number);
  TableSource source;
  source.number = number;
  if (!walker->footer_damage().ok()) {
    r.details.push_back(walker->footer_damage().ToString() + " (no entry lost to it)");
  }
  if (!walker->index_damage().ok()) {
    r.details.push_back(walker->index_damage().ToString() + " (no entry lost to it)");
  }
  // The newest sequence a lost block or group may hold: only the MANIFEST
  // knows it (the surviving entries say nothing about the lost ones).
  const SequenceNumber table_max = meta != nullptr ? meta->largest_seqno : kMaxSequenceNumber;
  GapTracker gaps(table_max, &lost_ranges_);
  std::vector<TableWalker::Entry> entries;
  bool lost_any = false;  // a whole block or an entry group
  for (size_t i = 0; i < walker->blocks().size(); i++) {
    const TableWalker::DataBlock& block = walker->blocks()[i];
    entries.clear();
    s = walker->ReadDataBlock(i, &entries);
    if (s.ok()) {
      source.blocks.push_back(BlockPlan{i, false, entries.size()});
      r.records_salvaged += entries.size();
      for (const auto& e : entries) NoteSequence(ExtractTag(e.key) >> 8);
      if (!entries.empty()) {
        gaps.Known(entries.front().key);
        gaps.Known(entries.back().key);
      }
    } else {
      if (!s.IsCorruption()) return s;
      // Format version 2: keep the entry groups whose checksums still match.
      TableWalker::BlockSalvage salvage;
      Status ss = walker->SalvageDataBlock(i, &salvage);
      if (!ss.ok() && !ss.IsCorruption() && !ss.IsNotFound()) return ss;
      if (ss.ok() && !salvage.entries.empty()) {
        source.blocks.push_back(BlockPlan{i, true, salvage.entries.size()});
        r.records_salvaged += salvage.entries.size();
        for (const auto& e : salvage.entries) NoteSequence(ExtractTag(e.key) >> 8);
        std::string lost;
        for (size_t g = 0; g < salvage.groups.size(); g++) {
          const TableWalker::Group& group = salvage.groups[g];
          if (group.intact) {
            gaps.Known(salvage.entries[group.first_entry].key);
            gaps.Known(salvage.entries[group.first_entry + group.num_entries - 1].key);
            continue;
          }
          gaps.Lost();
          lost += (lost.empty() ? "group " : ", group ") + Num(g) + " (" + Num(group.length) +
                  " bytes, " + group.why_lost + ")";
        }
        r.bytes_lost += salvage.bytes_lost;
        lost_any = lost_any || salvage.groups_lost > 0;
        r.details.push_back(s.ToString() + "; salvaged " + Num(salvage.entries.size()) +
                            " entries of " + Num(salvage.groups.size() - salvage.groups_lost) +
                            " intact entry groups, lost " + Num(salvage.groups_lost) + " of " +
                            Num(salvage.groups.size()) + (salvage.groups_lost > 0 ? ": " : "") +
                            lost);
      } else {
        gaps.Lost();
        lost_any = true;
        r.bytes_lost += block.handle.size() + kBlockTrailerSize;
        r.details.push_back(
            s.ToString() +
            (ss.ok() ? "; every entry group lost" : "; not salvaged: " + ss.ToString()) +
            "; the whole block is lost");
      }
    }
    if (!block.separator.empty()) gaps.Known(block.separator);
  }
  uint64_t total = 0;
  bool total_known = false;
  if (walker->has_properties()) {
    total = walker->properties().num_entries;
    total_known = true;
  } else {
    r.details.push_back(walker->properties_status().ToString());
    if (meta != nullptr) {
      total = meta->num_entries;
      total_known = true;
    }
  }
  // After the last block: up to the table's last key, if known.
  std::string largest;
  if (walker->has_properties() && walker->properties().num_entries > 0) {
    largest = walker->properties().largest_key;
  } else if (meta != nullptr) {
    largest = meta->largest;
  }
  gaps.Finish(largest.empty() ? nullptr : &largest);
  if (!lost_any) {
    r.records_lost = 0;
  } else if (total_known && total >= r.records_salvaged) {
    r.records_lost = total - r.records_salvaged;
  }
  r.outcome = lost_any ? "partly salvaged" : "salvaged";
  report_->files.push_back(std::move(r));
  source.walker = std::move(walker);
  tables_.push_back(std::move(source));
  progress_->Add(size);
  return Status::OK();
}

// The repair policy over the WAL events: skip-corrupted replay into mem_;
// each log gets a file report of what was salvaged and lost.
Status Repairer::ReplayLogs(const std::vector<uint64_t>& numbers) {
  log::BatchReader reader(env_, dbname_, numbers);
  log::WalEvent e;
  WriteBatch batch;
  RepairFileReport r;  // of the log being read
  uint64_t regions = 0, undecodable = 0;
  while (reader.Next(&e)) {
    switch (e.type) {
      case log::WalEvent::Type::kLogUnreadable:
        return e.status;
      case log::WalEvent::Type::kLogStart:
        r = RepairFileReport();
        r.file = files_.logs[e.log_number];
        regions = undecodable = 0;
        break;
      case log::WalEvent::Type::kDropped:
        r.bytes_lost += e.bytes;
        r.details.push_back(tools::DescribeWalDrop(e));
        regions++;
        break;
      case log::WalEvent::Type::kBadBatch:
        undecodable++;
        r.bytes_lost += e.bytes;
        r.details.push_back("record at offset " + Num(e.offset) +
                            ": not a valid write batch: " + e.status.ToString());
        break;
      case log::WalEvent::Type::kHole:  // Not a loss of this log: its tail is reported.
        break;
      case log::WalEvent::Type::kBatch: {
        if (e.count == 0) break;
        const SequenceNumber last = e.sequence + e.count - 1;
        NoteSequence(last);
        if (e.sequence <= mem_last_sequence_) {
          // Replayed already (or out of order): inserting it again could put
          // two entries with one sequence number into the memtable.
          report_->warnings.push_back(r.file + ": record at offset " + Num(e.offset) +
                                      " repeats sequence " + Num(e.sequence) + " (not above " +
                                      Num(mem_last_sequence_) + "); skipped");
          break;
        }
        Status s = WriteBatchInternal::SetContents(&batch, e.record);
        if (s.ok()) s = WriteBatchInternal::InsertInto(&batch, mem_.get());
        if (!s.ok()) return s;
        mem_last_sequence_ = last;
        r.records_salvaged += e.count;
        break;
      }
      case log::WalEvent::Type::kTornTail:
        // A write cut by a crash before it was complete, hence before it was
        // acknowledged as synced: Open drops it the same way. Not a loss.
        r.details.push_back("incomplete last record (" + Num(e.bytes) +
                            " bytes), cut by a crash; dropped as Open would");
        break;
      case log::WalEvent::Type::kLogEnd: {
        if (!e.status.ok()) return e.status;
        const bool lost = regions > 0 || undecodable > 0;
        if (regions == 0) r.records_lost = undecodable;
        r.outcome =
            !lost ? "salvaged" : (r.records_salvaged > 0 ? "partly salvaged" : "unreadable");
        report_->files.push_back(std::move(r));
        progress_->Add(tools::FileSizeOrZero(env_, std::string(e.path)));
        break;
      }
    }
  }
  return Status::OK();
}

Status Repairer::AddOutput(std::string_view key, std::string_view value) {
  if (builder_ == nullptr) {
    out_meta_ = FileMetaData();
    out_meta_.number = next_number_++;
    Status s = env_->NewWritableFile(TableFileName(dbname_, out_meta_.number), &out_file_);
    if (!s.ok()) return s;
    builder_ = std::make_unique<TableBuilder>(table_options_, out_file_.get());
    out_meta_.smallest.assign(key.data(), key.size());
    out_meta_.smallest_seqno = kMaxSequenceNumber;
  }
  const SequenceNumber seq = ExtractTag(key) >> 8;
  out_meta_.smallest_seqno = std::min(out_meta_.smallest_seqno, seq);
  out_meta_.largest_seqno = std::max(out_meta_.largest_seqno, seq);
  out_meta_.largest.assign(key.data(), key.size());
  Status s = builder_->Add(key, value);
  if (!s.ok()) return s;
  report_->entries_written++;
  if (builder_->FileSize() >= options_.target_file_size) return FinishOutput();
  return Status::OK();
}

Status Repairer::FinishOutput() {
  if (builder_ == nullptr) return Status::OK();
  Status s = builder_->Finish();  // syncs
  if (s.ok()) s = out_file_->Close();
  out_meta_.num_entries = builder_->NumEntries();
  out_meta_.file_size = builder_->FileSize();
  builder_.reset();
  out_file_.reset();
  const std::string path = TableFileName(dbname_, out_meta_.number);
  if (s.ok()) {
    // Read it back: a table that does not open is never installed.
    std::unique_ptr<RandomAccessFile> file;
    std::unique_ptr<Table> table;
    s = env_->NewRandomAccessFile(path, &file);
    if (s.ok()) s = Table::Open(table_options_, std::move(file), out_meta_.file_size, path, &table);
  }
  if (!s.ok()) {
    env_->RemoveFile(path).PermitUncheckedError();
    return s;
  }
  report_->tables_written++;
  report_->bytes_written += out_meta_.file_size;
  outputs_.push_back(out_meta_);
  return Status::OK();
}

Status Repairer::WriteMerged() {
  std::vector<std::unique_ptr<Iterator>> children;
  for (TableSource& t : tables_) {
    children.emplace_back(new SalvageIterator(t.walker.get(), t.blocks, progress_.get()));
  }
  children.emplace_back(mem_->NewIterator());
  std::unique_ptr<Iterator> it(NewMergingIterator(&icmp_, std::move(children)));
  LostRangeIndex lost(lost_ranges_, icmp_.user_comparator());
  // Range deletions, from the old MANIFEST (whether trusted or not: each was
  // a committed deletion) and from the WALs: applied here, since the new
  // MANIFEST records none.
  std::vector<RangeTombstone> deletions;
  if (have_old_) {
    for (const auto& [seq, t] : old_.range_tombstones) deletions.push_back(t);
  }
  mem_->ForEachRangeTombstone(
      [&](SequenceNumber seq, std::string_view begin, std::string_view end) {
        if (icmp_.user_comparator()->Compare(begin, end) < 0) {
          deletions.push_back(RangeTombstone{seq, std::string(begin), std::string(end)});
        }
      });
  const RangeTombstoneSet range_deleted(icmp_.user_comparator(), deletions);
  std::string user_key;
  bool have_key = false;
  Status s;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ParsedInternalKey parsed;
    if (!ParseInternalKey(it->key(), &parsed)) {
      return Status::Corruption("repair", "merged entry is not a valid internal key");
    }
    if (have_key && parsed.user_key == user_key) {
      report_->superseded_dropped++;  // an older version of a key already decided
      continue;
    }
    user_key.assign(parsed.user_key.data(), parsed.user_key.size());
    have_key = true;
    if (lost.Shadows(parsed.user_key, parsed.sequence)) {
      report_->keys_withheld++;
      continue;
    }
    if (parsed.type == kTypeDeletion ||
        range_deleted.Covers(parsed.user_key, parsed.sequence, kMaxSequenceNumber)) {
      report_->superseded_dropped++;  // nothing older survives below the last level
      continue;
    }
    s = AddOutput(it->key(), it->value());
    if (!s.ok()) return s;
  }
  if (!it->status().ok()) return it->status();
  return FinishOutput();
}

// Hard-links every file found before the repair into lost/ (renaming it there
// when links are not possible). *linked receives the names whose original
// must be removed once CURRENT names the new MANIFEST.
Status Repairer::RetireOldFiles(std::vector<std::string>* linked) {
  const std::string lost = dbname_ + "/lost";
  Status s = env_->CreateDir(lost);
  if (!s.ok()) return s;
  report_->lost_dir = lost;
  std::vector<std::string> names;
  for (const auto* group : {&files_.tables, &files_.logs, &files_.manifests, &files_.temps}) {
    for (const auto& [number, name] : *group) names.push_back(name);
  }
  for (const std::string& name : names) {
    std::string target = lost + "/" + name;
    for (int i = 1; env_->FileExists(target); i++) target = lost + "/" + name + "." + Num(i);
    const std::string source = dbname_ + "/" + name;
    if (env_->LinkFile(source, target).ok()) {
      linked->push_back(source);
    } else {
      s = env_->RenameFile(source, target);
      if (!s.ok()) return s;
    }
  }
  s = env_->SyncDir(lost);
  if (s.ok()) s = env_->SyncDir(dbname_);
  return s;
}

Status Repairer::Install() {
  // An empty WAL that the new MANIFEST names: nothing older is replayed again.
  const uint64_t log_number = next_number_++;
  std::unique_ptr<WritableFile> log_file;
  Status s = env_->NewWritableFile(LogFileName(dbname_, log_number), &log_file);
  if (s.ok()) s = log_file->Sync();
  if (s.ok()) s = log_file->Close();
  if (!s.ok()) return s;

  const uint64_t manifest_number = next_number_++;
  VersionEdit edit;
  edit.SetComparatorName(icmp_.user_comparator()->Name());
  edit.SetLogNumber(log_number);
  edit.SetNextFileNumber(next_number_);
  edit.SetLastSequence(max_sequence_);
  for (const FileMetaData& f : outputs_) edit.AddFile(kNumLevels - 1, f);
  std::string record;
  edit.EncodeTo(&record);
  std::unique_ptr<WritableFile> file;
  s = env_->NewWritableFile(DescriptorFileName(dbname_, manifest_number), &file);
  if (!s.ok()) return s;
  {
    log::Writer writer(file.get(), manifest_number);
    s = writer.AddRecord(record);
  }
  if (s.ok()) s = file->Sync();
  Status c = file->Close();
  if (s.ok()) s = c;
  if (s.ok()) s = env_->SyncDir(dbname_);
  if (!s.ok()) return s;
  report_->new_manifest = DescriptorFileName("", manifest_number).substr(1);

  std::vector<std::string> linked;
  s = RetireOldFiles(&linked);
  if (!s.ok()) return s;
  s = SetCurrentFile(env_, dbname_, manifest_number);
  if (!s.ok()) {
    return Status::IOError("switching CURRENT to " + report_->new_manifest +
                               " failed (CURRENT "
                               "may name either MANIFEST; run repair again)",
                           s.ToString());
  }
  for (const std::string& f : linked) env_->RemoveFile(f).PermitUncheckedError();
  return env_->SyncDir(dbname_);
}

Status Repairer::Run() {
  Status s = tools::ListDbFiles(env_, dbname_, &files_);
  if (!s.ok()) return Status::NotFound(dbname_, "cannot be listed: " + s.ToString());
  if (!files_.has_current && files_.manifests.empty() && files_.tables.empty() &&
      files_.logs.empty()) {
    return Status::NotFound(dbname_, "holds no lsmkv files to repair");
  }
  FileLock* lock = nullptr;
  s = env_->LockFile(LockFileName(dbname_), &lock);
  if (!s.ok()) {
    return Status::IOError(dbname_, "is open (" + s.ToString() + "); close it before repairing");
  }
  s = RunLocked();
  env_->UnlockFile(lock).PermitUncheckedError();
  std::sort(report_->files.begin(), report_->files.end(),
            [](const RepairFileReport& a, const RepairFileReport& b) { return a.file < b.file; });
  return s;
}

Status Repairer::RunLocked() {
  for (const auto* group : {&files_.tables, &files_.logs, &files_.manifests, &files_.temps}) {
    for (const auto& [number, name] : *group) next_number_ = std::max(next_number_, number + 1);
  }
  ReadOldManifest();
  std::vector<uint64_t> tables, logs;
  SelectSources(&tables, &logs);
  uint64_t total = 0;
  for (uint64_t n : tables) total += 2 * tools::FileSizeOrZero(env_, TableFileName(dbname_, n));
  for (uint64_t n : logs) total += tools::FileSizeOrZero(env_, LogFileName(dbname_, n));
  progress_ = std::make_unique<tools::Progress>(progress_fn_, total);

  Status s;
  for (uint64_t n : tables) {
    s = ScanTable(n);
    if (!s.ok()) return s;
  }
  mem_.reset(new MemTable(icmp_));
  mem_->Ref();
  s = ReplayLogs(logs);
  if (!s.ok()) return s;
  s = WriteMerged();
  if (s.ok()) s = Install();
  if (!s.ok() && report_->new_manifest.empty()) {
    // Nothing refers to the new tables yet: remove them.
    if (builder_ != nullptr) {
      builder_->Abandon();
      builder_.reset();
      out_file_.reset();
      env_->RemoveFile(TableFileName(dbname_, out_meta_.number)).PermitUncheckedError();
    }
    for (const FileMetaData& f : outputs_) {
      env_->RemoveFile(TableFileName(dbname_, f.number)).PermitUncheckedError();
    }
  }
  progress_->Finish();
  return s;
}

}  // namespace

bool RepairReport::LostData() const {
  if (keys_withheld > 0) return true;
  for (const RepairFileReport& f : files) {
    if (f.outcome == "missing" || f.outcome == "unreadable" || f.bytes_lost > 0) return true;
    if (f.records_lost.has_value() && *f.records_lost > 0) return true;
  }
  return false;
}

std::string RepairReport::ToString() const {
  std::string r;
  if (old_manifest.empty()) {
    r += "no readable MANIFEST: every table and WAL present was salvaged\n";
  } else if (old_manifest_trusted) {
    r += "read " + old_manifest + " (intact: its live tables and WALs were salvaged)\n";
  } else {
    r += "read " + old_manifest + " (damaged: every table and WAL present was salvaged)\n";
  }
  char line[256];
  std::snprintf(line, sizeof(line), "%-18s %-16s %12s %12s %12s\n", "file", "outcome", "salvaged",
                "lost", "bytes lost");
  r += line;
  uint64_t lost_records = 0, lost_bytes = 0;
  bool unknown = false;
  for (const RepairFileReport& f : files) {
    const std::string lost = f.records_lost.has_value() ? std::to_string(*f.records_lost) : "?";
    std::snprintf(line, sizeof(line), "%-18s %-16s %12llu %12s %12s\n", f.file.c_str(),
                  f.outcome.c_str(), static_cast<unsigned long long>(f.records_salvaged),
                  lost.c_str(), tools::HumanBytes(f.bytes_lost).c_str());
    r += line;
    for (const std::string& d : f.details) r += "    " + d + "\n";
    if (f.records_lost.has_value()) {
      lost_records += *f.records_lost;
    } else {
      unknown = true;
    }
    lost_bytes += f.bytes_lost;
  }
  if (keys_withheld > 0) {
    r += "keys withheld (their newest surviving version may be older than one in a lost block "
         "or entry group): " +
         std::to_string(keys_withheld) + "\n";
  }
  r += "superseded entries and deletions not rewritten (not a loss): " +
       std::to_string(superseded_dropped) + "\n";
  r += "written: " + std::to_string(tables_written) + " tables, " +
       std::to_string(entries_written) + " entries (" + tools::HumanBytes(bytes_written) +
       ") at level " + std::to_string(kNumLevels - 1);
  if (!new_manifest.empty()) r += "; new " + new_manifest;
  r += "\n";
  if (!lost_dir.empty()) {
    r += "previous files: in " + lost_dir + " (nothing was deleted; remove it when satisfied)\n";
  }
  for (const std::string& w : warnings) r += "warning: " + w + "\n";
  if (!LostData()) {
    r += "RESULT: nothing lost\n";
  } else {
    r += "RESULT: data lost: " + std::to_string(lost_records) +
         (unknown ? "+ (some counts unknown)" : "") + " records, " + tools::HumanBytes(lost_bytes) +
         " of files, " + std::to_string(keys_withheld) + " keys withheld\n";
  }
  return r;
}

Status RepairDB(const std::string& dbname, const RepairOptions& options, RepairReport* report) {
  *report = RepairReport();
  Status s = tools::RequireLsmDirectory(
      options.db_options.env != nullptr ? options.db_options.env : Env::Default(), dbname);
  if (!s.ok()) return s;
  Repairer repairer(dbname, options, report);
  return repairer.Run();
}

}  // namespace lsmkv
