#include "db/compaction.h"

#include <algorithm>

namespace lsmkv {

uint64_t MaxBytesForLevel(const Options& options, int level) {
  uint64_t bytes = options.max_bytes_for_level_base;
  for (int l = 1; l < level; l++) bytes *= static_cast<uint64_t>(options.level_size_multiplier);
  return bytes;
}

double LevelScore(const Options& options, const Version& v, int level) {
  if (level == 0) {
    return static_cast<double>(v.NumFiles(0)) / static_cast<double>(options.level0_file_limit);
  }
  if (level >= kNumLevels - 1) return 0;
  return static_cast<double>(v.LevelBytes(level)) /
         static_cast<double>(MaxBytesForLevel(options, level));
}

uint64_t Compaction::InputBytes() const {
  uint64_t sum = 0;
  for (const auto& which : inputs) {
    for (const FileRef& f : which) sum += f->file_size;
  }
  return sum;
}

bool Compaction::IsTrivialMove() const {
  if (manual || inputs[0].size() != 1 || !inputs[1].empty()) return false;
  uint64_t overlap = 0;
  for (const FileRef& f : grandparents) overlap += f->file_size;
  return overlap <= max_grandparent_overlap;
}

bool Compaction::IsBaseLevelForKey(const Version& v, std::string_view user_key,
                                   const Comparator* ucmp) const {
  for (int l = output_level() + 1; l < kNumLevels; l++) {
    for (const FileRef& f : v.files(l)) {
      if (ucmp->Compare(user_key, ExtractUserKey(f->smallest)) >= 0 &&
          ucmp->Compare(user_key, ExtractUserKey(f->largest)) <= 0) {
        return false;
      }
    }
  }
  return true;
}

std::vector<FileRef> OverlappingFiles(const Version& v, int level, const Comparator* ucmp,
                                      const std::string_view* lo, const std::string_view* hi) {
  std::vector<FileRef> result;
  for (const FileRef& f : v.files(level)) {
    if (lo != nullptr && ucmp->Compare(ExtractUserKey(f->largest), *lo) < 0) continue;
    if (hi != nullptr && ucmp->Compare(ExtractUserKey(f->smallest), *hi) > 0) continue;
    result.push_back(f);
  }
  return result;
}

namespace {

// The user-key range covered by files.
void Range(const std::vector<FileRef>& files, const Comparator* ucmp, std::string* lo,
           std::string* hi) {
  bool first = true;
  for (const FileRef& f : files) {
    const std::string_view s = ExtractUserKey(f->smallest), l = ExtractUserKey(f->largest);
    if (first || ucmp->Compare(s, *lo) < 0) lo->assign(s);
    if (first || ucmp->Compare(l, *hi) > 0) hi->assign(l);
    first = false;
  }
}

uint64_t TotalBytes(const std::vector<FileRef>& files) {
  uint64_t sum = 0;
  for (const FileRef& f : files) sum += f->file_size;
  return sum;
}

// Fills inputs[1] and grandparents from inputs[0]; grows inputs[0] when that
// takes in more of level without growing the overlap below.
void SetupOtherInputs(const Options& options, const Comparator* ucmp, const Version& v,
                      Compaction* c) {
  std::string lo, hi;
  Range(c->inputs[0], ucmp, &lo, &hi);
  std::string_view lov = lo, hiv = hi;
  c->inputs[1] = OverlappingFiles(v, c->level + 1, ucmp, &lov, &hiv);
  if (c->level > 0 && !c->inputs[1].empty()) {
    std::vector<FileRef> all = c->inputs[0];
    all.insert(all.end(), c->inputs[1].begin(), c->inputs[1].end());
    std::string all_lo, all_hi;
    Range(all, ucmp, &all_lo, &all_hi);
    std::string_view alo = all_lo, ahi = all_hi;
    std::vector<FileRef> expanded0 = OverlappingFiles(v, c->level, ucmp, &alo, &ahi);
    if (expanded0.size() > c->inputs[0].size() &&
        TotalBytes(expanded0) + TotalBytes(c->inputs[1]) < 25 * options.target_file_size) {
      std::string elo, ehi;
      Range(expanded0, ucmp, &elo, &ehi);
      std::string_view elov = elo, ehiv = ehi;
      std::vector<FileRef> expanded1 = OverlappingFiles(v, c->level + 1, ucmp, &elov, &ehiv);
      if (expanded1.size() == c->inputs[1].size()) {
        c->inputs[0] = std::move(expanded0);
        lo = elo;
        hi = ehi;
      }
    }
  }
  std::vector<FileRef> all = c->inputs[0];
  all.insert(all.end(), c->inputs[1].begin(), c->inputs[1].end());
  Range(all, ucmp, &lo, &hi);
  lov = lo;
  hiv = hi;
  if (c->level + 2 < kNumLevels) c->grandparents = OverlappingFiles(v, c->level + 2, ucmp, &lov, &hiv);
  c->max_output_file_size = options.target_file_size;
  c->max_grandparent_overlap = 10 * options.target_file_size;
}

}  // namespace

bool PickCompaction(const Options& options, const InternalKeyComparator& icmp, const Version& v,
                    std::string cursor[kNumLevels], Compaction* c) {
  const Comparator* ucmp = icmp.user_comparator();
  int best_level = -1;
  double best_score = 0;
  for (int level = 0; level < kNumLevels - 1; level++) {
    const double score = LevelScore(options, v, level);
    if (score >= options.compaction_soft_limit && score > best_score) {
      best_score = score;
      best_level = level;
    }
  }
  if (best_level < 0) return false;
  c->level = best_level;
  if (best_level == 0) {
    c->inputs[0] = v.files(0);  // level-0 files overlap: take them all
  } else {
    // The file whose compaction rewrites the least of the next level per
    // byte of its own; among equals the first after the cursor.
    const std::vector<FileRef>& files = v.files(best_level);
    const size_t n = files.size();
    size_t start = 0;
    if (!cursor[best_level].empty()) {
      while (start < n && icmp.Compare(files[start]->largest, cursor[best_level]) <= 0) start++;
      if (start == n) start = 0;
    }
    size_t best = start;
    double best_ratio = -1;
    for (size_t k = 0; k < n; k++) {
      const FileRef& f = files[(start + k) % n];
      const std::string_view lo = ExtractUserKey(f->smallest), hi = ExtractUserKey(f->largest);
      const uint64_t overlap = TotalBytes(OverlappingFiles(v, best_level + 1, ucmp, &lo, &hi));
      const double ratio =
          static_cast<double>(overlap) / static_cast<double>(std::max<uint64_t>(f->file_size, 1));
      if (best_ratio < 0 || ratio < best_ratio) {
        best_ratio = ratio;
        best = (start + k) % n;
      }
    }
    c->inputs[0] = {files[best]};
    cursor[best_level] = files[best]->largest;
  }
  SetupOtherInputs(options, ucmp, v, c);
  return true;
}

bool PickRangeCompaction(const Options& options, const InternalKeyComparator& icmp,
                         const Version& v, int level, const std::string* begin,
                         const std::string* end, Compaction* c) {
  const Comparator* ucmp = icmp.user_comparator();
  std::string_view lo, hi;
  if (begin != nullptr) lo = *begin;
  if (end != nullptr) hi = *end;
  std::vector<FileRef> inputs =
      OverlappingFiles(v, level, ucmp, begin ? &lo : nullptr, end ? &hi : nullptr);
  if (inputs.empty()) return false;
  c->level = level;
  c->manual = true;
  c->inputs[0] = level == 0 ? v.files(0) : std::move(inputs);
  SetupOtherInputs(options, ucmp, v, c);
  return true;
}

}  // namespace lsmkv
