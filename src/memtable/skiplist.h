// SkipList: an ordered set of keys, allocated in an Arena, with one writer
// and any number of lock-free readers.
//
// Key must be trivially copyable and trivially destructible (nodes are never
// destroyed: their memory goes away with the Arena). Comparator is a copyable
// functor with `int operator()(const Key& a, const Key& b) const` returning
// <0, 0 or >0 as a sorts before, equal to, or after b.
//
// Thread safety:
//  - Insert() needs external synchronisation: one writer at a time.
//  - Contains() and Iterator may run in any number of threads, without locks,
//    concurrently with Insert(). This is safe because
//      (1) nodes are never removed or freed until the list is destroyed, and
//      (2) a node is fully built (key and forward links) before a release
//          store links it in; readers follow links with acquire loads, so
//          they see every node either not at all or completely.
//    A reader sees every key whose Insert() finished before the read began,
//    and may or may not see keys inserted concurrently.
//  - The list (and its Arena) must outlive every reader and iterator.
//
// Inserts in ascending order (and any insert that lands right after the
// previous one) skip the search: the writer keeps the previous insert's
// splice (its node and the last node before it at each level) and reuses it
// when the new key falls between that node and its successor; two
// comparisons instead of a descent through every level. While inserts keep
// landing a node or two further (ascending writes over keys that each have
// an older entry), the writer steps there instead of searching.
//
// Shape: at most kMaxHeight levels; a node reaches level i+1 with probability
// 1/kBranching given it reached level i. Heights come from a seeded
// generator, so a given seed and insertion order always build the same list.
#ifndef LSMKV_MEMTABLE_SKIPLIST_H_
#define LSMKV_MEMTABLE_SKIPLIST_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>

#include "memtable/arena.h"
#include "util/check.h"
#include "util/random.h"

namespace lsmkv {

template <typename Key, class Comparator>
class SkipList {
 private:
  struct Node;

 public:
  static constexpr int kMaxHeight = 12;
  static constexpr uint32_t kBranching = 4;
  static constexpr uint64_t kDefaultSeed = 0x5eed5eedull;

  // Nodes are allocated from *arena, which must outlive the list.
  SkipList(Comparator cmp, Arena* arena, uint64_t seed = kDefaultSeed);
  SkipList(const SkipList&) = delete;
  SkipList& operator=(const SkipList&) = delete;

  // Adds key.
  // REQUIRES: external synchronisation (one writer at a time).
  // REQUIRES: no key comparing equal to key is in the list.
  void Insert(const Key& key);

  // Insert in two steps, for keys that point to bytes the caller writes
  // (e.g. const char* into an encoded entry): Reserve allocates a node of
  // random height with `payload` bytes right after its links and returns
  // them; the caller fills them and passes the key (normally pointing into
  // them) to Insert. A search then finds a node and the start of its key in
  // the same cache line instead of two. REQUIRES: as for Insert.
  struct Reservation {
    char* payload;
    char* node_memory;
    int height;
  };
  Reservation Reserve(size_t payload);
  void Insert(const Reservation& r, const Key& key);

  // The node of a Reservation once inserted: Iterator::JumpTo positions an
  // iterator there without a search (MemTable's point index keeps these).
  // Only the node_memory of a Reservation inserted into this list is one.
  using NodeHandle = const char*;

  // True iff a key comparing equal to key is in the list. Lock-free.
  bool Contains(const Key& key) const;

  // Walks the list. Not thread safe itself: use one per thread. Its methods
  // are lock-free and may run concurrently with Insert().
  class Iterator {
   public:
    // The iterator starts !Valid(). list must outlive it.
    explicit Iterator(const SkipList* list) : list_(list) {}

