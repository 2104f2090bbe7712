// Databases (SELECT, MOVE, SWAPDB, COPY ... DB, FLUSHDB): each logical
// database is its own keyspace (value_codec.h: database 0 keeps the v1
// layout, the others an upper-case prefix and a database byte), SWAPDB is a
// stored map, and expiry, WATCH and compaction work in every database.
#include <map>
#include <random>
#include <set>

#include "server/collection.h"
#include "server/command_test_fixture.h"
#include "server/expiry_sweeper.h"

namespace lsmkv::server {
namespace {

class DatabasesTest : public CommandsTest {
 protected:
  // Engine keys whose first byte is first (a prefix of either case).
  size_t EngineKeysStartingWith(char first) {
    ReadOptions options;
    options.lower_bound = std::string(1, first);
    options.upper_bound = std::string(1, static_cast<char>(first + 1));
    auto it = db_->NewIterator(options);
    size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
    EXPECT_TRUE(it->status().ok());
    return n;
  }
};

TEST_F(DatabasesTest, EachDatabaseIsItsOwnKeyspace) {
  ClientState* other = NewClient();
  EXPECT_EQ(Run({"set", "k", "zero"}), kOk);
  EXPECT_EQ(Run({"hset", "h", "f", "0"}), Int(1));
  EXPECT_EQ(Run(other, {"select", "1"}), kOk);
  EXPECT_EQ(Run(other, {"get", "k"}), kNil);
  EXPECT_EQ(Run(other, {"set", "k", "one"}), kOk);
  EXPECT_EQ(Run(other, {"hset", "h", "f", "1", "g", "1"}), Int(2));
  EXPECT_EQ(Run(other, {"set", "only1", "x"}), kOk);
  EXPECT_EQ(Run({"get", "k"}), Bulk("zero"));
  EXPECT_EQ(Run(other, {"get", "k"}), Bulk("one"));
  EXPECT_EQ(Run({"hlen", "h"}), Int(1));
  EXPECT_EQ(Run(other, {"hlen", "h"}), Int(2));
  EXPECT_EQ(Run({"dbsize"}), Int(2));
  EXPECT_EQ(Run(other, {"dbsize"}), Int(3));
  EXPECT_EQ(Run({"exists", "only1"}), Int(0));
  EXPECT_EQ(SortKeyArrays(Run({"keys", "*"})), "*2\r\n" + Bulk("h") + Bulk("k"));
  EXPECT_EQ(SortKeyArrays(Run(other, {"keys", "*"})),
            "*3\r\n" + Bulk("h") + Bulk("k") + Bulk("only1"));
  EXPECT_EQ(SortKeyArrays(Run(other, {"scan", "0", "count", "100"})),
            "*2\r\n" + Bulk("0") + "*3\r\n" + Bulk("h") + Bulk("k") + Bulk("only1"));
  EXPECT_EQ(Run(other, {"randomkey"}).substr(0, 1), "$");
  EXPECT_EQ(Run(other, {"select", "2"}), kOk);
  EXPECT_EQ(Run(other, {"randomkey"}), kNil);
  EXPECT_EQ(Run(other, {"select", "1"}), kOk);
  // INFO keyspace lists each non-empty database.
  const std::string info = Run({"info", "keyspace"});
  EXPECT_NE(info.find("db0:keys=2,expires=0"), std::string::npos) << info;
  EXPECT_NE(info.find("db1:keys=3,expires=0"), std::string::npos) << info;
  EXPECT_EQ(info.find("db2:"), std::string::npos) << info;
  clients_.Add(other);
  EXPECT_NE(Run({"client", "list"}).find(" db=1 "), std::string::npos);
  clients_.Remove(other);
  // FLUSHDB empties only the selected database; FLUSHALL every one.
  EXPECT_EQ(Run(other, {"flushdb"}), kOk);
  EXPECT_EQ(Run(other, {"dbsize"}), Int(0));
  EXPECT_EQ(Run({"get", "k"}), Bulk("zero"));
  EXPECT_EQ(Run({"hget", "h", "f"}), Bulk("0"));
  EXPECT_EQ(Run(other, {"set", "k", "again"}), kOk);
  Reopen();
  EXPECT_EQ(Run(other, {"get", "k"}), Bulk("again"));
  EXPECT_EQ(Run({"get", "k"}), Bulk("zero"));
  EXPECT_EQ(Run({"flushall"}), kOk);
  EXPECT_EQ(Run(other, {"dbsize"}), Int(0));
  EXPECT_EQ(Run({"dbsize"}), Int(0));
}

TEST_F(DatabasesTest, MoveAndCopyAcrossDatabases) {
  EXPECT_EQ(Run({"set", "s", "v", "ex", "100"}), kOk);
  EXPECT_EQ(Run({"hset", "h", "a", "1", "b", "2"}), Int(2));
  EXPECT_EQ(Run({"move", "s", "3"}), Int(1));
  EXPECT_EQ(Run({"exists", "s"}), Int(0));
  EXPECT_EQ(Run({"move", "s", "3"}), Int(0));  // gone here
  EXPECT_EQ(Run({"move", "h", "3"}), Int(1));
  EXPECT_EQ(Run({"hset", "h", "new", "x"}), Int(1));
  EXPECT_EQ(Run({"move", "h", "3"}), Int(0));  // exists there
  EXPECT_EQ(Run({"move", "h", "0"}), Err("ERR source and destination objects are the same"));
  EXPECT_EQ(Run({"move", "h", "16"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"move", "h", "x"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"copy", "h", "h2", "db", "3"}), Int(1));
  EXPECT_EQ(Run({"copy", "h", "h", "db", "3"}), Int(0));  // exists there
  EXPECT_EQ(Run({"copy", "h", "h", "db", "3", "replace"}), Int(1));
  EXPECT_EQ(Run({"copy", "h", "h", "db", "0"}),
            Err("ERR source and destination objects are the same"));
  EXPECT_EQ(Run({"select", "3"}), kOk);
  EXPECT_EQ(Run({"get", "s"}), Bulk("v"));
  EXPECT_EQ(Run({"ttl", "s"}), Int(100));
  EXPECT_EQ(Run({"hgetall", "h"}), "*2\r\n" + Bulk("new") + Bulk("x"));
  EXPECT_EQ(Run({"hgetall", "h2"}), "*2\r\n" + Bulk("new") + Bulk("x"));
  Reopen();
  EXPECT_EQ(Run({"hget", "h2", "new"}), Bulk("x"));
  EXPECT_EQ(Run({"select", "0"}), kOk);
  EXPECT_EQ(Run({"hlen", "h"}), Int(1));
  // The moved hash's elements live in database 3's range ('H' 3 ...).
  EXPECT_GT(EngineKeysStartingWith('H'), 0u);
}

TEST_F(DatabasesTest, SwapDbIsStoredAndFailsWatches) {
  ClientState* watcher = NewClient();
  EXPECT_EQ(Run({"set", "k", "zero"}), kOk);
  EXPECT_EQ(Run({"select", "1"}), kOk);
  EXPECT_EQ(Run({"set", "k", "one"}), kOk);
  EXPECT_EQ(Run(watcher, {"watch", "unrelated"}), kOk);
  EXPECT_EQ(Run({"swapdb", "0", "1"}), kOk);
  EXPECT_EQ(Run({"get", "k"}), Bulk("zero"));  // database 1 now holds what 0 held
  EXPECT_EQ(Run(watcher, {"get", "k"}), Bulk("one"));
  EXPECT_EQ(Run(watcher, {"multi"}), kOk);
  EXPECT_EQ(Run(watcher, {"exec"}), "*-1\r\n");
  EXPECT_EQ(Run({"swapdb", "1", "1"}), kOk);
  EXPECT_EQ(Run({"swapdb", "x", "1"}), Err("ERR invalid first DB index"));
  EXPECT_EQ(Run({"swapdb", "1", "x"}), Err("ERR invalid second DB index"));
  EXPECT_EQ(Run({"swapdb", "1", "16"}), Err("ERR DB index is out of range"));
  Reopen();  // the map is stored
  EXPECT_EQ(Run({"get", "k"}), Bulk("zero"));
  EXPECT_EQ(Run(watcher, {"get", "k"}), Bulk("one"));
  EXPECT_EQ(Run({"swapdb", "0", "1"}), kOk);
  EXPECT_EQ(Run({"get", "k"}), Bulk("one"));
  // FLUSHDB follows the map too.
  EXPECT_EQ(Run({"swapdb", "1", "5"}), kOk);
  EXPECT_EQ(Run({"select", "5"}), kOk);
  EXPECT_EQ(Run({"get", "k"}), Bulk("one"));
  EXPECT_EQ(Run({"flushdb"}), kOk);
  EXPECT_EQ(Run({"get", "k"}), kNil);
  EXPECT_EQ(Run(watcher, {"get", "k"}), Bulk("zero"));
}

TEST_F(DatabasesTest, SelectInsideExecAndWatchPerDatabase) {
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"set", "k", "0"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"select", "2"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"set", "k", "2"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"get", "k"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*4\r\n" + std::string(kOk) + kOk + kOk + Bulk("2"));
  EXPECT_EQ(Run({"get", "k"}), Bulk("2"));  // still database 2
  EXPECT_EQ(Run({"select", "0"}), kOk);
  EXPECT_EQ(Run({"get", "k"}), Bulk("0"));
  // A WATCH is of a key in one database: a write of the same name in
  // another database does not touch it.
  ClientState* writer = NewClient();
  EXPECT_EQ(Run(writer, {"select", "2"}), kOk);
  EXPECT_EQ(Run({"watch", "k"}), kOk);
  EXPECT_EQ(Run(writer, {"set", "k", "changed"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"get", "k"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*1\r\n" + Bulk("0"));
  EXPECT_EQ(Run({"watch", "k"}), kOk);
  EXPECT_EQ(Run(writer, {"select", "0"}), kOk);
  EXPECT_EQ(Run(writer, {"set", "k", "changed"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"get", "k"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*-1\r\n");
}

TEST_F(DatabasesTest, ExpiryAndCompactionInOtherDatabases) {
  EXPECT_EQ(Run({"select", "7"}), kOk);
  EXPECT_EQ(Run({"set", "t", "v", "px", "50"}), kOk);
  EXPECT_EQ(Run({"hset", "h", "a", "1", "b", "2"}), Int(2));
  EXPECT_EQ(Run({"pexpire", "h", "50"}), Int(1));
  EXPECT_EQ(Run({"hset", "keep", "a", "1"}), Int(1));
  EXPECT_EQ(EngineKeysStartingWith('X'), 2u);  // database 7's hints
  EXPECT_EQ(EngineKeysStartingWith('x'), 0u);
  clock_.AdvanceMs(100);
  EXPECT_EQ(Run({"get", "t"}), kNil);
  uint64_t removed = 0;
  ASSERT_TRUE(SweepExpired(keyspace_.get(), clock_.NowMs(), 1000, &removed).ok());
  EXPECT_EQ(removed, 2u);
  EXPECT_EQ(EngineKeysStartingWith('X'), 0u);
  EXPECT_EQ(EngineKeysStartingWith('K'), 1u);  // keep
  // The expired hash's fields go once its deletion is durable.
  EXPECT_EQ(EngineKeysStartingWith('H'), 3u);
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ(EngineKeysStartingWith('H'), 1u);
  EXPECT_EQ(Run({"hget", "keep", "a"}), Bulk("1"));
  EXPECT_EQ(filter_->elements_removed(), 2u);
}

// Random commands across four databases against a model, with reopens.
TEST_F(DatabasesTest, MatchesAModel) {
  std::mt19937 rng(20261204);
  constexpr int kDbs = 4;
  std::map<int, std::map<std::string, std::string>> model;  // logical db -> key -> value
  std::map<int, ClientState*> clients;
  for (int db = 0; db < kDbs; db++) {
    clients[db] = NewClient();
    ASSERT_EQ(Run(clients[db], {"select", std::to_string(db)}), kOk);
  }
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const std::string keys[] = {"a", "b", "c"};
  for (int step = 0; step < 600; step++) {
    SCOPED_TRACE(step);
    const int db = pick(kDbs);
    ClientState* c = clients[db];
    const std::string key = keys[pick(3)];
    auto& m = model[db];
    switch (pick(8)) {
      case 0:
      case 1: {
        const std::string value = "v" + std::to_string(step);
        ASSERT_EQ(Run(c, {"set", key, value}), kOk);
        m[key] = value;
        break;
      }
      case 2:
        ASSERT_EQ(Run(c, {"del", key}), Int(m.erase(key)));
        break;
      case 3: {
        const int to = pick(kDbs);
        if (to == db) {
          ASSERT_EQ(Run(c, {"move", key, std::to_string(to)}),
                    Err("ERR source and destination objects are the same"));
          break;
        }
        const bool moves = m.count(key) != 0 && model[to].count(key) == 0;
        ASSERT_EQ(Run(c, {"move", key, std::to_string(to)}), Int(moves ? 1 : 0));
        if (moves) {
          model[to][key] = m[key];
          m.erase(key);
        }
        break;
      }
      case 4: {
        const int other = pick(kDbs);
        ASSERT_EQ(Run(c, {"swapdb", std::to_string(db), std::to_string(other)}), kOk);
        std::swap(model[db], model[other]);
        break;
      }
      case 5: {
        const int to = pick(kDbs);
        const std::string dst = keys[pick(3)];
        if (to == db && dst == key) break;
        const bool copies = m.count(key) != 0 && model[to].count(dst) == 0;
        ASSERT_EQ(Run(c, {"copy", key, dst, "db", std::to_string(to)}), Int(copies ? 1 : 0));
        if (copies) model[to][dst] = m[key];
        break;
      }
      case 6:
        if (pick(10) == 0) {
          ASSERT_EQ(Run(c, {"flushdb"}), kOk);
          m.clear();
        }
        break;
      case 7:
        if (pick(20) == 0) Reopen();
        break;
    }
    // Every key of every database reads as the model says.
    for (int d = 0; d < kDbs; d++) {
      for (const std::string& k : keys) {
        auto it = model[d].find(k);
        ASSERT_EQ(Run(clients[d], {"get", k}), it == model[d].end() ? kNil : Bulk(it->second))
            << "db " << d << " key " << k;
      }
      ASSERT_EQ(Run(clients[d], {"dbsize"}), Int(static_cast<int64_t>(model[d].size())));
    }
  }
}

}  // namespace
}  // namespace lsmkv::server
