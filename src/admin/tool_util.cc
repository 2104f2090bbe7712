#include "admin/tool_util.h"

#include <cstdio>
#include <memory>

#include "db/engine_file.h"

namespace lsmkv::tools {

namespace {
constexpr char kHexDigits[] = "0123456789abcdef";
}  // namespace

std::string EscapeAll(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHexDigits[c >> 4]);
      out.push_back(kHexDigits[c & 15]);
    }
  }
  return out;
}

std::string HexString(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHexDigits[c >> 4]);
    out.push_back(kHexDigits[c & 15]);
  }
  return out;
}

Status RequireLsmDirectory(Env* env, const std::string& dbname) {
  StorageEngine engine = StorageEngine::kLsm;
  bool present = false;
  Status s = ReadEngineFile(env, dbname, &engine, &present);
  if (!s.ok()) return s;
  if (present && engine != StorageEngine::kLsm) {
    return Status::InvalidArgument(dbname, std::string("holds a database of engine ") +
                                               StorageEngineName(engine) +
                                               "; verify and repair read LSM databases only");
  }
  return Status::OK();
}

Status ListDbFiles(Env* env, const std::string& dbname, DbFiles* files) {
  *files = DbFiles();
  std::vector<std::string> children;
  Status s = env->GetChildren(dbname, &children);
  if (!s.ok()) return s;
  for (const std::string& child : children) {
    uint64_t number = 0;
    FileType type;
    if (!ParseFileName(child, &number, &type)) continue;
    switch (type) {
      case FileType::kTableFile:
        files->tables[number] = child;
        break;
      case FileType::kLogFile:
        files->logs[number] = child;
        break;
      case FileType::kDescriptorFile:
        files->manifests[number] = child;
        break;
      case FileType::kTempFile:
        files->temps[number] = child;
        break;
      case FileType::kCurrentFile:
        files->has_current = true;
        break;
      case FileType::kLockFile:
        files->has_lock = true;
        break;
      default:
        break;
    }
  }
  return Status::OK();
}

uint64_t FileSizeOrZero(Env* env, const std::string& fname) {
  uint64_t size = 0;
  if (!env->GetFileSize(fname, &size).ok()) return 0;
  return size;
}

std::string DescribeWalDrop(const log::WalEvent& dropped) {
  return dropped.status.ToString() + " (" + std::to_string(dropped.bytes) +
         " bytes dropped at offset " + std::to_string(dropped.offset) + ")";
}

std::string HumanBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    unit++;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f %s", v, kUnits[unit]);
  }
  return buf;
}

}  // namespace lsmkv::tools
