#include "db/merging_iterator.h"

#include <string_view>
#include <utility>

#include "util/check.h"

namespace lsmkv {

namespace {

// The merged order is the order of the pairs (key, child index). Going
// forward heap_ is a min-heap of that order over the positioned children,
// going backward a max-heap; the current entry is the top, heap_[0].
class MergingIterator final : public Iterator {
 public:
  MergingIterator(const Comparator* cmp, std::vector<std::unique_ptr<Iterator>> children)
      : cmp_(cmp), children_(std::move(children)) {
    for ([[maybe_unused]] const auto& child : children_) DCHECK(child != nullptr);
    heap_.reserve(children_.size());
    keys_.resize(children_.size());
  }

  bool Valid() const override { return !has_error_ && !heap_.empty(); }

  std::string_view key() const override {
    DCHECK(Valid());
    return keys_[heap_[0]];
  }
  std::string_view value() const override {
    DCHECK(Valid());
    return children_[heap_[0]]->value();
  }

  Status status() const override {
    for (const auto& child : children_) {
      Status s = child->status();
      if (!s.ok()) return s;
    }
    return Status::OK();
  }

  void SeekToFirst() override {
    for (auto& child : children_) child->SeekToFirst();
    Rebuild(kForward);
  }
  void SeekToLast() override {
    for (auto& child : children_) child->SeekToLast();
    Rebuild(kReverse);
  }
  void Seek(std::string_view target) override {
    for (auto& child : children_) child->Seek(target);
    Rebuild(kForward);
  }
  void SeekForPrev(std::string_view target) override {
    for (auto& child : children_) child->SeekForPrev(target);
    Rebuild(kReverse);
  }

  void Next() override {
    DCHECK(Valid());
    if (direction_ != kForward) {
      SwitchDirection(kForward);
      if (has_error_) return;
    }
    children_[heap_[0]]->Next();
    AfterTopMoved();
  }

  void Prev() override {
    DCHECK(Valid());
    if (direction_ != kReverse) {
      SwitchDirection(kReverse);
      if (has_error_) return;
    }
    children_[heap_[0]]->Prev();
    AfterTopMoved();
  }

 private:
  enum Direction { kForward, kReverse };

  // True if child a's entry comes before child b's in the merged order of
  // the current direction (i.e. a belongs nearer the top of the heap).
  bool Before(size_t a, size_t b) const {
    int c = cmp_->Compare(keys_[a], keys_[b]);
    if (c == 0) c = a < b ? -1 : 1;
    return direction_ == kForward ? c < 0 : c > 0;
  }

  void SiftDown(size_t pos) {
    const size_t n = heap_.size();
    while (true) {
      size_t best = pos;
      const size_t left = 2 * pos + 1;
      const size_t right = left + 1;
      if (left < n && Before(heap_[left], heap_[best])) best = left;
      if (right < n && Before(heap_[right], heap_[best])) best = right;
      if (best == pos) return;
      std::swap(heap_[pos], heap_[best]);
      pos = best;
    }
  }

  // Adds child i to the heap if it is positioned; notes an error otherwise.
  void Collect(size_t i) {
    Iterator* child = children_[i].get();
    if (child->Valid()) {
      keys_[i] = child->key();
      heap_.push_back(i);
    } else if (!child->status().ok()) {
      has_error_ = true;
    }
  }

  // Rebuilds the heap after every child was repositioned.
  void Rebuild(Direction direction) {
    direction_ = direction;
    heap_.clear();
    has_error_ = false;
    for (size_t i = 0; i < children_.size(); i++) Collect(i);
    for (size_t pos = heap_.size() / 2; pos-- > 0;) SiftDown(pos);
    DCHECK(IsHeap());
  }

  // The heap property over the cached keys: no child is before its parent.
  // (Holds whatever order the children's keys come in: it is about heap_
  // alone.) O(children); for DCHECKs.
  bool IsHeap() const {
    for (size_t pos = 1; pos < heap_.size(); pos++) {
      if (Before(heap_[pos], heap_[(pos - 1) / 2])) return false;
    }
    return heap_.size() <= children_.size();
  }

  // The top child moved one step: restore the heap, dropping the child if
  // it ran out (or failed).
  void AfterTopMoved() {
    DCHECK(!heap_.empty());
    const size_t top = heap_[0];
    Iterator* child = children_[top].get();
    if (child->Valid()) {
      keys_[top] = child->key();
    } else {
      if (!child->status().ok()) has_error_ = true;
      heap_[0] = heap_.back();
      heap_.pop_back();
    }
    if (heap_.size() > 1) SiftDown(0);
    DCHECK(IsHeap());
  }

  // Positions every child other than the current one just past the current
  // entry in the new direction: going backward at its last entry before
  // (key, current) in the merged order, going forward at its first entry
  // after it. The current child stays where it is.
  void SwitchDirection(Direction direction) {
    const size_t current = heap_[0];
    const std::string_view k = keys_[current];  // stable: current does not move
    heap_.clear();
    has_error_ = false;
    for (size_t i = 0; i < children_.size(); i++) {
      if (i == current) continue;
      Iterator* child = children_[i].get();
      if (direction == kReverse) {
        // Children after current in index order must be strictly before k.
        child->SeekForPrev(k);
        if (i > current && child->Valid() && cmp_->Compare(child->key(), k) == 0) child->Prev();
      } else {
        // Children before current in index order must be strictly after k.
        child->Seek(k);
        if (i < current && child->Valid() && cmp_->Compare(child->key(), k) == 0) child->Next();
      }
      Collect(i);
    }
    heap_.push_back(current);
    direction_ = direction;
    for (size_t pos = heap_.size() / 2; pos-- > 0;) SiftDown(pos);
    DCHECK(heap_[0] == current);  // (key, current) is the extreme of the order
  }

  const Comparator* const cmp_;
  std::vector<std::unique_ptr<Iterator>> children_;
  std::vector<size_t> heap_;  // indices of positioned children
  // keys_[i]: children_[i]->key() as of its last move, for every child in
  // heap_ (saves a virtual call per comparison).
  std::vector<std::string_view> keys_;
  Direction direction_ = kForward;
  // Some child reported a non-OK status since the last full repositioning.
  bool has_error_ = false;
};

}  // namespace

Iterator* NewMergingIterator(const Comparator* cmp,
                             std::vector<std::unique_ptr<Iterator>> children) {
  if (children.empty()) return NewEmptyIterator();
  if (children.size() == 1) return children[0].release();
  return new MergingIterator(cmp, std::move(children));
}

}  // namespace lsmkv
