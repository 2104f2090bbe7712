#include "memtable/arena.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lsmkv/env.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

bool IsAligned(const char* p) {
  return (reinterpret_cast<uintptr_t>(p) & (Arena::kAlignment - 1)) == 0;
}

TEST(ArenaTest, EmptyArenaUsesNoMemory) {
  Arena arena;
  EXPECT_EQ(arena.MemoryUsage(), 0u);
}

TEST(ArenaTest, AlignmentConstant) {
  EXPECT_GE(Arena::kAlignment, sizeof(void*));
  EXPECT_GE(Arena::kAlignment, 8u);
}

TEST(ArenaTest, AlignedAllocationsAreAlignedAfterOddSizes) {
  Arena arena;
  Random rnd(test::TestSeed());
  for (int i = 0; i < 5000; i++) {
    // An unaligned allocation moves the cursor to an odd offset...
    const size_t odd_n = 1 + rnd.Uniform(13);
    char* odd = arena.Allocate(odd_n);
    ASSERT_NE(odd, nullptr);
    // ...and the next aligned one must pad past it.
    const size_t n = 1 + rnd.Skewed(11);  // sometimes above a quarter block
    char* aligned = arena.AllocateAligned(n);
    ASSERT_TRUE(IsAligned(aligned)) << "i=" << i << " n=" << n;
    ASSERT_TRUE(aligned >= odd + odd_n || aligned + n <= odd) << "overlap at i=" << i;
  }
}

TEST(ArenaTest, LargeRequestGetsOwnBlockAndCurrentBlockKeepsServing) {
  Arena arena;
  char* a = arena.Allocate(16);
  const size_t after_first = arena.MemoryUsage();
  EXPECT_GE(after_first, Arena::kBlockSize);

  const size_t big = Arena::kBlockSize / 4 + 1;
  char* b = arena.Allocate(big);
  EXPECT_GE(arena.MemoryUsage(), after_first + big);
  EXPECT_LT(arena.MemoryUsage(), after_first + Arena::kBlockSize);  // not a whole extra block

  const size_t after_big = arena.MemoryUsage();
  char* c = arena.Allocate(16);
  EXPECT_EQ(c, a + 16);  // still carved from the first block
  EXPECT_EQ(arena.MemoryUsage(), after_big);
  EXPECT_TRUE(b + big <= a || b >= a + Arena::kBlockSize);
}

TEST(ArenaTest, ManyRandomAllocationsKeepTheirContents) {
  Arena arena;
  Random rnd(test::TestSeed());
  std::vector<std::pair<char*, size_t>> allocated;
  size_t total = 0;
  size_t last_usage = 0;
  constexpr int kCount = 100000;
  for (int i = 0; i < kCount; i++) {
    size_t n;
    if (i % 5000 == 0) {
      n = 1 + rnd.Uniform(6000);  // occasionally large
    } else {
      n = 1 + rnd.Skewed(10);
    }
    char* p = (i % 3 == 0) ? arena.AllocateAligned(n) : arena.Allocate(n);
    if (i % 3 == 0) {
      ASSERT_TRUE(IsAligned(p));
    }
    for (size_t j = 0; j < n; j++) p[j] = static_cast<char>((i * 31 + j) & 0xff);
    allocated.emplace_back(p, n);
    total += n;
    const size_t usage = arena.MemoryUsage();
    ASSERT_GE(usage, total);
    ASSERT_GE(usage, last_usage);
    last_usage = usage;
  }
  // Waste is bounded: a quarter block per block at most, plus padding and
  // bookkeeping.
  EXPECT_LE(arena.MemoryUsage(), total * 2 + Arena::kBlockSize);
  for (size_t i = 0; i < allocated.size(); i++) {
    const auto [p, n] = allocated[i];
    for (size_t j = 0; j < n; j++) {
      ASSERT_EQ(p[j], static_cast<char>((i * 31 + j) & 0xff)) << "allocation " << i;
    }
  }
}

TEST(ArenaTest, SmallBlockSize) {
  Arena arena(64);
  char* a = arena.Allocate(10);
  char* b = arena.Allocate(10);
  EXPECT_EQ(b, a + 10);
  char* big = arena.Allocate(17);  // > 64 / 4: own block
  EXPECT_TRUE(big + 17 <= a || big >= a + 64);
  EXPECT_EQ(arena.Allocate(10), a + 20);
}

