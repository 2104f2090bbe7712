#include "server/notify.h"

#include "server/command.h"
#include "server/config.h"
#include "server/keyspace.h"
#include "server/pubsub.h"

namespace lsmkv::server {

namespace {

struct FlagLetter {
  char letter;
  uint32_t bits;
};

// Every accepted character. Its order is not CONFIG GET's (see
// NotifyFlagsToString).
constexpr FlagLetter kLetters[] = {
    {'A', kNotifyAll},     {'g', kNotifyGeneric},  {'$', kNotifyString},   {'l', kNotifyList},
    {'s', kNotifySet},     {'h', kNotifyHash},     {'z', kNotifyZset},     {'x', kNotifyExpired},
    {'e', kNotifyEvicted}, {'K', kNotifyKeyspace}, {'E', kNotifyKeyevent}, {'t', kNotifyStream},
    {'m', kNotifyKeyMiss}, {'d', kNotifyModule},   {'n', kNotifyNew}};

// The logical database whose physical database is physical_db (SWAPDB may
// have exchanged them); physical_db itself if none maps to it.
int LogicalDb(Keyspace* keyspace, int physical_db) {
  for (int db = 0; db < kMaxDatabases; db++) {
    if (keyspace->PhysicalDb(db) == physical_db) return db;
  }
  return physical_db;
}

void Publish(ServerContext& server, uint32_t flags, int physical_db, std::string_view event,
             std::string_view key) {
  if (server.pubsub == nullptr) return;
  const uint64_t limit = static_cast<uint64_t>(server.config->PubsubOutputLimit());
  const std::string db = std::to_string(LogicalDb(server.keyspace, physical_db));
  std::string channel;
  if (flags & kNotifyKeyspace) {
    channel.reserve(16 + db.size() + key.size());
    channel.append("__keyspace@").append(db).append("__:").append(key);
    server.pubsub->Publish(PubSub::Kind::kChannel, channel, event, limit);
  }
  if (flags & kNotifyKeyevent) {
    channel.clear();
    channel.append("__keyevent@").append(db).append("__:").append(event);
    server.pubsub->Publish(PubSub::Kind::kChannel, channel, key, limit);
  }
}

}  // namespace

bool ParseNotifyFlags(std::string_view text, uint32_t* flags) {
  uint32_t result = 0;
  for (char c : text) {
    bool known = false;
    for (const FlagLetter& f : kLetters) {
      if (f.letter == c) {
        result |= f.bits;
        known = true;
        break;
      }
    }
    if (!known) return false;
  }
  *flags = result;
  return true;
}

std::string NotifyFlagsToString(uint32_t flags) {
  std::string out;
  if ((flags & kNotifyAll) == kNotifyAll) {
    out += 'A';
  } else {
    static constexpr FlagLetter kClasses[] = {
        {'g', kNotifyGeneric}, {'$', kNotifyString}, {'l', kNotifyList},    {'s', kNotifySet},
        {'h', kNotifyHash},    {'z', kNotifyZset},   {'x', kNotifyExpired}, {'e', kNotifyEvicted},
        {'t', kNotifyStream},  {'d', kNotifyModule}, {'n', kNotifyNew}};
    for (const FlagLetter& f : kClasses) {
      if (flags & f.bits) out += f.letter;
    }
  }
  if (flags & kNotifyKeyspace) out += 'K';
  if (flags & kNotifyKeyevent) out += 'E';
  if (flags & kNotifyKeyMiss) out += 'm';
  return out;
}

void PendingEvents::Add(NotifyClass cls, int db, std::string_view event, std::string_view key) {
  events_.push_back(PendingEvent{flags_, cls, db, std::string(event), std::string(key)});
}

bool PendingEvents::FirstWrite(int db, std::string_view key) {
  std::string id;
  id.reserve(1 + key.size());
  id.push_back(static_cast<char>(db));
  id.append(key);
  return written_.insert(std::move(id)).second;
}

void NotifyKeyspaceEvent(CommandContext& ctx, NotifyClass cls, std::string_view event,
                         std::string_view key) {
  PendingEvents& events = ctx.txn.events();
  if (!events.Wants(cls)) return;
  events.Add(cls, ctx.txn.db(), event, key);
}

void NotifyKeyspaceEventInDb(CommandContext& ctx, NotifyClass cls, std::string_view event,
                             std::string_view key, int physical_db) {
  PendingEvents& events = ctx.txn.events();
  if (!events.Wants(cls)) return;
  events.Add(cls, physical_db, event, key);
}

void NotifyIfEmptied(CommandContext& ctx, uint64_t remaining, std::string_view key) {
  if (remaining == 0) NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", key);
}

void NotifyReplacedAsNew(CommandContext& ctx, std::string_view key) {
  if (!ctx.txn.events().Wants(kNotifyNew | kNotifyExpired)) return;
  ctx.txn.QueueReplacementEvents(key, /*always_new=*/true);
}

void PublishPendingEvents(ServerContext& server, Txn& txn) {
  PendingEvents& events = txn.events();
  if (events.empty()) return;
  for (const PendingEvent& e : events.events()) Publish(server, e.flags, e.db, e.event, e.key);
  events.clear();
}

void PublishEvent(ServerContext& server, uint32_t flags, NotifyClass cls, int physical_db,
                  std::string_view event, std::string_view key) {
  PendingEvents check;
  check.set_flags(flags);
  if (!check.Wants(cls)) return;
  Publish(server, flags, physical_db, event, key);
}

}  // namespace lsmkv::server
