#include "admin/table_walker.h"

#include <algorithm>

#include "table/block.h"
#include "util/coding.h"

namespace lsmkv::tools {

namespace {

// Where a block with this handle ends, trailer included; false on overflow.
bool BlockEnd(const BlockHandle& handle, uint64_t* end) {
  const uint64_t limit = UINT64_MAX - kBlockTrailerSize;
  if (handle.offset() > limit || handle.size() > limit - handle.offset()) return false;
  *end = handle.offset() + handle.size() + kBlockTrailerSize;
  return true;
}

}  // namespace

// The message of s without a leading "<path>: " (messages of the block
// reader already name the file; the walker's own prefix names it once).
std::string TableWalker::Detail(const Status& s) const {
  std::string_view m = s.message();
  const std::string prefix = path_ + ": ";
  if (m.substr(0, prefix.size()) == prefix) m.remove_prefix(prefix.size());
  return std::string(m);
}

Status TableWalker::Open(Env* env, const std::string& path) {
  path_ = path;
  blocks_.clear();
  bounds_.clear();
  meta_blocks_.clear();
  footer_damage_ = Status::OK();
  index_damage_ = Status::OK();
  metaindex_read_ = false;
  data_end_ = 0;
  salvage_.reset();
  salvage_status_ = Status::NotFound(path, "salvage block not read");
  properties_ = TableProperties();
  properties_status_ = Status::NotFound("properties not read");
  Status s = env->GetFileSize(path, &file_size_);
  if (!s.ok()) return s;
  s = env->NewRandomAccessFile(path, &file_);
  if (!s.ok()) return s;
  TableFooter found;
  s = ReadTableFooter(file_.get(), file_size_, &found);
  if (!s.ok()) {
    return s.IsCorruption() ? Status::Corruption(path, "footer: " + std::string(s.message())) : s;
  }
  footer_ = found.footer;
  footer_start_ = found.footer_start;
  if (!found.damage.empty()) footer_damage_ = Status::Corruption(path, found.damage);
  const Status index_status = ReadIndex();
  if (!index_status.ok() && !index_status.IsCorruption()) return index_status;
  ReadProperties();
  LoadSalvage();
  if (index_status.ok()) {
    for (const DataBlock& b : blocks_) bounds_.push_back(b.separator);
    return Status::OK();
  }
  blocks_.clear();
  if (salvage_ == nullptr) {
    if (footer_.version() < 2) return index_status;
    if (!salvage_status_.IsCorruption() && !salvage_status_.IsNotFound()) return salvage_status_;
    return Status::Corruption(path_, Detail(index_status) +
                                         "; the data blocks cannot be located through the "
                                         "salvage block either: " +
                                         Detail(salvage_status_));
  }
  return LocateThroughSalvage(index_status);
}

void TableWalker::LoadSalvage() {
  salvage_.reset();
  if (footer_.version() < 2) {
    salvage_status_ = Status::NotFound(path_, "has no salvage block (format version 1)");
    return;
  }
  if (!metaindex_read_) {
    salvage_status_ =
        Status::Corruption(path_, "salvage block cannot be located: " + Detail(properties_status_));
    return;
  }
  auto data = std::make_shared<SalvageData>();
  Status s = ReadSalvageData(data.get());
  if (s.ok() && data->data_end() != data_end_) {
    s = Status::Corruption(path_,
                           "salvage block does not describe the data blocks (it says they end at " +
                               std::to_string(data->data_end()) + ", the meta blocks start at " +
                               std::to_string(data_end_) + ")");
  }
  salvage_status_ = s;
  if (s.ok()) salvage_ = std::move(data);
}

Status TableWalker::LocateThroughSalvage(const Status& why) {
  blocks_.clear();
  bounds_.clear();
  for (const SalvageRecord& r : salvage_->records()) {
    blocks_.push_back(DataBlock{std::string(), r.handle});
  }
  bounds_.resize(blocks_.size());
  index_damage_ =
      Status::Corruption(path_, Detail(why) + " (the " + std::to_string(blocks_.size()) +
                                    " data blocks were located through the salvage block)");
  // Each block's last key becomes its separator, as Table::Open does when it
  // rebuilds an index; a damaged block gives it when its last group is intact.
  std::vector<Entry> entries;
  for (size_t i = 0; i < blocks_.size(); i++) {
    entries.clear();
    Status s = ReadDataBlock(i, &entries);
    if (s.ok()) {
      if (!entries.empty()) blocks_[i].separator = entries.back().key;
    } else if (s.IsCorruption()) {
      BlockSalvage salvage;
      s = SalvageDataBlock(i, &salvage);
      if (!s.ok() && !s.IsCorruption() && !s.IsNotFound()) return s;
      if (s.ok() && !salvage.entries.empty()) {
        if (salvage.groups.back().intact) {
          blocks_[i].separator = salvage.entries.back().key;
        } else {
          bounds_[i] = salvage.entries.back().key;
        }
      }
    } else {
      return s;
    }
    if (!blocks_[i].separator.empty()) bounds_[i] = blocks_[i].separator;
  }
  return Status::OK();
}

Status TableWalker::ReadIndex() {
  const BlockHandle& index_handle = footer_.index_handle();
  uint64_t index_end = 0;
  if (!BlockEnd(index_handle, &index_end) || index_end > footer_start_) {
    return Status::Corruption(path_, "index block handle points outside the file");
  }
  BlockContents contents;
  Status s = ReadBlock(file_.get(), path_, index_handle, /*verify_checksum=*/true, &contents);
  if (!s.ok()) return s.IsCorruption() ? Status::Corruption(path_, "index block: " + Detail(s)) : s;
  Block index(std::move(contents));
  if (!index.status().ok()) {
    return Status::Corruption(path_, "index block: " + Detail(index.status()));
  }
  std::unique_ptr<Iterator> it(index.NewIterator(icmp_, 8, path_));
  uint64_t expected_offset = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    DataBlock block;
    uint64_t end = 0;
    const std::string where = "index entry " + std::to_string(blocks_.size());
    if (!block.handle.DecodeExactly(it->value()) || !BlockEnd(block.handle, &end) ||
        end > index_handle.offset()) {
      return Status::Corruption(path_, where + ": bad data block handle");
    }
    if (block.handle.offset() != expected_offset) {
      return Status::Corruption(path_, where + ": data blocks are not back to back");
    }
    if (!blocks_.empty() && icmp_->Compare(blocks_.back().separator, it->key()) >= 0) {
      return Status::Corruption(path_, where + ": index keys out of order");
    }
    block.separator.assign(it->key().data(), it->key().size());
    blocks_.push_back(std::move(block));
    expected_offset = end;
  }
  if (!it->status().ok()) {
    return Status::Corruption(path_, "index block: " + Detail(it->status()));
  }
  return Status::OK();
}

