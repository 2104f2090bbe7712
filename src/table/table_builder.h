// TableBuilder: writes a sorted table (docs/format/table.md) to a file, in
// format version 2 (salvage data for every data block, footer written twice
// with a checksum) unless TableOptions::format_version is 1.
//
// Keys must be added in strictly increasing order of options.comparator.
// Anything else is rejected: Add returns InvalidArgument and the builder
// fails for good — every later Add returns that error, and Finish returns it
// without writing the rest of the table (no footer, so the partial file can
// never be opened as a table). The same holds for keys shorter than 8 bytes
// when the keys are internal keys (TableOptions::internal_keys) and for
// errors of the file.
//
// Usage: Add* then exactly one of Finish (complete, synced table) or Abandon
// (stop; the caller deletes the file). The caller closes the file.
//
// Thread safety: not thread safe.
#ifndef LSMKV_TABLE_TABLE_BUILDER_H_
#define LSMKV_TABLE_TABLE_BUILDER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lsmkv/env.h"
#include "lsmkv/status.h"
#include "table/table_options.h"

namespace lsmkv {

class TableBuilder {
 public:
  // file must outlive the builder. Nothing is written before the first block
  // is full.
  TableBuilder(const TableOptions& options, WritableFile* file);
  TableBuilder(const TableBuilder&) = delete;
  TableBuilder& operator=(const TableBuilder&) = delete;
  ~TableBuilder();

  // Appends an entry. InvalidArgument ("keys out of order: ...") if key is
  // not after the previous key, or if Finish/Abandon already ran; the error
  // of the file if writing a full block fails.
  Status Add(std::string_view key, std::string_view value);

  // Writes the last data block, the filter, properties, salvage (version 2),
  // meta-index and index blocks and the footer (twice in version 2), then
  // syncs the file. Returns the first error of
  // the builder instead (then nothing more is written). A table without
  // entries is valid. Must be called at most once.
  Status Finish();

  // Stops building; nothing more is written.
  void Abandon();

  // Entries accepted by Add.
  uint64_t NumEntries() const;
  // Bytes written to the file so far (the table's size after Finish).
  uint64_t FileSize() const;
  // The first error met, or OK.
  Status status() const;

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace lsmkv

#endif  // LSMKV_TABLE_TABLE_BUILDER_H_
