#include "memtable/memtable.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "util/check.h"
#include "util/coding.h"
#include "util/comparator.h"
#include "util/hash.h"

namespace lsmkv {

namespace {

// Reads a varint32 length and that many bytes starting at p. The bytes come
// from our own arena, so they are trusted: a varint32 never exceeds 5 bytes.
inline std::string_view DecodeLengthPrefixed(const char* p) {
  const uint8_t first = static_cast<uint8_t>(*p);
  if (first < 128) return std::string_view(p + 1, first);  // a one-byte varint
  uint32_t len = 0;
  const char* data = GetVarint32Ptr(p, p + kMaxVarint32Length, &len);
  DCHECK(data != nullptr);
  return std::string_view(data, len);
}

// The value that follows the internal key ikey in its entry.
std::string_view ValueAfter(std::string_view ikey) {
  return DecodeLengthPrefixed(ikey.data() + ikey.size());
}

// Encodes target as a memtable key (varint32 length + bytes) into *scratch.
const char* EncodeSearchKey(std::string* scratch, std::string_view target) {
  scratch->clear();
  PutLengthPrefixed(scratch, target);
  return scratch->data();
}

// A zeroed array of n atomics that every lookup and insert probes at a
// random place (a memtable's key filter and point index), in memory aligned
// to 64 bytes, so that a filter's 64-byte block is one cache line and not two.
// From huge_page_bytes up (when it is > 0) the array takes whole huge pages,
// aligned to them and advised as such (madvise, as the arena's chunks): with
// 4 KiB pages an 8 MiB point index spans 2,048 pages, more than the TLB
// maps, and a probe would miss the TLB as well as the cache. Never resized.
template <typename T>
class ProbedArray {
 public:
  ProbedArray(size_t n, size_t huge_page_bytes) {
    DCHECK(n > 0);
    DCHECK((huge_page_bytes & (huge_page_bytes - 1)) == 0);
    const size_t bytes = n * sizeof(std::atomic<T>);
    const bool huge = huge_page_bytes > 0 && bytes >= huge_page_bytes;
    const size_t align = huge ? huge_page_bytes : kCacheLine;
    const size_t rounded = (bytes + align - 1) & ~(align - 1);  // aligned_alloc's rule
    void* memory =
        huge ? AllocateHugePageMemory(rounded, align) : std::aligned_alloc(align, rounded);
    if (memory == nullptr) throw std::bad_alloc();
    items_ = static_cast<std::atomic<T>*>(memory);
    for (size_t i = 0; i < n; i++) new (&items_[i]) std::atomic<T>(T{});
  }
  ~ProbedArray() { std::free(items_); }  // atomics of these T need no destructor
  ProbedArray(const ProbedArray&) = delete;
  ProbedArray& operator=(const ProbedArray&) = delete;

  std::atomic<T>& operator[](size_t i) const { return items_[i]; }

 private:
  static_assert(std::is_trivially_destructible_v<std::atomic<T>>);
  static constexpr size_t kCacheLine = 64;
  std::atomic<T>* items_;
};

}  // namespace

int MemTable::EntryComparator::operator()(const char* a, const char* b) const {
  const std::string_view ka = DecodeLengthPrefixed(a);
  const std::string_view kb = DecodeLengthPrefixed(b);
  if (!bytewise) return internal->Compare(ka, kb);
  // InternalKeyComparator over BytewiseComparator, inline: user keys by
  // bytes, then the newer tag first.
  DCHECK(ka.size() >= 8 && kb.size() >= 8);
  const size_t ua = ka.size() - 8;
  const size_t ub = kb.size() - 8;
  const int r = CompareBytes(ka.data(), kb.data(), ua < ub ? ua : ub);
  if (r != 0) return r;
  if (ua != ub) return ua < ub ? -1 : +1;
  const uint64_t ta = DecodeFixed64(ka.data() + ua);
  const uint64_t tb = DecodeFixed64(kb.data() + ub);
  return ta > tb ? -1 : (ta < tb ? +1 : 0);
}

// Merges the runs that exist when it is made, presenting entries as internal
// key / value. Internal keys are unique across runs (sequences are), so no
// two children ever stand on equal keys. With one run it is a plain walk of
// that run's skiplist.
class MemTable::IteratorImpl final : public Iterator {
 public:
  explicit IteratorImpl(const MemTable* mem) : mem_(mem) {
    const int n = mem->NumRuns();
    iters_.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; i++) iters_.emplace_back(&mem->runs_[i]->table);
  }

