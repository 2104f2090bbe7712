// TableProperties: facts about a table, stored in its "properties" meta block
// (docs/format/table.md, "properties") as a block of name -> value entries in
// bytewise order. Integers are varint64, strings are raw bytes.
//
// Thread safety: a plain value.
#ifndef LSMKV_TABLE_TABLE_PROPERTIES_H_
#define LSMKV_TABLE_TABLE_PROPERTIES_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "lsmkv/options.h"
#include "lsmkv/status.h"

namespace lsmkv {

struct TableProperties {
  uint64_t num_entries = 0;
  // Internal keys of type kTypeDeletion (0 for tables of plain keys).
  uint64_t num_deletions = 0;
  // Sum of key sizes and of value sizes, as added.
  uint64_t raw_key_size = 0;
  uint64_t raw_value_size = 0;
  uint64_t num_data_blocks = 0;
  // Bytes of data blocks as stored (trailers included).
  uint64_t data_size = 0;
  // Bloom filter bits per key (0: no filter).
  uint64_t filter_bits_per_key = 0;
  // 1 if the filter holds the user keys of internal keys, 0 if whole keys.
  uint64_t filter_user_keys = 0;
  // First and last key added ("" when num_entries == 0).
  std::string smallest_key;
  std::string largest_key;
  std::string comparator_name;
  // The compression the table was written with (single blocks may still be
  // stored uncompressed).
  CompressionType compression = CompressionType::kNone;
  // When the table was finished, in seconds since the Unix epoch.
  uint64_t creation_time = 0;

  // The contents of the properties block (an uncompressed block).
  std::string Encode() const;
  // Parses a properties block. Corruption (without a file name) if an entry
  // is malformed, out of order, or a required property is missing. Unknown
  // names are ignored so that later writers may add properties.
  static Status Decode(std::string_view block, TableProperties* out);
};

}  // namespace lsmkv

#endif  // LSMKV_TABLE_TABLE_PROPERTIES_H_
