#include "util/crc32c.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv::crc32c {
namespace {

// Checks both implementations (and the dispatching entry point) on one input.
void ExpectCrc(const std::string& data, uint32_t expected) {
  EXPECT_EQ(expected, Value(data.data(), data.size()));
  EXPECT_EQ(expected, ExtendPortable(0, data.data(), data.size()));
}

TEST(Crc32cTest, Rfc3720Zeros) { ExpectCrc(std::string(32, '\0'), 0x8a9136aau); }

TEST(Crc32cTest, Rfc3720Ones) { ExpectCrc(std::string(32, '\xff'), 0x62a8ab43u); }

TEST(Crc32cTest, Rfc3720Ascending) {
  std::string data;
  for (int i = 0; i < 32; i++) data.push_back(static_cast<char>(i));
  ExpectCrc(data, 0x46dd794eu);
}

TEST(Crc32cTest, Rfc3720Descending) {
  std::string data;
  for (int i = 31; i >= 0; i--) data.push_back(static_cast<char>(i));
  ExpectCrc(data, 0x113fdb5cu);
}

TEST(Crc32cTest, Rfc3720ScsiReadCommand) {
  const unsigned char bytes[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  ExpectCrc(std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes)), 0xd9963a56u);
}

TEST(Crc32cTest, CheckString) { ExpectCrc("123456789", 0xe3069283u); }

TEST(Crc32cTest, EmptyInput) {
  EXPECT_EQ(0u, Value("", 0));
  EXPECT_EQ(0x12345678u, Extend(0x12345678u, "", 0));
  EXPECT_EQ(0x12345678u, ExtendPortable(0x12345678u, "", 0));
}

TEST(Crc32cTest, DifferentInputsDiffer) {
  EXPECT_NE(Value("a", 1), Value("foo", 3));
  EXPECT_NE(Value("bar", 3), Value("foo", 3));
  EXPECT_NE(Value("\0", 1), Value("\0\0", 2));  // length matters even for zeros
}

TEST(Crc32cTest, HardwareMatchesPortableAtEveryLengthAndAlignment) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Random rnd(seed);
  std::printf("crc32c hardware accelerated: %s\n", HardwareAccelerated() ? "yes" : "no");
  // One aligned backing buffer; inputs start at every offset 0..7 within it.
  std::vector<uint64_t> backing(320 / 8 + 2);
  char* base = reinterpret_cast<char*>(backing.data());
  for (size_t len = 0; len <= 300; len++) {
    for (size_t misalign = 0; misalign < 8; misalign++) {
      const std::string bytes = rnd.RandomBytes(len);
      if (len > 0) std::memcpy(base + misalign, bytes.data(), len);
      const uint32_t init = rnd.Next();
      const uint32_t hw = Extend(init, base + misalign, len);
      const uint32_t sw = ExtendPortable(init, base + misalign, len);
      ASSERT_EQ(sw, hw) << "len=" << len << " misalign=" << misalign;
      // And a byte-at-a-time portable computation agrees too.
      uint32_t step = init;
      for (size_t i = 0; i < len; i++) step = ExtendPortable(step, base + misalign + i, 1);
      ASSERT_EQ(sw, step) << "len=" << len << " misalign=" << misalign;
    }
  }
}

// The three-stream rounds of the hardware path (3 x 1024 and 3 x 128 bytes)
// and the tails after them: lengths around each round's size and a 4 KiB
// table block with its trailer, at every alignment.
TEST(Crc32cTest, HardwareMatchesPortableOnLongInputs) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Random rnd(seed);
  std::vector<uint64_t> backing(12000 / 8 + 2);
  char* base = reinterpret_cast<char*>(backing.data());
  std::vector<size_t> lengths = {383,  384,  385,  391,  392,  767,  768,  769,  1000, 3071, 3072,
                                 3073, 3455, 3456, 3457, 4096, 4101, 6144, 6527, 9216, 11999};
  for (int i = 0; i < 40; i++) lengths.push_back(rnd.Uniform(12000));
  for (size_t len : lengths) {
    for (size_t misalign = 0; misalign < 8; misalign++) {
      const std::string bytes = rnd.RandomBytes(len);
      std::memcpy(base + misalign, bytes.data(), len);
      const uint32_t init = rnd.Next();
      ASSERT_EQ(ExtendPortable(init, base + misalign, len), Extend(init, base + misalign, len))
          << "len=" << len << " misalign=" << misalign;
    }
  }
  // A single flipped bit anywhere in a long input changes the value.
  std::string block = rnd.RandomBytes(4101);
  const uint32_t good = Value(block.data(), block.size());
  for (size_t pos = 0; pos < block.size(); pos += 97) {
    block[pos] = static_cast<char>(block[pos] ^ 0x10);
    EXPECT_NE(good, Value(block.data(), block.size())) << pos;
    block[pos] = static_cast<char>(block[pos] ^ 0x10);
  }
}

TEST(Crc32cTest, ExtendIsAssociative) {
  Random rnd(test::TestSeed() + 1);
  for (int trial = 0; trial < 20; trial++) {
    const std::string data = rnd.RandomBytes(rnd.Uniform(200));
    const uint32_t whole = Value(data.data(), data.size());
    for (size_t split = 0; split <= data.size(); split++) {
      const uint32_t a = Value(data.data(), split);
      ASSERT_EQ(whole, Extend(a, data.data() + split, data.size() - split)) << split;
      ASSERT_EQ(whole, ExtendPortable(a, data.data() + split, data.size() - split)) << split;
    }
  }
  EXPECT_EQ(Value("hello world", 11), Extend(Value("hello ", 6), "world", 5));
}

TEST(Crc32cTest, MaskRoundTripsAndChangesValue) {
  Random rnd(test::TestSeed() + 2);
  const uint32_t crc = Value("foo", 3);
  EXPECT_NE(crc, Mask(crc));
  EXPECT_NE(crc, Mask(Mask(crc)));
  EXPECT_EQ(crc, Unmask(Mask(crc)));
  EXPECT_EQ(crc, Unmask(Unmask(Mask(Mask(crc)))));
  EXPECT_NE(0u, Mask(0));  // a zero-filled region does not carry a valid masked crc of 0
  // Mask is a rotation plus a constant, so it has fixed points; an exhaustive
  // search finds exactly these two. Every other value is changed.
  const uint32_t kFixedPoints[] = {0x8299f00bu, 0xd7ee9ab5u};
  for (uint32_t v : kFixedPoints) EXPECT_EQ(v, Mask(v));
  for (int i = 0; i < 100000; i++) {
    const uint32_t v = rnd.Next();
    ASSERT_EQ(v, Unmask(Mask(v)));
    if (v != kFixedPoints[0] && v != kFixedPoints[1]) {
      ASSERT_NE(v, Mask(v));
    }
  }
}

}  // namespace
}  // namespace lsmkv::crc32c