    bool Valid() const { return node_ != nullptr; }
    // REQUIRES: Valid().
    const Key& key() const {
      DCHECK(Valid());
      return node_->key;
    }
    // REQUIRES: Valid(). Nodes of a randomly filled list lie anywhere in the
    // arena, so each step of a scan is a cache miss that depends on the one
    // before (the link it follows is in the node it reaches). Each step
    // starts loading the node after the new position, overlapping its miss
    // with the caller's work on this one. From the kScanAfter-th step on, the iterator also keeps
    // kWalkers walkers ahead of it, each touching the level-0 nodes of a later stretch of the list
    // that it entered through a level-1 link (Scan below), so kWalkers misses are in flight at a
    // time instead of one. They only load links and prefetch: what Next returns is unchanged.
    void Next() {
      DCHECK(Valid());
      back_count_ = 0;  // kept for the node Next leaves, not the one it reaches
      node_ = node_->Next(0);
      if (node_ == nullptr) return;
      const Node* after = node_->RelaxedNext(0);
      if (after != nullptr) Touch(after);
      if (scanning_) {
        ScanStep();
      } else if (++steps_ == kScanAfter) {
        StartScan();
      }
    }
    // REQUIRES: Valid(). A search per level-1 stretch, not per step: the
    // first Prev after a positioning finds the last node linked at level 1
    // or above before key() (O(log n), its lower levels cache misses in a
    // large list), walks level 0 from there to the current node keeping the
    // nodes it passes (kBranching of them on average), and the Prevs
    // after it take them back one by one until they run out. Nodes are never
    // removed, so the walk meets the current node exactly; a node inserted
    // between kept ones later is not returned (the contract: entries added
    // after the iterator was made may be seen).
    void Prev() {
      DCHECK(Valid());
      if (back_count_ == 0) FillBack();
      Node* prev = back_count_ > 0 ? back_[--back_count_] : nullptr;
      const uint32_t kept = back_count_;
      Reset(prev);
      back_count_ = kept;
    }
    // Positions at the first key >= target.
    void Seek(const Key& target) { Reset(list_->FindGreaterOrEqual(target, nullptr)); }
    // Positions at the node of handle (a Reservation's node_memory after
    // Insert(r, ...) into this list returned; loaded with acquire from
    // wherever the writer published it after the Insert). O(1).
    void JumpTo(NodeHandle handle) {
      DCHECK(handle != nullptr);
      Reset(std::launder(reinterpret_cast<Node*>(const_cast<char*>(handle))));
    }
    void SeekToFirst() { Reset(list_->head_->Next(0)); }
    // For tests: the walkers run (this positioning's scan has gone far
    // enough and found level-1 nodes ahead).
    bool scanning() const { return scanning_; }
    void SeekToLast() {
      Reset(list_->FindLast());
      if (node_ == list_->head_) node_ = nullptr;
    }

   private:
    // Steps after a positioning before the walkers start: a seek followed by
    // a few steps does not pay for the level-1 search that places them.
    static constexpr uint32_t kScanAfter = 16;
    static constexpr int kWalkers = 2;
    // Nodes a backward stretch keeps (Prev): a level-1 stretch is longer
    // than this with probability (1 - 1/kBranching)^kBack, about 1 %.
    static constexpr uint32_t kBack = 16;

    void Reset(Node* node) {
      node_ = node;
      steps_ = 0;
      scanning_ = false;
      back_count_ = 0;
    }
    // Fills back_ with the nodes before node_ back to the last level-1 node
    // before it (the newest kBack of them if the stretch is longer); empty
    // if node_ is the first node.
    void FillBack() {
      DCHECK_EQ(back_count_, 0u);
      Node* x = list_->LastLevel1Before(node_->key);
      Node* n = x == list_->head_ ? x->Next(0) : x;
      while (n != node_) {
        DCHECK(n != nullptr);  // node_ follows x at level 0
        if (back_count_ == kBack) {
          std::memmove(back_, back_ + 1, sizeof(back_[0]) * (kBack - 1));
          back_count_--;
        }
        back_[back_count_++] = n;
        n = n->Next(0);
      }
    }
    static void Touch(const Node* n) {
      __builtin_prefetch(n);
      __builtin_prefetch(reinterpret_cast<const char*>(n) + 64);
    }

