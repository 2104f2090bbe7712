#include "table/salvage.h"

#include <algorithm>

#include "util/check.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace lsmkv {

namespace {

uint32_t GroupChecksum(std::string_view bytes) {
  return crc32c::Mask(crc32c::Value(bytes.data(), bytes.size()));
}

// The restart offsets and the end of the entries of a block's contents;
// false if its restart array is malformed.
bool RestartArray(std::string_view contents, std::vector<uint32_t>* restarts, size_t* entries_end) {
  if (contents.size() < 4) return false;
  const uint32_t count = DecodeFixed32(contents.data() + contents.size() - 4);
  if (count == 0 || count > (contents.size() - 4) / 4) return false;
  *entries_end = contents.size() - 4 * (size_t{count} + 1);
  restarts->clear();
  for (uint32_t i = 0; i < count; i++) {
    restarts->push_back(DecodeFixed32(contents.data() + *entries_end + 4 * size_t{i}));
  }
  return true;
}

// The key of the first entry of an entry group (which must store its whole
// key: shared == 0); false if it does not decode inside the group.
bool FirstKey(std::string_view group, std::string_view* key) {
  const char* p = group.data();
  const char* limit = p + group.size();
  uint32_t shared = 0, non_shared = 0, value_length = 0;
  if ((p = GetVarint32Ptr(p, limit, &shared)) == nullptr) return false;
  if ((p = GetVarint32Ptr(p, limit, &non_shared)) == nullptr) return false;
  if ((p = GetVarint32Ptr(p, limit, &value_length)) == nullptr) return false;
  if (shared != 0 || uint64_t{non_shared} + value_length > static_cast<uint64_t>(limit - p)) {
    return false;
  }
  *key = std::string_view(p, non_shared);
  return true;
}

}  // namespace

void SalvageBuilder::AddDataBlock(const BlockHandle& handle, CompressionType type,
                                  std::string_view raw) {
  std::vector<uint32_t> restarts;
  size_t entries_end = 0;
  const bool ok = RestartArray(raw, &restarts, &entries_end);
  DCHECK(ok);
  if (!ok) return;
  handle.EncodeTo(&records_);
  records_.push_back(static_cast<char>(type));
  PutVarint32(&records_, static_cast<uint32_t>(restarts.size()));
  for (size_t i = 0; i < restarts.size(); i++) {
    const size_t end = i + 1 < restarts.size() ? restarts[i + 1] : entries_end;
    const std::string_view group = raw.substr(restarts[i], end - restarts[i]);
    PutVarint32(&records_, static_cast<uint32_t>(group.size()));
    PutFixed32(&records_, GroupChecksum(group));
  }
  count_++;
}

std::string SalvageBuilder::Finish() const {
  std::string out;
  PutVarint64(&out, count_);
  out.append(records_);
  return out;
}

Status SalvageData::Decode(std::string_view input, SalvageData* out) {
  auto bad = [](const std::string& what) {
    return Status::Corruption("bad salvage block: " + what);
  };
  uint64_t count = 0;
  if (!GetVarint64(&input, &count)) return bad("no record count");
  // A record takes at least 9 bytes (two handle varints, type, group count, one group).
  if (count > input.size() / 9) return bad("record count " + std::to_string(count) + " too large");
  SalvageData data;
  data.records_.reserve(static_cast<size_t>(count));
  uint64_t expected_offset = 0;
  for (uint64_t i = 0; i < count; i++) {
    const std::string where = "record " + std::to_string(i);
    SalvageRecord r;
    uint32_t groups = 0;
    if (!r.handle.DecodeFrom(&input) || input.empty()) return bad(where + " does not decode");
    const auto type = static_cast<unsigned char>(input[0]);
    input.remove_prefix(1);
    if (!IsKnownCompression(type)) return bad(where + ": unknown compression type");
    r.type = static_cast<CompressionType>(type);
    if (!GetVarint32(&input, &groups) || groups == 0 || groups > input.size() / 5) {
      return bad(where + ": bad group count");
    }
    const uint64_t limit = UINT64_MAX - kBlockTrailerSize;
    if (r.handle.offset() != expected_offset || r.handle.size() > limit - r.handle.offset()) {
      return bad(where + ": data blocks not back to back");
    }
    expected_offset = r.handle.offset() + r.handle.size() + kBlockTrailerSize;
    uint64_t total = 0;
    r.groups.resize(groups);
    for (SalvageGroup& g : r.groups) {
      if (!GetVarint32(&input, &g.length) || input.size() < 4 || g.length == 0) {
        return bad(where + ": bad group");
      }
      g.masked_crc = DecodeFixed32(input.data());
      input.remove_prefix(4);
      total += g.length;
    }
    if (r.type == CompressionType::kNone && total + 4 * (uint64_t{groups} + 1) != r.handle.size()) {
      return bad(where + ": groups do not fill the block");
    }
    data.records_.push_back(std::move(r));
  }
  if (!input.empty()) return bad("trailing bytes");
  data.data_end_ = expected_offset;
  *out = std::move(data);
  return Status::OK();
}

const SalvageRecord* SalvageData::Find(uint64_t offset) const {
  auto it =
      std::lower_bound(records_.begin(), records_.end(), offset,
                       [](const SalvageRecord& r, uint64_t o) { return r.handle.offset() < o; });
  if (it == records_.end() || it->handle.offset() != offset) return nullptr;
  return &*it;
}

bool SalvageData::GroupsMatch(const SalvageRecord& record, std::string_view contents) {
  std::vector<uint32_t> restarts;
  size_t entries_end = 0;
  if (!RestartArray(contents, &restarts, &entries_end) || restarts.size() != record.groups.size()) {
    return false;
  }
  size_t pos = 0;
  for (size_t i = 0; i < restarts.size(); i++) {
    const SalvageGroup& g = record.groups[i];
    if (restarts[i] != pos || g.length > entries_end - pos ||
        GroupChecksum(contents.substr(pos, g.length)) != g.masked_crc) {
      return false;
    }
    pos += g.length;
  }
  return pos == entries_end;
}

