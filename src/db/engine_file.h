// The ENGINE file: which storage engine a database directory holds
// (docs/format/engine.md). Every engine writes it when it creates a database,
// before any file of its own, so a directory holding an engine's files always
// names the engine. DB::Open (src/engines/open.cc) reads it and refuses a
// mismatching Options::engine.
#ifndef LSMKV_DB_ENGINE_FILE_H_
#define LSMKV_DB_ENGINE_FILE_H_

#include <string>
#include <string_view>

#include "lsmkv/env.h"
#include "lsmkv/options.h"
#include "lsmkv/status.h"

namespace lsmkv {

// The file's name inside the database directory.
inline constexpr std::string_view kEngineFileName = "ENGINE";
std::string EngineFileName(const std::string& dbname);

// The file's bytes for engine: "lsmkv-engine 1\n<name>\n<crc>\n" where <crc>
// is the masked CRC-32C of the first two lines in 8 lower-case hex digits.
std::string EncodeEngineFile(StorageEngine engine);
// Parses contents. Corruption (naming what is wrong) for a damaged file,
// NotSupported for a format version above 1 or an engine name this build
// does not know.
Status DecodeEngineFile(std::string_view contents, StorageEngine* engine);

// Writes the file durably and atomically: a temporary file, fsync, rename,
// fsync of the directory. REQUIRES: the caller holds the database's LOCK.
Status WriteEngineFile(Env* env, const std::string& dbname, StorageEngine engine);
// Reads the file. *present is false (and OK returned) if it does not exist.
Status ReadEngineFile(Env* env, const std::string& dbname, StorageEngine* engine, bool* present);

}  // namespace lsmkv

#endif  // LSMKV_DB_ENGINE_FILE_H_
