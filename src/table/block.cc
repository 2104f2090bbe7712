#include "table/block.h"

#include <cassert>
#include <string>

#include "table/iterator_util.h"
#include "util/coding.h"

namespace lsmkv {

Block::Block(BlockContents contents) : contents_(std::move(contents)) {
  const size_t size = contents_.size;
  const char* data = contents_.data.get();
  if (size < sizeof(uint32_t) || size > UINT32_MAX) {
    status_ = Status::Corruption("bad block size " + std::to_string(size));
    return;
  }
  const uint32_t count = DecodeFixed32(data + size - sizeof(uint32_t));
  const size_t max_restarts = (size - sizeof(uint32_t)) / sizeof(uint32_t);
  if (count == 0 || count > max_restarts) {
    status_ = Status::Corruption("bad restart count " + std::to_string(count) +
                                 " in a block of " + std::to_string(size) + " bytes");
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
}

class Block::Iter final : public Iterator {
 public:
  Iter(const Comparator* comparator, const char* data, uint32_t restarts_offset,
       uint32_t num_restarts, size_t min_key_size, std::string_view error_context)
      : comparator_(comparator),
        data_(data),
        restarts_offset_(restarts_offset),
        num_restarts_(num_restarts),
        min_key_size_(min_key_size),
        error_context_(error_context),
        current_(restarts_offset),
        restart_index_(num_restarts) {
    assert(num_restarts_ > 0);
  }

  bool Valid() const override { return current_ < restarts_offset_; }
  Status status() const override { return status_; }
  std::string_view key() const override {
    assert(Valid());
    return key_;
  }
  std::string_view value() const override {
    assert(Valid());
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
      if (comparator_->Compare(key_, target) >= 0) return;
    }
  }

  void SeekForPrev(std::string_view target) override {
    if (!status_.ok()) return;
    Seek(target);
    if (!status_.ok()) return;
    if (!Valid()) {
      SeekToLast();
    } else if (comparator_->Compare(key_, target) > 0) {
      Prev();
    }
  }

  void Next() override {
    assert(Valid());
    ParseNextEntry();
  }

  void Prev() override {
    assert(Valid());
    const uint32_t original = current_;
    // Back up to the last restart point before the current entry.
    while (RestartOffset(restart_index_) >= original) {
      if (restart_index_ == 0) {
        MarkInvalid();  // current_ was the first entry
        return;
      }
      restart_index_--;
    }
    SeekToRestartPoint(restart_index_);
    while (ParseNextEntry() && NextEntryOffset() < original) {
    }
    if (Valid() && NextEntryOffset() != original) {
      Corrupt("entries do not end where the next one starts");
    }
  }

 private:
  uint32_t RestartOffset(uint32_t index) const {
    assert(index < num_restarts_);
    return DecodeFixed32(data_ + restarts_offset_ + index * sizeof(uint32_t));
  }

  uint32_t NextEntryOffset() const {
    return static_cast<uint32_t>((value_.data() + value_.size()) - data_);
  }

  void MarkInvalid() {
    current_ = restarts_offset_;
    restart_index_ = num_restarts_;
    key_.clear();
    value_ = {};
  }

  void Corrupt(const char* what) {
    MarkInvalid();
    status_ = error_context_.empty() ? Status::Corruption(what)
                                     : Status::Corruption(error_context_, what);
  }

  void SeekToRestartPoint(uint32_t index) {
    key_.clear();
    restart_index_ = index;
    // value_ is placed so that NextEntryOffset() is the restart offset.
    value_ = std::string_view(data_ + RestartOffset(index), 0);
  }

  // Decodes the entry header at p (limit: the restart array). Returns the
  // start of the key bytes, or nullptr if the entry does not fit.
  const char* DecodeEntry(const char* p, uint32_t* shared, uint32_t* non_shared,
                          uint32_t* value_length) const {
    const char* limit = data_ + restarts_offset_;
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
    if (p == nullptr || shared > key_.size()) {
      Corrupt("bad entry in block");
      return false;
    }
    key_.resize(shared);
    key_.append(p, non_shared);
    if (key_.size() < min_key_size_) {
      Corrupt("key too short in block");
      return false;
    }
    value_ = std::string_view(p + non_shared, value_length);
    while (restart_index_ + 1 < num_restarts_ && RestartOffset(restart_index_ + 1) <= current_) {
      restart_index_++;
    }
    return true;
  }

  const Comparator* const comparator_;
  const char* const data_;
  const uint32_t restarts_offset_;
  const uint32_t num_restarts_;
  const size_t min_key_size_;
  const std::string_view error_context_;

  uint32_t current_;        // offset of the current entry; restarts_offset_ if !Valid()
  uint32_t restart_index_;  // restart point at or before current_
  std::string key_;
  std::string_view value_;
  Status status_;
};

Iterator* Block::NewIterator(const Comparator* comparator, size_t min_key_size,
                             std::string_view error_context) const {
  if (!status_.ok()) {
    if (error_context.empty()) return NewTableErrorIterator(status_);
    return NewTableErrorIterator(Status::Corruption(error_context, status_.message()));
  }
  return new Iter(comparator, contents_.data.get(), restarts_offset_, num_restarts_, min_key_size,
                  error_context);
}

}  // namespace lsmkv
