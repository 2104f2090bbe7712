#include "server/resp_parser.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace lsmkv::server {
namespace {

using Args = std::vector<std::string>;

std::string Encode(const Args& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// Feeds input in one piece and returns every command (stops at an error).
std::vector<Args> ParseAll(RespParser* parser, const std::string& input,
                           RespParser::Result* last = nullptr) {
  parser->Append(input);
  std::vector<Args> commands;
  Args args;
  RespParser::Result r;
  while ((r = parser->Next(&args)) == RespParser::Result::kCommand) commands.push_back(args);
  if (last) *last = r;
  return commands;
}

TEST(RespParserTest, MultiBulkCommand) {
  RespParser parser;
  auto commands = ParseAll(&parser, Encode({"SET", "key", "value"}));
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0], (Args{"SET", "key", "value"}));
  EXPECT_EQ(parser.buffered(), 0u);
}

TEST(RespParserTest, BinarySafeBulks) {
  RespParser parser;
  const std::string binary("a\r\nb\0c\xff", 7);
  auto commands = ParseAll(&parser, Encode({"SET", binary, ""}));
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0][1], binary);
  EXPECT_EQ(commands[0][2], "");
}

TEST(RespParserTest, EveryFragmentation) {
  const std::string input = Encode({"SET", "k", "v"}) + Encode({"GET", "k"}) + "PING\r\n";
  // Split the stream at every position: the commands must come out the same.
  for (size_t cut = 0; cut <= input.size(); cut++) {
    RespParser parser;
    std::vector<Args> commands;
    Args args;
    parser.Append(input.substr(0, cut));
    while (parser.Next(&args) == RespParser::Result::kCommand) commands.push_back(args);
    parser.Append(input.substr(cut));
    while (parser.Next(&args) == RespParser::Result::kCommand) commands.push_back(args);
    ASSERT_EQ(commands.size(), 3u) << "cut at " << cut;
    EXPECT_EQ(commands[0], (Args{"SET", "k", "v"}));
    EXPECT_EQ(commands[1], (Args{"GET", "k"}));
    EXPECT_EQ(commands[2], (Args{"PING"}));
  }
}

TEST(RespParserTest, ByteByByte) {
  const std::string input = Encode({"MSET", "a", "1", "b", std::string(1000, 'x')});
  RespParser parser;
  Args args;
  for (size_t i = 0; i + 1 < input.size(); i++) {
    parser.Append(input.substr(i, 1));
    ASSERT_EQ(parser.Next(&args), RespParser::Result::kNeedMore) << "at byte " << i;
  }
  parser.Append(input.substr(input.size() - 1));
  ASSERT_EQ(parser.Next(&args), RespParser::Result::kCommand);
  EXPECT_EQ(args.size(), 5u);
  EXPECT_EQ(args[4], std::string(1000, 'x'));
}

TEST(RespParserTest, PipelineOfManyCommands) {
  std::string input;
  for (int i = 0; i < 1000; i++) input += Encode({"INCR", "counter" + std::to_string(i % 7)});
  RespParser parser;
  auto commands = ParseAll(&parser, input);
  ASSERT_EQ(commands.size(), 1000u);
  EXPECT_EQ(commands[999], (Args{"INCR", "counter" + std::to_string(999 % 7)}));
}

TEST(RespParserTest, ZeroCopyWritesAndLargeBulk) {
  const std::string big(3 * 1024 * 1024 + 17, 'z');
  const std::string input = Encode({"SET", "big", big});
  RespParser parser;
  size_t fed = 0;
  Args args;
  RespParser::Result r = RespParser::Result::kNeedMore;
  while (fed < input.size()) {
    size_t available = 0;
    char* dst = parser.PrepareWrite(16 * 1024, &available);
    ASSERT_GE(available, 16u * 1024);
    const size_t n = std::min(available, input.size() - fed);
    std::memcpy(dst, input.data() + fed, n);
    parser.Commit(n);
    fed += n;
    r = parser.Next(&args);
    if (fed < input.size()) {
      ASSERT_EQ(r, RespParser::Result::kNeedMore);
    }
  }
  ASSERT_EQ(r, RespParser::Result::kCommand);
  EXPECT_EQ(args[2], big);
}

