// Version edit encoding and the exact Status of every kind of damage,
// driven by the testdata files in src/db/testdata/version_edit/
// (docs/format/manifest.md).
//
// Commands:
//
//   encode
//   <edit>
//     Builds the edit, prints its encoding as hex (16 bytes a line) and the
//     DebugString of the decoded encoding, and checks that re-encoding the
//     decoded edit gives the same bytes.
//
//   decode [truncate=N]
//   <tokens>
//     Decodes bytes written token by token (first N bytes only with
//     truncate); prints the Status, and the DebugString if OK.
//
//   truncations
//   <edit>
//     Decodes every proper prefix of the edit's encoding; prints the Status
//     of each, consecutive lengths with the same Status on one line.
//
// <edit> lines:
//   comparator NAME | log-number N | next-file N | last-sequence N
//   compact-pointer LEVEL KEY | delete-file LEVEL NUMBER
//   add-file LEVEL NUMBER size=N smallest=KEY largest=KEY seqnos=A..B
//            entries=N deletions=N
// KEY is user@sequence or user@sequence:del (a deletion); user keys may use
// \xNN escapes.
//
// <tokens>, separated by blanks, any number a line:
//   tag:NAME   the varint32 of a record tag: comparator, log-number,
//              next-file, last-sequence, compact-pointer, deleted-file,
//              new-file, format-version, end; or tag:N for any N
//   N          a varint64 (decimal)
//   str:TEXT   a length-prefixed string (\xNN escapes)
//   ikey:KEY   a length-prefixed internal key
//   hex:HH..   raw bytes
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "db/version_edit.h"
#include "util/coding.h"
#include "util/comparator.h"
#include "util/datadriven_testutil.h"

namespace lsmkv {
namespace {

using test::datadriven::TestData;

// Tag values of docs/format/manifest.md, spelled out so that the testdata
// pins the format rather than echoing the implementation.
struct TagName {
  const char* name;
  uint32_t value;
};
constexpr TagName kTags[] = {
    {"comparator", 1},    {"log-number", 2},       {"next-file", 3},
    {"last-sequence", 4}, {"compact-pointer", 5},  {"deleted-file", 6},
    {"new-file", 7},      {"format-version", 100}, {"end", 101},
};

bool ParseUint(std::string_view s, uint64_t* v) {
  if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  errno = 0;
  const std::string str(s);
  char* end = nullptr;
  *v = std::strtoull(str.c_str(), &end, 10);
  return errno == 0 && *end == '\0';
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Text with \xNN escapes to bytes.
bool Unescape(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      const int hi = HexDigit(s[i + 2]), lo = HexDigit(s[i + 3]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 3;
    } else {
      out->push_back(s[i]);
    }
  }
  return true;
}

// user@seq or user@seq:del
bool ParseKey(std::string_view s, std::string* ikey) {
  const size_t at = s.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string user;
  if (!Unescape(s.substr(0, at), &user)) return false;
  std::string_view rest = s.substr(at + 1);
  ValueType type = kTypeValue;
  if (const size_t colon = rest.find(':'); colon != std::string_view::npos) {
    if (rest.substr(colon + 1) != "del") return false;
    type = kTypeDeletion;
    rest = rest.substr(0, colon);
  }
  uint64_t seq = 0;
  if (!ParseUint(rest, &seq) || seq > kMaxSequenceNumber) return false;
  ikey->clear();
  AppendInternalKey(ikey, user, seq, type);
  return true;
}

std::string Hex(std::string_view bytes) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < bytes.size(); i++) {
    std::snprintf(buf, sizeof(buf), "%02x", static_cast<unsigned char>(bytes[i]));
    out += buf;
    out += (i % 16 == 15 || i + 1 == bytes.size()) ? "\n" : " ";
  }
  return out;
}

// Builds an edit from <edit> lines; "" or what is wrong.
std::string BuildEdit(const std::string& text, VersionEdit* edit) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string what;
    if (!(words >> what)) continue;
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    const std::string bad = "bad line '" + line + "'";
    uint64_t a = 0, b = 0;
    std::string key;
    if (what == "comparator" && w.size() == 1) {
      std::string name;
      if (!Unescape(w[0], &name)) return bad;
      edit->SetComparatorName(name);
    } else if (what == "log-number" && w.size() == 1 && ParseUint(w[0], &a)) {
      edit->SetLogNumber(a);
    } else if (what == "next-file" && w.size() == 1 && ParseUint(w[0], &a)) {
      edit->SetNextFileNumber(a);
    } else if (what == "last-sequence" && w.size() == 1 && ParseUint(w[0], &a) &&
               a <= kMaxSequenceNumber) {
      edit->SetLastSequence(a);
    } else if (what == "compact-pointer" && w.size() == 2 && ParseUint(w[0], &a) &&
               a < kNumLevels && ParseKey(w[1], &key)) {
      edit->SetCompactPointer(static_cast<int>(a), key);
    } else if (what == "delete-file" && w.size() == 2 && ParseUint(w[0], &a) && a < kNumLevels &&
               ParseUint(w[1], &b)) {
      edit->RemoveFile(static_cast<int>(a), b);
    } else if (what == "add-file" && w.size() >= 2 && ParseUint(w[0], &a) && a < kNumLevels &&
               ParseUint(w[1], &b)) {
      FileMetaData f;
      f.number = b;
      bool have_keys[2] = {false, false};
      for (size_t i = 2; i < w.size(); i++) {
        const size_t eq = w[i].find('=');
        if (eq == std::string::npos) return bad;
        const std::string k = w[i].substr(0, eq), v = w[i].substr(eq + 1);
        bool ok = false;
        if (k == "size") ok = ParseUint(v, &f.file_size);
        if (k == "entries") ok = ParseUint(v, &f.num_entries);
        if (k == "deletions") ok = ParseUint(v, &f.num_deletions);
        if (k == "smallest") ok = have_keys[0] = ParseKey(v, &f.smallest);
        if (k == "largest") ok = have_keys[1] = ParseKey(v, &f.largest);
        if (k == "seqnos") {
          const size_t dots = v.find("..");
          ok = dots != std::string::npos && ParseUint(v.substr(0, dots), &f.smallest_seqno) &&
               ParseUint(v.substr(dots + 2), &f.largest_seqno);
        }
        if (!ok) return bad;
      }
      // AddFile's preconditions are asserted there: check them here so that
      // a mistake in the testdata is a message, not an abort.
      if (!have_keys[0] || !have_keys[1] || f.smallest_seqno > f.largest_seqno ||
          f.largest_seqno > kMaxSequenceNumber || f.num_deletions > f.num_entries ||
          InternalKeyComparator(BytewiseComparator()).Compare(f.smallest, f.largest) > 0) {
        return bad + " (AddFile's preconditions do not hold)";
      }
      edit->AddFile(static_cast<int>(a), f);
    } else {
      return bad;
    }
  }
  return "";
}

