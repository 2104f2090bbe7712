// CRC32C: a slicing-by-8 table implementation and an SSE4.2 implementation.
//
// Both operate on the bit-reflected Castagnoli polynomial. The running value
// is kept inverted between bytes (the usual pre/post conditioning), so
// Extend(Value(A), B) == Value(A + B).
//
// The hardware path runs three crc32 instruction streams at once over
// long inputs: the instruction takes three cycles to produce its result but
// can start every cycle, so one dependent stream uses a third of it. The
// input is cut into three consecutive stripes of S bytes; stripe 0 continues
// the running register, stripes 1 and 2 start from a zero register, and the
// three results are joined with the CRC's linearity over GF(2):
//   reg(r, A + B) = Zeros_|B|(reg(r, A)) ^ reg(0, B)
// where Zeros_n advances a register over n zero bytes — a linear map of the
// 32 register bits, applied as four 256-entry tables (one per byte of the
// register) computed at compile time for the two stripe sizes used. A block
// read verifies 4 KiB on every point lookup, which made the single stream
// the largest item of a read's profile.

#include "util/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#define LSMKV_CRC32C_HAVE_SSE42 1
#else
#define LSMKV_CRC32C_HAVE_SSE42 0
#endif

namespace lsmkv::crc32c {
namespace {

// Reflected form of the Castagnoli polynomial 0x1EDC6F41.
constexpr uint32_t kReflectedPolynomial = 0x82f63b78u;

// kTables[k][b] is the CRC register contribution of byte b followed by k zero
// bytes, which lets the portable path fold 8 input bytes per step.
using TableSet = std::array<std::array<uint32_t, 256>, 8>;

constexpr TableSet MakeTables() {
  TableSet tables{};
  for (uint32_t b = 0; b < 256; b++) {
    uint32_t reg = b;
    for (int bit = 0; bit < 8; bit++) {
      reg = (reg & 1u) ? (reg >> 1) ^ kReflectedPolynomial : (reg >> 1);
    }
    tables[0][b] = reg;
  }
  for (size_t k = 1; k < tables.size(); k++) {
    for (uint32_t b = 0; b < 256; b++) {
      const uint32_t prev = tables[k - 1][b];
      tables[k][b] = (prev >> 8) ^ tables[0][prev & 0xffu];
    }
  }
  return tables;
}

constexpr TableSet kTables = MakeTables();
static_assert(kTables[0][1] == 0xf26b8303u, "CRC32C byte table is wrong");

// Little-endian load, independent of host byte order and alignment.
inline uint64_t LoadLE64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

constexpr uint32_t StepByte(uint32_t reg, unsigned char byte) {
  return (reg >> 8) ^ kTables[0][(reg ^ byte) & 0xffu];
}

// Zeros_n of the file comment: t[k][b] is the image of register value
// b << 8k, so the image of r is the XOR of its four bytes' entries.
struct ZerosOperator {
  std::array<std::array<uint32_t, 256>, 4> t;
  constexpr uint32_t Apply(uint32_t reg) const {
    return t[0][reg & 0xffu] ^ t[1][(reg >> 8) & 0xffu] ^ t[2][(reg >> 16) & 0xffu] ^
           t[3][reg >> 24];
  }
};

constexpr ZerosOperator MakeZerosOperator(size_t zero_bytes) {
  std::array<uint32_t, 32> column{};  // image of each single register bit
  for (int bit = 0; bit < 32; bit++) {
    uint32_t reg = 1u << bit;
    for (size_t i = 0; i < zero_bytes; i++) reg = (reg >> 8) ^ kTables[0][reg & 0xffu];
    column[static_cast<size_t>(bit)] = reg;
  }
  ZerosOperator op{};
  for (size_t k = 0; k < 4; k++) {
    for (uint32_t b = 0; b < 256; b++) {
      uint32_t image = 0;
      for (size_t j = 0; j < 8; j++) {
        if ((b >> j) & 1u) image ^= column[8 * k + j];
      }
      op.t[k][b] = image;
    }
  }
  return op;
}

// Stripe sizes (bytes per stream) of the three-stream loops: multiples of 8.
constexpr size_t kLongStripe = 1024;
constexpr size_t kShortStripe = 128;
constexpr ZerosOperator kLongZeros = MakeZerosOperator(kLongStripe);
constexpr ZerosOperator kShortZeros = MakeZerosOperator(kShortStripe);
// Zeros_1 is the byte step with a zero byte, and Zeros_a after Zeros_b is
// Zeros_(a+b): eight short stripes of zeros are one long stripe.
static_assert(MakeZerosOperator(1).Apply(0x12345678u) == StepByte(0x12345678u, 0));
static_assert([] {
  uint32_t reg = 0x9abcdef0u;
  for (size_t i = 0; i < kLongStripe / kShortStripe; i++) reg = kShortZeros.Apply(reg);
  return reg == kLongZeros.Apply(0x9abcdef0u);
}());

#if LSMKV_CRC32C_HAVE_SSE42
// Consumes rounds of 3 * kStripe bytes from *p while that many remain, as
// three interleaved streams (file comment); returns the raw register.
// REQUIRES: *p is 8-byte aligned.
template <size_t kStripe>
__attribute__((target("sse4.2"), always_inline)) inline uint64_t ThreeStreams(
    uint64_t reg, const unsigned char** p, const unsigned char* end, const ZerosOperator& zeros) {
  static_assert(kStripe % 8 == 0);
  const unsigned char* q = *p;
  while (static_cast<size_t>(end - q) >= 3 * kStripe) {
    uint64_t c0 = reg, c1 = 0, c2 = 0;
    for (size_t i = 0; i < kStripe; i += 8) {
      uint64_t w0, w1, w2;
      std::memcpy(&w0, q + i, 8);
      std::memcpy(&w1, q + kStripe + i, 8);
      std::memcpy(&w2, q + 2 * kStripe + i, 8);
      c0 = _mm_crc32_u64(c0, w0);
      c1 = _mm_crc32_u64(c1, w1);
      c2 = _mm_crc32_u64(c2, w2);
    }
    reg = zeros.Apply(zeros.Apply(static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1)) ^
          static_cast<uint32_t>(c2);
    q += 3 * kStripe;
  }
  *p = q;
  return reg;
}

__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t init_crc, const char* data,
                                                          size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  const unsigned char* const end = p + n;
  uint64_t reg = ~init_crc & 0xffffffffu;
  // Byte steps until p is 8-byte aligned, so the wide loads below are aligned.
  while (p != end && (reinterpret_cast<uintptr_t>(p) & 7u) != 0) {
    reg = _mm_crc32_u8(static_cast<uint32_t>(reg), *p++);
  }
  reg = ThreeStreams<kLongStripe>(reg, &p, end, kLongZeros);
  reg = ThreeStreams<kShortStripe>(reg, &p, end, kShortZeros);
  while (end - p >= 32) {
    uint64_t w[4];
    std::memcpy(w, p, sizeof(w));
    reg = _mm_crc32_u64(reg, w[0]);
    reg = _mm_crc32_u64(reg, w[1]);
    reg = _mm_crc32_u64(reg, w[2]);
    reg = _mm_crc32_u64(reg, w[3]);
    p += 32;
  }
  while (end - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, sizeof(w));
    reg = _mm_crc32_u64(reg, w);
    p += 8;
  }
  while (p != end) reg = _mm_crc32_u8(static_cast<uint32_t>(reg), *p++);
  return ~static_cast<uint32_t>(reg);
}
#endif

