/* lsmkv's C API (docs/c_api.md).

   The whole of LevelDB 1.23's C API (include/leveldb/c.h) under the prefix
   lsmkv_: the same functions, argument lists and ownership rules, so a
   LevelDB C program ports by renaming leveldb_ to lsmkv_ (and the property
   prefix "leveldb." to "lsmkv."). After it, marked "lsmkv addition", what
   the C++ API has beyond LevelDB's: iterator bounds, checkpoints,
   verification, transactions and further options.

   The header is C99 and C++: it includes only <stddef.h> and <stdint.h>,
   and every declaration has C linkage. The functions are in the lsmkv
   library (-llsmkv; pkg-config --cflags --libs lsmkv).

   Conventions (as in LevelDB's C API):
   - Errors. A function that can fail takes `char** errptr` as its last
     argument. It must point to a char* that is NULL or holds an earlier
     error. On success *errptr is left as it was; on failure the message
     (e.g. "Corruption: ...", "IO error: ...", Status::ToString()) is
     stored there in a malloc()ed string, and any message it held before
     is freed. Free the message with lsmkv_free.
   - Memory. Every char* returned (values, property values, directories)
     is malloc()ed and owned by the caller: free it with lsmkv_free. Every
     object made by an lsmkv_..._create (or lsmkv_open) is released by its
     own lsmkv_..._destroy (or lsmkv_close), exactly once.
   - Bytes. Keys and values are (pointer, length) pairs and may hold any
     bytes, including NUL. Strings that are names (paths, property names)
     are NUL-terminated.
   - Lifetimes. An iterator must be destroyed before its database (or
     transaction); a snapshot released before its database is closed; a
     transaction destroyed before its database is closed.
   - Booleans are uint8_t: 0 is false, anything else true.

   Thread safety: an lsmkv_t may be used by many threads at once, as may
   the comparator, filter policy and env objects it uses. Options, read
   options, write options, write batches, iterators and transactions are
   used by one thread at a time. */
#ifndef LSMKV_INCLUDE_C_H_
#define LSMKV_INCLUDE_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- types */

typedef struct lsmkv_t lsmkv_t;
typedef struct lsmkv_cache_t lsmkv_cache_t;
typedef struct lsmkv_comparator_t lsmkv_comparator_t;
typedef struct lsmkv_env_t lsmkv_env_t;
typedef struct lsmkv_filelock_t lsmkv_filelock_t;
typedef struct lsmkv_filterpolicy_t lsmkv_filterpolicy_t;
typedef struct lsmkv_iterator_t lsmkv_iterator_t;
typedef struct lsmkv_logger_t lsmkv_logger_t;
typedef struct lsmkv_options_t lsmkv_options_t;
typedef struct lsmkv_randomfile_t lsmkv_randomfile_t;
typedef struct lsmkv_readoptions_t lsmkv_readoptions_t;
typedef struct lsmkv_seqfile_t lsmkv_seqfile_t;
typedef struct lsmkv_snapshot_t lsmkv_snapshot_t;
typedef struct lsmkv_writablefile_t lsmkv_writablefile_t;
typedef struct lsmkv_writebatch_t lsmkv_writebatch_t;
typedef struct lsmkv_writeoptions_t lsmkv_writeoptions_t;
/* lsmkv additions. */
typedef struct lsmkv_transaction_t lsmkv_transaction_t;
typedef struct lsmkv_transactionoptions_t lsmkv_transactionoptions_t;

/* ---------------------------------------------------------------- database */

/* Opens (or with create_if_missing creates) the database in the directory
   name. Returns NULL and sets *errptr on failure, e.g. when another
   opener holds the directory, when the comparator's name differs from
   the one the database was created with, or when an option is out of
   range (write_buffer_size < 4096, block_size < 64, a name starting with
   "lsmkv." for a user comparator or filter policy, an unknown
   compression or recovery mode). */
lsmkv_t* lsmkv_open(const lsmkv_options_t* options, const char* name, char** errptr);

/* Stops background work, makes every acknowledged write recoverable,
   releases the directory and frees db. An error met while closing is not
   reported (as in LevelDB); lsmkv_flush first if you need to see it. */
void lsmkv_close(lsmkv_t* db);

void lsmkv_put(lsmkv_t* db, const lsmkv_writeoptions_t* options, const char* key, size_t keylen,
               const char* val, size_t vallen, char** errptr);

