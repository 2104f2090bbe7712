#include "server/reply.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "util/check.h"

namespace lsmkv::server {

void Reply::Header(char marker, uint64_t count) {
  DCHECK(protocol_ == 2 || protocol_ == 3);
  char buf[32];
  buf[0] = marker;
  auto [end, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 2, count);
  DCHECK(ec == std::errc());  // 20 digits at most: room for the CRLF stays
  (void)ec;
  *end++ = '\r';
  *end++ = '\n';
  out_->append(buf, end - buf);
}

void Reply::Status(std::string_view text) {
  // Status texts are the server's own words, never client bytes: a CR or LF
  // would end the reply early and desynchronise the client.
  DCHECK(text.find_first_of("\r\n") == std::string_view::npos);
  out_->push_back('+');
  out_->append(text);
  out_->append("\r\n", 2);
}

void Reply::Error(std::string_view text) {
  errors_++;
  if (error_stats_ != nullptr) error_stats_->Record(text);
  out_->push_back('-');
  const size_t start = out_->size();
  out_->append(text);
  for (size_t i = start; i < out_->size(); i++) {
    if ((*out_)[i] == '\r' || (*out_)[i] == '\n') (*out_)[i] = ' ';
  }
  out_->append("\r\n", 2);
}

void Reply::Integer(int64_t value) {
  char buf[32];
  buf[0] = ':';
  auto [end, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 2, value);
  DCHECK(ec == std::errc());
  (void)ec;
  *end++ = '\r';
  *end++ = '\n';
  out_->append(buf, end - buf);
}

void Reply::Bulk(std::string_view value) {
  const size_t n = value.size();
  if (n < kShortBulk) {
    // The whole reply built on the stack and appended once: an array reply
    // (LRANGE, HGETALL, SMEMBERS) writes one per element, and three appends
    // and a general number conversion cost more than the copies they make.
    char buf[kShortBulk + 8];  // '$', at most 2 digits, CRLF, value, CRLF
    char* p = buf;
    *p++ = '$';
    if (n >= 10) *p++ = static_cast<char>('0' + n / 10);
    *p++ = static_cast<char>('0' + n % 10);
    *p++ = '\r';
    *p++ = '\n';
    if (n > 0) std::memcpy(p, value.data(), n);
    p += n;
    *p++ = '\r';
    *p++ = '\n';
    out_->append(buf, static_cast<size_t>(p - buf));
    return;
  }
  Header('$', n);
  out_->append(value);
  out_->append("\r\n", 2);
}

void Reply::Null() {
  if (protocol_ >= 3) {
    out_->append("_\r\n", 3);
  } else {
    out_->append("$-1\r\n", 5);
  }
}

void Reply::NullArray() {
  if (protocol_ >= 3) {
    out_->append("_\r\n", 3);
  } else {
    out_->append("*-1\r\n", 5);
  }
}

void Reply::Array(size_t count) { Header('*', count); }

void Reply::Push(size_t count) { Header(protocol_ >= 3 ? '>' : '*', count); }

void Reply::Map(size_t pairs) {
  if (protocol_ >= 3) {
    Header('%', pairs);
  } else {
    Header('*', pairs * 2);
  }
}

void Reply::Set(size_t count) { Header(protocol_ >= 3 ? '~' : '*', count); }

void Reply::Double(double value) {
  char buf[64];
  int n;
  if (std::isinf(value)) {
    n = std::snprintf(buf, sizeof(buf), "%s", value > 0 ? "inf" : "-inf");
  } else {
    n = std::snprintf(buf, sizeof(buf), "%.17g", value);
  }
  DCHECK(n > 0 && static_cast<size_t>(n) < sizeof(buf));  // "%.17g" needs ~25 bytes
  if (protocol_ >= 3) {
    out_->push_back(',');
    out_->append(buf, n);
    out_->append("\r\n", 2);
  } else {
    Bulk(std::string_view(buf, n));
  }
}

void Reply::Bool(bool value) {
  if (protocol_ >= 3) {
    out_->append(value ? "#t\r\n" : "#f\r\n", 4);
  } else {
    out_->append(value ? ":1\r\n" : ":0\r\n", 4);
  }
}

void Reply::Verbatim(std::string_view text) {
  if (protocol_ >= 3) {
    Header('=', text.size() + 4);
    out_->append("txt:", 4);
    out_->append(text);
    out_->append("\r\n", 2);
  } else {
    Bulk(text);
  }
}

std::string FormatLongDouble(long double value) {
  // "%.17Lf" of the largest long double needs ~4950 digits.
  std::vector<char> buf(5200);
  int n = std::snprintf(buf.data(), buf.size(), "%.17Lf", value);
  if (n < 0) return "0";
  size_t length = static_cast<size_t>(n);
  if (length >= buf.size()) length = buf.size() - 1;
  std::string text(buf.data(), length);
  if (text.find('.') != std::string::npos) {
    while (!text.empty() && text.back() == '0') text.pop_back();
    if (!text.empty() && text.back() == '.') text.pop_back();
  }
  if (text == "-0") text = "0";
  return text;
}

}  // namespace lsmkv::server
