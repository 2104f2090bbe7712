#include "engines/transactional_db.h"

#include <utility>

#include "db/conditional_write.h"
#include "txn/generic_transaction.h"

namespace lsmkv {

namespace {

class TransactionalDB final : public DB {
 public:
  TransactionalDB(std::unique_ptr<DB> inner, const Options& options)
      : inner_(std::move(inner)),
        writer_(dynamic_cast<ConditionalWriter*>(inner_.get())),
        options_(options) {}

  Status Put(const WriteOptions& o, std::string_view key, std::string_view value) override {
    return inner_->Put(o, key, value);
  }
  Status Delete(const WriteOptions& o, std::string_view key) override {
    return inner_->Delete(o, key);
  }
  Status DeleteRange(const WriteOptions& o, std::string_view begin, std::string_view end) override {
    return inner_->DeleteRange(o, begin, end);
  }
  Status Write(const WriteOptions& o, WriteBatch* batch) override {
    return inner_->Write(o, batch);
  }
  Status Get(const ReadOptions& o, std::string_view key, std::string* value) override {
    return inner_->Get(o, key, value);
  }
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& o) override {
    return inner_->NewIterator(o);
  }
  const Snapshot* GetSnapshot() override { return inner_->GetSnapshot(); }
  void ReleaseSnapshot(const Snapshot* snapshot) override { inner_->ReleaseSnapshot(snapshot); }
  std::unique_ptr<Transaction> BeginTransaction(const WriteOptions& o,
                                                const TransactionOptions& txn_options) override {
    if (writer_ == nullptr) return inner_->BeginTransaction(o, txn_options);
    return NewGenericTransaction(inner_.get(), writer_, options_, o, txn_options);
  }
  Status CompactRange(const std::string* begin, const std::string* end) override {
    return inner_->CompactRange(begin, end);
  }
  Status GetApproximateSizes(const Range* ranges, int n, uint64_t* sizes) override {
    return inner_->GetApproximateSizes(ranges, n, sizes);
  }
  Status Flush() override { return inner_->Flush(); }
  bool GetProperty(std::string_view name, std::string* value) override {
    return inner_->GetProperty(name, value);
  }
  Status Close() override { return inner_->Close(); }
  Status Resume() override { return inner_->Resume(); }

 private:
  const std::unique_ptr<DB> inner_;
  ConditionalWriter* const writer_;  // inner_ as a ConditionalWriter, or nullptr
  const Options options_;
};

}  // namespace

std::unique_ptr<DB> NewTransactionalDB(std::unique_ptr<DB> inner, const Options& options) {
  return std::make_unique<TransactionalDB>(std::move(inner), options);
}

}  // namespace lsmkv
