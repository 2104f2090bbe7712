// Arena: a bump allocator for many small, same-lifetime objects (memtable
// entries and skiplist nodes). Memory is carved out of blocks and is released
// all at once when the Arena is destroyed; there is no per-object free.
//
// Blocks are kBlockSize bytes by default. A request larger than a quarter of
// a block always gets a block of its own, so that it neither wastes the tail
// of the current block nor evicts it; smaller requests waste at most a
// quarter of each block.
//
// With huge_page_bytes set, ordinary blocks are carved out of chunks of that
// size, each aligned to its size and advised as transparent huge pages
// (madvise MADV_HUGEPAGE, best effort): the nodes of a large memtable lie
// all over its memory, and a search that touches a node per level misses the
// TLB at nearly every node when the memory is in 4 KiB pages.
//
// Such chunks may come from, and go back to, an ArenaChunkPool shared by
// the arenas of one DB's memtables: a chunk a flushed memtable gave back is
// already backed by memory, so the next memtable's first store into it
// takes no page fault (zeroing a fresh 2 MiB page was about 6 % of a
// random-order load into a 64 MiB memtable: docs/BENCHMARKS.md).
//
// Thread safety: Allocate() and AllocateAligned() need external
// synchronisation (one allocating thread at a time). MemoryUsage() may be
// called from any thread at any time, concurrently with allocation. An
// ArenaChunkPool is thread-safe.
#ifndef LSMKV_MEMTABLE_ARENA_H_
#define LSMKV_MEMTABLE_ARENA_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv {

// bytes of memory aligned to alignment (a power of two dividing bytes) and
// advised as transparent huge pages (madvise MADV_HUGEPAGE, best effort).
// Release with std::free. Throws std::bad_alloc if there is no memory, as
// new[] does. The arena's chunks, and a memtable's large filter and index.
char* AllocateHugePageMemory(size_t bytes, size_t alignment);

// Keeps up to max_chunks chunks of chunk_bytes (each aligned to its size
// and advised as huge pages) that arenas gave back, for arenas to take
// again. Owned jointly by its arenas (shared_ptr): the last one frees it.
//
// With a reserve, the pool also keeps chunks ready ahead of need: whenever
// Take leaves fewer than `reserve` kept, it has start_thread run Refill,
// which makes chunks and faults their memory in until `reserve` are kept,
// at idle priority (SCHED_IDLE: it never preempts other work).
// A writer that outgrows its chunk then takes memory the system backs
// already instead of stopping for the fault: the first store into a fresh
// 2 MiB huge page had the kernel zero it (and, in a virtual machine, the
// host back it) for about 6 ms on this project's reference machine, a
// stall every few tens of milliseconds of a fast write load until the
// first memtables are flushed and their chunks come back
// (docs/BENCHMARKS.md). The cost: up to `reserve` chunks of memory more.
class ArenaChunkPool : public std::enable_shared_from_this<ArenaChunkPool> {
 public:
  // Runs a function on a new thread (Env::StartThread).
  using ThreadStarter = std::function<void(std::function<void()>)>;

  // REQUIRES: chunk_bytes is a power of two; reserve <= max_chunks; with a
  // reserve, start_thread is set and the pool is owned by a shared_ptr (the
  // refilling thread holds one until it is done).
  ArenaChunkPool(size_t chunk_bytes, size_t max_chunks, size_t reserve = 0,
                 ThreadStarter start_thread = nullptr);
  ArenaChunkPool(const ArenaChunkPool&) = delete;
  ArenaChunkPool& operator=(const ArenaChunkPool&) = delete;
  ~ArenaChunkPool();  // frees the chunks kept

