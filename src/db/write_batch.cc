// WriteBatch encoding (docs/format/wal.md, "Payload: WriteBatch"):
//   batch     := sequence:fixed64 count:fixed32 operation*
//   operation := kTypeValue key:lenprefixed value:lenprefixed
//              | kTypeDeletion key:lenprefixed
//   lenprefixed := length:varint32 bytes[length]
// The decoder (and what makes a batch valid) is base/write_batch_format.h,
// shared with the WAL batch reader.
#include "lsmkv/write_batch.h"

#include "base/dbformat.h"
#include "base/write_batch_format.h"
#include "db/write_batch_internal.h"
#include "memtable/memtable.h"
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

Status WriteBatch::Iterate(Handler* handler) const {
  return batch_format::ForEachOperation(
      rep_, [handler](ValueType type, std::string_view key, std::string_view value) {
        if (type == kTypeValue) {
          handler->Put(key, value);
        } else {
          handler->Delete(key);
        }
      });
}

uint32_t WriteBatchInternal::Count(const WriteBatch* batch) {
  return batch_format::Count(batch->rep_);
}
void WriteBatchInternal::SetCount(WriteBatch* batch, uint32_t n) {
  EncodeFixed32(batch->rep_.data() + batch_format::kCountOffset, n);
}
SequenceNumber WriteBatchInternal::Sequence(const WriteBatch* batch) {
  return batch_format::Sequence(batch->rep_);
}
void WriteBatchInternal::SetSequence(WriteBatch* batch, SequenceNumber seq) {
  EncodeFixed64(batch->rep_.data() + batch_format::kSequenceOffset, seq);
}

Status WriteBatchInternal::SetContents(WriteBatch* batch, std::string_view contents) {
  Status s = batch_format::CheckHeaderPresent(contents);
  if (!s.ok()) return s;
  batch->rep_.assign(contents.data(), contents.size());
  return Status::OK();
}

Status WriteBatchInternal::CheckSequenceRange(const WriteBatch* batch) {
  return batch_format::CheckSequenceRange(Sequence(batch), Count(batch));
}

Status WriteBatchInternal::InsertInto(const WriteBatch* batch, MemTable* memtable) {
  Status range = CheckSequenceRange(batch);
  if (!range.ok()) return range;
  SequenceNumber seq = Sequence(batch);
  return batch_format::ForEachOperation(
      batch->rep_, [&](ValueType type, std::string_view key, std::string_view value) {
        memtable->Add(seq++, type, key, value);
      });
}

void WriteBatchInternal::Append(WriteBatch* dst, const WriteBatch* src) {
  SetCount(dst, Count(dst) + Count(src));
  dst->rep_.append(src->rep_.data() + kHeaderSize, src->rep_.size() - kHeaderSize);
}

}  // namespace lsmkv
