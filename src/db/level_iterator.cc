#include "db/level_iterator.h"

#include <algorithm>
#include <memory>
#include <string_view>
#include <utility>

#include "util/check.h"

namespace lsmkv {

namespace {

class LevelIterator final : public Iterator {
 public:
  LevelIterator(TableCache* table_cache, const ReadOptions& options,
                const InternalKeyComparator* icmp, std::vector<FileRef> files)
      : table_cache_(table_cache),
        options_(options),
        icmp_(icmp),
        ucmp_(icmp->user_comparator()),
        files_(std::move(files)),
        index_(files_.size()) {
    for (size_t i = 1; i < files_.size(); i++) {
      DCHECK(icmp_->Compare(files_[i - 1]->largest, files_[i]->smallest) < 0);
    }
  }

  bool Valid() const override { return table_iter_ != nullptr && table_iter_->Valid(); }
  std::string_view key() const override {
    DCHECK(Valid());
    return table_iter_->key();
  }
  std::string_view value() const override {
    DCHECK(Valid());
    return table_iter_->value();
  }
  Status status() const override {
    return table_iter_ != nullptr ? table_iter_->status() : Status::OK();
  }

  void SeekToFirst() override {
    size_t i = 0;
    if (options_.lower_bound) i = FirstNotBeforeLower();
    if (!OpenForward(i)) return;
    table_iter_->SeekToFirst();
    SkipEmptyForward();
  }

  void SeekToLast() override {
    size_t i = files_.size();
    if (options_.upper_bound) i = FirstAtOrAfterUpper();
    if (!OpenBackward(i)) return;
    table_iter_->SeekToLast();
    SkipEmptyBackward();
  }

  void Seek(std::string_view target) override {
    // The first file whose largest key is >= target.
    size_t lo = 0, hi = files_.size();
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (icmp_->Compare(files_[mid]->largest, target) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
    // Files entirely below the lower bound hold nothing to produce.
    if (options_.lower_bound) lo = std::max(lo, FirstNotBeforeLower());
    if (!OpenForward(lo)) return;
    table_iter_->Seek(target);
    SkipEmptyForward();
  }

  void SeekForPrev(std::string_view target) override {
    // One past the last file whose smallest key is <= target.
    size_t lo = 0, hi = files_.size();
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (icmp_->Compare(files_[mid]->smallest, target) <= 0)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (options_.upper_bound) lo = std::min(lo, FirstAtOrAfterUpper());
    if (!OpenBackward(lo)) return;
    table_iter_->SeekForPrev(target);
    SkipEmptyBackward();
  }

  void Next() override {
    DCHECK(Valid());
    table_iter_->Next();
    SkipEmptyForward();
  }

  void Prev() override {
    DCHECK(Valid());
    table_iter_->Prev();
    SkipEmptyBackward();
  }

 private:
  bool BeforeLower(const FileMetaData& f) const {
    return options_.lower_bound &&
           ucmp_->Compare(ExtractUserKey(f.largest), *options_.lower_bound) < 0;
  }
  bool AtOrAfterUpper(const FileMetaData& f) const {
    return options_.upper_bound &&
           ucmp_->Compare(ExtractUserKey(f.smallest), *options_.upper_bound) >= 0;
  }
  // The first file not entirely below the lower bound.
  size_t FirstNotBeforeLower() const {
    size_t lo = 0, hi = files_.size();
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (BeforeLower(*files_[mid]))
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo;
  }
  // The first file entirely at or above the upper bound.
  size_t FirstAtOrAfterUpper() const {
    size_t lo = 0, hi = files_.size();
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (!AtOrAfterUpper(*files_[mid]))
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo;
  }

  // Makes file i current, opening its table unless it is already open (and
  // healthy). i == files_.size() means no file.
  void SetFile(size_t i) {
    if (i >= files_.size()) {
      index_ = files_.size();
      table_iter_.reset();
      return;
    }
    if (i == index_ && table_iter_ != nullptr && table_iter_->status().ok()) return;
    index_ = i;
    const FileMetaData& f = *files_[i];
    table_iter_.reset(table_cache_->NewIterator(options_, f.number, f.file_size));
    DCHECK(table_iter_ != nullptr);  // a failed open is an error iterator
  }

  // Going forward: file i unless it (and so every later file) lies above the
  // upper bound. Returns false if no file is current.
  bool OpenForward(size_t i) {
    if (i < files_.size() && AtOrAfterUpper(*files_[i])) i = files_.size();
    SetFile(i);
    return table_iter_ != nullptr;
  }
  // Going backward: the file before index `end` unless it (and so every
  // earlier file) lies below the lower bound.
  bool OpenBackward(size_t end) {
    size_t i = files_.size();
    if (end > 0 && !BeforeLower(*files_[end - 1])) i = end - 1;
    SetFile(i);
    return table_iter_ != nullptr;
  }

  // Moves to the first entry of the next files while the current table is
  // exhausted; stops on an error.
  void SkipEmptyForward() {
    // A table is open exactly when some file is current.
    DCHECK_EQ(table_iter_ != nullptr, index_ < files_.size());
    while (table_iter_ != nullptr && !table_iter_->Valid()) {
      if (!table_iter_->status().ok()) return;
      if (!OpenForward(index_ + 1)) return;
      table_iter_->SeekToFirst();
    }
  }
  void SkipEmptyBackward() {
    DCHECK_EQ(table_iter_ != nullptr, index_ < files_.size());
    while (table_iter_ != nullptr && !table_iter_->Valid()) {
      if (!table_iter_->status().ok()) return;
      if (!OpenBackward(index_)) return;
      table_iter_->SeekToLast();
    }
  }

  TableCache* const table_cache_;
  const ReadOptions options_;
  const InternalKeyComparator* const icmp_;
  const Comparator* const ucmp_;
  const std::vector<FileRef> files_;
  size_t index_;  // the current file; files_.size() if none
  std::unique_ptr<Iterator> table_iter_;
};

}  // namespace

Iterator* NewLevelIterator(TableCache* table_cache, const ReadOptions& options,
                           const InternalKeyComparator* icmp, std::vector<FileRef> files) {
  return new LevelIterator(table_cache, options, icmp, std::move(files));
}

}  // namespace lsmkv
