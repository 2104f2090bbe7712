#include "server/resp_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "util/check.h"

namespace lsmkv::server {

namespace {

constexpr size_t kInitialCapacity = 16 * 1024;
// A buffer grown past this by one large request is released once drained.
constexpr size_t kShrinkThreshold = 1024 * 1024;
// Before AUTH: at most this many arguments and bytes per bulk (as Redis).
constexpr int64_t kUnauthenticatedMaxArgs = 10;
constexpr int64_t kUnauthenticatedMaxBulk = 16 * 1024;
// Redis rejects counts above INT_MAX.
constexpr int64_t kMaxArrayLength = std::numeric_limits<int32_t>::max();

// The common count line at start (available bytes from it): the marker
// byte, 1 to 18 digits without a leading zero (what ParseInt64 accepts),
// '\r' and one more byte. Returns the bytes it spans, digits + 3, with its
// value in *value; 0 if the line has another form or has not all arrived.
size_t ShortCountLine(const char* start, size_t available, int64_t* value) {
  size_t digits = 0;
  uint64_t magnitude = 0;
  while (digits < 18 && digits + 1 < available) {
    const char c = start[digits + 1];
    if (c < '0' || c > '9') break;
    magnitude = magnitude * 10 + static_cast<uint64_t>(c - '0');
    digits++;
  }
  if (digits == 0 || digits + 3 > available || start[digits + 1] != '\r' ||
      (digits > 1 && start[1] == '0')) {
    return 0;
  }
  *value = static_cast<int64_t>(magnitude);
  return digits + 3;
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

}  // namespace

bool ParseInt64(std::string_view text, int64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  if (text == "0") {
    *value = 0;
    return true;
  }
  size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative) i = 1;
  if (i >= text.size() || text[i] < '1' || text[i] > '9') return false;
  uint64_t magnitude = 0;
  for (; i < text.size(); i++) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    magnitude = magnitude * 10 + digit;
  }
  constexpr uint64_t kMaxPositive = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (negative) {
    if (magnitude > kMaxPositive + 1) return false;
    *value = magnitude == kMaxPositive + 1 ? std::numeric_limits<int64_t>::min()
                                           : -static_cast<int64_t>(magnitude);
  } else {
    if (magnitude > kMaxPositive) return false;
    *value = static_cast<int64_t>(magnitude);
  }
  return true;
}

bool SplitInlineArgs(std::string_view line, std::vector<std::string>* args) {
  args->clear();
  // Like a C string, the request ends at a NUL byte.
  const size_t nul = line.find('\0');
  if (nul != std::string_view::npos) line = line.substr(0, nul);
  size_t p = 0;
  const size_t n = line.size();
  while (true) {
    while (p < n && IsBlank(line[p])) p++;
    if (p >= n) return true;
    std::string current;
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      if (in_double) {
        if (p >= n) return false;  // unterminated quotes
        if (line[p] == '\\' && p + 3 < n && line[p + 1] == 'x' && IsHexDigit(line[p + 2]) &&
            IsHexDigit(line[p + 3])) {
          current.push_back(static_cast<char>(HexValue(line[p + 2]) * 16 + HexValue(line[p + 3])));
          p += 3;
        } else if (line[p] == '\\' && p + 1 < n) {
          p++;
          char c = line[p];
          switch (c) {
            case 'n':
              c = '\n';
              break;
            case 'r':
              c = '\r';
              break;
            case 't':
              c = '\t';
              break;
            case 'b':
              c = '\b';
              break;
            case 'a':
              c = '\a';
              break;
            default:
              break;
          }
          current.push_back(c);
        } else if (line[p] == '"') {
          // A closing quote must be followed by a blank or the end.
          if (p + 1 < n && !IsBlank(line[p + 1])) return false;
          done = true;
        } else {
          current.push_back(line[p]);
        }
      } else if (in_single) {
        if (p >= n) return false;
        if (line[p] == '\\' && p + 1 < n && line[p + 1] == '\'') {
          p++;
          current.push_back('\'');
        } else if (line[p] == '\'') {
          if (p + 1 < n && !IsBlank(line[p + 1])) return false;
          done = true;
        } else {
          current.push_back(line[p]);
        }
      } else {
        if (p >= n) {
          done = true;
          break;
        }
        switch (line[p]) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            current.push_back(line[p]);
            break;
        }
      }
      if (p < n) p++;
    }
    args->push_back(std::move(current));
  }
}

