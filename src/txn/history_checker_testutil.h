// A transaction history checker in the style of Elle (Kingsbury & Alvaro,
// "Elle: Inferring Isolation Anomalies from Experimental Observations") for
// list-append histories: every object is a list, a transaction reads lists
// and appends unique values. Because each append's value is unique and a
// list is only ever appended to, the final lists give each object's version
// order, and every read names the version it saw (its length). From that the
// checker builds the dependency graph:
//   ww  T1 -> T2  T2 appended the element right after T1's
//   wr  T1 -> T2  T2 read a list whose last element T1 appended
//   rw  T1 -> T2  T1 read a list that T2's append extended (anti-dependency)
// and reports, with the transactions involved:
//   G1a  a read saw an element appended by an aborted transaction
//   incompatible-order  a read that is not a prefix of the final list
//   G0   a cycle of ww edges;  G1c  a cycle of ww/wr edges
//   G-single  a cycle with exactly one rw edge
//   G2   any other cycle (two or more rw edges)
// Serializable histories must show none; snapshot isolation permits only G2.
#ifndef LSMKV_TXN_HISTORY_CHECKER_TESTUTIL_H_
#define LSMKV_TXN_HISTORY_CHECKER_TESTUTIL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lsmkv::test {

struct HistoryOp {
  bool append = false;  // else a read
  std::string key;
  uint64_t value = 0;          // append: the value appended
  std::vector<uint64_t> read;  // read: the list seen
};

struct HistoryTxn {
  std::vector<HistoryOp> ops;
  bool committed = false;
  // For ClassifyAborts: where the transaction sits in commit order. A
  // committed one: its commit sequence (its read sequence if it wrote
  // nothing). One aborted by a conflict: the database's last sequence just
  // after its Commit failed (everything its validation saw committed has a
  // ticket at or below it). 0: not classified (e.g. aborted for another
  // reason).
  uint64_t ticket = 0;
};

struct HistoryReport {
  std::vector<std::string> anomalies;  // one line each: kind and transactions
  size_t edges_ww = 0, edges_wr = 0, edges_rw = 0;
  bool Has(const std::string& kind) const;
  std::string ToString() const;
};

// final_lists: every object's list after the history (read when nothing ran).
// allow_g2: true checks snapshot isolation (G2 permitted), false
// serializability (every cycle is an anomaly).
HistoryReport CheckListAppendHistory(
    const std::vector<HistoryTxn>& txns,
    const std::map<std::string, std::vector<uint64_t>>& final_lists, bool allow_g2);

// Whether the aborts of a history were necessary. An aborted transaction T
// with a ticket is added as if it had committed right after every committed
// transaction whose ticket is at or below T's (its appends at the end of
// those transactions' lists; committed transactions with larger tickets are
// left out: they ran against a database without T). Its abort was necessary
// if that closes a dependency cycle through T that the level forbids — any
// cycle for serializability, one with at most one rw edge for snapshot
// isolation (allow_g2) — and avoidable (a false abort) otherwise. The
// committed side is judged on the history as it happened, so this is an
// estimate of what a perfect validator could have let commit, not a claim
// that one schedule admits all the avoidable ones at once.
struct AbortReport {
  size_t classified = 0;  // aborted transactions with a ticket
  size_t necessary = 0;
  size_t avoidable = 0;
  std::string ToString() const;
};
AbortReport ClassifyAborts(const std::vector<HistoryTxn>& txns,
                           const std::map<std::string, std::vector<uint64_t>>& final_lists,
                           bool allow_g2);

}  // namespace lsmkv::test

#endif  // LSMKV_TXN_HISTORY_CHECKER_TESTUTIL_H_
