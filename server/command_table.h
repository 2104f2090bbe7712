// CommandTable: every command lsmkv-server knows, looked up by name without
// case. Built once at startup from the per-family registration functions.
//
// Thread safety: immutable once the server serves (statistics are atomics);
// Rename only at startup.
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
  // rename-command: name is found as new_name from now on, or not at all if
  // new_name is empty. Returns "" or why not (unknown command, new name
  // taken). REQUIRES: before the table is shared (startup).
  std::string Rename(std::string_view name, std::string_view new_name);
  // Every command, in registration order.
  const CommandList& all() const { return specs_; }

 private:
  CommandList specs_;
  // Transparent hashing: Find looks names up without building a string.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view name) const { return std::hash<std::string_view>()(name); }
  };
  std::unordered_map<std::string, const CommandSpec*, NameHash, std::equal_to<>> by_name_;
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_COMMAND_TABLE_H_