TEST(RespParserTest, InlineCommands) {
  RespParser parser;
  auto commands = ParseAll(&parser,
                           "PING\r\n"
                           "set key \"hello world\"\n"
                           "\r\n"
                           "   \r\n"
                           "echo 'it\\'s' \"a\\x41\\n\"\r\n");
  ASSERT_EQ(commands.size(), 3u);
  EXPECT_EQ(commands[0], (Args{"PING"}));
  EXPECT_EQ(commands[1], (Args{"set", "key", "hello world"}));
  EXPECT_EQ(commands[2], (Args{"echo", "it's", "aA\n"}));
}

TEST(RespParserTest, EmptyArraysAreIgnored) {
  RespParser parser;
  auto commands = ParseAll(&parser, "*0\r\n*-1\r\n" + Encode({"PING"}));
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0], (Args{"PING"}));
}

struct ErrorCase {
  std::string input;
  std::string error;
};

TEST(RespParserTest, ProtocolErrorsUseRedisWording) {
  const std::vector<ErrorCase> cases = {
      {"*abc\r\n", "Protocol error: invalid multibulk length"},
      {"*3000000000\r\n", "Protocol error: invalid multibulk length"},
      {"*2\r\n$4\r\nPING\r\n:1\r\n", "Protocol error: expected '$', got ':'"},
      {"*1\r\n$abc\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$600000000\r\n", "Protocol error: invalid bulk length"},
      {"echo \"abc\r\n", "Protocol error: unbalanced quotes in request"},
      {"echo \"abc\"def\r\n", "Protocol error: unbalanced quotes in request"},
      {std::string(70 * 1024, 'a'), "Protocol error: too big inline request"},
      {"*" + std::string(70 * 1024, '1'), "Protocol error: too big mbulk count string"},
      {"*1\r\n$" + std::string(70 * 1024, '1'), "Protocol error: too big bulk count string"},
  };
  for (const auto& c : cases) {
    RespParser parser;
    RespParser::Result last;
    ParseAll(&parser, c.input, &last);
    EXPECT_EQ(last, RespParser::Result::kError) << c.input.substr(0, 40);
    EXPECT_EQ(parser.error(), c.error) << c.input.substr(0, 40);
    // The parser stays failed.
    Args args;
    parser.Append("PING\r\n");
    EXPECT_EQ(parser.Next(&args), RespParser::Result::kError);
  }
}

// Count lines ("*<n>", "$<n>") are read in one pass when they are plain
// digits (RespParser::ParseCount): every line must mean what ParseInt64
// and the limits make of it, whichever way it is read.
TEST(RespParserTest, CountLinesMeanWhatParseInt64ReadsInThem) {
  const std::vector<std::string> texts = {"0",
                                          "1",
                                          "3",
                                          "9",
                                          "10",
                                          "20",
                                          "00",
                                          "01",
                                          "007",
                                          "-0",
                                          "-1",
                                          "+1",
                                          " 1",
                                          "1 ",
                                          "",
                                          "a1",
                                          "1a",
                                          "0x1",
                                          "123456789012345678",
                                          "999999999999999999",
                                          "1234567890123456789",
                                          "99999999999999999999",
                                          "100000000000000000000"};
  for (const std::string& t : texts) {
    int64_t v = 0;
    const bool valid = ParseInt64(t, &v);
    {  // as a bulk length
      const bool small = valid && v >= 0 && v <= 20;
      std::string input = "*1\r\n$" + t + "\r\n";
      if (small) input += std::string(static_cast<size_t>(v), 'x') + "\r\n";
      RespParser parser;
      RespParser::Result last;
      const std::vector<Args> commands = ParseAll(&parser, input, &last);
      if (small) {
        ASSERT_EQ(commands.size(), 1u) << "$" << t;
        EXPECT_EQ(commands[0][0], std::string(static_cast<size_t>(v), 'x')) << "$" << t;
      } else {
        EXPECT_EQ(last, RespParser::Result::kError) << "$" << t;
        EXPECT_EQ(parser.error(), "Protocol error: invalid bulk length") << "$" << t;
      }
    }
    {  // as an argument count
      const bool small = valid && v >= 1 && v <= 5;
      std::string input = "*" + t + "\r\n";
      for (int64_t i = 0; small && i < v; i++) input += "$1\r\na\r\n";
      input += "PING\r\n";
      RespParser parser;
      RespParser::Result last;
      const std::vector<Args> commands = ParseAll(&parser, input, &last);
      if (!valid || v > std::numeric_limits<int32_t>::max()) {
        EXPECT_EQ(last, RespParser::Result::kError) << "*" << t;
        EXPECT_EQ(parser.error(), "Protocol error: invalid multibulk length") << "*" << t;
      } else if (v <= 0) {  // ignored, as by Redis
        ASSERT_EQ(commands.size(), 1u) << "*" << t;
        EXPECT_EQ(commands[0], Args{"PING"}) << "*" << t;
      } else if (small) {
        ASSERT_EQ(commands.size(), 2u) << "*" << t;
        EXPECT_EQ(commands[0], Args(static_cast<size_t>(v), "a")) << "*" << t;
      }
    }
  }
}

