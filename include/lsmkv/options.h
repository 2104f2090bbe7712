// Options that control a database, a read and a write. Every field documents
// its default. Options are plain values: copy them freely.
#ifndef LSMKV_INCLUDE_OPTIONS_H_
#define LSMKV_INCLUDE_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace lsmkv {

class CompactionFilter;
class Comparator;
class Env;
class FilterPolicy;
class Snapshot;

// How Open treats damage in the write-ahead log (docs/format/wal.md).
// Whatever the mode: a record is applied only if its checksums are valid
// and its batch decodes; a torn tail (an incomplete record at the very end
// of the last log, left by a crash) is dropped as normal, not as damage;
// every region dropped is written to the LOG (log file, offset, bytes,
// reason) and counted in the "lsmkv.stats" property; the last sequence
// number covers every intact record read, dropped or not. With
// Options::paranoid_checks any damage, a torn tail included, fails Open
// whatever the mode.
enum class WalRecoveryMode : unsigned char {
  // Keeps every record but a torn tail of the last log. Any other damage
  // (damage before the end of a log, or a log ending inside a record while
  // a later log has records) fails Open with Corruption naming the log.
  kTolerateCorruptedTail = 0,
  // Keeps everything or fails: any damage, a torn tail included, fails Open
  // with Corruption naming the log.
  kAbsoluteConsistency = 1,
  // Keeps the records before the first damage: a consistent prefix of the
  // writes. Drops every record after it, in that log and all later logs,
  // damaged or intact.
  kPointInTime = 2,
  // Drops only the damaged records: the log reader resynchronises at the
  // next intact record after a damaged region (record granularity, not
  // block), so a flipped byte loses the one record holding it. A record
  // with any damaged fragment is dropped whole, as are the fragments of a
  // record whose beginning was lost; a log ending inside a record while a
  // later log has records loses that record. Replay continues with the
  // later records and logs, so what is kept need not be a prefix of the
  // writes: a lost batch may be followed by later batches that are kept.
  kSkipAnyCorrupted = 3,
};

// The enumerator's name ("kPointInTime", ...), or "?" for a value outside it.
inline const char* WalRecoveryModeName(WalRecoveryMode mode) {
  switch (mode) {
    case WalRecoveryMode::kTolerateCorruptedTail:
      return "kTolerateCorruptedTail";
    case WalRecoveryMode::kAbsoluteConsistency:
      return "kAbsoluteConsistency";
    case WalRecoveryMode::kPointInTime:
      return "kPointInTime";
    case WalRecoveryMode::kSkipAnyCorrupted:
      return "kSkipAnyCorrupted";
  }
  return "?";
}

// The storage engine behind the DB interface (docs/engines.md says when to
// choose which). Recorded in the database directory at creation (the ENGINE
// file, docs/format/engine.md); opening with another engine fails with
// InvalidArgument naming both.
enum class StorageEngine : unsigned char {
  kLsm = 0,      // log-structured merge tree: src/db/
  kBTree = 1,    // copy-on-write B+tree: src/btree/
  kBitcask = 2,  // append-only log with an in-memory ordered keydir: src/bitcask/
};

// The engine's name as the ENGINE file, the CLI and the server spell it
// ("lsm", "btree", "bitcask"), or "?" for a value outside the enum.
inline const char* StorageEngineName(StorageEngine engine) {
  switch (engine) {
    case StorageEngine::kLsm:
      return "lsm";
    case StorageEngine::kBTree:
      return "btree";
    case StorageEngine::kBitcask:
      return "bitcask";
  }
  return "?";
}

// Per-block compression of sorted tables.
enum class CompressionType : unsigned char {
  kNone = 0,
  kSnappy = 1,
  kLZ4 = 2,
  kZstd = 3,
};

struct Options {
  // Which engine stores the data. Options below marked "LSM" are ignored by
  // the other engines; the rest apply to all.
  StorageEngine engine = StorageEngine::kLsm;
  // Where all I/O, threads and time come from. Default: Env::Default().
  Env* env = nullptr;