TEST(ArenaTest, MemoryUsageReadableWhileAllocating) {
  Arena arena;
  std::atomic<bool> done{false};
  std::atomic<bool> saw_decrease{false};
  std::thread reader([&] {
    size_t last = 0;
    while (!done.load(std::memory_order_acquire)) {
      const size_t now = arena.MemoryUsage();
      if (now < last) saw_decrease.store(true);
      last = now;
    }
  });
  size_t total = 0;
  for (int i = 0; i < 20000; i++) {
    const size_t n = 1 + static_cast<size_t>(i % 700);
    arena.Allocate(n)[0] = 'x';
    total += n;
  }
  done.store(true, std::memory_order_release);
  reader.join();
  EXPECT_FALSE(saw_decrease.load());
  EXPECT_GE(arena.MemoryUsage(), total);
}

// With huge pages, ordinary blocks come out of aligned chunks, one chunk per
// huge_page_bytes / block_size blocks; big requests still get blocks of their
// own; every byte handed out stays distinct and intact.
TEST(ArenaTest, HugePageChunksHoldOrdinaryBlocks) {
  constexpr size_t kBlock = 4096;
  constexpr size_t kHuge = 64 * 1024;  // 16 blocks per chunk
  Arena arena(kBlock, kHuge);
  EXPECT_EQ(arena.HugeChunks(), 0u);
  std::vector<std::pair<char*, size_t>> pieces;
  size_t total = 0;
  for (int i = 0; pieces.size() < 2000; i++) {
    const size_t n = 1 + static_cast<size_t>(i * 37 % 1000);  // all <= kBlock / 4
    char* p = i % 2 ? arena.Allocate(n) : arena.AllocateAligned(n);
    if (i % 2 == 0) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % Arena::kAlignment, 0u);
    }
    std::memset(p, static_cast<int>(i & 0xff), n);
    pieces.emplace_back(p, n);
    total += n;
  }
  // ~1 MB of small requests in 4 KiB blocks: at least 16 chunks, each
  // aligned to its size (every block's start is a chunk start plus a
  // multiple of the block size).
  EXPECT_GE(arena.HugeChunks(), total / kHuge);
  // A block abandons a tail shorter than a request (< kBlock / 4).
  EXPECT_LE(arena.HugeChunks(), (total / (kBlock * 3 / 4) + 1) / (kHuge / kBlock) + 1);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(pieces[0].first) % kHuge, 0u);
  const size_t chunks = arena.HugeChunks();
  char* big = arena.Allocate(kBlock);  // > kBlock / 4: a block of its own
  std::memset(big, 0x5a, kBlock);
  EXPECT_EQ(arena.HugeChunks(), chunks);
  // Pieces never overlap: each still holds the byte it was filled with.
  for (size_t i = 0; i < pieces.size(); i++) {
    const auto [p, n] = pieces[i];
    for (size_t j = 0; j < n; j++) ASSERT_EQ(static_cast<unsigned char>(p[j]), i & 0xff) << i;
  }
  // Usage counts the blocks handed out (not the chunks' uncarved tails).
  EXPECT_GE(arena.MemoryUsage(), total + kBlock);
  EXPECT_LE(arena.MemoryUsage(), chunks * kHuge + kBlock + 4096);
}

// A pool hands back the chunks it kept, last given first, and makes new ones
// when it has none; it keeps at most max_chunks and frees the rest.
TEST(ArenaChunkPoolTest, KeepsUpToItsLimitAndReusesWhatItKept) {
  constexpr size_t kChunk = 64 << 10;
  ArenaChunkPool pool(kChunk, /*max_chunks=*/2);
  char* a = pool.Take();
  char* b = pool.Take();
  char* c = pool.Take();
  EXPECT_EQ(3u, pool.Made());
  EXPECT_EQ(0u, pool.Reused());
  for (char* p : {a, b, c}) {
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(p) % kChunk);  // aligned to its size
    std::memset(p, 0x5a, kChunk);                            // all of it is usable
  }
  pool.Give(a);
  pool.Give(b);
  pool.Give(c);  // over the limit: freed (ASan/LSan would report a leak otherwise)
  EXPECT_EQ(2u, pool.Kept());
  EXPECT_EQ(b, pool.Take());
  EXPECT_EQ(a, pool.Take());
  EXPECT_EQ(2u, pool.Reused());
  EXPECT_EQ(0u, pool.Kept());
  char* d = pool.Take();  // none kept: a new one
  EXPECT_EQ(4u, pool.Made());
  pool.Give(a);
  pool.Give(b);
  pool.Give(d);
  EXPECT_EQ(2u, pool.Kept());  // the pool's destructor frees these
}

