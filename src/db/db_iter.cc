#include "db/db_iter.h"

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "util/check.h"
#include "util/comparator.h"

namespace lsmkv {

namespace {

// Two positioning modes:
//  kForward: iter_ is at the entry yielding the current user key (its newest
//    visible version, a value); key() and value() come from iter_.
//  kReverse: iter_ is before every entry of the current user key (at the
//    last entry of a smaller user key, or invalid); the current key and value
//    are copies in saved_key_ / saved_value_.
class DBIter final : public Iterator {
 public:
  DBIter(const Comparator* ucmp, Iterator* iter, SequenceNumber sequence,
         std::optional<std::string> lower, std::optional<std::string> upper,
         std::shared_ptr<const void> keep_alive, ReadSampler sampler,
         std::vector<std::shared_ptr<const RangeTombstoneSet>> tombstones)
      : keep_alive_(std::move(keep_alive)),
        tombstones_(std::move(tombstones)),
        sampler_(std::move(sampler)),
        ucmp_(ucmp),
        bytewise_(ucmp == BytewiseComparator()),
        iter_(iter),
        sequence_(sequence),
        lower_(std::move(lower)),
        upper_(std::move(upper)) {
    DCHECK(iter_ != nullptr);
  }

  bool Valid() const override { return valid_; }

  std::string_view key() const override {
    DCHECK(valid_);
    DCHECK(direction_ == kReverse || iter_->Valid());  // kForward: iter_ is on the entry
    return direction_ == kForward ? forward_key_ : std::string_view(saved_key_);
  }
  std::string_view value() const override {
    DCHECK(valid_);
    return direction_ == kForward ? forward_value_ : std::string_view(saved_value_);
  }
  Status status() const override { return status_.ok() ? iter_->status() : status_; }

  void Seek(std::string_view target) override {
    if (lower_ && CompareUser(target, *lower_) < 0) target = *lower_;
    // Built before StartSeek: target may point into saved_key_ (key()).
    std::string seek_key;
    AppendInternalKey(&seek_key, target, sequence_, kValueTypeForSeek);
    StartSeek(kForward);
    iter_->Seek(seek_key);
    if (sampler_) sampler_(seek_key);
    FindNextUserEntry(false);
  }

  void SeekForPrev(std::string_view target) override {
    if (upper_ && CompareUser(target, *upper_) >= 0) {
      SeekToLast();
      return;
    }
    // (target, 0, kTypeDeletion) is the last possible internal key of target.
    std::string seek_key;
    AppendInternalKey(&seek_key, target, 0, kTypeDeletion);
    StartSeek(kReverse);
    iter_->SeekForPrev(seek_key);
    if (sampler_) sampler_(seek_key);
    FindPrevUserEntry();
  }

  void SeekToFirst() override {
    if (lower_) {
      Seek(*lower_);
      return;
    }
    StartSeek(kForward);
    iter_->SeekToFirst();
    FindNextUserEntry(false);
  }

  void SeekToLast() override {
    StartSeek(kReverse);
    if (upper_) {
      // The last entry before every entry of upper_ (whose first possible
      // internal key is (upper_, kMaxSequenceNumber, kValueTypeForSeek)); an
      // entry equal to that key is skipped by FindPrevUserEntry.
      std::string seek_key;
      AppendInternalKey(&seek_key, *upper_, kMaxSequenceNumber, kValueTypeForSeek);
      iter_->SeekForPrev(seek_key);
    } else {
      iter_->SeekToLast();
    }
    FindPrevUserEntry();
  }

  void Next() override {
    DCHECK(valid_);
    if (direction_ == kReverse) {
      // iter_ is before the entries of saved_key_: step onto them; the scan
      // below skips them (and anything smaller).
      direction_ = kForward;
      if (iter_->Valid()) {
        iter_->Next();
      } else {
        iter_->SeekToFirst();
      }
    } else {
      SaveUserKey(forward_key_);
      iter_->Next();
    }
    FindNextUserEntry(true);
  }

