#include "server/glob.h"

#include <gtest/gtest.h>

namespace lsmkv::server {
namespace {

TEST(GlobTest, Basics) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("user:*", "user:42"));
  EXPECT_FALSE(GlobMatch("user:*", "usr:42"));
  EXPECT_TRUE(GlobMatch("h?llo", "hello"));
  EXPECT_FALSE(GlobMatch("h?llo", "hllo"));
  EXPECT_TRUE(GlobMatch("h*llo", "hllo"));
  EXPECT_TRUE(GlobMatch("h*llo", "heeeello"));
  EXPECT_TRUE(GlobMatch("*a*b*c*", "xxaxxbxxcxx"));
  EXPECT_FALSE(GlobMatch("*a*b*c*", "xxcxxbxxaxx"));
  EXPECT_TRUE(GlobMatch("a**b", "ab"));
}

TEST(GlobTest, Sets) {
  EXPECT_TRUE(GlobMatch("h[ae]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[ae]llo", "hillo"));
  EXPECT_TRUE(GlobMatch("h[^e]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(GlobMatch("h[a-b]llo", "hbllo"));
  EXPECT_TRUE(GlobMatch("h[b-a]llo", "hallo"));  // reversed range
  EXPECT_TRUE(GlobMatch("[\\]]", "]"));
  EXPECT_TRUE(GlobMatch("a[bc", "ab"));  // unterminated set runs to the end
}

TEST(GlobTest, Escapes) {
  EXPECT_TRUE(GlobMatch("a\\*b", "a*b"));
  EXPECT_FALSE(GlobMatch("a\\*b", "axb"));
  EXPECT_TRUE(GlobMatch("a\\", "a\\"));
}

TEST(GlobTest, NoCase) {
  EXPECT_TRUE(GlobMatch("MAX*", "maxclients", true));
  EXPECT_FALSE(GlobMatch("MAX*", "maxclients", false));
}

TEST(GlobTest, LiteralPrefix) {
  EXPECT_EQ(GlobLiteralPrefix("user:*"), "user:");
  EXPECT_EQ(GlobLiteralPrefix("*"), "");
  EXPECT_EQ(GlobLiteralPrefix("ab?c"), "ab");
  EXPECT_EQ(GlobLiteralPrefix("ab[c]"), "ab");
  EXPECT_EQ(GlobLiteralPrefix("a\\*"), "a");
  EXPECT_EQ(GlobLiteralPrefix("plain"), "plain");
}

TEST(GlobTest, PathologicalPatternIsFast) {
  // Backtracking only to the last star keeps this linear-ish.
  const std::string text(10000, 'a');
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*b", text));
}

}  // namespace
}  // namespace lsmkv::server
