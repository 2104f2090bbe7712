// WriteBatch: a group of updates applied atomically — all or nothing, in
// order — by DB::Write. One batch is one write-ahead log record.
//
// Encoding (docs/format/wal.md): fixed64 first sequence number, fixed32
// count, then per operation a type byte and length-prefixed key (and value;
// a range deletion's two keys).
//
// Thread safety: not thread safe; const methods may run concurrently.
#ifndef LSMKV_INCLUDE_WRITE_BATCH_H_
#define LSMKV_INCLUDE_WRITE_BATCH_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "lsmkv/status.h"

namespace lsmkv {

class WriteBatch {
 public:
  // Receives the operations of a batch, in order, from Iterate.
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void Put(std::string_view key, std::string_view value) = 0;
    virtual void Delete(std::string_view key) = 0;
    // A range deletion [begin, end). Handlers written before DeleteRange
    // existed do not override this: Iterate then stops with NotSupported at
    // the first range deletion rather than skip it.
    // Returns false if the handler does not handle range deletions.
    virtual bool DeleteRange(std::string_view begin, std::string_view end) {
      (void)begin;
      (void)end;
      return false;
    }
  };

  WriteBatch();
  WriteBatch(const WriteBatch&) = default;
  WriteBatch& operator=(const WriteBatch&) = default;
  ~WriteBatch() = default;

  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  // Deletes every key in [begin, end) (begin inclusive, end exclusive, in
  // the order of the DB's comparator) as of this batch: keys written in the
  // same batch before this operation are deleted, keys written after it are
  // not. DB::Write refuses the batch (InvalidArgument) unless begin < end.
  void DeleteRange(std::string_view begin, std::string_view end);
  // Appends every operation of source to this batch.
  void Append(const WriteBatch& source);
  void Clear();

  // Number of operations.
  uint32_t Count() const;
  // Bytes of the encoded batch.
  size_t ApproximateSize() const { return rep_.size(); }
  // Calls handler for each operation in order. Corruption if the encoding is
  // damaged; NotSupported if the batch holds a range deletion the handler
  // does not handle (Handler::DeleteRange returned false).
  Status Iterate(Handler* handler) const;

 private:
  friend class WriteBatchInternal;
  std::string rep_;
};

}  // namespace lsmkv

#endif  // LSMKV_INCLUDE_WRITE_BATCH_H_
