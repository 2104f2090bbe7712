#include "db/version_edit.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "util/coding.h"
#include "util/comparator.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

// Tag values of docs/format/manifest.md, spelled out here so that the tests
// pin the format instead of echoing the implementation.
constexpr uint32_t kComparator = 1, kLogNumber = 2, kNextFile = 3, kLastSeq = 4,
                   kCompactPointer = 5, kDeletedFile = 6, kNewFile = 7, kVersion = 100, kEnd = 101;

std::string IKey(std::string_view user_key, SequenceNumber seq, ValueType t = kTypeValue) {
  std::string k;
  AppendInternalKey(&k, user_key, seq, t);
  return k;
}

// Builds encodings by hand.
class Enc {
 public:
  Enc() = default;
  static Enc WithHeader(uint32_t version = 1) { return Enc().V32(kVersion).V32(version); }
  Enc& V32(uint32_t v) {
    PutVarint32(&s_, v);
    return *this;
  }
  Enc& V64(uint64_t v) {
    PutVarint64(&s_, v);
    return *this;
  }
  Enc& Bytes(std::string_view b) {
    PutLengthPrefixed(&s_, b);
    return *this;
  }
  Enc& Raw(std::string_view b) {
    s_.append(b);
    return *this;
  }
  Enc& NewFile(uint32_t level, uint64_t number, const std::string& smallest,
               const std::string& largest, uint64_t smallest_seqno = 1, uint64_t largest_seqno = 2,
               uint64_t entries = 3, uint64_t deletions = 1) {
    return V32(kNewFile)
        .V32(level)
        .V64(number)
        .V64(4096)
        .Bytes(smallest)
        .Bytes(largest)
        .V64(smallest_seqno)
        .V64(largest_seqno)
        .V64(entries)
        .V64(deletions);
  }
  std::string End() const {
    std::string r = s_;
    PutVarint32(&r, kEnd);
    return r;
  }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

uint64_t RandomU64(Random* rnd) { return rnd->OneIn(2) ? rnd->Next64() : rnd->Skewed(32); }

std::string RandomInternalKey(Random* rnd) {
  return IKey(rnd->RandomBytes(rnd->Skewed(6)), RandomU64(rnd) & kMaxSequenceNumber,
              rnd->OneIn(2) ? kTypeValue : kTypeDeletion);
}

FileMetaData RandomFile(Random* rnd) {
  const InternalKeyComparator icmp(BytewiseComparator());
  FileMetaData f;
  f.number = RandomU64(rnd);
  f.file_size = RandomU64(rnd);
  f.smallest = RandomInternalKey(rnd);
  f.largest = rnd->OneIn(10) ? f.smallest : RandomInternalKey(rnd);
  if (icmp.Compare(f.smallest, f.largest) > 0) std::swap(f.smallest, f.largest);
  f.smallest_seqno = RandomU64(rnd) & kMaxSequenceNumber;
  f.largest_seqno = RandomU64(rnd) & kMaxSequenceNumber;
  if (f.smallest_seqno > f.largest_seqno) std::swap(f.smallest_seqno, f.largest_seqno);
  f.num_entries = RandomU64(rnd);
  f.num_deletions = f.num_entries == 0 ? 0 : RandomU64(rnd) % (f.num_entries + 1);
  f.refs = static_cast<int>(rnd->Uniform(5));  // must not be persisted
  f.being_compacted = rnd->OneIn(2);
  return f;
}

VersionEdit RandomEdit(Random* rnd, int max_files) {
  VersionEdit e;
  if (!rnd->OneIn(4)) e.SetComparatorName(rnd->RandomBytes(rnd->Uniform(40)));
  if (!rnd->OneIn(4)) e.SetLogNumber(RandomU64(rnd));
  if (!rnd->OneIn(4)) e.SetNextFileNumber(RandomU64(rnd));
  if (!rnd->OneIn(4)) e.SetLastSequence(RandomU64(rnd) & kMaxSequenceNumber);
  for (int i = rnd->Uniform(kNumLevels + 1); i > 0; i--) {
    e.SetCompactPointer(static_cast<int>(rnd->Uniform(kNumLevels)), RandomInternalKey(rnd));
  }
  for (int i = rnd->Uniform(max_files + 1); i > 0; i--) {
    e.RemoveFile(static_cast<int>(rnd->Uniform(kNumLevels)), RandomU64(rnd));
  }
  for (int i = rnd->Uniform(max_files + 1); i > 0; i--) {
    e.AddFile(static_cast<int>(rnd->Uniform(kNumLevels)), RandomFile(rnd));
  }
  return e;
}

void ExpectSameFile(const FileMetaData& a, const FileMetaData& b) {
  EXPECT_EQ(a.number, b.number);
  EXPECT_EQ(a.file_size, b.file_size);
  EXPECT_EQ(a.smallest, b.smallest);
  EXPECT_EQ(a.largest, b.largest);
  EXPECT_EQ(a.smallest_seqno, b.smallest_seqno);
  EXPECT_EQ(a.largest_seqno, b.largest_seqno);
  EXPECT_EQ(a.num_entries, b.num_entries);
  EXPECT_EQ(a.num_deletions, b.num_deletions);
}

void ExpectSameEdit(const VersionEdit& a, const VersionEdit& b) {
  EXPECT_EQ(a.has_comparator_name(), b.has_comparator_name());
  EXPECT_EQ(a.comparator_name(), b.comparator_name());
  EXPECT_EQ(a.has_log_number(), b.has_log_number());
  EXPECT_EQ(a.log_number(), b.log_number());
  EXPECT_EQ(a.has_next_file_number(), b.has_next_file_number());
  EXPECT_EQ(a.next_file_number(), b.next_file_number());
  EXPECT_EQ(a.has_last_sequence(), b.has_last_sequence());
  EXPECT_EQ(a.last_sequence(), b.last_sequence());
  EXPECT_EQ(a.compact_pointers(), b.compact_pointers());
  EXPECT_EQ(a.deleted_files(), b.deleted_files());
  ASSERT_EQ(a.new_files().size(), b.new_files().size());
  for (size_t i = 0; i < a.new_files().size(); i++) {
    EXPECT_EQ(a.new_files()[i].first, b.new_files()[i].first);
    ExpectSameFile(a.new_files()[i].second, b.new_files()[i].second);
  }
}

bool IsEmpty(const VersionEdit& e) {
  return !e.has_comparator_name() && !e.has_log_number() && !e.has_next_file_number() &&
         !e.has_last_sequence() && e.compact_pointers().empty() && e.new_files().empty() &&
         e.deleted_files().empty();
}

// Decodes src, expects Corruption whose message contains needle, and checks
// that the edit was left empty.
void ExpectCorrupt(const std::string& src, const std::string& needle) {
  VersionEdit e;
  e.SetLogNumber(99);
  Status s = e.DecodeFrom(src);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.ToString().find(needle), std::string::npos) << s.ToString();
  EXPECT_TRUE(IsEmpty(e));
}