uint64_t ArgumentMemory(uint64_t length) {
  constexpr uint64_t kInlineCapacity = 15;  // libstdc++'s small-string buffer
  uint64_t bytes = sizeof(std::string);
  if (length > kInlineCapacity) bytes += (length + 1 + 8 + 15) & ~uint64_t{15};
  return bytes;
}

RespParser::RespParser(const RespLimits& limits) : limits_(limits) {}

uint64_t RespParser::pending_memory() const {
  // The vector's slots beyond its arguments are held too.
  const uint64_t unused_slots = partial_.capacity() - partial_.size();
  // The input buffer holds the request's bytes from its start (parsed ones
  // too, until the next compaction) and the unparsed bytes after it.
  // Between requests a drained buffer holds nothing (it is reused).
  const uint64_t buffered = in_request() ? end_ : 0;
  return pending_bytes_ + unused_slots * sizeof(std::string) + buffered;
}

void RespParser::ReleaseMemory() {
  constexpr size_t kKeepArgs = 1024;
  if (state_ == State::kStart && partial_.capacity() > kKeepArgs) {
    std::vector<std::string>().swap(partial_);
  }
  if (begin_ == end_ && capacity_ > kShrinkThreshold) {
    buffer_.reset();
    capacity_ = 0;
    begin_ = end_ = 0;
  }
}

void RespParser::Reserve(size_t bytes) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
    if (capacity_ > kShrinkThreshold && bytes <= kInitialCapacity) {
      buffer_.reset();
      capacity_ = 0;
    }
  }
  if (capacity_ - end_ >= bytes) return;
  const size_t used = end_ - begin_;
  if (begin_ > 0 && capacity_ - used >= bytes) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, used);
    begin_ = 0;
    end_ = used;
    return;
  }
  size_t new_capacity = std::max(kInitialCapacity, capacity_ * 2);
  new_capacity = std::max(new_capacity, used + bytes);
  std::unique_ptr<char[]> grown(new char[new_capacity]);
  if (used > 0) std::memcpy(grown.get(), buffer_.get() + begin_, used);
  buffer_ = std::move(grown);
  capacity_ = new_capacity;
  begin_ = 0;
  end_ = used;
  DCHECK_GE(capacity_ - end_, bytes);
}

char* RespParser::PrepareWrite(size_t min_bytes, size_t* available) {
  size_t want = min_bytes;
  if (state_ == State::kBulkBody) {
    // Let one read take the rest of a large bulk (and its CRLF).
    const uint64_t needed = static_cast<uint64_t>(bulk_length_) + 2;
    const size_t have = end_ - begin_;
    if (needed > have) want = std::max<size_t>(want, static_cast<size_t>(needed - have));
  }
  Reserve(want);
  *available = capacity_ - end_;
  DCHECK_GE(*available, min_bytes);
  DCHECK(begin_ <= end_ && end_ <= capacity_);
  DCHECK(*available == 0 || buffer_ != nullptr);  // nothing allocated until asked for
  return buffer_.get() + end_;
}

void RespParser::Commit(size_t bytes) {
  // The caller wrote at most the area PrepareWrite offered.
  DCHECK_LE(bytes, capacity_ - end_);
  end_ += std::min(bytes, capacity_ - end_);
}

void RespParser::Append(std::string_view bytes) {
  size_t available = 0;
  char* dst = PrepareWrite(bytes.size(), &available);
  if (!bytes.empty()) std::memcpy(dst, bytes.data(), bytes.size());
  Commit(bytes.size());
}

RespParser::Result RespParser::Fail(std::string message) {
  error_ = std::move(message);
  return Result::kError;
}

