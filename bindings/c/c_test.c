/* The C API (include/lsmkv/c.h) end to end, from C99: the behaviour
   LevelDB's db/c_test.c checks for its C API, over one database in the
   test directory with a user comparator for the whole run (repair too).
   Unlike upstream, the filter phase really checks that a filter answering
   "no" hides present keys (upstream compares `phase == 0`, a string
   pointer, so that branch never runs). Any failed check aborts. */
#include "lsmkv/c.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char* current_phase = "";

static void Phase(const char* name) {
  fprintf(stderr, "--- %s\n", name);
  current_phase = name;
}

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: [%s] check failed: %s\n", __FILE__, __LINE__, current_phase, #cond); \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

#define CHECK_OK(err)                                                                          \
  do {                                                                                         \
    if ((err) != NULL) {                                                                       \
      fprintf(stderr, "%s:%d: [%s] unexpected error: %s\n", __FILE__, __LINE__, current_phase, \
              (err));                                                                          \
      abort();                                                                                 \
    }                                                                                          \
  } while (0)

/* want NULL: got must be NULL; else got[0, n) must equal want. */
static void ExpectBytes(int line, const char* want, const char* got, size_t n) {
  if (want == NULL && got == NULL) return;
  if (want != NULL && got != NULL && n == strlen(want) && memcmp(want, got, n) == 0) return;
  fprintf(stderr, "c_test.c:%d: [%s] expected '%s', got '%.*s'\n", line, current_phase,
          want != NULL ? want : "(null)", got != NULL ? (int)n : 6, got != NULL ? got : "(null)");
  abort();
}

static void ExpectGet(int line, lsmkv_t* db, const lsmkv_readoptions_t* ro, const char* key,
                      const char* want) {
  char* err = NULL;
  size_t len = 12345;
  char* value = lsmkv_get(db, ro, key, strlen(key), &len, &err);
  CHECK_OK(err);
  if (value == NULL) CHECK(len == 0);
  ExpectBytes(line, want, value, len);
  lsmkv_free(value);
}
#define EXPECT_GET(db, ro, key, want) ExpectGet(__LINE__, db, ro, key, want)

static void ExpectEntry(int line, const lsmkv_iterator_t* it, const char* key, const char* value) {
  size_t len = 0;
  const char* bytes;
  CHECK(lsmkv_iter_valid(it));
  bytes = lsmkv_iter_key(it, &len);
  ExpectBytes(line, key, bytes, len);
  bytes = lsmkv_iter_value(it, &len);
  ExpectBytes(line, value, bytes, len);
}
#define EXPECT_ENTRY(it, key, value) ExpectEntry(__LINE__, it, key, value)

/* ---- write batch iteration: records what the callbacks saw */
struct BatchLog {
  int calls;
  char text[256];
};

static void LogPut(void* state, const char* k, size_t klen, const char* v, size_t vlen) {
  struct BatchLog* log = (struct BatchLog*)state;
  size_t used = strlen(log->text);
  snprintf(log->text + used, sizeof(log->text) - used, "put(%.*s,%.*s);", (int)klen, k, (int)vlen,
           v);
  log->calls++;
}

static void LogDelete(void* state, const char* k, size_t klen) {
  struct BatchLog* log = (struct BatchLog*)state;
  size_t used = strlen(log->text);
  snprintf(log->text + used, sizeof(log->text) - used, "del(%.*s);", (int)klen, k);
  log->calls++;
}

static void LogDeleteRange(void* state, const char* b, size_t blen, const char* e, size_t elen) {
  struct BatchLog* log = (struct BatchLog*)state;
  size_t used = strlen(log->text);
  snprintf(log->text + used, sizeof(log->text) - used, "delrange(%.*s,%.*s);", (int)blen, b,
           (int)elen, e);
  log->calls++;
}

/* ---- the comparator: bytewise, under its own name */
static int comparator_destroyed = 0;
static int comparator_state_token = 0;

