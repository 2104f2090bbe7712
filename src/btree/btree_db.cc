// The B+tree engine (docs/engines.md, docs/format/btree.md).
//
// Design: a copy-on-write B+tree whose nodes live in memory and whose
// committed state lives in a page file, plus a write-ahead log.
//  - A write batch is applied to a private copy of the path it changes
//    (nodes created by the batch are changed in place, the published tree is
//    never touched), logged to the write-ahead log, and published by
//    swapping the root pointer. Readers take the root they start from and
//    never block writers or see a half-applied batch; a snapshot is a root.
//  - A checkpoint writes every node changed since the last one to pages
//    that the last committed tree does not use (copy-on-write on disk: the
//    free pages), syncs, then writes the meta page (root, page count,
//    sequence, the first log to replay) into the meta slot the previous
//    checkpoint did not use, and syncs. A crash at any point leaves the
//    last committed meta and every page it reaches untouched; replaying the
//    logs it names brings back every write logged after it.
//  - The free pages are those of the file that the committed tree does not
//    reach: recomputed at each checkpoint from the committed tree, so no
//    free list can leak or disagree with the tree it describes.
//
// Locks: write_mu_ orders writers (Write, WriteIf, checkpoints, Resume,
// Close) and guards the log, the page file and the working tree; mu_
// guards the published root, the sequence and the error state. Order:
// write_mu_ before mu_. Readers take mu_ only to copy the root.
#include "btree/btree_db.h"

#include <algorithm>
#include <bit>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "btree/page.h"
#include "db/conditional_write.h"
#include "db/engine_file.h"
#include "db/engine_util.h"
#include "db/failed_transaction.h"
#include "util/check.h"
#include "util/coding.h"
#include "util/comparator.h"
#include "util/mutex.h"
#include "util/node_heap.h"
#include "util/thread_annotations.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