/* Removing an absent key is not an error. */
void lsmkv_delete(lsmkv_t* db, const lsmkv_writeoptions_t* options, const char* key, size_t keylen,
                  char** errptr);

/* Removes every key in [begin, end) (end exclusive) with one range tombstone:
   DB::DeleteRange. An error unless begin < end in the comparator's order. */
void lsmkv_delete_range(lsmkv_t* db, const lsmkv_writeoptions_t* options, const char* begin,
                        size_t beginlen, const char* end, size_t endlen, char** errptr);

/* Applies every operation of batch atomically; batch is not changed. */
void lsmkv_write(lsmkv_t* db, const lsmkv_writeoptions_t* options, lsmkv_writebatch_t* batch,
                 char** errptr);

/* Returns NULL if key is absent (*vallen is then 0 and *errptr untouched),
   else a malloc()ed copy of the value (not NUL-terminated), its length in
   *vallen. On an error returns NULL and sets *errptr. */
char* lsmkv_get(lsmkv_t* db, const lsmkv_readoptions_t* options, const char* key, size_t keylen,
                size_t* vallen, char** errptr);

/* An iterator over the database as of options' snapshot (or now), within
   options' bounds. Not positioned: call a seek first. Destroy it with
   lsmkv_iter_destroy before closing db. */
lsmkv_iterator_t* lsmkv_create_iterator(lsmkv_t* db, const lsmkv_readoptions_t* options);

/* A point-in-time view for lsmkv_readoptions_set_snapshot. Release it with
   lsmkv_release_snapshot before closing db. */
const lsmkv_snapshot_t* lsmkv_create_snapshot(lsmkv_t* db);
void lsmkv_release_snapshot(lsmkv_t* db, const lsmkv_snapshot_t* snapshot);

/* NULL if the property is unknown, else its value as a malloc()ed
   NUL-terminated string. Properties: "lsmkv.stats", "lsmkv.levels",
   "lsmkv.last-sequence" and the others DB::GetProperty lists
   (include/lsmkv/db.h). */
char* lsmkv_property_value(lsmkv_t* db, const char* propname);

/* For i in [0, num_ranges): sizes[i] = the approximate bytes of table
   files holding keys in [range_start_key[i], range_limit_key[i]) in the
   database's order. Data still only in memory is not counted. */
void lsmkv_approximate_sizes(lsmkv_t* db, int num_ranges, const char* const* range_start_key,
                             const size_t* range_start_key_len, const char* const* range_limit_key,
                             const size_t* range_limit_key_len, uint64_t* sizes);

/* Flushes memory to tables, then compacts the keys in [start_key,
   limit_key] (a NULL key: unbounded on that side) and waits. Errors are
   not reported (as in LevelDB). */
void lsmkv_compact_range(lsmkv_t* db, const char* start_key, size_t start_key_len,
                         const char* limit_key, size_t limit_key_len);

/* ---------------------------------------------------------------- management */

/* Removes the database in name (its files; fails if it is open). A
   missing directory is not an error. */
void lsmkv_destroy_db(const lsmkv_options_t* options, const char* name, char** errptr);

/* Rebuilds the database in name from whatever is readable in its files,
   with options' env, comparator and table settings; the previous files are
   moved to name/lost/ (lsmkv::RepairDB, include/lsmkv/tools.h). The
   database must not be open. */
void lsmkv_repair_db(const lsmkv_options_t* options, const char* name, char** errptr);

/* ---------------------------------------------------------------- iterator */

void lsmkv_iter_destroy(lsmkv_iterator_t*);
uint8_t lsmkv_iter_valid(const lsmkv_iterator_t*);
void lsmkv_iter_seek_to_first(lsmkv_iterator_t*);
void lsmkv_iter_seek_to_last(lsmkv_iterator_t*);
/* Positions at the first key >= k. */
void lsmkv_iter_seek(lsmkv_iterator_t*, const char* k, size_t klen);
/* REQUIRES: lsmkv_iter_valid(). */
void lsmkv_iter_next(lsmkv_iterator_t*);
/* REQUIRES: lsmkv_iter_valid(). */
void lsmkv_iter_prev(lsmkv_iterator_t*);
/* REQUIRES: lsmkv_iter_valid(). The bytes belong to the iterator and stay
   valid until it moves or is destroyed. */
const char* lsmkv_iter_key(const lsmkv_iterator_t*, size_t* klen);
const char* lsmkv_iter_value(const lsmkv_iterator_t*, size_t* vlen);
/* Sets *errptr if the iterator met an error (it is then not valid). */
void lsmkv_iter_get_error(const lsmkv_iterator_t*, char** errptr);

