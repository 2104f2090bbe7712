// The shared fixture and checks of the DB tests (src/db/*_test.cc and
// src/admin/*_test.cc): a DB on a MemEnv with Reopen/Get/Put/Delete helpers,
// full contents by scan, an iterator checked against a std::map model
// (forward, backward, seeks, bounds), and the table files a DB references
// versus those in its directory. Header only; test binaries only.
#ifndef LSMKV_DB_DB_TESTUTIL_H_
#define LSMKV_DB_DB_TESTUTIL_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/filename.h"
#include "db/db_impl.h"
#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "lsmkv/env.h"
#include "util/random.h"

namespace lsmkv::test {

// A Get's outcome as one string: the value, "NOT_FOUND", or "ERROR: <status>".
inline std::string GetOrStatus(DB* db, std::string_view key, const Snapshot* snapshot = nullptr) {
  ReadOptions ro;
  ro.snapshot = snapshot;
  std::string value;
  Status s = db->Get(ro, key, &value);
  if (s.IsNotFound()) return "NOT_FOUND";
  if (!s.ok()) return "ERROR: " + s.ToString();
  return value;
}

// Every key and value a forward scan of db shows. Adds a failure (EXPECT) if
// the scan ends with an error.
inline std::map<std::string, std::string> ScanContents(DB* db,
                                                       const ReadOptions& ro = ReadOptions()) {
  std::map<std::string, std::string> result;
  std::unique_ptr<Iterator> it = db->NewIterator(ro);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    result[std::string(it->key())] = std::string(it->value());
  }
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return result;
}

// A forward scan of it from the first entry shows exactly model, in order,
// and ends with OK status. Fatal (ASSERT) at the first wrong entry; callers
// check HasFatalFailure() if they go on.
inline void ExpectScanMatchesModel(Iterator* it, const std::map<std::string, std::string>& model) {
  size_t n = 0;
  auto m = model.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++m, ++n) {
    ASSERT_EQ(m->first, it->key());
    ASSERT_EQ(m->second, it->value());
  }
  ASSERT_TRUE(it->status().ok());
  EXPECT_EQ(model.size(), n);
}

