#include "server/cpus.h"

#include <sched.h>

#include <thread>

namespace lsmkv::server {

unsigned UsableCpus() {
  unsigned cpus = std::thread::hardware_concurrency();  // 0: unknown
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0) cpus = static_cast<unsigned>(CPU_COUNT(&set));
  return cpus > 0 ? cpus : 1;
}

int DefaultIoThreads(unsigned cpus) { return cpus > 1 ? static_cast<int>(cpus - 1) : 1; }

}  // namespace lsmkv::server