/* ---------------------------------------------------------------- write batch */

lsmkv_writebatch_t* lsmkv_writebatch_create(void);
void lsmkv_writebatch_destroy(lsmkv_writebatch_t*);
void lsmkv_writebatch_clear(lsmkv_writebatch_t*);
void lsmkv_writebatch_put(lsmkv_writebatch_t*, const char* key, size_t klen, const char* val,
                          size_t vlen);
void lsmkv_writebatch_delete(lsmkv_writebatch_t*, const char* key, size_t klen);
/* WriteBatch::DeleteRange: every key in [begin, end) as of this point of the
   batch. */
void lsmkv_writebatch_delete_range(lsmkv_writebatch_t*, const char* begin, size_t beginlen,
                                   const char* end, size_t endlen);
/* Calls put or deleted for each operation, in order, with state. It stops
   at the first range deletion, which LevelDB's callbacks cannot express:
   iterate a batch holding range deletions with lsmkv_writebatch_iterate_ranges. */
void lsmkv_writebatch_iterate(const lsmkv_writebatch_t*, void* state,
                              void (*put)(void*, const char* k, size_t klen, const char* v,
                                          size_t vlen),
                              void (*deleted)(void*, const char* k, size_t klen));
/* lsmkv_writebatch_iterate that also calls delete_range(state, begin,
   beginlen, end, endlen) for each range deletion. */
void lsmkv_writebatch_iterate_ranges(const lsmkv_writebatch_t*, void* state,
                                     void (*put)(void*, const char* k, size_t klen, const char* v,
                                                 size_t vlen),
                                     void (*deleted)(void*, const char* k, size_t klen),
                                     void (*delete_range)(void*, const char* begin, size_t beginlen,
                                                          const char* end, size_t endlen));
/* Appends source's operations to destination. */
void lsmkv_writebatch_append(lsmkv_writebatch_t* destination, const lsmkv_writebatch_t* source);

/* ---------------------------------------------------------------- options */

/* Options start at lsmkv::Options' defaults (include/lsmkv/options.h).
   The objects given to the setters (comparator, filter policy, env) are
   not copied or owned: they must outlive every database opened with them,
   and the options (which may be destroyed any time after lsmkv_open). */
lsmkv_options_t* lsmkv_options_create(void);
void lsmkv_options_destroy(lsmkv_options_t*);
/* NULL: the default bytewise order ("lsmkv.BytewiseComparator"). */
void lsmkv_options_set_comparator(lsmkv_options_t*, lsmkv_comparator_t*);
/* NULL: the built-in bloom filter with bloom_bits_per_key bits per key
   (10 by default; lsmkv_options_set_bloom_bits_per_key(o, 0) turns
   filters off). Unlike LevelDB, NULL does not mean "no filter". */
void lsmkv_options_set_filter_policy(lsmkv_options_t*, lsmkv_filterpolicy_t*);
void lsmkv_options_set_create_if_missing(lsmkv_options_t*, uint8_t);
void lsmkv_options_set_error_if_exists(lsmkv_options_t*, uint8_t);
void lsmkv_options_set_paranoid_checks(lsmkv_options_t*, uint8_t);
/* NULL: the default (POSIX) env. */
void lsmkv_options_set_env(lsmkv_options_t*, lsmkv_env_t*);
/* Accepted for LevelDB compatibility; only NULL can be passed (the C API,
   like LevelDB's, makes no logger objects). lsmkv always writes its log
   to the file LOG in the database directory. */
void lsmkv_options_set_info_log(lsmkv_options_t*, lsmkv_logger_t*);
/* Bytes of a memtable before it is written to a table; >= 4096. */
void lsmkv_options_set_write_buffer_size(lsmkv_options_t*, size_t);
void lsmkv_options_set_max_open_files(lsmkv_options_t*, int);
/* The block cache capacity of each database opened with these options
   (see lsmkv_cache_create_lru). NULL: the default, 32 MiB. */
void lsmkv_options_set_cache(lsmkv_options_t*, lsmkv_cache_t*);
/* Uncompressed bytes per table block; >= 64. */
void lsmkv_options_set_block_size(lsmkv_options_t*, size_t);
void lsmkv_options_set_block_restart_interval(lsmkv_options_t*, int);
/* Table files are cut at about this size (Options::target_file_size). */
void lsmkv_options_set_max_file_size(lsmkv_options_t*, size_t);

