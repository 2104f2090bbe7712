#include "replication/raft_fsm.h"

#include <cstring>
#include <string_view>

#include "util/check.h"

namespace lsmkv::replication {

RaftFsm::RaftFsm(StateMachine* machine, SnapshotSource* source)
    : machine_(machine), source_(source) {
  fsm_.version = 1;
  fsm_.data = this;
  fsm_.apply = &RaftFsm::ApplyCallback;
  fsm_.snapshot = &RaftFsm::SnapshotCallback;
  fsm_.restore = &RaftFsm::RestoreCallback;
}

void RaftFsm::Attach(raft* r) { raft_ = r; }

int RaftFsm::Fail(const Status& s) {
  DCHECK(!s.ok());
  last_error_ = s;
  errors_++;
  return RAFT_IOERR;
}

int RaftFsm::ApplyCallback(raft_fsm* fsm, const raft_buffer* buf, void** result) {
  auto* self = static_cast<RaftFsm*>(fsm->data);
  CHECK(self->raft_ != nullptr);
  *result = nullptr;
  const uint64_t index = raft_last_applied(self->raft_) + 1;
  bool applied = false;
  Status s = self->machine_->Apply(
      index, std::string_view(static_cast<const char*>(buf->base), buf->len), &applied);
  if (!s.ok()) return self->Fail(s);
  if (applied) {
    ++self->applied_count_;
  } else {
    ++self->skipped_count_;
  }
  return 0;
}

int RaftFsm::SnapshotCallback(raft_fsm* fsm, raft_buffer* bufs[], unsigned* n_bufs) {
  auto* self = static_cast<RaftFsm*>(fsm->data);
  CHECK(self->raft_ != nullptr);
  std::string descriptor;
  Status s = self->machine_->TakeSnapshot(self->raft_->id, &descriptor);
  if (!s.ok()) return self->Fail(s);
  // Ownership of both allocations passes to libraft (a version 1 FSM).
  auto* buf = static_cast<raft_buffer*>(raft_malloc(sizeof(raft_buffer)));
  if (buf == nullptr) return RAFT_NOMEM;
  buf->len = descriptor.size();
  buf->base = raft_malloc(buf->len);
  if (buf->base == nullptr) {
    raft_free(buf);
    return RAFT_NOMEM;
  }
  std::memcpy(buf->base, descriptor.data(), buf->len);
  *bufs = buf;
  *n_bufs = 1;
  self->snapshots_taken_++;
  return 0;
}

int RaftFsm::RestoreCallback(raft_fsm* fsm, raft_buffer* buf) {
  auto* self = static_cast<RaftFsm*>(fsm->data);
  CHECK(self->raft_ != nullptr);
  self->restores_++;
  const std::string_view descriptor(static_cast<const char*>(buf->base), buf->len);
  Status s = self->machine_->RestoreSnapshot(descriptor, self->raft_->id, self->source_);
  for (int failures = 1; !s.ok(); failures++) {
    self->Fail(s);
    if (!self->restore_retry_ || !self->restore_retry_(s, failures)) return RAFT_IOERR;
    s = self->machine_->RestoreSnapshot(descriptor, self->raft_->id, self->source_);
  }
  raft_free(buf->base);  // a version 1 FSM owns the buffer once restore succeeds
  return 0;
}

}  // namespace lsmkv::replication
