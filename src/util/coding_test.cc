#include "util/coding.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

const std::vector<uint64_t>& EdgeValues64() {
  static const std::vector<uint64_t> values = [] {
    std::vector<uint64_t> v = {0,
                               1,
                               127,
                               128,
                               255,
                               256,
                               (1ull << 14) - 1,
                               1ull << 14,
                               (1ull << 21) - 1,
                               1ull << 21,
                               (1ull << 28) - 1,
                               1ull << 28,
                               (1ull << 31),
                               0xffffffffull,
                               1ull << 32,
                               (1ull << 35) - 1,
                               (1ull << 56) - 1,
                               (1ull << 63) - 1,
                               1ull << 63,
                               ~0ull - 1,
                               ~0ull};
    return v;
  }();
  return values;
}

std::vector<uint32_t> EdgeValues32() {
  std::vector<uint32_t> v;
  for (uint64_t x : EdgeValues64()) {
    if (x <= 0xffffffffull) v.push_back(static_cast<uint32_t>(x));
  }
  return v;
}

// Input placed so that its last byte is the last readable byte of a page: the
// next page is inaccessible, so any read past the end faults.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(std::string_view contents) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* mem =
        mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(MAP_FAILED, mem);
    base_ = static_cast<char*>(mem);
    EXPECT_EQ(0, mprotect(base_ + page_, page_, PROT_NONE));
    EXPECT_LE(contents.size(), page_);
    data_ = base_ + page_ - contents.size();
    if (!contents.empty()) std::memcpy(data_, contents.data(), contents.size());
    size_ = contents.size();
  }
  ~GuardedBuffer() { munmap(base_, 2 * page_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  std::string_view view() const { return {data_, size_}; }

 private:
  size_t page_ = 0;
  char* base_ = nullptr;
  char* data_ = nullptr;
  size_t size_ = 0;
};

TEST(CodingTest, Fixed32Layout) {
  std::string s;
  PutFixed32(&s, 0x04030201u);
  ASSERT_EQ(4u, s.size());
  EXPECT_EQ(std::string("\x01\x02\x03\x04", 4), s);
  EXPECT_EQ(0x04030201u, DecodeFixed32(s.data()));
}

TEST(CodingTest, Fixed64Layout) {
  std::string s;
  PutFixed64(&s, 0x0807060504030201ull);
  ASSERT_EQ(8u, s.size());
  EXPECT_EQ(std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8), s);
  EXPECT_EQ(0x0807060504030201ull, DecodeFixed64(s.data()));
}

TEST(CodingTest, FixedRoundTrip) {
  Random rnd(test::TestSeed());
  std::vector<uint64_t> values = EdgeValues64();
  for (int i = 0; i < 1000; i++) values.push_back(rnd.Next64() >> rnd.Uniform(64));
  std::string s;
  for (uint64_t v : values) {
    PutFixed32(&s, static_cast<uint32_t>(v));
    PutFixed64(&s, v);
  }
  ASSERT_EQ(values.size() * 12, s.size());
  std::string_view in(s);
  for (uint64_t v : values) {
    uint32_t v32 = 0;
    uint64_t v64 = 0;
    ASSERT_TRUE(GetFixed32(&in, &v32));
    ASSERT_EQ(static_cast<uint32_t>(v), v32);
    ASSERT_TRUE(GetFixed64(&in, &v64));
    ASSERT_EQ(v, v64);
  }
  EXPECT_TRUE(in.empty());
}

TEST(CodingTest, FixedRejectsShortInput) {
  for (size_t len = 0; len < 8; len++) {
    GuardedBuffer buf(std::string(len, '\xab'));
    std::string_view in = buf.view();
    uint64_t v64 = 0;
    EXPECT_FALSE(GetFixed64(&in, &v64)) << len;
    if (len < 4) {
      in = buf.view();
      uint32_t v32 = 0;
      EXPECT_FALSE(GetFixed32(&in, &v32)) << len;
    }
  }
}

TEST(CodingTest, Varint32RoundTrip) {
  Random rnd(test::TestSeed() + 1);
  std::vector<uint32_t> values = EdgeValues32();
  for (int i = 0; i < 2000; i++) values.push_back(rnd.Next() >> rnd.Uniform(32));
  std::string s;
  for (uint32_t v : values) PutVarint32(&s, v);
  std::string_view in(s);
  for (uint32_t v : values) {
    uint32_t actual = 0;
    const size_t before = in.size();
    ASSERT_TRUE(GetVarint32(&in, &actual)) << v;
    ASSERT_EQ(v, actual);
    ASSERT_EQ(static_cast<size_t>(VarintLength(v)), before - in.size()) << v;
  }
  EXPECT_TRUE(in.empty());
}

TEST(CodingTest, Varint64RoundTrip) {
  Random rnd(test::TestSeed() + 2);
  std::vector<uint64_t> values = EdgeValues64();
  for (int i = 0; i < 2000; i++) values.push_back(rnd.Next64() >> rnd.Uniform(64));
  std::string s;
  for (uint64_t v : values) PutVarint64(&s, v);
  std::string_view in(s);
  for (uint64_t v : values) {
    uint64_t actual = 0;
    const size_t before = in.size();
    ASSERT_TRUE(GetVarint64(&in, &actual)) << v;
    ASSERT_EQ(v, actual);
    ASSERT_EQ(static_cast<size_t>(VarintLength(v)), before - in.size()) << v;
  }
  EXPECT_TRUE(in.empty());
}

