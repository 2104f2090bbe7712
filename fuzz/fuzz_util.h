// Helpers shared by the libFuzzer targets in fuzz/ (see docs/RELIABILITY.md,
// "Fuzzing"): in-memory files over the fuzzer's bytes and FUZZ_CHECK, which
// aborts with a message when an invariant of a decoder does not hold.
//
// Every file here copies into the caller's scratch buffer instead of handing
// out views of its own storage, so a read past what the decoder asked for
// lands outside an exactly-sized allocation and AddressSanitizer reports it.
#ifndef LSMKV_FUZZ_FUZZ_UTIL_H_
#define LSMKV_FUZZ_FUZZ_UTIL_H_

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "lsmkv/env.h"
#include "lsmkv/status.h"

// Aborts the fuzzer (a crash it saves as an input) when cond is false.
#define FUZZ_CHECK(cond, what)                                                                \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "%s:%d: invariant violated: %s (%s)\n", __FILE__, __LINE__, #cond, \
                   what);                                                                     \
      __builtin_trap();                                                                       \
    }                                                                                         \
  } while (0)

namespace lsmkv::fuzz {

// A SequentialFile over a byte string, read front to back.
class StringSequentialFile final : public SequentialFile {
 public:
  explicit StringSequentialFile(std::string_view data) : data_(data) {}
  Status Read(size_t n, std::string_view* result, char* scratch) override {
    const size_t count = std::min(n, data_.size() - position_);
    if (count > 0) std::memcpy(scratch, data_.data() + position_, count);
    position_ += count;
    *result = std::string_view(scratch, count);
    return Status::OK();
  }
  Status Skip(uint64_t n) override {
    position_ += static_cast<size_t>(std::min<uint64_t>(n, data_.size() - position_));
    return Status::OK();
  }

 private:
  std::string_view data_;
  size_t position_ = 0;
};

// A RandomAccessFile over a byte string (owned: the string is copied).
class StringRandomAccessFile final : public RandomAccessFile {
 public:
  explicit StringRandomAccessFile(std::string data) : data_(std::move(data)) {}
  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    if (offset >= data_.size()) {
      *result = {};
      return Status::OK();
    }
    const size_t count = std::min<uint64_t>(n, data_.size() - offset);
    std::memcpy(scratch, data_.data() + offset, count);
    *result = std::string_view(scratch, count);
    return Status::OK();
  }

 private:
  const std::string data_;
};

// A WritableFile that appends to a string owned by the caller.
class StringWritableFile final : public WritableFile {
 public:
  explicit StringWritableFile(std::string* contents) : contents_(contents) {}
  Status Append(std::string_view data) override {
    contents_->append(data.data(), data.size());
    return Status::OK();
  }
  Status Flush() override { return Status::OK(); }
  Status Sync() override { return Status::OK(); }
  Status Close() override { return Status::OK(); }

 private:
  std::string* contents_;
};

}  // namespace lsmkv::fuzz

#endif  // LSMKV_FUZZ_FUZZ_UTIL_H_
