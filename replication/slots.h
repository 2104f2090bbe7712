// Redis Cluster hash slots (docs/replication.md, "Hash slots"): the slot of a
// key is CRC16 (XMODEM: polynomial 0x1021, initial value 0, no reflection) of
// the key modulo 16384 — or, when the key holds a hash tag (a '{' followed
// later by a '}' with at least one byte between them, the first such pair),
// of the bytes between them only, so that keys sharing a tag share a slot.
//
// The replicated keyspace will be laid out by slot (a two-byte slot prefix) so
// that sharding later splits contiguous ranges instead of rewriting keys.
//
// Thread safety: pure functions.
#ifndef LSMKV_REPLICATION_SLOTS_H_
#define LSMKV_REPLICATION_SLOTS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace lsmkv::replication {

inline constexpr uint16_t kSlotCount = 16384;

// CRC16/XMODEM of data.
uint16_t Crc16(std::string_view data);

// The Redis Cluster slot of key, in [0, kSlotCount).
uint16_t KeySlot(std::string_view key);

// The engine key of a user key: its slot as two big-endian bytes, then the
// key. Engine keys of one slot are contiguous and slots are in order; every
// such key sorts below the replication layer's reserved prefix (0xff 0xff).
std::string SlotKey(std::string_view key);
// Appends key's slot as two big-endian bytes (what SlotKey starts with).
void AppendSlotBytes(std::string_view key, std::string* out);

}  // namespace lsmkv::replication

#endif  // LSMKV_REPLICATION_SLOTS_H_
