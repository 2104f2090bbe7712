// Names of the files in a database directory, and the CURRENT file that
// points at the live MANIFEST (docs/format/manifest.md).
//
//   dbname/000123.log        write-ahead log number 123
//   dbname/000123.sst        sorted table number 123
//   dbname/MANIFEST-000005   descriptor (log of version edits) number 5
//   dbname/OPTIONS-000007    options the DB was opened with, number 7
//   dbname/000009.dbtmp      temporary file, renamed into place when complete
//   dbname/CURRENT           "MANIFEST-000005\n": names the live MANIFEST
//   dbname/LOCK              held (flock) by the process that has the DB open
//   dbname/LOG, LOG.old      human-readable info log, and the previous one
//
// Numbers are printed in decimal with at least six digits (zero padded); all
// numbered files share one counter recorded in the MANIFEST.
//
// Thread safety: the free functions here are thread safe.
#ifndef LSMKV_BASE_FILENAME_H_
#define LSMKV_BASE_FILENAME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "lsmkv/status.h"

namespace lsmkv {

class Env;

enum class FileType {
  kLogFile,
  kTableFile,
  kDescriptorFile,
  kCurrentFile,
  kLockFile,
  kInfoLogFile,  // LOG and LOG.old
  kOptionsFile,
  kTempFile,
};

// Each returns dbname + "/" + the name of the file (see the table above).
std::string LogFileName(const std::string& dbname, uint64_t number);
std::string TableFileName(const std::string& dbname, uint64_t number);
std::string DescriptorFileName(const std::string& dbname, uint64_t number);
std::string OptionsFileName(const std::string& dbname, uint64_t number);
std::string TempFileName(const std::string& dbname, uint64_t number);
std::string CurrentFileName(const std::string& dbname);
std::string LockFileName(const std::string& dbname);
std::string InfoLogFileName(const std::string& dbname);
std::string OldInfoLogFileName(const std::string& dbname);

// Parses a file name (the name only, without the directory) produced by one of
// the functions above. Returns true and sets *number and *type if name is
// exactly such a name; CURRENT, LOCK, LOG and LOG.old have number 0. A number
// is one or more decimal digits (any count of leading zeros) whose value fits
// in uint64_t. Returns false, leaving *number and *type unchanged, for anything
// else, e.g. "", "123.log.bak", "MANIFEST-", "MANIFEST-12x", "+5.log",
// "99999999999999999999.sst".
bool ParseFileName(std::string_view name, uint64_t* number, FileType* type);

// Makes MANIFEST-<descriptor_number> the live descriptor: writes
// "MANIFEST-<number>\n" to TempFileName(dbname, descriptor_number), syncs it,
// renames it over CURRENT and syncs the directory dbname.
//
// Returns OK only when all of that succeeded. On failure before the rename the
// temporary file is removed and CURRENT is unchanged. If the rename succeeded
// but the directory sync failed, the error is returned and CURRENT may name
// either the old or the new MANIFEST after a crash: the caller must keep both
// MANIFESTs until a later SetCurrentFile succeeds.
Status SetCurrentFile(Env* env, const std::string& dbname, uint64_t descriptor_number);

// Reads CURRENT and stores the MANIFEST name it holds (e.g. "MANIFEST-000005",
// without the directory) in *manifest_name.
//
// Returns the Env's error (NotFound / IOError) if CURRENT cannot be opened or
// read, and Corruption naming CURRENT if it is empty, too long, does not end in
// exactly one '\n', holds anything but a valid MANIFEST-<number> name, or names
// a MANIFEST that does not exist in dbname (the message names that file).
// *manifest_name is modified only on success.
Status ReadCurrentFile(Env* env, const std::string& dbname, std::string* manifest_name);

}  // namespace lsmkv

#endif  // LSMKV_BASE_FILENAME_H_
