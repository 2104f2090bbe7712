// Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Lua 5.1, as
// Redis 7.0 runs them; docs/REDIS_COMPAT.md, "Scripting"), and the script
// gate that makes a script atomic with respect to every other client.
//
// The gate. Every command of a client (except the few Redis lets through
// while a script is busy, AllowedWhileBusy) holds the gate shared while it
// runs: Enter()/Exit(), one atomic increment and one load on the fast path.
// A script takes it exclusively: it announces itself (running), waits until
// no command holds the gate, then takes every key-lock stripe (so pipeline
// batches, which keep their stripes between commands, have committed), runs,
// commits its writes and only then lets commands in again. A command that
// arrives while a script runs waits (as it would behind a script in Redis)
// until the script ends, or until the script has run longer than
// lua-time-limit (busy), when it is answered -BUSY instead.
//
// Scripts themselves run one at a time on one Lua state (lua_mu_). A script
// queued in MULTI runs inside its EXEC: under the EXEC's stripes (EXEC locks
// every stripe for it) and the EXEC's shared hold of the gate, without the
// busy machinery.
//
// Thread safety: every method is thread-safe.
#ifndef LSMKV_SERVER_SCRIPTING_H_
#define LSMKV_SERVER_SCRIPTING_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/command.h"

namespace lsmkv::server {

// Redis 7.0's reply to a command refused while a script is busy (an EVAL
// script; a function names FUNCTION KILL instead).
inline constexpr std::string_view kBusyError =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
inline constexpr std::string_view kBusyFunctionError =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

// The Lua heap of all scripts together (compiled scripts included) is capped
// at this by default; a script that needs more fails, the server goes on.
inline constexpr size_t kDefaultLuaMemoryLimit = 128u << 20;
// The script cache holds at most this many scripts; loading one more first
// empties it (as SCRIPT FLUSH would).
inline constexpr size_t kMaxCachedScripts = 10000;

class Scripting {
 public:
  explicit Scripting(size_t lua_memory_limit = kDefaultLuaMemoryLimit);
  ~Scripting();
  Scripting(const Scripting&) = delete;
  Scripting& operator=(const Scripting&) = delete;

  // --- The gate (ordinary commands) ---
  // Fast path: holds the gate shared and returns true unless a script runs
  // or waits to run (then holds nothing and returns false).
  bool TryEnter() {
    active_.fetch_add(1, std::memory_order_seq_cst);
    if (!running_.load(std::memory_order_seq_cst)) return true;
    Exit();
    return false;
  }
  // Slow path: waits until no script runs (then holds the gate shared and
  // returns true) or the running one is busy (holds nothing, false: the
  // caller replies kBusyError). Must not be called holding key stripes.
  bool EnterOrBusy();
  // Releases a shared hold.
  void Exit() {
    if (active_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        running_.load(std::memory_order_seq_cst)) {
      active_.notify_all();
    }
  }
  // True while a script has run longer than lua-time-limit.
  bool busy() const { return busy_.load(std::memory_order_acquire); }
  // The -BUSY text for the running script (kBusyError or kBusyFunctionError).
  std::string_view busy_error() const {
    return busy_function_.load(std::memory_order_relaxed) ? kBusyFunctionError : kBusyError;
  }
  // Commands waiting in EnterOrBusy now (tests wait for this).
  size_t waiters() const { return waiters_.load(std::memory_order_acquire); }
  // True while a script runs or waits for the gate.
  bool running() const { return running_.load(std::memory_order_acquire); }
  // True once a script's Lua code has started (its clock is running) and
  // until it ends: tests wait for this instead of sleeping.
  bool executing() const { return current_.load(std::memory_order_acquire) != nullptr; }

  // --- Commands (scripting.cc registers them) ---
  void Eval(CommandContext& ctx, bool by_sha, bool read_only);
  void Script(CommandContext& ctx);
  // FUNCTION libraries (commands_server.cc's FUNCTION calls these): FCALL
  // and FCALL_RO; FUNCTION LOAD [REPLACE] code, FLUSH, DELETE name and KILL
  // (each replies).
  void Fcall(CommandContext& ctx, bool read_only);
  void FunctionLoad(CommandContext& ctx, std::string_view code, bool replace);
  void FunctionFlush();
  void FunctionDelete(CommandContext& ctx, const std::string& library);
  void FunctionKill(CommandContext& ctx);

