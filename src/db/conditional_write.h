// ConditionalWriter: what an engine offers so that transactions work on it
// without a transaction layer of its own (txn/generic_transaction.h). The
// B+tree and Bitcask engines implement it beside DB; the engine switch
// (src/engines/) gives their databases generic transactions through it.
#ifndef LSMKV_DB_CONDITIONAL_WRITE_H_
#define LSMKV_DB_CONDITIONAL_WRITE_H_

#include <functional>

#include "lsmkv/options.h"
#include "lsmkv/status.h"
#include "lsmkv/write_batch.h"

namespace lsmkv {

class ConditionalWriter {
 public:
  virtual ~ConditionalWriter() = default;
  // Applies batch atomically, exactly as DB::Write would, if and only if
  // check() returns OK; otherwise writes nothing and returns check's error.
  // Guarantee: check runs after every earlier write (of any kind: Put,
  // Delete, Write, another WriteIf) is applied and visible to the DB's Get
  // and NewIterator, and no other write is applied between check and this
  // batch. check may call the DB's Get, NewIterator, GetSnapshot and
  // ReleaseSnapshot: the engine holds no lock they need while it runs.
  // An empty batch writes nothing but still runs check under that guarantee.
  virtual Status WriteIf(const WriteOptions& options, WriteBatch* batch,
                         const std::function<Status()>& check) = 0;
};

}  // namespace lsmkv

#endif  // LSMKV_DB_CONDITIONAL_WRITE_H_
