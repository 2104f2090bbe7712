// The B+tree engine's entry points, called by the engine switch
// (src/engines/open.cc) for Options::engine == StorageEngine::kBTree.
#ifndef LSMKV_BTREE_BTREE_DB_H_
#define LSMKV_BTREE_BTREE_DB_H_

#include <memory>
#include <string>

#include "lsmkv/db.h"

namespace lsmkv {

// DB::Open for the B+tree engine. The switch has checked that the ENGINE
// file, if present, names this engine. Validates the options that apply,
// honours create_if_missing / error_if_exists, takes the directory's LOCK,
// and when creating writes the ENGINE file (db/engine_file.h) before any
// file of its own.
Status OpenBTreeDB(const Options& options, const std::string& path, std::unique_ptr<DB>* out);
// DestroyDB for the B+tree engine: removes the files this engine creates
// and the LOCK file; leaves the ENGINE file and the directory to the switch.
// Fails if the database is open.
Status DestroyBTreeDB(const std::string& path, const Options& options);

}  // namespace lsmkv

#endif  // LSMKV_BTREE_BTREE_DB_H_
