// DurableView: the newest state of the database known to survive a power
// loss, for decisions that must not run ahead of the write-ahead log's sync:
// the compaction filter's removal of hash fields (expiry_filter.h).
//
// Why it is needed: the engine makes a write visible to readers before its
// log record is synced (with appendfsync everysec or no, up to about a
// second before). A compaction that removes a field because a read showed
// its hash deleted writes tables that are synced at once; a power loss can
// then undo the deletion but not the removal.
//
// How a state becomes durable (Keyspace::SyncIfDirty, once a second): create
// a DB iterator (it reads the state as of its creation), then write a record
// with WriteOptions::sync, and only if that succeeds publish the iterator
// here. Every write the iterator sees was in the log before the synced record,
// so it is durable, and recovery after any later crash yields that state or a
// later one.
//
// An iterator, not a DB snapshot: lsmkv's compaction offers its filter no
// value as old as the newest live snapshot (compaction_filter.h), so a
// snapshot held at all times would keep the filter from ever seeing the
// fields it should remove. An iterator pins no sequence number, only the
// memtables and table files of its view: those stay in memory and on disk
// until the next publication replaces it (about a second; see
// docs/format/redis.md).
//
// Thread safety: thread-safe. mu_ serialises every use of the iterator
// (which is not thread-safe): Read holds it for all of its keys, Publish and
// Clear only to swap the pointer (the replaced iterator is destroyed after
// mu_ is released). Readers run on compaction threads; mu_ is a leaf lock
// apart from the engine's own locks, which Read's seeks may take.
#ifndef LSMKV_SERVER_DURABLE_VIEW_H_
#define LSMKV_SERVER_DURABLE_VIEW_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "lsmkv/iterator.h"
#include "lsmkv/status.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {

class DurableView {
 public:
  DurableView() = default;
  DurableView(const DurableView&) = delete;
  DurableView& operator=(const DurableView&) = delete;
  // REQUIRES: nothing published (Clear was called before the DB closed).
  ~DurableView() = default;

  // Makes view the durable state, replacing (and destroying) the previous
  // one. REQUIRES: view is a DB::NewIterator over the whole key space, with
  // no snapshot, created before a synced write that has succeeded (so every
  // write it sees is durable); views are published in creation order; its DB
  // stays open until the view is replaced or Clear returns.
  void Publish(std::unique_ptr<Iterator> view) EXCLUDES(mu_);

  // Forgets the durable state (destroys the iterator): until the next
  // Publish, Read reports that none is known. Call before the DB closes.
  void Clear() EXCLUDES(mu_);

  // Whether a durable state is published.
  bool published() const EXCLUDES(mu_);

  // Reads keys[i] in the durable state, all of them in the same one: found[i]
  // is whether it is present, values[i] its value if so. NotFound if no state
  // is published; the iterator's error if a read fails (found and values are
  // then unspecified). REQUIRES: found and values have keys.size() entries.
  Status Read(std::span<const std::string_view> keys, std::span<std::string> values,
              std::span<bool> found) EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::unique_ptr<Iterator> view_ GUARDED_BY(mu_);
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_DURABLE_VIEW_H_
