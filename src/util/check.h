// Assertions.
//
//   CHECK(cond)          always evaluated, in every build: on failure prints
//                        file:line and the condition to stderr and aborts.
//   CHECK_EQ(a, b) etc.  the same for a comparison, printing both operands
//                        (CHECK_NE, CHECK_LT, CHECK_LE, CHECK_GT, CHECK_GE).
//                        Each operand is evaluated once and copied (so that
//                        CHECK_LE(x, std::max(a, b)) holds no dangling
//                        reference): compare integers, pointers, enums.
//   DCHECK(cond), DCHECK_EQ(a, b) ...
//                        the same where LSMKV_DCHECK_IS_ON (every build without
//                        NDEBUG: Debug, the `make test` build, the sanitizer
//                        builds); compiled out, operands unevaluated, in
//                        release builds (-DNDEBUG: make build, make bench).
//
// What to assert (docs/design.md, "Assertions"): invariants of the code's own
// state, pre- and postconditions of internal functions, the two sides of an
// encoder/decoder pair. Never on-disk or network input: damaged bytes are a
// Status::Corruption, a bad request an error reply. CHECK for what is cheap
// and would corrupt data if false; DCHECK for what costs time on a hot path.
#ifndef LSMKV_UTIL_CHECK_H_
#define LSMKV_UTIL_CHECK_H_

#include <type_traits>

#if defined(NDEBUG)
#define LSMKV_DCHECK_IS_ON 0
#else
#define LSMKV_DCHECK_IS_ON 1
#endif

namespace lsmkv::check_internal {

// Prints "file:line: CHECK failed: expr" (and the operands if given) and
// aborts. Never returns.
[[noreturn]] void Fail(const char* file, int line, const char* expr);
[[noreturn]] void FailOp(const char* file, int line, const char* expr, long long a, long long b);
[[noreturn]] void FailOpUnsigned(const char* file, int line, const char* expr, unsigned long long a,
                                 unsigned long long b);

template <typename A, typename B>
[[noreturn]] void FailCompare(const char* file, int line, const char* expr, const A& a,
                              const B& b) {
  if constexpr ((std::is_integral_v<A> || std::is_enum_v<A>)&&(std::is_integral_v<B> ||
                                                               std::is_enum_v<B>)) {
    if constexpr (std::is_unsigned_v<A> || std::is_unsigned_v<B>) {
      FailOpUnsigned(file, line, expr, static_cast<unsigned long long>(a),
                     static_cast<unsigned long long>(b));
    } else {
      FailOp(file, line, expr, static_cast<long long>(a), static_cast<long long>(b));
    }
  } else {
    Fail(file, line, expr);
  }
}

}  // namespace lsmkv::check_internal

#define CHECK(cond)                                             \
  do {                                                          \
    if (__builtin_expect(!(cond), 0)) {                         \
      ::lsmkv::check_internal::Fail(__FILE__, __LINE__, #cond); \
    }                                                           \
  } while (0)

#define LSMKV_CHECK_OP(a, op, b)                                                                 \
  do {                                                                                           \
    const auto lsmkv_check_a = (a);                                                              \
    const auto lsmkv_check_b = (b);                                                              \
    if (__builtin_expect(!(lsmkv_check_a op lsmkv_check_b), 0)) {                                \
      ::lsmkv::check_internal::FailCompare(__FILE__, __LINE__, #a " " #op " " #b, lsmkv_check_a, \
                                           lsmkv_check_b);                                       \
    }                                                                                            \
  } while (0)

#define CHECK_EQ(a, b) LSMKV_CHECK_OP(a, ==, b)
#define CHECK_NE(a, b) LSMKV_CHECK_OP(a, !=, b)
#define CHECK_LT(a, b) LSMKV_CHECK_OP(a, <, b)
#define CHECK_LE(a, b) LSMKV_CHECK_OP(a, <=, b)
#define CHECK_GT(a, b) LSMKV_CHECK_OP(a, >, b)
#define CHECK_GE(a, b) LSMKV_CHECK_OP(a, >=, b)

#if LSMKV_DCHECK_IS_ON
#define DCHECK(cond) CHECK(cond)
#define DCHECK_EQ(a, b) CHECK_EQ(a, b)
#define DCHECK_NE(a, b) CHECK_NE(a, b)
#define DCHECK_LT(a, b) CHECK_LT(a, b)
#define DCHECK_LE(a, b) CHECK_LE(a, b)
#define DCHECK_GT(a, b) CHECK_GT(a, b)
#define DCHECK_GE(a, b) CHECK_GE(a, b)
#else
// Not evaluated, but still compiled (names stay checked, no unused warnings).
#define DCHECK(cond) \
  do {               \
    if (false) {     \
      (void)(cond);  \
    }                \
  } while (0)
#define LSMKV_DCHECK_OP_OFF(a, op, b) DCHECK((a)op(b))
#define DCHECK_EQ(a, b) LSMKV_DCHECK_OP_OFF(a, ==, b)
#define DCHECK_NE(a, b) LSMKV_DCHECK_OP_OFF(a, !=, b)
#define DCHECK_LT(a, b) LSMKV_DCHECK_OP_OFF(a, <, b)
#define DCHECK_LE(a, b) LSMKV_DCHECK_OP_OFF(a, <=, b)
#define DCHECK_GT(a, b) LSMKV_DCHECK_OP_OFF(a, >, b)
#define DCHECK_GE(a, b) LSMKV_DCHECK_OP_OFF(a, >=, b)
#endif

#endif  // LSMKV_UTIL_CHECK_H_
