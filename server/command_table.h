// CommandTable: every command lsmkv-server knows, looked up by name without
// case. Built once at startup from the per-family registration functions.
//
// Thread safety: immutable after construction (statistics are atomics).
#ifndef LSMKV_SERVER_COMMAND_TABLE_H_
#define LSMKV_SERVER_COMMAND_TABLE_H_

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/command.h"

namespace lsmkv::server {

class CommandTable {
 public:
  CommandTable();
  CommandTable(const CommandTable&) = delete;
  CommandTable& operator=(const CommandTable&) = delete;

  // nullptr if name is not a command.
  const CommandSpec* Find(std::string_view name) const;
  // Every command, in registration order.
  const CommandList& all() const { return specs_; }

 private:
  CommandList specs_;
  std::unordered_map<std::string, const CommandSpec*> by_name_;
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_COMMAND_TABLE_H_
