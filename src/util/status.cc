#include "lsmkv/status.h"

namespace lsmkv {

Status::Status(Code code, SubCode sub, std::string_view msg, std::string_view msg2)
    : codes_(Pack(code, sub)) {
  if (msg.empty() && msg2.empty()) return;
  message_ = std::make_unique<std::string>(msg);
  if (!msg2.empty()) {
    message_->append(": ");
    message_->append(msg2.data(), msg2.size());
  }
}

Status::Status(const Status& other)
    : codes_(other.codes_),
      message_(other.message_ ? std::make_unique<std::string>(*other.message_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) {
    codes_ = other.codes_;
    message_ = other.message_ ? std::make_unique<std::string>(*other.message_) : nullptr;
  }
  return *this;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  const char* name = "Unknown";
  switch (code()) {
    case Code::kOk:
      name = "OK";
      break;
    case Code::kNotFound:
      name = "NotFound";
      break;
    case Code::kCorruption:
      name = "Corruption";
      break;
    case Code::kNotSupported:
      name = "Not supported";
      break;
    case Code::kInvalidArgument:
      name = "Invalid argument";
      break;
    case Code::kIOError:
      name = "IO error";
      break;
    case Code::kBusy:
      name = "Busy";
      break;
    case Code::kAborted:
      name = "Aborted";
      break;
  }
  std::string result(name);
  if (subcode() == SubCode::kNoSpace) result.append(" (no space left)");
  result.append(": ");
  result.append(message());
  return result;
}

}  // namespace lsmkv
