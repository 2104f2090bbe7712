#include "util/check.h"

#include <cstdio>
#include <cstdlib>

namespace lsmkv::check_internal {

void Fail(const char* file, int line, const char* expr) {
  std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, expr);
  std::fflush(stderr);
  std::abort();
}

void FailOp(const char* file, int line, const char* expr, long long a, long long b) {
  std::fprintf(stderr, "%s:%d: CHECK failed: %s (%lld vs %lld)\n", file, line, expr, a, b);
  std::fflush(stderr);
  std::abort();
}

void FailOpUnsigned(const char* file, int line, const char* expr, unsigned long long a,
                    unsigned long long b) {
  std::fprintf(stderr, "%s:%d: CHECK failed: %s (%llu vs %llu)\n", file, line, expr, a, b);
  std::fflush(stderr);
  std::abort();
}

}  // namespace lsmkv::check_internal
