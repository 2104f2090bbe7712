#include "bitcask/format.h"

#include "util/coding.h"
#include "util/crc32c.h"

namespace lsmkv::bitcask {

namespace {

uint32_t MaskedCrc(std::string_view data) {
  return crc32c::Mask(crc32c::Value(data.data(), data.size()));
}

bool ValidType(uint8_t t) {
  return t == static_cast<uint8_t>(OpType::kPut) || t == static_cast<uint8_t>(OpType::kDelete);
}

// Parses one op at the front of *input (advancing it).
bool ParseOp(std::string_view* input, OpType* type, std::string_view* key,
             std::string_view* value) {
  uint32_t crc;
  if (!GetFixed32(input, &crc)) return false;
  const std::string_view covered_start = *input;
  if (input->empty() || !ValidType(static_cast<uint8_t>((*input)[0]))) return false;
  *type = static_cast<OpType>((*input)[0]);
  input->remove_prefix(1);
  uint32_t key_length = 0, value_length = 0;
  if (!GetVarint32(input, &key_length)) return false;
  if (*type == OpType::kPut && !GetVarint32(input, &value_length)) return false;
  if (input->size() < static_cast<uint64_t>(key_length) + value_length) return false;
  *key = input->substr(0, key_length);
  *value = input->substr(key_length, value_length);
  input->remove_prefix(key_length + value_length);
  const std::string_view covered = covered_start.substr(0, covered_start.size() - input->size());
  return MaskedCrc(covered) == crc;
}

}  // namespace

void EncodeRecord(uint64_t first_sequence, const std::vector<OpToEncode>& ops, std::string* dst,
                  std::vector<OpLocation>* locations) {
  const size_t start = dst->size();
  dst->append(kRecordHeaderSize, '\0');
  dst->push_back(static_cast<char>(kFormatVersion));
  PutFixed64(dst, first_sequence);
  PutVarint32(dst, static_cast<uint32_t>(ops.size()));
  locations->clear();
  std::string op;
  for (const OpToEncode& o : ops) {
    op.clear();
    op.push_back(static_cast<char>(o.type));
    PutVarint32(&op, static_cast<uint32_t>(o.key.size()));
    if (o.type == OpType::kPut) PutVarint32(&op, static_cast<uint32_t>(o.value.size()));
    op.append(o.key);
    if (o.type == OpType::kPut) op.append(o.value);
    locations->push_back({dst->size() - start, static_cast<uint32_t>(op.size() + 4)});
    PutFixed32(dst, MaskedCrc(op));
    dst->append(op);
  }
  const std::string_view payload = std::string_view(*dst).substr(start + kRecordHeaderSize);
  char* header = dst->data() + start;
  EncodeFixed32(header + 4, static_cast<uint32_t>(payload.size()));
  EncodeFixed32(header + 8, MaskedCrc(payload));
  EncodeFixed32(header, MaskedCrc(std::string_view(header + 4, 8)));
}

Status DecodeRecordHeader(std::string_view header, uint32_t* payload_length,
                          uint32_t* payload_crc) {
  if (header.size() < kRecordHeaderSize) return Status::Corruption("short record header");
  if (MaskedCrc(header.substr(4, 8)) != DecodeFixed32(header.data())) {
    return Status::Corruption("record header checksum mismatch");
  }
  *payload_length = DecodeFixed32(header.data() + 4);
  *payload_crc = DecodeFixed32(header.data() + 8);
  return Status::OK();
}

Status DecodeRecordPayload(std::string_view payload, uint32_t payload_crc,
                           std::vector<DecodedOp>* ops) {
  ops->clear();
  if (MaskedCrc(payload) != payload_crc) return Status::Corruption("record checksum mismatch");
  std::string_view input = payload;
  if (input.empty()) return Status::Corruption("empty record");
  if (static_cast<uint8_t>(input[0]) != kFormatVersion) {
    return Status::NotSupported("bitcask record format version " +
                                std::to_string(static_cast<uint8_t>(input[0])));
  }
  input.remove_prefix(1);
  uint64_t first_sequence;
  uint32_t count;
  if (!GetFixed64(&input, &first_sequence) || !GetVarint32(&input, &count)) {
    return Status::Corruption("bad record prefix");
  }
  for (uint32_t i = 0; i < count; i++) {
    DecodedOp op;
    op.offset = kRecordHeaderSize + (payload.size() - input.size());
    const size_t before = input.size();
    if (!ParseOp(&input, &op.type, &op.key, &op.value)) return Status::Corruption("bad op");
    op.size = static_cast<uint32_t>(before - input.size());
    op.sequence = first_sequence + i;
    ops->push_back(op);
  }
  if (!input.empty()) return Status::Corruption("trailing bytes in record");
  return Status::OK();
}

Status DecodeOp(std::string_view bytes, std::string_view expected_key, OpType* type,
                std::string_view* value) {
  std::string_view input = bytes, key;
  if (!ParseOp(&input, type, &key, value) || !input.empty() || key != expected_key) {
    return Status::Corruption("bitcask value", "op checksum mismatch or not the key's op");
  }
  return Status::OK();
}

void EncodeHintEntry(const HintEntry& e, std::string* dst) {
  dst->push_back(static_cast<char>(e.type));
  PutFixed64(dst, e.sequence);
  PutVarint64(dst, e.offset);
  PutVarint32(dst, e.size);
  PutLengthPrefixed(dst, e.key);
}

std::string FinishHintFile(std::string_view entries) {
  std::string out;
  PutFixed32(&out, kHintMagic);
  out.push_back(static_cast<char>(kFormatVersion));
  out.append(entries);
  PutFixed32(&out, MaskedCrc(out));
  PutFixed32(&out, kHintMagic);
  return out;
}

Status DecodeHintFile(std::string_view contents, std::vector<HintEntry>* entries) {
  entries->clear();
  if (contents.size() < 13) return Status::Corruption("hint file too short");
  const std::string_view body = contents.substr(0, contents.size() - 8);
  if (DecodeFixed32(contents.data()) != kHintMagic ||
      DecodeFixed32(contents.data() + contents.size() - 4) != kHintMagic ||
      MaskedCrc(body) != DecodeFixed32(contents.data() + contents.size() - 8)) {
    return Status::Corruption("hint file checksum mismatch");
  }
  if (static_cast<uint8_t>(body[4]) != kFormatVersion) {
    return Status::NotSupported("hint file format version");
  }
  std::string_view input = body.substr(5);
  while (!input.empty()) {
    HintEntry e;
    if (!ValidType(static_cast<uint8_t>(input[0]))) return Status::Corruption("bad hint type");
    e.type = static_cast<OpType>(input[0]);
    input.remove_prefix(1);
    std::string_view key;
    if (!GetFixed64(&input, &e.sequence) || !GetVarint64(&input, &e.offset) ||
        !GetVarint32(&input, &e.size) || !GetLengthPrefixed(&input, &key)) {
      return Status::Corruption("bad hint entry");
    }
    e.key.assign(key);
    entries->push_back(std::move(e));
  }
  return Status::OK();
}

std::string EncodeManifest(const Manifest& m) {
  std::string body;
  body.push_back(static_cast<char>(kFormatVersion));
  PutVarint64(&body, m.next_file);
  PutLengthPrefixed(&body, m.comparator);
  PutVarint32(&body, static_cast<uint32_t>(m.files.size()));
  for (uint64_t f : m.files) PutVarint64(&body, f);
  std::string out;
  PutFixed32(&out, MaskedCrc(body));
  out.append(body);
  return out;
}

Status DecodeManifest(std::string_view contents, Manifest* m) {
  std::string_view input = contents;
  uint32_t crc;
  if (!GetFixed32(&input, &crc) || MaskedCrc(input) != crc) {
    return Status::Corruption("bitcask manifest checksum mismatch");
  }
  if (input.empty() || static_cast<uint8_t>(input[0]) != kFormatVersion) {
    return Status::NotSupported("bitcask manifest format version");
  }
  input.remove_prefix(1);
  std::string_view comparator;
  uint32_t count;
  if (!GetVarint64(&input, &m->next_file) || !GetLengthPrefixed(&input, &comparator) ||
      !GetVarint32(&input, &count)) {
    return Status::Corruption("bad bitcask manifest");
  }
  m->comparator.assign(comparator);
  m->files.clear();
  for (uint32_t i = 0; i < count; i++) {
    uint64_t f;
    if (!GetVarint64(&input, &f)) return Status::Corruption("bad bitcask manifest");
    m->files.push_back(f);
  }
  if (!input.empty()) return Status::Corruption("trailing bytes in bitcask manifest");
  return Status::OK();
}

}  // namespace lsmkv::bitcask
