// The pieces of the lsmkv command-line tool (tools/lsmkv.cc): exit codes,
// the byte encodings of arguments and output, error reporting, the progress
// bar, and the registration of the subcommands.
#ifndef LSMKV_TOOLS_CLI_CLI_H_
#define LSMKV_TOOLS_CLI_CLI_H_

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lsmkv/db.h"
#include "lsmkv/status.h"

namespace lsmkv::cli {

// Exit codes (documented in --help and README.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitNotFound = 1;  // get: the key is absent
inline constexpr int kExitUsage = 2;     // bad command line, or a malformed input file (load)
inline constexpr int kExitDbError = 3;   // the database or a file could not be used
inline constexpr int kExitDamage = 4;    // verify/dump found damage; repair lost data

// Flags shared by every subcommand.
struct Global {
  std::string db = "./data";
  bool hex = false;        // arguments and output as hex
  bool raw = false;        // output raw bytes
  bool sync = false;       // writes fdatasync the WAL
  bool no_create = false;  // writing commands fail instead of creating a missing database
  bool progress = false;   // force the progress bar
  bool no_progress = false;
  std::string engine_name = "lsm";             // --engine as given
  StorageEngine engine = StorageEngine::kLsm;  // --engine parsed (ParseEngine)
};

// Parses an engine name as StorageEngineName spells it ("lsm", "btree",
// "bitcask"). False for anything else.
bool ParseEngine(std::string_view name, StorageEngine* engine);

// For the commands that read the LSM engine's own files (verify, repair,
// dump): returns kExitOk if dir holds an LSM database (or no ENGINE file and
// --engine is lsm); otherwise prints why `command` refuses dir and returns
// kExitUsage (another engine) or kExitDbError (the ENGINE file is unreadable).
int RequireLsm(const Global& g, const std::string& command, const std::string& dir);

// A registered subcommand: parsed into `app`, run by `run` (returns the exit code).
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// Subcommand families: put/get/del/scan/stats/compact (data_commands.cc),
// load (load.cc), verify/repair/dump/checkpoint (tool_commands.cc).
void AddDataCommands(CLI::App* app, const Global* global, std::vector<Command>* commands);
void AddLoadCommand(CLI::App* app, const Global* global, std::vector<Command>* commands);
void AddToolCommands(CLI::App* app, const Global* global, std::vector<Command>* commands);

// --------------------------------------------------------------- encodings

// Exactly two hex digits per byte (either case); false otherwise.
bool HexDecode(std::string_view in, std::string* out);
std::string HexEncode(std::string_view in);
// Printable ASCII as is, backslash as \\, every other byte as \xNN.
std::string Escape(std::string_view in);
// Reverses Escape; also accepts \t \n \r \0. False with *error saying
// where for an unknown escape or a trailing backslash.
bool Unescape(std::string_view in, std::string* out, std::string* error);
// A key or value for output: hex with --hex, raw bytes with --raw, else escaped.
std::string Render(std::string_view bytes, const Global& g);
// A key or value from the command line: hex-decoded with --hex, else as is.
// False (after printing the error) on bad hex.
bool DecodeArg(const std::string& in, const Global& g, const char* what, std::string* out);

// --------------------------------------------------------------- errors

// Prints "lsmkv: <what>: <status>" and a line saying what to do, on stderr.
// Returns kExitDbError.
int Fail(const std::string& what, const Status& s, const Global& g);
// Prints "lsmkv: <message>" on stderr and returns kExitUsage.
int UsageError(const std::string& message);

// Opens the database of --db. create: whether a missing database may be
// created (and only if --no-create was not given).
Status OpenDb(const Global& g, bool create, std::unique_ptr<DB>* db);

// Seconds since start, for rates.
double SecondsSince(std::chrono::steady_clock::time_point start);

// --------------------------------------------------------------- progress

// A one-line progress bar on stderr, redrawn at most 10 times a second. Shown
// only when enabled (see ProgressWanted); otherwise every call does nothing.
class ProgressBar {
 public:
  ProgressBar(std::string label, bool enabled);
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  ~ProgressBar();

  // done and total in bytes (total 0: unknown, no bar, only counts); note is
  // appended (e.g. "12000 records").
  void Update(uint64_t done, uint64_t total, const std::string& note = "");
  // Draws the final state and ends the line. Idempotent.
  void Finish();

 private:
  void Draw();

  const std::string label_;
  const bool enabled_;
  const std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  uint64_t done_ = 0, total_ = 0;
  std::string note_;
  size_t last_width_ = 0;
  bool drawn_ = false, finished_ = false;
};

// --progress, or stderr is a terminal and --no-progress was not given.
bool ProgressWanted(const Global& g);

}  // namespace lsmkv::cli

#endif  // LSMKV_TOOLS_CLI_CLI_H_
