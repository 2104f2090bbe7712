// The C API (include/lsmkv/c.h): thin wrappers over the C++ API. Each C
// object is a struct holding its C++ counterpart in `rep`; errors become
// malloc()ed strings in *errptr, as LevelDB's C API does.
#include "lsmkv/c.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lsmkv/comparator.h"
#include "lsmkv/db.h"
#include "lsmkv/env.h"
#include "lsmkv/filter_policy.h"
#include "lsmkv/iterator.h"
#include "lsmkv/options.h"
#include "lsmkv/status.h"
#include "lsmkv/tools.h"
#include "lsmkv/transaction.h"
#include "lsmkv/write_batch.h"

#ifndef LSMKV_C_VERSION_MAJOR
#error "LSMKV_C_VERSION_MAJOR and LSMKV_C_VERSION_MINOR come from bindings/c/c.cmake"
#endif

using lsmkv::Status;

namespace {

// A C comparator: the callbacks behind lsmkv::Comparator. The shortening
// helpers leave keys alone (always correct), as LevelDB's C comparator does.
class CComparator final : public lsmkv::Comparator {
 public:
  CComparator(void* state, void (*destructor)(void*),
              int (*compare)(void*, const char*, size_t, const char*, size_t),
              const char* (*name)(void*))
      : state_(state), destructor_(destructor), compare_(compare), name_(name) {}
  CComparator(const CComparator&) = delete;
  CComparator& operator=(const CComparator&) = delete;
  ~CComparator() override {
    if (destructor_ != nullptr) destructor_(state_);
  }
  int Compare(std::string_view a, std::string_view b) const override {
    return compare_(state_, a.data(), a.size(), b.data(), b.size());
  }
  const char* Name() const override { return name_(state_); }
  void FindShortestSeparator(std::string*, std::string_view) const override {}
  void FindShortSuccessor(std::string*) const override {}

 private:
  void* const state_;
  void (*const destructor_)(void*);
  int (*const compare_)(void*, const char*, size_t, const char*, size_t);
  const char* (*const name_)(void*);
};

// A C filter policy. Its destructor callback is run by
// lsmkv_filterpolicy_destroy, not here: this object may outlive the C
// handle inside Options and open databases (shared_ptr).
class CFilterPolicy final : public lsmkv::FilterPolicy {
 public:
  using CreateFn = char* (*)(void*, const char* const*, const size_t*, int, size_t*);
  using MatchFn = uint8_t (*)(void*, const char*, size_t, const char*, size_t);
  CFilterPolicy(void* state, CreateFn create, MatchFn match, const char* (*name)(void*))
      : state_(state), create_(create), match_(match), name_(name) {}
  const char* Name() const override { return name_(state_); }
  void CreateFilter(const std::string_view* keys, size_t n, std::string* dst) const override {
    std::vector<const char*> key_pointers(n);
    std::vector<size_t> key_sizes(n);
    for (size_t i = 0; i < n; i++) {
      key_pointers[i] = keys[i].data();
      key_sizes[i] = keys[i].size();
    }
    size_t length = 0;
    char* filter =
        create_(state_, key_pointers.data(), key_sizes.data(), static_cast<int>(n), &length);
    dst->append(filter, length);
    std::free(filter);
  }
  bool KeyMayMatch(std::string_view key, std::string_view filter) const override {
    return match_(state_, key.data(), key.size(), filter.data(), filter.size()) != 0;
  }

 private:
  void* const state_;
  const CreateFn create_;
  const MatchFn match_;
  const char* (*const name_)(void*);
};

// Calls the C callbacks of lsmkv_writebatch_iterate.
class CBatchHandler final : public lsmkv::WriteBatch::Handler {
 public:
  CBatchHandler(void* state, void (*put)(void*, const char*, size_t, const char*, size_t),
                void (*deleted)(void*, const char*, size_t),
                void (*delete_range)(void*, const char*, size_t, const char*, size_t) = nullptr)
      : state_(state), put_(put), deleted_(deleted), delete_range_(delete_range) {}
  void Put(std::string_view key, std::string_view value) override {
    put_(state_, key.data(), key.size(), value.data(), value.size());
  }
  void Delete(std::string_view key) override { deleted_(state_, key.data(), key.size()); }
  bool DeleteRange(std::string_view begin, std::string_view end) override {
    if (delete_range_ == nullptr) return false;  // Iterate stops here
    delete_range_(state_, begin.data(), begin.size(), end.data(), end.size());
    return true;
  }

