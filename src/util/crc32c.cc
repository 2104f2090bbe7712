// CRC32C: a slicing-by-8 table implementation and an SSE4.2 implementation.
//
// Both operate on the bit-reflected Castagnoli polynomial. The running value
// is kept inverted between bytes (the usual pre/post conditioning), so
// Extend(Value(A), B) == Value(A + B).

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

inline uint32_t StepByte(uint32_t reg, unsigned char byte) {
  return (reg >> 8) ^ kTables[0][(reg ^ byte) & 0xffu];
}

#if LSMKV_CRC32C_HAVE_SSE42
__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t init_crc, const char* data,
                                                          size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  const unsigned char* const end = p + n;
  uint64_t reg = ~init_crc & 0xffffffffu;
  // Byte steps until p is 8-byte aligned, so the wide loads below are aligned.
  while (p != end && (reinterpret_cast<uintptr_t>(p) & 7u) != 0) {
    reg = _mm_crc32_u8(static_cast<uint32_t>(reg), *p++);
  }
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
