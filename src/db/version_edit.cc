#include "db/version_edit.h"

#include <algorithm>
#include <cstdio>

#include "util/check.h"
#include "util/coding.h"
#include "util/comparator.h"

namespace lsmkv {

namespace {

// Record tags (docs/format/manifest.md). Persisted: never renumber.
enum Tag : uint32_t {
  kTagComparator = 1,
  kTagLogNumber = 2,
  kTagNextFileNumber = 3,
  kTagLastSequence = 4,
  kTagCompactPointer = 5,
  kTagDeletedFile = 6,
  kTagNewFile = 7,
  kTagRangeTombstone = 8,         // format version 2
  kTagRemovedRangeTombstone = 9,  // format version 2
  kTagFormatVersion = 100,
  kTagEndOfEdit = 101,
};

bool IsValidInternalKey(std::string_view key) {
  ParsedInternalKey parsed;
  return ParseInternalKey(key, &parsed);
}

// Printable ASCII kept, anything else as \xNN.
void AppendEscaped(std::string* out, std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out->push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out->append(buf);
    }
  }
}

// 'user_key'@sequence:type
void AppendReadableKey(std::string* out, std::string_view key) {
  ParsedInternalKey parsed;
  if (!ParseInternalKey(key, &parsed)) {
    out->append("<invalid internal key '");
    AppendEscaped(out, key);
    out->append("'>");
    return;
  }
  out->push_back('\'');
  AppendEscaped(out, parsed.user_key);
  out->append("'@");
  out->append(std::to_string(parsed.sequence));
  out->append(parsed.type == kTypeValue ? ":value" : ":deletion");
}

// Reads the fields of one record, turning any failure into a Corruption that
// names the record and the field.
class FieldReader {
 public:
  FieldReader(std::string_view* input, const char* record) : input_(input), record_(record) {}

  const Status& status() const { return status_; }

  bool Varint64(const char* field, uint64_t* value) {
    if (GetVarint64(input_, value)) return true;
    return Fail(std::string("truncated or malformed ") + field);
  }

  bool Level(int* level) {
    uint32_t v = 0;
    if (!GetVarint32(input_, &v)) return Fail("truncated or malformed level");
    if (v >= static_cast<uint32_t>(kNumLevels)) {
      return Fail("level " + std::to_string(v) + " out of range [0, " + std::to_string(kNumLevels) +
                  ")");
    }
    *level = static_cast<int>(v);
    return true;
  }

  bool Bytes(const char* field, std::string_view* value) {
    if (GetLengthPrefixed(input_, value)) return true;
    return Fail(std::string("truncated or malformed ") + field);
  }

  bool InternalKey(const char* field, std::string_view* value) {
    if (!Bytes(field, value)) return false;
    if (IsValidInternalKey(*value)) return true;
    return Fail(std::string(field) + " is not a valid internal key");
  }

  bool Fail(const std::string& what) {
    status_ = Status::Corruption("version edit", std::string(record_) + ": " + what);
    return false;
  }

 private:
  std::string_view* input_;
  const char* record_;
  Status status_;
};

Status Corrupt(const std::string& what) { return Status::Corruption("version edit", what); }

}  // namespace

void VersionEdit::Clear() { *this = VersionEdit(); }

void VersionEdit::SetComparatorName(std::string name) {
  has_comparator_name_ = true;
  comparator_name_ = std::move(name);
}

void VersionEdit::SetLogNumber(uint64_t number) {
  has_log_number_ = true;
  log_number_ = number;
}

void VersionEdit::SetNextFileNumber(uint64_t number) {
  has_next_file_number_ = true;
  next_file_number_ = number;
}

void VersionEdit::SetLastSequence(SequenceNumber seq) {
  DCHECK(seq <= kMaxSequenceNumber);
  has_last_sequence_ = true;
  last_sequence_ = seq;
}