  // Create the database if it does not exist. Default: false.
  bool create_if_missing = false;
  // Fail Open if the database already exists. Default: false.
  bool error_if_exists = false;
  // Fail Open on any detected damage instead of salvaging: WAL, MANIFEST and
  // CURRENT damage, and every live table is read whole with checksums
  // verified (a full read of the database at Open), including the table
  // damage reads would work around (a damaged footer copy, filter,
  // properties, index or salvage block, a partly salvageable data block).
  // Default: false.
  bool paranoid_checks = false;
  // What WAL replay at Open keeps and drops when a log is damaged; see
  // WalRecoveryMode. Default: kSkipAnyCorrupted (only the damaged records
  // are lost, and the loss is reported in the LOG and in "lsmkv.stats").
  WalRecoveryMode wal_recovery_mode = WalRecoveryMode::kSkipAnyCorrupted;

  // The order of keys (lsmkv/comparator.h); nullptr means
  // BytewiseComparator(). Recorded by name when the database is created; Open
  // with a comparator of another name fails with InvalidArgument. Not owned:
  // must outlive the database. Default: nullptr (bytewise).
  const Comparator* comparator = nullptr;

  // Largest accepted key, in bytes; larger keys are InvalidArgument. Default: 64 KiB.
  size_t max_key_size = 64 * 1024;
  // Largest accepted value, in bytes; larger values are InvalidArgument. Default: 64 MiB.
  size_t max_value_size = 64 * 1024 * 1024;

  // Bytes of the active memtable before it is frozen and a new log starts.
  // Default: 64 MiB.
  size_t write_buffer_size = 64 * 1024 * 1024;
  // Memtables (active + frozen) held at most; writers wait when the frozen
  // queue is full. Must be >= 2. Default: 4.
  int max_write_buffer_number = 4;
  // Each memtable keeps a bloom filter over its user keys of
  // write_buffer_size * memtable_filter_ratio bytes (counted in the
  // memtable's size), so that a read of a key the memtable does not hold
  // usually skips the memtable's search; 0: no filter. Only with the bytewise
  // comparator. Must be in [0, 0.25]. Default: 1/64 (about 14 bits per key
  // at 116-byte entries, under 1% false positives).
  double memtable_filter_ratio = 1.0 / 64;
  // Each memtable keeps a point index of write_buffer_size *
  // memtable_index_ratio bytes (counted in the memtable's size): a
  // direct-mapped table from a hash of the user key to the key's newest
  // entry, so that a read of a key written recently finds its entry with a
  // couple of memory loads instead of a search through the memtable (a cache
  // miss per level of a large one). Keys whose slot another key took since
  // are searched as without it. 0: no index. Only with the bytewise
  // comparator. Must be in [0, 0.25]. Default: 1/32 (2 MiB, 262,144 slots,
  // for a 64 MiB write buffer).
  double memtable_index_ratio = 1.0 / 32;
  // For write-heavy work (bulk loads): a memtable keeps its entries in
  // skiplists ("runs") of about this many bytes, up to 16 of them (the last
  // grows past it), in the order they were written. A write then searches
  // only the newest run, whose upper levels stay in the processor's caches,
  // instead of one skiplist of the whole write buffer: random inserts into
  // a 64 MiB write buffer ran 1.3x faster with 8 MiB runs. Reads pay for it
  // while the memtables live: a read looks in the runs newest first, each
  // behind its own part of the key filter, and an iterator seeks in every
  // run (seekrandom over four full 64 MiB memtables: 0.4x with 8 MiB runs;
  // docs/BENCHMARKS.md). 0, or a write buffer no larger than this: one
  // skiplist. Must be 0 or at least 1 KiB. Default: 0.
  size_t memtable_run_size = 0;
  // Memtables of a write buffer of at least 8 times this size take their
  // memory in chunks of this size, aligned to it and advised as transparent
  // huge pages (madvise MADV_HUGEPAGE; the system decides), so that a search
  // through a large memtable, which touches a node per level anywhere in the
  // buffer, does not also miss the TLB at each of them. Their key filter and
  // point index, when at least this size, are placed the same way (every
  // lookup and insert probes them at random). The process's
  // resident memory may then exceed a memtable's counted size by up to one
  // chunk. The chunks of flushed memtables are kept for the next ones, up
  // to write_buffer_size bytes of them (so the DB keeps that memory while
  // it is open; "lsmkv.stats" counts them). 0: ordinary pages. Must be 0
  // or a power of two in [64 KiB, 1 GiB]. Default: 2 MiB (x86-64's huge
  // page).
  size_t memtable_huge_page_size = 2 * 1024 * 1024;
  // Each write-ahead log reserves disk space ahead of its appends this many
  // bytes at a time (fallocate; 0: never), so that a synced write only
  // writes its data, not also the file's grown size (about 1.35x the
  // fdatasync rate of growing appends on ext4). The reserved space left
  // after a crash reads as zeros and ends the log (docs/format/wal.md);
  // closing a log trims it. File systems that cannot reserve space just
  // grow the file. Default: 1 MiB.
  uint64_t wal_preallocate_bytes = 1024 * 1024;
  // A write-ahead log writes its reserved space (above; nothing without it)
  // through a shared memory mapping where the Env can (the POSIX Env: on
  // ext4, XFS and tmpfs): an append is a copy into the page cache with no
  // system call, about half the cost of a non-synced Put, and as safe
  // against a crash of the process or the machine as a write call. The
  // price: an I/O error met while storing (a disk failing as a page is read
  // back, a journal that aborted, a file system remounted read-only) kills
  // the process with SIGBUS instead of failing the write with an error the
  // DB reports and can resume from. false: write calls. Default: true.
  bool wal_mapped_writes = true;
  // Group commit: before an fdatasync, the thread that runs it waits until
  // as many sync writers are in the WAL as the previous fdatasync released
  // or left waiting, for at most the previous fdatasync's duration and at
  // most this many microseconds, counted from that fdatasync's end. Threads
  // that write with sync in a loop then share every fdatasync instead of
  // splitting into two halves that alternate (16 threads: about 8 writes
  // per fdatasync without it); a lone sync writer never waits, and a sync
  // write waits at most one such window longer when fewer writers come back
  // than were expected. 0: never wait. At most 100,000. Default: 1,000.
  uint64_t wal_sync_gather_micros = 1000;

