#include "table/format.h"

#include <lz4.h>
#include <snappy.h>
#include <zstd.h>

#include <cstring>

#include "util/check.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace lsmkv {

namespace {

constexpr int kZstdLevel = 3;

// True when stored (of a block of raw_size bytes) saves at least 1/8.
bool WorthCompressing(size_t raw_size, size_t stored_size) {
  return stored_size < raw_size - raw_size / 8;
}

// The LZ4 and Zstd encodings: varint32 uncompressed length, then the codec's output.
bool SplitLengthPrefix(std::string_view stored, uint32_t* length, std::string_view* payload) {
  if (!GetVarint32(&stored, length)) return false;
  *payload = stored;
  return true;
}

BlockContents Allocate(size_t size) {
  BlockContents c;
  // Not zeroed (make_unique<char[]> would): every byte is written next.
  c.data.reset(new char[size == 0 ? 1 : size]);
  c.size = size;
  return c;
}

}  // namespace

void BlockHandle::EncodeTo(std::string* dst) const {
  [[maybe_unused]] const size_t start = dst->size();
  PutVarint64(dst, offset_);
  PutVarint64(dst, size_);
  DCHECK_LE(dst->size() - start, kMaxEncodedLength);  // fits the footer's handle area
}

bool BlockHandle::DecodeFrom(std::string_view* input) {
  return GetVarint64(input, &offset_) && GetVarint64(input, &size_);
}

bool BlockHandle::DecodeExactly(std::string_view input) {
  return DecodeFrom(&input) && input.empty();
}

namespace {

// The checksum of a version 2 footer: over its handle area and its last 12
// bytes (version and magic), i.e. every byte but the checksum itself.
uint32_t FooterChecksum(const char* footer) {
  uint32_t crc = crc32c::Value(footer, Footer::kHandleAreaSize);
  crc = crc32c::Extend(crc, footer + Footer::kHandleAreaSize + 4, 12);
  return crc32c::Mask(crc);
}

}  // namespace

void Footer::EncodeTo(std::string* dst) const {
  DCHECK(version_ == 1 || version_ == 2);
  const size_t start = dst->size();
  metaindex_handle_.EncodeTo(dst);
  index_handle_.EncodeTo(dst);
  CHECK_LE(dst->size() - start, kHandleAreaSize);  // resize below would cut a handle
  dst->resize(start + kHandleAreaSize, '\0');
  if (version_ >= 2) PutFixed32(dst, 0);  // the checksum, filled in below
  PutFixed32(dst, version_);
  PutFixed64(dst, kTableMagicNumber);
  DCHECK(dst->size() - start == encoded_length());
  if (version_ >= 2) {
    char* footer = dst->data() + start;
    EncodeFixed32(footer + kHandleAreaSize, FooterChecksum(footer));
  }
#if LSMKV_DCHECK_IS_ON
  {
    // The footer reads back as written (handles, version, checksum).
    Footer decoded;
    DCHECK(decoded.DecodeFrom(std::string_view(*dst).substr(start)).ok());
    DCHECK_EQ(decoded.version_, version_);
    DCHECK_EQ(decoded.index_handle_.offset(), index_handle_.offset());
    DCHECK_EQ(decoded.metaindex_handle_.size(), metaindex_handle_.size());
  }
#endif
}

Status Footer::DecodeFrom(std::string_view input) {
  if (input.size() < 12) return Status::Corruption("footer too short");
  const char* end = input.data() + input.size();
  const uint64_t magic = DecodeFixed64(end - 8);
  if (magic != kTableMagicNumber) return Status::Corruption("bad magic number (not a table)");
  const uint32_t version = DecodeFixed32(end - 12);
  if (version < kMinTableFormatVersion || version > kTableFormatVersion) {
    return Status::Corruption("unsupported table format version " + std::to_string(version));
  }
  const size_t length = EncodedLength(version);
  if (input.size() < length) return Status::Corruption("footer too short");
  const char* footer = end - length;
  if (version >= 2 && DecodeFixed32(footer + kHandleAreaSize) != FooterChecksum(footer)) {
    return Status::Corruption("footer checksum mismatch");
  }
  std::string_view area(footer, kHandleAreaSize);
  if (!metaindex_handle_.DecodeFrom(&area) || !index_handle_.DecodeFrom(&area)) {
    return Status::Corruption("bad block handle in footer");
  }
  // The handles must be encoded exactly as EncodeTo writes them: a varint
  // with a redundant continuation byte decodes to the same value, and such a
  // change must not go unnoticed.
  std::string canonical;
  metaindex_handle_.EncodeTo(&canonical);
  index_handle_.EncodeTo(&canonical);
  if (std::string_view(footer, canonical.size()) != canonical) {
    return Status::Corruption("non-canonical block handle in footer");
  }
  for (char c : area) {
    if (c != '\0') return Status::Corruption("non-zero footer padding");
  }
  version_ = version;
  return Status::OK();
}

