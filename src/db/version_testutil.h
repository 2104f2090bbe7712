// Versions built in memory from file metadata, for tests of the pure
// functions of a Version (compaction picking, scores) without a database,
// a MANIFEST or table files. Test binaries only.
#ifndef LSMKV_DB_VERSION_TESTUTIL_H_
#define LSMKV_DB_VERSION_TESTUTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "db/version_set.h"

namespace lsmkv {

class VersionTestPeer {
 public:
  // A version holding exactly files[level], in the given order: level 0
  // newest file first; levels >= 1 must be sorted by smallest key and not
  // overlap (CheckLevels says whether they do). It has no table cache:
  // Get and RecordReadSample must not be called on it. icmp must outlive it.
  static std::shared_ptr<Version> Make(const InternalKeyComparator* icmp,
                                       const std::vector<FileRef> (&files)[kNumLevels]) {
    std::shared_ptr<Version> v(new Version(/*table_cache=*/nullptr, icmp));
    for (int level = 0; level < kNumLevels; level++) v->files_[level] = files[level];
    return v;
  }

  // "" if every level >= 1 of v is sorted by smallest key without overlaps
  // (the invariant VersionSet keeps), else what breaks it.
  static std::string CheckLevels(const InternalKeyComparator& icmp, const Version& v) {
    for (int level = 1; level < kNumLevels; level++) {
      const std::vector<FileRef>& files = v.files(level);
      for (size_t i = 1; i < files.size(); i++) {
        if (icmp.Compare(files[i - 1]->largest, files[i]->smallest) >= 0) {
          return "L" + std::to_string(level) + ": file " + std::to_string(files[i - 1]->number) +
                 " overlaps or follows file " + std::to_string(files[i]->number);
        }
      }
    }
    return "";
  }
};

}  // namespace lsmkv

#endif  // LSMKV_DB_VERSION_TESTUTIL_H_
