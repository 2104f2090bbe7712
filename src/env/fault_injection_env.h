// FaultInjectionEnv: an EnvWrapper for crash and error tests. It simulates
// power loss (DropUnsyncedData) and injects I/O errors into chosen operations.
//
// What is modelled (precisely):
//
// File data. For every file written through this Env the wrapper knows how
// many bytes were appended and the "synced size": the size at the last
// successful WritableFile::Sync. Close does NOT sync. A file opened with
// NewWritableFile starts with synced size 0, even if it existed before (the
// truncation is not assumed durable; after a crash the file holds only the
// synced prefix of what was written since). A file opened with
// NewAppendableFile keeps its existing bytes as synced. Files never written
// through this Env are fully durable. Appended bytes are buffered in the
// wrapper and reach the target on Flush, Sync, Close or when 64 KiB are
// pending, so nothing is left in the target's own buffers.
//
// Files written in place (NewRandomRWFile). A RandomRWFile::Write reaches
// the target at once; every Write since the file's last successful
// RandomRWFile::Sync is unsynced, and the wrapper keeps its offset, the
// bytes it overwrote (within the file's size then) and the bytes it wrote,
// forgetting them at Sync, which makes the file's current size its synced
// size. At DropUnsyncedData the file becomes its content as of that Sync
// (every unsynced write undone, newest first, and the file cut back to its
// synced size, so a write that extended it is gone too), and:
//   - by default nothing more: every unsynced write is lost;
//   - after SetPartialWriteLoss(seed), the kept part of each unsynced write
//     is applied again, in the order written (a later kept write covers an
//     earlier one; a write reaching past the synced size extends the file,
//     a gap before it reading as zeros). A PRNG seeded with seed decides,
//     for each write in the order written, file by file in name order: kept
//     whole (1/3), lost whole (1/3), or torn (1/3): kept from its start up to
//     a cut point chosen uniformly among its start, its end and every
//     multiple of 512 of the file strictly inside it (a disk that reorders
//     unsynced writes and tears them at sector boundaries). The PRNG runs
//     on across power losses until the next SetPartialWriteLoss: the same
//     seed and the same writes give the same result. ClearPartialWriteLoss
//     restores the default.
// A Write the target failed is always lost. Removing or renaming over the
// file saves its content as of its last Sync. Creating the file (a missing
// name) is a pending directory operation, like the other creations; opening
// an existing file keeps its bytes, synced as they were (all of them if the
// file was untracked).
//
// Directory entries. Creating a file (New*File of a missing name, LinkFile),
// RenameFile and RemoveFile are recorded as pending in the parent directory of
// the affected name (for RenameFile: the directory of the target name) and
// become durable at the next successful SyncDir of that directory. CreateDir
// and RemoveDir are passed through and treated as immediately durable;
// RemoveDir forgets the directory's pending operations.
//
// DropUnsyncedData() (simulated power loss), in this order:
//   0. every file with unsynced in-place writes rewritten through the target
//      Env with its content as described above;
//   1. every other file truncated to its synced size (read the synced
//      prefix, rewrite the file through the target Env);
//   2. every pending directory operation undone, newest first:
//      - a creation: the name is removed;
//      - a removal: the name is recreated with the synced content the file had
//        when it was removed (kept in memory until the directory is synced);
//      - a rename src -> dst: dst is renamed back to src, and if dst existed
//        durably before, its previous synced content is written back to dst.
//   Afterwards everything on the target is considered durable.
//   Memory cost: the synced content of every durable file removed or renamed
//   over since its directory was last synced.
//
// REQUIRES for DropUnsyncedData: every WritableFile and RandomRWFile opened
// through this Env is closed or destroyed, or the filesystem is inactive (see
// below), so that nothing written later lands on top of the restored state.
//
// Simulated crash point: SetFilesystemActive(false). While inactive, every
// mutating call (New{Writable,Appendable,RandomRW}File, Append, Flush, Sync,
// Close, RandomRWFile::Write, Sync and Close, RemoveFile, RenameFile,
// LinkFile, CreateDir, RemoveDir, SyncDir) returns
// IOError("filesystem inactive (simulated crash)") and nothing reaches the
// target; buffered appends are discarded. Reads, FileExists, GetChildren,
// GetFileSize, LockFile and UnlockFile still work, so a DB can be destroyed
// and reopened after DropUnsyncedData + SetFilesystemActive(true).
//
// Error injection. Every call of a FaultOp is counted (CallCount). A failing
// call returns Status::IOError (kEIO) or Status::NoSpace (kENOSPC) with a
// message containing "injected", and has no effect on the target: a failed
// Append buffers nothing, a failed Sync marks nothing synced, a failed open,
// rename, remove or link does not happen. A failed Close discards the bytes
// not yet flushed and closes the target file. Counted ops:
//   kOpen: NewSequentialFile, NewRandomAccessFile, NewWritableFile,
//          NewAppendableFile, NewRandomRWFile; kRead: SequentialFile::Read/
//          Skip, RandomAccessFile::Read and RandomRWFile::Read;
//   kAppend: WritableFile::Append and RandomRWFile::Write (a failed Write
//          writes nothing); kSync: WritableFile::Sync and RandomRWFile::Sync;
//   kClose: WritableFile::Close and RandomRWFile::Close (a failed one still
//          closes the target file);
//   kRename: RenameFile; kRemove: RemoveFile and RemoveDir; kSyncDir;
//   kLock: LockFile; kGetFileSize; kGetChildren; kCreateDir; kLink: LinkFile.
// Each op has one fault setting at a time; a new FailNth/FailFrom/FailRandomly
// for an op replaces the previous one. kEACCES fails like a permission
// denial: Status::IOError whose message says "Permission denied".
//
// Simulated full disk: SetSpaceLimit(n) lets appends add at most n more bytes
// (net: removing a file, or truncating one by opening it with
// NewWritableFile, or renaming over one, gives its size back). An Append that
// does not fit writes the prefix that fits and fails with Status::NoSpace, as
// a real filesystem does (the file then ends in a partial write). A
// RandomRWFile::Write is charged the file's growth, new size minus old size
// (a gap before the data included; overwrites are free); if that does not
// fit it writes the prefix of data that keeps the file within the budget
// (nothing, and the file does not grow, if the budget ends before offset)
// and fails with Status::NoSpace.
// GetFreeSpace reports the bytes left while a limit is set, and the target's
// answer otherwise. AddSpace(n) frees n bytes (an operator deleting a filler
// file); ClearSpaceLimit() removes the limit. ClearFaults leaves it.
//
// Read damage (successful reads only: SequentialFile, RandomAccessFile and
// RandomRWFile reads): CorruptReads
// flips one bit of a result, ShortReads returns a strict prefix of it (OK
// status, as at the end of the file). SetInjectionObserver is told about
// every injected error.
//
// Thread safety: all methods may be called concurrently (one internal mutex).
// The files returned follow the Env contracts (RandomAccessFile is thread
// safe; others are not). This Env must outlive every file it returned.
#ifndef LSMKV_ENV_FAULT_INJECTION_ENV_H_
#define LSMKV_ENV_FAULT_INJECTION_ENV_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "lsmkv/env.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv {

enum class FaultOp {
  kOpen,  // New*File (NewRandomRWFile too)
  kRead,
  kAppend,  // WritableFile::Append, RandomRWFile::Write
  kSync,    // WritableFile::Sync, RandomRWFile::Sync
  kClose,
  kRename,
  kRemove,
  kSyncDir,
  kLock,
  kGetFileSize,
  kGetChildren,
  kCreateDir,
  kLink,
};
inline constexpr int kNumFaultOps = static_cast<int>(FaultOp::kLink) + 1;

enum class FaultKind { kEIO, kENOSPC, kEACCES };

// "Open", "Read", ... for messages.
const char* FaultOpName(FaultOp op);

class FaultInjectionEnv : public EnvWrapper {
 public:
  // target must outlive this Env.
  explicit FaultInjectionEnv(Env* target);
  ~FaultInjectionEnv() override;

  // ---- Power loss.
  // See the file comment. Returns the first error met while restoring (it
  // keeps going after an error).
  Status DropUnsyncedData();
  // While inactive, mutating calls fail and reach nothing (a crash in progress).
  void SetFilesystemActive(bool active);
  bool IsFilesystemActive() const;

  // ---- Error injection.
  // The nth call (n >= 1; 1 = the next call) of op from now fails, once.
  void FailNth(FaultOp op, uint64_t n, FaultKind kind = FaultKind::kEIO);
  // The nth call of op from now and every later call fail.
  void FailFrom(FaultOp op, uint64_t n, FaultKind kind = FaultKind::kEIO);
  // Each call of op fails with the given probability, decided by a PRNG
  // seeded with seed: the same seed gives the same sequence of failures.
  void FailRandomly(FaultOp op, double probability, uint64_t seed,
                    FaultKind kind = FaultKind::kEIO);
  // ---- Simulated full disk (see the file comment).
  void SetSpaceLimit(uint64_t bytes);
  void AddSpace(uint64_t bytes);
  void ClearSpaceLimit();
  // Appends refused (in whole or in part) for lack of space so far.
  uint64_t NoSpaceCount() const;

