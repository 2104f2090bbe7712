// NodeHeap (util/node_heap.h): blocks of every size class and above it,
// allocated and freed in random order, never overlap (each is filled with a
// pattern of its own and checked before it is freed); a freed block is
// reused by its class; a chunk's tail goes to the smaller classes; the
// counters match; threads allocating and freeing at once (TSan) lose and
// share nothing. Heaps of the test's own, so the carving runs under the
// sanitizers too (the process-wide heap passes through to operator new
// there).
#include "util/node_heap.h"

#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

struct Block {
  char* p;
  size_t bytes;
  char fill;
};

void Check(const Block& b) {
  for (size_t i = 0; i < b.bytes; i++) {
    ASSERT_EQ(b.p[i], b.fill) << "block of " << b.bytes << " bytes overwritten at " << i;
  }
}

size_t RandomSize(Random* rnd) {
  switch (rnd->Uniform(4)) {
    case 0:
      return 1 + rnd->Uniform(64);
    case 1:
      return 1 + rnd->Uniform(4096);
    case 2:
      return 1 + rnd->Uniform(NodeHeap::kMaxBlock);
    default:
      return NodeHeap::kMaxBlock - 8 + rnd->Uniform(64);  // either side of the largest class
  }
}

TEST(NodeHeapTest, RandomBlocksNeverOverlapAndTheCountersMatch) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  Random rnd(seed);
  NodeHeap heap;
  std::vector<Block> live;
  size_t large = 0;
  for (int step = 0; step < 20000; step++) {
    if (live.empty() || rnd.Uniform(100) < 55) {
      const size_t bytes = RandomSize(&rnd);
      char* p = static_cast<char*>(heap.Allocate(bytes));
      ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
      const char fill = static_cast<char>(rnd.Uniform(256));
      std::memset(p, fill, bytes);
      live.push_back({p, bytes, fill});
      if (bytes > NodeHeap::kMaxBlock) large++;
    } else {
      const size_t i = rnd.Uniform(static_cast<uint32_t>(live.size()));
      ASSERT_NO_FATAL_FAILURE(Check(live[i]));
      heap.Free(live[i].p, live[i].bytes);
      if (live[i].bytes > NodeHeap::kMaxBlock) large--;
      live[i] = live.back();
      live.pop_back();
    }
  }
  for (const Block& b : live) ASSERT_NO_FATAL_FAILURE(Check(b));
  const NodeHeap::Stats stats = heap.GetStats();
  EXPECT_EQ(stats.live_blocks, live.size() - large);
  EXPECT_EQ(stats.large, large);
  EXPECT_GT(stats.chunks, 0u);
  for (const Block& b : live) heap.Free(b.p, b.bytes);
  EXPECT_EQ(heap.GetStats().live_blocks, 0u);
  EXPECT_EQ(heap.GetStats().large, 0u);
}

TEST(NodeHeapTest, EveryRequestGetsTheSmallestClassThatHoldsIt) {
  for (size_t bytes = 1; bytes <= NodeHeap::kMaxBlock; bytes++) {
    const size_t c = NodeHeap::ClassOf(bytes);
    ASSERT_LT(c, NodeHeap::kClasses);
    ASSERT_GE(NodeHeap::ClassSize(c), bytes);
    if (c > 0) {
      ASSERT_LT(NodeHeap::ClassSize(c - 1), bytes) << bytes;
    }
    ASSERT_EQ(NodeHeap::ClassSize(c) % 16, 0u);
    // Waste: under 16 bytes up to 128, under a fifth of the block above.
    if (bytes > 128) {
      ASSERT_LT(NodeHeap::ClassSize(c) - bytes, NodeHeap::ClassSize(c) / 5) << bytes;
    } else {
      ASSERT_LT(NodeHeap::ClassSize(c) - bytes, 16u) << bytes;
    }
  }
  EXPECT_EQ(NodeHeap::ClassSize(NodeHeap::kClasses - 1), NodeHeap::kMaxBlock);
}

