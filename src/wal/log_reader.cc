#include "wal/log_reader.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "util/check.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace lsmkv::log {
namespace {

bool AllZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] != 0) return false;
  }
  return true;
}

}  // namespace

Reader::Reader(SequentialFile* file, Reporter* reporter, bool verify_checksums, uint64_t log_number,
               std::string file_name_for_reports)
    : file_(file),
      reporter_(reporter),
      verify_checksums_(verify_checksums),
      log_number_(static_cast<uint32_t>(log_number)),
      file_name_(std::move(file_name_for_reports)),
      backing_store_(new char[kBlockSize]) {
  DCHECK(file_ != nullptr);
  for (int t = 0; t <= kMaxRecordType; t++) {
    crc_seed_[t] = FragmentCrcSeed(static_cast<uint8_t>(t), log_number_);
  }
}

Reader::~Reader() = default;

bool Reader::ReadRecord(std::string* record) {
  record->clear();
  if (done_) return false;

  // A record being assembled from FIRST and MIDDLE fragments occupies
  // [record_start, record_end) of the file.
  bool pending = false;
  uint64_t record_start = 0;
  uint64_t record_end = 0;
  auto drop_pending = [&](std::string_view problem) {
    if (!pending) return;
    ReportDrop(record_start, record_end - record_start, problem);
    pending = false;
    record->clear();
  };

  while (true) {
    Fragment f = ReadFragment();
    if (f.kind == Kind::kEnd) {
      done_ = true;
      if (pending && end_reason_ != End::kIOError) end_reason_ = End::kTornTail;
      if (end_reason_ == End::kTornTail) {
        DCHECK(logical_end_ >= accounted_end_);
        torn_tail_bytes_ = logical_end_ - accounted_end_;
      }
      record->clear();
      return false;
    }
    if (f.kind == Kind::kBad) {
      drop_pending("record lost its remaining fragments to later damage");
      ReportDrop(f.offset, f.end - f.offset, f.problem);
      continue;
    }

    switch (f.type) {
      case kFullType:
        drop_pending("FIRST fragment without LAST");
        record->assign(f.payload);
        last_record_offset_ = f.offset;
        last_record_end_ = f.end;
        accounted_end_ = f.end;
        return true;
      case kFirstType:
        drop_pending("FIRST fragment without LAST");
        pending = true;
        record_start = f.offset;
        record_end = f.end;
        record->assign(f.payload);
        break;
      case kMiddleType:
        if (!pending) {
          ReportDrop(f.offset, f.end - f.offset, "MIDDLE fragment without FIRST");
        } else {
          record->append(f.payload);
          record_end = f.end;
        }
        break;
      case kLastType:
        if (!pending) {
          ReportDrop(f.offset, f.end - f.offset, "LAST fragment without FIRST");
          break;
        }
        record->append(f.payload);
        last_record_offset_ = record_start;
        last_record_end_ = f.end;
        accounted_end_ = f.end;
        return true;
      default:
        // ReadFragment returns only the four valid types.
        DCHECK(false);
        break;
    }
  }
}

bool Reader::ReadBlock() {
  buffer_ = {};
  if (eof_) return false;
  std::string_view result;
  Status s = file_->Read(kBlockSize, &result, backing_store_.get());
  if (!s.ok()) {
    status_ = std::move(s);
    eof_ = true;
    return false;
  }
  // Blocks must stay aligned with the file: never trust more than asked for.
  if (result.size() > kBlockSize) result = result.substr(0, kBlockSize);
  buffer_ = result;
  end_of_buffer_offset_ += result.size();
  if (result.size() < kBlockSize) eof_ = true;
  return !result.empty();
}

bool Reader::ChecksumMatches(uint32_t number, uint32_t length) const {
  DCHECK(kHeaderSize + length <= buffer_.size());
  const char* header = buffer_.data();
  const auto type = static_cast<uint8_t>(header[kTypeOffset]);
  uint32_t crc = (number == log_number_ && type <= kMaxRecordType) ? crc_seed_[type]
                                                                   : FragmentCrcSeed(type, number);
  crc = crc32c::Extend(crc, header + kLengthOffset, 2);
  if (length > 0) crc = crc32c::Extend(crc, header + kHeaderSize, length);
  return crc == crc32c::Unmask(DecodeFixed32(header + kCrcOffset));
}

