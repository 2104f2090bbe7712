// Engine-side access to a WriteBatch's encoding: sequence numbers, the raw
// representation stored in a WAL record, and insertion into a memtable.
#ifndef LSMKV_DB_WRITE_BATCH_INTERNAL_H_
#define LSMKV_DB_WRITE_BATCH_INTERNAL_H_

#include <string_view>

#include "base/dbformat.h"
#include "base/write_batch_format.h"
#include "lsmkv/write_batch.h"

namespace lsmkv {

class MemTable;

class WriteBatchInternal {
 public:
  // Header: fixed64 first sequence number, fixed32 operation count.
  static constexpr size_t kHeaderSize = batch_format::kHeaderSize;

  static uint32_t Count(const WriteBatch* batch);
  static void SetCount(WriteBatch* batch, uint32_t n);
  static SequenceNumber Sequence(const WriteBatch* batch);
  static void SetSequence(WriteBatch* batch, SequenceNumber seq);

  static std::string_view Contents(const WriteBatch* batch) { return batch->rep_; }
  static size_t ByteSize(const WriteBatch* batch) { return batch->rep_.size(); }

  // Replaces batch's contents with the bytes of a WAL record. Corruption if
  // they are shorter than the header; the operations themselves are checked
  // by Iterate / InsertInto.
  static Status SetContents(WriteBatch* batch, std::string_view contents);

  // Applies every operation to memtable with consecutive sequence numbers
  // starting at Sequence(batch). Corruption if the encoding is damaged (then
  // nothing should be trusted: callers validate with Iterate first when the
  // bytes come from disk).
  // A batch whose sequence numbers would pass kMaxSequenceNumber is
  // Corruption before anything is inserted, and no more operations than the
  // header counts are ever inserted.
  // REQUIRES: the caller is the memtable's single writer.
  static Status InsertInto(const WriteBatch* batch, MemTable* memtable);
  // MemTable::PrefetchForAdd for the keys of batch's first max_ops
  // operations (a hint: it stops quietly at anything it cannot decode).
  // REQUIRES: as InsertInto.
  static void PrefetchInsert(const WriteBatch* batch, const MemTable* memtable, int max_ops);
  // Corruption if Sequence(batch) .. Sequence(batch) + Count(batch) passes
  // kMaxSequenceNumber (bytes from disk that no writer of ours produced).
  static Status CheckSequenceRange(const WriteBatch* batch);

  // Appends src's operations to dst (dst keeps its sequence number).
  static void Append(WriteBatch* dst, const WriteBatch* src);
};

}  // namespace lsmkv

#endif  // LSMKV_DB_WRITE_BATCH_INTERNAL_H_