TEST(RespParserTest, CommandsBeforeAnErrorAreReturned) {
  RespParser parser;
  RespParser::Result last;
  auto commands = ParseAll(&parser, Encode({"SET", "a", "1"}) + "*x\r\n", &last);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(last, RespParser::Result::kError);
}

TEST(RespParserTest, ConfiguredBulkLimit) {
  RespLimits limits;
  limits.max_bulk_length = 1024 * 1024;
  RespParser parser(limits);
  Args args;
  parser.Append("*1\r\n$1048576\r\n");
  EXPECT_EQ(parser.Next(&args), RespParser::Result::kNeedMore);
  RespParser parser2(limits);
  parser2.Append("*1\r\n$1048577\r\n");
  EXPECT_EQ(parser2.Next(&args), RespParser::Result::kError);
  EXPECT_EQ(parser2.error(), "Protocol error: invalid bulk length");
}

TEST(RespParserTest, QueryBufferLimit) {
  RespLimits limits;
  limits.max_query_buffer = 64 * 1024;
  RespParser parser(limits);
  std::string input = "*100\r\n";
  for (int i = 0; i < 99; i++) input += "$1000\r\n" + std::string(1000, 'q') + "\r\n";
  RespParser::Result last;
  ParseAll(&parser, input, &last);
  EXPECT_EQ(last, RespParser::Result::kError);
  EXPECT_EQ(parser.error(), "Protocol error: query buffer limit exceeded");
}

TEST(RespParserTest, UnauthenticatedLimits) {
  {
    RespParser parser;
    parser.set_authenticated(false);
    RespParser::Result last;
    ParseAll(&parser, "*20\r\n", &last);
    EXPECT_EQ(parser.error(), "Protocol error: unauthenticated multibulk length");
  }
  {
    RespParser parser;
    parser.set_authenticated(false);
    RespParser::Result last;
    ParseAll(&parser, "*1\r\n$200000\r\n", &last);
    EXPECT_EQ(parser.error(), "Protocol error: unauthenticated bulk length");
  }
  {
    RespParser parser;
    parser.set_authenticated(false);
    auto commands = ParseAll(&parser, Encode({"AUTH", "secret"}));
    EXPECT_EQ(commands.size(), 1u);
  }
}

TEST(RespParserTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(42);
  const std::string alphabet = "*$:\r\n-+0123456789abc \"'\\x";
  for (int round = 0; round < 2000; round++) {
    RespParser parser;
    std::string input;
    const int length = static_cast<int>(rng() % 200);
    for (int i = 0; i < length; i++) input.push_back(alphabet[rng() % alphabet.size()]);
    Args args;
    parser.Append(input);
    int guard = 0;
    while (parser.Next(&args) == RespParser::Result::kCommand && guard++ < 1000) {
      EXPECT_FALSE(args.empty());
    }
  }
}