TEST(VersionEditTest, GoldenEncoding) {
  VersionEdit e;
  e.SetComparatorName("cmp");
  e.SetLogNumber(5);
  e.SetNextFileNumber(300);
  e.SetLastSequence(7);
  e.SetCompactPointer(2, IKey("k", 1));
  e.RemoveFile(1, 9);
  FileMetaData f;
  f.number = 10;
  f.file_size = 128;
  f.smallest = IKey("a", 3);
  f.largest = IKey("b", 2, kTypeDeletion);
  f.smallest_seqno = 2;
  f.largest_seqno = 3;
  f.num_entries = 2;
  f.num_deletions = 1;
  e.AddFile(0, f);
  std::string got;
  e.EncodeTo(&got);
  const std::string want =
      std::string("\x64\x01", 2) +  // version tag 100, version 1
      std::string(
          "\x01\x03"
          "cmp",
          5) +                                                // comparator
      std::string("\x02\x05", 2) +                            // log number 5
      std::string("\x03\xac\x02", 3) +                        // next file number 300
      std::string("\x04\x07", 2) +                            // last sequence 7
      std::string("\x05\x02\x09k\x01\x01\0\0\0\0\0\0", 12) +  // compact pointer L2 k@1
      std::string("\x06\x01\x09", 3) +                        // delete L1 #9
      std::string("\x07\x00\x0a\x80\x01", 5) +                // new file L0 #10 size 128
      std::string(
          "\x09"
          "a\x01\x03\0\0\0\0\0\0",
          10) +  // smallest a@3:value
      std::string(
          "\x09"
          "b\x00\x02\0\0\0\0\0\0",
          10) +                             // largest b@2:deletion
      std::string("\x02\x03\x02\x01", 4) +  // seqnos 2..3, 2 entries, 1 deletion
      std::string("\x65", 1);               // end of edit
  EXPECT_EQ(got, want);
  VersionEdit d;
  ASSERT_TRUE(d.DecodeFrom(want).ok());
  ExpectSameEdit(e, d);
}

