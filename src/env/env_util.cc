// Helpers declared at the end of lsmkv/env.h.
#include "lsmkv/env.h"

namespace lsmkv {

Status WriteStringToFile(Env* env, std::string_view data, const std::string& fname,
                         bool sync) {
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
    data->append(piece);
  }
  return s;
}

}  // namespace lsmkv