void VersionEdit::SetCompactPointer(int level, std::string internal_key) {
  DCHECK(level >= 0 && level < kNumLevels);
  DCHECK(IsValidInternalKey(internal_key));
  for (auto& [l, key] : compact_pointers_) {
    if (l == level) {
      key = std::move(internal_key);
      return;
    }
  }
  compact_pointers_.emplace_back(level, std::move(internal_key));
}

void VersionEdit::AddFile(int level, const FileMetaData& f) {
  DCHECK(level >= 0 && level < kNumLevels);
  DCHECK(IsValidInternalKey(f.smallest) && IsValidInternalKey(f.largest));
  DCHECK(f.smallest_seqno <= f.largest_seqno && f.largest_seqno <= kMaxSequenceNumber);
  DCHECK(f.num_deletions <= f.num_entries);
  FileMetaData copy = f;
  copy.refs = 0;
  copy.being_compacted = false;
  new_files_.emplace_back(level, std::move(copy));
}

void VersionEdit::RemoveFile(int level, uint64_t number) {
  DCHECK(level >= 0 && level < kNumLevels);
  deleted_files_.emplace(level, number);
}

void VersionEdit::PutRangeTombstone(RangeTombstoneRecord r) {
  DCHECK(!r.pending_files.empty());
  DCHECK(std::is_sorted(r.pending_files.begin(), r.pending_files.end()));
  for (RangeTombstoneRecord& existing : put_range_tombstones_) {
    if (existing.tombstone.seq == r.tombstone.seq) {
      existing = std::move(r);
      return;
    }
  }
  removed_range_tombstones_.erase(r.tombstone.seq);
  put_range_tombstones_.push_back(std::move(r));
}

void VersionEdit::RemoveRangeTombstone(SequenceNumber seq) {
  std::erase_if(put_range_tombstones_,
                [seq](const RangeTombstoneRecord& r) { return r.tombstone.seq == seq; });
  removed_range_tombstones_.insert(seq);
}

void VersionEdit::EncodeTo(std::string* dst) const {
  const bool tombstones = !put_range_tombstones_.empty() || !removed_range_tombstones_.empty();
  PutVarint32(dst, kTagFormatVersion);
  PutVarint32(dst, tombstones ? kVersionEditFormatVersion
                              : kVersionEditFormatVersionWithoutRangeTombstones);
  if (has_comparator_name_) {
    PutVarint32(dst, kTagComparator);
    PutLengthPrefixed(dst, comparator_name_);
  }
  if (has_log_number_) {
    PutVarint32(dst, kTagLogNumber);
    PutVarint64(dst, log_number_);
  }
  if (has_next_file_number_) {
    PutVarint32(dst, kTagNextFileNumber);
    PutVarint64(dst, next_file_number_);
  }
  if (has_last_sequence_) {
    DCHECK_LE(last_sequence_, kMaxSequenceNumber);
    PutVarint32(dst, kTagLastSequence);
    PutVarint64(dst, last_sequence_);
  }
  // Every field below is in the range DecodeFrom accepts, whether it came
  // from the setters or from DecodeFrom itself: what is written reads back.
  for (const auto& [level, key] : compact_pointers_) {
    DCHECK(level >= 0 && level < kNumLevels);
    PutVarint32(dst, kTagCompactPointer);
    PutVarint32(dst, static_cast<uint32_t>(level));
    PutLengthPrefixed(dst, key);
  }
  for (const auto& [level, number] : deleted_files_) {
    DCHECK(level >= 0 && level < kNumLevels);
    PutVarint32(dst, kTagDeletedFile);
    PutVarint32(dst, static_cast<uint32_t>(level));
    PutVarint64(dst, number);
  }
  for (const auto& [level, f] : new_files_) {
    DCHECK(level >= 0 && level < kNumLevels);
    DCHECK(f.smallest_seqno <= f.largest_seqno && f.num_deletions <= f.num_entries);
    PutVarint32(dst, kTagNewFile);
    PutVarint32(dst, static_cast<uint32_t>(level));
    PutVarint64(dst, f.number);
    PutVarint64(dst, f.file_size);
    PutLengthPrefixed(dst, f.smallest);
    PutLengthPrefixed(dst, f.largest);
    PutVarint64(dst, f.smallest_seqno);
    PutVarint64(dst, f.largest_seqno);
    PutVarint64(dst, f.num_entries);
    PutVarint64(dst, f.num_deletions);
  }
  for (const RangeTombstoneRecord& r : put_range_tombstones_) {
    PutVarint32(dst, kTagRangeTombstone);
    PutVarint64(dst, r.tombstone.seq);
    PutLengthPrefixed(dst, r.tombstone.begin);
    PutLengthPrefixed(dst, r.tombstone.end);
    PutVarint64(dst, r.pending_files.size());
    for (uint64_t number : r.pending_files) PutVarint64(dst, number);
  }
  for (SequenceNumber seq : removed_range_tombstones_) {
    PutVarint32(dst, kTagRemovedRangeTombstone);
    PutVarint64(dst, seq);
  }
  PutVarint32(dst, kTagEndOfEdit);
}

