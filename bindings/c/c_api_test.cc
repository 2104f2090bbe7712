// The C API's additions beyond LevelDB's (include/lsmkv/c.h): iterator
// bounds, checkpoints, verification, transactions and the further options,
// plus what bindings/c/c_test.c cannot check from C (the exact version,
// error replacement, a reordering comparator, the cache capacity, filter
// policy lifetimes). Built as C++, so it also checks the header compiles as
// C++.
#include "lsmkv/c.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// The C API's malloc()ed strings, freed with lsmkv_free.
struct Text {
  char* p = nullptr;
  ~Text() { lsmkv_free(p); }
  std::string str() const { return p != nullptr ? std::string(p) : std::string("(null)"); }
};

class CApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lsmkv_env_t* env = lsmkv_create_default_env();
    Text base{lsmkv_env_get_test_directory(env)};
    lsmkv_env_destroy(env);
    ASSERT_NE(base.p, nullptr);
    dir_ =
        std::string(base.p) + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    dbname_ = dir_ + "/db";
    options_ = lsmkv_options_create();
    lsmkv_options_set_create_if_missing(options_, 1);
    ro_ = lsmkv_readoptions_create();
    wo_ = lsmkv_writeoptions_create();
  }
  void TearDown() override {
    if (db_ != nullptr) lsmkv_close(db_);
    lsmkv_options_destroy(options_);
    lsmkv_readoptions_destroy(ro_);
    lsmkv_writeoptions_destroy(wo_);
    lsmkv_free(err_);
    fs::remove_all(dir_);
  }

  // Opens dbname_ with options_ into db_; the error text, "" on success.
  std::string Open() {
    if (db_ != nullptr) lsmkv_close(db_);
    db_ = lsmkv_open(options_, dbname_.c_str(), &err_);
    return TakeError();
  }
  std::string TakeError() {
    std::string e = err_ != nullptr ? err_ : "";
    lsmkv_free(err_);
    err_ = nullptr;
    return e;
  }
  void Put(const std::string& k, const std::string& v) {
    lsmkv_put(db_, wo_, k.data(), k.size(), v.data(), v.size(), &err_);
    ASSERT_EQ(TakeError(), "");
  }
  // The value, "NOT_FOUND", or "ERROR: ...".
  std::string Get(const std::string& k, const lsmkv_readoptions_t* ro = nullptr) {
    size_t len = 0;
    char* v = lsmkv_get(db_, ro != nullptr ? ro : ro_, k.data(), k.size(), &len, &err_);
    std::string e = TakeError();
    if (!e.empty()) return "ERROR: " + e;
    if (v == nullptr) return "NOT_FOUND";
    std::string result(v, len);
    lsmkv_free(v);
    return result;
  }
  // Every "key=value" an iterator sees from its first entry on.
  static std::string Scan(lsmkv_iterator_t* it) {
    std::string out;
    for (lsmkv_iter_seek_to_first(it); lsmkv_iter_valid(it); lsmkv_iter_next(it)) {
      size_t kl = 0, vl = 0;
      const char* k = lsmkv_iter_key(it, &kl);
      const char* v = lsmkv_iter_value(it, &vl);
      out += std::string(k, kl) + "=" + std::string(v, vl) + " ";
    }
    return out;
  }
  uint64_t StatsRow(const std::string& label) {
    Text stats{lsmkv_property_value(db_, "lsmkv.stats")};
    EXPECT_NE(stats.p, nullptr);
    std::string s = stats.str();
    size_t at = s.find(label + ": ");
    EXPECT_NE(at, std::string::npos) << label;
    if (at == std::string::npos) return 0;
    return std::strtoull(s.c_str() + at + label.size() + 2, nullptr, 10);
  }

  std::string dir_, dbname_;
  lsmkv_options_t* options_ = nullptr;
  lsmkv_readoptions_t* ro_ = nullptr;
  lsmkv_writeoptions_t* wo_ = nullptr;
  lsmkv_t* db_ = nullptr;
  char* err_ = nullptr;
};

TEST_F(CApiTest, VersionIsTheLibrarys) {
  EXPECT_EQ(lsmkv_major_version(), LSMKV_TEST_VERSION_MAJOR);
  EXPECT_EQ(lsmkv_minor_version(), LSMKV_TEST_VERSION_MINOR);
}

TEST_F(CApiTest, ErrorReplacesAndFreesThePreviousOne) {
  lsmkv_options_set_create_if_missing(options_, 0);
  err_ = static_cast<char*>(std::malloc(8));  // an earlier message; must be freed (ASan: leak)
  std::strcpy(err_, "earlier");
  EXPECT_EQ(lsmkv_open(options_, dbname_.c_str(), &err_), nullptr);
  ASSERT_NE(err_, nullptr);
  EXPECT_NE(std::string(err_), "earlier");
  // Success leaves an error in place.
  lsmkv_options_set_create_if_missing(options_, 1);
  char* before = err_;
  db_ = lsmkv_open(options_, dbname_.c_str(), &err_);
  ASSERT_NE(db_, nullptr);
  EXPECT_EQ(err_, before);
}

