// What the engines beside the LSM (src/btree/, src/bitcask/) share: their
// DestroyDB and the properties every engine answers alike.
#ifndef LSMKV_DB_ENGINE_UTIL_H_
#define LSMKV_DB_ENGINE_UTIL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "lsmkv/options.h"
#include "lsmkv/status.h"

namespace lsmkv {

// Removes the files of the database at path for which is_ours(name) holds,
// then the LOCK file, holding the lock meanwhile (so it fails if the
// database is open). A missing directory is OK. Returns the first removal
// error. The ENGINE file and the directory are left to the engine switch.
Status DestroyEngineFiles(const Options& options, const std::string& path,
                          const std::function<bool(const std::string& name)>& is_ours);

// Answers lsmkv.error-state ("none", "recoverable" for NoSpace, "fatal"),
// lsmkv.background-error and lsmkv.last-sequence from an engine's state;
// false for any other name.
bool CommonEngineProperty(std::string_view name, const Status& background_error,
                          uint64_t last_sequence, std::string* value);

}  // namespace lsmkv

#endif  // LSMKV_DB_ENGINE_UTIL_H_
