// Fuzzes Block and its iterator (src/table/block.h) with arbitrary bytes as
// the uncompressed contents of a block. Invariants:
//  - nothing is read outside the block (AddressSanitizer: the contents are
//    allocated to their exact size) and a malformed block or entry is
//    Corruption, never a crash;
//  - when forward (SeekToFirst/Next) and backward (SeekToLast/Prev)
//    iteration both end without error, they yield the same entries in
//    opposite orders;
//  - when the keys are strictly increasing (the only blocks a builder
//    writes), Seek and SeekForPrev land where a search of the entry list says.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "lsmkv/iterator.h"
#include "table/block.h"
#include "table/format.h"
#include "util/comparator.h"

namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

constexpr size_t kMaxEntries = 1 << 16;
constexpr size_t kMaxSeeks = 64;

void CheckSeek(lsmkv::Iterator* it, const Entries& forward, std::string_view target) {
  const lsmkv::Comparator* cmp = lsmkv::BytewiseComparator();
  size_t first_at_or_after = 0;
  while (first_at_or_after < forward.size() &&
         cmp->Compare(forward[first_at_or_after].first, target) < 0) {
    first_at_or_after++;
  }
  it->Seek(target);
  FUZZ_CHECK(it->status().ok(), "Seek in an intact sorted block");
  if (first_at_or_after == forward.size()) {
    FUZZ_CHECK(!it->Valid(), "Seek past the last key is !Valid");
  } else {
    FUZZ_CHECK(it->Valid(), "Seek finds the first key >= target");
    FUZZ_CHECK(it->key() == forward[first_at_or_after].first, "Seek lands on the right key");
    FUZZ_CHECK(it->value() == forward[first_at_or_after].second, "Seek gives its value");
  }
  it->SeekForPrev(target);
  FUZZ_CHECK(it->status().ok(), "SeekForPrev in an intact sorted block");
  size_t last_at_or_before = first_at_or_after;
  if (first_at_or_after < forward.size() && forward[first_at_or_after].first == target) {
    last_at_or_before++;
  }
  if (last_at_or_before == 0) {
    FUZZ_CHECK(!it->Valid(), "SeekForPrev before the first key is !Valid");
  } else {
    FUZZ_CHECK(it->Valid(), "SeekForPrev finds the last key <= target");
    FUZZ_CHECK(it->key() == forward[last_at_or_before - 1].first,
               "SeekForPrev lands on the right key");
  }
}

void CheckBlock(std::string_view contents, size_t min_key_size, std::string_view seek_target) {
  lsmkv::Block block(lsmkv::BlockContents::Copy(contents));
  std::unique_ptr<lsmkv::Iterator> it(
      block.NewIterator(lsmkv::BytewiseComparator(), min_key_size, "fuzz block"));
  if (!block.status().ok()) {
    FUZZ_CHECK(block.status().IsCorruption(), "a malformed block is Corruption");
    it->SeekToFirst();
    FUZZ_CHECK(!it->Valid() && it->status().IsCorruption(), "its iterator is a Corruption");
    return;
  }
  FUZZ_CHECK(block.num_restarts() > 0, "an accepted block has restart points");

  Entries forward;
  for (it->SeekToFirst(); it->Valid() && forward.size() < kMaxEntries; it->Next()) {
    FUZZ_CHECK(it->key().size() >= min_key_size, "keys honour min_key_size");
    forward.emplace_back(it->key(), it->value());
  }
  const bool forward_ok = it->status().ok();
  FUZZ_CHECK(forward_ok || it->status().IsCorruption(), "forward errors are Corruption");
  FUZZ_CHECK(forward_ok || !it->Valid(), "an iterator in error is !Valid");

  Entries backward;
  for (it->SeekToLast(); it->Valid() && backward.size() < kMaxEntries; it->Prev()) {
    backward.emplace_back(it->key(), it->value());
  }
  const bool backward_ok = it->status().ok();
  FUZZ_CHECK(backward_ok || it->status().IsCorruption(), "backward errors are Corruption");
  if (!forward_ok || !backward_ok || forward.size() >= kMaxEntries) return;

  FUZZ_CHECK(forward.size() == backward.size(), "forward and backward see as many entries");
  for (size_t i = 0; i < forward.size(); i++) {
    FUZZ_CHECK(forward[i] == backward[forward.size() - 1 - i],
               "backward iteration yields the forward entries reversed");
  }

  for (size_t i = 1; i < forward.size(); i++) {
    if (lsmkv::BytewiseComparator()->Compare(forward[i - 1].first, forward[i].first) >= 0) {
      return;  // unsorted: Seek's result is unspecified
    }
  }
  const size_t step = forward.size() / kMaxSeeks + 1;
  for (size_t i = 0; i < forward.size(); i += step) CheckSeek(it.get(), forward, forward[i].first);
  CheckSeek(it.get(), forward, seek_target);
  CheckSeek(it.get(), forward, "");
}

}  // namespace

// The first byte chooses the minimum key size (0 or 8, as for user and
// internal keys) and the next byte the length of a seek target taken from the
// end of the input; the rest is the block.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t min_key_size = (data[0] & 1) ? 8 : 0;
  const size_t target_size = std::min<size_t>(data[1], size - 2);
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  CheckBlock(rest, min_key_size, rest.substr(rest.size() - target_size));
  return 0;
}
