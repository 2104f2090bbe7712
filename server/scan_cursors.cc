#include "server/scan_cursors.h"

namespace lsmkv::server {

ScanCursors::ScanCursors(size_t max_cursors, size_t max_bytes)
    : max_cursors_(max_cursors), max_bytes_(max_bytes) {}

uint64_t ScanCursors::Save(std::string_view position) {
  MutexLock lock(&mu_);
  while (!order_.empty() &&
         (positions_.size() >= max_cursors_ || bytes_ + position.size() > max_bytes_)) {
    auto it = positions_.find(order_.front());
    bytes_ -= it->second.size();
    positions_.erase(it);
    order_.pop_front();
  }
  const uint64_t cursor = next_++;
  positions_.emplace(cursor, std::string(position));
  order_.push_back(cursor);
  bytes_ += position.size();
  return cursor;
}

bool ScanCursors::Find(uint64_t cursor, std::string* position) const {
  MutexLock lock(&mu_);
  auto it = positions_.find(cursor);
  if (it == positions_.end()) return false;
  *position = it->second;
  return true;
}

}  // namespace lsmkv::server
