// Keyspace notifications (Redis's notify-keyspace-events): the event
// classes, the flag string CONFIG GET/SET uses, and the per-command queue of
// events a Txn carries until its writes are committed.
//
// Delivery: a handler reports each change with NotifyKeyspaceEvent (in the
// order of its changes). The event is queued in the command's Txn
// (PendingEvents) and published through the pub/sub registry only after the
// Txn's writes are committed (PublishPendingEvents, called by the
// dispatcher), on "__keyspace@<db>__:<key>" (message: the event) and/or
// "__keyevent@<db>__:<event>" (message: the key). A commit that fails drops
// the events. As in Redis delivery is at most once and nothing is stored: a
// subscriber that is not connected, or is disconnected for its output
// limit, misses the events.
//
// Cost when notifications are off: the dispatcher reads the setting once per
// command (one relaxed atomic load) into the Txn's PendingEvents; every
// NotifyKeyspaceEvent then tests one bit of that copy.
//
// Thread safety: PendingEvents belongs to its Txn's thread. The functions
// are thread-safe (the pub/sub registry is).
#ifndef LSMKV_SERVER_NOTIFY_H_
#define LSMKV_SERVER_NOTIFY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace lsmkv::server {

// Redis's event classes; the letters are notify-keyspace-events' flags.
enum NotifyClass : uint32_t {
  kNotifyKeyspace = 1u << 0,  // K: publish on __keyspace@<db>__:<key>
  kNotifyKeyevent = 1u << 1,  // E: publish on __keyevent@<db>__:<event>
  kNotifyGeneric = 1u << 2,   // g: del, expire, rename_from...
  kNotifyString = 1u << 3,    // $
  kNotifyList = 1u << 4,      // l
  kNotifySet = 1u << 5,       // s
  kNotifyHash = 1u << 6,      // h
  kNotifyZset = 1u << 7,      // z
  kNotifyExpired = 1u << 8,   // x
  kNotifyEvicted = 1u << 9,   // e (lsmkv-server never evicts)
  kNotifyStream = 1u << 10,   // t
  kNotifyKeyMiss = 1u << 11,  // m (accepted; lsmkv-server publishes no keymiss events)
  kNotifyModule = 1u << 13,   // d (accepted; there are no modules)
  kNotifyNew = 1u << 14,      // n: a key was created
};
// A: g$lshzxetd (not n or m, as in Redis 7.0).
inline constexpr uint32_t kNotifyAll = kNotifyGeneric | kNotifyString | kNotifyList | kNotifySet |
                                       kNotifyHash | kNotifyZset | kNotifyExpired | kNotifyEvicted |
                                       kNotifyStream | kNotifyModule;

// Parses a notify-keyspace-events value (any order, repeats allowed, "" =
// off). False if it holds a character that is no flag (*flags unchanged).
bool ParseNotifyFlags(std::string_view text, uint32_t* flags);
// The value as CONFIG GET shows it, in Redis 7.0's canonical order: "A" if
// every class of kNotifyAll is set (then n is not shown, as Redis does),
// else g$lshzxetdn as set; then K, E, m.
std::string NotifyFlagsToString(uint32_t flags);

// One queued event. db is the physical database (Txn::db()) the change was
// made in: PublishPendingEvents names the logical one.
struct PendingEvent {
  uint32_t flags;  // the flags in force when it was queued (K, E)
  NotifyClass cls;
  int db;
  std::string event;
  std::string key;
};

// The events of the commands run in one Txn, not yet published.
class PendingEvents {
 public:
  // The notify-keyspace-events flags in force for the next command
  // (the dispatcher sets them before each handler runs).
  // Also starts a command (FirstWrite forgets the keys of the last one).
  void set_flags(uint32_t flags) {
    flags_ = flags;
    written_.clear();
  }
  uint32_t flags() const { return flags_; }
  // True if an event of class cls would be published.
  bool Wants(uint32_t cls) const {
    return (flags_ & cls) != 0 && (flags_ & (kNotifyKeyspace | kNotifyKeyevent)) != 0;
  }
  // Queues the event. REQUIRES: Wants(cls).
  void Add(NotifyClass cls, int db, std::string_view event, std::string_view key);
  // True the first time the current command asks about key in db: a key is
  // "new" (or "expired") once per command even when written twice. O(1).
  bool FirstWrite(int db, std::string_view key);

  bool empty() const { return events_.empty(); }
  void clear() {
    events_.clear();
    written_.clear();
  }
  const std::vector<PendingEvent>& events() const { return events_; }

 private:
  uint32_t flags_ = 0;
  std::vector<PendingEvent> events_;
  std::unordered_set<std::string> written_;  // FirstWrite's: db byte + key
};

struct CommandContext;
struct ServerContext;
class Txn;

// Reports a change of key (in the command's current database, ctx.txn.db())
// as event of class cls; queued for publication after the commit. Call it
// after the change, only when something changed, in the order of the
// changes.
void NotifyKeyspaceEvent(CommandContext& ctx, NotifyClass cls, std::string_view event,
                         std::string_view key);
// The same for a change in physical database db (MOVE, COPY ... DB).
void NotifyKeyspaceEventInDb(CommandContext& ctx, NotifyClass cls, std::string_view event,
                             std::string_view key, int physical_db);

// After a collection command stored key with remaining elements left:
// notifies "del" (generic) if none are left (the key was deleted), as Redis
// does after the command's own event.
void NotifyIfEmptied(CommandContext& ctx, uint64_t remaining, std::string_view key);

// Before a command overwrites key (in the Txn's current database) with a
// Put that Redis makes by deleting the old value first (RENAME, COPY
// REPLACE): queues "new" for key even if it exists (after "expired" if its
// value's deadline had passed), as the flags ask. The Put then queues
// nothing more for key.
void NotifyReplacedAsNew(CommandContext& ctx, std::string_view key);

// Publishes txn's queued events (after its commit succeeded) and empties
// the queue. Events are published as the flags were when each was queued.
void PublishPendingEvents(ServerContext& server, Txn& txn);
// Publishes one event now (the expiry sweep: nothing to commit after it).
// Does nothing if flags do not ask for cls.
void PublishEvent(ServerContext& server, uint32_t flags, NotifyClass cls, int physical_db,
                  std::string_view event, std::string_view key);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_NOTIFY_H_
