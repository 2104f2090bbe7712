// Operator tools for an lsmkv database directory: verify, repair, dump and
// checkpoint. They back the `lsmkv` command-line tool's subcommands of the
// same names and are usable from C++ as well.
//
// VerifyDB, RepairDB and DumpFile work on files, not on an open DB: they take
// the directory's LOCK (VerifyDB only if a LOCK file exists, so that it never
// creates anything) and fail with IOError if another opener holds it.
// CreateCheckpoint works on an open DB while it is being written.
//
// Thread safety: the functions are thread safe; a report is a plain value.
// Errors: every fallible call returns Status; no exception crosses the API.
#ifndef LSMKV_INCLUDE_TOOLS_H_
#define LSMKV_INCLUDE_TOOLS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "lsmkv/comparator.h"
#include "lsmkv/env.h"
#include "lsmkv/filter_policy.h"
#include "lsmkv/options.h"
#include "lsmkv/status.h"

namespace lsmkv {

class DB;

// Reports progress of a long operation: done and total are bytes of files
// read (total is an estimate; done may exceed it slightly). Called from the
// working thread, at most about once per 64 KiB read, and once at the end
// with done == total. Must be cheap and must not call back into the tool.
using ProgressFunction = std::function<void(uint64_t done, uint64_t total)>;

// ---------------------------------------------------------------- verify

struct VerifyOptions {
  // Where the files are read from. Default: Env::Default().
  Env* env = nullptr;
  // The database's comparator (Options::comparator); nullptr: bytewise. A
  // MANIFEST naming another comparator is reported as a problem (its order
  // cannot be checked). Default: nullptr.
  const Comparator* comparator = nullptr;
  // The database's filter policy (Options::filter_policy), so that its
  // tables' filters are read as the database reads them. Default: nullptr
  // (the built-in bloom filter).
  std::shared_ptr<const FilterPolicy> filter_policy;
  // Also read every record of the write-ahead logs the MANIFEST still needs.
  // Default: true.
  bool check_logs = true;
  // Default: none.
  ProgressFunction progress;
};

struct VerifyReport {
  // Damage, one line each, every line naming the file (and offset where
  // known): a block failing its checksum, keys out of order, table contents
  // that disagree with the MANIFEST, a file the MANIFEST needs that is
  // missing, a damaged MANIFEST or CURRENT, damaged WAL records.
  std::vector<std::string> problems;
  // Not damage but worth knowing: files the MANIFEST does not reference
  // (left by a crash; Open removes them), a torn WAL or MANIFEST tail (a
  // write cut by a crash, never acknowledged as synced).
  std::vector<std::string> notes;

  std::string manifest;         // the MANIFEST checked ("" if none could be)
  uint64_t manifest_edits = 0;  // edits decoded
  uint64_t tables = 0;          // live tables checked
  uint64_t data_blocks = 0;     // data blocks read (good or bad)
  uint64_t entries = 0;         // entries in the good blocks
  uint64_t table_bytes = 0;     // bytes of live tables
  uint64_t logs = 0;            // WAL files read
  uint64_t log_records = 0;     // intact WAL records (write batches)
  uint64_t log_bytes = 0;       // bytes of the WAL files read

  // A multi-line summary: counts, then every problem and note.
  std::string ToString() const;
};

// Checks the database in dbname without modifying anything: CURRENT, every
// record of the MANIFEST it names, every live table (both footer copies,
// index, meta blocks including the salvage block, the checksum of every
// data block, internal keys in strictly increasing order, first/last key,
// sequence range, entry and deletion counts equal to the MANIFEST's record
// of the file; damage that reads work around is reported all the same), the
// MANIFEST against the files present (missing and unreferenced files), and
// the WAL files the MANIFEST still needs (every record's checksum,
// decodable batches, increasing sequence numbers).
//
// Returns OK if no damage was found, Corruption ("N problems; first: ...")
// if some was (report->problems lists all of it), or another error if the
// check could not run: NotFound if dbname holds no database, IOError if the
// database is open elsewhere. *report is filled in every case.
Status VerifyDB(const std::string& dbname, const VerifyOptions& options, VerifyReport* report);

// ---------------------------------------------------------------- repair

struct RepairOptions {
  // env, the comparator (the database's; the repaired MANIFEST records it,
  // and an old MANIFEST naming another is not trusted), and how the new
  // tables are written (block_size, block_restart_interval, compression,
  // filter_policy / bloom_bits_per_key, target_file_size).
  // Default: Options().
  Options db_options;
  // Default: none.
  ProgressFunction progress;
};

// What became of one file of the damaged database.
struct RepairFileReport {
  std::string file;  // name inside the database directory, e.g. "000012.sst"
  // "salvaged", "partly salvaged", "unreadable", "missing" (the MANIFEST
  // names it but it is not there) or "not needed" (the MANIFEST does not
  // reference it: left by a crash, its contents are elsewhere).
  std::string outcome;
  uint64_t records_salvaged = 0;  // table entries / WAL operations read intact
  // Records lost, when the count is known exactly: a table's properties (or
  // the MANIFEST) give its entry count; a WAL region whose framing is damaged
  // hides how many records it held (then unset; bytes_lost still counts it).
  std::optional<uint64_t> records_lost;
  // Bytes of the file whose contents were dropped (for a salvaged table
  // block: the lengths of its lost entry groups, uncompressed).
  uint64_t bytes_lost = 0;
  // One line per damaged region (a table's damaged footer copy or index
  // block, each damaged data block with the entry groups it lost).
  std::vector<std::string> details;
};

struct RepairReport {
  std::vector<RepairFileReport> files;  // every table and WAL considered
  std::vector<std::string> warnings;
  std::string old_manifest;  // the MANIFEST read ("" if none was usable)
  bool old_manifest_trusted = false;
  std::string new_manifest;  // e.g. "MANIFEST-000031"
  std::string lost_dir;      // where the previous files now are
  uint64_t tables_written = 0;
  uint64_t entries_written = 0;
  uint64_t bytes_written = 0;
  // Keys withheld because their newest surviving version might be older
  // than a version in a lost table block or entry group (showing it could
  // be a stale value). They count as lost.
  uint64_t keys_withheld = 0;
  // Entries not rewritten because a newer version of the key (or a deletion,
  // point or range) supersedes them: not a loss.
  uint64_t superseded_dropped = 0;