  bool Valid() const override { return current_ != nullptr; }
  void SeekToFirst() override {
    for (Table::Iterator& it : iters_) it.SeekToFirst();
    FindSmallest();
  }
  void SeekToLast() override {
    for (Table::Iterator& it : iters_) it.SeekToLast();
    FindLargest();
  }
  void Seek(std::string_view target) override {
    const char* k = EncodeSearchKey(&scratch_, target);
    for (Table::Iterator& it : iters_) it.Seek(k);
    FindSmallest();
  }
  void SeekForPrev(std::string_view target) override {
    Seek(target);
    if (!Valid()) {
      SeekToLast();  // every entry is < target
    } else if (mem_->comparator_.Compare(key(), target) > 0) {
      Prev();
    }
  }
  void Next() override {
    DCHECK(Valid());
    if (!forward_) {
      // Every other run moves to its first entry after key(): none holds
      // key() itself.
      const char* k = current_->key();
      for (Table::Iterator& it : iters_) {
        if (&it != current_) it.Seek(k);
      }
      forward_ = true;
    }
    current_->Next();
    FindSmallest();
  }
  void Prev() override {
    DCHECK(Valid());
    if (forward_) {
      // Every other run moves to its last entry before key().
      const char* k = current_->key();
      for (Table::Iterator& it : iters_) {
        if (&it == current_) continue;
        it.Seek(k);
        if (it.Valid()) {
          it.Prev();
        } else {
          it.SeekToLast();
        }
      }
      forward_ = false;
    }
    current_->Prev();
    FindLargest();
  }
  std::string_view key() const override {
    DCHECK(Valid());
    return DecodeLengthPrefixed(current_->key());
  }
  std::string_view value() const override { return ValueAfter(key()); }
  Status status() const override { return Status::OK(); }

 private:
  void FindSmallest() {
    current_ = nullptr;
    for (Table::Iterator& it : iters_) {
      if (it.Valid() &&
          (current_ == nullptr || mem_->entry_comparator_(it.key(), current_->key()) < 0)) {
        current_ = &it;
      }
    }
    forward_ = true;
  }
  void FindLargest() {
    current_ = nullptr;
    for (Table::Iterator& it : iters_) {
      if (it.Valid() &&
          (current_ == nullptr || mem_->entry_comparator_(it.key(), current_->key()) > 0)) {
        current_ = &it;
      }
    }
    forward_ = false;
  }

  const MemTable* const mem_;
  std::vector<Table::Iterator> iters_;  // one per run, oldest first; never resized
  Table::Iterator* current_ = nullptr;  // the child at the smallest/largest entry
  bool forward_ = true;                 // positioned by Seek/Next (else by Prev/SeekToLast)
  std::string scratch_;                 // the encoded target of the last Seek
};

// A blocked bloom filter over user keys: each key sets kProbes bits inside
// one 64-byte block (one cache line per Add and per MayContain). One writer
// adds; any number of readers test concurrently. Bits are only ever set. The
// writer locates a key's block and starts loading it before the skiplist
// search (Locate) and sets the bits after the entry is linked (Set), so the
// search hides the filter's cache miss; both happen inside MemTable::Add,
// before the write's sequence number is published. A reader whose read
// sequence covers the entry acquired that publication and sees the bits (no
// false negative); a reader with an older sequence may meet the linked entry
// before its bits, but that entry is not visible to it anyway.
class MemTable::KeyFilter {
 public:
  // huge_page_bytes: ProbedArray's.
  KeyFilter(size_t bytes, size_t huge_page_bytes)
      : blocks_(std::max<size_t>(1, bytes / kBlockBytes)),
        words_(blocks_ * kWordsPerBlock, huge_page_bytes) {}

