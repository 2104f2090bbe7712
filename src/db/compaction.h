// Compaction picking: which level to compact, which files, and the rules the
// merge applies. Pure functions of a Version and the options (no I/O, no
// locks), so they can be tested without a database.
#ifndef LSMKV_DB_COMPACTION_H_
#define LSMKV_DB_COMPACTION_H_

#include <cstdint>
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
  int level = 0;                    // inputs[0] are in level, inputs[1] in level + 1
  std::vector<FileRef> inputs[2];
  std::vector<FileRef> grandparents;  // level + 2 files overlapping the inputs
  uint64_t max_output_file_size = 0;
  uint64_t max_grandparent_overlap = 0;  // cut an output before it overlaps more
  bool manual = false;

  int output_level() const { return level + 1; }
  uint64_t InputBytes() const;
  // One input file, nothing to merge with below, little grandparent overlap:
  // the file can move down by a MANIFEST edit alone.
  bool IsTrivialMove() const;
  // True if no level below output_level() can contain user_key, so a
  // deletion of it that every snapshot can see may be dropped.
  bool IsBaseLevelForKey(const Version& v, std::string_view user_key,
                         const Comparator* ucmp) const;
};

// Picks the most urgent compaction in v, or returns false if no level's
// score reaches options.compaction_soft_limit. Levels >= 1 pick the file
// whose compaction rewrites the least next-level data relative to its size
// (ties broken round-robin after *cursor[level], which is updated).
bool PickCompaction(const Options& options, const InternalKeyComparator& icmp, const Version& v,
                    std::string cursor[kNumLevels], Compaction* c);

// A compaction of every file of level overlapping the user-key range
// [begin, end] (nullptr = unbounded) into level + 1; false if none overlaps.
bool PickRangeCompaction(const Options& options, const InternalKeyComparator& icmp,
                         const Version& v, int level, const std::string* begin,
                         const std::string* end, Compaction* c);

// Files of level overlapping the user-key range [lo, hi] (nullptr = unbounded).
std::vector<FileRef> OverlappingFiles(const Version& v, int level, const Comparator* ucmp,
                                      const std::string_view* lo, const std::string_view* hi);

}  // namespace lsmkv

#endif  // LSMKV_DB_COMPACTION_H_