namespace lsmkv {

namespace {

using btree::kCapacity;
using btree::kMaxInline;
using btree::kPageSize;

constexpr const char* kPageFileName = "BTREE";

std::string LogFileName(const std::string& dir, uint64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "/BTREE-%06" PRIu64 ".log", number);
  return dir + buf;
}
// The number of a log file name, or false.
bool ParseLogName(const std::string& name, uint64_t* number) {
  if (name.size() < 11 || name.compare(0, 6, "BTREE-") != 0 ||
      name.compare(name.size() - 4, 4, ".log") != 0) {
    return false;
  }
  const std::string digits = name.substr(6, name.size() - 10);
  if (digits.empty() || digits.size() > 18 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *number = std::stoull(digits);
  return true;
}

Status ClosedError() { return Status::InvalidArgument("closed"); }

// Pages written for a large key or value (filled by the checkpoint that
// first writes the entry; shared by the copies of the entry).
struct Overflow {
  bool written = false;
  std::vector<uint64_t> key_pages, value_pages;
};

struct Node;
using NodePtr = std::shared_ptr<Node>;
// A node's buffers, and the node itself, live in the NodeHeap's huge pages
// (util/node_heap.h).
using NodeString = std::basic_string<char, std::char_traits<char>, NodeAllocator<char>>;
template <typename T>
using NodeVector = std::vector<T, NodeAllocator<T>>;

// The first 8 bytes of a key, big-endian, zero-padded: for bytewise order,
// a < b when Prefix(a) < Prefix(b); equal prefixes need the whole keys.
inline uint64_t KeyPrefix(std::string_view k) {
  if constexpr (std::endian::native == std::endian::little) {
    if (k.size() >= 8) {
      uint64_t p;
      std::memcpy(&p, k.data(), 8);
      return __builtin_bswap64(p);
    }
  }
  uint64_t p = 0;
  const size_t n = std::min<size_t>(8, k.size());
  for (size_t i = 0; i < n; i++) p |= uint64_t{static_cast<uint8_t>(k[i])} << (56 - 8 * i);
  return p;
}

std::shared_ptr<Overflow> NewOverflowIfLarge(std::string_view key, std::string_view value) {
  if (key.size() > kMaxInline || value.size() > kMaxInline) return std::make_shared<Overflow>();
  return nullptr;
}

// A separator on its way up to a parent (a split) or down (a merge).
struct Separator {
  std::string key;
  std::shared_ptr<Overflow> overflow;
};

// A tree node: a slotted buffer, as a page is. Its keys and values are
// bytes of data; slots, in key order, say where. Copying a node (copy on
// write) is a few allocations whatever its number of entries. Published
// nodes are immutable except for page and their Overflow objects, which
// only the checkpoint (under write_mu_) writes and readers never look at.
struct Node {
  struct Slot {
    // KeyPrefix(key.substr(common)): most comparisons need no more.
    uint64_t prefix;
    uint32_t key_offset, key_size, value_offset, value_size;
  };

  // What a search reads comes first (leaf, common, data, slots, children:
  // the first two cache lines of the node with its shared_ptr's block).
  bool leaf = true;
  // Every key of the node starts with the first `common` bytes of key(0)
  // (0 when the node is empty), so the slot prefixes are taken after them:
  // keys that share a long prefix (a leaf's neighbours) still differ in
  // their slot prefixes. Insert shrinks it; SetCommon grows it.
  uint32_t common = 0;
  NodeString data;  // key and value bytes (and garbage)
  NodeVector<Slot> slots;
  NodeVector<NodePtr> children;  // internal: slots.size() + 1
  uint64_t txn = 0;              // the batch that created it: that batch may change it
  uint64_t page = 0;             // page holding it, 0 until a checkpoint writes it
  size_t bytes = 0;              // size of its page body (<= kCapacity when published)
  size_t garbage = 0;            // bytes of data no slot refers to
  // Per slot: set iff its key or value is longer than kMaxInline.
  NodeVector<std::shared_ptr<Overflow>> overflow;

  Node() = default;
  // A copy (the copy a batch changes): the buffers as they are, or
  // without the garbage when it is a quarter of the bytes or more.
  Node(const Node& other)
      : leaf(other.leaf),
        common(other.common),
        children(other.children),
        bytes(other.bytes),
        overflow(other.overflow) {
    if (other.garbage * 4 < other.data.size()) {
      data = other.data;
      garbage = other.garbage;
      slots = other.slots;
      return;
    }
    data.reserve(other.data.size() - other.garbage + 64);
    slots.reserve(other.slots.size() + 1);
    for (size_t i = 0; i < other.size(); i++) AppendBytes(other.key(i), other.value(i));
  }
  Node& operator=(const Node&) = delete;

  size_t size() const { return slots.size(); }
  std::string_view key(size_t i) const {
    return {data.data() + slots[i].key_offset, slots[i].key_size};
  }
  std::string_view value(size_t i) const {
    return {data.data() + slots[i].value_offset, slots[i].value_size};
  }
  // Inserts an entry at i (key and value must not point into this node).
  void Insert(size_t i, std::string_view k, std::string_view v, std::shared_ptr<Overflow> o) {
    if (common > 0) {
      const size_t shared = SharedPrefix(k, key(0).substr(0, common));
      if (shared < common) Reprefix(static_cast<uint32_t>(shared));
    }
    const Slot slot = Store(k, v);
    slots.insert(slots.begin() + static_cast<ptrdiff_t>(i), slot);
    overflow.insert(overflow.begin() + static_cast<ptrdiff_t>(i), std::move(o));
  }
  void Append(std::string_view k, std::string_view v, std::shared_ptr<Overflow> o) {
    Insert(size(), k, v, std::move(o));
  }
  void SetValue(size_t i, std::string_view v, std::shared_ptr<Overflow> o) {
    garbage += slots[i].value_size;
    const auto offset = static_cast<uint32_t>(data.size());
    data.append(v);
    slots[i].value_offset = offset;
    slots[i].value_size = static_cast<uint32_t>(v.size());
    overflow[i] = std::move(o);
    MaybeCompact();
  }
  void Erase(size_t i) {
    garbage += slots[i].key_size + slots[i].value_size;
    slots.erase(slots.begin() + static_cast<ptrdiff_t>(i));
    overflow.erase(overflow.begin() + static_cast<ptrdiff_t>(i));
    if (slots.empty()) common = 0;
    MaybeCompact();
  }
  // Sets common to the longest prefix of every key. Requires keys in
  // bytewise order (then the first and last key bound it); with another
  // comparator the node keeps common 0 (Insert never grows it).
  void SetCommon() {
    const uint32_t c =
        size() < 2 ? 0 : static_cast<uint32_t>(SharedPrefix(key(0), key(size() - 1)));
    if (c != common) Reprefix(c);
  }
  static size_t SharedPrefix(std::string_view a, std::string_view b) {
    const size_t n = std::min(a.size(), b.size());
    size_t i = 0;
    while (i < n && a[i] == b[i]) i++;
    return i;
  }

 private:
  // Requires c to be a prefix length every key shares.
  void Reprefix(uint32_t c) {
    common = c;
    for (Slot& sl : slots) {
      sl.prefix = KeyPrefix(std::string_view(data.data() + sl.key_offset + c, sl.key_size - c));
    }
  }
  Slot Store(std::string_view k, std::string_view v) {
    Slot slot;
    slot.prefix = KeyPrefix(k.substr(common));
    slot.key_offset = static_cast<uint32_t>(data.size());
    slot.key_size = static_cast<uint32_t>(k.size());
    data.append(k);
    slot.value_offset = static_cast<uint32_t>(data.size());
    slot.value_size = static_cast<uint32_t>(v.size());
    data.append(v);
    return slot;
  }
  void AppendBytes(std::string_view k, std::string_view v) { slots.push_back(Store(k, v)); }
  void MaybeCompact() {
    if (garbage <= 4096 || garbage * 2 <= data.size()) return;
    NodeString old;
    old.swap(data);
    NodeVector<Slot> old_slots;
    old_slots.swap(slots);
    garbage = 0;
    for (const Slot& sl : old_slots) {
      AppendBytes({old.data() + sl.key_offset, sl.key_size},
                  {old.data() + sl.value_offset, sl.value_size});
    }
  }
};

template <typename... Args>
NodePtr AllocateNode(Args&&... args) {
  return std::allocate_shared<Node>(NodeAllocator<Node>(), std::forward<Args>(args)...);
}

size_t EntryBytes(const Node& n, size_t i) {
  return btree::BlobSize(n.slots[i].key_size) +
         (n.leaf ? btree::BlobSize(n.slots[i].value_size) : 8);
}
size_t SeparatorBytes(size_t key_size) { return btree::BlobSize(key_size) + 8; }
size_t NodeBytes(const Node& n) {
  size_t b = n.leaf ? 0 : 8;
  for (size_t i = 0; i < n.size(); i++) b += EntryBytes(n, i);
  return b;
}

class BTreeSnapshot final : public Snapshot {
 public:
  BTreeSnapshot(NodePtr root, uint64_t sequence) : root_(std::move(root)), sequence_(sequence) {}
  const NodePtr& root() const { return root_; }
  uint64_t sequence() const { return sequence_; }

 private:
  const NodePtr root_;
  const uint64_t sequence_;
};

// Ordering helpers over a comparator.
struct Order {
  ComparatorLess less;
  // Bytewise: key against the prefix every key of n shares: < 0 when key
  // orders before every key of n, > 0 after every key, 0 when key starts
  // with it (then its bytes from n.common on decide).
  static int CompareCommon(const Node& n, std::string_view key) {
    const size_t c = n.common;
    if (c == 0) return 0;
    const int r = std::memcmp(key.data(), n.key(0).data(), std::min(c, key.size()));
    if (r != 0) return r;
    return key.size() < c ? -1 : 0;
  }
  // Index of the child of internal node n whose range holds key.
  size_t ChildIndex(const Node& n, std::string_view key) const { return UpperBound(n, key); }
  // First entry of n greater than key.
  size_t UpperBound(const Node& n, std::string_view key) const {
    size_t lo = 0, hi = n.size();
    if (less.bytewise) {
      // The slots' key prefixes decide most steps without touching keys.
      const size_t c = n.common;
      if (const int r = CompareCommon(n, key); r != 0) return r < 0 ? 0 : n.size();
      const std::string_view rest = key.substr(c);
      const uint64_t p = KeyPrefix(rest);
      while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        const uint64_t q = n.slots[mid].prefix;
        if (p < q || (p == q && rest < n.key(mid).substr(c))) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      return lo;
    }
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (less(key, n.key(mid))) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }
  // First entry of n not less than key.
  size_t LowerBound(const Node& n, std::string_view key) const {
    size_t lo = 0, hi = n.size();
    if (less.bytewise) {
      const size_t c = n.common;
      if (const int r = CompareCommon(n, key); r != 0) return r < 0 ? 0 : n.size();
      const std::string_view rest = key.substr(c);
      const uint64_t p = KeyPrefix(rest);
      while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        const uint64_t q = n.slots[mid].prefix;
        if (q < p || (q == p && n.key(mid).substr(c) < rest)) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      return lo;
    }
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (less(n.key(mid), key)) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
  // The leaf holding key in the tree at n and the entry's index, or false.
  bool Find(const Node* n, std::string_view key, const Node** leaf, size_t* index) const {
    if (n == nullptr) return false;
    while (!n->leaf) n = n->children[ChildIndex(*n, key)].get();
    const size_t i = LowerBound(*n, key);
    // key(i) is the first key not less than key: it is key's entry iff it
    // is not greater (bytewise: the same bytes).
    if (i < n->size() && (less.bytewise ? n->key(i) == key : !less(key, n->key(i)))) {
      *leaf = n;
      *index = i;
      return true;
    }
    return false;
  }
  bool Contains(const Node* n, std::string_view key) const {
    const Node* leaf;
    size_t i;
    return Find(n, key, &leaf, &i);
  }
};

// Iterates a tree pinned by its root: keys and values point into nodes.
class BTreeIterator final : public Iterator {
 public:
  BTreeIterator(NodePtr root, const Order& order, const ReadOptions& o)
      : root_(std::move(root)), order_(order), lower_(o.lower_bound), upper_(o.upper_bound) {}
  bool Valid() const override { return valid_; }
  void SeekToFirst() override {
    if (lower_) {
      SeekGE(*lower_);
    } else {
      Descend(std::nullopt, /*forward=*/true);
      CheckUpper();
    }
  }
  void SeekToLast() override {
    if (upper_) {
      SeekLT(*upper_);
    } else {
      Descend(std::nullopt, /*forward=*/false);
      CheckLower();
    }
  }
  void Seek(std::string_view target) override {
    if (lower_ && order_.less(target, *lower_)) target = *lower_;
    SeekGE(target);
  }
  void SeekForPrev(std::string_view target) override {
    if (upper_ && !order_.less(target, *upper_)) {
      SeekLT(*upper_);
      return;
    }
    Descend(target, /*forward=*/false);  // the last key <= target
    CheckLower();
  }
  void Next() override {
    auto& [leaf, i] = path_.back();
    if (++i >= leaf->size()) NextLeaf();
    CheckUpper();
  }
  void Prev() override {
    auto& [leaf, i] = path_.back();
    if (i == 0) {
      PrevLeaf();
    } else {
      --i;
    }
    CheckLower();
  }
  std::string_view key() const override { return path_.back().first->key(path_.back().second); }
  std::string_view value() const override { return path_.back().first->value(path_.back().second); }
  Status status() const override { return Status::OK(); }

 private:
  void SeekGE(std::string_view target) {
    Descend(target, /*forward=*/true);
    CheckUpper();
  }
  void SeekLT(std::string_view target) {
    // The last key < target: position at the first key >= target, step back.
    Descend(target, /*forward=*/true, /*then_prev=*/true);
    CheckLower();
  }
  // Positions on the first key >= target (forward), or the last key <=
  // target (backward); no target: the first or the last key. With then_prev
  // (forward only): on the key before that position.
  void Descend(std::optional<std::string_view> target, bool forward, bool then_prev = false) {
    path_.clear();
    valid_ = false;
    const Node* n = root_.get();
    if (n == nullptr) return;
    while (!n->leaf) {
      size_t i = target ? order_.ChildIndex(*n, *target) : forward ? 0 : n->children.size() - 1;
      path_.emplace_back(n, i);
      n = n->children[i].get();
    }
    valid_ = true;
    if (forward) {
      const size_t i = target ? order_.LowerBound(*n, *target) : 0;
      path_.emplace_back(n, i);
      if (then_prev) {
        if (i == 0) {
          PrevLeaf();
        } else {
          path_.back().second = i - 1;
        }
      } else if (i >= n->size()) {
        NextLeaf();
      }
    } else {
      // Last key <= target.
      const size_t i = target ? order_.UpperBound(*n, *target) : n->size();
      path_.emplace_back(n, i);
      if (i == 0) {
        PrevLeaf();
      } else {
        path_.back().second = i - 1;
      }
    }
  }
  // Moves to the first entry of the next non-empty leaf, or invalid.
  void NextLeaf() {
    path_.pop_back();
    while (!path_.empty()) {
      auto& [n, i] = path_.back();
      if (i + 1 < n->children.size()) {
        ++i;
        const Node* c = n->children[i].get();
        while (!c->leaf) {
          path_.emplace_back(c, 0);
          c = c->children[0].get();
        }
        if (c->size() > 0) {
          path_.emplace_back(c, 0);
          return;
        }
        continue;
      }
      path_.pop_back();
    }
    valid_ = false;
  }
  void PrevLeaf() {
    path_.pop_back();
    while (!path_.empty()) {
      auto& [n, i] = path_.back();
      if (i > 0) {
        --i;
        const Node* c = n->children[i].get();
        while (!c->leaf) {
          path_.emplace_back(c, c->children.size() - 1);
          c = c->children.back().get();
        }
        if (c->size() > 0) {
          path_.emplace_back(c, c->size() - 1);
          return;
        }
        continue;
      }
      path_.pop_back();
    }
    valid_ = false;
  }
  void CheckUpper() {
    if (valid_ && upper_ && !order_.less(key(), *upper_)) valid_ = false;
  }
  void CheckLower() {
    if (valid_ && lower_ && order_.less(key(), *lower_)) valid_ = false;
  }

  const NodePtr root_;
  const Order order_;
  const std::optional<std::string> lower_, upper_;
  std::vector<std::pair<const Node*, size_t>> path_;
  bool valid_ = false;
};

class BTreeDB final : public DB, public ConditionalWriter {
 public:
  BTreeDB(const Options& options, const std::string& path)
      : options_(options),
        env_(options.env != nullptr ? options.env : Env::Default()),
        path_(path),
        comparator_(options.comparator != nullptr ? options.comparator : BytewiseComparator()),
        order_{ComparatorLess(comparator_)} {}

  ~BTreeDB() override { Close().PermitUncheckedError(); }

  Status OpenAndRecover();

  // ---------------------------------------------------------------- writes
  Status Put(const WriteOptions& o, std::string_view key, std::string_view value) override {
    WriteBatch batch;
    batch.Put(key, value);
    return Write(o, &batch);
  }
  Status Delete(const WriteOptions& o, std::string_view key) override {
    WriteBatch batch;
    batch.Delete(key);
    return Write(o, &batch);
  }
  Status DeleteRange(const WriteOptions& o, std::string_view begin, std::string_view end) override {
    WriteBatch batch;
    batch.DeleteRange(begin, end);
    return Write(o, &batch);
  }
  Status Write(const WriteOptions& o, WriteBatch* batch) override { return WriteIf(o, batch, {}); }
  Status WriteIf(const WriteOptions& o, WriteBatch* batch,
                 const std::function<Status()>& check) override;

  // ---------------------------------------------------------------- reads
  Status Get(const ReadOptions& o, std::string_view key, std::string* value) override {
    NodePtr root;
    if (o.snapshot != nullptr) {
      root = static_cast<const BTreeSnapshot*>(o.snapshot)->root();
    } else {
      SpinMutexLock lock(&root_mu_);
      if (reads_closed_) return ClosedError();
      root = root_;
    }
    const Node* leaf;
    size_t i;
    if (!order_.Find(root.get(), key, &leaf, &i)) return Status::NotFound("");
    const std::string_view v = leaf->value(i);
    value->assign(v.data(), v.size());
    return Status::OK();
  }

  std::unique_ptr<Iterator> NewIterator(const ReadOptions& o) override {
    NodePtr root;
    if (o.snapshot != nullptr) {
      root = static_cast<const BTreeSnapshot*>(o.snapshot)->root();
    } else {
      SpinMutexLock lock(&root_mu_);
      if (reads_closed_) return std::unique_ptr<Iterator>(NewEmptyIterator(ClosedError()));
      root = root_;
    }
    return std::make_unique<BTreeIterator>(std::move(root), order_, o);
  }

  const Snapshot* GetSnapshot() override {
    MutexLock lock(&mu_);
    if (closed_) return nullptr;
    snapshots_++;
    return new BTreeSnapshot(LoadRoot(), last_sequence_);
  }
  void ReleaseSnapshot(const Snapshot* snapshot) override {
    if (snapshot == nullptr) return;
    {
      MutexLock lock(&mu_);
      snapshots_--;
    }
    delete static_cast<const BTreeSnapshot*>(snapshot);
  }

  std::unique_ptr<Transaction> BeginTransaction(const WriteOptions&,
                                                const TransactionOptions&) override {
    // The engine switch wraps this DB with the generic transactions
    // (engines/transactional_db.h), which use WriteIf.
    return NewFailedTransaction(
        Status::NotSupported("btree transactions", "open the database with DB::Open"));
  }

  Status CompactRange(const std::string*, const std::string*) override { return Flush(); }

  Status GetApproximateSizes(const Range* ranges, int n, uint64_t* sizes) override {
    NodePtr root;
    {
      MutexLock lock(&mu_);
      for (int i = 0; i < n; i++) sizes[i] = 0;
      if (closed_) return ClosedError();
      root = LoadRoot();
    }
    ReadOptions ro;
    for (int i = 0; i < n; i++) {
      BTreeIterator it(root, order_, ro);
      for (it.Seek(ranges[i].start); it.Valid() && order_.less(it.key(), ranges[i].limit);
           it.Next()) {
        sizes[i] += it.key().size() + it.value().size();
      }
    }
    return Status::OK();
  }

  // Makes every write durable in the page file (a checkpoint).
  Status Flush() override {
    MutexLock wlock(&write_mu_);
    {
      MutexLock lock(&mu_);
      if (closed_) return ClosedError();
      if (!bg_error_.ok()) return bg_error_;
    }
    Status s = CheckpointLocked();
    if (!s.ok()) SetError(s);
    return s;
  }

  bool GetProperty(std::string_view name, std::string* value) override;

  Status Close() override {
    MutexLock wlock(&write_mu_);
    {
      MutexLock lock(&mu_);
      if (closed_) return Status::OK();
    }
    Status result;
    bool failed;
    {
      MutexLock lock(&mu_);
      failed = !bg_error_.ok();
      if (failed) result = bg_error_;
    }
    // A checkpoint at close makes the next open quick (nothing to replay).
    if (!failed && opened_) result = CheckpointLocked();
    if (log_file_ != nullptr) {
      log_.reset();
      Status c = log_file_->Close();
      if (result.ok()) result = c;
      log_file_.reset();
    }
    if (page_file_ != nullptr) {
      Status c = page_file_->Close();
      if (result.ok()) result = c;
      page_file_.reset();
    }
    MutexLock lock(&mu_);
    closed_ = true;
    {
      SpinMutexLock root_lock(&root_mu_);
      reads_closed_ = true;
      root_.reset();
    }
    work_.reset();
    durable_root_.reset();
    if (lock_ != nullptr) {
      env_->UnlockFile(lock_).PermitUncheckedError();
      lock_ = nullptr;
    }
    return result;
  }

  Status Resume() override {
    MutexLock wlock(&write_mu_);
    {
      MutexLock lock(&mu_);
      if (closed_) return ClosedError();
      if (bg_error_.ok()) return Status::OK();
      if (!bg_error_.IsNoSpace()) return bg_error_;
    }
    // A failed append may have left part of a record at the log's end:
    // continue in a new log (recovery drops an incomplete last record of
    // each log), then retry the checkpoint.
    Status s = NewLogLocked();
    if (s.ok()) s = CheckpointLocked();
    MutexLock lock(&mu_);
    if (s.ok()) bg_error_ = Status::OK();
    return s.ok() ? Status::OK() : bg_error_;
  }

 private:
  // One logged operation.
  struct Op {
    bool put;
    std::string key, value;
  };

  // Checks the invariants of the tree at root: keys in order and inside
  // their parent's range, every node fits a page, every node but the root
  // at least a quarter full (leaves: not empty), every leaf at one depth,
  // internal nodes with keys + 1 children, byte counts exact.
  std::string CheckTree(const Node* root) const {
    if (root == nullptr) return "ok";
    std::string error;
    int leaf_depth = -1;
    std::function<void(const Node*, int, const std::string*, const std::string*)> check =
        [&](const Node* n, int depth, const std::string* lo, const std::string* hi) {
          if (!error.empty()) return;
          if (n->bytes != NodeBytes(*n)) error = "byte count differs";
          if (n->bytes > kCapacity) error = "node larger than a page";
          if (n->leaf && n->size() == 0) error = "empty leaf";
          if (n->overflow.size() != n->size()) error = "overflow slots differ";
          if (n->size() == 0 && n->common != 0) error = "common prefix in an empty node";
          if (!order_.less.bytewise && n->common != 0) error = "common prefix, not bytewise";
          for (size_t i = 0; i < n->size(); i++) {
            const std::string_view k = n->key(i);
            if (k.size() < n->common ||
                k.compare(0, n->common, n->key(0).substr(0, n->common)) != 0) {
              error = "a key without the node's common prefix";
            } else if (n->slots[i].prefix != KeyPrefix(k.substr(n->common))) {
              error = "slot prefix differs from its key's";
            }
            if ((n->overflow[i] != nullptr) !=
                (k.size() > kMaxInline || n->value(i).size() > kMaxInline)) {
              error = "overflow set for an entry that does not need one, or missing";
            }
            if ((i > 0 && !order_.less(n->key(i - 1), k)) ||
                (lo != nullptr && order_.less(k, *lo)) || (hi != nullptr && !order_.less(k, *hi))) {
              error = "keys out of order";
            }
          }
          if (n->leaf) {
            if (leaf_depth == -1) leaf_depth = depth;
            if (leaf_depth != depth) error = "leaves at different depths";
            return;
          }
          if (n->children.size() != n->size() + 1 || n->size() == 0) {
            error = "internal node with a bad child count";
            return;
          }
          for (size_t i = 0; i < n->children.size(); i++) {
            const Node* c = n->children[i].get();
            // Underfull children must not fit together with a neighbour.
            if (c->bytes < kCapacity / 4) {
              for (size_t j : {i - 1, i + 1}) {
                if (j >= n->children.size()) continue;
                const Node* d = n->children[j].get();
                const size_t sep = c->leaf ? 0 : SeparatorBytes(n->key(std::min(i, j)).size());
                if (c->bytes + d->bytes + sep - (c->leaf ? 0 : 8) <= kCapacity) {
                  error = "underfull node beside a sibling it fits with";
                }
              }
            }
            const std::string clo(i == 0 ? std::string_view() : n->key(i - 1));
            const std::string chi(i < n->size() ? n->key(i) : std::string_view());
            check(c, depth + 1, i == 0 ? lo : &clo, i < n->size() ? &chi : hi);
          }
        };
    check(root, 0, nullptr, nullptr);
    return error.empty() ? "ok" : error;
  }

  void SetError(const Status& s) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if (bg_error_.ok()) bg_error_ = s;
  }

  // ---- The working tree (write_mu_): copy-on-write changes of a batch.
  Node* Writable(NodePtr& slot) REQUIRES(write_mu_) {
    if (slot->txn != txn_) {
      auto copy = AllocateNode(*slot);
      copy->txn = txn_;
      copy->page = 0;
      if (order_.less.bytewise) copy->SetCommon();
      slot = std::move(copy);
    }
    return slot.get();
  }
  NodePtr NewNode(bool leaf) REQUIRES(write_mu_) {
    auto n = AllocateNode();
    n->leaf = leaf;
    n->txn = txn_;
    return n;
  }
  void PutTo(NodePtr& slot, std::string_view key, std::string_view value) REQUIRES(write_mu_);
  void DeleteFrom(NodePtr& slot, std::string_view key) REQUIRES(write_mu_);
  // After child i of n changed: splits it if it outgrew a page, merges or
  // redistributes it with a sibling if it fell under a quarter page.
  void FixChild(Node* n, size_t i) REQUIRES(write_mu_);
  // Splits node (owned by this batch) into pieces that each fit a page;
  // appends (separator before the piece, piece) to out.
  void SplitInto(NodePtr node, Separator separator, std::vector<std::pair<Separator, NodePtr>>* out)
      REQUIRES(write_mu_);
  void FixRoot() REQUIRES(write_mu_);
  void ApplyPut(std::string_view key, std::string_view value) REQUIRES(write_mu_);
  bool ApplyDelete(std::string_view key) REQUIRES(write_mu_);
  // Applies a decoded log record to the working tree (recovery).
  Status ApplyRecord(std::string_view record, uint64_t* first, uint64_t* count) REQUIRES(write_mu_);

  // ---- Files (write_mu_).
  Status NewLogLocked() REQUIRES(write_mu_) EXCLUDES(mu_);
  Status CheckpointLocked() REQUIRES(write_mu_) EXCLUDES(mu_);
  Status WritePagesLocked(const std::vector<std::pair<uint64_t, std::string>>& pages)
      REQUIRES(write_mu_);
  Status ReadPage(uint64_t page, std::string* out) REQUIRES(write_mu_);
  Status LoadNode(uint64_t page, int depth, const std::string* lo, const std::string* hi,
                  uint64_t checkpoint, std::vector<bool>* seen, NodePtr* out) REQUIRES(write_mu_);
  Status LoadBlob(const btree::BlobRef& ref, uint64_t checkpoint, std::vector<bool>* seen,
                  std::string* out, std::vector<uint64_t>* pages) REQUIRES(write_mu_);
  Status ReplayLogs(uint64_t first_log, uint64_t* max_log) REQUIRES(write_mu_) EXCLUDES(mu_);

  const Options options_;
  Env* const env_;
  const std::string path_;
  const Comparator* const comparator_;
  const Order order_;

  Mutex write_mu_ ACQUIRED_BEFORE(mu_);
  uint64_t txn_ GUARDED_BY(write_mu_) = 0;
  NodePtr work_ GUARDED_BY(write_mu_);  // the tree a batch changes
  uint64_t work_keys_ GUARDED_BY(write_mu_) = 0;
  NodePtr durable_root_ GUARDED_BY(write_mu_);  // the tree of the last meta
  std::unique_ptr<RandomRWFile> page_file_ GUARDED_BY(write_mu_);
  std::unique_ptr<WritableFile> log_file_ GUARDED_BY(write_mu_);
  std::unique_ptr<log::Writer> log_ GUARDED_BY(write_mu_);
  uint64_t log_number_ GUARDED_BY(write_mu_) = 0;
  uint64_t log_bytes_ GUARDED_BY(write_mu_) = 0;       // in logs not yet checkpointed
  uint64_t first_live_log_ GUARDED_BY(write_mu_) = 0;  // the meta's wal_number
  btree::Meta meta_ GUARDED_BY(write_mu_);             // the last committed meta
  std::string record_ GUARDED_BY(write_mu_);           // scratch
  bool opened_ GUARDED_BY(write_mu_) = false;          // OpenAndRecover succeeded

  mutable Mutex mu_;
  bool closed_ GUARDED_BY(mu_) = false;
  FileLock* lock_ = nullptr;
  // The published tree, behind a spin lock held only to copy or set the
  // pointer, so that a point read takes no mutex: readers take root_mu_
  // alone; writers set root_ (StoreRoot) holding mu_ as well, so that under
  // mu_ it agrees with keys_ and last_sequence_. Lock order: mu_, then
  // root_mu_; nothing is taken while holding root_mu_.
  mutable SpinMutex root_mu_;
  NodePtr root_ GUARDED_BY(root_mu_);
  bool reads_closed_ GUARDED_BY(root_mu_) = false;  // set by Close with closed_
  NodePtr LoadRoot() const EXCLUDES(root_mu_) {
    SpinMutexLock lock(&root_mu_);
    return root_;
  }
  void StoreRoot(NodePtr root) EXCLUDES(root_mu_) {
    SpinMutexLock lock(&root_mu_);
    root_ = std::move(root);
  }
  uint64_t keys_ GUARDED_BY(mu_) = 0;
  uint64_t last_sequence_ GUARDED_BY(mu_) = 0;
  uint64_t snapshots_ GUARDED_BY(mu_) = 0;
  Status bg_error_ GUARDED_BY(mu_);
  uint64_t checkpoints_ GUARDED_BY(mu_) = 0;
  uint64_t pages_written_ GUARDED_BY(mu_) = 0;
  uint64_t free_pages_ GUARDED_BY(mu_) = 0;
  uint64_t page_count_ GUARDED_BY(mu_) = 0;
  uint64_t depth_ GUARDED_BY(mu_) = 0;
  uint64_t replayed_records_ GUARDED_BY(mu_) = 0;
  uint64_t recovery_micros_ GUARDED_BY(mu_) = 0;
};

// ---------------------------------------------------------------- the tree

void BTreeDB::PutTo(NodePtr& slot, std::string_view key, std::string_view value) {
  Node* n = Writable(slot);
  if (n->leaf) {
    const size_t i = order_.LowerBound(*n, key);
    if (i < n->size() && !order_.less(key, n->key(i))) {
      n->bytes -= EntryBytes(*n, i);
      n->SetValue(i, value, NewOverflowIfLarge(key, value));
    } else {
      n->Insert(i, key, value, NewOverflowIfLarge(key, value));
      work_keys_++;
    }
    n->bytes += EntryBytes(*n, i);
    return;
  }
  const size_t i = order_.ChildIndex(*n, key);
  PutTo(n->children[i], key, value);
  FixChild(n, i);
}

void BTreeDB::DeleteFrom(NodePtr& slot, std::string_view key) {
  Node* n = Writable(slot);
  if (n->leaf) {
    const size_t i = order_.LowerBound(*n, key);
    CHECK(i < n->size() && !order_.less(key, n->key(i)));
    n->bytes -= EntryBytes(*n, i);
    n->Erase(i);
    work_keys_--;
    return;
  }
  const size_t i = order_.ChildIndex(*n, key);
  DeleteFrom(n->children[i], key);
  FixChild(n, i);
}

void BTreeDB::SplitInto(NodePtr node, Separator separator,
                        std::vector<std::pair<Separator, NodePtr>>* out) {
  if (node->bytes <= kCapacity) {
    out->emplace_back(std::move(separator), std::move(node));
    return;
  }
  const size_t n = node->size();
  CHECK(n >= 2);
  // The split point that best balances the two halves' sizes.
  size_t best = 0, best_max = SIZE_MAX, prefix = 0;
  const size_t total = node->bytes;
  if (node->leaf) {
    // Left: entries [0, p); right: [p, n).
    for (size_t p = 1; p < n; p++) {
      prefix += EntryBytes(*node, p - 1);
      const size_t m = std::max(prefix, total - prefix);
      if (m < best_max) best_max = m, best = p;
    }
  } else {
    // Left: entries [0, p) and children [0, p]; entry p moves up; right:
    // entries (p, n) and children [p+1, n].
    for (size_t p = 1; p + 1 < n; p++) {
      prefix += EntryBytes(*node, p - 1);
      const size_t left = 8 + prefix;
      const size_t right = total - prefix - EntryBytes(*node, p);
      const size_t m = std::max(left, right);
      if (m < best_max) best_max = m, best = p;
    }
    if (best == 0) best = 1;
  }
  NodePtr left = NewNode(node->leaf);
  NodePtr right = NewNode(node->leaf);
  Separator up;
  const size_t right_from = node->leaf ? best : best + 1;
  for (size_t i = 0; i < best; i++) left->Append(node->key(i), node->value(i), node->overflow[i]);
  for (size_t i = right_from; i < n; i++) {
    right->Append(node->key(i), node->value(i), node->overflow[i]);
  }
  if (node->leaf) {
    up.key.assign(right->key(0));
    up.overflow = NewOverflowIfLarge(up.key, "");
  } else {
    up.key.assign(node->key(best));
    up.overflow = node->overflow[best];
    left->children.assign(node->children.begin(), node->children.begin() + best + 1);
    right->children.assign(node->children.begin() + best + 1, node->children.end());
  }
  left->bytes = NodeBytes(*left);
  right->bytes = NodeBytes(*right);
  if (order_.less.bytewise) {
    left->SetCommon();
    right->SetCommon();
  }
  SplitInto(std::move(left), std::move(separator), out);
  SplitInto(std::move(right), std::move(up), out);
}

void BTreeDB::FixChild(Node* n, size_t i) {
  Node* c = n->children[i].get();
  if (c->bytes > kCapacity) {
    std::vector<std::pair<Separator, NodePtr>> pieces;
    SplitInto(n->children[i], Separator{}, &pieces);
    n->children[i] = std::move(pieces[0].second);
    for (size_t k = 1; k < pieces.size(); k++) {
      n->bytes += SeparatorBytes(pieces[k].first.key.size());
      n->Insert(i + k - 1, pieces[k].first.key, "", std::move(pieces[k].first.overflow));
      n->children.insert(n->children.begin() + static_cast<ptrdiff_t>(i + k),
                         std::move(pieces[k].second));
    }
    return;
  }
  if (c->bytes >= kCapacity / 4 || n->children.size() < 2) return;
  // Merge child l + 1 into child l; split the result again if it does not
  // fit (which redistributes the entries of the two).
  const size_t l = i > 0 ? i - 1 : i;
  Node* left = Writable(n->children[l]);
  const Node* right = n->children[l + 1].get();
  if (!left->leaf) left->Append(n->key(l), "", n->overflow[l]);
  for (size_t k = 0; k < right->size(); k++) {
    left->Append(right->key(k), right->value(k), right->overflow[k]);
  }
  for (const NodePtr& child : right->children) left->children.push_back(child);
  left->bytes = NodeBytes(*left);
  n->Erase(l);
  n->children.erase(n->children.begin() + static_cast<ptrdiff_t>(l + 1));
  n->bytes = NodeBytes(*n);
  if (left->bytes > kCapacity) FixChild(n, l);
}

void BTreeDB::FixRoot() {
  if (work_ == nullptr) return;
  while (work_->bytes > kCapacity) {
    std::vector<std::pair<Separator, NodePtr>> pieces;
    SplitInto(work_, Separator{}, &pieces);
    NodePtr root = NewNode(/*leaf=*/false);
    root->children.push_back(std::move(pieces[0].second));
    for (size_t k = 1; k < pieces.size(); k++) {
      root->Append(pieces[k].first.key, "", std::move(pieces[k].first.overflow));
      root->children.push_back(std::move(pieces[k].second));
    }
    root->bytes = NodeBytes(*root);
    work_ = std::move(root);
  }
  while (!work_->leaf && work_->children.size() == 1) {
    NodePtr child = work_->children[0];
    work_ = std::move(child);
  }
  if (work_->leaf && work_->size() == 0) work_.reset();
}

void BTreeDB::ApplyPut(std::string_view key, std::string_view value) {
  if (work_ == nullptr) work_ = NewNode(/*leaf=*/true);
  PutTo(work_, key, value);
  FixRoot();
}

bool BTreeDB::ApplyDelete(std::string_view key) {
  if (!order_.Contains(work_.get(), key)) return false;
  DeleteFrom(work_, key);
  FixRoot();
  return true;
}

// ---------------------------------------------------------------- writes

// A log record: fixed64 first sequence, varint32 op count, then per op a
// byte (1 put, 0 delete), the length-prefixed key and, for a put, the
// length-prefixed value. Range deletions are logged as the deletions of the
// keys they removed.
Status BTreeDB::ApplyRecord(std::string_view record, uint64_t* first, uint64_t* count) {
  uint32_t n;
  if (!GetFixed64(&record, first) || !GetVarint32(&record, &n)) {
    return Status::Corruption("btree log record", "truncated header");
  }
  *count = n;
  for (uint32_t i = 0; i < n; i++) {
    if (record.empty()) return Status::Corruption("btree log record", "truncated");
    const char type = record[0];
    record.remove_prefix(1);
    std::string_view key, value;
    if (!GetLengthPrefixed(&record, &key) || (type == 1 && !GetLengthPrefixed(&record, &value)) ||
        (type != 0 && type != 1)) {
      return Status::Corruption("btree log record", "bad op");
    }
    if (type == 1) {
      ApplyPut(key, value);
    } else {
      ApplyDelete(key);
    }
  }
  if (!record.empty()) return Status::Corruption("btree log record", "trailing bytes");
  return Status::OK();
}

Status BTreeDB::WriteIf(const WriteOptions& o, WriteBatch* batch,
                        const std::function<Status()>& check) {
  struct Collector : WriteBatch::Handler {
    std::vector<std::pair<int, std::pair<std::string, std::string>>> ops;  // 0 del 1 put 2 range
    size_t max_key, max_value;
    Status error;
    void Put(std::string_view k, std::string_view v) override {
      if ((k.size() > max_key || v.size() > max_value) && error.ok()) {
        error = Status::InvalidArgument(k.size() > max_key ? "key exceeds max_key_size"
                                                           : "value exceeds max_value_size");
      }
      ops.push_back({1, {std::string(k), std::string(v)}});
    }
    void Delete(std::string_view k) override {
      if (k.size() > max_key && error.ok()) {
        error = Status::InvalidArgument("key exceeds max_key_size");
      }
      ops.push_back({0, {std::string(k), {}}});
    }
    bool DeleteRange(std::string_view b, std::string_view e) override {
      ops.push_back({2, {std::string(b), std::string(e)}});
      return true;
    }
  };

  MutexLock wlock(&write_mu_);
  {
    MutexLock lock(&mu_);
    if (closed_) return ClosedError();
    if (!bg_error_.ok()) return bg_error_;
  }
  if (check) {
    Status s = check();
    if (!s.ok()) return s;
  }
  Collector collector;
  collector.max_key = options_.max_key_size;
  collector.max_value = options_.max_value_size;
  Status s = batch->Iterate(&collector);
  if (s.ok()) s = collector.error;
  if (!s.ok()) return s;
  if (collector.ops.empty()) return Status::OK();

  uint64_t first_sequence;
  uint64_t keys_before;
  {
    MutexLock lock(&mu_);
    first_sequence = last_sequence_ + 1;
    work_ = LoadRoot();
    keys_before = keys_;
  }
  work_keys_ = keys_before;
  txn_++;
  // Apply to the working tree, logging what each op did.
  std::string ops;
  uint32_t count = 0;
  for (auto& [type, kv] : collector.ops) {
    auto& [a, b] = kv;
    if (type == 1) {
      ApplyPut(a, b);
      ops.push_back(1);
      PutLengthPrefixed(&ops, a);
      PutLengthPrefixed(&ops, b);
      count++;
    } else if (type == 0) {
      ApplyDelete(a);
      ops.push_back(0);
      PutLengthPrefixed(&ops, a);
      count++;
    } else {
      if (!order_.less(a, b)) continue;
      std::vector<std::string> keys;
      BTreeIterator it(work_, order_, ReadOptions());
      for (it.Seek(a); it.Valid() && order_.less(it.key(), b); it.Next()) {
        keys.emplace_back(it.key());
      }
      for (const std::string& k : keys) {
        ApplyDelete(k);
        ops.push_back(0);
        PutLengthPrefixed(&ops, k);
        count++;
      }
    }
  }
  if (count == 0) {
    work_.reset();
    return Status::OK();
  }
  record_.clear();
  PutFixed64(&record_, first_sequence);
  PutVarint32(&record_, count);
  record_.append(ops);
  s = log_->AddRecord(record_);
  if (s.ok()) s = log_file_->Flush();
  if (s.ok() && o.sync) s = log_file_->Sync();
  if (!s.ok()) {
    work_.reset();
    SetError(s);
    return s;
  }
  log_bytes_ += record_.size();
  {
    MutexLock lock(&mu_);
    StoreRoot(std::move(work_));
    keys_ = work_keys_;
    last_sequence_ = first_sequence + count - 1;
  }
  work_.reset();
  if (log_bytes_ >= options_.btree_checkpoint_bytes) {
    // The write is logged (durable as asked); a failed checkpoint stops
    // later writes until Resume, but this one stands.
    Status c = CheckpointLocked();
    if (!c.ok()) SetError(c);
  }
  return Status::OK();
}

// ---------------------------------------------------------------- files

Status BTreeDB::NewLogLocked() {
  const uint64_t number = log_number_ + 1;
  std::unique_ptr<WritableFile> file;
  Status s = env_->NewWritableFile(LogFileName(path_, number), &file);
  // The log's name must survive a crash before any write in it is synced.
  if (s.ok()) s = env_->SyncDir(path_);
  if (!s.ok()) return s;
  if (log_file_ != nullptr) {
    log_.reset();
    // Its records are covered by the next checkpoint, or replayed.
    log_file_->Close().PermitUncheckedError();
  }
  log_file_ = std::move(file);
  log_ = std::make_unique<log::Writer>(log_file_.get(), number);
  log_number_ = number;
  return Status::OK();
}

Status BTreeDB::WritePagesLocked(const std::vector<std::pair<uint64_t, std::string>>& pages) {
  // Consecutive pages go out in one write.
  size_t i = 0;
  std::string run;
  while (i < pages.size()) {
    size_t j = i + 1;
    while (j < pages.size() && pages[j].first == pages[j - 1].first + 1 && j - i < 256) j++;
    run.clear();
    for (size_t k = i; k < j; k++) run.append(pages[k].second);
    Status s = page_file_->Write(pages[i].first * kPageSize, run);
    if (!s.ok()) return s;
    i = j;
  }
  return Status::OK();
}

Status BTreeDB::CheckpointLocked() {
  NodePtr root;
  uint64_t last_sequence, keys;
  {
    MutexLock lock(&mu_);
    root = LoadRoot();
    last_sequence = last_sequence_;
    keys = keys_;
  }
  if (root == durable_root_ && last_sequence == meta_.last_sequence) {
    // Nothing new: the logs written since hold nothing.
    return Status::OK();
  }
  // Writes from now on go to a new log; the meta below names it.
  Status s = NewLogLocked();
  if (!s.ok()) return s;

  // Free pages: those the committed tree does not reach.
  std::vector<bool> used(meta_.page_count, false);
  used[0] = used[1] = true;
  std::vector<const Node*> stack;
  if (durable_root_ != nullptr) stack.push_back(durable_root_.get());
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    used[n->page] = true;
    for (const auto& o : n->overflow) {
      if (o == nullptr) continue;
      for (uint64_t p : o->key_pages) used[p] = true;
      for (uint64_t p : o->value_pages) used[p] = true;
    }
    for (const NodePtr& c : n->children) stack.push_back(c.get());
  }
  std::vector<uint64_t> free;
  for (uint64_t p = meta_.page_count; p-- > btree::kFirstTreePage;) {
    if (!used[p]) free.push_back(p);  // descending: pop_back gives the lowest
  }
  uint64_t page_count = meta_.page_count;
  const uint64_t checkpoint = meta_.checkpoint + 1;
  auto allocate = [&]() -> uint64_t {
    if (!free.empty()) {
      const uint64_t p = free.back();
      free.pop_back();
      return p;
    }
    return page_count++;
  };

  // Assign pages to the nodes (and large entries) changed since the last
  // checkpoint, children first, and encode them. Undone if anything fails.
  std::vector<Node*> assigned;
  std::vector<Overflow*> assigned_overflow;
  std::vector<std::pair<uint64_t, std::string>> pages;
  uint64_t depth = 0;
  auto encode_chain = [&](std::string_view data, std::vector<uint64_t>* chain) {
    const size_t n = (data.size() + btree::kOverflowData - 1) / btree::kOverflowData;
    chain->clear();
    for (size_t k = 0; k < n; k++) chain->push_back(allocate());
    for (size_t k = 0; k < n; k++) {
      std::string page(kPageSize, '\0');
      const std::string_view part = data.substr(k * btree::kOverflowData, btree::kOverflowData);
      btree::EncodeOverflow(part, k + 1 < n ? (*chain)[k + 1] : 0, page.data());
      btree::SealPage(page.data(), btree::PageType::kOverflow, 0, (*chain)[k], checkpoint,
                      12 + part.size());
      pages.emplace_back((*chain)[k], std::move(page));
    }
  };
  std::function<void(Node*)> write_node = [&](Node* n) {
    for (const NodePtr& c : n->children) {
      if (c->page == 0) write_node(c.get());
    }
    std::string body;
    if (!n->leaf) PutFixed64(&body, n->children[0]->page);
    for (size_t k = 0; k < n->size(); k++) {
      const std::string_view key = n->key(k), value = n->value(k);
      Overflow* o = n->overflow[k].get();
      if (o != nullptr && !o->written) {
        if (key.size() > kMaxInline) encode_chain(key, &o->key_pages);
        if (value.size() > kMaxInline) encode_chain(value, &o->value_pages);
        o->written = true;
        assigned_overflow.push_back(o);
      }
      btree::PutBlob(&body, key, key.size() > kMaxInline ? o->key_pages[0] : 0);
      if (n->leaf) {
        btree::PutBlob(&body, value, value.size() > kMaxInline ? o->value_pages[0] : 0);
      } else {
        PutFixed64(&body, n->children[k + 1]->page);
      }
    }
    CHECK(body.size() <= kCapacity);
    CHECK(n->size() <= 0xffff);
    n->page = allocate();
    assigned.push_back(n);
    std::string page(kPageSize, '\0');
    std::memcpy(page.data() + btree::kHeaderSize, body.data(), body.size());
    btree::SealPage(page.data(), n->leaf ? btree::PageType::kLeaf : btree::PageType::kInternal,
                    static_cast<uint16_t>(n->size()), n->page, checkpoint, body.size());
    pages.emplace_back(n->page, std::move(page));
  };
  if (root != nullptr && root->page == 0) write_node(root.get());
  for (const Node* n = root.get(); n != nullptr; n = n->leaf ? nullptr : n->children[0].get()) {
    depth++;
  }
  std::sort(pages.begin(), pages.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });

  btree::Meta meta;
  meta.checkpoint = checkpoint;
  meta.root = root != nullptr ? root->page : 0;
  meta.page_count = page_count;
  meta.last_sequence = last_sequence;
  meta.wal_number = log_number_;
  meta.keys = keys;
  meta.depth = root != nullptr ? depth : 0;
  meta.comparator = comparator_->Name();
  // Pages first, made durable; then the meta that makes them the tree.
  s = WritePagesLocked(pages);
  if (s.ok()) s = page_file_->Sync();
  if (s.ok())
    s = page_file_->Write((checkpoint % 2) * kPageSize, btree::EncodeMeta(meta, checkpoint % 2));
  if (s.ok()) s = page_file_->Sync();
  if (!s.ok()) {
    for (Node* n : assigned) n->page = 0;
    for (Overflow* ov : assigned_overflow) {
      ov->written = false;
      ov->key_pages.clear();
      ov->value_pages.clear();
    }
    return s;
  }
  meta_ = meta;
  durable_root_ = root;
  // The logs before the new one are covered by this checkpoint.
  for (uint64_t n = first_live_log_; n < log_number_; n++) {
    env_->RemoveFile(LogFileName(path_, n)).PermitUncheckedError();
  }
  first_live_log_ = log_number_;
  log_bytes_ = 0;
  MutexLock lock(&mu_);
  checkpoints_++;
  pages_written_ += pages.size();
  free_pages_ = free.size();
  page_count_ = page_count;
  depth_ = meta.depth;
  return Status::OK();
}

