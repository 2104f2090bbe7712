// A Transaction every call of which fails with one Status: what
// DB::BeginTransaction returns when no transaction can start (an engine
// without transactions, a closed DB), since it never returns nullptr.
#ifndef LSMKV_DB_FAILED_TRANSACTION_H_
#define LSMKV_DB_FAILED_TRANSACTION_H_

#include <memory>

#include "lsmkv/status.h"
#include "lsmkv/transaction.h"

namespace lsmkv {

// REQUIRES: !why.ok(). Its iterators are empty with status() == why.
std::unique_ptr<Transaction> NewFailedTransaction(Status why);

}  // namespace lsmkv

#endif  // LSMKV_DB_FAILED_TRANSACTION_H_
