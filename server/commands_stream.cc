// Stream commands (Redis 7.0): XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM,
// XREAD, XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO,
// XSETID. Replies and errors follow Redis 7.0.15.
//
// A stream is a metadata record and engine records per entry and per
// consumer-group object (stream.h has the layout). Every command reads the
// metadata once, works on the records of that version through ctx.txn,
// and writes everything in the command's one WriteBatch. Unlike the other
// collections, an empty stream stays (Redis keeps it: its last id and
// groups matter).
//
// Differences from Redis: approximate trimming (~) removes whole blocks of
// stream-node-max-entries consecutive entries by insertion order (Redis removes whole
// radix-tree nodes of stream-node-max-entries); XINFO's radix-tree-keys and
// radix-tree-nodes count those blocks.
#include <algorithm>
#include <limits>
#include <optional>
#include <vector>

#include "server/collection.h"
#include "server/command_util.h"
#include "server/config.h"
#include "server/dispatcher.h"
#include "server/notify.h"
#include "server/stream.h"

namespace lsmkv::server {

namespace {

// Entries per block of approximate trimming (stream-node-max-entries; 0
// is taken as 100).
uint64_t TrimBlock(CommandContext& ctx) {
  const int64_t n = ctx.server.config->Int(Setting::kStreamNodeMaxEntries);
  return n > 0 ? static_cast<uint64_t>(n) : 100;
}
// Longest group or consumer name (engine keys are bounded).
constexpr size_t kMaxNameBytes = kMaxFieldBytes;

constexpr std::string_view kInvalidId =
    "ERR Invalid stream ID specified as stream command argument";

struct Stream {
  bool found = false;
  int64_t deadline_ms = 0;
  StreamMeta meta;
  std::string entries;  // the 'e' head of meta.version
  std::string groups;   // the 'g' head of meta.version
  std::string key;      // the user key (keyspace notifications)
};

bool EngineError(CommandContext& ctx, const Status& s) {
  if (s.ok()) return false;
  ctx.reply.Error("ERR " + s.ToString());
  return true;
}

void SetPrefixes(CommandContext& ctx, std::string_view key, Stream* s) {
  s->key = std::string(key);
  s->entries.clear();
  s->groups.clear();
  AppendElementPrefix(kStreamEntryPrefix, ctx.txn.db(), key, s->meta.version, &s->entries);
  AppendElementPrefix(kStreamGroupPrefix, ctx.txn.db(), key, s->meta.version, &s->groups);
}

// Reads key as a stream. Returns false after replying with an error
// (engine, corrupt metadata, WRONGTYPE). Absent or expired: found false.
bool ReadStream(CommandContext& ctx, std::string_view key, Stream* s) {
  Entry entry;
  if (!ReadKey(ctx, key, &entry, &s->found)) return false;
  if (!s->found) return true;
  if (entry.type != ValueType::kStream) {
    ctx.reply.Error(errors::kWrongType);
    return false;
  }
  if (!DecodeStreamMeta(entry.payload, &s->meta)) {
    ctx.reply.Error("ERR Corruption: lsmkv-server: undecodable stream metadata");
    return false;
  }
  s->deadline_ms = entry.deadline_ms;
  SetPrefixes(ctx, key, s);
  return true;
}

bool CreateStreamIfAbsent(CommandContext& ctx, std::string_view key, Stream* s) {
  if (s->found) return true;
  s->meta = StreamMeta{};
  if (EngineError(ctx, ctx.txn.keyspace()->NewCollectionVersion(&s->meta.version))) return false;
  s->deadline_ms = 0;
  s->found = true;
  SetPrefixes(ctx, key, s);
  return true;
}

// Buffers the metadata write (an empty stream stays).
void StoreStream(CommandContext& ctx, std::string_view key, const Stream& s) {
  std::string payload;
  EncodeStreamMeta(s.meta, &payload);
  ctx.txn.Put(key, ValueType::kStream, s.deadline_ms, payload);
}

std::string EntryKey(const Stream& s, const StreamId& id) {
  std::string key = s.entries;
  AppendIdBe(id, &key);
  return key;
}

std::string GroupKey(const Stream& s, std::string_view suffix) {
  return s.groups + std::string(suffix);
}

// Visits the entries with ids in [start, end], ascending (or descending if
// reverse), until visit returns false.
Status ScanEntries(CommandContext& ctx, const Stream& s, const StreamId& start, const StreamId& end,
                   bool reverse,
                   const std::function<bool(const StreamId&, std::string_view)>& visit) {
  if (start > end) return Status::OK();
  const std::string lower = EntryKey(s, start);
  std::string upper = EntryKey(s, end);
  upper.push_back('\0');
  auto each = [&](std::string_view key, std::string_view value) {
    StreamId id;
    if (!DecodeIdBe(key.substr(s.entries.size()), &id)) return true;
    return visit(id, value);
  };
  return reverse ? ctx.txn.ScanElementsReverse(lower, upper, each)
                 : ctx.txn.ScanElements(lower, upper, each);
}

// The first (or last) entry's id; *found false if there is none.
Status EdgeEntry(CommandContext& ctx, const Stream& s, bool last, StreamId* id, bool* found) {
  *found = false;
  return ScanEntries(ctx, s, StreamId{}, kMaxStreamId, last, [&](const StreamId& i, auto) {
    *id = i;
    *found = true;
    return false;
  });
}

void ReplyId(Reply& r, const StreamId& id) { r.Bulk(id.ToString()); }

// [id, [field, value, ...]]
void ReplyEntry(Reply& r, const StreamId& id, std::string_view value) {
  std::vector<std::string_view> fields;
  if (!DecodeStreamEntry(value, &fields)) fields.clear();
  r.Array(2);
  ReplyId(r, id);
  r.Array(fields.size());
  for (std::string_view f : fields) r.Bulk(f);
}

// Writes body, holding n replies, as an array to ctx.reply.
void FlushArray(CommandContext& ctx, size_t n, const std::string& body) {
  ctx.reply.Array(n);
  ctx.reply.buffer()->append(body);
}

// Parses an id argument strictly (no '-'/'+'); replies the error.
bool ParseStrictId(CommandContext& ctx, std::string_view text, uint64_t missing_seq, StreamId* id) {
  if (ParseStreamId(text, missing_seq, id)) return true;
  ctx.reply.Error(kInvalidId);
  return false;
}

// Parses a range bound: '-', '+', an id, or '(' id (exclusive, with
// *exclusive set). Replies the error.
bool ParseIntervalId(CommandContext& ctx, std::string_view text, uint64_t missing_seq, StreamId* id,
                     bool* exclusive) {
  *exclusive = text.size() > 1 && text[0] == '(';
  if (*exclusive) return ParseStrictId(ctx, text.substr(1), missing_seq, id);
  if (text == "-") {
    *id = StreamId{};
    return true;
  }
  if (text == "+") {
    *id = kMaxStreamId;
    return true;
  }
  return ParseStrictId(ctx, text, missing_seq, id);
}

// ---- Groups ----

bool ReadGroup(CommandContext& ctx, const Stream& s, std::string_view name, StreamGroup* group,
               bool* found) {
  *found = false;
  if (name.size() > kMaxNameBytes) return true;
  std::string value;
  if (EngineError(ctx, ctx.txn.GetElement(GroupKey(s, GroupSuffix(name)), &value, found))) {
    return false;
  }
  if (*found && !DecodeStreamGroup(value, group)) {
    ctx.reply.Error("ERR Corruption: lsmkv-server: undecodable stream group");
    return false;
  }
  return true;
}

void StoreGroup(CommandContext& ctx, const Stream& s, std::string_view name,
                const StreamGroup& group) {
  std::string value;
  EncodeStreamGroup(group, &value);
  ctx.txn.PutElement(GroupKey(s, GroupSuffix(name)), value);
}

bool ReadConsumer(CommandContext& ctx, const Stream& s, std::string_view group,
                  std::string_view name, StreamConsumer* consumer, bool* found) {
  *found = false;
  if (name.size() > kMaxNameBytes) return true;
  std::string value;
  if (EngineError(ctx,
                  ctx.txn.GetElement(GroupKey(s, ConsumerSuffix(group, name)), &value, found))) {
    return false;
  }
  if (*found && !DecodeStreamConsumer(value, consumer)) {
    ctx.reply.Error("ERR Corruption: lsmkv-server: undecodable stream consumer");
    return false;
  }
  return true;
}

void StoreConsumer(CommandContext& ctx, const Stream& s, std::string_view group,
                   std::string_view name, const StreamConsumer& consumer) {
  std::string value;
  EncodeStreamConsumer(consumer, &value);
  ctx.txn.PutElement(GroupKey(s, ConsumerSuffix(group, name)), value);
}

bool ReadPending(CommandContext& ctx, const Stream& s, std::string_view group, const StreamId& id,
                 StreamPending* pending, bool* found) {
  std::string value;
  if (EngineError(ctx, ctx.txn.GetElement(GroupKey(s, PendingSuffix(group, id)), &value, found))) {
    return false;
  }
  if (*found && !DecodeStreamPending(value, pending)) {
    ctx.reply.Error("ERR Corruption: lsmkv-server: undecodable stream PEL entry");
    return false;
  }
  return true;
}

void StorePending(CommandContext& ctx, const Stream& s, std::string_view group, const StreamId& id,
                  const StreamPending& pending) {
  std::string value;
  EncodeStreamPending(pending, &value);
  ctx.txn.PutElement(GroupKey(s, PendingSuffix(group, id)), value);
}

bool NameTooLong(CommandContext& ctx, std::string_view name) {
  if (name.size() <= kMaxNameBytes) return false;
  ctx.reply.Error("ERR stream group or consumer name too long (lsmkv-server allows " +
                  std::to_string(kMaxNameBytes) + " bytes)");
  return true;
}

// The consumers of one group being changed by a command, read once and
// written back at the end (Flush).
class ConsumerCache {
 public:
  ConsumerCache(CommandContext& ctx, const Stream& s, std::string_view group, StreamGroup* g)
      : ctx_(ctx), s_(s), group_(group), g_(g) {}
  // The consumer name, created if absent (counted in the group); seen
  // refreshes its seen-time. Null after replying an error.
  StreamConsumer* Get(std::string_view name, bool create, bool seen) {
    auto it =
        std::find_if(cache_.begin(), cache_.end(), [&](const auto& c) { return c.name == name; });
    if (it == cache_.end()) {
      Cached c;
      c.name = std::string(name);
      bool found = false;
      if (!ReadConsumer(ctx_, s_, group_, name, &c.consumer, &found)) return nullptr;
      if (!found) {
        if (!create) {
          missing_ = true;
          return nullptr;
        }
        c.consumer.seen_ms = ctx_.txn.now_ms();
        c.dirty = true;
        g_->consumers++;
        // Redis announces every consumer created, also by XREADGROUP,
        // XCLAIM and XAUTOCLAIM.
        NotifyKeyspaceEvent(ctx_, kNotifyStream, "xgroup-createconsumer", s_.key);
      }
      cache_.push_back(std::move(c));
      it = cache_.end() - 1;
    }
    if (seen) {
      it->consumer.seen_ms = ctx_.txn.now_ms();
      it->dirty = true;
    }
    return &it->consumer;
  }
  void MarkDirty(std::string_view name) {
    for (auto& c : cache_) {
      if (c.name == name) c.dirty = true;
    }
  }
  void Flush() {
    for (const auto& c : cache_) {
      if (c.dirty) StoreConsumer(ctx_, s_, group_, c.name, c.consumer);
    }
  }
  // True if the last Get(create=false) found no consumer (no error).
  bool missing() const { return missing_; }