  // Where a key's bits go; Locate starts loading the block. hash: the
  // key's Hash64 (one hash serves the filter and the point index).
  struct Slot {
    std::atomic<uint64_t>* block;
    uint64_t probes;
  };
  Slot Locate(uint64_t hash) {
    Slot slot;
    slot.block = Block(hash, &slot.probes);
    __builtin_prefetch(slot.block, 1);
    return slot;
  }
  // A plain load and store per bit, not fetch_or: the filter has one writer
  // (atomic words only so that readers may test them meanwhile), and a
  // locked instruction would wait for every store before it — the entry just
  // copied into fresh arena lines — to reach the cache (about 5 % of a
  // sequential fill).
  void Set(const Slot& slot) {
    for (int i = 0; i < kProbes; i++) {
      const uint32_t bit = static_cast<uint32_t>(slot.probes >> (9 * i)) & 511;
      std::atomic<uint64_t>& word = slot.block[bit >> 6];
      word.store(word.load(std::memory_order_relaxed) | (uint64_t{1} << (bit & 63)),
                 std::memory_order_relaxed);
    }
  }

  // hash: the key's Hash64.
  bool MayContain(uint64_t hash) const {
    uint64_t h = 0;
    const std::atomic<uint64_t>* block = Block(hash, &h);
    for (int i = 0; i < kProbes; i++) {
      const uint32_t bit = static_cast<uint32_t>(h >> (9 * i)) & 511;
      if ((block[bit >> 6].load(std::memory_order_relaxed) & (uint64_t{1} << (bit & 63))) == 0) {
        return false;
      }
    }
    return true;
  }

  size_t Bytes() const { return blocks_ * kBlockBytes; }
  uintptr_t TEST_Address() const { return reinterpret_cast<uintptr_t>(&words_[0]); }

 private:
  static constexpr size_t kBlockBytes = 64;
  static constexpr size_t kWordsPerBlock = kBlockBytes / 8;
  static constexpr int kProbes = 6;  // 54 bits of the probe hash, 9 per probe

  // The block of the key of hash h; *probes: the hash its bit positions
  // come from.
  std::atomic<uint64_t>* Block(uint64_t h, uint64_t* probes) const {
    *probes = Mix64(h ^ 0x5bd1e9955bd1e995ull);
    const auto index = static_cast<size_t>((static_cast<unsigned __int128>(h) * blocks_) >> 64);
    return &words_[index * kWordsPerBlock];
  }

  const size_t blocks_;
  const ProbedArray<uint64_t> words_;  // 64-byte aligned: a block is one line
};

// The point index (file comment of memtable.h): a power-of-two array of
// slots, each the node of the last entry added whose user key's hash has the
// slot's low bits. The writer publishes a node (release) after linking it;
// readers load slots with acquire, so a node read through a slot is linked
// and complete. Slots are only ever overwritten, never cleared.
class MemTable::PointIndex {
 public:
  // huge_page_bytes: ProbedArray's.
  PointIndex(size_t bytes, size_t huge_page_bytes)
      : mask_(SlotsFor(bytes) - 1), slots_(mask_ + 1, huge_page_bytes) {}

  // The slot of the key of hash (its Hash64).
  std::atomic<Table::NodeHandle>* Slot(uint64_t hash) const { return &slots_[hash & mask_]; }
  size_t Bytes() const { return (mask_ + 1) * sizeof(Table::NodeHandle); }
  uintptr_t TEST_Address() const { return reinterpret_cast<uintptr_t>(&slots_[0]); }