Status BTreeDB::ReadPage(uint64_t page, std::string* out) {
  out->resize(kPageSize);
  std::string_view result;
  Status s = page_file_->Read(page * kPageSize, kPageSize, &result, out->data());
  if (!s.ok()) return s;
  if (result.size() != kPageSize) {
    return Status::Corruption("btree page " + std::to_string(page), "past the end of the file");
  }
  if (result.data() != out->data()) out->assign(result.data(), result.size());
  return Status::OK();
}

Status BTreeDB::LoadBlob(const btree::BlobRef& ref, uint64_t checkpoint, std::vector<bool>* seen,
                         std::string* out, std::vector<uint64_t>* pages) {
  if (ref.length <= kMaxInline) {
    out->assign(ref.data.data(), ref.data.size());
    return Status::OK();
  }
  if (ref.length > std::max(options_.max_key_size, options_.max_value_size)) {
    return Status::Corruption("btree overflow chain", "longer than the size limits");
  }
  out->clear();
  out->reserve(ref.length);
  uint64_t p = ref.overflow;
  std::string page;
  while (out->size() < ref.length) {
    if (p < btree::kFirstTreePage || p >= seen->size() || (*seen)[p]) {
      return Status::Corruption("btree overflow chain",
                                "bad or repeated page " + std::to_string(p));
    }
    (*seen)[p] = true;
    pages->push_back(p);
    Status s = ReadPage(p, &page);
    btree::PageHeader h;
    if (s.ok()) s = btree::CheckPage(page, p, &h);
    if (s.ok() && (h.type != btree::PageType::kOverflow || h.checkpoint > checkpoint)) {
      s = Status::Corruption("btree page " + std::to_string(p), "not an overflow page of the tree");
    }
    uint64_t next;
    std::string_view data;
    if (s.ok()) s = btree::DecodeOverflow(page, &next, &data);
    if (!s.ok()) return s;
    if (out->size() + data.size() > ref.length) {
      return Status::Corruption("btree overflow chain", "longer than its entry");
    }
    out->append(data);
    if (out->size() < ref.length && next == 0) {
      return Status::Corruption("btree overflow chain", "shorter than its entry");
    }
    p = next;
  }
  return Status::OK();
}

