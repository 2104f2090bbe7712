#include "db/failed_transaction.h"

#include <utility>

#include "util/check.h"

namespace lsmkv {

namespace {

class FailedTransaction final : public Transaction {
 public:
  explicit FailedTransaction(Status why) : why_(std::move(why)) { CHECK(!why_.ok()); }

  Status Get(const ReadOptions&, std::string_view, std::string*) override { return why_; }
  Status GetForUpdate(const ReadOptions&, std::string_view, std::string*) override { return why_; }
  Status Put(std::string_view, std::string_view) override { return why_; }
  Status Delete(std::string_view) override { return why_; }
  std::unique_ptr<Iterator> NewIterator(const ReadOptions&) override {
    return std::unique_ptr<Iterator>(NewEmptyIterator(why_));
  }
  Status Commit() override { return why_; }
  Status Rollback() override { return why_; }
  void SetSavePoint() override {}
  Status RollbackToSavePoint() override { return why_; }
  Status SetSnapshot() override { return why_; }
  uint64_t GetReadSequence() const override { return 0; }
  uint64_t GetCommitSequence() const override { return 0; }
  size_t GetNumWrites() const override { return 0; }
  size_t GetNumTrackedReads() const override { return 0; }

 private:
  const Status why_;
};

}  // namespace

std::unique_ptr<Transaction> NewFailedTransaction(Status why) {
  return std::make_unique<FailedTransaction>(std::move(why));
}

}  // namespace lsmkv
