#include "db/version_invariants.h"

#include <set>
#include <string>
#include <vector>

namespace lsmkv {

namespace {

Status Violation(int level, uint64_t number, const std::string& what) {
  return Status::Corruption("L" + std::to_string(level) + " table " + std::to_string(number), what);
}

Status CheckFile(const FileMetaData& f, int level, const InternalKeyComparator& icmp,
                 uint64_t next_file_number) {
  if (f.number == 0 || f.number >= next_file_number) {
    return Violation(level, f.number,
                     "number not below the next file number " + std::to_string(next_file_number));
  }
  ParsedInternalKey smallest, largest;
  if (!ParseInternalKey(f.smallest, &smallest) || !ParseInternalKey(f.largest, &largest)) {
    return Violation(level, f.number, "smallest or largest is not an internal key");
  }
  if (icmp.Compare(f.smallest, f.largest) > 0) {
    return Violation(level, f.number, "smallest key after largest key");
  }
  if (f.smallest_seqno > f.largest_seqno) {
    return Violation(level, f.number, "smallest seqno above largest seqno");
  }
  if (f.num_deletions > f.num_entries) {
    return Violation(level, f.number, "more deletions than entries");
  }
  return Status::OK();
}

}  // namespace

Status CheckVersionInvariants(const Version& v, const InternalKeyComparator& icmp,
                              uint64_t next_file_number) {
  const Comparator* ucmp = icmp.user_comparator();
  std::set<uint64_t> numbers;
  for (int level = 0; level < kNumLevels; level++) {
    const std::vector<FileRef>& files = v.files(level);
    for (size_t i = 0; i < files.size(); i++) {
      const FileMetaData& f = *files[i];
      Status s = CheckFile(f, level, icmp, next_file_number);
      if (!s.ok()) return s;
      if (!numbers.insert(f.number).second) {
        return Violation(level, f.number, "listed more than once in the version");
      }
      if (i == 0) continue;
      const FileMetaData& prev = *files[i - 1];
      if (level == 0) {
        if (prev.number <= f.number) {
          return Violation(level, f.number, "level 0 is not ordered newest file first");
        }
        // Reads search level 0 by file number: a newer file must hold only
        // newer data (no compaction writes into level 0).
        if (prev.smallest_seqno <= f.largest_seqno) {
          return Violation(level, f.number,
                           "holds sequences up to " + std::to_string(f.largest_seqno) +
                               ", not below those of the newer level-0 file " +
                               std::to_string(prev.number) + " (from " +
                               std::to_string(prev.smallest_seqno) + ")");
        }
      } else if (ucmp->Compare(ExtractUserKey(prev.largest), ExtractUserKey(f.smallest)) >= 0) {
        return Violation(level, f.number, "overlaps the previous file of its level");
      }
    }
  }
  // Range tombstones: a valid range, and pending tables that are in the
  // version (a table leaves them in the edit that removes it).
  for (const RangeTombstoneRecord& r : v.range_tombstones()) {
    const std::string which = "range tombstone @" + std::to_string(r.tombstone.seq);
    if (ucmp->Compare(r.tombstone.begin, r.tombstone.end) >= 0) {
      return Status::Corruption("version invariant", which + ": begin is not before end");
    }
    if (r.pending_files.empty()) {
      return Status::Corruption("version invariant", which + ": no pending table (not retired)");
    }
    for (uint64_t number : r.pending_files) {
      if (numbers.count(number) == 0) {
        return Status::Corruption(
            "version invariant",
            which + ": pending table " + std::to_string(number) + " is not in the version");
      }
    }
  }
  return Status::OK();
}

}  // namespace lsmkv
