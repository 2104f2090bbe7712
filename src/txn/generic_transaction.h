// Generic optimistic transactions: the Transaction of lsmkv/transaction.h for
// any engine that offers ConditionalWriter (db/conditional_write.h), built
// only on the DB interface — snapshots, Get, NewIterator — and WriteIf.
//
// How it differs from the LSM's transactions (src/txn/optimistic_transaction.cc,
// which validate by sequence numbers against a conflict tracker): conflicts
// are found by VALUE. At Commit, under WriteIf's guarantee that no write
// lands between the check and the batch, every tracked key is read again at
// the snapshot it was read at and now; a tracked iterator range is scanned
// both ways; any difference is a conflict (Busy naming the key or range).
// Written keys are checked from the newest snapshot (first-committer-wins at
// kSnapshot). A key rewritten meanwhile to the value it had is therefore no
// conflict: the outcome equals a serial execution at the commit point, so
// the isolation guarantees of lsmkv/transaction.h hold unchanged; only the
// set of aborts is smaller. The cost is paid at Commit: two reads per
// tracked key and two scans per tracked range, while the transaction pins
// its snapshots.
//
// GetReadSequence and GetCommitSequence return 0: these engines number no
// sequences visible to the API.
#ifndef LSMKV_TXN_GENERIC_TRANSACTION_H_
#define LSMKV_TXN_GENERIC_TRANSACTION_H_

#include <memory>

#include "db/conditional_write.h"
#include "lsmkv/db.h"
#include "lsmkv/transaction.h"

namespace lsmkv {

// REQUIRES: db and writer are the same database object and outlive the
// transaction; db_options are the options it was opened with (limits,
// comparator, env).
std::unique_ptr<Transaction> NewGenericTransaction(DB* db, ConditionalWriter* writer,
                                                   const Options& db_options,
                                                   const WriteOptions& write_options,
                                                   const TransactionOptions& options);

}  // namespace lsmkv

#endif  // LSMKV_TXN_GENERIC_TRANSACTION_H_
