// load: bulk load of key/value records from a TSV or JSON-lines file.
//
// TSV: one record per line, KEY<TAB>VALUE, exactly one tab; backslash
// escapes \\ \t \n \r \0 \xNN in both fields (the format `scan` prints).
// JSON lines: one object per line, {"key": "...", "value": "..."} and no
// other member; strings are stored as their UTF-8 bytes. With --hex both
// formats hold keys and values as hex digits.
//
// Every line is a record: an empty or malformed line stops the load with
// its line number; the records before it are loaded (in batches, so a
// crash may keep a prefix of them), nothing after it is.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "admin/tool_util.h"
#include "cli/cli.h"

namespace lsmkv::cli {

namespace {

enum class Format { kTsv, kJsonLines };

struct LoadArgs {
  std::string file;
  std::string format = "auto";
  uint64_t batch = 1000;
};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool ParseTsv(std::string_view line, bool hex, std::string* key, std::string* value,
              std::string* error) {
  const size_t tab = line.find('\t');
  if (tab == std::string_view::npos || line.find('\t', tab + 1) != std::string_view::npos) {
    *error =
        "expected KEY<TAB>VALUE with exactly one tab (write a tab inside a key or value as \\t)";
    return false;
  }
  const std::string_view k = line.substr(0, tab), v = line.substr(tab + 1);
  if (hex) {
    if (!HexDecode(k, key)) {
      *error = "the key is not hex";
      return false;
    }
    if (!HexDecode(v, value)) {
      *error = "the value is not hex";
      return false;
    }
    return true;
  }
  std::string why;
  if (!Unescape(k, key, &why)) {
    *error = "key: " + why;
    return false;
  }
  if (!Unescape(v, value, &why)) {
    *error = "value: " + why;
    return false;
  }
  return true;
}

bool ParseJson(std::string_view line, bool hex, std::string* key, std::string* value,
               std::string* error) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    *error = "not valid JSON (or not UTF-8)";
    return false;
  }
  if (!j.is_object()) {
    *error = "expected an object {\"key\": \"...\", \"value\": \"...\"}";
    return false;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "key" && it.key() != "value") {
      *error = "unexpected member \"" + Escape(it.key()) + "\" (only \"key\" and \"value\")";
      return false;
    }
  }
  for (const char* name : {"key", "value"}) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) {
      *error = std::string("\"") + name + "\" is missing or not a string";
      return false;
    }
    const std::string& text = it->get_ref<const std::string&>();
    std::string* out = std::string_view(name) == "key" ? key : value;
    if (!hex) {
      *out = text;
    } else if (!HexDecode(text, out)) {
      *error = std::string("\"") + name + "\" is not hex";
      return false;
    }
  }
  return true;
}