TEST_F(CApiTest, OptionsOutOfRangeFailOpen) {
  struct Case {
    const char* what;
    void (*set)(lsmkv_options_t*);
    const char* expect;
  };
  const Case cases[] = {
      {"write buffer", [](lsmkv_options_t* o) { lsmkv_options_set_write_buffer_size(o, 100); },
       "Invalid argument"},
      {"block size", [](lsmkv_options_t* o) { lsmkv_options_set_block_size(o, 10); }, "block_size"},
      {"compression", [](lsmkv_options_t* o) { lsmkv_options_set_compression(o, 9); },
       "unknown compression 9"},
      {"wal mode", [](lsmkv_options_t* o) { lsmkv_options_set_wal_recovery_mode(o, -1); },
       "unknown mode -1"},
      {"memtables", [](lsmkv_options_t* o) { lsmkv_options_set_max_write_buffer_number(o, 1); },
       "Invalid argument"},
      {"compactions",
       [](lsmkv_options_t* o) { lsmkv_options_set_max_background_compactions(o, 0); },
       "max_background_compactions"},
      {"level0", [](lsmkv_options_t* o) { lsmkv_options_set_level0_file_limit(o, 0); },
       "level0_file_limit"},
      {"open files", [](lsmkv_options_t* o) { lsmkv_options_set_max_open_files(o, 0); },
       "max_open_files"},
      {"restarts", [](lsmkv_options_t* o) { lsmkv_options_set_block_restart_interval(o, 0); },
       "block_restart_interval"},
      {"info log",
       [](lsmkv_options_t* o) {
         static int not_a_logger;
         lsmkv_options_set_info_log(o, reinterpret_cast<lsmkv_logger_t*>(&not_a_logger));
       },
       "only NULL"},
      {"engine", [](lsmkv_options_t* o) { lsmkv_options_set_engine(o, 3); }, "unknown engine 3"},
      {"engine name", [](lsmkv_options_t* o) { lsmkv_options_set_engine_by_name(o, "lmdb"); },
       "unknown engine name \"lmdb\""},
      {"compression, then a valid one, then a bad one",
       [](lsmkv_options_t* o) {
         lsmkv_options_set_compression(o, 9);
         lsmkv_options_set_compression(o, lsmkv_zstd_compression);
         lsmkv_options_set_compression(o, -2);
       },
       "unknown compression -2"},
  };
  for (const Case& c : cases) {
    lsmkv_options_t* o = lsmkv_options_create();
    lsmkv_options_set_create_if_missing(o, 1);
    c.set(o);
    char* err = nullptr;
    lsmkv_t* db = lsmkv_open(o, dbname_.c_str(), &err);
    EXPECT_EQ(db, nullptr) << c.what;
    ASSERT_NE(err, nullptr) << c.what;
    EXPECT_NE(std::string(err).find(c.expect), std::string::npos) << c.what << ": " << err;
    lsmkv_free(err);
    if (db != nullptr) lsmkv_close(db);
    // The same options are refused by destroy, repair and verify as well.
    err = nullptr;
    if (std::string(c.expect).starts_with("unknown")) {
      lsmkv_destroy_db(o, dbname_.c_str(), &err);
      EXPECT_NE(err, nullptr) << c.what;
      lsmkv_repair_db(o, dbname_.c_str(), &err);
      EXPECT_NE(err, nullptr) << c.what;
      lsmkv_verify_db(o, dbname_.c_str(), &err);
      EXPECT_NE(err, nullptr) << c.what;
      lsmkv_free(err);
    }
    lsmkv_options_destroy(o);
  }
  // A valid value replaces an invalid one.
  lsmkv_options_set_compression(options_, 42);
  lsmkv_options_set_wal_recovery_mode(options_, 42);
  lsmkv_options_set_info_log(options_, reinterpret_cast<lsmkv_logger_t*>(options_));
  EXPECT_NE(Open(), "");
  lsmkv_options_set_compression(options_, lsmkv_snappy_compression);
  EXPECT_NE(Open(), "");
  lsmkv_options_set_wal_recovery_mode(options_, lsmkv_wal_point_in_time);
  EXPECT_NE(Open(), "");
  lsmkv_options_set_info_log(options_, nullptr);
  ASSERT_EQ(Open(), "");
}