Status BTreeDB::LoadNode(uint64_t page, int depth, const std::string* lo, const std::string* hi,
                         uint64_t checkpoint, std::vector<bool>* seen, NodePtr* out) {
  if (depth > 64) return Status::Corruption("btree", "tree deeper than 64 levels");
  if (page < btree::kFirstTreePage || page >= seen->size() || (*seen)[page]) {
    return Status::Corruption("btree", "bad or repeated page " + std::to_string(page));
  }
  (*seen)[page] = true;
  std::string buf;
  Status s = ReadPage(page, &buf);
  btree::PageHeader h;
  if (s.ok()) s = btree::CheckPage(buf, page, &h);
  btree::DecodedNode d;
  if (s.ok()) s = btree::DecodeNode(buf, h, &d);
  if (s.ok() && h.checkpoint > checkpoint) {
    s = Status::Corruption("btree page " + std::to_string(page), "newer than the meta page");
  }
  if (!s.ok()) return s;
  auto n = AllocateNode();
  n->leaf = d.leaf;
  n->page = page;
  std::string key, value;
  for (size_t i = 0; i < d.keys.size(); i++) {
    std::vector<uint64_t> key_pages, value_pages;
    value.clear();
    s = LoadBlob(d.keys[i], checkpoint, seen, &key, &key_pages);
    if (s.ok() && d.leaf) s = LoadBlob(d.values[i], checkpoint, seen, &value, &value_pages);
    if (!s.ok()) return s;
    std::shared_ptr<Overflow> o;
    if (!key_pages.empty() || !value_pages.empty()) {
      o = std::make_shared<Overflow>();
      o->written = true;
      o->key_pages = std::move(key_pages);
      o->value_pages = std::move(value_pages);
    }
    // In order, and inside the range the parent gives this node.
    if ((i > 0 && !order_.less(n->key(i - 1), key)) || (lo != nullptr && order_.less(key, *lo)) ||
        (hi != nullptr && !order_.less(key, *hi))) {
      return Status::Corruption("btree page " + std::to_string(page), "keys out of order");
    }
    n->Append(key, value, std::move(o));
  }
  n->bytes = NodeBytes(*n);
  if (order_.less.bytewise) n->SetCommon();
  if (!d.leaf) {
    n->children.resize(d.children.size());
    for (size_t i = 0; i < d.children.size(); i++) {
      const std::string cl(i == 0 ? std::string_view() : n->key(i - 1));
      const std::string ch(i < n->size() ? n->key(i) : std::string_view());
      s = LoadNode(d.children[i], depth + 1, i == 0 ? lo : &cl, i < n->size() ? &ch : hi,
                   checkpoint, seen, &n->children[i]);
      if (!s.ok()) return s;
      // Every leaf at the same depth.
      if (i > 0 && n->children[i]->leaf != n->children[0]->leaf) {
        return Status::Corruption("btree page " + std::to_string(page), "unbalanced children");
      }
    }
  }
  *out = std::move(n);
  return Status::OK();
}

