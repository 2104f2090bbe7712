// log::BatchReader: the event stream for constructed logs (clean, torn,
// flipped byte, zeroed region, invalid batches, several logs with a hole, an
// unreadable log, a read error), exact offsets; and a seeded property test:
// under random damage the events account for every byte of every log and
// return exactly the intact records.
#include "wal/batch_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/filename.h"
#include "base/write_batch_format.h"
#include "lsmkv/env.h"
#include "util/coding.h"
#include "wal/log_format.h"
#include "wal/log_testutil.h"

namespace lsmkv::log {
namespace {

using logtest::LogBuilder;
using logtest::WrittenRecord;
using Type = WalEvent::Type;

// A batch encoded from the format's definition (docs/format/wal.md), not by
// WriteBatch: sequence, count, then count puts of key "k<i>" and value.
std::string EncodeBatch(SequenceNumber sequence, uint32_t count, size_t value_size = 10,
                        uint32_t count_field = UINT32_MAX) {
  std::string rep;
  PutFixed64(&rep, sequence);
  PutFixed32(&rep, count_field == UINT32_MAX ? count : count_field);
  for (uint32_t i = 0; i < count; i++) {
    rep.push_back(static_cast<char>(kTypeValue));
    PutLengthPrefixed(&rep, "k" + std::to_string(i));
    PutLengthPrefixed(&rep, std::string(value_size, static_cast<char>('a' + i % 26)));
  }
  return rep;
}

// An event reduced to what the tests compare.
struct Ev {
  Type type;
  uint64_t log_number = 0;
  uint64_t offset = 0, limit = 0, bytes = 0;
  std::string record;
  SequenceNumber sequence = 0;
  uint32_t count = 0;
  Status status;
  Reader::End end = Reader::End::kEof;
  std::string path, hole_path;
  uint64_t hole_log_number = 0;
};

std::string Path(uint64_t number) { return LogFileName("/wal", number); }

class BatchReaderTest : public testing::Test {
 protected:
  BatchReaderTest() : env_(NewMemEnv(Env::Default())) {}

  void Write(uint64_t number, const std::string& contents) {
    ASSERT_TRUE(WriteStringToFile(env_.get(), contents, Path(number), false).ok());
  }

  std::vector<Ev> ReadAll(const std::vector<uint64_t>& numbers, Env* env = nullptr) {
    BatchReader reader(env != nullptr ? env : env_.get(), "/wal", numbers);
    std::vector<Ev> out;
    WalEvent e;
    while (reader.Next(&e)) {
      Ev ev{e.type,
            e.log_number,
            e.offset,
            e.limit,
            e.bytes,
            std::string(e.record),
            e.sequence,
            e.count,
            e.status,
            e.end,
            std::string(e.path),
            std::string(e.hole_path),
            e.hole_log_number};
      out.push_back(std::move(ev));
    }
    EXPECT_FALSE(reader.Next(&e)) << "Next keeps returning false";
    return out;
  }

