// Fuzzes the Bitcask engine's decoders (src/bitcask/format.h) with
// arbitrary bytes: a data-file record (header, then payload), one op read
// alone, a hint file and a manifest. Invariants: no crash or sanitizer
// report; each op of a record that decodes decodes alone at the location
// the record gives it, to the same op; whatever decodes, re-encoded,
// decodes to the same contents.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bitcask/format.h"
#include "fuzz/fuzz_util.h"

namespace bc = lsmkv::bitcask;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // A record.
  uint32_t length = 0, crc = 0;
  if (bc::DecodeRecordHeader(input, &length, &crc).ok() &&
      input.size() >= bc::kRecordHeaderSize + static_cast<uint64_t>(length)) {
    const std::string_view record = input.substr(0, bc::kRecordHeaderSize + length);
    std::vector<bc::DecodedOp> ops;
    if (bc::DecodeRecordPayload(record.substr(bc::kRecordHeaderSize), crc, &ops).ok()) {
      std::vector<bc::OpToEncode> encode;
      for (const auto& op : ops) encode.push_back({op.type, op.key, op.value});
      std::string again;
      std::vector<bc::OpLocation> locations;
      bc::EncodeRecord(ops.empty() ? 0 : ops[0].sequence, encode, &again, &locations);
      uint32_t again_length = 0, again_crc = 0;
      std::vector<bc::DecodedOp> again_ops;
      FUZZ_CHECK(bc::DecodeRecordHeader(again, &again_length, &again_crc).ok() &&
                     bc::DecodeRecordPayload(std::string_view(again).substr(bc::kRecordHeaderSize),
                                             again_crc, &again_ops)
                         .ok() &&
                     again_ops.size() == ops.size(),
                 "a re-encoded record does not decode");
      for (size_t i = 0; i < ops.size(); i++) {
        FUZZ_CHECK(again_ops[i].key == ops[i].key && again_ops[i].value == ops[i].value &&
                       again_ops[i].type == ops[i].type,
                   "a re-encoded record decodes to other ops");
        bc::OpType type;
        std::string_view value;
        FUZZ_CHECK(
            bc::DecodeOp(record.substr(ops[i].offset, ops[i].size), ops[i].key, &type, &value)
                    .ok() &&
                type == ops[i].type && value == ops[i].value,
            "an op does not decode alone at its location");
      }
    }
  }

  // One op alone, for any key it may claim.
  bc::OpType type;
  std::string_view value;
  (void)bc::DecodeOp(input, "", &type, &value);

  // A hint file.
  std::vector<bc::HintEntry> entries;
  if (bc::DecodeHintFile(input, &entries).ok()) {
    std::string body;
    for (const auto& e : entries) bc::EncodeHintEntry(e, &body);
    std::vector<bc::HintEntry> again;
    FUZZ_CHECK(
        bc::DecodeHintFile(bc::FinishHintFile(body), &again).ok() && again.size() == entries.size(),
        "a re-encoded hint file does not decode");
    for (size_t i = 0; i < again.size(); i++) {
      FUZZ_CHECK(again[i].key == entries[i].key && again[i].sequence == entries[i].sequence &&
                     again[i].offset == entries[i].offset && again[i].size == entries[i].size,
                 "a re-encoded hint entry differs");
    }
  }

  // A manifest.
  bc::Manifest manifest;
  if (bc::DecodeManifest(input, &manifest).ok()) {
    bc::Manifest again;
    FUZZ_CHECK(bc::DecodeManifest(bc::EncodeManifest(manifest), &again).ok() &&
                   again.files == manifest.files && again.next_file == manifest.next_file &&
                   again.comparator == manifest.comparator,
               "a re-encoded manifest differs");
  }
  return 0;
}