TEST(CodingTest, VarintLengths) {
  EXPECT_EQ(1, VarintLength(0));
  EXPECT_EQ(1, VarintLength(127));
  EXPECT_EQ(2, VarintLength(128));
  EXPECT_EQ(2, VarintLength((1u << 14) - 1));
  EXPECT_EQ(3, VarintLength(1u << 14));
  EXPECT_EQ(kMaxVarint32Length, VarintLength(0xffffffffu));
  EXPECT_EQ(9, VarintLength((1ull << 63) - 1));
  EXPECT_EQ(kMaxVarint64Length, VarintLength(1ull << 63));
  EXPECT_EQ(kMaxVarint64Length, VarintLength(~0ull));
  // The encoders write exactly VarintLength bytes.
  for (uint64_t v : EdgeValues64()) {
    char buf[kMaxVarint64Length];
    EXPECT_EQ(VarintLength(v), EncodeVarint64(buf, v) - buf) << v;
  }
}

TEST(CodingTest, VarintKnownEncodings) {
  std::string s;
  PutVarint32(&s, 300);
  EXPECT_EQ(std::string("\xac\x02", 2), s);
  s.clear();
  PutVarint64(&s, ~0ull);
  EXPECT_EQ(std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10), s);
}

TEST(CodingTest, TruncatedVarintsRejectedWithoutOverread) {
  for (uint64_t v : EdgeValues64()) {
    std::string enc;
    PutVarint64(&enc, v);
    for (size_t len = 0; len < enc.size(); len++) {
      GuardedBuffer buf(std::string_view(enc).substr(0, len));
      std::string_view in = buf.view();
      uint64_t v64 = 0;
      EXPECT_FALSE(GetVarint64(&in, &v64)) << v << " len=" << len;
      in = buf.view();
      uint32_t v32 = 0;
      EXPECT_FALSE(GetVarint32(&in, &v32)) << v << " len=" << len;
      EXPECT_EQ(nullptr, GetVarint64Ptr(buf.view().data(), buf.view().data() + len, &v64));
    }
    // The complete encoding, ending at the guard page, decodes.
    GuardedBuffer buf(enc);
    std::string_view in = buf.view();
    uint64_t v64 = 0;
    ASSERT_TRUE(GetVarint64(&in, &v64));
    EXPECT_EQ(v, v64);
    EXPECT_TRUE(in.empty());
  }
}

TEST(CodingTest, OverlongVarint32Rejected) {
  uint32_t v = 0;
  // Six bytes encoding 0: longer than any varint32 may be.
  std::string_view six("\x80\x80\x80\x80\x80\x00", 6);
  EXPECT_FALSE(GetVarint32(&six, &v));
  // Five bytes whose value needs more than 32 bits.
  std::string_view big("\xff\xff\xff\xff\x1f", 5);
  EXPECT_FALSE(GetVarint32(&big, &v));
  // A valid 64-bit varint above 2^32 - 1 is not a varint32.
  std::string enc;
  PutVarint64(&enc, 1ull << 32);
  std::string_view in(enc);
  EXPECT_FALSE(GetVarint32(&in, &v));
  // But the largest 5-byte varint32 is fine.
  std::string_view max("\xff\xff\xff\xff\x0f", 5);
  ASSERT_TRUE(GetVarint32(&max, &v));
  EXPECT_EQ(0xffffffffu, v);
  EXPECT_TRUE(max.empty());
}

TEST(CodingTest, OverlongVarint64Rejected) {
  uint64_t v = 0;
  // Eleven bytes: continuation bit still set on the tenth.
  GuardedBuffer eleven(std::string(10, '\x80') + std::string(1, '\x00'));
  std::string_view in = eleven.view();
  EXPECT_FALSE(GetVarint64(&in, &v));
  // Ten bytes whose last byte carries bits beyond bit 63.
  std::string_view overflow("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10);
  EXPECT_FALSE(GetVarint64(&overflow, &v));
  // Ten continuation bytes with nothing after them (truncated at the limit).
  GuardedBuffer ten(std::string(10, '\xff'));
  in = ten.view();
  EXPECT_FALSE(GetVarint64(&in, &v));
}

TEST(CodingTest, LengthPrefixedRoundTrip) {
  Random rnd(test::TestSeed() + 3);
  std::vector<std::string> items = {"", "a", std::string(127, 'x'), std::string(128, 'y'),
                                    std::string(20000, '\0')};
  for (int i = 0; i < 100; i++) items.push_back(rnd.RandomBytes(rnd.Skewed(12)));
  std::string s;
  for (const std::string& item : items) PutLengthPrefixed(&s, item);
  std::string_view in(s);
  for (const std::string& item : items) {
    std::string_view out;
    ASSERT_TRUE(GetLengthPrefixed(&in, &out));
    ASSERT_EQ(item, out);
  }
  EXPECT_TRUE(in.empty());
}

TEST(CodingTest, LengthPrefixedRejectsShortInputWithoutOverread) {
  std::string enc;
  PutLengthPrefixed(&enc, std::string(200, 'z'));  // 2-byte length prefix
  for (size_t len = 0; len < enc.size(); len++) {
    GuardedBuffer buf(std::string_view(enc).substr(0, len));
    std::string_view in = buf.view();
    std::string_view out;
    EXPECT_FALSE(GetLengthPrefixed(&in, &out)) << len;
  }
  GuardedBuffer full(enc);
  std::string_view in = full.view();
  std::string_view out;
  ASSERT_TRUE(GetLengthPrefixed(&in, &out));
  EXPECT_EQ(std::string(200, 'z'), out);
  EXPECT_TRUE(in.empty());
  // A length far beyond the input.
  std::string_view lying(
      "\xff\xff\xff\xff\x0f"
      "abc",
      8);
  EXPECT_FALSE(GetLengthPrefixed(&lying, &out));
}

}  // namespace
}  // namespace lsmkv
