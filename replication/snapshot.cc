#include "replication/snapshot.h"

#include <memory>
#include <set>

#include "env/env_util.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace lsmkv::replication {

bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

std::string EncodeSnapshotDescriptor(const SnapshotDescriptor& d) {
  std::string out;
  out.push_back(static_cast<char>(kSnapshotVersion));
  PutVarint64(&out, d.index);
  PutVarint64(&out, d.server);
  PutLengthPrefixed(&out, d.checkpoint);
  PutVarint32(&out, static_cast<uint32_t>(d.files.size()));
  for (const SnapshotFile& f : d.files) {
    PutLengthPrefixed(&out, f.name);
    PutVarint64(&out, f.size);
    PutFixed32(&out, f.crc);
  }
  PutFixed32(&out, crc32c::Mask(crc32c::Value(out.data(), out.size())));
  return out;
}

Status DecodeSnapshotDescriptor(std::string_view data, SnapshotDescriptor* d) {
  auto bad = [](const std::string& what) {
    return Status::Corruption("snapshot descriptor: " + what);
  };
  if (data.size() < 1 + 4) return bad("too short");
  const size_t body = data.size() - 4;
  if (crc32c::Unmask(DecodeFixed32(data.data() + body)) != crc32c::Value(data.data(), body)) {
    return bad("checksum mismatch");
  }
  const auto version = static_cast<unsigned char>(data[0]);
  if (version == 0) return bad("format version 0");
  if (version > kSnapshotVersion) {
    return Status::NotSupported("snapshot descriptor: format version " + std::to_string(version) +
                                " is newer than this build's " + std::to_string(kSnapshotVersion));
  }
  std::string_view in = data.substr(1, body - 1);
  SnapshotDescriptor out;
  std::string_view checkpoint;
  uint32_t count = 0;
  if (!GetVarint64(&in, &out.index) || !GetVarint64(&in, &out.server) ||
      !GetLengthPrefixed(&in, &checkpoint) || !GetVarint32(&in, &count)) {
    return bad("truncated header");
  }
  if (!IsPlainFileName(checkpoint)) return bad("checkpoint name is not a plain name");
  out.checkpoint = checkpoint;
  if (count > 100000) return bad(std::to_string(count) + " files");
  std::set<std::string_view> seen;
  for (uint32_t i = 0; i < count; i++) {
    std::string_view name;
    SnapshotFile f;
    if (!GetLengthPrefixed(&in, &name) || !GetVarint64(&in, &f.size) || !GetFixed32(&in, &f.crc)) {
      return bad("truncated file list");
    }
    if (!IsPlainFileName(name)) return bad("file name is not a plain name");
    if (!seen.insert(name).second) return bad("file " + std::string(name) + " listed twice");
    f.name = name;
    out.files.push_back(std::move(f));
  }
  if (!in.empty()) return bad(std::to_string(in.size()) + " trailing bytes");
  *d = std::move(out);
  return Status::OK();
}

Status FileChecksum(Env* env, const std::string& path, uint64_t* size, uint32_t* crc) {
  std::unique_ptr<SequentialFile> file;
  Status s = env->NewSequentialFile(path, &file);
  if (!s.ok()) return s;
  std::string scratch(1 << 16, '\0');
  uint32_t c = 0;
  uint64_t n = 0;
  for (;;) {
    std::string_view chunk;
    s = file->Read(scratch.size(), &chunk, scratch.data());
    if (!s.ok()) return s;
    if (chunk.empty()) break;
    c = crc32c::Extend(c, chunk.data(), chunk.size());
    n += chunk.size();
  }
  *size = n;
  *crc = c;
  return Status::OK();
}

Status DirectorySource::Fetch(uint64_t server, const std::string& checkpoint,
                              const std::string& name, Env* env, const std::string& dest) {
  auto it = roots_.find(server);
  if (it == roots_.end()) {
    return Status::NotFound("snapshot source: no server " + std::to_string(server));
  }
  if (!IsPlainFileName(checkpoint) || !IsPlainFileName(name)) {
    return Status::InvalidArgument("snapshot source: not a plain name");
  }
  return CopyFile(env, it->second + "/checkpoints/" + checkpoint + "/" + name, dest, UINT64_MAX);
}

}  // namespace lsmkv::replication
