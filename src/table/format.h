// The low-level pieces of the table format (docs/format/table.md, table
// format versions 1 and 2): block handles, the footer, the 5-byte block
// trailer, block compression, and reading one checksummed block from a file.
//
// Everything that decodes bytes from disk returns Status::Corruption on bad
// input and never reads outside the bytes it was given.
//
// Thread safety: the free functions are thread safe; BlockHandle and Footer are
// plain values.
#ifndef LSMKV_TABLE_FORMAT_H_
#define LSMKV_TABLE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lsmkv/env.h"
#include "lsmkv/options.h"
#include "lsmkv/status.h"

namespace lsmkv {

// Where a block lies in a table file: the offset of its first byte and the
// size of its stored contents (without the trailer).
class BlockHandle {
 public:
  // varint64 offset + varint64 size.
  static constexpr size_t kMaxEncodedLength = 10 + 10;

  BlockHandle() = default;
  BlockHandle(uint64_t offset, uint64_t size) : offset_(offset), size_(size) {}

  uint64_t offset() const { return offset_; }
  uint64_t size() const { return size_; }
  void set_offset(uint64_t offset) { offset_ = offset; }
  void set_size(uint64_t size) { size_ = size; }

  void EncodeTo(std::string* dst) const;
  // Consumes one handle from *input; false if it is malformed.
  bool DecodeFrom(std::string_view* input);
  // Decodes a handle that must fill the whole of input; false otherwise.
  bool DecodeExactly(std::string_view input);

 private:
  uint64_t offset_ = 0;
  uint64_t size_ = 0;
};

// Every stored block is followed by: 1 byte compression type, fixed32 masked
// crc32c of (stored contents + type byte).
inline constexpr size_t kBlockTrailerSize = 5;

// "lsmkvsst" read as a little-endian fixed64.
inline constexpr uint64_t kTableMagicNumber = 0x747373766b6d736cull;
// The version TableBuilder writes by default. Version 1 tables (no salvage
// data, one footer without a checksum) are still read, and written when
// TableOptions::format_version says 1.
inline constexpr uint32_t kTableFormatVersion = 2;
inline constexpr uint32_t kMinTableFormatVersion = 1;

// Names of the meta-index entries (docs/format/table.md, "meta-index").
// The built-in bloom filter (table/bloom.h) in its two layouts: lines
// (written since the line layout exists) and classic (older tables, and
// tables of format version 1). A table holds at most one of them.
inline constexpr char kLineFilterBlockName[] = "filter.lsmkv.bloom-lines";
inline constexpr char kFilterBlockName[] = "filter.lsmkv.bloom";
inline bool IsBuiltinFilterBlockName(std::string_view name) {
  return name == kLineFilterBlockName || name == kFilterBlockName;
}
inline constexpr char kPropertiesBlockName[] = "properties";
// Version 2: per data block, the lengths and checksums of its entry groups.
inline constexpr char kSalvageBlockName[] = "salvage.lsmkv";

// Blocks whose uncompressed contents exceed this are always stored
// uncompressed; a compressed block claiming a larger size is Corruption.
inline constexpr size_t kMaxUncompressedBlockSize = size_t{128} << 20;

// The fixed-size end of every table:
//   metaindex handle, index handle   (zero-padded to kHandleAreaSize bytes)
//   fixed32 masked crc32c of the other 52 bytes      (version 2 only)
//   fixed32 format version
//   fixed64 magic number
// The version and the magic number are the last 12 bytes in both versions,
// so a reader can tell the footer's length from its end. A version 2 table
// ends with two identical footers (the copy right before the last one).
class Footer {
 public:
  static constexpr size_t kHandleAreaSize = 2 * BlockHandle::kMaxEncodedLength;
  static constexpr size_t kV1EncodedLength = kHandleAreaSize + 4 + 8;
  static constexpr size_t kV2EncodedLength = kHandleAreaSize + 4 + 4 + 8;
  static constexpr size_t kMaxEncodedLength = kV2EncodedLength;

  Footer() = default;
  Footer(const BlockHandle& metaindex, const BlockHandle& index,
         uint32_t version = kTableFormatVersion)
      : metaindex_handle_(metaindex), index_handle_(index), version_(version) {}

  const BlockHandle& metaindex_handle() const { return metaindex_handle_; }
  const BlockHandle& index_handle() const { return index_handle_; }
  uint32_t version() const { return version_; }
  // kV1EncodedLength or kV2EncodedLength, by version().
  size_t encoded_length() const { return EncodedLength(version_); }
  static size_t EncodedLength(uint32_t version) {
    return version >= 2 ? kV2EncodedLength : kV1EncodedLength;
  }

