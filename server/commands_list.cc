// List commands (being written; see docs/REDIS_COMPAT.md).
#include "server/command_util.h"

namespace lsmkv::server {

void RegisterListCommands(CommandList* /*list*/) {}

}  // namespace lsmkv::server