TEST_F(CApiTest, EngineIsRecordedAndChecked) {
  lsmkv_options_set_engine_by_name(options_, "lsm");
  ASSERT_EQ(Open(), "");
  Put("k", "v");
  lsmkv_close(db_);
  db_ = nullptr;
  lsmkv_options_set_engine(options_, lsmkv_engine_btree);
  const std::string mismatch = Open();
  EXPECT_NE(mismatch.find("holds a database of engine lsm but Options::engine is btree"),
            std::string::npos)
      << mismatch;
  lsmkv_options_set_engine_by_name(options_, "bitcask");
  EXPECT_NE(Open().find("engine lsm"), std::string::npos);
  lsmkv_options_set_engine(options_, lsmkv_engine_lsm);
  ASSERT_EQ(Open(), "");
  EXPECT_EQ(Get("k"), "v");
  lsmkv_close(db_);
  db_ = nullptr;
  // A new database of each other engine: it works, or the engine is not in
  // this build yet and says so.
  for (int engine : {lsmkv_engine_btree, lsmkv_engine_bitcask}) {
    lsmkv_options_set_engine(options_, engine);
    const std::string name = dbname_ + "_engine" + std::to_string(engine);
    db_ = lsmkv_open(options_, name.c_str(), &err_);
    const std::string e = TakeError();
    if (db_ == nullptr) {
      EXPECT_NE(e.find("not implemented yet"), std::string::npos) << e;
      continue;
    }
    Put("k", "v" + std::to_string(engine));
    EXPECT_EQ(Get("k"), "v" + std::to_string(engine));
    lsmkv_close(db_);
    db_ = nullptr;
    lsmkv_destroy_db(options_, name.c_str(), &err_);
    EXPECT_EQ(TakeError(), "");
  }
}

// ---- comparators and filter policies

int ReverseCompare(void*, const char* a, size_t alen, const char* b, size_t blen) {
  int r = std::memcmp(a, b, std::min(alen, blen));
  if (r == 0) r = alen < blen ? -1 : (alen > blen ? 1 : 0);
  return -r;
}
const char* ReverseName(void*) { return "c_api_test.reverse"; }
const char* ReservedName(void*) { return "lsmkv.mine"; }
void CountDestroy(void* state) { ++*static_cast<int*>(state); }

TEST_F(CApiTest, UserComparatorOrdersKeysAndIsRecorded) {
  int destroyed = 0;
  lsmkv_comparator_t* cmp =
      lsmkv_comparator_create(&destroyed, CountDestroy, ReverseCompare, ReverseName);
  lsmkv_options_set_comparator(options_, cmp);
  lsmkv_options_set_write_buffer_size(options_, 4096);
  ASSERT_EQ(Open(), "");
  for (const char* k : {"b", "a", "c"}) Put(k, std::string("v") + k);
  lsmkv_iterator_t* it = lsmkv_create_iterator(db_, ro_);
  EXPECT_EQ(Scan(it), "c=vc b=vb a=va ");
  lsmkv_iter_destroy(it);
  lsmkv_compact_range(db_, nullptr, 0, nullptr, 0);
  lsmkv_close(db_);
  db_ = nullptr;

  // Verify and repair read the tables in the comparator's order.
  lsmkv_verify_db(options_, dbname_.c_str(), &err_);
  EXPECT_EQ(TakeError(), "");
  lsmkv_repair_db(options_, dbname_.c_str(), &err_);
  EXPECT_EQ(TakeError(), "");
  ASSERT_EQ(Open(), "");
  it = lsmkv_create_iterator(db_, ro_);
  EXPECT_EQ(Scan(it), "c=vc b=vb a=va ");
  lsmkv_iter_destroy(it);
  lsmkv_close(db_);
  db_ = nullptr;

  // The name is recorded: the default order is refused.
  lsmkv_options_set_comparator(options_, nullptr);
  EXPECT_NE(Open().find("c_api_test.reverse"), std::string::npos);
  EXPECT_EQ(db_, nullptr);
  lsmkv_comparator_destroy(cmp);
  EXPECT_EQ(destroyed, 1);
}

TEST_F(CApiTest, ReservedNamesAreRefused) {
  lsmkv_comparator_t* cmp = lsmkv_comparator_create(nullptr, nullptr, ReverseCompare, ReservedName);
  lsmkv_options_set_comparator(options_, cmp);
  EXPECT_NE(Open().find("reserved"), std::string::npos);
  lsmkv_options_set_comparator(options_, nullptr);
  lsmkv_comparator_destroy(cmp);

  lsmkv_filterpolicy_t* policy = lsmkv_filterpolicy_create(
      nullptr, nullptr,
      [](void*, const char* const*, const size_t*, int, size_t* n) -> char* {
        *n = 0;
        return static_cast<char*>(std::malloc(1));
      },
      [](void*, const char*, size_t, const char*, size_t) -> uint8_t { return 1; }, ReservedName);
  lsmkv_options_set_filter_policy(options_, policy);
  EXPECT_NE(Open().find("reserved"), std::string::npos);
  lsmkv_filterpolicy_destroy(policy);
}