int RunLoad(const Global& g, const LoadArgs& a) {
  Format format;
  if (a.format == "tsv") {
    format = Format::kTsv;
  } else if (a.format == "jsonl" || a.format == "json") {
    format = Format::kJsonLines;
  } else if (a.format != "auto") {
    return UsageError("load: --format must be auto, tsv or jsonl");
  } else if (EndsWith(a.file, ".tsv") || EndsWith(a.file, ".txt") || a.file == "-") {
    format = Format::kTsv;
  } else if (EndsWith(a.file, ".jsonl") || EndsWith(a.file, ".ndjson") ||
             EndsWith(a.file, ".json")) {
    format = Format::kJsonLines;
  } else {
    return UsageError("load: cannot tell the format of " + a.file +
                      " from its name (.tsv, .jsonl): pass --format tsv or --format jsonl");
  }
  if (a.batch == 0) return UsageError("load: --batch must be at least 1");

  std::FILE* in = a.file == "-" ? stdin : std::fopen(a.file.c_str(), "rb");
  if (in == nullptr) {
    std::cerr << "lsmkv: load: cannot open " << a.file << ": " << std::strerror(errno) << "\n";
    return kExitUsage;
  }
  uint64_t total = 0;
  struct stat st;
  if (in != stdin && ::fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode)) {
    total = static_cast<uint64_t>(st.st_size);
  }

  std::unique_ptr<DB> db;
  Status s = OpenDb(g, /*create=*/true, &db);
  if (!s.ok()) {
    if (in != stdin) std::fclose(in);
    return Fail("cannot open " + g.db, s, g);
  }
  const Options limits;
  WriteOptions wo;
  wo.sync = g.sync;
  WriteBatch batch;
  uint64_t loaded = 0, line_number = 0, bytes = 0;
  ProgressBar bar("load", ProgressWanted(g));
  const auto start = std::chrono::steady_clock::now();
  int code = kExitOk;
  std::string bad_line_error;
  auto flush = [&]() -> bool {
    if (batch.Count() == 0) return true;
    const uint32_t n = batch.Count();
    s = db->Write(wo, &batch);
    batch.Clear();
    if (!s.ok()) return false;
    loaded += n;
    return true;
  };

  char* buffer = nullptr;
  size_t capacity = 0;
  std::string key, value, error;
  while (true) {
    const ssize_t n = ::getline(&buffer, &capacity, in);
    if (n < 0) break;
    line_number++;
    bytes += static_cast<uint64_t>(n);
    std::string_view line(buffer, static_cast<size_t>(n));
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    const bool parsed = format == Format::kTsv ? ParseTsv(line, g.hex, &key, &value, &error)
                                               : ParseJson(line, g.hex, &key, &value, &error);
    if (parsed && key.size() > limits.max_key_size) {
      error = "key of " + std::to_string(key.size()) + " bytes exceeds the limit of " +
              std::to_string(limits.max_key_size);
    } else if (parsed && value.size() > limits.max_value_size) {
      error = "value of " + std::to_string(value.size()) + " bytes exceeds the limit of " +
              std::to_string(limits.max_value_size);
    } else if (parsed) {
      batch.Put(key, value);
      if (batch.Count() >= a.batch || batch.ApproximateSize() >= (4u << 20)) {
        if (!flush()) break;
        bar.Update(bytes, total, std::to_string(loaded) + " records");
      }
      continue;
    }
    bad_line_error = a.file + ":" + std::to_string(line_number) + ": " + error;
    break;
  }
  const bool read_error = std::ferror(in) != 0;
  std::free(buffer);
  if (in != stdin) std::fclose(in);
  if (s.ok()) flush();  // the records before a bad line are loaded
  bar.Update(bytes, total, std::to_string(loaded) + " records");
  bar.Finish();
  if (!s.ok()) {
    code = Fail("load: write failed after " + std::to_string(loaded) + " records", s, g);
  } else if (!bad_line_error.empty()) {
    std::cerr << "lsmkv: load: " << bad_line_error << "\n"
              << "lsmkv: load: stopped at line " << line_number << ": loaded " << loaded
              << " records (lines 1-" << line_number - 1 << "); nothing after line " << line_number
              << " was loaded\n";
    code = kExitUsage;
  } else if (read_error) {
    std::cerr << "lsmkv: load: read error in " << a.file << " after line " << line_number
              << ": loaded " << loaded << " records\n";
    code = kExitUsage;
  }
  const double seconds = SecondsSince(start);
  char summary[160];
  std::snprintf(summary, sizeof(summary), "loaded %llu records in %.2f s (%.0f/s)\n",
                static_cast<unsigned long long>(loaded), seconds,
                seconds > 0 ? static_cast<double>(loaded) / seconds : 0.0);
  if (code == kExitOk) std::cout << summary;
  Status c = db->Close();
  if (!c.ok() && code == kExitOk) code = Fail("close", c, g);
  return code;
}

}  // namespace

void AddLoadCommand(CLI::App* app, const Global* g, std::vector<Command>* commands) {
  auto args = std::make_shared<LoadArgs>();
  CLI::App* load = app->add_subcommand(
      "load",
      "bulk-load FILE (- for stdin): TSV lines KEY<TAB>VALUE with \\\\ \\t \\n \\r \\0 \\xNN "
      "escapes (what scan prints), or JSON lines {\"key\":...,\"value\":...}; stops at the first "
      "bad line, naming it (exit 2)");
  load->add_option("file", args->file, "input file, or - for stdin")->required();
  load->add_option("--format", args->format, "auto (from the extension), tsv or jsonl")
      ->capture_default_str();
  load->add_option("--batch", args->batch, "records per atomic write batch")->capture_default_str();
  commands->push_back({load, [g, args] { return RunLoad(*g, *args); }});
}

}  // namespace lsmkv::cli