 private:
  void* const state_;
  void (*const put_)(void*, const char*, size_t, const char*, size_t);
  void (*const deleted_)(void*, const char*, size_t);
  void (*const delete_range_)(void*, const char*, size_t, const char*, size_t);
};

// A malloc()ed copy of bytes (plus a NUL so that text can be printed).
char* CopyBytes(std::string_view bytes) {
  char* result = static_cast<char*>(std::malloc(bytes.size() + 1));
  std::memcpy(result, bytes.data(), bytes.size());
  result[bytes.size()] = '\0';
  return result;
}

// Stores a failed status in *errptr (freeing what it held); true if s failed.
bool SaveError(char** errptr, const Status& s) {
  if (s.ok()) return false;
  std::free(*errptr);
  *errptr = CopyBytes(s.ToString());
  return true;
}

}  // namespace

extern "C" {

struct lsmkv_t {
  std::unique_ptr<lsmkv::DB> rep;
};
struct lsmkv_iterator_t {
  std::unique_ptr<lsmkv::Iterator> rep;
};
struct lsmkv_writebatch_t {
  lsmkv::WriteBatch rep;
};
struct lsmkv_snapshot_t {
  const lsmkv::Snapshot* rep;
};
struct lsmkv_readoptions_t {
  lsmkv::ReadOptions rep;
};
struct lsmkv_writeoptions_t {
  lsmkv::WriteOptions rep;
};
struct lsmkv_options_t {
  lsmkv::Options rep;
  // Set by a setter given a value it cannot represent (and cleared by a
  // later valid value): lsmkv_open and the other calls taking options fail
  // with it, as setters cannot report errors.
  std::string invalid_compression;
  std::string invalid_wal_recovery_mode;
  std::string invalid_info_log;
  std::string invalid_engine;
};
struct lsmkv_cache_t {
  size_t capacity;
};
struct lsmkv_comparator_t {
  CComparator rep;
};
struct lsmkv_filterpolicy_t {
  std::shared_ptr<const lsmkv::FilterPolicy> rep;
  void* state;
  void (*destructor)(void*);
};
struct lsmkv_env_t {
  lsmkv::Env* rep;
  std::unique_ptr<lsmkv::Env> owned;  // set for a memory env
};
struct lsmkv_transactionoptions_t {
  lsmkv::TransactionOptions rep;
  bool valid_isolation = true;
};
struct lsmkv_transaction_t {
  std::unique_ptr<lsmkv::Transaction> rep;  // nullptr if `error` says why not
  Status error;
};

}  // extern "C"

namespace {

Status CheckOptions(const lsmkv_options_t* options) {
  for (const std::string* why : {&options->invalid_compression, &options->invalid_wal_recovery_mode,
                                 &options->invalid_info_log, &options->invalid_engine}) {
    if (!why->empty()) return Status::InvalidArgument(*why);
  }
  return Status::OK();
}

char* GetResult(const Status& s, const std::string& value, size_t* vallen, char** errptr) {
  *vallen = 0;
  if (s.IsNotFound()) return nullptr;
  if (SaveError(errptr, s)) return nullptr;
  *vallen = value.size();
  return CopyBytes(value);
}

}  // namespace

