#include "tools/table_walker.h"

#include "table/block.h"

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
  meta_blocks_.clear();
  footer_damage_ = Status::OK();
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
  s = ReadIndex();
  if (!s.ok()) return s;
  ReadProperties();
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
  }
  if (!it->status().ok()) {
    properties_status_ = it->status();
    return;
  }
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
    if (!s.ok() && s.IsCorruption()) return Status::Corruption(path_, "salvage block: " + Detail(s));
    return s;
  }
  return Status::NotFound(path_, "has no salvage block");
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
  if (!data.status().ok()) {
    return Status::Corruption(path_, where_at + ": " + Detail(data.status()));
  }
  std::vector<Entry> found;
  std::unique_ptr<Iterator> it(data.NewIterator(icmp_, 8, path_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ParsedInternalKey parsed;
    if (!ParseInternalKey(it->key(), &parsed)) {
      return Status::Corruption(path_, where_at + ": entry " + std::to_string(found.size()) +
                                           " is not a valid internal key");
    }
    if (!found.empty() && icmp_->Compare(found.back().key, it->key()) >= 0) {
      return Status::Corruption(
          path_, where_at + ": keys out of order at entry " + std::to_string(found.size()));
    }
    if (icmp_->Compare(it->key(), block.separator) > 0 ||
        (i > 0 && icmp_->Compare(it->key(), blocks_[i - 1].separator) <= 0)) {
      return Status::Corruption(path_, where_at + ": entry " + std::to_string(found.size()) +
                                           " lies outside the block's index range");
    }
    found.push_back(Entry{std::string(it->key()), std::string(it->value())});
  }
  if (!it->status().ok()) {
    return Status::Corruption(path_, where_at + ": " + Detail(it->status()));
  }
  for (Entry& e : found) entries->push_back(std::move(e));
  return Status::OK();
}

}  // namespace lsmkv::tools
