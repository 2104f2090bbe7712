// StripedCounter: a statistics counter that many threads add to without
// writing one shared cache line.
//
// A plain std::atomic<uint64_t> bumped on every read makes concurrent readers
// pass its cache line back and forth between cores on each operation (a point
// read bumped up to six such counters). A StripedCounter keeps kStripes
// cells, each on its own cache line; a thread adds to the cell it was given
// on its first add (threads are handed cells round robin, so up to kStripes
// threads never share one), and a read sums the cells.
//
// Thread safety: every method may run concurrently with any other. Adds are
// relaxed: load() returns a sum that includes every add that happened before
// it (in the happens-before sense) and possibly some concurrent ones; it is
// meant for statistics, never for synchronisation. Counts never decrease, so
// two loads in one thread return non-decreasing values.
#ifndef LSMKV_UTIL_STRIPED_COUNTER_H_
#define LSMKV_UTIL_STRIPED_COUNTER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace lsmkv {

class StripedCounter {
 public:
  static constexpr size_t kStripes = 8;
  static constexpr size_t kCacheLine = 64;

  StripedCounter() = default;
  StripedCounter(const StripedCounter&) = delete;
  StripedCounter& operator=(const StripedCounter&) = delete;

  void fetch_add(uint64_t n, std::memory_order order = std::memory_order_relaxed) {
    cells_[ThreadStripe()].value.fetch_add(n, order);
  }
  StripedCounter& operator+=(uint64_t n) {
    fetch_add(n);
    return *this;
  }
  StripedCounter& operator++() {
    fetch_add(1);
    return *this;
  }
  void operator++(int) { fetch_add(1); }

  // The sum of the cells (see the class comment for what it includes).
  uint64_t load(std::memory_order order = std::memory_order_relaxed) const {
    uint64_t sum = 0;
    for (const Cell& c : cells_) sum += c.value.load(order);
    return sum;
  }
  operator uint64_t() const { return load(); }  // NOLINT: reads like the atomic it replaces

  // The cell this thread adds to: assigned on the thread's first call,
  // round robin over all threads of the process.
  static size_t ThreadStripe() {
    static std::atomic<size_t> next{0};
    thread_local const size_t stripe = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return stripe;
  }

 private:
  struct alignas(kCacheLine) Cell {
    std::atomic<uint64_t> value{0};
  };
  static_assert(sizeof(Cell) == kCacheLine, "one cell per cache line");

  Cell cells_[kStripes];
};

}  // namespace lsmkv

#endif  // LSMKV_UTIL_STRIPED_COUNTER_H_