// Bytes from <tokens>; "" or what is wrong.
std::string BuildBytes(const std::string& text, std::string* out) {
  std::istringstream in(text);
  for (std::string token; in >> token;) {
    const std::string bad = "bad token '" + token + "'";
    uint64_t n = 0;
    std::string s;
    if (token.rfind("tag:", 0) == 0) {
      const std::string name = token.substr(4);
      bool found = false;
      for (const TagName& t : kTags) {
        if (name == t.name) {
          PutVarint32(out, t.value);
          found = true;
        }
      }
      if (!found) {
        if (!ParseUint(name, &n) || n > UINT32_MAX) return bad;
        PutVarint32(out, static_cast<uint32_t>(n));
      }
    } else if (token.rfind("str:", 0) == 0) {
      if (!Unescape(token.substr(4), &s)) return bad;
      PutLengthPrefixed(out, s);
    } else if (token.rfind("ikey:", 0) == 0) {
      if (!ParseKey(token.substr(5), &s)) return bad;
      PutLengthPrefixed(out, s);
    } else if (token.rfind("hex:", 0) == 0) {
      const std::string h = token.substr(4);
      if (h.size() % 2 != 0) return bad;
      for (size_t i = 0; i < h.size(); i += 2) {
        const int hi = HexDigit(h[i]), lo = HexDigit(h[i + 1]);
        if (hi < 0 || lo < 0) return bad;
        out->push_back(static_cast<char>(hi * 16 + lo));
      }
    } else if (ParseUint(token, &n)) {
      PutVarint64(out, n);
    } else {
      return bad;
    }
  }
  return "";
}

std::string DecodeResult(std::string_view bytes) {
  VersionEdit edit;
  Status s = edit.DecodeFrom(bytes);
  std::string out = s.ToString() + "\n";
  if (s.ok()) out += edit.DebugString();
  return out;
}

std::string RunCase(const TestData& d) {
  if (d.cmd == "encode" || d.cmd == "truncations") {
    VersionEdit edit;
    const std::string error = BuildEdit(d.input, &edit);
    if (!error.empty()) {
      ADD_FAILURE_AT(d.file.c_str(), d.line) << error;
      return "";
    }
    std::string enc;
    edit.EncodeTo(&enc);
    if (d.cmd == "encode") {
      std::string out = Hex(enc);
      VersionEdit decoded;
      Status s = decoded.DecodeFrom(enc);
      out += s.ToString() + "\n" + decoded.DebugString();
      std::string again;
      decoded.EncodeTo(&again);
      out += again == enc ? "re-encoded: same bytes\n" : "re-encoded: DIFFERENT bytes\n";
      return out;
    }
    std::vector<std::string> statuses;  // of each proper prefix, by length
    for (size_t len = 0; len < enc.size(); len++) {
      VersionEdit e;
      statuses.push_back(e.DecodeFrom(std::string_view(enc).substr(0, len)).ToString());
    }
    std::string out;
    for (size_t i = 0; i < statuses.size();) {
      size_t j = i;
      while (j + 1 < statuses.size() && statuses[j + 1] == statuses[i]) j++;
      out += std::to_string(i) + (j > i ? "-" + std::to_string(j) : "") + ": " + statuses[i] + "\n";
      i = j + 1;
    }
    VersionEdit whole;
    return out + std::to_string(enc.size()) + ": " + whole.DecodeFrom(enc).ToString() + "\n";
  }
  if (d.cmd == "decode") {
    std::string bytes;
    const std::string error = BuildBytes(d.input, &bytes);
    if (!error.empty()) {
      ADD_FAILURE_AT(d.file.c_str(), d.line) << error;
      return "";
    }
    if (d.HasArg("truncate")) bytes.resize(std::min<size_t>(bytes.size(), d.UintArg("truncate")));
    return DecodeResult(bytes);
  }
  ADD_FAILURE_AT(d.file.c_str(), d.line) << "unknown command '" << d.cmd << "'";
  return "";
}

TEST(VersionEditDataDrivenTest, TestData) {
  for (const std::string& path : test::datadriven::TestDataFiles(test::datadriven::SourceDir() +
                                                                 "/src/db/testdata/version_edit")) {
    SCOPED_TRACE(path);
    test::datadriven::RunTestFile(path, RunCase);
  }
}

}  // namespace
}  // namespace lsmkv
