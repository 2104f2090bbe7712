#include "util/check.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace lsmkv {
namespace {

TEST(CheckTest, PassingChecksDoNothing) {
  int evaluated = 0;
  CHECK(++evaluated == 1);
  CHECK_EQ(2, 1 + 1);
  CHECK_LT(uint64_t{1}, uint64_t{2});
  CHECK_GE(-1, -2);
  EXPECT_EQ(1, evaluated);
}

TEST(CheckDeathTest, FailingCheckAbortsWithTheCondition) {
  EXPECT_DEATH(CHECK(1 + 1 == 3), "check_test.cc:[0-9]+: CHECK failed: 1 \\+ 1 == 3");
}

TEST(CheckDeathTest, FailingComparisonPrintsBothOperands) {
  const uint64_t sequence = 7;
  const uint64_t last = 9;
  EXPECT_DEATH(CHECK_GT(sequence, last), "CHECK failed: sequence > last \\(7 vs 9\\)");
  const int a = -3;
  EXPECT_DEATH(CHECK_EQ(a, 4), "CHECK failed: a == 4 \\(-3 vs 4\\)");
}

TEST(CheckDeathTest, DcheckFollowsTheBuild) {
  int evaluated = 0;
#if LSMKV_DCHECK_IS_ON
  DCHECK(++evaluated == 1);
  EXPECT_EQ(1, evaluated);
  EXPECT_DEATH(DCHECK_LE(5, 4), "CHECK failed: 5 <= 4 \\(5 vs 4\\)");
#else
  DCHECK(++evaluated == 1);  // not evaluated in release builds
  EXPECT_EQ(0, evaluated);
  DCHECK_LE(5, 4);  // compiled out
#endif
}

}  // namespace
}  // namespace lsmkv