Status VersionEdit::DecodeFrom(std::string_view src, const Comparator* ucmp) {
  Clear();
  Status s = DecodeRecords(src, ucmp);
  if (!s.ok()) Clear();
  return s;
}

Status VersionEdit::DecodeRecords(std::string_view input, const Comparator* ucmp) {
  uint32_t tag = 0;
  if (input.empty()) return Corrupt("empty input");
  if (!GetVarint32(&input, &tag)) return Corrupt("malformed first tag");
  if (tag != kTagFormatVersion) {
    return Corrupt("first record has tag " + std::to_string(tag) + ", not the format version tag " +
                   std::to_string(kTagFormatVersion));
  }
  uint32_t version = 0;
  if (!GetVarint32(&input, &version)) return Corrupt("truncated or malformed format version");
  if (version > kVersionEditFormatVersion) {
    return Status::NotSupported(
        "version edit format version " + std::to_string(version),
        "this build reads versions up to " + std::to_string(kVersionEditFormatVersion));
  }
  if (version != kVersionEditFormatVersion &&
      version != kVersionEditFormatVersionWithoutRangeTombstones) {
    return Corrupt("invalid format version " + std::to_string(version));
  }

  const InternalKeyComparator icmp(ucmp);
  const InternalKeyComparator* order = &icmp;
  for (size_t record = 1;; record++) {
    if (input.empty()) return Corrupt("truncated: no end-of-edit marker");
    if (!GetVarint32(&input, &tag)) {
      return Corrupt("malformed tag of record " + std::to_string(record));
    }
    switch (tag) {
      case kTagEndOfEdit:
        if (!input.empty()) {
          return Corrupt(std::to_string(input.size()) + " bytes after the end-of-edit marker");
        }
        return Status::OK();

      case kTagComparator: {
        FieldReader r(&input, "comparator");
        std::string_view name;
        if (has_comparator_name_) return Corrupt("comparator given twice");
        if (!r.Bytes("name", &name)) return r.status();
        SetComparatorName(std::string(name));
        if (name != ucmp->Name()) order = nullptr;
        break;
      }

      case kTagLogNumber: {
        FieldReader r(&input, "log number");
        if (has_log_number_) return Corrupt("log number given twice");
        if (!r.Varint64("number", &log_number_)) return r.status();
        has_log_number_ = true;
        break;
      }

      case kTagNextFileNumber: {
        FieldReader r(&input, "next file number");
        if (has_next_file_number_) return Corrupt("next file number given twice");
        if (!r.Varint64("number", &next_file_number_)) return r.status();
        has_next_file_number_ = true;
        break;
      }

      case kTagLastSequence: {
        FieldReader r(&input, "last sequence");
        if (has_last_sequence_) return Corrupt("last sequence given twice");
        if (!r.Varint64("sequence", &last_sequence_)) return r.status();
        if (last_sequence_ > kMaxSequenceNumber) {
          r.Fail("sequence " + std::to_string(last_sequence_) + " exceeds 2^56-1");
          return r.status();
        }
        has_last_sequence_ = true;
        break;
      }

      case kTagCompactPointer: {
        FieldReader r(&input, "compact pointer");
        int level = 0;
        std::string_view key;
        if (!r.Level(&level) || !r.InternalKey("key", &key)) return r.status();
        for (const auto& cp : compact_pointers_) {
          if (cp.first == level) {
            return Corrupt("compact pointer for level " + std::to_string(level) + " given twice");
          }
        }
        compact_pointers_.emplace_back(level, std::string(key));
        break;
      }

      case kTagDeletedFile: {
        FieldReader r(&input, "deleted file");
        int level = 0;
        uint64_t number = 0;
        if (!r.Level(&level) || !r.Varint64("number", &number)) return r.status();
        if (!deleted_files_.emplace(level, number).second) {
          return Corrupt("deleted file " + std::to_string(number) + " at level " +
                         std::to_string(level) + " listed twice");
        }
        break;
      }

      case kTagNewFile: {
        Status s = DecodeNewFile(&input, order);
        if (!s.ok()) return s;
        break;
      }

      case kTagRangeTombstone: {
        if (version < kVersionEditFormatVersion) {
          return Corrupt("range tombstone record in a version " + std::to_string(version) +
                         " edit");
        }
        Status s = DecodeRangeTombstone(&input, order == nullptr ? nullptr : ucmp);
        if (!s.ok()) return s;
        break;
      }

      case kTagRemovedRangeTombstone: {
        if (version < kVersionEditFormatVersion) {
          return Corrupt("range tombstone record in a version " + std::to_string(version) +
                         " edit");
        }
        FieldReader r(&input, "removed range tombstone");
        uint64_t seq = 0;
        if (!r.Varint64("sequence", &seq)) return r.status();
        if (!removed_range_tombstones_.insert(seq).second) {
          return Corrupt("removed range tombstone " + std::to_string(seq) + " listed twice");
        }
        break;
      }

      case kTagFormatVersion:
        return Corrupt("format version given twice");

      default:
        return Corrupt("unknown tag " + std::to_string(tag) + " in record " +
                       std::to_string(record));
    }
  }
}

