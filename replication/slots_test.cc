// Hash slots as Redis Cluster computes them: every expected value below is what
// `CLUSTER KEYSLOT` answered on redis-server 7.0.15 (Debian 12) in cluster mode.
#include "replication/slots.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "replication/command.h"

namespace lsmkv::replication {
namespace {

TEST(SlotsTest, Crc16CheckValue) {
  EXPECT_EQ(Crc16("123456789"), 0x31C3);  // CRC-16/XMODEM's check value
  EXPECT_EQ(Crc16(""), 0);
}

TEST(SlotsTest, MatchesRedisClusterKeyslot) {
  const std::vector<std::pair<std::string, uint16_t>> cases = {
      {"foo", 12182},
      {"bar", 5061},
      {"hello", 866},
      {"somekey", 11058},
      {"foo{hash_tag}", 2515},
      {"{user1000}.following", 3443},
      {"{user1000}.followers", 3443},
      {"foo{}{bar}", 8363},     // an empty tag is no tag: the whole key
      {"foo{{bar}}zap", 4015},  // the tag is "{bar"
      {"foo{bar}{zap}", 5061},  // the first tag only: "bar"
      {"", 0},
      {"{}", 15257},
      {"a{b", 13340},  // no closing brace: the whole key
      {"123456789", 12739},
  };
  for (const auto& [key, slot] : cases) EXPECT_EQ(KeySlot(key), slot) << key;
}

TEST(SlotsTest, SlotKeysAreOrderedBySlotAndBelowTheReservedPrefix) {
  std::string previous;
  for (uint32_t i = 0; i < 20000; i++) {
    const std::string key = "k" + std::to_string(i);
    const std::string sk = SlotKey(key);
    ASSERT_EQ(sk.size(), key.size() + 2);
    const uint16_t slot = static_cast<uint16_t>((static_cast<unsigned char>(sk[0]) << 8) |
                                                static_cast<unsigned char>(sk[1]));
    EXPECT_EQ(slot, KeySlot(key));
    EXPECT_LT(sk, std::string(kReservedPrefix));
  }
  // Binary keys: NUL bytes and 0xff are data like any other.
  const std::string binary("\0\xff{\0}x", 6);
  EXPECT_EQ(KeySlot(binary), Crc16(std::string_view("\0", 1)) % kSlotCount);
}

}  // namespace
}  // namespace lsmkv::replication
