// Deterministic clusters on libraft's in-memory fixture (raft/fixture.h), each
// server applying committed entries to a real lsmkv StateMachine, driven by
// simulated clients under faults: leader and follower kills and revivals,
// partitions, dropped messages in one direction, changing network and disk
// latencies (reordering, slow disks). Every run ends healed and is checked:
//   - all replicas applied the same entries and hold identical data (digest);
//   - the recorded client history — writes acknowledged when applied on the
//     leader that proposed them, reads served after a barrier on a leader, and
//     final reads of every key — is linearizable (replication/lincheck.h),
//     operations whose outcome was lost (leadership lost, server killed) being
//     allowed to have taken effect or not.
// A negative control serves reads from any server without a barrier and must
// be caught by the checker on some seed, which shows the check can fail.
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "lsmkv/write_batch.h"
#include "replication/command.h"
#include "replication/lincheck.h"
#include "replication/raft_c.h"
#include "replication/raft_fsm.h"
#include "replication/state_machine.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv::replication {
namespace {

struct Scenario {
  unsigned servers = 3;
  uint32_t seed = 1;
  int clients = 4;
  int keys = 3;
  int fault_steps = 4000;     // steps with faults and client traffic
  bool barrier_reads = true;  // false: the negative control (reads from any server, no barrier)
  // Raft snapshots every this many entries, keeping `trailing` entries of log
  // behind them: small values make lagging servers install snapshots.
  unsigned snapshot_threshold = 32;
  unsigned snapshot_trailing = 64;
};

class Cluster;

// One client operation in flight: the libraft request and where its record is.
struct Pending {
  struct raft_apply apply {};
  struct raft_barrier barrier {};
  Cluster* cluster = nullptr;
  size_t record = 0;  // index into the history
  int client = 0;
  unsigned server = 0;
};

class Cluster {
 public:
  explicit Cluster(const Scenario& sc) : sc_(sc), rnd_(sc.seed), busy_(sc.clients, false) {
    EXPECT_EQ(raft_fixture_init(&f_), 0);
    for (unsigned i = 0; i < sc.servers; i++) {
      Node node;
      node.dir = test::NewTempDir("raft_fixture");
      Status s = StateMachine::Open(ReplicaOptions(), node.dir, &node.machine);
      EXPECT_TRUE(s.ok()) << s.ToString();
      node.fsm = std::make_unique<RaftFsm>(node.machine.get(), &source_);
      source_.Add(i + 1, node.dir);  // fixture server i has Raft id i + 1
      EXPECT_EQ(raft_fixture_grow(&f_, node.fsm->fsm()), 0);
      nodes_.push_back(std::move(node));
    }
    raft_configuration conf;
    EXPECT_EQ(raft_fixture_configuration(&f_, sc.servers, &conf), 0);
    EXPECT_EQ(raft_fixture_bootstrap(&f_, &conf), 0);
    raft_configuration_close(&conf);
    tracer_.impl = this;
    tracer_.version = 2;
    tracer_.emit = &Cluster::Trace;
    for (unsigned i = 0; i < sc.servers; i++) {
      raft* r = raft_fixture_get(&f_, i);
      nodes_[i].fsm->Attach(r);
      raft_set_snapshot_threshold(r, sc.snapshot_threshold);
      raft_set_snapshot_trailing(r, sc.snapshot_trailing);
      r->tracer = &tracer_;  // the fixture's own tracer prints every event to stderr
    }
    EXPECT_EQ(raft_fixture_start(&f_), 0);
  }

  ~Cluster() {
    closing_ = true;
    raft_fixture_close(&f_);  // fires the callbacks of requests still pending
    for (Pending* p : pending_) delete p;
    for (Node& n : nodes_) {
      n.fsm.reset();
      n.machine.reset();
      test::RemoveTree(n.dir);
    }
  }

  // Runs the scenario: traffic under faults, then heals and drains.
  void Run() {
    for (int step = 0; step < sc_.fault_steps; step++) {
      if (rnd_.OneIn(40)) InjectFault();
      if (rnd_.OneIn(3)) StartClientOp();
      raft_fixture_step(&f_);
    }
    Heal();
    // Let the surviving traffic finish and a stable leader commit everything.
    ASSERT_TRUE(raft_fixture_step_until_has_leader(&f_, 20000)) << "no leader after healing";
    for (int i = 0; i < 20000 && !pending_.empty(); i++) raft_fixture_step(&f_);
    ASSERT_TRUE(raft_fixture_step_until_has_leader(&f_, 20000)) << "no leader after draining";
    const unsigned leader = raft_fixture_leader_index(&f_);
    ASSERT_LT(leader, sc_.servers);
    // A barrier makes the leader commit (and apply) everything of earlier terms.
    BarrierRead(leader, "0", /*client=*/sc_.clients);
    for (int i = 0; i < 20000 && !pending_.empty(); i++) raft_fixture_step(&f_);
    ASSERT_TRUE(pending_.empty()) << pending_.size() << " requests never completed";
    const raft_index commit = raft_commit_index(raft_fixture_get(&f_, leader));
    ASSERT_TRUE(raft_fixture_step_until_applied(&f_, sc_.servers, commit, 20000))
        << "not every server applied index " << commit;
    // Final reads of every key through the leader, after everything else.
    for (int k = 0; k < sc_.keys; k++) {
      BarrierRead(leader, std::to_string(k), sc_.clients + 1 + k);
      for (int i = 0; i < 20000 && !pending_.empty(); i++) raft_fixture_step(&f_);
    }
    ASSERT_TRUE(pending_.empty());
  }

