#include "table/iterator_util.h"

#include <memory>

#include "util/check.h"

namespace lsmkv {

namespace {

class CleanupIterator final : public Iterator {
 public:
  CleanupIterator(Iterator* base, std::function<void()> cleanup)
      : base_(base), cleanup_(std::move(cleanup)) {}
  ~CleanupIterator() override {
    base_.reset();
    if (cleanup_) cleanup_();
  }
  bool Valid() const override { return base_->Valid(); }
  void SeekToFirst() override { base_->SeekToFirst(); }
  void SeekToLast() override { base_->SeekToLast(); }
  void Seek(std::string_view target) override { base_->Seek(target); }
  void SeekForPrev(std::string_view target) override { base_->SeekForPrev(target); }
  void Next() override { base_->Next(); }
  void Prev() override { base_->Prev(); }
  std::string_view key() const override { return base_->key(); }
  std::string_view value() const override { return base_->value(); }
  Status status() const override { return base_->status(); }

 private:
  std::unique_ptr<Iterator> base_;
  std::function<void()> cleanup_;
};

}  // namespace

Iterator* NewTableErrorIterator(Status s) { return NewEmptyIterator(std::move(s)); }

Iterator* NewCleanupIterator(Iterator* base, std::function<void()> cleanup) {
  return new CleanupIterator(base, std::move(cleanup));
}

}  // namespace lsmkv
