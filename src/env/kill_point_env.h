// KillPointEnv: named crash points on every durability step of the engine,
// without a line of kill-point code inside the engine.
//
// Every file the engine writes goes through its Env, so an EnvWrapper sees
// each step: it classifies the file by its name (src/db/filename.h: WAL
// "000012.log", table "000012.sst", "MANIFEST-000005", CURRENT and its
// temporary "000005.dbtmp"; the B+tree engine's page file "BTREE" and its
// write-ahead logs "BTREE-000007.log") and the operation, and names the step.
// The LSM engine's points (AllPoints(), in this order):
//
//   dir.create  dir.sync
//   wal.create  wal.append  wal.sync  wal.close  wal.remove
//   table.create  table.append  table.sync  table.close  table.remove
//   manifest.create  manifest.append  manifest.sync  manifest.close  manifest.remove
//   current.tmp.create  current.tmp.append  current.tmp.sync  current.tmp.close  current.rename
//
// The B+tree engine's (BTreePoints(), in this order; it shares dir.*):
//
//   btree.create  btree.write  btree.sync  btree.close
//   btree.wal.create  btree.wal.append  btree.wal.sync  btree.wal.close  btree.wal.remove
//
// btree.create is NewRandomRWFile of the page file, whether or not it
// exists; btree.write and btree.sync are RandomRWFile::Write and Sync of it.
// A step that is none of these — the info log, the LOCK file, reads — is
// passed through and never kills.
//
// A point is "hit" each time its step runs. The env can kill the process
// (SIGKILL, as kill -9 would) just before or just after the nth hit of one
// point, or at every hit of any point with odds 1/N. "After" means the call
// returned (successfully or not) and its effects are in the target Env; for
// PosixEnv that is the page cache, which survives the kill.
//
// Thread safety: all methods may be called concurrently (one internal mutex).
// The writable and read-write files returned are as thread safe as the
// target's.
#ifndef LSMKV_ENV_KILL_POINT_ENV_H_
#define LSMKV_ENV_KILL_POINT_ENV_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lsmkv/env.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv {

// What a file in a database directory is, judged by its name alone.
enum class DbFileKind {
  kWal,
  kTable,
  kManifest,
  kCurrent,      // CURRENT
  kCurrentTemp,  // NNNNNN.dbtmp, renamed over CURRENT when complete
  kInfoLog,      // LOG, LOG.old
  kLock,
  kOptions,
  kBTree,     // BTREE, the B+tree engine's page file
  kBTreeWal,  // BTREE-000007.log, a B+tree write-ahead log
  kOther,     // not a name the engine produces
};

// Classifies path by its last component (ParseFileName, and the B+tree
// engine's names: "BTREE", and "BTREE-" digits ".log").
DbFileKind ClassifyDbFile(const std::string& path);
// "wal", "table", "manifest", "current", "current.tmp", "infolog", "lock",
// "options", "btree", "btree.wal", "other".
const char* DbFileKindName(DbFileKind kind);

class KillPointEnv : public EnvWrapper {
 public:
  enum class Timing { kBefore, kAfter };
  // Called instead of the default kill; see SetKillFunction.
  using KillFunction = std::function<void(const std::string& point, uint64_t hit, Timing timing)>;

  // The LSM engine's points, in the order of the file comment (every one
  // is reached by an LSM workload: the kill-points crash test runs them all).
  static const std::vector<std::string>& AllPoints();
  // The B+tree engine's points, in the order of the file comment.
  static const std::vector<std::string>& BTreePoints();
  // True for a point of AllPoints() or BTreePoints().
  static bool IsPoint(const std::string& name);

  // target must outlive this Env.
  explicit KillPointEnv(Env* target);
  ~KillPointEnv() override;

  // The nth hit (n >= 1) of point counted from this call kills the process,
  // just before the operation or just after it returns. Replaces an earlier
  // KillAt. REQUIRES: IsPoint(point).
  void KillAt(const std::string& point, uint64_t nth, Timing timing);
  // Every hit of any point (of point only, if it is not empty) kills with
  // probability 1/odds (odds >= 1), before or after the operation (a fair
  // coin), decided by a PRNG seeded with seed.
  void KillRandomly(uint64_t odds, uint64_t seed, const std::string& point = "");
  // Disarms KillAt and KillRandomly.
  void Disarm();

  // By default a kill writes "kill point <name> (<before|after> hit <n>)" to
  // stderr and raises SIGKILL. A test can substitute fn (called without the
  // internal lock held; if it returns, the operation goes on normally).
  void SetKillFunction(KillFunction fn);

  // Hits of every point since construction (points never hit are absent).
  std::map<std::string, uint64_t> HitCounts() const;
  // "wal.append=1234 wal.sync=5 ..." in AllPoints() then BTreePoints()
  // order, hit points only.
  std::string HitSummary() const;

  // ---- Env.
  Status NewWritableFile(const std::string& fname, std::unique_ptr<WritableFile>* result) override;
  Status NewAppendableFile(const std::string& fname,
                           std::unique_ptr<WritableFile>* result) override;
  Status NewRandomRWFile(const std::string& fname, std::unique_ptr<RandomRWFile>* result) override;
  Status RemoveFile(const std::string& fname) override;
  Status CreateDir(const std::string& dir) override;
  Status RenameFile(const std::string& src, const std::string& target) override;
  Status SyncDir(const std::string& dir) override;

 private:
  friend class KillPointWritableFile;
  friend class KillPointRandomRWFile;

  // Counts a hit of point and runs op, killing just before or just after it
  // if armed so. An empty point only runs op.
  Status Step(const std::string& point, const std::function<Status()>& op) EXCLUDES(mu_);
  void Kill(const std::string& point, uint64_t hit, Timing timing);
  Status OpenWritable(const std::string& fname, bool append, std::unique_ptr<WritableFile>* result);

  mutable Mutex mu_;  // a leaf lock (kill functions run without it)
  std::map<std::string, uint64_t> hits_ GUARDED_BY(mu_);
  // KillAt: the armed point, its hit count when armed, n and timing.
  std::string kill_point_ GUARDED_BY(mu_);  // empty = not armed
  uint64_t kill_base_ GUARDED_BY(mu_) = 0;
  uint64_t kill_nth_ GUARDED_BY(mu_) = 0;
  Timing kill_timing_ GUARDED_BY(mu_) = Timing::kAfter;
  // KillRandomly.
  uint64_t odds_ GUARDED_BY(mu_) = 0;       // 0 = off
  std::string odds_point_ GUARDED_BY(mu_);  // empty = every point
  std::mt19937_64 rng_ GUARDED_BY(mu_);
  KillFunction kill_function_ GUARDED_BY(mu_);  // empty = SIGKILL
};

}  // namespace lsmkv

#endif  // LSMKV_ENV_KILL_POINT_ENV_H_
