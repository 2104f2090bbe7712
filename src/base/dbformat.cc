#include "base/dbformat.h"

#include <cstring>

namespace lsmkv {

int InternalKeyComparator::Compare(std::string_view a, std::string_view b) const {
  int r = user_comparator_->Compare(ExtractUserKey(a), ExtractUserKey(b));
  if (r != 0) return r;
  const uint64_t atag = ExtractTag(a);
  const uint64_t btag = ExtractTag(b);
  if (atag > btag) return -1;  // newer first
  if (atag < btag) return +1;
  return 0;
}

void InternalKeyComparator::FindShortestSeparator(std::string* start,
                                                  std::string_view limit) const {
  std::string_view user_start = ExtractUserKey(*start);
  std::string_view user_limit = ExtractUserKey(limit);
  std::string tmp(user_start);
  user_comparator_->FindShortestSeparator(&tmp, user_limit);
  if (tmp.size() < user_start.size() && user_comparator_->Compare(user_start, tmp) < 0) {
    // The user key became shorter and larger: give it the earliest tag so the
    // separator still sorts before every entry of that user key.
    PutFixed64(&tmp, PackSequenceAndType(kMaxSequenceNumber, kValueTypeForSeek));
    DCHECK(Compare(*start, tmp) < 0);
    DCHECK(Compare(tmp, limit) < 0);
    start->swap(tmp);
  }
}

void InternalKeyComparator::FindShortSuccessor(std::string* key) const {
  std::string_view user_key = ExtractUserKey(*key);
  std::string tmp(user_key);
  user_comparator_->FindShortSuccessor(&tmp);
  if (tmp.size() < user_key.size() && user_comparator_->Compare(user_key, tmp) < 0) {
    PutFixed64(&tmp, PackSequenceAndType(kMaxSequenceNumber, kValueTypeForSeek));
    DCHECK(Compare(*key, tmp) < 0);
    key->swap(tmp);
  }
}

LookupKey::LookupKey(std::string_view user_key, SequenceNumber sequence) {
  const size_t internal_size = user_key.size() + 8;
  DCHECK(internal_size <= UINT32_MAX);
  const size_t needed = kMaxVarint32Length + internal_size;
  char* buf = space_;
  if (needed > sizeof(space_)) {
    heap_ = std::make_unique_for_overwrite<char[]>(needed);
    buf = heap_.get();
  }
  char* p = EncodeVarint32(buf, static_cast<uint32_t>(internal_size));
  kstart_ = static_cast<size_t>(p - buf);
  if (!user_key.empty()) std::memcpy(p, user_key.data(), user_key.size());
  p += user_key.size();
  EncodeFixed64(p, PackSequenceAndType(sequence, kValueTypeForSeek));
  data_ = buf;
  size_ = kstart_ + internal_size;
}

}  // namespace lsmkv
