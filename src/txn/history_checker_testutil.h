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

}  // namespace lsmkv::test

#endif  // LSMKV_TXN_HISTORY_CHECKER_TESTUTIL_H_