  void Prev() override {
    DCHECK(valid_);
    if (direction_ == kForward) {
      // Step back over the current key's entries (its newer, invisible
      // versions included) to the last entry of a smaller user key.
      SaveUserKey(forward_key_);
      direction_ = kReverse;
      while (true) {
        iter_->Prev();
        if (!iter_->Valid()) break;
        ParsedInternalKey ikey;
        if (!Parse(&ikey)) return;
        if (CompareUser(ikey.user_key, saved_key_) < 0) break;
      }
      if (!iter_->status().ok()) {
        Invalidate();
        return;
      }
    }
    FindPrevUserEntry();
  }

 private:
  enum Direction { kForward, kReverse };

  void StartSeek(Direction direction) {
    status_ = Status::OK();
    direction_ = direction;
    saved_key_.clear();
    saved_value_.clear();
  }

  void SaveUserKey(std::string_view user_key) {
    saved_key_.resize(user_key.size());
    if (!user_key.empty()) std::memcpy(saved_key_.data(), user_key.data(), user_key.size());
  }

  // Whether a and b are the same user key: equal bytes under the bytewise
  // comparator (keys of a word or more compare their last eight bytes
  // first: neighbouring keys mostly differ there), else Compare's 0.
  bool SameUserKey(std::string_view a, std::string_view b) const {
    if (!bytewise_) return ucmp_->Compare(a, b) == 0;
    const size_t n = a.size();
    if (n != b.size()) return false;
    if (n >= 8) {
      uint64_t x, y;
      std::memcpy(&x, a.data() + n - 8, 8);
      std::memcpy(&y, b.data() + n - 8, 8);
      if (x != y) return false;
    }
    return std::memcmp(a.data(), b.data(), n) == 0;
  }

  // ucmp_->Compare, without the virtual call for the default comparator.
  int CompareUser(std::string_view a, std::string_view b) const {
    return bytewise_ ? CompareBytes(a, b) : ucmp_->Compare(a, b);
  }

  // Counts the bytes of iter_'s current entry, whose internal key ikey was
  // parsed from it and whose value is value (read only with a sampler:
  // ReadValueToCount); about every kSamplePeriod bytes (randomized) hands
  // its key to the sampler.
  std::string_view ReadValueToCount() const {
    return sampler_ ? iter_->value() : std::string_view();
  }
  void CountRead(const ParsedInternalKey& ikey, std::string_view value) {
    if (!sampler_) return;
    const int64_t n = static_cast<int64_t>(ikey.user_key.size() + 8 + value.size());
    bytes_until_sample_ -= n;
    if (bytes_until_sample_ > 0) return;
    // xorshift64: a cheap period in [0, 2 * kSamplePeriod).
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    bytes_until_sample_ += static_cast<int64_t>(rng_ % (2 * kSamplePeriod));
    sampler_(iter_->key());
  }

  // A range tombstone visible at sequence_ deletes this entry.
  bool Covered(const ParsedInternalKey& ikey) const {
    for (const auto& set : tombstones_) {
      if (set->Covers(ikey.user_key, ikey.sequence, sequence_)) return true;
    }
    return false;
  }

  void Invalidate() {
    valid_ = false;
    saved_key_.clear();
    saved_value_.clear();
  }

  // Parses iter_'s current key; on failure records Corruption and makes the
  // iterator invalid.
  bool Parse(ParsedInternalKey* ikey) {
    if (ParseInternalKey(iter_->key(), ikey)) return true;
    status_ = Status::Corruption("unparsable internal key in iterator");
    Invalidate();
    return false;
  }

  // Forward: from iter_'s position, finds the first entry that is the newest
  // visible version of a user key, is a value, and (if skipping) has a user
  // key after saved_key_. Stops (invalid) at upper_ and on errors.
  void FindNextUserEntry(bool skipping) {
    DCHECK(direction_ == kForward);
    for (; iter_->Valid(); iter_->Next()) {
      ParsedInternalKey ikey;
      if (!Parse(&ikey)) return;
      const std::string_view value = ReadValueToCount();
      CountRead(ikey, value);
      if (upper_ && CompareUser(ikey.user_key, *upper_) >= 0) break;
      if (ikey.sequence > sequence_) continue;  // invisible
      // A visible entry met while skipping is never of a smaller user key
      // than saved_key_ (forward order; after a turn from reverse, the
      // entries before saved_key_'s that iter_ steps over are invisible,
      // FindPrevUserEntry having stopped at the first visible one), so
      // hidden means equal — a check that most keys fail on their last
      // bytes, not an ordered comparison.
      DCHECK(!skipping || CompareUser(ikey.user_key, saved_key_) >= 0);
      if (skipping && SameUserKey(ikey.user_key, saved_key_)) continue;  // hidden
      if (ikey.type == kTypeDeletion || Covered(ikey)) {
        // Older versions of this key are hidden by the deletion.
        SaveUserKey(ikey.user_key);
        skipping = true;
        continue;
      }
      forward_key_ = ikey.user_key;
      forward_value_ = sampler_ ? value : iter_->value();
      valid_ = true;
      return;
    }
    Invalidate();
  }

