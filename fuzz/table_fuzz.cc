// Fuzzes Table (src/table/table.h) with arbitrary bytes as a table file:
// footer, meta-index, properties, filter and index blocks at Open (and, for
// format version 2, the salvage block when a block is damaged), then the
// data blocks through iteration and InternalGet. Each input is opened as it
// is, then again with every block checksum the footer and index lead to
// recomputed, so that the fuzzer also reaches the decoders behind the
// checksums. Both key kinds are tried (bytewise user keys, internal keys).
// Invariants:
//  - nothing is read outside the file or a block (AddressSanitizer), and
//    every problem is Corruption (Open, iteration, InternalGet);
//  - when forward and backward iteration both end without error they yield
//    the same entries in opposite orders;
//  - InternalGet calls back at most once, with a key >= the one looked up;
//  - for an input whose checksums were all intact as given and whose
//    entries are sorted (a table a writer made), InternalGet finds every key
//    the filter does not rule out, with its value.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/dbformat.h"
#include "fuzz/fuzz_util.h"
#include "lsmkv/iterator.h"
#include "table/block.h"
#include "table/format.h"
#include "table/table.h"
#include "table/table_options.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;
using lsmkv::BlockHandle;
using lsmkv::Status;

constexpr size_t kMaxEntries = 1 << 16;
constexpr size_t kMaxGets = 64;

// Recomputes the trailer checksum of the block at handle, if it lies in file.
void FixBlock(const BlockHandle& handle, std::string* file) {
  const uint64_t size = file->size();
  if (handle.offset() > size || handle.size() > size - handle.offset() ||
      size - handle.offset() - handle.size() < lsmkv::kBlockTrailerSize) {
    return;
  }
  char* block = file->data() + handle.offset();
  const size_t n = static_cast<size_t>(handle.size());
  uint32_t crc = lsmkv::crc32c::Value(block, n);
  crc = lsmkv::crc32c::Extend(crc, block + n, 1);
  lsmkv::EncodeFixed32(block + n + 1, lsmkv::crc32c::Mask(crc));
}

// The entries of the (uncompressed) block at handle, if it lies in file.
Entries BlockEntries(const BlockHandle& handle, const std::string& file) {
  Entries entries;
  if (handle.offset() > file.size() || handle.size() > file.size() - handle.offset()) {
    return entries;
  }
  lsmkv::Block block(
      lsmkv::BlockContents::Copy(std::string_view(file).substr(handle.offset(), handle.size())));
  std::unique_ptr<lsmkv::Iterator> it(block.NewIterator(lsmkv::BytewiseComparator()));
  for (it->SeekToFirst(); it->Valid() && entries.size() < kMaxEntries; it->Next()) {
    entries.emplace_back(it->key(), it->value());
  }
  return entries;
}

// Recomputes the checksum of a version 2 footer ending at end (if it is
// one): over its handle area and its last 12 bytes.
void FixFooter(std::string* file, size_t end) {
  constexpr size_t kLength = lsmkv::Footer::kV2EncodedLength;
  constexpr size_t kArea = lsmkv::Footer::kHandleAreaSize;
  if (end < kLength || end > file->size()) return;
  char* footer = file->data() + end - kLength;
  if (lsmkv::DecodeFixed32(footer + kLength - 12) != 2) return;
  uint32_t crc = lsmkv::crc32c::Value(footer, kArea);
  crc = lsmkv::crc32c::Extend(crc, footer + kArea + 4, 12);
  lsmkv::EncodeFixed32(footer + kArea, lsmkv::crc32c::Mask(crc));
}

// Recomputes the checksums of the footer (both copies of a version 2 one),
// the index, meta-index, meta blocks and data blocks the footer leads to.
// Returns false if the footer does not decode.
bool FixChecksums(std::string* file) {
  FixFooter(file, file->size());
  if (file->size() >= 2 * lsmkv::Footer::kV2EncodedLength) {
    FixFooter(file, file->size() - lsmkv::Footer::kV2EncodedLength);
  }
  lsmkv::Footer footer;
  if (!footer.DecodeFrom(*file).ok()) return false;
  FixBlock(footer.index_handle(), file);
  FixBlock(footer.metaindex_handle(), file);
  for (const auto& [name, value] : BlockEntries(footer.metaindex_handle(), *file)) {
    BlockHandle handle;
    if (handle.DecodeExactly(value)) FixBlock(handle, file);
  }
  for (const auto& [key, value] : BlockEntries(footer.index_handle(), *file)) {
    BlockHandle handle;
    if (handle.DecodeExactly(value)) FixBlock(handle, file);
  }
  return true;
}