Status ReadTableFooter(const RandomAccessFile* file, uint64_t file_size, TableFooter* out,
                       uint64_t* bytes_read) {
  if (bytes_read != nullptr) *bytes_read = 0;
  if (file_size < Footer::kV1EncodedLength) {
    return Status::Corruption("file too short to be a table (" + std::to_string(file_size) +
                              " bytes)");
  }
  // Both copies of a version 2 footer in one read (a version 1 footer is the
  // last 52 of these bytes).
  constexpr size_t kBoth = 2 * Footer::kV2EncodedLength;
  const size_t n = file_size < kBoth ? static_cast<size_t>(file_size) : kBoth;
  char scratch[kBoth];
  std::string_view input;
  Status s = file->Read(file_size - n, n, &input, scratch);
  if (bytes_read != nullptr) *bytes_read = input.size();
  if (!s.ok()) return s;
  if (input.size() != n) return Status::Corruption("truncated footer read");

  Footer last;
  s = last.DecodeFrom(input);
  if (s.ok()) {
    out->footer = last;
    out->damage.clear();
    if (last.version() == 1) {
      out->footer_start = file_size - Footer::kV1EncodedLength;
      return Status::OK();
    }
    if (n < kBoth) return Status::Corruption("file too short for a version 2 table");
    out->footer_start = file_size - kBoth;
    const std::string_view copy = input.substr(0, Footer::kV2EncodedLength);
    if (copy != input.substr(Footer::kV2EncodedLength)) {
      Footer f;
      const Status cs = f.DecodeFrom(copy);
      out->damage = "footer copy at offset " + std::to_string(out->footer_start) + " damaged (" +
                    (cs.ok() ? std::string("differs from the footer") : std::string(cs.message())) +
                    ")";
    }
    return Status::OK();
  }
  // The last footer is unusable: a version 2 table has a copy before it.
  if (n == kBoth) {
    Footer copy;
    if (copy.DecodeFrom(input.substr(0, Footer::kV2EncodedLength)).ok() && copy.version() >= 2) {
      out->footer = copy;
      out->footer_start = file_size - kBoth;
      out->damage = "footer at offset " + std::to_string(file_size - Footer::kV2EncodedLength) +
                    " damaged (" + std::string(s.message()) + "), its copy used";
      return Status::OK();
    }
  }
  return s;
}

BlockContents BlockContents::Copy(std::string_view bytes) {
  BlockContents c = Allocate(bytes.size());
  if (!bytes.empty()) std::memcpy(c.data.get(), bytes.data(), bytes.size());
  return c;
}

bool IsKnownCompression(unsigned char type) {
  return type <= static_cast<unsigned char>(CompressionType::kZstd);
}

const char* CompressionName(CompressionType type) {
  switch (type) {
    case CompressionType::kNone:
      return "none";
    case CompressionType::kSnappy:
      return "snappy";
    case CompressionType::kLZ4:
      return "lz4";
    case CompressionType::kZstd:
      return "zstd";
  }
  return "unknown";
}

CompressionType CompressBlock(std::string_view raw, CompressionType type, std::string* stored,
                              void* zstd_context) {
  stored->clear();
  if (type == CompressionType::kNone || raw.size() > kMaxUncompressedBlockSize) {
    return CompressionType::kNone;
  }
  bool ok = false;
  switch (type) {
    case CompressionType::kNone:
      break;
    case CompressionType::kSnappy: {
      stored->resize(snappy::MaxCompressedLength(raw.size()));
      size_t n = 0;
      snappy::RawCompress(raw.data(), raw.size(), stored->data(), &n);
      stored->resize(n);
      ok = true;
      break;
    }
    case CompressionType::kLZ4: {
      PutVarint32(stored, static_cast<uint32_t>(raw.size()));
      const size_t prefix = stored->size();
      const int bound = LZ4_compressBound(static_cast<int>(raw.size()));
      stored->resize(prefix + static_cast<size_t>(bound));
      const int n = LZ4_compress_default(raw.data(), stored->data() + prefix,
                                         static_cast<int>(raw.size()), bound);
      if (n > 0) {
        stored->resize(prefix + static_cast<size_t>(n));
        ok = true;
      }
      break;
    }
    case CompressionType::kZstd: {
      PutVarint32(stored, static_cast<uint32_t>(raw.size()));
      const size_t prefix = stored->size();
      const size_t bound = ZSTD_compressBound(raw.size());
      stored->resize(prefix + bound);
      size_t n;
      if (zstd_context != nullptr) {
        n = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(zstd_context), stored->data() + prefix, bound,
                              raw.data(), raw.size(), kZstdLevel);
      } else {
        n = ZSTD_compress(stored->data() + prefix, bound, raw.data(), raw.size(), kZstdLevel);
      }
      if (!ZSTD_isError(n)) {
        stored->resize(prefix + n);
        ok = true;
      }
      break;
    }
  }
  if (!ok || !WorthCompressing(raw.size(), stored->size())) {
    stored->clear();
    return CompressionType::kNone;
  }
