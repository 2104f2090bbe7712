#include "server/key_locks.h"

#include <algorithm>
#include <functional>

#include "server/cpus.h"
#include "util/futex.h"

namespace lsmkv::server {

namespace {

// Holds one StripeMutex for its scope (std::lock_guard, annotated).
class SCOPED_CAPABILITY StripeLock {
 public:
  explicit StripeLock(StripeMutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->lock(); }
  ~StripeLock() RELEASE() { mu_->unlock(); }
  StripeLock(const StripeLock&) = delete;
  StripeLock& operator=(const StripeLock&) = delete;

 private:
  StripeMutex* const mu_;
};

}  // namespace

KeyLocks::Guard::Guard(Guard&& other) noexcept
    : owner_(other.owner_),
      stripes_(std::move(other.stripes_)),
      held_(other.held_),
      all_(other.all_) {
  other.owner_ = nullptr;
  other.stripes_.clear();
  other.held_.reset();
  other.all_ = false;
}

KeyLocks::Guard& KeyLocks::Guard::operator=(Guard&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = other.owner_;
    stripes_ = std::move(other.stripes_);
    held_ = other.held_;
    all_ = other.all_;
    other.owner_ = nullptr;
    other.stripes_.clear();
    other.held_.reset();
    other.all_ = false;
  }
  return *this;
}

void KeyLocks::Guard::Release() {
  if (owner_ == nullptr) return;
  // Reverse order of acquisition.
  for (auto it = stripes_.rbegin(); it != stripes_.rend(); ++it) owner_->stripes_[*it].mu.unlock();
  stripes_.clear();
  held_.reset();
  owner_ = nullptr;
  all_ = false;
}

KeyLocks::SpinPolicy KeyLocks::DefaultSpinPolicy() {
  // The CPUs this thread may run on (a container's cpuset, taskset), not
  // every CPU of the machine.
  const unsigned cpus = UsableCpus();
  SpinPolicy p;
  p.budget = std::chrono::microseconds(50);
  p.max_spinners = cpus > 1 ? cpus - 1 : 0;
  return p;
}

KeyLocks::KeyLocks(SpinPolicy spin) : spin_(spin), stripes_(new Stripe[kStripes]) {}

size_t KeyLocks::StripeOf(std::string_view key) const {
  return std::hash<std::string_view>()(key) % kStripes;
}

void KeyLocks::LockStripe(size_t s) {
  StripeMutex& mu = stripes_[s].mu;
  if (mu.try_lock()) return;
  waiters_.fetch_add(1, std::memory_order_acq_rel);
  if (SpinToLock(mu)) {
    spun_.fetch_add(1, std::memory_order_relaxed);
  } else {
    mu.lock();
    slept_.fetch_add(1, std::memory_order_relaxed);
  }
  waiters_.fetch_sub(1, std::memory_order_acq_rel);
}

bool KeyLocks::SpinToLock(StripeMutex& mu) {
  if (spin_.budget.count() <= 0) return false;
  size_t spinning = spinners_.load(std::memory_order_relaxed);
  do {
    if (spinning >= spin_.max_spinners) {
      no_place_.fetch_add(1, std::memory_order_release);
      return false;
    }
  } while (!spinners_.compare_exchange_weak(spinning, spinning + 1, std::memory_order_acq_rel));
  // The clock is read every 64 pauses (a few microseconds), not every pause.
  const auto deadline = std::chrono::steady_clock::now() + spin_.budget;
  bool locked = false;
  for (uint32_t i = 1;; i++) {
    CpuRelax();
    // Taking a lock that sleepers wait on with state 1 (as a new arrival's
    // first compare-and-swap in StripeMutex::lock does) loses no wake-up:
    // a sleeper marks the lock contended (state 2) before every futex wait,
    // and the wait returns at once if the word is not 2 by then, so the
    // release after this one still sees 2 and wakes it.
    if (mu.looks_free() && mu.try_lock()) {
      locked = true;
      break;
    }
    if (i % 64 == 0 && std::chrono::steady_clock::now() >= deadline) break;
  }
  spinners_.fetch_sub(1, std::memory_order_acq_rel);
  if (!locked) spins_out_.fetch_add(1, std::memory_order_release);
  return locked;
}

void KeyLocks::LockStripes(std::vector<size_t>* stripes) {
  std::sort(stripes->begin(), stripes->end());
  stripes->erase(std::unique(stripes->begin(), stripes->end()), stripes->end());
  for (size_t s : *stripes) LockStripe(s);
}

KeyLocks::Guard KeyLocks::Lock(const std::vector<std::string_view>& keys) {
  Guard guard;
  guard.owner_ = this;
  guard.stripes_.reserve(keys.size());
  for (std::string_view key : keys) guard.stripes_.push_back(StripeOf(key));
  LockStripes(&guard.stripes_);
  for (size_t s : guard.stripes_) guard.held_.set(s);
  return guard;
}

KeyLocks::Guard KeyLocks::LockOne(std::string_view key) {
  Guard guard;
  guard.owner_ = this;
  guard.stripes_.push_back(StripeOf(key));
  LockStripe(guard.stripes_[0]);
  guard.held_.set(guard.stripes_[0]);
  return guard;
}

KeyLocks::Guard KeyLocks::LockAll() {
  Guard guard;
  guard.owner_ = this;
  guard.all_ = true;
  guard.stripes_.reserve(kStripes);
  for (size_t i = 0; i < kStripes; i++) guard.stripes_.push_back(i);
  for (size_t i = 0; i < kStripes; i++) LockStripe(i);
  guard.held_.set();
  return guard;
}

bool KeyLocks::TryExtend(Guard* guard, const std::vector<std::string_view>& keys) {
  if (guard->all_) return true;
  const size_t before = guard->stripes_.size();
  for (std::string_view key : keys) {
    const size_t s = StripeOf(key);
    if (guard->held_.test(s)) continue;
    if (!stripes_[s].mu.try_lock()) {
      // Undo this call's acquisitions.
      for (size_t i = before; i < guard->stripes_.size(); i++) {
        stripes_[guard->stripes_[i]].mu.unlock();
        guard->held_.reset(guard->stripes_[i]);
      }
      guard->stripes_.resize(before);
      return false;
    }
    guard->held_.set(s);
    guard->stripes_.push_back(s);
  }
  if (!guard->stripes_.empty()) guard->owner_ = this;
  return true;
}

}  // namespace lsmkv::server