  size_t chunk_bytes() const { return chunk_bytes_; }
  // A kept chunk (its contents are whatever its last arena left), else a
  // new one (std::bad_alloc if there is no memory). The caller owns it:
  // it goes back with Give, or to std::free.
  char* Take() EXCLUDES(mu_);
  // Keeps chunk (from Take) for a later Take, or frees it if max_chunks
  // are kept already.
  void Give(char* chunk) EXCLUDES(mu_);
  // Makes chunks, writes a byte into each 4 KiB page of them (so the system
  // backs all of their memory), and keeps them until `reserve` are kept.
  // Take runs it on a thread of its own; tests call it directly. Running it
  // twice at once is harmless (the second stops at the reserve too).
  void Refill() EXCLUDES(mu_);
  // Chunks kept now, chunks Take made new, chunks Take reused (for tests
  // and statistics).
  size_t Kept() const EXCLUDES(mu_);
  size_t Made() const EXCLUDES(mu_);
  size_t Reused() const EXCLUDES(mu_);
  // Chunks Refill made and faulted in (counted in Made too).
  size_t Prefaulted() const EXCLUDES(mu_);

 private:
  const size_t chunk_bytes_;
  const size_t max_chunks_;
  const size_t reserve_;
  const ThreadStarter start_thread_;
  mutable Mutex mu_;
  std::vector<char*> kept_ GUARDED_BY(mu_);
  size_t made_ GUARDED_BY(mu_) = 0;
  size_t reused_ GUARDED_BY(mu_) = 0;
  size_t prefaulted_ GUARDED_BY(mu_) = 0;
  bool refilling_ GUARDED_BY(mu_) = false;  // a thread Take started runs Refill
};

class Arena {
 public:
  static constexpr size_t kBlockSize = 4096;
  // Alignment of AllocateAligned() results: a power of two.
  static constexpr size_t kAlignment = sizeof(void*) > 8 ? sizeof(void*) : 8;
  static_assert((kAlignment & (kAlignment - 1)) == 0, "alignment must be a power of two");

  // block_size: the size of an ordinary block; tests use small ones.
  // huge_page_bytes: 0, or the size of the chunks ordinary blocks are carved
  // from (see the file comment). chunk_pool: where those chunks come from
  // and go back to when the arena is destroyed; null: they are allocated
  // and freed.
  // REQUIRES: block_size >= 64; huge_page_bytes is 0 or a power of two that
  // is a multiple of block_size; chunk_pool is null or huge_page_bytes > 0
  // and chunk_pool->chunk_bytes() == huge_page_bytes.
  explicit Arena(size_t block_size = kBlockSize, size_t huge_page_bytes = 0,
                 std::shared_ptr<ArenaChunkPool> chunk_pool = nullptr);
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena();

  // Returns bytes of uninitialised memory, valid until the Arena is destroyed.
  // No alignment is promised.
  // REQUIRES: bytes > 0.
  char* Allocate(size_t bytes);

  // Like Allocate(), but the result is a multiple of kAlignment.
  // REQUIRES: bytes > 0.
  char* AllocateAligned(size_t bytes);

  // Bytes handed out as blocks so far, plus the bookkeeping that tracks them.
  // Never decreases. With huge pages, the uncarved rest of the current chunk
  // is not counted (the system may back it already: less than one chunk).
  size_t MemoryUsage() const { return memory_usage_.load(std::memory_order_relaxed); }

  // Chunks obtained for huge pages so far (for tests).
  size_t HugeChunks() const { return chunks_.size(); }

 private:
  // Serves a request the current block cannot hold.
  char* AllocateSlow(size_t bytes);
  // Obtains a block of block_bytes and accounts for it.
  char* NewBlock(size_t block_bytes);

  // An ordinary block: from the current chunk with huge pages, else new.
  char* NewOrdinaryBlock();

  struct FreeDeleter {
    void operator()(char* p) const;
  };

  const size_t block_size_;
  const size_t huge_page_bytes_;
  const std::shared_ptr<ArenaChunkPool> chunk_pool_;
  // The unused tail of the current block: [cursor_, cursor_ + remaining_).
  char* cursor_ = nullptr;
  size_t remaining_ = 0;
  std::vector<std::unique_ptr<char[]>> blocks_;
  // Huge-page chunks, and the uncarved tail of the newest one.
  std::vector<std::unique_ptr<char, FreeDeleter>> chunks_;
  char* chunk_cursor_ = nullptr;
  size_t chunk_remaining_ = 0;
  // Written only by the allocating thread; read from anywhere.
  std::atomic<size_t> memory_usage_{0};
};

}  // namespace lsmkv

#endif  // LSMKV_MEMTABLE_ARENA_H_
