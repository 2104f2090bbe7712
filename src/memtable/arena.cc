#include "memtable/arena.h"

#include <sched.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define LSMKV_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define LSMKV_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define LSMKV_POISON(p, n) ((void)(p), (void)(n))
#define LSMKV_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#include "util/check.h"
#include "util/prefetch.h"

namespace lsmkv {

namespace {
// How far ahead of its cursor an arena asks for the lines it will hand out
// (PrefetchAheadOfWrites): a few memtable entries, so that the lines are
// owned by the time an entry is copied in. Chunk memory is prefaulted but
// not in the cache.
constexpr size_t kPrefetchDistance = 512;
}  // namespace

static_assert(Arena::kAlignment <= alignof(std::max_align_t),
              "blocks from operator new[] must already be aligned");

char* AllocateHugePageMemory(size_t bytes, size_t alignment) {
  DCHECK(alignment > 0 && (alignment & (alignment - 1)) == 0 && bytes % alignment == 0);
  char* memory = static_cast<char*>(std::aligned_alloc(alignment, bytes));
  if (memory == nullptr) throw std::bad_alloc();
  // Advice only: without transparent huge pages (or with them off) the
  // memory is ordinary.
  (void)madvise(memory, bytes, MADV_HUGEPAGE);
  return memory;
}

namespace {

// A new chunk of bytes (a power of two), aligned to its size and advised as
// huge pages.
char* NewChunk(size_t bytes) { return AllocateHugePageMemory(bytes, bytes); }

}  // namespace

ArenaChunkPool::ArenaChunkPool(size_t chunk_bytes, size_t max_chunks, size_t reserve,
                               ThreadStarter start_thread)
    : chunk_bytes_(chunk_bytes),
      max_chunks_(max_chunks),
      reserve_(reserve),
      start_thread_(std::move(start_thread)) {
  CHECK(chunk_bytes > 0 && (chunk_bytes & (chunk_bytes - 1)) == 0);
  CHECK(reserve <= max_chunks && (reserve == 0 || start_thread_ != nullptr));
  MutexLock lock(&mu_);
  kept_.reserve(max_chunks);  // so that Give (run by destructors) never allocates
}

ArenaChunkPool::~ArenaChunkPool() {
  MutexLock lock(&mu_);
  for (char* chunk : kept_) {
    LSMKV_UNPOISON(chunk, chunk_bytes_);
    std::free(chunk);
  }
}

char* ArenaChunkPool::Take() {
  char* chunk = nullptr;
  bool refill = false;
  {
    MutexLock lock(&mu_);
    if (!kept_.empty()) {
      chunk = kept_.back();
      kept_.pop_back();
      reused_++;
      LSMKV_UNPOISON(chunk, chunk_bytes_);
    } else {
      made_++;
    }
    if (kept_.size() < reserve_ && !refilling_) refilling_ = refill = true;
  }
  if (refill) {
    // The thread's reference keeps the pool alive until Refill returns.
    start_thread_([self = shared_from_this()] { self->Refill(); });
  }
  if (chunk == nullptr) chunk = NewChunk(chunk_bytes_);  // outside the lock: it may fault and wait
  return chunk;
}

void ArenaChunkPool::Refill() {
  // The refill is work ahead of need: it runs only on a CPU nothing else
  // wants (SCHED_IDLE, Linux; best effort), so that its milliseconds of
  // page faults never preempt the writer it prepares for. Should it not get
  // to run, a Take makes its chunk itself, as without a reserve.
  sched_param param{};
  (void)sched_setscheduler(0, SCHED_IDLE, &param);  // 0: the calling thread
  while (true) {
    {
      MutexLock lock(&mu_);
      if (kept_.size() >= reserve_) {
        refilling_ = false;
        return;
      }
    }
    char* chunk = NewChunk(chunk_bytes_);  // outside the lock: faulting in takes milliseconds
    volatile char* bytes = chunk;
    for (size_t offset = 0; offset < chunk_bytes_; offset += 4096) bytes[offset] = 0;
    MutexLock lock(&mu_);
    made_++;
    prefaulted_++;
    if (kept_.size() >= max_chunks_) {
      // Arenas gave back enough meanwhile: the reserve is there.
      std::free(chunk);
      refilling_ = false;
      return;
    }
    kept_.push_back(chunk);
    LSMKV_POISON(chunk, chunk_bytes_);
  }
}

void ArenaChunkPool::Give(char* chunk) {
  DCHECK(chunk != nullptr);
  {
    MutexLock lock(&mu_);
    if (kept_.size() < max_chunks_) {
      kept_.push_back(chunk);
      // Under ASan a read through a stale pointer into a kept chunk (a
      // memtable entry used after its memtable died) is still reported.
      LSMKV_POISON(chunk, chunk_bytes_);
      return;
    }
  }
  std::free(chunk);
}

size_t ArenaChunkPool::Kept() const {
  MutexLock lock(&mu_);
  return kept_.size();
}

size_t ArenaChunkPool::Made() const {
  MutexLock lock(&mu_);
  return made_;
}

size_t ArenaChunkPool::Reused() const {
  MutexLock lock(&mu_);
  return reused_;
}

size_t ArenaChunkPool::Prefaulted() const {
  MutexLock lock(&mu_);
  return prefaulted_;
}

Arena::Arena(size_t block_size, size_t huge_page_bytes, std::shared_ptr<ArenaChunkPool> chunk_pool)
    : block_size_(block_size),
      huge_page_bytes_(huge_page_bytes),
      chunk_pool_(std::move(chunk_pool)) {
  DCHECK(block_size >= 64);
  DCHECK(huge_page_bytes == 0 ||
         ((huge_page_bytes & (huge_page_bytes - 1)) == 0 && huge_page_bytes % block_size == 0));
  CHECK(chunk_pool_ == nullptr ||
        (huge_page_bytes > 0 && chunk_pool_->chunk_bytes() == huge_page_bytes));
}

Arena::~Arena() {
  if (chunk_pool_ == nullptr) return;  // chunks_ frees them
  for (auto& chunk : chunks_) chunk_pool_->Give(chunk.release());
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
    PrefetchAheadOfWrites(result, cursor_, kPrefetchDistance);
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
    // Room first (doubling), so that emplace_back cannot throw and leak the chunk.
    if (chunks_.size() == chunks_.capacity()) chunks_.reserve(2 * chunks_.size() + 4);
    char* chunk = chunk_pool_ != nullptr ? chunk_pool_->Take() : NewChunk(huge_page_bytes_);
    chunks_.emplace_back(chunk);
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