Status BTreeDB::ReplayLogs(uint64_t first_log, uint64_t* max_log) {
  std::vector<std::string> children;
  Status s = env_->GetChildren(path_, &children);
  if (!s.ok()) return s;
  std::vector<uint64_t> logs;
  for (const std::string& c : children) {
    uint64_t number;
    if (!ParseLogName(c, &number)) continue;
    *max_log = std::max(*max_log, number);
    if (number >= first_log) {
      logs.push_back(number);
    } else {
      // Covered by the committed checkpoint: a left-over.
      env_->RemoveFile(path_ + "/" + c).PermitUncheckedError();
    }
  }
  std::sort(logs.begin(), logs.end());
  struct Reporter : log::Reader::Reporter {
    Status status;
    void Corruption(uint64_t, size_t, const Status& reason) override {
      if (status.ok()) status = reason;
    }
  };
  uint64_t replayed = 0;
  for (uint64_t number : logs) {
    const std::string name = LogFileName(path_, number);
    std::unique_ptr<SequentialFile> file;
    s = env_->NewSequentialFile(name, &file);
    if (!s.ok()) return s;
    Reporter reporter;
    log::Reader reader(file.get(), &reporter, /*verify_checksums=*/true, number, name);
    std::string record;
    while (reader.ReadRecord(&record)) {
      uint64_t first = 0;
      {
        std::string_view r = record;
        if (!GetFixed64(&r, &first)) return Status::Corruption(name, "truncated record");
      }
      uint64_t last;
      {
        MutexLock lock(&mu_);
        last = last_sequence_;
      }
      if (first <= last) continue;  // in the checkpoint already
      {
        MutexLock lock(&mu_);
        work_ = LoadRoot();
        work_keys_ = keys_;
      }
      txn_++;
      uint64_t first_seq = 0, count = 0;
      s = ApplyRecord(record, &first_seq, &count);
      if (!s.ok()) return Status::Corruption(name, s.ToString());
      MutexLock lock(&mu_);
      StoreRoot(std::move(work_));
      keys_ = work_keys_;
      if (count > 0) last_sequence_ = first_seq + count - 1;
      replayed++;
    }
    work_.reset();
    if (!reader.status().ok()) return reader.status();
    // Damage before the end is not a torn tail: refuse rather than drop
    // acknowledged writes silently.
    if (!reporter.status.ok()) return reporter.status;
    log_bytes_ += reader.LastRecordEnd();
  }
  MutexLock lock(&mu_);
  replayed_records_ = replayed;
  return Status::OK();
}