CheckedGroups CheckGroups(const SalvageRecord& record, std::string_view raw) {
  CheckedGroups out;
  out.intact.resize(record.groups.size());
  std::string_view contents;
  const std::string_view stored = raw.substr(0, std::min<size_t>(raw.size(), record.handle.size()));
  if (stored.size() != record.handle.size()) {
    out.status =
        Status::Corruption("block shorter than its handle (" + std::to_string(stored.size()) +
                           " of " + std::to_string(record.handle.size()) + " bytes)");
  } else if (record.type == CompressionType::kNone) {
    contents = stored;
  } else {
    out.status = UncompressBlock(record.type, stored, &out.uncompressed);
    if (out.status.ok()) contents = out.uncompressed.view();
  }
  uint64_t total = 0;
  for (const SalvageGroup& g : record.groups) total += g.length;
  if (out.status.ok() && contents.size() < total) {
    out.status = Status::Corruption("contents shorter than their entry groups");
  }
  if (!out.status.ok()) return out;
  size_t pos = 0;
  for (size_t i = 0; i < record.groups.size(); i++) {
    const SalvageGroup& g = record.groups[i];
    const std::string_view group = contents.substr(pos, g.length);
    std::string_view key;
    if (GroupChecksum(group) == g.masked_crc && FirstKey(group, &key)) out.intact[i] = group;
    pos += g.length;
  }
  return out;
}

SalvagedBlock SalvageBlock(const SalvageRecord& record, std::string_view raw) {
  const CheckedGroups checked = CheckGroups(record, raw);
  SalvagedBlock out;
  out.groups = record.groups.size();
  std::string bytes;
  std::vector<uint32_t> restarts;
  bool previous_lost = false;
  for (const std::string_view group : checked.intact) {
    if (group.empty()) {
      out.groups_lost++;
      previous_lost = true;
      continue;
    }
    if (previous_lost) {
      std::string_view key;
      FirstKey(group, &key);  // checked by CheckGroups
      out.keys_after_gap.emplace_back(key);
    }
    restarts.push_back(static_cast<uint32_t>(bytes.size()));
    bytes.append(group.data(), group.size());
    previous_lost = false;
  }
  out.lost_tail = previous_lost;
  if (restarts.empty()) restarts.push_back(0);
  for (uint32_t r : restarts) PutFixed32(&bytes, r);
  PutFixed32(&bytes, static_cast<uint32_t>(restarts.size()));
  out.block = std::make_unique<Block>(BlockContents::Copy(bytes));
  return out;
}

namespace {

class SalvagedIterator final : public Iterator {
 public:
  SalvagedIterator(SalvagedBlock salvaged, const Comparator* comparator, size_t min_key_size,
                   std::string_view error_context, Status gap_error)
      : salvaged_(std::move(salvaged)),
        comparator_(comparator),
        inner_(salvaged_.block->NewIterator(comparator, min_key_size, error_context)),
        gap_error_(std::move(gap_error)) {}

  bool Valid() const override { return status_.ok() && inner_->Valid(); }
  std::string_view key() const override { return inner_->key(); }
  std::string_view value() const override { return inner_->value(); }
  Status status() const override { return status_.ok() ? inner_->status() : status_; }

  void SeekToFirst() override {
    status_ = Status::OK();
    inner_->SeekToFirst();
    ArrivedForward();
  }
  void Seek(std::string_view target) override {
    status_ = Status::OK();
    inner_->Seek(target);
    ArrivedForward();
  }
  void Next() override {
    DCHECK(Valid());
    inner_->Next();
    ArrivedForward();
  }
  void SeekToLast() override {
    status_ = Status::OK();
    if (salvaged_.lost_tail) {
      status_ = gap_error_;
      return;
    }
    inner_->SeekToLast();
  }
  void Prev() override {
    DCHECK(Valid());
    // The entry before the first one after a gap may be in the gap.
    if (GapBefore(inner_->key())) {
      status_ = gap_error_;
      return;
    }
    inner_->Prev();
  }
  void SeekForPrev(std::string_view target) override {
    Seek(target);
    if (!status_.ok() || !inner_->status().ok()) return;
    if (inner_->Valid()) {
      if (comparator_->Compare(inner_->key(), target) > 0) Prev();
    } else {
      SeekToLast();  // every entry is < target, and the last group is intact
    }
  }

 private:
  bool GapBefore(std::string_view key) const {
    for (const std::string& k : salvaged_.keys_after_gap) {
      if (k == key) return true;
    }
    return false;
  }

  // After a forward move: the entry reached may have been preceded by a lost
  // one, and the end of the intact entries may not be the end of the block.
  void ArrivedForward() {
    if (inner_->Valid()) {
      if (GapBefore(inner_->key())) status_ = gap_error_;
    } else if (inner_->status().ok() && salvaged_.lost_tail) {
      status_ = gap_error_;
    }
  }

  SalvagedBlock salvaged_;  // declared before inner_, which reads its block
  const Comparator* const comparator_;
  const std::unique_ptr<Iterator> inner_;
  const Status gap_error_;
  Status status_;
};

}  // namespace

Iterator* NewSalvagedBlockIterator(SalvagedBlock salvaged, const Comparator* comparator,
                                   size_t min_key_size, std::string_view error_context,
                                   Status gap_error) {
  return new SalvagedIterator(std::move(salvaged), comparator, min_key_size, error_context,
                              std::move(gap_error));
}

}  // namespace lsmkv