struct FilterState {
  int destroyed = 0;
};
char* FilterByKeys(void*, const char* const* keys, const size_t* lens, int n, size_t* len) {
  // The filter is the keys themselves, each preceded by its length byte.
  std::string f;
  for (int i = 0; i < n; i++) {
    f.push_back(static_cast<char>(lens[i]));
    f.append(keys[i], lens[i]);
  }
  char* out = static_cast<char*>(std::malloc(f.size() + 1));
  std::memcpy(out, f.data(), f.size());
  *len = f.size();
  return out;
}
uint8_t MatchByKeys(void*, const char* key, size_t len, const char* filter, size_t flen) {
  for (size_t at = 0; at < flen;) {
    size_t n = static_cast<unsigned char>(filter[at]);
    if (n == len && std::memcmp(filter + at + 1, key, len) == 0) return 1;
    at += 1 + n;
  }
  return 0;
}
const char* ExactName(void*) { return "c_api_test.exact"; }

TEST_F(CApiTest, FilterPolicyMayBeDestroyedWhileOptionsHoldIt) {
  FilterState state;
  lsmkv_filterpolicy_t* policy = lsmkv_filterpolicy_create(
      &state, [](void* s) { static_cast<FilterState*>(s)->destroyed++; }, FilterByKeys, MatchByKeys,
      ExactName);
  lsmkv_options_set_filter_policy(options_, policy);
  // The C handle goes first; the options (and the DB) keep the C++ object,
  // whose callbacks here need no state. ASan checks nothing is freed early.
  lsmkv_filterpolicy_destroy(policy);
  EXPECT_EQ(state.destroyed, 1);
  ASSERT_EQ(Open(), "");
  Put("apple", "1");
  Put("cherry", "2");
  lsmkv_compact_range(db_, nullptr, 0, nullptr, 0);
  EXPECT_EQ(Get("apple"), "1");
  EXPECT_EQ(Get("cherry"), "2");
  EXPECT_EQ(Get("banana"), "NOT_FOUND");
  EXPECT_GE(StatsRow("bloom filter useful"), 1u);  // the exact filter ruled banana out
}

TEST_F(CApiTest, BloomBitsPerKeyZeroMeansNoFilter) {
  for (int bits : {10, 0}) {
    lsmkv_options_set_bloom_bits_per_key(options_, bits);
    lsmkv_destroy_db(options_, dbname_.c_str(), &err_);
    ASSERT_EQ(TakeError(), "");
    ASSERT_EQ(Open(), "");
    Put("a", "1");
    Put("z", "2");
    lsmkv_flush(db_, &err_);
    ASSERT_EQ(TakeError(), "");
    EXPECT_EQ(Get("m"), "NOT_FOUND");
    EXPECT_EQ(Get("a"), "1");
    if (bits == 0) {
      EXPECT_EQ(StatsRow("bloom filter checks"), 0u);
    } else {
      EXPECT_GE(StatsRow("bloom filter checks"), 1u);
    }
    lsmkv_close(db_);
    db_ = nullptr;
  }
}

TEST_F(CApiTest, CacheSetsEachDatabasesCapacity) {
  // Capacity 0 keeps nothing: every read of the block misses. A real
  // capacity serves the second read from the cache. The block is compressed:
  // the cache keeps decompressed blocks (an uncompressed block of a mapped
  // table is read in place and never cached; docs/design.md).
  const std::string value(2000, 'v');
  lsmkv_options_set_compression(options_, lsmkv_snappy_compression);
  for (size_t capacity : {size_t{0}, size_t{1} << 20}) {
    lsmkv_cache_t* cache = lsmkv_cache_create_lru(capacity);
    lsmkv_options_set_cache(options_, cache);
    lsmkv_cache_destroy(cache);
    lsmkv_destroy_db(options_, dbname_.c_str(), &err_);
    ASSERT_EQ(Open(), "");
    Put("k", value);
    lsmkv_flush(db_, &err_);
    ASSERT_EQ(TakeError(), "");
    for (int i = 0; i < 3; i++) EXPECT_EQ(Get("k"), value);
    if (capacity == 0) {
      EXPECT_EQ(StatsRow("block cache hits"), 0u);
    } else {
      EXPECT_GE(StatsRow("block cache hits"), 2u);
    }
    lsmkv_close(db_);
    db_ = nullptr;
  }
  lsmkv_options_set_cache(options_, nullptr);  // back to the default
  lsmkv_options_set_compression(options_, lsmkv_no_compression);
  ASSERT_EQ(Open(), "");
}

// ---- options