Status BTreeDB::OpenAndRecover() {
  const uint64_t start = env_->NowMicros();
  if (options_.create_if_missing) {
    Status s = env_->CreateDir(path_);
    if (!s.ok()) return Status::IOError("cannot create database directory " + path_, s.ToString());
  }
  Status s = env_->LockFile(path_ + "/LOCK", &lock_);
  if (!s.ok()) {
    lock_ = nullptr;
    return s;
  }
  MutexLock wlock(&write_mu_);
  const std::string page_name = path_ + "/" + kPageFileName;
  uint64_t size = 0;
  const bool exists = env_->FileExists(page_name) && env_->GetFileSize(page_name, &size).ok() &&
                      size >= 2 * kPageSize;
  if (!exists) {
    // Missing, or cut short while it was being created (before its first
    // meta page was synced): create it.
    if (!options_.create_if_missing) {
      return Status::InvalidArgument(path_, "does not exist (create_if_missing is false)");
    }
    s = WriteEngineFile(env_, path_, StorageEngine::kBTree);
    if (s.ok()) s = env_->NewRandomRWFile(page_name, &page_file_);
    // The first log exists before the first meta names it (recovery
    // refuses a meta whose log is missing).
    log_number_ = 0;
    if (s.ok()) s = NewLogLocked();
    if (!s.ok()) return s;
    meta_ = btree::Meta{};
    meta_.checkpoint = 1;
    meta_.page_count = btree::kFirstTreePage;
    meta_.wal_number = 1;
    meta_.comparator = comparator_->Name();
    btree::Meta other = meta_;
    other.checkpoint = 0;
    // Both slots valid from the start; the second is the older.
    std::string pages = btree::EncodeMeta(other, 0) + btree::EncodeMeta(meta_, 1);
    s = page_file_->Write(0, pages);
    if (s.ok()) s = page_file_->Sync();
    if (s.ok()) s = env_->SyncDir(path_);
    if (!s.ok()) return s;
  } else {
    if (options_.error_if_exists) {
      return Status::InvalidArgument(path_, "exists (error_if_exists is true)");
    }
    s = env_->NewRandomRWFile(page_name, &page_file_);
    if (!s.ok()) return s;
    // The newer of the two valid meta pages.
    btree::Meta metas[2];
    Status ms[2];
    for (uint64_t slot = 0; slot < 2; slot++) {
      std::string page;
      ms[slot] = ReadPage(slot, &page);
      if (ms[slot].ok()) ms[slot] = btree::DecodeMeta(page, slot, &metas[slot]);
      if (ms[slot].IsNotSupported()) return ms[slot];
    }
    if (!ms[0].ok() && !ms[1].ok()) {
      return Status::Corruption(page_name, "no valid meta page: " + ms[0].ToString());
    }
    const int pick = !ms[0].ok() ? 1 : !ms[1].ok() ? 0 : metas[1].checkpoint > metas[0].checkpoint;
    meta_ = metas[pick];
    if (meta_.comparator != comparator_->Name()) {
      return Status::InvalidArgument(path_, "was created with comparator " + meta_.comparator +
                                                ", not " + comparator_->Name());
    }
    if (size < meta_.page_count * kPageSize) {
      return Status::Corruption(page_name, "shorter than its meta page says");
    }
    std::vector<bool> seen(meta_.page_count, false);
    NodePtr root;
    if (meta_.root != 0) {
      s = LoadNode(meta_.root, 1, nullptr, nullptr, meta_.checkpoint, &seen, &root);
      if (!s.ok()) return s;
    }
    uint64_t depth = 0;
    for (const Node* n = root.get(); n != nullptr; n = n->leaf ? nullptr : n->children[0].get()) {
      depth++;
    }
    if (depth != meta_.depth) return Status::Corruption(page_name, "tree depth differs from meta");
    MutexLock lock(&mu_);
    StoreRoot(root);
    durable_root_ = root;
    keys_ = meta_.keys;
    last_sequence_ = meta_.last_sequence;
    page_count_ = meta_.page_count;
    depth_ = meta_.depth;
  }
  {
    MutexLock lock(&mu_);
    if (LoadRoot() == nullptr) keys_ = 0;
  }
  // The log the meta names exists from before the meta was written until a
  // newer meta is durable. Missing: the newer meta was lost after it
  // committed, and this older state would silently lack writes.
  if (!env_->FileExists(LogFileName(path_, meta_.wal_number))) {
    return Status::Corruption(page_name, "the log of meta checkpoint " +
                                             std::to_string(meta_.checkpoint) +
                                             " is missing: a newer meta page was damaged");
  }
  uint64_t max_log = meta_.wal_number - 1;
  first_live_log_ = meta_.wal_number;
  s = ReplayLogs(meta_.wal_number, &max_log);
  if (!s.ok()) return s;
  // Continue in a new log, or in the last one if it is empty (no open
  // leaves an empty log behind for each time the database is opened).
  uint64_t last_size = 1;
  if (max_log >= meta_.wal_number &&
      env_->GetFileSize(LogFileName(path_, max_log), &last_size).ok() && last_size == 0) {
    max_log--;
  }
  log_number_ = max_log;
  s = NewLogLocked();
  if (!s.ok()) return s;
  opened_ = true;
  MutexLock lock(&mu_);
  recovery_micros_ = env_->NowMicros() - start;
  return Status::OK();
}

