#include "util/testutil.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace lsmkv::test {

namespace {
class ReverseBytewise final : public Comparator {
 public:
  int Compare(std::string_view a, std::string_view b) const override {
    return BytewiseComparator()->Compare(b, a);
  }
  const char* Name() const override { return "test.ReverseBytewise"; }
  void FindShortestSeparator(std::string*, std::string_view) const override {}
  void FindShortSuccessor(std::string*) const override {}
};
}  // namespace

const Comparator* ReverseBytewiseComparator() {
  static const ReverseBytewise* const reverse = new ReverseBytewise();
  return reverse;
}

std::string NewTempDir(const std::string& tag) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/lsmkv-" + tag + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

uint32_t TestSeed(uint32_t default_seed) {
  const char* s = std::getenv("LSMKV_TEST_SEED");
  if (s && *s) return static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  return default_seed;
}

int RunAllTestsOnTmpfs(const char* mount_options, std::string* mount_dir) {
  std::string dir = NewTempDir("tmpfs");
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, mount_options) != 0) {
    const int err = errno;
    ::rmdir(dir.c_str());
    if (err == EPERM || err == EACCES) {
      std::printf("SKIPPED: mounting a tmpfs needs root (%s)\n", std::strerror(err));
      return 77;
    }
    std::fprintf(stderr, "mount tmpfs: %s\n", std::strerror(err));
    return 1;
  }
  *mount_dir = dir;
  const int result = RUN_ALL_TESTS();
  if (::umount(dir.c_str()) != 0) std::perror("umount");
  ::rmdir(dir.c_str());
  return result;
}

}  // namespace lsmkv::test