TEST(NodeHeapTest, AFreedBlockIsReusedByItsClass) {
  NodeHeap heap;
  void* keep = heap.Allocate(16);  // so that the heap never empties (and resets)
  void* a = heap.Allocate(100);    // the 112-byte class
  heap.Free(a, 100);
  EXPECT_EQ(heap.Allocate(112), a);
  EXPECT_NE(heap.Allocate(100), a);
  void* b = heap.Allocate(33);  // 48
  heap.Free(b, 33);
  EXPECT_NE(heap.Allocate(32), b);  // another class
  EXPECT_EQ(heap.Allocate(48), b);
  (void)keep;
}

TEST(NodeHeapTest, AChunksTailServesTheSmallerClasses) {
  NodeHeap heap;
  // 63 blocks of 32 KiB and one of 16 KiB leave 16 KiB of the first chunk;
  // a request of the 20 KiB class needs a new chunk, and the tail then
  // serves a 16 KiB request without taking a third.
  for (int i = 0; i < 63; i++) heap.Allocate(NodeHeap::kMaxBlock);
  heap.Allocate(NodeHeap::kMaxBlock / 2);
  EXPECT_EQ(heap.GetStats().chunks, 1u);
  heap.Allocate(NodeHeap::kMaxBlock / 2 + 1);  // 20 KiB: a second chunk
  EXPECT_EQ(heap.GetStats().chunks, 2u);
  heap.Allocate(NodeHeap::kMaxBlock / 2);  // from the first chunk's tail
  EXPECT_EQ(heap.GetStats().chunks, 2u);
}

TEST(NodeHeapTest, AnEmptiedHeapKeepsOneChunkAndCarvesAfresh) {
  NodeHeap heap;
  std::vector<std::pair<void*, size_t>> blocks;
  for (int i = 0; i < 1000; i++) {
    const size_t bytes = 100 + static_cast<size_t>(i % 50) * 90;
    blocks.emplace_back(heap.Allocate(bytes), bytes);
  }
  void* first = blocks[0].first;
  EXPECT_GT(heap.GetStats().chunks, 1u);
  for (size_t i = blocks.size(); i-- > 0;) heap.Free(blocks[i].first, blocks[i].second);
  EXPECT_EQ(heap.GetStats().chunks, 1u);
  EXPECT_EQ(heap.GetStats().live_blocks, 0u);
  // Carving restarts at the first chunk's start (not from a free list).
  EXPECT_EQ(heap.Allocate(5000), first);
  char* next = static_cast<char*>(heap.Allocate(16));
  EXPECT_EQ(next, static_cast<char*>(first) + NodeHeap::ClassSize(NodeHeap::ClassOf(5000)));
}

TEST(NodeHeapTest, PassThroughUsesOperatorNew) {
  NodeHeap heap(/*pass_through=*/true);
  void* p = heap.Allocate(64);
  EXPECT_EQ(heap.GetStats().chunks, 0u);
  EXPECT_EQ(heap.GetStats().large, 1u);
  heap.Free(p, 64);
  EXPECT_EQ(heap.GetStats().large, 0u);
}

TEST(NodeHeapTest, ThreadsAllocateAndFreeAtOnce) {
  NodeHeap heap;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&heap, t] {
      Random rnd(1000 + t);
      std::vector<Block> live;
      for (int step = 0; step < 5000; step++) {
        if (live.empty() || rnd.OneIn(2)) {
          const size_t bytes = 1 + rnd.Uniform(2048);
          char* p = static_cast<char*>(heap.Allocate(bytes));
          const char fill = static_cast<char>(t * 16 + step % 16);
          std::memset(p, fill, bytes);
          live.push_back({p, bytes, fill});
        } else {
          Check(live.back());
          heap.Free(live.back().p, live.back().bytes);
          live.pop_back();
        }
      }
      for (const Block& b : live) {
        Check(b);
        heap.Free(b.p, b.bytes);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(heap.GetStats().live_blocks, 0u);
}

TEST(NodeHeapTest, AllocatorWorksForContainers) {
  std::vector<int, NodeAllocator<int>> v;
  for (int i = 0; i < 100000; i++) v.push_back(i);  // reaches operator new past 32 KiB
  for (int i = 0; i < 100000; i++) ASSERT_EQ(v[i], i);
  std::basic_string<char, std::char_traits<char>, NodeAllocator<char>> s(5000, 'x');
  s += "end";
  EXPECT_EQ(s.size(), 5003u);
}

}  // namespace
}  // namespace lsmkv
