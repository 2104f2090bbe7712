#include "util/testutil.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace lsmkv::test {

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

}  // namespace lsmkv::test
