// CRC32C (Castagnoli), as in iSCSI (RFC 3720). Uses the SSE4.2 crc32
// instruction when the CPU has it (checked once at run time), a portable
// table-driven implementation otherwise; both give identical results.
#ifndef LSMKV_UTIL_CRC32C_H_
#define LSMKV_UTIL_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace lsmkv::crc32c {

// The crc32c of concat(A, data[0,n)) where init_crc is the crc32c of A.
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }

// The portable implementation, exposed so tests can compare both paths.
uint32_t ExtendPortable(uint32_t init_crc, const char* data, size_t n);
// True when Extend uses the hardware instruction.
bool HardwareAccelerated();

// Stored checksums are masked: computing the CRC of data that itself contains
// CRCs is problematic, and a zero-filled region must not checksum to zero.
inline constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace lsmkv::crc32c

#endif  // LSMKV_UTIL_CRC32C_H_