    // The scan state. lanes_[0..kWalkers] are consecutive level-1 nodes
    // after node_ (nullptr past the end): lanes_[i] starts stretch i, which
    // runs at level 0 up to lanes_[i + 1], and walkers_[i] is the last node
    // of stretch i touched so far (nullptr or lanes_[i + 1] once done).
    // When node_ reaches lanes_[0], every array shifts by one and the last
    // walker starts on a new stretch. Lanes are real nodes after node_ and
    // nodes are never removed, so node_ meets lanes_[0] exactly, whatever
    // was inserted meanwhile (a new node a walker missed is just not
    // prefetched).
    void StartScan() {
      Node* lane = list_->FirstLevel1After(node_);
      if (lane == nullptr) return;  // too few nodes ahead for a scan to gain
      for (int i = 0; i <= kWalkers; i++) {
        lanes_[i] = lane;
        if (lane != nullptr) {
          Touch(lane);
          lane = lane->Next(1);
        }
      }
      for (int i = 0; i < kWalkers; i++) walkers_[i] = lanes_[i];
      scanning_ = true;
    }
    void ScanStep() {
      // The cursor never passes the next lane: it meets it exactly.
      DCHECK(lanes_[0] == nullptr || list_->compare_(node_->key, lanes_[0]->key) <= 0);
      if (node_ == lanes_[0]) {
        for (int i = 0; i < kWalkers; i++) lanes_[i] = lanes_[i + 1];
        for (int i = 0; i + 1 < kWalkers; i++) walkers_[i] = walkers_[i + 1];
        // The previous last lane was touched a whole stretch ago.
        Node* last = lanes_[kWalkers - 1];
        lanes_[kWalkers] = last != nullptr ? last->Next(1) : nullptr;
        if (lanes_[kWalkers] != nullptr) Touch(lanes_[kWalkers]);
        walkers_[kWalkers - 1] = last;
      }
      // Each walker advances one node: the loads of different stretches do
      // not depend on each other, so their misses overlap.
      for (int i = 0; i < kWalkers; i++) {
        Node* w = walkers_[i];
        if (w == nullptr || w == lanes_[i + 1]) continue;
        w = w->Next(0);
        walkers_[i] = w;
        if (w != nullptr) Touch(w);
      }
    }

    const SkipList* list_;
    Node* node_ = nullptr;
    uint32_t steps_ = 0;
    bool scanning_ = false;
    Node* lanes_[kWalkers + 1] = {};
    Node* walkers_[kWalkers] = {};
    // The nodes before node_ that Prev returns next, the nearest last.
    Node* back_[kBack] = {};
    uint32_t back_count_ = 0;
  };

 private:
  static_assert(std::is_trivially_destructible_v<Key>, "nodes are never destroyed");
  static_assert(std::is_trivially_copyable_v<Key>, "keys are copied into the arena");

  int CurrentHeight() const { return height_.load(std::memory_order_relaxed); }
  Node* NewNode(const Key& key, int height);
  // Builds a node in memory of sizeof(Node) + height links.
  static Node* ConstructNode(char* mem, const Key& key, int height);
  // Fills prev[0..kMaxHeight) with the last node before key at each level
  // (head_ above the levels in use) and returns the first node >= key: from
  // the previous insert's splice when key falls right after it, or a few
  // nodes past it while recent inserts did (walk_credit_), else by a
  // search. REQUIRES: the writer.
  Node* FindSplice(const Key& key, Node** prev);
  // Links node (of height) in after the nodes FindSplice found and records
  // the splice for the next insert. REQUIRES: the writer.
  void Link(Node* node, int height, Node** prev);
  int RandomHeight();

  // The first node with key >= key, or nullptr. If prev is not null, fills
  // prev[level] with the last node before key at each level below
  // CurrentHeight().
  Node* FindGreaterOrEqual(const Key& key, Node** prev) const;
  // The last node linked at level 1 or above whose key is < key; head_ if
  // there is none (or the list has a single level).
  Node* LastLevel1Before(const Key& key) const;
  // The last node, or head_ if the list is empty.
  Node* FindLast() const;
  // The first node after node (in key order) that is linked at level 1, or
  // nullptr if there is none. REQUIRES: node is in the list.
  Node* FirstLevel1After(const Node* node) const;

  const Comparator compare_;
  Arena* const arena_;
  Node* const head_;  // sentinel; its key is never compared
  // Levels in use, 1..kMaxHeight. Written by the writer only; a reader that
  // sees a stale value just starts its search lower, and one that sees a new
  // value before the head's links at that level simply finds nullptr there.
  std::atomic<int> height_{1};
  Random rng_;  // writer only
  // The previous insert's node (nullptr before the first) and, per level,
  // the last node at or before it (head_ above the levels it reached and
  // below none). Writer only; nodes never move, so they stay valid.
  Node* last_ = nullptr;
  Node* splice_[kMaxHeight];
  // Inserts that may still step up to kMaxSpliceSteps nodes past last_
  // before searching: reset to kSpliceWalkCredit whenever a key lands there
  // (by the steps or by a search), one less for each walk that fails.
  static constexpr int kMaxSpliceSteps = 2;
  static constexpr int kSpliceWalkCredit = 8;
  int walk_credit_ = 0;
};

// A node is followed in memory by its `height` forward links, one per level.
template <typename Key, class Comparator>
struct SkipList<Key, Comparator>::Node {
  explicit Node(const Key& k) : key(k) {}

