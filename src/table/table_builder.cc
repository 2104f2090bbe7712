#include "table/table_builder.h"

#include <zstd.h>

#include <chrono>
#include <vector>

#include "base/dbformat.h"
#include "table/block_builder.h"
#include "table/bloom.h"
#include "table/format.h"
#include "table/salvage.h"
#include "table/table_properties.h"
#include "util/check.h"

namespace lsmkv {

namespace {

// Larger entries are refused: restart offsets in a block are 32-bit.
constexpr uint64_t kMaxEntrySize = uint64_t{1} << 30;

}  // namespace

struct TableBuilder::Rep {
  Rep(const TableOptions& opt, WritableFile* f)
      : options(opt),
        file(f),
        internal_keys(opt.internal_keys),
        version(opt.format_version == 1 ? 1 : kTableFormatVersion),
        data_block(opt.block_restart_interval),
        index_block(1) {
    if (options.filter_policy == nullptr && options.bloom_bits_per_key > 0) {
      // Version 1 is for readers that predate version 2, and so the line layout.
      filter = std::make_unique<BloomFilterBuilder>(
          options.bloom_bits_per_key, version == 1 ? BloomLayout::kClassic : options.bloom_layout);
    }
    if (options.compression == CompressionType::kZstd) zstd_context = ZSTD_createCCtx();
  }
  ~Rep() { ZSTD_freeCCtx(zstd_context); }

  // Keeps user_key for the policy's filter unless it repeats the last one.
  void AddPolicyKey(std::string_view user_key) {
    const size_t end = policy_key_ends.empty() ? 0 : policy_key_ends.back();
    if (!policy_key_ends.empty() &&
        std::string_view(policy_keys).substr(end - last_policy_key_size) == user_key) {
      return;
    }
    policy_keys.append(user_key);
    policy_key_ends.push_back(policy_keys.size());
    last_policy_key_size = user_key.size();
  }
  size_t last_policy_key_size = 0;

  // The policy's filter over every distinct user key added.
  std::string PolicyFilter() const {
    std::vector<std::string_view> keys;
    keys.reserve(policy_key_ends.size());
    size_t start = 0;
    for (size_t end : policy_key_ends) {
      keys.emplace_back(policy_keys.data() + start, end - start);
      start = end;
    }
    std::string out;
    options.filter_policy->CreateFilter(keys.data(), keys.size(), &out);
    return out;
  }

  Status Fail(Status s) {
    if (status.ok()) status = std::move(s);
    return status;
  }

  // Writes raw (compressed as type when worthwhile) plus its trailer;
  // returns the type used.
  CompressionType WriteBlock(std::string_view raw, CompressionType type, BlockHandle* handle) {
    // Never after a failed append: offsets would no longer match the file.
    DCHECK(status.ok());
    const CompressionType used = CompressBlock(raw, type, &compressed, zstd_context);
    const std::string_view stored = used == CompressionType::kNone ? raw : compressed;
    trailer.clear();
    AppendBlockTrailer(stored, used, &trailer);
    handle->set_offset(offset);
    handle->set_size(stored.size());
    Status s = file->Append(stored);
    if (s.ok()) s = file->Append(trailer);
    if (!s.ok()) {
      Fail(std::move(s)).PermitUncheckedError();
      return used;
    }
    offset += stored.size() + trailer.size();
    return used;
  }

  void FlushDataBlock() {
    if (data_block.empty() || !status.ok()) return;
    // The previous block's index entry was written when this block got its
    // first key.
    DCHECK(!pending_index_entry);
    const uint64_t start = offset;
    const std::string_view raw = data_block.Finish();
    const CompressionType used = WriteBlock(raw, options.compression, &pending_handle);
    if (status.ok() && version >= 2) salvage.AddDataBlock(pending_handle, used, raw);
    data_block.Reset();
    if (!status.ok()) return;
    pending_index_entry = true;
    properties.num_data_blocks++;
    properties.data_size += offset - start;
  }

  const TableOptions options;
  WritableFile* const file;
  const bool internal_keys;
  const uint32_t version;  // of the format written
  uint64_t offset = 0;
  Status status;
  bool closed = false;

  BlockBuilder data_block;
  BlockBuilder index_block;
  SalvageBuilder salvage;  // version 2
  std::unique_ptr<BloomFilterBuilder> filter;
  // With options.filter_policy: the distinct user keys added so far, back to
  // back, and where each ends (the policy gets them all at Finish).
  std::string policy_keys;
  std::vector<size_t> policy_key_ends;
  std::string last_key;
  TableProperties properties;

  // The index entry of a written data block waits for the next key, so that
  // its separator can be chosen between the two blocks.
  bool pending_index_entry = false;
  BlockHandle pending_handle;

