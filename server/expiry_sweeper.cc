#include "server/expiry_sweeper.h"

#include <string>
#include <unordered_set>
#include <vector>

namespace lsmkv::server {

namespace {

// Appends to hints/dbs/keys the due hints (deadline <= now_ms) of iterator
// range [lower, upper), until max_keys are collected. Database 0's hints
// are one range sorted by deadline; the others' ('X' db deadline key) are
// one range per database: past a database's due hints, seeks to the next.
Status CollectDueHints(Keyspace* keyspace, std::string lower, std::string upper, int64_t now_ms,
                       size_t max_keys, std::vector<std::string>* hints, std::vector<int>* dbs,
                       std::vector<std::string>* keys) {
  ReadOptions options;
  options.lower_bound = std::move(lower);
  options.upper_bound = std::move(upper);
  std::unique_ptr<Iterator> it = keyspace->db()->NewIterator(options);
  it->SeekToFirst();
  while (it->Valid() && hints->size() < max_keys) {
    int64_t deadline = 0;
    int db = 0;
    std::string_view user_key;
    if (!DecodeExpiryHintKey(it->key(), &deadline, &db, &user_key)) {
      it->Next();
      continue;
    }
    if (deadline > now_ms) {
      if (db == 0 || db + 1 >= kMaxDatabases) break;
      std::string next, unused;
      DatabaseRange(kExpiryHintPrefix, db + 1, &next, &unused);
      it->Seek(next);
      continue;
    }
    hints->emplace_back(it->key());
    dbs->push_back(db);
    keys->emplace_back(user_key);
    it->Next();
  }
  return it->status();
}

}  // namespace

Status SweepExpired(Keyspace* keyspace, int64_t now_ms, size_t max_keys, uint64_t* removed,
                    const ExpiredKeyFn& on_expired) {
  *removed = 0;
  std::vector<std::string> hints;
  std::vector<int> dbs;
  std::vector<std::string> keys;
  // Database 0: hints with a deadline <= now_ms sort below 'x' + be64(now_ms + 1).
  Status s =
      CollectDueHints(keyspace, std::string(1, kExpiryHintPrefix), ExpiryHintKey(now_ms + 1, 0, ""),
                      now_ms, max_keys, &hints, &dbs, &keys);
  if (!s.ok()) return s;
  // Databases 1 and up: the whole 'X' range, database by database.
  std::string begin, end, unused;
  DatabaseRange(kExpiryHintPrefix, 1, &begin, &unused);
  end = PrefixSuccessor(begin.substr(0, 1));
  s = CollectDueHints(keyspace, begin, end, now_ms, max_keys, &hints, &dbs, &keys);
  if (!s.ok()) return s;
  if (hints.empty()) return Status::OK();

  std::vector<std::string_view> views(keys.begin(), keys.end());
  KeyLocks::Guard guard = keyspace->locks().Lock(views);
  WriteBatch batch;
  std::unordered_set<std::string> deleted;
  std::vector<size_t> deleted_indexes;  // into keys, for on_expired
  for (size_t i = 0; i < hints.size(); i++) {
    batch.Delete(hints[i]);
    std::string stored;
    const std::string data_key = DataKey(dbs[i], keys[i]);
    s = keyspace->db()->Get(ReadOptions(), data_key, &stored);
    if (s.IsNotFound()) continue;
    if (!s.ok()) return s;
    DecodedValue decoded;
    if (!DecodeValue(stored, &decoded) || !IsExpired(decoded.deadline_ms, now_ms)) continue;
    if (!deleted.insert(data_key).second) continue;
    batch.Delete(data_key);
    (*removed)++;
    if (on_expired) deleted_indexes.push_back(i);
  }
  s = keyspace->Apply(&batch);
  if (s.ok()) {
    keyspace->expired_keys.fetch_add(*removed, std::memory_order_relaxed);
    for (size_t i : deleted_indexes) on_expired(dbs[i], keys[i]);
  }
  return s;
}

}  // namespace lsmkv::server
