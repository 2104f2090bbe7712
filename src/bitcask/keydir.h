// Keydir: the Bitcask engine's in-memory index from key to Value (the
// engine's chain of versions), ordered by the database's comparator so that
// iterators and range deletions walk keys in order, and — for the bytewise
// comparator — hashed, so that a point lookup (Get, and every write of a
// key already present) costs one probe of an open-addressing table instead
// of a descent through the ordered tree: a descent of a million keys is some
// twenty dependent cache misses, each comparison another miss into the key's
// own allocation.
//
// Structure: a std::map holds the entries (its nodes never move, so an
// iterator stays valid until its entry is erased; they live in the
// NodeHeap's huge pages, util/node_heap.h), its keys as KeydirKey:
// up to 24 bytes inside the map's node, so that a descent compares each
// node's key without a second cache miss into a separate allocation (a
// std::string keeps only 15); the hash table holds,
// per entry, the key's 64-bit hash and the map iterator, in linear-probing
// slots (a power of two of them, at most half full; deletion shifts the
// following run back, so there are no tombstones). A comparator other than
// the bytewise one may call keys of different bytes equal, which a hash of
// the bytes cannot see: then the table is not used and every lookup
// descends the map.
//
// Thread safety: none; the engine calls it with its mu_ held.
#ifndef LSMKV_BITCASK_KEYDIR_H_
#define LSMKV_BITCASK_KEYDIR_H_

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "util/check.h"
#include "util/comparator.h"
#include "util/hash.h"
#include "util/node_heap.h"

namespace lsmkv::bitcask {

// A key's bytes: up to kInline of them inside the object, longer ones in a
// heap block it owns. Converts to std::string_view.
class KeydirKey {
 public:
  static constexpr size_t kInline = 24;

  explicit KeydirKey(std::string_view k) : size_(static_cast<uint32_t>(k.size())) {
    CHECK(k.size() <= UINT32_MAX);
    char* dst = size_ <= kInline ? inline_ : (heap_ = new char[k.size()]);
    if (!k.empty()) std::memcpy(dst, k.data(), k.size());
  }
  KeydirKey(const KeydirKey&) = delete;  // built in place in the map's node
  KeydirKey& operator=(const KeydirKey&) = delete;
  ~KeydirKey() {
    if (size_ > kInline) delete[] heap_;
  }

  std::string_view view() const { return {size_ <= kInline ? inline_ : heap_, size_}; }
  operator std::string_view() const { return view(); }  // NOLINT: a key is its bytes
  size_t size() const { return size_; }

 private:
  union {
    char inline_[kInline];
    char* heap_;
  };
  uint32_t size_;
};

// The map's order: the comparator's, with the bytewise comparison inline
// (eight bytes at a time, big-endian) instead of a call to memcmp at each
// step of a descent.
struct KeydirLess {
  using is_transparent = void;
  ComparatorLess less;
  bool operator()(std::string_view a, std::string_view b) const {
    if (!less.bytewise) return less(a, b);
    const size_t n = std::min(a.size(), b.size());
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t x, y;
      std::memcpy(&x, a.data() + i, 8);
      std::memcpy(&y, b.data() + i, 8);
      if (x != y) {
        if constexpr (std::endian::native == std::endian::little) {
          x = __builtin_bswap64(x);
          y = __builtin_bswap64(y);
        }
        return x < y;
      }
    }
    for (; i < n; i++) {
      if (a[i] != b[i]) return static_cast<uint8_t>(a[i]) < static_cast<uint8_t>(b[i]);
    }
    return a.size() < b.size();
  }
};

template <typename Value>
class Keydir {
 public:
  // The map's nodes come from the NodeHeap (huge pages): a descent of a
  // million keys otherwise takes a TLB miss at most of its levels.
  using Map =
      std::map<KeydirKey, Value, KeydirLess, NodeAllocator<std::pair<const KeydirKey, Value>>>;
  using iterator = typename Map::iterator;
  using const_iterator = typename Map::const_iterator;
  // The hash of a key; never 0 after Keydir adjusts it (0 marks an empty
  // slot). Tests pass a poor one to force collisions.
  using HashFunction = uint64_t (*)(std::string_view);

  explicit Keydir(ComparatorLess less, HashFunction hash = &DefaultHash)
      : map_(KeydirLess{less}), hashed_(less.bytewise), hash_(hash) {}

