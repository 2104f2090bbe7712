#include "server/keyspace.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace lsmkv::server {

namespace {

// The key whose deletion, written with sync, makes the log durable (everysec).
const char kSyncMarkerKey[] = "msync-marker";
// FLUSHDB commits its deletions in batches of about this many bytes.
constexpr size_t kFlushBatchBytes = 1 << 20;

Status DecodeEntry(std::string_view stored, Entry* out, int64_t now_ms, bool* found) {
  DecodedValue decoded;
  if (!DecodeValue(stored, &decoded)) {
    return Status::Corruption("lsmkv-server: undecodable stored value");
  }
  if (IsExpired(decoded.deadline_ms, now_ms)) {
    *found = false;
    return Status::OK();
  }
  out->type = decoded.type;
  out->deadline_ms = decoded.deadline_ms;
  out->payload.assign(decoded.payload);
  *found = true;
  return Status::OK();
}

}  // namespace

Keyspace::Keyspace(DB* db, const Clock* clock) : db_(db), clock_(clock) {}

namespace {

// Each I/O thread keeps its read buffer for the next read, up to this
// capacity; a buffer grown by a larger value is released after use.
constexpr size_t kKeepReadBuffer = 1024 * 1024;

thread_local std::string t_read_buffer;

}  // namespace

size_t Keyspace::TEST_ReadBufferCapacity() { return t_read_buffer.capacity(); }

Status Keyspace::Read(std::string_view user_key, int64_t now_ms, Entry* out, bool* found) {
  thread_local std::string key;
  key.clear();
  AppendDataKey(user_key, &key);
  *found = false;
  Status s = db_->Get(ReadOptions(), key, &t_read_buffer);
  if (s.ok()) s = DecodeEntry(t_read_buffer, out, now_ms, found);
  if (s.IsNotFound()) s = Status::OK();
  if (t_read_buffer.capacity() > kKeepReadBuffer) std::string().swap(t_read_buffer);
  return s;
}

Status Keyspace::Apply(WriteBatch* batch) {
  if (batch->Count() == 0) return Status::OK();
  WriteOptions options;
  const FsyncPolicy policy = fsync_policy();
  options.sync = policy == FsyncPolicy::kAlways;
  Status s = db_->Write(options, batch);
  if (s.ok()) {
    generation_.fetch_add(1, std::memory_order_acq_rel);
    if (!options.sync) unsynced_writes_.fetch_add(1, std::memory_order_relaxed);
  }
  return s;
}

Status Keyspace::SyncIfDirty() {
  const uint64_t pending = unsynced_writes_.exchange(0, std::memory_order_acq_rel);
  if (pending == 0) return Status::OK();
  // An empty batch is not logged, so write (and delete) a marker key with
  // sync: the log is durable up to and including this record.
  WriteBatch batch;
  batch.Delete(kSyncMarkerKey);
  WriteOptions options;
  options.sync = true;
  Status s = db_->Write(options, &batch);
  if (s.ok()) {
    syncs.fetch_add(1, std::memory_order_relaxed);
  } else {
    unsynced_writes_.fetch_add(pending, std::memory_order_relaxed);
  }
  return s;
}

Status Keyspace::FlushAll() {
  ReadOptions read_options;
  read_options.lower_bound = std::string(1, kDataPrefix);
  read_options.upper_bound = std::string(1, static_cast<char>(kExpiryHintPrefix + 1));
  std::unique_ptr<Iterator> it = db_->NewIterator(read_options);
  WriteBatch batch;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const char prefix = it->key()[0];
    if (prefix != kDataPrefix && prefix != kExpiryHintPrefix) continue;
    batch.Delete(it->key());
    if (batch.ApproximateSize() >= kFlushBatchBytes) {
      Status s = Apply(&batch);
      if (!s.ok()) return s;
      batch.Clear();
    }
  }
  Status s = it->status();
  if (!s.ok()) return s;
  return Apply(&batch);
}

