#include "admin/manifest_reader.h"

#include <algorithm>
#include <memory>

#include "wal/log_reader.h"

namespace lsmkv::tools {

namespace {

class DamageCollector : public log::Reader::Reporter {
 public:
  DamageCollector(ManifestContents* out, const ManifestVisitor* visitor)
      : out_(out), visitor_(visitor) {}
  void Corruption(uint64_t offset, size_t bytes, const Status& reason) override {
    Add(reason.ToString() + " (" + std::to_string(bytes) + " bytes dropped at offset " +
        std::to_string(offset) + ")");
  }
  void Add(const std::string& line) {
    out_->damage.push_back(line);
    if (visitor_ != nullptr && visitor_->on_damage) visitor_->on_damage(line);
  }

 private:
  ManifestContents* out_;
  const ManifestVisitor* visitor_;
};

void Apply(const VersionEdit& edit, ManifestContents* out) {
  if (edit.has_comparator_name()) {
    out->has_comparator = true;
    out->comparator = edit.comparator_name();
  }
  if (edit.has_log_number()) {
    out->has_log_number = true;
    out->log_number = edit.log_number();
  }
  if (edit.has_next_file_number()) {
    out->has_next_file_number = true;
    out->next_file_number = edit.next_file_number();
  }
  if (edit.has_last_sequence()) {
    out->has_last_sequence = true;
    out->last_sequence = edit.last_sequence();
  }
  for (const auto& [level, number] : edit.deleted_files()) {
    auto it = out->live.find(number);
    if (it != out->live.end() && it->second.level == level) out->live.erase(it);
  }
  for (const auto& [level, meta] : edit.new_files()) {
    out->live[meta.number] = ManifestContents::LiveFile{level, meta};
    out->ever_added[meta.number] = meta;
  }
  for (SequenceNumber seq : edit.removed_range_tombstones()) out->range_tombstones.erase(seq);
  for (const RangeTombstoneRecord& r : edit.put_range_tombstones()) {
    out->range_tombstones[r.tombstone.seq] = r.tombstone;
  }
}

}  // namespace

Status ReadManifest(Env* env, const std::string& path, uint64_t number, ManifestContents* out,
                    const ManifestVisitor* visitor, const Comparator* ucmp) {
  *out = ManifestContents();
  out->path = path;
  out->number = number;
  std::unique_ptr<SequentialFile> file;
  Status s = env->NewSequentialFile(path, &file);
  if (!s.ok()) return s;
  DamageCollector damage(out, visitor);
  log::Reader reader(file.get(), &damage, /*verify_checksums=*/true, number, path);
  std::string record;
  while (reader.ReadRecord(&record)) {
    VersionEdit edit;
    s = edit.DecodeFrom(record, ucmp);
    if (!s.ok()) {
      damage.Add(path + ": record at offset " + std::to_string(reader.LastRecordOffset()) +
                 " is not a valid edit: " + s.ToString());
      continue;
    }
    if (visitor != nullptr && visitor->on_edit) visitor->on_edit(reader.LastRecordOffset(), edit);
    Apply(edit, out);
    out->edits++;
  }
  if (!reader.status().ok()) return reader.status();
  out->torn_tail = reader.TornTail();
  out->torn_tail_bytes = reader.TornTailBytes();
  if (!out->Complete()) {
    damage.Add(path + ": no comparator, log number, next file number or last sequence after " +
               std::to_string(out->edits) + " edits (the snapshot edit is missing or damaged)");
  }
  return Status::OK();
}

std::vector<std::string> CheckLevels(const ManifestContents& contents,
                                     const InternalKeyComparator& icmp) {
  std::vector<std::string> problems;
  std::vector<const FileMetaData*> levels[kNumLevels];
  for (const auto& [number, live] : contents.live) levels[live.level].push_back(&live.meta);
  for (int level = 1; level < kNumLevels; level++) {
    std::vector<const FileMetaData*>& files = levels[level];
    std::sort(files.begin(), files.end(), [&icmp](const FileMetaData* a, const FileMetaData* b) {
      return icmp.Compare(a->smallest, b->smallest) < 0;
    });
    for (size_t i = 1; i < files.size(); i++) {
      if (icmp.Compare(files[i - 1]->largest, files[i]->smallest) >= 0) {
        problems.push_back(contents.path + ": tables " + std::to_string(files[i - 1]->number) +
                           " and " + std::to_string(files[i]->number) + " overlap in level " +
                           std::to_string(level));
      }
    }
  }
  return problems;
}

}  // namespace lsmkv::tools
