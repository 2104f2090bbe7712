#include "lsmkv/status.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace lsmkv {
namespace {

TEST(StatusTest, OkIsDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(Status::Code::kOk, s.code());
  EXPECT_EQ(Status::SubCode::kNone, s.subcode());
  EXPECT_EQ("", s.message());
  EXPECT_EQ("OK", s.ToString());
  EXPECT_TRUE(Status::OK().ok());
  EXPECT_FALSE(s.IsNotFound() || s.IsCorruption() || s.IsIOError() || s.IsNoSpace());
}

TEST(StatusTest, EachFactoryHasItsCodeAndPredicate) {
  struct Case {
    Status status;
    Status::Code code;
    const char* prefix;
  };
  Case cases[] = {
      {Status::NotFound("m"), Status::Code::kNotFound, "NotFound: "},
      {Status::Corruption("m"), Status::Code::kCorruption, "Corruption: "},
      {Status::NotSupported("m"), Status::Code::kNotSupported, "Not supported: "},
      {Status::InvalidArgument("m"), Status::Code::kInvalidArgument, "Invalid argument: "},
      {Status::IOError("m"), Status::Code::kIOError, "IO error: "},
      {Status::Busy("m"), Status::Code::kBusy, "Busy: "},
      {Status::Aborted("m"), Status::Code::kAborted, "Aborted: "},
  };
  for (const Case& c : cases) {
    const Status& s = c.status;
    SCOPED_TRACE(s.ToString());
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(c.code, s.code());
    EXPECT_EQ(Status::SubCode::kNone, s.subcode());
    EXPECT_EQ("m", s.message());
    EXPECT_EQ(std::string(c.prefix) + "m", s.ToString());
    // Exactly one predicate is true.
    const int true_count = s.IsNotFound() + s.IsCorruption() + s.IsNotSupported() +
                           s.IsInvalidArgument() + s.IsIOError() + s.IsBusy() + s.IsAborted();
    EXPECT_EQ(1, true_count);
    EXPECT_FALSE(s.IsNoSpace());
  }
  EXPECT_TRUE(Status::NotFound("x").IsNotFound());
  EXPECT_TRUE(Status::Corruption("x").IsCorruption());
  EXPECT_TRUE(Status::NotSupported("x").IsNotSupported());
  EXPECT_TRUE(Status::InvalidArgument("x").IsInvalidArgument());
  EXPECT_TRUE(Status::IOError("x").IsIOError());
  EXPECT_TRUE(Status::Busy("x").IsBusy());
  EXPECT_TRUE(Status::Aborted("x").IsAborted());
}

TEST(StatusTest, TwoPartMessage) {
  Status s = Status::Corruption("000005.log", "checksum mismatch");
  EXPECT_EQ("000005.log: checksum mismatch", s.message());
  EXPECT_EQ("Corruption: 000005.log: checksum mismatch", s.ToString());
  // An empty second part adds no separator.
  EXPECT_EQ("a", Status::NotFound("a", "").message());
}

TEST(StatusTest, MessagesMayContainNulBytes) {
  const std::string msg("a\0b", 3);
  Status s = Status::InvalidArgument(msg);
  EXPECT_EQ(msg, s.message());
}

TEST(StatusTest, NoSpaceSubcode) {
  Status s = Status::NoSpace("write 000007.sst", "ENOSPC");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsIOError());
  EXPECT_TRUE(s.IsNoSpace());
  EXPECT_EQ(Status::Code::kIOError, s.code());
  EXPECT_EQ(Status::SubCode::kNoSpace, s.subcode());
  EXPECT_EQ("write 000007.sst: ENOSPC", s.message());
  EXPECT_EQ("IO error (no space left): write 000007.sst: ENOSPC", s.ToString());

  Status same = Status::IOError("x", "", Status::SubCode::kNoSpace);
  EXPECT_TRUE(same.IsNoSpace());

  Status missing = Status::IOError("open", "CURRENT", Status::SubCode::kPathNotFound);
  EXPECT_TRUE(missing.IsIOError());
  EXPECT_FALSE(missing.IsNoSpace());
  EXPECT_EQ(Status::SubCode::kPathNotFound, missing.subcode());

  EXPECT_FALSE(Status::IOError("plain").IsNoSpace());
}

TEST(StatusTest, CopyIsDeepAndIndependent) {
  Status original = Status::Corruption("bad block");
  Status copy(original);
  EXPECT_EQ(original.ToString(), copy.ToString());
  original = Status::NotFound("gone");
  EXPECT_TRUE(copy.IsCorruption());
  EXPECT_EQ("bad block", copy.message());
  EXPECT_TRUE(original.IsNotFound());

  Status assigned;
  assigned = copy;
  EXPECT_TRUE(assigned.IsCorruption());
  EXPECT_NE(copy.message().data(), assigned.message().data());  // not shared storage
  assigned = Status::OK();
  EXPECT_TRUE(assigned.ok());
  EXPECT_TRUE(copy.IsCorruption());

  Status from_ok(Status::OK());
  EXPECT_TRUE(from_ok.ok());
  Status error = Status::Busy("x");
  error = from_ok;  // assigning OK over an error
  EXPECT_TRUE(error.ok());
}