 private:
  // The largest power of two of slots that fits in bytes (at least 1).
  static size_t SlotsFor(size_t bytes) {
    size_t slots = 1;
    while (slots * 2 * sizeof(Table::NodeHandle) <= bytes) slots *= 2;
    return slots;
  }

  const size_t mask_;
  const ProbedArray<Table::NodeHandle> slots_;
};

MemTable::Run::Run(const EntryComparator& cmp, Arena* arena, uint64_t seed, size_t filter_bytes,
                   size_t index_bytes, size_t huge_page_bytes)
    : table(cmp, arena, seed),
      filter(filter_bytes > 0 ? std::make_unique<KeyFilter>(filter_bytes, huge_page_bytes)
                              : nullptr),
      index(index_bytes > 0 ? std::make_unique<PointIndex>(index_bytes, huge_page_bytes)
                            : nullptr) {}

MemTable::Run::~Run() = default;

MemTable::MemTable(const InternalKeyComparator& cmp, size_t filter_bytes, size_t huge_page_bytes,
                   int max_runs, size_t run_bytes, size_t index_bytes,
                   std::shared_ptr<ArenaChunkPool> chunk_pool)
    : comparator_(cmp.user_comparator()),
      entry_comparator_{&comparator_, cmp.user_comparator() == BytewiseComparator()},
      max_runs_(run_bytes > 0 ? std::clamp(max_runs, 1, kMaxRuns) : 1),
      run_bytes_(run_bytes),
      // Whole-key hashing finds only byte-identical keys: only for the
      // bytewise order, where equal keys are identical bytes.
      run_filter_bytes_(filter_bytes > 0 && cmp.user_comparator() == BytewiseComparator()
                            ? std::max<size_t>(1, filter_bytes / static_cast<size_t>(max_runs_))
                            : 0),
      // The index compares keys by their bytes too.
      run_index_bytes_(index_bytes > 0 && cmp.user_comparator() == BytewiseComparator()
                           ? std::max<size_t>(1, index_bytes / static_cast<size_t>(max_runs_))
                           : 0),
      huge_page_bytes_(huge_page_bytes),
      arena_(Arena::kBlockSize, huge_page_bytes, std::move(chunk_pool)) {
  runs_[0] = std::make_unique<Run>(entry_comparator_, &arena_, Table::kDefaultSeed,
                                   run_filter_bytes_, run_index_bytes_, huge_page_bytes_);
  num_runs_.store(1, std::memory_order_release);
}

MemTable::~MemTable() { DCHECK(refs_ == 0); }

size_t MemTable::FilterBytes() const {
  return SumOverRuns([](const Run& run) { return run.filter ? run.filter->Bytes() : 0; });
}

size_t MemTable::IndexBytes() const {
  return SumOverRuns([](const Run& run) { return run.index ? run.index->Bytes() : 0; });
}

bool MemTable::KeyMayBeHere(std::string_view user_key) const {
  if (run_filter_bytes_ == 0) return true;
  const uint64_t hash = Hash64(user_key);
  const int n = NumRuns();
  for (int i = n - 1; i >= 0; i--) {
    if (runs_[i]->filter->MayContain(hash)) return true;
  }
  return false;
}

void MemTable::Unref() {
  DCHECK(refs_ > 0);
  if (--refs_ == 0) delete this;
}

void MemTable::StartRun(SequenceNumber seq) {
  const int n = num_runs_.load(std::memory_order_relaxed);  // only this thread writes it
  DCHECK(n < max_runs_);
  runs_[n] = std::make_unique<Run>(entry_comparator_, &arena_,
                                   Table::kDefaultSeed + static_cast<uint64_t>(n),
                                   run_filter_bytes_, run_index_bytes_, huge_page_bytes_);
  runs_[n]->first_sequence = seq;
  run_start_usage_ = arena_.MemoryUsage();
  num_runs_.store(n + 1, std::memory_order_release);
}

