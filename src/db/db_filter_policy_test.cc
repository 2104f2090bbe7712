// Pluggable filter policies (Options::filter_policy): a user's policy builds
// each table's filter and point reads consult it (a policy answering "no"
// hides present keys, which proves it is asked); a table written under
// another policy's name is read without its filter, never wrongly; reserved
// names are refused; the built-in bloom policy is the default's format.
#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "db/db_testutil.h"
#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "lsmkv/filter_policy.h"
#include "lsmkv/tools.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

// An exact filter: the sorted distinct keys, each length-prefixed by one
// byte. Counts its calls; `answer_no` makes every probe say "not here".
class ExactPolicy final : public FilterPolicy {
 public:
  explicit ExactPolicy(const char* name = "test.exact") : name_(name) {}
  const char* Name() const override { return name_; }
  void CreateFilter(const std::string_view* keys, size_t n, std::string* dst) const override {
    creates++;
    keys_seen += n;
    std::set<std::string> sorted;
    for (size_t i = 0; i < n; i++) sorted.emplace(keys[i]);
    for (const std::string& k : sorted) {
      dst->push_back(static_cast<char>(k.size()));
      dst->append(k);
    }
  }
  bool KeyMayMatch(std::string_view key, std::string_view filter) const override {
    probes++;
    if (answer_no) return false;
    while (!filter.empty()) {
      const size_t len = static_cast<unsigned char>(filter[0]);
      if (filter.substr(1, len) == key) return true;
      filter.remove_prefix(1 + len);
    }
    misses++;
    return false;
  }

  mutable std::atomic<int> creates{0};
  mutable std::atomic<size_t> keys_seen{0};
  mutable std::atomic<int> probes{0};
  mutable std::atomic<int> misses{0};
  std::atomic<bool> answer_no{false};

 private:
  const char* name_;
};

class FilterPolicyTest : public test::DBTestBase<> {
 protected:
  void SetUp() override {
    policy_ = std::make_shared<ExactPolicy>();
    options_.filter_policy = policy_;
    options_.memtable_filter_ratio = 0;  // only the tables' filters
    ASSERT_TRUE(Reopen().ok());
  }
  void Fill(int n, const std::string& prefix = "key") {
    for (int i = 0; i < n; i++) {
      ASSERT_TRUE(Put(prefix + std::to_string(i), "value" + std::to_string(i)).ok());
    }
    ASSERT_TRUE(db_->Flush().ok());
  }

  std::shared_ptr<ExactPolicy> policy_;
};