 private:
  struct Cached {
    std::string name;
    StreamConsumer consumer;
    bool dirty = false;
  };
  CommandContext& ctx_;
  const Stream& s_;
  std::string group_;
  StreamGroup* g_;
  std::vector<Cached> cache_;
  bool missing_ = false;
};

// Moves (or adds) the PEL entry id of group to consumer `to` (from its
// previous owner, if any). Returns false after replying an error.
bool AssignPending(CommandContext& ctx, const Stream& s, std::string_view group,
                   ConsumerCache& consumers, const StreamId& id, StreamPending* pending,
                   bool existed, std::string_view to, StreamGroup* g) {
  if (existed && pending->consumer != to) {
    StreamConsumer* old = consumers.Get(pending->consumer, /*create=*/false, /*seen=*/false);
    if (old != nullptr) {
      if (old->pel_count > 0) old->pel_count--;
      consumers.MarkDirty(pending->consumer);
    } else if (!consumers.missing()) {
      return false;
    }
    ctx.txn.DeleteElement(GroupKey(s, ConsumerPendingSuffix(group, pending->consumer, id)));
  }
  if (!existed || pending->consumer != to) {
    StreamConsumer* now = consumers.Get(to, /*create=*/true, /*seen=*/false);
    if (now == nullptr) return false;
    now->pel_count++;
    consumers.MarkDirty(to);
    ctx.txn.PutElement(GroupKey(s, ConsumerPendingSuffix(group, to, id)), "");
  }
  if (!existed) g->pel_count++;
  pending->consumer = std::string(to);
  StorePending(ctx, s, group, id, *pending);
  return true;
}

// Removes the PEL entry id (owned by pending.consumer) of group.
bool RemovePending(CommandContext& ctx, const Stream& s, std::string_view group,
                   ConsumerCache& consumers, const StreamId& id, const StreamPending& pending,
                   StreamGroup* g) {
  StreamConsumer* owner = consumers.Get(pending.consumer, /*create=*/false, /*seen=*/false);
  if (owner != nullptr) {
    if (owner->pel_count > 0) owner->pel_count--;
    consumers.MarkDirty(pending.consumer);
  } else if (!consumers.missing()) {
    return false;
  }
  ctx.txn.DeleteElement(GroupKey(s, PendingSuffix(group, id)));
  ctx.txn.DeleteElement(GroupKey(s, ConsumerPendingSuffix(group, pending.consumer, id)));
  if (g->pel_count > 0) g->pel_count--;
  return true;
}

// Redis's estimate of the entries read up to id (-1: unknown).
int64_t EstimateEntriesRead(const StreamMeta& m, const StreamId& id) {
  if (m.entries_added == 0) return 0;
  if (m.length == 0 && id <= m.last_id) return static_cast<int64_t>(m.entries_added);
  if (id == m.last_id) return static_cast<int64_t>(m.entries_added);
  if (id > m.last_id) return -1;
  if (m.max_deleted.IsZero() || m.max_deleted < m.first_id) {
    if (id < m.first_id) return static_cast<int64_t>(m.entries_added - m.length);
    if (id == m.first_id) return static_cast<int64_t>(m.entries_added - m.length + 1);
  }
  return -1;
}

// True if a deleted entry (the latest XDEL) may lie in [start, max].
bool RangeHasTombstones(const StreamMeta& m, const StreamId& start) {
  if (m.length == 0 || m.max_deleted.IsZero()) return false;
  if (m.first_id > m.max_deleted) return false;
  return start <= m.max_deleted;
}

// The group's lag, or -1 if unknown.
int64_t GroupLag(const StreamMeta& m, const StreamGroup& g) {
  if (m.entries_added == 0) return 0;
  if (g.entries_read != -1 && !RangeHasTombstones(m, g.last_id)) {
    return static_cast<int64_t>(m.entries_added) - g.entries_read;
  }
  const int64_t read = EstimateEntriesRead(m, g.last_id);
  if (read == -1) return -1;
  return static_cast<int64_t>(m.entries_added) - read;
}

// ---- XADD / XTRIM ----

enum class TrimStrategy { kNone, kMaxLen, kMinId };

struct AddTrimArgs {
  TrimStrategy strategy = TrimStrategy::kNone;
  bool approx = false;
  int64_t maxlen = 0;
  StreamId minid;
  int64_t limit = 0;  // 0: no limit
  bool no_mkstream = false;
  bool id_given = false;
  bool seq_given = true;
  StreamId id;
  size_t next = 0;  // XADD: the first field argument
};

// Parses XADD's or XTRIM's options from ctx.args[2] on (XADD: up to and
// including the id). Replies the error and returns false on bad input.
bool ParseAddTrimArgs(CommandContext& ctx, bool xadd, AddTrimArgs* a) {
  const auto& args = ctx.args;
  bool limit_given = false;
  size_t i = 2;
  for (; i < args.size(); i++) {
    const size_t more = args.size() - 1 - i;
    const std::string& opt = args[i];
    if (xadd && opt == "*") {
      break;
    } else if ((EqualsIgnoreCase(opt, "maxlen") || EqualsIgnoreCase(opt, "minid")) && more > 0) {
      const bool maxlen = EqualsIgnoreCase(opt, "maxlen");
      if (a->strategy != TrimStrategy::kNone) {
        ctx.reply.Error(
            "ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
        return false;
      }
      a->approx = false;
      if (more >= 2 && args[i + 1] == "~") {
        a->approx = true;
        i++;
      } else if (more >= 2 && args[i + 1] == "=") {
        i++;
      }
      if (maxlen) {
        if (!ParseIntArg(ctx, args[i + 1], &a->maxlen)) return false;
        if (a->maxlen < 0) {
          ctx.reply.Error("ERR The MAXLEN argument must be >= 0.");
          return false;
        }
        a->strategy = TrimStrategy::kMaxLen;
      } else {
        if (!ParseStrictId(ctx, args[i + 1], 0, &a->minid)) return false;
        a->strategy = TrimStrategy::kMinId;
      }
      i++;
    } else if (EqualsIgnoreCase(opt, "limit") && more > 0) {
      if (!ParseIntArg(ctx, args[i + 1], &a->limit)) return false;
      if (a->limit < 0) {
        ctx.reply.Error("ERR The LIMIT argument must be >= 0.");
        return false;
      }
      limit_given = true;
      i++;
    } else if (xadd && EqualsIgnoreCase(opt, "nomkstream")) {
      a->no_mkstream = true;
    } else if (xadd) {
      bool auto_seq = false;
      if (!ParseStreamId(opt, 0, &a->id, /*allow_auto_seq=*/true, &auto_seq)) {
        ctx.reply.Error(kInvalidId);
        return false;
      }
      a->seq_given = !auto_seq;
      a->id_given = true;
      break;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return false;
    }
  }
  if (a->limit != 0 && a->strategy == TrimStrategy::kNone) {
    ctx.reply.Error(
        "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
    return false;
  }
  if (!xadd && a->strategy == TrimStrategy::kNone) {
    ctx.reply.Error("ERR syntax error, XTRIM must be called with a trimming strategy");
    return false;
  }
  if (a->approx) {
    // Redis's default: 100 nodes' worth.
    if (!limit_given) {
      const uint64_t block = TrimBlock(ctx);
      a->limit =
          block > static_cast<uint64_t>(INT64_MAX / 100) ? 0 : static_cast<int64_t>(100 * block);
    }
  } else if (limit_given) {
    ctx.reply.Error("ERR syntax error, LIMIT cannot be used without the special ~ option");
    return false;
  }
  a->next = i + 1;
  return true;
}

// Trims s per a; *removed counts the entries deleted. Exact trimming
// removes every entry over the threshold; approximate trimming only whole
// blocks of stream-node-max-entries entries (by insertion ordinal), at most a->limit
// entries (0: no limit). Bounded by the entries removed plus one block.
// Returns false after replying an error.
bool Trim(CommandContext& ctx, Stream* s, const AddTrimArgs& a, int64_t* removed) {
  *removed = 0;
  StreamMeta& m = s->meta;
  if (a.strategy == TrimStrategy::kNone || m.length == 0) return true;
  if (a.strategy == TrimStrategy::kMaxLen && m.length <= static_cast<uint64_t>(a.maxlen)) {
    return true;
  }
  // Ordinal (0-based insertion count) of the first entry, for blocks.
  const uint64_t first_ordinal = m.entries_added >= m.length ? m.entries_added - m.length : 0;
  const uint64_t kTrimBlock = TrimBlock(ctx);
  std::vector<StreamId> doomed;  // to delete for sure
  std::vector<StreamId> block;   // approximate: the current block's entries
  uint64_t ordinal = first_ordinal;
  uint64_t length = m.length;
  bool stop = false;
  Status st = ScanEntries(
      ctx, *s, StreamId{}, kMaxStreamId, false, [&](const StreamId& id, std::string_view) {
        const bool over =
            a.strategy == TrimStrategy::kMaxLen
                ? length - doomed.size() - block.size() > static_cast<uint64_t>(a.maxlen)
                : id < a.minid;
        if (!a.approx) {
          if (!over) return false;
          doomed.push_back(id);
          return true;
        }
        if (a.strategy == TrimStrategy::kMinId && !over) {
          stop = true;
          return false;
        }
        block.push_back(id);
        ordinal++;
        if (ordinal % kTrimBlock != 0) return true;
        // A whole block: remove it if the length stays
        // at or over maxlen and the limit allows.
        if (a.strategy == TrimStrategy::kMaxLen &&
            length - doomed.size() - block.size() < static_cast<uint64_t>(a.maxlen)) {
          stop = true;
          return false;
        }
        if (a.limit != 0 && doomed.size() + block.size() > static_cast<uint64_t>(a.limit)) {
          stop = true;
          return false;
        }
        doomed.insert(doomed.end(), block.begin(), block.end());
        block.clear();
        return true;
      });
  if (EngineError(ctx, st)) return false;
  (void)stop;
  for (const StreamId& id : doomed) ctx.txn.DeleteElement(EntryKey(*s, id));
  m.length -= doomed.size();
  *removed = static_cast<int64_t>(doomed.size());
  if (!doomed.empty()) {
    if (m.length == 0) {
      m.first_id = StreamId{};
    } else {
      bool found = false;
      if (EngineError(ctx, EdgeEntry(ctx, *s, false, &m.first_id, &found))) return false;
    }
  }
  return true;
}

// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value ...
void XAdd(CommandContext& ctx) {
  const auto& args = ctx.args;
  AddTrimArgs a;
  if (!ParseAddTrimArgs(ctx, /*xadd=*/true, &a)) return;
  const size_t field_pos = a.next;
  if (field_pos > args.size() || args.size() - field_pos < 2 ||
      (args.size() - field_pos) % 2 == 1) {
    ctx.reply.Error(ArityError("xadd"));
    return;
  }
  if (a.id_given && a.seq_given && a.id.IsZero()) {
    ctx.reply.Error("ERR The ID specified in XADD must be greater than 0-0");
    return;
  }
  const std::string& key = args[1];
  Stream s;
  if (!ReadStream(ctx, key, &s)) return;
  if (!s.found && a.no_mkstream) {
    ctx.reply.Null();
    return;
  }
  if (!CreateStreamIfAbsent(ctx, key, &s)) return;
  StreamMeta& m = s.meta;
  if (m.last_id.IsMax()) {
    ctx.reply.Error("ERR The stream has exhausted the last possible ID, unable to add more items");
    return;
  }
  StreamId id;
  if (!a.id_given) {
    const uint64_t now = static_cast<uint64_t>(std::max<int64_t>(ctx.txn.now_ms(), 0));
    if (now > m.last_id.ms) {
      id = StreamId{now, 0};
    } else {
      id = m.last_id;
      (void)IncrementId(&id);
    }
  } else if (!a.seq_given) {
    if (a.id.ms == m.last_id.ms) {
      if (m.last_id.seq == UINT64_MAX) {
        ctx.reply.Error(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item");
        return;
      }
      id = StreamId{a.id.ms, m.last_id.seq + 1};
    } else if (a.id.ms > m.last_id.ms) {
      id = StreamId{a.id.ms, 0};
    } else {
      ctx.reply.Error(
          "ERR The ID specified in XADD is equal or smaller than the target stream top item");
      return;
    }
  } else {
    id = a.id;
    if (id <= m.last_id) {
      ctx.reply.Error(
          "ERR The ID specified in XADD is equal or smaller than the target stream top item");
      return;
    }
  }
  std::vector<std::string_view> fields(args.begin() + static_cast<std::ptrdiff_t>(field_pos),
                                       args.end());
  std::string value;
  EncodeStreamEntry(fields, &value);
  ctx.txn.PutElement(EntryKey(s, id), value);
  if (m.length == 0) m.first_id = id;
  m.length++;
  m.last_id = id;
  m.entries_added++;
  int64_t removed = 0;
  if (!Trim(ctx, &s, a, &removed)) return;
  StoreStream(ctx, key, s);
  NotifyKeyspaceEvent(ctx, kNotifyStream, "xadd", key);
  if (removed > 0) NotifyKeyspaceEvent(ctx, kNotifyStream, "xtrim", key);
  ReplyId(ctx.reply, id);
}

// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
void XTrim(CommandContext& ctx) {
  const std::string& key = ctx.args[1];
  Stream s;
  if (!ReadStream(ctx, key, &s)) return;
  if (!s.found) {
    ctx.reply.Integer(0);
    return;
  }
  AddTrimArgs a;
  if (!ParseAddTrimArgs(ctx, /*xadd=*/false, &a)) return;
  int64_t removed = 0;
  if (!Trim(ctx, &s, a, &removed)) return;
  if (removed > 0) {
    StoreStream(ctx, key, s);
    NotifyKeyspaceEvent(ctx, kNotifyStream, "xtrim", key);
  }
  ctx.reply.Integer(removed);
}

// XDEL key id [id ...]
void XDel(CommandContext& ctx) {
  const std::string& key = ctx.args[1];
  Stream s;
  if (!ReadStream(ctx, key, &s)) return;
  if (!s.found) {
    ctx.reply.Integer(0);
    return;
  }
  std::vector<StreamId> ids(ctx.args.size() - 2);
  for (size_t j = 2; j < ctx.args.size(); j++) {
    if (!ParseStrictId(ctx, ctx.args[j], 0, &ids[j - 2])) return;
  }
  StreamMeta& m = s.meta;
  int64_t deleted = 0;
  bool first_entry = false;
  std::vector<StreamId> done;
  for (const StreamId& id : ids) {
    if (std::find(done.begin(), done.end(), id) != done.end()) continue;
    std::string value;
    bool found = false;
    const std::string ek = EntryKey(s, id);
    if (EngineError(ctx, ctx.txn.GetElement(ek, &value, &found))) return;
    if (!found) continue;
    ctx.txn.DeleteElement(ek);
    done.push_back(id);
    m.length--;
    if (id == m.first_id) first_entry = true;
    if (id > m.max_deleted) m.max_deleted = id;
    deleted++;
  }
  if (deleted > 0) {
    if (m.length == 0) {
      m.first_id = StreamId{};
    } else if (first_entry) {
      bool found = false;
      if (EngineError(ctx, EdgeEntry(ctx, s, false, &m.first_id, &found))) return;
    }
    StoreStream(ctx, key, s);
    NotifyKeyspaceEvent(ctx, kNotifyStream, "xdel", key);
  }
  ctx.reply.Integer(deleted);
}

void XLen(CommandContext& ctx) {
  Stream s;
  if (!ReadStream(ctx, ctx.args[1], &s)) return;
  ctx.reply.Integer(s.found ? static_cast<int64_t>(s.meta.length) : 0);
}

// XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n]
void RangeGeneric(CommandContext& ctx, bool rev) {
  const auto& args = ctx.args;
  StreamId start, end;
  bool startex = false, endex = false;
  const std::string& start_arg = rev ? args[3] : args[2];
  const std::string& end_arg = rev ? args[2] : args[3];
  if (!ParseIntervalId(ctx, start_arg, 0, &start, &startex)) return;
  if (!ParseIntervalId(ctx, end_arg, UINT64_MAX, &end, &endex)) return;
  if (startex && !IncrementId(&start)) {
    ctx.reply.Error("ERR invalid start ID for the interval");
    return;
  }
  if (endex && !DecrementId(&end)) {
    ctx.reply.Error("ERR invalid end ID for the interval");
    return;
  }
  int64_t count = -1;
  for (size_t j = 4; j < args.size(); j++) {
    const size_t additional = args.size() - j - 1;
    if (EqualsIgnoreCase(args[j], "count") && additional >= 1) {
      if (!ParseIntArg(ctx, args[j + 1], &count)) return;
      if (count < 0) count = 0;
      j++;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  Stream s;
  if (!ReadStream(ctx, args[1], &s)) return;
  if (!s.found) {
    ctx.reply.Array(0);
    return;
  }
  if (count == 0) {
    ctx.reply.NullArray();
    return;
  }
  const uint64_t budget = ReplyByteBudget(ctx);
  std::string body;
  Reply out(&body, ctx.reply.protocol());
  size_t n = 0;
  Status st = ScanEntries(ctx, s, start, end, rev, [&](const StreamId& id, std::string_view value) {
    ReplyEntry(out, id, value);
    n++;
    return (count < 0 || n < static_cast<uint64_t>(count)) && body.size() <= budget;
  });
  if (EngineError(ctx, st)) return;
  FlushArray(ctx, n, body);
}

void XRange(CommandContext& ctx) { RangeGeneric(ctx, false); }
void XRevRange(CommandContext& ctx) { RangeGeneric(ctx, true); }

// ---- XREAD / XREADGROUP ----

struct ReadArgs {
  int64_t count = 0;       // 0: no limit
  int64_t block_ms = -1;   // -1: no BLOCK
  size_t streams_arg = 0;  // index of the first key
  size_t streams_count = 0;
  std::string_view group;
  std::string_view consumer;
  bool has_group = false;
  bool noack = false;
};

bool ParseReadArgs(CommandContext& ctx, bool xreadgroup, ReadArgs* a) {
  const auto& args = ctx.args;
  for (size_t i = 1; i < args.size(); i++) {
    const size_t more = args.size() - i - 1;
    const std::string& opt = args[i];
    if (EqualsIgnoreCase(opt, "block") && more > 0) {
      i++;
      int64_t ms = 0;
      if (!ParseInt64(args[i], &ms)) {
        ctx.reply.Error("ERR timeout is not an integer or out of range");
        return false;
      }
      if (ms < 0) {
        ctx.reply.Error("ERR timeout is negative");
        return false;
      }
      a->block_ms = ms;
    } else if (EqualsIgnoreCase(opt, "count") && more > 0) {
      i++;
      if (!ParseIntArg(ctx, args[i], &a->count)) return false;
      if (a->count < 0) a->count = 0;
    } else if (EqualsIgnoreCase(opt, "streams") && more > 0) {
      a->streams_arg = i + 1;
      a->streams_count = args.size() - a->streams_arg;
      if (a->streams_count % 2 != 0) {
        ctx.reply.Error(xreadgroup ? "ERR Unbalanced XREADGROUP list of streams: for each stream "
                                     "key an ID or '>' must be specified."
                                   : "ERR Unbalanced XREAD list of streams: for each stream key "
                                     "an ID or '$' must be specified.");
        return false;
      }
      a->streams_count /= 2;
      break;
    } else if (EqualsIgnoreCase(opt, "group") && more >= 2) {
      if (!xreadgroup) {
        ctx.reply.Error(
            "ERR The GROUP option is only supported by XREADGROUP. You called XREAD "
            "instead.");
        return false;
      }
      a->group = args[i + 1];
      a->consumer = args[i + 2];
      a->has_group = true;
      i += 2;
    } else if (EqualsIgnoreCase(opt, "noack")) {
      if (!xreadgroup) {
        ctx.reply.Error(
            "ERR The NOACK option is only supported by XREADGROUP. You called XREAD "
            "instead.");
        return false;
      }
      a->noack = true;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return false;
    }
  }
  if (a->streams_arg == 0) {
    ctx.reply.Error(errors::kSyntax);
    return false;
  }
  if (xreadgroup && !a->has_group) {
    ctx.reply.Error("ERR Missing GROUP option for XREADGROUP");
    return false;
  }
  return true;
}

// The keys of XREAD/XREADGROUP: the first half of the arguments after
// STREAMS (option values skipped).
void ReadKeys(const std::vector<std::string>& args, std::vector<std::string_view>* keys) {
  for (size_t i = 1; i < args.size(); i++) {
    if (EqualsIgnoreCase(args[i], "block") || EqualsIgnoreCase(args[i], "count")) {
      i++;
    } else if (EqualsIgnoreCase(args[i], "group")) {
      i += 2;
    } else if (EqualsIgnoreCase(args[i], "streams")) {
      const size_t first = i + 1;
      const size_t n = (args.size() - first) / 2;
      for (size_t k = 0; k < n; k++) keys->push_back(args[first + k]);
      return;
    }
  }
}

// XREADGROUP serving one stream from the group (new entries, '>'):
// delivers entries after the group's last id into out.
bool ServeGroupNew(CommandContext& ctx, Stream& s, std::string_view group_name, StreamGroup* g,
                   ConsumerCache& consumers, std::string_view consumer, int64_t count, bool noack,
                   uint64_t budget, std::string* body, Reply& out) {
  StreamId start = g->last_id;
  if (!IncrementId(&start)) {
    out.Array(0);
    return true;
  }
  std::vector<std::pair<StreamId, std::string>> entries;
  size_t bytes = 0;
  Status st = ScanEntries(ctx, s, start, kMaxStreamId, false,
                          [&](const StreamId& id, std::string_view value) {
                            entries.emplace_back(id, std::string(value));
                            bytes += value.size() + 40;
                            return (count == 0 || entries.size() < static_cast<uint64_t>(count)) &&
                                   body->size() + bytes <= budget;
                          });
  if (EngineError(ctx, st)) return false;
  out.Array(entries.size());
  for (const auto& [id, value] : entries) {
    g->last_id = id;
    if (g->entries_read != -1 && !RangeHasTombstones(s.meta, id)) {
      g->entries_read++;
    } else if (s.meta.entries_added != 0) {
      g->entries_read = EstimateEntriesRead(s.meta, id);
    }
    if (!noack) {
      StreamPending pending;
      bool existed = false;
      if (!ReadPending(ctx, s, group_name, id, &pending, &existed)) return false;
      pending.delivery_ms = ctx.txn.now_ms();
      pending.delivery_count = 1;
      if (!AssignPending(ctx, s, group_name, consumers, id, &pending, existed, consumer, g)) {
        return false;
      }
    }
    ReplyEntry(out, id, value);
  }
  return true;
}

// XREADGROUP with an explicit id: the consumer's own PEL after start.
bool ServeGroupHistory(CommandContext& ctx, Stream& s, std::string_view group_name,
                       std::string_view consumer, StreamId start, int64_t count, uint64_t budget,
                       std::string* body, Reply& out) {
  std::vector<StreamId> ids;
  if (IncrementId(&start)) {
    const std::string prefix = GroupKey(s, ConsumerPendingSuffix(group_name, consumer));
    std::string lower = prefix;
    AppendIdBe(start, &lower);
    Status st = ctx.txn.ScanElements(
        lower, PrefixSuccessor(prefix), [&](std::string_view key, std::string_view) {
          StreamId id;
          if (DecodeIdBe(key.substr(prefix.size()), &id)) ids.push_back(id);
          return count == 0 || ids.size() < static_cast<uint64_t>(count);
        });
    if (EngineError(ctx, st)) return false;
  }
  std::string entries_body;
  Reply entries(&entries_body, out.protocol());
  size_t n = 0;
  for (const StreamId& id : ids) {
    std::string value;
    bool found = false;
    if (EngineError(ctx, ctx.txn.GetElement(EntryKey(s, id), &value, &found))) return false;
    if (!found) {
      entries.Array(2);
      ReplyId(entries, id);
      entries.NullArray();
    } else {
      ReplyEntry(entries, id, value);
      StreamPending pending;
      bool existed = false;
      if (!ReadPending(ctx, s, group_name, id, &pending, &existed)) return false;
      if (existed) {
        pending.delivery_ms = ctx.txn.now_ms();
        pending.delivery_count++;
        StorePending(ctx, s, group_name, id, pending);
      }
    }
    n++;
    if (body->size() + entries_body.size() > budget) break;
  }
  out.Array(n);
  body->append(entries_body);
  return true;
}

void ReadGeneric(CommandContext& ctx, bool xreadgroup) {
  const auto& args = ctx.args;
  ReadArgs a;
  if (!ParseReadArgs(ctx, xreadgroup, &a)) return;
  if (xreadgroup && (NameTooLong(ctx, a.group) || NameTooLong(ctx, a.consumer))) return;
  ClientState::BlockState& block = ctx.client.block;
  const bool resolved = block.retry && block.stream_ids.size() == a.streams_count;
  std::vector<Stream> streams(a.streams_count);
  std::vector<StreamId> ids(a.streams_count);
  std::vector<StreamGroup> groups(xreadgroup ? a.streams_count : 0);
  for (size_t k = 0; k < a.streams_count; k++) {
    const std::string& key = args[a.streams_arg + k];
    const std::string& id_arg = args[a.streams_arg + a.streams_count + k];
    Stream& s = streams[k];
    if (block.retry) {
      // Woken: a key that is gone or now holds another type ends a
      // blocked XREADGROUP with an error and is ignored by XREAD, which
      // waits on (Redis 7.0).
      Entry entry;
      bool exists = false;
      if (!ReadKey(ctx, key, &entry, &exists)) return;
      if (!exists || entry.type != ValueType::kStream) {
        if (xreadgroup) {
          ctx.reply.Error("UNBLOCKED the stream key no longer exists");
          return;
        }
        if (!resolved) {
          ids[k] = StreamId{};
        } else if (!ParseStreamId(block.stream_ids[k], 0, &ids[k])) {
          ids[k] = StreamId{};
        }
        continue;
      }
    }
    if (!ReadStream(ctx, key, &s)) return;
    if (xreadgroup) {
      bool found = false;
      if (s.found && !ReadGroup(ctx, s, a.group, &groups[k], &found)) return;
      if (block.retry && !found) {
        ctx.reply.Error("NOGROUP the consumer group this client was blocked on no longer exists");
        return;
      }
      if (!s.found || !found) {
        ctx.reply.Error("NOGROUP No such key '" + key + "' or consumer group '" +
                        std::string(a.group) + "' in XREADGROUP with GROUP option");
        return;
      }
    }
    if (id_arg == "$") {
      if (xreadgroup) {
        ctx.reply.Error(
            "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the "
            "history of this consumer by specifying a proper ID, or use the > ID to get new "
            "messages. The $ ID would just return an empty result set.");
        return;
      }
      if (resolved) {
        if (!ParseStreamId(block.stream_ids[k], 0, &ids[k])) ids[k] = s.meta.last_id;
      } else {
        ids[k] = s.found ? s.meta.last_id : StreamId{};
      }
      continue;
    }
    if (id_arg == ">") {
      if (!xreadgroup) {
        ctx.reply.Error(
            "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
            "<consumer> option.");
        return;
      }
      continue;
    }
    if (!ParseStrictId(ctx, id_arg, 0, &ids[k])) return;
  }
  const uint64_t budget = ReplyByteBudget(ctx);
  std::string body;
  Reply out(&body, ctx.reply.protocol());
  size_t served = 0;
  for (size_t k = 0; k < a.streams_count; k++) {
    Stream& s = streams[k];
    if (!s.found) continue;
    const std::string& key = args[a.streams_arg + k];
    const bool new_entries = xreadgroup && args[a.streams_arg + a.streams_count + k] == ">";
    // New entries are there if the last entry (not the last id: it may
    // have been deleted) is past the caller's id.
    bool serve = !new_entries && xreadgroup;
    if (!serve && s.meta.length > 0) {
      StreamId last;
      bool found = false;
      if (EngineError(ctx, EdgeEntry(ctx, s, true, &last, &found))) return;
      serve = found && last > (xreadgroup ? groups[k].last_id : ids[k]);
    }
    if (!serve) continue;
    served++;
    if (ctx.reply.protocol() == 2) out.Array(2);
    out.Bulk(key);
    if (!xreadgroup) {
      StreamId start = ids[k];
      (void)IncrementId(&start);
      std::string entries_body;
      Reply entries(&entries_body, out.protocol());
      size_t n = 0;
      Status st = ScanEntries(ctx, s, start, kMaxStreamId, false,
                              [&](const StreamId& id, std::string_view value) {
                                ReplyEntry(entries, id, value);
                                n++;
                                return (a.count == 0 || n < static_cast<uint64_t>(a.count)) &&
                                       body.size() + entries_body.size() <= budget;
                              });
      if (EngineError(ctx, st)) return;
      out.Array(n);
      body.append(entries_body);
      continue;
    }
    StreamGroup& g = groups[k];
    ConsumerCache consumers(ctx, s, a.group, &g);
    if (consumers.Get(a.consumer, /*create=*/true, /*seen=*/true) == nullptr) return;
    if (new_entries) {
      if (!ServeGroupNew(ctx, s, a.group, &g, consumers, a.consumer, a.count, a.noack, budget,
                         &body, out)) {
        return;
      }
    } else if (!ServeGroupHistory(ctx, s, a.group, a.consumer, ids[k], a.count, budget, &body,
                                  out)) {
      return;
    }
    consumers.Flush();
    StoreGroup(ctx, s, a.group, g);
  }
  if (served > 0) {
    if (ctx.reply.protocol() == 2) {
      ctx.reply.Array(served);
    } else {
      ctx.reply.Map(served);
    }
    ctx.reply.buffer()->append(body);
    // A woken client passes the turn on: every reader of a stream may be
    // served by the same entries (blocking.h wakes one waiter per write).
    if (block.retry) {
      for (const std::string& key : block.keys) ctx.txn.keyspace()->blocking().Signal(key);
    }
    return;
  }
  if (a.block_ms >= 0) {
    const int64_t deadline = a.block_ms == 0 ? 0 : ctx.txn.now_ms() + a.block_ms;
    std::vector<std::string_view> keys;
    for (size_t k = 0; k < a.streams_count; k++) keys.push_back(args[a.streams_arg + k]);
    std::vector<std::string> resolved_ids;
    for (size_t k = 0; k < a.streams_count; k++) resolved_ids.push_back(ids[k].ToString());
    // On a retry the deadline stays the first call's (the connection keeps it).
    if (BlockClient(ctx, keys, deadline, /*null_array=*/true)) {
      block.stream_ids = std::move(resolved_ids);
      return;
    }
  }
  ctx.reply.NullArray();
}

void XRead(CommandContext& ctx) { ReadGeneric(ctx, false); }
void XReadGroup(CommandContext& ctx) { ReadGeneric(ctx, true); }

// ---- XGROUP ----

std::string NoGroupForKey(std::string_view group, std::string_view key) {
  return "NOGROUP No such consumer group '" + std::string(group) + "' for key name '" +
         std::string(key) + "'";
}

void XGroupSyntaxError(CommandContext& ctx) {
  ctx.reply.Error("ERR unknown subcommand or wrong number of arguments for '" + ctx.args[1] +
                  "'. Try XGROUP HELP.");
}

// Deletes every record of group (PEL, consumers, their PELs). Bounded by
// the group's size, like Redis's.
bool DeleteGroupRecords(CommandContext& ctx, const Stream& s, std::string_view group) {
  for (const std::string& suffix : {PendingSuffix(group), ConsumerSuffix(group),
                                    ConsumerPendingSuffix(group, "").substr(0, 5 + group.size())}) {
    const std::string lower = GroupKey(s, suffix);
    std::vector<std::string> keys;
    Status st = ctx.txn.ScanElements(lower, PrefixSuccessor(lower),
                                     [&](std::string_view key, std::string_view) {
                                       keys.emplace_back(key);
                                       return true;
                                     });
    if (EngineError(ctx, st)) return false;
    for (const std::string& key : keys) ctx.txn.DeleteElement(key);
  }
  ctx.txn.DeleteElement(GroupKey(s, GroupSuffix(group)));
  return true;
}

bool ParseEntriesRead(CommandContext& ctx, std::string_view text, int64_t* value) {
  if (!ParseIntArg(ctx, text, value)) return false;
  if (*value < -1) {
    ctx.reply.Error("ERR value for ENTRIESREAD must be positive or -1");
    return false;
  }
  return true;
}

void XGroup(CommandContext& ctx) {
  const auto& args = ctx.args;
  const std::string sub = ToLower(args[1]);
  if (sub == "help" && args.size() == 2) {
    static const char* const kHelp[] = {
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Print this help."};
    ctx.reply.Array(std::size(kHelp));
    for (const char* line : kHelp) ctx.reply.Status(line);
    return;
  }
  const bool create = sub == "create", setid = sub == "setid", destroy = sub == "destroy",
             createconsumer = sub == "createconsumer", delconsumer = sub == "delconsumer";
  if (sub == "help") {
    ctx.reply.Error(ArityError("xgroup|help"));
    return;
  }
  if (!create && !setid && !destroy && !createconsumer && !delconsumer) {
    ctx.reply.Error(UnknownSubcommandError(args[1], "XGROUP"));
    return;
  }
  const size_t n = args.size();
  if (((create || setid) && n < 5) || (destroy && n != 4) ||
      ((createconsumer || delconsumer) && n != 5)) {
    ctx.reply.Error(ArityError("xgroup|" + sub));
    return;
  }
  bool mkstream = false;
  int64_t entries_read = -1;
  if (create || setid) {
    for (size_t i = 5; i < n; i++) {
      if (create && EqualsIgnoreCase(args[i], "mkstream")) {
        mkstream = true;
      } else if (EqualsIgnoreCase(args[i], "entriesread") && i + 1 < n) {
        if (!ParseEntriesRead(ctx, args[i + 1], &entries_read)) return;
        i++;
      } else {
        XGroupSyntaxError(ctx);
        return;
      }
    }
  }
  const std::string& key = args[2];
  const std::string& group = args[3];
  Stream s;
  if (!ReadStream(ctx, key, &s)) return;
  StreamGroup g;
  bool group_found = false;
  if (s.found && !ReadGroup(ctx, s, group, &g, &group_found)) return;
  if (!mkstream) {
    if (!s.found) {
      ctx.reply.Error(
          "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
          "to use the MKSTREAM option to create an empty stream automatically.");
      return;
    }
    if (!group_found && (setid || createconsumer || delconsumer)) {
      ctx.reply.Error(NoGroupForKey(group, key));
      return;
    }
  }
  if (create || setid) {
    StreamId id;
    if (args[4] == "$") {
      id = s.found ? s.meta.last_id : StreamId{};
    } else if (create || args[4][0] == '(') {
      if (!ParseStrictId(ctx, args[4], 0, &id)) return;
    } else {
      // SETID reads '-' and '+' too.
      bool exclusive = false;
      if (!ParseIntervalId(ctx, args[4], 0, &id, &exclusive)) return;
    }
    if (create) {
      if (NameTooLong(ctx, group)) return;
      if (group_found) {
        ctx.reply.Error("BUSYGROUP Consumer Group name already exists");
        return;
      }
      if (!CreateStreamIfAbsent(ctx, key, &s)) return;
      g = StreamGroup{};
      g.last_id = id;
      g.entries_read = entries_read;
      StoreGroup(ctx, s, group, g);
      s.meta.groups++;
      StoreStream(ctx, key, s);
      NotifyKeyspaceEvent(ctx, kNotifyStream, "xgroup-create", key);
    } else {
      g.last_id = id;
      g.entries_read = entries_read;
      StoreGroup(ctx, s, group, g);
      NotifyKeyspaceEvent(ctx, kNotifyStream, "xgroup-setid", key);
    }
    ctx.reply.Ok();
    return;
  }
  if (destroy) {
    if (!group_found) {
      ctx.reply.Integer(0);
      return;
    }
    if (!DeleteGroupRecords(ctx, s, group)) return;
    if (s.meta.groups > 0) s.meta.groups--;
    StoreStream(ctx, key, s);
    NotifyKeyspaceEvent(ctx, kNotifyStream, "xgroup-destroy", key);
    ctx.reply.Integer(1);
    return;
  }
  const std::string& consumer = args[4];
  if (NameTooLong(ctx, consumer)) return;
  ConsumerCache consumers(ctx, s, group, &g);
  StreamConsumer* c = consumers.Get(consumer, /*create=*/false, /*seen=*/false);
  if (c == nullptr && !consumers.missing()) return;
  if (createconsumer) {
    if (c != nullptr) {
      ctx.reply.Integer(0);
      return;
    }
    if (consumers.Get(consumer, /*create=*/true, /*seen=*/false) == nullptr) return;
    consumers.Flush();
    StoreGroup(ctx, s, group, g);
    ctx.reply.Integer(1);
    return;
  }
  // DELCONSUMER: its pending entries leave the group's PEL too.
  if (c == nullptr) {
    ctx.reply.Integer(0);
    return;
  }
  const int64_t pending = static_cast<int64_t>(c->pel_count);
  const std::string prefix = GroupKey(s, ConsumerPendingSuffix(group, consumer));
  std::vector<std::string> keys;
  Status st = ctx.txn.ScanElements(prefix, PrefixSuccessor(prefix),
                                   [&](std::string_view k, std::string_view) {
                                     keys.emplace_back(k);
                                     return true;
                                   });
  if (EngineError(ctx, st)) return;
  for (const std::string& k : keys) {
    StreamId id;
    if (!DecodeIdBe(std::string_view(k).substr(prefix.size()), &id)) continue;
    ctx.txn.DeleteElement(k);
    ctx.txn.DeleteElement(GroupKey(s, PendingSuffix(group, id)));
    if (g.pel_count > 0) g.pel_count--;
  }
  ctx.txn.DeleteElement(GroupKey(s, ConsumerSuffix(group, consumer)));
  if (g.consumers > 0) g.consumers--;
  StoreGroup(ctx, s, group, g);
  NotifyKeyspaceEvent(ctx, kNotifyStream, "xgroup-delconsumer", key);
  ctx.reply.Integer(pending);
}

// ---- XACK / XPENDING / XCLAIM / XAUTOCLAIM ----

void XAck(CommandContext& ctx) {
  const auto& args = ctx.args;
  Stream s;
  if (!ReadStream(ctx, args[1], &s)) return;
  StreamGroup g;
  bool group_found = false;
  if (s.found && !ReadGroup(ctx, s, args[2], &g, &group_found)) return;
  if (!s.found || !group_found) {
    ctx.reply.Integer(0);
    return;
  }
  std::vector<StreamId> ids(args.size() - 3);
  for (size_t j = 3; j < args.size(); j++) {
    if (!ParseStrictId(ctx, args[j], 0, &ids[j - 3])) return;
  }
  ConsumerCache consumers(ctx, s, args[2], &g);
  int64_t acked = 0;
  for (const StreamId& id : ids) {
    StreamPending pending;
    bool found = false;
    if (!ReadPending(ctx, s, args[2], id, &pending, &found)) return;
    if (!found) continue;
    if (!RemovePending(ctx, s, args[2], consumers, id, pending, &g)) return;
    acked++;
  }
  if (acked > 0) {
    consumers.Flush();
    StoreGroup(ctx, s, args[2], g);
  }
  ctx.reply.Integer(acked);
}

std::string NoSuchKeyOrGroup(std::string_view key, std::string_view group) {
  return "NOGROUP No such key '" + std::string(key) + "' or consumer group '" + std::string(group) +
         "'";
}

void XPending(CommandContext& ctx) {
  const auto& args = ctx.args;
  const size_t argc = args.size();
  if (argc != 3 && (argc < 6 || argc > 9)) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  int64_t minidle = 0, count = 0;
  StreamId start, end = kMaxStreamId;
  std::optional<std::string> consumer;
  if (argc >= 6) {
    size_t startidx = 3;
    if (EqualsIgnoreCase(args[3], "idle")) {
      if (!ParseIntArg(ctx, args[4], &minidle)) return;
      if (argc < 8) {
        ctx.reply.Error(errors::kSyntax);
        return;
      }
      startidx += 2;
    }
    if (!ParseIntArg(ctx, args[startidx + 2], &count)) return;
    if (count < 0) count = 0;
    bool startex = false, endex = false;
    if (!ParseIntervalId(ctx, args[startidx], 0, &start, &startex)) return;
    if (startex && !IncrementId(&start)) {
      ctx.reply.Error("ERR invalid start ID for the interval");
      return;
    }
    if (!ParseIntervalId(ctx, args[startidx + 1], UINT64_MAX, &end, &endex)) return;
    if (endex && !DecrementId(&end)) {
      ctx.reply.Error("ERR invalid end ID for the interval");
      return;
    }
    if (startidx + 3 < argc) consumer = args[startidx + 3];
  }
  Stream s;
  if (!ReadStream(ctx, args[1], &s)) return;
  StreamGroup g;
  bool group_found = false;
  if (s.found && !ReadGroup(ctx, s, args[2], &g, &group_found)) return;
  if (!s.found || !group_found) {
    ctx.reply.Error(NoSuchKeyOrGroup(args[1], args[2]));
    return;
  }
  const std::string& group = args[2];
  if (argc == 3) {
    if (g.pel_count == 0) {
      ctx.reply.Array(4);
      ctx.reply.Integer(0);
      ctx.reply.Null();
      ctx.reply.Null();
      ctx.reply.NullArray();
      return;
    }
    const std::string pel = GroupKey(s, PendingSuffix(group));
    StreamId first, last;
    bool found = false;
    Status st = ctx.txn.ScanElements(pel, PrefixSuccessor(pel), [&](std::string_view k, auto) {
      found = DecodeIdBe(k.substr(pel.size()), &first);
      return false;
    });
    if (EngineError(ctx, st)) return;
    std::string last_key;
    st = ctx.txn.LastElement(pel, PrefixSuccessor(pel), &last_key, &found);
    if (EngineError(ctx, st)) return;
    if (found) (void)DecodeIdBe(std::string_view(last_key).substr(pel.size()), &last);
    ctx.reply.Array(4);
    ctx.reply.Integer(static_cast<int64_t>(g.pel_count));
    ReplyId(ctx.reply, first);
    ReplyId(ctx.reply, last);
    const std::string cons = GroupKey(s, ConsumerSuffix(group));
    std::string body;
    Reply out(&body, ctx.reply.protocol());
    size_t n = 0;
    st = ctx.txn.ScanElements(cons, PrefixSuccessor(cons),
                              [&](std::string_view k, std::string_view v) {
                                StreamConsumer c;
                                if (DecodeStreamConsumer(v, &c) && c.pel_count > 0) {
                                  out.Array(2);
                                  out.Bulk(k.substr(cons.size()));
                                  out.Bulk(std::to_string(c.pel_count));
                                  n++;
                                }
                                return true;
                              });
    if (EngineError(ctx, st)) return;
    FlushArray(ctx, n, body);
    return;
  }
  const uint64_t budget = ReplyByteBudget(ctx);
  std::string body;
  Reply out(&body, ctx.reply.protocol());
  size_t n = 0;
  const int64_t now = ctx.txn.now_ms();
  auto emit = [&](const StreamId& id, const StreamPending& p) {
    const int64_t idle = std::max<int64_t>(now - p.delivery_ms, 0);
    if (minidle != 0 && idle < minidle) return true;
    out.Array(4);
    ReplyId(out, id);
    out.Bulk(p.consumer);
    out.Integer(idle);
    out.Integer(static_cast<int64_t>(p.delivery_count));
    n++;
    return n < static_cast<uint64_t>(count) && body.size() <= budget;
  };
  if (count > 0 && start <= end) {
    if (!consumer) {
      const std::string pel = GroupKey(s, PendingSuffix(group));
      std::string lower = pel, upper = pel;
      AppendIdBe(start, &lower);
      AppendIdBe(end, &upper);
      upper.push_back('\0');
      Status st = ctx.txn.ScanElements(lower, upper, [&](std::string_view k, std::string_view v) {
        StreamId id;
        StreamPending p;
        if (!DecodeIdBe(k.substr(pel.size()), &id) || !DecodeStreamPending(v, &p)) return true;
        return emit(id, p);
      });
      if (EngineError(ctx, st)) return;
    } else {
      const std::string cpel = GroupKey(s, ConsumerPendingSuffix(group, *consumer));
      std::string lower = cpel, upper = cpel;
      AppendIdBe(start, &lower);
      AppendIdBe(end, &upper);
      upper.push_back('\0');
      std::vector<StreamId> ids;
      Status st = ctx.txn.ScanElements(lower, upper, [&](std::string_view k, std::string_view) {
        StreamId id;
        if (DecodeIdBe(k.substr(cpel.size()), &id)) ids.push_back(id);
        return true;
      });
      if (EngineError(ctx, st)) return;
      for (const StreamId& id : ids) {
        StreamPending p;
        bool found = false;
        if (!ReadPending(ctx, s, group, id, &p, &found)) return;
        if (found && !emit(id, p)) break;
      }
    }
  }
  FlushArray(ctx, n, body);
}

// Claims the PEL entry id of group for consumer (XCLAIM, XAUTOCLAIM).
bool Claim(CommandContext& ctx, Stream& s, std::string_view group, StreamGroup* g,
           ConsumerCache& consumers, std::string_view consumer, const StreamId& id,
           StreamPending* pending, bool existed, int64_t delivery_ms, int64_t retrycount,
           bool justid) {
  pending->delivery_ms = delivery_ms;
  if (retrycount >= 0) {
    pending->delivery_count = static_cast<uint64_t>(retrycount);
  } else if (!justid) {
    pending->delivery_count++;
  }
  if (consumers.Get(consumer, /*create=*/true, /*seen=*/true) == nullptr) return false;
  return AssignPending(ctx, s, group, consumers, id, pending, existed, consumer, g);
}

// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms]
//   [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id]
void XClaim(CommandContext& ctx) {
  const auto& args = ctx.args;
  Stream s;
  if (!ReadStream(ctx, args[1], &s)) return;
  StreamGroup g;
  bool group_found = false;
  if (s.found && !ReadGroup(ctx, s, args[2], &g, &group_found)) return;
  if (!s.found || !group_found) {
    ctx.reply.Error(NoSuchKeyOrGroup(args[1], args[2]));
    return;
  }
  int64_t minidle = 0;
  if (!ParseInt64(args[4], &minidle)) {
    ctx.reply.Error("ERR Invalid min-idle-time argument for XCLAIM");
    return;
  }
  if (minidle < 0) minidle = 0;
  std::vector<StreamId> ids;
  size_t j = 5;
  for (; j < args.size(); j++) {
    StreamId id;
    if (!ParseStreamId(args[j], 0, &id)) break;
    ids.push_back(id);
  }
  const int64_t now = ctx.txn.now_ms();
  int64_t delivery = -1, retrycount = -1;
  bool force = false, justid = false;
  StreamId last_id;
  for (; j < args.size(); j++) {
    const size_t more = args.size() - 1 - j;
    const std::string& opt = args[j];
    int64_t value = 0;
    if (EqualsIgnoreCase(opt, "force")) {
      force = true;
    } else if (EqualsIgnoreCase(opt, "justid")) {
      justid = true;
    } else if (EqualsIgnoreCase(opt, "idle") && more > 0) {
      if (!ParseInt64(args[++j], &value)) {
        ctx.reply.Error("ERR Invalid IDLE option argument for XCLAIM");
        return;
      }
      delivery = now - value;
    } else if (EqualsIgnoreCase(opt, "time") && more > 0) {
      if (!ParseInt64(args[++j], &value)) {
        ctx.reply.Error("ERR Invalid TIME option argument for XCLAIM");
        return;
      }
      delivery = value;
    } else if (EqualsIgnoreCase(opt, "retrycount") && more > 0) {
      if (!ParseInt64(args[++j], &retrycount)) {
        ctx.reply.Error("ERR Invalid RETRYCOUNT option argument for XCLAIM");
        return;
      }
    } else if (EqualsIgnoreCase(opt, "lastid") && more > 0) {
      if (!ParseStrictId(ctx, args[++j], 0, &last_id)) return;
    } else {
      ctx.reply.Error("ERR Unrecognized XCLAIM option '" + opt + "'");
      return;
    }
  }
  if (delivery < 0 || delivery > now) delivery = now;
  if (NameTooLong(ctx, args[3])) return;
  const std::string& group = args[2];
  if (last_id > g.last_id) g.last_id = last_id;
  ConsumerCache consumers(ctx, s, group, &g);
  const uint64_t budget = ReplyByteBudget(ctx);
  std::string body;
  Reply out(&body, ctx.reply.protocol());
  size_t n = 0;
  for (const StreamId& id : ids) {
    StreamPending pending;
    bool existed = false;
    if (!ReadPending(ctx, s, group, id, &pending, &existed)) return;
    std::string value;
    bool entry_found = false;
    if (EngineError(ctx, ctx.txn.GetElement(EntryKey(s, id), &value, &entry_found))) return;
    if (!entry_found) {
      if (existed && !RemovePending(ctx, s, group, consumers, id, pending, &g)) return;
      continue;
    }
    bool fresh = false;
    if (force && !existed) {
      pending = StreamPending{now, 1, ""};
      fresh = true;
    } else if (!existed) {
      continue;
    }
    if (!fresh && minidle != 0 && now - pending.delivery_ms < minidle) continue;
    if (fresh) {
      // A FORCEd entry: a new PEL entry owned by consumer.
      pending.delivery_ms = delivery;
      if (retrycount >= 0) {
        pending.delivery_count = static_cast<uint64_t>(retrycount);
      } else if (!justid) {
        pending.delivery_count++;
      }
      if (consumers.Get(args[3], true, true) == nullptr) return;
      if (!AssignPending(ctx, s, group, consumers, id, &pending, false, args[3], &g)) return;
    } else if (!Claim(ctx, s, group, &g, consumers, args[3], id, &pending, true, delivery,
                      retrycount, justid)) {
      return;
    }
    if (justid) {
      ReplyId(out, id);
    } else {
      ReplyEntry(out, id, value);
    }
    n++;
    if (body.size() > budget) break;
  }
  consumers.Flush();
  StoreGroup(ctx, s, group, g);
  FlushArray(ctx, n, body);
}

// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
void XAutoClaim(CommandContext& ctx) {
  const auto& args = ctx.args;
  int64_t minidle = 0;
  if (!ParseInt64(args[4], &minidle)) {
    ctx.reply.Error("ERR Invalid min-idle-time argument for XAUTOCLAIM");
    return;
  }
  if (minidle < 0) minidle = 0;
  StreamId start;
  bool startex = false;
  if (!ParseIntervalId(ctx, args[5], 0, &start, &startex)) return;
  if (startex && !IncrementId(&start)) {
    ctx.reply.Error("ERR invalid start ID for the interval");
    return;
  }
  int64_t count = 100;
  bool justid = false;
  constexpr int64_t kAttemptsFactor = 10;
  for (size_t j = 6; j < args.size(); j++) {
    const size_t more = args.size() - 1 - j;
    if (EqualsIgnoreCase(args[j], "count") && more > 0) {
      if (!ParseInt64(args[j + 1], &count) || count < 1 ||
          count > std::numeric_limits<int64_t>::max() / 16) {
        ctx.reply.Error("ERR COUNT must be > 0");
        return;
      }
      j++;
    } else if (EqualsIgnoreCase(args[j], "justid")) {
      justid = true;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  Stream s;
  if (!ReadStream(ctx, args[1], &s)) return;
  StreamGroup g;
  bool group_found = false;
  if (s.found && !ReadGroup(ctx, s, args[2], &g, &group_found)) return;
  if (!s.found || !group_found) {
    ctx.reply.Error(NoSuchKeyOrGroup(args[1], args[2]));
    return;
  }
  if (NameTooLong(ctx, args[3])) return;
  const std::string& group = args[2];
  const int64_t now = ctx.txn.now_ms();
  // The PEL entries to examine: at most count * 10, plus the next one (the
  // cursor).
  const std::string pel = GroupKey(s, PendingSuffix(group));
  std::string lower = pel;
  AppendIdBe(start, &lower);
  const uint64_t attempts =
      static_cast<uint64_t>(std::min<int64_t>(count * kAttemptsFactor, 1 << 20));
  std::vector<std::pair<StreamId, StreamPending>> candidates;
  Status st = ctx.txn.ScanElements(
      lower, PrefixSuccessor(pel), [&](std::string_view k, std::string_view v) {
        StreamId id;
        StreamPending p;
        if (DecodeIdBe(k.substr(pel.size()), &id) && DecodeStreamPending(v, &p)) {
          candidates.emplace_back(id, std::move(p));
        }
        return candidates.size() < attempts + 1;
      });
  if (EngineError(ctx, st)) return;
  ConsumerCache consumers(ctx, s, group, &g);
  const uint64_t budget = ReplyByteBudget(ctx);
  std::string body, deleted_body;
  Reply out(&body, ctx.reply.protocol());
  Reply deleted(&deleted_body, ctx.reply.protocol());
  size_t claimed = 0, deleted_n = 0, examined = 0;
  int64_t left = count;
  for (auto& [id, pending] : candidates) {
    if (examined == attempts || left == 0) break;
    examined++;
    std::string value;
    bool entry_found = false;
    if (EngineError(ctx, ctx.txn.GetElement(EntryKey(s, id), &value, &entry_found))) return;
    if (!entry_found) {
      if (!RemovePending(ctx, s, group, consumers, id, pending, &g)) return;
      ReplyId(deleted, id);
      deleted_n++;
      left--;  // deleted entries count against COUNT too (Redis 7.0)
      continue;
    }
    if (minidle != 0 && now - pending.delivery_ms < minidle) continue;
    if (!Claim(ctx, s, group, &g, consumers, args[3], id, &pending, true, now, -1, justid)) return;
    if (justid) {
      ReplyId(out, id);
    } else {
      ReplyEntry(out, id, value);
    }
    claimed++;
    left--;
    if (body.size() > budget) break;
  }
  StreamId cursor;
  if (examined < candidates.size()) cursor = candidates[examined].first;
  consumers.Flush();
  StoreGroup(ctx, s, group, g);
  ctx.reply.Array(3);
  ReplyId(ctx.reply, cursor);
  FlushArray(ctx, claimed, body);
  FlushArray(ctx, deleted_n, deleted_body);
}

// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
void XSetId(CommandContext& ctx) {
  const auto& args = ctx.args;
  StreamId id, max_xdel;
  int64_t entries_added = -1;
  if (!ParseStrictId(ctx, args[2], 0, &id)) return;
  for (size_t i = 3; i < args.size(); i++) {
    const size_t more = args.size() - 1 - i;
    if (EqualsIgnoreCase(args[i], "entriesadded") && more > 0) {
      if (!ParseIntArg(ctx, args[i + 1], &entries_added)) return;
      if (entries_added < 0) {
        ctx.reply.Error("ERR entries_added must be positive");
        return;
      }
      i++;
    } else if (EqualsIgnoreCase(args[i], "maxdeletedid") && more > 0) {
      if (!ParseStrictId(ctx, args[i + 1], 0, &max_xdel)) return;
      if (id < max_xdel) {
        ctx.reply.Error(
            "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
        return;
      }
      i++;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  Stream s;
  if (!ReadStream(ctx, args[1], &s)) return;
  if (!s.found) {
    ctx.reply.Error("ERR no such key");
    return;
  }
  StreamMeta& m = s.meta;
  if (m.length > 0) {
    StreamId top;
    bool found = false;
    if (EngineError(ctx, EdgeEntry(ctx, s, true, &top, &found))) return;
    if (found && id < top) {
      ctx.reply.Error("ERR The ID specified in XSETID is smaller than the target stream top item");
      return;
    }
    if (entries_added != -1 && m.length > static_cast<uint64_t>(entries_added)) {
      ctx.reply.Error(
          "ERR The entries_added specified in XSETID is smaller than the target stream length");
      return;
    }
  }
  if (id < m.max_deleted) {
    ctx.reply.Error("ERR The ID specified in XSETID is smaller than current max_deleted_entry_id");
    return;
  }
  m.last_id = id;
  if (entries_added != -1) m.entries_added = static_cast<uint64_t>(entries_added);
  if (!max_xdel.IsZero()) m.max_deleted = max_xdel;
  StoreStream(ctx, args[1], s);
  NotifyKeyspaceEvent(ctx, kNotifyStream, "xsetid", args[1]);
  ctx.reply.Ok();
}

// ---- XINFO ----

// A map of pairs in RESP3, a flat array in RESP2 (Reply::Map degrades).
void XInfoStream(CommandContext& ctx, const Stream& s, bool full, int64_t count) {
  const StreamMeta& m = s.meta;
  Reply& r = ctx.reply;
  const uint64_t block = TrimBlock(ctx);
  const uint64_t blocks = m.length == 0 ? 0 : (m.length + block - 1) / block;
  r.Map(full ? 9 : 10);
  r.Bulk("length");
  r.Integer(static_cast<int64_t>(m.length));
  r.Bulk("radix-tree-keys");
  r.Integer(static_cast<int64_t>(blocks));
  r.Bulk("radix-tree-nodes");
  r.Integer(static_cast<int64_t>(blocks + 1));
  r.Bulk("last-generated-id");
  ReplyId(r, m.last_id);
  r.Bulk("max-deleted-entry-id");
  ReplyId(r, m.max_deleted);
  r.Bulk("entries-added");
  r.Integer(static_cast<int64_t>(m.entries_added));
  r.Bulk("recorded-first-entry-id");
  ReplyId(r, m.first_id);
  const uint64_t budget = ReplyByteBudget(ctx);
  if (!full) {
    r.Bulk("groups");
    r.Integer(static_cast<int64_t>(m.groups));
    for (const bool last : {false, true}) {
      r.Bulk(last ? "last-entry" : "first-entry");
      bool found = false;
      Status st = ScanEntries(ctx, s, StreamId{}, kMaxStreamId, last,
                              [&](const StreamId& id, std::string_view value) {
                                ReplyEntry(r, id, value);
                                found = true;
                                return false;
                              });
      if (!st.ok() || !found) r.Null();
    }
    return;
  }
  std::string body;
  Reply out(&body, r.protocol());
  size_t n = 0;
  Status st = ScanEntries(
      ctx, s, StreamId{}, kMaxStreamId, false, [&](const StreamId& id, std::string_view value) {
        ReplyEntry(out, id, value);
        n++;
        return (count == 0 || n < static_cast<uint64_t>(count)) && body.size() <= budget;
      });
  r.Bulk("entries");
  FlushArray(ctx, st.ok() ? n : 0, st.ok() ? body : std::string());
  r.Bulk("groups");
  // Groups, each with its PEL and consumers (each list cut at count).
  std::vector<std::pair<std::string, StreamGroup>> groups;
  const std::string gprefix = GroupKey(s, std::string(1, '\0'));
  st = ctx.txn.ScanElements(gprefix, PrefixSuccessor(gprefix),
                            [&](std::string_view k, std::string_view v) {
                              StreamGroup g;
                              if (DecodeStreamGroup(v, &g))
                                groups.emplace_back(std::string(k.substr(gprefix.size())), g);
                              return true;
                            });
  std::string gbody;
  Reply go(&gbody, r.protocol());
  for (const auto& [name, g] : groups) {
    go.Map(7);
    go.Bulk("name");
    go.Bulk(name);
    go.Bulk("last-delivered-id");
    ReplyId(go, g.last_id);
    go.Bulk("entries-read");
    if (g.entries_read == -1) {
      go.Null();
    } else {
      go.Integer(g.entries_read);
    }
    go.Bulk("lag");
    const int64_t lag = GroupLag(m, g);
    if (lag == -1) {
      go.Null();
    } else {
      go.Integer(lag);
    }
    go.Bulk("pel-count");
    go.Integer(static_cast<int64_t>(g.pel_count));
    go.Bulk("pending");
    const std::string pel = GroupKey(s, PendingSuffix(name));
    std::string pbody;
    Reply po(&pbody, r.protocol());
    size_t pn = 0;
    (void)ctx.txn.ScanElements(
        pel, PrefixSuccessor(pel), [&](std::string_view k, std::string_view v) {
          StreamId id;
          StreamPending p;
          if (DecodeIdBe(k.substr(pel.size()), &id) && DecodeStreamPending(v, &p)) {
            po.Array(4);
            ReplyId(po, id);
            po.Bulk(p.consumer);
            po.Integer(p.delivery_ms);
            po.Integer(static_cast<int64_t>(p.delivery_count));
            pn++;
          }
          return (count == 0 || pn < static_cast<uint64_t>(count)) && pbody.size() <= budget;
        });
    go.Array(pn);
    gbody.append(pbody);
    go.Bulk("consumers");
    const std::string cons = GroupKey(s, ConsumerSuffix(name));
    std::vector<std::pair<std::string, StreamConsumer>> consumers;
    (void)ctx.txn.ScanElements(cons, PrefixSuccessor(cons),
                               [&](std::string_view k, std::string_view v) {
                                 StreamConsumer c;
                                 if (DecodeStreamConsumer(v, &c))
                                   consumers.emplace_back(std::string(k.substr(cons.size())), c);
                                 return gbody.size() <= budget;
                               });
    go.Array(consumers.size());
    for (const auto& [cname, c] : consumers) {
      go.Map(4);
      go.Bulk("name");
      go.Bulk(cname);
      go.Bulk("seen-time");
      go.Integer(c.seen_ms);
      go.Bulk("pel-count");
      go.Integer(static_cast<int64_t>(c.pel_count));
      go.Bulk("pending");
      const std::string cpel = GroupKey(s, ConsumerPendingSuffix(name, cname));
      std::vector<StreamId> ids;
      (void)ctx.txn.ScanElements(cpel, PrefixSuccessor(cpel), [&](std::string_view k, auto) {
        StreamId id;
        if (DecodeIdBe(k.substr(cpel.size()), &id)) ids.push_back(id);
        return count == 0 || ids.size() < static_cast<uint64_t>(count);
      });
      go.Array(ids.size());
      for (const StreamId& id : ids) {
        StreamPending p;
        bool found = false;
        std::string value;
        if (ctx.txn.GetElement(GroupKey(s, PendingSuffix(name, id)), &value, &found).ok() &&
            found) {
          (void)DecodeStreamPending(value, &p);
        }
        go.Array(3);
        ReplyId(go, id);
        go.Integer(p.delivery_ms);
        go.Integer(static_cast<int64_t>(p.delivery_count));
      }
    }
  }
  FlushArray(ctx, groups.size(), gbody);
}

void XInfo(CommandContext& ctx) {
  const auto& args = ctx.args;
  const std::string sub = ToLower(args[1]);
  if (sub == "help" && args.size() == 2) {
    static const char* const kHelp[] = {
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Print this help."};
    ctx.reply.Array(std::size(kHelp));
    for (const char* line : kHelp) ctx.reply.Status(line);
    return;
  }
  const bool stream = sub == "stream", groups = sub == "groups", consumers = sub == "consumers";
  if (sub == "help") {
    ctx.reply.Error(ArityError("xinfo|help"));
    return;
  }
  if (!stream && !groups && !consumers) {
    ctx.reply.Error(UnknownSubcommandError(args[1], "XINFO"));
    return;
  }
  if ((stream && args.size() < 3) || (groups && args.size() != 3) ||
      (consumers && args.size() != 4)) {
    ctx.reply.Error(ArityError("xinfo|" + sub));
    return;
  }
  bool full = false;
  int64_t count = 10;
  if (stream && args.size() > 3) {
    const std::string syntax = "ERR unknown subcommand or wrong number of arguments for '" +
                               args[1] + "'. Try XINFO HELP.";
    if (!EqualsIgnoreCase(args[3], "full")) {
      ctx.reply.Error(syntax);
      return;
    }
    full = true;
    if (args.size() > 4) {
      if (args.size() != 6 || !EqualsIgnoreCase(args[4], "count")) {
        ctx.reply.Error(syntax);
        return;
      }
      if (!ParseIntArg(ctx, args[5], &count)) return;
      if (count < 0) count = 10;
    }
  }
  Stream s;
  if (!ReadStream(ctx, args[2], &s)) return;
  if (!s.found) {
    ctx.reply.Error("ERR no such key");
    return;
  }
  if (stream) {
    XInfoStream(ctx, s, full, count);
    return;
  }
  if (groups) {
    const std::string gprefix = GroupKey(s, std::string(1, '\0'));
    std::string body;
    Reply out(&body, ctx.reply.protocol());
    size_t n = 0;
    Status st = ctx.txn.ScanElements(gprefix, PrefixSuccessor(gprefix),
                                     [&](std::string_view k, std::string_view v) {
                                       StreamGroup g;
                                       if (!DecodeStreamGroup(v, &g)) return true;
                                       out.Map(6);
                                       out.Bulk("name");
                                       out.Bulk(k.substr(gprefix.size()));
                                       out.Bulk("consumers");
                                       out.Integer(static_cast<int64_t>(g.consumers));
                                       out.Bulk("pending");
                                       out.Integer(static_cast<int64_t>(g.pel_count));
                                       out.Bulk("last-delivered-id");
                                       ReplyId(out, g.last_id);
                                       out.Bulk("entries-read");
                                       if (g.entries_read == -1) {
                                         out.Null();
                                       } else {
                                         out.Integer(g.entries_read);
                                       }
                                       out.Bulk("lag");
                                       const int64_t lag = GroupLag(s.meta, g);
                                       if (lag == -1) {
                                         out.Null();
                                       } else {
                                         out.Integer(lag);
                                       }
                                       n++;
                                       return true;
                                     });
    if (EngineError(ctx, st)) return;
    FlushArray(ctx, n, body);
    return;
  }
  StreamGroup g;
  bool group_found = false;
  if (!ReadGroup(ctx, s, args[3], &g, &group_found)) return;
  if (!group_found) {
    ctx.reply.Error(NoGroupForKey(args[3], args[2]));
    return;
  }
  const std::string cons = GroupKey(s, ConsumerSuffix(args[3]));
  std::string body;
  Reply out(&body, ctx.reply.protocol());
  size_t n = 0;
  const int64_t now = ctx.txn.now_ms();
  Status st = ctx.txn.ScanElements(cons, PrefixSuccessor(cons),
                                   [&](std::string_view k, std::string_view v) {
                                     StreamConsumer c;
                                     if (!DecodeStreamConsumer(v, &c)) return true;
                                     out.Map(3);
                                     out.Bulk("name");
                                     out.Bulk(k.substr(cons.size()));
                                     out.Bulk("pending");
                                     out.Integer(static_cast<int64_t>(c.pel_count));
                                     out.Bulk("idle");
                                     out.Integer(std::max<int64_t>(now - c.seen_ms, 0));
                                     n++;
                                     return true;
                                   });
  if (EngineError(ctx, st)) return;
  FlushArray(ctx, n, body);
}

// XGROUP and XINFO: the key is the third argument, when there is one.
void SubcommandKey(const std::vector<std::string>& args, std::vector<std::string_view>* keys) {
  if (args.size() > 2) keys->push_back(args[2]);
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, CommandHandler handler,
         int first_key = 1, int last_key = 1, KeyFinder find_keys = nullptr) {
  list->push_back(std::unique_ptr<CommandSpec>(new CommandSpec{name,
                                                               arity,
                                                               flags,
                                                               first_key,
                                                               last_key,
                                                               first_key > 0 ? 1 : 0,
                                                               "stream",
                                                               handler,
                                                               {},
                                                               find_keys}));
}

}  // namespace

void RegisterStreamCommands(CommandList* list) {
  const uint32_t kRead = kCmdReadOnly | kCmdFast;
  const uint32_t kWriteFast = kCmdWrite | kCmdFast;
  Add(list, "xadd", -5, kWriteFast, XAdd);
  Add(list, "xlen", 2, kRead, XLen);
  Add(list, "xrange", -4, kCmdReadOnly, XRange);
  Add(list, "xrevrange", -4, kCmdReadOnly, XRevRange);
  Add(list, "xdel", -3, kWriteFast, XDel);
  Add(list, "xtrim", -4, kCmdWrite, XTrim);
  Add(list, "xread", -4, kCmdReadOnly, XRead, 0, 0, ReadKeys);
  Add(list, "xreadgroup", -7, kCmdWrite, XReadGroup, 0, 0, ReadKeys);
  Add(list, "xgroup", -2, kCmdWrite, XGroup, 0, 0, SubcommandKey);
  Add(list, "xack", -4, kWriteFast, XAck);
  Add(list, "xpending", -3, kCmdReadOnly, XPending);
  Add(list, "xclaim", -6, kWriteFast, XClaim);
  Add(list, "xautoclaim", -6, kWriteFast, XAutoClaim);
  Add(list, "xinfo", -2, kCmdReadOnly, XInfo, 0, 0, SubcommandKey);
  Add(list, "xsetid", -3, kWriteFast, XSetId);
}

}  // namespace lsmkv::server
