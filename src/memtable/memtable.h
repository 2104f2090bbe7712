// MemTable: the in-memory, sorted buffer of recent writes, searched before
// any table. Entries are internal keys (user key, sequence, type) with values;
// nothing is ever removed or overwritten — a newer version or a deletion
// marker is simply another entry.
//
// Each entry lives in the memtable's Arena, and the skiplist holds a pointer
// to it:
//   entry := varint32(internal_key length) internal_key
//            varint32(value length) value
//   internal_key := user_key fixed64((sequence << 8) | type)   (db/dbformat.h)
//
// Thread safety:
//  - Add() needs external synchronisation: one writer at a time.
//  - Get(), KeyWrittenAfter(), iterators and the statistics accessors are
//    lock-free and may run in any number of threads concurrently with Add().
//  - Ref() and Unref() need external synchronisation (the count is a plain
//    int). The DB calls each exactly once per memtable through a shared_ptr
//    (db_impl.h, NewMemTable): Ref at creation, Unref from the deleter of
//    whichever thread drops the last owner — a reader, without the DB mutex;
//    the shared_ptr's atomic count orders the two.
#ifndef LSMKV_MEMTABLE_MEMTABLE_H_
#define LSMKV_MEMTABLE_MEMTABLE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <memory>

#include "base/dbformat.h"
#include "lsmkv/iterator.h"
#include "lsmkv/status.h"
#include "memtable/arena.h"
#include "memtable/skiplist.h"

namespace lsmkv {

class MemTable {
 public:
  // A new memtable has no references: the creator must Ref() it. Only the
  // user comparator of cmp is kept (cmp itself need not outlive the memtable,
  // but its user comparator must). With filter_bytes > 0 and the bytewise
  // user comparator, the memtable keeps a bloom filter of about that many
  // bytes over the user keys added, so that Get for a key it does not hold
  // usually skips the skiplist search (a cache miss per level of a large
  // memtable). With huge_page_bytes > 0 the entries live in memory of huge
  // pages of that size (Arena).
  explicit MemTable(const InternalKeyComparator& cmp, size_t filter_bytes = 0,
                    size_t huge_page_bytes = 0);
  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;

  // REQUIRES: no concurrent Ref/Unref (see the file comment).
  void Ref() { ++refs_; }
  // Drops a reference; deletes the memtable when none are left.
  // REQUIRES: no concurrent Ref/Unref; a reference is held.
  void Unref();

  // Adds an entry mapping (user_key, seq, type) to value (value should be
  // empty for a deletion).
  // REQUIRES: one writer at a time; seq unique in this memtable and
  // <= kMaxSequenceNumber.
  void Add(SequenceNumber seq, ValueType type, std::string_view user_key, std::string_view value);

  // Adds the range tombstone [begin, end) @ seq (DB::DeleteRange): it is
  // kept beside the entries, in a list readers walk lock-free, never in the
  // skiplist. REQUIRES: as Add; begin < end in the user order.
  void AddRangeTombstone(SequenceNumber seq, std::string_view begin, std::string_view end);
  // Calls fn(SequenceNumber seq, std::string_view begin, std::string_view end)
  // for every range tombstone added before the call (newest first; possibly
  // some added concurrently). The views stay valid while the memtable lives.
  template <typename Fn>
  void ForEachRangeTombstone(Fn&& fn) const {
    for (const RangeTombstoneNode* n = range_tombstones_.load(std::memory_order_acquire);
         n != nullptr; n = n->next) {
      fn(n->seq, std::string_view(n->begin, n->begin_size), std::string_view(n->end, n->end_size));
    }
  }
  uint64_t NumRangeTombstones() const {
    return num_range_tombstones_.load(std::memory_order_acquire);
  }

  // Looks for the newest entry of key.user_key() with sequence <= the lookup
  // sequence. If it is a value: stores it in *value, sets *s to OK and
  // returns true. If it is a deletion: sets *s to NotFound and returns true.
  // If there is no such entry: returns false and leaves *value and *s alone
  // (the caller looks in older memtables and tables).
  // *found_seq (if not null) receives the sequence of the entry found.
  bool Get(const LookupKey& key, std::string* value, Status* s,
           SequenceNumber* found_seq = nullptr) const;

  // True iff some entry of user_key has a sequence > seq.
  bool KeyWrittenAfter(std::string_view user_key, SequenceNumber seq) const;

  // An iterator over the entries in internal key order: key() is the internal
  // key, value() the value; status() is always OK. Sees entries added before
  // each positioning call and possibly some added concurrently.
  // REQUIRES: the caller keeps a reference to the memtable until the
  // iterator is deleted. The caller owns the result.
  Iterator* NewIterator() const;

  // Bytes of memory held (a little over the sum of entry sizes), the key
  // filter's included.
  size_t ApproximateMemoryUsage() const { return arena_.MemoryUsage() + FilterBytes(); }
  // Bytes of the key filter; 0 without one.
  size_t FilterBytes() const;
  // False if the key filter says no entry of user_key was added (Get then
  // returns false without searching); true otherwise, or without a filter.
  bool KeyMayBeHere(std::string_view user_key) const;
  uint64_t NumEntries() const { return num_entries_.load(std::memory_order_acquire); }
  uint64_t NumDeletes() const { return num_deletes_.load(std::memory_order_acquire); }
  // No entry and no range tombstone.
  bool Empty() const { return NumEntries() == 0 && NumRangeTombstones() == 0; }
  // The smallest / largest sequence added so far (entries and range
  // tombstones); 0 while empty.
  SequenceNumber FirstSequence() const { return first_sequence_.load(std::memory_order_acquire); }
  SequenceNumber LargestSequence() const {
    return largest_sequence_.load(std::memory_order_acquire);
  }

 private:
  class IteratorImpl;

  // Orders entry pointers by their internal keys. With the bytewise user
  // comparator (bytewise set) it compares the bytes itself, without the two
  // calls through InternalKeyComparator and the virtual user comparator:
  // the skiplist's searches spend most of their time here.
  struct EntryComparator {
    const InternalKeyComparator* internal;
    bool bytewise;
    int operator()(const char* a, const char* b) const;
  };
  using Table = SkipList<const char*, EntryComparator>;

  ~MemTable();  // only Unref() deletes

  // A range tombstone, in the arena; linked newest first.
  struct RangeTombstoneNode {
    SequenceNumber seq;
    const char* begin;
    size_t begin_size;
    const char* end;
    size_t end_size;
    const RangeTombstoneNode* next;
  };
  void NoteSequence(SequenceNumber seq);

  class KeyFilter;

  const InternalKeyComparator comparator_;
  // Set before any entry is added, never changed; null without a filter.
  // Written by the writer (Add), read by any reader (Get).
  const std::unique_ptr<KeyFilter> filter_;
  int refs_ = 0;  // externally synchronised (file comment)
  Arena arena_;
  Table table_;
  // Written by the writer only; atomics so that readers may look at any time.
  std::atomic<uint64_t> num_entries_{0};
  std::atomic<uint64_t> num_deletes_{0};
  std::atomic<uint64_t> num_range_tombstones_{0};
  // Published with release after the node is complete.
  std::atomic<const RangeTombstoneNode*> range_tombstones_{nullptr};
  std::atomic<SequenceNumber> first_sequence_{0};
  std::atomic<SequenceNumber> largest_sequence_{0};
};

}  // namespace lsmkv

#endif  // LSMKV_MEMTABLE_MEMTABLE_H_