bool BTreeDB::GetProperty(std::string_view name, std::string* value) {
  MutexLock lock(&mu_);
  if (closed_) return false;
  if (name == "lsmkv.stats") {
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  "btree: %" PRIu64 " keys, depth %" PRIu64 ", %" PRIu64
                  " pages in the file (%" PRIu64 " free at the last checkpoint), %" PRIu64
                  " checkpoints writing %" PRIu64 " pages, last sequence %" PRIu64 ", %" PRIu64
                  " log records replayed at open, recovery %" PRIu64 " us\n",
                  keys_, depth_, page_count_, free_pages_, checkpoints_, pages_written_,
                  last_sequence_, replayed_records_, recovery_micros_);
    *value = buf;
    return true;
  }
  if (CommonEngineProperty(name, bg_error_, last_sequence_, value)) return true;
  if (name == "lsmkv.btree.check") {
    // The published tree's invariants: "ok" or what is wrong.
    const NodePtr root = LoadRoot();
    *value = CheckTree(root.get());
    return true;
  }
  const std::pair<const char*, uint64_t> numbers[] = {
      {"lsmkv.btree.keys", keys_},
      {"lsmkv.btree.depth", depth_},
      {"lsmkv.btree.pages", page_count_},
      {"lsmkv.btree.free-pages", free_pages_},
      {"lsmkv.btree.checkpoints", checkpoints_},
      {"lsmkv.btree.pages-written", pages_written_},
      {"lsmkv.btree.snapshots", snapshots_},
      {"lsmkv.btree.recovery-micros", recovery_micros_},
  };
  for (const auto& [n, v] : numbers) {
    if (name == n) {
      *value = std::to_string(v);
      return true;
    }
  }
  return false;
}

}  // namespace

Status OpenBTreeDB(const Options& options, const std::string& path, std::unique_ptr<DB>* out) {
  out->reset();
  if (options.btree_checkpoint_bytes < 4096) {
    return Status::InvalidArgument("btree_checkpoint_bytes must be at least 4096");
  }
  auto db = std::make_unique<BTreeDB>(options, path);
  Status s = db->OpenAndRecover();
  if (!s.ok()) return s;
  *out = std::move(db);
  return Status::OK();
}

Status DestroyBTreeDB(const std::string& path, const Options& options) {
  return DestroyEngineFiles(options, path, [](const std::string& name) {
    uint64_t number;
    return ParseLogName(name, &number) || name == kPageFileName;
  });
}

}  // namespace lsmkv
