// Engine: the small key-value interface lsmkv_peer_bench drives, with
// adapters for lsmkv, RocksDB and LevelDB configured with equivalent settings.
#ifndef LSMKV_BENCH_ENGINES_H_
#define LSMKV_BENCH_ENGINES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace peerbench {

struct EngineSettings {
  size_t write_buffer_size = 64 << 20;
  // lsmkv only: Options::memtable_run_size (SIZE_MAX: lsmkv's default).
  size_t lsmkv_memtable_run_size = SIZE_MAX;
  int max_write_buffer_number = 4;  // lsmkv and RocksDB; LevelDB has one memtable + one frozen
  size_t block_size = 4096;
  int bloom_bits = 10;
  size_t block_cache_size = 32 << 20;
  std::string compression = "none";  // none | snappy | lz4 | zstd
  int max_open_files = 1000;
  int rocksdb_background_jobs = 2;
};

class EngineIterator {
 public:
  virtual ~EngineIterator() = default;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  virtual void Seek(std::string_view key) = 0;
  virtual void Next() = 0;
  virtual void Prev() = 0;
  virtual bool Valid() const = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // Empty when fine, else the error.
  virtual std::string status() const = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const char* name() const = 0;
  // Opens (creating if missing) the database in dir. Empty string on success.
  virtual std::string Open(const std::string& dir, const EngineSettings& s) = 0;
  virtual std::string Put(std::string_view key, std::string_view value, bool sync) = 0;
  virtual std::string Delete(std::string_view key, bool sync) = 0;
  // 1 found, 0 not found, -1 error (message in *value).
  virtual int Get(std::string_view key, std::string* value) = 0;
  virtual std::unique_ptr<EngineIterator> NewIterator() = 0;
  // Writes the memtables to tables and waits until they are installed.
  virtual std::string Flush() = 0;
  // Waits until the engine reports no pending flush/compaction work (where
  // it can tell); the caller also waits for the process's disk writes to stop.
  virtual void WaitForBackgroundWork() = 0;
  virtual std::string Close() = 0;
  // Removes every file of the database in dir.
  virtual void Destroy(const std::string& dir) = 0;
  // Settings of this engine as configured, one "label: value" per entry, in
  // the order of SettingLabels().
  virtual std::vector<std::string> DescribeSettings(const EngineSettings& s) const = 0;
  // Whether the engine supports this compression name.
  virtual bool SupportsCompression(const std::string& c) const = 0;
};

std::vector<std::string> SettingLabels();
std::unique_ptr<Engine> NewEngine(const std::string& name);  // nullptr if unknown
std::vector<std::string> AllEngineNames();

// Bytes this process caused to be written to storage (/proc/self/io
// write_bytes: counted when pages are dirtied, so WAL rewrites of one page count once).
uint64_t ProcessDiskWriteBytes();

}  // namespace peerbench

#endif  // LSMKV_BENCH_ENGINES_H_
