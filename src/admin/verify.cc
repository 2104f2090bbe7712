// VerifyDB (lsmkv/tools.h): a read-only check of every file of a database.
#include <algorithm>
#include <memory>

#include "admin/manifest_reader.h"
#include "admin/table_walker.h"
#include "admin/tool_util.h"
#include "base/dbformat.h"
#include "base/filename.h"
#include "table/table.h"
#include "table/table_options.h"
#include "wal/batch_reader.h"

namespace lsmkv {

namespace {

using tools::ManifestContents;

std::string Num(uint64_t n) { return std::to_string(n); }

class Verifier {
 public:
  Verifier(const std::string& dbname, const VerifyOptions& options, VerifyReport* report)
      : dbname_(dbname),
        env_(options.env != nullptr ? options.env : Env::Default()),
        options_(options),
        report_(report),
        icmp_(options.comparator != nullptr ? options.comparator : BytewiseComparator()) {}

  Status Run();

 private:
  void Problem(std::string line) { report_->problems.push_back(std::move(line)); }
  void Note(std::string line) { report_->notes.push_back(std::move(line)); }
  // Picks and reads the MANIFEST; false if none could be read.
  bool ReadLiveManifest();
  void CheckFilesPresent();
  void CheckTable(uint64_t number, const ManifestContents::LiveFile& live);
  void CheckTableContents(const tools::TableWalker& walker, const FileMetaData& meta);
  // Reads the WALs numbers, oldest first.
  void CheckLogs(const std::vector<uint64_t>& numbers);

