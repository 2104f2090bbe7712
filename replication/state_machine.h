// The replicated state machine: one replica's lsmkv database, to which Raft
// applies committed log entries (docs/replication.md).
//
// Every applied command is written in one WriteBatch together with the index
// of its log entry (under kReservedPrefix), so the database always holds the
// effect of exactly the entries up to applied_index(), never part of one.
// Raft re-applies entries after a restart (from its last snapshot on); Apply
// skips those at or below applied_index(), which makes replay idempotent.
//
// Writes are not synced: the Raft log is the durable record. A crash may lose
// the database's latest applies, but only as a suffix — the database is opened
// with a prefix-preserving WAL recovery mode — and Raft re-applies them.
//
// A replica's directory (the root):
//   LIVE              names the live database directory (replaced atomically)
//   db-N/             the live lsmkv database (db-0 at first; N grows with each
//                     snapshot installed)
//   checkpoints/I/    checkpoints offered as Raft snapshots, I = the applied
//                     index, zero-padded (the newest kKeptCheckpoints are kept)
//   incoming/         a snapshot being fetched (removed by Open)
//
// Thread safety: Apply, TakeSnapshot and RestoreSnapshot are called by one
// thread at a time (libraft's loop thread); applied_index() may be read on any
// thread; db() and Digest only on that thread or while it is quiescent, since
// RestoreSnapshot replaces the database.
#ifndef LSMKV_REPLICATION_STATE_MACHINE_H_
#define LSMKV_REPLICATION_STATE_MACHINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "lsmkv/db.h"
#include "lsmkv/options.h"
#include "lsmkv/status.h"
#include "replication/snapshot.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::replication {

// The key under which the applied index is stored (fixed64).
inline constexpr std::string_view kAppliedIndexKey =
    "\xff\xff"
    "raft/applied";

// Server client addresses (kAnnounce commands) are stored under this prefix,
// followed by the server id as fixed64 big-endian.
inline constexpr std::string_view kNodeAddressPrefix =
    "\xff\xff"
    "raft/node/";

// Options for a replica's database: the defaults with
// wal_recovery_mode = kPointInTime.
Options ReplicaOptions();

// Checkpoints kept for followers to fetch (older ones are deleted when a new
// one is taken).
inline constexpr int kKeptCheckpoints = 3;

class StateMachine {
 public:
  // Opens (creating if missing) the replica at root: its live database and its
  // applied index (0 for a new one). Removes what a crash left half done (a
  // partial fetch, a database directory LIVE does not name).
  // InvalidArgument if options.wal_recovery_mode is kSkipAnyCorrupted, which
  // could keep a later write without an earlier one; Corruption if LIVE or the
  // stored applied index is malformed. All I/O goes through options.env.
  static Status Open(const Options& options, const std::string& root,
                     std::unique_ptr<StateMachine>* out);

  StateMachine(const StateMachine&) = delete;
  StateMachine& operator=(const StateMachine&) = delete;
  ~StateMachine() = default;

  // Applies the command of log entry `index`. REQUIRES: index > 0.
  // An entry at or below applied_index() was applied before a restart: it is
  // skipped, OK with *applied = false. Otherwise the command's batch and the new
  // applied index are written in one batch: OK with *applied = true.
  // Corruption for a malformed command (nothing written: a replica must stop
  // rather than diverge); a write error is returned as is (nothing applied).
  Status Apply(uint64_t index, std::string_view command, bool* applied);

  // The index of the last entry whose effect the database holds.
  uint64_t applied_index() const { return applied_index_.load(std::memory_order_acquire); }

  // The live database, for reads. Owned by this object; valid until the next
  // RestoreSnapshot that installs a snapshot.
  DB* db() const { return db_.get(); }

  // Takes a checkpoint of the database as of applied_index() (synced) under
  // checkpoints/ and describes it, as held by server `self`, in *descriptor
  // (EncodeSnapshotDescriptor). Deletes checkpoints beyond the newest
  // kKeptCheckpoints.
  Status TakeSnapshot(uint64_t self, std::string* descriptor);

