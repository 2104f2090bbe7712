// WriteBatch encoding (docs/format/wal.md, "Payload: WriteBatch"):
//   batch     := sequence:fixed64 count:fixed32 operation*
//   operation := kTypeValue key:lenprefixed value:lenprefixed
//              | kTypeDeletion key:lenprefixed
//              | kTypeRangeDeletion begin:lenprefixed end:lenprefixed
//   lenprefixed := length:varint32 bytes[length]
// The decoder (and what makes a batch valid) is base/write_batch_format.h,
// shared with the WAL batch reader.
#include "lsmkv/write_batch.h"

#include "base/dbformat.h"
#include "base/write_batch_format.h"
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

void WriteBatch::DeleteRange(std::string_view begin, std::string_view end) {
  WriteBatchInternal::SetCount(this, WriteBatchInternal::Count(this) + 1);
  rep_.push_back(static_cast<char>(kTypeRangeDeletion));
  PutLengthPrefixed(&rep_, begin);
  PutLengthPrefixed(&rep_, end);
}

void WriteBatch::Append(const WriteBatch& source) { WriteBatchInternal::Append(this, &source); }

Status WriteBatch::Iterate(Handler* handler) const {
  bool unsupported = false;
  Status s = batch_format::ForEachOperation(
      rep_, [&](ValueType type, std::string_view key, std::string_view value) {
        if (unsupported) return;
        if (type == kTypeValue) {
          handler->Put(key, value);
        } else if (type == kTypeDeletion) {
          handler->Delete(key);
        } else if (!handler->DeleteRange(key, value)) {
          unsupported = true;
        }
      });
  if (s.ok() && unsupported) {
    return Status::NotSupported("WriteBatch::Iterate",
                                "the handler does not handle range deletions (DeleteRange)");
  }
  return s;
}

// rep_ always holds at least the header: Clear() writes one and
// SetContents refuses anything shorter.
uint32_t WriteBatchInternal::Count(const WriteBatch* batch) {
  DCHECK_GE(batch->rep_.size(), kHeaderSize);
  return batch_format::Count(batch->rep_);
}
void WriteBatchInternal::SetCount(WriteBatch* batch, uint32_t n) {
  DCHECK_GE(batch->rep_.size(), kHeaderSize);
  EncodeFixed32(batch->rep_.data() + batch_format::kCountOffset, n);
}
SequenceNumber WriteBatchInternal::Sequence(const WriteBatch* batch) {
  DCHECK_GE(batch->rep_.size(), kHeaderSize);
  return batch_format::Sequence(batch->rep_);
}
void WriteBatchInternal::SetSequence(WriteBatch* batch, SequenceNumber seq) {
  DCHECK_GE(batch->rep_.size(), kHeaderSize);
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
  Status s = batch_format::ForEachOperation(
      batch->rep_, [&](ValueType type, std::string_view key, std::string_view value) {
        if (type == kTypeRangeDeletion) {
          memtable->AddRangeTombstone(seq++, key, value);
        } else {
          memtable->Add(seq++, type, key, value);
        }
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
