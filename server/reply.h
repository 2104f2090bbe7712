// Reply: appends replies in RESP2 or RESP3 (chosen per connection by HELLO)
// to an output string. Types RESP2 lacks degrade the way Redis degrades them:
// maps become flat arrays, sets arrays, doubles bulk strings, booleans
// integers, verbatim strings bulk strings, and every null becomes $-1 (or
// *-1 for a null array).
//
// Thread safety: none; one Reply writes one connection's output.
#ifndef LSMKV_SERVER_REPLY_H_
#define LSMKV_SERVER_REPLY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/error_stats.h"

namespace lsmkv::server {

class Reply {
 public:
  // REQUIRES: out outlives this object; protocol is 2 or 3.
  Reply(std::string* out, int protocol) : out_(out), protocol_(protocol) {}

  int protocol() const { return protocol_; }
  void set_protocol(int protocol) { protocol_ = protocol; }
  std::string* buffer() { return out_; }
  // Every Error() is also recorded in *stats (the server's error counts).
  // REQUIRES: stats outlives this object.
  void set_error_stats(ErrorStats* stats) { error_stats_ = stats; }

  // "+text": REQUIRES text holds no CR or LF.
  void Status(std::string_view text);
  // "-text": CR and LF in text are replaced by spaces (as Redis does). text
  // starts with the error code, e.g. "ERR syntax error".
  void Error(std::string_view text);
  void Integer(int64_t value);
  void Bulk(std::string_view value);
  void Null();       // absent value: $-1 / _
  void NullArray();  // absent array (aborted EXEC): *-1 / _
  void Array(size_t count);
  // A pub/sub frame (messages, subscription confirmations): a RESP3 push
  // (">n") or, in RESP2, an array.
  void Push(size_t count);
  void Map(size_t pairs);
  void Set(size_t count);
  void Double(double value);
  void Bool(bool value);
  // A text document (INFO, CLIENT LIST): RESP3 verbatim "txt", else bulk.
  void Verbatim(std::string_view text);
  void Ok() { out_->append("+OK\r\n", 5); }

  // Errors written through this object (for failed-call statistics).
  uint64_t errors() const { return errors_; }

 private:
  // Bulk strings shorter than this are formatted in one piece (at most two
  // digits of length).
  static constexpr size_t kShortBulk = 100;

  void Header(char marker, uint64_t count);

  std::string* out_;
  int protocol_;
  uint64_t errors_ = 0;
  ErrorStats* error_stats_ = nullptr;
};

// Formats like Redis's "%.17Lf" with trailing zeros (and a trailing '.')
// removed: the text INCRBYFLOAT stores and returns.
std::string FormatLongDouble(long double value);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_REPLY_H_
