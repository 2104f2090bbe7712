// RespParser: an incremental parser of client requests in the Redis
// protocol — RESP multi-bulk arrays ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") and
// inline commands ("GET k\r\n", with Redis's quoting rules).
//
// Bytes arrive in any fragmentation; Next() yields one complete command at a
// time and remembers how far it got, so a large bulk value arriving in many
// reads is scanned once. Limits follow Redis: a bulk longer than
// max_bulk_length, a count line or inline request longer than
// max_inline_length without its line end, and (before authentication) more
// than 10 arguments or a bulk over 16 KiB are protocol errors. After an error
// the parser stays failed; the connection is expected to reply and close.
//
// Thread safety: none; one parser belongs to one connection.
#ifndef LSMKV_SERVER_RESP_PARSER_H_
#define LSMKV_SERVER_RESP_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lsmkv::server {

struct RespLimits {
  // Longest accepted bulk string (Redis proto-max-bulk-len). Default: 512 MiB.
  uint64_t max_bulk_length = 512ull * 1024 * 1024;
  // Longest inline request or count line without a line end. Default: 64 KiB.
  size_t max_inline_length = 64 * 1024;
  // Most bytes one unfinished command may hold: the memory of its parsed
  // arguments (string objects, their heap blocks, the vector holding them;
  // see ArgumentMemory) plus the input buffer. Redis's client-query-buffer-
  // limit. Default: 1 GiB.
  uint64_t max_query_buffer = 1024ull * 1024 * 1024;
  // Most arguments in one command (proto-max-multibulk-len). Default: 1M.
  int64_t max_args = 1024 * 1024;
};

class RespParser {
 public:
  enum class Result {
    kCommand,   // *args holds one complete command (at least one argument)
    kNeedMore,  // every complete command was returned; feed more bytes
    kError,     // protocol error; error() says which (Redis wording)
  };

  explicit RespParser(const RespLimits& limits = RespLimits());
  RespParser(const RespParser&) = delete;
  RespParser& operator=(const RespParser&) = delete;

  // Limits may change between commands (CONFIG SET proto-max-bulk-len).
  void set_limits(const RespLimits& limits) { limits_ = limits; }
  // Before authentication the argument count and bulk sizes are capped
  // (10 arguments, 16 KiB per bulk), as Redis does.
  void set_authenticated(bool authenticated) { authenticated_ = authenticated; }

  // Zero-copy input: returns a writable area of at least min_bytes; after
  // reading into it, call Commit with the number of bytes written.
  char* PrepareWrite(size_t min_bytes, size_t* available);
  void Commit(size_t bytes);
  // Copying input (tests, fuzzing).
  void Append(std::string_view bytes);

  // Parses the next command into *args (replacing its contents).
  Result Next(std::vector<std::string>* args);

  // The protocol error, e.g. "Protocol error: invalid bulk length". Empty
  // unless Next returned kError.
  const std::string& error() const { return error_; }
  // Unparsed bytes held (for CLIENT LIST qbuf and the query buffer limit).
  size_t buffered() const { return end_ - begin_; }
  // Memory the unfinished command holds: its arguments so far (as
  // ArgumentMemory counts them, with the argument vector's unused slots)
  // plus the input buffer's bytes up to the last received. What the query
  // buffer limit is checked against.
  uint64_t pending_memory() const;
  // True while a command has begun but not completed (some of it is
  // buffered or parsed): what an unfinished-request time limit watches.
  bool in_request() const { return state_ != State::kStart || begin_ != end_; }
  // Gives up memory kept from large commands (the argument vector's
  // capacity, a drained input buffer) once nothing is pending.
  void ReleaseMemory();

 private:
  enum class State { kStart, kBulkHeader, kBulkBody };

  Result ParseInline(std::vector<std::string>* args);
  // The common request in one pass: a whole array of at most kMaxWholeArgs
  // bulk strings already buffered, with count lines of 1 to 18 digits and
  // within every limit, goes straight into *args (whose strings' memory is
  // reused: no allocation per argument in a steady pipeline). Returns false,
  // having consumed nothing, for anything else, which the general path then
  // parses (or fails on) as it always did; the two agree on every input
  // (fuzz/resp_fuzz.cc feeds the same bytes whole and in pieces).
  bool ParseWhole(std::vector<std::string>* args);
  Result ParseCount(char marker, int64_t* value, bool* need_more);
  Result Fail(std::string message);
  // Makes room for `bytes` more bytes after end_, compacting or growing.
  void Reserve(size_t bytes);

  RespLimits limits_;
  bool authenticated_ = true;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  size_t begin_ = 0;  // first unparsed byte
  size_t end_ = 0;    // one past the last received byte

  State state_ = State::kStart;
  int64_t remaining_args_ = 0;        // bulks still expected in the current array
  int64_t bulk_length_ = 0;           // length of the bulk being read (kBulkBody)
  uint64_t pending_bytes_ = 0;        // ArgumentMemory of the arguments parsed so far
  std::vector<std::string> partial_;  // arguments of the unfinished command
  std::string error_;
};

// The memory one parsed argument of length bytes takes in a
// std::vector<std::string>: the string object, and for strings too long for
// its inline buffer a heap block rounded up as malloc rounds it (16 bytes,
// with 8 of overhead).
uint64_t ArgumentMemory(uint64_t length);

// Parses a signed decimal the way Redis's string2ll does: no spaces, no '+',
// no leading zeros (except "0"), no "-0", within int64. Returns false otherwise.
bool ParseInt64(std::string_view text, int64_t* value);

// Splits an inline request into arguments (Redis's rules: blanks separate
// arguments; "double quotes" with \n \r \t \b \a \\ \" \xHH escapes; 'single
// quotes' with \' only; a closing quote must be followed by a blank). Returns
// false on unbalanced quotes.
bool SplitInlineArgs(std::string_view line, std::vector<std::string>* args);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_RESP_PARSER_H_
