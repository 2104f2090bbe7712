// lsmkv_stress: a randomized, multi-threaded workload checked against an
// expected-state file that survives kill -9, for the crash test
// (scripts/crashtest.sh, docs/RELIABILITY.md).
//
//   lsmkv_stress --db DIR --expected FILE [--seed N] [--threads T] [--keys K]
//                [--seconds S] [--ops N]      verify, run the workload, verify
//                [--max_manifest_file_size B] [--block_cache_size B] [--write_buffer_size B]
//                [--sync_percent P]
//                                             these options instead of the drawn ones
//   lsmkv_stress --db DIR --expected FILE --verify-only   reopen and verify
//   lsmkv_stress --db DIR --expected FILE --destroy       remove both
//   lsmkv_stress --list_kill_points [--engine E]           print E's kill points
//
// Kill points (src/env/kill_point_env.h): --kill_point NAME --kill_after N
// kills the process with SIGKILL at the Nth hit of NAME (just after the step,
// or just before it with --kill_before); --kill_odds N kills at any hit of any
// point (of --kill_point, if given) with odds 1/N. Every run ends by printing
// the points it hit.
//
// Each of the T threads owns a disjoint slice of the K keys, so every key has
// one writer and the expected state of a key is exact except while its write
// is in flight. A write first marks its key(s) pending in the expected-state
// file, then goes to the DB, then is committed in the file. After a crash a
// pending key may show its old or its new state (all keys of one batch the
// same one); every other key must hold exactly its expected value or be
// absent. The DB options are drawn from the seed and printed.
//
// Besides puts, deletes, range deletions (DeleteRange over up to 16 keys,
// checked like a batch deleting each), batches and gets, threads scan ranges of their own
// keys (forward or backward, which must equal the expected state exactly),
// check snapshots (a range read at a snapshot after more writes, flushes and
// compactions must equal the state when the snapshot was taken), flush and
// compact key ranges.
//
// --engine picks the storage engine; the operation mix follows it
// (EngineHasTransactions in stress/config.h).
//
// Exit codes: 0 success, 1 verification failure, 2 usage or expected-state
// file error, 3 unexpected database error (including a failed Open), 4 Open
// returned NotSupported (the engine is not in this build).
//
// The parts: stress/config.h (flags and drawn options), stress/worker.h (the
// workload threads), stress/verify.h (the check against the expected state),
// stress/expected_state.h (the file that survives the kill) and
// stress/describe.h (how keys and values are named in messages).
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "env/kill_point_env.h"
#include "lsmkv/db.h"
#include "stress/config.h"
#include "stress/expected_state.h"
#include "stress/verify.h"
#include "stress/worker.h"