size_t Reader::FindValidFragment(size_t from) const {
  // buffer_ ends at its block's end or at the end of the file, so a fragment
  // that lies inside buffer_ also lies inside its block.
  const char* const base = buffer_.data();
  const size_t n = buffer_.size();
  // The first stored byte of this log's number: memchr skips to the next
  // place where it sits at a header's log-number position.
  const char number_byte = static_cast<char>(log_number_ & 0xff);
  for (size_t i = from; i + kHeaderSize <= n; i++) {
    const void* hit =
        std::memchr(base + i + kLogNumberOffset, number_byte, n - kHeaderSize + 1 - i);
    if (hit == nullptr) break;
    i = static_cast<size_t>(static_cast<const char*>(hit) - base) - kLogNumberOffset;
    const char* header = base + i;
    // Cheap filters first: most damaged bytes fail one of them, so a
    // checksum is computed only for plausible headers.
    if (DecodeFixed32(header + kLogNumberOffset) != log_number_) continue;
    const auto type = static_cast<uint8_t>(header[kTypeOffset]);
    if (type == kZeroType || type > kMaxRecordType) continue;
    const uint32_t length =
        static_cast<uint32_t>(static_cast<uint8_t>(header[kLengthOffset])) |
        (static_cast<uint32_t>(static_cast<uint8_t>(header[kLengthOffset + 1])) << 8);
    if (kHeaderSize + length > n - i) continue;
    uint32_t crc = crc32c::Extend(crc_seed_[type], header + kLengthOffset, 2);
    if (length > 0) crc = crc32c::Extend(crc, header + kHeaderSize, length);
    if (crc == crc32c::Unmask(DecodeFixed32(header + kCrcOffset))) return i;
  }
  return kNotFound;
}

Reader::Fragment Reader::DropUntil(uint64_t damage_offset, size_t next, const char* problem) {
  Fragment f;
  f.kind = Kind::kBad;
  f.offset = damage_offset;
  f.problem = problem;
  if (next == kNotFound) {
    // Nothing valid in the rest of the block: parsing resumes at the next
    // block boundary, where the writer always starts a fragment.
    f.end = end_of_buffer_offset_;
    buffer_ = {};
  } else {
    f.end = BufferOffset() + next;
    buffer_.remove_prefix(next);
  }
  return f;
}

Reader::Fragment Reader::DamageWithoutResync(uint64_t damage_offset, const char* problem) {
  DCHECK(BufferOffset() == damage_offset);
  // Where the zeros at the end of this block begin.
  size_t data_end = buffer_.size();
  while (data_end > 0 && buffer_[data_end - 1] == 0) data_end--;
  const uint64_t zeros_start = damage_offset + data_end;
  uint64_t zeros = buffer_.size() - data_end;
  Fragment f;
  f.offset = damage_offset;
  f.problem = problem;
  while (ReadBlock()) {
    if (!AllZero(buffer_.data(), buffer_.size())) {
      // Data after the damage: drop up to this block and parse it.
      f.kind = Kind::kBad;
      f.end = BufferOffset();
      return f;
    }
    zeros += buffer_.size();
  }
  buffer_ = {};
  if (!status_.ok()) {
    f.kind = Kind::kEnd;
    logical_end_ = damage_offset;
    end_reason_ = End::kIOError;
    return f;
  }
  if (zeros >= kHeaderSize) {
    f.kind = Kind::kEnd;
    logical_end_ = zeros_start;
    end_reason_ = End::kTornTail;
    return f;
  }
  f.kind = Kind::kBad;
  f.end = end_of_buffer_offset_;
  return f;
}