  // Kills the running script (if any) whatever it wrote: server shutdown.
  void KillForShutdown() { kill_.store(true, std::memory_order_release); }

  // Bytes the Lua heap holds now. REQUIRES: no script runs (tests).
  size_t lua_memory() const;
  // INFO memory: the Lua heap's bytes and the cached scripts, as of the
  // last script, SCRIPT LOAD or SCRIPT FLUSH.
  uint64_t info_lua_bytes() const { return info_lua_bytes_.load(std::memory_order_relaxed); }
  uint64_t info_cached_scripts() const {
    return info_cached_scripts_.load(std::memory_order_relaxed);
  }

  // Defined in scripting.cc: one script execution, and the Lua state with
  // the script cache.
  struct Run;
  class State;

  // The count hook's check (scripting.cc): notes when the script turns
  // busy; true if it must die (SCRIPT KILL).
  bool CheckRunForHook(Run& run) { return CheckRun(run); }

 private:
  // Takes the gate exclusively; false (nothing held) if another script is
  // busy meanwhile.
  bool BeginExclusive();
  void EndExclusive();
  bool CheckRun(Run& run);
  // EVAL/FCALL after their checks: takes the gate and the stripes (outside
  // EXEC), compiles an EVAL's script, runs, commits.
  void Execute(CommandContext& ctx, const std::string& name, bool function, bool by_sha,
               bool read_only);
  // Runs the compiled script sha (or the function named so) for ctx
  // (EVAL's/FCALL's arguments), writing its reply. REQUIRES: lua_mu_ held;
  // exclusive: the gate held exclusively.
  void RunScript(CommandContext& ctx, const std::string& sha, bool function, bool read_only,
                 bool exclusive);
  // Runs a library's code, registering its functions. Returns "" or the
  // error reply. REQUIRES: lua_mu_ held.
  std::string LoadLibraryLocked(std::string_view code, bool replace, std::string* name);
  // Replaces the Lua state with a fresh one (SCRIPT FLUSH). REQUIRES:
  // lua_mu_ held.
  void ResetStateLocked();
  // Refreshes the INFO figures. REQUIRES: lua_mu_ held.
  void UpdateInfoLocked();

  std::atomic<uint64_t> active_{0};
  std::atomic<bool> running_{false};
  std::atomic<bool> busy_{false};
  std::atomic<bool> kill_{false};
  std::atomic<size_t> waiters_{0};
  std::atomic<bool> busy_function_{false};  // the running script is a function (FCALL)
  std::atomic<uint64_t> info_lua_bytes_{0};
  std::atomic<uint64_t> info_cached_scripts_{0};
  std::mutex mu_;  // with cv_: waiting for the script to end or turn busy
  std::condition_variable cv_;
  bool exclusive_held_ = false;  // guarded by mu_

  std::mutex lua_mu_;  // one script (or SCRIPT LOAD/FLUSH) at a time on state_
  std::unique_ptr<State> state_;
  // The script now running (nullptr if none): SCRIPT KILL reads it.
  std::atomic<Run*> current_{nullptr};
};

// RAII: a shared hold of the gate, released on destruction.
class ScriptGatePass {
 public:
  ScriptGatePass() = default;
  ScriptGatePass(const ScriptGatePass&) = delete;
  ScriptGatePass& operator=(const ScriptGatePass&) = delete;
  ~ScriptGatePass() {
    if (gate_ != nullptr) gate_->Exit();
  }
  void Hold(Scripting* gate) { gate_ = gate; }

 private:
  Scripting* gate_ = nullptr;
};

// Commands Redis 7.0 runs while a script is busy (and that therefore never
// wait for the gate): MULTI, DISCARD, WATCH, UNWATCH, AUTH, HELLO, QUIT,
// SHUTDOWN, SCRIPT KILL, FUNCTION KILL and FUNCTION STATS.
bool AllowedWhileBusy(const CommandSpec& spec, const std::vector<std::string>& args);
// The kCmdWhileBusy* flags of the command called name (CommandTable sets
// them; AllowedWhileBusy reads them): MULTI, DISCARD, WATCH, UNWATCH, AUTH,
// HELLO, QUIT, SHUTDOWN always; SCRIPT and FUNCTION by subcommand.
uint32_t WhileBusyFlags(std::string_view name);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_SCRIPTING_H_
