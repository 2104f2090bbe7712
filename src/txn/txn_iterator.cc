#include "txn/txn_iterator.h"

#include <utility>

#include "util/check.h"

namespace lsmkv {

namespace {

class TxnIterator final : public Iterator {
 public:
  TxnIterator(std::unique_ptr<Iterator> base, const TxnWriteMap* writes,
              std::optional<std::string> lower_bound, std::optional<std::string> upper_bound,
              const RangeSink* sink)
      : base_(std::move(base)),
        writes_(writes),
        lower_(std::move(lower_bound)),
        upper_(std::move(upper_bound)),
        less_(writes->key_comp()),
        sink_(sink == nullptr ? std::nullopt : std::optional<RangeSink>(*sink)) {}

  bool Valid() const override { return valid_; }

  void SeekToFirst() override {
    if (!StartRange()) return;
    forward_ = true;
    base_->SeekToFirst();
    WSeekForward(lower_);
    FindForward();
    CoverFrom(lower_);
  }

  void SeekToLast() override {
    if (!StartRange()) return;
    forward_ = false;
    base_->SeekToLast();
    WSeekBackwardTo(upper_, /*inclusive=*/false);
    FindBackward();
    SetCovered(valid_ ? std::string(key()) : lower_, upper_, /*hi_inclusive=*/false);
  }

  void Seek(std::string_view target) override {
    if (!StartRange()) return;
    std::string t(target);
    if (lower_ && less_(t, *lower_)) t = *lower_;
    forward_ = true;
    base_->Seek(t);
    WSeekForward(t);
    FindForward();
    CoverFrom(t);
  }

  void SeekForPrev(std::string_view target) override {
    if (!StartRange()) return;
    // Covered down from target (inclusive), or from the upper bound
    // (exclusive) when target is not below it.
    const bool at_upper = upper_ && !less_(target, *upper_);
    std::optional<std::string> hi = at_upper ? upper_ : std::optional<std::string>(target);
    forward_ = false;
    base_->SeekForPrev(target);
    WSeekBackwardTo(hi, /*inclusive=*/!at_upper);
    FindBackward();
    SetCovered(valid_ ? std::string(key()) : lower_, std::move(hi), /*hi_inclusive=*/!at_upper);
  }

  void Next() override {
    DCHECK(valid_);
    if (!forward_) {
      // Reposition both sources after the current key, going forward.
      const std::string current(key());
      forward_ = true;
      base_->Seek(current);
      WSeekForward(current);
      FindForward();
      DCHECK(valid_ && key() == current);
    }
    if (own_) {
      if (base_->Valid() && base_->key() == wit_->first) base_->Next();
      WNext();
    } else {
      base_->Next();
    }
    FindForward();
    ExtendForward();
  }

  void Prev() override {
    DCHECK(valid_);
    if (forward_) {
      const std::string current(key());
      forward_ = false;
      base_->SeekForPrev(current);
      WSeekBackwardTo(current, /*inclusive=*/true);
      FindBackward();
      DCHECK(valid_ && key() == current);
    }
    if (own_) {
      if (base_->Valid() && base_->key() == wit_->first) base_->Prev();
      WPrev();
    } else {
      base_->Prev();
    }
    FindBackward();
    ExtendBackward();
  }

  std::string_view key() const override {
    DCHECK(valid_);
    return own_ ? std::string_view(wit_->first) : base_->key();
  }
  std::string_view value() const override {
    DCHECK(valid_);
    return own_ ? std::string_view(*wit_->second) : base_->value();
  }
  Status status() const override { return status_.ok() ? base_->status() : status_; }

 private:
  // --- the buffered writes: wit_ is meaningful only when w_valid_ ---
  bool WInBounds() const {
    return w_valid_ && (!lower_ || !less_(wit_->first, *lower_)) &&
           (!upper_ || less_(wit_->first, *upper_));
  }
  void WSeekForward(const std::optional<std::string>& target) {
    wit_ = target ? writes_->lower_bound(*target) : writes_->begin();
    w_valid_ = wit_ != writes_->end();
  }
  // Positions at the last buffered key below limit, or at or below it with
  // inclusive (no limit: the last).
  void WSeekBackwardTo(const std::optional<std::string>& limit, bool inclusive) {
    auto it = !limit      ? writes_->end()
              : inclusive ? writes_->upper_bound(*limit)
                          : writes_->lower_bound(*limit);
    if (it == writes_->begin()) {
      w_valid_ = false;
    } else {
      wit_ = std::prev(it);
      w_valid_ = true;
    }
  }
  void WNext() {
    ++wit_;
    w_valid_ = wit_ != writes_->end();
  }
  void WPrev() {
    if (wit_ == writes_->begin()) {
      w_valid_ = false;
    } else {
      --wit_;
    }
  }