// Walks it and model (restricted to ro's bounds) in lockstep through `steps`
// random operations: SeekToFirst, SeekToLast, Seek and SeekForPrev to keys
// from random_key, Next and Prev (only while positioned). After every step
// the status is OK, validity agrees and the entry is the model's. Fatal
// (ASSERT) at the first disagreement, naming the step.
inline void ExpectIteratorMatchesModel(Iterator* it, const std::map<std::string, std::string>& m,
                                       const ReadOptions& ro, Random* rnd, int steps,
                                       const std::function<std::string(Random*)>& random_key) {
  auto in_bounds = [&](const std::string& k) {
    return (!ro.lower_bound || k >= *ro.lower_bound) && (!ro.upper_bound || k < *ro.upper_bound);
  };
  std::map<std::string, std::string> view;
  for (const auto& [k, v] : m) {
    if (in_bounds(k)) view.emplace(k, v);
  }
  auto pos = view.end();  // end() == not valid
  for (int step = 0; step < steps; step++) {
    const uint32_t op = rnd->Uniform(8);
    if (op == 0) {
      it->SeekToFirst();
      pos = view.begin();
    } else if (op == 1) {
      it->SeekToLast();
      pos = view.empty() ? view.end() : std::prev(view.end());
    } else if (op == 2) {
      const std::string target = random_key(rnd);
      it->Seek(target);
      pos = view.lower_bound(target);
    } else if (op == 3) {
      const std::string target = random_key(rnd);
      it->SeekForPrev(target);
      pos = view.upper_bound(target);
      pos = (pos == view.begin()) ? view.end() : std::prev(pos);
    } else if (op < 6) {
      if (pos == view.end()) continue;
      it->Next();
      ++pos;
    } else {
      if (pos == view.end()) continue;
      it->Prev();
      pos = (pos == view.begin()) ? view.end() : std::prev(pos);
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_EQ(pos != view.end(), it->Valid()) << "step " << step << " op " << op;
    if (pos != view.end()) {
      ASSERT_EQ(pos->first, it->key());
      ASSERT_EQ(pos->second, it->value());
    }
  }
}

// The numbers of the table files db references ("lsmkv.live-files"); false
// if the property cannot be read.
[[nodiscard]] inline bool LiveTableNumbers(DB* db, std::set<uint64_t>* live) {
  std::string text;
  if (!db->GetProperty("lsmkv.live-files", &text)) return false;
  std::istringstream in(text);
  for (uint64_t n; in >> n;) live->insert(n);
  return true;
}

// The numbers of the table files (<number>.sst, as ParseFileName reads them) in dir.
inline Status TableNumbersInDir(Env* env, const std::string& dir, std::set<uint64_t>* numbers) {
  std::vector<std::string> children;
  Status s = env->GetChildren(dir, &children);
  if (!s.ok()) return s;
  for (const std::string& c : children) {
    uint64_t n;
    FileType t;
    if (ParseFileName(c, &n, &t) && t == FileType::kTableFile) numbers->insert(n);
  }
  return s;
}

// Paths ("<dir>/<name>") of the files of type wanted in dir, ascending.
// Adds a failure (EXPECT) if dir cannot be listed.
inline std::vector<std::string> FilesOfType(Env* env, const std::string& dir, FileType wanted) {
  std::vector<std::string> children, result;
  EXPECT_TRUE(env->GetChildren(dir, &children).ok());
  for (const std::string& c : children) {
    uint64_t n;
    FileType t;
    if (ParseFileName(c, &n, &t) && t == wanted) result.push_back(dir + "/" + c);
  }
  std::sort(result.begin(), result.end());
  return result;
}

// An Env whose clock (NowMicros: backoffs, ages, expiries) moves only when
// the test says so; everything else goes to target.
class ManualClockEnv : public EnvWrapper {
 public:
  explicit ManualClockEnv(Env* target) : EnvWrapper(target) {}
  uint64_t NowMicros() override { return now_.load(); }
  void Advance(uint64_t micros) { now_.fetch_add(micros); }

 private:
  std::atomic<uint64_t> now_{1'000'000};
};

// A test fixture with a database on a MemEnv: env_, options_ (env_,
// create_if_missing; adjust before Reopen), dbname_ and db_. TestBase is
// ::testing::Test or a ::testing::TestWithParam<T>. Nothing is opened until
// the test (or a derived SetUp) calls Reopen. db_ is destroyed after the
// derived fixture's members: a fixture owning something the DB uses (an Env
// it sets as options_.env, say) must reset db_ in its own TearDown.
template <typename TestBase = ::testing::Test>
class DBTestBase : public TestBase {
 protected:
  DBTestBase() : env_(NewMemEnv(Env::Default())) {
    options_.env = env_.get();
    options_.create_if_missing = true;
  }

  // Closes db_ (if open) and opens dbname_ with options_ into db_.
  Status Reopen() {
    db_.reset();
    return DB::Open(options_, dbname_, &db_);
  }
  DBImpl* impl() { return static_cast<DBImpl*>(db_.get()); }

  // The value, "NOT_FOUND" or "ERROR: <status>" (at snapshot if given).
  std::string Get(std::string_view key, const Snapshot* snapshot = nullptr) {
    return GetOrStatus(db_.get(), key, snapshot);
  }
  Status Put(std::string_view key, std::string_view value, bool sync = false) {
    WriteOptions wo;
    wo.sync = sync;
    return db_->Put(wo, key, value);
  }
  Status Delete(std::string_view key, bool sync = false) {
    WriteOptions wo;
    wo.sync = sync;
    return db_->Delete(wo, key);
  }
  // Everything a forward scan of db_ shows (EXPECTs an OK scan).
  std::map<std::string, std::string> Contents() { return ScanContents(db_.get()); }
  // The row `label` of db_'s lsmkv.stats (0, with a failure, if there is none).
  uint64_t Stat(const std::string& label) {
    std::string stats;
    EXPECT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
    const size_t at = stats.find(label + ": ");
    EXPECT_NE(std::string::npos, at) << label << " in\n" << stats;
    return at == std::string::npos ? 0 : std::stoull(stats.substr(at + label.size() + 2));
  }

  std::unique_ptr<Env> env_;
  std::string dbname_ = "/db";
  Options options_;
  std::unique_ptr<DB> db_;
};

}  // namespace lsmkv::test

#endif  // LSMKV_DB_DB_TESTUTIL_H_
