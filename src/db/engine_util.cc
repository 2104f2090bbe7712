#include "db/engine_util.h"

#include <vector>

#include "lsmkv/env.h"

namespace lsmkv {

Status DestroyEngineFiles(const Options& options, const std::string& path,
                          const std::function<bool(const std::string& name)>& is_ours) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  std::vector<std::string> children;
  if (!env->GetChildren(path, &children).ok()) return Status::OK();
  FileLock* lock = nullptr;
  Status s = env->LockFile(path + "/LOCK", &lock);
  if (!s.ok()) return s;
  Status result;
  for (const std::string& child : children) {
    if (!is_ours(child)) continue;
    Status r = env->RemoveFile(path + "/" + child);
    if (result.ok() && !r.ok()) result = r;
  }
  env->UnlockFile(lock).PermitUncheckedError();
  env->RemoveFile(path + "/LOCK").PermitUncheckedError();
  return result;
}

bool CommonEngineProperty(std::string_view name, const Status& background_error,
                          uint64_t last_sequence, std::string* value) {
  if (name == "lsmkv.error-state") {
    *value = background_error.ok()          ? "none"
             : background_error.IsNoSpace() ? "recoverable"
                                            : "fatal";
    return true;
  }
  if (name == "lsmkv.background-error") {
    *value = background_error.ToString();
    return true;
  }
  if (name == "lsmkv.last-sequence") {
    *value = std::to_string(last_sequence);
    return true;
  }
  return false;
}

}  // namespace lsmkv
