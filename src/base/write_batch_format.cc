#include "base/write_batch_format.h"

namespace lsmkv::batch_format {

Status CheckHeaderPresent(std::string_view rep) {
  if (rep.size() < kHeaderSize) {
    return Status::Corruption("write batch", "record shorter than the 12-byte batch header");
  }
  return Status::OK();
}

Status CheckSequenceRange(SequenceNumber first, uint64_t count) {
  if (first > kMaxSequenceNumber || kMaxSequenceNumber - first < count) {
    return Status::Corruption("write batch", "sequence numbers " + std::to_string(first) + " + " +
                                                 std::to_string(count) +
                                                 " operations exceed the largest sequence number");
  }
  return Status::OK();
}

Status ValidateRecord(std::string_view record) {
  Status s = CheckHeaderPresent(record);
  if (s.ok()) s = ForEachOperation(record, [](ValueType, std::string_view, std::string_view) {});
  if (s.ok()) s = CheckSequenceRange(Sequence(record), Count(record));
  return s;
}

}  // namespace lsmkv::batch_format
