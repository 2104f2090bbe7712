#include "table/format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "util/coding.h"
#include "util/random.h"

namespace lsmkv {
namespace {

TEST(FormatTest, FooterRoundTripAndChecks) {
  for (uint32_t version : {1u, 2u}) {
    SCOPED_TRACE("version " + std::to_string(version));
    Footer footer(BlockHandle(123456789, 4000), BlockHandle(~0ull >> 1, ~0ull), version);
    std::string bytes;
    footer.EncodeTo(&bytes);
    ASSERT_EQ(version == 1 ? 52u : 56u, bytes.size());
    ASSERT_EQ(footer.encoded_length(), bytes.size());
    Footer decoded;
    ASSERT_TRUE(decoded.DecodeFrom(bytes).ok());
    EXPECT_EQ(version, decoded.version());
    EXPECT_EQ(123456789u, decoded.metaindex_handle().offset());
    EXPECT_EQ(4000u, decoded.metaindex_handle().size());
    EXPECT_EQ(~0ull >> 1, decoded.index_handle().offset());
    EXPECT_EQ(~0ull, decoded.index_handle().size());
    // The footer is the end of the input: bytes before it are ignored.
    ASSERT_TRUE(decoded.DecodeFrom("table bytes before the footer" + bytes).ok());
    EXPECT_EQ(4000u, decoded.metaindex_handle().size());
    // Too short for the footer its version calls for.
    EXPECT_TRUE(decoded.DecodeFrom(std::string_view(bytes).substr(1)).IsCorruption());
    std::string bad_magic = bytes;
    bad_magic.back() ^= 1;
    EXPECT_TRUE(decoded.DecodeFrom(bad_magic).IsCorruption());
    std::string bad_version = bytes;
    bad_version[bytes.size() - 12] ^= 4;
    EXPECT_TRUE(decoded.DecodeFrom(bad_version).IsCorruption());
    std::string zeros(Footer::kMaxEncodedLength, '\0');
    EXPECT_TRUE(decoded.DecodeFrom(zeros).IsCorruption());
    Footer small(BlockHandle(1, 2), BlockHandle(3, 4), version);
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
    if (version == 2) {
      // Every byte of a version 2 footer is covered by its checksum.
      for (size_t i = 0; i < bytes.size(); i++) {
        std::string flipped = bytes;
        flipped[i] ^= 0x01;
        EXPECT_TRUE(decoded.DecodeFrom(flipped).IsCorruption()) << "byte " << i;
      }
      std::string checksum = bytes;
      checksum[Footer::kHandleAreaSize] ^= 0x80;
      EXPECT_EQ("footer checksum mismatch", decoded.DecodeFrom(checksum).message());
    }
  }
}

// A random-access file over a string (format.h needs no more).
class StringFile final : public RandomAccessFile {
 public:
  explicit StringFile(std::string contents) : contents_(std::move(contents)) {}
  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    if (offset >= contents_.size()) {
      *result = std::string_view(scratch, 0);
      return Status::OK();
    }
    n = std::min<size_t>(n, contents_.size() - static_cast<size_t>(offset));
    std::memcpy(scratch, contents_.data() + offset, n);
    *result = std::string_view(scratch, n);
    return Status::OK();
  }

 private:
  std::string contents_;
};

TEST(FormatTest, ReadTableFooterUsesEitherCopy) {
  const Footer footer(BlockHandle(100, 20), BlockHandle(125, 30), 2);
  std::string one;
  footer.EncodeTo(&one);
  const std::string body(155, 'b');
  const std::string file = body + one + one;
  auto read = [](const std::string& bytes, TableFooter* out) {
    StringFile f(bytes);
    return ReadTableFooter(&f, bytes.size(), out);
  };
  TableFooter found;
  ASSERT_TRUE(read(file, &found).ok());
  EXPECT_EQ(2u, found.footer.version());
  EXPECT_EQ(155u, found.footer_start);
  EXPECT_EQ(125u, found.footer.index_handle().offset());
  EXPECT_TRUE(found.damage.empty());
  // Either copy damaged: the other is used, the damage reported.
  for (size_t at : {body.size() + 3, body.size() + one.size() + 3, file.size() - 1}) {
    std::string bad = file;
    bad[at] ^= 0xff;
    ASSERT_TRUE(read(bad, &found).ok()) << at;
    EXPECT_EQ(155u, found.footer_start);
    EXPECT_EQ(125u, found.footer.index_handle().offset());
    EXPECT_NE(std::string::npos, found.damage.find("damaged")) << found.damage;
  }
  // Both damaged: Corruption.
  std::string both = file;
  both[body.size() + 3] ^= 0xff;
  both[file.size() - 3] ^= 0xff;
  EXPECT_TRUE(read(both, &found).IsCorruption());
  // A version 2 footer with no room for its copy.
  EXPECT_TRUE(read(std::string(10, 'x') + one, &found).IsCorruption());
  // Version 1: one footer, 52 bytes, nothing before it is looked at.
  std::string v1;
  Footer(BlockHandle(100, 20), BlockHandle(125, 30), 1).EncodeTo(&v1);
  ASSERT_TRUE(read(body + v1, &found).ok());
  EXPECT_EQ(1u, found.footer.version());
  EXPECT_EQ(155u, found.footer_start);
  EXPECT_TRUE(found.damage.empty());
  std::string bad_v1 = body + v1;
  bad_v1[bad_v1.size() - 1] ^= 0xff;
  EXPECT_TRUE(read(bad_v1, &found).IsCorruption());
  EXPECT_TRUE(read(v1.substr(1), &found).IsCorruption());
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