TEST(VersionEditTest, EmptyEditRoundTrips) {
  VersionEdit e;
  std::string enc;
  e.EncodeTo(&enc);
  EXPECT_EQ(enc, Enc::WithHeader().End());
  VersionEdit d;
  d.SetLogNumber(3);
  ASSERT_TRUE(d.DecodeFrom(enc).ok());
  EXPECT_TRUE(IsEmpty(d));
}

TEST(VersionEditTest, RandomEditsRoundTrip) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  for (int i = 0; i < 300; i++) {
    const VersionEdit e = RandomEdit(&rnd, i % 10 == 0 ? 2000 : 20);
    std::string enc;
    e.EncodeTo(&enc);
    VersionEdit d;
    Status s = d.DecodeFrom(enc);
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << e.DebugString();
    ExpectSameEdit(e, d);
    for (const auto& [level, f] : d.new_files()) {
      EXPECT_EQ(f.refs, 0);
      EXPECT_FALSE(f.being_compacted);
    }
    std::string again;
    d.EncodeTo(&again);
    ASSERT_EQ(enc, again);
  }
}

TEST(VersionEditTest, EncodeToAppends) {
  VersionEdit e;
  e.SetLogNumber(1);
  std::string enc = "prefix";
  e.EncodeTo(&enc);
  EXPECT_EQ(enc, "prefix" + Enc::WithHeader().V32(kLogNumber).V64(1).End());
}

TEST(VersionEditTest, EveryTruncationFails) {
  Random rnd(test::TestSeed() + 1);
  for (int i = 0; i < 40; i++) {
    const VersionEdit e = RandomEdit(&rnd, 6);
    std::string enc;
    e.EncodeTo(&enc);
    for (size_t len = 0; len < enc.size(); len++) {
      VersionEdit d;
      Status s = d.DecodeFrom(std::string_view(enc).substr(0, len));
      ASSERT_TRUE(s.IsCorruption())
          << "prefix " << len << " of " << enc.size() << ": " << s.ToString();
      ASSERT_TRUE(IsEmpty(d));
    }
  }
}

TEST(VersionEditTest, TrailingBytesRejected) {
  ExpectCorrupt(Enc::WithHeader().End() + "x", "after the end-of-edit marker");
  ExpectCorrupt(Enc::WithHeader().End() + Enc::WithHeader().End(), "after the end-of-edit");
}

TEST(VersionEditTest, MissingEndMarkerRejected) {
  ExpectCorrupt(Enc::WithHeader().str(), "no end-of-edit marker");
  ExpectCorrupt(Enc::WithHeader().V32(kLogNumber).V64(4).str(), "no end-of-edit marker");
}

TEST(VersionEditTest, UnknownTagRejected) {
  for (uint32_t tag : {0u, 10u, 99u, 102u, 1000u, 0xffffffffu}) {
    ExpectCorrupt(Enc::WithHeader(2).V32(tag).V64(1).End(), "unknown tag " + std::to_string(tag));
  }
  // The range tombstone records exist only from format version 2 on.
  for (uint32_t tag : {8u, 9u}) {
    ExpectCorrupt(Enc::WithHeader(1).V32(tag).V64(1).End(), "in a version 1 edit");
  }
  // A varint tag that does not fit in 32 bits.
  ExpectCorrupt(Enc::WithHeader().V64(uint64_t{1} << 40).End(), "malformed tag");
}

TEST(VersionEditTest, FormatVersionChecked) {
  VersionEdit e;
  Status s = e.DecodeFrom(Enc::WithHeader(3).End());
  EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
  EXPECT_NE(s.ToString().find("format version 3"), std::string::npos) << s.ToString();
  EXPECT_TRUE(e.DecodeFrom(Enc::WithHeader(2).End()).ok());  // range tombstones' version
  EXPECT_TRUE(e.DecodeFrom(Enc::WithHeader(1).End()).ok());
  s = e.DecodeFrom(Enc::WithHeader(0xffffffffu).End());
  EXPECT_TRUE(s.IsNotSupported()) << s.ToString();

  ExpectCorrupt(Enc::WithHeader(0).End(), "invalid format version 0");
  ExpectCorrupt("", "empty");
  ExpectCorrupt(Enc().V32(kLogNumber).V64(1).End(), "not the format version tag");
  ExpectCorrupt(Enc().V32(kEnd).str(), "not the format version tag");
  ExpectCorrupt(Enc().V32(kVersion).str(), "format version");
  ExpectCorrupt(Enc::WithHeader().V32(kVersion).V32(1).End(), "format version given twice");
}

