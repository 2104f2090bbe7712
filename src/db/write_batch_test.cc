// WriteBatch encoding: round trips, and what InsertInto refuses — more
// operations than the header counts, and sequence numbers past the largest.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/dbformat.h"
#include "base/write_batch_format.h"
#include "db/write_batch_internal.h"
#include "gtest/gtest.h"
#include "lsmkv/iterator.h"
#include "lsmkv/write_batch.h"
#include "memtable/memtable.h"
#include "util/coding.h"

namespace lsmkv {
namespace {

struct Recorder : WriteBatch::Handler {
  void Put(std::string_view k, std::string_view v) override {
    ops.push_back("Put(" + std::string(k) + "," + std::string(v) + ")");
  }
  void Delete(std::string_view k) override { ops.push_back("Delete(" + std::string(k) + ")"); }
  std::vector<std::string> ops;
};

class MemTableHolder {
 public:
  MemTableHolder() : icmp_(BytewiseComparator()), mem_(new MemTable(icmp_)) { mem_->Ref(); }
  ~MemTableHolder() { mem_->Unref(); }
  MemTable* get() { return mem_; }
  size_t Entries() {
    std::unique_ptr<Iterator> it(mem_->NewIterator());
    size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
    return n;
  }

 private:
  InternalKeyComparator icmp_;
  MemTable* mem_;
};

TEST(WriteBatchTest, RoundTripAndInsert) {
  WriteBatch batch;
  batch.Put("a", "1");
  batch.Delete("b");
  batch.Put("c", std::string(300, 'x'));
  WriteBatchInternal::SetSequence(&batch, 100);
  Recorder r;
  ASSERT_TRUE(batch.Iterate(&r).ok());
  EXPECT_EQ(
      (std::vector<std::string>{"Put(a,1)", "Delete(b)", "Put(c," + std::string(300, 'x') + ")"}),
      r.ops);
  EXPECT_EQ(3u, batch.Count());
  MemTableHolder mem;
  ASSERT_TRUE(WriteBatchInternal::InsertInto(&batch, mem.get()).ok());
  EXPECT_EQ(3u, mem.Entries());
  EXPECT_EQ(100u, mem.get()->FirstSequence());
  EXPECT_EQ(102u, mem.get()->LargestSequence());
}

TEST(WriteBatchTest, MoreOperationsThanTheHeaderCountsAreNeverApplied) {
  WriteBatch batch;
  batch.Put("a", "1");
  batch.Put("b", "2");
  batch.Put("c", "3");
  WriteBatchInternal::SetSequence(&batch, 7);
  WriteBatchInternal::SetCount(&batch, 1);  // the header undercounts
  Recorder r;
  Status s = batch.Iterate(&r);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_LE(r.ops.size(), 1u);
  MemTableHolder mem;
  s = WriteBatchInternal::InsertInto(&batch, mem.get());
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_LE(mem.Entries(), 1u) << "at most what the header announced";
}

TEST(WriteBatchTest, SequenceNumbersPastTheLargestAreRefusedBeforeInserting) {
  for (const SequenceNumber first :
       {kMaxSequenceNumber - 1, kMaxSequenceNumber, kMaxSequenceNumber + 1, ~SequenceNumber{0}}) {
    WriteBatch batch;
    batch.Put("a", "1");
    batch.Put("b", "2");
    WriteBatchInternal::SetSequence(&batch, first);
    MemTableHolder mem;
    Status s = WriteBatchInternal::InsertInto(&batch, mem.get());
    EXPECT_TRUE(s.IsCorruption()) << first << ": " << s.ToString();
    EXPECT_EQ(0u, mem.Entries());
    EXPECT_TRUE(WriteBatchInternal::CheckSequenceRange(&batch).IsCorruption());
  }
  WriteBatch fits;
  fits.Put("a", "1");
  WriteBatchInternal::SetSequence(&fits, kMaxSequenceNumber - 1);
  EXPECT_TRUE(WriteBatchInternal::CheckSequenceRange(&fits).ok());
}

// The input write_batch_fuzz found (an assertion in MemTable::Add): a header
// with sequence kMaxSequenceNumber - 3 and count 0, followed by many empty
// deletions. Inserting it must fail cleanly with nothing inserted.
TEST(WriteBatchTest, FuzzerFoundOverflowingBatch) {
  std::string rep(12, '\0');
  EncodeFixed64(rep.data(), kMaxSequenceNumber - 3);
  EncodeFixed32(rep.data() + 8, 0);
  for (int i = 0; i < 20; i++) rep += std::string("\x00\x00", 2);  // Delete("")
  WriteBatch batch;
  ASSERT_TRUE(WriteBatchInternal::SetContents(&batch, rep).ok());
  MemTableHolder mem;
  Status s = WriteBatchInternal::InsertInto(&batch, mem.get());
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(0u, mem.Entries());
}

// ForFirstKeys (the keys the write leader prefetches for) yields exactly the
// first max_ops operations ForEachOperation decodes, for every prefix of a
// batch: a truncated operation, and everything after it, is not yielded,
// and nothing past the bytes given is read (each prefix is its own heap
// copy, so ASan would see it).
TEST(WriteBatchTest, ForFirstKeysYieldsTheFirstWholeOperationsOfEveryPrefix) {
  WriteBatch batch;
  batch.Put("alpha", "1");
  batch.Delete("b");
  batch.DeleteRange("c", "d");
  batch.Put(std::string(200, 'k'), std::string(300, 'v'));  // two-byte lengths
  batch.Delete("");
  const std::string rep(WriteBatchInternal::Contents(&batch));
  std::vector<std::string> all;
  ASSERT_TRUE(batch_format::ForEachOperation(rep, [&](ValueType type, std::string_view key,
                                                      std::string_view) {
                all.push_back(std::to_string(static_cast<int>(type)) + ":" + std::string(key));
              }).ok());
  ASSERT_EQ(5u, all.size());
  // Where each operation ends in rep: the shortest prefix that holds it
  // whole is the shortest that ForEachOperation decodes with that many
  // operations (it decodes in order, so before the count mismatch).
  std::vector<size_t> ends;
  for (size_t cut = batch_format::kHeaderSize; cut <= rep.size(); cut++) {
    size_t decoded = 0;
    batch_format::ForEachOperation(rep.substr(0, cut), [&](ValueType, std::string_view,
                                                           std::string_view) {
      decoded++;
    }).PermitUncheckedError();
    if (decoded > ends.size()) ends.push_back(cut);
  }
  ASSERT_EQ(all.size(), ends.size());
  for (size_t i = 1; i < ends.size(); i++) EXPECT_LT(ends[i - 1], ends[i]);
  EXPECT_EQ(rep.size(), ends.back());

  for (size_t cut = 0; cut <= rep.size(); cut++) {
    const std::unique_ptr<char[]> copy(new char[cut]);
    std::memcpy(copy.get(), rep.data(), cut);
    size_t whole = 0;  // operations wholly inside the prefix
    while (whole < ends.size() && ends[whole] <= cut) whole++;
    for (int max_ops : {0, 1, 2, 4, 100}) {
      std::vector<std::string> got;
      batch_format::ForFirstKeys(
          std::string_view(copy.get(), cut), max_ops, [&](ValueType type, std::string_view key) {
            got.push_back(std::to_string(static_cast<int>(type)) + ":" + std::string(key));
          });
      const size_t want = std::min(whole, static_cast<size_t>(max_ops));
      EXPECT_EQ(std::vector<std::string>(all.begin(), all.begin() + static_cast<long>(want)), got)
          << "prefix " << cut << " max_ops " << max_ops;
    }
  }
  // An unknown type stops it.
  std::string bad = rep.substr(0, batch_format::kHeaderSize) + "\x7f" + rep.substr(12);
  int calls = 0;
  batch_format::ForFirstKeys(bad, 100, [&](ValueType, std::string_view) { calls++; });
  EXPECT_EQ(0, calls);
}

// Prefetching the keys of a batch changes nothing: a memtable with a filter
// and a point index answers the same after it.
TEST(WriteBatchTest, PrefetchInsertChangesNothing) {
  const InternalKeyComparator icmp(BytewiseComparator());
  MemTable* mem = new MemTable(icmp, /*filter_bytes=*/4096, 0, 1, 0, /*index_bytes=*/4096);
  mem->Ref();
  WriteBatch batch;
  batch.Put("a", "1");
  batch.Delete("b");
  batch.DeleteRange("c", "d");
  batch.Put("e", "5");
  WriteBatchInternal::SetSequence(&batch, 10);
  WriteBatchInternal::PrefetchInsert(&batch, mem, 4);
  EXPECT_TRUE(mem->Empty());
  EXPECT_EQ(0u, mem->NumEntries());
  ASSERT_TRUE(WriteBatchInternal::InsertInto(&batch, mem).ok());
  WriteBatchInternal::PrefetchInsert(&batch, mem, 100);
  std::string value;
  Status s;
  ASSERT_TRUE(mem->Get(LookupKey("a", 20), &value, &s));
  EXPECT_TRUE(s.ok());
  EXPECT_EQ("1", value);
  ASSERT_TRUE(mem->Get(LookupKey("b", 20), &value, &s));
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(3u, mem->NumEntries());
  EXPECT_EQ(1u, mem->NumRangeTombstones());
  mem->Unref();
}

}  // namespace
}  // namespace lsmkv