  std::unique_ptr<Env> env_;
};

std::vector<Type> Types(const std::vector<Ev>& events) {
  std::vector<Type> t;
  for (const Ev& e : events) t.push_back(e.type);
  return t;
}

std::string Describe(const std::vector<Ev>& events) {
  std::string s;
  for (const Ev& e : events) {
    s += std::string(WalEventTypeName(e.type)) + " log " + std::to_string(e.log_number) + " @" +
         std::to_string(e.offset) + ".." + std::to_string(e.limit) + " bytes " +
         std::to_string(e.bytes) + (e.status.ok() ? "" : " " + e.status.ToString()) + "\n";
  }
  return s;
}

void ExpectBatch(const Ev& e, const WrittenRecord& written, SequenceNumber sequence,
                 uint32_t count) {
  EXPECT_EQ(Type::kBatch, e.type);
  EXPECT_EQ(written.header_start, e.offset);
  EXPECT_EQ(written.end, e.limit);
  EXPECT_EQ(written.payload, e.record);
  EXPECT_EQ(written.payload.size(), e.bytes);
  EXPECT_EQ(sequence, e.sequence);
  EXPECT_EQ(count, e.count);
}

TEST_F(BatchReaderTest, CleanLogYieldsEveryBatchAtItsOffset) {
  // Small batches, one spanning three blocks, and one ending 5 bytes before
  // a block's end (the next starts after a trailer).
  LogBuilder real(5);
  real.Add(EncodeBatch(1, 3));
  real.Add(EncodeBatch(4, 1, 70000));
  real.Add(EncodeBatch(5, 2));
  // Two puts, the second's value filling the block but for 5 bytes.
  const size_t filler = kBlockSize - real.contents().size() % kBlockSize - kHeaderSize - 5;
  std::string padded;
  PutFixed64(&padded, 7);
  PutFixed32(&padded, 2);
  padded.push_back(static_cast<char>(kTypeValue));
  PutLengthPrefixed(&padded, "a");
  PutLengthPrefixed(&padded, "b");
  const size_t value_size = filler - padded.size() - 1 - 2 - 3;  // type, key, 3-byte varint
  ASSERT_GE(value_size, 1u << 14) << "the value's length must take 3 bytes";
  padded.push_back(static_cast<char>(kTypeValue));
  PutLengthPrefixed(&padded, "c");
  PutLengthPrefixed(&padded, std::string(value_size, 'v'));
  ASSERT_EQ(filler, padded.size());
  real.Add(padded);
  real.Add(EncodeBatch(9, 1));
  Write(5, real.contents());
  const std::vector<WrittenRecord>& w = real.records();
  ASSERT_EQ(w[4].header_start % kBlockSize, 0u) << "the last batch follows a trailer";
  ASSERT_EQ(w[4].header_start - w[3].end, 5u);

  const std::vector<Ev> events = ReadAll({5});
  ASSERT_EQ((std::vector<Type>{Type::kLogStart, Type::kBatch, Type::kBatch, Type::kBatch,
                               Type::kBatch, Type::kBatch, Type::kLogEnd}),
            Types(events))
      << Describe(events);
  EXPECT_EQ(5u, events[0].log_number);
  EXPECT_EQ(Path(5), events[0].path);
  ExpectBatch(events[1], w[0], 1, 3);
  ExpectBatch(events[2], w[1], 4, 1);
  ExpectBatch(events[3], w[2], 5, 2);
  ExpectBatch(events[4], w[3], 7, 2);
  ExpectBatch(events[5], w[4], 9, 1);
  EXPECT_EQ(Reader::End::kEof, events[6].end);
  EXPECT_TRUE(events[6].status.ok());
  EXPECT_EQ(real.contents().size(), events[6].offset);
}

TEST_F(BatchReaderTest, TornTailStartsAtTheEndOfTheLastRecord) {
  LogBuilder log(5);
  for (int i = 0; i < 4; i++) log.Add(EncodeBatch(1 + 2 * i, 2, 100));
  const WrittenRecord last = log.records().back();
  const std::string file = log.contents().substr(0, last.end - 7);
  Write(5, file);
  const std::vector<Ev> events = ReadAll({5});
  ASSERT_EQ((std::vector<Type>{Type::kLogStart, Type::kBatch, Type::kBatch, Type::kBatch,
                               Type::kTornTail, Type::kLogEnd}),
            Types(events))
      << Describe(events);
  const Ev& torn = events[4];
  EXPECT_EQ(last.append_start, torn.offset);
  EXPECT_EQ(file.size(), torn.limit);
  EXPECT_EQ(file.size() - last.append_start, torn.bytes);
  EXPECT_EQ(Reader::End::kTornTail, events[5].end);
  EXPECT_EQ(file.size(), events[5].offset);
}

TEST_F(BatchReaderTest, FlippedByteDropsExactlyItsRecord) {
  LogBuilder log(5);
  for (int i = 0; i < 5; i++) log.Add(EncodeBatch(1 + i, 1, 200));
  const std::vector<WrittenRecord>& w = log.records();
  std::string file = log.contents();
  file[w[2].header_start + kHeaderSize + 30] ^= 0x10;  // in the third record's payload
  Write(5, file);
  const std::vector<Ev> events = ReadAll({5});
  ASSERT_EQ((std::vector<Type>{Type::kLogStart, Type::kBatch, Type::kBatch, Type::kDropped,
                               Type::kBatch, Type::kBatch, Type::kLogEnd}),
            Types(events))
      << Describe(events);
  const Ev& drop = events[3];
  EXPECT_EQ(w[2].header_start, drop.offset);
  EXPECT_EQ(w[3].header_start - w[2].header_start, drop.bytes);
  EXPECT_EQ(w[3].header_start, drop.limit);
  EXPECT_TRUE(drop.status.IsCorruption());
  const std::string reason = drop.status.ToString();
  EXPECT_NE(std::string::npos, reason.find(Path(5))) << reason;
  EXPECT_NE(std::string::npos, reason.find("offset " + std::to_string(w[2].header_start)))
      << reason;
  EXPECT_NE(std::string::npos, reason.find("checksum mismatch")) << reason;
  ExpectBatch(events[4], w[3], 4, 1);
}

TEST_F(BatchReaderTest, ZeroedRegionIsOneDrop) {
  // In one block: zeros over records 1..2 and the header of 3.
  {
    LogBuilder log(5);
    for (int i = 0; i < 6; i++) log.Add(EncodeBatch(1 + i, 1, 50));
    const std::vector<WrittenRecord>& w = log.records();
    std::string file = log.contents();
    std::fill(file.begin() + w[1].header_start, file.begin() + w[3].header_start + 4, '\0');
    Write(5, file);
    const std::vector<Ev> events = ReadAll({5});
    ASSERT_EQ((std::vector<Type>{Type::kLogStart, Type::kBatch, Type::kDropped, Type::kBatch,
                                 Type::kBatch, Type::kLogEnd}),
              Types(events))
        << Describe(events);
    EXPECT_EQ(w[1].header_start, events[2].offset);
    EXPECT_EQ(w[4].header_start - w[1].header_start, events[2].bytes);
    EXPECT_NE(std::string::npos,
              events[2].status.ToString().find(
                  "all-zero fragment header followed by data in the same block"));
    ExpectBatch(events[3], w[4], 5, 1);
  }
  // From a record to the end of its block (the next block starts a record).
  {
    LogBuilder log(6);
    log.Add(EncodeBatch(1, 1, 50));
    log.Add(EncodeBatch(2, 1, 50));
    log.AddEndingBefore(0, 'f');
    log.Add(EncodeBatch(3, 1, 50));
    const std::vector<WrittenRecord>& w = log.records();
    ASSERT_EQ(kBlockSize, w[3].header_start);
    std::string file = log.contents();
    std::fill(file.begin() + w[1].header_start, file.begin() + kBlockSize, '\0');
    Write(6, file);
    const std::vector<Ev> events = ReadAll({6});
    ASSERT_EQ((std::vector<Type>{Type::kLogStart, Type::kBatch, Type::kDropped, Type::kBatch,
                                 Type::kLogEnd}),
              Types(events))
        << Describe(events);
    EXPECT_EQ(w[1].header_start, events[2].offset);
    EXPECT_EQ(kBlockSize - w[1].header_start, events[2].bytes);
    EXPECT_NE(std::string::npos,
              events[2].status.ToString().find("all-zero region followed by data"));
    ExpectBatch(events[3], w[3], 3, 1);
  }
  // Zeros to the end of the file: unwritten space ends the log, no damage.
  {
    LogBuilder log(7);
    for (int i = 0; i < 3; i++) log.Add(EncodeBatch(1 + i, 1, 50));
    std::string file = log.contents() + std::string(100, '\0');
    Write(7, file);
    const std::vector<Ev> events = ReadAll({7});
    ASSERT_EQ((std::vector<Type>{Type::kLogStart, Type::kBatch, Type::kBatch, Type::kBatch,
                                 Type::kLogEnd}),
              Types(events))
        << Describe(events);
    EXPECT_EQ(Reader::End::kZeroHeader, events[4].end);
    EXPECT_EQ(log.contents().size(), events[4].offset);
  }
}

TEST_F(BatchReaderTest, InvalidBatchesAreBadBatchEvents) {
  LogBuilder log(5);
  log.Add(EncodeBatch(1, 1));
  log.Add("short");                             // no 12-byte header
  log.Add(EncodeBatch(2, 1, 10, 2));            // header counts 2, holds 1
  log.Add(EncodeBatch(kMaxSequenceNumber, 2));  // sequence numbers overflow
  std::string bad_op = EncodeBatch(5, 1);
  bad_op[batch_format::kHeaderSize] = 7;  // unknown operation type
  log.Add(bad_op);
  log.Add(EncodeBatch(6, 0));  // a batch of no operations is valid
  log.Add(EncodeBatch(6, 1));
  Write(5, log.contents());
  const std::vector<WrittenRecord>& w = log.records();
  const std::vector<Ev> events = ReadAll({5});
  ASSERT_EQ((std::vector<Type>{Type::kLogStart, Type::kBatch, Type::kBadBatch, Type::kBadBatch,
                               Type::kBadBatch, Type::kBadBatch, Type::kBatch, Type::kBatch,
                               Type::kLogEnd}),
            Types(events))
      << Describe(events);
  const char* const faults[] = {"record shorter than the 12-byte batch header",
                                "header counts 2 operations, found 1",
                                "exceed the largest sequence number", "unknown operation type 7"};
  for (int i = 0; i < 4; i++) {
    const Ev& e = events[2 + i];
    const WrittenRecord& r = w[1 + i];
    EXPECT_EQ(r.header_start, e.offset);
    EXPECT_EQ(r.end, e.limit);
    EXPECT_EQ(r.payload.size(), e.bytes);
    EXPECT_EQ(r.payload, e.record);
    EXPECT_TRUE(e.status.IsCorruption());
    EXPECT_NE(std::string::npos, e.status.ToString().find(faults[i])) << e.status.ToString();
  }
  ExpectBatch(events[6], w[5], 6, 0);
  ExpectBatch(events[7], w[6], 6, 1);
}

TEST_F(BatchReaderTest, TornLogFollowedByRecordsIsAHole) {
  // 3: torn. 4: empty. 5: torn too (the newer tail is the hole). 6: missing.
  // 7: records. 8: torn, the last log: no hole.
  LogBuilder l3(3), l5(5), l7(7), l8(8);
  l3.Add(EncodeBatch(1, 1));
  l3.Add(EncodeBatch(2, 1, 300));
  l5.Add(EncodeBatch(3, 1, 300));
  l7.Add(EncodeBatch(4, 1));
  l7.Add(EncodeBatch(5, 1));
  l8.Add(EncodeBatch(6, 1, 300));
  Write(3, l3.contents().substr(0, l3.contents().size() - 100));
  Write(4, "");
  Write(5, l5.contents().substr(0, 20));
  Write(7, l7.contents());
  Write(8, l8.contents().substr(0, 5));
  const std::vector<Ev> events = ReadAll({3, 4, 5, 6, 7, 8});
  ASSERT_EQ((std::vector<Type>{Type::kLogStart, Type::kBatch, Type::kTornTail, Type::kLogEnd,
                               Type::kLogStart, Type::kLogEnd,                   // 4
                               Type::kLogStart, Type::kTornTail, Type::kLogEnd,  // 5
                               Type::kLogUnreadable,                             // 6
                               Type::kLogStart, Type::kHole, Type::kBatch, Type::kBatch,
                               Type::kLogEnd,                                      // 7
                               Type::kLogStart, Type::kTornTail, Type::kLogEnd}),  // 8
            Types(events))
      << Describe(events);
  EXPECT_EQ(l3.records()[1].header_start, events[2].offset);
  EXPECT_EQ(l3.contents().size() - 100 - l3.records()[1].header_start, events[2].bytes);
  EXPECT_EQ(0u, events[7].offset);
  EXPECT_EQ(20u, events[7].bytes);
  EXPECT_EQ(6u, events[9].log_number);
  EXPECT_FALSE(events[9].status.ok());
  const Ev& hole = events[11];
  EXPECT_EQ(7u, hole.log_number);
  EXPECT_EQ(Path(7), hole.path);
  EXPECT_EQ(5u, hole.hole_log_number);
  EXPECT_EQ(Path(5), hole.hole_path);
  EXPECT_EQ(20u, hole.bytes);
  ExpectBatch(events[12], l7.records()[0], 4, 1);
  EXPECT_EQ(8u, events.back().log_number);
  EXPECT_EQ(Reader::End::kTornTail, events.back().end);
}

// Fails the second read of every file whose name ends in "fail.log".
class FailingReadEnv : public EnvWrapper {
 public:
  explicit FailingReadEnv(Env* target) : EnvWrapper(target) {}
  Status NewSequentialFile(const std::string& fname,
                           std::unique_ptr<SequentialFile>* result) override {
    Status s = EnvWrapper::NewSequentialFile(fname, result);
    if (s.ok() && fname.size() >= 8 && fname.substr(fname.size() - 8) == "fail.log") {
      *result = std::make_unique<Failing>(std::move(*result));
    }
    return s;
  }