  const Key key;

  // Acquire: whatever the writer built before linking the node is visible.
  Node* Next(int level) const { return Link(level)->load(std::memory_order_acquire); }
  // Release: publishes the node n (and its key) to readers.
  void SetNext(int level, Node* n) { Link(level)->store(n, std::memory_order_release); }
  // For the writer, on links nobody else writes or on nodes not yet published.
  Node* RelaxedNext(int level) const { return Link(level)->load(std::memory_order_relaxed); }
  void RelaxedSetNext(int level, Node* n) { Link(level)->store(n, std::memory_order_relaxed); }

  std::atomic<Node*>* Link(int level) const {
    DCHECK(level >= 0 && level < kMaxHeight);
    const char* base = reinterpret_cast<const char*>(this) + sizeof(Node);
    return std::launder(reinterpret_cast<std::atomic<Node*>*>(const_cast<char*>(base)) + level);
  }
};

template <typename Key, class Comparator>
SkipList<Key, Comparator>::SkipList(Comparator cmp, Arena* arena, uint64_t seed)
    : compare_(cmp), arena_(arena), head_(NewNode(Key(), kMaxHeight)), rng_(seed) {
  for (Node*& n : splice_) n = head_;
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::NewNode(const Key& key,
                                                                             int height) {
  using Link = std::atomic<Node*>;
  static_assert(sizeof(Node) % alignof(Link) == 0, "links must follow the node aligned");
  static_assert(alignof(Node) <= Arena::kAlignment && alignof(Link) <= Arena::kAlignment);
  DCHECK(height >= 1 && height <= kMaxHeight);
  char* mem = arena_->AllocateAligned(sizeof(Node) + sizeof(Link) * static_cast<size_t>(height));
  return ConstructNode(mem, key, height);
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::ConstructNode(char* mem,
                                                                                   const Key& key,
                                                                                   int height) {
  using Link = std::atomic<Node*>;
  Node* node = new (mem) Node(key);
  for (int i = 0; i < height; i++) {
    new (mem + sizeof(Node) + sizeof(Link) * static_cast<size_t>(i)) Link(nullptr);
  }
  return node;
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Reservation SkipList<Key, Comparator>::Reserve(size_t payload) {
  using Link = std::atomic<Node*>;
  Reservation r;
  r.height = RandomHeight();
  const size_t node_bytes = sizeof(Node) + sizeof(Link) * static_cast<size_t>(r.height);
  r.node_memory = arena_->AllocateAligned(node_bytes + payload);
  r.payload = r.node_memory + node_bytes;
  return r;
}

template <typename Key, class Comparator>
void SkipList<Key, Comparator>::Insert(const Reservation& r, const Key& key) {
  Node* prev[kMaxHeight];
  Node* successor = FindSplice(key, prev);
  DCHECK(successor == nullptr || compare_(key, successor->key) != 0);
  (void)successor;
  Link(ConstructNode(r.node_memory, key, r.height), r.height, prev);
}

template <typename Key, class Comparator>
int SkipList<Key, Comparator>::RandomHeight() {
  int height = 1;
  while (height < kMaxHeight && rng_.OneIn(kBranching)) height++;
  return height;
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::FindGreaterOrEqual(
    const Key& key, Node** prev) const {
  Node* x = head_;
  int level = CurrentHeight() - 1;
  while (true) {
    Node* next = x->Next(level);
    // The node compared next is the one after next on this level if the
    // search moves right, or the one after x a level down if it moves down:
    // start loading both while next's key is compared (x's links are in
    // the cache already, so the second prefetch issues at once, and the two
    // misses overlap instead of following each other).
    if (level > 0) __builtin_prefetch(x->RelaxedNext(level - 1));
    if (next != nullptr) __builtin_prefetch(next->RelaxedNext(level));
    if (next != nullptr && compare_(next->key, key) < 0) {
      x = next;  // still before key: move right
    } else {
      if (prev != nullptr) prev[level] = x;
      if (level == 0) return next;
      level--;
    }
  }
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::FindLast() const {
  Node* x = head_;
  int level = CurrentHeight() - 1;
  while (true) {
    Node* next = x->Next(level);
    if (next != nullptr) {
      x = next;
    } else {
      if (level == 0) return x;
      level--;
    }
  }
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::LastLevel1Before(
    const Key& key) const {
  int level = CurrentHeight() - 1;
  Node* x = head_;
  if (level < 1) return x;
  while (true) {
    Node* next = x->Next(level);
    if (next != nullptr && compare_(next->key, key) < 0) {
      x = next;
    } else if (level == 1) {
      return x;
    } else {
      level--;
    }
  }
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::FirstLevel1After(
    const Node* node) const {
  int level = CurrentHeight() - 1;
  if (level < 1) return nullptr;
  Node* x = head_;
  while (true) {
    Node* next = x->Next(level);
    if (next != nullptr && compare_(next->key, node->key) < 0) {
      x = next;
    } else if (level == 1) {
      // next: the first level-1 node >= node's key; node itself if it is
      // linked at level 1 (keys are unique), then the one after it.
      return next == node ? next->Next(1) : next;
    } else {
      level--;
    }
  }
}

template <typename Key, class Comparator>
void SkipList<Key, Comparator>::Insert(const Key& key) {
  Node* prev[kMaxHeight];
  Node* successor = FindSplice(key, prev);
  DCHECK(successor == nullptr || compare_(key, successor->key) != 0);
  (void)successor;

  const int height = RandomHeight();
  Link(NewNode(key, height), height, prev);
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::FindSplice(const Key& key,
                                                                                Node** prev) {
  Node* next_to_last = nullptr;  // last_'s successor when key comes after it
  if (last_ != nullptr && compare_(last_->key, key) < 0) {
    Node* after = last_->RelaxedNext(0);
    if (after == nullptr || compare_(key, after->key) < 0) {
      // key goes right after last_. At each level the recorded node is
      // before last_ (so before key), and its successor there comes after
      // last_, so at or after `after` (so after key): the splice still holds.
      std::memcpy(prev, splice_, sizeof(splice_));  // a few vector moves, not a loop
      DCHECK(prev[0] == last_);
      return after;
    }
    next_to_last = after;
    if (walk_credit_ > 0) {
      // Ordered writes over keys that have entries already (a delete or a
      // newer version of each key in turn sorts just before the key's older
      // entry) land a node or two past last_: step there at level 0. A node
      // passed becomes the predecessor at every level it is linked at — the
      // levels whose recorded predecessor links to it — and the levels
      // above keep theirs, whose successors lie beyond it.
      std::memcpy(prev, splice_, sizeof(splice_));  // a few vector moves, not a loop
      for (int step = 0; step < kMaxSpliceSteps; step++) {
        DCHECK(compare_(after->key, key) < 0);
        for (int i = 0; i < kMaxHeight && prev[i]->RelaxedNext(i) == after; i++) prev[i] = after;
        after = after->RelaxedNext(0);
        if (after == nullptr || compare_(key, after->key) < 0) {
          walk_credit_ = kSpliceWalkCredit;
          return after;
        }
      }
      walk_credit_--;
    }
  }
  for (int i = CurrentHeight(); i < kMaxHeight; i++) prev[i] = head_;
  Node* const found = FindGreaterOrEqual(key, prev);
  // A search that lands one node past last_'s successor is what the walk
  // above would have found: the next inserts may well follow the same way.
  // (Random inserts almost never do, so they never pay for a walk.)
  if (next_to_last != nullptr && prev[0] == next_to_last) walk_credit_ = kSpliceWalkCredit;
  return found;
}

template <typename Key, class Comparator>
void SkipList<Key, Comparator>::Link(Node* node, int height, Node** prev) {
  if (height > CurrentHeight()) height_.store(height, std::memory_order_relaxed);
  for (int i = 0; i < height; i++) {
    // The node is private until the release store below links it at level i;
    // lower levels are linked first, so a reader that finds it at level i can
    // always continue below it.
    node->RelaxedSetNext(i, prev[i]->RelaxedNext(i));
    prev[i]->SetNext(i, node);
  }
  last_ = node;
  std::memcpy(splice_, prev, sizeof(splice_));
  for (int i = 0; i < height; i++) splice_[i] = node;
}

template <typename Key, class Comparator>
bool SkipList<Key, Comparator>::Contains(const Key& key) const {
  Node* x = FindGreaterOrEqual(key, nullptr);
  return x != nullptr && compare_(key, x->key) == 0;
}

}  // namespace lsmkv

#endif  // LSMKV_MEMTABLE_SKIPLIST_H_
