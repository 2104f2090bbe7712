#include "table/block.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "table/iterator_util.h"
#include "util/check.h"
#include "util/coding.h"

namespace lsmkv {

Block::Block(BlockContents contents) : contents_(std::move(contents)) {
  const size_t size = contents_.size;
  const char* data = contents_.bytes();
  if (size < sizeof(uint32_t) || size > UINT32_MAX) {
    status_ = Status::Corruption("bad block size " + std::to_string(size));
    return;
  }
  const uint32_t count = DecodeFixed32(data + size - sizeof(uint32_t));
  const size_t max_restarts = (size - sizeof(uint32_t)) / sizeof(uint32_t);
  if (count == 0 || count > max_restarts) {
    status_ = Status::Corruption("bad restart count " + std::to_string(count) + " in a block of " +
                                 std::to_string(size) + " bytes");
    return;
  }
  const auto restarts_offset =
      static_cast<uint32_t>(size - sizeof(uint32_t) * (static_cast<size_t>(count) + 1));
  // Restart offsets start at 0, increase strictly and point inside the entries.
  uint32_t previous = 0;
  for (uint32_t i = 0; i < count; i++) {
    const uint32_t offset = DecodeFixed32(data + restarts_offset + i * sizeof(uint32_t));
    const bool ok = (i == 0) ? (offset == 0) : (offset > previous && offset < restarts_offset);
    if (!ok) {
      status_ = Status::Corruption("bad restart offset " + std::to_string(offset));
      return;
    }
    previous = offset;
  }
  restarts_offset_ = restarts_offset;
  num_restarts_ = count;
  DCHECK_EQ(restarts_offset_ + sizeof(uint32_t) * (size_t{num_restarts_} + 1), size);
}

class Block::Iter final : public Iterator {
 public:
  Iter(const Comparator* comparator, const char* data, uint32_t restarts_offset,
       uint32_t num_restarts, size_t min_key_size, std::string_view error_context, IteratorPin pin)
      : comparator_(comparator),
        data_(data),
        restarts_offset_(restarts_offset),
        num_restarts_(num_restarts),
        min_key_size_(min_key_size),
        error_context_(error_context),
        pin_(pin),
        current_(restarts_offset),
        restart_index_(num_restarts),
        next_restart_(restarts_offset) {
    DCHECK(num_restarts_ > 0);
  }
  ~Iter() override { pin_.Release(); }

  bool Valid() const override { return current_ < restarts_offset_; }
  Status status() const override { return status_; }
  std::string_view key() const override {
    DCHECK(Valid());
    return std::string_view(key_buf_.data(), key_size_);
  }
  std::string_view value() const override {
    DCHECK(Valid());
    return value_;
  }

  void SeekToFirst() override {
    if (!status_.ok()) return;
    SeekToRestartPoint(0);
    ParseNextEntry();
  }

  void SeekToLast() override {
    if (!status_.ok()) return;
    SeekToRestartPoint(num_restarts_ - 1);
    while (ParseNextEntry() && NextEntryOffset() < restarts_offset_) {
    }
  }

  void Seek(std::string_view target) override {
    if (!status_.ok()) return;
    // Binary search for the last restart point whose key is < target.
    uint32_t left = 0;
    uint32_t right = num_restarts_ - 1;
    while (left < right) {
      const uint32_t mid = left + (right - left + 1) / 2;
      std::string_view mid_key;
      if (!RestartKey(mid, &mid_key)) return;
      if (comparator_->Compare(mid_key, target) < 0) {
        left = mid;
      } else {
        right = mid - 1;
      }
    }
    SeekToRestartPoint(left);
    while (ParseNextEntry()) {
      if (comparator_->Compare(key(), target) >= 0) return;
    }
  }

  void SeekForPrev(std::string_view target) override {
    if (!status_.ok()) return;
    Seek(target);
    if (!status_.ok()) return;
    if (!Valid()) {
      SeekToLast();
    } else if (comparator_->Compare(key(), target) > 0) {
      Prev();
    }
  }

  void Next() override {
    DCHECK(Valid());
    ParseNextEntry();
  }

  void Prev() override {
    DCHECK(Valid());
    const uint32_t original = current_;
    // Back up to the last restart point before the current entry.
    while (RestartOffset(restart_index_) >= original) {
      if (restart_index_ == 0) {
        MarkInvalid();  // current_ was the first entry
        return;
      }
      restart_index_--;
    }
    DCHECK_LT(RestartOffset(restart_index_), original);
    SeekToRestartPoint(restart_index_);
    while (ParseNextEntry() && NextEntryOffset() < original) {
    }
    if (Valid() && NextEntryOffset() != original) {
      Corrupt("entries do not end where the next one starts");
    }
  }

 private:
  uint32_t RestartOffset(uint32_t index) const {
    DCHECK(index < num_restarts_);
    return DecodeFixed32(data_ + restarts_offset_ + index * sizeof(uint32_t));
  }

  // The offset of the restart point after restart_index_, or
  // restarts_offset_ when restart_index_ is the last one.
  uint32_t FollowingRestart() const {
    return restart_index_ + 1 < num_restarts_ ? RestartOffset(restart_index_ + 1)
                                              : restarts_offset_;
  }

  uint32_t NextEntryOffset() const {
    return static_cast<uint32_t>((value_.data() + value_.size()) - data_);
  }