/* Compression kinds. LevelDB has the first two; lz4 and zstd are lsmkv
   additions. Another value makes lsmkv_open fail with InvalidArgument. */
enum {
  lsmkv_no_compression = 0,
  lsmkv_snappy_compression = 1,
  lsmkv_lz4_compression = 2,
  lsmkv_zstd_compression = 3
};
void lsmkv_options_set_compression(lsmkv_options_t*, int);

/* ---------------------------------------------------------------- comparator */

/* A key order from callbacks: compare returns <0, 0, >0 as a is before,
   equal to or after b; name returns a NUL-terminated name that is
   recorded with the database (opening it later with another name fails;
   names starting with "lsmkv." are reserved). The callbacks are called
   from many threads at once. destructor(state) runs in
   lsmkv_comparator_destroy; destroy the comparator only after every
   database using it is closed. */
lsmkv_comparator_t* lsmkv_comparator_create(void* state, void (*destructor)(void*),
                                            int (*compare)(void*, const char* a, size_t alen,
                                                           const char* b, size_t blen),
                                            const char* (*name)(void*));
void lsmkv_comparator_destroy(lsmkv_comparator_t*);

/* ---------------------------------------------------------------- filter policy */

/* A table filter from callbacks. create_filter returns a malloc()ed
   filter over keys[0, num_keys) (lsmkv copies it, then free()s it) and
   its length in *filter_length; key_may_match must return 1 for every key
   the filter was made from (0 makes reads skip the table: the key is not
   found). name is recorded with each table; names starting with "lsmkv."
   are reserved. The callbacks are called from many threads at once.

   lsmkv_filterpolicy_destroy may be called while options still refer to
   the policy (lsmkv keeps its own reference to the object, so options and
   databases never see freed memory); destructor(state) runs in
   lsmkv_filterpolicy_destroy, as in LevelDB, so state must stay valid
   until every database opened with the policy is closed. */
lsmkv_filterpolicy_t* lsmkv_filterpolicy_create(
    void* state, void (*destructor)(void*),
    char* (*create_filter)(void*, const char* const* key_array, const size_t* key_length_array,
                           int num_keys, size_t* filter_length),
    uint8_t (*key_may_match)(void*, const char* key, size_t length, const char* filter,
                             size_t filter_length),
    const char* (*name)(void*));
void lsmkv_filterpolicy_destroy(lsmkv_filterpolicy_t*);

/* The built-in bloom filter ("lsmkv.bloom") with bits_per_key bits per
   key (10: about 1% false positives). */
lsmkv_filterpolicy_t* lsmkv_filterpolicy_create_bloom(int bits_per_key);

/* ---------------------------------------------------------------- read options */

lsmkv_readoptions_t* lsmkv_readoptions_create(void);
void lsmkv_readoptions_destroy(lsmkv_readoptions_t*);
/* Default: 1. */
void lsmkv_readoptions_set_verify_checksums(lsmkv_readoptions_t*, uint8_t);
/* Default: 1. */
void lsmkv_readoptions_set_fill_cache(lsmkv_readoptions_t*, uint8_t);
/* NULL: read the latest state. */
void lsmkv_readoptions_set_snapshot(lsmkv_readoptions_t*, const lsmkv_snapshot_t*);

/* ---------------------------------------------------------------- write options */

lsmkv_writeoptions_t* lsmkv_writeoptions_create(void);
void lsmkv_writeoptions_destroy(lsmkv_writeoptions_t*);
/* fdatasync the log before the write returns. Default: 0. */
void lsmkv_writeoptions_set_sync(lsmkv_writeoptions_t*, uint8_t);

/* ---------------------------------------------------------------- cache */

/* A block cache size. lsmkv has no block cache shared between databases:
   each database opened with options holding this object gets its own
   cache of capacity bytes. The object may be destroyed once the options
   no longer need it (the options keep the number, not the object). */
lsmkv_cache_t* lsmkv_cache_create_lru(size_t capacity);
void lsmkv_cache_destroy(lsmkv_cache_t* cache);

/* ---------------------------------------------------------------- env */

/* The process-wide POSIX env. lsmkv_env_destroy frees the handle only. */
lsmkv_env_t* lsmkv_create_default_env(void);
void lsmkv_env_destroy(lsmkv_env_t*);

/* A directory for tests, created if missing: $TEST_TMPDIR if set, else
   /tmp/lsmkvtest-<euid>. Free the result with lsmkv_free; NULL if the
   directory cannot be created. */
