// put, get, del, scan, stats, compact.
#include <iostream>

#include "cli/cli.h"

namespace lsmkv::cli {

namespace {

struct KeyValueArgs {
  std::string key, value;
};

struct ScanArgs {
  std::string from, to;
  bool have_from = false, have_to = false;
  bool inclusive = false, reverse = false, keys_only = false;
  uint64_t limit = 0;
};

struct CompactArgs {
  std::string from, to;
};

// Opens g.db (creating it), applies one write with --sync, closes: the
// exit code, with the failing step named as `what` (or "close").
template <typename Write>
int WriteOnce(const Global& g, const char* what, Write&& write) {
  std::unique_ptr<DB> db;
  Status s = OpenDb(g, /*create=*/true, &db);
  if (!s.ok()) return Fail("cannot open " + g.db, s, g);
  WriteOptions wo;
  wo.sync = g.sync;
  s = write(db.get(), wo);
  if (!s.ok()) return Fail(what, s, g);
  s = db->Close();
  return s.ok() ? kExitOk : Fail("close", s, g);
}

int RunPut(const Global& g, const KeyValueArgs& a) {
  std::string key, value;
  if (!DecodeArg(a.key, g, "key", &key) || !DecodeArg(a.value, g, "value", &value)) {
    return kExitUsage;
  }
  return WriteOnce(g, "put",
                   [&](DB* db, const WriteOptions& wo) { return db->Put(wo, key, value); });
}

int RunGet(const Global& g, const KeyValueArgs& a) {
  std::string key;
  if (!DecodeArg(a.key, g, "key", &key)) return kExitUsage;
  std::unique_ptr<DB> db;
  Status s = OpenDb(g, /*create=*/false, &db);
  if (!s.ok()) return Fail("cannot open " + g.db, s, g);
  std::string value;
  s = db->Get(ReadOptions(), key, &value);
  int code = kExitOk;
  if (s.IsNotFound()) {
    std::cerr << "lsmkv: key not found: " << Escape(key) << "\n";
    code = kExitNotFound;
  } else if (!s.ok()) {
    code = Fail("get", s, g);
  } else {
    std::cout << Render(value, g) << "\n";
  }
  s = db->Close();
  if (!s.ok() && code == kExitOk) code = Fail("close", s, g);
  return code;
}

int RunDel(const Global& g, const KeyValueArgs& a) {
  std::string key;
  if (!DecodeArg(a.key, g, "key", &key)) return kExitUsage;
  return WriteOnce(g, "del", [&](DB* db, const WriteOptions& wo) { return db->Delete(wo, key); });
}

// key = begin, value = end.
int RunDelRange(const Global& g, const KeyValueArgs& a) {
  std::string begin, end;
  if (!DecodeArg(a.key, g, "begin", &begin) || !DecodeArg(a.value, g, "end", &end)) {
    return kExitUsage;
  }
  return WriteOnce(g, "delrange",
                   [&](DB* db, const WriteOptions& wo) { return db->DeleteRange(wo, begin, end); });
}

int RunScan(const Global& g, const ScanArgs& a) {
  ReadOptions ro;
  ro.fill_cache = false;
  if (a.have_from) {
    std::string from;
    if (!DecodeArg(a.from, g, "--from key", &from)) return kExitUsage;
    ro.lower_bound = from;
  }
  if (a.have_to) {
    std::string to;
    if (!DecodeArg(a.to, g, "--to key", &to)) return kExitUsage;
    // Inclusive: the first key after `to` in bytewise order is to + "\0".
    if (a.inclusive) to.push_back('\0');
    ro.upper_bound = to;
  } else if (a.inclusive) {
    return UsageError("scan: --inclusive needs --to");
  }
  std::unique_ptr<DB> db;
  Status s = OpenDb(g, /*create=*/false, &db);
  if (!s.ok()) return Fail("cannot open " + g.db, s, g);
  std::unique_ptr<Iterator> it = db->NewIterator(ro);
  uint64_t n = 0;
  std::string line;
  if (a.reverse) {
    it->SeekToLast();
  } else {
    it->SeekToFirst();
  }
  for (; it->Valid() && (a.limit == 0 || n < a.limit); a.reverse ? it->Prev() : it->Next()) {
    line = Render(it->key(), g);
    if (!a.keys_only) {
      line.push_back('\t');
      line += Render(it->value(), g);
    }
    line.push_back('\n');
    std::cout.write(line.data(), static_cast<std::streamsize>(line.size()));
    n++;
  }
  int code = kExitOk;
  if (!it->status().ok()) {
    std::cout.flush();
    code = Fail("scan stopped after " + std::to_string(n) + " entries", it->status(), g);
  }
  it.reset();
  s = db->Close();
  if (!s.ok() && code == kExitOk) code = Fail("close", s, g);
  return code;
}

int RunStats(const Global& g) {
  std::unique_ptr<DB> db;
  Status s = OpenDb(g, /*create=*/false, &db);
  if (!s.ok()) return Fail("cannot open " + g.db, s, g);
  std::string text;
  if (db->GetProperty("lsmkv.stats", &text)) std::cout << text;
  if (db->GetProperty("lsmkv.levels", &text)) std::cout << text;
  if (db->GetProperty("lsmkv.last-sequence", &text)) std::cout << "last sequence: " << text << "\n";
  s = db->Close();
  return s.ok() ? kExitOk : Fail("close", s, g);
}

int RunCompact(const Global& g, const CLI::App& cmd, const CompactArgs& a) {
  std::string from, to;
  const bool have_from = cmd.count("--from") > 0, have_to = cmd.count("--to") > 0;
  if ((have_from && !DecodeArg(a.from, g, "--from key", &from)) ||
      (have_to && !DecodeArg(a.to, g, "--to key", &to))) {
    return kExitUsage;
  }
  std::unique_ptr<DB> db;
  Status s = OpenDb(g, /*create=*/false, &db);
  if (!s.ok()) return Fail("cannot open " + g.db, s, g);
  const auto start = std::chrono::steady_clock::now();
  s = db->CompactRange(have_from ? &from : nullptr, have_to ? &to : nullptr);
  if (!s.ok()) return Fail("compact", s, g);
  char line[64];
  std::snprintf(line, sizeof(line), "compacted in %.2f s\n", SecondsSince(start));
  std::cout << line;
  std::string levels;
  if (db->GetProperty("lsmkv.levels", &levels)) std::cout << levels;
  s = db->Close();
  return s.ok() ? kExitOk : Fail("close", s, g);
}

}  // namespace

void AddDataCommands(CLI::App* app, const Global* g, std::vector<Command>* commands) {
  auto kv = std::make_shared<KeyValueArgs>();

  CLI::App* put = app->add_subcommand("put", "set KEY to VALUE");
  put->add_option("key", kv->key, "key")->required();
  put->add_option("value", kv->value, "value")->required();
  commands->push_back({put, [g, kv] { return RunPut(*g, *kv); }});

  CLI::App* get = app->add_subcommand("get", "print the value of KEY (exit 1 if absent)");
  get->add_option("key", kv->key, "key")->required();
  commands->push_back({get, [g, kv] { return RunGet(*g, *kv); }});

  CLI::App* del = app->add_subcommand("del", "delete KEY (no error if absent)");
  del->add_option("key", kv->key, "key")->required();
  commands->push_back({del, [g, kv] { return RunDel(*g, *kv); }});

  CLI::App* delrange = app->add_subcommand(
      "delrange", "delete every key in [BEGIN, END) (END exclusive) with one range tombstone");
  delrange->add_option("begin", kv->key, "first key deleted")->required();
  delrange->add_option("end", kv->value, "first key kept after the range")->required();
  commands->push_back({delrange, [g, kv] { return RunDelRange(*g, *kv); }});

  auto scan_args = std::make_shared<ScanArgs>();
  CLI::App* scan = app->add_subcommand(
      "scan", "print KEY<TAB>VALUE lines in key order, one per entry (escaped unless --hex/--raw)");
  scan->add_option("--from", scan_args->from, "first key (inclusive)");
  scan->add_option("--to", scan_args->to, "end key (exclusive; see --inclusive)");
  scan->add_flag("--inclusive", scan_args->inclusive, "make --to inclusive");
  scan->add_option("--limit", scan_args->limit, "print at most N entries (0: all)");
  scan->add_flag("--reverse", scan_args->reverse, "from the last key down");
  scan->add_flag("--keys-only", scan_args->keys_only, "print keys only");
  commands->push_back({scan, [g, scan_args, scan] {
                         scan_args->have_from = scan->count("--from") > 0;
                         scan_args->have_to = scan->count("--to") > 0;
                         return RunScan(*g, *scan_args);
                       }});

  CLI::App* stats = app->add_subcommand("stats", "print engine statistics and files per level");
  commands->push_back({stats, [g] { return RunStats(*g); }});

  auto compact_args = std::make_shared<CompactArgs>();
  CLI::App* compact = app->add_subcommand(
      "compact", "compact the whole database, or the keys in [--from, --to] (both inclusive)");
  compact->add_option("--from", compact_args->from, "first key of the range");
  compact->add_option("--to", compact_args->to, "last key of the range (inclusive)");
  commands->push_back(
      {compact, [g, compact_args, compact] { return RunCompact(*g, *compact, *compact_args); }});
}

}  // namespace lsmkv::cli