 private:
  class Failing : public SequentialFile {
   public:
    explicit Failing(std::unique_ptr<SequentialFile> base) : base_(std::move(base)) {}
    Status Read(size_t n, std::string_view* result, char* scratch) override {
      if (++reads_ == 2) return Status::IOError("injected read failure");
      return base_->Read(n, result, scratch);
    }
    Status Skip(uint64_t n) override { return base_->Skip(n); }

   private:
    std::unique_ptr<SequentialFile> base_;
    int reads_ = 0;
  };
};

TEST_F(BatchReaderTest, ReadErrorEndsTheLogAndReadingGoesOn) {
  LogBuilder big(5), next(6);
  for (int i = 0; i < 40; i++) big.Add(EncodeBatch(1 + i, 1, 1000));  // ~41 KB: two blocks
  next.Add(EncodeBatch(100, 1));
  FailingReadEnv env(env_.get());
  ASSERT_TRUE(WriteStringToFile(env_.get(), big.contents(), "/wal/fail.log", false).ok());
  Write(6, next.contents());
  std::vector<WalFile> files = {{5, "/wal/fail.log"}, {6, Path(6)}};
  BatchReader reader(&env, files);
  WalEvent e;
  std::vector<Type> types;
  Status error;
  uint64_t batches = 0, last_limit = 0;
  while (reader.Next(&e)) {
    types.push_back(e.type);
    if (e.type == Type::kBatch && e.log_number == 5) {
      batches++;
      last_limit = e.limit;
    }
    if (e.type == Type::kLogEnd && e.log_number == 5) {
      error = e.status;
      EXPECT_EQ(Reader::End::kIOError, e.end);
    }
  }
  EXPECT_TRUE(error.IsIOError()) << error.ToString();
  EXPECT_GT(batches, 0u);
  EXPECT_LE(last_limit, kBlockSize) << "only the first block was read";
  ASSERT_GE(types.size(), 4u);
  EXPECT_EQ((std::vector<Type>{Type::kLogStart, Type::kBatch, Type::kLogEnd}),
            std::vector<Type>(types.end() - 3, types.end()))
      << "log 6 is read after log 5's error";
}

// ---------------------------------------------------------------- property

// Applies seeded random damage to a log: flipped bytes, zeroed or
// overwritten ranges, a cut. Marks every changed offset in *damaged and
// returns the new contents.
std::string Damage(std::string file, std::mt19937_64* rng, std::vector<bool>* damaged) {
  damaged->assign(file.size(), false);
  auto pick = [&](uint64_t n) { return static_cast<size_t>((*rng)() % n); };
  const int damages = 1 + pick(3);
  for (int d = 0; d < damages && !file.empty(); d++) {
    const size_t at = pick(file.size());
    switch (pick(4)) {
      case 0:  // one flipped byte
        file[at] = static_cast<char>(file[at] ^ (1 + pick(255)));
        (*damaged)[at] = true;
        break;
      case 1:    // a zeroed range
      case 2: {  // random bytes
        const size_t n = std::min(file.size() - at, 1 + pick(d == 0 ? 40000 : 300));
        for (size_t i = at; i < at + n; i++) {
          const char before = file[i];
          file[i] = pick(4) == 1 ? static_cast<char>(pick(256)) : '\0';
          (*damaged)[i] = (*damaged)[i] || file[i] != before;
        }
        break;
      }
      case 3:  // a cut
        file.resize(at);
        damaged->resize(at);
        break;
    }
  }
  return file;
}

TEST_F(BatchReaderTest, EventsAccountForEveryByteUnderRandomDamage) {
  std::mt19937_64 rng(20261203);
  int drops = 0, torn = 0, bad = 0, holes = 0, lost = 0;
  for (int trial = 0; trial < 300; trial++) {
    // Two or three logs of batches (some invalid, some spanning blocks).
    const int logs = 2 + static_cast<int>(rng() % 2);
    std::vector<uint64_t> numbers;
    std::vector<std::string> files;
    std::vector<std::vector<WrittenRecord>> written;
    std::vector<std::vector<bool>> damaged(logs);
    SequenceNumber sequence = 1;
    for (int l = 0; l < logs; l++) {
      const uint64_t number = 10 + trial * 4 + l;
      LogBuilder log(number);
      const int records = static_cast<int>(rng() % 40);
      for (int r = 0; r < records; r++) {
        const uint32_t count = 1 + static_cast<uint32_t>(rng() % 4);
        const size_t value = rng() % 8 == 0 ? 5000 + rng() % 40000 : rng() % 300;
        std::string batch = EncodeBatch(sequence, count, value);
        if (rng() % 20 == 0) batch.resize(batch.size() - 1);  // an invalid batch
        log.Add(batch);
        sequence += count;
      }
      std::string file = log.contents();
      if (rng() % 3 != 0) file = Damage(file, &rng, &damaged[l]);
      damaged[l].resize(file.size(), false);
      Write(number, file);
      numbers.push_back(number);
      files.push_back(file);
      written.push_back(log.records());
    }

    const std::vector<Ev> events = ReadAll(numbers);
    SCOPED_TRACE("trial " + std::to_string(trial) + "\n" + Describe(events));
    size_t l = 0;                // index of the log being read
    uint64_t cursor = 0;         // end of what the events accounted for
    uint64_t trailer_bytes = 0;  // gaps: block trailers
    uint64_t covered = 0;        // bytes inside event extents
    size_t next_written = 0;     // index of the next original record
    bool torn_pending = false;   // a torn tail not yet followed by a record
    std::vector<bool> returned;  // per original record of log l
    auto account = [&](uint64_t offset, uint64_t limit) {
      ASSERT_LE(cursor, offset) << "events overlap or go backwards";
      ASSERT_LE(offset, limit);
      const uint64_t gap = offset - cursor;
      if (gap > 0) {
        // Only a trailer carries no event: fewer than a header's bytes
        // ending at a block boundary.
        EXPECT_LT(gap, kHeaderSize) << "unaccounted bytes at " << cursor;
        EXPECT_EQ(0u, offset % kBlockSize) << "unaccounted bytes at " << cursor;
        trailer_bytes += gap;
      }
      covered += limit - offset;
      cursor = limit;
    };
    for (const Ev& e : events) {
      ASSERT_LT(l, numbers.size());
      ASSERT_EQ(numbers[l], e.log_number);
      const std::string& file = files[l];
      const std::vector<WrittenRecord>& w = written[l];
      switch (e.type) {
        case Type::kLogStart:
          cursor = covered = trailer_bytes = 0;
          next_written = 0;
          returned.assign(w.size(), false);
          break;
        case Type::kLogUnreadable:
          FAIL() << "every log exists";
          break;
        case Type::kDropped:
          drops++;
          EXPECT_TRUE(e.status.IsCorruption());
          EXPECT_NE(std::string::npos,
                    e.status.ToString().find("offset " + std::to_string(e.offset)));
          EXPECT_EQ(e.offset + e.bytes, e.limit);
          account(e.offset, e.limit);
          break;
        case Type::kBatch:
        case Type::kBadBatch: {
          account(e.offset, e.limit);
          torn_pending = false;
          // Exactly an original record, at its place, never made up.
          while (next_written < w.size() && w[next_written].header_start < e.offset) {
            next_written++;
          }
          ASSERT_LT(next_written, w.size()) << "a record that was never written";
          const WrittenRecord& r = w[next_written];
          EXPECT_EQ(r.header_start, e.offset);
          EXPECT_EQ(r.end, e.limit);
          EXPECT_EQ(r.payload, e.record);
          EXPECT_EQ(e.type == Type::kBatch, batch_format::ValidateRecord(r.payload).ok());
          if (e.type == Type::kBadBatch) bad++;
          returned[next_written++] = true;
          break;
        }
        case Type::kTornTail:
          torn++;
          torn_pending = true;
          EXPECT_EQ(e.offset + e.bytes, e.limit);
          account(e.offset, e.limit);
          break;
        case Type::kHole:
          holes++;
          EXPECT_TRUE(torn_pending) << "a hole needs an earlier torn tail";
          EXPECT_LT(e.hole_log_number, e.log_number);
          break;
        case Type::kLogEnd: {
          EXPECT_TRUE(e.status.ok());
          account(e.offset, e.offset);
          // From the logical end to the end of the file: unwritten (zero)
          // space, stale data, or nothing.
          ASSERT_LE(e.offset, file.size());
          if (e.end == Reader::End::kEof) {
            EXPECT_EQ(file.size(), e.offset);
          } else if (e.end == Reader::End::kTornTail) {
            // A write cut at the end of the file, or over preallocated
            // (zero) space.
            EXPECT_EQ(std::string::npos, file.find_first_not_of('\0', e.offset));
          } else if (e.end == Reader::End::kZeroHeader) {
            EXPECT_EQ(std::string::npos, file.find_first_not_of('\0', e.offset));
          } else {
            ADD_FAILURE() << "unexpected end " << static_cast<int>(e.end);
          }
          // The exact accounting: records + drops + torn tail + trailers +
          // the space past the logical end = the file.
          EXPECT_EQ(file.size(), covered + trailer_bytes + (file.size() - e.offset));
          // Every record no damage touched is returned.
          for (size_t i = 0; i < w.size(); i++) {
            const bool intact =
                w[i].end <= file.size() &&
                std::none_of(damaged[l].begin() + w[i].header_start, damaged[l].begin() + w[i].end,
                             [](bool b) { return b; });
            if (intact) {
              EXPECT_TRUE(returned[i]) << "intact record " << i << " at " << w[i].header_start;
            } else if (!returned[i]) {
              lost++;
            }
          }
          l++;
          break;
        }
      }
    }
    EXPECT_EQ(numbers.size(), l) << "every log ends";
  }
  // The damage exercised every kind of event.
  EXPECT_GT(drops, 100);
  EXPECT_GT(torn, 20);
  EXPECT_GT(bad, 10);
  EXPECT_GT(holes, 0);
  EXPECT_GT(lost, 100);
}

}  // namespace
}  // namespace lsmkv::log