  // Sorted tables: uncompressed data bytes per block. Default: 4 KiB.
  size_t block_size = 4 * 1024;
  // Keys between restart points in a block. A restart interval is also the
  // unit a damaged block is salvaged in (docs/format/table.md): a flipped
  // byte loses at most the keys of one interval. Default: 8.
  int block_restart_interval = 8;
  // Compression of table blocks. Default: kNone.
  CompressionType compression = CompressionType::kNone;
  // The filter written with each table (lsmkv/filter_policy.h). nullptr means
  // the built-in bloom filter with bloom_bits_per_key bits per key (none if
  // that is 0). A table whose filter was written by a policy of another name
  // is read without its filter. Default: nullptr.
  std::shared_ptr<const FilterPolicy> filter_policy;
  // Bits per key of the built-in bloom filter when filter_policy is nullptr
  // (with a filter_policy set it is not used); 0 disables filters.
  // Default: 10.
  int bloom_bits_per_key = 10;
  // The format new tables are written in (docs/format/table.md): 2 (salvage
  // data for damaged blocks, a checksummed footer written twice) or 1 (the
  // older format, for tables that older readers must open; their bloom
  // filter is in the classic layout, which those readers know). Tables of
  // either format are read whatever this says. Default: 2.
  uint32_t table_format_version = 2;
  // Bytes of uncompressed blocks kept in the shared block cache. Default: 32 MiB.
  // Uncompressed blocks of memory-mapped table files (the first 1,000 tables
  // open; docs/design.md) are read in place from the page cache and never
  // enter it; the cache holds decompressed blocks and blocks of tables read
  // with pread.
  size_t block_cache_size = 32 * 1024 * 1024;
  // Table files kept open at most (LRU). Default: 1000.
  int max_open_files = 1000;
  // Compaction outputs are cut at about this size. Default: 8 MiB.
  uint64_t target_file_size = 8ull * 1024 * 1024;
  // Leveled compaction. Level 0 holds at most about level0_file_limit files;
  // level 1 holds max_bytes_for_level_base bytes and each deeper level
  // level_size_multiplier times more. A level is compacted when its score
  // (L0: files / level0_file_limit; others: bytes / budget) reaches
  // compaction_soft_limit. Default: 4 files, 64 MiB, x10, 0.85.
  int level0_file_limit = 4;
  uint64_t max_bytes_for_level_base = 64ull * 1024 * 1024;
  int level_size_multiplier = 10;
  double compaction_soft_limit = 0.85;
  // Writes are delayed (1 ms each) when level 0 holds this many files, and
  // stop until compaction catches up at level0_stop_writes_trigger.
  // Default: 8 and 12.
  int level0_slowdown_writes_trigger = 8;
  int level0_stop_writes_trigger = 12;
  // Bytes per second that compaction may write (token bucket); 0 = no limit.
  // Default: 0.
  uint64_t rate_limit_bytes_per_sec = 0;
  // MANIFEST size after which a new MANIFEST is started. Default: 64 MiB.
  uint64_t max_manifest_file_size = 64ull * 1024 * 1024;
  // Threads running compactions in the background (flushes take priority on
  // the first). Compactions whose inputs and outputs do not overlap run in
  // parallel. Default: 1.
  int max_background_compactions = 1;