void TableWalker::ReadProperties() {
  const BlockHandle& meta_handle = footer_.metaindex_handle();
  uint64_t meta_end = 0;
  if (!BlockEnd(meta_handle, &meta_end) || meta_end > footer_.index_handle().offset()) {
    properties_status_ = Status::Corruption(path_, "meta-index block handle out of range");
    return;
  }
  BlockContents contents;
  Status s = ReadBlock(file_.get(), path_, meta_handle, true, &contents);
  if (!s.ok()) {
    properties_status_ = s;
    return;
  }
  Block metaindex(std::move(contents));
  std::unique_ptr<Iterator> it(metaindex.NewIterator(BytewiseComparator(), 0, path_));
  BlockHandle handle;
  bool found = false;
  // The data blocks end where the first meta block starts.
  uint64_t data_end = meta_handle.offset();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    BlockHandle h;
    uint64_t end = 0;
    const bool usable =
        h.DecodeExactly(it->value()) && BlockEnd(h, &end) && end <= meta_handle.offset();
    if (usable) meta_blocks_.push_back(MetaBlock{std::string(it->key()), h});
    if (it->key() == kPropertiesBlockName) {
      found = usable;
      handle = h;
    }
    if (usable && (it->key() == kPropertiesBlockName || it->key().starts_with("filter.") ||
                   it->key() == kSalvageBlockName)) {
      data_end = std::min(data_end, h.offset());
    }
  }
  if (!it->status().ok()) {
    properties_status_ = it->status();
    return;
  }
  metaindex_read_ = true;
  data_end_ = data_end;
  if (!found) {
    properties_status_ = Status::Corruption(path_, "no usable properties block handle");
    return;
  }
  s = ReadBlock(file_.get(), path_, handle, true, &contents);
  if (s.ok()) s = TableProperties::Decode(contents.view(), &properties_);
  if (!s.ok()) {
    properties_ = TableProperties();
    properties_status_ = Status::Corruption(path_, "properties block: " + Detail(s));
    return;
  }
  properties_status_ = Status::OK();
}

Status TableWalker::ReadSalvageData(SalvageData* out) const {
  for (const MetaBlock& m : meta_blocks_) {
    if (m.name != kSalvageBlockName) continue;
    BlockContents contents;
    Status s = ReadBlock(file_.get(), path_, m.handle, /*verify_checksum=*/true, &contents);
    if (s.ok()) s = SalvageData::Decode(contents.view(), out);
    if (!s.ok() && s.IsCorruption())
      return Status::Corruption(path_, "salvage block: " + Detail(s));
    return s;
  }
  return Status::NotFound(path_, "has no salvage block");
}

