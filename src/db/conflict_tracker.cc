#include "db/conflict_tracker.h"

#include <algorithm>

#include "util/check.h"

namespace lsmkv {

namespace {
// Heap bytes of one map node holding key, plus its log entry (approximate).
size_t EntryBytes(const std::string& key) { return key.capacity() + 96; }
}  // namespace

ConflictTracker::Handle ConflictTracker::Register(SequenceNumber start, uint64_t begin_micros,
                                                  std::atomic<bool>* expired) {
  return running_.emplace(start, Registration{begin_micros, expired});
}

size_t ConflictTracker::ExpireOldestOver(size_t max_bytes) {
  size_t expired = 0;
  while (max_bytes != 0 && memory_ > max_bytes && !running_.empty()) {
    running_.begin()->second.expired->store(true, std::memory_order_release);
    running_.erase(running_.begin());
    Prune();
    expired++;
  }
  return expired;
}

void ConflictTracker::Unregister(Handle handle) {
  running_.erase(handle);
  Prune();
}

SequenceNumber ConflictTracker::OldestStart() const {
  return running_.empty() ? 0 : running_.begin()->first;
}

uint64_t ConflictTracker::OldestBeginMicros() const {
  uint64_t oldest = 0;
  for (const auto& [start, registration] : running_) {
    const uint64_t micros = registration.begin_micros;
    if (oldest == 0 || micros < oldest) oldest = micros;
  }
  return oldest;
}

void ConflictTracker::Record(std::string_view key, SequenceNumber sequence) {
  DCHECK(log_.empty() || log_.back().first < sequence);
  auto it = latest_.find(key);
  if (it == latest_.end()) {
    it = latest_.emplace(std::string(key), sequence).first;
    memory_ += EntryBytes(it->first);
  } else {
    it->second = sequence;
  }
  log_.emplace_back(sequence, &it->first);
}

void ConflictTracker::RecordRange(std::string_view begin, std::string_view end,
                                  SequenceNumber sequence) {
  DCHECK(ranges_.empty() || ranges_.back().sequence < sequence);
  ranges_.push_back(RangeWrite{sequence, std::string(begin), std::string(end)});
  memory_ += begin.size() + end.size() + 96;
}

SequenceNumber ConflictTracker::RangeDeletedAfter(std::string_view key,
                                                  SequenceNumber since) const {
  SequenceNumber newest = 0;
  for (const RangeWrite& r : ranges_) {
    if (r.sequence > since && !less_(key, r.begin) && less_(key, r.end)) newest = r.sequence;
  }
  return newest;
}

SequenceNumber ConflictTracker::RangeDeletionOverlapping(const KeyRange& range,
                                                         SequenceNumber since,
                                                         std::string* begin) const {
  for (const RangeWrite& r : ranges_) {
    if (r.sequence <= since) continue;
    // [r.begin, r.end) meets the range: r.end is after range.lo and r.begin
    // is not past range.hi.
    if (range.lo && !less_(*range.lo, r.end)) continue;
    if (!range.BeforeHi(r.begin, less_)) continue;
    *begin = r.begin;
    return r.sequence;
  }
  return 0;
}

void ConflictTracker::Prune() {
  // A write at or below every running transaction's start cannot conflict
  // with any of them; with none running nothing is needed.
  const bool none = running_.empty();
  const SequenceNumber keep_after = none ? 0 : running_.begin()->first;
  while (!log_.empty() && (none || log_.front().first <= keep_after)) {
    const auto [sequence, key] = log_.front();
    log_.pop_front();
    auto it = latest_.find(*key);
    DCHECK(it != latest_.end());
    if (it->second == sequence) {  // the key's latest write: no later entry names it
      memory_ -= EntryBytes(it->first);
      latest_.erase(it);
    }
  }
  while (!ranges_.empty() && (none || ranges_.front().sequence <= keep_after)) {
    memory_ -= ranges_.front().begin.size() + ranges_.front().end.size() + 96;
    ranges_.pop_front();
  }
  if (none) {
    DCHECK(latest_.empty());
    log_.shrink_to_fit();
    memory_ = 0;
  }
}

SequenceNumber ConflictTracker::LastWrite(std::string_view key) const {
  auto it = latest_.find(key);
  return it == latest_.end() ? 0 : it->second;
}

bool ConflictTracker::WrittenInRangeAfter(const KeyRange& range, SequenceNumber start,
                                          std::string* key) const {
  auto it = range.lo ? latest_.lower_bound(*range.lo) : latest_.begin();
  for (; it != latest_.end() && range.BeforeHi(it->first, less_); ++it) {
    if (it->second > start) {
      *key = it->first;
      return true;
    }
  }
  return false;
}

std::string PrintableKey(std::string_view key) {
  std::string out;
  const size_t limit = 64;
  for (size_t i = 0; i < key.size() && i < limit; i++) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out.push_back(static_cast<char>(c));
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (key.size() > limit) out += "...(" + std::to_string(key.size()) + " bytes)";
  return "'" + out + "'";
}

namespace {
std::string RangeText(const KeyRange& r) {
  return "[" + (r.lo ? PrintableKey(*r.lo) : std::string("-inf")) + ", " +
         (r.hi ? PrintableKey(*r.hi) : std::string("+inf")) + (r.hi_inclusive ? "]" : ")");
}
}  // namespace

Status ValidateTransaction(const ConflictTracker& tracker, const TxnValidation& v,
                           const GroupKeys& group_keys) {
  if (v.expired != nullptr && v.expired->load(std::memory_order_acquire)) {
    return Status::Aborted("transaction expired",
                           "the conflict tracker outgrew max_transaction_tracker_bytes while it "
                           "ran, and it was the oldest; retry");
  }
  const std::string what = std::string("transaction conflict (") + v.level + ")";
  auto check_key = [&](const std::string& key, SequenceNumber since, bool absent) {
    const SequenceNumber last = tracker.LastWrite(key);
    if (last > since) {
      return Status::Busy(what, "key " + PrintableKey(key) + " written at sequence " +
                                    std::to_string(last) + " after the transaction read it at " +
                                    std::to_string(since));
    }
    if (const SequenceNumber r = absent ? 0 : tracker.RangeDeletedAfter(key, since); r != 0) {
      return Status::Busy(what, "key " + PrintableKey(key) +
                                    " deleted by a range deletion at sequence " +
                                    std::to_string(r) + " after the transaction read it at " +
                                    std::to_string(since));
    }
    if (group_keys.count(key) != 0) {
      return Status::Busy(what, "key " + PrintableKey(key) +
                                    " written by a write committed just before in the same group");
    }
    return Status::OK();
  };
  for (const std::string& key : v.keys) {
    Status s = check_key(key, v.start, /*absent=*/false);
    if (!s.ok()) return s;
  }
  for (const TxnValidation::TrackedKey& read : v.keys_since) {
    Status s = check_key(read.key, read.since, read.absent);
    if (!s.ok()) return s;
  }
  for (const KeyRange& range : v.ranges) {
    std::string key;
    if (tracker.WrittenInRangeAfter(range, range.since, &key)) {
      return Status::Busy(
          what, "range " + RangeText(range) + " read by an iterator: key " + PrintableKey(key) +
                    " written at sequence " + std::to_string(tracker.LastWrite(key)) +
                    " after the iterator read it at " + std::to_string(range.since));
    }
    std::string begin;
    if (const SequenceNumber r = tracker.RangeDeletionOverlapping(range, range.since, &begin);
        r != 0) {
      return Status::Busy(
          what, "range " + RangeText(range) + " read by an iterator: a range deletion from " +
                    PrintableKey(begin) + " at sequence " + std::to_string(r) +
                    " after the iterator read it at " + std::to_string(range.since));
    }
    auto it = range.lo ? group_keys.lower_bound(*range.lo) : group_keys.begin();
    if (it != group_keys.end() && range.Contains(*it, tracker.less())) {
      return Status::Busy(what, "range " + RangeText(range) + " read by an iterator: key " +
                                    PrintableKey(*it) +
                                    " written by a write committed just before in the same group");
    }
  }
  return Status::OK();
}

}  // namespace lsmkv
