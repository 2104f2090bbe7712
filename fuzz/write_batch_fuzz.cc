// Fuzzes the WriteBatch decoder (WriteBatchInternal::SetContents,
// WriteBatch::Iterate, WriteBatchInternal::InsertInto) with arbitrary bytes
// as the contents of a WAL record. Invariants, when Iterate succeeds:
//  - Count() equals the number of operations iterated;
//  - a batch rebuilt with Put/Delete/DeleteRange from those operations (and the same
//    sequence number) iterates to the same operations, has the same count;
//  - InsertInto agrees with Iterate: it succeeds and the memtable then holds
//    one entry per put or delete and one range tombstone per range deletion,
//    with consecutive sequence numbers.
// When Iterate fails, InsertInto must fail too.
// For every input, batch_format::ForFirstKeys (the keys the write leader
// prefetches for) yields the types and keys ForEachOperation decodes, in the
// same order, as far as both go; when the batch is valid, exactly the first
// max_ops of them.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/dbformat.h"
#include "base/write_batch_format.h"
#include "db/write_batch_internal.h"
#include "fuzz/fuzz_util.h"
#include "lsmkv/iterator.h"
#include "lsmkv/write_batch.h"
#include "memtable/memtable.h"

namespace {

using lsmkv::Status;
using lsmkv::WriteBatch;
using lsmkv::WriteBatchInternal;

enum class Op { kPut, kDelete, kDeleteRange };

struct Operation {
  Op op;
  std::string key, value;  // a range deletion: begin, end
  bool operator==(const Operation&) const = default;
};

class Recorder final : public WriteBatch::Handler {
 public:
  void Put(std::string_view key, std::string_view value) override {
    operations.push_back({Op::kPut, std::string(key), std::string(value)});
  }
  void Delete(std::string_view key) override {
    operations.push_back({Op::kDelete, std::string(key), std::string()});
  }
  bool DeleteRange(std::string_view begin, std::string_view end) override {
    operations.push_back({Op::kDeleteRange, std::string(begin), std::string(end)});
    return true;
  }
  std::vector<Operation> operations;
};

// Checks ForFirstKeys against ForEachOperation on input (see the file comment).
void CheckFirstKeys(std::string_view input, bool valid, uint32_t count) {
  using Key = std::pair<lsmkv::ValueType, std::string>;
  std::vector<Key> decoded;
  lsmkv::batch_format::ForEachOperation(input, [&](lsmkv::ValueType type, std::string_view key,
                                                   std::string_view) {
    decoded.emplace_back(type, std::string(key));
  }).PermitUncheckedError();
  for (int max_ops : {0, 1, 4, 64}) {
    std::vector<Key> first;
    lsmkv::batch_format::ForFirstKeys(input, max_ops,
                                      [&](lsmkv::ValueType type, std::string_view key) {
                                        first.emplace_back(type, std::string(key));
                                      });
    FUZZ_CHECK(first.size() <= static_cast<size_t>(max_ops), "at most max_ops keys");
    for (size_t i = 0; i < first.size() && i < decoded.size(); i++) {
      FUZZ_CHECK(first[i] == decoded[i], "the first keys are the decoded ones");
    }
    const size_t limit = static_cast<size_t>(max_ops);
    if (decoded.size() < count) {
      // ForEachOperation stopped at a fault or at the end: so does ForFirstKeys.
      FUZZ_CHECK(first.size() == std::min(decoded.size(), limit),
                 "the first keys stop where the decoding does");
    } else {
      // It stopped at the header's count: ForFirstKeys ignores the count.
      FUZZ_CHECK(first.size() >= std::min(decoded.size(), limit), "every counted key is yielded");
    }
    if (valid) {
      FUZZ_CHECK(first.size() == std::min<size_t>(count, limit),
                 "a valid batch yields its first max_ops keys");
    }
  }
}

// Inserts batch into a fresh memtable (with a key filter and a point index,
// prefetched for first) and checks what it holds.
void CheckInsertInto(const WriteBatch& batch, const std::vector<Operation>* operations) {
  const lsmkv::InternalKeyComparator icmp(lsmkv::BytewiseComparator());
  auto* memtable = new lsmkv::MemTable(icmp, /*filter_bytes=*/4096, 0, 1, 0, /*index_bytes=*/4096);
  memtable->Ref();
  WriteBatchInternal::PrefetchInsert(&batch, memtable, 4);
  FUZZ_CHECK(memtable->Empty(), "a prefetch inserts nothing");
  const Status s = WriteBatchInternal::InsertInto(&batch, memtable);
  if (operations == nullptr) {
    FUZZ_CHECK(!s.ok(), "InsertInto rejects what Iterate rejects");
  } else {
    FUZZ_CHECK(s.ok(), "InsertInto accepts what Iterate accepts");
    const lsmkv::SequenceNumber first = WriteBatchInternal::Sequence(&batch);
    std::vector<bool> seen(operations->size(), false);
    std::unique_ptr<lsmkv::Iterator> it(memtable->NewIterator());
    size_t entries = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      lsmkv::ParsedInternalKey parsed;
      FUZZ_CHECK(lsmkv::ParseInternalKey(it->key(), &parsed), "memtable keys parse");
      FUZZ_CHECK(parsed.sequence >= first && parsed.sequence - first < operations->size(),
                 "sequence numbers are those of the batch");
      const size_t index = parsed.sequence - first;
      const Operation& op = (*operations)[index];
      FUZZ_CHECK(!seen[index], "one entry per operation");
      seen[index] = true;
      FUZZ_CHECK(op.op != Op::kDeleteRange, "a range deletion is not an entry");
      FUZZ_CHECK(parsed.user_key == op.key, "the entry has the operation's key");
      FUZZ_CHECK((parsed.type == lsmkv::kTypeValue) == (op.op == Op::kPut),
                 "the entry has its type");
      FUZZ_CHECK(op.op != Op::kPut || it->value() == op.value, "the entry has its value");
      entries++;
    }
    memtable->ForEachRangeTombstone(
        [&](lsmkv::SequenceNumber seq, std::string_view begin, std::string_view end) {
          FUZZ_CHECK(seq >= first && seq - first < operations->size(),
                     "tombstone sequence numbers are those of the batch");
          const size_t index = seq - first;
          const Operation& op = (*operations)[index];
          FUZZ_CHECK(!seen[index], "one tombstone per operation");
          seen[index] = true;
          FUZZ_CHECK(op.op == Op::kDeleteRange, "a tombstone comes from a range deletion");
          FUZZ_CHECK(begin == op.key && end == op.value, "the tombstone has the range");
          entries++;
        });
    FUZZ_CHECK(entries == operations->size(), "every operation is in the memtable");
  }
  memtable->Unref();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  WriteBatch batch;
  const Status set = WriteBatchInternal::SetContents(&batch, input);
  if (size < WriteBatchInternal::kHeaderSize) {
    FUZZ_CHECK(set.IsCorruption(), "a record shorter than the header is Corruption");
    return 0;
  }
  FUZZ_CHECK(set.ok(), "SetContents accepts a whole header");
  FUZZ_CHECK(WriteBatchInternal::Contents(&batch) == input, "SetContents keeps the bytes");

