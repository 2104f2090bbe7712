#include "table/two_level_iterator.h"

#include <memory>
#include <string>

#include "lsmkv/status.h"
#include "util/check.h"

namespace lsmkv {

namespace {

class TwoLevelIterator final : public Iterator {
 public:
  TwoLevelIterator(Iterator* index_iter, BlockIteratorFunction block_function, IteratorPin pin)
      : index_iter_(index_iter), block_function_(std::move(block_function)), pin_(pin) {}
  ~TwoLevelIterator() override {
    data_iter_.reset();
    index_iter_.reset();
    pin_.Release();
  }

  // Fail() drops data_iter_, so an error leaves no valid data iterator.
  bool Valid() const override { return data_iter_ != nullptr && data_iter_->Valid(); }
  std::string_view key() const override {
    DCHECK(Valid());
    return data_iter_->key();
  }
  std::string_view value() const override {
    DCHECK(Valid());
    return data_iter_->value();
  }
  Status status() const override { return status_; }

  void SeekToFirst() override {
    status_ = Status::OK();
    index_iter_->SeekToFirst();
    if (!InitDataBlock()) return;
    if (data_iter_ != nullptr) data_iter_->SeekToFirst();
    SkipEmptyBlocksForward();
  }

  void SeekToLast() override {
    status_ = Status::OK();
    index_iter_->SeekToLast();
    if (!InitDataBlock()) return;
    if (data_iter_ != nullptr) data_iter_->SeekToLast();
    SkipEmptyBlocksBackward();
  }

  void Seek(std::string_view target) override {
    status_ = Status::OK();
    index_iter_->Seek(target);
    if (!InitDataBlock()) return;
    if (data_iter_ != nullptr) data_iter_->Seek(target);
    SkipEmptyBlocksForward();
  }

  void SeekForPrev(std::string_view target) override {
    status_ = Status::OK();
    // The first block whose index key is >= target holds every key <= that
    // index key, so the answer is in it or in an earlier block.
    index_iter_->Seek(target);
    if (!CheckIndex()) return;
    if (!index_iter_->Valid()) index_iter_->SeekToLast();
    if (!InitDataBlock()) return;
    if (data_iter_ != nullptr) data_iter_->SeekForPrev(target);
    SkipEmptyBlocksBackward();
  }

  // Fast paths: a block iterator that is still valid has an OK status.
  void Next() override {
    DCHECK(Valid());
    data_iter_->Next();
    if (data_iter_->Valid()) return;
    SkipEmptyBlocksForward();
  }

  void Prev() override {
    DCHECK(Valid());
    data_iter_->Prev();
    if (data_iter_->Valid()) return;
    SkipEmptyBlocksBackward();
  }

 private:
  // Records a failure of the index iterator; false if there is one.
  bool CheckIndex() {
    if (index_iter_->status().ok()) return true;
    Fail(index_iter_->status());
    return false;
  }

  // Records a failure of the data iterator; false if there is one.
  bool CheckData() {
    if (data_iter_ == nullptr || data_iter_->status().ok()) return true;
    Fail(data_iter_->status());
    return false;
  }

  void Fail(Status s) {
    status_ = std::move(s);
    data_iter_.reset();
    data_handle_.clear();
  }

  // Points data_iter_ at the block the index iterator is on (nullptr when the
  // index iterator is !Valid()). False on error.
  bool InitDataBlock() {
    if (!CheckIndex()) return false;
    if (!index_iter_->Valid()) {
      data_iter_.reset();
      data_handle_.clear();
      return true;
    }
    const std::string_view handle = index_iter_->value();
    if (data_iter_ != nullptr && handle == data_handle_) return CheckData();  // same block
    data_iter_.reset(block_function_(handle));
    data_handle_.assign(handle.data(), handle.size());
    return CheckData();
  }

  void SkipEmptyBlocksForward() {
    while (CheckData() && (data_iter_ == nullptr || !data_iter_->Valid())) {
      if (!index_iter_->Valid()) {
        data_iter_.reset();
        data_handle_.clear();
        return;
      }
      index_iter_->Next();
      if (!InitDataBlock()) return;
      if (data_iter_ != nullptr) data_iter_->SeekToFirst();
    }
  }

  void SkipEmptyBlocksBackward() {
    while (CheckData() && (data_iter_ == nullptr || !data_iter_->Valid())) {
      if (!index_iter_->Valid()) {
        data_iter_.reset();
        data_handle_.clear();
        return;
      }
      index_iter_->Prev();
      if (!InitDataBlock()) return;
      if (data_iter_ != nullptr) data_iter_->SeekToLast();
    }
  }

  std::unique_ptr<Iterator> index_iter_;
  BlockIteratorFunction block_function_;
  std::unique_ptr<Iterator> data_iter_;  // over the block named by data_handle_
  std::string data_handle_;
  Status status_;
  IteratorPin pin_;
};

}  // namespace

Iterator* NewTwoLevelIterator(Iterator* index_iter, BlockIteratorFunction block_function,
                              IteratorPin pin) {
  return new TwoLevelIterator(index_iter, std::move(block_function), pin);
}

}  // namespace lsmkv