Status VersionEdit::DecodeRangeTombstone(std::string_view* input, const Comparator* ucmp) {
  FieldReader r(input, "range tombstone");
  RangeTombstoneRecord rec;
  std::string_view begin, end;
  uint64_t count = 0;
  if (!r.Varint64("sequence", &rec.tombstone.seq) || !r.Bytes("begin", &begin) ||
      !r.Bytes("end", &end) || !r.Varint64("pending file count", &count)) {
    return r.status();
  }
  const std::string which = "range tombstone " + std::to_string(rec.tombstone.seq);
  if (rec.tombstone.seq == 0 || rec.tombstone.seq > kMaxSequenceNumber) {
    return Corrupt(which + ": sequence out of range");
  }
  if (ucmp != nullptr && ucmp->Compare(begin, end) >= 0) {
    return Corrupt(which + ": begin is not before end");
  }
  // Each number takes at least one byte: a count beyond the input is damage,
  // refused before anything is allocated for it.
  if (count == 0 || count > input->size()) {
    return Corrupt(which + ": pending file count " + std::to_string(count) + " out of range");
  }
  rec.pending_files.reserve(count);
  for (uint64_t i = 0; i < count; i++) {
    uint64_t number = 0;
    if (!r.Varint64("pending file number", &number)) return r.status();
    if (!rec.pending_files.empty() && number <= rec.pending_files.back()) {
      return Corrupt(which + ": pending files not ascending");
    }
    rec.pending_files.push_back(number);
  }
  for (const RangeTombstoneRecord& existing : put_range_tombstones_) {
    if (existing.tombstone.seq == rec.tombstone.seq) return Corrupt(which + " given twice");
  }
  rec.tombstone.begin.assign(begin.data(), begin.size());
  rec.tombstone.end.assign(end.data(), end.size());
  put_range_tombstones_.push_back(std::move(rec));
  return Status::OK();
}

