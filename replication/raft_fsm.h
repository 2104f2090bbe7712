// The glue between libraft and a StateMachine: a struct raft_fsm whose apply
// callback applies each committed command entry to the replica's database.
//
// libraft does not pass the entry's index to apply; inside the callback it is
// raft_last_applied() + 1 (barrier and configuration entries advance
// last_applied without reaching the FSM). An apply that fails returns
// RAFT_IOERR: libraft then leaves last_applied where it was and retries the
// entry on its next pass, so a replica stalls rather than skips an entry.
//
// Snapshots: the snapshot callback takes a checkpoint and hands libraft its
// descriptor (StateMachine::TakeSnapshot); restore installs a descriptor's
// checkpoint, fetching its files through the SnapshotSource
// (StateMachine::RestoreSnapshot) — or does nothing when the replica already
// holds that index, as after a restart. Failures return RAFT_IOERR.
//
// Thread safety: every call happens on libraft's loop thread.
#ifndef LSMKV_REPLICATION_RAFT_FSM_H_
#define LSMKV_REPLICATION_RAFT_FSM_H_

#include <cstdint>
#include <functional>

#include "lsmkv/status.h"
#include "replication/raft_c.h"
#include "replication/state_machine.h"

namespace lsmkv::replication {

class RaftFsm {
 public:
  // REQUIRES: machine and source outlive this object. Not owned. source may
  // be null for a replica that only restores its own snapshots.
  RaftFsm(StateMachine* machine, SnapshotSource* source);
  RaftFsm(const RaftFsm&) = delete;
  RaftFsm& operator=(const RaftFsm&) = delete;

  // The FSM to hand to raft_init (or raft_fixture_grow). Owned by this object.
  raft_fsm* fsm() { return &fsm_; }

  // A failed restore leaves libraft 0.22.1 unable to apply again: its v0
  // layer has reset the log to the snapshot and forgets the snapshot before
  // restoring it (legacy.c, legacyHandleUpdateCommitIndex), so the entries
  // between the state machine and the snapshot are gone and the node stays
  // at its applied index for good. With a retry function, a failed restore
  // is tried again for as long as retry(error, failures in a row) returns
  // true (it waits before returning); without one, it fails at once.
  void set_restore_retry(std::function<bool(const Status&, int)> retry) {
    restore_retry_ = std::move(retry);
  }

  // Names the raft instance driving this FSM. REQUIRES: called before the
  // first entry is applied (after raft_init, before raft_start).
  void Attach(raft* r);

  StateMachine* machine() const { return machine_; }
  // The error of the last failed apply, snapshot or restore (OK if none
  // failed), and how many of those callbacks failed.
  const Status& last_error() const { return last_error_; }
  uint64_t errors() const { return errors_; }
  // Entries applied, and entries skipped as already applied before a restart.
  uint64_t applied_count() const { return applied_count_; }
  uint64_t skipped_count() const { return skipped_count_; }
  // Snapshots taken and restore calls (installs and no-op restores alike).
  uint64_t snapshots_taken() const { return snapshots_taken_; }
  uint64_t restores() const { return restores_; }

 private:
  static int ApplyCallback(raft_fsm* fsm, const raft_buffer* buf, void** result);
  static int SnapshotCallback(raft_fsm* fsm, raft_buffer* bufs[], unsigned* n_bufs);
  static int RestoreCallback(raft_fsm* fsm, raft_buffer* buf);

  StateMachine* const machine_;
  SnapshotSource* const source_;
  raft* raft_ = nullptr;
  raft_fsm fsm_{};
  // REQUIRES: !s.ok(). Records s as the last error. Returns RAFT_IOERR.
  int Fail(const Status& s);

  std::function<bool(const Status&, int)> restore_retry_;
  Status last_error_;
  uint64_t errors_ = 0;
  uint64_t applied_count_ = 0;
  uint64_t skipped_count_ = 0;
  uint64_t snapshots_taken_ = 0;
  uint64_t restores_ = 0;
};

}  // namespace lsmkv::replication

#endif  // LSMKV_REPLICATION_RAFT_FSM_H_