TEST_F(CApiTest, CompressionKindsRoundTrip) {
  const int kinds[] = {lsmkv_no_compression, lsmkv_snappy_compression, lsmkv_lz4_compression,
                       lsmkv_zstd_compression};
  for (int kind : kinds) {
    lsmkv_options_set_compression(options_, kind);
    lsmkv_destroy_db(options_, dbname_.c_str(), &err_);
    ASSERT_EQ(Open(), "") << kind;
    std::string value(1000, 'x');
    for (int i = 0; i < 200; i++) Put("key" + std::to_string(i), value + std::to_string(i));
    lsmkv_flush(db_, &err_);
    ASSERT_EQ(TakeError(), "");
    const char* start = "key";
    const char* limit = "kez";
    size_t start_len = 3, limit_len = 3;
    uint64_t size = 0;
    lsmkv_approximate_sizes(db_, 1, &start, &start_len, &limit, &limit_len, &size);
    if (kind == lsmkv_no_compression) {
      EXPECT_GT(size, 200u * 1000u);
    } else {
      EXPECT_LT(size, 200u * 1000u / 4) << kind;  // repetitive values shrink
    }
    ASSERT_EQ(Open(), "");  // reopen: the tables decode
    EXPECT_EQ(Get("key123"), value + "123");
    lsmkv_close(db_);
    db_ = nullptr;
    lsmkv_verify_db(options_, dbname_.c_str(), &err_);
    EXPECT_EQ(TakeError(), "") << kind;
  }
}

TEST_F(CApiTest, KeyAndValueSizeLimits) {
  lsmkv_options_set_max_key_size(options_, 8);
  lsmkv_options_set_max_value_size(options_, 16);
  ASSERT_EQ(Open(), "");
  Put("12345678", std::string(16, 'v'));
  std::string long_key(9, 'k');
  lsmkv_put(db_, wo_, long_key.data(), long_key.size(), "v", 1, &err_);
  EXPECT_NE(TakeError().find("Invalid argument"), std::string::npos);
  std::string long_value(17, 'v');
  lsmkv_put(db_, wo_, "k", 1, long_value.data(), long_value.size(), &err_);
  EXPECT_NE(TakeError().find("Invalid argument"), std::string::npos);
  lsmkv_writebatch_t* batch = lsmkv_writebatch_create();
  lsmkv_writebatch_put(batch, "ok", 2, "fine", 4);
  lsmkv_writebatch_put(batch, long_key.data(), long_key.size(), "v", 1);
  lsmkv_write(db_, wo_, batch, &err_);
  EXPECT_NE(TakeError(), "");
  EXPECT_EQ(Get("ok"), "NOT_FOUND");  // nothing of a refused batch is written
  lsmkv_writebatch_destroy(batch);
}

TEST_F(CApiTest, WalRecoveryModesOpen) {
  const int modes[] = {lsmkv_wal_tolerate_corrupted_tail, lsmkv_wal_absolute_consistency,
                       lsmkv_wal_point_in_time, lsmkv_wal_skip_any_corrupted};
  for (int mode : modes) {
    lsmkv_options_set_wal_recovery_mode(options_, mode);
    ASSERT_EQ(Open(), "") << mode;
    Put("mode" + std::to_string(mode), "x");
    ASSERT_EQ(Open(), "") << mode;  // replays the log
    EXPECT_EQ(Get("mode" + std::to_string(mode)), "x");
  }
}

TEST_F(CApiTest, MemEnvKeepsFilesInMemory) {
  lsmkv_env_t* env = lsmkv_create_mem_env();
  lsmkv_options_set_env(options_, env);
  Text dir{lsmkv_env_get_test_directory(env)};
  ASSERT_NE(dir.p, nullptr);
  std::string name = dir.str() + "/memdb-c-api";
  lsmkv_t* db = lsmkv_open(options_, name.c_str(), &err_);
  ASSERT_EQ(TakeError(), "");
  lsmkv_put(db, wo_, "k", 1, "v", 1, &err_);
  ASSERT_EQ(TakeError(), "");
  lsmkv_flush(db, &err_);
  ASSERT_EQ(TakeError(), "");
  EXPECT_FALSE(fs::exists(name));  // not on disk
  lsmkv_close(db);
  db = lsmkv_open(options_, name.c_str(), &err_);
  ASSERT_EQ(TakeError(), "");
  size_t len = 0;
  Text v{lsmkv_get(db, ro_, "k", 1, &len, &err_)};
  EXPECT_EQ(std::string(v.p, len), "v");
  lsmkv_close(db);
  lsmkv_options_set_env(options_, nullptr);
  lsmkv_env_destroy(env);
}

// ---- reads

