#include "server/auth_guard.h"

namespace lsmkv::server {

std::string_view AuthGuard::SourceOf(std::string_view peer) {
  const size_t colon = peer.rfind(':');
  std::string_view host = colon == std::string_view::npos ? peer : peer.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

bool AuthGuard::Allowed(std::string_view source, int64_t now_ms, int64_t max_failures,
                        int64_t block_ms) {
  MutexLock lock(&mu_);
  auto it = by_source_.find(std::string(source));
  if (it == by_source_.end()) return true;
  Entry& entry = *it->second;
  if (now_ms - entry.last_failure_ms >= block_ms) {
    entry.failures = 0;  // quiet for a whole block period: start again
    return true;
  }
  return entry.failures < max_failures;
}

void AuthGuard::RecordFailure(std::string_view source, int64_t now_ms, int64_t block_ms) {
  MutexLock lock(&mu_);
  auto it = by_source_.find(std::string(source));
  if (it == by_source_.end()) {
    if (by_source_.size() >= max_sources_) {
      by_source_.erase(recent_.back().source);  // the oldest last failure
      recent_.pop_back();
    }
    recent_.push_front(Entry{std::string(source), 0, now_ms});
    it = by_source_.emplace(std::string(source), recent_.begin()).first;
  } else {
    recent_.splice(recent_.begin(), recent_, it->second);  // most recent first
  }
  Entry& entry = *it->second;
  if (now_ms - entry.last_failure_ms >= block_ms) entry.failures = 0;
  entry.failures++;
  entry.last_failure_ms = now_ms;
}

void AuthGuard::RecordSuccess(std::string_view source) {
  MutexLock lock(&mu_);
  auto it = by_source_.find(std::string(source));
  if (it == by_source_.end()) return;
  recent_.erase(it->second);
  by_source_.erase(it);
}

size_t AuthGuard::sources() const {
  MutexLock lock(&mu_);
  return by_source_.size();
}

}  // namespace lsmkv::server