  // Installs the snapshot `descriptor` names. If applied_index() is already at
  // or past its index (a restart restores the last snapshot before replaying
  // the log), nothing changes: OK. Otherwise its files are fetched into
  // incoming/ — from this replica's own checkpoints/ if server == self and the
  // checkpoint is there, else from `source` — each verified against the
  // descriptor's size and CRC32C, the fetched database is opened and must hold
  // exactly the descriptor's index, LIVE is switched to it (atomically, synced)
  // and the old database is removed. If the files cannot be fetched (the
  // holder deleted that checkpoint, or is down), the newest snapshot of the
  // holder, then of any other known server, is installed instead when its
  // index is at or past the descriptor's (FetchAny). A failure at any step
  // leaves the old database live (a crash before the switch likewise: Open
  // removes the rest). Corruption for a damaged descriptor or a file that
  // does not match it.
  Status RestoreSnapshot(std::string_view descriptor, uint64_t self, SnapshotSource* source);

  // Runs after an installed snapshot's database is made live (LIVE switched,
  // synced) and before the database db() returned is closed. A process whose
  // other threads hold db() can end or re-execute itself here: the replica
  // then opens the installed database. Called on the applying thread.
  void set_replace_hook(std::function<void()> hook) { replace_hook_ = std::move(hook); }
  // Runs when RestoreSnapshot starts installing a snapshot newer than the
  // database, before it fetches a file (d is the decoded descriptor). Called
  // on the applying thread.
  void set_install_hook(std::function<void(const SnapshotDescriptor& d)> hook) {
    install_hook_ = std::move(hook);
  }

  // The client address each server announced (kAnnounce), by id. Any thread.
  std::map<uint64_t, std::string> NodeAddresses() const EXCLUDES(nodes_mu_);
  // One server's announced address; empty if none.
  std::string NodeAddress(uint64_t id) const EXCLUDES(nodes_mu_);

  // Snapshots installed by RestoreSnapshot since Open.
  uint64_t installed_snapshots() const { return installed_snapshots_; }
  // Installs that fetched a newer snapshot than the one asked for, because
  // the asked one's files could not be fetched (RestoreSnapshot).
  uint64_t newer_snapshots_installed() const { return newer_installed_; }

  // The descriptor of the newest snapshot this replica took and still holds
  // complete (TakeSnapshot, or the own snapshot libraft restored at start);
  // empty if none since Open. Other servers install it when the snapshot they
  // were sent is gone (CLUSTER SNAPSHOT-NEWEST). Any thread.
  std::string NewestSnapshot() const EXCLUDES(newest_mu_);

  // A digest of every user key and value (the reserved keys excluded) and
  // their number: equal on replicas that applied the same entries.
  Status Digest(uint64_t* digest, uint64_t* keys) const;

 private:
  StateMachine(Options options, std::string root, uint64_t live, std::unique_ptr<DB> db,
               uint64_t applied)
      : options_(std::move(options)),
        root_(std::move(root)),
        live_(live),
        db_(std::move(db)),
        applied_index_(applied) {}

  // Reads every announced address from db_ into nodes_.
  Status LoadNodes() EXCLUDES(nodes_mu_);
  Status FetchInto(const SnapshotDescriptor& d, uint64_t self, SnapshotSource* source,
                   const std::string& dir);
  // FetchInto, and if that fails, the newest snapshot (at or past d's index)
  // of d.server and then of every other known server, fetched instead: any
  // of them holds only committed entries, and apply skips entries the
  // database already holds. On success *d is what was fetched.
  Status FetchAny(SnapshotDescriptor* d, uint64_t self, SnapshotSource* source,
                  const std::string& dir);

  const Options options_;
  const std::string root_;
  uint64_t live_;  // N of the live db-N
  std::unique_ptr<DB> db_;
  std::atomic<uint64_t> applied_index_;
  uint64_t installed_snapshots_ = 0;
  std::function<void()> replace_hook_;
  std::function<void(const SnapshotDescriptor&)> install_hook_;
  uint64_t newer_installed_ = 0;
  mutable Mutex newest_mu_;
  std::string newest_ GUARDED_BY(newest_mu_);
  mutable Mutex nodes_mu_;
  std::map<uint64_t, std::string> nodes_ GUARDED_BY(nodes_mu_);
};

}  // namespace lsmkv::replication

#endif  // LSMKV_REPLICATION_STATE_MACHINE_H_
