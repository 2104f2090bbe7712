// The B+tree engine's page format (docs/format/btree.md): fixed-size pages
// with a checksummed header; meta, leaf, internal and overflow pages. Pure
// encoding and decoding, no I/O, so that it can be fuzzed alone.
#ifndef LSMKV_BTREE_PAGE_H_
#define LSMKV_BTREE_PAGE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lsmkv/status.h"

namespace lsmkv::btree {

inline constexpr size_t kPageSize = 4096;
inline constexpr uint8_t kFormatVersion = 1;
// Header: masked crc32c of bytes [4, kPageSize) (4), type (1), format
// version (1), entry count (2), the page's own number (8), the checkpoint
// that wrote it (8), the length of the body that follows (4; the rest of
// the page is zeros).
inline constexpr size_t kHeaderSize = 28;
// Bytes of a page's body: what a node's encoding may use.
inline constexpr size_t kCapacity = kPageSize - kHeaderSize;
// Keys and values longer than this live in overflow pages; the node holds
// their length and first overflow page. Two such entries always fit a page.
inline constexpr size_t kMaxInline = 1000;
// Data bytes per overflow page (after its length and next-page fields).
inline constexpr size_t kOverflowData = kCapacity - 12;
// Pages 0 and 1 are the two meta pages; tree pages start at 2.
inline constexpr uint64_t kFirstTreePage = 2;

enum class PageType : uint8_t { kMeta = 1, kLeaf = 2, kInternal = 3, kOverflow = 4 };

struct PageHeader {
  PageType type;
  uint16_t count;
  uint64_t page_id;
  uint64_t checkpoint;
  uint32_t body_length;
};

// Fills page's header (page is kPageSize bytes whose body, body_length
// bytes, is written and followed by zeros) and its checksum.
void SealPage(char* page, PageType type, uint16_t count, uint64_t page_id, uint64_t checkpoint,
              size_t body_length);
// Checks a page read at page number expected_id: its size, checksum, format
// version (newer: NotSupported), type, number, body length and the zeros
// after the body. Corruption names the page.
Status CheckPage(std::string_view page, uint64_t expected_id, PageHeader* header);

// The state a checkpoint commits (the body of a meta page).
struct Meta {
  uint64_t checkpoint = 0;     // number of the checkpoint; the newer meta wins
  uint64_t root = 0;           // root page, 0 for an empty tree
  uint64_t page_count = 0;     // pages in use by the file (tree pages < this)
  uint64_t last_sequence = 0;  // sequence of the last write in the tree
  uint64_t wal_number = 0;     // logs numbered >= this are replayed
  uint64_t keys = 0;           // live keys in the tree
  uint64_t depth = 0;          // levels (0 for an empty tree)
  std::string comparator;      // Comparator::Name()
};
// A whole meta page for slot (0 or 1).
std::string EncodeMeta(const Meta& meta, uint64_t slot);
// Decodes and checks a meta page read from slot.
Status DecodeMeta(std::string_view page, uint64_t slot, Meta* meta);

// A key or value inside a node body: varint32 length, then the bytes when
// length <= kMaxInline, else the fixed64 number of its first overflow page.
size_t BlobSize(size_t length);
void PutBlob(std::string* body, std::string_view data, uint64_t first_overflow);
struct BlobRef {
  uint32_t length = 0;
  std::string_view data;  // inline bytes (empty when in overflow pages)
  uint64_t overflow = 0;  // first overflow page when length > kMaxInline
};

// A decoded leaf or internal page (views into the page).
struct DecodedNode {
  bool leaf = true;
  std::vector<BlobRef> keys;
  std::vector<BlobRef> values;     // leaf
  std::vector<uint64_t> children;  // internal: keys.size() + 1
};
// Decodes the body of a page already checked by CheckPage (leaf or
// internal). Corruption on any overrun or trailing garbage.
Status DecodeNode(std::string_view page, const PageHeader& header, DecodedNode* node);

// An overflow page's body: fixed32 bytes in this page, fixed64 next page (0
// at the end of the chain), the bytes.
void EncodeOverflow(std::string_view data, uint64_t next, char* page);
Status DecodeOverflow(std::string_view page, uint64_t* next, std::string_view* data);

}  // namespace lsmkv::btree

#endif  // LSMKV_BTREE_PAGE_H_
