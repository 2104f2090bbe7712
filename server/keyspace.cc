#include "server/keyspace.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <vector>

#include "util/check.h"

namespace lsmkv::server {

namespace {

// The key whose deletion, written with sync, makes the log durable (SyncIfDirty).
const char kSyncMarkerKey[] = "msync-marker";

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

// The engine key holding the logical -> physical database map.
const char kDatabaseMapKey[] = "mdb-map";

Keyspace::Keyspace(DB* db, const Clock* clock, DurableView* durable)
    : db_(db), clock_(clock), durable_(durable) {
  for (int i = 0; i < kMaxDatabases; i++) {
    db_map_[i].store(static_cast<uint8_t>(i), std::memory_order_relaxed);
  }
}

Status Keyspace::LoadDatabaseMap() {
  MutexLock lock(&db_map_mu_);
  std::string stored;
  Status s = db_->Get(ReadOptions(), kDatabaseMapKey, &stored);
  if (s.IsNotFound()) return Status::OK();
  if (!s.ok()) return s;
  // A permutation of 0 .. kMaxDatabases - 1, one byte per logical database.
  std::array<bool, kMaxDatabases> seen{};
  if (stored.size() != kMaxDatabases) return Status::Corruption("lsmkv-server: bad database map");
  for (int i = 0; i < kMaxDatabases; i++) {
    const uint8_t physical = static_cast<uint8_t>(stored[i]);
    if (seen[physical]) return Status::Corruption("lsmkv-server: bad database map");
    seen[physical] = true;
  }
  for (int i = 0; i < kMaxDatabases; i++) {
    db_map_[i].store(static_cast<uint8_t>(stored[i]), std::memory_order_release);
  }
  return Status::OK();
}

Status Keyspace::SwapDatabases(int a, int b) {
  if (replicator_ != nullptr) {
    return Status::NotSupported("SWAPDB is not available on a replicated server");
  }
  MutexLock lock(&db_map_mu_);
  std::string map(kMaxDatabases, '\0');
  for (int i = 0; i < kMaxDatabases; i++) {
    map[i] = static_cast<char>(db_map_[i].load(std::memory_order_relaxed));
  }
  std::swap(map[a], map[b]);
  WriteBatch batch;
  batch.Put(kDatabaseMapKey, map);
  WriteOptions options;
  options.sync = true;  // SWAPDB is acknowledged only once it survives a crash
  Status s = db_->Write(options, &batch);
  if (!s.ok()) return s;
  generation_.fetch_add(1, std::memory_order_acq_rel);
  db_map_[a].store(static_cast<uint8_t>(map[a]), std::memory_order_release);
  db_map_[b].store(static_cast<uint8_t>(map[b]), std::memory_order_release);
  database_epoch_.fetch_add(1, std::memory_order_acq_rel);
  return Status::OK();
}

Keyspace::~Keyspace() {
  if (durable_ != nullptr) durable_->Clear();
}

namespace {

// Each I/O thread keeps its read buffer for the next read, up to this
// capacity; a buffer grown by a larger value is released after use.
constexpr size_t kKeepReadBuffer = 1024 * 1024;

thread_local std::string t_read_buffer;

}  // namespace

size_t Keyspace::TEST_ReadBufferCapacity() { return t_read_buffer.capacity(); }

Status Keyspace::Read(int db, std::string_view user_key, int64_t now_ms, Entry* out, bool* found) {
  *found = false;
  bool present = false;
  Status s = ReadStored(db, user_key, &t_read_buffer, &present);
  if (s.ok() && present) s = DecodeEntry(t_read_buffer, out, now_ms, found);
  if (t_read_buffer.capacity() > kKeepReadBuffer) std::string().swap(t_read_buffer);
  return s;
}

Status Keyspace::ReadStored(int db, std::string_view user_key, std::string* stored, bool* present) {
  thread_local std::string key;
  key.clear();
  AppendDataKey(db, user_key, &key);
  Status s = db_->Get(ReadOptions(), key, stored);
  *present = s.ok();
  return s.IsNotFound() ? Status::OK() : s;
}

Status Keyspace::Apply(WriteBatch* batch) {
  if (batch->Count() == 0) return Status::OK();
  if (replicator_ != nullptr) {
    // Durable in the Raft log of a majority once applied; the engine's own
    // log is not synced (state_machine.h).
    Status s = replicator_->Replicate(*batch);
    if (s.ok()) generation_.fetch_add(1, std::memory_order_acq_rel);
    return s;
  }
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
  MutexLock lock(&sync_mu_);
  // The generation first, then the iterator: a write the iterator misses
  // bumps the generation after this read, so the next call sees it.
  const uint64_t generation = write_generation();
  // A view also pins the table files (and memtables) it reads: once they
  // changed (a flush or compaction), a fresh view lets the old ones go even
  // when nothing was written, e.g. when the server is idle after a load.
  std::string files;
  std::unique_ptr<Iterator> view;
  if (durable_ != nullptr) {
    if (!db_->GetProperty("lsmkv.live-files", &files)) files.clear();
    if (generation != durable_generation_ || files != durable_files_ || !durable_->published()) {
      view = db_->NewIterator(ReadOptions());
    }
  }
  const uint64_t pending = unsynced_writes_.exchange(0, std::memory_order_acq_rel);
  if (pending == 0 && view == nullptr) return Status::OK();
  // An empty batch is not logged, so write (and delete) a marker key with
  // sync: the log is durable up to and including this record, and with it
  // every write the iterator sees (they were logged before it).
  WriteBatch batch;
  batch.Delete(kSyncMarkerKey);
  WriteOptions options;
  options.sync = true;
  Status s = db_->Write(options, &batch);
  if (!s.ok()) {
    unsynced_writes_.fetch_add(pending, std::memory_order_relaxed);
    return s;
  }
  syncs.fetch_add(1, std::memory_order_relaxed);
  if (view != nullptr) {
    durable_->Publish(std::move(view));
    durable_generation_ = generation;
    durable_files_ = std::move(files);
  }
  return Status::OK();
}

namespace {

// The engine key holding the collection version floor.
const char kVersionFloorKey[] = "mcollection-version-floor";
// How far the floor is raised past the versions handed out.
constexpr uint64_t kVersionBlock = uint64_t{1} << 32;

}  // namespace

Status Keyspace::FlushAll() {
  // One range deletion per keyspace prefix and case, all in one batch:
  // atomic, and O(1) whatever the number of keys. The ranges are [p, p+1):
  // every key whose first byte is p (database 0) or its upper case (the
  // others), nothing else ('m' keys are never in one).
  WriteBatch batch;
  for (const char prefix : kKeyspacePrefixes) {
    for (const char p : {prefix, static_cast<char>(prefix - 'a' + 'A')}) {
      batch.DeleteRange(std::string(1, p), std::string(1, static_cast<char>(p + 1)));
    }
  }
  Status s = Apply(&batch);
  if (s.ok()) {
    reclaim_requested_.store(true, std::memory_order_release);
    blocking_.SignalAll();  // blocked readers of deleted streams fail (blocking.h)
  }
  return s;
}

Status Keyspace::FlushDb(int db) {
  WriteBatch batch;
  std::string begin, end;
  for (const char prefix : kKeyspacePrefixes) {
    DatabaseRange(prefix, db, &begin, &end);
    batch.DeleteRange(begin, end);
  }
  Status s = Apply(&batch);
  if (s.ok()) {
    reclaim_requested_.store(true, std::memory_order_release);
    blocking_.SignalAll();  // blocked readers of deleted streams fail (blocking.h)
  }
  return s;
}

Status Keyspace::NewCollectionVersion(uint64_t* version) {
  MutexLock lock(&version_mu_);
  if (replicator_ != nullptr) {
    // A new term (or not leading: the write below then fails): an earlier
    // leader may have raised the floor since this node last read it.
    const uint64_t term = replicator_->LeadingTerm();
    if (term == 0 || term != version_term_) version_limit_ = 0;
    version_term_ = term;
  }
  if (next_version_ >= version_limit_) {
    uint64_t floor = 0;
    std::string stored;
    Status s = db_->Get(ReadOptions(), kVersionFloorKey, &stored);
    if (s.ok() && stored.size() == 8) {
      for (int i = 0; i < 8; i++) {
        floor |= static_cast<uint64_t>(static_cast<uint8_t>(stored[i])) << (8 * i);
      }
    } else if (s.ok()) {
      return Status::Corruption("lsmkv-server: bad collection version floor");
    } else if (!s.IsNotFound()) {
      return s;
    }
    // Seeded from the clock (microseconds), so that a database whose floor
    // was lost still starts past versions used before; the floor rules.
    const int64_t now_us = clock_->NowUs();
    const uint64_t seed = now_us > 0 ? static_cast<uint64_t>(now_us) : 0;
    uint64_t next = std::max({next_version_, floor, seed, uint64_t{1}});
    const uint64_t limit = next + kVersionBlock;
    std::string value;
    for (int i = 0; i < 8; i++) value.push_back(static_cast<char>((limit >> (8 * i)) & 0xff));
    if (replicator_ != nullptr) {
      // Committed, so every later leader reads it, before any version below
      // it is used.
      WriteBatch batch;
      batch.Put(kVersionFloorKey, value);
      s = replicator_->Replicate(batch);
      if (s.ok()) generation_.fetch_add(1, std::memory_order_acq_rel);
    } else {
      WriteOptions options;
      options.sync = true;  // durable before any version below it is used
      s = db_->Put(options, kVersionFloorKey, value);
    }
    if (!s.ok()) {
      version_limit_ = 0;
      return s;
    }
    next_version_ = next;
    version_limit_ = limit;
  }
  DCHECK(next_version_ < version_limit_);
  *version = next_version_++;
  return Status::OK();
}

Status Keyspace::CountKeys(int db, int64_t now_ms, uint64_t* keys, uint64_t* with_deadline) {
  MutexLock lock(&count_mu_);
  const uint64_t generation = write_generation();
  KeyCount& count = counts_[db];
  if (count.valid && count.generation == generation && now_ms < count.valid_until_ms) {
    *keys = count.keys;
    *with_deadline = count.with_deadline;
    return Status::OK();
  }
  ReadOptions read_options;
  std::string lower, upper;
  DatabaseRange(kDataPrefix, db, &lower, &upper);
  read_options.lower_bound = std::move(lower);
  read_options.upper_bound = std::move(upper);
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
  count.valid = true;
  count.generation = generation;
  count.valid_until_ms = valid_until;
  count.keys = live;
  count.with_deadline = deadlines;
  *keys = live;
  *with_deadline = deadlines;
  return Status::OK();
}

Txn::Txn(Keyspace* keyspace, int64_t now_ms, bool overlay)
    : keyspace_(keyspace), now_ms_(now_ms), use_overlay_(overlay) {}

Status Txn::Peek(std::string_view user_key, Entry* out, bool* found) {
  return PeekAt(user_key, now_ms_, out, found);
}

bool Txn::Cacheable(std::string_view user_key) const {
  if (cacheable_keys_ == nullptr || keyspace_->replicator() != nullptr) return false;
  if (cached_bytes_ >= kMaxCachedBytes) return false;
  return std::find(cacheable_keys_->begin(), cacheable_keys_->end(), user_key) !=
         cacheable_keys_->end();
}

Status Txn::PeekAt(std::string_view user_key, int64_t now_ms, Entry* out, bool* found) {
  if (use_overlay_ && !overlay_.empty()) {
    scratch_key_.clear();
    AppendDataKey(db_, user_key, &scratch_key_);
    auto it = overlay_.find(scratch_key_);
    if (it != overlay_.end()) {
      if (!it->second.value.has_value()) {
        *found = false;
        return Status::OK();
      }
      return DecodeEntry(*it->second.value, out, now_ms, found);
    }
  }
  if (use_overlay_ && Cacheable(user_key)) {
    // Read into the thread's read buffer (as Keyspace::Read): a large value
    // leaves no buffer behind in this Txn, which a connection keeps.
    bool present = false;
    Status s = keyspace_->ReadStored(db_, user_key, &t_read_buffer, &present);
    if (!s.ok()) return s;
    if (t_read_buffer.size() <= kMaxCachedValue) {
      scratch_key_.clear();
      AppendDataKey(db_, user_key, &scratch_key_);
      OverlayEntry& entry = overlay_[scratch_key_];
      DCHECK(entry.dirty && !entry.value.has_value());  // new: the lookup above missed
      entry.dirty = false;
      if (present) entry.value.emplace(t_read_buffer);
      cached_bytes_ += scratch_key_.size() + t_read_buffer.size() + 64;
    }
    *found = false;
    if (present) s = DecodeEntry(t_read_buffer, out, now_ms, found);
    if (t_read_buffer.capacity() > kKeepReadBuffer) std::string().swap(t_read_buffer);
    return s;
  }
  return keyspace_->Read(db_, user_key, now_ms, out, found);
}

void Txn::DropReadCache() {
  if (cached_bytes_ == 0) return;
  // Clean entries only: a dirty one is a write still to commit.
  for (auto it = overlay_.begin(); it != overlay_.end();) {
    it = it->second.dirty ? std::next(it) : overlay_.erase(it);
  }
  cached_bytes_ = 0;
}

size_t Txn::TEST_CachedReads() const {
  size_t n = 0;
  for (const auto& [key, entry] : overlay_) n += entry.dirty ? 0 : 1;
  return n;
}

void Txn::QueueReplacementEvents(std::string_view user_key, bool always_new) {
  if (!events_.FirstWrite(db_, user_key)) return;  // this command wrote the key already
  // At time 0 nothing has expired: the stored value, whatever its deadline.
  Entry existing;
  bool stored = false;
  if (!PeekAt(user_key, 0, &existing, &stored).ok()) return;
  const bool expired = stored && IsExpired(existing.deadline_ms, now_ms_);
  if (expired && events_.Wants(kNotifyExpired)) {
    events_.Add(kNotifyExpired, db_, "expired", user_key);
  }
  if ((always_new || !stored || expired) && events_.Wants(kNotifyNew)) {
    events_.Add(kNotifyNew, db_, "new", user_key);
  }
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
  // Only with 'n' or 'x' in notify-keyspace-events: one more read per write.
  if (events_.Wants(kNotifyNew | kNotifyExpired)) QueueReplacementEvents(user_key);
  pending_bytes_ += 2 + user_key.size() + kMaxValueHeader + payload.size();
  scratch_key_.clear();
  AppendDataKey(db_, user_key, &scratch_key_);
  // The caller holds the key's stripe, as a blocking command does while it
  // registers (blocking.h): a waiter registered before this is seen here.
  if (keyspace_->blocking().HasWaiters()) touched_.push_back(scratch_key_);
  if (use_overlay_) {
    OverlayEntry& entry = overlay_[scratch_key_];
    entry.dirty = true;
    std::optional<std::string>& slot = entry.value;
    if (!slot) slot.emplace();
    slot->clear();  // keeps its capacity: rewriting a hot key allocates nothing
    EncodeValue(type, deadline_ms, payload, &*slot);
  } else {
    scratch_value_.clear();
    EncodeValue(type, deadline_ms, payload, &scratch_value_);
    batch_.Put(scratch_key_, scratch_value_);
  }
  if (deadline_ms > 0) {
    batch_.Put(ExpiryHintKey(deadline_ms, db_, user_key), std::string_view());
    pending_bytes_ += kExpiryHintOverhead + user_key.size();
  }
}

void Txn::Delete(std::string_view user_key) {
  pending_bytes_ += 2 + user_key.size();
  scratch_key_.clear();
  AppendDataKey(db_, user_key, &scratch_key_);
  if (use_overlay_) {
    OverlayEntry& entry = overlay_[scratch_key_];
    entry.dirty = true;
    entry.value.reset();
  } else {
    batch_.Delete(scratch_key_);
  }
  // A deletion wakes waiters too: a blocked XREADGROUP then fails (its
  // stream is gone); the other blocking commands find nothing and wait on.
  if (keyspace_->blocking().HasWaiters()) touched_.push_back(scratch_key_);
}

// One descent of the map per element write: lower_bound, then an insert
// hinted there (a pop's or push's keys mostly land at one end).
void Txn::PutElement(std::string_view key, std::string_view value) {
  pending_bytes_ += key.size() + value.size() + 16;
  auto it = elements_.lower_bound(key);
  if (it == elements_.end() || std::string_view(it->first) != key) {
    elements_.emplace_hint(it, std::piecewise_construct, std::forward_as_tuple(key),
                           std::forward_as_tuple(std::in_place, value, elements_.get_allocator()));
  } else if (it->second.has_value()) {
    it->second->assign(value);
  } else {
    it->second.emplace(value, elements_.get_allocator());
  }
}

void Txn::DeleteElement(std::string_view key) {
  pending_bytes_ += key.size() + 16;
  auto it = elements_.lower_bound(key);
  if (it == elements_.end() || std::string_view(it->first) != key) {
    elements_.emplace_hint(it, std::piecewise_construct, std::forward_as_tuple(key),
                           std::forward_as_tuple(std::nullopt));
  } else {
    it->second.reset();
  }
}

Status Txn::GetElement(std::string_view key, std::string* value, bool* found) {
  auto it = elements_.find(key);
  if (it != elements_.end()) {
    *found = it->second.has_value();
    if (*found) value->assign(it->second->data(), it->second->size());
    return Status::OK();
  }
  Status s = keyspace_->db()->Get(ReadOptions(), key, value);
  *found = s.ok();
  return s.IsNotFound() ? Status::OK() : s;
}

Status Txn::ScanElements(std::string_view lower, std::string_view upper,
                         const ElementVisitor& visit) {
  if (lower >= upper) return Status::OK();  // empty (and the pending walk needs lower < upper)
  ReadOptions options;
  options.lower_bound = std::string(lower);
  options.upper_bound = std::string(upper);
  std::unique_ptr<Iterator> it = keyspace_->db()->NewIterator(options);
  it->SeekToFirst();
  auto pending = elements_.lower_bound(lower);
  const auto pending_end = elements_.lower_bound(upper);
  while (true) {
    const bool engine_valid = it->Valid();
    const bool pending_valid = pending != pending_end;
    if (!engine_valid && !pending_valid) break;
    const int order = !engine_valid ? 1 : !pending_valid ? -1 : it->key().compare(pending->first);
    if (order < 0) {
      if (!visit(it->key(), it->value())) return Status::OK();
      it->Next();
      continue;
    }
    if (order == 0) it->Next();  // the pending write replaces the engine's
    if (pending->second.has_value() && !visit(pending->first, *pending->second)) {
      return Status::OK();
    }
    ++pending;
  }
  return it->status();
}

Status Txn::ScanElementsReverse(std::string_view lower, std::string_view upper,
                                const ElementVisitor& visit) {
  if (lower >= upper) return Status::OK();  // empty (and the walk below needs lower < upper)
  ReadOptions options;
  options.lower_bound = std::string(lower);
  options.upper_bound = std::string(upper);
  std::unique_ptr<Iterator> it = keyspace_->db()->NewIterator(options);
  it->SeekToLast();
  // pending walks down from the first pending write at or past upper; the
  // one before it is the next candidate, until pending_begin.
  auto pending = elements_.lower_bound(upper);
  const auto pending_begin = elements_.lower_bound(lower);
  while (true) {
    const bool engine_valid = it->Valid();
    const bool pending_valid = pending != pending_begin;
    if (!engine_valid && !pending_valid) break;
    const auto candidate = pending_valid ? std::prev(pending) : pending;
    const int order = !engine_valid ? -1 : !pending_valid ? 1 : it->key().compare(candidate->first);
    if (order > 0) {
      if (!visit(it->key(), it->value())) return Status::OK();
      it->Prev();
      continue;
    }
    if (order == 0) it->Prev();  // the pending write replaces the engine's
    if (candidate->second.has_value() && !visit(candidate->first, *candidate->second)) {
      return Status::OK();
    }
    pending = candidate;
  }
  return it->status();
}

Status Txn::LastElement(std::string_view lower, std::string_view upper, std::string* key,
                        bool* found) {
  *found = false;
  ReadOptions options;
  options.lower_bound = std::string(lower);
  options.upper_bound = std::string(upper);
  std::unique_ptr<Iterator> it = keyspace_->db()->NewIterator(options);
  // The engine's last key that no pending deletion hides.
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    auto pending = elements_.find(it->key());
    if (pending == elements_.end() || pending->second.has_value()) {
      key->assign(it->key());
      *found = true;
      break;
    }
  }
  Status s = it->status();
  if (!s.ok()) return s;
  // The last pending write in range, if greater.
  auto pending = elements_.lower_bound(upper);
  while (pending != elements_.begin()) {
    --pending;
    if (pending->first < lower) break;
    if (!pending->second.has_value()) continue;
    if (!*found || std::string_view(pending->first) > *key) {
      key->assign(pending->first);
      *found = true;
    }
    break;
  }
  return Status::OK();
}

Status Txn::Commit() {
  if (use_overlay_) {
    // In key order: consecutive memtable inserts then walk nearby skiplist
    // paths, which the cache still holds.
    thread_local std::vector<const OverlayMap::value_type*> entries;
    entries.clear();
    for (const auto& entry : overlay_) {
      if (entry.second.dirty) entries.push_back(&entry);  // not the reads kept
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    for (const auto* entry : entries) {
      if (entry->second.value.has_value()) {
        batch_.Put(entry->first, *entry->second.value);
      } else {
        batch_.Delete(entry->first);
      }
    }
  }
  for (const auto& [key, value] : elements_) {
    if (value.has_value()) {
      batch_.Put(key, *value);
    } else {
      batch_.Delete(key);
    }
  }
  Status s = keyspace_->Apply(&batch_);
  if (s.ok()) {
    for (const std::string& key : touched_) keyspace_->blocking().Signal(key);
  }
  touched_.clear();
  elements_.clear();
  element_memory_.release();  // after the map let go of every node
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
  cached_bytes_ = 0;
  return s;
}

}  // namespace lsmkv::server