// Iterates forward (and backward); returns whether both ended without error.
bool ReadEntries(const lsmkv::Table& table, bool verify_checksums, Entries* forward) {
  lsmkv::ReadOptions read_options;
  read_options.verify_checksums = verify_checksums;
  std::unique_ptr<lsmkv::Iterator> it(table.NewIterator(read_options));
  for (it->SeekToFirst(); it->Valid() && forward->size() < kMaxEntries; it->Next()) {
    forward->emplace_back(it->key(), it->value());
  }
  if (!it->status().ok()) {
    FUZZ_CHECK(it->status().IsCorruption(), "iteration errors are Corruption");
    FUZZ_CHECK(!it->Valid(), "an iterator in error is !Valid");
    return false;
  }
  if (forward->size() >= kMaxEntries) return false;
  Entries backward;
  for (it->SeekToLast(); it->Valid() && backward.size() < kMaxEntries; it->Prev()) {
    backward.emplace_back(it->key(), it->value());
  }
  if (!it->status().ok()) {
    FUZZ_CHECK(it->status().IsCorruption(), "iteration errors are Corruption");
    return false;
  }
  FUZZ_CHECK(forward->size() == backward.size(), "forward and backward see as many entries");
  for (size_t i = 0; i < forward->size(); i++) {
    FUZZ_CHECK((*forward)[i] == backward[forward->size() - 1 - i],
               "backward iteration yields the forward entries reversed");
  }
  return true;
}

void CheckGets(const lsmkv::Table& table, const lsmkv::TableOptions& options,
               const Entries& entries, bool trusted) {
  const lsmkv::Comparator* cmp = options.comparator;
  bool sorted = true;
  for (size_t i = 1; i < entries.size() && sorted; i++) {
    sorted = cmp->Compare(entries[i - 1].first, entries[i].first) < 0;
  }
  const size_t step = entries.size() / kMaxGets + 1;
  for (size_t i = 0; i < entries.size(); i += step) {
    const std::string& target = entries[i].first;
    int calls = 0;
    std::string found_key, found_value;
    lsmkv::ReadOptions read_options;
    read_options.verify_checksums = trusted;
    const Status s =
        table.InternalGet(read_options, target, [&](std::string_view key, std::string_view value) {
          calls++;
          found_key.assign(key);
          found_value.assign(value);
        });
    FUZZ_CHECK(s.ok() || s.IsCorruption(), "InternalGet fails only with Corruption");
    FUZZ_CHECK(calls <= 1, "InternalGet calls back at most once");
    if (calls == 1) FUZZ_CHECK(cmp->Compare(found_key, target) >= 0, "found key >= target");
    if (!trusted || !sorted) continue;
    const std::string_view user_key =
        options.internal_keys ? lsmkv::ExtractUserKey(target) : std::string_view(target);
    if (!table.KeyMayMatch(user_key)) continue;
    FUZZ_CHECK(s.ok(), "an intact table answers InternalGet");
    FUZZ_CHECK(calls == 1 && found_key == target, "InternalGet finds a present key");
    FUZZ_CHECK(found_value == entries[i].second, "InternalGet gives its value");
  }
}

void CheckTable(const std::string& file, const lsmkv::TableOptions& options, bool trusted) {
  std::unique_ptr<lsmkv::Table> table;
  const Status s =
      lsmkv::Table::Open(options, std::make_unique<lsmkv::fuzz::StringRandomAccessFile>(file),
                         file.size(), "fuzz.sst", &table);
  if (!s.ok()) {
    FUZZ_CHECK(s.IsCorruption(), "Open fails only with Corruption");
    FUZZ_CHECK(table == nullptr, "a failed Open leaves no table");
    return;
  }
  for (bool verify_checksums : {true, false}) {
    Entries entries;
    if (ReadEntries(*table, verify_checksums, &entries)) {
      CheckGets(*table, options, entries, trusted && verify_checksums);
    }
  }
  (void)table->ApproximateOffsetOf(file.substr(0, 16));
  uint64_t entries = 0;
  const Status v = table->Verify(&entries);
  FUZZ_CHECK(v.ok() || v.IsCorruption(), "Verify fails only with Corruption");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const lsmkv::InternalKeyComparator internal_comparator(lsmkv::BytewiseComparator());
  lsmkv::TableOptions user_keys;
  user_keys.comparator = lsmkv::BytewiseComparator();
  user_keys.internal_keys = false;
  lsmkv::TableOptions internal_keys;
  internal_keys.comparator = &internal_comparator;
  internal_keys.internal_keys = true;

  std::string file(reinterpret_cast<const char*>(data), size);
  for (const lsmkv::TableOptions* options : {&user_keys, &internal_keys}) {
    CheckTable(file, *options, /*trusted=*/true);
  }
  std::string fixed = file;
  if (FixChecksums(&fixed) && fixed != file) {
    for (const lsmkv::TableOptions* options : {&user_keys, &internal_keys}) {
      CheckTable(fixed, *options, /*trusted=*/false);
    }
  }
  return 0;
}