  void MarkInvalid() {
    current_ = restarts_offset_;
    restart_index_ = num_restarts_;
    next_restart_ = restarts_offset_;
    key_size_ = 0;
    value_ = {};
  }

  void Corrupt(const char* what) {
    MarkInvalid();
    status_ = error_context_.empty() ? Status::Corruption(what)
                                     : Status::Corruption(error_context_, what);
  }

  void SeekToRestartPoint(uint32_t index) {
    key_size_ = 0;
    restart_index_ = index;
    next_restart_ = FollowingRestart();
    // value_ is placed so that NextEntryOffset() is the restart offset.
    value_ = std::string_view(data_ + RestartOffset(index), 0);
  }

  // Decodes the entry header at p (limit: the restart array). Returns the
  // start of the key bytes, or nullptr if the entry does not fit.
  const char* DecodeEntry(const char* p, uint32_t* shared, uint32_t* non_shared,
                          uint32_t* value_length) const {
    const char* limit = data_ + restarts_offset_;
    if (limit - p >= 3) {
      // Fast path: the three lengths are one byte each (< 128).
      const auto a = static_cast<unsigned char>(p[0]);
      const auto b = static_cast<unsigned char>(p[1]);
      const auto c = static_cast<unsigned char>(p[2]);
      if ((a | b | c) < 128) {
        *shared = a;
        *non_shared = b;
        *value_length = c;
        p += 3;
        if (uint64_t{b} + c > static_cast<uint64_t>(limit - p)) return nullptr;
        return p;
      }
    }
    if ((p = GetVarint32Ptr(p, limit, shared)) == nullptr) return nullptr;
    if ((p = GetVarint32Ptr(p, limit, non_shared)) == nullptr) return nullptr;
    if ((p = GetVarint32Ptr(p, limit, value_length)) == nullptr) return nullptr;
    const uint64_t needed = uint64_t{*non_shared} + *value_length;
    if (needed > static_cast<uint64_t>(limit - p)) return nullptr;
    return p;
  }

  // The whole key stored at restart point index.
  bool RestartKey(uint32_t index, std::string_view* key) {
    uint32_t shared, non_shared, value_length;
    const char* p = DecodeEntry(data_ + RestartOffset(index), &shared, &non_shared, &value_length);
    if (p == nullptr || shared != 0) {
      Corrupt("bad entry at a restart point");
      return false;
    }
    if (non_shared < min_key_size_) {
      Corrupt("key too short in block");
      return false;
    }
    *key = std::string_view(p, non_shared);
    return true;
  }

  // Moves to the entry after the current one; false (and !Valid()) at the end
  // of the entries or on a bad entry.
  bool ParseNextEntry() {
    current_ = NextEntryOffset();
    if (current_ >= restarts_offset_) {
      MarkInvalid();
      return false;
    }
    uint32_t shared, non_shared, value_length;
    const char* p = DecodeEntry(data_ + current_, &shared, &non_shared, &value_length);
    if (p == nullptr || shared > key_size_) {
      Corrupt("bad entry in block");
      return false;
    }
    // The first `shared` bytes of the previous key stay; the rest is copied.
    const size_t size = size_t{shared} + non_shared;
    if (size > key_buf_.size()) key_buf_.resize(std::max(size, 2 * key_buf_.size()));
    std::memcpy(key_buf_.data() + shared, p, non_shared);
    key_size_ = size;
    if (key_size_ < min_key_size_) {
      Corrupt("key too short in block");
      return false;
    }
    value_ = std::string_view(p + non_shared, value_length);
    while (next_restart_ <= current_) {
      restart_index_++;
      next_restart_ = FollowingRestart();
    }
    // DecodeEntry kept the entry inside the entries area, and restart_index_
    // is the last restart point at or before it.
    DCHECK_LE(NextEntryOffset(), restarts_offset_);
    DCHECK(restart_index_ < num_restarts_ && RestartOffset(restart_index_) <= current_);
    DCHECK_GT(next_restart_, current_);
    return true;
  }

  const Comparator* const comparator_;
  const char* const data_;
  const uint32_t restarts_offset_;
  const uint32_t num_restarts_;
  const size_t min_key_size_;
  const std::string_view error_context_;
  IteratorPin pin_;

  uint32_t current_;        // offset of the current entry; restarts_offset_ if !Valid()
  uint32_t restart_index_;  // restart point at or before current_
  uint32_t next_restart_;   // FollowingRestart() of restart_index_
  // The current key is the first key_size_ bytes of key_buf_ (whose size is
  // only a capacity: it grows, never shrinks).
  std::string key_buf_;
  size_t key_size_ = 0;
  std::string_view value_;
  Status status_;
};

Iterator* Block::NewIterator(const Comparator* comparator, size_t min_key_size,
                             std::string_view error_context, IteratorPin pin) const {
  if (!status_.ok()) {
    // Built before the pin is released: releasing may free this block.
    Iterator* error =
        error_context.empty()
            ? NewTableErrorIterator(status_)
            : NewTableErrorIterator(Status::Corruption(error_context, status_.message()));
    pin.Release();
    return error;
  }
  return new Iter(comparator, contents_.bytes(), restarts_offset_, num_restarts_, min_key_size,
                  error_context, pin);
}

}  // namespace lsmkv