char* lsmkv_env_get_test_directory(lsmkv_env_t*);

/* ---------------------------------------------------------------- utility */

/* free(ptr), for memory this library returned. */
void lsmkv_free(void* ptr);

/* The library's version (major.minor.patch). */
int lsmkv_major_version(void);
int lsmkv_minor_version(void);

/* ================================================================
   lsmkv additions: beyond LevelDB's C API, in the same style.
   ================================================================ */

/* Status codes (lsmkv::Status::Code) returned by calls that tell a
   conflict from other errors. */
enum {
  lsmkv_ok = 0,
  lsmkv_not_found = 1,
  lsmkv_corruption = 2,
  lsmkv_not_supported = 3,
  lsmkv_invalid_argument = 4,
  lsmkv_io_error = 5,
  lsmkv_busy = 6,
  lsmkv_aborted = 7
};

/* Writes every memtable to tables and waits. */
void lsmkv_flush(lsmkv_t* db, char** errptr);

/* Creates in dir, which must not exist, a copy of db that opens on its own
   and holds every write acknowledged before the call (a consistent point
   in time; tables are hard-linked where possible). db stays open and
   writable meanwhile. */
void lsmkv_checkpoint_create(lsmkv_t* db, const char* dir, char** errptr);

/* Checks the closed database in name without changing it: every table's
   blocks and checksums, the MANIFEST and the logs it needs, with options'
   env, comparator and filter policy. Sets *errptr if damage was found
   ("Corruption: N problems; first: ...") or the check could not run
   (NotFound: no database; IO error: open elsewhere). */
void lsmkv_verify_db(const lsmkv_options_t* options, const char* name, char** errptr);

/* Positions at the last key <= k. */
void lsmkv_iter_seek_for_prev(lsmkv_iterator_t*, const char* k, size_t klen);

/* Operations in the batch. */
int lsmkv_writebatch_count(const lsmkv_writebatch_t*);

/* Iterator bounds: iterators made with these read options see only keys
   >= lower (inclusive) and < upper (exclusive). The bytes are copied.
   NULL removes the bound. Default: none. */
void lsmkv_readoptions_set_iterate_lower_bound(lsmkv_readoptions_t*, const char* key,
                                               size_t keylen);
void lsmkv_readoptions_set_iterate_upper_bound(lsmkv_readoptions_t*, const char* key,
                                               size_t keylen);

/* Bits per key of the built-in bloom filter (used when no filter policy is
   set); 0: no filters. Default: 10. */
void lsmkv_options_set_bloom_bits_per_key(lsmkv_options_t*, int);
/* Largest key and value accepted; larger ones fail with InvalidArgument.
   Default: 64 KiB and 64 MiB. */
void lsmkv_options_set_max_key_size(lsmkv_options_t*, size_t);
void lsmkv_options_set_max_value_size(lsmkv_options_t*, size_t);
/* Memtables (active + frozen) held at most; >= 2. Default: 4. */
void lsmkv_options_set_max_write_buffer_number(lsmkv_options_t*, int);
/* Threads compacting in the background, in [1, 64]. Default: 1. */
void lsmkv_options_set_max_background_compactions(lsmkv_options_t*, int);
/* Memtable/table files at level 0 that trigger a compaction. Default: 4. */
void lsmkv_options_set_level0_file_limit(lsmkv_options_t*, int);

/* What opening keeps when a write-ahead log is damaged
   (lsmkv::WalRecoveryMode). Another value makes lsmkv_open fail with
   InvalidArgument. Default: lsmkv_wal_skip_any_corrupted; transactions
   need one of the other three. */
enum {
  lsmkv_wal_tolerate_corrupted_tail = 0,
  lsmkv_wal_absolute_consistency = 1,
  lsmkv_wal_point_in_time = 2,
  lsmkv_wal_skip_any_corrupted = 3
};
void lsmkv_options_set_wal_recovery_mode(lsmkv_options_t*, int);

/* The storage engine (lsmkv::StorageEngine, docs/engines.md). A new database
   is created with it; an existing one opens only with the engine that
   created it (otherwise lsmkv_open fails with InvalidArgument naming both).
   Another value, or a name other than "lsm", "btree" and "bitcask", makes
   lsmkv_open (and destroy, repair, verify) fail with InvalidArgument.
   Default: lsmkv_engine_lsm. */
