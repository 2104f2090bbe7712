// Status: the result of every fallible lsmkv call. No exception crosses the API.
//
// A status holds its code (and an optional errno-like subcode) inline and
// allocates only for a non-empty message: success, and a NotFound without a
// message (every lookup of an absent key), are free.
//
// Thread safety: a const Status may be read from several threads; mutation
// needs external synchronisation, like std::string.
#ifndef LSMKV_INCLUDE_STATUS_H_
#define LSMKV_INCLUDE_STATUS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace lsmkv {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kNotFound = 1,
    kCorruption = 2,
    kNotSupported = 3,
    kInvalidArgument = 4,
    kIOError = 5,
    kBusy = 6,
    kAborted = 7,
  };
  // Sub-codes refine kIOError so that callers and tests can tell disk-full
  // from other failures without parsing messages.
  enum class SubCode : unsigned char { kNone = 0, kNoSpace = 1, kPathNotFound = 2 };

  Status() noexcept = default;
  Status(const Status& other);
  Status& operator=(const Status& other);
  // A moved-from status is OK.
  Status(Status&& other) noexcept : codes_(other.codes_), message_(std::move(other.message_)) {
    other.codes_ = 0;
  }
  Status& operator=(Status&& other) noexcept {
    if (this != &other) {
      codes_ = other.codes_;
      message_ = std::move(other.message_);
      other.codes_ = 0;
    }
    return *this;
  }
  ~Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kNotFound, SubCode::kNone, msg, msg2);
  }
  static Status Corruption(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kCorruption, SubCode::kNone, msg, msg2);
  }
  static Status NotSupported(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kNotSupported, SubCode::kNone, msg, msg2);
  }
  static Status InvalidArgument(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kInvalidArgument, SubCode::kNone, msg, msg2);
  }
  static Status IOError(std::string_view msg, std::string_view msg2 = {},
                        SubCode sub = SubCode::kNone) {
    return Status(Code::kIOError, sub, msg, msg2);
  }
  static Status NoSpace(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kIOError, SubCode::kNoSpace, msg, msg2);
  }
  static Status Busy(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kBusy, SubCode::kNone, msg, msg2);
  }
  static Status Aborted(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kAborted, SubCode::kNone, msg, msg2);
  }

  bool ok() const { return code() == Code::kOk; }
  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsCorruption() const { return code() == Code::kCorruption; }
  bool IsNotSupported() const { return code() == Code::kNotSupported; }
  bool IsInvalidArgument() const { return code() == Code::kInvalidArgument; }
  bool IsIOError() const { return code() == Code::kIOError; }
  bool IsNoSpace() const { return IsIOError() && subcode() == SubCode::kNoSpace; }
  bool IsBusy() const { return code() == Code::kBusy; }
  bool IsAborted() const { return code() == Code::kAborted; }

  Code code() const { return static_cast<Code>(codes_ & 0xff); }
  SubCode subcode() const { return static_cast<SubCode>(codes_ >> 8); }
  // The message alone, without the code prefix ("" for OK).
  std::string_view message() const {
    return message_ ? std::string_view(*message_) : std::string_view();
  }
  // "OK", or "<Code>: <message>", e.g. "Corruption: 000005.log: checksum mismatch".
  std::string ToString() const;

  // Explicitly discards a status the caller has decided not to act on.
  void PermitUncheckedError() const {}

 private:
  Status(Code code, SubCode sub, std::string_view msg, std::string_view msg2);

  static uint16_t Pack(Code code, SubCode sub) {
    return static_cast<uint16_t>(static_cast<unsigned>(code) | static_cast<unsigned>(sub) << 8);
  }

  // The code lives inline and the message on the heap only when there is
  // one: a NotFound without a message (every lookup of an absent key)
  // allocates nothing. Code (low byte) and subcode (high byte) share one
  // field so that a status is always written and read with one 2-byte
  // access: written as two bytes and read as one word, a just-returned
  // status could not be forwarded from the store buffer, and the read would
  // wait for every store before it to reach the cache (a write's memtable
  // insert, ahead of the status it returns: 13 % of a sequential put).
  uint16_t codes_ = 0;                    // Pack(Code::kOk, SubCode::kNone)
  std::unique_ptr<std::string> message_;  // null: empty message
};

}  // namespace lsmkv

#endif  // LSMKV_INCLUDE_STATUS_H_
