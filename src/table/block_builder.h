// BlockBuilder: builds one block of prefix-compressed, sorted entries
// (docs/format/table.md, "block").
//
//   block   := entry* restart* fixed32(num_restarts)
//   entry   := varint32(shared) varint32(non_shared) varint32(value_len)
//              key[shared..] value
//   restart := fixed32(offset of an entry whose shared == 0)
//
// Every block_restart_interval-th entry is a restart point: it stores its
// whole key (shared == 0) and its offset is listed in the restart array, so a
// reader can binary-search the restart points and decode from any of them.
// An empty block is the single restart offset 0 and a count of 1.
//
// Thread safety: not thread safe.
#ifndef LSMKV_TABLE_BLOCK_BUILDER_H_
#define LSMKV_TABLE_BLOCK_BUILDER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lsmkv {

class BlockBuilder {
 public:
  // restart_interval < 1 is treated as 1.
  explicit BlockBuilder(int restart_interval);
  BlockBuilder(const BlockBuilder&) = delete;
  BlockBuilder& operator=(const BlockBuilder&) = delete;

  // Starts a new, empty block.
  void Reset();

  // REQUIRES: Finish() has not been called since the last Reset(); key is
  // after every key added before (the caller orders keys; the builder does
  // not compare them).
  void Add(std::string_view key, std::string_view value);

  // Appends the restart array and returns the whole block. The view stays
  // valid until Reset() or the builder is destroyed.
  std::string_view Finish();

  // The size of the block Finish() would return now.
  size_t CurrentSizeEstimate() const;

  // True if no entry was added since the last Reset().
  bool empty() const { return num_entries_ == 0; }
  size_t num_entries() const { return num_entries_; }

 private:
  const int restart_interval_;
  std::string buffer_;
  std::vector<uint32_t> restarts_;
  int counter_ = 0;  // entries since the last restart point
  size_t num_entries_ = 0;
  bool finished_ = false;
  std::string last_key_;
};

}  // namespace lsmkv

#endif  // LSMKV_TABLE_BLOCK_BUILDER_H_
