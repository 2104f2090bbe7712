#include "server/stream.h"

#include <charconv>

#include "server/collection.h"

namespace lsmkv::server {

namespace {

void PutLe(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; i++) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLe(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= static_cast<uint64_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  return v;
}

void PutBe(uint64_t v, int bytes, std::string* out) {
  for (int i = bytes - 1; i >= 0; i--) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetBe(std::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

void PutId(const StreamId& id, std::string* out) {
  PutLe(id.ms, out);
  PutLe(id.seq, out);
}

StreamId GetId(std::string_view in) { return StreamId{GetLe(in), GetLe(in.substr(8))}; }

void PutName(std::string_view name, std::string* out) {
  PutBe(name.size(), 4, out);
  out->append(name);
}

bool ParseU64(std::string_view text, uint64_t* value) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

constexpr size_t kGroupBytes = 16 + 8 + 8 + 8;

}  // namespace

std::string StreamId::ToString() const { return std::to_string(ms) + "-" + std::to_string(seq); }

bool IncrementId(StreamId* id) {
  if (id->seq != UINT64_MAX) {
    id->seq++;
    return true;
  }
  if (id->ms == UINT64_MAX) return false;
  id->ms++;
  id->seq = 0;
  return true;
}

bool DecrementId(StreamId* id) {
  if (id->seq != 0) {
    id->seq--;
    return true;
  }
  if (id->ms == 0) return false;
  id->ms--;
  id->seq = UINT64_MAX;
  return true;
}

bool ParseStreamId(std::string_view text, uint64_t missing_seq, StreamId* id, bool allow_auto_seq,
                   bool* auto_seq) {
  if (auto_seq != nullptr) *auto_seq = false;
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    if (!ParseU64(text, &id->ms)) return false;
    id->seq = missing_seq;
    return true;
  }
  if (!ParseU64(text.substr(0, dash), &id->ms)) return false;
  const std::string_view seq = text.substr(dash + 1);
  if (allow_auto_seq && seq == "*") {
    *auto_seq = true;
    id->seq = 0;
    return true;
  }
  return ParseU64(seq, &id->seq);
}

void AppendIdBe(const StreamId& id, std::string* out) {
  PutBe(id.ms, 8, out);
  PutBe(id.seq, 8, out);
}

bool DecodeIdBe(std::string_view in, StreamId* id) {
  if (in.size() != 16) return false;
  id->ms = GetBe(in, 8);
  id->seq = GetBe(in.substr(8), 8);
  return true;
}

void EncodeStreamMeta(const StreamMeta& meta, std::string* out) {
  out->push_back(static_cast<char>(kCollectionFormat));
  PutLe(meta.version, out);
  PutLe(meta.length, out);
  PutId(meta.last_id, out);
  PutId(meta.first_id, out);
  PutId(meta.max_deleted, out);
  PutLe(meta.entries_added, out);
  PutLe(meta.groups, out);
}

bool DecodeStreamMeta(std::string_view payload, StreamMeta* out) {
  if (payload.size() != kStreamMetaBytes) return false;
  if (static_cast<uint8_t>(payload[0]) != kCollectionFormat) return false;
  out->version = GetLe(payload.substr(1));
  out->length = GetLe(payload.substr(9));
  out->last_id = GetId(payload.substr(17));
  out->first_id = GetId(payload.substr(33));
  out->max_deleted = GetId(payload.substr(49));
  out->entries_added = GetLe(payload.substr(65));
  out->groups = GetLe(payload.substr(73));
  return true;
}

void EncodeStreamEntry(const std::vector<std::string_view>& fields, std::string* out) {
  const uint32_t pairs = static_cast<uint32_t>(fields.size() / 2);
  for (int i = 0; i < 4; i++) out->push_back(static_cast<char>((pairs >> (8 * i)) & 0xff));
  for (std::string_view f : fields) {
    const uint32_t n = static_cast<uint32_t>(f.size());
    for (int i = 0; i < 4; i++) out->push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    out->append(f);
  }
}

bool DecodeStreamEntry(std::string_view in, std::vector<std::string_view>* fields) {
  fields->clear();
  auto get32 = [&](uint32_t* v) {
    if (in.size() < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; i++) *v |= static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << (8 * i);
    in.remove_prefix(4);
    return true;
  };
  uint32_t pairs = 0;
  if (!get32(&pairs)) return false;
  if (pairs > in.size() / 8) return false;  // each pair takes 8 bytes at least
  for (uint64_t i = 0; i < uint64_t{pairs} * 2; i++) {
    uint32_t n = 0;
    if (!get32(&n) || n > in.size()) return false;
    fields->push_back(in.substr(0, n));
    in.remove_prefix(n);
  }
  return in.empty();
}

void EncodeStreamGroup(const StreamGroup& group, std::string* out) {
  PutId(group.last_id, out);
  PutLe(static_cast<uint64_t>(group.entries_read), out);
  PutLe(group.pel_count, out);
  PutLe(group.consumers, out);
}

bool DecodeStreamGroup(std::string_view in, StreamGroup* out) {
  if (in.size() != kGroupBytes) return false;
  out->last_id = GetId(in);
  out->entries_read = static_cast<int64_t>(GetLe(in.substr(16)));
  out->pel_count = GetLe(in.substr(24));
  out->consumers = GetLe(in.substr(32));
  return true;
}

void EncodeStreamPending(const StreamPending& pending, std::string* out) {
  PutLe(static_cast<uint64_t>(pending.delivery_ms), out);
  PutLe(pending.delivery_count, out);
  out->append(pending.consumer);
}

bool DecodeStreamPending(std::string_view in, StreamPending* out) {
  if (in.size() < 16) return false;
  out->delivery_ms = static_cast<int64_t>(GetLe(in));
  out->delivery_count = GetLe(in.substr(8));
  out->consumer.assign(in.substr(16));
  return true;
}

void EncodeStreamConsumer(const StreamConsumer& consumer, std::string* out) {
  PutLe(static_cast<uint64_t>(consumer.seen_ms), out);
  PutLe(consumer.pel_count, out);
}

bool DecodeStreamConsumer(std::string_view in, StreamConsumer* out) {
  if (in.size() != 16) return false;
  out->seen_ms = static_cast<int64_t>(GetLe(in));
  out->pel_count = GetLe(in.substr(8));
  return true;
}

std::string GroupSuffix(std::string_view group) {
  std::string out(1, static_cast<char>(GroupRecord::kGroup));
  out.append(group);
  return out;
}

std::string PendingSuffix(std::string_view group) {
  std::string out(1, static_cast<char>(GroupRecord::kPending));
  PutName(group, &out);
  return out;
}

std::string PendingSuffix(std::string_view group, const StreamId& id) {
  std::string out = PendingSuffix(group);
  AppendIdBe(id, &out);
  return out;
}

std::string ConsumerSuffix(std::string_view group) {
  std::string out(1, static_cast<char>(GroupRecord::kConsumer));
  PutName(group, &out);
  return out;
}

std::string ConsumerSuffix(std::string_view group, std::string_view consumer) {
  std::string out = ConsumerSuffix(group);
  out.append(consumer);
  return out;
}

std::string ConsumerPendingSuffix(std::string_view group, std::string_view consumer) {
  std::string out(1, static_cast<char>(GroupRecord::kConsumerPending));
  PutName(group, &out);
  PutName(consumer, &out);
  return out;
}

std::string ConsumerPendingSuffix(std::string_view group, std::string_view consumer,
                                  const StreamId& id) {
  std::string out = ConsumerPendingSuffix(group, consumer);
  AppendIdBe(id, &out);
  return out;
}

}  // namespace lsmkv::server
