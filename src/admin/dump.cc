// DumpFile (lsmkv/tools.h): a readable rendering of one WAL, MANIFEST, table
// or CURRENT file. Fields are separated by tabs; keys and values are escaped
// (or hex), so they never contain a tab or a newline.
#include <memory>
#include <ostream>

#include "admin/manifest_reader.h"
#include "admin/table_walker.h"
#include "admin/tool_util.h"
#include "base/dbformat.h"
#include "base/filename.h"
#include "db/write_batch_internal.h"
#include "table/table.h"
#include "table/table_options.h"
#include "wal/batch_reader.h"

namespace lsmkv {

namespace {

std::string Num(uint64_t n) { return std::to_string(n); }

const char* EndName(log::Reader::End end) {
  switch (end) {
    case log::Reader::End::kEof:
      return "end of file";
    case log::Reader::End::kTornTail:
      return "incomplete last record (torn tail)";
    case log::Reader::End::kZeroHeader:
      return "all-zero header (unwritten space)";
    case log::Reader::End::kStaleLogNumber:
      return "fragment of another log number (stale data)";
    case log::Reader::End::kIOError:
      return "read error";
  }
  return "?";
}

class Dumper {
 public:
  Dumper(const DumpOptions& options, std::ostream* out)
      : env_(options.env != nullptr ? options.env : Env::Default()),
        options_(options),
        out_(*out),
        icmp_(options.comparator != nullptr ? options.comparator : BytewiseComparator()) {}

  Status Log(const std::string& path, uint64_t number);
  Status Manifest(const std::string& path, uint64_t number);
  Status Table(const std::string& path);
  Status Current(const std::string& path);

 private:
  std::string R(std::string_view bytes) const { return tools::Render(bytes, options_.hex); }
  void Damage(const std::string& line) {
    damage_++;
    out_ << "!! " << line << "\n";
  }
  Status Result(const std::string& path) const {
    if (damage_ == 0) return Status::OK();
    return Status::Corruption(path, Num(damage_) + " damaged region(s); see the \"!!\" lines");
  }
  void PrintInternalEntry(std::string_view key, std::string_view value);
  void PrintProperties(const TableProperties& p);
  void PrintBatch(const WriteBatch& batch);

