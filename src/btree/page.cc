#include "btree/page.h"

#include <cstring>

#include "util/coding.h"
#include "util/crc32c.h"

namespace lsmkv::btree {

namespace {

constexpr char kMetaMagic[8] = {'l', 's', 'm', 'k', 'v', 'b', 't', 'r'};

Status Bad(uint64_t page_id, const std::string& what) {
  return Status::Corruption("btree page " + std::to_string(page_id), what);
}

bool GetBlob(std::string_view* in, BlobRef* b) {
  uint32_t length;
  const size_t before = in->size();
  if (!GetVarint32(in, &length)) return false;
  // Only the shortest encoding of the length (one page image per node).
  if (before - in->size() != static_cast<size_t>(VarintLength(length))) return false;
  b->length = length;
  if (length <= kMaxInline) {
    if (in->size() < length) return false;
    b->data = in->substr(0, length);
    b->overflow = 0;
    in->remove_prefix(length);
    return true;
  }
  b->data = {};
  return GetFixed64(in, &b->overflow) && b->overflow >= kFirstTreePage;
}

}  // namespace

void SealPage(char* page, PageType type, uint16_t count, uint64_t page_id, uint64_t checkpoint,
              size_t body_length) {
  page[4] = static_cast<char>(type);
  page[5] = static_cast<char>(kFormatVersion);
  page[6] = static_cast<char>(count & 0xff);
  page[7] = static_cast<char>(count >> 8);
  EncodeFixed64(page + 8, page_id);
  EncodeFixed64(page + 16, checkpoint);
  EncodeFixed32(page + 24, static_cast<uint32_t>(body_length));
  EncodeFixed32(page, crc32c::Mask(crc32c::Value(page + 4, kPageSize - 4)));
}

Status CheckPage(std::string_view page, uint64_t expected_id, PageHeader* header) {
  if (page.size() != kPageSize) return Bad(expected_id, "short page");
  const uint32_t stored = crc32c::Unmask(DecodeFixed32(page.data()));
  if (stored != crc32c::Value(page.data() + 4, kPageSize - 4)) {
    return Bad(expected_id, "checksum mismatch");
  }
  const auto version = static_cast<uint8_t>(page[5]);
  if (version > kFormatVersion) {
    return Status::NotSupported("btree page " + std::to_string(expected_id),
                                "format version " + std::to_string(version) +
                                    " is newer than this build's " +
                                    std::to_string(kFormatVersion));
  }
  if (version == 0) return Bad(expected_id, "format version 0");
  const auto type = static_cast<uint8_t>(page[4]);
  if (type < 1 || type > 4) return Bad(expected_id, "unknown page type " + std::to_string(type));
  header->type = static_cast<PageType>(type);
  header->count =
      static_cast<uint16_t>(static_cast<uint8_t>(page[6]) | (static_cast<uint8_t>(page[7]) << 8));
  header->page_id = DecodeFixed64(page.data() + 8);
  header->checkpoint = DecodeFixed64(page.data() + 16);
  if (header->page_id != expected_id) {
    return Bad(expected_id, "holds page " + std::to_string(header->page_id));
  }
  header->body_length = DecodeFixed32(page.data() + 24);
  if (header->body_length > kCapacity) return Bad(expected_id, "body longer than the page");
  for (size_t i = kHeaderSize + header->body_length; i < kPageSize; i++) {
    if (page[i] != 0) return Bad(expected_id, "bytes after the body");
  }
  return Status::OK();
}

std::string EncodeMeta(const Meta& meta, uint64_t slot) {
  std::string page(kPageSize, '\0');
  std::string body(kMetaMagic, sizeof(kMetaMagic));
  PutFixed32(&body, static_cast<uint32_t>(kPageSize));
  PutFixed64(&body, meta.root);
  PutFixed64(&body, meta.page_count);
  PutFixed64(&body, meta.last_sequence);
  PutFixed64(&body, meta.wal_number);
  PutFixed64(&body, meta.keys);
  PutFixed64(&body, meta.depth);
  PutLengthPrefixed(&body, meta.comparator.substr(0, 1024));
  std::memcpy(page.data() + kHeaderSize, body.data(), body.size());
  SealPage(page.data(), PageType::kMeta, 0, slot, meta.checkpoint, body.size());
  return page;
}

Status DecodeMeta(std::string_view page, uint64_t slot, Meta* meta) {
  PageHeader h;
  Status s = CheckPage(page, slot, &h);
  if (!s.ok()) return s;
  if (h.type != PageType::kMeta) return Bad(slot, "is not a meta page");
  std::string_view in = page.substr(kHeaderSize, h.body_length);
  if (in.substr(0, sizeof(kMetaMagic)) != std::string_view(kMetaMagic, sizeof(kMetaMagic))) {
    return Bad(slot, "bad meta magic");
  }
  in.remove_prefix(sizeof(kMetaMagic));
  uint32_t page_size;
  std::string_view comparator;
  if (!GetFixed32(&in, &page_size) || !GetFixed64(&in, &meta->root) ||
      !GetFixed64(&in, &meta->page_count) || !GetFixed64(&in, &meta->last_sequence) ||
      !GetFixed64(&in, &meta->wal_number) || !GetFixed64(&in, &meta->keys) ||
      !GetFixed64(&in, &meta->depth) || !GetLengthPrefixed(&in, &comparator)) {
    return Bad(slot, "truncated meta");
  }
  if (page_size != kPageSize) {
    return Status::NotSupported("btree page size " + std::to_string(page_size));
  }
  if (meta->page_count < kFirstTreePage ||
      (meta->root != 0 && (meta->root < kFirstTreePage || meta->root >= meta->page_count))) {
    return Bad(slot, "meta names pages outside the file");
  }
  if ((meta->root == 0) != (meta->depth == 0) || meta->depth > 64) {
    return Bad(slot, "meta depth does not match its root");
  }
  meta->checkpoint = h.checkpoint;
  meta->comparator.assign(comparator.data(), comparator.size());
  return Status::OK();
}

size_t BlobSize(size_t length) {
  return static_cast<size_t>(VarintLength(length)) + (length <= kMaxInline ? length : 8);
}

void PutBlob(std::string* body, std::string_view data, uint64_t first_overflow) {
  PutVarint32(body, static_cast<uint32_t>(data.size()));
  if (data.size() <= kMaxInline) {
    body->append(data);
  } else {
    PutFixed64(body, first_overflow);
  }
}

Status DecodeNode(std::string_view page, const PageHeader& header, DecodedNode* node) {
  const uint64_t id = header.page_id;
  if (header.type != PageType::kLeaf && header.type != PageType::kInternal) {
    return Bad(id, "is not a tree page");
  }
  node->leaf = header.type == PageType::kLeaf;
  node->keys.clear();
  node->values.clear();
  node->children.clear();
  std::string_view in = page.substr(kHeaderSize, header.body_length);
  if (node->leaf) {
    if (header.count == 0) return Bad(id, "empty leaf");
    for (uint32_t i = 0; i < header.count; i++) {
      BlobRef k, v;
      if (!GetBlob(&in, &k) || !GetBlob(&in, &v)) return Bad(id, "leaf entry overruns the page");
      node->keys.push_back(k);
      node->values.push_back(v);
    }
  } else {
    if (header.count == 0) return Bad(id, "internal page without keys");
    uint64_t child;
    if (!GetFixed64(&in, &child)) return Bad(id, "truncated internal page");
    node->children.push_back(child);
    for (uint32_t i = 0; i < header.count; i++) {
      BlobRef k;
      if (!GetBlob(&in, &k) || !GetFixed64(&in, &child)) {
        return Bad(id, "internal entry overruns the page");
      }
      node->keys.push_back(k);
      node->children.push_back(child);
    }
    for (uint64_t c : node->children) {
      if (c < kFirstTreePage) return Bad(id, "child names a meta page");
    }
  }
  if (!in.empty()) return Bad(id, "bytes after the last entry");
  return Status::OK();
}

void EncodeOverflow(std::string_view data, uint64_t next, char* page) {
  EncodeFixed32(page + kHeaderSize, static_cast<uint32_t>(data.size()));
  EncodeFixed64(page + kHeaderSize + 4, next);
  std::memcpy(page + kHeaderSize + 12, data.data(), data.size());
}

Status DecodeOverflow(std::string_view page, uint64_t* next, std::string_view* data) {
  const uint32_t n = DecodeFixed32(page.data() + kHeaderSize);
  if (n == 0 || n > kOverflowData || DecodeFixed32(page.data() + 24) != n + 12) {
    return Bad(DecodeFixed64(page.data() + 8), "bad overflow length");
  }
  *next = DecodeFixed64(page.data() + kHeaderSize + 4);
  *data = page.substr(kHeaderSize + 12, n);
  return Status::OK();
}

}  // namespace lsmkv::btree
