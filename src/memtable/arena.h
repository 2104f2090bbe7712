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
// Thread safety: Allocate() and AllocateAligned() need external
// synchronisation (one allocating thread at a time). MemoryUsage() may be
// called from any thread at any time, concurrently with allocation.
#ifndef LSMKV_MEMTABLE_ARENA_H_
#define LSMKV_MEMTABLE_ARENA_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

namespace lsmkv {

class Arena {
 public:
  static constexpr size_t kBlockSize = 4096;
  // Alignment of AllocateAligned() results: a power of two.
  static constexpr size_t kAlignment = sizeof(void*) > 8 ? sizeof(void*) : 8;
  static_assert((kAlignment & (kAlignment - 1)) == 0, "alignment must be a power of two");

  // block_size: the size of an ordinary block; tests use small ones.
  // huge_page_bytes: 0, or the size of the chunks ordinary blocks are carved
  // from (see the file comment).
  // REQUIRES: block_size >= 64; huge_page_bytes is 0 or a power of two that
  // is a multiple of block_size.
  explicit Arena(size_t block_size = kBlockSize, size_t huge_page_bytes = 0);
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() = default;

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
