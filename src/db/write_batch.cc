// WriteBatch encoding (docs/format/wal.md, "Payload: WriteBatch"):
//   batch     := sequence:fixed64 count:fixed32 operation*
//   operation := kTypeValue key:lenprefixed value:lenprefixed
//              | kTypeDeletion key:lenprefixed
//   lenprefixed := length:varint32 bytes[length]
#include "lsmkv/write_batch.h"

#include "base/dbformat.h"
#include "db/write_batch_internal.h"
#include "memtable/memtable.h"
#include "util/check.h"
#include "util/coding.h"

namespace lsmkv {

WriteBatch::WriteBatch() { Clear(); }

void WriteBatch::Clear() {
  rep_.clear();
  rep_.resize(WriteBatchInternal::kHeaderSize);
}

uint32_t WriteBatch::Count() const { return WriteBatchInternal::Count(this); }

void WriteBatch::Put(std::string_view key, std::string_view value) {
  WriteBatchInternal::SetCount(this, WriteBatchInternal::Count(this) + 1);
  rep_.push_back(static_cast<char>(kTypeValue));
  PutLengthPrefixed(&rep_, key);
  PutLengthPrefixed(&rep_, value);
}

void WriteBatch::Delete(std::string_view key) {
  WriteBatchInternal::SetCount(this, WriteBatchInternal::Count(this) + 1);
  rep_.push_back(static_cast<char>(kTypeDeletion));
  PutLengthPrefixed(&rep_, key);
}

void WriteBatch::Append(const WriteBatch& source) { WriteBatchInternal::Append(this, &source); }

namespace {

// Decodes every operation, calling fn(type, key, value); checks that the
// number of operations matches the header.
template <typename Fn>
Status ForEachOperation(std::string_view rep, Fn&& fn) {
  if (rep.size() < WriteBatchInternal::kHeaderSize) {
    return Status::Corruption("write batch", "shorter than its 12-byte header");
  }
  const uint32_t expected = DecodeFixed32(rep.data() + 8);
  std::string_view input = rep.substr(WriteBatchInternal::kHeaderSize);
  uint32_t found = 0;
  while (!input.empty()) {
    if (found == expected) {
      // Refused before fn sees it: a caller that applies operations as they
      // come never applies more than the header announced.
      return Status::Corruption(
          "write batch", "header counts " + std::to_string(expected) + " operations, found more");
    }
    const auto type = static_cast<unsigned char>(input[0]);
    input.remove_prefix(1);
    std::string_view key, value;
    if (type == kTypeValue) {
      if (!GetLengthPrefixed(&input, &key) || !GetLengthPrefixed(&input, &value)) {
        return Status::Corruption("write batch", "truncated put");
      }
    } else if (type == kTypeDeletion) {
      if (!GetLengthPrefixed(&input, &key)) {
        return Status::Corruption("write batch", "truncated delete");
      }
    } else {
      return Status::Corruption("write batch", "unknown operation type " + std::to_string(type));
    }
    found++;
    fn(static_cast<ValueType>(type), key, value);
  }
  if (found != expected) {
    return Status::Corruption("write batch", "header counts " + std::to_string(expected) +
                                                 " operations, found " + std::to_string(found));
  }
  return Status::OK();
}

}  // namespace

Status WriteBatch::Iterate(Handler* handler) const {
  return ForEachOperation(rep_,
                          [handler](ValueType type, std::string_view key, std::string_view value) {
                            if (type == kTypeValue) {
                              handler->Put(key, value);
                            } else {
                              handler->Delete(key);
                            }
                          });
}

// rep_ always holds at least the header: Clear() writes one and
// SetContents refuses anything shorter.
uint32_t WriteBatchInternal::Count(const WriteBatch* batch) {
  DCHECK_GE(batch->rep_.size(), kHeaderSize);
  return DecodeFixed32(batch->rep_.data() + 8);
}
void WriteBatchInternal::SetCount(WriteBatch* batch, uint32_t n) {
  DCHECK_GE(batch->rep_.size(), kHeaderSize);
  EncodeFixed32(batch->rep_.data() + 8, n);
}
SequenceNumber WriteBatchInternal::Sequence(const WriteBatch* batch) {
  DCHECK_GE(batch->rep_.size(), kHeaderSize);
  return DecodeFixed64(batch->rep_.data());
}
void WriteBatchInternal::SetSequence(WriteBatch* batch, SequenceNumber seq) {
  DCHECK_GE(batch->rep_.size(), kHeaderSize);
  EncodeFixed64(batch->rep_.data(), seq);
}

Status WriteBatchInternal::SetContents(WriteBatch* batch, std::string_view contents) {
  if (contents.size() < kHeaderSize) {
    return Status::Corruption("write batch", "record shorter than the 12-byte batch header");
  }
  batch->rep_.assign(contents.data(), contents.size());
  return Status::OK();
}

Status WriteBatchInternal::CheckSequenceRange(const WriteBatch* batch) {
  const SequenceNumber first = Sequence(batch);
  const uint64_t count = Count(batch);
  if (first > kMaxSequenceNumber || kMaxSequenceNumber - first < count) {
    return Status::Corruption("write batch", "sequence numbers " + std::to_string(first) + " + " +
                                                 std::to_string(count) +
                                                 " operations exceed the largest sequence number");
  }
  return Status::OK();
}

Status WriteBatchInternal::InsertInto(const WriteBatch* batch, MemTable* memtable) {
  Status range = CheckSequenceRange(batch);
  if (!range.ok()) return range;
  SequenceNumber seq = Sequence(batch);
  Status s = ForEachOperation(batch->rep_,
                              [&](ValueType type, std::string_view key, std::string_view value) {
                                memtable->Add(seq++, type, key, value);
                              });
  // OK means every operation the header counts was inserted, one sequence each.
  DCHECK(!s.ok() || seq == Sequence(batch) + Count(batch));
  return s;
}

void WriteBatchInternal::Append(WriteBatch* dst, const WriteBatch* src) {
  DCHECK_LE(Count(src), UINT32_MAX - Count(dst));  // the count field cannot wrap
  SetCount(dst, Count(dst) + Count(src));
  dst->rep_.append(src->rep_.data() + kHeaderSize, src->rep_.size() - kHeaderSize);
}

}  // namespace lsmkv
