// Fuzzes lsmkv-server's request parser (server/resp_parser.h) with arbitrary
// client bytes. The first input byte picks the parser's mode (authenticated
// or not, a small or the default bulk limit) and the size of the pieces the
// rest is fed in. Invariants:
//  - the parser never crashes, hangs or reads outside its buffer (ASan);
//  - every command has at least one argument, and arguments never hold more
//    bytes than were fed;
//  - fragmentation does not matter: feeding the bytes in pieces yields
//    exactly the commands (and the error, if any) of feeding them at once;
//  - after an error the parser stays failed and the error reads
//    "Protocol error: ...".
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "server/resp_parser.h"

namespace {

using lsmkv::server::RespLimits;
using lsmkv::server::RespParser;

struct Outcome {
  std::vector<std::vector<std::string>> commands;
  bool failed = false;
  std::string error;
};

RespLimits LimitsFor(uint8_t mode) {
  RespLimits limits;
  if (mode & 2) {
    limits.max_bulk_length = 64;
    limits.max_inline_length = 128;
    limits.max_query_buffer = 4096;
  }
  return limits;
}

// Parses input fed in pieces of `piece` bytes (0 = all at once).
Outcome Parse(std::string_view input, uint8_t mode, size_t piece) {
  RespParser parser(LimitsFor(mode));
  parser.set_authenticated((mode & 1) == 0);
  Outcome outcome;
  std::vector<std::string> args;
  size_t fed = 0;
  while (true) {
    RespParser::Result r;
    while ((r = parser.Next(&args)) == RespParser::Result::kCommand) {
      FUZZ_CHECK(!args.empty(), "a command without arguments");
      size_t bytes = 0;
      for (const auto& a : args) bytes += a.size();
      FUZZ_CHECK(bytes <= input.size(), "arguments larger than the input");
      outcome.commands.push_back(args);
    }
    if (r == RespParser::Result::kError) {
      outcome.failed = true;
      outcome.error = parser.error();
      FUZZ_CHECK(outcome.error.rfind("Protocol error: ", 0) == 0, "error wording");
      FUZZ_CHECK(parser.Next(&args) == RespParser::Result::kError, "recovered after an error");
      return outcome;
    }
    if (fed == input.size()) return outcome;
    const size_t n = piece == 0 ? input.size() - fed : std::min(piece, input.size() - fed);
    size_t available = 0;
    char* dst = parser.PrepareWrite(n, &available);
    FUZZ_CHECK(available >= n, "PrepareWrite gave less room than asked");
    std::copy(input.data() + fed, input.data() + fed + n, dst);
    parser.Commit(n);
    fed += n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t piece = 1 + (mode >> 2);  // 1..64 bytes per piece
  const Outcome whole = Parse(input, mode, 0);
  const Outcome pieces = Parse(input, mode, piece);
  // An error the whole input reveals may surface later in pieces only for
  // limits on unfinished lines (which need more bytes to decide); the
  // commands before it, and a clean parse, must agree exactly.
  if (!whole.failed && !pieces.failed) {
    FUZZ_CHECK(whole.commands == pieces.commands, "fragmentation changed the commands");
  } else {
    const size_t common = std::min(whole.commands.size(), pieces.commands.size());
    for (size_t i = 0; i < common; i++) {
      FUZZ_CHECK(whole.commands[i] == pieces.commands[i], "fragmentation changed a command");
    }
  }
  return 0;
}
