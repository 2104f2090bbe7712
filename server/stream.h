// The engine encoding of streams (docs/format/redis.md, "Streams"): ids,
// the metadata record, entries and the consumer-group records.
//
// A stream is a collection (collection.h) with two element prefixes:
//
//   'k' user-key  ->  EncodeValue(kStream, deadline, meta)
//     meta := format:uint8 (= kCollectionFormat) version:fixed64-le
//             length:fixed64-le last-id first-id max-deleted-id
//             entries-added:fixed64-le groups:fixed64-le
//     an id in the metadata := ms:fixed64-le seq:fixed64-le
//   'e' head id:fixed128-be      ->  entry := pairs:fixed32-le
//                                   (length:fixed32-le bytes){2 * pairs}
//   'g' head 0x00 group          ->  group := last-delivered-id (as in meta)
//                                   entries-read:int64-le (-1 unknown)
//                                   pel-count:fixed64-le consumers:fixed64-le
//   'g' head 0x01 glen group id  ->  pel := delivery-ms:int64-le
//                                   delivery-count:fixed64-le consumer
//   'g' head 0x02 glen group consumer  ->  consumer := seen-ms:int64-le
//                                   pel-count:fixed64-le
//   'g' head 0x03 glen group clen consumer id  ->  empty (the consumer's
//                                   PEL, in id order)
//   (glen, clen: fixed32-be lengths; head as in collection.h)
//
// Entries sort by id, so XRANGE is a range scan; groups sort by name,
// a group's PEL by id and its consumers by name, like Redis's radix trees.
// Every record carries the stream's version, so DEL, expiry, RENAME and
// overwrites touch the metadata only and compaction drops the rest
// (ClassifyElement).
#ifndef LSMKV_SERVER_STREAM_H_
#define LSMKV_SERVER_STREAM_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lsmkv::server {

struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;
  auto operator<=>(const StreamId&) const = default;
  bool IsZero() const { return ms == 0 && seq == 0; }
  bool IsMax() const { return ms == UINT64_MAX && seq == UINT64_MAX; }
  // "ms-seq".
  std::string ToString() const;
};
inline constexpr StreamId kMaxStreamId{UINT64_MAX, UINT64_MAX};

// The next / previous id; false at the end of the id space.
[[nodiscard]] bool IncrementId(StreamId* id);
[[nodiscard]] bool DecrementId(StreamId* id);
// Parses "ms" or "ms-seq" (decimal, unsigned 64-bit each); a missing seq is
// missing_seq. With allow_auto_seq, "ms-*" parses and sets *auto_seq.
// False on anything else.
[[nodiscard]] bool ParseStreamId(std::string_view text, uint64_t missing_seq, StreamId* id,
                                 bool allow_auto_seq = false, bool* auto_seq = nullptr);
// 16 bytes whose bytewise order is the id order (ms, seq: big-endian).
void AppendIdBe(const StreamId& id, std::string* out);
[[nodiscard]] bool DecodeIdBe(std::string_view in, StreamId* id);

struct StreamMeta {
  uint64_t version = 0;
  uint64_t length = 0;
  StreamId last_id;
  StreamId first_id;
  StreamId max_deleted;
  uint64_t entries_added = 0;
  uint64_t groups = 0;
};
void EncodeStreamMeta(const StreamMeta& meta, std::string* out);
// False if payload is not a stream metadata payload (size, format byte).
[[nodiscard]] bool DecodeStreamMeta(std::string_view payload, StreamMeta* out);

// An entry's field-value pairs (flattened: field, value, field, value...).
void EncodeStreamEntry(const std::vector<std::string_view>& fields, std::string* out);
[[nodiscard]] bool DecodeStreamEntry(std::string_view in, std::vector<std::string_view>* fields);

struct StreamGroup {
  StreamId last_id;
  int64_t entries_read = -1;  // -1: unknown
  uint64_t pel_count = 0;
  uint64_t consumers = 0;
};
void EncodeStreamGroup(const StreamGroup& group, std::string* out);
[[nodiscard]] bool DecodeStreamGroup(std::string_view in, StreamGroup* out);

struct StreamPending {
  int64_t delivery_ms = 0;
  uint64_t delivery_count = 0;
  std::string consumer;
};
void EncodeStreamPending(const StreamPending& pending, std::string* out);
[[nodiscard]] bool DecodeStreamPending(std::string_view in, StreamPending* out);

struct StreamConsumer {
  int64_t seen_ms = 0;
  uint64_t pel_count = 0;
};
void EncodeStreamConsumer(const StreamConsumer& consumer, std::string* out);
[[nodiscard]] bool DecodeStreamConsumer(std::string_view in, StreamConsumer* out);

// Suffixes (after the 'g' head) of the group records.
enum class GroupRecord : uint8_t { kGroup = 0, kPending = 1, kConsumer = 2, kConsumerPending = 3 };
// 0x00 group
std::string GroupSuffix(std::string_view group);
// 0x01 glen group [id]: the PEL of group (without id: its prefix).
std::string PendingSuffix(std::string_view group);
std::string PendingSuffix(std::string_view group, const StreamId& id);
// 0x02 glen group [consumer]: the consumers of group.
std::string ConsumerSuffix(std::string_view group);
std::string ConsumerSuffix(std::string_view group, std::string_view consumer);
// 0x03 glen group clen consumer [id]: the PEL of one consumer.
std::string ConsumerPendingSuffix(std::string_view group, std::string_view consumer);
std::string ConsumerPendingSuffix(std::string_view group, std::string_view consumer,
                                  const StreamId& id);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_STREAM_H_