  size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }
  iterator begin() { return map_.begin(); }
  iterator end() { return map_.end(); }
  const_iterator begin() const { return map_.begin(); }
  const_iterator end() const { return map_.end(); }
  iterator lower_bound(std::string_view key) { return map_.lower_bound(key); }
  iterator upper_bound(std::string_view key) { return map_.upper_bound(key); }
  // Whether point lookups use the hash table (the bytewise comparator).
  bool hashed() const { return hashed_; }

  // The entry of key, or end().
  iterator find(std::string_view key) {
    if (!hashed_) return map_.find(key);
    if (slots_.empty()) return map_.end();
    const uint64_t h = Hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.hash == 0) break;
      if (s.hash == h && s.entry->first.view() == key) return s.entry;
    }
    return map_.end();
  }

  // Adds key with value. REQUIRES: key is absent. hint, as for
  // std::map::emplace_hint (end() when key goes after every key).
  iterator emplace_hint(iterator hint, std::string_view key, Value value) {
    const size_t before = map_.size();
    iterator it = map_.emplace_hint(hint, std::piecewise_construct, std::forward_as_tuple(key),
                                    std::forward_as_tuple(std::move(value)));
    CHECK(map_.size() == before + 1);  // the key was absent
    if (hashed_) Index(it);
    return it;
  }
  // The same without a hint (end(): a hint that does not fit costs one
  // comparison before the map searches as emplace does).
  iterator emplace(std::string_view key, Value value) {
    return emplace_hint(map_.end(), key, std::move(value));
  }

  // Removes the entry at it; returns the entry after it.
  iterator erase(iterator it) {
    if (hashed_) Unindex(it);
    return map_.erase(it);
  }

  void clear() {
    map_.clear();
    slots_.clear();
    mask_ = 0;
  }

  // Checks that the table indexes exactly the map's entries, each reachable
  // from its home slot. For tests; O(n).
  bool CheckIndex() const {
    if (!hashed_) return slots_.empty();
    size_t indexed = 0;
    for (size_t i = 0; i < slots_.size(); i++) {
      if (slots_[i].hash == 0) continue;
      indexed++;
      // Every slot from the home slot up to i is occupied (else a probe
      // would stop before reaching it).
      for (size_t j = slots_[i].hash & mask_; j != i; j = (j + 1) & mask_) {
        if (slots_[j].hash == 0) return false;
      }
      if (slots_[i].hash != Hash(slots_[i].entry->first)) return false;
    }
    if (indexed != map_.size()) return false;
    for (auto it = map_.begin(); it != map_.end(); ++it) {
      if (const_cast<Keydir*>(this)->find(it->first) != it) return false;
    }
    return true;
  }

 private:
  struct Slot {
    uint64_t hash = 0;  // 0: empty
    iterator entry;
  };

  static uint64_t DefaultHash(std::string_view key) { return Hash64(key); }
  uint64_t Hash(std::string_view key) const {
    const uint64_t h = hash_(key);
    return h == 0 ? 1 : h;
  }

  void Index(iterator it) {
    if (2 * map_.size() > slots_.size()) Grow();
    Place(Hash(it->first), it);
  }
  // Puts (h, it) in the first empty slot of its probe sequence.
  void Place(uint64_t h, iterator it) {
    size_t i = h & mask_;
    while (slots_[i].hash != 0) i = (i + 1) & mask_;
    slots_[i] = Slot{h, it};
  }
  void Grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.hash != 0) Place(s.hash, s.entry);
    }
  }
  void Unindex(iterator it) {
    const uint64_t h = Hash(it->first);
    size_t i = h & mask_;
    while (slots_[i].entry != it || slots_[i].hash != h) {
      DCHECK(slots_[i].hash != 0);  // every entry is indexed
      i = (i + 1) & mask_;
    }
    // Backward shift: move each later slot of the run whose home is not in
    // (i, j] into the hole, so that no probe meets an empty slot before
    // its entry.
    for (size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (slots_[j].hash == 0) break;
      const size_t home = slots_[j].hash & mask_;
      const bool home_in_gap = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!home_in_gap) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
  }

  Map map_;
  const bool hashed_;
  const HashFunction hash_;
  std::vector<Slot> slots_;  // empty, or a power of two of them
  size_t mask_ = 0;
};

}  // namespace lsmkv::bitcask

#endif  // LSMKV_BITCASK_KEYDIR_H_
