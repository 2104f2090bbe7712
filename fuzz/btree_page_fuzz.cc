// Fuzzes the B+tree engine's page decoders (src/btree/page.h) with
// arbitrary bytes. The checksum would stop almost every input at the first
// check, so the input is taken both as a whole page (checked as read from
// disk) and as the header fields and body of a page that this target seals
// with a valid checksum, which reaches the node, meta and overflow decoders.
// Invariants: no crash or sanitizer report; a node that decodes re-encodes
// to the same body bytes; a meta that decodes re-encodes to a page that
// decodes to the same meta.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "btree/page.h"
#include "fuzz/fuzz_util.h"

namespace bt = lsmkv::btree;

namespace {

void DecodeAny(std::string_view page, uint64_t id) {
  bt::PageHeader h;
  if (!bt::CheckPage(page, id, &h).ok()) return;
  FUZZ_CHECK(h.body_length <= bt::kCapacity, "a body longer than the page passed the check");
  if (h.type == bt::PageType::kMeta) {
    bt::Meta m;
    if (bt::DecodeMeta(page, id, &m).ok()) {
      bt::Meta again;
      FUZZ_CHECK(bt::DecodeMeta(bt::EncodeMeta(m, id), id, &again).ok() && again.root == m.root &&
                     again.page_count == m.page_count && again.last_sequence == m.last_sequence &&
                     again.wal_number == m.wal_number && again.keys == m.keys &&
                     again.depth == m.depth && again.checkpoint == m.checkpoint &&
                     again.comparator == m.comparator,
                 "a re-encoded meta decodes differently");
    }
    return;
  }
  if (h.type == bt::PageType::kOverflow) {
    uint64_t next;
    std::string_view data;
    if (bt::DecodeOverflow(page, &next, &data).ok()) {
      FUZZ_CHECK(data.size() <= bt::kOverflowData && data.data() >= page.data() &&
                     data.data() + data.size() <= page.data() + page.size(),
                 "overflow data outside its page");
    }
    return;
  }
  bt::DecodedNode n;
  if (!bt::DecodeNode(page, h, &n).ok()) return;
  FUZZ_CHECK(n.keys.size() == h.count, "a node decoded another number of entries");
  std::string body;
  if (!n.leaf) {
    FUZZ_CHECK(n.children.size() == n.keys.size() + 1, "internal node child count");
    body.append(reinterpret_cast<const char*>(&n.children[0]), 8);  // little-endian hosts
  }
  for (size_t i = 0; i < n.keys.size(); i++) {
    const auto put = [&](const bt::BlobRef& b) {
      if (b.length <= bt::kMaxInline) {
        FUZZ_CHECK(b.data.size() == b.length, "inline blob length");
        bt::PutBlob(&body, b.data, 0);
      } else {
        // PutBlob's encoding of a long blob, without materialising it.
        char buf[5];
        int n = 0;
        for (uint32_t v = b.length;; v >>= 7) {
          buf[n++] = static_cast<char>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
          if (v < 0x80) break;
        }
        body.append(buf, static_cast<size_t>(n));
        body.append(reinterpret_cast<const char*>(&b.overflow), 8);
      }
    };
    put(n.keys[i]);
    if (n.leaf) {
      put(n.values[i]);
    } else {
      body.append(reinterpret_cast<const char*>(&n.children[i + 1]), 8);
    }
  }
  FUZZ_CHECK(body == page.substr(bt::kHeaderSize, h.body_length),
             "a decoded node does not re-encode to its bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // As read from disk, at the page numbers that matter (metas, a tree page).
  if (input.size() == bt::kPageSize) {
    for (uint64_t id : {0, 1, 2}) DecodeAny(input, id);
  }
  // As header fields + body, sealed: type, count (2 bytes), then the body.
  if (input.size() < 3) return 0;
  const auto type = static_cast<bt::PageType>(1 + static_cast<uint8_t>(input[0]) % 4);
  const auto count =
      static_cast<uint16_t>(static_cast<uint8_t>(input[1]) | (static_cast<uint8_t>(input[2]) << 8));
  std::string_view body = input.substr(3);
  if (body.size() > bt::kCapacity) body = body.substr(0, bt::kCapacity);
  std::string page(bt::kPageSize, '\0');
  std::memcpy(page.data() + bt::kHeaderSize, body.data(), body.size());
  const uint64_t id = type == bt::PageType::kMeta ? 1 : 5;
  bt::SealPage(page.data(), type, count, id, 3, body.size());
  DecodeAny(page, id);
  return 0;
}