  // Each successful non-empty read has one bit flipped with this probability.
  void CorruptReads(double probability, uint64_t seed);
  // Each successful non-empty read is cut to a random strict prefix (maybe
  // empty) with this probability, with OK status.
  void ShortReads(double probability, uint64_t seed);
  // CorruptReads and ShortReads damage only reads of files whose name ends
  // with suffix ("" = every file, the default).
  void SetReadDamageFilter(std::string suffix);
  // Called with the op and the file (or "rename A to B") of every injected
  // error, with the env's mutex held: fn must not call this env. Empty: none.
  void SetInjectionObserver(std::function<void(FaultOp op, const std::string& what)> fn);
  // From now on every DropUnsyncedData keeps, loses or tears each unsynced
  // in-place write at random, decided by a PRNG seeded with seed (see the
  // file comment), instead of losing them all.
  void SetPartialWriteLoss(uint64_t seed);
  // Back to the default: every unsynced in-place write is lost.
  void ClearPartialWriteLoss();
  // Removes every fault, read corruption and short read (counters and the
  // observer are kept).
  void ClearFaults();

  // Calls of op seen since construction or ResetCounts(), failed ones included.
  uint64_t CallCount(FaultOp op) const;
  void ResetCounts();
  // Errors injected so far (not reset by ResetCounts).
  uint64_t InjectedCount() const;
  // Reads corrupted by CorruptReads so far.
  uint64_t CorruptedReadCount() const;
  // Reads cut short by ShortReads so far.
  uint64_t ShortenedReadCount() const;

  // ---- Env.
  Status NewSequentialFile(const std::string& fname,
                           std::unique_ptr<SequentialFile>* result) override;
  Status NewRandomAccessFile(const std::string& fname,
                             std::unique_ptr<RandomAccessFile>* result) override;
  Status NewWritableFile(const std::string& fname, std::unique_ptr<WritableFile>* result) override;
  Status NewAppendableFile(const std::string& fname,
                           std::unique_ptr<WritableFile>* result) override;
  Status NewRandomRWFile(const std::string& fname, std::unique_ptr<RandomRWFile>* result) override;
  Status GetChildren(const std::string& dir, std::vector<std::string>* result) override;
  Status RemoveFile(const std::string& fname) override;
  Status CreateDir(const std::string& dir) override;
  Status RemoveDir(const std::string& dir) override;
  Status GetFileSize(const std::string& fname, uint64_t* size) override;
  Status RenameFile(const std::string& src, const std::string& target) override;
  Status LinkFile(const std::string& src, const std::string& target) override;
  Status SyncDir(const std::string& dir) override;
  Status GetFreeSpace(const std::string& path, uint64_t* bytes) override;
  Status LockFile(const std::string& fname, FileLock** lock) override;

 private:
  friend class FaultWritableFile;
  friend class FaultSequentialFile;
  friend class FaultRandomAccessFile;
  friend class FaultRandomRWFile;

  // One unsynced in-place write: what it overwrote and what it wrote.
  struct Undo {
    uint64_t offset;
    std::string old_bytes;  // the bytes at offset before the write, within the size then
    std::string new_bytes;  // the bytes written; empty if the target's write failed
  };

  // Durability state of one written file ("inode"); shared by its names and
  // by its open WritableFile.
  struct FileInfo {
    uint64_t size = 0;       // Bytes accepted by Append.
    uint64_t synced = 0;     // Bytes durable.
    std::vector<Undo> undo;  // In-place writes since the last sync, oldest first.
  };
  using FileInfoRef = std::shared_ptr<FileInfo>;

  // A directory operation not yet made durable by SyncDir.
  struct PendingOp {
    enum class Type { kCreate, kRemove, kRename };
    Type type;
    uint64_t seq;          // Global order, for undoing newest first.
    std::string name;      // kCreate/kRemove: the name; kRename: the target.
    std::string src;       // kRename: the source.
    bool restore = false;  // kRemove/kRename: write saved back to name.
    std::string saved;     // Synced content of the file that name referred to.
  };

  struct Fault {
    enum class Mode { kNone, kNth, kFrom, kRandom };
    Mode mode = Mode::kNone;
    FaultKind kind = FaultKind::kEIO;
    uint64_t n = 0;     // kNth/kFrom: which call (1-based) since armed.
    uint64_t seen = 0;  // kNth/kFrom: calls since armed.
    double probability = 0;
    std::mt19937_64 rng;
  };

