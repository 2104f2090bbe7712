#include "table/table_properties.h"

#include <map>
#include <memory>

#include "table/block.h"
#include "table/block_builder.h"
#include "table/format.h"
#include "util/check.h"
#include "util/coding.h"

namespace lsmkv {

namespace {

// Property names, persisted: never rename.
constexpr char kComparator[] = "lsmkv.comparator";
constexpr char kCompression[] = "lsmkv.compression";
constexpr char kCreationTime[] = "lsmkv.creation-time";
constexpr char kDataSize[] = "lsmkv.data-size";
constexpr char kFilterBitsPerKey[] = "lsmkv.filter-bits-per-key";
constexpr char kFilterUserKeys[] = "lsmkv.filter-user-keys";
constexpr char kLargestKey[] = "lsmkv.largest-key";
constexpr char kNumDataBlocks[] = "lsmkv.num-data-blocks";
constexpr char kNumDeletions[] = "lsmkv.num-deletions";
constexpr char kNumEntries[] = "lsmkv.num-entries";
constexpr char kRawKeySize[] = "lsmkv.raw-key-size";
constexpr char kRawValueSize[] = "lsmkv.raw-value-size";
constexpr char kSmallestKey[] = "lsmkv.smallest-key";

std::string Varint(uint64_t v) {
  std::string s;
  PutVarint64(&s, v);
  return s;
}

bool ParseVarint(std::string_view value, uint64_t* out) {
  return GetVarint64(&value, out) && value.empty();
}

}  // namespace

std::string TableProperties::Encode() const {
  // std::map keeps the names in bytewise order, as a block requires.
  const std::map<std::string, std::string> entries = {
      {kComparator, comparator_name},
      {kCompression, Varint(static_cast<uint64_t>(compression))},
      {kCreationTime, Varint(creation_time)},
      {kDataSize, Varint(data_size)},
      {kFilterBitsPerKey, Varint(filter_bits_per_key)},
      {kFilterUserKeys, Varint(filter_user_keys)},
      {kLargestKey, largest_key},
      {kNumDataBlocks, Varint(num_data_blocks)},
      {kNumDeletions, Varint(num_deletions)},
      {kNumEntries, Varint(num_entries)},
      {kRawKeySize, Varint(raw_key_size)},
      {kRawValueSize, Varint(raw_value_size)},
      {kSmallestKey, smallest_key},
  };
  BlockBuilder builder(1);
  for (const auto& [name, value] : entries) builder.Add(name, value);
  std::string encoded(builder.Finish());
#if LSMKV_DCHECK_IS_ON
  {
    // What a table carries must read back (Decode's consistency rules
    // included): a builder that wrote counts Decode refuses would make
    // every table it writes unreadable.
    TableProperties decoded;
    DCHECK(Decode(encoded, &decoded).ok());
    DCHECK_EQ(decoded.num_entries, num_entries);
    DCHECK(decoded.smallest_key == smallest_key && decoded.largest_key == largest_key);
  }
#endif
  return encoded;
}

Status TableProperties::Decode(std::string_view block_bytes, TableProperties* out) {
  Block block(BlockContents::Copy(block_bytes));
  std::unique_ptr<Iterator> it(block.NewIterator(BytewiseComparator()));
  TableProperties p;
  uint64_t compression = 0;
  const std::map<std::string_view, uint64_t*> integers = {
      {kCompression, &compression},
      {kCreationTime, &p.creation_time},
      {kDataSize, &p.data_size},
      {kFilterBitsPerKey, &p.filter_bits_per_key},
      {kFilterUserKeys, &p.filter_user_keys},
      {kNumDataBlocks, &p.num_data_blocks},
      {kNumDeletions, &p.num_deletions},
      {kNumEntries, &p.num_entries},
      {kRawKeySize, &p.raw_key_size},
      {kRawValueSize, &p.raw_value_size},
  };
  const std::map<std::string_view, std::string*> strings = {
      {kComparator, &p.comparator_name},
      {kLargestKey, &p.largest_key},
      {kSmallestKey, &p.smallest_key},
  };
  size_t found = 0;
  std::string previous;
  bool first = true;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view name = it->key();
    if (!first && name <= std::string_view(previous)) {
      return Status::Corruption("properties out of order at " + EscapeBytes(name));
    }
    first = false;
    previous.assign(name.data(), name.size());
    if (auto i = integers.find(name); i != integers.end()) {
      if (!ParseVarint(it->value(), i->second)) {
        return Status::Corruption("bad property value for " + EscapeBytes(name));
      }
      found++;
    } else if (auto s = strings.find(name); s != strings.end()) {
      s->second->assign(it->value().data(), it->value().size());
      found++;
    }
  }
  if (!it->status().ok()) return Status::Corruption("bad properties block", it->status().message());
  if (found != integers.size() + strings.size()) {
    return Status::Corruption("properties block lacks a required property");
  }
  if (!IsKnownCompression(compression > 255 ? 255 : static_cast<unsigned char>(compression))) {
    return Status::Corruption("unknown compression in properties");
  }
  p.compression = static_cast<CompressionType>(compression);
  if (p.num_deletions > p.num_entries || (p.num_entries == 0) != (p.num_data_blocks == 0) ||
      p.num_data_blocks > p.num_entries || p.filter_user_keys > 1) {
    return Status::Corruption("inconsistent entry and block counts in properties");
  }
  *out = std::move(p);
  return Status::OK();
}

}  // namespace lsmkv