enum { lsmkv_engine_lsm = 0, lsmkv_engine_btree = 1, lsmkv_engine_bitcask = 2 };
void lsmkv_options_set_engine(lsmkv_options_t*, int);
void lsmkv_options_set_engine_by_name(lsmkv_options_t*, const char* name);

/* An env whose files live in memory (threads and clock from the default
   env), for tests. Destroy it after every database using it is closed. */
lsmkv_env_t* lsmkv_create_mem_env(void);

/* Optimistic transactions (include/lsmkv/transaction.h, docs/transactions.md).
   A transaction reads a snapshot taken when it began, buffers its writes,
   and validates at commit that nothing it depends on changed. The database
   must be opened with a WAL recovery mode other than
   lsmkv_wal_skip_any_corrupted (the default): otherwise every call of the
   transaction fails with InvalidArgument. */
enum { lsmkv_isolation_snapshot = 0, lsmkv_isolation_serializable = 1 };

lsmkv_transactionoptions_t* lsmkv_transactionoptions_create(void);
void lsmkv_transactionoptions_destroy(lsmkv_transactionoptions_t*);
/* Snapshot isolation: commit fails if another writer committed a key this
   transaction writes (or read with lsmkv_transaction_get_for_update) after
   it began. Serializable: also every key and range it read. Another value
   makes lsmkv_transaction_begin's transaction fail every call with
   InvalidArgument. Default: lsmkv_isolation_snapshot. */
void lsmkv_transactionoptions_set_isolation(lsmkv_transactionoptions_t*, int);
/* Bytes of buffered writes allowed; a put past it fails. Default: 64 MiB. */
void lsmkv_transactionoptions_set_max_write_bytes(lsmkv_transactionoptions_t*, size_t);
/* After this long (from begin) every call fails with Aborted; 0: no limit.
   Default: 0. */
void lsmkv_transactionoptions_set_max_lifetime_micros(lsmkv_transactionoptions_t*, uint64_t);

/* Begins a transaction; its commit writes with options. Never NULL. Destroy
   it with lsmkv_transaction_destroy before closing db. */
lsmkv_transaction_t* lsmkv_transaction_begin(lsmkv_t* db, const lsmkv_writeoptions_t* options,
                                             const lsmkv_transactionoptions_t* txn_options);
/* As lsmkv_get, as of the transaction's snapshot and its own writes. The
   read options' snapshot must be NULL. */
char* lsmkv_transaction_get(lsmkv_transaction_t* txn, const lsmkv_readoptions_t* options,
                            const char* key, size_t keylen, size_t* vallen, char** errptr);
/* lsmkv_transaction_get, and commit fails if another writer commits key
   after this read, at either isolation level. */
char* lsmkv_transaction_get_for_update(lsmkv_transaction_t* txn, const lsmkv_readoptions_t* options,
                                       const char* key, size_t keylen, size_t* vallen,
                                       char** errptr);
void lsmkv_transaction_put(lsmkv_transaction_t* txn, const char* key, size_t keylen,
                           const char* val, size_t vallen, char** errptr);
void lsmkv_transaction_delete(lsmkv_transaction_t* txn, const char* key, size_t keylen,
                              char** errptr);
/* The transaction's snapshot merged with its writes, within options'
   bounds (options' snapshot must be NULL). Destroy it before the
   transaction; don't use it after commit or rollback. */
lsmkv_iterator_t* lsmkv_transaction_create_iterator(lsmkv_transaction_t* txn,
                                                    const lsmkv_readoptions_t* options);
/* Validates and writes the transaction's writes as one batch. Returns
   lsmkv_ok, or the error's code with *errptr set: lsmkv_busy for a
   conflict (nothing written; retry the whole transaction), lsmkv_aborted
   when it expired, others from the write path. The transaction is
   finished whatever the result. */
int lsmkv_transaction_commit(lsmkv_transaction_t* txn, char** errptr);
/* Drops the buffered writes and finishes the transaction. */
void lsmkv_transaction_rollback(lsmkv_transaction_t* txn, char** errptr);
/* Remembers the buffered writes; rollback_to_savepoint restores the newest
   savepoint and removes it (NotFound if there is none). */
void lsmkv_transaction_set_savepoint(lsmkv_transaction_t* txn);
void lsmkv_transaction_rollback_to_savepoint(lsmkv_transaction_t* txn, char** errptr);
/* Rolls back if neither commit nor rollback ran, and frees txn. */
void lsmkv_transaction_destroy(lsmkv_transaction_t* txn);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LSMKV_INCLUDE_C_H_ */
