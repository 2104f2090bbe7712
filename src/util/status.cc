#include "lsmkv/status.h"

namespace lsmkv {

Status::Status(Code code, SubCode sub, std::string_view msg, std::string_view msg2)
    : state_(std::make_unique<State>()) {
  state_->code = code;
  state_->subcode = sub;
  state_->message.assign(msg.data(), msg.size());
  if (!msg2.empty()) {
    state_->message.append(": ");
    state_->message.append(msg2.data(), msg2.size());
  }
}

Status::Status(const Status& other)
    : state_(other.state_ ? std::make_unique<State>(*other.state_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) state_ = other.state_ ? std::make_unique<State>(*other.state_) : nullptr;
  return *this;
}

std::string Status::ToString() const {
  if (state_ == nullptr) return "OK";
  const char* name = "Unknown";
  switch (state_->code) {
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
  if (state_->subcode == SubCode::kNoSpace) result.append(" (no space left)");
  result.append(": ");
  result.append(state_->message);
  return result;
}

}  // namespace lsmkv
