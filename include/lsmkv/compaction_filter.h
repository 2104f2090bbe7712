// CompactionFilter: a user callback that decides, while compaction rewrites
// tables, whether a stored value is kept or removed. Typical uses: expiring
// values whose encoded deadline has passed (lsmkv-server's TTLs), dropping
// keys of a deleted tenant, garbage-collecting application-level state.
#ifndef LSMKV_INCLUDE_COMPACTION_FILTER_H_
#define LSMKV_INCLUDE_COMPACTION_FILTER_H_

#include <string_view>

namespace lsmkv {

class CompactionFilter {
 public:
  enum class Decision {
    kKeep,    // the value stays as it is
    kRemove,  // the key reads as deleted from now on (as if Delete had been called)
  };

  virtual ~CompactionFilter() = default;

  // Called from background compaction threads, possibly several at once, for
  // every value (never for a deletion) that compaction writes and that no
  // live snapshot can see: a value a snapshot can still read is never offered,
  // so snapshots stay exact. `level` is the output level of the compaction.
  //
  // Contract: must be thread-safe and must be deterministic enough that
  // removing the value is always acceptable. It may read the DB it filters
  // (Get, NewIterator, GetSnapshot/ReleaseSnapshot: compaction holds no DB
  // lock while it calls the filter) but must not change it (no Put, Delete,
  // Write, DeleteRange, Flush, CompactRange, Close, Resume or transaction
  // commit: those may wait for this very compaction). Reads see every
  // acknowledged write, including writes whose WAL sync has not completed
  // yet; a filter that removes a value because of another key's state must
  // base that on state that is durable (e.g. read at a snapshot taken before
  // a completed sync), or a power loss could undo the state but not the
  // removal. Reads after Close began fail; the filter should then keep. And
  // the filter may also never see a value (values still in memtables or not
  // yet compacted are not offered), so readers that need a rule enforced
  // (e.g. expiry) must also apply it on read.
  virtual Decision Filter(int level, std::string_view key, std::string_view value) const = 0;

  // Identifies the filter in the info log.
  virtual const char* Name() const = 0;
};

}  // namespace lsmkv

#endif  // LSMKV_INCLUDE_COMPACTION_FILTER_H_