// Parses the count line at begin_ ("*<n>\r" or "$<n>\r" plus one byte).
// marker is the first byte already checked by the caller.
RespParser::Result RespParser::ParseCount(char marker, int64_t* value, bool* need_more) {
  *need_more = false;
  const char* start = buffer_.get() + begin_;
  const size_t available = end_ - begin_;
  // The common line is read in one pass (ShortCountLine); anything else
  // goes the general way below.
  size_t line_length = 0;
  int64_t parsed = 0;
  bool ok = false;
  if (const size_t spans = ShortCountLine(start, available, &parsed); spans > 0) {
    line_length = spans - 2;
    ok = true;
  } else {
    const void* cr = std::memchr(start, '\r', available);
    if (cr == nullptr) {
      if (available > limits_.max_inline_length) {
        return Fail(marker == '*' ? "Protocol error: too big mbulk count string"
                                  : "Protocol error: too big bulk count string");
      }
      *need_more = true;
      return Result::kNeedMore;
    }
    line_length = static_cast<const char*>(cr) - start;
    if (line_length + 2 > available) {  // the byte after '\r' has not arrived
      *need_more = true;
      return Result::kNeedMore;
    }
    ok = ParseInt64(std::string_view(start + 1, line_length - 1), &parsed);
  }
  if (marker == '$' && start[0] != '$') {
    return Fail(std::string("Protocol error: expected '$', got '") + start[0] + "'");
  }
  if (marker == '*') {
    if (!ok || parsed > kMaxArrayLength) return Fail("Protocol error: invalid multibulk length");
    if (parsed > limits_.max_args) {
      return Fail("Protocol error: invalid multibulk length (more than " +
                  std::to_string(limits_.max_args) + " arguments, proto-max-multibulk-len)");
    }
    if (!authenticated_ && parsed > kUnauthenticatedMaxArgs) {
      return Fail("Protocol error: unauthenticated multibulk length");
    }
  } else {
    if (!ok || parsed < 0 || static_cast<uint64_t>(parsed) > limits_.max_bulk_length) {
      return Fail("Protocol error: invalid bulk length");
    }
    if (!authenticated_ && parsed > kUnauthenticatedMaxBulk) {
      return Fail("Protocol error: unauthenticated bulk length");
    }
  }
  begin_ += line_length + 2;
  DCHECK_LE(begin_, end_);  // the line and the byte after '\r' had arrived
  *value = parsed;
  return Result::kCommand;
}

bool RespParser::ParseWhole(std::vector<std::string>* args) {
  constexpr int64_t kMaxWholeArgs = 32;
  // A kept argument string's memory beyond this is let go rather than kept
  // for the next command.
  constexpr size_t kKeepArgumentCapacity = 4096;
  const char* const base = buffer_.get();
  size_t pos = begin_;
  // One count line of ParseCount's common form (ShortCountLine).
  auto count_line = [&](char marker, int64_t* value) {
    if (pos >= end_ || base[pos] != marker) return false;
    const size_t spans = ShortCountLine(base + pos, end_ - pos, value);
    pos += spans;
    return spans > 0;
  };
  int64_t count = 0;
  if (!count_line('*', &count) || count < 1 || count > kMaxWholeArgs || count > limits_.max_args ||
      (!authenticated_ && count > kUnauthenticatedMaxArgs)) {
    return false;
  }
  size_t offsets[kMaxWholeArgs];
  size_t lengths[kMaxWholeArgs];
  uint64_t memory = 0;
  for (int64_t i = 0; i < count; i++) {
    int64_t length = 0;
    if (!count_line('$', &length)) return false;
    if (static_cast<uint64_t>(length) > limits_.max_bulk_length ||
        (!authenticated_ && length > kUnauthenticatedMaxBulk)) {
      return false;
    }
    // The body and the two bytes taken as its CRLF (as the general path).
    if (end_ - pos < static_cast<uint64_t>(length) + 2) return false;
    offsets[i] = pos;
    lengths[i] = static_cast<size_t>(length);
    pos += static_cast<size_t>(length) + 2;
    memory += ArgumentMemory(static_cast<uint64_t>(length));
  }
  // The most the general path's query buffer checks could see on the way
  // (each below this): every argument, the argument vector's slots, the
  // bytes buffered.
  const uint64_t slots = std::max<uint64_t>(partial_.capacity(), static_cast<uint64_t>(count));
  if (memory + slots * sizeof(std::string) + end_ > limits_.max_query_buffer) return false;
  args->resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; i++) {
    std::string& arg = (*args)[static_cast<size_t>(i)];
    if (arg.capacity() > kKeepArgumentCapacity) std::string().swap(arg);
    arg.assign(base + offsets[i], lengths[i]);
  }
  begin_ = pos;
  return true;
}

