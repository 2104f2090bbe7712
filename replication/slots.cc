#include "replication/slots.h"

#include <array>

namespace lsmkv::replication {

namespace {

constexpr std::array<uint16_t, 256> MakeTable() {
  std::array<uint16_t, 256> table{};
  for (unsigned i = 0; i < 256; i++) {
    uint16_t crc = static_cast<uint16_t>(i << 8);
    for (int bit = 0; bit < 8; bit++) {
      crc = static_cast<uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    table[i] = crc;
  }
  return table;
}

constexpr std::array<uint16_t, 256> kTable = MakeTable();

}  // namespace

uint16_t Crc16(std::string_view data) {
  uint16_t crc = 0;
  for (char c : data) {
    crc = static_cast<uint16_t>((crc << 8) ^
                                kTable[((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xff]);
  }
  return crc;
}

uint16_t KeySlot(std::string_view key) {
  const size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<uint16_t>(Crc16(key) % kSlotCount);
}

void AppendSlotBytes(std::string_view key, std::string* out) {
  const uint16_t slot = KeySlot(key);
  out->push_back(static_cast<char>(slot >> 8));
  out->push_back(static_cast<char>(slot & 0xff));
}

std::string SlotKey(std::string_view key) {
  std::string out;
  out.reserve(2 + key.size());
  AppendSlotBytes(key, &out);
  out.append(key);
  return out;
}

}  // namespace lsmkv::replication
