// WriteBatch: a group of updates applied atomically — all or nothing, in
// order — by DB::Write. One batch is one write-ahead log record.
//
// Encoding (docs/format/wal.md): fixed64 first sequence number, fixed32
// count, then per operation a type byte and length-prefixed key (and value).
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
  };

  WriteBatch();
  WriteBatch(const WriteBatch&) = default;
  WriteBatch& operator=(const WriteBatch&) = default;
  ~WriteBatch() = default;

  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  // Appends every operation of source to this batch.
  void Append(const WriteBatch& source);
  void Clear();

  // Number of operations.
  uint32_t Count() const;
  // Bytes of the encoded batch.
  size_t ApproximateSize() const { return rep_.size(); }
  // Calls handler for each operation in order. Corruption if the encoding is damaged.
  Status Iterate(Handler* handler) const;

 private:
  friend class WriteBatchInternal;
  std::string rep_;
};

}  // namespace lsmkv

#endif  // LSMKV_INCLUDE_WRITE_BATCH_H_