  // Every server applied the same entries and holds the same data.
  void ExpectIdenticalReplicas() {
    uint64_t d0 = 0, n0 = 0;
    for (unsigned i = 0; i < sc_.servers; i++) {
      uint64_t d, n;
      ASSERT_TRUE(nodes_[i].machine->Digest(&d, &n).ok());
      EXPECT_TRUE(nodes_[i].fsm->last_error().ok()) << nodes_[i].fsm->last_error().ToString();
      if (i == 0) {
        d0 = d;
        n0 = n;
        continue;
      }
      EXPECT_EQ(d, d0) << "server " << i << " differs from server 0";
      EXPECT_EQ(n, n0) << "server " << i;
      EXPECT_EQ(nodes_[i].machine->applied_index(), nodes_[0].machine->applied_index());
    }
  }

  // The last libraft diagnostics (for a failure's message).
  std::string RecentTrace() const {
    std::string out;
    for (const std::string& line : trace_) out += line + "\n";
    return out;
  }

  lincheck::CheckResult CheckHistory() const {
    return lincheck::Check(lincheck::KvModel(), history_);
  }

  int acknowledged_writes() const { return acked_writes_; }
  int unknown_writes() const {
    int n = 0;
    for (const auto& op : history_) {
      n += op.kind == lincheck::OpKind::kWrite && op.outcome == lincheck::Outcome::kUnknown;
    }
    return n;
  }
  int ok_reads() const { return ok_reads_; }
  uint64_t snapshots_taken() const {
    uint64_t n = 0;
    for (const Node& node : nodes_) n += node.fsm->snapshots_taken();
    return n;
  }
  uint64_t snapshots_installed() const {
    uint64_t n = 0;
    for (const Node& node : nodes_) n += node.machine->installed_snapshots();
    return n;
  }
  int faults() const { return faults_; }
  size_t history_size() const { return history_.size(); }

 private:
  struct Node {
    std::string dir;
    std::unique_ptr<StateMachine> machine;
    std::unique_ptr<RaftFsm> fsm;
  };

  bool Alive(unsigned i) { return raft_fixture_alive(&f_, i); }

  // Keeps libraft's last diagnostics instead of printing them all.
  static void Trace(raft_tracer* t, int type, const void* data) {
    if (type != RAFT_TRACER_DIAGNOSTIC) return;
    auto* c = static_cast<Cluster*>(t->impl);
    const auto* info = static_cast<const raft_tracer_info*>(data);
    if (info->diagnostic.level > 3) return;
    c->trace_.push_back("[" + std::to_string(raft_fixture_time(&c->f_)) + "] " +
                        info->diagnostic.message);
    if (c->trace_.size() > 60) c->trace_.pop_front();
  }

  void InjectFault() {
    faults_++;
    const unsigned n = sc_.servers;
    const unsigned i = rnd_.Uniform(n);
    const unsigned j = (i + 1 + rnd_.Uniform(n - 1)) % n;
    switch (rnd_.Uniform(8)) {
      case 0: {  // kill a server, the leader more often than not; keep a majority alive
        unsigned victim = raft_fixture_leader_index(&f_);
        if (victim >= n || rnd_.OneIn(3)) victim = i;
        unsigned dead = 0;
        for (unsigned k = 0; k < n; k++) dead += !Alive(k);
        if (Alive(victim) && dead + 1 <= (n - 1) / 2) raft_fixture_kill(&f_, victim);
        break;
      }
      case 1:  // revive a dead server
        for (unsigned k = 0; k < n; k++) {
          if (!Alive((i + k) % n)) {
            raft_fixture_revive(&f_, (i + k) % n);
            break;
          }
        }
        break;
      case 2:  // partition a pair, both directions
        raft_fixture_disconnect(&f_, i, j);
        raft_fixture_disconnect(&f_, j, i);
        break;
      case 3:
        raft_fixture_reconnect(&f_, i, j);
        raft_fixture_reconnect(&f_, j, i);
        break;
      case 4:  // drop i's messages to j, silently
        raft_fixture_saturate(&f_, i, j);
        break;
      case 5:
        raft_fixture_desaturate(&f_, i, j);
        break;
      case 6:  // messages overtake each other when latencies change
        raft_fixture_set_network_latency(&f_, i, 1 + rnd_.Uniform(60));
        break;
      case 7:  // a slow (or fast) disk
        raft_fixture_set_disk_latency(&f_, i, 1 + rnd_.Uniform(80));
        break;
    }
  }

