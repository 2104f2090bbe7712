#include "db/engine_file.h"

#include <cinttypes>
#include <cstdio>

#include "util/crc32c.h"

namespace lsmkv {

namespace {

constexpr std::string_view kMagic = "lsmkv-engine 1\n";

bool ParseEngineName(std::string_view name, StorageEngine* engine) {
  for (StorageEngine e : {StorageEngine::kLsm, StorageEngine::kBTree, StorageEngine::kBitcask}) {
    if (name == StorageEngineName(e)) {
      *engine = e;
      return true;
    }
  }
  return false;
}

std::string CrcHex(std::string_view body) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08" PRIx32,
                crc32c::Mask(crc32c::Value(body.data(), body.size())));
  return buf;
}

}  // namespace

std::string EngineFileName(const std::string& dbname) {
  return dbname + "/" + std::string(kEngineFileName);
}

std::string EncodeEngineFile(StorageEngine engine) {
  std::string body = std::string(kMagic) + StorageEngineName(engine) + "\n";
  return body + CrcHex(body) + "\n";
}

Status DecodeEngineFile(std::string_view contents, StorageEngine* engine) {
  // Three lines, each ending in '\n', nothing after.
  const size_t first = contents.find('\n');
  const size_t second = first == std::string_view::npos ? first : contents.find('\n', first + 1);
  if (second == std::string_view::npos || contents.size() != second + 1 + 9 ||
      contents.back() != '\n') {
    return Status::Corruption("ENGINE file", "not three lines of the expected lengths");
  }
  const std::string_view body = contents.substr(0, second + 1);
  const std::string_view crc = contents.substr(second + 1, 8);
  if (crc != CrcHex(body)) return Status::Corruption("ENGINE file", "checksum mismatch");
  const std::string_view header = contents.substr(0, first + 1);
  if (header != kMagic) {
    if (header.starts_with("lsmkv-engine ")) {
      return Status::NotSupported("ENGINE file", "format version " +
                                                     std::string(header.substr(13, first - 13)) +
                                                     " is newer than this build reads (1)");
    }
    return Status::Corruption("ENGINE file", "bad magic");
  }
  const std::string_view name = contents.substr(first + 1, second - first - 1);
  if (!ParseEngineName(name, engine)) {
    return Status::NotSupported("ENGINE file", "unknown engine '" + std::string(name) + "'");
  }
  return Status::OK();
}

Status WriteEngineFile(Env* env, const std::string& dbname, StorageEngine engine) {
  const std::string tmp = EngineFileName(dbname) + ".tmp";
  Status s = WriteStringToFile(env, EncodeEngineFile(engine), tmp, /*sync=*/true);
  if (s.ok()) s = env->RenameFile(tmp, EngineFileName(dbname));
  if (s.ok()) s = env->SyncDir(dbname);
  if (!s.ok()) {
    env->RemoveFile(tmp).PermitUncheckedError();
    return Status::IOError("cannot write " + EngineFileName(dbname), s.ToString());
  }
  return s;
}

Status ReadEngineFile(Env* env, const std::string& dbname, StorageEngine* engine, bool* present) {
  *present = false;
  const std::string fname = EngineFileName(dbname);
  if (!env->FileExists(fname)) return Status::OK();
  std::string contents;
  Status s = ReadFileToString(env, fname, &contents);
  if (!s.ok()) return s;
  s = DecodeEngineFile(contents, engine);
  if (!s.ok()) {
    return s.IsNotSupported() ? Status::NotSupported(fname, s.ToString())
                              : Status::Corruption(fname, s.ToString());
  }
  *present = true;
  return Status::OK();
}

}  // namespace lsmkv
