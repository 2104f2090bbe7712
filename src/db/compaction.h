// Compaction picking: which level to compact, which files, and the rules the
// merge applies. Pure functions of a Version and the options (no I/O, no
// locks), so they can be tested without a database.
#ifndef LSMKV_DB_COMPACTION_H_
#define LSMKV_DB_COMPACTION_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "db/version_set.h"
#include "lsmkv/options.h"

namespace lsmkv {

// Budget of level >= 1 in bytes.
uint64_t MaxBytesForLevel(const Options& options, int level);

// A level's score: L0 files / level0_file_limit, others bytes / budget.
// The last level has no budget (score 0).
double LevelScore(const Options& options, const Version& v, int level);

struct Compaction {
  uint64_t id = 0;  // set by CompactionsInFlight::Add
  int level = 0;    // inputs[0] are in level, inputs[1] in level + 1
  std::vector<FileRef> inputs[2];
  std::vector<FileRef> grandparents;  // level + 2 files overlapping the inputs
  uint64_t max_output_file_size = 0;
  uint64_t max_grandparent_overlap = 0;  // cut an output before it overlaps more
  bool manual = false;
  // A bottommost rewrite (CompactRange with a compaction filter) writes back
  // into its own level; every other compaction into level + 1.
  bool same_level_output = false;

  int output_level() const { return same_level_output ? level : level + 1; }
  uint64_t InputBytes() const;
  // One input file, nothing to merge with below, little grandparent overlap:
  // the file can move down by a MANIFEST edit alone.
  bool IsTrivialMove() const;
  // True if no level below output_level() can contain user_key, so a
  // deletion of it that every snapshot can see may be dropped.
  bool IsBaseLevelForKey(const Version& v, std::string_view user_key, const Comparator* ucmp) const;
};

// What the running compactions hold, so that concurrent compactions never
// share an input file and never write overlapping key ranges into one level.
// Not thread safe: the DB guards it with its mutex.
class CompactionsInFlight {
 public:
  // True if c uses a file a running compaction uses, or would write into a
  // level a running compaction writes into, over an overlapping key range.
  bool Conflicts(const Compaction& c, const Comparator* ucmp) const;
  bool IsBusy(uint64_t file_number) const { return files_.count(file_number) != 0; }
  // Registers c (assigning c->id). REQUIRES: !Conflicts(*c).
  void Add(Compaction* c, const Comparator* ucmp);
  // Unregisters a compaction added before.
  void Remove(const Compaction& c);
  bool empty() const { return running_.empty(); }
  // Running compactions whose input level is level.
  int RunningFromLevel(int level) const;

 private:
  struct Running {
    int level;
    int output_level;
    std::string lo, hi;  // user-key range of all inputs (= of all outputs)
  };
  uint64_t next_id_ = 1;
  std::set<uint64_t> files_;
  std::map<uint64_t, Running> running_;
};

// Picks the most urgent compaction in v that does not conflict with
// inflight, or returns false if no level's score reaches
// options.compaction_soft_limit (or every candidate conflicts). Levels are
// tried by descending score. Levels >= 1 pick the file whose compaction
// rewrites the least next-level data relative to its size (ties broken
// round-robin after cursor[level], which is updated).
bool PickCompaction(const Options& options, const InternalKeyComparator& icmp, const Version& v,
                    const CompactionsInFlight& inflight, std::string cursor[kNumLevels],
                    Compaction* c);

// A read-triggered compaction of file f of level (into level + 1; at level
// 0 with every level-0 file, as they overlap). False if f is no longer in v,
// is in the last level, or the compaction conflicts with inflight.
bool PickReadCompaction(const Options& options, const InternalKeyComparator& icmp, const Version& v,
                        const CompactionsInFlight& inflight, int level, const FileRef& f,
                        Compaction* c);

// Bytes that compaction still has to rewrite to bring every level under its
// soft limit: for each level over it, the excess and the share of the next
// level it will be merged with (an estimate, as RocksDB's).
uint64_t EstimatePendingCompactionBytes(const Options& options, const Version& v);

// A manual compaction (CompactRange) of every file of level overlapping the
// user-key range [begin, end] (nullptr = unbounded) into level + 1; false if
// none overlaps. With bottommost (level is the deepest level holding the
// range) the files are rewritten into level itself (same_level_output), with
// no next-level inputs and no grandparents. Does not look at the running
// compactions: the caller checks CompactionsInFlight::Conflicts.
bool PickRangeCompaction(const Options& options, const InternalKeyComparator& icmp,
                         const Version& v, int level, const std::string* begin,
                         const std::string* end, bool bottommost, Compaction* c);

// Files of level overlapping the user-key range [lo, hi] (nullptr = unbounded).
std::vector<FileRef> OverlappingFiles(const Version& v, int level, const Comparator* ucmp,
                                      const std::string_view* lo, const std::string_view* hi);

}  // namespace lsmkv

#endif  // LSMKV_DB_COMPACTION_H_