#if LSMKV_DCHECK_IS_ON
  {
    // A compressed block decompresses to the raw bytes it replaces.
    BlockContents check;
    DCHECK(UncompressBlock(type, *stored, &check).ok());
    DCHECK(std::string_view(check.bytes(), check.size) == raw);
  }
#endif
  return type;
}

Status UncompressBlock(CompressionType type, std::string_view stored, BlockContents* out) {
  switch (type) {
    case CompressionType::kNone:
      *out = BlockContents::Copy(stored);
      return Status::OK();
    case CompressionType::kSnappy: {
      size_t length = 0;
      if (!snappy::GetUncompressedLength(stored.data(), stored.size(), &length) ||
          length > kMaxUncompressedBlockSize ||
          !snappy::IsValidCompressedBuffer(stored.data(), stored.size())) {
        return Status::Corruption("bad snappy block");
      }
      BlockContents c = Allocate(length);
      if (!snappy::RawUncompress(stored.data(), stored.size(), c.data.get())) {
        return Status::Corruption("bad snappy block");
      }
      *out = std::move(c);
      return Status::OK();
    }
    case CompressionType::kLZ4: {
      uint32_t length = 0;
      std::string_view payload;
      // LZ4 cannot expand input by more than a factor of 255.
      if (!SplitLengthPrefix(stored, &length, &payload) || length > kMaxUncompressedBlockSize ||
          length > payload.size() * 255 + 16) {
        return Status::Corruption("bad lz4 block length");
      }
      BlockContents c = Allocate(length);
      const int n = LZ4_decompress_safe(payload.data(), c.data.get(),
                                        static_cast<int>(payload.size()), static_cast<int>(length));
      if (n < 0 || static_cast<uint32_t>(n) != length) {
        return Status::Corruption("bad lz4 block");
      }
      *out = std::move(c);
      return Status::OK();
    }
    case CompressionType::kZstd: {
      uint32_t length = 0;
      std::string_view payload;
      if (!SplitLengthPrefix(stored, &length, &payload) || length > kMaxUncompressedBlockSize) {
        return Status::Corruption("bad zstd block length");
      }
      const unsigned long long frame_size =
          ZSTD_getFrameContentSize(payload.data(), payload.size());
      if (frame_size != length) return Status::Corruption("bad zstd block length");
      BlockContents c = Allocate(length);
      // The output buffer holds exactly length bytes: a frame that would
      // produce more fails with dstSize_tooSmall instead of growing.
      const size_t n = ZSTD_decompress(c.data.get(), length, payload.data(), payload.size());
      if (ZSTD_isError(n) || n != length) return Status::Corruption("bad zstd block");
      *out = std::move(c);
      return Status::OK();
    }
  }
  return Status::Corruption("unknown compression type");
}

void AppendBlockTrailer(std::string_view stored, CompressionType type, std::string* dst) {
  DCHECK(IsKnownCompression(static_cast<unsigned char>(type)));  // readers refuse others
  char trailer[kBlockTrailerSize];
  trailer[0] = static_cast<char>(type);
  uint32_t crc = crc32c::Value(stored.data(), stored.size());
  crc = crc32c::Extend(crc, trailer, 1);
  EncodeFixed32(trailer + 1, crc32c::Mask(crc));
  dst->append(trailer, kBlockTrailerSize);
}