  // Appends exactly encoded_length() bytes.
  // REQUIRES: version() is 1 or 2.
  void EncodeTo(std::string* dst) const;
  // Decodes the footer that ends where input ends (input may hold more bytes
  // before it). Corruption (message without the file name) when input is
  // too short for the footer its version calls for, on a bad magic number,
  // an unknown version, a checksum mismatch (version 2), a bad or
  // non-canonical handle or non-zero padding.
  Status DecodeFrom(std::string_view input);

 private:
  BlockHandle metaindex_handle_;
  BlockHandle index_handle_;
  uint32_t version_ = kTableFormatVersion;
};
static_assert(Footer::kV1EncodedLength == 52, "the v1 footer is 52 bytes");
static_assert(Footer::kV2EncodedLength == 56, "the v2 footer is 56 bytes");

// The footer of a table file, as ReadTableFooter found it.
struct TableFooter {
  Footer footer;
  // Where the footer area begins, i.e. where the index block must end:
  // file_size - 52 (version 1) or file_size - 112 (version 2: two copies).
  uint64_t footer_start = 0;
  // Version 2: what was wrong with one of the two copies ("" if both are
  // intact). The other copy was used.
  std::string damage;
};

// Reads and decodes the footer at the end of a table file of file_size
// bytes. A version 2 table's last footer is used when it is valid, else the
// copy before it; a valid last footer whose copy differs is used and the
// copy reported in out->damage. Corruption (message without the file name)
// when no usable footer is found; the file's own errors as they are.
// *bytes_read (optional) receives the bytes read.
Status ReadTableFooter(const RandomAccessFile* file, uint64_t file_size, TableFooter* out,
                       uint64_t* bytes_read = nullptr);

// The bytes of one block: owned (allocated to their exact size, so that an
// out-of-range read is caught by AddressSanitizer), or, for an uncompressed
// block of a memory-mapped file, used in place: `external` points into the
// mapping and `keep_alive` holds it (RandomAccessFile::Pin).
struct BlockContents {
  std::unique_ptr<char[]> data;
  const char* external = nullptr;
  std::shared_ptr<const void> keep_alive;
  size_t size = 0;

  const char* bytes() const { return external != nullptr ? external : data.get(); }
  std::string_view view() const { return std::string_view(bytes(), size); }
  static BlockContents Copy(std::string_view bytes);
};

// True if the codec of type is known to this build.
bool IsKnownCompression(unsigned char type);
const char* CompressionName(CompressionType type);

// Produces the stored form of raw under type into *stored and returns the type
// actually used: kNone when type is kNone, when raw is larger than
// kMaxUncompressedBlockSize, when the codec fails, or when compression saves
// less than 1/8 of raw. *stored is left empty when the result is kNone.
// zstd_context may be null (a temporary one is used); it must be a ZSTD_CCtx*.
CompressionType CompressBlock(std::string_view raw, CompressionType type, std::string* stored,
                              void* zstd_context = nullptr);

// Reverses CompressBlock. Corruption (message without the file name) when
// the codec rejects the input or the sizes do not match.
Status UncompressBlock(CompressionType type, std::string_view stored, BlockContents* out);

// Appends the trailer of a block with the given stored contents and type.
void AppendBlockTrailer(std::string_view stored, CompressionType type, std::string* dst);

// Reads the block at handle from file, checks the trailer (the checksum only
// when verify_checksum) and uncompresses it into *out. Every problem with the
// bytes is Corruption whose message names file_name and the block offset;
// errors of the file itself are returned as they are. *bytes_read (optional)
// receives the number of bytes read from the file.
// REQUIRES: the caller has checked that handle lies inside the file (its size
// decides how much memory is allocated).
// With in_place, an uncompressed block that the file returns from pinnable
// memory (RandomAccessFile::Pin) is checked but not copied: *out refers to
// it and holds the pin.
Status ReadBlock(const RandomAccessFile* file, const std::string& file_name,
                 const BlockHandle& handle, bool verify_checksum, BlockContents* out,
                 uint64_t* bytes_read = nullptr, bool in_place = false);

// ReadBlock's checks and decoding for a block already in memory: raw is the
// stored contents followed by the trailer, as read from the file at handle
// (a raw of another size than handle.size() + kBlockTrailerSize is
// Corruption, "truncated block read"). The contents are copied (or
// uncompressed) into *out.
Status DecodeBlock(const std::string& file_name, const BlockHandle& handle, std::string_view raw,
                   bool verify_checksum, BlockContents* out);

// A printable form of arbitrary key bytes for error messages: printable ASCII
// as is, everything else as \xNN; at most max_bytes of input are shown.
std::string EscapeBytes(std::string_view bytes, size_t max_bytes = 48);

}  // namespace lsmkv

#endif  // LSMKV_TABLE_FORMAT_H_
