// The engine switch: DB::Open and DestroyDB pick the engine by
// Options::engine, checked against the directory's ENGINE file
// (db/engine_file.h, docs/format/engine.md).
#include <vector>

#include "base/filename.h"
#include "bitcask/bitcask_db.h"
#include "btree/btree_db.h"
#include "db/engine_file.h"
#include "db/lsm_db.h"
#include "engines/transactional_db.h"
#include "lsmkv/db.h"

namespace lsmkv {

namespace {

// The engine a directory holds: the ENGINE file's, or kLsm for a database
// made before the ENGINE file existed (a CURRENT file and no ENGINE file).
// *known is false for a directory holding neither (a new database).
Status RecordedEngine(Env* env, const std::string& path, StorageEngine* engine, bool* known) {
  Status s = ReadEngineFile(env, path, engine, known);
  if (!s.ok() || *known) return s;
  if (env->FileExists(CurrentFileName(path))) {
    *engine = StorageEngine::kLsm;
    *known = true;
  }
  return Status::OK();
}

Status OpenEngine(const Options& options, const std::string& path, std::unique_ptr<DB>* out) {
  switch (options.engine) {
    case StorageEngine::kLsm:
      return OpenLsmDB(options, path, out);
    case StorageEngine::kBTree:
    case StorageEngine::kBitcask: {
      // Engines without a transaction layer of their own get the generic
      // one (engines/transactional_db.h).
      std::unique_ptr<DB> db;
      Status s = options.engine == StorageEngine::kBTree ? OpenBTreeDB(options, path, &db)
                                                         : OpenBitcaskDB(options, path, &db);
      if (s.ok()) *out = NewTransactionalDB(std::move(db), options);
      return s;
    }
  }
  return Status::InvalidArgument("Options::engine", "not a StorageEngine value");
}

}  // namespace

Status DB::Open(const Options& options, const std::string& path, std::unique_ptr<DB>* out) {
  out->reset();
  if (StorageEngineName(options.engine) == std::string_view("?")) {
    return Status::InvalidArgument("Options::engine", "not a StorageEngine value");
  }
  Env* env = options.env != nullptr ? options.env : Env::Default();
  StorageEngine recorded = options.engine;
  bool known = false;
  Status s = RecordedEngine(env, path, &recorded, &known);
  if (!s.ok()) return s;
  if (known && recorded != options.engine) {
    return Status::InvalidArgument(
        path, std::string("holds a database of engine ") + StorageEngineName(recorded) +
                  " but Options::engine is " + StorageEngineName(options.engine));
  }
  s = OpenEngine(options, path, out);
  if (!s.ok() || known) return s;
  // A new database: two openers may have raced to create it with different
  // engines. The engine now holds the LOCK; the ENGINE file it finds must
  // be its own.
  s = RecordedEngine(env, path, &recorded, &known);
  if (s.ok() && (!known || recorded != options.engine)) {
    s = Status::InvalidArgument(path, "was created concurrently with another storage engine");
  }
  if (!s.ok()) {
    (*out)->Close().PermitUncheckedError();
    out->reset();
  }
  return s;
}

Status DestroyDB(const std::string& path, const Options& options) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  StorageEngine engine = StorageEngine::kLsm;
  bool known = false;
  Status s = RecordedEngine(env, path, &engine, &known);
  if (!s.ok() && !s.IsNotSupported()) {
    // A damaged ENGINE file: destroy what any engine would have made.
    engine = options.engine;
    known = false;
  } else if (!s.ok()) {
    return s;  // an engine this build does not know: its files are unknown too
  }
  if (!known) engine = options.engine;
  switch (engine) {
    case StorageEngine::kLsm:
      s = DestroyLsmDB(path, options);
      break;
    case StorageEngine::kBTree:
      s = DestroyBTreeDB(path, options);
      break;
    case StorageEngine::kBitcask:
      s = DestroyBitcaskDB(path, options);
      break;
  }
  if (!s.ok()) return s;
  // The ENGINE file last: while any engine file remains, it names the engine.
  env->RemoveFile(EngineFileName(path) + ".tmp").PermitUncheckedError();
  if (env->FileExists(EngineFileName(path))) {
    s = env->RemoveFile(EngineFileName(path));
    if (!s.ok()) return s;
  }
  env->RemoveDir(path).PermitUncheckedError();
  return Status::OK();
}

}  // namespace lsmkv
