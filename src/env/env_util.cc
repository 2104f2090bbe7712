// Helpers declared at the end of lsmkv/env.h and in env/env_util.h.
#include "env/env_util.h"

#include <memory>

#include "util/check.h"

namespace lsmkv {

Status WriteStringToFile(Env* env, std::string_view data, const std::string& fname, bool sync) {
  std::unique_ptr<WritableFile> file;
  Status s = env->NewWritableFile(fname, &file);
  if (!s.ok()) return s;
  s = file->Append(data);
  if (s.ok() && sync) s = file->Sync();
  if (s.ok()) s = file->Close();
  if (!s.ok()) {
    file.reset();  // Close (best effort) before removing.
    env->RemoveFile(fname).PermitUncheckedError();
  }
  return s;
}

Status ReadFileToString(Env* env, const std::string& fname, std::string* data) {
  data->clear();
  std::unique_ptr<SequentialFile> file;
  Status s = env->NewSequentialFile(fname, &file);
  if (!s.ok()) return s;
  constexpr size_t kChunk = 64 * 1024;
  std::unique_ptr<char[]> scratch(new char[kChunk]);
  for (;;) {
    std::string_view piece;
    s = file->Read(kChunk, &piece, scratch.get());
    if (!s.ok() || piece.empty()) break;
    DCHECK_LE(piece.size(), kChunk);  // SequentialFile::Read's contract
    data->append(piece);
  }
  return s;
}

Status CopyOpenFile(Env* env, SequentialFile* src, const std::string& src_name,
                    const std::string& dst, uint64_t limit) {
  std::unique_ptr<WritableFile> out;
  Status s = env->NewWritableFile(dst, &out);
  if (!s.ok()) return s;
  constexpr size_t kChunk = 1 << 16;
  std::unique_ptr<char[]> buffer(new char[kChunk]);
  uint64_t copied = 0;
  while (s.ok() && copied < limit) {
    const uint64_t want64 = limit - copied < kChunk ? limit - copied : kChunk;
    std::string_view chunk;
    s = src->Read(static_cast<size_t>(want64), &chunk, buffer.get());
    if (!s.ok()) break;
    if (chunk.empty()) {
      if (limit != UINT64_MAX) {
        s = Status::IOError(src_name, "has " + std::to_string(copied) + " bytes, " +
                                          std::to_string(limit) + " expected");
      }
      break;
    }
    DCHECK_LE(chunk.size(), want64);
    s = out->Append(chunk);
    copied += chunk.size();
  }
  DCHECK(limit == UINT64_MAX || copied <= limit);
  if (s.ok()) s = out->Sync();
  Status c = out->Close();
  if (s.ok()) s = c;
  if (!s.ok()) {
    out.reset();
    env->RemoveFile(dst).PermitUncheckedError();
  }
  return s;
}

Status CopyFile(Env* env, const std::string& src, const std::string& dst, uint64_t limit) {
  std::unique_ptr<SequentialFile> in;
  Status s = env->NewSequentialFile(src, &in);
  if (!s.ok()) return s;
  return CopyOpenFile(env, in.get(), src, dst, limit);
}

}  // namespace lsmkv
