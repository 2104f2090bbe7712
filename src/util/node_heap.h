// NodeHeap: memory for the in-memory index nodes of the B+tree engine (each
// node's header, slot array, key and value bytes, child and overflow
// arrays) and of the Bitcask engine's keydir (its ordered map's nodes), in
// 2 MiB chunks advised as transparent huge pages (madvise MADV_HUGEPAGE,
// best effort: without THP the chunks are ordinary memory).
//
// Why: a point read or an insert descends a tree of nodes scattered over
// hundreds of megabytes; from the ordinary heap, in 4 KiB pages, each node
// it touches is likely a TLB miss of its own, a page walk that itself
// misses the cache (docs/BENCHMARKS-engines.md has the measurements: B+tree
// reads 1.3x, Bitcask inserts 1.1x).
//
// Blocks come in 40 size classes from 16 bytes to 32 KiB (every 16 bytes
// up to 128, then four per doubling, so a block above 128 bytes wastes
// less than a fifth of itself), carved from the current chunk; a freed block goes on its class's
// free list and is reused by the next allocation of that class. Larger
// requests go to operator new. The heap is shared by every B+tree and keydir in
// the process (NodeHeap::Default(), never destroyed); when its last block is
// freed (every tree closed, no snapshot or iterator left) it gives every
// chunk but one back to the OS and starts carving afresh, so a tree loaded
// after others were closed lies in consecutive memory again.
//
// Thread safety: Allocate and Free may be called from any thread (nodes are
// freed by whichever thread drops the last reference to them); a spin lock
// guards the free lists and the chunk cursor.
#ifndef LSMKV_UTIL_NODE_HEAP_H_
#define LSMKV_UTIL_NODE_HEAP_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv {

class NodeHeap {
 public:
  static constexpr size_t kChunkBytes = size_t{2} << 20;
  static constexpr size_t kMaxBlock = 32 << 10;
  static constexpr size_t kClasses = 40;

  // pass_through: every request goes to operator new (for sanitizers).
  explicit NodeHeap(bool pass_through = false) : pass_through_(pass_through) {}
  NodeHeap(const NodeHeap&) = delete;
  NodeHeap& operator=(const NodeHeap&) = delete;
  ~NodeHeap();

  // The process-wide heap the engines' nodes use. Never destroyed.
  static NodeHeap* Default();

  // The size of the blocks of class c (< kClasses), and the class serving
  // requests of bytes (<= kMaxBlock): the smallest at least that large.
  static size_t ClassSize(size_t c);
  static size_t ClassOf(size_t bytes);

  // A block of at least bytes, aligned to 16 (alignof(std::max_align_t)).
  // Throws std::bad_alloc when memory is exhausted, as operator new does.
  void* Allocate(size_t bytes) EXCLUDES(mu_);
  // Returns a block Allocate(bytes) gave (the same bytes).
  void Free(void* p, size_t bytes) EXCLUDES(mu_);

  struct Stats {
    size_t chunks = 0;       // 2 MiB chunks held
    size_t live_blocks = 0;  // blocks of the size classes allocated and not freed
    size_t large = 0;        // live requests given to operator new (above kMaxBlock,
                             // or every request when passing through)
  };
  Stats GetStats() const EXCLUDES(mu_);

 private:
  // With mu_ held and no block live: every chunk but the first back to
  // the OS, the free lists emptied, carving restarts at the first chunk.
  void ResetLocked() REQUIRES(mu_);

  struct FreeBlock {
    FreeBlock* next;
  };

  const bool pass_through_;
  mutable SpinMutex mu_;
  std::array<FreeBlock*, kClasses> free_ GUARDED_BY(mu_) = {};
  char* cursor_ GUARDED_BY(mu_) = nullptr;  // unused bytes of the newest chunk
  size_t remaining_ GUARDED_BY(mu_) = 0;
  std::vector<char*> chunks_ GUARDED_BY(mu_);
  size_t live_blocks_ GUARDED_BY(mu_) = 0;
  size_t large_ GUARDED_BY(mu_) = 0;
};

// A standard allocator over NodeHeap::Default(), for node containers, for
// std::allocate_shared of a node and for std::map's nodes.
template <typename T>
struct NodeAllocator {
  using value_type = T;
  NodeAllocator() = default;
  template <typename U>
  NodeAllocator(const NodeAllocator<U>&) {}  // NOLINT: rebinding converts implicitly
  T* allocate(size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(NodeHeap::Default()->Allocate(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) { NodeHeap::Default()->Free(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const NodeAllocator<U>&) const {
    return true;
  }
};

}  // namespace lsmkv

#endif  // LSMKV_UTIL_NODE_HEAP_H_