  const std::string dbname_;
  Env* const env_;
  const VerifyOptions& options_;
  VerifyReport* const report_;
  const InternalKeyComparator icmp_;
  tools::DbFiles files_;
  ManifestContents manifest_;
  std::unique_ptr<tools::Progress> progress_;
};

Status Verifier::Run() {
  Status s = tools::ListDbFiles(env_, dbname_, &files_);
  if (!s.ok()) return Status::NotFound(dbname_, "cannot be listed: " + s.ToString());
  if (!files_.has_current && files_.manifests.empty()) {
    return Status::NotFound(dbname_, "holds no lsmkv database (no CURRENT, no MANIFEST)");
  }
  // Lock only an existing LOCK file: verify never creates anything.
  FileLock* lock = nullptr;
  if (files_.has_lock) {
    s = env_->LockFile(LockFileName(dbname_), &lock);
    if (!s.ok()) {
      return Status::IOError(
          dbname_, "is open (" + s.ToString() + "); close it first, or verify a checkpoint of it");
    }
  }
  if (ReadLiveManifest()) CheckFilesPresent();
  if (lock != nullptr) env_->UnlockFile(lock).PermitUncheckedError();
  if (progress_ != nullptr) progress_->Finish();
  if (report_->problems.empty()) return Status::OK();
  return Status::Corruption(Num(report_->problems.size()) + " problem(s) found; first",
                            report_->problems.front());
}

bool Verifier::ReadLiveManifest() {
  std::string name;
  Status s = ReadCurrentFile(env_, dbname_, &name);
  uint64_t number = 0;
  FileType type;
  if (s.ok() && (!ParseFileName(name, &number, &type) || type != FileType::kDescriptorFile)) {
    s = Status::Corruption(CurrentFileName(dbname_), "does not name a MANIFEST");
  }
  if (!s.ok()) {
    Problem(files_.has_current ? CurrentFileName(dbname_) + ": " + s.ToString()
                               : CurrentFileName(dbname_) + ": missing");
    if (files_.manifests.empty()) {
      Problem(dbname_ + ": no MANIFEST file: the set of live files is unknown");
      return false;
    }
    number = files_.manifests.rbegin()->first;
    name = files_.manifests.rbegin()->second;
    Note("checking the newest MANIFEST present, " + name + ", instead");
  }
  const std::string path = dbname_ + "/" + name;
  report_->manifest = name;
  s = tools::ReadManifest(env_, path, number, &manifest_, nullptr, icmp_.user_comparator());
  if (!s.ok()) {
    Problem(path + ": cannot be read: " + s.ToString());
    return false;
  }
  report_->manifest_edits = manifest_.edits;
  for (const std::string& line : manifest_.damage) Problem(line);
  if (manifest_.torn_tail) {
    Note(path + ": incomplete last edit (" + Num(manifest_.torn_tail_bytes) +
         " bytes), cut by a crash before it was synced; Open ignores it");
  }
  if (manifest_.has_comparator && manifest_.comparator != icmp_.user_comparator()->Name()) {
    Problem(path + ": written with comparator " + tools::EscapeAll(manifest_.comparator) +
            ", not " + icmp_.user_comparator()->Name() + " (VerifyOptions::comparator)");
  }
  for (std::string& line : tools::CheckLevels(manifest_, icmp_)) Problem(std::move(line));
  return true;
}

void Verifier::CheckFilesPresent() {
  uint64_t total = 0;
  for (const auto& [number, live] : manifest_.live) {
    if (files_.tables.count(number))
      total += tools::FileSizeOrZero(env_, TableFileName(dbname_, number));
  }
  std::vector<uint64_t> logs_to_check;
  for (const auto& [number, name] : files_.logs) {
    if (manifest_.has_log_number && number < manifest_.log_number) {
      Note(LogFileName(dbname_, number) + ": older than the MANIFEST's log number " +
           Num(manifest_.log_number) + " (already in tables; Open removes it)");
    } else if (options_.check_logs) {
      logs_to_check.push_back(number);
      total += tools::FileSizeOrZero(env_, LogFileName(dbname_, number));
    }
  }
  progress_ = std::make_unique<tools::Progress>(options_.progress, total);

  for (const auto& [number, live] : manifest_.live) {
    if (files_.tables.count(number) == 0) {
      Problem(TableFileName(dbname_, number) + ": in the MANIFEST (level " + Num(live.level) +
              ") but missing from the directory");
      continue;
    }
    CheckTable(number, live);
  }
  for (const auto& [number, name] : files_.tables) {
    if (manifest_.live.count(number) == 0) {
      Note(dbname_ + "/" + name +
           ": not referenced by the MANIFEST (left by an interrupted "
           "flush or compaction; Open removes it)");
    }
  }
  if (manifest_.has_log_number && manifest_.log_number != 0 &&
      files_.logs.count(manifest_.log_number) == 0) {
    Problem(manifest_.path + ": needs WAL " + LogFileName(dbname_, manifest_.log_number) +
            ", which is missing (the MANIFEST lost edits, or the WAL was deleted)");
  }
  CheckLogs(logs_to_check);
  for (const auto& [number, name] : files_.manifests) {
    if (number != manifest_.number) {
      Note(dbname_ + "/" + name + ": not the live MANIFEST (Open removes it)");
    }
  }
  for (const auto& [number, name] : files_.temps) {
    Note(dbname_ + "/" + name + ": temporary file left by a crash (Open removes it)");
  }
}

void Verifier::CheckTable(uint64_t number, const ManifestContents::LiveFile& live) {
  const std::string path = TableFileName(dbname_, number);
  const FileMetaData& meta = live.meta;
  report_->tables++;
  const uint64_t size = tools::FileSizeOrZero(env_, path);
  report_->table_bytes += size;
  if (size != meta.file_size) {
    Problem(path + ": " + Num(size) + " bytes, the MANIFEST says " + Num(meta.file_size));
  }
  tools::TableWalker walker(&icmp_);
  Status s = walker.Open(env_, path);
  if (!s.ok()) {
    Problem(s.ToString());
    progress_->Add(size);
    return;
  }
  if (!walker.has_properties()) {
    // The table is not opened without its properties: the walker's own
    // findings stand for what Table::VerifyMetadata would report.
    Problem(walker.properties_status().ToString());
    if (!walker.footer_damage().ok()) Problem(walker.footer_damage().ToString());
    if (!walker.index_damage().ok()) Problem(walker.index_damage().ToString());
  } else {
    // Everything Open checks beyond the walker: filter, layout, comparator;
    // and (format version 2) the damage Open works around — a footer copy,
    // filter, properties, meta-index or index block — and the salvage block,
    // which reads use only when a data block is damaged. Damage reads
    // survive is still damage.
    Options db_options;
    db_options.filter_policy = options_.filter_policy;
    TableOptions table_options = TableOptionsFromOptions(db_options, &icmp_);
    std::unique_ptr<RandomAccessFile> file;
    std::unique_ptr<Table> table;
    s = env_->NewRandomAccessFile(path, &file);
    if (s.ok()) s = Table::Open(table_options, std::move(file), size, path, &table);
    if (!s.ok()) {
      Problem(path + ": does not open as a table: " + s.ToString());
    } else if (s = table->VerifyMetadata(); !s.ok()) {
      Problem(s.ToString());
    } else if (!walker.index_damage().ok()) {
      // An index the reader accepts but the walker could not use.
      Problem(walker.index_damage().ToString());
    }
  }
  // With the index damaged (format version 2) the walker located the data
  // blocks through the salvage block: every one of them is still checked.
  CheckTableContents(walker, meta);
  progress_->Add(size);
}

void Verifier::CheckTableContents(const tools::TableWalker& walker, const FileMetaData& meta) {
  const std::string& path = walker.path();
  const size_t n = walker.blocks().size();
  uint64_t entries = 0, deletions = 0, bad_blocks = 0;
  SequenceNumber lo = kMaxSequenceNumber, hi = 0;
  std::string first, last;
  bool first_known = false, last_known = false;
  std::vector<tools::TableWalker::Entry> block;
  for (size_t i = 0; i < n; i++) {
    block.clear();
    Status s = walker.ReadDataBlock(i, &block);
    report_->data_blocks++;
    if (!s.ok()) {
      Problem(s.ToString());
      bad_blocks++;
      continue;
    }
    for (const auto& e : block) {
      ParsedInternalKey parsed;
      ParseInternalKey(e.key, &parsed);  // the walker checked it
      entries++;
      if (parsed.type == kTypeDeletion) deletions++;
      lo = std::min(lo, parsed.sequence);
      hi = std::max(hi, parsed.sequence);
    }
    if (!block.empty()) {
      if (i == 0) {
        first = block.front().key;
        first_known = true;
      }
      if (i + 1 == n) {
        last = block.back().key;
        last_known = true;
      }
    }
  }
  report_->entries += entries;
  auto mismatch = [&](const std::string& what, const std::string& found, const std::string& want) {
    Problem(path + ": " + what + " is " + found + ", the MANIFEST says " + want);
  };
  if (first_known && first != meta.smallest) {
    mismatch("the first key", tools::EscapeAll(first), tools::EscapeAll(meta.smallest));
  }
  if (last_known && last != meta.largest) {
    mismatch("the last key", tools::EscapeAll(last), tools::EscapeAll(meta.largest));
  }
  if (bad_blocks > 0) return;  // counts over the whole table are unknown
  if (entries != meta.num_entries) mismatch("the entry count", Num(entries), Num(meta.num_entries));
  if (walker.has_properties() && entries != walker.properties().num_entries) {
    Problem(path + ": holds " + Num(entries) + " entries, its properties say " +
            Num(walker.properties().num_entries));
  }
  if (deletions != meta.num_deletions) {
    mismatch("the deletion count", Num(deletions), Num(meta.num_deletions));
  }
  if (entries > 0 && (lo != meta.smallest_seqno || hi != meta.largest_seqno)) {
    mismatch("the sequence range", Num(lo) + ".." + Num(hi),
             Num(meta.smallest_seqno) + ".." + Num(meta.largest_seqno));
  }
}

// The verify policy over the WAL events: every loss is a problem, a torn
// tail not followed by records a note; batches are counted and their
// sequence numbers must increase.
void Verifier::CheckLogs(const std::vector<uint64_t>& numbers) {
  log::BatchReader reader(env_, dbname_, numbers);
  log::WalEvent e;
  uint64_t size = 0;                 // of the log being read
  SequenceNumber last_sequence = 0;  // of the last batch with operations
  std::string torn;  // the last log that ended inside a record, if no record followed
  while (reader.Next(&e)) {
    const std::string path(e.path);
    switch (e.type) {
      case log::WalEvent::Type::kLogStart:
      case log::WalEvent::Type::kLogUnreadable:
        size = tools::FileSizeOrZero(env_, path);
        report_->logs++;
        report_->log_bytes += size;
        if (!e.status.ok()) Problem(path + ": cannot be read: " + e.status.ToString());
        break;
      case log::WalEvent::Type::kDropped:
        Problem(tools::DescribeWalDrop(e));
        break;
      case log::WalEvent::Type::kHole:
        Problem(std::string(e.hole_path) + ": incomplete record followed by later records in " +
                path + " (a hole in the write history)");
        torn.clear();
        break;
      case log::WalEvent::Type::kBadBatch:
        Problem(path + ": record at offset " + Num(e.offset) +
                " is not a valid write batch: " + e.status.ToString());
        break;
      case log::WalEvent::Type::kBatch:
        report_->log_records++;
        if (e.count == 0) break;
        if (e.sequence <= last_sequence) {
          Problem(path + ": record at offset " + Num(e.offset) + ": sequence " + Num(e.sequence) +
                  " is not above the previous record's " + Num(last_sequence));
        }
        last_sequence = e.sequence + e.count - 1;
        break;
      case log::WalEvent::Type::kTornTail:
        torn = path;
        break;
      case log::WalEvent::Type::kLogEnd:
        if (!e.status.ok()) Problem(path + ": read error: " + e.status.ToString());
        progress_->Add(size);
        break;
    }
  }
  if (!torn.empty()) {
    Note(torn + ": incomplete last record (a write cut by a crash; Open drops it)");
  }
}

}  // namespace

std::string VerifyReport::ToString() const {
  std::string r;
  if (!manifest.empty()) r += manifest + ": " + std::to_string(manifest_edits) + " edits\n";
  r += "tables: " + std::to_string(tables) + " (" + tools::HumanBytes(table_bytes) + "), " +
       std::to_string(data_blocks) + " data blocks, " + std::to_string(entries) + " entries\n";
  r += "logs: " + std::to_string(logs) + " (" + tools::HumanBytes(log_bytes) + "), " +
       std::to_string(log_records) + " records\n";
  if (!problems.empty()) {
    r += "problems (" + std::to_string(problems.size()) + "):\n";
    for (const std::string& p : problems) r += "  " + p + "\n";
  }
  if (!notes.empty()) {
    r += "notes (" + std::to_string(notes.size()) + "):\n";
    for (const std::string& n : notes) r += "  " + n + "\n";
  }
  r += problems.empty() ? "OK: no damage found\n"
                        : "DAMAGED: " + std::to_string(problems.size()) + " problem(s) found\n";
  return r;
}

Status VerifyDB(const std::string& dbname, const VerifyOptions& options, VerifyReport* report) {
  *report = VerifyReport();
  Status s =
      tools::RequireLsmDirectory(options.env != nullptr ? options.env : Env::Default(), dbname);
  if (!s.ok()) return s;
  Verifier verifier(dbname, options, report);
  return verifier.Run();
}

}  // namespace lsmkv