TEST(ParseInt64Test, RedisRules) {
  int64_t v = 0;
  EXPECT_TRUE(ParseInt64("0", &v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(ParseInt64("-17", &v));
  EXPECT_EQ(v, -17);
  EXPECT_TRUE(ParseInt64("9223372036854775807", &v));
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_TRUE(ParseInt64("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  for (const char* bad : {"", "-", "01", "-0", "+1", " 1", "1 ", "1.5", "9223372036854775808",
                          "-9223372036854775809", "18446744073709551616", "abc", "1e3"}) {
    EXPECT_FALSE(ParseInt64(bad, &v)) << bad;
  }
}

TEST(SplitInlineArgsTest, Quoting) {
  Args args;
  ASSERT_TRUE(SplitInlineArgs("a  b\tc", &args));
  EXPECT_EQ(args, (Args{"a", "b", "c"}));
  ASSERT_TRUE(SplitInlineArgs("\"\\x4g\" \"\\q\" ''", &args));
  EXPECT_EQ(args, (Args{"x4g", "q", ""}));
  ASSERT_TRUE(SplitInlineArgs("x\"a b\"", &args));  // a quote inside a word starts quoting
  EXPECT_EQ(args, (Args{"xa b"}));
  EXPECT_FALSE(SplitInlineArgs("'abc", &args));
  EXPECT_FALSE(SplitInlineArgs("'a'b", &args));
  ASSERT_TRUE(SplitInlineArgs(std::string("a\0b c", 5), &args));  // ends at NUL
  EXPECT_EQ(args, (Args{"a"}));
}

}  // namespace
}  // namespace lsmkv::server

