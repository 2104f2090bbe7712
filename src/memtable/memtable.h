// MemTable: the in-memory, sorted buffer of recent writes, searched before
// any table. Entries are internal keys (user key, sequence, type) with values;
// nothing is ever removed or overwritten — a newer version or a deletion
// marker is simply another entry.
//
// Each entry lives in the memtable's Arena, and a skiplist holds a pointer
// to it:
//   entry := varint32(internal_key length) internal_key
//            varint32(value length) value
//   internal_key := user_key fixed64((sequence << 8) | type)   (db/dbformat.h)
//
// Runs: a memtable made with max_runs > 1 keeps its entries in up to
// max_runs skiplists ("runs") in the order they were added: the newest run
// takes the inserts until it holds run_bytes of the arena, then a new run
// starts (the last one grows without bound). An insert then searches a list
// of run_bytes, whose upper levels stay in the processor's caches, instead of
// one of the whole memtable, whose search misses the cache on most of its
// levels (the largest cost of a random insert into a 64 MiB memtable). Reads
// look in the runs newest first, each behind its own key filter; iterators
// merge the runs. Reads stop at the newest run with a visible entry, which
// is right while sequences only increase from one Add to the next (the DB's
// write path and recovery add them so); after an Add that breaks the order,
// reads search every run.
//
// Point index: with index_bytes > 0 (and the bytewise user comparator) each
// run keeps a direct-mapped table from a hash of the user key to the
// skiplist node of the last entry added with that hash. While sequences only
// increase from one Add to the next, a slot holding user_key's node holds its
// newest entry, so a lookup of a key written recently reads a slot and the
// node (and walks a few nodes for an older snapshot) instead of searching
// the list (a cache miss per level). A slot another key took since, or an
// empty one, sends the lookup to the search; the index is never wrong, only
// sometimes silent. After an Add that breaks the sequence order, lookups
// stop using it.
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
#include <utility>

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
  // pages of that size (Arena), and so do a filter or point index of at
  // least that size. With max_runs > 1 (at most kMaxRuns) and
  // run_bytes > 0 the entries go into runs (file comment) and each run has a
  // filter of filter_bytes / max_runs bytes. With index_bytes > 0 (bytewise
  // comparator only) each run has a point index (file comment) of about
  // index_bytes / max_runs bytes. chunk_pool (null, or one of chunks of
  // huge_page_bytes): where the arena's huge-page chunks come from and go
  // back to (Arena).
  explicit MemTable(const InternalKeyComparator& cmp, size_t filter_bytes = 0,
                    size_t huge_page_bytes = 0, int max_runs = 1, size_t run_bytes = 0,
                    size_t index_bytes = 0, std::shared_ptr<ArenaChunkPool> chunk_pool = nullptr);
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
  // <= kMaxSequenceNumber. With runs, reads stay fast only while seq is
  // larger than every sequence added before (file comment).
  void Add(SequenceNumber seq, ValueType type, std::string_view user_key, std::string_view value);

  // Starts loading the lines an Add of user_key will write at random places
  // (its key filter block and point index slot), so that a writer with other
  // work first (the WAL append) finds them in the cache: written while
  // still loading, they hold every later store in the store buffer, and the
  // next locked instruction waits for all of them. A hint only: nothing
  // changes, and an Add without it is as correct.
  // REQUIRES: the memtable's writer (as Add).
  void PrefetchForAdd(std::string_view user_key) const;

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
  // key, value() the value; status() is always OK. Sees the entries of the
  // runs that existed when it was made — every entry added before that, and
  // possibly some added later — which is all a reader whose read sequence was
  // published before the call can see (DB iterators take theirs first).
  // REQUIRES: the caller keeps a reference to the memtable until the
  // iterator is deleted. The caller owns the result.
  Iterator* NewIterator() const;

  // Bytes of memory held (a little over the sum of entry sizes), the key
  // filters' and point indexes' included.
  size_t ApproximateMemoryUsage() const {
    return arena_.MemoryUsage() + FilterBytes() + IndexBytes();
  }
  // Bytes of the key filters; 0 without them.
  size_t FilterBytes() const;
  // Bytes of the point indexes; 0 without them.
  size_t IndexBytes() const;
  // True iff the point indexes alone answer Get(key) — it finds an entry
  // without searching a skiplist (for tests).
  bool IndexAnswers(const LookupKey& key) const;
  // For tests: where the newest run's key filter and point index begin (0
  // for one it does not have).
  std::pair<uintptr_t, uintptr_t> TEST_FilterAndIndexAddresses() const;
  // False if the key filters say no entry of user_key was added (Get then
  // returns false without searching); true otherwise, or without filters.
  bool KeyMayBeHere(std::string_view user_key) const;
  // Runs started so far (>= 1).
  int NumRuns() const { return num_runs_.load(std::memory_order_acquire); }
  static constexpr int kMaxRuns = 16;
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
  class KeyFilter;
  class PointIndex;

  // One skiplist of entries added in a stretch of time, with its own filter
  // (null without filters) and the first sequence added to it. Built by the
  // writer before num_runs_ publishes it; never changed after, apart from
  // the inserts into the newest one.
  struct Run {
    // huge_page_bytes: the filter and index take huge pages from this size
    // up (0: never).
    Run(const EntryComparator& cmp, Arena* arena, uint64_t seed, size_t filter_bytes,
        size_t index_bytes, size_t huge_page_bytes);
    ~Run();
    Table table;
    const std::unique_ptr<KeyFilter> filter;
    const std::unique_ptr<PointIndex> index;  // null without one
    SequenceNumber first_sequence = 0;        // set before the run is published
  };

  ~MemTable();  // only Unref() deletes

  // A lookup as the runs see it: the key to seek, its user key, and the
  // user key's Hash64 (computed once, for every run's filter and index; 0
  // when the memtable has neither).
  struct Probe {
    const char* memtable_key;
    std::string_view user_key;
    uint64_t hash;
  };
  Probe MakeProbe(const LookupKey& key) const;
  // The entry run's search for probe.memtable_key lands on if it is one of
  // probe.user_key (its newest at or below the lookup's sequence), else
  // nullptr; nullptr at once if the run's filter rules the user key out.
  const char* FindInRun(const Run& run, const Probe& probe) const;
  // The same answer from run's point index, or false (*entry untouched) if
  // the index cannot give it (the slot holds another key or none, the
  // entries newer than the lookup are too many to walk, adds out of
  // order). REQUIRES: run has an index.
  bool FindInIndex(const Run& run, const Probe& probe, const char** entry) const;
  // Like FindInRun over every run; the entry of the largest sequence.
  const char* FindNewestInRuns(const Probe& probe) const;
  // The sum of bytes_of(run) over the runs started so far.
  template <typename BytesOf>
  size_t SumOverRuns(BytesOf bytes_of) const {
    size_t bytes = 0;
    const int n = NumRuns();
    for (int i = 0; i < n; i++) bytes += bytes_of(*runs_[i]);
    return bytes;
  }
  // Starts a new run for an entry of sequence seq. REQUIRES: the writer.
  void StartRun(SequenceNumber seq);

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

  const InternalKeyComparator comparator_;
  const EntryComparator entry_comparator_;
  const int max_runs_;
  const size_t run_bytes_;
  const size_t run_filter_bytes_;  // 0: no filters
  const size_t run_index_bytes_;   // 0: no point indexes
  const size_t huge_page_bytes_;   // 0: no huge pages
  int refs_ = 0;                   // externally synchronised (file comment)
  Arena arena_;                    // its allocation cursor is written by every Add

  // Read by every lookup, written rarely (a new run, the first entry, a
  // range tombstone): on cache lines of their own, apart from the arena's
  // cursor and the counters below that every Add writes, so that readers
  // running beside a writer do not miss on a line the writer keeps taking.
  //
  // runs_[0, num_runs_) exist, oldest first; a run is complete before the
  // release store of num_runs_ that covers it, and readers load num_runs_
  // with acquire before they look at runs_. Only the writer adds runs.
  alignas(64) std::unique_ptr<Run> runs_[kMaxRuns];
  std::atomic<int> num_runs_{0};
  // Set (for good) by an Add whose sequence was not the largest yet: reads
  // then search every run and no longer use the point indexes (Add).
  std::atomic<bool> unordered_{false};
  // Set (for good) by the first Add, before its entry is linked: a lookup in
  // a memtable that never held an entry returns at once, without its key
  // filter's cache miss (every read of a settled database met one).
  std::atomic<bool> has_entries_{false};
  std::atomic<uint64_t> num_range_tombstones_{0};
  // Published with release after the node is complete.
  std::atomic<const RangeTombstoneNode*> range_tombstones_{nullptr};

  // Written by the writer on every Add; atomics so that readers may look at
  // any time.
  alignas(64) size_t run_start_usage_ = 0;  // arena bytes when the newest run started
  std::atomic<uint64_t> num_entries_{0};
  std::atomic<uint64_t> num_deletes_{0};
  std::atomic<SequenceNumber> first_sequence_{0};
  std::atomic<SequenceNumber> largest_sequence_{0};
};

}  // namespace lsmkv

#endif  // LSMKV_MEMTABLE_MEMTABLE_H_
