// Helpers for the table tests (test binaries only): in-memory files and
// random internal-key data sets.
#ifndef LSMKV_TABLE_TABLE_TESTUTIL_H_
#define LSMKV_TABLE_TABLE_TESTUTIL_H_

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/dbformat.h"
#include "lsmkv/env.h"
#include "util/random.h"

namespace lsmkv::test {

// A WritableFile appending to a string.
class StringSink final : public WritableFile {
 public:
  Status Append(std::string_view data) override {
    if (fail_appends_) return Status::IOError("injected append failure");
    contents_.append(data.data(), data.size());
    return Status::OK();
  }
  Status Flush() override { return Status::OK(); }
  Status Sync() override {
    syncs_++;
    return Status::OK();
  }
  Status Close() override { return Status::OK(); }

  const std::string& contents() const { return contents_; }
  int syncs() const { return syncs_; }
  void set_fail_appends(bool fail) { fail_appends_ = fail; }

 private:
  std::string contents_;
  int syncs_ = 0;
  bool fail_appends_ = false;
};

// A RandomAccessFile over a copy of some bytes. Reads copy into the caller's
// scratch, so that reading outside what was asked for is caught by ASan.
// live (optional) counts the sources alive; reads counts the Read calls.
class StringSource final : public RandomAccessFile {
 public:
  explicit StringSource(std::string contents, std::atomic<int>* live = nullptr)
      : contents_(std::move(contents)), live_(live) {
    if (live_ != nullptr) live_->fetch_add(1);
  }
  ~StringSource() override {
    if (live_ != nullptr) live_->fetch_sub(1);
  }
  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    reads_.fetch_add(1);
    if (offset >= contents_.size()) {
      *result = std::string_view(scratch, 0);
      return Status::OK();
    }
    const size_t available = contents_.size() - static_cast<size_t>(offset);
    if (n > available) n = available;
    std::memcpy(scratch, contents_.data() + offset, n);
    *result = std::string_view(scratch, n);
    return Status::OK();
  }
  int reads() const { return reads_.load(); }

 private:
  const std::string contents_;
  std::atomic<int>* const live_;
  mutable std::atomic<int> reads_{0};
};

// Orders internal keys for std::map.
struct InternalKeyLess {
  const InternalKeyComparator* cmp;
  bool operator()(const std::string& a, const std::string& b) const {
    return cmp->Compare(a, b) < 0;
  }
};

using InternalKeyMap = std::map<std::string, std::string, InternalKeyLess>;

// A random user key: binary bytes, often sharing prefixes, sometimes empty or
// made of 0xff / 0x00 bytes.
inline std::string RandomUserKey(Random* rnd) {
  switch (rnd->Uniform(8)) {
    case 0:
      return std::string();
    case 1:
      return std::string(1 + rnd->Uniform(4), '\xff');
    case 2:
      return std::string(1 + rnd->Uniform(4), '\0');
    case 3:
      return "common/prefix/" + rnd->RandomBytes(rnd->Uniform(12));
    default:
      return rnd->RandomBytes(rnd->Uniform(24));
  }
}

// n distinct internal keys (several versions of some user keys, both types)
// with random values, some empty.
inline InternalKeyMap RandomInternalData(Random* rnd, size_t n, const InternalKeyComparator* cmp,
                                         size_t max_value = 64) {
  InternalKeyMap data(InternalKeyLess{cmp});
  while (data.size() < n) {
    const std::string user_key = RandomUserKey(rnd);
    const int versions = rnd->OneIn(4) ? 1 + static_cast<int>(rnd->Uniform(3)) : 1;
    for (int v = 0; v < versions && data.size() < n; v++) {
      std::string ikey;
      const ValueType type = rnd->OneIn(5) ? kTypeDeletion : kTypeValue;
      AppendInternalKey(&ikey, user_key, rnd->Next64() & kMaxSequenceNumber, type);
      const size_t len = rnd->OneIn(6) ? 0 : rnd->Uniform(static_cast<uint32_t>(max_value) + 1);
      data[ikey] = rnd->OneIn(2) ? rnd->RandomBytes(len) : std::string(len, 'v');
    }
  }
  return data;
}

}  // namespace lsmkv::test

#endif  // LSMKV_TABLE_TABLE_TESTUTIL_H_
