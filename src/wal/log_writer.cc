#include "wal/log_writer.h"

#include <algorithm>

#include "util/check.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace lsmkv::log {
namespace {

// A record buffer larger than this is freed after use rather than kept for
// the next record, so one huge record does not pin its memory forever.
constexpr size_t kMaxRetainedBuffer = 1 << 20;

}  // namespace

Writer::Writer(WritableFile* dest, uint64_t log_number) : Writer(dest, log_number, 0) {}

Writer::Writer(WritableFile* dest, uint64_t log_number, uint64_t dest_length)
    : dest_(dest),
      log_number_(static_cast<uint32_t>(log_number)),
      block_offset_(static_cast<size_t>(dest_length % kBlockSize)),
      file_size_(dest_length) {
  DCHECK(dest_ != nullptr);
  for (int t = 0; t <= kMaxRecordType; t++) {
    type_crc_[t] = FragmentCrcSeed(static_cast<uint8_t>(t), log_number_);
  }
}

Status Writer::AddRecord(std::string_view payload) {
  if (!error_.ok()) return error_;

  record_buffer_.clear();
  // Payload, one header per fragment and at most one trailer.
  record_buffer_.reserve(payload.size() +
                         (payload.size() / (kBlockSize - kHeaderSize) + 3) * kHeaderSize);
  const char* ptr = payload.data();
  size_t left = payload.size();
  // Each iteration emits one fragment; a 0-byte payload emits one FULL
  // fragment with no payload.
  bool begin = true;
  do {
    DCHECK_LE(block_offset_, kBlockSize);
    const size_t leftover = kBlockSize - block_offset_;
    if (leftover < kHeaderSize) {
      // No room for a header: zero-fill the block's trailer.
      record_buffer_.append(leftover, '\0');
      block_offset_ = 0;
    }
    DCHECK(kBlockSize - block_offset_ >= kHeaderSize);
    const size_t avail = kBlockSize - block_offset_ - kHeaderSize;
    const size_t n = std::min(left, avail);
    const bool end = (n == left);
    RecordType type;
    if (begin && end) {
      type = kFullType;
    } else if (begin) {
      type = kFirstType;
    } else if (end) {
      type = kLastType;
    } else {
      type = kMiddleType;
    }
    EmitFragment(type, ptr, n);
    ptr += n;
    left -= n;
    begin = false;
  } while (left > 0);
  DCHECK(ptr == payload.data() + payload.size());  // every payload byte is in a fragment
  // The writer's block position is the file position modulo the block size
  // (a reader finds fragment headers only at those positions).
  DCHECK_EQ((file_size_ + record_buffer_.size()) % kBlockSize, block_offset_ % kBlockSize);

  Status s = dest_->Append(record_buffer_);
  if (s.ok()) {
    file_size_ += record_buffer_.size();
  } else {
    error_ = s;
  }
  if (record_buffer_.capacity() > kMaxRetainedBuffer) {
    std::string().swap(record_buffer_);
  }
  return s;
}

void Writer::EmitFragment(RecordType type, const char* data, size_t n) {
  DCHECK(type >= kFullType && type <= kLastType);  // kZeroType is padding, never written
  // CHECK: a fragment that overflowed its length field or its block would
  // make every later record of the log unreadable.
  CHECK_LE(n, 0xffffu);
  CHECK_LE(block_offset_ + kHeaderSize + n, kBlockSize);
  char header[kHeaderSize];
  header[kLengthOffset] = static_cast<char>(n & 0xff);
  header[kLengthOffset + 1] = static_cast<char>(n >> 8);
  header[kTypeOffset] = static_cast<char>(type);
  EncodeFixed32(header + kLogNumberOffset, log_number_);

  // Covers type and log number (the seed), then length, then payload.
  uint32_t crc = crc32c::Extend(type_crc_[type], header + kLengthOffset, 2);
  if (n > 0) crc = crc32c::Extend(crc, data, n);
  EncodeFixed32(header + kCrcOffset, crc32c::Mask(crc));

  record_buffer_.append(header, kHeaderSize);
  if (n > 0) record_buffer_.append(data, n);
  block_offset_ += kHeaderSize + n;
}

}  // namespace lsmkv::log
