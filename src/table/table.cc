#include "table/table.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "base/dbformat.h"
#include "table/block_builder.h"
#include "table/cache.h"
#include "table/iterator_util.h"
#include "table/table_counters.h"
#include "table/two_level_iterator.h"
#include "util/check.h"
#include "util/coding.h"

namespace lsmkv {

namespace {

void DeleteCachedBlock(std::string_view, void* value) { delete static_cast<Block*>(value); }

// Where a block with this handle ends, trailer included; false on overflow.
bool BlockEnd(const BlockHandle& handle, uint64_t* end) {
  const uint64_t limit = UINT64_MAX - kBlockTrailerSize;
  if (handle.offset() > limit || handle.size() > limit - handle.offset()) return false;
  *end = handle.offset() + handle.size() + kBlockTrailerSize;
  return true;
}

}  // namespace

Table::Table(const TableOptions& options, std::unique_ptr<RandomAccessFile> file,
             const std::string& file_name)
    : options_(options),
      file_(std::move(file)),
      in_place_(file_->Pin() != nullptr),
      file_name_(file_name),
      internal_keys_(options.internal_keys),
      data_min_key_size_(internal_keys_ ? 8 : 0),
      index_min_key_size_(options.comparator->MinimumKeySize()),
      filter_block_name_(options.filter_policy != nullptr
                             ? FilterBlockNameFor(options.filter_policy->Name())
                             : std::string(kFilterBlockName)) {}

Table::~Table() = default;

Status Table::Corruption(const std::string& what) const {
  return Status::Corruption(file_name_, what);
}

Status Table::ReadVerifiedBlock(const BlockHandle& handle, BlockContents* contents) const {
  uint64_t bytes = 0;
  Status s = ReadBlock(file_.get(), file_name_, handle, /*verify_checksum=*/true, contents, &bytes);
  BumpCounter(options_.counters, &TableCounters::block_reads);
  BumpCounter(options_.counters, &TableCounters::bytes_read, bytes);
  return s;
}

Status Table::Open(const TableOptions& options, std::unique_ptr<RandomAccessFile> file,
                   uint64_t file_size, const std::string& file_name,
                   std::unique_ptr<Table>* table) {
  table->reset();
  DCHECK(options.comparator != nullptr);
  std::unique_ptr<Table> t(new Table(options, std::move(file), file_name));
  Status s = t->ReadFooterAndMeta(file_size);
  if (!s.ok()) return s;
  if (!t->damage_.empty()) {
    BumpCounter(options.counters, &TableCounters::damaged_tables_opened);
    t->Report(file_name + ": " + t->damage_);
  }
  if (options.block_cache != nullptr) t->cache_id_ = options.block_cache->NewId();
  *table = std::move(t);
  return Status::OK();
}

std::string Table::Detail(const Status& s) const {
  std::string_view m = s.message();
  const std::string prefix = file_name_ + ": ";
  if (m.substr(0, prefix.size()) == prefix) m.remove_prefix(prefix.size());
  return std::string(m);
}

void Table::NoteDamage(const std::string& what) {
  if (!damage_.empty()) damage_ += "; ";
  damage_ += what;
}

void Table::Report(const std::string& message) const {
  if (options_.damage_reporter) options_.damage_reporter(message);
}

Status Table::damage() const { return damage_.empty() ? Status::OK() : Corruption(damage_); }

Status Table::ReadFooterAndMeta(uint64_t file_size) {
  TableFooter found;
  uint64_t footer_bytes = 0;
  Status s = ReadTableFooter(file_.get(), file_size, &found, &footer_bytes);
  BumpCounter(options_.counters, &TableCounters::bytes_read, footer_bytes);
  if (!s.ok()) return s.IsCorruption() ? Corruption(std::string(s.message())) : s;
  format_version_ = found.footer.version();
  if (!found.damage.empty()) NoteDamage(found.damage);

  // Layout: ... meta-index block, index block, footer(s) — each directly
  // after the previous one.
  const BlockHandle& index_handle = found.footer.index_handle();
  metaindex_handle_ = found.footer.metaindex_handle();
  uint64_t index_end = 0, metaindex_end = 0;
  if (!BlockEnd(index_handle, &index_end) || index_end != found.footer_start) {
    return Corruption("index block handle does not end at the footer");
  }
  if (!BlockEnd(metaindex_handle_, &metaindex_end) || metaindex_end != index_handle.offset()) {
    return Corruption("meta-index block handle does not end at the index block");
  }

  Status index_damage;
  s = ReadIndexBlock(index_handle, &index_damage);
  if (!s.ok()) return s;
  MetaBlocks meta;
  bool metaindex_ok = true;
  s = ReadMetaIndex(&meta, &metaindex_ok);
  if (!s.ok()) return s;
  if (metaindex_ok) {
    s = ReadPropertiesAndFilter(meta);
    if (!s.ok()) return s;
  }

  if (!index_damage.ok()) {
    s = RebuildIndex(index_damage);
    if (!s.ok()) return s;
    return CheckIndex(metaindex_ok);
  }
  s = CheckIndex(metaindex_ok);
  // An index that decodes but is inconsistent is rebuilt too (version 2).
  if (!s.ok() && Tolerable(s) && metaindex_ok) {
    s = RebuildIndex(s);
    if (s.ok()) s = CheckIndex(metaindex_ok);
  }
  return s;
}

// Version 2 survives a damaged footer copy, filter, properties, meta-index
// or index block (checksum failures, i.e. Corruption; the file's own errors
// fail Open). Version 1 fails on any of them.
bool Table::Tolerable(const Status& s) const { return format_version_ >= 2 && s.IsCorruption(); }

Status Table::ReadIndexBlock(const BlockHandle& index_handle, Status* damage) {
  BlockContents contents;
  Status s = ReadVerifiedBlock(index_handle, &contents);
  if (s.ok()) {
    index_block_ = std::make_unique<Block>(std::move(contents));
    if (!index_block_->status().ok()) {
      s = Corruption("bad index block: " + std::string(index_block_->status().message()));
    }
  }
  if (!s.ok()) {
    if (!Tolerable(s)) return s;
    index_block_.reset();
    *damage = s;
  }
  return Status::OK();
}

Status Table::ReadMetaIndex(MetaBlocks* meta, bool* metaindex_ok) {
  const bool v2 = format_version_ >= 2;
  BlockContents contents;
  Status s = ReadVerifiedBlock(metaindex_handle_, &contents);
  if (!s.ok()) {
    if (!Tolerable(s)) return s;
    *metaindex_ok = false;
    has_properties_ = false;
    NoteDamage("meta-index block damaged (" + Detail(s) +
               "): opened without the filter, properties and salvage data");
    return Status::OK();
  }
  Block metaindex(std::move(contents));
  std::unique_ptr<Iterator> it(metaindex.NewIterator(BytewiseComparator(), 0, file_name_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    BlockHandle* handle = nullptr;
    BlockHandle other_filter;
    if (it->key() == filter_block_name_ ||
        (options_.filter_policy == nullptr && it->key() == kLineFilterBlockName)) {
      const BloomLayout layout =
          it->key() == kLineFilterBlockName ? BloomLayout::kLines : BloomLayout::kClassic;
      if (meta->has_filter && meta->filter_layout == BloomLayout::kLines) {
        handle = &other_filter;  // both built-in layouts: the line filter is read
      } else {
        if (meta->has_filter) {
          // Both (no writer makes such a table): the other only bounds the data.
          meta->other_filter_offset = std::min(meta->other_filter_offset, meta->filter.offset());
        }
        handle = &meta->filter;
        meta->has_filter = true;
        meta->filter_layout = layout;
      }
    } else if (it->key().starts_with("filter.")) {
      handle = &other_filter;  // another policy's: only bounds the data
    } else if (it->key() == kPropertiesBlockName) {
      handle = &meta->properties;
      meta->has_properties = true;
    } else if (v2 && it->key() == kSalvageBlockName) {
      handle = &salvage_handle_;
      has_salvage_ = true;
    } else {
      continue;  // a meta block of a later writer
    }
    uint64_t end = 0;
    if (!handle->DecodeExactly(it->value()) || !BlockEnd(*handle, &end) ||
        end > metaindex_handle_.offset()) {
      return Corruption("bad meta block handle for " + EscapeBytes(it->key()));
    }
    if (handle == &other_filter) {
      meta->other_filter_offset = std::min(meta->other_filter_offset, other_filter.offset());
    }
  }
  if (!it->status().ok()) return it->status();
  if (!meta->has_properties) return Corruption("no properties block");
  if (v2 && !has_salvage_) return Corruption("no salvage block");
  return Status::OK();
}

Status Table::ReadPropertiesAndFilter(const MetaBlocks& meta) {
  BlockContents contents;
  Status s = ReadVerifiedBlock(meta.properties, &contents);
  if (s.ok()) {
    s = TableProperties::Decode(contents.view(), &properties_);
    if (!s.ok()) return Corruption(std::string(s.message()));
    if (properties_.comparator_name != options_.comparator->Name()) {
      return Corruption("table was written with comparator " +
                        EscapeBytes(properties_.comparator_name) + ", not " +
                        options_.comparator->Name());
    }
  } else if (Tolerable(s)) {
    has_properties_ = false;
    NoteDamage("properties block damaged (" + Detail(s) +
               "): opened without the properties and the filter");
  } else {
    return s;
  }

  data_end_ = meta.properties.offset();
  if (has_salvage_) data_end_ = std::min(data_end_, salvage_handle_.offset());
  data_end_ = std::min(data_end_, meta.other_filter_offset);
  if (!meta.has_filter) return Status::OK();
  data_end_ = std::min(data_end_, meta.filter.offset());
  // Without the properties, the kind of key the filter holds is unknown.
  if (!has_properties_) return Status::OK();
  s = ReadVerifiedBlock(meta.filter, &contents);
  if (s.ok()) {
    // A filter over other keys than this reader would probe with is
    // not used: it could rule out keys that are present.
    const bool usable = (properties_.filter_user_keys == 1) == internal_keys_;
    if (options_.filter_policy != nullptr) {
      // A user's filter is opaque: its checksum is all that is checked.
      if (usable) {
        policy_filter_.assign(contents.view());
        has_policy_filter_ = true;
      }
    } else {
      BloomFilterReader filter;
      s = BloomFilterReader::Parse(contents.view(), meta.filter_layout, &filter);
      if (!s.ok()) return Corruption(std::string(s.message()));
      if (usable) filter_ = std::move(filter);
    }
  } else if (Tolerable(s)) {
    NoteDamage("filter block damaged (" + Detail(s) + "): opened without the filter");
  } else {
    return s;
  }
  return Status::OK();
}

// The index must list the data blocks back to back from offset 0 to
// data_end_, in increasing key order, one per block counted in the properties.
Status Table::CheckIndex(bool data_end_known) {
  std::unique_ptr<Iterator> it(
      index_block_->NewIterator(options_.comparator, index_min_key_size_, file_name_));
  // Without the meta-index, the data blocks end where the index says, before
  // the meta blocks.
  const uint64_t limit = data_end_known ? data_end_ : metaindex_handle_.offset();
  uint64_t expected_offset = 0;
  uint64_t count = 0;
  std::string previous_key;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    BlockHandle handle;
    uint64_t end = 0;
    if (!handle.DecodeExactly(it->value()) || handle.offset() != expected_offset ||
        !BlockEnd(handle, &end) || end > limit) {
      return Corruption("bad data block handle in index entry " + std::to_string(count));
    }
    if (count > 0 && options_.comparator->Compare(previous_key, it->key()) >= 0) {
      return Corruption("index keys out of order at entry " + std::to_string(count));
    }
    previous_key.assign(it->key().data(), it->key().size());
    expected_offset = end;
    count++;
  }
  if (!it->status().ok()) return it->status();
  if (!data_end_known) data_end_ = expected_offset;
  if (expected_offset != data_end_) return Corruption("index does not cover the data blocks");
  if (has_properties_ && count != properties_.num_data_blocks) {
    return Corruption("index lists " + std::to_string(count) + " data blocks, properties say " +
                      std::to_string(properties_.num_data_blocks));
  }
  BuildIndexFences();
  return Status::OK();
}

namespace {

// The first sixteen bytes of rest as a big-endian number, zero-padded, in
// two halves: for keys a, b after a shared prefix, FenceOf(a) < FenceOf(b)
// (high halves first) implies a < b bytewise (the first byte where the
// padded forms differ is a real byte of b, and either a real, smaller byte
// of a or past a's end).
struct Fence16 {
  uint64_t high;
  uint64_t low;
};
Fence16 FenceOf(std::string_view rest) {
  unsigned char bytes[16] = {};
  std::memcpy(bytes, rest.data(), rest.size() < 16 ? rest.size() : 16);
  uint64_t high, low;
  std::memcpy(&high, bytes, sizeof(high));
  std::memcpy(&low, bytes + 8, sizeof(low));
  return Fence16{__builtin_bswap64(high), __builtin_bswap64(low)};
}

// The first position in [data, data + n) whose value is >= key (n when
// none). (A branch-free search with prefetches measured no faster here:
// the speculation past a predicted branch loads ahead as well.)
size_t LowerBound(const uint64_t* data, size_t n, uint64_t key) {
  return static_cast<size_t>(std::lower_bound(data, data + n, key) - data);
}

}  // namespace

void Table::BuildIndexFences() {
  index_prefix_.clear();
  index_tail_keys_.clear();
  index_fences_high_.clear();
  index_fences_low_.clear();
  index_handles_.clear();
  const Comparator* user_comparator = options_.comparator;
  if (internal_keys_) {
    const auto* icmp = dynamic_cast<const InternalKeyComparator*>(options_.comparator);
    if (icmp == nullptr) return;
    user_comparator = icmp->user_comparator();
  }
  if (user_comparator != BytewiseComparator()) return;
  auto user_key = [this](std::string_view key) {
    return internal_keys_ ? ExtractUserKey(key) : key;
  };
  std::vector<BlockHandle> handles;
  std::unique_ptr<Iterator> it(
      index_block_->NewIterator(options_.comparator, index_min_key_size_, file_name_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    BlockHandle handle;
    if (!handle.DecodeExactly(it->value())) return;  // CheckIndex decoded it
    handles.push_back(handle);
  }
  if (!it->status().ok() || handles.empty()) return;
  const size_t n = handles.size();
  // The prefix: what the first entry shares with the entry tail_allowance
  // places before the last (n / 64, at least two, fewer in a table of few
  // blocks). In a sorted index that is what every entry up to that one
  // shares, and it is at least as long as what the first shares with any
  // later entry: the last few index keys are often short
  // separators or a short successor ("u" after "tenant/..."), or the first
  // keys of another range, and would leave little or no prefix. The
  // entries after the prefix's range (the tail) keep their keys.
  const size_t tail_allowance = std::min<size_t>(n - 1, std::max<size_t>(2, n / 64));
  const size_t anchor = n - 1 - tail_allowance;
  std::string first, anchor_key;
  size_t i = 0;
  for (it->SeekToFirst(); it->Valid() && i <= anchor; it->Next(), i++) {
    if (i == 0) first.assign(user_key(it->key()));
    if (i == anchor) anchor_key.assign(user_key(it->key()));
  }
  if (!it->status().ok() || i != anchor + 1) return;
  size_t shared = 0;
  while (shared < first.size() && shared < anchor_key.size() &&
         first[shared] == anchor_key[shared]) {
    shared++;
  }
  const std::string_view prefix = std::string_view(first).substr(0, shared);
  std::vector<uint64_t> high, low;
  std::vector<std::string> tail;
  high.reserve(n);
  low.reserve(n);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = user_key(it->key());
    if (tail.empty() && key.substr(0, shared) == prefix) {
      const Fence16 fence = FenceOf(key.substr(shared));
      high.push_back(fence.high);
      low.push_back(fence.low);
    } else {
      // Past the prefix's range: larger than every key with the prefix, so
      // the largest fence keeps the order.
      DCHECK_GT(high.size(), anchor);
      high.push_back(UINT64_MAX);
      low.push_back(UINT64_MAX);
      tail.emplace_back(key);
    }
  }
  if (!it->status().ok() || high.size() != n) return;
  index_prefix_.assign(prefix);
  index_tail_keys_ = std::move(tail);
  index_fences_high_ = std::move(high);
  index_fences_low_ = std::move(low);
  index_handles_ = std::move(handles);
}

bool Table::FindByFences(std::string_view user_key, size_t* entry) const {
  DCHECK(!index_handles_.empty());
  const size_t n = index_handles_.size();
  const std::string_view prefix = index_prefix_;
  const size_t common = std::min(user_key.size(), prefix.size());
  int c = common == 0 ? 0 : std::memcmp(user_key.data(), prefix.data(), common);
  if (c == 0 && user_key.size() < prefix.size()) c = -1;  // a proper prefix of the prefix
  if (c < 0) {
    *entry = 0;  // smaller than every key with the prefix, the first entry's included
    return true;
  }
  if (c > 0) {
    // Larger than every key with the prefix: the answer is in the tail (or
    // past the end).
    const std::vector<std::string>& tail = index_tail_keys_;
    const auto at = std::lower_bound(
        tail.begin(), tail.end(), user_key,
        [](const std::string& a, std::string_view b) { return std::string_view(a) < b; });
    // An equal user key: the sequence numbers decide, which the index
    // block's search compares.
    if (at != tail.end() && *at == user_key) return false;
    *entry = n - tail.size() + static_cast<size_t>(at - tail.begin());
    return true;
  }
  const Fence16 fence = FenceOf(user_key.substr(prefix.size()));
  const uint64_t* high = index_fences_high_.data();
  size_t at = LowerBound(high, n, fence.high);
  if (at < n && high[at] == fence.high) {
    // Entries [at, end) share the high half: their low halves decide.
    size_t end = at + 1;
    while (end < n && high[end] == fence.high && end - at < 8) end++;
    if (end < n && high[end] == fence.high) {
      end = at + LowerBound(high + at, n - at, fence.high + 1);
      if (fence.high == UINT64_MAX) end = n;  // fence.high + 1 wrapped
    }
    at += LowerBound(index_fences_low_.data() + at, end - at, fence.low);
    // Entries before `at` are smaller than user_key; `at` is larger unless
    // its whole fence is equal, which decides nothing.
    if (at < end && index_fences_low_[at] == fence.low) return false;
  }
  *entry = at;
  return true;
}

Status Table::RebuildIndex(const Status& index_damage) {
  auto fail = [&](const Status& why) {
    if (!why.IsCorruption()) return why;
    return Corruption("index block damaged (" + Detail(index_damage) +
                      "); the index cannot be rebuilt: " + Detail(why));
  };
  std::shared_ptr<const SalvageData> salvage;
  Status s = LoadSalvage(&salvage);
  if (!s.ok()) return fail(s);
  // The last key of a block is a valid index key: >= every key of the block,
  // < every key of the next one.
  BlockBuilder builder(1);
  std::string encoded;
  for (const SalvageRecord& record : salvage->records()) {
    BlockContents contents;
    s = ReadVerifiedBlock(record.handle, &contents);
    if (!s.ok()) return fail(s);
    Block block(std::move(contents));
    std::unique_ptr<Iterator> it(
        block.NewIterator(options_.comparator, data_min_key_size_, file_name_));
    it->SeekToLast();
    if (!it->Valid()) {
      return fail(it->status().ok() ? Corruption("empty data block at offset " +
                                                 std::to_string(record.handle.offset()))
                                    : it->status());
    }
    if (it->key().size() < index_min_key_size_) return fail(Corruption("key too short"));
    encoded.clear();
    record.handle.EncodeTo(&encoded);
    builder.Add(it->key(), encoded);
  }
  index_block_ = std::make_unique<Block>(BlockContents::Copy(builder.Finish()));
  NoteDamage("index block damaged (" + Detail(index_damage) + "): rebuilt from its " +
             std::to_string(salvage->records().size()) + " data blocks");
  return Status::OK();
}

Status Table::LoadSalvage(std::shared_ptr<const SalvageData>* out) const {
  MutexLock lock(&salvage_mu_);
  if (salvage_ != nullptr) {
    *out = salvage_;
    return Status::OK();
  }
  if (!salvage_status_.ok()) return salvage_status_;
  if (!has_salvage_) {
    return Corruption(format_version_ >= 2 ? "no salvage data (the meta-index block is damaged)"
                                           : "no salvage data (a version 1 table)");
  }
  BlockContents contents;
  Status s = ReadVerifiedBlock(salvage_handle_, &contents);
  auto data = std::make_shared<SalvageData>();
  if (s.ok()) {
    s = SalvageData::Decode(contents.view(), data.get());
    if (!s.ok()) s = Corruption(std::string(s.message()));
  }
  if (s.ok() && data->data_end() != data_end_) {
    s = Corruption("salvage block does not describe the data blocks");
  }
  if (s.IsCorruption() && Detail(s).find("salvage block") == std::string::npos) {
    s = Corruption("salvage block: " + Detail(s));
  }
  if (!s.ok()) {
    if (s.IsCorruption()) salvage_status_ = s;
    return s;
  }
  salvage_ = data;
  *out = std::move(data);
  return Status::OK();
}

Status Table::VerifyMetadata() const {
  Status s = damage();
  if (!s.ok() || format_version_ < 2) return s;
  std::shared_ptr<const SalvageData> salvage;
  s = LoadSalvage(&salvage);
  if (!s.ok()) return s;
  const auto& records = salvage->records();
  std::unique_ptr<Iterator> it(
      index_block_->NewIterator(options_.comparator, index_min_key_size_, file_name_));
  size_t i = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), i++) {
    BlockHandle handle;
    if (!handle.DecodeExactly(it->value()) || i >= records.size() ||
        records[i].handle.offset() != handle.offset() ||
        records[i].handle.size() != handle.size()) {
      return Corruption("salvage block does not match index entry " + std::to_string(i));
    }
  }
  if (!it->status().ok()) return it->status();
  if (i != records.size()) return Corruption("salvage block lists more data blocks than the index");
  return Status::OK();
}

