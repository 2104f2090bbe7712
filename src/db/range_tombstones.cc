#include "db/range_tombstones.h"

#include <algorithm>

#include "util/check.h"

namespace lsmkv {

RangeTombstoneSet::RangeTombstoneSet(const Comparator* ucmp,
                                     const std::vector<RangeTombstone>& tombstones)
    : ucmp_(ucmp) {
  if (tombstones.empty()) return;
  auto less = [ucmp](const std::string& a, const std::string& b) {
    return ucmp->Compare(a, b) < 0;
  };
  // Every begin and end is a fragment boundary.
  std::vector<std::string> bounds;
  bounds.reserve(tombstones.size() * 2);
  for (const RangeTombstone& t : tombstones) {
    DCHECK(ucmp->Compare(t.begin, t.end) < 0);
    bounds.push_back(t.begin);
    bounds.push_back(t.end);
  }
  std::sort(bounds.begin(), bounds.end(), less);
  bounds.erase(std::unique(bounds.begin(), bounds.end(),
                           [ucmp](const std::string& a, const std::string& b) {
                             return ucmp->Compare(a, b) == 0;
                           }),
               bounds.end());
  // Sweep: tombstones by begin; the active ones' sequences per fragment.
  std::vector<const RangeTombstone*> by_begin;
  by_begin.reserve(tombstones.size());
  for (const RangeTombstone& t : tombstones) by_begin.push_back(&t);
  std::sort(
      by_begin.begin(), by_begin.end(),
      [&](const RangeTombstone* a, const RangeTombstone* b) { return less(a->begin, b->begin); });
  std::vector<const RangeTombstone*> active;
  size_t next = 0;
  for (size_t i = 0; i + 1 < bounds.size(); i++) {
    const std::string& lo = bounds[i];
    const std::string& hi = bounds[i + 1];
    // Drop the tombstones ending at or before lo, admit those beginning at lo.
    active.erase(std::remove_if(active.begin(), active.end(),
                                [&](const RangeTombstone* t) { return !less(lo, t->end); }),
                 active.end());
    while (next < by_begin.size() && !less(lo, by_begin[next]->begin)) {
      active.push_back(by_begin[next++]);
    }
    if (active.empty()) continue;
    Fragment f;
    f.begin = lo;
    f.end = hi;
    f.seqs.reserve(active.size());
    for (const RangeTombstone* t : active) f.seqs.push_back(t->seq);
    std::sort(f.seqs.begin(), f.seqs.end());
    fragments_.push_back(std::move(f));
  }
}

const RangeTombstoneSet::Fragment* RangeTombstoneSet::Find(std::string_view key) const {
  // The first fragment whose end is after key.
  auto it = std::upper_bound(
      fragments_.begin(), fragments_.end(), key,
      [this](std::string_view k, const Fragment& f) { return ucmp_->Compare(k, f.end) < 0; });
  if (it == fragments_.end() || ucmp_->Compare(key, it->begin) < 0) return nullptr;
  return &*it;
}

bool RangeTombstoneSet::Covers(std::string_view key, SequenceNumber above,
                               SequenceNumber upto) const {
  if (above >= upto) return false;
  const Fragment* f = Find(key);
  if (f == nullptr) return false;
  // The first sequence > above; covered if it is <= upto.
  auto it = std::upper_bound(f->seqs.begin(), f->seqs.end(), above);
  return it != f->seqs.end() && *it <= upto;
}

SequenceNumber RangeTombstoneSet::NewestCovering(std::string_view key, SequenceNumber upto) const {
  const Fragment* f = Find(key);
  if (f == nullptr) return 0;
  auto it = std::upper_bound(f->seqs.begin(), f->seqs.end(), upto);
  return it == f->seqs.begin() ? 0 : *(it - 1);
}

void RangeTombstoneSet::CoveringAbove(std::string_view key, SequenceNumber above,
                                      std::vector<SequenceNumber>* seqs) const {
  const Fragment* f = Find(key);
  if (f == nullptr) return;
  for (auto it = std::upper_bound(f->seqs.begin(), f->seqs.end(), above); it != f->seqs.end();
       ++it) {
    seqs->push_back(*it);
  }
}

const std::string* RangeTombstoneSet::FragmentEnd(std::string_view key) const {
  const Fragment* f = Find(key);
  return f == nullptr ? nullptr : &f->end;
}

bool RangeOverlaps(const Comparator* ucmp, std::string_view begin, std::string_view end,
                   std::string_view lo, std::string_view hi) {
  return ucmp->Compare(lo, end) < 0 && ucmp->Compare(begin, hi) <= 0;
}

}  // namespace lsmkv
