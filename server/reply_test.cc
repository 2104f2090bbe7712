#include "server/reply.h"

#include <gtest/gtest.h>

namespace lsmkv::server {
namespace {

std::string Render(int protocol, void (*write)(Reply&)) {
  std::string out;
  Reply reply(&out, protocol);
  write(reply);
  return out;
}

TEST(ReplyTest, Resp2Forms) {
  EXPECT_EQ(Render(2, [](Reply& r) { r.Status("OK"); }), "+OK\r\n");
  EXPECT_EQ(Render(2, [](Reply& r) { r.Integer(-42); }), ":-42\r\n");
  EXPECT_EQ(Render(2, [](Reply& r) { r.Bulk("hi"); }), "$2\r\nhi\r\n");
  EXPECT_EQ(Render(2, [](Reply& r) { r.Bulk(""); }), "$0\r\n\r\n");
  EXPECT_EQ(Render(2, [](Reply& r) { r.Null(); }), "$-1\r\n");
  EXPECT_EQ(Render(2, [](Reply& r) { r.NullArray(); }), "*-1\r\n");
  EXPECT_EQ(Render(2, [](Reply& r) { r.Map(2); }), "*4\r\n");
  EXPECT_EQ(Render(2, [](Reply& r) { r.Set(3); }), "*3\r\n");
  EXPECT_EQ(Render(2, [](Reply& r) { r.Bool(true); }), ":1\r\n");
  EXPECT_EQ(Render(2, [](Reply& r) { r.Double(1.5); }), "$3\r\n1.5\r\n");
  EXPECT_EQ(Render(2, [](Reply& r) { r.Verbatim("a:b"); }), "$3\r\na:b\r\n");
}

// Short bulk strings are formatted in one piece, longer ones through the
// general header: every length across the boundary, with bytes a client must
// get back unchanged (CR, LF, NUL, '$').
TEST(ReplyTest, BulkOfEveryLengthAroundTheShortForm) {
  for (size_t n = 0; n <= 300; n++) {
    std::string value;
    for (size_t i = 0; i < n; i++) value.push_back("a\r\n\0$"[i % 5]);
    std::string out = "*1\r\n";  // appended after what the buffer holds
    Reply reply(&out, 2);
    reply.Bulk(value);
    EXPECT_EQ(out, "*1\r\n$" + std::to_string(n) + "\r\n" + value + "\r\n") << n;
  }
}

TEST(ReplyTest, Resp3Forms) {
  EXPECT_EQ(Render(3, [](Reply& r) { r.Null(); }), "_\r\n");
  EXPECT_EQ(Render(3, [](Reply& r) { r.NullArray(); }), "_\r\n");
  EXPECT_EQ(Render(3, [](Reply& r) { r.Map(2); }), "%2\r\n");
  EXPECT_EQ(Render(3, [](Reply& r) { r.Set(3); }), "~3\r\n");
  EXPECT_EQ(Render(3, [](Reply& r) { r.Bool(false); }), "#f\r\n");
  EXPECT_EQ(Render(3, [](Reply& r) { r.Double(1.5); }), ",1.5\r\n");
  EXPECT_EQ(Render(3, [](Reply& r) { r.Verbatim("a:b"); }), "=7\r\ntxt:a:b\r\n");
}

TEST(ReplyTest, ErrorsAreOneLineAndCounted) {
  std::string out;
  Reply reply(&out, 2);
  reply.Error("ERR bad\r\nthing");
  EXPECT_EQ(out, "-ERR bad  thing\r\n");
  EXPECT_EQ(reply.errors(), 1u);
}

TEST(FormatLongDoubleTest, LikeRedisIncrByFloat) {
  EXPECT_EQ(FormatLongDouble(10.5L + 0.1L), "10.6");
  EXPECT_EQ(FormatLongDouble(3.0L), "3");
  EXPECT_EQ(FormatLongDouble(-0.0L), "0");
  EXPECT_EQ(FormatLongDouble(1002.5L), "1002.5");
  EXPECT_EQ(FormatLongDouble(-1.25L), "-1.25");
  // Huge values print in full, as Redis does.
  EXPECT_EQ(FormatLongDouble(1e20L), "100000000000000000000");
}

}  // namespace
}  // namespace lsmkv::server
