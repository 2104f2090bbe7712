// Golden output of DumpFile (lsmkv dump) for tables, WALs, MANIFESTs and
// CURRENT of small databases built deterministically in an in-memory Env,
// driven by the testdata files in src/admin/testdata/dump/.
//
// Commands:
//
//   build [block-size=N] [restart=N] [bloom=N]
//   <ops>
//     A new database in /db of a fresh in-memory Env (no compression), the
//     operations applied in order, then closed. Prints the directory.
//     <ops> lines: `put KEY VALUE`, `del KEY`, several of them joined by
//     " ; " (one write batch), `flush`, `compact` (CompactRange of
//     everything). Keys and values may use \xNN escapes.
//
//   dump file=NAME [hex] [no-entries] [type=log|manifest|table]
//     DumpFile's output for /db/NAME, then its Status. The table creation
//     time (a wall-clock value) is printed as <time>.
//
//   corrupt file=NAME offset=N
//     Inverts the bits of byte N of /db/NAME.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <sstream>

#include "base/filename.h"
#include "lsmkv/db.h"
#include "lsmkv/env.h"
#include "lsmkv/tools.h"
#include "lsmkv/write_batch.h"
#include "util/datadriven_testutil.h"

namespace lsmkv {
namespace {

using test::datadriven::TestData;

constexpr char kDir[] = "/db";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && HexDigit(s[i + 2]) >= 0 &&
        HexDigit(s[i + 3]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(s[i + 2]) * 16 + HexDigit(s[i + 3])));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Replaces the number after "creation time\t" with <time>: the only
// wall-clock value DumpFile prints.
std::string NormalizeDump(const std::string& text) {
  static constexpr std::string_view kField = "  creation time\t";
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(kField, 0) == 0) line = std::string(kField) + "<time>";
    out += line + "\n";
  }
  return out;
}

class DumpHarness {
 public:
  std::string Run(const TestData& d) {
    if (d.cmd == "build") return Build(d);
    if (env_ == nullptr) {
      ADD_FAILURE_AT(d.file.c_str(), d.line) << "'build' must come first";
      return "";
    }
    if (d.cmd == "dump") return Dump(d);
    if (d.cmd == "corrupt") return Corrupt(d);
    ADD_FAILURE_AT(d.file.c_str(), d.line) << "unknown command '" << d.cmd << "'";
    return "";
  }

 private:
  std::string Build(const TestData& d) {
    env_ = NewMemEnv(Env::Default());
    Options options;
    options.env = env_.get();
    options.create_if_missing = true;
    options.compression = CompressionType::kNone;
    options.block_size = d.UintArg("block-size", 4096);
    options.block_restart_interval = static_cast<int>(d.UintArg("restart", 8));
    options.bloom_bits_per_key = static_cast<int>(d.UintArg("bloom", 10));
    options.level0_file_limit = 100;  // no compaction unless asked
    options.level0_slowdown_writes_trigger = 200;
    options.level0_stop_writes_trigger = 300;
    options.read_compaction_bytes_per_seek = 0;
    std::unique_ptr<DB> db;
    Status s = DB::Open(options, kDir, &db);
    if (!s.ok()) return "open: " + s.ToString() + "\n";
    std::istringstream in(d.input);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      if (line == "flush") {
        s = db->Flush();
      } else if (line == "compact") {
        s = db->CompactRange(nullptr, nullptr);
      } else {
        WriteBatch batch;
        std::string error;
        std::istringstream ops(line);
        for (std::string op; std::getline(ops, op, ';');) {
          std::istringstream words(op);
          std::string verb, key, value, extra;
          words >> verb >> key >> value >> extra;
          if (verb == "put" && !key.empty() && !value.empty() && extra.empty()) {
            batch.Put(Unescape(key), Unescape(value));
          } else if (verb == "del" && !key.empty() && value.empty()) {
            batch.Delete(Unescape(key));
          } else {
            ADD_FAILURE_AT(d.file.c_str(), d.line) << "bad operation '" << op << "'";
            return "";
          }
        }
        s = db->Write(WriteOptions(), &batch);
      }
      if (!s.ok()) return line + ": " + s.ToString() + "\n";
    }
    s = db->Close();
    if (!s.ok()) return "close: " + s.ToString() + "\n";
    db.reset();
    return Listing();
  }

  // The files of the database with their sizes (LOG, whose contents hold
  // timestamps, by name only).
  std::string Listing() const {
    std::vector<std::string> names;
    Status s = env_->GetChildren(kDir, &names);
    if (!s.ok()) return "list: " + s.ToString() + "\n";
    std::sort(names.begin(), names.end());
    std::string out;
    for (const std::string& name : names) {
      if (name == "." || name == "..") continue;
      uint64_t number = 0;
      FileType type;
      const bool sized = ParseFileName(name, &number, &type) &&
                         (type == FileType::kLogFile || type == FileType::kTableFile ||
                          type == FileType::kDescriptorFile || type == FileType::kCurrentFile);
      uint64_t size = 0;
      if (sized && env_->GetFileSize(std::string(kDir) + "/" + name, &size).ok()) {
        out += name + "\t" + std::to_string(size) + " bytes\n";
      } else {
        out += name + "\n";
      }
    }
    return out;
  }

  std::string Dump(const TestData& d) {
    DumpOptions options;
    options.env = env_.get();
    options.hex = d.HasArg("hex");
    options.table_entries = !d.HasArg("no-entries");
    const std::string type = d.StringArg("type");
    if (type == "log") options.type = DumpFileType::kLog;
    if (type == "manifest") options.type = DumpFileType::kManifest;
    if (type == "table") options.type = DumpFileType::kTable;
    std::ostringstream out;
    Status s = DumpFile(std::string(kDir) + "/" + d.StringArg("file"), options, &out);
    return NormalizeDump(out.str()) + "status: " + s.ToString() + "\n";
  }

  std::string Corrupt(const TestData& d) {
    const std::string path = std::string(kDir) + "/" + d.StringArg("file");
    std::string contents;
    Status s = ReadFileToString(env_.get(), path, &contents);
    const uint64_t offset = d.UintArg("offset");
    if (s.ok() && offset >= contents.size()) s = Status::InvalidArgument("offset past the end");
    if (s.ok()) {
      contents[offset] = static_cast<char>(~contents[offset]);
      s = WriteStringToFile(env_.get(), contents, path, /*sync=*/false);
    }
    return s.ToString() + "\n";
  }

  std::unique_ptr<Env> env_;
};

TEST(DumpGoldenTest, TestData) {
  for (const std::string& path : test::datadriven::TestDataFiles(test::datadriven::SourceDir() +
                                                                 "/src/admin/testdata/dump")) {
    SCOPED_TRACE(path);
    DumpHarness h;
    test::datadriven::RunTestFile(path, [&h](const TestData& d) { return h.Run(d); });
  }
}

}  // namespace
}  // namespace lsmkv
