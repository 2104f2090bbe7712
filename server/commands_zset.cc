// ZSet commands (being written; see docs/REDIS_COMPAT.md).
#include "server/command_util.h"

namespace lsmkv::server {

void RegisterZSetCommands(CommandList* /*list*/) {}

}  // namespace lsmkv::server