static void ComparatorDestroy(void* state) {
  CHECK(state == &comparator_state_token);
  comparator_destroyed++;
}

static int ComparatorCompare(void* state, const char* a, size_t alen, const char* b, size_t blen) {
  size_t n = alen < blen ? alen : blen;
  int r = memcmp(a, b, n);
  (void)state;
  if (r != 0) return r;
  return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

static const char* ComparatorName(void* state) {
  (void)state;
  return "c_test.bytewise";
}

/* ---- the filter policy: a fixed filter, and an answer the test switches */
static uint8_t filter_answer = 1;
static int filter_destroyed = 0;
static int filter_created = 0;
static int filter_state_token = 0;

static void FilterDestroy(void* state) {
  CHECK(state == &filter_state_token);
  filter_destroyed++;
}

static const char* FilterName(void* state) {
  (void)state;
  return "c_test.fixed";
}

static char* FilterCreate(void* state, const char* const* keys, const size_t* key_lengths,
                          int num_keys, size_t* filter_length) {
  char* filter = (char*)malloc(5);
  (void)state;
  (void)keys;
  (void)key_lengths;
  CHECK(num_keys > 0);
  memcpy(filter, "fixed", 5);
  *filter_length = 5;
  filter_created++;
  return filter;
}

static uint8_t FilterMatch(void* state, const char* key, size_t length, const char* filter,
                           size_t filter_length) {
  (void)state;
  (void)key;
  (void)length;
  CHECK(filter_length == 5 && memcmp(filter, "fixed", 5) == 0);
  return filter_answer;
}

int main(void) {
  lsmkv_t* db;
  lsmkv_comparator_t* cmp;
  lsmkv_cache_t* cache;
  lsmkv_env_t* env;
  lsmkv_options_t* options;
  lsmkv_readoptions_t* ro;
  lsmkv_writeoptions_t* wo;
  char* dbname;
  char* err = NULL;
  int run;

  Phase("version");
  CHECK(lsmkv_major_version() >= 0 && lsmkv_minor_version() >= 0);
  CHECK(lsmkv_major_version() > 0 || lsmkv_minor_version() > 0);

  Phase("create_objects");
  cmp = lsmkv_comparator_create(&comparator_state_token, ComparatorDestroy, ComparatorCompare,
                                ComparatorName);
  env = lsmkv_create_default_env();
  cache = lsmkv_cache_create_lru(100000);
  dbname = lsmkv_env_get_test_directory(env);
  CHECK(dbname != NULL);
  fprintf(stderr, "test directory: %s\n", dbname);

  options = lsmkv_options_create();
  lsmkv_options_set_comparator(options, cmp);
  lsmkv_options_set_error_if_exists(options, 1);
  lsmkv_options_set_cache(options, cache);
  lsmkv_cache_destroy(cache); /* the options keep the capacity, not the object */
  lsmkv_options_set_env(options, env);
  lsmkv_options_set_info_log(options, NULL);
  lsmkv_options_set_write_buffer_size(options, 100000);
  lsmkv_options_set_paranoid_checks(options, 1);
  lsmkv_options_set_max_open_files(options, 10);
  lsmkv_options_set_block_size(options, 1024);
  lsmkv_options_set_block_restart_interval(options, 8);
  lsmkv_options_set_max_file_size(options, 3 << 20);
  lsmkv_options_set_compression(options, lsmkv_no_compression);

  ro = lsmkv_readoptions_create();
  lsmkv_readoptions_set_verify_checksums(ro, 1);
  lsmkv_readoptions_set_fill_cache(ro, 0);
  wo = lsmkv_writeoptions_create();
  lsmkv_writeoptions_set_sync(wo, 1);

  Phase("destroy");
  lsmkv_destroy_db(options, dbname, &err);
  CHECK_OK(err);

  Phase("open_error");
  db = lsmkv_open(options, dbname, &err); /* no database and no create_if_missing */
  CHECK(db == NULL);
  CHECK(err != NULL);
  fprintf(stderr, "expected error: %s\n", err);
  /* A second failure replaces (and frees) the first message. */
  db = lsmkv_open(options, dbname, &err);
  CHECK(db == NULL && err != NULL);
  lsmkv_free(err);
  err = NULL;

  Phase("open");
  lsmkv_options_set_create_if_missing(options, 1);
  db = lsmkv_open(options, dbname, &err);
  CHECK_OK(err);
  CHECK(db != NULL);
  EXPECT_GET(db, ro, "foo", NULL);

  Phase("error_if_exists");
  {
    lsmkv_t* second = lsmkv_open(options, dbname, &err); /* open already, and exists */
    CHECK(second == NULL && err != NULL);
    lsmkv_free(err);
    err = NULL;
  }

  Phase("put");
  lsmkv_put(db, wo, "foo", 3, "hello", 5, &err);
  CHECK_OK(err);
  EXPECT_GET(db, ro, "foo", "hello");
  {
    /* Keys and values are bytes: an embedded NUL survives. */
    char* value;
    size_t len = 0;
    lsmkv_put(db, wo, "nul\0key", 7, "a\0b", 3, &err);
    CHECK_OK(err);
    value = lsmkv_get(db, ro, "nul\0key", 7, &len, &err);
    CHECK_OK(err);
    CHECK(value != NULL && len == 3 && memcmp(value, "a\0b", 3) == 0);
    lsmkv_free(value);
    EXPECT_GET(db, ro, "nul", NULL);
    lsmkv_delete(db, wo, "nul\0key", 7, &err);
    CHECK_OK(err);
  }

  Phase("compactall");
  lsmkv_compact_range(db, NULL, 0, NULL, 0);
  EXPECT_GET(db, ro, "foo", "hello");

  Phase("compactrange");
  lsmkv_compact_range(db, "a", 1, "z", 1);
  EXPECT_GET(db, ro, "foo", "hello");

  Phase("writebatch");
  {
    struct BatchLog log;
    lsmkv_writebatch_t* wb = lsmkv_writebatch_create();
    lsmkv_writebatch_t* wb2 = lsmkv_writebatch_create();
    lsmkv_writebatch_put(wb, "foo", 3, "a", 1);
    lsmkv_writebatch_clear(wb);
    CHECK(lsmkv_writebatch_count(wb) == 0);
    lsmkv_writebatch_put(wb, "bar", 3, "b", 1);
    lsmkv_writebatch_put(wb, "box", 3, "c", 1);
    lsmkv_writebatch_delete(wb2, "bar", 3);
    lsmkv_writebatch_append(wb, wb2);
    lsmkv_writebatch_destroy(wb2);
    CHECK(lsmkv_writebatch_count(wb) == 3);

    lsmkv_write(db, wo, wb, &err);
    CHECK_OK(err);
    EXPECT_GET(db, ro, "foo", "hello");
    EXPECT_GET(db, ro, "bar", NULL);
    EXPECT_GET(db, ro, "box", "c");

    memset(&log, 0, sizeof(log));
    lsmkv_writebatch_iterate(wb, &log, LogPut, LogDelete);
    CHECK(log.calls == 3);
    CHECK(strcmp(log.text, "put(bar,b);put(box,c);del(bar);") == 0);
    lsmkv_writebatch_destroy(wb);
  }

  Phase("delete_range");
  {
    struct BatchLog log;
    lsmkv_writebatch_t* wb = lsmkv_writebatch_create();
    lsmkv_writebatch_put(wb, "dr1", 3, "x", 1);
    lsmkv_writebatch_put(wb, "dr2", 3, "x", 1);
    lsmkv_writebatch_delete_range(wb, "dr1", 3, "dr2", 3);
    lsmkv_write(db, wo, wb, &err);
    CHECK_OK(err);
    EXPECT_GET(db, ro, "dr1", NULL);
    EXPECT_GET(db, ro, "dr2", "x");
    memset(&log, 0, sizeof(log));
    lsmkv_writebatch_iterate_ranges(wb, &log, LogPut, LogDelete, LogDeleteRange);
    CHECK(strcmp(log.text, "put(dr1,x);put(dr2,x);delrange(dr1,dr2);") == 0);
    memset(&log, 0, sizeof(log));
    lsmkv_writebatch_iterate(wb, &log, LogPut, LogDelete); /* stops at the range deletion */
    CHECK(strcmp(log.text, "put(dr1,x);put(dr2,x);") == 0);
    lsmkv_writebatch_destroy(wb);
    lsmkv_delete_range(db, wo, "dr", 2, "ds", 2, &err);
    CHECK_OK(err);
    EXPECT_GET(db, ro, "dr2", NULL);
    lsmkv_delete_range(db, wo, "b", 1, "a", 1, &err); /* empty range: an error */
    CHECK(err != NULL);
    lsmkv_free(err);
    err = NULL;
  }

  Phase("iter");
  {
    lsmkv_iterator_t* it = lsmkv_create_iterator(db, ro);
    CHECK(!lsmkv_iter_valid(it));
    lsmkv_iter_seek_to_first(it);
    EXPECT_ENTRY(it, "box", "c");
    lsmkv_iter_next(it);
    EXPECT_ENTRY(it, "foo", "hello");
    lsmkv_iter_next(it);
    CHECK(!lsmkv_iter_valid(it));
    lsmkv_iter_seek_to_last(it);
    EXPECT_ENTRY(it, "foo", "hello");
    lsmkv_iter_prev(it);
    EXPECT_ENTRY(it, "box", "c");
    lsmkv_iter_prev(it);
    CHECK(!lsmkv_iter_valid(it));
    lsmkv_iter_seek(it, "b", 1);
    EXPECT_ENTRY(it, "box", "c");
    lsmkv_iter_seek(it, "c", 1);
    EXPECT_ENTRY(it, "foo", "hello");
    lsmkv_iter_seek(it, "g", 1);
    CHECK(!lsmkv_iter_valid(it));
    lsmkv_iter_get_error(it, &err);
    CHECK_OK(err);
    lsmkv_iter_destroy(it);
  }

  Phase("approximate_sizes");
  {
    int i;
    const int n = 20000;
    char key[64];
    char value[64];
    uint64_t sizes[3] = {7, 7, 7};
    const char* start[3] = {"a", "k00000000000000010000", "x"};
    size_t start_len[3] = {1, 21, 1};
    const char* limit[3] = {"k00000000000000010000", "z", "y"};
    size_t limit_len[3] = {21, 1, 1};
    lsmkv_writeoptions_set_sync(wo, 0);
    for (i = 0; i < n; i++) {
      snprintf(key, sizeof(key), "k%020d", i);
      snprintf(value, sizeof(value), "v%020d", i);
      lsmkv_put(db, wo, key, strlen(key), value, strlen(value), &err);
      CHECK_OK(err);
    }
    lsmkv_approximate_sizes(db, 3, start, start_len, limit, limit_len, sizes);
    CHECK(sizes[0] > 0);
    CHECK(sizes[1] > 0);
    CHECK(sizes[2] == 0); /* nothing between "x" and "y" */
  }

  Phase("property");
  {
    char* prop = lsmkv_property_value(db, "nosuchprop");
    CHECK(prop == NULL);
    prop = lsmkv_property_value(db, "leveldb.stats"); /* LevelDB's name is not ours */
    CHECK(prop == NULL);
    prop = lsmkv_property_value(db, "lsmkv.stats");
    CHECK(prop != NULL && strlen(prop) > 0);
    lsmkv_free(prop);
  }

  Phase("snapshot");
  {
    const lsmkv_snapshot_t* snap = lsmkv_create_snapshot(db);
    lsmkv_delete(db, wo, "foo", 3, &err);
    CHECK_OK(err);
    lsmkv_readoptions_set_snapshot(ro, snap);
    EXPECT_GET(db, ro, "foo", "hello");
    lsmkv_readoptions_set_snapshot(ro, NULL);
    EXPECT_GET(db, ro, "foo", NULL);
    lsmkv_release_snapshot(db, snap);
  }

  Phase("repair");
  {
    lsmkv_close(db);
    lsmkv_options_set_create_if_missing(options, 0);
    lsmkv_options_set_error_if_exists(options, 0);
    lsmkv_repair_db(options, dbname, &err);
    CHECK_OK(err);
    db = lsmkv_open(options, dbname, &err);
    CHECK_OK(err);
    EXPECT_GET(db, ro, "foo", NULL);
    EXPECT_GET(db, ro, "bar", NULL);
    EXPECT_GET(db, ro, "box", "c");
    EXPECT_GET(db, ro, "k00000000000000012345", "v00000000000000012345");
    lsmkv_options_set_create_if_missing(options, 1);
    lsmkv_options_set_error_if_exists(options, 1);
  }

  Phase("filter");
  for (run = 0; run < 2; run++) {
    /* Run 0: the C filter policy; run 1: the built-in bloom filter. */
    lsmkv_filterpolicy_t* policy =
        run == 0 ? lsmkv_filterpolicy_create(&filter_state_token, FilterDestroy, FilterCreate,
                                             FilterMatch, FilterName)
                 : lsmkv_filterpolicy_create_bloom(10);
    lsmkv_close(db);
    lsmkv_destroy_db(options, dbname, &err);
    CHECK_OK(err);
    lsmkv_options_set_filter_policy(options, policy);
    db = lsmkv_open(options, dbname, &err);
    CHECK_OK(err);
    lsmkv_put(db, wo, "foo", 3, "foovalue", 8, &err);
    CHECK_OK(err);
    lsmkv_put(db, wo, "bar", 3, "barvalue", 8, &err);
    CHECK_OK(err);
    lsmkv_compact_range(db, NULL, 0, NULL, 0);

    filter_answer = 1;
    EXPECT_GET(db, ro, "foo", "foovalue");
    EXPECT_GET(db, ro, "bar", "barvalue");
    EXPECT_GET(db, ro, "baz", NULL);
    if (run == 0) {
      CHECK(filter_created > 0);
      /* A filter that says "not here" hides present keys: reads trust it. */
      filter_answer = 0;
      EXPECT_GET(db, ro, "foo", NULL);
      EXPECT_GET(db, ro, "bar", NULL);
      filter_answer = 1;
      EXPECT_GET(db, ro, "foo", "foovalue");
      EXPECT_GET(db, ro, "bar", "barvalue");
    }
    /* The policy may go while the database still uses it (upstream's order). */
    lsmkv_options_set_filter_policy(options, NULL);
    lsmkv_filterpolicy_destroy(policy);
    CHECK(filter_destroyed == 1);
  }

  Phase("comparator_recorded");
  {
    /* Our comparator's name is recorded: opening with the default fails. */
    lsmkv_t* other;
    lsmkv_options_t* plain = lsmkv_options_create();
    lsmkv_close(db);
    db = NULL;
    other = lsmkv_open(plain, dbname, &err);
    CHECK(other == NULL && err != NULL);
    lsmkv_free(err);
    err = NULL;
    lsmkv_options_destroy(plain);
  }

  Phase("cleanup");
  lsmkv_destroy_db(options, dbname, &err);
  CHECK_OK(err);
  lsmkv_options_destroy(options);
  lsmkv_readoptions_destroy(ro);
  lsmkv_writeoptions_destroy(wo);
  lsmkv_free(dbname);
  lsmkv_comparator_destroy(cmp);
  CHECK(comparator_destroyed == 1);
  lsmkv_env_destroy(env);

  fprintf(stderr, "PASS\n");
  return 0;
}
