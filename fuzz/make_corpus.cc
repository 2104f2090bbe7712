// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) with
// lsmkv's own writers, so that every seed is a valid input:
//   make_corpus <dir>     writes <dir>/<target>/<name> for every target.
// The checked-in corpus was made with it; rerun it after a format change.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/dbformat.h"
#include "db/version_edit.h"
#include "db/write_batch_internal.h"
#include "fuzz/fuzz_util.h"
#include "lsmkv/write_batch.h"
#include "table/block_builder.h"
#include "table/format.h"
#include "table/table_builder.h"
#include "table/table_options.h"
#include "wal/log_writer.h"

namespace {

namespace fs = std::filesystem;
using lsmkv::fuzz::StringWritableFile;

bool WriteSeed(const fs::path& dir, const std::string& target, const std::string& name,
               std::string_view bytes) {
  fs::create_directories(dir / target);
  std::ofstream out(dir / target / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

std::string InternalKey(std::string_view user_key, lsmkv::SequenceNumber seq,
                        lsmkv::ValueType type) {
  std::string key;
  lsmkv::AppendInternalKey(&key, user_key, seq, type);
  return key;
}

std::string Batch(lsmkv::SequenceNumber seq, int puts, int deletes, size_t value_size) {
  lsmkv::WriteBatch batch;
  for (int i = 0; i < puts; i++) {
    batch.Put("key" + std::to_string(i), std::string(value_size, static_cast<char>('a' + i % 26)));
  }
  for (int i = 0; i < deletes; i++) batch.Delete("gone" + std::to_string(i));
  lsmkv::WriteBatchInternal::SetSequence(&batch, seq);
  return std::string(lsmkv::WriteBatchInternal::Contents(&batch));
}

std::string Log(const std::vector<std::string>& records) {
  std::string contents;
  StringWritableFile file(&contents);
  lsmkv::log::Writer writer(&file, 7);  // the log number wal_reader_fuzz reads with
  for (const std::string& record : records) {
    if (!writer.AddRecord(record).ok()) std::abort();
  }
  return contents;
}

// Block seeds carry block_fuzz's two leading bytes: the minimum key size
// flag and the length of the seek target.
std::string BlockSeed(bool internal_keys, int restart_interval, int entries) {
  lsmkv::BlockBuilder builder(restart_interval);
  for (int i = 0; i < entries; i++) {
    const std::string user_key = "key" + std::to_string(1000 + i * 7);
    builder.Add(internal_keys ? InternalKey(user_key, 100 - i, lsmkv::kTypeValue) : user_key,
                "value" + std::to_string(i));
  }
  std::string seed;
  seed.push_back(internal_keys ? 1 : 0);
  seed.push_back(6);
  seed.append(builder.Finish());
  return seed;
}

std::string Table(bool internal_keys, lsmkv::CompressionType compression, int bloom_bits,
                  int entries, uint32_t format_version = lsmkv::kTableFormatVersion) {
  static const lsmkv::InternalKeyComparator icmp(lsmkv::BytewiseComparator());
  lsmkv::TableOptions options;
  options.comparator =
      internal_keys ? static_cast<const lsmkv::Comparator*>(&icmp) : lsmkv::BytewiseComparator();
  options.internal_keys = internal_keys;
  options.block_size = 256;
  options.block_restart_interval = 4;
  options.compression = compression;
  options.bloom_bits_per_key = bloom_bits;
  options.format_version = format_version;
  std::string contents;
  StringWritableFile file(&contents);
  lsmkv::TableBuilder builder(options, &file);
  for (int i = 0; i < entries; i++) {
    const std::string user_key = "key" + std::to_string(10000 + i * 3);
    const std::string key =
        internal_keys
            ? InternalKey(user_key, 5000 - i, i % 5 == 0 ? lsmkv::kTypeDeletion : lsmkv::kTypeValue)
            : user_key;
    if (!builder.Add(key, std::string(20, static_cast<char>('a' + i % 26))).ok()) std::abort();
  }
  if (!builder.Finish().ok()) std::abort();
  return contents;
}

std::string Edit(int files) {
  lsmkv::VersionEdit edit;
  edit.SetComparatorName("lsmkv.BytewiseComparator");
  edit.SetLogNumber(12);
  edit.SetNextFileNumber(40);
  edit.SetLastSequence(123456);
  edit.SetCompactPointer(1, InternalKey("m", 77, lsmkv::kTypeValue));
  edit.RemoveFile(0, 9);
  edit.RemoveFile(2, 11);
  for (int i = 0; i < files; i++) {
    lsmkv::FileMetaData f;
    f.number = 20 + i;
    f.file_size = 4096 * (i + 1);
    f.smallest = InternalKey("a" + std::to_string(i), 10 + i, lsmkv::kTypeValue);
    f.largest = InternalKey("z" + std::to_string(i), 5 + i, lsmkv::kTypeDeletion);
    f.smallest_seqno = 5 + i;
    f.largest_seqno = 10 + i;
    f.num_entries = 100;
    f.num_deletions = 3;
    edit.AddFile(i % lsmkv::kNumLevels, f);
  }
  std::string encoded;
  edit.EncodeTo(&encoded);
  return encoded;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const fs::path dir = argv[1];
  bool ok = true;
  ok &= WriteSeed(dir, "write_batch_fuzz", "empty", Batch(1, 0, 0, 0));
  ok &= WriteSeed(dir, "write_batch_fuzz", "mixed", Batch(100, 3, 2, 5));
  ok &= WriteSeed(dir, "write_batch_fuzz", "puts", Batch(7, 5, 0, 0));

  const std::string small = Batch(1, 2, 1, 10);
  ok &= WriteSeed(dir, "wal_reader_fuzz", "records", Log({small, "", Batch(4, 1, 0, 300)}));
  // A record split over two blocks (FIRST + LAST fragments).
  ok &= WriteSeed(dir, "wal_reader_fuzz", "spanning", Log({small, Batch(5, 2, 0, 17000)}));
  const std::string torn = Log({small, Batch(4, 1, 0, 300)});
  ok &= WriteSeed(dir, "wal_reader_fuzz", "torn", torn.substr(0, torn.size() - 40));

  ok &= WriteSeed(dir, "block_fuzz", "empty", BlockSeed(false, 16, 0));
  ok &= WriteSeed(dir, "block_fuzz", "user_keys", BlockSeed(false, 3, 12));
  ok &= WriteSeed(dir, "block_fuzz", "internal_keys", BlockSeed(true, 1, 6));
  ok &= WriteSeed(dir, "block_fuzz", "one_restart", BlockSeed(false, 16, 9));

  ok &= WriteSeed(dir, "table_fuzz", "empty", Table(true, lsmkv::CompressionType::kNone, 10, 0));
  ok &=
      WriteSeed(dir, "table_fuzz", "internal", Table(true, lsmkv::CompressionType::kNone, 10, 40));
  ok &=
      WriteSeed(dir, "table_fuzz", "user_keys", Table(false, lsmkv::CompressionType::kNone, 0, 30));
  ok &=
      WriteSeed(dir, "table_fuzz", "snappy", Table(true, lsmkv::CompressionType::kSnappy, 10, 40));
  ok &= WriteSeed(dir, "table_fuzz", "lz4", Table(false, lsmkv::CompressionType::kLZ4, 8, 40));
  ok &= WriteSeed(dir, "table_fuzz", "zstd", Table(true, lsmkv::CompressionType::kZstd, 0, 40));
  ok &= WriteSeed(dir, "table_fuzz", "format_v1",
                  Table(true, lsmkv::CompressionType::kNone, 10, 40, 1));

  ok &= WriteSeed(dir, "version_edit_fuzz", "minimal", Edit(0).substr(0, 2));
  ok &= WriteSeed(dir, "version_edit_fuzz", "one_file", Edit(1));
  ok &= WriteSeed(dir, "version_edit_fuzz", "files", Edit(4));
  if (!ok) {
    std::fprintf(stderr, "make_corpus: cannot write under %s\n", argv[1]);
    return 1;
  }
  return 0;
}
