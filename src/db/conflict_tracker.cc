#include "db/conflict_tracker.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "util/check.h"

namespace lsmkv {

namespace {
constexpr size_t kChunkBytes = 64 << 10;
constexpr size_t kMinTableSlots = 64;
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

uint64_t ConflictTracker::SlotHash(std::string_view key) {
  const uint64_t h = Hash64(key);
  return h == 0 ? 1 : h;
}

size_t ConflictTracker::FindSlot(std::string_view key, uint64_t hash) const {
  DCHECK(!table_.empty());
  const size_t mask = table_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = table_[i];
    if (slot.hash == 0) return i;
    if (slot.hash == hash && slot.size == key.size() &&
        std::memcmp(slot.key, key.data(), key.size()) == 0) {
      return i;
    }
  }
}

// Linear probing's deletion without tombstones: later slots of the same
// probe run move back into the hole, so every key stays reachable from its
// home slot.
void ConflictTracker::EraseSlot(size_t i) {
  const size_t mask = table_.size() - 1;
  size_t hole = i;
  for (size_t j = (i + 1) & mask; table_[j].hash != 0; j = (j + 1) & mask) {
    const size_t home = table_[j].hash & mask;
    // table_[j] may fill the hole if its home is not in (hole, j] cyclically.
    const bool home_between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!home_between) {
      table_[hole] = table_[j];
      hole = j;
    }
  }
  table_[hole] = Slot();
  table_used_--;
}

void ConflictTracker::GrowTable() {
  std::vector<Slot> old = std::move(table_);
  table_.assign(std::max(kMinTableSlots, old.size() * 2), Slot());
  const size_t mask = table_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.hash == 0) continue;
    size_t i = slot.hash & mask;
    while (table_[i].hash != 0) i = (i + 1) & mask;
    table_[i] = slot;
  }
}

const char* ConflictTracker::CopyKey(std::string_view key) {
  if (chunks_.empty() || chunks_.back().capacity - chunks_.back().used < key.size()) {
    Chunk chunk;
    if (spare_.data != nullptr && spare_.capacity >= key.size()) {
      chunk = std::move(spare_);
      spare_ = Chunk();
    } else {
      chunk.capacity = std::max(kChunkBytes, key.size());
      chunk.data = std::make_unique<char[]>(chunk.capacity);
    }
    chunk.used = 0;
    chunks_.push_back(std::move(chunk));
  }
  Chunk& tail = chunks_.back();
  char* copy = tail.data.get() + tail.used;
  if (!key.empty()) std::memcpy(copy, key.data(), key.size());
  tail.used += key.size();
  return copy;
}

void ConflictTracker::ReleaseChunks() {
  // The log's first entry is in the oldest chunk still needed; entries are
  // copied in log order, so every chunk before that one is unreferenced.
  while (!chunks_.empty()) {
    Chunk& front = chunks_.front();
    if (log_head_ < log_.size()) {
      const char* key = log_[log_head_].key;
      const char* base = front.data.get();
      // An entry with an empty key may point at a chunk's end: it still
      // belongs to that chunk.
      if (std::less_equal<const char*>()(base, key) &&
          std::less_equal<const char*>()(key, base + front.used)) {
        break;
      }
    }
    if (spare_.data == nullptr && front.capacity == kChunkBytes) spare_ = std::move(front);
    chunks_.pop_front();
  }
}

void ConflictTracker::Record(std::string_view key, SequenceNumber sequence) {
  DCHECK(log_head_ == log_.size() || log_.back().sequence < sequence);
  const char* copy = CopyKey(key);
  if (hashed_keys_) {
    if (2 * (table_used_ + 1) > table_.size()) GrowTable();
    const uint64_t hash = SlotHash(key);
    Slot& slot = table_[FindSlot(key, hash)];
    if (slot.hash == 0) {
      slot.hash = hash;
      slot.size = key.size();
      table_used_++;
      memory_ += HashedKeyBytes();
    }
    slot.key = copy;  // the newest copy: it outlives every older entry of the key
    slot.sequence = sequence;
  } else {
    auto it = ordered_.find(key);
    if (it == ordered_.end()) {
      ordered_.emplace(std::string(key), sequence);
      memory_ += OrderedKeyBytes(key.size());
    } else {
      it->second = sequence;
    }
  }
  log_.push_back(LogEntry{sequence, copy, key.size()});
  // Every write costs its log entry and its key's copy, also a rewrite of a
  // key already tracked: max_transaction_tracker_bytes bounds both.
  memory_ += WriteBytes(key.size());
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
  while (log_head_ < log_.size() && (none || log_[log_head_].sequence <= keep_after)) {
    const LogEntry& entry = log_[log_head_];
    if (hashed_keys_) {
      const size_t i = FindSlot(entry.key_view(), SlotHash(entry.key_view()));
      DCHECK(table_[i].hash != 0);
      if (table_[i].sequence == entry.sequence) {  // the key's latest write
        memory_ -= HashedKeyBytes();
        EraseSlot(i);
      }
    } else {
      auto it = ordered_.find(entry.key_view());
      DCHECK(it != ordered_.end());
      if (it->second == entry.sequence) {
        // The map's copy may differ in size from this write's key: the
        // comparator may call keys of different lengths equal.
        memory_ -= OrderedKeyBytes(it->first.size());
        ordered_.erase(it);
      }
    }
    memory_ -= WriteBytes(entry.size);
    log_head_++;
  }
  if (log_head_ == log_.size()) {
    log_.clear();
    log_head_ = 0;
  } else if (log_head_ >= 1024 && 2 * log_head_ >= log_.size()) {
    log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(log_head_));
    log_head_ = 0;
  }
  ReleaseChunks();
  while (!ranges_.empty() && (none || ranges_.front().sequence <= keep_after)) {
    memory_ -= ranges_.front().begin.size() + ranges_.front().end.size() + 96;
    ranges_.pop_front();
  }
  if (none) {
    DCHECK_EQ(tracked_keys(), 0u);
    DCHECK(chunks_.empty());
    // Nothing is tracked: give back what a burst grew.
    if (table_.size() > kMinTableSlots) std::vector<Slot>().swap(table_);
    if (log_.capacity() > 1024) std::vector<LogEntry>().swap(log_);
    DCHECK_EQ(memory_, 0u);  // every addition has been taken back
    memory_ = 0;
  }
}

SequenceNumber ConflictTracker::LastWrite(std::string_view key) const {
  if (hashed_keys_) {
    if (table_used_ == 0) return 0;
    const Slot& slot = table_[FindSlot(key, SlotHash(key))];
    return slot.hash == 0 ? 0 : slot.sequence;
  }
  auto it = ordered_.find(key);
  return it == ordered_.end() ? 0 : it->second;
}

bool ConflictTracker::WrittenInRangeAfter(const KeyRange& range, SequenceNumber start,
                                          std::string* key) const {
  // Every write after start is in the log: what is pruned is at or below
  // the oldest registered start, and a range is read at or after its
  // transaction's start.
  auto it =
      std::upper_bound(log_.begin() + static_cast<std::ptrdiff_t>(log_head_), log_.end(), start,
                       [](SequenceNumber s, const LogEntry& entry) { return s < entry.sequence; });
  for (; it != log_.end(); ++it) {
    if (range.Contains(it->key_view(), less_)) {
      *key = std::string(it->key_view());
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