Status VersionEdit::DecodeNewFile(std::string_view* input, const InternalKeyComparator* icmp) {
  FieldReader r(input, "new file");
  int level = 0;
  FileMetaData f;
  std::string_view smallest, largest;
  if (!r.Level(&level) || !r.Varint64("number", &f.number) ||
      !r.Varint64("file size", &f.file_size) || !r.InternalKey("smallest key", &smallest) ||
      !r.InternalKey("largest key", &largest) || !r.Varint64("smallest seqno", &f.smallest_seqno) ||
      !r.Varint64("largest seqno", &f.largest_seqno) ||
      !r.Varint64("entry count", &f.num_entries) ||
      !r.Varint64("deletion count", &f.num_deletions)) {
    return r.status();
  }
  const std::string which = "file " + std::to_string(f.number);
  if (icmp != nullptr && icmp->Compare(smallest, largest) > 0) {
    r.Fail(which + ": smallest key is after largest key");
  } else if (f.smallest_seqno > f.largest_seqno) {
    r.Fail(which + ": smallest seqno " + std::to_string(f.smallest_seqno) + " > largest seqno " +
           std::to_string(f.largest_seqno));
  } else if (f.largest_seqno > kMaxSequenceNumber) {
    r.Fail(which + ": largest seqno " + std::to_string(f.largest_seqno) + " exceeds 2^56-1");
  } else if (f.num_deletions > f.num_entries) {
    r.Fail(which + ": " + std::to_string(f.num_deletions) + " deletions > " +
           std::to_string(f.num_entries) + " entries");
  }
  if (!r.status().ok()) return r.status();
  f.smallest.assign(smallest.data(), smallest.size());
  f.largest.assign(largest.data(), largest.size());
  new_files_.emplace_back(level, std::move(f));
  return Status::OK();
}

std::string VersionEdit::DebugString() const {
  std::string r = "VersionEdit {\n";
  if (has_comparator_name_) {
    r.append("  comparator: '");
    AppendEscaped(&r, comparator_name_);
    r.append("'\n");
  }
  if (has_log_number_) r.append("  log_number: " + std::to_string(log_number_) + "\n");
  if (has_next_file_number_) {
    r.append("  next_file_number: " + std::to_string(next_file_number_) + "\n");
  }
  if (has_last_sequence_) r.append("  last_sequence: " + std::to_string(last_sequence_) + "\n");
  for (const auto& [level, key] : compact_pointers_) {
    r.append("  compact_pointer: L" + std::to_string(level) + " ");
    AppendReadableKey(&r, key);
    r.push_back('\n');
  }
  for (const auto& [level, number] : deleted_files_) {
    r.append("  delete_file: L" + std::to_string(level) + " #" + std::to_string(number) + "\n");
  }
  for (const auto& [level, f] : new_files_) {
    r.append("  add_file: L" + std::to_string(level) + " #" + std::to_string(f.number) +
             " size=" + std::to_string(f.file_size) + " [");
    AppendReadableKey(&r, f.smallest);
    r.append(" .. ");
    AppendReadableKey(&r, f.largest);
    r.append("] seqno=[" + std::to_string(f.smallest_seqno) + ", " +
             std::to_string(f.largest_seqno) + "] entries=" + std::to_string(f.num_entries) +
             " deletions=" + std::to_string(f.num_deletions) + "\n");
  }
  for (const RangeTombstoneRecord& t : put_range_tombstones_) {
    r.append("  range_tombstone: @" + std::to_string(t.tombstone.seq) + " ['");
    AppendEscaped(&r, t.tombstone.begin);
    r.append("', '");
    AppendEscaped(&r, t.tombstone.end);
    r.append("') pending=[");
    for (size_t i = 0; i < t.pending_files.size(); i++) {
      if (i > 0) r.push_back(' ');
      r.append("#" + std::to_string(t.pending_files[i]));
    }
    r.append("]\n");
  }
  for (SequenceNumber seq : removed_range_tombstones_) {
    r.append("  remove_range_tombstone: @" + std::to_string(seq) + "\n");
  }
  r.append("}\n");
  return r;
}

}  // namespace lsmkv
