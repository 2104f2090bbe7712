#include "server/expiry_filter.h"

#include <string>

#include "server/collection.h"
#include "server/value_codec.h"

namespace lsmkv::server {

namespace {

// The last stale collection version this compaction thread saw, so the
// elements of one dead collection (which compaction meets one after the
// other) cost one round of reads, not one each. Only stale verdicts are
// remembered: they are final (the version's end is durable), while a live
// version may die at any time.
struct StaleVersionCache {
  uint64_t filter_id = 0;
  char prefix = 0;
  int db = 0;
  std::string user_key;
  uint64_t version = 0;
  bool valid = false;

  bool Matches(uint64_t id, const ElementKey& element) const {
    return valid && filter_id == id && element.prefix == prefix && element.db == db &&
           element.version == version && element.user_key == user_key;
  }
};

thread_local StaleVersionCache t_stale;

std::atomic<uint64_t> g_next_filter_id{1};

}  // namespace

ExpiryFilter::ExpiryFilter(const Clock* clock)
    : clock_(clock), id_(g_next_filter_id.fetch_add(1, std::memory_order_relaxed)) {}

CompactionFilter::Decision ExpiryFilter::Filter(int /*level*/, std::string_view key,
                                                std::string_view value) const {
  if (key.empty()) return Decision::kKeep;
  char prefix = 0;
  int db = 0;
  std::string_view rest;
  if (!DecodeDbKeyPrefix(key, &prefix, &db, &rest)) return Decision::kKeep;
  ValueType element_type;
  if (ElementPrefixType(prefix, &element_type)) return FilterElement(element_type, key);
  if (prefix != kDataPrefix) return Decision::kKeep;
  DecodedValue decoded;
  if (!DecodeValue(value, &decoded)) return Decision::kKeep;
  if (!IsExpired(decoded.deadline_ms, clock_->NowMs())) return Decision::kKeep;
  removed_.fetch_add(1, std::memory_order_relaxed);
  return Decision::kRemove;
}

CompactionFilter::Decision ExpiryFilter::FilterElement(ValueType type, std::string_view key) const {
  ElementKey element;
  if (!DecodeElementKey(key, &element)) return Decision::kKeep;
  if (!t_stale.Matches(id_, element)) {
    DB* db = db_.load(std::memory_order_acquire);
    if (db == nullptr) return Decision::kKeep;
    std::string meta_key;
    AppendDataKey(element.db, element.user_key, &meta_key);
    // (a) The latest metadata: a live version is kept without more reads.
    std::string stored;
    Status s = db->Get(ReadOptions(), meta_key, &stored);
    if (!s.ok() && !s.IsNotFound()) return Decision::kKeep;
    if (ClassifyElement(type, element.version, s.ok(), stored) != ElementFate::kStale) {
      return Decision::kKeep;
    }
    // (b) The durable state: the element there (its version was created by
    // then) and its version ended there too (the ending write is durable).
    // Both from one state: a newer one read for the metadata alone could
    // show the element's version as ended before it was ever created.
    const std::string_view keys[2] = {key, meta_key};
    std::string values[2];
    bool found[2] = {false, false};
    if (!durable_.Read(keys, values, found).ok()) return Decision::kKeep;
    if (!found[0]) return Decision::kKeep;
    if (ClassifyElement(type, element.version, found[1], values[1]) != ElementFate::kStale) {
      return Decision::kKeep;
    }
    t_stale.filter_id = id_;
    t_stale.prefix = element.prefix;
    t_stale.db = element.db;
    t_stale.user_key.assign(element.user_key);
    t_stale.version = element.version;
    t_stale.valid = true;
  }
  elements_removed_.fetch_add(1, std::memory_order_relaxed);
  return Decision::kRemove;
}

}  // namespace lsmkv::server
