#include "server/error_stats.h"

namespace lsmkv::server {

std::string_view ErrorStats::CodeOf(std::string_view error) {
  const size_t space = error.find(' ');
  std::string_view code = error.substr(0, space);
  if (code.size() > kMaxCodeLength) code = code.substr(0, kMaxCodeLength);
  return code;
}

void ErrorStats::Record(std::string_view error) {
  total_.fetch_add(1, std::memory_order_relaxed);
  const std::string_view code = CodeOf(error);
  // Fast path: a code already in the table. A slot's code is written once,
  // before used_ publishes it, and never changes (Reset keeps the codes).
  const size_t used = used_.load(std::memory_order_acquire);
  for (size_t i = 0; i < used; i++) {
    if (slots_[i].code == code) {
      slots_[i].count.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  MutexLock lock(&mu_);
  const size_t now_used = used_.load(std::memory_order_relaxed);
  for (size_t i = used; i < now_used; i++) {
    if (slots_[i].code == code) {
      slots_[i].count.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  if (now_used == kMaxCodes) {
    slots_[kMaxCodes].count.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  slots_[now_used].code.assign(code);
  slots_[now_used].count.store(1, std::memory_order_relaxed);
  used_.store(now_used + 1, std::memory_order_release);
}

std::vector<std::pair<std::string, uint64_t>> ErrorStats::ByCode() const {
  MutexLock lock(&mu_);
  std::vector<std::pair<std::string, uint64_t>> out;
  const size_t used = used_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < used; i++) {
    const uint64_t count = slots_[i].count.load(std::memory_order_relaxed);
    if (count > 0) out.emplace_back(slots_[i].code, count);
  }
  const uint64_t other = slots_[kMaxCodes].count.load(std::memory_order_relaxed);
  if (other > 0) out.emplace_back("OTHER", other);
  return out;
}

void ErrorStats::Reset() {
  MutexLock lock(&mu_);
  for (Slot& slot : slots_) {
    slot.count.store(0, std::memory_order_relaxed);
  }
  total_.store(0, std::memory_order_relaxed);
}

}  // namespace lsmkv::server