TEST_F(CApiTest, IteratorBoundsAndSeekForPrev) {
  ASSERT_EQ(Open(), "");
  for (const char* k : {"a", "b", "c", "d", "e"}) Put(k, k);
  lsmkv_readoptions_set_iterate_lower_bound(ro_, "b", 1);
  lsmkv_readoptions_set_iterate_upper_bound(ro_, "d", 1);
  lsmkv_iterator_t* it = lsmkv_create_iterator(db_, ro_);
  EXPECT_EQ(Scan(it), "b=b c=c ");
  lsmkv_iter_seek_to_last(it);
  ASSERT_TRUE(lsmkv_iter_valid(it));
  size_t len = 0;
  EXPECT_EQ(std::string(lsmkv_iter_key(it, &len), 1), "c");
  lsmkv_iter_seek_for_prev(it, "bz", 2);
  ASSERT_TRUE(lsmkv_iter_valid(it));
  EXPECT_EQ(std::string(lsmkv_iter_key(it, &len), len), "b");
  lsmkv_iter_seek(it, "a", 1);  // below the lower bound: clamped to it
  ASSERT_TRUE(lsmkv_iter_valid(it));
  EXPECT_EQ(std::string(lsmkv_iter_key(it, &len), len), "b");
  lsmkv_iter_destroy(it);

  // Bounds are copied: the read options' later changes do not matter...
  std::string upper = "e";
  lsmkv_readoptions_set_iterate_upper_bound(ro_, upper.data(), upper.size());
  it = lsmkv_create_iterator(db_, ro_);
  upper = "zz";
  lsmkv_readoptions_set_iterate_upper_bound(ro_, nullptr, 0);
  EXPECT_EQ(Scan(it), "b=b c=c d=d ");
  lsmkv_iter_destroy(it);
  // ...and NULL removes a bound.
  lsmkv_readoptions_set_iterate_lower_bound(ro_, nullptr, 0);
  it = lsmkv_create_iterator(db_, ro_);
  EXPECT_EQ(Scan(it), "a=a b=b c=c d=d e=e ");
  lsmkv_iter_seek_for_prev(it, "0", 1);
  EXPECT_FALSE(lsmkv_iter_valid(it));
  lsmkv_iter_get_error(it, &err_);
  EXPECT_EQ(TakeError(), "");
  lsmkv_iter_destroy(it);
}

TEST_F(CApiTest, PropertiesAndFlush) {
  ASSERT_EQ(Open(), "");
  Put("a", "1");
  Text seq{lsmkv_property_value(db_, "lsmkv.last-sequence")};
  ASSERT_NE(seq.p, nullptr);
  EXPECT_EQ(seq.str(), "1");
  Text files{lsmkv_property_value(db_, "lsmkv.live-files")};
  ASSERT_NE(files.p, nullptr);
  EXPECT_EQ(files.str(), "");
  lsmkv_flush(db_, &err_);
  ASSERT_EQ(TakeError(), "");
  Text after{lsmkv_property_value(db_, "lsmkv.live-files")};
  EXPECT_NE(after.str(), "");
  EXPECT_EQ(lsmkv_property_value(db_, "lsmkv.no-such-property"), nullptr);
}

// ---- management

TEST_F(CApiTest, CheckpointOpensOnItsOwn) {
  ASSERT_EQ(Open(), "");
  Put("before", "1");
  lsmkv_flush(db_, &err_);
  ASSERT_EQ(TakeError(), "");
  Put("unflushed", "2");  // in the log only: copied too
  std::string checkpoint = dir_ + "/checkpoint";
  lsmkv_checkpoint_create(db_, checkpoint.c_str(), &err_);
  ASSERT_EQ(TakeError(), "");
  Put("after", "3");  // the database stays writable; the checkpoint does not see it
  lsmkv_checkpoint_create(db_, checkpoint.c_str(), &err_);  // dir exists
  EXPECT_NE(TakeError().find("Invalid argument"), std::string::npos);

  lsmkv_t* copy = lsmkv_open(options_, checkpoint.c_str(), &err_);
  ASSERT_EQ(TakeError(), "");
  lsmkv_t* original = db_;
  db_ = copy;
  EXPECT_EQ(Get("before"), "1");
  EXPECT_EQ(Get("unflushed"), "2");
  EXPECT_EQ(Get("after"), "NOT_FOUND");
  lsmkv_close(copy);
  db_ = original;
  EXPECT_EQ(Get("after"), "3");
  lsmkv_close(db_);
  db_ = nullptr;
  lsmkv_verify_db(options_, checkpoint.c_str(), &err_);
  EXPECT_EQ(TakeError(), "");
}

