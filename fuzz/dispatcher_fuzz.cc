// Fuzzes lsmkv-server's whole request path with hostile client bytes: the
// parser (with tight limits), the dispatcher (arity, authentication, MULTI,
// pipeline batches) and every command's handler, on a fresh in-memory
// database per input. The first input byte picks the mode: the piece size
// the bytes arrive in, whether a password is set, how far the clock moves
// between pieces. Invariants:
//  - nothing crashes, hangs, leaks or touches memory it should not (ASan,
//    UBSan, LeakSanitizer);
//  - every command gets a reply;
//  - what one connection holds stays within its limits at every step: the
//    unfinished request within client-query-buffer-limit (plus one read),
//    the MULTI queue within the memory its queued arguments can take;
//  - nothing stays behind once the client is gone and the database closed:
//    heap in use returns to within 2 MiB of where it was before the input
//    (an I/O thread's read buffer keeps up to 1 MiB by design).
#include <sanitizer/allocator_interface.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "lsmkv/db.h"
#include "lsmkv/env.h"
#include "server/client_state.h"
#include "server/clock.h"
#include "server/command_table.h"
#include "server/config.h"
#include "server/dispatcher.h"
#include "server/keyspace.h"
#include "server/pubsub.h"
#include "server/resp_parser.h"
#include "server/scan_cursors.h"

namespace {

using namespace lsmkv;
using namespace lsmkv::server;

constexpr uint64_t kQueryLimit = 64 * 1024;
constexpr size_t kMaxPiece = 64;

// The memory of a MULTI queue, counted as the parser counts arguments.
uint64_t QueueMemory(const ClientState& client) {
  uint64_t bytes = client.queued.capacity() * sizeof(std::vector<std::string>);
  for (const auto& args : client.queued) {
    bytes += (args.capacity() - args.size()) * sizeof(std::string);
    for (const auto& a : args) bytes += ArgumentMemory(a.size());
  }
  return bytes;
}

size_t HeapInUse() { return __sanitizer_get_current_allocated_bytes(); }

void RunInput(uint8_t mode, std::string_view input) {
  std::unique_ptr<Env> env = NewMemEnv(Env::Default());
  Options options;
  options.env = env.get();
  options.create_if_missing = true;
  options.wal_recovery_mode = WalRecoveryMode::kPointInTime;  // WATCH uses transactions
  options.write_buffer_size = 64 * 1024;
  options.max_value_size = (1 << 20) + 16;
  std::unique_ptr<DB> db;
  FUZZ_CHECK(DB::Open(options, "/db", &db).ok(), "open");
  ManualClock clock(int64_t{1700000000000} * 1000);
  Keyspace keyspace(db.get(), &clock);
  Config config;
  // As the server does with the engine's value limit: CONFIG SET cannot
  // raise proto-max-bulk-len past what the engine takes.
  FUZZ_CHECK(config.Set(*Config::Find("proto-max-bulk-len"), "1mb").empty(), "config");
  config.SetUpperBound(Setting::kProtoMaxBulkLen, 1 << 20);
  if (mode & 1) FUZZ_CHECK(config.Set(*Config::Find("requirepass"), "pw").empty(), "config");
  CommandTable commands;
  ClientRegistry clients;
  ScanCursors cursors;
  ServerStats stats;
  PubSub pubsub;  // as the server's: every server has one (PUBLISH, SUBSCRIBE use it)
  ServerContext context;
  context.config = &config;
  context.keyspace = &keyspace;
  context.commands = &commands;
  context.clients = &clients;
  context.cursors = &cursors;
  context.stats = &stats;
  context.pubsub = &pubsub;
  context.request_shutdown = [] {};
  {
    ClientState client;
    client.id = clients.NextId();
    client.authenticated = (mode & 1) == 0;
    clients.Add(&client);
    RespLimits limits;
    limits.max_bulk_length = 1024 * 1024;
    limits.max_query_buffer = kQueryLimit;
    limits.max_args = 4096;
    RespParser parser(limits);
    PipelineBatch batch(&keyspace);
    std::string out;
    Reply reply(&out, 2);
    reply.set_error_stats(&stats.errors);
    std::vector<std::string> args;
    const size_t piece = 1 + ((mode >> 1) % kMaxPiece);
    const int64_t tick_ms = (mode >> 7) ? 700 : 0;
    size_t fed = 0;
    bool failed = false;
    while (!failed && !client.close_after_reply) {
      RespParser::Result r;
      while ((r = parser.Next(&args)) == RespParser::Result::kCommand) {
        parser.set_authenticated(client.authenticated);
        const size_t before = out.size();
        ExecuteCommand(context, client, args, reply, &batch);
        // A successful SHUTDOWN alone sends nothing (as in Redis): it closes
        // the connection.
        const bool shutdown = client.close_after_reply && args.size() >= 1 && args[0].size() == 8 &&
                              std::equal(args[0].begin(), args[0].end(), "shutdown",
                                         [](char a, char b) { return (a | 0x20) == b; });
        FUZZ_CHECK(out.size() > before || shutdown, "a command without a reply");
        parser.set_authenticated(client.authenticated);
        FUZZ_CHECK(QueueMemory(client) <= fed * 64 + 4096, "MULTI queue larger than its input");
        if (out.size() > 64 * 1024) {
          batch.Finish(reply);
          out.clear();  // "sent"
        }
        if (client.close_after_reply) break;
      }
      if (r == RespParser::Result::kError) {
        failed = true;  // the limit check itself may be what failed
      } else {
        FUZZ_CHECK(parser.pending_memory() <= kQueryLimit,
                   "an unfinished request over client-query-buffer-limit");
      }
      batch.Finish(reply);
      out.clear();
      if (fed == input.size()) break;
      const size_t n = std::min(piece, input.size() - fed);
      parser.Append(input.substr(fed, n));
      fed += n;
      clock.AdvanceMs(tick_ms);
    }
    batch.Finish(reply);
    DiscardTransaction(context, client);
    // As a connection does when it closes (connection.cc).
    if (client.subscriber != nullptr) pubsub.RemoveAll(client.subscriber.get());
    clients.Remove(&client);
  }
  db->Close().PermitUncheckedError();  // a full-disk or I/O state is not this target's concern
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t heap_before = HeapInUse();
  RunInput(data[0], std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  const size_t heap_after = HeapInUse();
  FUZZ_CHECK(heap_after <= heap_before + (size_t{2} << 20),
             "memory still held after the client left and the database closed");
  return 0;
}
