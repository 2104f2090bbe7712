#include "server/blocking.h"

#include <algorithm>
#include <utility>

#include "util/check.h"

namespace lsmkv::server {

uint64_t BlockingKeys::Wait(const std::vector<std::string>& keys, Waker wake) {
  DCHECK(!keys.empty());
  MutexLock lock(&mu_);
  const uint64_t ticket = next_ticket_++;
  Waiter& waiter = waiters_by_ticket_[ticket];
  waiter.wake = std::move(wake);
  for (const std::string& key : keys) {
    if (std::find(waiter.keys.begin(), waiter.keys.end(), key) != waiter.keys.end()) continue;
    waiter.keys.push_back(key);
    by_key_[key].push_back(ticket);
  }
  waiters_.fetch_add(1, std::memory_order_acq_rel);
  return ticket;
}

void BlockingKeys::Forget(uint64_t ticket, const Waiter& waiter) {
  for (const std::string& key : waiter.keys) {
    auto it = by_key_.find(key);
    if (it == by_key_.end()) continue;
    std::erase(it->second, ticket);
    if (it->second.empty()) by_key_.erase(it);
  }
}

bool BlockingKeys::Cancel(uint64_t ticket) {
  MutexLock lock(&mu_);
  auto it = waiters_by_ticket_.find(ticket);
  if (it == waiters_by_ticket_.end()) return false;
  Forget(ticket, it->second);
  waiters_by_ticket_.erase(it);
  waiters_.fetch_sub(1, std::memory_order_acq_rel);
  return true;
}

void BlockingKeys::Signal(std::string_view key) {
  Waker wake;
  {
    MutexLock lock(&mu_);
    auto it = by_key_.find(std::string(key));
    if (it == by_key_.end()) return;
    DCHECK(!it->second.empty());
    const uint64_t ticket = it->second.front();  // the oldest
    auto waiter = waiters_by_ticket_.find(ticket);
    DCHECK(waiter != waiters_by_ticket_.end());
    Forget(ticket, waiter->second);
    wake = std::move(waiter->second.wake);
    waiters_by_ticket_.erase(waiter);
    waiters_.fetch_sub(1, std::memory_order_acq_rel);
  }
  wake();  // outside the lock: a waker posts, never re-enters
}

void BlockingKeys::SignalEvery() {
  std::vector<std::string> keys;
  {
    MutexLock lock(&mu_);
    keys.reserve(by_key_.size());
    for (const auto& [key, tickets] : by_key_) keys.push_back(key);
  }
  // A waiter woken through one key is forgotten on its others, so it is
  // woken once; waiters registered meanwhile may be woken too (harmless).
  for (const std::string& key : keys) Signal(key);
}

void BlockingKeys::SignalAll() {
  std::vector<Waker> wakes;
  {
    MutexLock lock(&mu_);
    for (auto& [ticket, waiter] : waiters_by_ticket_) wakes.push_back(std::move(waiter.wake));
    waiters_.fetch_sub(waiters_by_ticket_.size(), std::memory_order_acq_rel);
    waiters_by_ticket_.clear();
    by_key_.clear();
  }
  for (Waker& wake : wakes) wake();  // outside the lock, as in Signal
}

}  // namespace lsmkv::server