TEST_F(CApiTest, VerifyFindsDamage) {
  lsmkv_verify_db(options_, dbname_.c_str(), &err_);  // nothing there yet
  EXPECT_NE(TakeError().find("NotFound"), std::string::npos);
  ASSERT_EQ(Open(), "");
  for (int i = 0; i < 1000; i++) Put("key" + std::to_string(i), std::string(100, 'v'));
  lsmkv_flush(db_, &err_);
  ASSERT_EQ(TakeError(), "");
  lsmkv_destroy_db(options_, dbname_.c_str(), &err_);  // open: refused
  EXPECT_NE(TakeError(), "");
  lsmkv_close(db_);
  db_ = nullptr;
  lsmkv_verify_db(options_, dbname_.c_str(), &err_);
  ASSERT_EQ(TakeError(), "");

  std::string table;
  for (const auto& entry : fs::directory_iterator(dbname_)) {
    if (entry.path().extension() == ".sst") table = entry.path();
  }
  ASSERT_NE(table, "");
  {
    std::fstream f(table, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\xff').put('\x00').put('\xee');
  }
  lsmkv_verify_db(options_, dbname_.c_str(), &err_);
  EXPECT_NE(TakeError().find("Corruption"), std::string::npos);
  lsmkv_destroy_db(options_, dbname_.c_str(), &err_);
  EXPECT_EQ(TakeError(), "");
  EXPECT_FALSE(fs::exists(table));
}

// ---- transactions

class CApiTxnTest : public CApiTest {
 protected:
  void SetUp() override {
    CApiTest::SetUp();
    lsmkv_options_set_wal_recovery_mode(options_, lsmkv_wal_point_in_time);
    ASSERT_EQ(Open(), "");
    topt_ = lsmkv_transactionoptions_create();
  }
  void TearDown() override {
    lsmkv_transactionoptions_destroy(topt_);
    CApiTest::TearDown();
  }
  std::string TxnGet(lsmkv_transaction_t* txn, const std::string& k, bool for_update = false) {
    size_t len = 0;
    char* v = for_update
                  ? lsmkv_transaction_get_for_update(txn, ro_, k.data(), k.size(), &len, &err_)
                  : lsmkv_transaction_get(txn, ro_, k.data(), k.size(), &len, &err_);
    std::string e = TakeError();
    if (!e.empty()) return "ERROR: " + e;
    if (v == nullptr) return "NOT_FOUND";
    std::string result(v, len);
    lsmkv_free(v);
    return result;
  }
  void TxnPut(lsmkv_transaction_t* txn, const std::string& k, const std::string& v) {
    lsmkv_transaction_put(txn, k.data(), k.size(), v.data(), v.size(), &err_);
    ASSERT_EQ(TakeError(), "");
  }
  lsmkv_transactionoptions_t* topt_ = nullptr;
};

TEST_F(CApiTxnTest, CommitWritesAtomicallyAndSeesOwnWrites) {
  Put("a", "old");
  lsmkv_transaction_t* txn = lsmkv_transaction_begin(db_, wo_, topt_);
  TxnPut(txn, "b", "new");
  lsmkv_transaction_delete(txn, "a", 1, &err_);
  ASSERT_EQ(TakeError(), "");
  EXPECT_EQ(TxnGet(txn, "a"), "NOT_FOUND");
  EXPECT_EQ(TxnGet(txn, "b"), "new");
  EXPECT_EQ(Get("a"), "old");  // others see nothing before commit
  EXPECT_EQ(Get("b"), "NOT_FOUND");
  lsmkv_iterator_t* it = lsmkv_transaction_create_iterator(txn, ro_);
  EXPECT_EQ(Scan(it), "b=new ");
  lsmkv_iter_destroy(it);
  EXPECT_EQ(lsmkv_transaction_commit(txn, &err_), lsmkv_ok);
  EXPECT_EQ(TakeError(), "");
  lsmkv_transaction_destroy(txn);
  EXPECT_EQ(Get("a"), "NOT_FOUND");
  EXPECT_EQ(Get("b"), "new");
}

TEST_F(CApiTxnTest, WriteConflictIsBusy) {
  lsmkv_transaction_t* txn = lsmkv_transaction_begin(db_, wo_, topt_);
  TxnPut(txn, "k", "txn");
  Put("k", "outside");  // committed after the transaction began
  EXPECT_EQ(lsmkv_transaction_commit(txn, &err_), lsmkv_busy);
  EXPECT_NE(TakeError().find("Busy"), std::string::npos);
  lsmkv_transaction_destroy(txn);
  EXPECT_EQ(Get("k"), "outside");
}

TEST_F(CApiTxnTest, GetForUpdateConflictsAtSnapshotLevel) {
  Put("balance", "10");
  lsmkv_transaction_t* plain = lsmkv_transaction_begin(db_, wo_, topt_);
  lsmkv_transaction_t* locked = lsmkv_transaction_begin(db_, wo_, topt_);
  EXPECT_EQ(TxnGet(plain, "balance"), "10");
  EXPECT_EQ(TxnGet(locked, "balance", /*for_update=*/true), "10");
  TxnPut(plain, "other1", "x");
  TxnPut(locked, "other2", "x");
  Put("balance", "20");
  EXPECT_EQ(lsmkv_transaction_commit(plain, &err_), lsmkv_ok);  // a plain read is not checked
  EXPECT_EQ(TakeError(), "");
  EXPECT_EQ(lsmkv_transaction_commit(locked, &err_), lsmkv_busy);
  EXPECT_NE(TakeError(), "");
  lsmkv_transaction_destroy(plain);
  lsmkv_transaction_destroy(locked);
}

TEST_F(CApiTxnTest, SerializableChecksReads) {
  lsmkv_transactionoptions_set_isolation(topt_, lsmkv_isolation_serializable);
  lsmkv_transaction_t* txn = lsmkv_transaction_begin(db_, wo_, topt_);
  EXPECT_EQ(TxnGet(txn, "x"), "NOT_FOUND");
  TxnPut(txn, "y", "1");
  Put("x", "appeared");
  EXPECT_EQ(lsmkv_transaction_commit(txn, &err_), lsmkv_busy);
  EXPECT_NE(TakeError(), "");
  lsmkv_transaction_destroy(txn);
  EXPECT_EQ(Get("y"), "NOT_FOUND");

  // Invalid level: every call of the transaction fails, nothing is written.
  lsmkv_transactionoptions_set_isolation(topt_, 7);
  txn = lsmkv_transaction_begin(db_, wo_, topt_);
  lsmkv_transaction_put(txn, "z", 1, "1", 1, &err_);
  EXPECT_NE(TakeError().find("unknown level"), std::string::npos);
  EXPECT_EQ(TxnGet(txn, "x").find("ERROR"), 0u);
  lsmkv_iterator_t* it = lsmkv_transaction_create_iterator(txn, ro_);
  EXPECT_FALSE(lsmkv_iter_valid(it));
  lsmkv_iter_get_error(it, &err_);
  EXPECT_NE(TakeError(), "");
  lsmkv_iter_destroy(it);
  EXPECT_EQ(lsmkv_transaction_commit(txn, &err_), lsmkv_invalid_argument);
  EXPECT_NE(TakeError(), "");
  lsmkv_transaction_destroy(txn);
}

TEST_F(CApiTxnTest, RollbackSavepointsAndDestroy) {
  lsmkv_transaction_t* txn = lsmkv_transaction_begin(db_, wo_, topt_);
  TxnPut(txn, "keep", "1");
  lsmkv_transaction_set_savepoint(txn);
  TxnPut(txn, "drop", "2");
  lsmkv_transaction_rollback_to_savepoint(txn, &err_);
  EXPECT_EQ(TakeError(), "");
  lsmkv_transaction_rollback_to_savepoint(txn, &err_);  // none left
  EXPECT_NE(TakeError().find("NotFound"), std::string::npos);
  EXPECT_EQ(TxnGet(txn, "drop"), "NOT_FOUND");
  EXPECT_EQ(lsmkv_transaction_commit(txn, &err_), lsmkv_ok);
  lsmkv_transaction_destroy(txn);
  EXPECT_EQ(Get("keep"), "1");
  EXPECT_EQ(Get("drop"), "NOT_FOUND");

  txn = lsmkv_transaction_begin(db_, wo_, topt_);
  TxnPut(txn, "rolled", "back");
  lsmkv_transaction_rollback(txn, &err_);
  EXPECT_EQ(TakeError(), "");
  lsmkv_transaction_put(txn, "late", 4, "x", 1, &err_);  // finished
  EXPECT_NE(TakeError(), "");
  lsmkv_transaction_destroy(txn);

  txn = lsmkv_transaction_begin(db_, wo_, topt_);
  TxnPut(txn, "abandoned", "x");
  lsmkv_transaction_destroy(txn);  // destroy without commit rolls back
  EXPECT_EQ(Get("rolled"), "NOT_FOUND");
  EXPECT_EQ(Get("abandoned"), "NOT_FOUND");
}

TEST_F(CApiTxnTest, LimitsAndLifetime) {
  lsmkv_transactionoptions_set_max_write_bytes(topt_, 10);
  lsmkv_transaction_t* txn = lsmkv_transaction_begin(db_, wo_, topt_);
  TxnPut(txn, "k", "12345");
  lsmkv_transaction_put(txn, "k2", 2, "123456789", 9, &err_);
  EXPECT_NE(TakeError().find("Invalid argument"), std::string::npos);
  lsmkv_transaction_destroy(txn);

  lsmkv_transactionoptions_set_max_write_bytes(topt_, 1 << 20);
  lsmkv_transactionoptions_set_max_lifetime_micros(topt_, 1000);
  txn = lsmkv_transaction_begin(db_, wo_, topt_);
  usleep(20000);
  EXPECT_EQ(lsmkv_transaction_commit(txn, &err_), lsmkv_aborted);
  EXPECT_NE(TakeError(), "");
  lsmkv_transaction_destroy(txn);
}

TEST_F(CApiTest, TransactionsNeedAPrefixKeepingRecoveryMode) {
  ASSERT_EQ(Open(), "");  // the default mode, skip-any-corrupted
  lsmkv_transactionoptions_t* topt = lsmkv_transactionoptions_create();
  lsmkv_transaction_t* txn = lsmkv_transaction_begin(db_, wo_, topt);
  lsmkv_transaction_put(txn, "k", 1, "v", 1, &err_);
  EXPECT_NE(TakeError().find("Invalid argument"), std::string::npos);
  EXPECT_EQ(lsmkv_transaction_commit(txn, &err_), lsmkv_invalid_argument);
  EXPECT_NE(TakeError(), "");
  lsmkv_transaction_destroy(txn);
  lsmkv_transactionoptions_destroy(topt);
}

}  // namespace
