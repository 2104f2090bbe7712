#include "base/filename.h"

#include <cinttypes>
#include <cstdio>
#include <memory>

#include "lsmkv/env.h"

namespace lsmkv {

namespace {

constexpr std::string_view kManifestPrefix = "MANIFEST-";
constexpr std::string_view kOptionsPrefix = "OPTIONS-";
constexpr std::string_view kCurrentName = "CURRENT";
constexpr std::string_view kLockName = "LOCK";
constexpr std::string_view kInfoLogName = "LOG";
constexpr std::string_view kOldInfoLogName = "LOG.old";

// A valid CURRENT is about 30 bytes; this bound keeps a garbage CURRENT from
// being read whole.
constexpr size_t kMaxCurrentSize = 256;

// "000123" (at least six digits).
std::string PaddedNumber(uint64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%06" PRIu64, number);
  return buf;
}

std::string NumberedName(const std::string& dbname, std::string_view prefix, uint64_t number,
                         std::string_view suffix) {
  std::string result = dbname;
  result.push_back('/');
  result.append(prefix);
  result.append(PaddedNumber(number));
  result.append(suffix);
  return result;
}

// Parses a non-empty run of decimal digits that fits in uint64_t.
bool ParseNumber(std::string_view digits, uint64_t* value) {
  if (digits.empty()) return false;
  constexpr uint64_t kMax = UINT64_MAX;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (kMax - d) / 10) return false;  // v * 10 + d would overflow
    v = v * 10 + d;
  }
  *value = v;
  return true;
}

// Printable ASCII kept, anything else as \xNN: for error messages.
std::string Escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out.append(buf);
    }
  }
  return out;
}

Status WriteSyncedFile(Env* env, std::string_view data, const std::string& fname) {
  std::unique_ptr<WritableFile> file;
  Status s = env->NewWritableFile(fname, &file);
  if (!s.ok()) return s;
  s = file->Append(data);
  if (s.ok()) s = file->Sync();
  if (s.ok()) s = file->Close();
  return s;
}

// Reads fname into *data, failing with Corruption if it exceeds limit bytes.
Status ReadBoundedFile(Env* env, const std::string& fname, size_t limit, std::string* data) {
  std::unique_ptr<SequentialFile> file;
  Status s = env->NewSequentialFile(fname, &file);
  if (!s.ok()) return s;
  data->clear();
  char scratch[kMaxCurrentSize + 1];
  while (data->size() <= limit) {
    std::string_view chunk;
    s = file->Read(sizeof(scratch), &chunk, scratch);
    if (!s.ok()) return s;
    if (chunk.empty()) return Status::OK();
    data->append(chunk.data(), chunk.size());
  }
  return Status::Corruption(fname, "longer than " + std::to_string(limit) + " bytes");
}

}  // namespace

std::string LogFileName(const std::string& dbname, uint64_t number) {
  return NumberedName(dbname, "", number, ".log");
}

std::string TableFileName(const std::string& dbname, uint64_t number) {
  return NumberedName(dbname, "", number, ".sst");
}

std::string DescriptorFileName(const std::string& dbname, uint64_t number) {
  return NumberedName(dbname, kManifestPrefix, number, "");
}

std::string OptionsFileName(const std::string& dbname, uint64_t number) {
  return NumberedName(dbname, kOptionsPrefix, number, "");
}

std::string TempFileName(const std::string& dbname, uint64_t number) {
  return NumberedName(dbname, "", number, ".dbtmp");
}

std::string CurrentFileName(const std::string& dbname) {
  return dbname + "/" + std::string(kCurrentName);
}

std::string LockFileName(const std::string& dbname) {
  return dbname + "/" + std::string(kLockName);
}

std::string InfoLogFileName(const std::string& dbname) {
  return dbname + "/" + std::string(kInfoLogName);
}

std::string OldInfoLogFileName(const std::string& dbname) {
  return dbname + "/" + std::string(kOldInfoLogName);
}

bool ParseFileName(std::string_view name, uint64_t* number, FileType* type) {
  uint64_t num = 0;
  FileType t;
  if (name == kCurrentName) {
    t = FileType::kCurrentFile;
  } else if (name == kLockName) {
    t = FileType::kLockFile;
  } else if (name == kInfoLogName || name == kOldInfoLogName) {
    t = FileType::kInfoLogFile;
  } else if (name.starts_with(kManifestPrefix)) {
    if (!ParseNumber(name.substr(kManifestPrefix.size()), &num)) return false;
    t = FileType::kDescriptorFile;
  } else if (name.starts_with(kOptionsPrefix)) {
    if (!ParseNumber(name.substr(kOptionsPrefix.size()), &num)) return false;
    t = FileType::kOptionsFile;
  } else {
    const size_t dot = name.find('.');
    if (dot == std::string_view::npos) return false;
    if (!ParseNumber(name.substr(0, dot), &num)) return false;
    const std::string_view suffix = name.substr(dot + 1);
    if (suffix == "log") {
      t = FileType::kLogFile;
    } else if (suffix == "sst") {
      t = FileType::kTableFile;
    } else if (suffix == "dbtmp") {
      t = FileType::kTempFile;
    } else {
      return false;
    }
  }
  *number = num;
  *type = t;
  return true;
}

Status SetCurrentFile(Env* env, const std::string& dbname, uint64_t descriptor_number) {
  const std::string manifest = DescriptorFileName(dbname, descriptor_number);
  std::string contents = manifest.substr(dbname.size() + 1);  // "MANIFEST-000005"
  contents.push_back('\n');
  const std::string tmp = TempFileName(dbname, descriptor_number);
  Status s = WriteSyncedFile(env, contents, tmp);
  if (s.ok()) s = env->RenameFile(tmp, CurrentFileName(dbname));
  if (!s.ok()) {
    // CURRENT is unchanged; the half-written temporary file must not linger.
    env->RemoveFile(tmp).PermitUncheckedError();
    return s;
  }
  return env->SyncDir(dbname);
}

Status ReadCurrentFile(Env* env, const std::string& dbname, std::string* manifest_name) {
  const std::string fname = CurrentFileName(dbname);
  std::string data;
  Status s = ReadBoundedFile(env, fname, kMaxCurrentSize, &data);
  if (!s.ok()) return s;
  if (data.empty()) return Status::Corruption(fname, "file is empty");
  if (data.back() != '\n') {
    return Status::Corruption(fname, "does not end with a newline: \"" + Escape(data) + "\"");
  }
  const std::string_view name = std::string_view(data).substr(0, data.size() - 1);
  uint64_t number = 0;
  FileType type;
  if (!ParseFileName(name, &number, &type) || type != FileType::kDescriptorFile) {
    return Status::Corruption(fname, "does not name a MANIFEST file: \"" + Escape(data) + "\"");
  }
  const std::string manifest_path = dbname + "/" + std::string(name);
  if (!env->FileExists(manifest_path)) {
    return Status::Corruption(fname + ": names a missing manifest", manifest_path);
  }
  manifest_name->assign(name.data(), name.size());
  return Status::OK();
}

}  // namespace lsmkv
