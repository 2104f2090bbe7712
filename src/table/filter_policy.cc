#include "table/filter_policy.h"

#include <algorithm>

#include "table/bloom.h"

namespace lsmkv {
namespace {

class BuiltinBloomPolicy final : public FilterPolicy {
 public:
  explicit BuiltinBloomPolicy(int bits_per_key) : bits_per_key_(std::max(1, bits_per_key)) {}

  const char* Name() const override { return kBuiltinBloomPolicyName; }

  void CreateFilter(const std::string_view* keys, size_t n, std::string* dst) const override {
    BloomFilterBuilder builder(bits_per_key_, BloomLayout::kClassic);
    for (size_t i = 0; i < n; i++) builder.AddKey(keys[i]);
    dst->append(builder.Finish());
  }

  // The slow generic path (tables parse their filter once instead): a
  // malformed filter matches everything.
  bool KeyMayMatch(std::string_view key, std::string_view filter) const override {
    BloomFilterReader reader;
    if (!BloomFilterReader::Parse(filter, BloomLayout::kClassic, &reader).ok()) return true;
    return reader.KeyMayMatch(key);
  }

  int bits_per_key() const { return bits_per_key_; }

 private:
  const int bits_per_key_;
};

}  // namespace

std::shared_ptr<const FilterPolicy> NewBloomFilterPolicy(int bits_per_key) {
  return std::make_shared<const BuiltinBloomPolicy>(bits_per_key);
}

int BuiltinBloomBitsPerKey(const FilterPolicy* policy) {
  const auto* builtin = dynamic_cast<const BuiltinBloomPolicy*>(policy);
  return builtin != nullptr ? builtin->bits_per_key() : -1;
}

}  // namespace lsmkv