  Env* const env_;
  const DumpOptions& options_;
  std::ostream& out_;
  const InternalKeyComparator icmp_;
  uint64_t damage_ = 0;
};

void Dumper::PrintBatch(const WriteBatch& batch) {
  struct Printer : WriteBatch::Handler {
    Dumper* d;
    SequenceNumber seq;
    void Put(std::string_view key, std::string_view value) override {
      d->out_ << "  put\t" << seq++ << "\t" << d->R(key) << "\t" << d->R(value) << "\n";
    }
    void Delete(std::string_view key) override {
      d->out_ << "  del\t" << seq++ << "\t" << d->R(key) << "\n";
    }
    bool DeleteRange(std::string_view begin, std::string_view end) override {
      d->out_ << "  delrange\t" << seq++ << "\t" << d->R(begin) << "\t" << d->R(end) << "\n";
      return true;
    }
  } printer;
  printer.d = this;
  printer.seq = WriteBatchInternal::Sequence(&batch);
  batch.Iterate(&printer).PermitUncheckedError();  // validated by the caller
}

// The dump policy over the WAL events of one log: batches are printed,
// damage is a "!!" line.
Status Dumper::Log(const std::string& path, uint64_t number) {
  log::BatchReader reader(env_, {log::WalFile{number, path}});
  log::WalEvent e;
  WriteBatch batch;
  uint64_t records = 0, ops = 0, torn_bytes = 0;
  while (reader.Next(&e)) {
    switch (e.type) {
      case log::WalEvent::Type::kLogUnreadable:
        return e.status;
      case log::WalEvent::Type::kLogStart:
        out_ << "file\t" << path << "\twrite-ahead log " << number << ", "
             << tools::FileSizeOrZero(env_, path) << " bytes\n";
        out_ << "# record: @offset batch first_sequence ops bytes; then op sequence key [value]\n";
        break;
      case log::WalEvent::Type::kDropped:
        Damage(tools::DescribeWalDrop(e));
        break;
      case log::WalEvent::Type::kBadBatch:
        Damage(path + ": record @" + Num(e.offset) + " (" + Num(e.bytes) +
               " bytes) is not a valid write batch: " + e.status.ToString());
        break;
      case log::WalEvent::Type::kBatch: {
        Status s = WriteBatchInternal::SetContents(&batch, e.record);
        if (!s.ok()) return s;  // the reader validated it
        records++;
        ops += e.count;
        out_ << "@" << e.offset << "\tbatch\t" << e.sequence << "\t" << e.count << " ops\t"
             << e.bytes << " bytes\n";
        PrintBatch(batch);
        break;
      }
      case log::WalEvent::Type::kHole:  // one log: never
        break;
      case log::WalEvent::Type::kTornTail:
        torn_bytes = e.bytes;
        break;
      case log::WalEvent::Type::kLogEnd:
        if (!e.status.ok()) return e.status;
        out_ << "end\t" << EndName(e.end);
        if (e.end == log::Reader::End::kTornTail) out_ << " (" << torn_bytes << " bytes)";
        out_ << "\n";
        break;
    }
  }
  out_ << "summary\t" << records << " records, " << ops << " operations, " << damage_
       << " damaged region(s)\n";
  return Result(path);
}

Status Dumper::Manifest(const std::string& path, uint64_t number) {
  out_ << "file\t" << path << "\tMANIFEST " << number << ", " << tools::FileSizeOrZero(env_, path)
       << " bytes\n";
  tools::ManifestVisitor visitor;
  uint64_t index = 0;
  visitor.on_edit = [&](uint64_t offset, const VersionEdit& edit) {
    out_ << "@" << offset << "\tedit " << index++ << "\n";
    std::string text = edit.DebugString();
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (end > start) out_ << "  " << std::string_view(text).substr(start, end - start) << "\n";
      start = end + 1;
    }
  };
  visitor.on_damage = [this](const std::string& line) { Damage(line); };
  tools::ManifestContents contents;
  Status s = tools::ReadManifest(env_, path, number, &contents, &visitor, icmp_.user_comparator());
  if (!s.ok()) return s;
  if (contents.torn_tail) {
    out_ << "end\tincomplete last edit (" << contents.torn_tail_bytes << " bytes, never synced)\n";
  }
  out_ << "state\tlog number " << contents.log_number << ", next file " << contents.next_file_number
       << ", last sequence " << contents.last_sequence << ", " << contents.live.size()
       << " live tables\n";
  for (const auto& [n, live] : contents.live) {
    out_ << "  L" << live.level << "\t" << n << "\t" << live.meta.file_size << " bytes\t"
         << live.meta.num_entries << " entries\t" << R(ExtractUserKey(live.meta.smallest)) << " .. "
         << R(ExtractUserKey(live.meta.largest)) << "\n";
  }
  for (const std::string& p : tools::CheckLevels(contents, icmp_)) Damage(p);
  out_ << "summary\t" << contents.edits << " edits, " << damage_ << " damaged region(s)\n";
  return Result(path);
}

void Dumper::PrintInternalEntry(std::string_view key, std::string_view value) {
  ParsedInternalKey parsed;
  ParseInternalKey(key, &parsed);  // validated by the walker
  if (parsed.type == kTypeValue) {
    out_ << "  put\t" << parsed.sequence << "\t" << R(parsed.user_key) << "\t" << R(value) << "\n";
  } else {
    out_ << "  del\t" << parsed.sequence << "\t" << R(parsed.user_key) << "\n";
  }
}

void Dumper::PrintProperties(const TableProperties& p) {
  out_ << "properties\n";
  out_ << "  entries\t" << p.num_entries << "\n";
  out_ << "  deletions\t" << p.num_deletions << "\n";
  out_ << "  data blocks\t" << p.num_data_blocks << "\n";
  out_ << "  data bytes\t" << p.data_size << "\n";
  out_ << "  raw key bytes\t" << p.raw_key_size << "\n";
  out_ << "  raw value bytes\t" << p.raw_value_size << "\n";
  out_ << "  filter bits per key\t" << p.filter_bits_per_key
       << (p.filter_user_keys ? " (user keys)" : "") << "\n";
  out_ << "  compression\t" << CompressionName(p.compression) << "\n";
  out_ << "  comparator\t" << tools::EscapeAll(p.comparator_name) << "\n";
  out_ << "  creation time\t" << p.creation_time << "\n";
  auto user = [this](const std::string& ikey) {
    ParsedInternalKey parsed;
    if (!ParseInternalKey(ikey, &parsed)) return R(ikey);
    return R(parsed.user_key) + " @" + Num(parsed.sequence);
  };
  out_ << "  smallest key\t" << (p.num_entries ? user(p.smallest_key) : "") << "\n";
  out_ << "  largest key\t" << (p.num_entries ? user(p.largest_key) : "") << "\n";
}

Status Dumper::Table(const std::string& path) {
  tools::TableWalker walker(&icmp_);
  Status s = walker.Open(env_, path);
  out_ << "file\t" << path << "\ttable, " << tools::FileSizeOrZero(env_, path) << " bytes\n";
  if (!s.ok()) {
    if (!s.IsCorruption()) return s;
    Damage(s.ToString() + " (no block of the table can be located)");
    return Result(path);
  }
  const Footer& f = walker.footer();
  out_ << "footer\tmeta-index @" << f.metaindex_handle().offset() << "+"
       << f.metaindex_handle().size() << ", index @" << f.index_handle().offset() << "+"
       << f.index_handle().size() << ", format " << f.version()
       << (f.version() >= 2 ? " (written twice)" : "") << "\n";
  for (const auto& meta : walker.meta_blocks()) {
    out_ << "meta\t" << tools::EscapeAll(meta.name) << "\t@" << meta.handle.offset() << "+"
         << meta.handle.size();
    if (meta.name == kSalvageBlockName) {
      SalvageData salvage;
      s = walker.ReadSalvageData(&salvage);
      if (s.ok()) {
        uint64_t groups = 0;
        for (const SalvageRecord& r : salvage.records()) groups += r.groups.size();
        out_ << "\t" << salvage.records().size() << " data blocks, " << groups
             << " entry groups checksummed";
      } else {
        out_ << "\tunreadable";
      }
    }
    out_ << "\n";
  }
  if (walker.has_properties()) {
    PrintProperties(walker.properties());
    TableOptions table_options;
    table_options.comparator = &icmp_;
    std::unique_ptr<RandomAccessFile> file;
    std::unique_ptr<lsmkv::Table> table;
    s = env_->NewRandomAccessFile(path, &file);
    if (s.ok())
      s = lsmkv::Table::Open(table_options, std::move(file), walker.file_size(), path, &table);
    if (!s.ok()) {
      Damage("does not open as a table: " + s.ToString());
    } else if (s = table->VerifyMetadata(); !s.ok()) {
      // Damage reads work around (format version 2), and the salvage block.
      Damage(s.ToString());
    }
  } else {
    // Without the properties the table is not opened: its damage is shown
    // here (Table::VerifyMetadata names it otherwise).
    Damage(walker.properties_status().ToString());
    if (!walker.footer_damage().ok()) Damage(walker.footer_damage().ToString());
    if (!walker.index_damage().ok()) Damage(walker.index_damage().ToString());
  }
  const auto& blocks = walker.blocks();
  out_ << "index\t" << blocks.size() << " data blocks";
  if (!walker.index_damage().ok()) {
    out_ << ", rebuilt from the salvage block (the index block is damaged): each key is the "
            "block's last key";
  }
  out_ << "\n";
  for (size_t i = 0; i < blocks.size(); i++) {
    ParsedInternalKey sep;
    std::string key = "(unknown: the block's last entry group is lost)";
    if (ParseInternalKey(blocks[i].separator, &sep)) {
      key = R(sep.user_key) + " @" + Num(sep.sequence);
    } else if (!blocks[i].separator.empty()) {
      key = R(blocks[i].separator);
    }
    out_ << "  block " << i << "\t@" << blocks[i].handle.offset() << "+" << blocks[i].handle.size()
         << "\t" << key << "\n";
  }
  if (!options_.table_entries) return Result(path);
  out_ << "# entry: op sequence user_key [value]\n";
  uint64_t entries = 0, groups_lost = 0;
  std::vector<tools::TableWalker::Entry> block;
  for (size_t i = 0; i < blocks.size(); i++) {
    block.clear();
    s = walker.ReadDataBlock(i, &block);
    if (s.ok()) {
      out_ << "block " << i << "\t" << block.size() << " entries\n";
      for (const auto& e : block) PrintInternalEntry(e.key, e.value);
      entries += block.size();
      continue;
    }
    if (!s.IsCorruption()) return s;
    // Format version 2: the entry groups whose checksums still match.
    tools::TableWalker::BlockSalvage salvage;
    Status ss = walker.SalvageDataBlock(i, &salvage);
    if (!ss.ok() && !ss.IsCorruption() && !ss.IsNotFound()) return ss;
    if (!ss.ok()) {
      Damage(s.ToString() + "; not salvaged: " + ss.ToString());
      continue;
    }
    std::string lost;
    for (size_t g = 0; g < salvage.groups.size(); g++) {
      if (!salvage.groups[g].intact) lost += (lost.empty() ? " (group " : ", ") + Num(g);
    }
    if (!lost.empty()) lost += ")";
    Damage(s.ToString() + "; salvaged: " + Num(salvage.groups_lost) + " of " +
           Num(salvage.groups.size()) + " entry groups lost" + lost);
    out_ << "block " << i << "\t" << salvage.entries.size() << " entries salvaged, "
         << salvage.groups_lost << " of " << salvage.groups.size() << " entry groups lost\n";
    for (size_t g = 0; g < salvage.groups.size(); g++) {
      const tools::TableWalker::Group& group = salvage.groups[g];
      if (!group.intact) {
        out_ << "  lost\tgroup " << g << "\t" << group.length << " bytes\t" << group.why_lost
             << "\n";
        continue;
      }
      for (size_t k = group.first_entry; k < group.first_entry + group.num_entries; k++) {
        PrintInternalEntry(salvage.entries[k].key, salvage.entries[k].value);
      }
    }
    entries += salvage.entries.size();
    groups_lost += salvage.groups_lost;
  }
  out_ << "summary\t" << entries << " entries read, ";
  if (groups_lost > 0) out_ << groups_lost << " entry groups lost, ";
  out_ << damage_ << " damaged region(s)\n";
  return Result(path);
}

Status Dumper::Current(const std::string& path) {
  std::string contents;
  Status s = ReadFileToString(env_, path, &contents);
  if (!s.ok()) return s;
  out_ << "file\t" << path << "\tCURRENT, " << contents.size() << " bytes\n";
  out_ << "names\t" << tools::EscapeAll(contents) << "\n";
  return Status::OK();
}

// The number stamped in the first fragment header of a log file (bytes 7..10).
uint64_t LogNumberFromHeader(Env* env, const std::string& path) {
  std::unique_ptr<SequentialFile> file;
  if (!env->NewSequentialFile(path, &file).ok()) return 0;
  char scratch[log::kHeaderSize];
  std::string_view header;
  if (!file->Read(log::kHeaderSize, &header, scratch).ok() || header.size() < log::kHeaderSize) {
    return 0;
  }
  return DecodeFixed32(header.data() + log::kLogNumberOffset);
}

}  // namespace