Reader::Fragment Reader::ReadFragment() {
  Fragment f;
  // Finds a header: skips a block's trailer, refills at block boundaries.
  while (buffer_.size() < kHeaderSize) {
    if (eof_) {
      // The file ends here: cleanly, or inside a header.
      f.kind = Kind::kEnd;
      logical_end_ = end_of_buffer_offset_;
      end_reason_ = (!status_.ok()) ? End::kIOError : buffer_.empty() ? End::kEof : End::kTornTail;
      buffer_ = {};
      return f;
    }
    // A full block's last bytes, too few for a header, are its trailer. The
    // writer emits a trailer together with the next fragment, so a file that
    // ends right after one was cut inside that fragment's record.
    const bool skipped_trailer = !buffer_.empty();
    if (!ReadBlock()) {
      f.kind = Kind::kEnd;
      logical_end_ = end_of_buffer_offset_;
      end_reason_ = (!status_.ok()) ? End::kIOError : skipped_trailer ? End::kTornTail : End::kEof;
      return f;
    }
  }

  const char* header = buffer_.data();
  const uint64_t offset = BufferOffset();
  f.offset = offset;
  if (AllZero(header, kHeaderSize)) {
    // Unwritten (zero) space ends the log only if nothing but zeros follows.
    // Zeros with data after them are damage: the reader resynchronises at
    // the next valid fragment (zeros never form one: type 0 is invalid).
    if (!AllZero(buffer_.data(), buffer_.size())) {
      return DropUntil(offset, FindValidFragment(1),
                       "all-zero fragment header followed by data in the same block");
    }
    while (ReadBlock()) {
      if (!AllZero(buffer_.data(), buffer_.size())) {
        // Usually this block starts with a valid fragment (found at 0).
        return DropUntil(offset, FindValidFragment(0), "all-zero region followed by data");
      }
    }
    f.kind = Kind::kEnd;
    logical_end_ = offset;
    end_reason_ = status_.ok() ? End::kZeroHeader : End::kIOError;
    buffer_ = {};
    return f;
  }

  const uint32_t length =
      static_cast<uint32_t>(static_cast<uint8_t>(header[kLengthOffset])) |
      (static_cast<uint32_t>(static_cast<uint8_t>(header[kLengthOffset + 1])) << 8);
  const auto type = static_cast<uint8_t>(header[kTypeOffset]);
  const uint32_t number = DecodeFixed32(header + kLogNumberOffset);
  // Reads are block aligned, so buffer_ ends at the block's end or at the
  // end of the file, whichever comes first.
  const uint64_t room = kBlockSize - offset % kBlockSize;
  DCHECK(buffer_.size() <= room);

  // A damaged fragment: whatever its header says (length included) is
  // untrusted, so the reader resynchronises at the next complete,
  // checksum-valid fragment of this log after the header's first byte, or
  // at the next block if there is none.
  auto bad = [&](const char* problem) {
    const size_t next = FindValidFragment(1);
    if (next == kNotFound) return DamageWithoutResync(offset, problem);
    return DropUntil(offset, next, problem);
  };
  if (kHeaderSize + length > room) return bad("fragment length runs past the end of its block");
  if (kHeaderSize + length > buffer_.size()) {
    // Fits in its block but the file ends first: a torn write — unless a
    // complete fragment follows, which a cut write can never leave behind.
    DCHECK(eof_);
    const size_t next = FindValidFragment(1);
    if (next != kNotFound) {
      return DropUntil(offset, next,
                       "fragment length runs past the end of the file over complete later "
                       "fragments");
    }
    f.kind = Kind::kEnd;
    logical_end_ = end_of_buffer_offset_;
    end_reason_ = End::kTornTail;
    buffer_ = {};
    return f;
  }
  if (number != log_number_) {
    // A valid fragment of another log number is stale data left by an
    // earlier use of the file: the end of this log. Checked even when
    // verify_checksums_ is off, so that a damaged number is not taken for
    // the end.
    if (ChecksumMatches(number, length)) {
      f.kind = Kind::kEnd;
      logical_end_ = offset;
      end_reason_ = End::kStaleLogNumber;
      buffer_ = {};
      return f;
    }
    return bad("checksum mismatch");
  }
  if (verify_checksums_ && !ChecksumMatches(number, length)) return bad("checksum mismatch");
  if (type == kZeroType || type > kMaxRecordType) return bad("unknown fragment type");

  f.kind = Kind::kFragment;
  f.type = static_cast<RecordType>(type);
  f.payload = buffer_.substr(kHeaderSize, length);
  f.end = offset + kHeaderSize + length;
  buffer_.remove_prefix(kHeaderSize + length);
  return f;
}

void Reader::ReportDrop(uint64_t offset, uint64_t bytes, std::string_view problem) {
  accounted_end_ = std::max(accounted_end_, offset + bytes);
  if (reporter_ == nullptr) return;
  std::string detail = "offset ";
  detail.append(std::to_string(offset));
  detail.append(": ");
  detail.append(problem);
  detail.append(" (");
  detail.append(std::to_string(bytes));
  detail.append(" bytes dropped)");
  reporter_->Corruption(offset, static_cast<size_t>(bytes), Status::Corruption(file_name_, detail));
}

}  // namespace lsmkv::log
