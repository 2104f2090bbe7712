#include "table/format.h"

#include <gtest/gtest.h>

#include <string>

#include "util/coding.h"
#include "util/random.h"

namespace lsmkv {
namespace {

TEST(FormatTest, FooterRoundTripAndChecks) {
  Footer footer(BlockHandle(123456789, 4000), BlockHandle(~0ull >> 1, ~0ull));
  std::string bytes;
  footer.EncodeTo(&bytes);
  ASSERT_EQ(Footer::kEncodedLength, bytes.size());
  Footer decoded;
  ASSERT_TRUE(decoded.DecodeFrom(bytes).ok());
  EXPECT_EQ(123456789u, decoded.metaindex_handle().offset());
  EXPECT_EQ(4000u, decoded.metaindex_handle().size());
  EXPECT_EQ(~0ull >> 1, decoded.index_handle().offset());
  EXPECT_EQ(~0ull, decoded.index_handle().size());
  std::string bad_magic = bytes;
  bad_magic.back() ^= 1;
  EXPECT_TRUE(decoded.DecodeFrom(bad_magic).IsCorruption());
  std::string bad_version = bytes;
  bad_version[Footer::kHandleAreaSize] ^= 2;
  EXPECT_TRUE(decoded.DecodeFrom(bad_version).IsCorruption());
  std::string zeros(Footer::kEncodedLength, '\0');
  EXPECT_TRUE(decoded.DecodeFrom(zeros).IsCorruption());
  Footer small(BlockHandle(1, 2), BlockHandle(3, 4));
  std::string padded;
  small.EncodeTo(&padded);
  padded[10] = 1;  // padding must be zero
  EXPECT_TRUE(decoded.DecodeFrom(padded).IsCorruption());
  // A redundant varint continuation byte (size 4 written as 0x84 0x00)
  // decodes to the same handle but is not what the writer wrote.
  std::string redundant;
  small.EncodeTo(&redundant);
  ASSERT_EQ(4, redundant[3]);
  redundant[3] = static_cast<char>(0x84);
  Footer tricky;
  EXPECT_TRUE(tricky.DecodeFrom(redundant).IsCorruption());
}

TEST(FormatTest, CompressionRoundTripAndTwelvePercentRule) {
  Random rnd(2);
  std::string compressible;
  while (compressible.size() < 20000) compressible += "lsmkv " + std::to_string(rnd.Uniform(50));
  const std::string random = rnd.RandomBytes(20000);
  for (CompressionType c :
       {CompressionType::kSnappy, CompressionType::kLZ4, CompressionType::kZstd}) {
    SCOPED_TRACE(CompressionName(c));
    std::string stored;
    ASSERT_EQ(c, CompressBlock(compressible, c, &stored));
    BlockContents out;
    ASSERT_TRUE(UncompressBlock(c, stored, &out).ok());
    EXPECT_EQ(compressible, out.view());
    // Random bytes do not compress by 1/8: stored raw.
    EXPECT_EQ(CompressionType::kNone, CompressBlock(random, c, &stored));
    EXPECT_TRUE(stored.empty());
    // 7/8 random + 1/8 zeros saves less than 12.5% (headers): stored raw.
    const std::string mixed = rnd.RandomBytes(17600) + std::string(2400, '\0');
    EXPECT_EQ(CompressionType::kNone, CompressBlock(mixed, c, &stored));
    // Half zeros saves plenty.
    const std::string half = rnd.RandomBytes(10000) + std::string(10000, '\0');
    EXPECT_EQ(c, CompressBlock(half, c, &stored));
  }
  std::string stored;
  EXPECT_EQ(CompressionType::kNone, CompressBlock(compressible, CompressionType::kNone, &stored));
}

TEST(FormatTest, BadCompressedBlocksAreCorruption) {
  Random rnd(9);
  std::string text;
  while (text.size() < 5000) text += "some text " + std::to_string(rnd.Uniform(100));
  for (CompressionType c :
       {CompressionType::kSnappy, CompressionType::kLZ4, CompressionType::kZstd}) {
    SCOPED_TRACE(CompressionName(c));
    std::string stored;
    ASSERT_EQ(c, CompressBlock(text, c, &stored));
    BlockContents out;
    EXPECT_TRUE(UncompressBlock(c, "", &out).IsCorruption());
    EXPECT_TRUE(UncompressBlock(c, stored.substr(0, stored.size() / 2), &out).IsCorruption());
    EXPECT_TRUE(UncompressBlock(c, rnd.RandomBytes(300), &out).IsCorruption());
    if (c != CompressionType::kSnappy) {
      // A length prefix that disagrees with the payload.
      std::string_view payload(stored);
      uint32_t length = 0;
      ASSERT_TRUE(GetVarint32(&payload, &length));
      for (uint32_t wrong : {length - 1, length + 1, uint32_t{1} << 30}) {
        std::string bad;
        PutVarint32(&bad, wrong);
        bad.append(payload.data(), payload.size());
        EXPECT_TRUE(UncompressBlock(c, bad, &out).IsCorruption()) << wrong;
      }
    }
    // Every single-byte change either fails or (rarely) decodes to some
    // bytes — never crashes (ASan) or exceeds the claimed size.
    for (size_t pos = 0; pos < stored.size(); pos += 3) {
      std::string bad = stored;
      bad[pos] = static_cast<char>(bad[pos] ^ 0x5a);
      Status s = UncompressBlock(c, bad, &out);
      EXPECT_TRUE(s.ok() || s.IsCorruption());
    }
  }
}

}  // namespace
}  // namespace lsmkv