  void Heal() {
    for (unsigned i = 0; i < sc_.servers; i++) {
      if (!Alive(i)) raft_fixture_revive(&f_, i);
      raft_fixture_set_network_latency(&f_, i, 15);
      raft_fixture_set_disk_latency(&f_, i, 10);
      for (unsigned j = 0; j < sc_.servers; j++) {
        if (i == j) continue;
        raft_fixture_reconnect(&f_, i, j);
        raft_fixture_desaturate(&f_, i, j);
      }
    }
  }

  // An idle client sends a write or a read to a server that believes it leads
  // (during a partition there may be two).
  void StartClientOp() {
    const int client = static_cast<int>(rnd_.Uniform(sc_.clients));
    if (busy_[client]) return;
    std::vector<unsigned> leaders;
    for (unsigned i = 0; i < sc_.servers; i++) {
      if (Alive(i) && raft_state(raft_fixture_get(&f_, i)) == RAFT_LEADER) leaders.push_back(i);
    }
    const std::string key = std::to_string(rnd_.Uniform(sc_.keys));
    if (!sc_.barrier_reads && rnd_.OneIn(2)) {
      // Negative control: a read served by any live server at once.
      const unsigned s = rnd_.Uniform(sc_.servers);
      if (!Alive(s)) return;
      lincheck::Operation op = NewOp(client, key, lincheck::OpKind::kRead);
      op.output = ReadLocal(s, key);
      op.ret = ++clock_;
      history_.push_back(op);
      return;
    }
    if (leaders.empty()) return;
    const unsigned server = leaders[rnd_.Uniform(leaders.size())];
    if (rnd_.OneIn(3)) {
      BarrierRead(server, key, client);
    } else {
      Write(server, key, "c" + std::to_string(client) + "." + std::to_string(++serial_), client);
    }
  }

  lincheck::Operation NewOp(int client, const std::string& key, lincheck::OpKind kind) {
    lincheck::Operation op;
    op.client = client;
    op.key = key;
    op.kind = kind;
    op.call = ++clock_;
    op.tag = static_cast<int64_t>(history_.size());
    return op;
  }

  lincheck::Value ReadLocal(unsigned server, const std::string& key) {
    std::string value;
    Status s = nodes_[server].machine->db()->Get(ReadOptions(), key, &value);
    if (s.IsNotFound()) return std::nullopt;
    EXPECT_TRUE(s.ok()) << s.ToString();
    return value;
  }

  Pending* NewPending(int client, unsigned server, lincheck::Operation op) {
    auto* p = new Pending;
    p->cluster = this;
    p->client = client;
    p->server = server;
    p->record = history_.size();
    history_.push_back(std::move(op));
    if (client < sc_.clients) busy_[client] = true;
    pending_.insert(p);
    return p;
  }

  void Finish(Pending* p) {
    if (p->client < sc_.clients) busy_[p->client] = false;
    pending_.erase(p);
    delete p;
  }

  void Write(unsigned server, const std::string& key, const std::string& value, int client) {
    WriteBatch batch;
    batch.Put(key, value);
    std::string cmd;
    ASSERT_TRUE(EncodeWriteCommand(batch, &cmd).ok());
    raft_buffer buf;
    buf.len = cmd.size();
    buf.base = raft_malloc(buf.len);
    ASSERT_NE(buf.base, nullptr);
    std::memcpy(buf.base, cmd.data(), cmd.size());
    lincheck::Operation op = NewOp(client, key, lincheck::OpKind::kWrite);
    op.value = value;
    op.outcome = lincheck::Outcome::kUnknown;  // until the callback says otherwise
    Pending* p = NewPending(client, server, std::move(op));
    p->apply.data = p;
    const int rv =
        raft_apply(raft_fixture_get(&f_, server), &p->apply, &buf, 1, &Cluster::OnApplied);
    if (rv != 0) {
      raft_free(buf.base);
      // Refused before the entry reached the log (not the leader any more): no effect.
      if (rv == RAFT_NOTLEADER) history_[p->record].outcome = lincheck::Outcome::kFail;
      Finish(p);
    }
  }

  static void OnApplied(struct raft_apply* req, int status, void* /*result*/) {
    auto* p = static_cast<Pending*>(req->data);
    Cluster* c = p->cluster;
    if (status == 0 && !c->closing_) {
      lincheck::Operation& op = c->history_[p->record];
      op.outcome = lincheck::Outcome::kOk;
      op.ret = ++c->clock_;
      c->acked_writes_++;
    }
    c->Finish(p);
  }

