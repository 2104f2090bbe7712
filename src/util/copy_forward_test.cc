// CopyForward copies like memcpy, and a copy stopped by a fault has stored a
// prefix: the destination's second page is inaccessible, the copy runs into
// it, and what it stored before must be a prefix of the source reaching to
// within one 16-byte store of that page. (glibc's memcpy fails this: it
// stores the first bytes of a long copy last.)
#include "util/copy_forward.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace lsmkv {
namespace {

TEST(CopyForwardTest, CopiesLikeMemcpy) {
  std::string src;
  for (int i = 0; i < 300; i++) src.push_back(static_cast<char>(i * 7 + 1));
  for (size_t n = 0; n <= 100; n++) {
    for (size_t offset = 0; offset < 16; offset++) {
      std::string dst(300, '\0');
      CopyForward(dst.data() + offset, src.data() + 3, n);
      EXPECT_EQ(0, std::memcmp(dst.data() + offset, src.data() + 3, n)) << n << " " << offset;
      EXPECT_EQ(std::string(offset, '\0'), dst.substr(0, offset));
      EXPECT_EQ(std::string(300 - offset - n, '\0'), dst.substr(offset + n)) << n << " " << offset;
    }
  }
}

sigjmp_buf g_fault_jump;

void OnFault(int) { siglongjmp(g_fault_jump, 1); }

// Sends SIGSEGV and SIGBUS to OnFault for its lifetime, then restores the
// previous handlers.
class FaultHandlers {
 public:
  FaultHandlers() {
    struct sigaction action {};
    action.sa_handler = OnFault;
    sigemptyset(&action.sa_mask);
    EXPECT_EQ(0, ::sigaction(SIGSEGV, &action, &old_segv_));
    EXPECT_EQ(0, ::sigaction(SIGBUS, &action, &old_bus_));
  }
  ~FaultHandlers() {
    ::sigaction(SIGSEGV, &old_segv_, nullptr);
    ::sigaction(SIGBUS, &old_bus_, nullptr);
  }
  FaultHandlers(const FaultHandlers&) = delete;
  FaultHandlers& operator=(const FaultHandlers&) = delete;

 private:
  struct sigaction old_segv_ {};
  struct sigaction old_bus_ {};
};

TEST(CopyForwardTest, ACopyStoppedByAFaultHasStoredAPrefix) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  for (size_t start : {size_t{0}, size_t{100}, page - 64, page - 1}) {
    void* mem =
        ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, mem);
    char* dst = static_cast<char*>(mem);
    ASSERT_EQ(0, ::mprotect(dst + page, page, PROT_NONE));
    const size_t n = 2 * page - start;  // runs into the inaccessible page
    std::string src(n, '\0');
    for (size_t i = 0; i < n; i++) src[i] = static_cast<char>('a' + i % 26);

    FaultHandlers handlers;
    volatile bool faulted = false;
    if (sigsetjmp(g_fault_jump, 1) == 0) {
      CopyForward(dst + start, src.data(), n);
    } else {
      faulted = true;
    }

    EXPECT_TRUE(faulted) << start;
    // What was stored before the fault is a prefix: the bytes that match the
    // source come first and everything after them is untouched (zero; the
    // source has no zero bytes). Only a 16-byte store that would have
    // crossed into the inaccessible page may be missing from the prefix.
    size_t stored = 0;
    while (start + stored < page && dst[start + stored] == src[stored]) stored++;
    EXPECT_GE(stored + 15, page - start) << start;
    for (size_t i = start + stored; i < page; i++) {
      ASSERT_EQ('\0', dst[i]) << "byte " << i << " stored after a gap; start " << start;
    }
    ASSERT_EQ(0, ::munmap(mem, 2 * page));
  }
}

// Short copies (stored 8, 4, 2, 1 bytes at a time) and copies whose last
// 16-byte store overlaps the one before, each running into the
// inaccessible page at every offset: what was stored is a prefix.
TEST(CopyForwardTest, ShortAndOverlappingCopiesStoppedByAFaultHaveStoredAPrefix) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* mem = ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(MAP_FAILED, mem);
  char* dst = static_cast<char*>(mem);
  ASSERT_EQ(0, ::mprotect(dst + page, page, PROT_NONE));
  std::string src(64, '\0');
  for (size_t i = 0; i < src.size(); i++) src[i] = static_cast<char>('a' + i % 26);
  FaultHandlers handlers;
  int faults = 0;
  for (size_t n = 1; n <= 40; n++) {
    for (size_t room = 0; room < n; room++) {  // bytes before the inaccessible page
      std::memset(dst + page - 64, 0, 64);
      const size_t start = page - room;
      volatile bool faulted = false;
      if (sigsetjmp(g_fault_jump, 1) == 0) {
        CopyForward(dst + start, src.data(), n);
      } else {
        faulted = true;
      }
      ASSERT_TRUE(faulted) << n << " " << room;
      faults++;
      size_t stored = 0;
      while (stored < room && dst[start + stored] == src[stored]) stored++;
      for (size_t i = start + stored; i < page; i++) {
        ASSERT_EQ('\0', dst[i]) << "byte " << i << " stored after a gap; n " << n << " room "
                                << room;
      }
    }
  }
  EXPECT_EQ(40 * 41 / 2, faults);
  ASSERT_EQ(0, ::munmap(mem, 2 * page));
}

}  // namespace
}  // namespace lsmkv