TEST(VersionEditTest, LevelOutOfRangeRejected) {
  const std::string a = IKey("a", 1), b = IKey("b", 1);
  ExpectCorrupt(Enc::WithHeader().NewFile(kNumLevels, 5, a, b).End(), "level 7 out of range");
  ExpectCorrupt(Enc::WithHeader().NewFile(0xffffffffu, 5, a, b).End(), "out of range");
  ExpectCorrupt(Enc::WithHeader().V32(kDeletedFile).V32(kNumLevels).V64(5).End(),
                "level 7 out of range");
  ExpectCorrupt(Enc::WithHeader().V32(kCompactPointer).V32(200).Bytes(a).End(),
                "level 200 out of range");
  // The highest valid level is accepted.
  VersionEdit e;
  ASSERT_TRUE(e.DecodeFrom(Enc::WithHeader().NewFile(kNumLevels - 1, 5, a, b).End()).ok());
  EXPECT_EQ(e.new_files().at(0).first, kNumLevels - 1);
}

TEST(VersionEditTest, InvalidInternalKeysRejected) {
  const std::string good = IKey("m", 4);
  const std::string short_key = "1234567";  // under 8 bytes
  const std::string bad_type = IKey("m", 4).substr(0, 1) + std::string("\x02\x04\0\0\0\0\0\0", 8);
  for (const std::string& bad : {short_key, bad_type, std::string()}) {
    ExpectCorrupt(Enc::WithHeader().NewFile(1, 5, bad, good).End(),
                  "smallest key is not a valid internal key");
    ExpectCorrupt(Enc::WithHeader().NewFile(1, 5, good, bad).End(),
                  "largest key is not a valid internal key");
    ExpectCorrupt(Enc::WithHeader().V32(kCompactPointer).V32(1).Bytes(bad).End(),
                  "key is not a valid internal key");
  }
}

TEST(VersionEditTest, KeyOrderChecked) {
  // Different user keys.
  ExpectCorrupt(Enc::WithHeader().NewFile(1, 5, IKey("b", 5), IKey("a", 9)).End(),
                "file 5: smallest key is after largest key");
  // Same user key: the higher sequence sorts first.
  ExpectCorrupt(Enc::WithHeader().NewFile(1, 6, IKey("a", 5), IKey("a", 9)).End(),
                "file 6: smallest key is after largest key");
  // Unsigned bytewise order: 0xff after 0x01.
  ExpectCorrupt(Enc::WithHeader().NewFile(1, 7, IKey("\xff", 1), IKey("\x01", 1)).End(),
                "smallest key is after largest key");
  VersionEdit e;
  EXPECT_TRUE(e.DecodeFrom(Enc::WithHeader().NewFile(1, 5, IKey("a", 9), IKey("a", 5)).End()).ok());
  EXPECT_TRUE(e.DecodeFrom(Enc::WithHeader().NewFile(1, 5, IKey("a", 9), IKey("a", 9)).End()).ok());
  EXPECT_TRUE(
      e.DecodeFrom(Enc::WithHeader().NewFile(1, 5, IKey("\x01", 1), IKey("\xff", 1)).End()).ok());
}

TEST(VersionEditTest, CountsAndSequencesChecked) {
  const std::string a = IKey("a", 1), b = IKey("b", 1);
  ExpectCorrupt(Enc::WithHeader().NewFile(0, 5, a, b, 9, 8).End(),
                "smallest seqno 9 > largest seqno 8");
  ExpectCorrupt(Enc::WithHeader().NewFile(0, 5, a, b, 1, kMaxSequenceNumber + 1).End(),
                "exceeds 2^56-1");
  ExpectCorrupt(Enc::WithHeader().NewFile(0, 5, a, b, 1, 2, 3, 4).End(), "4 deletions > 3 entries");
  ExpectCorrupt(Enc::WithHeader().V32(kLastSeq).V64(kMaxSequenceNumber + 1).End(),
                "exceeds 2^56-1");
  VersionEdit e;
  ASSERT_TRUE(e.DecodeFrom(Enc::WithHeader()
                               .V32(kLastSeq)
                               .V64(kMaxSequenceNumber)
                               .NewFile(0, 5, a, b, 0, kMaxSequenceNumber, 3, 3)
                               .End())
                  .ok());
  EXPECT_EQ(e.last_sequence(), kMaxSequenceNumber);
}