  std::string compressed;
  std::string trailer;
  ZSTD_CCtx* zstd_context = nullptr;
};

TableBuilder::TableBuilder(const TableOptions& options, WritableFile* file)
    : rep_(std::make_unique<Rep>(options, file)) {
  DCHECK(options.comparator != nullptr);
}

TableBuilder::~TableBuilder() = default;

Status TableBuilder::Add(std::string_view key, std::string_view value) {
  Rep& r = *rep_;
  if (r.closed) return Status::InvalidArgument("table builder: Add after Finish or Abandon");
  if (!r.status.ok()) return r.status;
  if (r.internal_keys && key.size() < 8) {
    return r.Fail(Status::InvalidArgument("internal key shorter than 8 bytes", EscapeBytes(key)));
  }
  if (r.properties.num_entries > 0 && r.options.comparator->Compare(key, r.last_key) <= 0) {
    return r.Fail(Status::InvalidArgument(
        "keys out of order", EscapeBytes(key) + " is not after " + EscapeBytes(r.last_key)));
  }
  if (uint64_t{key.size()} + value.size() > kMaxEntrySize) {
    return r.Fail(Status::InvalidArgument("table entry larger than 1 GiB"));
  }

  if (r.pending_index_entry) {
    DCHECK(r.data_block.empty());  // the block it indexes was just flushed
    r.options.comparator->FindShortestSeparator(&r.last_key, key);
    // The separator divides the blocks: last key of one <= it < key.
    DCHECK_LT(r.options.comparator->Compare(r.last_key, key), 0);
    std::string handle;
    r.pending_handle.EncodeTo(&handle);
    r.index_block.Add(r.last_key, handle);
    r.pending_index_entry = false;
  }
  if (r.filter != nullptr) r.filter->AddKey(r.internal_keys ? ExtractUserKey(key) : key);
  if (r.options.filter_policy != nullptr)
    r.AddPolicyKey(r.internal_keys ? ExtractUserKey(key) : key);
  if (r.internal_keys && (ExtractTag(key) & 0xff) == kTypeDeletion) r.properties.num_deletions++;
  if (r.properties.num_entries == 0) r.properties.smallest_key.assign(key.data(), key.size());
  r.properties.num_entries++;
  r.properties.raw_key_size += key.size();
  r.properties.raw_value_size += value.size();
  r.last_key.assign(key.data(), key.size());

  r.data_block.Add(key, value);
  if (r.data_block.CurrentSizeEstimate() >= r.options.block_size) r.FlushDataBlock();
  return r.status;
}

Status TableBuilder::Finish() {
  Rep& r = *rep_;
  if (r.closed) return Status::InvalidArgument("table builder: Finish after Finish or Abandon");
  r.closed = true;
  r.FlushDataBlock();
  if (!r.status.ok()) return r.status;

  BlockBuilder metaindex(1);
  if (r.filter != nullptr) {
    BlockHandle filter_handle;
    r.WriteBlock(r.filter->Finish(), CompressionType::kNone, &filter_handle);
    std::string encoded;
    filter_handle.EncodeTo(&encoded);
    metaindex.Add(
        r.filter->layout() == BloomLayout::kLines ? kLineFilterBlockName : kFilterBlockName,
        encoded);
  } else if (r.options.filter_policy != nullptr) {
    BlockHandle filter_handle;
    r.WriteBlock(r.PolicyFilter(), CompressionType::kNone, &filter_handle);
    std::string encoded;
    filter_handle.EncodeTo(&encoded);
    metaindex.Add(FilterBlockNameFor(r.options.filter_policy->Name()), encoded);
  }

  TableProperties& p = r.properties;
  if (p.num_entries > 0) p.largest_key = r.last_key;
  p.comparator_name = r.options.comparator->Name();
  p.compression = r.options.compression;
  p.filter_bits_per_key =
      r.filter != nullptr ? static_cast<uint64_t>(r.options.bloom_bits_per_key) : 0;
  p.filter_user_keys = r.internal_keys ? 1 : 0;
  p.creation_time = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
  BlockHandle properties_handle;
  if (r.status.ok()) r.WriteBlock(p.Encode(), CompressionType::kNone, &properties_handle);
  std::string encoded;
  properties_handle.EncodeTo(&encoded);
  metaindex.Add(kPropertiesBlockName, encoded);  // names in bytewise order
  if (r.version >= 2) {
    BlockHandle salvage_handle;
    if (r.status.ok()) r.WriteBlock(r.salvage.Finish(), CompressionType::kNone, &salvage_handle);
    encoded.clear();
    salvage_handle.EncodeTo(&encoded);
    metaindex.Add(kSalvageBlockName, encoded);
  }

  BlockHandle metaindex_handle;
  if (r.status.ok()) r.WriteBlock(metaindex.Finish(), CompressionType::kNone, &metaindex_handle);

  if (r.pending_index_entry) {
    r.options.comparator->FindShortSuccessor(&r.last_key);
    encoded.clear();
    r.pending_handle.EncodeTo(&encoded);
    r.index_block.Add(r.last_key, encoded);
    r.pending_index_entry = false;
  }
  BlockHandle index_handle;
  if (r.status.ok()) r.WriteBlock(r.index_block.Finish(), CompressionType::kNone, &index_handle);
  if (!r.status.ok()) return r.status;

  // The index block is the last block: the footer follows it directly.
  DCHECK_EQ(index_handle.offset() + index_handle.size() + kBlockTrailerSize, r.offset);
  std::string footer;
  Footer(metaindex_handle, index_handle, r.version).EncodeTo(&footer);
  // Version 2 writes the footer twice: a reader uses either intact copy.
  if (r.version >= 2) footer += footer;
  Status s = r.file->Append(footer);
  if (!s.ok()) return r.Fail(std::move(s));
  r.offset += footer.size();
  s = r.file->Sync();
  if (!s.ok()) return r.Fail(std::move(s));
  return Status::OK();
}

void TableBuilder::Abandon() { rep_->closed = true; }

uint64_t TableBuilder::NumEntries() const { return rep_->properties.num_entries; }

uint64_t TableBuilder::FileSize() const { return rep_->offset; }

Status TableBuilder::status() const { return rep_->status; }

}  // namespace lsmkv