Status Keyspace::CountKeys(int64_t now_ms, uint64_t* keys, uint64_t* with_deadline) {
  MutexLock lock(&count_mu_);
  const uint64_t generation = write_generation();
  if (count_valid_ && count_generation_ == generation && now_ms < count_valid_until_ms_) {
    *keys = count_keys_;
    *with_deadline = count_with_deadline_;
    return Status::OK();
  }
  ReadOptions read_options;
  read_options.lower_bound = std::string(1, kDataPrefix);
  read_options.upper_bound = std::string(1, static_cast<char>(kDataPrefix + 1));
  read_options.fill_cache = false;
  std::unique_ptr<Iterator> it = db_->NewIterator(read_options);
  uint64_t live = 0;
  uint64_t deadlines = 0;
  int64_t valid_until = std::numeric_limits<int64_t>::max();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    DecodedValue decoded;
    if (!DecodeValue(it->value(), &decoded)) continue;
    if (IsExpired(decoded.deadline_ms, now_ms)) continue;
    live++;
    if (decoded.deadline_ms != 0) {
      deadlines++;
      valid_until = std::min(valid_until, decoded.deadline_ms);
    }
  }
  Status s = it->status();
  if (!s.ok()) return s;
  count_valid_ = true;
  count_generation_ = generation;
  count_valid_until_ms_ = valid_until;
  count_keys_ = live;
  count_with_deadline_ = deadlines;
  *keys = live;
  *with_deadline = deadlines;
  return Status::OK();
}

Txn::Txn(Keyspace* keyspace, int64_t now_ms, bool overlay)
    : keyspace_(keyspace), now_ms_(now_ms), use_overlay_(overlay) {}

Status Txn::Peek(std::string_view user_key, Entry* out, bool* found) {
  if (use_overlay_ && !overlay_.empty()) {
    auto it = overlay_.find(user_key);
    if (it != overlay_.end()) {
      if (!it->second.has_value()) {
        *found = false;
        return Status::OK();
      }
      return DecodeEntry(*it->second, out, now_ms_, found);
    }
  }
  return keyspace_->Read(user_key, now_ms_, out, found);
}

Status Txn::Get(std::string_view user_key, Entry* out, bool* found) {
  Status s = Peek(user_key, out, found);
  if (s.ok()) {
    (*found ? keyspace_->keyspace_hits : keyspace_->keyspace_misses)
        .fetch_add(1, std::memory_order_relaxed);
  }
  return s;
}

void Txn::Put(std::string_view user_key, ValueType type, int64_t deadline_ms,
              std::string_view payload) {
  pending_bytes_ += 1 + user_key.size() + kMaxValueHeader + payload.size();
  if (use_overlay_) {
    auto it = overlay_.find(user_key);
    if (it == overlay_.end()) it = overlay_.emplace(std::string(user_key), std::nullopt).first;
    std::optional<std::string>& slot = it->second;
    if (!slot) slot.emplace();
    slot->clear();  // keeps its capacity: rewriting a hot key allocates nothing
    EncodeValue(type, deadline_ms, payload, &*slot);
  } else {
    scratch_key_.clear();
    AppendDataKey(user_key, &scratch_key_);
    scratch_value_.clear();
    EncodeValue(type, deadline_ms, payload, &scratch_value_);
    batch_.Put(scratch_key_, scratch_value_);
  }
  if (deadline_ms > 0) {
    batch_.Put(ExpiryHintKey(deadline_ms, user_key), std::string_view());
    pending_bytes_ += kExpiryHintOverhead + user_key.size();
  }
}

void Txn::Delete(std::string_view user_key) {
  pending_bytes_ += 1 + user_key.size();
  if (use_overlay_) {
    auto it = overlay_.find(user_key);
    if (it == overlay_.end()) {
      overlay_.emplace(std::string(user_key), std::nullopt);
    } else {
      it->second.reset();
    }
  } else {
    scratch_key_.clear();
    AppendDataKey(user_key, &scratch_key_);
    batch_.Delete(scratch_key_);
  }
}

Status Txn::Commit() {
  if (use_overlay_) {
    // In key order: consecutive memtable inserts then walk nearby skiplist
    // paths, which the cache still holds.
    thread_local std::vector<const OverlayMap::value_type*> entries;
    entries.clear();
    for (const auto& entry : overlay_) entries.push_back(&entry);
    std::sort(entries.begin(), entries.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    for (const auto* entry : entries) {
      scratch_key_.clear();
      AppendDataKey(entry->first, &scratch_key_);
      if (entry->second.has_value()) {
        batch_.Put(scratch_key_, *entry->second);
      } else {
        batch_.Delete(scratch_key_);
      }
    }
  }
  Status s = keyspace_->Apply(&batch_);
  // A Txn may be reused (a connection's pipeline batch): what a large one
  // grew is not kept.
  if (pending_bytes_ > kKeepReadBuffer) {
    batch_ = WriteBatch();
    OverlayMap().swap(overlay_);
  } else {
    batch_.Clear();
    overlay_.clear();
  }
  pending_bytes_ = 0;
  return s;
}

}  // namespace lsmkv::server