TEST(VersionEditTest, RepeatedFieldsRejected) {
  ExpectCorrupt(Enc::WithHeader().V32(kComparator).Bytes("x").V32(kComparator).Bytes("x").End(),
                "comparator given twice");
  ExpectCorrupt(Enc::WithHeader().V32(kLogNumber).V64(1).V32(kLogNumber).V64(1).End(),
                "log number given twice");
  ExpectCorrupt(Enc::WithHeader().V32(kNextFile).V64(1).V32(kNextFile).V64(2).End(),
                "next file number given twice");
  ExpectCorrupt(Enc::WithHeader().V32(kLastSeq).V64(1).V32(kLastSeq).V64(2).End(),
                "last sequence given twice");
  const std::string k = IKey("k", 1);
  ExpectCorrupt(Enc::WithHeader()
                    .V32(kCompactPointer)
                    .V32(3)
                    .Bytes(k)
                    .V32(kCompactPointer)
                    .V32(3)
                    .Bytes(k)
                    .End(),
                "compact pointer for level 3 given twice");
  ExpectCorrupt(
      Enc::WithHeader().V32(kDeletedFile).V32(2).V64(8).V32(kDeletedFile).V32(2).V64(8).End(),
      "deleted file 8 at level 2 listed twice");
}

TEST(VersionEditTest, TruncatedAndOversizedFieldsRejected) {
  const std::string a = IKey("a", 1), b = IKey("b", 1);
  // A length prefix far beyond the input must not be trusted.
  ExpectCorrupt(Enc::WithHeader().V32(kComparator).V32(0xffffffffu).Raw("abc").End(),
                "comparator: truncated or malformed name");
  ExpectCorrupt(Enc::WithHeader().V32(kNewFile).V32(0).V64(1).V64(1).V32(1u << 30).Raw(a).End(),
                "new file: truncated or malformed smallest key");
  // A varint longer than 64 bits.
  ExpectCorrupt(Enc::WithHeader().V32(kLogNumber).Raw(std::string(10, '\xff')).Raw("\x01").End(),
                "log number: truncated or malformed number");
  // Cut inside a record (an end marker here would be read as the field).
  ExpectCorrupt(Enc::WithHeader().V32(kNextFile).str(), "next file number: truncated");
  ExpectCorrupt(Enc::WithHeader().V32(kDeletedFile).V32(1).str(), "deleted file: truncated");
  ExpectCorrupt(Enc::WithHeader().V32(kNextFile).Raw("\x80").str(), "next file number: truncated");
}

TEST(VersionEditTest, FailedDecodeClearsPreviousContents) {
  Random rnd(test::TestSeed() + 2);
  VersionEdit e = RandomEdit(&rnd, 5);
  e.SetLogNumber(1);
  EXPECT_FALSE(e.DecodeFrom(Enc::WithHeader().V32(kNewFile).End()).ok());
  EXPECT_TRUE(IsEmpty(e));

  // A successful decode replaces, it does not merge.
  e = RandomEdit(&rnd, 5);
  e.SetLogNumber(1);
  e.AddFile(0, RandomFile(&rnd));
  ASSERT_TRUE(e.DecodeFrom(Enc::WithHeader().V32(kNextFile).V64(12).End()).ok());
  EXPECT_FALSE(e.has_log_number());
  EXPECT_TRUE(e.new_files().empty());
  EXPECT_EQ(e.next_file_number(), 12u);
}

TEST(VersionEditTest, SettersAndClear) {
  VersionEdit e;
  e.SetCompactPointer(1, IKey("x", 1));
  e.SetCompactPointer(2, IKey("y", 1));
  e.SetCompactPointer(1, IKey("z", 1));
  EXPECT_EQ(e.compact_pointers(),
            (std::vector<std::pair<int, std::string>>{{1, IKey("z", 1)}, {2, IKey("y", 1)}}));
  e.RemoveFile(3, 4);
  e.RemoveFile(3, 4);
  EXPECT_EQ(e.deleted_files().size(), 1u);
  FileMetaData f;
  f.smallest = IKey("a", 1);
  f.largest = IKey("a", 1);
  f.refs = 3;
  f.being_compacted = true;
  e.AddFile(4, f);
  EXPECT_EQ(e.new_files().at(0).second.refs, 0);
  EXPECT_FALSE(e.new_files().at(0).second.being_compacted);
  e.SetComparatorName("c");
  e.SetLastSequence(4);
  e.Clear();
  EXPECT_TRUE(IsEmpty(e));
  EXPECT_EQ(e.last_sequence(), 0u);
  EXPECT_EQ(e.comparator_name(), "");
}