const std::string* TableWalker::LowerBound(size_t i) const {
  while (i-- > 0) {
    if (!bounds_[i].empty()) return &bounds_[i];
  }
  return nullptr;
}

Status TableWalker::DecodeEntries(size_t i, const Block& block, std::string* previous,
                                  std::vector<Entry>* out) const {
  if (!block.status().ok()) return Status::Corruption(Detail(block.status()));
  const std::string* lower = LowerBound(i);
  const std::string& upper = blocks_[i].separator;
  std::unique_ptr<Iterator> it(block.NewIterator(icmp_, 8, path_));
  size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), n++) {
    const std::string entry = "entry " + std::to_string(n);
    ParsedInternalKey parsed;
    if (!ParseInternalKey(it->key(), &parsed)) {
      return Status::Corruption(entry + " is not a valid internal key");
    }
    if (!previous->empty() && icmp_->Compare(*previous, it->key()) >= 0) {
      return Status::Corruption("keys out of order at " + entry);
    }
    if ((!upper.empty() && icmp_->Compare(it->key(), upper) > 0) ||
        (lower != nullptr && icmp_->Compare(it->key(), *lower) <= 0)) {
      return Status::Corruption(entry + " lies outside the block's index range");
    }
    previous->assign(it->key().data(), it->key().size());
    out->push_back(Entry{*previous, std::string(it->value())});
  }
  if (!it->status().ok()) return Status::Corruption(Detail(it->status()));
  return Status::OK();
}

Status TableWalker::ReadDataBlock(size_t i, std::vector<Entry>* entries) const {
  const DataBlock& block = blocks_[i];
  const std::string where = "data block " + std::to_string(i);
  const std::string where_at = where + " at offset " + std::to_string(block.handle.offset());
  BlockContents contents;
  Status s = ReadBlock(file_.get(), path_, block.handle, /*verify_checksum=*/true, &contents);
  if (!s.ok()) {
    if (!s.IsCorruption()) return s;
    return Status::Corruption(path_, where + ": " + Detail(s));
  }
  Block data(std::move(contents));
  std::vector<Entry> found;
  std::string previous;
  s = DecodeEntries(i, data, &previous, &found);
  if (!s.ok()) return Status::Corruption(path_, where_at + ": " + std::string(s.message()));
  for (Entry& e : found) entries->push_back(std::move(e));
  return Status::OK();
}

Status TableWalker::SalvageDataBlock(size_t i, BlockSalvage* out) const {
  *out = BlockSalvage();
  const DataBlock& block = blocks_[i];
  const std::string where_at =
      "data block " + std::to_string(i) + " at offset " + std::to_string(block.handle.offset());
  if (salvage_ == nullptr) return salvage_status_;
  const SalvageRecord* record = salvage_->Find(block.handle.offset());
  if (record == nullptr || record->handle.size() != block.handle.size()) {
    return Status::Corruption(path_, where_at + ": the salvage block has no record of it");
  }
  // The block's bytes again, unchecked: its groups are checked one by one.
  const size_t n = static_cast<size_t>(block.handle.size()) + kBlockTrailerSize;
  std::unique_ptr<char[]> scratch(new char[n]);
  std::string_view raw;
  Status s = file_->Read(block.handle.offset(), n, &raw, scratch.get());
  if (!s.ok()) return s;
  const CheckedGroups checked = CheckGroups(*record, raw);
  std::string previous;
  for (size_t g = 0; g < record->groups.size(); g++) {
    Group group;
    group.length = record->groups[g].length;
    const std::string_view bytes = checked.intact[g];
    if (bytes.empty()) {
      group.why_lost =
          checked.status.ok() ? "checksum mismatch" : std::string(checked.status.message());
    } else {
      // The group on its own: a block with one restart point.
      std::string contents(bytes);
      PutFixed32(&contents, 0);
      PutFixed32(&contents, 1);
      const Block one(BlockContents::Copy(contents));
      std::vector<Entry> found;
      std::string last = previous;
      s = DecodeEntries(i, one, &last, &found);
      if (s.ok() && found.empty()) s = Status::Corruption("no entries");
      if (s.ok()) {
        group.intact = true;
        group.first_entry = out->entries.size();
        group.num_entries = found.size();
        for (Entry& e : found) out->entries.push_back(std::move(e));
        previous = std::move(last);
      } else {
        group.why_lost = std::string(s.message());
      }
    }
    if (!group.intact) {
      out->groups_lost++;
      out->bytes_lost += group.length;
    }
    out->groups.push_back(std::move(group));
  }
  return Status::OK();
}

}  // namespace lsmkv::tools