namespace lsmkv::server {
namespace {

// The query buffer limit counts what arguments really take: 10,000 empty
// bulks are 320 KB of string objects, not 20 KB of wire bytes. (Counting
// wire bytes, as before, let `*10000001` + empty bulks hold 15x the limit.)
TEST(RespParserLimitsTest, QueryBufferLimitCountsArgumentMemory) {
  RespLimits limits;
  limits.max_query_buffer = 256 * 1024;
  RespParser parser(limits);
  std::string input = "*10001\r\n$4\r\nECHO\r\n";
  for (int i = 0; i < 10000; i++) input += "$0\r\n\r\n";
  ASSERT_LT(input.size(), limits.max_query_buffer);  // the bytes alone fit
  parser.Append(input);
  std::vector<std::string> args;
  EXPECT_EQ(RespParser::Result::kError, parser.Next(&args));
  EXPECT_EQ("Protocol error: query buffer limit exceeded", parser.error());
}

TEST(RespParserLimitsTest, ArgumentMemoryMatchesTheAllocator) {
  EXPECT_EQ(sizeof(std::string), ArgumentMemory(0));
  EXPECT_EQ(sizeof(std::string), ArgumentMemory(15));  // inline
  EXPECT_EQ(sizeof(std::string) + 32, ArgumentMemory(16));
  EXPECT_EQ(sizeof(std::string) + 1024 + 16, ArgumentMemory(1024));
  // Never less than the bytes themselves.
  for (uint64_t n : {16u, 17u, 100u, 4096u, 1000000u}) EXPECT_GT(ArgumentMemory(n), n);
}

// The accounting against the allocator itself: the heap an unfinished
// request really takes (glibc's mallinfo2) is what pending_memory() reports,
// within 5% and 64 KiB. (Wire-byte counting reported a third of it here.)
TEST(RespParserLimitsTest, PendingMemoryIsTheRealHeap) {
  if (mallinfo2().uordblks == 0) GTEST_SKIP() << "no mallinfo2 (a sanitizer's allocator)";
  std::string input = "*20002\r\n$4\r\nECHO\r\n";
  for (int i = 0; i < 20000; i++) input += "$20\r\n" + std::string(20, 'a' + i % 26) + "\r\n";
  RespParser parser;
  std::vector<std::string> args;
  // In use: small chunks plus mmapped blocks (large ones).
  auto heap = [] {
    const struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
  };
  const size_t before = heap();
  parser.Append(input);
  ASSERT_EQ(RespParser::Result::kNeedMore, parser.Next(&args));
  const size_t real = heap() - before;
  const uint64_t counted = parser.pending_memory();
  EXPECT_LE(real, counted + counted / 20 + 64 * 1024) << "counted " << counted;
  EXPECT_GE(real + 64 * 1024, counted - counted / 20) << "counted " << counted;
}

TEST(RespParserLimitsTest, ArgumentCountIsCapped) {
  RespLimits limits;
  limits.max_args = 1000;
  RespParser parser(limits);
  parser.Append("*1000\r\n");
  std::vector<std::string> args;
  EXPECT_EQ(RespParser::Result::kNeedMore, parser.Next(&args));
  RespParser over(limits);
  over.Append("*1001\r\n");
  EXPECT_EQ(RespParser::Result::kError, over.Next(&args));
  EXPECT_EQ(
      "Protocol error: invalid multibulk length (more than 1000 arguments, "
      "proto-max-multibulk-len)",
      over.error());
}

TEST(RespParserLimitsTest, LargeCommandsLeaveNoMemoryBehind) {
  RespParser parser;
  std::string input = "*5001\r\n$3\r\nDEL\r\n";
  for (int i = 0; i < 5000; i++) input += "$1\r\nk\r\n";
  parser.Append(input);
  std::vector<std::string> args;
  ASSERT_EQ(RespParser::Result::kCommand, parser.Next(&args));
  EXPECT_EQ(5001u, args.size());
  EXPECT_FALSE(parser.in_request());
  // The parser holds the previous command's vector after the swap; it is
  // released, and nothing is pending.
  parser.ReleaseMemory();
  EXPECT_EQ(0u, parser.pending_memory());
  parser.Append("*2\r\n$3\r\nGET\r\n$1\r\n");
  EXPECT_EQ(RespParser::Result::kNeedMore, parser.Next(&args));
  EXPECT_TRUE(parser.in_request());
  EXPECT_GE(parser.pending_memory(), ArgumentMemory(3));
}

// A whole buffered command goes into the caller's argument strings in
// place: a pipeline of same-shaped commands allocates nothing per argument
// (the heap block of an argument longer than the inline buffer is reused),
// and the memory of a large argument is not kept for the next command.
TEST(RespParserTest, WholeCommandsReuseTheArgumentStrings) {
  RespParser parser;
  const Args first = {"SADD", "myset", "element:__rand_int__"};
  const Args second = {"SADD", "myset", "element:__rand_int2_"};
  std::vector<std::string> args;
  parser.Append(Encode(first));
  ASSERT_EQ(RespParser::Result::kCommand, parser.Next(&args));
  EXPECT_EQ(first, args);
  const char* block = args[2].data();  // 20 bytes: on the heap
  parser.Append(Encode(second));
  ASSERT_EQ(RespParser::Result::kCommand, parser.Next(&args));
  EXPECT_EQ(second, args);
  EXPECT_EQ(block, args[2].data());
  // Fewer arguments than last time: the vector shrinks to them.
  parser.Append(Encode({"PING"}));
  ASSERT_EQ(RespParser::Result::kCommand, parser.Next(&args));
  EXPECT_EQ(Args{"PING"}, args);
  // A large argument, then a small one in its place: its block is let go.
  const Args large = {"SET", "k", std::string(100000, 'v')};
  parser.Append(Encode(large));
  ASSERT_EQ(RespParser::Result::kCommand, parser.Next(&args));
  EXPECT_EQ(large, args);
  parser.Append(Encode({"SET", "k", "v"}));
  ASSERT_EQ(RespParser::Result::kCommand, parser.Next(&args));
  EXPECT_EQ((Args{"SET", "k", "v"}), args);
  EXPECT_LE(args[2].capacity(), 4096u);
  EXPECT_EQ(RespParser::Result::kNeedMore, parser.Next(&args));
}

}  // namespace
}  // namespace lsmkv::server