TEST_F(FilterPolicyTest, TheUsersPolicyBuildsTheFilterAndReadsConsultIt) {
  ASSERT_NO_FATAL_FAILURE(Fill(500));
  EXPECT_GE(policy_->creates.load(), 1);
  EXPECT_EQ(500u, policy_->keys_seen.load()) << "each distinct user key once";
  for (int i = 0; i < 500; i += 7)
    EXPECT_EQ("value" + std::to_string(i), Get("key" + std::to_string(i)));
  const int probes = policy_->probes.load();
  EXPECT_GT(probes, 0);
  for (int i = 0; i < 100; i++) EXPECT_EQ("NOT_FOUND", Get("key1_" + std::to_string(i)));
  EXPECT_GE(policy_->misses.load(), 100) << "the exact filter rules every absent key out";

  // A policy answering "no" hides present keys from point reads (that is
  // what a false negative costs); scans do not use filters.
  policy_->answer_no = true;
  EXPECT_EQ("NOT_FOUND", Get("key1"));
  EXPECT_EQ(500u, Contents().size());
  policy_->answer_no = false;
  EXPECT_EQ("value1", Get("key1"));

  // It survives a reopen and a compaction (new tables, new filters).
  ASSERT_TRUE(Reopen().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  policy_->answer_no = true;
  EXPECT_EQ("NOT_FOUND", Get("key2"));
  policy_->answer_no = false;
  EXPECT_EQ("value2", Get("key2"));
}

TEST_F(FilterPolicyTest, TablesOfAnotherPolicyAreReadWithoutTheirFilter) {
  ASSERT_NO_FATAL_FAILURE(Fill(300, "old"));  // tables with "filter.test.exact"

  // Reopened with the built-in bloom filter: the exact filters are not
  // used (the policy is never asked) and every key is found.
  options_.filter_policy = nullptr;
  ASSERT_TRUE(Reopen().ok());
  policy_->probes = 0;
  policy_->answer_no = true;
  for (int i = 0; i < 300; i += 3)
    EXPECT_EQ("value" + std::to_string(i), Get("old" + std::to_string(i)));
  EXPECT_EQ(0, policy_->probes.load());
  ASSERT_NO_FATAL_FAILURE(Fill(300, "bloom"));  // tables with "filter.lsmkv.bloom"

  // Reopened with another user policy: neither kind of filter is used.
  auto other = std::make_shared<ExactPolicy>("test.other");
  other->answer_no = true;  // would hide every key if it were asked
  options_.filter_policy = other;
  ASSERT_TRUE(Reopen().ok());
  for (int i = 0; i < 300; i += 3) {
    EXPECT_EQ("value" + std::to_string(i), Get("old" + std::to_string(i)));
    EXPECT_EQ("value" + std::to_string(i), Get("bloom" + std::to_string(i)));
  }
  EXPECT_EQ(0, other->probes.load());

  // Tables holding a filter of another name still verify and read whole.
  db_.reset();
  VerifyOptions vo;
  vo.env = env_.get();
  vo.filter_policy = other;
  VerifyReport report;
  Status s = VerifyDB(dbname_, vo, &report);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << report.ToString();
  options_.paranoid_checks = true;  // reads every table whole at Open
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ(600u, Contents().size());

  // Back to the first policy: its tables' filters are used again.
  options_.filter_policy = policy_;
  ASSERT_TRUE(Reopen().ok());
  policy_->answer_no = true;
  EXPECT_EQ("NOT_FOUND", Get("old3"));
  EXPECT_EQ("value3", Get("bloom3")) << "a bloom table is read without a filter";
}

TEST_F(FilterPolicyTest, TheBuiltinPolicyIsTheDefaultFormat) {
  // Tables written with NewBloomFilterPolicy(10) and with the default
  // (bloom_bits_per_key) are interchangeable: both are "lsmkv.bloom".
  options_.filter_policy = NewBloomFilterPolicy(10);
  ASSERT_TRUE(Reopen().ok());
  ASSERT_NO_FATAL_FAILURE(Fill(200));
  options_.filter_policy = nullptr;
  ASSERT_TRUE(Reopen().ok());
  for (int i = 0; i < 200; i++)
    EXPECT_EQ("value" + std::to_string(i), Get("key" + std::to_string(i)));

  // The generic interface of the built-in policy agrees with itself.
  std::shared_ptr<const FilterPolicy> bloom = NewBloomFilterPolicy(10);
  EXPECT_STREQ("lsmkv.bloom", bloom->Name());
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; i++) keys.push_back("k" + std::to_string(i));
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::string filter;
  bloom->CreateFilter(views.data(), views.size(), &filter);
  for (const std::string& k : keys) EXPECT_TRUE(bloom->KeyMayMatch(k, filter)) << k;
  int false_positives = 0;
  for (int i = 0; i < 10000; i++)
    false_positives += bloom->KeyMayMatch("x" + std::to_string(i), filter);
  EXPECT_LT(false_positives, 300) << "about 1% at 10 bits per key";
}

TEST_F(FilterPolicyTest, ReservedAndEmptyNamesAreRefused) {
  db_.reset();
  dbname_ = "/reserved";
  options_.filter_policy = std::make_shared<ExactPolicy>("lsmkv.mine");
  Status s = Reopen();
  ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("reserved")) << s.ToString();
  options_.filter_policy = std::make_shared<ExactPolicy>("");
  s = Reopen();
  ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
}

}  // namespace
}  // namespace lsmkv
