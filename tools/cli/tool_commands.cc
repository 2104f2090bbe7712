// verify, repair, dump, checkpoint: the operator tools of lsmkv/tools.h.
#include <iostream>

#include "cli/cli.h"
#include "lsmkv/tools.h"

namespace lsmkv::cli {

namespace {

struct VerifyArgs {
  bool no_logs = false;
};

struct DumpArgs {
  std::string file;
  std::string type = "auto";
  bool no_entries = false;
};

struct CheckpointArgs {
  std::string dir;
};

int RunVerify(const Global& g, const VerifyArgs& a) {
  if (int code = RequireLsm(g, "verify", g.db); code != kExitOk) return code;
  VerifyOptions options;
  options.check_logs = !a.no_logs;
  ProgressBar bar("verify", ProgressWanted(g));
  options.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  VerifyReport report;
  Status s = VerifyDB(g.db, options, &report);
  bar.Finish();
  if (!s.ok() && !s.IsCorruption()) return Fail("verify " + g.db, s, g);
  std::cout << report.ToString();
  if (s.ok()) return kExitOk;
  std::cerr << "lsmkv: verify: " << g.db << " is damaged (" << report.problems.size()
            << " problem(s) above); `lsmkv --db " << g.db
            << " repair` salvages what is readable and reports what is lost\n";
  return kExitDamage;
}

int RunRepair(const Global& g) {
  if (int code = RequireLsm(g, "repair", g.db); code != kExitOk) return code;
  RepairOptions options;
  ProgressBar bar("repair", ProgressWanted(g));
  options.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  RepairReport report;
  Status s = RepairDB(g.db, options, &report);
  bar.Finish();
  if (!report.files.empty() || !report.new_manifest.empty()) std::cout << report.ToString();
  if (!s.ok()) return Fail("repair " + g.db, s, g);
  if (!report.LostData()) return kExitOk;
  std::cerr << "lsmkv: repair: " << g.db
            << " opens again, but data was lost (see the report above); the previous files are in "
            << report.lost_dir << "\n";
  return kExitDamage;
}

int RunDump(const Global& g, const DumpArgs& a) {
  DumpOptions options;
  options.hex = g.hex;
  options.table_entries = !a.no_entries;
  if (a.type == "log" || a.type == "wal") {
    options.type = DumpFileType::kLog;
  } else if (a.type == "manifest") {
    options.type = DumpFileType::kManifest;
  } else if (a.type == "table" || a.type == "sst") {
    options.type = DumpFileType::kTable;
  } else if (a.type != "auto") {
    return UsageError("dump: --type must be auto, log, manifest or table");
  }
  // The file's directory names its engine; other engines' files are not
  // logs, MANIFESTs or tables.
  const size_t slash = a.file.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : a.file.substr(0, slash + 1);
  if (int code = RequireLsm(g, "dump", dir); code != kExitOk) return code;
  Status s = DumpFile(a.file, options, &std::cout);
  std::cout.flush();
  if (s.ok()) return kExitOk;
  if (s.IsCorruption()) {
    std::cerr << "lsmkv: dump: " << s.ToString() << "\n";
    return kExitDamage;
  }
  if (s.IsInvalidArgument()) return UsageError("dump: " + s.ToString() + " (--type)");
  return Fail("dump", s, g);
}

int RunCheckpoint(const Global& g, const CheckpointArgs& a) {
  std::unique_ptr<DB> db;
  Status s = OpenDb(g, /*create=*/false, &db);
  if (!s.ok()) return Fail("cannot open " + g.db, s, g);
  const auto start = std::chrono::steady_clock::now();
  s = CreateCheckpoint(db.get(), a.dir);
  if (s.IsNotSupported() && g.engine != StorageEngine::kLsm) {
    std::cerr << "lsmkv: checkpoint: the " << g.engine_name
              << " engine does not support checkpoints (lsm does)\n";
    return kExitDbError;
  }
  if (!s.ok()) return Fail("checkpoint to " + a.dir, s, g);
  s = db->Close();
  if (!s.ok()) return Fail("close", s, g);
  char took[32];
  std::snprintf(took, sizeof(took), "%.2f", SecondsSince(start));
  std::cout << "checkpoint of " << g.db << " written to " << a.dir << " in " << took
            << " s (open it with --db " << a.dir << ")\n";
  return kExitOk;
}

}  // namespace

void AddToolCommands(CLI::App* app, const Global* g, std::vector<Command>* commands) {
  auto verify_args = std::make_shared<VerifyArgs>();
  CLI::App* verify = app->add_subcommand(
      "verify",
      "check every file without modifying anything: block checksums, table invariants, MANIFEST "
      "against the files present, WAL records (exit 4 on damage; lsm engine only)");
  verify->add_flag("--no-logs", verify_args->no_logs, "skip reading the write-ahead logs");
  commands->push_back({verify, [g, verify_args] { return RunVerify(*g, *verify_args); }});

  CLI::App* repair = app->add_subcommand(
      "repair",
      "rebuild the MANIFEST from the readable tables and logs, report exactly what was lost "
      "(exit 4 if anything was); the previous files are moved to DIR/lost, never deleted (lsm "
      "engine only)");
  commands->push_back({repair, [g] { return RunRepair(*g); }});

  auto dump_args = std::make_shared<DumpArgs>();
  CLI::App* dump = app->add_subcommand(
      "dump",
      "print the contents of a WAL (NNN.log), MANIFEST, table (NNN.sst) or CURRENT file (lsm "
      "engine only)");
  dump->add_option("file", dump_args->file, "the file (no --db needed)")->required();
  dump->add_option("--type", dump_args->type, "auto (from the name), log, manifest or table")
      ->capture_default_str();
  dump->add_flag("--no-entries", dump_args->no_entries, "tables: properties and index only");
  commands->push_back({dump, [g, dump_args] { return RunDump(*g, *dump_args); }});

  auto checkpoint_args = std::make_shared<CheckpointArgs>();
  CLI::App* checkpoint = app->add_subcommand(
      "checkpoint",
      "write a consistent copy of the database to the new directory DIR (tables hard-linked "
      "where possible) that opens on its own");
  checkpoint->add_option("dir", checkpoint_args->dir, "new directory")->required();
  commands->push_back(
      {checkpoint, [g, checkpoint_args] { return RunCheckpoint(*g, *checkpoint_args); }});
}

}  // namespace lsmkv::cli