void MemTable::Add(SequenceNumber seq, ValueType type, std::string_view user_key,
                   std::string_view value) {
  // CHECK: a larger sequence would spill into the type byte of the tag.
  CHECK_LE(seq, kMaxSequenceNumber);
  DCHECK(user_key.size() + 8 <= UINT32_MAX && value.size() <= UINT32_MAX);
  const auto ikey_size = static_cast<uint32_t>(user_key.size() + 8);
  const auto value_size = static_cast<uint32_t>(value.size());
  const size_t entry_size = static_cast<size_t>(VarintLength(ikey_size)) + ikey_size +
                            static_cast<size_t>(VarintLength(value_size)) + value_size;

  // Reads stop at the newest run holding a visible entry, which is the
  // newest entry only while runs follow the sequence order, and a point
  // index slot holds its key's newest entry only while each Add's sequence
  // is the largest yet. The DB adds sequences in order; should anything else
  // not, reads from then on search every run without the indexes (set before
  // the entry is linked and published, so a reader that can see the entry
  // sees the flag).
  if ((max_runs_ > 1 || run_index_bytes_ > 0) && !Empty() && seq <= LargestSequence() &&
      !unordered_.load(std::memory_order_relaxed)) {
    unordered_.store(true, std::memory_order_release);
  }
  if (max_runs_ > 1) {
    const int n = num_runs_.load(std::memory_order_relaxed);
    if (n < max_runs_ && arena_.MemoryUsage() - run_start_usage_ >= run_bytes_) StartRun(seq);
  }
  Run& run = *runs_[num_runs_.load(std::memory_order_relaxed) - 1];

  // The key's filter block and index slot start loading now; the filter's
  // bits are set and the slot written once the entry is linked (see
  // KeyFilter, PointIndex).
  const uint64_t hash = run.filter != nullptr || run.index != nullptr ? Hash64(user_key) : 0;
  KeyFilter::Slot filter_slot{};
  if (run.filter != nullptr) filter_slot = run.filter->Locate(hash);
  std::atomic<Table::NodeHandle>* index_slot = nullptr;
  if (run.index != nullptr) {
    index_slot = run.index->Slot(hash);
    __builtin_prefetch(index_slot, 1);
  }

  // The entry lives right after its skip-list node (one cache line per
  // comparison during searches).
  const Table::Reservation reservation = run.table.Reserve(entry_size);
  char* const entry = reservation.payload;
  char* p = EncodeVarint32(entry, ikey_size);
  std::memcpy(p, user_key.data(), user_key.size());
  p += user_key.size();
  EncodeFixed64(p, PackSequenceAndType(seq, type));
  p += 8;
  p = EncodeVarint32(p, value_size);
  if (value_size > 0) std::memcpy(p, value.data(), value_size);
  DCHECK(p + value_size == entry + entry_size);

  // Statistics first: a reader that finds the entry also sees them updated.
  if (!has_entries_.load(std::memory_order_relaxed)) {
    has_entries_.store(true, std::memory_order_release);
  }
  NoteSequence(seq);
  if (type == kTypeDeletion) {
    num_deletes_.store(NumDeletes() + 1, std::memory_order_release);
  }
  num_entries_.store(NumEntries() + 1, std::memory_order_release);

  run.table.Insert(reservation, entry);
  if (run.filter != nullptr) run.filter->Set(filter_slot);
  if (index_slot != nullptr) index_slot->store(reservation.node_memory, std::memory_order_release);
}

void MemTable::PrefetchForAdd(std::string_view user_key) const {
  const Run& run = *runs_[num_runs_.load(std::memory_order_relaxed) - 1];
  if (run.filter == nullptr && run.index == nullptr) return;
  const uint64_t hash = Hash64(user_key);
  if (run.filter != nullptr) (void)run.filter->Locate(hash);  // Locate prefetches the block
  if (run.index != nullptr) __builtin_prefetch(run.index->Slot(hash), 1);
}

