#include "lsmkv/iterator.h"

#include "util/check.h"

namespace lsmkv {
namespace {

// Positioned nowhere, always; carries a status (OK or the error that made
// the real iterator impossible).
class EmptyIterator final : public Iterator {
 public:
  explicit EmptyIterator(Status s) : status_(std::move(s)) {}
  bool Valid() const override { return false; }
  void SeekToFirst() override {}
  void SeekToLast() override {}
  void Seek(std::string_view) override {}
  void SeekForPrev(std::string_view) override {}
  // Next, Prev, key and value REQUIRE Valid(), which is never true.
  void Next() override { DCHECK(false); }
  void Prev() override { DCHECK(false); }
  std::string_view key() const override {
    DCHECK(false);
    return {};
  }
  std::string_view value() const override {
    DCHECK(false);
    return {};
  }
  Status status() const override { return status_; }

 private:
  const Status status_;
};

}  // namespace

Iterator* NewEmptyIterator(Status s) { return new EmptyIterator(std::move(s)); }

}  // namespace lsmkv