  void BarrierRead(unsigned server, const std::string& key, int client) {
    lincheck::Operation op = NewOp(client, key, lincheck::OpKind::kRead);
    op.outcome = lincheck::Outcome::kUnknown;
    Pending* p = NewPending(client, server, std::move(op));
    p->barrier.data = p;
    const int rv = raft_barrier(raft_fixture_get(&f_, server), &p->barrier, &Cluster::OnBarrier);
    if (rv != 0) Finish(p);
  }

  static void OnBarrier(struct raft_barrier* req, int status) {
    auto* p = static_cast<Pending*>(req->data);
    Cluster* c = p->cluster;
    if (status == 0 && !c->closing_) {
      lincheck::Operation& op = c->history_[p->record];
      op.output = c->ReadLocal(p->server, op.key);
      op.outcome = lincheck::Outcome::kOk;
      op.ret = ++c->clock_;
      c->ok_reads_++;
    }
    c->Finish(p);
  }

  const Scenario sc_;
  Random rnd_;
  DirectorySource source_;
  raft_fixture f_{};
  std::vector<Node> nodes_;
  std::vector<bool> busy_;
  std::set<Pending*> pending_;
  std::vector<lincheck::Operation> history_;
  int64_t clock_ = 0;
  int serial_ = 0;
  int acked_writes_ = 0;
  int ok_reads_ = 0;
  int faults_ = 0;
  bool closing_ = false;
  raft_tracer tracer_{};
  std::deque<std::string> trace_;
};

class RaftFixtureTest : public ::testing::TestWithParam<unsigned> {};

constexpr uint32_t kRuns = 40;

TEST_P(RaftFixtureTest, FaultyRunsAreLinearizableAndReplicasConverge) {
  const uint32_t base = test::TestSeed(1);
  int acked = 0, unknown = 0, reads = 0, faults = 0;
  uint64_t taken = 0, installed = 0;
  for (uint32_t run = 0; run < kRuns; run++) {
    Scenario sc;
    sc.servers = GetParam();
    sc.seed = base + run;
    if (run % 2 == 1) {  // half the runs with libraft's default snapshot spacing
      sc.snapshot_threshold = 1024;
      sc.snapshot_trailing = 2048;
    }
    SCOPED_TRACE("servers " + std::to_string(sc.servers) + " seed " + std::to_string(sc.seed));
    Cluster cluster(sc);
    cluster.Run();
    if (HasFatalFailure()) {
      std::printf("last libraft diagnostics:\n%s", cluster.RecentTrace().c_str());
      return;
    }
    cluster.ExpectIdenticalReplicas();
    const lincheck::CheckResult r = cluster.CheckHistory();
    EXPECT_EQ(r.verdict, lincheck::Verdict::kOk)
        << lincheck::VerdictName(r.verdict) << " on key " << r.key << ": " << r.explanation;
    acked += cluster.acknowledged_writes();
    unknown += cluster.unknown_writes();
    reads += cluster.ok_reads();
    faults += cluster.faults();
    taken += cluster.snapshots_taken();
    installed += cluster.snapshots_installed();
  }
  std::printf(
      "%u servers, %u runs: %d acknowledged writes, %d writes of unknown outcome, %d reads, "
      "%d faults injected, %" PRIu64 " snapshots taken, %" PRIu64 " installed\n",
      GetParam(), kRuns, acked, unknown, reads, faults, taken, installed);
  // The runs must have exercised something: writes acknowledged and lost.
  EXPECT_GT(acked, 500);
  EXPECT_GT(unknown, 0) << "no write's outcome was ever lost: the faults did not bite";
  EXPECT_GT(installed, 0u) << "no server ever installed a snapshot";
}

INSTANTIATE_TEST_SUITE_P(Sizes, RaftFixtureTest, ::testing::Values(3u, 5u),
                         [](const auto& info) { return std::to_string(info.param) + "servers"; });

// The negative control: reads from any server without a barrier are stale
// under partitions and leader changes; the checker must notice on some seed.
TEST(RaftFixtureNegativeControl, ReadsWithoutBarrierAreCaught) {
  int illegal = 0;
  uint32_t seed = 1;
  for (; seed <= 10 && illegal == 0; seed++) {
    Scenario sc;
    sc.seed = seed;
    sc.barrier_reads = false;
    Cluster cluster(sc);
    cluster.Run();
    if (HasFatalFailure()) return;
    illegal += cluster.CheckHistory().verdict == lincheck::Verdict::kIllegal;
  }
  EXPECT_GT(illegal, 0) << "stale reads were never detected";
  std::printf("stale reads caught by the checker in run %u\n", seed - 1);
}

}  // namespace
}  // namespace lsmkv::replication
