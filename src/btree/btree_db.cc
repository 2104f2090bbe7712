#include "btree/btree_db.h"

namespace lsmkv {

// Not built yet (issue 19): the engine switch and its tests are in place.
Status OpenBTreeDB(const Options& options, const std::string& path, std::unique_ptr<DB>* out) {
  out->reset();
  return Status::NotSupported("storage engine btree", "not implemented yet");
}

Status DestroyBTreeDB(const std::string& path, const Options& options) {
  return Status::NotSupported("storage engine btree", "not implemented yet");
}

}  // namespace lsmkv
