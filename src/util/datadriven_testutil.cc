#include "util/datadriven_testutil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#ifndef LSMKV_SOURCE_DIR
#error "LSMKV_SOURCE_DIR must name the source tree (CMakeLists.txt defines it for test code)"
#endif

namespace lsmkv::test::datadriven {

namespace {

constexpr std::string_view kSeparator = "----";

// Lines of text without their '\n'; a final '\n' does not start a line.
std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

bool IsBlank(std::string_view line) { return Trim(line).empty(); }

// Splits a command line into its command and arguments.
bool ParseCommandLine(std::string_view line, TestData* d, std::string* why) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) i++;
    if (i == line.size()) break;
    std::string token;
    int depth = 0;
    for (; i < line.size() && (depth > 0 || !IsSpace(line[i])); i++) {
      if (line[i] == '(') depth++;
      if (line[i] == ')' && --depth < 0) {
        *why = "unbalanced ')' in the command line";
        return false;
      }
      token.push_back(line[i]);
    }
    if (depth != 0) {
      *why = "unclosed '(' in the command line";
      return false;
    }
    tokens.push_back(std::move(token));
  }
  if (tokens.empty()) {
    *why = "empty command line";
    return false;
  }
  d->cmd = tokens[0];
  for (size_t t = 1; t < tokens.size(); t++) {
    CmdArg arg;
    const std::string& token = tokens[t];
    const size_t eq = token.find('=');
    arg.key = token.substr(0, eq);
    if (eq != std::string::npos) {
      std::string_view value = std::string_view(token).substr(eq + 1);
      if (value.size() >= 2 && value.front() == '(' && value.back() == ')') {
        value = value.substr(1, value.size() - 2);
        size_t start = 0;
        while (start <= value.size()) {
          size_t comma = value.find(',', start);
          if (comma == std::string_view::npos) comma = value.size();
          std::string v = Trim(value.substr(start, comma - start));
          if (!v.empty() || comma < value.size()) arg.values.push_back(std::move(v));
          start = comma + 1;
        }
      } else {
        arg.values.emplace_back(value);
      }
    }
    if (arg.key.empty()) {
      *why = "argument '" + token + "' has no name";
      return false;
    }
    d->args.push_back(std::move(arg));
  }
  return true;
}

std::string Join(const std::vector<std::string>& lines, size_t begin, size_t end, bool final_nl) {
  std::string out;
  for (size_t i = begin; i < end; i++) {
    out += lines[i];
    if (final_nl || i + 1 < end) out.push_back('\n');
  }
  return out;
}

// The output block of a case as lines: separator(s), output, closing
// separators when the output has a blank line (or could be mistaken for one).
std::vector<std::string> RenderOutputBlock(const std::string& output) {
  std::vector<std::string> out_lines = SplitLines(output);
  bool needs_double = false;
  for (const std::string& l : out_lines) needs_double = needs_double || l.empty();
  if (!out_lines.empty() && out_lines[0] == kSeparator) needs_double = true;
  std::vector<std::string> block;
  block.emplace_back(kSeparator);
  if (needs_double) block.emplace_back(kSeparator);
  block.insert(block.end(), out_lines.begin(), out_lines.end());
  if (needs_double) {
    block.emplace_back(kSeparator);
    block.emplace_back(kSeparator);
  }
  return block;
}

// A line diff of a and b: LCS, then "-" for lines only in a, "+" for lines
// only in b, " " for common ones, common lines more than kContext away from
// a change elided ("..."). Beyond a size limit, both texts in full.
std::string LineDiff(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  constexpr size_t kContext = 3;
  const size_t n = a.size(), m = b.size();
  std::string out;
  if (n * m > 4'000'000) {
    for (const auto& l : a) out += "-" + l + "\n";
    for (const auto& l : b) out += "+" + l + "\n";
    return out;
  }
  // lcs[i][j]: LCS length of a[i..] and b[j..].
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<std::string> lines;  // the whole diff, one entry per line
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      lines.push_back(" " + a[i++]);
      j++;
    } else if (j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1])) {
      lines.push_back("-" + a[i++]);
    } else {
      lines.push_back("+" + b[j++]);
    }
  }
  std::vector<bool> keep(lines.size(), false);
  for (size_t k = 0; k < lines.size(); k++) {
    if (lines[k][0] == ' ') continue;
    const size_t lo = k >= kContext ? k - kContext : 0;
    const size_t hi = std::min(lines.size(), k + kContext + 1);
    for (size_t x = lo; x < hi; x++) keep[x] = true;
  }
  for (size_t k = 0; k < lines.size(); k++) {
    if (keep[k]) {
      out += lines[k] + "\n";
    } else if (k == 0 || keep[k - 1]) {
      out += "...\n";
    }
  }
  return out;
}

}  // namespace

std::string TestData::Pos() const { return file + ":" + std::to_string(line); }

bool TestData::HasArg(std::string_view key) const { return Arg(key) != nullptr; }

const CmdArg* TestData::Arg(std::string_view key) const {
  for (const CmdArg& a : args) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

std::string TestData::StringArg(std::string_view key, const std::string& def) const {
  const CmdArg* a = Arg(key);
  if (a == nullptr) return def;
  if (a->values.size() != 1) {
    ADD_FAILURE_AT(file.c_str(), line) << "argument " << key << " needs exactly one value";
    return def;
  }
  return a->values[0];
}

uint64_t TestData::UintArg(std::string_view key, uint64_t def) const {
  if (!HasArg(key)) return def;
  const std::string v = StringArg(key);
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(v.c_str(), &end, 0);
  if (v.empty() || *end != '\0' || errno != 0 || v[0] == '-') {
    ADD_FAILURE_AT(file.c_str(), line) << "argument " << key << "=" << v << " is not a number";
    return def;
  }
  return n;
}

double TestData::DoubleArg(std::string_view key, double def) const {
  if (!HasArg(key)) return def;
  const std::string v = StringArg(key);
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') {
    ADD_FAILURE_AT(file.c_str(), line) << "argument " << key << "=" << v << " is not a number";
    return def;
  }
  return x;
}

