#include "memtable/arena.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <new>

#include "util/check.h"

namespace lsmkv {

static_assert(Arena::kAlignment <= alignof(std::max_align_t),
              "blocks from operator new[] must already be aligned");

Arena::Arena(size_t block_size, size_t huge_page_bytes)
    : block_size_(block_size), huge_page_bytes_(huge_page_bytes) {
  DCHECK(block_size >= 64);
  DCHECK(huge_page_bytes == 0 ||
         ((huge_page_bytes & (huge_page_bytes - 1)) == 0 && huge_page_bytes % block_size == 0));
}

void Arena::FreeDeleter::operator()(char* p) const { std::free(p); }

char* Arena::Allocate(size_t bytes) {
  DCHECK(bytes > 0);
  if (bytes <= remaining_ && bytes <= block_size_ / 4) {
    char* result = cursor_;
    cursor_ += bytes;
    remaining_ -= bytes;
    return result;
  }
  return AllocateSlow(bytes);
}

char* Arena::AllocateAligned(size_t bytes) {
  DCHECK(bytes > 0);
  const size_t misalignment = reinterpret_cast<uintptr_t>(cursor_) & (kAlignment - 1);
  const size_t padding = misalignment == 0 ? 0 : kAlignment - misalignment;
  if (padding + bytes <= remaining_ && bytes <= block_size_ / 4) {
    char* result = cursor_ + padding;
    cursor_ += padding + bytes;
    remaining_ -= padding + bytes;
    DCHECK((reinterpret_cast<uintptr_t>(result) & (kAlignment - 1)) == 0);
    return result;
  }
  // Every block starts aligned, so the slow path needs no padding.
  char* result = AllocateSlow(bytes);
  DCHECK((reinterpret_cast<uintptr_t>(result) & (kAlignment - 1)) == 0);
  return result;
}

char* Arena::AllocateSlow(size_t bytes) {
  if (bytes > block_size_ / 4) {
    // A block of its own; the current block keeps serving small requests.
    return NewBlock(bytes);
  }
  // Abandon the (small) tail of the current block and start a fresh one.
  char* block = NewOrdinaryBlock();
  cursor_ = block + bytes;
  remaining_ = block_size_ - bytes;
  return block;
}

char* Arena::NewOrdinaryBlock() {
  if (huge_page_bytes_ == 0) return NewBlock(block_size_);
  if (chunk_remaining_ < block_size_) {
    char* chunk = static_cast<char*>(std::aligned_alloc(huge_page_bytes_, huge_page_bytes_));
    if (chunk == nullptr) throw std::bad_alloc();  // as new[] does
    chunks_.emplace_back(chunk);
    // Advice only: without transparent huge pages (or with them off) the
    // chunk is ordinary memory.
    (void)madvise(chunk, huge_page_bytes_, MADV_HUGEPAGE);
    chunk_cursor_ = chunk;
    chunk_remaining_ = huge_page_bytes_;
    memory_usage_.store(MemoryUsage() + sizeof(chunks_[0]), std::memory_order_relaxed);
  }
  char* block = chunk_cursor_;
  chunk_cursor_ += block_size_;
  chunk_remaining_ -= block_size_;
  memory_usage_.store(MemoryUsage() + block_size_, std::memory_order_relaxed);
  return block;
}

char* Arena::NewBlock(size_t block_bytes) {
  blocks_.push_back(std::make_unique_for_overwrite<char[]>(block_bytes));
  char* block = blocks_.back().get();
  DCHECK((reinterpret_cast<uintptr_t>(block) & (kAlignment - 1)) == 0);
  // Single writer: a relaxed read-modify-write pair is enough; readers only
  // need an untorn value.
  memory_usage_.store(MemoryUsage() + block_bytes + sizeof(std::unique_ptr<char[]>),
                      std::memory_order_relaxed);
  return block;
}

}  // namespace lsmkv
