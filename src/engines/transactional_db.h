// TransactionalDB: gives a database of an engine without a transaction layer
// of its own (the B+tree, Bitcask) the generic optimistic transactions of
// txn/generic_transaction.h, through the engine's ConditionalWriter. Every
// other call goes straight to the engine's DB. DB::Open wraps those engines'
// databases in it.
#ifndef LSMKV_ENGINES_TRANSACTIONAL_DB_H_
#define LSMKV_ENGINES_TRANSACTIONAL_DB_H_

#include <memory>
#include <string>

#include "lsmkv/db.h"

namespace lsmkv {

// REQUIRES: inner is open. If inner is not a ConditionalWriter, its own
// BeginTransaction is used (the wrapper changes nothing then).
std::unique_ptr<DB> NewTransactionalDB(std::unique_ptr<DB> inner, const Options& options);

}  // namespace lsmkv

#endif  // LSMKV_ENGINES_TRANSACTIONAL_DB_H_
