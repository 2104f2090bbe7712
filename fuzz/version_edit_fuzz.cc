// Fuzzes VersionEdit::DecodeFrom (src/db/version_edit.h) with arbitrary
// bytes as one MANIFEST record. Invariants:
//  - a failure is Corruption or NotSupported and leaves the edit cleared
//    (it encodes like a fresh edit);
//  - a success re-encodes to bytes that decode again, and re-encoding that
//    gives the same bytes (encode o decode is a fixed point), with the same
//    fields; DebugString works on every decoded edit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "db/version_edit.h"
#include "fuzz/fuzz_util.h"

namespace {

bool SameFile(const lsmkv::FileMetaData& a, const lsmkv::FileMetaData& b) {
  return a.number == b.number && a.file_size == b.file_size && a.smallest == b.smallest &&
         a.largest == b.largest && a.smallest_seqno == b.smallest_seqno &&
         a.largest_seqno == b.largest_seqno && a.num_entries == b.num_entries &&
         a.num_deletions == b.num_deletions;
}

bool SameEdit(const lsmkv::VersionEdit& a, const lsmkv::VersionEdit& b) {
  if (a.has_comparator_name() != b.has_comparator_name() ||
      a.comparator_name() != b.comparator_name() || a.has_log_number() != b.has_log_number() ||
      a.log_number() != b.log_number() || a.has_next_file_number() != b.has_next_file_number() ||
      a.next_file_number() != b.next_file_number() ||
      a.has_last_sequence() != b.has_last_sequence() || a.last_sequence() != b.last_sequence() ||
      a.compact_pointers() != b.compact_pointers() || a.deleted_files() != b.deleted_files() ||
      a.new_files().size() != b.new_files().size()) {
    return false;
  }
  for (size_t i = 0; i < a.new_files().size(); i++) {
    if (a.new_files()[i].first != b.new_files()[i].first ||
        !SameFile(a.new_files()[i].second, b.new_files()[i].second)) {
      return false;
    }
  }
  if (a.removed_range_tombstones() != b.removed_range_tombstones() ||
      a.put_range_tombstones().size() != b.put_range_tombstones().size()) {
    return false;
  }
  for (size_t i = 0; i < a.put_range_tombstones().size(); i++) {
    const lsmkv::RangeTombstoneRecord& x = a.put_range_tombstones()[i];
    const lsmkv::RangeTombstoneRecord& y = b.put_range_tombstones()[i];
    if (x.tombstone.seq != y.tombstone.seq || x.tombstone.begin != y.tombstone.begin ||
        x.tombstone.end != y.tombstone.end || x.pending_files != y.pending_files) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  lsmkv::VersionEdit edit;
  edit.SetLogNumber(1);  // DecodeFrom must replace what was there
  const lsmkv::Status s = edit.DecodeFrom(input);
  std::string encoded;
  edit.EncodeTo(&encoded);
  if (!s.ok()) {
    FUZZ_CHECK(s.IsCorruption() || s.IsNotSupported(), "decode errors are Corruption/NotSupported");
    std::string fresh;
    lsmkv::VersionEdit().EncodeTo(&fresh);
    FUZZ_CHECK(encoded == fresh, "a failed decode leaves the edit cleared");
    return 0;
  }
  (void)edit.DebugString();

  lsmkv::VersionEdit again;
  FUZZ_CHECK(again.DecodeFrom(encoded).ok(), "a re-encoded edit decodes");
  FUZZ_CHECK(SameEdit(edit, again), "a re-encoded edit has the same fields");
  std::string reencoded;
  again.EncodeTo(&reencoded);
  FUZZ_CHECK(reencoded == encoded, "encode(decode(encode(x))) == encode(x)");
  return 0;
}
