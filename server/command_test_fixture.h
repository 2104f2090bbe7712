// The fixture of the in-process command tests (commands_test.cc,
// commands_hash_test.cc): the dispatcher and handlers over a real database
// in a temporary directory, a ManualClock that tests move explicitly, and
// helpers that spell RESP replies.
#ifndef LSMKV_SERVER_COMMAND_TEST_FIXTURE_H_
#define LSMKV_SERVER_COMMAND_TEST_FIXTURE_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lsmkv/db.h"
#include "server/auth_guard.h"
#include "server/client_state.h"
#include "server/clock.h"
#include "server/command_table.h"
#include "server/config.h"
#include "server/dispatcher.h"
#include "server/expiry_filter.h"
#include "server/keyspace.h"
#include "server/scan_cursors.h"
#include "server/scripting.h"
#include "server/test_client.h"
#include "server/value_codec.h"

namespace lsmkv::server {

using Args = std::vector<std::string>;

// Where every test's clock starts: 2023-11-14 22:13:20 UTC.
inline constexpr int64_t kStartMs = 1700000000000;

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // LSMKV_TEST_KEY_LAYOUT=slotted runs every command test on the
    // replicated node's key layout (value_codec.h; ctest runs the command
    // tests both ways).
    const char* layout = std::getenv("LSMKV_TEST_KEY_LAYOUT");
    SetKeyLayout(layout != nullptr && std::string_view(layout) == "slotted" ? KeyLayout::kSlotted
                                                                            : KeyLayout::kFlat);
    dir_ = test::MakeTempDir("lsmkv_commands_test");
    ASSERT_FALSE(dir_.empty());
    filter_ = std::make_shared<ExpiryFilter>(&clock_);
    Options options;
    options.create_if_missing = true;
    options.wal_recovery_mode = WalRecoveryMode::kPointInTime;  // WATCH uses transactions
    options.compaction_filter = filter_;
    ASSERT_TRUE(DB::Open(options, dir_, &db_).ok());
    filter_->AttachDb(db_.get());
    keyspace_ = std::make_unique<Keyspace>(db_.get(), &clock_, filter_->durable_view());
    ASSERT_TRUE(keyspace_->LoadDatabaseMap().ok());
    context_.config = &config_;
    context_.keyspace = keyspace_.get();
    context_.commands = &commands_;
    context_.clients = &clients_;
    context_.cursors = &cursors_;
    context_.expiry_filter = filter_.get();
    context_.stats = &stats_;
    context_.auth_guard = &auth_guard_;
    context_.scripting = &scripting_;
    context_.request_shutdown = [this] { shutdown_requested_ = true; };
    context_.start_time_ms = clock_.NowMs();
    client_ = NewClient();
  }

  void TearDown() override {
    for (auto& c : clients_owned_) DiscardTransaction(context_, *c);
    keyspace_.reset();
    if (db_) {
      EXPECT_TRUE(db_->Close().ok());
    }
    filter_->DetachDb();
    db_.reset();
    test::RemoveTree(dir_);
  }

  // Closes and opens the database again (same directory, filter and clock).
  void Reopen() {
    keyspace_.reset();
    ASSERT_TRUE(db_->Close().ok());
    filter_->DetachDb();
    db_.reset();
    Options options;
    options.wal_recovery_mode = WalRecoveryMode::kPointInTime;  // WATCH uses transactions
    options.compaction_filter = filter_;
    ASSERT_TRUE(DB::Open(options, dir_, &db_).ok());
    filter_->AttachDb(db_.get());
    keyspace_ = std::make_unique<Keyspace>(db_.get(), &clock_, filter_->durable_view());
    ASSERT_TRUE(keyspace_->LoadDatabaseMap().ok());
    context_.keyspace = keyspace_.get();
  }

  ClientState* NewClient() {
    auto c = std::make_unique<ClientState>();
    c->id = clients_.NextId();
    c->authenticated = config_.String(Setting::kRequirepass).empty();
    clients_owned_.push_back(std::move(c));
    return clients_owned_.back().get();
  }

  std::string Run(ClientState* c, Args args) {
    std::string out;
    Reply reply(&out, c->protocol.load());
    ExecuteCommand(context_, *c, args, reply);
    return out;
  }
  std::string Run(Args args) { return Run(client_, std::move(args)); }

  ManualClock clock_{kStartMs * 1000};
  std::string dir_;
  std::shared_ptr<ExpiryFilter> filter_;
  std::unique_ptr<DB> db_;
  std::unique_ptr<Keyspace> keyspace_;
  Config config_;
  CommandTable commands_;
  ClientRegistry clients_;
  ScanCursors cursors_;
  ServerStats stats_;
  AuthGuard auth_guard_;
  Scripting scripting_;
  ServerContext context_;
  bool shutdown_requested_ = false;
  std::vector<std::unique_ptr<ClientState>> clients_owned_;
  ClientState* client_ = nullptr;
};

inline const char kOk[] = "+OK\r\n";
inline const char kNil[] = "$-1\r\n";

inline std::string Bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}
inline std::string Int(int64_t v) { return ":" + std::to_string(v) + "\r\n"; }
inline std::string Err(const std::string& s) { return "-" + s + "\r\n"; }

// A RESP2 reply with every array made only of bulk strings sorted: KEYS and
// SCAN list keys by name in the flat layout and by slot, then name, in the
// slot layout (value_codec.h); tests that list several keys compare this.
// Anything it cannot parse comes back unchanged.
inline std::string SortKeyArrays(const std::string& reply) {
  struct Parser {
    const std::string& in;
    size_t pos = 0;
    bool ok = true;
    std::string Line() {
      const size_t end = in.find("\r\n", pos);
      if (end == std::string::npos) {
        ok = false;
        return "";
      }
      std::string line = in.substr(pos, end - pos);
      pos = end + 2;
      return line;
    }
    // One element, rendered back; *bulk: whether it is a bulk string.
    std::string Element(bool* bulk) {
      const size_t start = pos;
      std::string line = Line();
      *bulk = false;
      if (!ok || line.empty()) return "";
      if (line[0] == '$') {
        const long n = std::stol(line.substr(1));
        if (n >= 0) pos += static_cast<size_t>(n) + 2;
        *bulk = n >= 0;
        return in.substr(start, pos - start);
      }
      if (line[0] != '*') return in.substr(start, pos - start);
      const long n = std::stol(line.substr(1));
      std::vector<std::string> items;
      bool all_bulk = true;
      for (long i = 0; i < n && ok; i++) {
        bool b = false;
        items.push_back(Element(&b));
        all_bulk = all_bulk && b;
      }
      if (all_bulk) std::sort(items.begin(), items.end());
      std::string out = line + "\r\n";
      for (const std::string& item : items) out += item;
      return out;
    }
  };
  Parser parser{reply};
  bool bulk = false;
  std::string out = parser.Element(&bulk);
  return parser.ok && parser.pos == reply.size() ? out : reply;
}

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_COMMAND_TEST_FIXTURE_H_
