// Collection versions on a replicated keyspace (Keyspace::NewCollectionVersion
// with a WriteReplicator): each term's leader continues above every version
// an earlier leader handed out, whatever the clocks say.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "lsmkv/db.h"
#include "server/clock.h"
#include "server/keyspace.h"
#include "server/test_client.h"

namespace lsmkv::server {
namespace {

// Every node's database receives every replicated batch at once (a perfect
// log); Replicate refuses when the node does not lead, as Cluster does.
class FakeReplicator : public WriteReplicator {
 public:
  explicit FakeReplicator(std::vector<DB*>* dbs) : dbs_(dbs) {}
  Status Replicate(const WriteBatch& batch) override {
    if (term_ == 0) return Status::Busy("CLUSTERDOWN not leading");
    for (DB* db : *dbs_) {
      WriteBatch copy = batch;
      Status s = db->Write(WriteOptions(), &copy);
      if (!s.ok()) return s;
    }
    replicated_++;
    return Status::OK();
  }
  uint64_t applied_index() const override { return replicated_; }
  bool Leading() const override { return term_ != 0; }
  uint64_t LeadingTerm() const override { return term_; }

  uint64_t term_ = 0;
  uint64_t replicated_ = 0;

 private:
  std::vector<DB*>* dbs_;
};

class KeyspaceVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; i++) {
      dirs_.push_back(test::MakeTempDir("keyspace_versions"));
      Options options;
      options.create_if_missing = true;
      std::unique_ptr<DB> db;
      ASSERT_TRUE(DB::Open(options, dirs_.back(), &db).ok());
      raw_.push_back(db.get());
      dbs_.push_back(std::move(db));
    }
    for (int i = 0; i < 2; i++) {
      replicators_.push_back(std::make_unique<FakeReplicator>(&raw_));
      keyspaces_.push_back(std::make_unique<Keyspace>(raw_[i], &clock_));
      keyspaces_.back()->set_replicator(replicators_.back().get());
    }
  }
  void TearDown() override {
    keyspaces_.clear();
    for (auto& db : dbs_) EXPECT_TRUE(db->Close().ok());
    dbs_.clear();
    for (const auto& d : dirs_) test::RemoveTree(d);
  }
  // Node `leader` leads in `term`; the other does not.
  void Lead(int leader, uint64_t term) {
    for (int i = 0; i < 2; i++) replicators_[i]->term_ = i == leader ? term : 0;
  }
  std::vector<uint64_t> Allocate(int node, int n) {
    std::vector<uint64_t> out;
    for (int i = 0; i < n; i++) {
      uint64_t v = 0;
      Status s = keyspaces_[node]->NewCollectionVersion(&v);
      EXPECT_TRUE(s.ok()) << s.ToString();
      out.push_back(v);
    }
    return out;
  }

  // The clock never moves: only the replicated floor keeps leaders apart.
  ManualClock clock_{int64_t{1700000000000} * 1000};
  std::vector<std::string> dirs_;
  std::vector<std::unique_ptr<DB>> dbs_;
  std::vector<DB*> raw_;
  std::vector<std::unique_ptr<FakeReplicator>> replicators_;
  std::vector<std::unique_ptr<Keyspace>> keyspaces_;
};

TEST_F(KeyspaceVersionsTest, EachTermsLeaderStartsAboveEveryEarlierVersion) {
  std::set<uint64_t> used;
  uint64_t highest = 0;
  // Leadership alternates, and returns to a node that still holds a block
  // of its own from an earlier term.
  const int leaders[] = {0, 1, 0, 0, 1, 1, 0};
  for (uint64_t term = 1; term <= std::size(leaders); term++) {
    const int leader = leaders[term - 1];
    Lead(leader, term);
    const std::vector<uint64_t> versions = Allocate(leader, 5);
    for (uint64_t v : versions) {
      EXPECT_TRUE(used.insert(v).second)
          << "version " << v << " handed out twice (term " << term << ")";
      EXPECT_GT(v, highest) << "term " << term << " went below an earlier leader's versions";
    }
    highest = std::max(highest, versions.back());
  }
  // The floor went through replication once per term (the first call).
  EXPECT_EQ(replicators_[0]->replicated_ + replicators_[1]->replicated_, std::size(leaders));
}

TEST_F(KeyspaceVersionsTest, NotLeadingIsAnErrorAndLeavesNoBlockBehind) {
  Lead(-1, 0);
  uint64_t v = 0;
  Status s = keyspaces_[0]->NewCollectionVersion(&v);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  Lead(1, 1);
  const std::vector<uint64_t> first = Allocate(1, 3);
  Lead(0, 2);
  const std::vector<uint64_t> second = Allocate(0, 3);
  EXPECT_GT(second.front(), first.back());
}

}  // namespace
}  // namespace lsmkv::server
