// lsmkv: command-line access to a database directory.
//
//   lsmkv --db DIR put KEY VALUE      lsmkv --db DIR get KEY
//   lsmkv --db DIR del KEY            lsmkv --db DIR stats
//
// Keys and values are taken literally from the arguments, or as hex with
// --hex. Output escapes non-printable bytes (\xNN) unless --hex or --raw.
// Exit codes: 0 success, 1 key not found, 2 usage error, 3 database error.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "lsmkv/db.h"

namespace {

constexpr int kExitNotFound = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDbError = 3;

bool HexDecode(const std::string& in, std::string* out) {
  if (in.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < in.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = nibble(in[i]), lo = nibble(in[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

std::string HexEncode(std::string_view in) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : in) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Printable ASCII stays as is; backslash and everything else become escapes.
std::string Escape(std::string_view in) {
  std::string out;
  char buf[8];
  for (unsigned char c : in) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

int Fail(const std::string& what, const lsmkv::Status& s) {
  std::cerr << "lsmkv: " << what << ": " << s.ToString() << "\n";
  return kExitDbError;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lsmkv: read and write an lsmkv database directory"};
  app.require_subcommand(1);
  std::string db_path = "./data";
  bool hex = false, raw = false, sync = false, create = true;
  app.add_option("--db", db_path, "database directory")->capture_default_str();
  app.add_flag("--hex", hex, "keys and values on the command line and in the output are hex");
  app.add_flag("--raw", raw, "print values as raw bytes instead of escaping non-printable ones");
  app.add_flag("--sync", sync, "fdatasync the write-ahead log before a write returns");
  app.add_flag("!--no-create", create, "fail if the database does not exist");

  std::string key, value;
  auto* put = app.add_subcommand("put", "set KEY to VALUE");
  put->add_option("key", key, "key")->required();
  put->add_option("value", value, "value")->required();
  auto* get = app.add_subcommand("get", "print the value of KEY (exit 1 if absent)");
  get->add_option("key", key, "key")->required();
  auto* del = app.add_subcommand("del", "delete KEY");
  del->add_option("key", key, "key")->required();
  auto* stats = app.add_subcommand("stats", "print engine statistics and levels");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (hex) {
    if (!HexDecode(std::string(key), &key) || !HexDecode(std::string(value), &value)) {
      std::cerr << "lsmkv: --hex expects an even number of hex digits\n";
      return kExitUsage;
    }
  }

  lsmkv::Options options;
  options.create_if_missing = create;
  std::unique_ptr<lsmkv::DB> db;
  lsmkv::Status s = lsmkv::DB::Open(options, db_path, &db);
  if (!s.ok()) return Fail("cannot open " + db_path, s);

  lsmkv::WriteOptions wo;
  wo.sync = sync;
  int code = 0;
  if (*put) {
    s = db->Put(wo, key, value);
    if (!s.ok()) code = Fail("put", s);
  } else if (*get) {
    std::string result;
    s = db->Get(lsmkv::ReadOptions(), key, &result);
    if (s.IsNotFound()) {
      std::cerr << "lsmkv: key not found\n";
      code = kExitNotFound;
    } else if (!s.ok()) {
      code = Fail("get", s);
    } else if (hex) {
      std::cout << HexEncode(result) << "\n";
    } else if (raw) {
      std::cout.write(result.data(), static_cast<std::streamsize>(result.size()));
      std::cout << "\n";
    } else {
      std::cout << Escape(result) << "\n";
    }
  } else if (*del) {
    s = db->Delete(wo, key);
    if (!s.ok()) code = Fail("del", s);
  } else if (*stats) {
    std::string text;
    if (db->GetProperty("lsmkv.stats", &text)) std::cout << text;
    if (db->GetProperty("lsmkv.levels", &text)) std::cout << text;
  }
  s = db->Close();
  if (!s.ok() && code == 0) code = Fail("close", s);
  return code;
}
