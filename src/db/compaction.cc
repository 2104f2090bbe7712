#include "db/compaction.h"

#include <algorithm>

#include "util/check.h"

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
  DCHECK(level >= 0 && level < kNumLevels);
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
                      const CompactionsInFlight* inflight, Compaction* c) {
  DCHECK(!c->inputs[0].empty());
  DCHECK(c->level >= 0 && c->level < kNumLevels);
  std::string lo, hi;
  Range(c->inputs[0], ucmp, &lo, &hi);
  std::string_view lov = lo, hiv = hi;
  // The last level has no level below (a bottommost rewrite of it writes
  // back into itself).
  if (c->level + 1 < kNumLevels) c->inputs[1] = OverlappingFiles(v, c->level + 1, ucmp, &lov, &hiv);
  if (c->level > 0 && !c->inputs[1].empty()) {
    std::vector<FileRef> all = c->inputs[0];
    all.insert(all.end(), c->inputs[1].begin(), c->inputs[1].end());
    std::string all_lo, all_hi;
    Range(all, ucmp, &all_lo, &all_hi);
    std::string_view alo = all_lo, ahi = all_hi;
    std::vector<FileRef> expanded0 = OverlappingFiles(v, c->level, ucmp, &alo, &ahi);
    const bool expansion_free =
        inflight == nullptr ||
        std::none_of(expanded0.begin(), expanded0.end(),
                     [inflight](const FileRef& f) { return inflight->IsBusy(f->number); });
    if (expansion_free && expanded0.size() > c->inputs[0].size() &&
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
  if (c->level + 2 < kNumLevels)
    c->grandparents = OverlappingFiles(v, c->level + 2, ucmp, &lov, &hiv);
  c->max_output_file_size = options.target_file_size;
  c->max_grandparent_overlap = 10 * options.target_file_size;
}

}  // namespace

bool CompactionsInFlight::Conflicts(const Compaction& c, const Comparator* ucmp) const {
  for (const auto& which : c.inputs) {
    for (const FileRef& f : which) {
      if (IsBusy(f->number)) return true;
    }
  }
  std::string lo, hi;
  std::vector<FileRef> all = c.inputs[0];
  all.insert(all.end(), c.inputs[1].begin(), c.inputs[1].end());
  Range(all, ucmp, &lo, &hi);
  for (const auto& [id, r] : running_) {
    if (r.output_level != c.output_level()) continue;
    if (ucmp->Compare(hi, r.lo) >= 0 && ucmp->Compare(lo, r.hi) <= 0) return true;
  }
  return false;
}

void CompactionsInFlight::Add(Compaction* c, const Comparator* ucmp) {
  DCHECK(!Conflicts(*c, ucmp));
  DCHECK(!c->inputs[0].empty());
  c->id = next_id_++;
  Running r;
  r.level = c->level;
  r.output_level = c->output_level();
  std::vector<FileRef> all = c->inputs[0];
  all.insert(all.end(), c->inputs[1].begin(), c->inputs[1].end());
  Range(all, ucmp, &r.lo, &r.hi);
  for (const FileRef& f : all) {
    // CHECK: a file in two running compactions would be merged twice.
    CHECK(files_.insert(f->number).second);
  }
  running_.emplace(c->id, std::move(r));
}

void CompactionsInFlight::Remove(const Compaction& c) {
  for (const auto& which : c.inputs) {
    for (const FileRef& f : which) {
      [[maybe_unused]] const size_t erased = files_.erase(f->number);
      DCHECK_EQ(erased, 1u);  // registered by Add, removed once
    }
  }
  [[maybe_unused]] const size_t erased = running_.erase(c.id);
  DCHECK_EQ(erased, 1u);
}

int CompactionsInFlight::RunningFromLevel(int level) const {
  int n = 0;
  for (const auto& [id, r] : running_) n += r.level == level ? 1 : 0;
  return n;
}

bool PickCompaction(const Options& options, const InternalKeyComparator& icmp, const Version& v,
                    const CompactionsInFlight& inflight, std::string cursor[kNumLevels],
                    Compaction* c) {
  const Comparator* ucmp = icmp.user_comparator();
  std::vector<std::pair<double, int>> urgent;  // (score, level), most urgent first
  for (int level = 0; level < kNumLevels - 1; level++) {
    const double score = LevelScore(options, v, level);
    if (score >= options.compaction_soft_limit) urgent.emplace_back(score, level);
  }
  std::stable_sort(urgent.begin(), urgent.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [score, level] : urgent) {
    Compaction candidate;
    candidate.level = level;
    if (level == 0) {
      candidate.inputs[0] = v.files(0);  // level-0 files overlap: take them all
      SetupOtherInputs(options, ucmp, v, &inflight, &candidate);
      if (inflight.Conflicts(candidate, ucmp)) continue;
      *c = std::move(candidate);
      return true;
    }
    // Files in order of how little of the next level their compaction
    // rewrites per byte of their own; among equals the first after the cursor.
    const std::vector<FileRef>& files = v.files(level);
    const size_t n = files.size();
    size_t start = 0;
    if (!cursor[level].empty()) {
      while (start < n && icmp.Compare(files[start]->largest, cursor[level]) <= 0) start++;
      if (start == n) start = 0;
    }
    std::vector<std::pair<double, size_t>> order;  // (ratio, position after the cursor)
    for (size_t k = 0; k < n; k++) {
      const FileRef& f = files[(start + k) % n];
      if (inflight.IsBusy(f->number)) continue;
      const std::string_view lo = ExtractUserKey(f->smallest), hi = ExtractUserKey(f->largest);
      const uint64_t overlap = TotalBytes(OverlappingFiles(v, level + 1, ucmp, &lo, &hi));
      order.emplace_back(
          static_cast<double>(overlap) / static_cast<double>(std::max<uint64_t>(f->file_size, 1)),
          k);
    }
    std::stable_sort(order.begin(), order.end());
    for (const auto& [ratio, k] : order) {
      const FileRef& f = files[(start + k) % n];
      Compaction pick;
      pick.level = level;
      pick.inputs[0] = {f};
      SetupOtherInputs(options, ucmp, v, &inflight, &pick);
      if (inflight.Conflicts(pick, ucmp)) continue;
      cursor[level] = f->largest;
      *c = std::move(pick);
      return true;
    }
  }
  return false;
}

bool PickReadCompaction(const Options& options, const InternalKeyComparator& icmp, const Version& v,
                        const CompactionsInFlight& inflight, int level, const FileRef& f,
                        Compaction* c) {
  if (level < 0 || level >= kNumLevels - 1) return false;
  const std::vector<FileRef>& files = v.files(level);
  if (std::find(files.begin(), files.end(), f) == files.end()) return false;
  Compaction pick;
  pick.level = level;
  if (level == 0) {
    pick.inputs[0] = files;
  } else {
    pick.inputs[0] = {f};
  }
  SetupOtherInputs(options, icmp.user_comparator(), v, &inflight, &pick);
  if (inflight.Conflicts(pick, icmp.user_comparator())) return false;
  *c = std::move(pick);
  return true;
}

uint64_t EstimatePendingCompactionBytes(const Options& options, const Version& v) {
  uint64_t pending = 0;
  if (LevelScore(options, v, 0) >= options.compaction_soft_limit) {
    pending += v.LevelBytes(0) + v.LevelBytes(1);  // L0 merges with all of L1, roughly
  }
  for (int level = 1; level < kNumLevels - 1; level++) {
    const double budget =
        static_cast<double>(MaxBytesForLevel(options, level)) * options.compaction_soft_limit;
    const double bytes = static_cast<double>(v.LevelBytes(level));
    if (bytes <= budget) continue;
    const double excess = bytes - budget;
    // The excess moves down and rewrites the next level's data it overlaps:
    // in proportion, next-level bytes per byte of this level.
    const double fanout = bytes > 0 ? static_cast<double>(v.LevelBytes(level + 1)) / bytes : 0;
    pending += static_cast<uint64_t>(excess * (1.0 + fanout));
  }
  return pending;
}

bool PickRangeCompaction(const Options& options, const InternalKeyComparator& icmp,
                         const Version& v, int level, const std::string* begin,
                         const std::string* end, bool bottommost, Compaction* c) {
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
  SetupOtherInputs(options, ucmp, v, nullptr, c);
  if (bottommost) {
    c->same_level_output = true;
    c->inputs[1].clear();
    c->grandparents.clear();
  }
  return true;
}

}  // namespace lsmkv