Status DumpFile(const std::string& path, const DumpOptions& options, std::ostream* out) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  const size_t slash = path.rfind('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  uint64_t number = 0;
  FileType file_type;
  const bool parsed = ParseFileName(name, &number, &file_type);
  DumpFileType type = options.type;
  Dumper dumper(options, out);
  if (type == DumpFileType::kAuto) {
    if (parsed && file_type == FileType::kCurrentFile) return dumper.Current(path);
    if (parsed && file_type == FileType::kLogFile) type = DumpFileType::kLog;
    if (parsed && file_type == FileType::kTableFile) type = DumpFileType::kTable;
    if (parsed && file_type == FileType::kDescriptorFile) type = DumpFileType::kManifest;
    if (type == DumpFileType::kAuto) {
      return Status::InvalidArgument(path,
                                     "the file type cannot be told from its name (expected "
                                     "NNN.log, NNN.sst, MANIFEST-NNN or CURRENT); give "
                                     "the type");
    }
  }
  if (!env->FileExists(path)) return Status::NotFound(path, "no such file");
  if (type != DumpFileType::kTable &&
      !(parsed && (file_type == FileType::kLogFile || file_type == FileType::kDescriptorFile))) {
    number = LogNumberFromHeader(env, path);  // a renamed copy
  }
  switch (type) {
    case DumpFileType::kLog:
      return dumper.Log(path, number);
    case DumpFileType::kManifest:
      return dumper.Manifest(path, number);
    case DumpFileType::kTable:
      return dumper.Table(path);
    case DumpFileType::kAuto:
      break;
  }
  return Status::InvalidArgument(path, "unknown dump type");
}

}  // namespace lsmkv