  // Settles on the smallest visible key at or after both positions.
  void FindForward() {
    while (true) {
      const bool bv = base_->Valid();
      const bool wv = WInBounds();
      if (!bv && !wv) {
        valid_ = false;
        return;
      }
      const int cmp = !wv ? -1 : !bv ? 1 : Compare(base_->key(), wit_->first);
      valid_ = true;
      if (cmp < 0) {
        own_ = false;
        return;
      }
      if (!wit_->second) {  // a buffered delete hides the key
        if (cmp == 0) base_->Next();
        WNext();
        continue;
      }
      own_ = true;
      return;
    }
  }

  // Settles on the largest visible key at or before both positions.
  void FindBackward() {
    while (true) {
      const bool bv = base_->Valid();
      const bool wv = WInBounds();
      if (!bv && !wv) {
        valid_ = false;
        return;
      }
      const int cmp = !wv ? 1 : !bv ? -1 : Compare(base_->key(), wit_->first);
      valid_ = true;
      if (cmp > 0) {
        own_ = false;
        return;
      }
      if (!wit_->second) {
        if (cmp == 0) base_->Prev();
        WPrev();
        continue;
      }
      own_ = true;
      return;
    }
  }

  // --- range tracking (serializable) ---
  // Starts a new covered range; false (iterator invalid, status set) if the
  // transaction may track no more.
  bool StartRange() {
    if (!status_.ok()) {
      valid_ = false;
      return false;
    }
    if (!sink_) return true;
    Status s = sink_->may_add();
    if (!s.ok()) {
      status_ = s;
      valid_ = false;
      return false;
    }
    sink_->ranges->emplace_back();
    sink_->ranges->back().since = sink_->since;
    range_ = sink_->ranges->size() - 1;
    return true;
  }
  KeyRange* Range() {
    if (!sink_ || range_ >= sink_->ranges->size()) return nullptr;
    return &(*sink_->ranges)[range_];
  }
  // The range a seek covers: [lo, hi) or [lo, hi], nullopt meaning
  // unbounded.
  void SetCovered(std::optional<std::string> lo, std::optional<std::string> hi, bool hi_inclusive) {
    if (KeyRange* r = Range()) {
      r->lo = std::move(lo);
      r->hi = std::move(hi);
      r->hi_inclusive = hi_inclusive;
    }
  }
  // After a forward seek from lo: covered up to the current key (inclusive),
  // or to the upper bound.
  void CoverFrom(std::optional<std::string> lo) {
    if (valid_) {
      SetCovered(std::move(lo), std::string(key()), /*hi_inclusive=*/true);
    } else {
      SetCovered(std::move(lo), upper_, /*hi_inclusive=*/false);
    }
  }
  // After a forward move: covered up to the current key, or to the bound.
  void ExtendForward() {
    KeyRange* r = Range();
    if (r == nullptr || !r->hi) return;  // already to the end
    if (!valid_) {
      r->hi = upper_;
      r->hi_inclusive = false;
      return;
    }
    if (r->BeforeHi(key(), less_)) return;  // already covered
    r->hi = std::string(key());
    r->hi_inclusive = true;
  }
  // After a backward move: covered down to the current key, or to the bound.
  void ExtendBackward() {
    KeyRange* r = Range();
    if (r == nullptr || !r->lo) return;  // already from the start
    if (!valid_) {
      r->lo = lower_;
      return;
    }
    if (less_(key(), *r->lo)) r->lo = std::string(key());
  }

  std::unique_ptr<Iterator> base_;
  const TxnWriteMap* writes_;
  const std::optional<std::string> lower_, upper_;
  const ComparatorLess less_;  // the database's key order
  int Compare(std::string_view a, std::string_view b) const {
    return less_.bytewise ? a.compare(b) : less_.cmp->Compare(a, b);
  }
  std::optional<RangeSink> sink_;  // a copy: since is this iterator's
  size_t range_ = 0;
  TxnWriteMap::const_iterator wit_;
  bool w_valid_ = false;
  bool valid_ = false;
  bool own_ = false;
  bool forward_ = true;
  Status status_;
};

}  // namespace

std::unique_ptr<Iterator> NewTxnIterator(std::unique_ptr<Iterator> base, const TxnWriteMap* writes,
                                         std::optional<std::string> lower_bound,
                                         std::optional<std::string> upper_bound,
                                         const RangeSink* sink) {
  return std::make_unique<TxnIterator>(std::move(base), writes, std::move(lower_bound),
                                       std::move(upper_bound), sink);
}

}  // namespace lsmkv