  // Free space (bytes) that compactions leave for flushes. A compaction
  // starts only if the filesystem holding the DB has room for its estimated
  // output (the size of its inputs, less what running compactions already
  // reserved) plus this much; otherwise compactions wait and are retried
  // with a backoff, while writes go on as long as flushes fit. 0 means
  // 2 * write_buffer_size. Without Env::GetFreeSpace support, no check.
  uint64_t compaction_space_headroom = 0;
  // Called for values during compaction; see lsmkv/compaction_filter.h.
  // Default: none.
  std::shared_ptr<const CompactionFilter> compaction_filter;
  // Read-triggered compaction: a table file that reads keep having to look
  // past (a point lookup that consulted it and then another table; a sampled
  // iterator read where it and another file both cover the key) is compacted
  // into the next level once it has cost max(100, file size / this many
  // bytes) such reads, even when no level is over its size budget. It makes
  // a read-mostly database converge to fewer overlapping files. 0 = off.
  // Default: 16 KiB.
  uint64_t read_compaction_bytes_per_seek = 16 * 1024;

  // Transactions (lsmkv/transaction.h): the most memory the conflict tracker
  // (the keys written while transactions run, since the oldest one began)
  // may hold. Past it the oldest running transaction is expired: its further
  // calls and its Commit fail with Aborted ("transaction expired"), and what
  // it pinned is released — so a transaction left open cannot make memory
  // grow without bound. 0 = no limit. Default: 64 MiB.
  size_t max_transaction_tracker_bytes = 64u << 20;

  // Range deletions (DB::DeleteRange): the most range tombstones that may be
  // live at once (in memtables and in the version). Every read consults the
  // live ones, so their number is bounded: past it, a write holding a range
  // deletion fails with Busy until compaction retires some (CompactRange
  // over a deleted range retires its tombstone when no snapshot needs the
  // data). Must be in [1, 1000000]. Default: 10000.
  size_t max_range_tombstones = 10000;

  // Bitcask engine only (docs/engines.md).
  // The active data file is closed (synced) and a new one started when it
  // passes this size.
  uint64_t bitcask_max_file_size = 64ull << 20;
  // A background merge runs when the dead bytes of the closed data files
  // (overwritten or deleted values) pass this share of their size and
  // bitcask_merge_min_dead_bytes. In (0, 1].
  double bitcask_merge_dead_ratio = 0.5;
  uint64_t bitcask_merge_min_dead_bytes = 16ull << 20;

  // B+tree engine only (docs/engines.md).
  // Writes go to a write-ahead log and to the tree in memory; a checkpoint
  // writes the changed pages to the page file (copy-on-write) and starts a
  // new log when the log passes this size (and at Flush, CompactRange and
  // Close). Bigger: fewer page writes for many small writes, longer
  // recovery. At least 4096. Default: 64 MiB.
  uint64_t btree_checkpoint_bytes = 64ull << 20;
};

struct ReadOptions {
  // Verify the checksum of every block read from disk. Default: true.
  bool verify_checksums = true;
  // Keep blocks read by this call in the block cache. Default: true. (The
  // uncompressed blocks of a memory-mapped table are read in place, checksum
  // verified on every read, and not cached either way.)
  bool fill_cache = true;
  // Read as of this snapshot (from DB::GetSnapshot); nullptr reads the latest
  // state. Default: nullptr.
  const Snapshot* snapshot = nullptr;
  // Iterators only: inclusive lower and exclusive upper key bound.
  std::optional<std::string> lower_bound;
  std::optional<std::string> upper_bound;
};

struct WriteOptions {
  // fdatasync the write-ahead log before the write returns. With false a
  // crash of the machine (not of the process) may lose recent writes, but
  // never corrupts earlier synced ones. Default: false.
  bool sync = false;
};

}  // namespace lsmkv

#endif  // LSMKV_INCLUDE_OPTIONS_H_
