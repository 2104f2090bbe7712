// A model of a database's contents for fault tests: operations (batches of
// puts and deletes) acknowledged by the DB, and checks that what a DB shows
// equals the model after some prefix of them, by Gets of every key and by a
// full forward and backward scan. Header only; test binaries only.
#ifndef LSMKV_DB_MODEL_TESTUTIL_H_
#define LSMKV_DB_MODEL_TESTUTIL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lsmkv/db.h"
#include "util/random.h"

namespace lsmkv::test {

using ModelState = std::map<std::string, std::string>;

// One atomic write: puts (value) and deletes (nullopt), applied in order.
struct ModelOp {
  std::vector<std::pair<std::string, std::optional<std::string>>> writes;
  bool sync = false;
};

inline void ApplyOp(const ModelOp& op, ModelState* state) {
  for (const auto& [key, value] : op.writes) {
    if (value) {
      (*state)[key] = *value;
    } else {
      state->erase(key);
    }
  }
}

inline Status ExecuteOp(DB* db, const ModelOp& op) {
  WriteOptions wo;
  wo.sync = op.sync;
  if (op.writes.size() == 1) {
    const auto& [key, value] = op.writes[0];
    return value ? db->Put(wo, key, *value) : db->Delete(wo, key);
  }
  WriteBatch batch;
  for (const auto& [key, value] : op.writes) {
    if (value) {
      batch.Put(key, *value);
    } else {
      batch.Delete(key);
    }
  }
  return db->Write(wo, &batch);
}

// What a database shows, read two ways. ok is false (and error says why)
// if a read returned an error other than NotFound.
struct DbContents {
  bool ok = true;
  std::string error;
  ModelState by_get;             // a Get of every key in keys
  ModelState by_scan;            // a forward scan of everything
  bool backward_matches = true;  // a backward scan shows by_scan reversed
};

inline DbContents ReadContents(DB* db, const std::vector<std::string>& keys) {
  DbContents c;
  std::string value;
  for (const std::string& key : keys) {
    Status s = db->Get(ReadOptions(), key, &value);
    if (s.ok()) {
      c.by_get[key] = value;
    } else if (!s.IsNotFound()) {
      c.ok = false;
      c.error = "Get(" + key + "): " + s.ToString();
      return c;
    }
  }
  std::unique_ptr<Iterator> it = db->NewIterator(ReadOptions());
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    c.by_scan[std::string(it->key())] = std::string(it->value());
  }
  if (!it->status().ok()) {
    c.ok = false;
    c.error = "forward scan: " + it->status().ToString();
    return c;
  }
  auto expect = c.by_scan.rbegin();
  for (it->SeekToLast(); it->Valid(); it->Prev(), ++expect) {
    if (expect == c.by_scan.rend() || expect->first != it->key() || expect->second != it->value()) {
      c.backward_matches = false;
      break;
    }
  }
  if (!it->status().ok()) {
    c.ok = false;
    c.error = "backward scan: " + it->status().ToString();
    return c;
  }
  if (expect != c.by_scan.rend()) c.backward_matches = false;
  return c;
}

// The length of the longest prefix of ops, at least min_prefix, after which
// the model equals state; -1 if there is none.
inline int MatchingPrefix(const std::vector<ModelOp>& ops, size_t min_prefix,
                          const ModelState& state) {
  ModelState model;
  for (size_t i = 0; i < min_prefix && i < ops.size(); i++) ApplyOp(ops[i], &model);
  int match = -1;
  for (size_t i = min_prefix;; i++) {
    if (model == state) match = static_cast<int>(i);
    if (i >= ops.size()) break;
    ApplyOp(ops[i], &model);
  }
  return match;
}

inline std::string DescribeDifference(const ModelState& want, const ModelState& got) {
  std::string out;
  int shown = 0;
  for (const auto& [key, value] : want) {
    auto it = got.find(key);
    if (it == got.end()) {
      out += " missing " + key + ";";
    } else if (it->second != value) {
      out += " wrong value of " + key + ";";
    } else {
      continue;
    }
    if (++shown == 5) return out + " ...";
  }
  for (const auto& [key, value] : got) {
    if (want.count(key) == 0) {
      out += " unexpected " + key + ";";
      if (++shown == 5) return out + " ...";
    }
  }
  return out;
}

// Random operations over keys "k000".."k<num_keys-1>": single puts and
// deletes and batches of 2..4 writes, values of 20..200 bytes that name the
// operation, a share sync_percent of them synced.
class ModelOpGenerator {
 public:
  ModelOpGenerator(uint64_t seed, int num_keys, int sync_percent)
      : rnd_(seed), num_keys_(num_keys), sync_percent_(sync_percent) {}

  static std::string Key(int i) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "k%03d", i);
    return buf;
  }
  std::vector<std::string> AllKeys() const {
    std::vector<std::string> keys;
    for (int i = 0; i < num_keys_; i++) keys.push_back(Key(i));
    return keys;
  }

  ModelOp Next() {
    ModelOp op;
    const int writes = rnd_.OneIn(3) ? 2 + static_cast<int>(rnd_.Uniform(3)) : 1;
    for (int j = 0; j < writes; j++) {
      const std::string key = Key(static_cast<int>(rnd_.Uniform(static_cast<uint32_t>(num_keys_))));
      if (rnd_.OneIn(5)) {
        op.writes.emplace_back(key, std::nullopt);
      } else {
        std::string value = "op" + std::to_string(serial_) + "." + std::to_string(j) + ":";
        value.resize(20 + rnd_.Uniform(181), static_cast<char>('a' + serial_ % 26));
        op.writes.emplace_back(key, std::move(value));
      }
    }
    op.sync = rnd_.Uniform(100) < static_cast<uint32_t>(sync_percent_);
    serial_++;
    return op;
  }

 private:
  Random rnd_;
  const int num_keys_;
  const int sync_percent_;
  uint64_t serial_ = 0;
};

}  // namespace lsmkv::test

#endif  // LSMKV_DB_MODEL_TESTUTIL_H_
