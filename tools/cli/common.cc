// Encodings, error reporting, opening, and the progress bar of the lsmkv tool.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "admin/tool_util.h"
#include "cli/cli.h"
#include "db/engine_file.h"

namespace lsmkv::cli {

namespace {

int HexNibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// What to do about an error, or "" if the message says it all.
std::string Hint(const Status& s, const Global& g) {
  const std::string text = s.ToString();
  if (s.IsCorruption()) {
    return "the database is damaged: `lsmkv --db " + g.db +
           " verify` lists the damage, `lsmkv --db " + g.db +
           " repair` salvages what is readable (it keeps the old files in " + g.db + "/lost)";
  }
  if (text.find("holds a database of engine") != std::string::npos) {
    return "pass --engine with the engine the database was created with (named above)";
  }
  if (s.IsNoSpace()) return "the disk is full: free space and retry (acknowledged writes are safe)";
  if (text.find("create_if_missing") != std::string::npos) {
    return "no database at " + g.db +
           ": check --db; `put` or `load` creates one (unless --no-create)";
  }
  if (text.find("lock") != std::string::npos || text.find("is open") != std::string::npos) {
    return "another process (an lsmkv command or server) has " + g.db +
           " open: stop it, or work on a checkpoint of it";
  }
  if (text.find("Permission denied") != std::string::npos) {
    return "check the permissions of " + g.db + " and its files";
  }
  return "";
}

}  // namespace

bool HexDecode(std::string_view in, std::string* out) {
  if (in.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < in.size(); i += 2) {
    const int hi = HexNibble(in[i]), lo = HexNibble(in[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

std::string HexEncode(std::string_view in) { return tools::HexString(in); }

std::string Escape(std::string_view in) { return tools::EscapeAll(in); }

bool Unescape(std::string_view in, std::string* out, std::string* error) {
  out->clear();
  for (size_t i = 0; i < in.size(); i++) {
    if (in[i] != '\\') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 1 == in.size()) {
      *error = "backslash at the end (write \\\\ for a backslash)";
      return false;
    }
    const char c = in[++i];
    switch (c) {
      case '\\':
        out->push_back('\\');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case '0':
        out->push_back('\0');
        break;
      case 'x': {
        const int hi = i + 1 < in.size() ? HexNibble(in[i + 1]) : -1;
        const int lo = i + 2 < in.size() ? HexNibble(in[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          *error = "\\x at byte " + std::to_string(i) + " needs two hex digits";
          return false;
        }
        out->push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        break;
      }
      default:
        *error = std::string("unknown escape \\") +
                 (c >= 0x20 && c < 0x7f ? std::string(1, c) : Escape(std::string(1, c))) +
                 " at byte " + std::to_string(i - 1) + " (known: \\\\ \\t \\n \\r \\0 \\xNN)";
        return false;
    }
  }
  return true;
}

std::string Render(std::string_view bytes, const Global& g) {
  if (g.hex) return HexEncode(bytes);
  if (g.raw) return std::string(bytes);
  return Escape(bytes);
}

bool DecodeArg(const std::string& in, const Global& g, const char* what, std::string* out) {
  if (!g.hex) {
    *out = in;
    return true;
  }
  if (HexDecode(in, out)) return true;
  std::cerr << "lsmkv: --hex: the " << what << " \"" << Escape(in)
            << "\" is not hex (two hex digits per byte, e.g. 00ff)\n";
  return false;
}

int Fail(const std::string& what, const Status& s, const Global& g) {
  std::cerr << "lsmkv: " << what << ": " << s.ToString() << "\n";
  const std::string hint = Hint(s, g);
  if (!hint.empty()) std::cerr << "lsmkv: " << hint << "\n";
  return kExitDbError;
}

int UsageError(const std::string& message) {
  std::cerr << "lsmkv: " << message << "\n";
  return kExitUsage;
}

Status OpenDb(const Global& g, bool create, std::unique_ptr<DB>* db) {
  Options options;
  options.create_if_missing = create && !g.no_create;
  options.engine = g.engine;
  return DB::Open(options, g.db, db);
}

bool ParseEngine(std::string_view name, StorageEngine* engine) {
  for (StorageEngine e : {StorageEngine::kLsm, StorageEngine::kBTree, StorageEngine::kBitcask}) {
    if (name == StorageEngineName(e)) {
      *engine = e;
      return true;
    }
  }
  return false;
}

int RequireLsm(const Global& g, const std::string& command, const std::string& dir) {
  StorageEngine recorded = StorageEngine::kLsm;
  bool present = false;
  Status s = ReadEngineFile(Env::Default(), dir, &recorded, &present);
  if (!s.ok()) return Fail(command + ": cannot read the ENGINE file of " + dir, s, g);
  if (present && recorded != StorageEngine::kLsm) {
    return UsageError(command + ": " + dir + " holds a database of engine " +
                      StorageEngineName(recorded) + "; " + command +
                      " reads the lsm engine's files (tables, MANIFEST, WAL) and works on lsm "
                      "databases only");
  }
  if (g.engine != StorageEngine::kLsm) {
    return UsageError(command + " works on lsm databases only (--engine " + g.engine_name +
                      " given)");
  }
  return kExitOk;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// --------------------------------------------------------------- progress

bool ProgressWanted(const Global& g) {
  if (g.progress) return true;
  return !g.no_progress && ::isatty(STDERR_FILENO) == 1;
}

ProgressBar::ProgressBar(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled), start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t done, uint64_t total, const std::string& note) {
  if (!enabled_ || finished_) return;
  done_ = done;
  total_ = total;
  note_ = note;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  Draw();
}

void ProgressBar::Finish() {
  if (!enabled_ || finished_) return;
  if (total_ > 0 && done_ < total_) done_ = total_;
  Draw();
  std::cerr << "\n";
  finished_ = true;
}

void ProgressBar::Draw() {
  constexpr int kWidth = 30;
  std::string line = label_ + " ";
  const double seconds = SecondsSince(start_);
  if (total_ > 0) {
    const double fraction = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    const int filled = static_cast<int>(fraction * kWidth);
    line += "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] ";
    char pct[16];
    std::snprintf(pct, sizeof(pct), "%3d%% ", static_cast<int>(fraction * 100));
    line += pct;
    line += tools::HumanBytes(done_) + " / " + tools::HumanBytes(total_);
  } else {
    line += tools::HumanBytes(done_);
  }
  if (seconds > 0.2) {
    line += "  " + tools::HumanBytes(static_cast<uint64_t>(static_cast<double>(done_) / seconds)) +
            "/s";
  }
  if (!note_.empty()) line += "  " + note_;
  const size_t width = line.size();
  if (width < last_width_) line += std::string(last_width_ - width, ' ');
  last_width_ = width;
  std::cerr << "\r" << line << std::flush;
  drawn_ = true;
}

}  // namespace lsmkv::cli
