// Data-driven tests: test cases kept in text files ("testdata"), each a
// command, optional input and the output the command is expected to print.
// The format is the one of CockroachDB/Pebble's datadriven package:
//
//   # a comment line (kept as is when the file is rewritten)
//   command arg1 arg2=value arg3=(v1, v2)
//   input line
//   input line
//   ----
//   expected output line
//   expected output line
//
// Cases are separated by blank lines. An expected output that itself holds
// blank lines is written between double separators:
//
//   command
//   ----
//   ----
//   output line
//
//   more output after a blank line
//   ----
//   ----
//
// RunTestFile hands each case to a function of the test that returns the
// actual output, and compares. With LSMKV_REWRITE=1 in the environment it
// instead writes the actual outputs back into the file, keeping comments,
// commands, inputs and blank lines as they were: review the diff, then
// commit it.
//
// Test binaries only (linked into lsmkv_testutil).
#ifndef LSMKV_UTIL_DATADRIVEN_TESTUTIL_H_
#define LSMKV_UTIL_DATADRIVEN_TESTUTIL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace lsmkv::test::datadriven {

// One argument of a command line: `key`, `key=value` or `key=(v1, v2, ...)`.
struct CmdArg {
  std::string key;
  std::vector<std::string> values;  // empty for a bare `key`
};

// One test case of a testdata file.
struct TestData {
  std::string file;  // path of the testdata file
  int line = 0;      // 1-based line of the command
  std::string cmd;   // the command's first word
  std::vector<CmdArg> args;
  std::string input;     // the input lines, '\n'-joined, without a final '\n'
  std::string expected;  // the expected output; ends with '\n' unless empty
  // Where the case's output block (first separator .. last output line or
  // closing separator) lies in the file: lines [output_begin, output_end),
  // 0-based. Used to rewrite the file.
  int output_begin = 0, output_end = 0;

  // "file:line", for messages.
  std::string Pos() const;
  bool HasArg(std::string_view key) const;
  // The argument named key, or nullptr.
  const CmdArg* Arg(std::string_view key) const;
  // The single value of key, or def if the argument is absent. A value
  // that is malformed (several values, or not a number for the numeric
  // forms) is a test failure naming Pos(), and def is returned.
  std::string StringArg(std::string_view key, const std::string& def = "") const;
  uint64_t UintArg(std::string_view key, uint64_t def = 0) const;
  double DoubleArg(std::string_view key, double def = 0) const;
};

// Parses the text of a testdata file (named file in messages). On malformed
// text (a command without a "----" separator, an unclosed double separator,
// an unbalanced parenthesis) returns false with *error = "file:line: why".
bool ParseTestData(const std::string& file, std::string_view text, std::vector<TestData>* cases,
                   std::string* error);

// The output as it is stored and compared: a non-empty output gets a final
// '\n' if it lacks one.
std::string NormalizeOutput(std::string actual);

// The empty string if actual (normalized) equals d.expected; else a message
// naming d.Pos() and the command, with a line diff ("-" expected, "+"
// actual, " " both).
std::string CompareOutput(const TestData& d, const std::string& actual);

// The text of a testdata file whose cases (parsed from text, in order) are
// given the outputs actuals[i]; everything outside the output blocks is kept
// byte for byte. A single separator is used when an output has no blank
// line, a double one otherwise. REQUIRES: actuals.size() == cases.size().
std::string RewriteTestData(std::string_view text, const std::vector<TestData>& cases,
                            const std::vector<std::string>& actuals);

// True if LSMKV_REWRITE is set to a non-empty value other than "0".
bool RewriteRequested();

// Runs every case of the testdata file path through fn, in order, and
// records a gtest failure at file:line for each mismatch (or for a parse
// error, or an unreadable file). When RewriteRequested(), rewrites the file
// with the actual outputs instead of comparing (a file whose text does not
// change is not written).
void RunTestFile(const std::string& path, const std::function<std::string(const TestData&)>& fn);

// The regular files directly in dir, sorted by name, as full paths; a test
// failure if dir cannot be listed or is empty.
std::vector<std::string> TestDataFiles(const std::string& dir);

// The directory of the source tree this test binary was built from (the
// LSMKV_SOURCE_DIR compile definition), so that tests find their testdata
// from any build directory: SourceDir() + "/src/db/testdata/...".
std::string SourceDir();

}  // namespace lsmkv::test::datadriven

#endif  // LSMKV_UTIL_DATADRIVEN_TESTUTIL_H_