extern "C" {

// ---------------------------------------------------------------- database

lsmkv_t* lsmkv_open(const lsmkv_options_t* options, const char* name, char** errptr) {
  std::unique_ptr<lsmkv::DB> db;
  Status s = CheckOptions(options);
  if (s.ok()) s = lsmkv::DB::Open(options->rep, name, &db);
  if (SaveError(errptr, s)) return nullptr;
  return new lsmkv_t{std::move(db)};
}

void lsmkv_close(lsmkv_t* db) { delete db; }

void lsmkv_put(lsmkv_t* db, const lsmkv_writeoptions_t* options, const char* key, size_t keylen,
               const char* val, size_t vallen, char** errptr) {
  SaveError(errptr, db->rep->Put(options->rep, {key, keylen}, {val, vallen}));
}

void lsmkv_delete(lsmkv_t* db, const lsmkv_writeoptions_t* options, const char* key, size_t keylen,
                  char** errptr) {
  SaveError(errptr, db->rep->Delete(options->rep, {key, keylen}));
}

void lsmkv_delete_range(lsmkv_t* db, const lsmkv_writeoptions_t* options, const char* begin,
                        size_t beginlen, const char* end, size_t endlen, char** errptr) {
  SaveError(errptr, db->rep->DeleteRange(options->rep, {begin, beginlen}, {end, endlen}));
}

void lsmkv_write(lsmkv_t* db, const lsmkv_writeoptions_t* options, lsmkv_writebatch_t* batch,
                 char** errptr) {
  SaveError(errptr, db->rep->Write(options->rep, &batch->rep));
}

char* lsmkv_get(lsmkv_t* db, const lsmkv_readoptions_t* options, const char* key, size_t keylen,
                size_t* vallen, char** errptr) {
  std::string value;
  Status s = db->rep->Get(options->rep, {key, keylen}, &value);
  return GetResult(s, value, vallen, errptr);
}

lsmkv_iterator_t* lsmkv_create_iterator(lsmkv_t* db, const lsmkv_readoptions_t* options) {
  return new lsmkv_iterator_t{db->rep->NewIterator(options->rep)};
}

const lsmkv_snapshot_t* lsmkv_create_snapshot(lsmkv_t* db) {
  return new lsmkv_snapshot_t{db->rep->GetSnapshot()};
}

void lsmkv_release_snapshot(lsmkv_t* db, const lsmkv_snapshot_t* snapshot) {
  db->rep->ReleaseSnapshot(snapshot->rep);
  delete snapshot;
}

char* lsmkv_property_value(lsmkv_t* db, const char* propname) {
  std::string value;
  if (!db->rep->GetProperty(propname, &value)) return nullptr;
  return CopyBytes(value);
}

void lsmkv_approximate_sizes(lsmkv_t* db, int num_ranges, const char* const* range_start_key,
                             const size_t* range_start_key_len, const char* const* range_limit_key,
                             const size_t* range_limit_key_len, uint64_t* sizes) {
  std::vector<lsmkv::Range> ranges(num_ranges > 0 ? num_ranges : 0);
  for (int i = 0; i < num_ranges; i++) {
    ranges[i].start = std::string_view(range_start_key[i], range_start_key_len[i]);
    ranges[i].limit = std::string_view(range_limit_key[i], range_limit_key_len[i]);
  }
  // The only error is a closed DB, which a C handle never is; sizes are 0 then.
  db->rep->GetApproximateSizes(ranges.data(), num_ranges, sizes).PermitUncheckedError();
}

void lsmkv_compact_range(lsmkv_t* db, const char* start_key, size_t start_key_len,
                         const char* limit_key, size_t limit_key_len) {
  std::string start, limit;
  if (start_key != nullptr) start.assign(start_key, start_key_len);
  if (limit_key != nullptr) limit.assign(limit_key, limit_key_len);
  // LevelDB's C API reports nothing here either.
  db->rep
      ->CompactRange(start_key != nullptr ? &start : nullptr,
                     limit_key != nullptr ? &limit : nullptr)
      .PermitUncheckedError();
}

// ---------------------------------------------------------------- management

void lsmkv_destroy_db(const lsmkv_options_t* options, const char* name, char** errptr) {
  Status s = CheckOptions(options);
  if (s.ok()) s = lsmkv::DestroyDB(name, options->rep);
  SaveError(errptr, s);
}

void lsmkv_repair_db(const lsmkv_options_t* options, const char* name, char** errptr) {
  Status s = CheckOptions(options);
  if (s.ok()) {
    lsmkv::RepairOptions repair_options;
    repair_options.db_options = options->rep;
    lsmkv::RepairReport report;
    s = lsmkv::RepairDB(name, repair_options, &report);
  }
  SaveError(errptr, s);
}

// ---------------------------------------------------------------- iterator

void lsmkv_iter_destroy(lsmkv_iterator_t* iter) { delete iter; }
uint8_t lsmkv_iter_valid(const lsmkv_iterator_t* iter) { return iter->rep->Valid(); }
void lsmkv_iter_seek_to_first(lsmkv_iterator_t* iter) { iter->rep->SeekToFirst(); }
void lsmkv_iter_seek_to_last(lsmkv_iterator_t* iter) { iter->rep->SeekToLast(); }
void lsmkv_iter_seek(lsmkv_iterator_t* iter, const char* k, size_t klen) {
  iter->rep->Seek({k, klen});
}
void lsmkv_iter_next(lsmkv_iterator_t* iter) { iter->rep->Next(); }
void lsmkv_iter_prev(lsmkv_iterator_t* iter) { iter->rep->Prev(); }

const char* lsmkv_iter_key(const lsmkv_iterator_t* iter, size_t* klen) {
  std::string_view key = iter->rep->key();
  *klen = key.size();
  return key.data();
}

const char* lsmkv_iter_value(const lsmkv_iterator_t* iter, size_t* vlen) {
  std::string_view value = iter->rep->value();
  *vlen = value.size();
  return value.data();
}

void lsmkv_iter_get_error(const lsmkv_iterator_t* iter, char** errptr) {
  SaveError(errptr, iter->rep->status());
}

// ---------------------------------------------------------------- write batch

lsmkv_writebatch_t* lsmkv_writebatch_create(void) { return new lsmkv_writebatch_t; }
void lsmkv_writebatch_destroy(lsmkv_writebatch_t* b) { delete b; }
void lsmkv_writebatch_clear(lsmkv_writebatch_t* b) { b->rep.Clear(); }

void lsmkv_writebatch_put(lsmkv_writebatch_t* b, const char* key, size_t klen, const char* val,
                          size_t vlen) {
  b->rep.Put({key, klen}, {val, vlen});
}

void lsmkv_writebatch_delete(lsmkv_writebatch_t* b, const char* key, size_t klen) {
  b->rep.Delete({key, klen});
}

void lsmkv_writebatch_delete_range(lsmkv_writebatch_t* b, const char* begin, size_t beginlen,
                                   const char* end, size_t endlen) {
  b->rep.DeleteRange({begin, beginlen}, {end, endlen});
}

void lsmkv_writebatch_iterate_ranges(const lsmkv_writebatch_t* b, void* state,
                                     void (*put)(void*, const char* k, size_t klen, const char* v,
                                                 size_t vlen),
                                     void (*deleted)(void*, const char* k, size_t klen),
                                     void (*delete_range)(void*, const char* begin, size_t beginlen,
                                                          const char* end, size_t endlen)) {
  CBatchHandler handler(state, put, deleted, delete_range);
  b->rep.Iterate(&handler).PermitUncheckedError();  // always decodes (see below)
}

void lsmkv_writebatch_iterate(const lsmkv_writebatch_t* b, void* state,
                              void (*put)(void*, const char* k, size_t klen, const char* v,
                                          size_t vlen),
                              void (*deleted)(void*, const char* k, size_t klen)) {
  CBatchHandler handler(state, put, deleted);
  // A batch built through this API always decodes; LevelDB's signature has
  // no way to report otherwise (nor a range deletion: iteration stops there,
  // as c.h says).
  b->rep.Iterate(&handler).PermitUncheckedError();
}

void lsmkv_writebatch_append(lsmkv_writebatch_t* destination, const lsmkv_writebatch_t* source) {
  destination->rep.Append(source->rep);
}

// ---------------------------------------------------------------- options

lsmkv_options_t* lsmkv_options_create(void) { return new lsmkv_options_t; }
void lsmkv_options_destroy(lsmkv_options_t* o) { delete o; }

void lsmkv_options_set_comparator(lsmkv_options_t* o, lsmkv_comparator_t* cmp) {
  o->rep.comparator = cmp != nullptr ? &cmp->rep : nullptr;
}

void lsmkv_options_set_filter_policy(lsmkv_options_t* o, lsmkv_filterpolicy_t* policy) {
  o->rep.filter_policy = policy != nullptr ? policy->rep : nullptr;
}

void lsmkv_options_set_create_if_missing(lsmkv_options_t* o, uint8_t v) {
  o->rep.create_if_missing = v != 0;
}
void lsmkv_options_set_error_if_exists(lsmkv_options_t* o, uint8_t v) {
  o->rep.error_if_exists = v != 0;
}
void lsmkv_options_set_paranoid_checks(lsmkv_options_t* o, uint8_t v) {
  o->rep.paranoid_checks = v != 0;
}
void lsmkv_options_set_env(lsmkv_options_t* o, lsmkv_env_t* env) {
  o->rep.env = env != nullptr ? env->rep : nullptr;
}

void lsmkv_options_set_info_log(lsmkv_options_t* o, lsmkv_logger_t* logger) {
  // No lsmkv_logger_t can be made (c.h); NULL is the only value, and the
  // engine's LOG file is always written.
  o->invalid_info_log =
      logger != nullptr ? "lsmkv_options_set_info_log: only NULL is accepted" : "";
}

void lsmkv_options_set_write_buffer_size(lsmkv_options_t* o, size_t v) {
  o->rep.write_buffer_size = v;
}
void lsmkv_options_set_max_open_files(lsmkv_options_t* o, int v) { o->rep.max_open_files = v; }

void lsmkv_options_set_cache(lsmkv_options_t* o, lsmkv_cache_t* cache) {
  o->rep.block_cache_size = cache != nullptr ? cache->capacity : lsmkv::Options().block_cache_size;
}

void lsmkv_options_set_block_size(lsmkv_options_t* o, size_t v) { o->rep.block_size = v; }
void lsmkv_options_set_block_restart_interval(lsmkv_options_t* o, int v) {
  o->rep.block_restart_interval = v;
}
void lsmkv_options_set_max_file_size(lsmkv_options_t* o, size_t v) { o->rep.target_file_size = v; }

void lsmkv_options_set_compression(lsmkv_options_t* o, int v) {
  if (v < lsmkv_no_compression || v > lsmkv_zstd_compression) {
    o->invalid_compression =
        "lsmkv_options_set_compression: unknown compression " + std::to_string(v);
    return;
  }
  o->invalid_compression.clear();
  o->rep.compression = static_cast<lsmkv::CompressionType>(v);
}

// ---------------------------------------------------------------- comparator

lsmkv_comparator_t* lsmkv_comparator_create(void* state, void (*destructor)(void*),
                                            int (*compare)(void*, const char* a, size_t alen,
                                                           const char* b, size_t blen),
                                            const char* (*name)(void*)) {
  return new lsmkv_comparator_t{CComparator(state, destructor, compare, name)};
}

void lsmkv_comparator_destroy(lsmkv_comparator_t* cmp) { delete cmp; }

// ---------------------------------------------------------------- filter policy

lsmkv_filterpolicy_t* lsmkv_filterpolicy_create(
    void* state, void (*destructor)(void*),
    char* (*create_filter)(void*, const char* const* key_array, const size_t* key_length_array,
                           int num_keys, size_t* filter_length),
    uint8_t (*key_may_match)(void*, const char* key, size_t length, const char* filter,
                             size_t filter_length),
    const char* (*name)(void*)) {
  return new lsmkv_filterpolicy_t{
      std::make_shared<CFilterPolicy>(state, create_filter, key_may_match, name), state,
      destructor};
}

void lsmkv_filterpolicy_destroy(lsmkv_filterpolicy_t* policy) {
  if (policy->destructor != nullptr) policy->destructor(policy->state);
  delete policy;
}

lsmkv_filterpolicy_t* lsmkv_filterpolicy_create_bloom(int bits_per_key) {
  // The engine's own object, so that Open recognises the built-in filter.
  return new lsmkv_filterpolicy_t{lsmkv::NewBloomFilterPolicy(bits_per_key), nullptr, nullptr};
}

// ---------------------------------------------------------------- read and write options

lsmkv_readoptions_t* lsmkv_readoptions_create(void) { return new lsmkv_readoptions_t; }
void lsmkv_readoptions_destroy(lsmkv_readoptions_t* o) { delete o; }
void lsmkv_readoptions_set_verify_checksums(lsmkv_readoptions_t* o, uint8_t v) {
  o->rep.verify_checksums = v != 0;
}
void lsmkv_readoptions_set_fill_cache(lsmkv_readoptions_t* o, uint8_t v) {
  o->rep.fill_cache = v != 0;
}
void lsmkv_readoptions_set_snapshot(lsmkv_readoptions_t* o, const lsmkv_snapshot_t* snap) {
  o->rep.snapshot = snap != nullptr ? snap->rep : nullptr;
}

lsmkv_writeoptions_t* lsmkv_writeoptions_create(void) { return new lsmkv_writeoptions_t; }
void lsmkv_writeoptions_destroy(lsmkv_writeoptions_t* o) { delete o; }
void lsmkv_writeoptions_set_sync(lsmkv_writeoptions_t* o, uint8_t v) { o->rep.sync = v != 0; }

// ---------------------------------------------------------------- cache and env

lsmkv_cache_t* lsmkv_cache_create_lru(size_t capacity) { return new lsmkv_cache_t{capacity}; }
void lsmkv_cache_destroy(lsmkv_cache_t* cache) { delete cache; }

lsmkv_env_t* lsmkv_create_default_env(void) {
  return new lsmkv_env_t{lsmkv::Env::Default(), nullptr};
}

lsmkv_env_t* lsmkv_create_mem_env(void) {
  std::unique_ptr<lsmkv::Env> env = lsmkv::NewMemEnv(lsmkv::Env::Default());
  lsmkv::Env* rep = env.get();
  return new lsmkv_env_t{rep, std::move(env)};
}

void lsmkv_env_destroy(lsmkv_env_t* env) { delete env; }

char* lsmkv_env_get_test_directory(lsmkv_env_t* env) {
  const char* from_environment = std::getenv("TEST_TMPDIR");
  std::string dir = from_environment != nullptr && *from_environment != '\0'
                        ? std::string(from_environment)
                        : "/tmp/lsmkvtest-" + std::to_string(geteuid());
  if (!env->rep->CreateDir(dir).ok()) return nullptr;
  return CopyBytes(dir);
}

// ---------------------------------------------------------------- utility

void lsmkv_free(void* ptr) { std::free(ptr); }
int lsmkv_major_version(void) { return LSMKV_C_VERSION_MAJOR; }
int lsmkv_minor_version(void) { return LSMKV_C_VERSION_MINOR; }

// ---------------------------------------------------------------- additions

void lsmkv_flush(lsmkv_t* db, char** errptr) { SaveError(errptr, db->rep->Flush()); }

void lsmkv_checkpoint_create(lsmkv_t* db, const char* dir, char** errptr) {
  SaveError(errptr, lsmkv::CreateCheckpoint(db->rep.get(), dir));
}

void lsmkv_verify_db(const lsmkv_options_t* options, const char* name, char** errptr) {
  Status s = CheckOptions(options);
  if (s.ok()) {
    lsmkv::VerifyOptions verify_options;
    verify_options.env = options->rep.env;
    verify_options.comparator = options->rep.comparator;
    verify_options.filter_policy = options->rep.filter_policy;
    lsmkv::VerifyReport report;
    s = lsmkv::VerifyDB(name, verify_options, &report);
  }
  SaveError(errptr, s);
}

void lsmkv_iter_seek_for_prev(lsmkv_iterator_t* iter, const char* k, size_t klen) {
  iter->rep->SeekForPrev({k, klen});
}

int lsmkv_writebatch_count(const lsmkv_writebatch_t* b) { return static_cast<int>(b->rep.Count()); }

void lsmkv_readoptions_set_iterate_lower_bound(lsmkv_readoptions_t* o, const char* key,
                                               size_t keylen) {
  if (key == nullptr) {
    o->rep.lower_bound.reset();
  } else {
    o->rep.lower_bound.emplace(key, keylen);
  }
}

void lsmkv_readoptions_set_iterate_upper_bound(lsmkv_readoptions_t* o, const char* key,
                                               size_t keylen) {
  if (key == nullptr) {
    o->rep.upper_bound.reset();
  } else {
    o->rep.upper_bound.emplace(key, keylen);
  }
}

void lsmkv_options_set_bloom_bits_per_key(lsmkv_options_t* o, int v) {
  o->rep.bloom_bits_per_key = v;
}
void lsmkv_options_set_max_key_size(lsmkv_options_t* o, size_t v) { o->rep.max_key_size = v; }
void lsmkv_options_set_max_value_size(lsmkv_options_t* o, size_t v) { o->rep.max_value_size = v; }
void lsmkv_options_set_max_write_buffer_number(lsmkv_options_t* o, int v) {
  o->rep.max_write_buffer_number = v;
}
void lsmkv_options_set_max_background_compactions(lsmkv_options_t* o, int v) {
  o->rep.max_background_compactions = v;
}
void lsmkv_options_set_level0_file_limit(lsmkv_options_t* o, int v) {
  o->rep.level0_file_limit = v;
}

void lsmkv_options_set_engine(lsmkv_options_t* o, int v) {
  if (v < lsmkv_engine_lsm || v > lsmkv_engine_bitcask) {
    o->invalid_engine = "lsmkv_options_set_engine: unknown engine " + std::to_string(v);
    return;
  }
  o->invalid_engine.clear();
  o->rep.engine = static_cast<lsmkv::StorageEngine>(v);
}

void lsmkv_options_set_engine_by_name(lsmkv_options_t* o, const char* name) {
  const std::string_view wanted = name != nullptr ? name : "";
  for (int v = lsmkv_engine_lsm; v <= lsmkv_engine_bitcask; v++) {
    if (wanted == lsmkv::StorageEngineName(static_cast<lsmkv::StorageEngine>(v))) {
      lsmkv_options_set_engine(o, v);
      return;
    }
  }
  o->invalid_engine = "lsmkv_options_set_engine_by_name: unknown engine name \"" +
                      std::string(wanted) + "\" (lsm, btree or bitcask)";
}

void lsmkv_options_set_wal_recovery_mode(lsmkv_options_t* o, int v) {
  if (v < lsmkv_wal_tolerate_corrupted_tail || v > lsmkv_wal_skip_any_corrupted) {
    o->invalid_wal_recovery_mode =
        "lsmkv_options_set_wal_recovery_mode: unknown mode " + std::to_string(v);
    return;
  }
  o->invalid_wal_recovery_mode.clear();
  o->rep.wal_recovery_mode = static_cast<lsmkv::WalRecoveryMode>(v);
}

// ---------------------------------------------------------------- transactions

lsmkv_transactionoptions_t* lsmkv_transactionoptions_create(void) {
  return new lsmkv_transactionoptions_t;
}
void lsmkv_transactionoptions_destroy(lsmkv_transactionoptions_t* o) { delete o; }

void lsmkv_transactionoptions_set_isolation(lsmkv_transactionoptions_t* o, int v) {
  o->valid_isolation = v == lsmkv_isolation_snapshot || v == lsmkv_isolation_serializable;
  o->rep.isolation = v == lsmkv_isolation_serializable ? lsmkv::IsolationLevel::kSerializable
                                                       : lsmkv::IsolationLevel::kSnapshot;
}
void lsmkv_transactionoptions_set_max_write_bytes(lsmkv_transactionoptions_t* o, size_t v) {
  o->rep.max_write_bytes = v;
}
void lsmkv_transactionoptions_set_max_lifetime_micros(lsmkv_transactionoptions_t* o, uint64_t v) {
  o->rep.max_lifetime_micros = v;
}

lsmkv_transaction_t* lsmkv_transaction_begin(lsmkv_t* db, const lsmkv_writeoptions_t* options,
                                             const lsmkv_transactionoptions_t* txn_options) {
  auto* txn = new lsmkv_transaction_t;
  if (!txn_options->valid_isolation) {
    txn->error = Status::InvalidArgument("lsmkv_transactionoptions_set_isolation: unknown level");
  } else {
    txn->rep = db->rep->BeginTransaction(options->rep, txn_options->rep);
  }
  return txn;
}

char* lsmkv_transaction_get(lsmkv_transaction_t* txn, const lsmkv_readoptions_t* options,
                            const char* key, size_t keylen, size_t* vallen, char** errptr) {
  std::string value;
  Status s = txn->rep ? txn->rep->Get(options->rep, {key, keylen}, &value) : txn->error;
  return GetResult(s, value, vallen, errptr);
}

char* lsmkv_transaction_get_for_update(lsmkv_transaction_t* txn, const lsmkv_readoptions_t* options,
                                       const char* key, size_t keylen, size_t* vallen,
                                       char** errptr) {
  std::string value;
  Status s = txn->rep ? txn->rep->GetForUpdate(options->rep, {key, keylen}, &value) : txn->error;
  return GetResult(s, value, vallen, errptr);
}

void lsmkv_transaction_put(lsmkv_transaction_t* txn, const char* key, size_t keylen,
                           const char* val, size_t vallen, char** errptr) {
  SaveError(errptr, txn->rep ? txn->rep->Put({key, keylen}, {val, vallen}) : txn->error);
}

void lsmkv_transaction_delete(lsmkv_transaction_t* txn, const char* key, size_t keylen,
                              char** errptr) {
  SaveError(errptr, txn->rep ? txn->rep->Delete({key, keylen}) : txn->error);
}

lsmkv_iterator_t* lsmkv_transaction_create_iterator(lsmkv_transaction_t* txn,
                                                    const lsmkv_readoptions_t* options) {
  if (!txn->rep) {
    return new lsmkv_iterator_t{
        std::unique_ptr<lsmkv::Iterator>(lsmkv::NewEmptyIterator(txn->error))};
  }
  return new lsmkv_iterator_t{txn->rep->NewIterator(options->rep)};
}

int lsmkv_transaction_commit(lsmkv_transaction_t* txn, char** errptr) {
  Status s = txn->rep ? txn->rep->Commit() : txn->error;
  SaveError(errptr, s);
  return static_cast<int>(s.code());
}

void lsmkv_transaction_rollback(lsmkv_transaction_t* txn, char** errptr) {
  SaveError(errptr, txn->rep ? txn->rep->Rollback() : txn->error);
}

void lsmkv_transaction_set_savepoint(lsmkv_transaction_t* txn) {
  if (txn->rep) txn->rep->SetSavePoint();
}

void lsmkv_transaction_rollback_to_savepoint(lsmkv_transaction_t* txn, char** errptr) {
  SaveError(errptr, txn->rep ? txn->rep->RollbackToSavePoint() : txn->error);
}

void lsmkv_transaction_destroy(lsmkv_transaction_t* txn) { delete txn; }

}  // extern "C"
