// The background expiry sweep: reads the expiry hints ('x' keys of database
// 0 and 'X' keys of the others, ordered by deadline in each database) that
// are due, and deletes each hinted key whose stored value has
// in fact expired, together with the hint. A hint whose key was since
// overwritten, persisted or given a later deadline is just dropped (the new
// deadline, if any, has its own hint). Each slice handles at most max_keys
// hints and holds the key stripes of its keys while it decides and commits,
// so it never deletes a value a client has just rewritten.
#ifndef LSMKV_SERVER_EXPIRY_SWEEPER_H_
#define LSMKV_SERVER_EXPIRY_SWEEPER_H_

#include <cstdint>
#include <functional>
#include <string_view>

#include "lsmkv/status.h"
#include "server/keyspace.h"

namespace lsmkv::server {

inline constexpr size_t kSweepKeysPerSlice = 1000;

// Called for each key a sweep deleted: its physical database and user key.
using ExpiredKeyFn = std::function<void(int db, std::string_view key)>;

// One slice at now_ms. *removed counts the keys deleted (also added to
// keyspace->expired_keys). If on_expired is set, it is called for each
// deleted key, in deletion order, once the deletion is applied and while
// the keys' stripes are still held (the "expired" keyspace notifications
// then precede the events of any later write of those keys).
Status SweepExpired(Keyspace* keyspace, int64_t now_ms, size_t max_keys, uint64_t* removed,
                    const ExpiredKeyFn& on_expired = nullptr);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_EXPIRY_SWEEPER_H_