bool ParseTestData(const std::string& file, std::string_view text, std::vector<TestData>* cases,
                   std::string* error) {
  cases->clear();
  const std::vector<std::string> lines = SplitLines(text);
  const size_t n = lines.size();
  size_t i = 0;
  while (i < n) {
    if (IsBlank(lines[i]) || lines[i][0] == '#') {
      i++;
      continue;
    }
    TestData d;
    d.file = file;
    d.line = static_cast<int>(i + 1);
    std::string why;
    if (!ParseCommandLine(lines[i], &d, &why)) {
      *error = d.Pos() + ": " + why;
      return false;
    }
    const size_t input_begin = ++i;
    while (i < n && lines[i] != kSeparator) i++;
    if (i == n) {
      *error = d.Pos() + ": command '" + d.cmd + "' has no '----' line before the end of the file";
      return false;
    }
    d.input = Join(lines, input_begin, i, /*final_nl=*/false);
    d.output_begin = static_cast<int>(i);
    i++;
    if (i < n && lines[i] == kSeparator) {
      // Double separator: the output runs to a "----" "----" pair.
      const size_t out_begin = ++i;
      while (i + 1 < n && !(lines[i] == kSeparator && lines[i + 1] == kSeparator)) i++;
      if (i + 1 >= n) {
        *error = d.Pos() + ": output opened with '----' '----' is never closed by another pair";
        return false;
      }
      d.expected = Join(lines, out_begin, i, /*final_nl=*/true);
      i += 2;
    } else {
      const size_t out_begin = i;
      while (i < n && !lines[i].empty()) i++;
      d.expected = Join(lines, out_begin, i, /*final_nl=*/true);
    }
    d.output_end = static_cast<int>(i);
    cases->push_back(std::move(d));
  }
  return true;
}

std::string NormalizeOutput(std::string actual) {
  if (!actual.empty() && actual.back() != '\n') actual.push_back('\n');
  return actual;
}

std::string CompareOutput(const TestData& d, const std::string& actual) {
  const std::string got = NormalizeOutput(actual);
  if (got == d.expected) return "";
  std::string msg = d.Pos() + ": output of '" + d.cmd + "' differs (-expected +actual):\n";
  msg += LineDiff(SplitLines(d.expected), SplitLines(got));
  msg += "(run with LSMKV_REWRITE=1 to accept the actual output)\n";
  return msg;
}

std::string RewriteTestData(std::string_view text, const std::vector<TestData>& cases,
                            const std::vector<std::string>& actuals) {
  const std::vector<std::string> lines = SplitLines(text);
  std::vector<std::string> out;
  size_t next = 0;
  for (size_t k = 0; k < cases.size(); k++) {
    const TestData& d = cases[k];
    for (; next < static_cast<size_t>(d.output_begin); next++) out.push_back(lines[next]);
    const std::vector<std::string> block = RenderOutputBlock(NormalizeOutput(actuals[k]));
    out.insert(out.end(), block.begin(), block.end());
    next = static_cast<size_t>(d.output_end);
    // A single-separator output ends at a blank line: keep the next case
    // apart if the old double-separator block was followed directly by text.
    if (next < lines.size() && !lines[next].empty()) out.emplace_back();
  }
  for (; next < lines.size(); next++) out.push_back(lines[next]);
  const bool final_nl = text.empty() || text.back() == '\n';
  return Join(out, 0, out.size(), final_nl);
}

bool RewriteRequested() {
  const char* v = std::getenv("LSMKV_REWRITE");
  return v != nullptr && v[0] != '\0' && std::strcmp(v, "0") != 0;
}

void RunTestFile(const std::string& path, const std::function<std::string(const TestData&)>& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << path << ": cannot be read: " << std::strerror(errno);
    return;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  in.close();
  std::vector<TestData> cases;
  std::string error;
  if (!ParseTestData(path, text, &cases, &error)) {
    ADD_FAILURE() << error;
    return;
  }
  const bool rewrite = RewriteRequested();
  std::vector<std::string> actuals;
  for (const TestData& d : cases) {
    SCOPED_TRACE(d.Pos() + ": " + d.cmd);
    std::string actual = fn(d);
    if (!rewrite) {
      const std::string diff = CompareOutput(d, actual);
      if (!diff.empty()) ADD_FAILURE_AT(d.file.c_str(), d.line) << diff;
    }
    actuals.push_back(std::move(actual));
  }
  if (!rewrite) return;
  const std::string rewritten = RewriteTestData(text, cases, actuals);
  if (rewritten == text) return;
  std::ofstream outf(path, std::ios::binary | std::ios::trunc);
  outf << rewritten;
  outf.close();
  if (!outf) {
    ADD_FAILURE() << path << ": cannot be rewritten: " << std::strerror(errno);
    return;
  }
  std::cout << "datadriven: rewrote " << path << "\n";
}

std::vector<std::string> TestDataFiles(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.empty() || name[0] == '.' || name.back() == '~') continue;
    files.push_back(entry.path().string());
  }
  if (ec) {
    ADD_FAILURE() << dir << ": cannot be listed: " << ec.message();
  } else if (files.empty()) {
    ADD_FAILURE() << dir << ": holds no testdata file";
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string SourceDir() { return LSMKV_SOURCE_DIR; }

}  // namespace lsmkv::test::datadriven