namespace lsmkv::stress {
namespace {

int OpenDb(const Config& config, std::unique_ptr<lsmkv::DB>* db) {
  lsmkv::Status s = lsmkv::DB::Open(config.options, config.db_path, db);
  if (s.ok()) return 0;
  std::fprintf(stderr, "lsmkv_stress: FAILED: cannot open %s: %s [seed %" PRIu64 "]\n",
               config.db_path.c_str(), s.ToString().c_str(), config.seed);
  return s.IsNotSupported() ? kExitNotSupported : kExitDbError;
}

int CloseDb(const Config& config, std::unique_ptr<lsmkv::DB>* db) {
  lsmkv::Status s = (*db)->Close();
  db->reset();
  if (s.ok()) return 0;
  std::fprintf(stderr, "lsmkv_stress: FAILED: Close: %s [seed %" PRIu64 "]\n", s.ToString().c_str(),
               config.seed);
  return kExitDbError;
}

int Destroy(const Config& config) {
  lsmkv::Options options;
  options.engine = config.engine;
  lsmkv::Status s = lsmkv::DestroyDB(config.db_path, options);
  if (!s.ok()) {
    std::fprintf(stderr, "lsmkv_stress: cannot destroy %s: %s\n", config.db_path.c_str(),
                 s.ToString().c_str());
    return kExitDbError;
  }
  if (::unlink(config.expected_path.c_str()) != 0 && errno != ENOENT) {
    std::fprintf(stderr, "lsmkv_stress: cannot remove %s: %s\n", config.expected_path.c_str(),
                 std::strerror(errno));
    return kExitUsage;
  }
  std::printf("lsmkv_stress: destroyed %s and %s\n", config.db_path.c_str(),
              config.expected_path.c_str());
  return 0;
}

// Reopen-and-verify, optionally followed by the workload and a second
// reopen-and-verify (which catches writes lost by a clean Close). A
// verify-only run opens without paranoid_checks: after a kill the last WAL
// record may be torn, which paranoid_checks rejects by design; the
// workload's opens follow a clean Close and use the drawn value.
int Run(const Config& config, bool verify_only) {
  ExpectedState expected;
  std::string error;
  if (!expected.Open(config.expected_path, config.keys, &error)) {
    std::fprintf(stderr, "lsmkv_stress: %s\n", error.c_str());
    return kExitUsage;
  }
  std::unique_ptr<lsmkv::DB> db;
  if (int code = OpenDb(config, &db); code != 0) return code;
  if (int code = VerifyAndReport(config, db.get(), &expected, "reopen"); code != 0) return code;
  if (verify_only) return CloseDb(config, &db);

  if (int code = RunWorkload(config, db.get(), &expected); code != 0) return code;
  if (int code = CloseDb(config, &db); code != 0) return code;
  if (int code = OpenDb(config, &db); code != 0) return code;
  if (int code = VerifyAndReport(config, db.get(), &expected, "final"); code != 0) return code;
  return CloseDb(config, &db);
}

// The flags main reads besides those of Config.
struct Flags {
  bool verify_only = false;
  bool destroy = false;
  bool list_kill_points = false;
  std::optional<uint64_t> seed;
  std::string engine = "lsm";  // a StorageEngineName (checked by the parser)
};

// Declares every command-line flag on *app, bound to *config and *flags.
void AddFlags(CLI::App* app, Config* config, Flags* flags) {
  app->add_flag("--list_kill_points", flags->list_kill_points,
                "print the names of the kill points, one a line, and exit");
  app->add_option("--db", config->db_path, "database directory (required)");
  app->add_option("--expected", config->expected_path, "expected-state file (required)");
  app->add_option("--kill_point", config->kill_point,
                  "kill the process (SIGKILL) at the --kill_after'th hit of this point")
      ->check([](const std::string& name) {
        return KillPointEnv::IsPoint(name) ? std::string()
                                           : "unknown kill point (see --list_kill_points)";
      });
  app->add_option("--kill_after", config->kill_after, "which hit of --kill_point kills (1 = first)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 62));
  app->add_flag("--kill_before", config->kill_before,
                "kill just before the step instead of just after it returns");
  app->add_option("--kill_odds", config->kill_odds,
                  "kill at each hit of any point (of --kill_point if given) with odds 1/N")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 62));
  app->add_option("--seed", flags->seed,
                  "seed of the options and the workload (default: from the clock)");
  app->add_option("--threads", config->threads, "writer threads, each owning a slice of the keys")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app->add_option("--keys", config->keys, "number of keys (fixed for an expected-state file)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100000000u));
  app->add_option("--seconds", config->seconds, "stop the workload after this time (0: no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app->add_option("--ops", config->ops,
                  "stop the workload after this many operations (0: no limit)")
      ->capture_default_str();
  app->add_option("--max_manifest_file_size", config->max_manifest_file_size_override,
                  "use this MANIFEST size limit instead of the one drawn from the seed")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app->add_option("--block_cache_size", config->block_cache_size_override,
                  "use this block cache size instead of the one drawn from the seed")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app->add_option("--write_buffer_size", config->write_buffer_size_override,
                  "use this write buffer size instead of the one drawn from the seed")
      ->check(CLI::Range(uint64_t{4096}, uint64_t{1} << 34));
  app->add_option("--sync_percent", config->sync_percent_override,
                  "sync this share of writes instead of the one drawn from the seed")
      ->check(CLI::Range(1u, 100u));
  app->add_flag("--transactions", config->transactions,
                "always run transactions (a drawn kSkipAnyCorrupted recovery mode, which "
                "transactions refuse, becomes kPointInTime)");
  app->add_option("--engine", flags->engine, "storage engine: lsm, btree or bitcask")
      ->capture_default_str()
      ->check(CLI::IsMember({"lsm", "btree", "bitcask"}));
  auto* verify_flag = app->add_flag("--verify-only", flags->verify_only,
                                    "reopen, verify every key, resolve and exit");
  app->add_flag("--destroy", flags->destroy,
                "remove the database and the expected-state file and exit")
      ->excludes(verify_flag);
}

// Every step of the run goes through the kill-point env: it kills when armed
// and reports the points hit. Arms it as config asks and makes it the env of
// config->options (a verify-only run is never killed and opens without
// paranoid_checks; see Run). The env is never destroyed (a background thread
// of the DB may still be using it while the process exits); a static pointer
// keeps it reachable, so LeakSanitizer does not count it.
KillPointEnv* SetUpEnv(Config* config, bool verify_only) {
  static KillPointEnv* const kill_env = new KillPointEnv(Env::Default());
  if (verify_only) {
    config->options.paranoid_checks = false;  // see Run
    return kill_env;
  }
  config->options.env = kill_env;
  if (!config->kill_point.empty() && config->kill_odds == 0) {
    kill_env->KillAt(
        config->kill_point, config->kill_after,
        config->kill_before ? KillPointEnv::Timing::kBefore : KillPointEnv::Timing::kAfter);
  }
  if (config->kill_odds > 0) {
    kill_env->KillRandomly(config->kill_odds, config->seed ^ 0x6b696c6cull, config->kill_point);
  }
  return kill_env;
}

int Main(int argc, char** argv) {
  CLI::App app{"lsmkv_stress: randomized workload checked against a crash-proof expected state"};
  Config config;
  Flags flags;
  AddFlags(&app, &config, &flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (flags.list_kill_points) {
    // The points a workload of --engine reaches: the LSM's files, or the
    // database directory and the B+tree's page file and logs. Bitcask's
    // files have no kill points (kill_point_env.h): an error, not nothing.
    std::vector<std::string> points;
    if (flags.engine == "lsm") {
      points = KillPointEnv::AllPoints();
    } else if (flags.engine == "btree") {
      points = {"dir.create", "dir.sync"};
      for (const std::string& p : KillPointEnv::BTreePoints()) points.push_back(p);
    } else {
      std::fprintf(stderr, "lsmkv_stress: the %s engine has no kill points\n",
                   flags.engine.c_str());
      return kExitUsage;
    }
    for (const std::string& point : points) std::printf("%s\n", point.c_str());
    return 0;
  }
  if (config.db_path.empty() || config.expected_path.empty()) {
    std::fprintf(stderr, "lsmkv_stress: --db and --expected are required\n");
    return kExitUsage;
  }
  for (StorageEngine e : {StorageEngine::kLsm, StorageEngine::kBTree, StorageEngine::kBitcask}) {
    if (flags.engine == StorageEngineName(e)) config.engine = e;
  }
  if (flags.destroy) return Destroy(config);
  if (!flags.verify_only && config.seconds == 0 && config.ops == 0) {
    std::fprintf(stderr, "lsmkv_stress: --seconds 0 and --ops 0: the workload would never end\n");
    return kExitUsage;
  }
  config.seed =
      flags.seed.has_value()
          ? *flags.seed
          : static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  Randomize(&config);
  KillPointEnv* const kill_env = SetUpEnv(&config, flags.verify_only);
  PrintConfig(config, flags.verify_only ? "verify-only" : "run");
  const int code = Run(config, flags.verify_only);
  if (!flags.verify_only) {
    std::printf("lsmkv_stress: kill points hit: %s\n", kill_env->HitSummary().c_str());
  }
  if (code == 0) std::printf("lsmkv_stress: OK\n");
  return code;
}

}  // namespace
}  // namespace lsmkv::stress

int main(int argc, char** argv) { return lsmkv::stress::Main(argc, argv); }