void MemTable::NoteSequence(SequenceNumber seq) {
  const bool first = Empty();
  if (first || seq < FirstSequence()) first_sequence_.store(seq, std::memory_order_release);
  if (first || seq > LargestSequence()) largest_sequence_.store(seq, std::memory_order_release);
}

void MemTable::AddRangeTombstone(SequenceNumber seq, std::string_view begin, std::string_view end) {
  CHECK_LE(seq, kMaxSequenceNumber);
  char* mem = arena_.AllocateAligned(sizeof(RangeTombstoneNode) + begin.size() + end.size());
  char* keys = mem + sizeof(RangeTombstoneNode);
  if (!begin.empty()) std::memcpy(keys, begin.data(), begin.size());
  if (!end.empty()) std::memcpy(keys + begin.size(), end.data(), end.size());
  auto* node =
      new (mem) RangeTombstoneNode{seq,          keys,
                                   begin.size(), keys + begin.size(),
                                   end.size(),   range_tombstones_.load(std::memory_order_relaxed)};
  NoteSequence(seq);
  num_range_tombstones_.store(NumRangeTombstones() + 1, std::memory_order_release);
  range_tombstones_.store(node, std::memory_order_release);
}

MemTable::Probe MemTable::MakeProbe(const LookupKey& key) const {
  const bool hashed = run_filter_bytes_ > 0 || run_index_bytes_ > 0;
  return Probe{key.memtable_key().data(), key.user_key(), hashed ? Hash64(key.user_key()) : 0};
}

bool MemTable::FindInIndex(const Run& run, const Probe& probe, const char** entry) const {
  const std::string_view user_key = probe.user_key;
  const Table::NodeHandle node = run.index->Slot(probe.hash)->load(std::memory_order_acquire);
  if (node == nullptr) return false;
  // Loaded after the slot: an Add out of sequence order sets the flag before
  // it publishes its node, so a reader that loaded that node sees the flag.
  if (unordered_.load(std::memory_order_acquire)) return false;
  Table::Iterator iter(&run.table);
  iter.JumpTo(node);
  std::string_view ikey = DecodeLengthPrefixed(iter.key());
  if (ExtractUserKey(ikey) != user_key) return false;  // the slot went to another key
  // The node holds user_key's newest entry; its entries follow it newest
  // first. The answer is the first whose tag is at or below the lookup's (as
  // the search would land on it).
  const uint64_t lookup_tag = ExtractTag(DecodeLengthPrefixed(probe.memtable_key));
  constexpr int kMaxSteps = 4;
  for (int step = 0; step < kMaxSteps; step++) {
    if (ExtractTag(ikey) <= lookup_tag) {
      *entry = iter.key();
      return true;
    }
    iter.Next();
    if (!iter.Valid()) {
      *entry = nullptr;
      return true;
    }
    ikey = DecodeLengthPrefixed(iter.key());
    if (ExtractUserKey(ikey) != user_key) {
      *entry = nullptr;  // every entry of user_key is newer than the lookup
      return true;
    }
  }
  return false;  // many newer entries: the search is cheaper than the walk
}

const char* MemTable::FindInRun(const Run& run, const Probe& probe) const {
  // The filter first: most keys a lookup meets in a memtable's filter are
  // not there, and those then cost one cache line, not two.
  if (run.filter != nullptr && !run.filter->MayContain(probe.hash)) return nullptr;
  const char* entry = nullptr;
  if (run.index != nullptr && FindInIndex(run, probe, &entry)) return entry;
  Table::Iterator iter(&run.table);
  iter.Seek(probe.memtable_key);
  if (!iter.Valid()) return nullptr;
  const std::string_view ikey = DecodeLengthPrefixed(iter.key());
  if (comparator_.user_comparator()->Compare(ExtractUserKey(ikey), probe.user_key) != 0) {
    return nullptr;
  }
  return iter.key();
}

