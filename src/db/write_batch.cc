// WriteBatch encoding (docs/format/wal.md, "Payload: WriteBatch"):
//   batch     := sequence:fixed64 count:fixed32 operation*
//   operation := kTypeValue key:lenprefixed value:lenprefixed
//              | kTypeDeletion key:lenprefixed
//              | kTypeRangeDeletion begin:lenprefixed end:lenprefixed
//   lenprefixed := length:varint32 bytes[length]
// The decoder (and what makes a batch valid) is base/write_batch_format.h,
// shared with the WAL batch reader.
#include "lsmkv/write_batch.h"

#include <algorithm>
#include <cstring>

#include "base/dbformat.h"
#include "base/write_batch_format.h"
#include "db/write_batch_internal.h"
#include "memtable/memtable.h"
#include "util/check.h"
#include "util/coding.h"

namespace lsmkv {

WriteBatch::WriteBatch() { Clear(); }

void WriteBatch::Clear() {
  if (rep_.size() >= WriteBatchInternal::kHeaderSize) {
    // Shrinking keeps the buffer: a batch reused for one write after another
    // (DB::Put) neither frees nor grows it.
    rep_.resize(WriteBatchInternal::kHeaderSize);
    std::memset(rep_.data(), 0, WriteBatchInternal::kHeaderSize);
  } else {
    rep_.assign(WriteBatchInternal::kHeaderSize, '\0');
  }
}

uint32_t WriteBatch::Count() const { return WriteBatchInternal::Count(this); }

namespace {

// Appends one operation (its type, then each of its one or two fields length
// prefixed) to rep, growing rep at most once: the appends one at a time
// reallocated a single Put's batch three or four times on its way from the
// 12-byte header to ~130 bytes (a malloc, a copy and a free each; DB::Put
// builds such a batch for every call). Capacity grows geometrically, so a
// batch built of many operations still costs amortised constant time each.
void AppendOperation(std::string* rep, ValueType type, std::string_view a,
                     const std::string_view* b) {
  const size_t need = rep->size() + 1 + static_cast<size_t>(VarintLength(a.size())) + a.size() +
                      (b == nullptr ? 0 : static_cast<size_t>(VarintLength(b->size())) + b->size());
  if (need > rep->capacity()) rep->reserve(std::max(need, 2 * rep->capacity()));
  const size_t old_size = rep->size();
  rep->resize(need);
  char* p = rep->data() + old_size;
  *p++ = static_cast<char>(type);
  p = EncodeVarint32(p, static_cast<uint32_t>(a.size()));
  if (!a.empty()) std::memcpy(p, a.data(), a.size());
  p += a.size();
  if (b != nullptr) {
    p = EncodeVarint32(p, static_cast<uint32_t>(b->size()));
    if (!b->empty()) std::memcpy(p, b->data(), b->size());
    p += b->size();
  }
  DCHECK_EQ(static_cast<size_t>(p - rep->data()), need);
}

}  // namespace

void WriteBatch::Put(std::string_view key, std::string_view value) {
  WriteBatchInternal::SetCount(this, WriteBatchInternal::Count(this) + 1);
  AppendOperation(&rep_, kTypeValue, key, &value);
}

void WriteBatch::Delete(std::string_view key) {
  WriteBatchInternal::SetCount(this, WriteBatchInternal::Count(this) + 1);
  AppendOperation(&rep_, kTypeDeletion, key, nullptr);
}

void WriteBatch::DeleteRange(std::string_view begin, std::string_view end) {
  WriteBatchInternal::SetCount(this, WriteBatchInternal::Count(this) + 1);
  AppendOperation(&rep_, kTypeRangeDeletion, begin, &end);
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

void WriteBatchInternal::PrefetchInsert(const WriteBatch* batch, const MemTable* memtable,
                                        int max_ops) {
  batch_format::ForFirstKeys(batch->rep_, max_ops,
                             [memtable](ValueType type, std::string_view key) {
                               if (type != kTypeRangeDeletion) memtable->PrefetchForAdd(key);
                             });
}

void WriteBatchInternal::Append(WriteBatch* dst, const WriteBatch* src) {
  DCHECK_LE(Count(src), UINT32_MAX - Count(dst));  // the count field cannot wrap
  SetCount(dst, Count(dst) + Count(src));
  dst->rep_.append(src->rep_.data() + kHeaderSize, src->rep_.size() - kHeaderSize);
}

}  // namespace lsmkv
