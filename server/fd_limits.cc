#include "server/fd_limits.h"

#include <dirent.h>
#include <sys/resource.h>

#include <algorithm>

namespace lsmkv::server {

namespace {

// Descriptors open in this process now (-1 if /proc is unavailable).
int64_t OpenDescriptors() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int64_t count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') count++;
  }
  closedir(dir);
  return count - 1;  // the directory stream's own descriptor
}

}  // namespace

FdPlan PlanFdLimit(uint64_t soft, uint64_t hard, int64_t reserved, int64_t wanted) {
  FdPlan plan;
  const uint64_t needed = static_cast<uint64_t>(reserved) + static_cast<uint64_t>(wanted);
  plan.soft_limit = soft >= needed ? soft : std::min(needed, hard);
  const int64_t room =
      static_cast<int64_t>(std::min<uint64_t>(plan.soft_limit, INT64_MAX / 2)) - reserved;
  plan.maxclients = std::min(wanted, room);
  return plan;
}

int64_t FitMaxClients(int64_t wanted, int64_t engine_open_files, std::string* explanation) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;  // nothing known: trust the setting
  int64_t open_now = OpenDescriptors();
  if (open_now < 0) open_now = 16;
  const int64_t reserved = open_now + engine_open_files + kSpareDescriptors;
  const uint64_t hard = limit.rlim_max == RLIM_INFINITY ? UINT64_MAX : limit.rlim_max;
  const uint64_t soft = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : limit.rlim_cur;
  FdPlan plan = PlanFdLimit(soft, hard, reserved, wanted);
  if (plan.soft_limit > soft) {
    rlimit raised = limit;
    raised.rlim_cur = static_cast<rlim_t>(plan.soft_limit);
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0) plan = PlanFdLimit(soft, soft, reserved, wanted);
  }
  if (plan.maxclients < wanted) {
    *explanation = "the open-file limit is " + std::to_string(plan.soft_limit) + " (hard limit " +
                   (hard == UINT64_MAX ? std::string("unlimited") : std::to_string(hard)) +
                   ") and " + std::to_string(reserved) +
                   " descriptors are reserved (open at startup, max-open-files, spare); "
                   "raise it with ulimit -n";
  }
  return plan.maxclients;
}

}  // namespace lsmkv::server
