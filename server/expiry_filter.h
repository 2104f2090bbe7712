// ExpiryFilter: the compaction filter lsmkv-server installs in the engine
// (Options::compaction_filter). It removes
//   - data values ('k' keys) whose deadline has passed, so expired keys
//     leave the disk as compaction reaches them, without a server-side scan;
//   - collection elements ('h', 'l', 's', 'z', 'i' keys, collection.h) whose collection version
//     a durable write ended: the collection was deleted (by DEL, RENAME to
//     another key, a range deletion, or the expiry sweep once it expired),
//     overwritten (also by RENAME onto it), or deleted and created again.
//     A range deletion is a write like any other here: DB::Get and the
//     durable state's iterator both honour it. (FLUSHALL's range deletions
//     cover the elements too: the engine drops those itself, and (b) keeps
//     them, as they are absent from a durable state that has the deletion.)
//     That is how DEL, EXPIRE and SET over a hash stay O(1): they change
//     only the metadata record.
// Everything else, and whatever it cannot decode or decide, is kept. Reads
// check deadlines and versions too, so a value the filter has not seen yet
// is never returned.
//
// An element of version v is removed only when both
//   (a) its metadata record, read now through the DB given to AttachDb
//       (DB::Get), shows v ended: ClassifyElement says kStale (the key is
//       absent, of another type, or holds a newer version); and
//   (b) in the durable state (durable_view(), published by
//       Keyspace::SyncIfDirty about once a second) the element's own key is
//       present — so v was created at or before that state — and the
//       metadata record there shows v ended too.
// (b) makes the write that ended v durable: a power loss recovers that
// state or a later one, in which v stays ended (a version, once ended by a
// write, never becomes live again: versions are unique and only grow,
// Keyspace::NewCollectionVersion). (a) is the cheap test run for every
// element (a Get, usually answered by the bloom filter); (b) is read only
// for elements (a) finds stale. Without a published durable state (at
// startup, after Clear, or if the state cannot be read) elements are kept.
// Deadlines play no part (ClassifyElement): an expired hash's fields go once
// the sweep's deletion of its metadata is durable.
//
// Reading the DB from the filter is allowed by the CompactionFilter contract
// (reads only; compaction holds no DB lock while it calls the filter).
//
// Thread safety: Filter may run on several compaction threads at once;
// AttachDb/DetachDb may be called from any thread; the durable view is
// thread-safe (durable_view.h).
#ifndef LSMKV_SERVER_EXPIRY_FILTER_H_
#define LSMKV_SERVER_EXPIRY_FILTER_H_

#include <atomic>
#include <cstdint>

#include "lsmkv/compaction_filter.h"
#include "lsmkv/db.h"
#include "server/clock.h"
#include "server/durable_view.h"
#include "server/value_codec.h"

namespace lsmkv::server {

class ExpiryFilter : public CompactionFilter {
 public:
  // Data values are expired as of clock->NowMs() when compaction sees them
  // (the server's clock, so a test's ManualClock decides here too).
  // REQUIRES: clock outlives the filter.
  explicit ExpiryFilter(const Clock* clock);

  Decision Filter(int level, std::string_view key, std::string_view value) const override;
  const char* Name() const override { return "lsmkv-server.ExpiryFilter"; }

  // From now on, elements are decided by reading their metadata in db (and
  // the durable view); before (and after DetachDb) every element is kept.
  // REQUIRES: db stays open until DetachDb returns or until db->Close() has
  // returned (Close waits for running compactions).
  void AttachDb(DB* db) { db_.store(db, std::memory_order_release); }
  void DetachDb() { db_.store(nullptr, std::memory_order_release); }

  // The durable state the filter decides elements by (condition (b)): the
  // Keyspace of the attached DB publishes it (Keyspace::SyncIfDirty).
  // REQUIRES: cleared (DurableView::Clear) before that DB closes.
  DurableView* durable_view() { return &durable_; }

  // Expired data values removed so far (INFO: expired_keys_by_compaction).
  uint64_t removed() const { return removed_.load(std::memory_order_relaxed); }
  // Stale collection elements removed so far.
  uint64_t elements_removed() const { return elements_removed_.load(std::memory_order_relaxed); }

 private:
  // An element of a collection of type (ElementPrefixType of its prefix).
  Decision FilterElement(ValueType type, std::string_view key) const;

  const Clock* const clock_;
  // Unique per filter object in the process: a compaction thread's cache
  // (expiry_filter.cc) is never applied to another filter's database.
  const uint64_t id_;
  std::atomic<DB*> db_{nullptr};
  // mutable: Filter is const but reads through the view (thread-safe).
  mutable DurableView durable_;
  mutable std::atomic<uint64_t> removed_{0};
  mutable std::atomic<uint64_t> elements_removed_{0};
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_EXPIRY_FILTER_H_