namespace {

// The checks shared by ReadBlock and DecodeBlock. raw is the stored block and
// its trailer; if owned is not null it is the buffer raw lies at the start
// of, and an uncompressed block takes it over instead of being copied. With
// out null only the checks run.
Status CheckAndDecode(const std::string& file_name, const BlockHandle& handle, std::string_view raw,
                      bool verify_checksum, std::unique_ptr<char[]>* owned, BlockContents* out) {
  auto corrupt = [&](const std::string& what) {
    return Status::Corruption(file_name,
                              what + " (block at offset " + std::to_string(handle.offset()) + ")");
  };
  const size_t n = static_cast<size_t>(handle.size()) + kBlockTrailerSize;
  if (raw.size() != n) return corrupt("truncated block read");
  const char* data = raw.data();
  const auto type = static_cast<unsigned char>(data[handle.size()]);
  if (verify_checksum) {
    const uint32_t expected = crc32c::Unmask(DecodeFixed32(data + handle.size() + 1));
    const uint32_t actual = crc32c::Value(data, handle.size() + 1);
    if (expected != actual) return corrupt("block checksum mismatch");
  }
  if (!IsKnownCompression(type)) {
    return corrupt("unknown block compression type " + std::to_string(type));
  }
  if (out == nullptr) return Status::OK();
  const auto ctype = static_cast<CompressionType>(type);
  const std::string_view stored(data, static_cast<size_t>(handle.size()));
  if (ctype == CompressionType::kNone && owned != nullptr && data == owned->get()) {
    // Common case: hand the read buffer over instead of copying it. The
    // trailer bytes stay allocated but are not part of the contents.
    out->data = std::move(*owned);
    out->size = static_cast<size_t>(handle.size());
    return Status::OK();
  }
  Status s = UncompressBlock(ctype, stored, out);
  if (!s.ok()) return corrupt(std::string(s.message()));
  return Status::OK();
}

// ReadBlock's stack scratch: a 4 KiB block (the default block size) with
// its trailer and the entry that may overrun it.
constexpr size_t kStackScratchBytes = 8192;

}  // namespace

Status ReadBlock(const RandomAccessFile* file, const std::string& file_name,
                 const BlockHandle& handle, bool verify_checksum, BlockContents* out,
                 uint64_t* bytes_read, bool in_place) {
  const size_t n = static_cast<size_t>(handle.size()) + kBlockTrailerSize;
  // A mapped file answers with its own bytes and leaves the scratch alone:
  // for a read meant to be used in place, a block of ordinary size gets a
  // stack buffer as scratch instead of an allocation it would not use.
  char stack_scratch[kStackScratchBytes];
  std::unique_ptr<char[]> buffer;
  char* scratch = stack_scratch;
  if (!in_place || n > sizeof(stack_scratch)) {
    buffer.reset(new char[n]);
    scratch = buffer.get();
  }
  std::string_view result;
  Status s = file->Read(handle.offset(), n, &result, scratch);
  if (bytes_read != nullptr) *bytes_read = result.size();
  if (!s.ok()) return s;
  DCHECK_LE(result.size(), n);  // RandomAccessFile::Read's contract
  if (in_place && result.data() != scratch && result.size() == n) {
    // The bytes are the mapped file's, usually cold in a large database: ask
    // for every cache line of the block at once, so that the checksum below
    // and the search after it wait for one memory latency, not for the
    // hardware prefetcher to ramp up line by line.
    for (size_t off = 0; off < n; off += 64) __builtin_prefetch(result.data() + off);
  }
  if (in_place && result.data() != scratch && result.size() == n &&
      static_cast<unsigned char>(result[handle.size()]) ==
          static_cast<unsigned char>(CompressionType::kNone)) {
    std::shared_ptr<const void> pin = file->Pin();
    if (pin != nullptr) {
      s = CheckAndDecode(file_name, handle, result, verify_checksum, nullptr, nullptr);
      if (!s.ok()) return s;
      out->data.reset();
      out->external = result.data();
      out->keep_alive = std::move(pin);
      out->size = static_cast<size_t>(handle.size());
      return Status::OK();
    }
  }
  // The contents take the heap buffer over when the bytes are in it; bytes
  // in the stack buffer or in the file's memory are copied.
  return CheckAndDecode(file_name, handle, result, verify_checksum,
                        buffer != nullptr ? &buffer : nullptr, out);
}

Status DecodeBlock(const std::string& file_name, const BlockHandle& handle, std::string_view raw,
                   bool verify_checksum, BlockContents* out) {
  return CheckAndDecode(file_name, handle, raw, verify_checksum, nullptr, out);
}

std::string EscapeBytes(std::string_view bytes, size_t max_bytes) {
  std::string out;
  const size_t n = bytes.size() < max_bytes ? bytes.size() : max_bytes;
  for (size_t i = 0; i < n; i++) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out.append("\\x");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  if (n < bytes.size()) out.append("...");
  return out;
}

}  // namespace lsmkv