  // True if any record was lost or withheld.
  bool LostData() const;
  // A multi-line report: per file what was salvaged and lost, totals, and
  // what to do next.
  std::string ToString() const;
};

// Rebuilds the database in dbname from whatever is readable in its tables
// and write-ahead logs, and installs a new MANIFEST.
//
// Sources: if the MANIFEST named by CURRENT (or, when CURRENT is damaged,
// the newest MANIFEST present) reads without damage and everything it needs
// is present, its live tables and the WALs it still needs; otherwise every
// table and every WAL in the directory (report->warnings then says so). Each
// table is read block by block, its blocks located through its index or
// (format version 2, index damaged) its salvage block — a block that fails
// its checksum keeps its entry groups whose own checksums match (format
// version 2; otherwise it is skipped whole) and the loss is counted, the
// blocks after it are still read; each WAL is read with skip-corrupted
// semantics (damaged records skipped, the rest replayed).
//
// Never a wrong value: a key whose newest surviving version could be older
// than a version in a lost table block or entry group (same key range, not
// provably newer) is withheld rather than shown stale. Everything salvaged
// is merged (newest version per key, deletions applied) into new tables at
// the last level, a new MANIFEST is written and synced, and CURRENT is
// switched to it (temp file + sync + rename + directory sync). Every
// previous table, WAL and MANIFEST is moved to dbname/lost/ — nothing is
// deleted; remove that directory once satisfied.
//
// Resources: the salvaged WAL contents are held in memory, and one file per
// source table is open during the merge.
//
// Returns OK when a usable database was installed (whatever was lost:
// report->LostData() and report->files say), or the error that stopped the
// repair (then CURRENT still names the previous MANIFEST, unless the error
// came after the switch, as the message says).
Status RepairDB(const std::string& dbname, const RepairOptions& options, RepairReport* report);

// ---------------------------------------------------------------- dump

enum class DumpFileType : unsigned char {
  kAuto = 0,  // from the file name: NNN.log, NNN.sst, MANIFEST-NNN, CURRENT
  kLog = 1,
  kManifest = 2,
  kTable = 3,
};

struct DumpOptions {
  // Default: Env::Default().
  Env* env = nullptr;
  // The comparator of the database the file belongs to; nullptr: bytewise.
  // A table written with another comparator cannot be opened (Corruption
  // naming both). Default: nullptr.
  const Comparator* comparator = nullptr;
  // Default: kAuto.
  DumpFileType type = DumpFileType::kAuto;
  // Keys and values as hex instead of escaped text (printable ASCII as is,
  // backslash as \\, other bytes as \xNN). Default: false.
  bool hex = false;
  // Tables: print every entry (false: footer, properties and index only).
  // Default: true.
  bool table_entries = true;
};

// Writes a readable rendering of one file to *out: for a WAL every record
// (offset, first sequence, count) with its operations (put/del with key,
// value and sequence); for a MANIFEST every version edit; for a table the
// footer, properties, index and (optionally) every entry with its user key,
// sequence, type and value; for CURRENT its contents. Damaged regions are
// printed where they are met ("!! ..." lines) and reading goes on after
// them. A format version 2 table with a damaged index is read through its
// salvage block; of a damaged data block, the entries of its intact entry
// groups are printed and the lost groups named.
//
// Returns OK if the file is intact, Corruption if anything was damaged
// (after printing everything readable), InvalidArgument if the type cannot
// be told from the name (pass options.type), or the Env's error if the file
// cannot be read.
Status DumpFile(const std::string& path, const DumpOptions& options, std::ostream* out);

// ---------------------------------------------------------------- checkpoint

// Creates in dir, which must not exist, a copy of the open database db that
// opens on its own (DB::Open(dir)) and contains every write acknowledged
// before the call; writes concurrent with the call may or may not be in it,
// but what it holds is always a prefix of the writes in commit order (a
// consistent point in time; a batch is all in or all out).
//
// How: under the DB mutex the current version, the live WAL files and the
// acknowledged end of the active WAL are captured (the version pins the
// tables: none of them is deleted until the checkpoint is done). Then,
// without the mutex: tables are hard-linked (copied where links fail, e.g.
// across filesystems), live WALs are copied up to the captured end, a new
// MANIFEST describing exactly those files is written, everything is synced,
// and CURRENT is written last, so a directory without CURRENT is never a
// half checkpoint that opens. On failure the files created are removed.
//
// InvalidArgument if dir exists or db is closed; NotSupported if db was not
// made by DB::Open; the Env's error otherwise.
Status CreateCheckpoint(DB* db, const std::string& dir);

}  // namespace lsmkv

#endif  // LSMKV_INCLUDE_TOOLS_H_
