// WriteBatch encoding: round trips, and what InsertInto refuses — more
// operations than the header counts, and sequence numbers past the largest.
#include <memory>
#include <string>
#include <vector>

#include "base/dbformat.h"
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

}  // namespace
}  // namespace lsmkv
