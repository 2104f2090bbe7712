// The data-driven test runner: parsing, comparison, rewriting, and that a
// mismatch is reported as a test failure.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/datadriven_testutil.h"
#include "util/testutil.h"

namespace lsmkv::test::datadriven {
namespace {

constexpr char kSample[] =
    "# leading comment\n"
    "\n"
    "echo a b=1 c=(x, y,z) d=()\n"
    "line one\n"
    "line two\n"
    "----\n"
    "line one\n"
    "line two\n"
    "\n"
    "# between cases\n"
    "\n"
    "empty\n"
    "----\n"
    "\n"
    "blank-lines\n"
    "----\n"
    "----\n"
    "first\n"
    "\n"
    "third\n"
    "----\n"
    "----\n"
    "\n"
    "last\n"
    "----\n"
    "done\n";

std::vector<TestData> MustParse(std::string_view text) {
  std::vector<TestData> cases;
  std::string error;
  EXPECT_TRUE(ParseTestData("sample", text, &cases, &error)) << error;
  return cases;
}

TEST(DataDrivenTest, ParsesCommandsArgumentsInputAndBothOutputForms) {
  const std::vector<TestData> cases = MustParse(kSample);
  ASSERT_EQ(cases.size(), 4u);

  const TestData& echo = cases[0];
  EXPECT_EQ(echo.line, 3);
  EXPECT_EQ(echo.Pos(), "sample:3");
  EXPECT_EQ(echo.cmd, "echo");
  ASSERT_EQ(echo.args.size(), 4u);
  EXPECT_EQ(echo.args[0].key, "a");
  EXPECT_TRUE(echo.args[0].values.empty());
  EXPECT_EQ(echo.args[1].key, "b");
  EXPECT_EQ(echo.args[1].values, std::vector<std::string>{"1"});
  EXPECT_EQ(echo.args[2].values, (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_TRUE(echo.args[3].values.empty());
  EXPECT_EQ(echo.UintArg("b"), 1u);
  EXPECT_EQ(echo.UintArg("missing", 7), 7u);
  EXPECT_TRUE(echo.HasArg("a"));
  EXPECT_FALSE(echo.HasArg("e"));
  EXPECT_EQ(echo.input, "line one\nline two");
  EXPECT_EQ(echo.expected, "line one\nline two\n");

  EXPECT_EQ(cases[1].cmd, "empty");
  EXPECT_EQ(cases[1].input, "");
  EXPECT_EQ(cases[1].expected, "");

  EXPECT_EQ(cases[2].cmd, "blank-lines");
  EXPECT_EQ(cases[2].expected, "first\n\nthird\n");
  EXPECT_EQ(cases[2].line, 15);

  EXPECT_EQ(cases[3].cmd, "last");
  EXPECT_EQ(cases[3].expected, "done\n");
}

TEST(DataDrivenTest, MalformedFilesAreRejectedWithTheirLine) {
  std::vector<TestData> cases;
  std::string error;
  EXPECT_FALSE(ParseTestData("f", "# c\ncmd\ninput\n", &cases, &error));
  EXPECT_EQ(error, "f:2: command 'cmd' has no '----' line before the end of the file");
  EXPECT_FALSE(ParseTestData("f", "cmd\n----\n----\nout\n----\n", &cases, &error));
  EXPECT_EQ(error, "f:1: output opened with '----' '----' is never closed by another pair");
  EXPECT_FALSE(ParseTestData("f", "\ncmd a=(1, 2\n----\n", &cases, &error));
  EXPECT_EQ(error, "f:2: unclosed '(' in the command line");
  EXPECT_FALSE(ParseTestData("f", "cmd =1\n----\n", &cases, &error));
  EXPECT_EQ(error, "f:1: argument '=1' has no name");
}

TEST(DataDrivenTest, CompareReportsPositionAndLineDiff) {
  const std::vector<TestData> cases = MustParse(kSample);
  ASSERT_EQ(cases.size(), 4u);
  EXPECT_EQ(CompareOutput(cases[0], "line one\nline two\n"), "");
  EXPECT_EQ(CompareOutput(cases[0], "line one\nline two"), "");  // final newline added
  EXPECT_EQ(CompareOutput(cases[1], ""), "");
  EXPECT_EQ(CompareOutput(cases[0], "line one\nline 2\n"),
            "sample:3: output of 'echo' differs (-expected +actual):\n"
            " line one\n"
            "-line two\n"
            "+line 2\n"
            "(run with LSMKV_REWRITE=1 to accept the actual output)\n");
  EXPECT_NE(CompareOutput(cases[1], "x"), "");
  // Common lines far from a change are elided.
  TestData long_case;
  long_case.file = "f";
  long_case.line = 9;
  long_case.cmd = "c";
  long_case.expected = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
  EXPECT_EQ(CompareOutput(long_case, "1\n2\n3\n4\n5\nsix\n7\n8\n9\n10\n"),
            "f:9: output of 'c' differs (-expected +actual):\n"
            "...\n"
            " 3\n 4\n 5\n-6\n+six\n 7\n 8\n 9\n"
            "...\n"
            "(run with LSMKV_REWRITE=1 to accept the actual output)\n");
  EXPECT_NE(CompareOutput(cases[2], "first\nthird\n"), "");
  // A single-separator output cannot hold a blank line.
  EXPECT_NE(CompareOutput(cases[3], "done\n\n"), "");
}

TEST(DataDrivenTest, RewriteWithSameOutputsKeepsTheTextByteForByte) {
  const std::vector<TestData> cases = MustParse(kSample);
  std::vector<std::string> actuals;
  for (const TestData& d : cases) actuals.push_back(d.expected);
  EXPECT_EQ(RewriteTestData(kSample, cases, actuals), kSample);
  // Without a final newline, and outputs given without theirs.
  const std::string no_nl = std::string(kSample).substr(0, sizeof(kSample) - 2);
  actuals[0] = "line one\nline two";
  EXPECT_EQ(RewriteTestData(no_nl, MustParse(no_nl), actuals), no_nl);
}

TEST(DataDrivenTest, RewriteSwitchesSeparatorFormsAndKeepsCommentsAndInputs) {
  const std::vector<TestData> cases = MustParse(kSample);
  const std::vector<std::string> actuals = {"new\n\nwith blank", "now something", "no blanks", ""};
  const std::string rewritten = RewriteTestData(kSample, cases, actuals);
  EXPECT_EQ(rewritten,
            "# leading comment\n"
            "\n"
            "echo a b=1 c=(x, y,z) d=()\n"
            "line one\n"
            "line two\n"
            "----\n"
            "----\n"
            "new\n"
            "\n"
            "with blank\n"
            "----\n"
            "----\n"
            "\n"
            "# between cases\n"
            "\n"
            "empty\n"
            "----\n"
            "now something\n"
            "\n"
            "blank-lines\n"
            "----\n"
            "no blanks\n"
            "\n"
            "last\n"
            "----\n");
  // The rewritten file parses back to the new outputs.
  const std::vector<TestData> again = MustParse(rewritten);
  ASSERT_EQ(again.size(), 4u);
  for (size_t i = 0; i < again.size(); i++) {
    EXPECT_EQ(CompareOutput(again[i], actuals[i]), "") << i;
    EXPECT_EQ(again[i].cmd, cases[i].cmd);
    EXPECT_EQ(again[i].input, cases[i].input);
  }
}

TEST(DataDrivenTest, RewriteSeparatesACaseThatFollowedADoubleBlockDirectly) {
  const std::string text = "a\n----\n----\nx\n\ny\n----\n----\nb\n----\nz\n";
  const std::vector<TestData> cases = MustParse(text);
  ASSERT_EQ(cases.size(), 2u);
  const std::string rewritten = RewriteTestData(text, cases, {"x y", "z"});
  EXPECT_EQ(rewritten, "a\n----\nx y\n\nb\n----\nz\n");
  EXPECT_EQ(MustParse(rewritten).size(), 2u);
}

class DataDrivenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTempDir("datadriven");
    path_ = dir_ + "/cases.txt";
    const char* old = std::getenv("LSMKV_REWRITE");
    if (old != nullptr) saved_rewrite_ = old;
    had_rewrite_ = old != nullptr;
    unsetenv("LSMKV_REWRITE");
  }
  void TearDown() override {
    if (had_rewrite_) setenv("LSMKV_REWRITE", saved_rewrite_.c_str(), 1);
    RemoveTree(dir_);
  }
  void Write(const std::string& text) { std::ofstream(path_, std::ios::binary) << text; }
  std::string Read() const {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Upper-cases the input, as a command under test would compute output.
  static std::string Upper(const TestData& d) {
    std::string out = d.input;
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
  }

  std::string dir_, path_, saved_rewrite_;
  bool had_rewrite_ = false;
};

TEST_F(DataDrivenFileTest, MatchingFilePassesAndEveryCaseRuns) {
  Write("up\nab\n----\nAB\n\n# c\nup\nx\n\ny\n----\n----\nX\n\nY\n----\n----\n");
  int calls = 0;
  RunTestFile(path_, [&](const TestData& d) {
    calls++;
    return Upper(d);
  });
  EXPECT_EQ(calls, 2);
}

TEST_F(DataDrivenFileTest, MismatchIsAFailureAtTheCaseLine) {
  Write("# c\nup\nab\n----\nAB\n\nup\ncd\n----\nwrong\n");
  const std::string path = path_;
  EXPECT_NONFATAL_FAILURE(RunTestFile(path, &DataDrivenFileTest::Upper),
                          "cases.txt:7: output of 'up' differs (-expected +actual):\n"
                          "-wrong\n"
                          "+CD\n");
}

TEST_F(DataDrivenFileTest, ParseErrorAndMissingFileAreFailures) {
  Write("up\nab\n");
  const std::string path = path_;
  EXPECT_NONFATAL_FAILURE(RunTestFile(path, &DataDrivenFileTest::Upper), "has no '----' line");
  const std::string missing = dir_ + "/missing.txt";
  EXPECT_NONFATAL_FAILURE(RunTestFile(missing, &DataDrivenFileTest::Upper), "cannot be read");
}

TEST_F(DataDrivenFileTest, RewriteModeFixesTheFileAndAnUnchangedTreeStaysIdentical) {
  const std::string original = "# keep me\nup\nab\n----\nwrong\n\n\n# and me\nup\ncd\n----\nCD\n";
  Write(original);
  setenv("LSMKV_REWRITE", "1", 1);
  RunTestFile(path_, &DataDrivenFileTest::Upper);  // no failure in rewrite mode
  const std::string fixed = "# keep me\nup\nab\n----\nAB\n\n\n# and me\nup\ncd\n----\nCD\n";
  EXPECT_EQ(Read(), fixed);
  RunTestFile(path_, &DataDrivenFileTest::Upper);
  EXPECT_EQ(Read(), fixed);
  setenv("LSMKV_REWRITE", "0", 1);
  EXPECT_FALSE(RewriteRequested());
  RunTestFile(path_, &DataDrivenFileTest::Upper);  // and now it passes as a comparison
}

TEST_F(DataDrivenFileTest, TestDataFilesListsRegularFilesSorted) {
  Write("x\n----\n");
  std::ofstream(dir_ + "/a.txt") << "x\n----\n";
  std::ofstream(dir_ + "/.hidden") << "";
  std::ofstream(dir_ + "/b.txt~") << "";
  EXPECT_EQ(TestDataFiles(dir_), (std::vector<std::string>{dir_ + "/a.txt", path_}));
  const std::string empty = dir_ + "/empty";
  std::filesystem::create_directory(empty);
  EXPECT_NONFATAL_FAILURE(TestDataFiles(empty), "holds no testdata file");
}

TEST(DataDrivenTest, SourceDirHoldsThisTest) {
  std::ifstream in(SourceDir() + "/src/util/datadriven_test.cc");
  EXPECT_TRUE(in.good()) << SourceDir();
}

}  // namespace
}  // namespace lsmkv::test::datadriven