  // Backward: iter_ is at the last entry of some user key (or invalid).
  // Walks back over the entries of that key, oldest first, keeping the
  // newest visible version; moves on to smaller keys while that version is
  // a deletion (or there is none). Stops at lower_ and on errors.
  void FindPrevUserEntry() {
    DCHECK(direction_ == kReverse);
    bool have_value = false;
    saved_key_.clear();
    saved_value_.clear();
    for (; iter_->Valid(); iter_->Prev()) {
      ParsedInternalKey ikey;
      if (!Parse(&ikey)) return;
      const std::string_view value = ReadValueToCount();
      CountRead(ikey, value);
      if (upper_ && CompareUser(ikey.user_key, *upper_) >= 0) continue;
      if (lower_ && CompareUser(ikey.user_key, *lower_) < 0) break;
      if (ikey.sequence > sequence_) continue;  // invisible
      if (have_value && CompareUser(ikey.user_key, saved_key_) < 0) {
        // iter_ is at the last entry of the previous user key: done.
        break;
      }
      if (ikey.type == kTypeDeletion || Covered(ikey)) {
        have_value = false;
        saved_key_.clear();
        saved_value_.clear();
      } else {
        have_value = true;
        SaveUserKey(ikey.user_key);
        const std::string_view v = sampler_ ? value : iter_->value();
        saved_value_.assign(v.data(), v.size());
      }
    }
    if (!iter_->status().ok() || !have_value) {
      Invalidate();
      return;
    }
    valid_ = true;
  }

  static constexpr uint64_t kSamplePeriod = 1 << 20;

  // Declared first: released after iter_ is destroyed.
  const std::shared_ptr<const void> keep_alive_;
  const std::vector<std::shared_ptr<const RangeTombstoneSet>> tombstones_;  // none empty
  const ReadSampler sampler_;
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;
  int64_t bytes_until_sample_ = static_cast<int64_t>(kSamplePeriod);
  const Comparator* const ucmp_;
  const bool bytewise_;  // ucmp_ is BytewiseComparator()
  const std::unique_ptr<Iterator> iter_;
  const SequenceNumber sequence_;
  const std::optional<std::string> lower_;
  const std::optional<std::string> upper_;

  Direction direction_ = kForward;
  bool valid_ = false;
  Status status_;
  // Forward, while valid_: the current user key, a view of iter_'s key
  // (valid until iter_ moves, which only this class does), parsed once
  // instead of at every key() and Next().
  std::string_view forward_key_;
  std::string_view forward_value_;  // likewise, iter_'s value
  // Forward: the user key being skipped. Reverse: the current user key.
  std::string saved_key_;
  std::string saved_value_;  // reverse only
};

}  // namespace

Iterator* NewDBIterator(const Comparator* user_comparator, Iterator* internal_iter,
                        SequenceNumber sequence, std::optional<std::string> lower_bound,
                        std::optional<std::string> upper_bound,
                        std::shared_ptr<const void> keep_alive, ReadSampler sampler,
                        std::vector<std::shared_ptr<const RangeTombstoneSet>> tombstones) {
  std::erase_if(tombstones, [](const auto& set) { return set == nullptr || set->empty(); });
  return new DBIter(user_comparator, internal_iter, sequence, std::move(lower_bound),
                    std::move(upper_bound), std::move(keep_alive), std::move(sampler),
                    std::move(tombstones));
}

}  // namespace lsmkv