TEST(StatusTest, SelfAssignment) {
  Status s = Status::Aborted("stop");
  const Status& alias = s;
  s = alias;
  EXPECT_TRUE(s.IsAborted());
  EXPECT_EQ("stop", s.message());
}

// Code and subcode share one field: each survives copies and moves with
// the other, for every pair a factory can make, and a moved-from status is
// OK with no subcode.
TEST(StatusTest, CodeAndSubcodeTravelTogether) {
  static_assert(sizeof(Status) <= 2 * sizeof(void*), "a status stays two words");
  std::vector<Status> made = {Status::OK(),
                              Status::NotFound("a"),
                              Status::Corruption(""),
                              Status::NotSupported("c"),
                              Status::InvalidArgument("d"),
                              Status::Busy(""),
                              Status::Aborted("f")};
  for (Status::SubCode sub :
       {Status::SubCode::kNone, Status::SubCode::kNoSpace, Status::SubCode::kPathNotFound}) {
    made.push_back(Status::IOError("io", "", sub));
    made.push_back(Status::IOError("", "", sub));
  }
  for (const Status& s : made) {
    const Status::Code code = s.code();
    const Status::SubCode sub = s.subcode();
    EXPECT_TRUE(code == Status::Code::kIOError || sub == Status::SubCode::kNone);
    Status copy(s);
    EXPECT_EQ(code, copy.code());
    EXPECT_EQ(sub, copy.subcode());
    Status assigned = Status::Aborted("x");
    assigned = s;
    EXPECT_EQ(code, assigned.code());
    EXPECT_EQ(sub, assigned.subcode());
    Status moved(std::move(copy));
    EXPECT_EQ(code, moved.code());
    EXPECT_EQ(sub, moved.subcode());
    EXPECT_EQ(Status::Code::kOk, copy.code());  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(Status::SubCode::kNone, copy.subcode());
    Status target = Status::NoSpace("full");
    target = std::move(moved);
    EXPECT_EQ(code, target.code());
    EXPECT_EQ(sub, target.subcode());
    EXPECT_EQ(code == Status::Code::kOk, target.ok());
    EXPECT_EQ(Status::SubCode::kNone, moved.subcode());  // NOLINT(bugprone-use-after-move)
    EXPECT_TRUE(moved.ok());
  }
}

TEST(StatusTest, Move) {
  static_assert(std::is_nothrow_move_constructible_v<Status>);
  static_assert(std::is_nothrow_move_assignable_v<Status>);
  Status a = Status::NoSpace("disk full");
  Status b(std::move(a));
  EXPECT_TRUE(b.IsNoSpace());
  EXPECT_EQ("disk full", b.message());
  Status c;
  c = std::move(b);
  EXPECT_TRUE(c.IsNoSpace());
  EXPECT_EQ("IO error (no space left): disk full", c.ToString());
  // A moved-from status is OK, and may be reassigned and used again.
  EXPECT_TRUE(a.ok());
  EXPECT_TRUE(b.ok());
  EXPECT_EQ("OK", b.ToString());
  a = Status::NotFound("k");
  EXPECT_TRUE(a.IsNotFound());
}

// Only a message is allocated: OK and a message-less NotFound (what every
// lookup of an absent key returns) cost none. Counted through operator new.
std::atomic<long> g_news{0};
}  // namespace
}  // namespace lsmkv

// Out of line, so that the compiler never sees free() meet operator new's
// pointer (-Wmismatched-new-delete at -O1 and above).
__attribute__((noinline)) void* operator new(std::size_t n) {
  lsmkv::g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace lsmkv {
namespace {

TEST(StatusTest, OnlyMessagesAllocate) {
  const long before = g_news.load();
  {
    Status ok;
    Status missing = Status::NotFound("");
    Status copy = missing;
    Status moved = std::move(copy);
    EXPECT_TRUE(ok.ok());
    EXPECT_TRUE(missing.IsNotFound() && moved.IsNotFound());
    EXPECT_EQ("", missing.message());
    EXPECT_EQ("NotFound: ", missing.ToString().substr(0, 10));
  }
  // ToString builds a std::string (possibly allocating); the statuses none.
  const long during_to_string = g_news.load() - before;
  EXPECT_LE(during_to_string, 1);
  const long mid = g_news.load();
  Status busy = Status::Busy("key k");
  EXPECT_EQ(g_news.load() - mid, 1);
  EXPECT_EQ("Busy: key k", busy.ToString());
}

}  // namespace
}  // namespace lsmkv
