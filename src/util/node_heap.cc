#include "util/node_heap.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <new>

#include "util/check.h"

namespace lsmkv {

// Classes 0..7: 16, 32, ..., 128 bytes. Then four per doubling: above
// 2^e up to 2^(e+1) in steps of 2^(e-2), for e = 7 .. 14 (up to 32 KiB).
size_t NodeHeap::ClassSize(size_t c) {
  DCHECK(c < kClasses);
  if (c < 8) return 16 * (c + 1);
  const size_t e = 7 + (c - 8) / 4;
  const size_t step = size_t{1} << (e - 2);
  return (size_t{1} << e) + step * ((c - 8) % 4 + 1);
}

size_t NodeHeap::ClassOf(size_t bytes) {
  DCHECK(bytes <= kMaxBlock);
  if (bytes <= 128) return bytes == 0 ? 0 : (bytes - 1) / 16;
  const size_t e = static_cast<size_t>(std::bit_width(bytes - 1)) - 1;  // 2^e < bytes <= 2^(e+1)
  const size_t step = size_t{1} << (e - 2);
  const size_t quarters = (bytes - (size_t{1} << e) + step - 1) / step;  // 1..4
  return 8 + (e - 7) * 4 + quarters - 1;
}

static_assert(NodeHeap::kMaxBlock == 32 << 10 && NodeHeap::kClasses == 8 + 8 * 4,
              "eight classes up to 128 bytes, four per doubling up to 32 KiB");

NodeHeap::~NodeHeap() {
  SpinMutexLock lock(&mu_);
  for (char* c : chunks_) std::free(c);
}

NodeHeap* NodeHeap::Default() {
  // Never destroyed: nodes may outlive the destructors run at exit. Under
  // ASan and TSan it hands every request to operator new, so that the
  // sanitizers see each node's blocks (node_heap_test checks the carving
  // on heaps of its own).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  static NodeHeap* heap = new NodeHeap(/*pass_through=*/true);
#else
  static NodeHeap* heap = new NodeHeap(/*pass_through=*/false);
#endif
  return heap;
}

void* NodeHeap::Allocate(size_t bytes) {
  if (bytes > kMaxBlock || pass_through_) {
    void* p = ::operator new(bytes);
    SpinMutexLock lock(&mu_);
    large_++;
    return p;
  }
  const size_t c = ClassOf(bytes);
  const size_t size = ClassSize(c);
  DCHECK(size >= bytes && (c == 0 || ClassSize(c - 1) < bytes));
  SpinMutexLock lock(&mu_);
  live_blocks_++;
  if (FreeBlock* b = free_[c]; b != nullptr) {
    free_[c] = b->next;
    return b;
  }
  if (remaining_ < size) {
    // The rest of the chunk (less than size bytes) goes to the free lists
    // of the largest classes it holds.
    for (size_t k = c; remaining_ >= ClassSize(0);) {
      while (ClassSize(k) > remaining_) k--;
      auto* f = reinterpret_cast<FreeBlock*>(cursor_);
      f->next = free_[k];
      free_[k] = f;
      cursor_ += ClassSize(k);
      remaining_ -= ClassSize(k);
    }
    char* chunk = static_cast<char*>(std::aligned_alloc(kChunkBytes, kChunkBytes));
    if (chunk == nullptr) {
      live_blocks_--;
      throw std::bad_alloc();
    }
    (void)madvise(chunk, kChunkBytes, MADV_HUGEPAGE);  // advice only
    chunks_.push_back(chunk);
    cursor_ = chunk;
    remaining_ = kChunkBytes;
  }
  void* p = cursor_;
  cursor_ += size;
  remaining_ -= size;
  return p;
}

void NodeHeap::Free(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes > kMaxBlock || pass_through_) {
    ::operator delete(p);
    SpinMutexLock lock(&mu_);
    DCHECK(large_ > 0);
    large_--;
    return;
  }
  const size_t c = ClassOf(bytes);
  auto* f = static_cast<FreeBlock*>(p);
  SpinMutexLock lock(&mu_);
  DCHECK(live_blocks_ > 0);
  live_blocks_--;
  f->next = free_[c];
  free_[c] = f;
  if (live_blocks_ == 0) ResetLocked();
}

void NodeHeap::ResetLocked() {
  DCHECK(live_blocks_ == 0);
  for (size_t i = 1; i < chunks_.size(); i++) std::free(chunks_[i]);
  chunks_.resize(std::min<size_t>(chunks_.size(), 1));
  free_.fill(nullptr);
  cursor_ = chunks_.empty() ? nullptr : chunks_[0];
  remaining_ = chunks_.empty() ? 0 : kChunkBytes;
}

NodeHeap::Stats NodeHeap::GetStats() const {
  SpinMutexLock lock(&mu_);
  Stats s;
  s.chunks = chunks_.size();
  s.live_blocks = live_blocks_;
  s.large = large_;
  return s;
}

}  // namespace lsmkv