const char* MemTable::FindNewestInRuns(const Probe& probe) const {
  const char* best = nullptr;
  SequenceNumber best_seq = 0;
  for (int i = NumRuns() - 1; i >= 0; i--) {
    const char* entry = FindInRun(*runs_[i], probe);
    if (entry == nullptr) continue;
    const SequenceNumber seq = ExtractTag(DecodeLengthPrefixed(entry)) >> 8;
    if (best == nullptr || seq > best_seq) {
      best = entry;
      best_seq = seq;
    }
  }
  return best;
}

bool MemTable::Get(const LookupKey& key, std::string* value, Status* s,
                   SequenceNumber* found_seq) const {
  // The newest run with an entry of the user key at or below the lookup
  // sequence holds the newest such entry (runs follow the sequence order);
  // a seek lands on it.
  if (!has_entries_.load(std::memory_order_acquire)) return false;
  const Probe probe = MakeProbe(key);
  const char* entry = nullptr;
  if (unordered_.load(std::memory_order_acquire)) {
    entry = FindNewestInRuns(probe);
  } else {
    for (int i = NumRuns() - 1; i >= 0 && entry == nullptr; i--) {
      entry = FindInRun(*runs_[i], probe);
    }
  }
  if (entry == nullptr) return false;

  const std::string_view ikey = DecodeLengthPrefixed(entry);
  if (found_seq != nullptr) *found_seq = ExtractTag(ikey) >> 8;
  switch (static_cast<ValueType>(ExtractTag(ikey) & 0xff)) {
    case kTypeValue: {
      const std::string_view v = ValueAfter(ikey);
      value->assign(v.data(), v.size());
      *s = Status::OK();
      return true;
    }
    case kTypeDeletion:
      *s = Status::NotFound("");
      return true;
    case kTypeRangeDeletion:
      break;  // never an entry's type
  }
  DCHECK(false && "memtable holds an entry of unknown type");
  return false;
}

bool MemTable::KeyWrittenAfter(std::string_view user_key, SequenceNumber seq) const {
  if (LargestSequence() <= seq) return false;  // no entry at all is that new
  // The newest entry of user_key sorts first among its entries, and the
  // newest run holding the key holds its newest entry.
  const LookupKey newest(user_key, kMaxSequenceNumber);
  const Probe probe = MakeProbe(newest);
  if (unordered_.load(std::memory_order_acquire)) {
    const char* entry = FindNewestInRuns(probe);
    return entry != nullptr && (ExtractTag(DecodeLengthPrefixed(entry)) >> 8) > seq;
  }
  for (int i = NumRuns() - 1; i >= 0; i--) {
    const Run& run = *runs_[i];
    const char* entry = FindInRun(run, probe);
    if (entry != nullptr) return (ExtractTag(DecodeLengthPrefixed(entry)) >> 8) > seq;
    // Older runs hold only sequences below this run's first.
    if (run.first_sequence <= seq) return false;
  }
  return false;
}

bool MemTable::IndexAnswers(const LookupKey& key) const {
  const Probe probe = MakeProbe(key);
  for (int i = NumRuns() - 1; i >= 0; i--) {
    const Run& run = *runs_[i];
    const char* entry = nullptr;
    if (run.index == nullptr || !FindInIndex(run, probe, &entry)) return false;
    if (entry != nullptr) return true;
  }
  return false;
}

std::pair<uintptr_t, uintptr_t> MemTable::TEST_FilterAndIndexAddresses() const {
  const Run& run = *runs_[NumRuns() - 1];
  return {run.filter ? run.filter->TEST_Address() : 0, run.index ? run.index->TEST_Address() : 0};
}

Iterator* MemTable::NewIterator() const { return new IteratorImpl(this); }

}  // namespace lsmkv