using ExtendFunction = uint32_t (*)(uint32_t, const char*, size_t);

bool DetectHardware() {
#if LSMKV_CRC32C_HAVE_SSE42
  // Needed when this runs before the runtime's own CPU detection (e.g. from a
  // static initializer in another translation unit).
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

ExtendFunction ChosenExtend() {
  static const ExtendFunction chosen = [] {
#if LSMKV_CRC32C_HAVE_SSE42
    if (DetectHardware()) return &ExtendHardware;
#endif
    return &ExtendPortable;
  }();
  return chosen;
}

}  // namespace

uint32_t ExtendPortable(uint32_t init_crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  const unsigned char* const end = p + n;
  uint32_t reg = ~init_crc;
  while (end - p >= 8) {
    const uint64_t w = LoadLE64(p) ^ reg;
    reg = kTables[7][w & 0xff] ^ kTables[6][(w >> 8) & 0xff] ^ kTables[5][(w >> 16) & 0xff] ^
          kTables[4][(w >> 24) & 0xff] ^ kTables[3][(w >> 32) & 0xff] ^
          kTables[2][(w >> 40) & 0xff] ^ kTables[1][(w >> 48) & 0xff] ^ kTables[0][w >> 56];
    p += 8;
  }
  while (p != end) reg = StepByte(reg, *p++);
  return ~reg;
}

uint32_t Extend(uint32_t init_crc, const char* data, size_t n) {
  return ChosenExtend()(init_crc, data, n);
}

bool HardwareAccelerated() { return ChosenExtend() != &ExtendPortable; }

}  // namespace lsmkv::crc32c
