#include "table/block_builder.h"

#include <algorithm>

#include "util/check.h"
#include "util/coding.h"

namespace lsmkv {

BlockBuilder::BlockBuilder(int restart_interval)
    : restart_interval_(restart_interval < 1 ? 1 : restart_interval) {
  restarts_.push_back(0);
}

void BlockBuilder::Reset() {
  buffer_.clear();
  restarts_.clear();
  restarts_.push_back(0);
  counter_ = 0;
  num_entries_ = 0;
  finished_ = false;
  last_key_.clear();
}

void BlockBuilder::Add(std::string_view key, std::string_view value) {
  DCHECK(!finished_);
  DCHECK(counter_ <= restart_interval_);
  size_t shared = 0;
  if (counter_ == restart_interval_) {
    // Start a restart point: the entry stores its whole key.
    DCHECK_LE(buffer_.size(), UINT32_MAX);        // restart offsets are 32-bit
    DCHECK_GT(buffer_.size(), restarts_.back());  // strictly increasing, as Block requires
    restarts_.push_back(static_cast<uint32_t>(buffer_.size()));
    counter_ = 0;
  } else {
    const size_t limit = std::min(last_key_.size(), key.size());
    while (shared < limit && last_key_[shared] == key[shared]) shared++;
  }
  const size_t non_shared = key.size() - shared;
  PutVarint32(&buffer_, static_cast<uint32_t>(shared));
  PutVarint32(&buffer_, static_cast<uint32_t>(non_shared));
  PutVarint32(&buffer_, static_cast<uint32_t>(value.size()));
  buffer_.append(key.data() + shared, non_shared);
  buffer_.append(value.data(), value.size());

  last_key_.resize(shared);
  last_key_.append(key.data() + shared, non_shared);
  DCHECK(last_key_ == key);
  counter_++;
  num_entries_++;
}

std::string_view BlockBuilder::Finish() {
  DCHECK(!finished_);
  // What Block's constructor checks: a first restart at 0, at least one.
  DCHECK(!restarts_.empty() && restarts_[0] == 0);
  const size_t interval = static_cast<size_t>(restart_interval_);
  DCHECK_EQ(restarts_.size(), num_entries_ == 0 ? 1 : (num_entries_ + interval - 1) / interval);
  for (uint32_t offset : restarts_) PutFixed32(&buffer_, offset);
  PutFixed32(&buffer_, static_cast<uint32_t>(restarts_.size()));
  finished_ = true;
  return buffer_;
}

size_t BlockBuilder::CurrentSizeEstimate() const {
  if (finished_) return buffer_.size();
  return buffer_.size() + restarts_.size() * sizeof(uint32_t) + sizeof(uint32_t);
}

}  // namespace lsmkv