  Recorder recorder;
  const Status s = batch.Iterate(&recorder);
  CheckFirstKeys(input, s.ok(), batch.Count());
  const lsmkv::SequenceNumber sequence = WriteBatchInternal::Sequence(&batch);
  // Sequence numbers that would pass kMaxSequenceNumber are refused by
  // InsertInto (WriteBatchInternal::CheckSequenceRange) before anything is
  // inserted, and recovery treats such a record as damage.
  const bool insertable = WriteBatchInternal::CheckSequenceRange(&batch).ok();
  if (!s.ok()) {
    FUZZ_CHECK(s.IsCorruption(), "a damaged batch is Corruption");
    CheckInsertInto(batch, nullptr);
    return 0;
  }
  if (!insertable) CheckInsertInto(batch, nullptr);
  FUZZ_CHECK(batch.Count() == recorder.operations.size(), "Count() equals operations iterated");

  WriteBatch rebuilt;
  for (const Operation& op : recorder.operations) {
    switch (op.op) {
      case Op::kPut:
        rebuilt.Put(op.key, op.value);
        break;
      case Op::kDelete:
        rebuilt.Delete(op.key);
        break;
      case Op::kDeleteRange:
        rebuilt.DeleteRange(op.key, op.value);
        break;
    }
  }
  WriteBatchInternal::SetSequence(&rebuilt, sequence);
  Recorder again;
  FUZZ_CHECK(rebuilt.Iterate(&again).ok(), "a rebuilt batch iterates");
  FUZZ_CHECK(again.operations == recorder.operations, "a rebuilt batch has the same operations");
  FUZZ_CHECK(rebuilt.Count() == batch.Count(), "a rebuilt batch has the same count");
  FUZZ_CHECK(WriteBatchInternal::Sequence(&rebuilt) == sequence, "same sequence number");

  if (insertable) CheckInsertInto(batch, &recorder.operations);
  return 0;
}