  // Counts a call of op and decides whether it fails. Returns the injected
  // error, or OK. Takes mu_.
  Status MaybeFail(FaultOp op, const std::string& what) EXCLUDES(mu_);
  Status MaybeFailLocked(FaultOp op, const std::string& what) REQUIRES(mu_);
  // With a space limit: how many of n bytes appended to a file fit (all of
  // them without a limit); charges them. Takes mu_.
  uint64_t ChargeSpace(uint64_t n) EXCLUDES(mu_);
  // With a space limit: n bytes charged by ChargeSpace but not used go back
  // to the budget. Takes mu_.
  void ReturnSpace(uint64_t n) EXCLUDES(mu_);
  // With a space limit: the bytes of path (tracked or on the target) return
  // to the budget; call before path is removed or overwritten.
  void RefundSpaceLocked(const std::string& path) REQUIRES(mu_);

  // IOError if inactive.
  Status CheckActiveLocked(const std::string& what) const REQUIRES(mu_);
  // Both checks under one lock: inactive first, then injection.
  Status CheckMutation(FaultOp op, const std::string& what) EXCLUDES(mu_);
  // Flips a bit of *result (copying into scratch) if read corruption fires,
  // and cuts it short if ShortReads fires.
  void MaybeCorruptRead(const std::string& fname, std::string_view* result, char* scratch)
      EXCLUDES(mu_);

  Status OpenWritable(const std::string& fname, bool append, std::unique_ptr<WritableFile>* result);
  // Synced size of the file called path.
  Status DurableSizeLocked(const std::string& path, uint64_t* size) REQUIRES(mu_);
  // First n bytes of fname read through the target.
  Status ReadPrefix(const std::string& fname, uint64_t n, std::string* out);
  // Replaces fname's content on the target with data.
  Status RewriteFile(const std::string& fname, std::string_view data);
  // Turns *content (a file's current bytes) into its bytes as of its last
  // Sync: undoes the unsynced in-place writes, newest first, and cuts it to
  // synced bytes.
  static void UndoInPlaceWrites(const std::vector<Undo>& undo, uint64_t synced,
                                std::string* content);
  // The durable content of path (durable: its DurableSizeLocked), without
  // its unsynced in-place writes.
  Status ReadDurableLocked(const std::string& path, uint64_t durable, std::string* out)
      REQUIRES(mu_);
  // Partial write loss: how many leading bytes of an unsynced write of size
  // bytes at offset survive the power loss (see the file comment).
  size_t PartialWriteKeepLocked(uint64_t offset, size_t size) REQUIRES(mu_);
  void AddPendingLocked(const std::string& dir, PendingOp op) REQUIRES(mu_);
  // The FileInfo of path, just opened for writing through the target:
  // created (a pending creation in its directory) if the name did not
  // exist, else current_size bytes of which the synced part stays synced
  // (all of them if the file was not tracked).
  FileInfoRef TrackOpenedLocked(const std::string& path, bool existed, uint64_t current_size)
      REQUIRES(mu_);
  bool IsNewNameLocked(const std::string& path) const REQUIRES(mu_);

  // One lock for all of the env's state and every FileInfo (a leaf lock,
  // except that the observer runs under it).
  mutable Mutex mu_;
  bool active_ GUARDED_BY(mu_) = true;
  uint64_t next_seq_ GUARDED_BY(mu_) = 1;
  std::map<std::string, FileInfoRef> files_ GUARDED_BY(mu_);
  std::map<std::string, std::vector<PendingOp>> pending_ GUARDED_BY(mu_);
  // Per directory, names whose current entry was created, renamed into or
  // linked since the directory's last SyncDir (not durable yet).
  std::map<std::string, std::set<std::string>> new_names_ GUARDED_BY(mu_);
  Fault faults_[kNumFaultOps] GUARDED_BY(mu_);
  uint64_t counts_[kNumFaultOps] GUARDED_BY(mu_) = {};
  uint64_t injected_ GUARDED_BY(mu_) = 0;
  double corrupt_probability_ GUARDED_BY(mu_) = 0;
  std::mt19937_64 corrupt_rng_ GUARDED_BY(mu_);
  uint64_t corrupted_reads_ GUARDED_BY(mu_) = 0;
  double short_probability_ GUARDED_BY(mu_) = 0;
  std::mt19937_64 short_rng_ GUARDED_BY(mu_);
  uint64_t shortened_reads_ GUARDED_BY(mu_) = 0;
  std::string damage_suffix_ GUARDED_BY(mu_);
  std::function<void(FaultOp, const std::string&)> observer_ GUARDED_BY(mu_);
  bool partial_write_loss_ GUARDED_BY(mu_) = false;
  std::mt19937_64 partial_rng_ GUARDED_BY(mu_);
  bool space_limited_ GUARDED_BY(mu_) = false;
  uint64_t space_left_ GUARDED_BY(mu_) = 0;
  uint64_t no_space_count_ GUARDED_BY(mu_) = 0;
};

}  // namespace lsmkv

#endif  // LSMKV_ENV_FAULT_INJECTION_ENV_H_
