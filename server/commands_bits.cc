// Bit and sequence commands on strings: GETBIT, SETBIT, BITCOUNT, BITPOS,
// LCS. Replies and errors follow Redis 7.0. A string is one engine value, so
// each command reads it whole (and SETBIT writes it whole, keeping its
// deadline); sizes are bounded by proto-max-bulk-len like every string.
#include <algorithm>
#include <cstring>
#include <vector>

#include "server/command_util.h"
#include "server/config.h"
#include "server/notify.h"

namespace lsmkv::server {

namespace {

// The largest DP table LCS builds (cells of 4 bytes: 256 MiB).
constexpr uint64_t kMaxLcsCells = uint64_t{64} << 20;

// Parses a bit offset: a non-negative integer addressing a bit within
// proto-max-bulk-len bytes. Replies Redis's error and returns false if not.
bool ParseBitOffset(CommandContext& ctx, std::string_view text, uint64_t* offset) {
  int64_t value = 0;
  const int64_t max_bytes = ctx.server.config->Int(Setting::kProtoMaxBulkLen);
  if (!ParseInt64(text, &value) || value < 0 || (value >> 3) >= max_bytes) {
    ctx.reply.Error("ERR bit offset is not an integer or out of range");
    return false;
  }
  *offset = static_cast<uint64_t>(value);
  return true;
}

int BitAt(std::string_view s, uint64_t bit) {
  const uint64_t byte = bit >> 3;
  if (byte >= s.size()) return 0;
  return (static_cast<uint8_t>(s[byte]) >> (7 - (bit & 7))) & 1;
}

void GetBit(CommandContext& ctx) {
  uint64_t offset = 0;
  if (!ParseBitOffset(ctx, ctx.args[2], &offset)) return;
  Entry entry;
  bool found = false;
  if (!ReadString(ctx, ctx.args[1], &entry, &found)) return;
  ctx.reply.Integer(found ? BitAt(entry.payload, offset) : 0);
}

// SETBIT key offset 0|1: the old bit; the string grows with zero bytes as
// needed and keeps its deadline.
void SetBit(CommandContext& ctx) {
  uint64_t offset = 0;
  if (!ParseBitOffset(ctx, ctx.args[2], &offset)) return;
  int64_t value = 0;
  if (!ParseInt64(ctx.args[3], &value) || (value != 0 && value != 1)) {
    ctx.reply.Error("ERR bit is not an integer or out of range");
    return;
  }
  Entry entry;
  bool found = false;
  if (!ReadString(ctx, ctx.args[1], &entry, &found)) return;
  if (!found) entry.payload.clear();
  const uint64_t byte = offset >> 3;
  const bool grows = byte >= entry.payload.size();
  if (grows) {
    if (StringTooLong(ctx, byte + 1)) return;
    entry.payload.resize(byte + 1, '\0');
  }
  const int old = BitAt(entry.payload, offset);
  const uint8_t mask = static_cast<uint8_t>(1u << (7 - (offset & 7)));
  uint8_t& b = reinterpret_cast<uint8_t&>(entry.payload[byte]);
  b = value ? static_cast<uint8_t>(b | mask) : static_cast<uint8_t>(b & ~mask);
  ctx.txn.Put(ctx.args[1], ValueType::kString, found ? entry.deadline_ms : 0, entry.payload);
  // Redis notifies only a change (a new key, a longer string or a flipped bit).
  if (grows || old != value) NotifyKeyspaceEvent(ctx, kNotifyString, "setbit", ctx.args[1]);
  ctx.reply.Integer(old);
}

// A [start, end] range of BITCOUNT/BITPOS, resolved against a string of
// size bytes: negative indices count from the end; in BIT mode the indices
// are bits. *empty if nothing is in range.
struct BitRange {
  uint64_t first_bit = 0;
  uint64_t last_bit = 0;  // inclusive
  bool empty = false;
};

BitRange ResolveRange(int64_t start, int64_t end, bool bit_mode, uint64_t size) {
  BitRange r;
  const int64_t total = static_cast<int64_t>(bit_mode ? size * 8 : size);
  if (start < 0) start = std::max<int64_t>(total + start, 0);
  if (end < 0) end = std::max<int64_t>(total + end, 0);
  if (end >= total) end = total - 1;
  if (total == 0 || start > end) {
    r.empty = true;
    return r;
  }
  r.first_bit = bit_mode ? static_cast<uint64_t>(start) : static_cast<uint64_t>(start) * 8;
  r.last_bit = bit_mode ? static_cast<uint64_t>(end) : static_cast<uint64_t>(end) * 8 + 7;
  return r;
}

// Parses [BYTE|BIT] at args[i] if present. False after replying.
bool ParseRangeUnit(CommandContext& ctx, size_t i, bool* bit_mode) {
  *bit_mode = false;
  if (i >= ctx.args.size()) return true;
  if (i + 1 != ctx.args.size()) {
    ctx.reply.Error(errors::kSyntax);
    return false;
  }
  if (EqualsIgnoreCase(ctx.args[i], "bit")) {
    *bit_mode = true;
  } else if (!EqualsIgnoreCase(ctx.args[i], "byte")) {
    ctx.reply.Error(errors::kSyntax);
    return false;
  }
  return true;
}

// BITCOUNT key [start end [BYTE|BIT]]
void BitCount(CommandContext& ctx) {
  const auto& args = ctx.args;
  if (args.size() == 3 || args.size() > 5) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  int64_t start = 0, end = -1;
  bool bit_mode = false;
  if (args.size() >= 4) {
    if (!ParseIntArg(ctx, args[2], &start) || !ParseIntArg(ctx, args[3], &end)) return;
    if (!ParseRangeUnit(ctx, 4, &bit_mode)) return;
  }
  Entry entry;
  bool found = false;
  if (!ReadString(ctx, args[1], &entry, &found)) return;
  if (!found) {
    ctx.reply.Integer(0);
    return;
  }
  const BitRange r = ResolveRange(start, end, bit_mode, entry.payload.size());
  if (r.empty) {
    ctx.reply.Integer(0);
    return;
  }
  int64_t count = 0;
  uint64_t bit = r.first_bit;
  while (bit <= r.last_bit && (bit & 7) != 0) count += BitAt(entry.payload, bit++);
  while (bit + 7 <= r.last_bit) {
    count += __builtin_popcount(static_cast<uint8_t>(entry.payload[bit >> 3]));
    bit += 8;
  }
  while (bit <= r.last_bit) count += BitAt(entry.payload, bit++);
  ctx.reply.Integer(count);
}

// BITPOS key 0|1 [start [end [BYTE|BIT]]]: the first position of the bit in
// range, or -1. Looking for 0 without an end, the string counts as followed
// by zero bits (the position just past it).
void BitPos(CommandContext& ctx) {
  const auto& args = ctx.args;
  int64_t wanted = 0;
  if (!ParseIntArg(ctx, args[2], &wanted)) return;
  if (wanted != 0 && wanted != 1) {
    ctx.reply.Error("ERR The bit argument must be 1 or 0.");
    return;
  }
  int64_t start = 0, end = -1;
  const bool has_end = args.size() >= 5;
  bool bit_mode = false;
  if (args.size() >= 4 && !ParseIntArg(ctx, args[3], &start)) return;
  if (has_end && !ParseIntArg(ctx, args[4], &end)) return;
  if (!ParseRangeUnit(ctx, 5, &bit_mode)) return;
  Entry entry;
  bool found = false;
  if (!ReadString(ctx, args[1], &entry, &found)) return;
  if (!found) {
    ctx.reply.Integer(wanted ? -1 : 0);
    return;
  }
  const BitRange r = ResolveRange(start, end, bit_mode, entry.payload.size());
  if (r.empty) {
    ctx.reply.Integer(-1);
    return;
  }
  for (uint64_t bit = r.first_bit; bit <= r.last_bit; bit++) {
    if ((bit & 7) == 0 && bit + 7 <= r.last_bit) {
      const uint8_t byte = static_cast<uint8_t>(entry.payload[bit >> 3]);
      if ((wanted && byte == 0) || (!wanted && byte == 0xff)) {
        bit += 7;  // nothing here
        continue;
      }
    }
    if (BitAt(entry.payload, bit) == wanted) {
      ctx.reply.Integer(static_cast<int64_t>(bit));
      return;
    }
  }
  if (!wanted && !has_end && !bit_mode) {
    ctx.reply.Integer(static_cast<int64_t>(r.last_bit + 1));
    return;
  }
  ctx.reply.Integer(-1);
}

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest
// common subsequence of two strings (absent = empty), by the classic
// dynamic program, O(N*M) time and memory (bounded: kMaxLcsCells).
void Lcs(CommandContext& ctx) {
  const auto& args = ctx.args;
  bool want_len = false, want_idx = false, with_match_len = false;
  int64_t min_match_len = 0;
  for (size_t i = 3; i < args.size(); i++) {
    if (EqualsIgnoreCase(args[i], "len")) {
      want_len = true;
    } else if (EqualsIgnoreCase(args[i], "idx")) {
      want_idx = true;
    } else if (EqualsIgnoreCase(args[i], "withmatchlen")) {
      with_match_len = true;
    } else if (EqualsIgnoreCase(args[i], "minmatchlen") && i + 1 < args.size()) {
      if (!ParseIntArg(ctx, args[++i], &min_match_len)) return;
      if (min_match_len < 0) min_match_len = 0;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if (want_len && want_idx) {
    ctx.reply.Error("ERR If you want both the length and indexes, please just use IDX.");
    return;
  }
  std::string a, b;
  for (int k = 0; k < 2; k++) {
    Entry entry;
    bool found = false;
    if (!ReadKey(ctx, args[1 + k], &entry, &found)) return;
    if (found && entry.type != ValueType::kString) {
      ctx.reply.Error("ERR The specified keys must contain string values");
      return;
    }
    if (found) (k == 0 ? a : b) = std::move(entry.payload);
  }
  const uint64_t rows = a.size() + 1, cols = b.size() + 1;
  if (rows * cols > kMaxLcsCells) {
    ctx.reply.Error("ERR LCS of strings this long is refused (lsmkv-server bounds its table to " +
                    std::to_string(kMaxLcsCells) + " cells)");
    return;
  }
  // table[i * cols + j]: the LCS length of a[0, i) and b[0, j).
  std::vector<uint32_t> table(rows * cols, 0);
  for (uint64_t i = 1; i < rows; i++) {
    for (uint64_t j = 1; j < cols; j++) {
      table[i * cols + j] = a[i - 1] == b[j - 1]
                                ? table[(i - 1) * cols + j - 1] + 1
                                : std::max(table[(i - 1) * cols + j], table[i * cols + j - 1]);
    }
  }
  const uint32_t length = table[rows * cols - 1];
  if (want_len) {
    ctx.reply.Integer(length);
    return;
  }
  // Walk back from the end: the subsequence, and (IDX) its runs of
  // adjacent matches, last run first.
  struct Match {
    uint64_t a_start, a_end, b_start, b_end;
  };
  std::vector<Match> matches;
  std::string lcs(length, '\0');
  uint64_t i = a.size(), j = b.size(), out = length;
  bool in_run = false;
  Match run{};
  auto close_run = [&] {
    if (in_run && run.a_end - run.a_start + 1 >= static_cast<uint64_t>(min_match_len)) {
      matches.push_back(run);
    }
    in_run = false;
  };
  while (i > 0 && j > 0) {
    if (a[i - 1] == b[j - 1]) {
      lcs[--out] = a[i - 1];
      if (in_run && run.a_start == i && run.b_start == j) {
        run.a_start--;  // extends the run backwards
        run.b_start--;
      } else {
        close_run();
        run = {i - 1, i - 1, j - 1, j - 1};
        in_run = true;
      }
      i--;
      j--;
    } else {
      close_run();
      if (table[(i - 1) * cols + j] > table[i * cols + j - 1]) {
        i--;
      } else {
        j--;
      }
    }
  }
  close_run();
  if (!want_idx) {
    ctx.reply.Bulk(lcs);
    return;
  }
  ctx.reply.Map(2);
  ctx.reply.Bulk("matches");
  ctx.reply.Array(matches.size());
  for (const Match& m : matches) {
    ctx.reply.Array(with_match_len ? 3 : 2);
    ctx.reply.Array(2);
    ctx.reply.Integer(static_cast<int64_t>(m.a_start));
    ctx.reply.Integer(static_cast<int64_t>(m.a_end));
    ctx.reply.Array(2);
    ctx.reply.Integer(static_cast<int64_t>(m.b_start));
    ctx.reply.Integer(static_cast<int64_t>(m.b_end));
    if (with_match_len) ctx.reply.Integer(static_cast<int64_t>(m.a_end - m.a_start + 1));
  }
  ctx.reply.Bulk("len");
  ctx.reply.Integer(length);
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, int last_key,
         CommandHandler handler) {
  list->push_back(std::unique_ptr<CommandSpec>(
      new CommandSpec{name, arity, flags, 1, last_key, 1, "bitmap", handler, {}}));
}

}  // namespace

void RegisterBitCommands(CommandList* list) {
  Add(list, "getbit", 3, kCmdReadOnly | kCmdFast, 1, GetBit);
  Add(list, "setbit", 4, kCmdWrite, 1, SetBit);
  Add(list, "bitcount", -2, kCmdReadOnly, 1, BitCount);
  Add(list, "bitpos", -3, kCmdReadOnly, 1, BitPos);
  // O(N*M): off the event loop.
  Add(list, "lcs", -3, kCmdReadOnly | kCmdSlow, 2, Lcs);
}

}  // namespace lsmkv::server