RespParser::Result RespParser::ParseInline(std::vector<std::string>* args) {
  const char* start = buffer_.get() + begin_;
  const size_t available = end_ - begin_;
  const void* lf = std::memchr(start, '\n', available);
  if (lf == nullptr) {
    if (available > limits_.max_inline_length) {
      return Fail("Protocol error: too big inline request");
    }
    return Result::kNeedMore;
  }
  size_t line_length = static_cast<const char*>(lf) - start;
  begin_ += line_length + 1;
  DCHECK_LE(begin_, end_);
  if (line_length > 0 && start[line_length - 1] == '\r') line_length--;
  if (!SplitInlineArgs(std::string_view(start, line_length), args)) {
    return Fail("Protocol error: unbalanced quotes in request");
  }
  return Result::kCommand;
}

RespParser::Result RespParser::Next(std::vector<std::string>* args) {
  if (!error_.empty()) return Result::kError;
  while (true) {
    DCHECK(begin_ <= end_ && end_ <= capacity_);
    // Between commands no argument is pending.
    DCHECK(state_ != State::kStart || (remaining_args_ == 0 && partial_.empty()));
    if (pending_memory() > limits_.max_query_buffer) {
      return Fail("Protocol error: query buffer limit exceeded");
    }
    switch (state_) {
      case State::kStart: {
        if (begin_ == end_) return Result::kNeedMore;
        if (buffer_[begin_] != '*') {
          Result r = ParseInline(args);
          if (r != Result::kCommand) return r;
          if (args->empty()) continue;  // blank line
          return Result::kCommand;
        }
        if (ParseWhole(args)) return Result::kCommand;
        int64_t count = 0;
        bool need_more = false;
        Result r = ParseCount('*', &count, &need_more);
        if (need_more || r == Result::kError) return r;
        if (count <= 0) continue;  // "*0" and "*-1" are ignored, as by Redis
        remaining_args_ = count;
        pending_bytes_ = 0;
        partial_.clear();
        partial_.reserve(static_cast<size_t>(std::min<int64_t>(count, 1024)));
        state_ = State::kBulkHeader;
        break;
      }
      case State::kBulkHeader: {
        if (begin_ == end_) return Result::kNeedMore;
        int64_t length = 0;
        bool need_more = false;
        Result r = ParseCount('$', &length, &need_more);
        if (need_more || r == Result::kError) return r;
        bulk_length_ = length;
        state_ = State::kBulkBody;
        break;
      }
      case State::kBulkBody: {
        DCHECK_GE(bulk_length_, 0);  // ParseCount refuses negative bulk lengths
        DCHECK_GT(remaining_args_, 0);
        const uint64_t needed = static_cast<uint64_t>(bulk_length_) + 2;
        if (end_ - begin_ < needed) return Result::kNeedMore;
        // Like Redis, the two bytes after the bulk are taken as its CRLF.
        partial_.emplace_back(buffer_.get() + begin_, static_cast<size_t>(bulk_length_));
        begin_ += needed;
        pending_bytes_ += ArgumentMemory(static_cast<uint64_t>(bulk_length_));
        state_ = State::kBulkHeader;
        if (--remaining_args_ == 0) {
          state_ = State::kStart;
          pending_bytes_ = 0;
          args->swap(partial_);
          partial_.clear();
          return Result::kCommand;
        }
        break;
      }
    }
  }
}

}  // namespace lsmkv::server