TEST(VersionEditTest, DebugStringShowsEveryField) {
  VersionEdit e;
  e.SetComparatorName("lsmkv.Bytewise");
  e.SetLogNumber(41);
  e.SetNextFileNumber(42);
  e.SetLastSequence(43);
  e.SetCompactPointer(5, IKey("cp", 44));
  e.RemoveFile(3, 17);
  FileMetaData f;
  f.number = 18;
  f.file_size = 999;
  f.smallest = IKey(std::string("a\0\xff", 3), 50);
  f.largest = IKey("zz", 45, kTypeDeletion);
  f.smallest_seqno = 45;
  f.largest_seqno = 50;
  f.num_entries = 7;
  f.num_deletions = 2;
  e.AddFile(2, f);
  const std::string d = e.DebugString();
  for (const char* want :
       {"comparator: 'lsmkv.Bytewise'", "log_number: 41", "next_file_number: 42",
        "last_sequence: 43", "compact_pointer: L5 'cp'@44:value", "delete_file: L3 #17",
        "add_file: L2 #18 size=999 ['a\\x00\\xff'@50:value .. 'zz'@45:deletion] "
        "seqno=[45, 50] entries=7 deletions=2"}) {
    EXPECT_NE(d.find(want), std::string::npos) << "missing \"" << want << "\" in\n" << d;
  }
  EXPECT_EQ(VersionEdit().DebugString().find("log_number"), std::string::npos);
}

// Random and mutated inputs must never crash (run under ASan/UBSan to check
// bounds) and whatever decodes must re-encode and decode to the same edit.
TEST(VersionEditTest, FuzzNeverCrashes) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  std::vector<std::string> corpus;
  for (int i = 0; i < 32; i++) {
    std::string enc;
    RandomEdit(&rnd, 4).EncodeTo(&enc);
    corpus.push_back(enc);
  }
  const std::string header = Enc::WithHeader().str();
  int accepted = 0, rejected = 0;
  for (int iter = 0; iter < 100000; iter++) {
    std::string input;
    switch (rnd.Uniform(4)) {
      case 0:
        input = rnd.RandomBytes(rnd.Skewed(7));
        break;
      case 1:  // past the version check, so the record parser sees the bytes
        input = header + rnd.RandomBytes(rnd.Skewed(7));
        break;
      default: {
        input = corpus[rnd.Uniform(static_cast<uint32_t>(corpus.size()))];
        for (int m = 1 + rnd.Uniform(4); m > 0 && !input.empty(); m--) {
          const uint32_t pos = rnd.Uniform(static_cast<uint32_t>(input.size()));
          switch (rnd.Uniform(5)) {
            case 0:
              input[pos] = static_cast<char>(input[pos] ^ (1 << rnd.Uniform(8)));
              break;
            case 1:
              input[pos] = static_cast<char>(rnd.Uniform(256));
              break;
            case 2:
              input.insert(pos, rnd.RandomBytes(1 + rnd.Uniform(8)));
              break;
            case 3:
              input.erase(pos, 1 + rnd.Uniform(8));
              break;
            default:
              input.resize(pos);
              break;
          }
        }
      }
    }
    VersionEdit e;
    Status s = e.DecodeFrom(input);
    if (!s.ok()) {
      ASSERT_TRUE(s.IsCorruption() || s.IsNotSupported()) << s.ToString();
      ASSERT_TRUE(IsEmpty(e));
      rejected++;
      continue;
    }
    accepted++;
    std::string enc;
    e.EncodeTo(&enc);
    VersionEdit again;
    ASSERT_TRUE(again.DecodeFrom(enc).ok());
    ExpectSameEdit(e, again);
    ASSERT_FALSE(e.DebugString().empty());
  }
  std::cout << "fuzz: " << accepted << " accepted, " << rejected << " rejected\n";
  EXPECT_GT(rejected, 50000);
  EXPECT_GT(accepted, 0);  // some mutations (e.g. of a number) stay valid
}

}  // namespace
}  // namespace lsmkv
