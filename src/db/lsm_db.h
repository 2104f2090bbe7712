// The LSM engine's entry points, called by the engine switch
// (src/engines/open.cc) for Options::engine == StorageEngine::kLsm.
#ifndef LSMKV_DB_LSM_DB_H_
#define LSMKV_DB_LSM_DB_H_

#include <memory>
#include <string>

#include "lsmkv/db.h"

namespace lsmkv {

// DB::Open for the LSM engine. The switch has checked the ENGINE file (or
// its absence); this validates the LSM options, recovers or creates the
// database (writing the ENGINE file first when creating).
Status OpenLsmDB(const Options& options, const std::string& path, std::unique_ptr<DB>* out);
// DestroyDB for the LSM engine: removes the LSM's files (and RepairDB's
// lost/), the LOCK file, and the directory if it is then empty. Leaves the
// ENGINE file to the switch. Fails if the database is open.
Status DestroyLsmDB(const std::string& path, const Options& options);

}  // namespace lsmkv

#endif  // LSMKV_DB_LSM_DB_H_
