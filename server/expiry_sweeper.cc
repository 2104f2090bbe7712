#include "server/expiry_sweeper.h"

#include <string>
#include <unordered_set>
#include <vector>

namespace lsmkv::server {

Status SweepExpired(Keyspace* keyspace, int64_t now_ms, size_t max_keys, uint64_t* removed) {
  *removed = 0;
  // Hints with a deadline <= now_ms sort below 'x' + be64(now_ms + 1).
  ReadOptions options;
  options.lower_bound = std::string(1, kExpiryHintPrefix);
  options.upper_bound = ExpiryHintKey(now_ms + 1, "");
  std::vector<std::string> hints;
  std::vector<std::string> keys;
  {
    std::unique_ptr<Iterator> it = keyspace->db()->NewIterator(options);
    for (it->SeekToFirst(); it->Valid() && hints.size() < max_keys; it->Next()) {
      int64_t deadline = 0;
      std::string_view user_key;
      if (!DecodeExpiryHintKey(it->key(), &deadline, &user_key)) continue;
      hints.emplace_back(it->key());
      keys.emplace_back(user_key);
    }
    Status s = it->status();
    if (!s.ok()) return s;
  }
  if (hints.empty()) return Status::OK();

  std::vector<std::string_view> views(keys.begin(), keys.end());
  KeyLocks::Guard guard = keyspace->locks().Lock(views);
  WriteBatch batch;
  std::unordered_set<std::string_view> deleted;
  for (size_t i = 0; i < hints.size(); i++) {
    batch.Delete(hints[i]);
    std::string stored;
    const std::string data_key = DataKey(keys[i]);
    Status s = keyspace->db()->Get(ReadOptions(), data_key, &stored);
    if (s.IsNotFound()) continue;
    if (!s.ok()) return s;
    DecodedValue decoded;
    if (!DecodeValue(stored, &decoded) || !IsExpired(decoded.deadline_ms, now_ms)) continue;
    if (!deleted.insert(keys[i]).second) continue;
    batch.Delete(data_key);
    (*removed)++;
  }
  Status s = keyspace->Apply(&batch);
  if (s.ok()) keyspace->expired_keys.fetch_add(*removed, std::memory_order_relaxed);
  return s;
}

}  // namespace lsmkv::server