Status Table::Verify(uint64_t* num_entries) const {
  *num_entries = 0;
  Status s = VerifyMetadata();
  if (!s.ok()) return s;
  std::shared_ptr<const SalvageData> salvage;
  if (format_version_ >= 2) {
    s = LoadSalvage(&salvage);
    if (!s.ok()) return s;
  }
  std::unique_ptr<Iterator> index(
      index_block_->NewIterator(options_.comparator, index_min_key_size_, file_name_));
  for (index->SeekToFirst(); index->Valid(); index->Next()) {
    BlockHandle handle;
    if (!handle.DecodeExactly(index->value())) return Corruption("bad data block handle in index");
    const std::string where = "data block at offset " + std::to_string(handle.offset());
    BlockContents contents;
    s = ReadVerifiedBlock(handle, &contents);
    if (!s.ok()) return s;
    if (salvage != nullptr) {
      const SalvageRecord* record = salvage->Find(handle.offset());
      if (record == nullptr || !SalvageData::GroupsMatch(*record, contents.view())) {
        return Corruption(where + " does not match its salvage data");
      }
    }
    Block block(std::move(contents));
    std::unique_ptr<Iterator> it(
        block.NewIterator(options_.comparator, data_min_key_size_, file_name_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++*num_entries;
    if (!it->status().ok()) return Corruption(Detail(it->status()) + " (" + where + ")");
  }
  return index->status();
}

// Per-iterator state of sequential reading (see NewIterator).
struct Table::Readahead {
  static constexpr uint64_t kNone = UINT64_MAX;
  uint64_t last_offset = kNone;  // the data block opened last, [last_offset, last_end)
  uint64_t last_end = 0;
  int forward_run = 0;   // consecutive opens of the block right after the previous one
  int backward_run = 0;  // ... right before it
  std::unique_ptr<char[]> buffer;
  size_t capacity = 0;
  std::string_view window;  // file bytes [window_offset, + size), in buffer or the file's memory
  uint64_t window_offset = 0;

  void Note(uint64_t offset, uint64_t end) {
    forward_run = (last_offset != kNone && offset == last_end) ? forward_run + 1 : 0;
    backward_run = (last_offset != kNone && end == last_offset) ? backward_run + 1 : 0;
    last_offset = offset;
    last_end = end;
  }
  bool Sequential() const { return forward_run >= 2 || backward_run >= 2; }
};

Status Table::ReadAhead(Readahead* ra, const BlockHandle& handle, uint64_t end,
                        bool verify_checksums, BlockContents* contents) const {
  const uint64_t offset = handle.offset();
  const bool inside = !ra->window.empty() && offset >= ra->window_offset &&
                      end <= ra->window_offset + ra->window.size();
  if (!inside) {
    const uint64_t want = std::max<uint64_t>(kScanReadahead, end - offset);
    uint64_t start = offset;
    uint64_t limit = std::max(end, std::min(data_end_, offset + want));
    if (ra->backward_run >= 2) {  // reading backward: the window ends with this block
      start = end > want ? end - want : 0;
      limit = end;
    }
    const auto n = static_cast<size_t>(limit - start);
    if (ra->capacity < n) {
      ra->buffer.reset(new char[n]);
      ra->capacity = n;
    }
    ra->window = {};
    std::string_view result;
    Status s = file_->Read(start, n, &result, ra->buffer.get());
    BumpCounter(options_.counters, &TableCounters::bytes_read, result.size());
    if (!s.ok()) return s;
    ra->window = result;
    ra->window_offset = start;
  }
  BumpCounter(options_.counters, &TableCounters::block_reads);
  // A window cut short by the end of the file gives a short raw block:
  // DecodeBlock reports it as a truncated read.
  const uint64_t skip = offset - ra->window_offset;
  const std::string_view raw =
      skip >= ra->window.size() ? std::string_view() : ra->window.substr(skip, end - offset);
  return DecodeBlock(file_name_, handle, raw, verify_checksums, contents);
}

namespace {

void ReleaseCacheHandle(void* cache, void* handle) {
  static_cast<Cache*>(cache)->Release(static_cast<Cache::Handle*>(handle));
}
void DeleteBlock(void* block, void*) { delete static_cast<Block*>(block); }

}  // namespace

Iterator* Table::BlockIterator(bool verify_checksums, bool fill_cache, std::string_view index_value,
                               Readahead* readahead) const {
  BlockHandle handle;
  if (!handle.DecodeExactly(index_value)) {
    return NewTableErrorIterator(Corruption("bad data block handle in index"));
  }
  return BlockIterator(verify_checksums, fill_cache, handle, readahead);
}

Iterator* Table::BlockIterator(bool verify_checksums, bool fill_cache, const BlockHandle& handle,
                               Readahead* readahead) const {
  uint64_t end = 0;
  if (!BlockEnd(handle, &end) || end > data_end_) {
    return NewTableErrorIterator(Corruption("bad data block handle in index"));
  }
  if (readahead != nullptr) readahead->Note(handle.offset(), end);
  Cache* cache = options_.block_cache;
  char cache_key[16];
  EncodeFixed64(cache_key, cache_id_);
  EncodeFixed64(cache_key + 8, handle.offset());
  // The cache can hold a block of this table only if this table put one
  // there (the key starts with the table's own cache id); a mapped table
  // whose blocks are all uncompressed never does, and skips the lookup. A
  // stale false costs one read of a block that is in the cache.
  if (cache != nullptr && (!in_place_ || cached_blocks_.load(std::memory_order_relaxed))) {
    if (Cache::Handle* h = cache->Lookup(std::string_view(cache_key, sizeof(cache_key)))) {
      BumpCounter(options_.counters, &TableCounters::block_cache_hits);
      auto* block = static_cast<Block*>(cache->Value(h));
      return block->NewIterator(options_.comparator, data_min_key_size_, file_name_,
                                IteratorPin{&ReleaseCacheHandle, cache, h});
    }
    BumpCounter(options_.counters, &TableCounters::block_cache_misses);
  }

  BlockContents contents;
  Status s;
  if (readahead != nullptr && readahead->Sequential() && !in_place_) {
    s = ReadAhead(readahead, handle, end, verify_checksums, &contents);
  } else {
    uint64_t bytes = 0;
    s = ReadBlock(file_.get(), file_name_, handle, verify_checksums, &contents, &bytes, in_place_);
    BumpCounter(options_.counters, &TableCounters::block_reads);
    BumpCounter(options_.counters, &TableCounters::bytes_read, bytes);
  }
  if (!s.ok()) {
    // Only damage found by the checksum leads to salvage: without it the
    // groups could not be trusted either.
    if (s.IsCorruption() && verify_checksums && has_salvage_) {
      return SalvagedBlockIterator(handle, s);
    }
    return NewTableErrorIterator(std::move(s));
  }
  // A block read in place from a mapping (uncompressed) is used there and
  // never copied into the cache, by scans and point reads alike: the page
  // cache already holds it, and the copy, the cache insert and the eviction
  // it forces cost more than checking the block's checksum again on the next
  // read (docs/design.md, "Table files are read through memory mappings").
  // So the cache holds what is costly to rebuild: decompressed blocks and
  // blocks of files that are not mapped.
  const bool to_cache =
      cache != nullptr && fill_cache && verify_checksums && contents.external == nullptr;
  auto block = std::make_unique<Block>(std::move(contents));
  if (!block->status().ok()) {
    Status bad = Corruption(std::string(block->status().message()) + " (data block at offset " +
                            std::to_string(handle.offset()) + ")");
    if (verify_checksums && has_salvage_) return SalvagedBlockIterator(handle, bad);
    return NewTableErrorIterator(std::move(bad));
  }
  // Only verified blocks enter the cache, so that a later verifying reader
  // never gets an unverified block from it.
  if (to_cache) {
    cached_blocks_.store(true, std::memory_order_relaxed);
    const size_t charge = block->size();
    Block* cached = block.release();
    Cache::Handle* h = cache->Insert(std::string_view(cache_key, sizeof(cache_key)), cached, charge,
                                     &DeleteCachedBlock);
    return cached->NewIterator(options_.comparator, data_min_key_size_, file_name_,
                               IteratorPin{&ReleaseCacheHandle, cache, h});
  }
  Block* owned = block.release();
  return owned->NewIterator(options_.comparator, data_min_key_size_, file_name_,
                            IteratorPin{&DeleteBlock, owned, nullptr});
}

Iterator* Table::SalvagedBlockIterator(const BlockHandle& handle, const Status& damage) const {
  const std::string what = Detail(damage);
  std::shared_ptr<const SalvageData> salvage;
  Status s = LoadSalvage(&salvage);
  const SalvageRecord* record = nullptr;
  if (s.ok()) {
    record = salvage->Find(handle.offset());
    if (record == nullptr || record->handle.size() != handle.size()) {
      s = Corruption("no salvage record for the block");
    }
  }
  if (!s.ok()) return NewTableErrorIterator(Corruption(what + "; not salvaged: " + Detail(s)));
  // The block again, unchecked: its groups are checked one by one.
  const size_t n = static_cast<size_t>(handle.size()) + kBlockTrailerSize;
  std::unique_ptr<char[]> buffer(new char[n]);
  std::string_view raw;
  s = file_->Read(handle.offset(), n, &raw, buffer.get());
  BumpCounter(options_.counters, &TableCounters::block_reads);
  BumpCounter(options_.counters, &TableCounters::bytes_read, raw.size());
  if (!s.ok()) return NewTableErrorIterator(std::move(s));
  SalvagedBlock salvaged = SalvageBlock(*record, raw);
  BumpCounter(options_.counters, &TableCounters::blocks_salvaged);
  BumpCounter(options_.counters, &TableCounters::salvage_groups_lost, salvaged.groups_lost);
  const std::string lost = std::to_string(salvaged.groups_lost) + " of " +
                           std::to_string(salvaged.groups) + " entry groups lost";
  bool first_report = false;
  {
    MutexLock lock(&salvage_mu_);
    first_report = reported_blocks_.insert(handle.offset()).second;
  }
  if (first_report) Report(file_name_ + ": damaged data block salvaged: " + what + "; " + lost);
  return NewSalvagedBlockIterator(
      std::move(salvaged), options_.comparator, data_min_key_size_, file_name_,
      Corruption(what + "; salvaged with " + lost + ", the entry sought may be in one"));
}

Iterator* Table::NewIterator(const ReadOptions& options, IteratorPin pin) const {
  const bool verify = options.verify_checksums;
  const bool fill = options.fill_cache;
  auto readahead = std::make_shared<Readahead>();
  return NewTwoLevelIterator(
      index_block_->NewIterator(options_.comparator, index_min_key_size_, file_name_),
      [this, verify, fill, readahead](std::string_view index_value) {
        return BlockIterator(verify, fill, index_value, readahead.get());
      },
      pin);
}

Status Table::InternalGet(
    const ReadOptions& options, std::string_view internal_key,
    const std::function<void(std::string_view key, std::string_view value)>& on_found) const {
  if (internal_keys_ && internal_key.size() < 8) {
    return Status::InvalidArgument("internal key shorter than 8 bytes", EscapeBytes(internal_key));
  }
  if (!filter_.empty() || has_policy_filter_) {
    BumpCounter(options_.counters, &TableCounters::bloom_checks);
    if (!KeyMayMatch(internal_keys_ ? ExtractUserKey(internal_key) : internal_key)) {
      BumpCounter(options_.counters, &TableCounters::bloom_useful);
      return Status::OK();
    }
  }
  std::unique_ptr<Iterator> block;
  size_t entry = 0;
  if (!index_handles_.empty() &&
      FindByFences(internal_keys_ ? ExtractUserKey(internal_key) : internal_key, &entry)) {
    BumpCounter(options_.counters, &TableCounters::index_fence_hits);
    if (entry == index_handles_.size()) return Status::OK();  // after every block
    block.reset(BlockIterator(options.verify_checksums, options.fill_cache, index_handles_[entry],
                              nullptr));
  } else {
    if (!index_handles_.empty()) BumpCounter(options_.counters, &TableCounters::index_fence_ties);
    std::unique_ptr<Iterator> index(
        index_block_->NewIterator(options_.comparator, index_min_key_size_, file_name_));
    index->Seek(internal_key);
    if (!index->Valid()) return index->status();
    block.reset(
        BlockIterator(options.verify_checksums, options.fill_cache, index->value(), nullptr));
  }
  block->Seek(internal_key);
  if (block->Valid()) on_found(block->key(), block->value());
  return block->status();
}

uint64_t Table::ApproximateOffsetOf(std::string_view key) const {
  std::unique_ptr<Iterator> index(
      index_block_->NewIterator(options_.comparator, index_min_key_size_, file_name_));
  index->Seek(key);
  BlockHandle handle;
  if (index->Valid() && handle.DecodeExactly(index->value())) return handle.offset();
  return data_end_;
}

bool Table::KeyMayMatch(std::string_view user_key) const {
  if (has_policy_filter_) return options_.filter_policy->KeyMayMatch(user_key, policy_filter_);
  return filter_.KeyMayMatch(user_key);
}

}  // namespace lsmkv
