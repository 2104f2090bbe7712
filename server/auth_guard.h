// AuthGuard: limits password guessing. Failed AUTH (or HELLO ... AUTH)
// attempts are counted per source address in a bounded table: a source
// with `max_failures` failures, each less than `block_ms` after the one
// before, is blocked — its AUTHs are refused without checking the password
// — until `block_ms` after its last failure; then it starts again from zero.
// So one address gets at most max_failures guesses per block_ms, whatever
// the number of connections it opens. (Each connection is also closed at its
// own max_failures-th failure; that count lives in ClientState.)
//
// The table holds at most max_sources addresses; when full, the one whose
// last failure is oldest is forgotten. A successful AUTH forgets its source.
//
// Time is the caller's clock (milliseconds), so tests move it explicitly.
//
// Thread safety: thread-safe.
#ifndef LSMKV_SERVER_AUTH_GUARD_H_
#define LSMKV_SERVER_AUTH_GUARD_H_

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {

class AuthGuard {
 public:
  explicit AuthGuard(size_t max_sources = 10000) : max_sources_(max_sources) {}
  AuthGuard(const AuthGuard&) = delete;
  AuthGuard& operator=(const AuthGuard&) = delete;

  // True if source may try a password now.
  bool Allowed(std::string_view source, int64_t now_ms, int64_t max_failures, int64_t block_ms)
      EXCLUDES(mu_);
  void RecordFailure(std::string_view source, int64_t now_ms, int64_t block_ms) EXCLUDES(mu_);
  void RecordSuccess(std::string_view source) EXCLUDES(mu_);
  size_t sources() const EXCLUDES(mu_);

  // The address part of a peer "ip:port" / "[v6]:port".
  static std::string_view SourceOf(std::string_view peer);

  // Protected mode: a server without a password, listening on a
  // non-loopback address, refuses clients that do not come from loopback.
  static bool ProtectedModeRefuses(bool protected_mode, bool has_password, bool bind_is_loopback,
                                   bool peer_is_loopback) {
    return protected_mode && !has_password && !bind_is_loopback && !peer_is_loopback;
  }

 private:
  struct Entry {
    std::string source;
    int64_t failures = 0;
    int64_t last_failure_ms = 0;
  };
  using List = std::list<Entry>;  // most recent failure first

  const size_t max_sources_;
  mutable Mutex mu_;
  List recent_ GUARDED_BY(mu_);
  std::unordered_map<std::string, List::iterator> by_source_ GUARDED_BY(mu_);
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_AUTH_GUARD_H_
