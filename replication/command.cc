#include "replication/command.h"

#include "db/write_batch_internal.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace lsmkv::replication {

namespace {

constexpr size_t kHeaderBytes = 6;      // version, type, body length
constexpr size_t kTrailerBytes = 4;     // masked crc32c
constexpr size_t kMaxBody = 64u << 20;  // one Raft entry; libraft sends it in one message

bool InReserved(std::string_view key) { return key.starts_with(kReservedPrefix); }

// Finds any operation that touches the reserved prefix.
class ReservedCheck : public WriteBatch::Handler {
 public:
  void Put(std::string_view key, std::string_view) override { touched_ |= InReserved(key); }
  void Delete(std::string_view key) override { touched_ |= InReserved(key); }
  bool DeleteRange(std::string_view begin, std::string_view end) override {
    // [begin, end) overlaps [prefix, prefix-successor) unless it ends at or before
    // the prefix or begins at or after its successor. The prefix ends in '/', so its
    // successor replaces that byte with '0'.
    std::string successor(kReservedPrefix);
    successor.back() = static_cast<char>(successor.back() + 1);
    touched_ |= !(end <= kReservedPrefix || begin >= std::string_view(successor));
    return true;
  }
  bool touched() const { return touched_; }

 private:
  bool touched_ = false;
};

Status CheckReserved(const WriteBatch& batch) {
  ReservedCheck check;
  Status s = batch.Iterate(&check);
  if (!s.ok()) return s;
  if (check.touched()) {
    return Status::InvalidArgument(
        "replication: a command may not write keys under \\xff\\xffraft/");
  }
  return Status::OK();
}

}  // namespace

std::string FrameCommand(unsigned char version, unsigned char type, std::string_view body) {
  std::string out;
  out.reserve(kHeaderBytes + body.size() + kTrailerBytes + 7);
  out.push_back(static_cast<char>(version));
  out.push_back(static_cast<char>(type));
  PutFixed32(&out, static_cast<uint32_t>(body.size()));
  out.append(body);
  PutFixed32(&out, crc32c::Mask(crc32c::Value(out.data(), out.size())));
  out.resize((out.size() + 7) / 8 * 8, '\0');
  return out;
}

Status EncodeWriteCommand(const WriteBatch& batch, std::string* out) {
  Status s = CheckReserved(batch);
  if (!s.ok()) return s;
  WriteBatch copy(batch);
  WriteBatchInternal::SetSequence(&copy, 0);
  std::string_view rep = WriteBatchInternal::Contents(&copy);
  if (rep.size() > kMaxBody) {
    return Status::InvalidArgument("replication: a command of " + std::to_string(rep.size()) +
                                   " bytes is over the limit of " + std::to_string(kMaxBody));
  }
  *out = FrameCommand(kCommandVersion, static_cast<unsigned char>(CommandType::kWrite), rep);
  return Status::OK();
}

namespace {

Status CheckAddress(std::string_view address) {
  if (address.empty() || address.size() > kMaxAddressBytes) {
    return Status::InvalidArgument("replication: an address of " + std::to_string(address.size()) +
                                   " bytes (1.." + std::to_string(kMaxAddressBytes) + ")");
  }
  for (char c : address) {
    if (c <= ' ' || c > '~') {
      return Status::InvalidArgument("replication: an address with a byte that is not printable");
    }
  }
  return Status::OK();
}

}  // namespace

Status EncodeAnnounceCommand(const Announcement& announcement, std::string* out) {
  if (announcement.id == 0) return Status::InvalidArgument("replication: server id 0");
  Status s = CheckAddress(announcement.address);
  if (!s.ok()) return s;
  std::string body;
  PutFixed64(&body, announcement.id);
  body.append(announcement.address);
  *out = FrameCommand(kCommandVersion, static_cast<unsigned char>(CommandType::kAnnounce), body);
  return Status::OK();
}

Status DecodeCommand(std::string_view command, CommandType* type, WriteBatch* batch,
                     Announcement* announcement) {
  auto bad = [](const std::string& what) {
    return Status::Corruption("replication command: " + what);
  };
  if (command.size() < kHeaderBytes + kTrailerBytes) {
    return bad(std::to_string(command.size()) + " bytes, shorter than its header and checksum");
  }
  if (command.size() % 8 != 0)
    return bad(std::to_string(command.size()) + " bytes, not a multiple of 8");
  const uint64_t body_len = DecodeFixed32(command.data() + 2);
  const uint64_t framed = kHeaderBytes + body_len + kTrailerBytes;
  if (framed > command.size() || command.size() - framed >= 8) {
    return bad("a body of " + std::to_string(body_len) + " bytes in " +
               std::to_string(command.size()) + " bytes");
  }
  const size_t body_end = kHeaderBytes + static_cast<size_t>(body_len);
  const uint32_t stored = crc32c::Unmask(DecodeFixed32(command.data() + body_end));
  if (stored != crc32c::Value(command.data(), body_end)) return bad("checksum mismatch");
  for (size_t i = static_cast<size_t>(framed); i < command.size(); i++) {
    if (command[i] != '\0') return bad("padding is not zero");
  }
  const auto version = static_cast<unsigned char>(command[0]);
  if (version > kCommandVersion) {
    return Status::NotSupported("replication command: format version " + std::to_string(version) +
                                " is newer than this build's " + std::to_string(kCommandVersion));
  }
  if (version == 0) return bad("format version 0");
  const auto raw_type = static_cast<unsigned char>(command[1]);
  const std::string_view body = command.substr(kHeaderBytes, body_len);
  if (raw_type == static_cast<unsigned char>(CommandType::kAnnounce) && version >= 2) {
    if (body.size() < 8) return bad("an announcement of " + std::to_string(body.size()) + " bytes");
    Announcement a;
    a.id = DecodeFixed64(body.data());
    a.address = std::string(body.substr(8));
    if (a.id == 0) return bad("an announcement for server id 0");
    Status s = CheckAddress(a.address);
    if (!s.ok()) return bad(s.ToString());
    *type = CommandType::kAnnounce;
    if (announcement != nullptr) *announcement = std::move(a);
    return Status::OK();
  }
  if (raw_type != static_cast<unsigned char>(CommandType::kWrite)) {
    return bad("unknown type " + std::to_string(raw_type));
  }
  *type = CommandType::kWrite;
  Status s = WriteBatchInternal::SetContents(batch, body);
  if (!s.ok()) return bad(s.ToString());
  s = CheckReserved(*batch);  // also validates every operation's encoding
  if (!s.ok()) return bad(s.ToString());
  return Status::OK();
}

}  // namespace lsmkv::replication