// With a reserve, a Take that leaves fewer than `reserve` chunks kept
// starts one refilling thread (not another while it runs), and the refill
// makes chunks, backs their memory and keeps them until the reserve is
// there: the next Takes reuse them instead of making chunks on the spot.
TEST(ArenaChunkPoolTest, TakeStartsARefillThatKeepsTheReserveReady) {
  constexpr size_t kChunk = 64 << 10;
  std::vector<std::function<void()>> started;  // run by hand: no thread
  auto pool = std::make_shared<ArenaChunkPool>(
      kChunk, /*max_chunks=*/4, /*reserve=*/2,
      [&started](std::function<void()> fn) { started.push_back(std::move(fn)); });
  char* a = pool->Take();  // nothing kept: made now, and a refill started
  ASSERT_EQ(1u, started.size());
  char* b = pool->Take();  // the refill has not run: made now, no second refill
  EXPECT_EQ(1u, started.size());
  EXPECT_EQ(2u, pool->Made());
  EXPECT_EQ(0u, pool->Prefaulted());
  started[0]();
  EXPECT_EQ(2u, pool->Kept());
  EXPECT_EQ(2u, pool->Prefaulted());
  EXPECT_EQ(4u, pool->Made());
  char* c = pool->Take();  // one of the reserve, which starts the next refill
  EXPECT_EQ(1u, pool->Reused());
  ASSERT_EQ(2u, started.size());
  std::memset(c, 0x5a, kChunk);  // all of it is usable
  EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(c) % kChunk);
  started[1]();
  EXPECT_EQ(2u, pool->Kept());
  EXPECT_EQ(3u, pool->Prefaulted());
  // A refill with the reserve in place makes nothing.
  pool->Refill();
  EXPECT_EQ(3u, pool->Prefaulted());
  // Chunks given back beyond max_chunks are freed, as without a reserve.
  for (char* p : {a, b, c}) pool->Give(p);
  EXPECT_EQ(4u, pool->Kept());
}

// The refill runs on the thread the starter gives it (here the default
// Env's), holding the pool: the last reference may be the thread's.
TEST(ArenaChunkPoolTest, RefillOnItsOwnThreadOutlivesTheOtherReferences) {
  constexpr size_t kChunk = 64 << 10;
  Env* env = Env::Default();
  auto pool = std::make_shared<ArenaChunkPool>(
      kChunk, /*max_chunks=*/8, /*reserve=*/3,
      [env](std::function<void()> fn) { env->StartThread(std::move(fn)); });
  char* a = pool->Take();
  // Wait (bounded) for the thread to finish the reserve.
  for (int i = 0; i < 2000000 && pool->Kept() < 3; i++) std::this_thread::yield();
  EXPECT_EQ(3u, pool->Kept());
  EXPECT_EQ(3u, pool->Prefaulted());
  pool->Give(a);
  // Two Takes leave two kept and start a second refill; the pool is
  // dropped while it may still run: the thread's reference frees the pool
  // after it (ASan would report a use after free, LSan a leak).
  char* b = pool->Take();
  char* c = pool->Take();
  std::free(b);
  std::free(c);
  pool.reset();
}

// Arenas sharing a pool give their chunks back when destroyed, and the next
// arena carves its blocks out of them: no new chunk while the pool has one,
// and the contents each arena wrote read back intact whatever the chunk
// held before.
TEST(ArenaChunkPoolTest, ArenasGiveTheirChunksBackForTheNextArena) {
  constexpr size_t kBlock = 4096, kHuge = 64 << 10;
  auto pool = std::make_shared<ArenaChunkPool>(kHuge, /*max_chunks=*/8);
  Random rnd(test::TestSeed());
  size_t first_chunks = 0;
  for (int round = 0; round < 4; round++) {
    SCOPED_TRACE(round);
    Arena arena(kBlock, kHuge, pool);
    std::vector<std::pair<char*, std::string>> written;
    size_t total = 0;
    while (total < 6 * kHuge) {  // six chunks' worth (plus the quarter-block waste)
      const size_t n = 1 + rnd.Uniform(kBlock / 4);
      char* p = arena.Allocate(n);
      std::string bytes = rnd.RandomBytes(n);
      std::memcpy(p, bytes.data(), n);
      written.emplace_back(p, std::move(bytes));
      total += n;
    }
    for (const auto& [p, bytes] : written) ASSERT_EQ(0, std::memcmp(p, bytes.data(), bytes.size()));
    if (round == 0) {
      first_chunks = arena.HugeChunks();
      EXPECT_EQ(first_chunks, pool->Made());
      EXPECT_EQ(0u, pool->Reused());
    } else {
      // Every chunk came from the pool, which held the last arena's chunks.
      EXPECT_EQ(first_chunks, pool->Made());
      EXPECT_EQ(round * first_chunks, pool->Reused());
      EXPECT_EQ(first_chunks, arena.HugeChunks());
    }
    EXPECT_EQ(0u, pool->Kept());
  }
  EXPECT_EQ(first_chunks, pool->Kept());
}

}  // namespace
}  // namespace lsmkv
