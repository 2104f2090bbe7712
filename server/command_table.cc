#include "server/command_table.h"

#include <cctype>

#include "server/scripting.h"
#include "util/check.h"

namespace lsmkv::server {

void CommandStats::Record(uint64_t elapsed_micros, bool failed) {
  calls.fetch_add(1, std::memory_order_relaxed);
  micros.fetch_add(elapsed_micros, std::memory_order_relaxed);
  if (failed) failed_calls.fetch_add(1, std::memory_order_relaxed);
  size_t bucket = 0;
  while (bucket < kLatencyBucketsMicros.size() && elapsed_micros > kLatencyBucketsMicros[bucket]) {
    bucket++;
  }
  buckets[bucket].fetch_add(1, std::memory_order_relaxed);
}

void CommandStats::Reset() {
  calls.store(0, std::memory_order_relaxed);
  micros.store(0, std::memory_order_relaxed);
  failed_calls.store(0, std::memory_order_relaxed);
  rejected_calls.store(0, std::memory_order_relaxed);
  for (auto& b : buckets) b.store(0, std::memory_order_relaxed);
}

void CollectKeys(const CommandSpec& spec, const std::vector<std::string>& args,
                 std::vector<std::string_view>* keys) {
  if (spec.find_keys != nullptr) {
    spec.find_keys(args, keys);
    return;
  }
  if (spec.first_key <= 0) return;
  const int argc = static_cast<int>(args.size());
  const int last = spec.last_key < 0 ? argc + spec.last_key : spec.last_key;
  const int step = spec.key_step > 0 ? spec.key_step : 1;
  for (int i = spec.first_key; i <= last && i < argc; i += step) keys->push_back(args[i]);
}

void CollectNumKeys(const std::vector<std::string>& args, size_t numkeys_index, size_t first,
                    std::vector<std::string_view>* keys) {
  if (numkeys_index >= args.size()) return;
  const std::string& text = args[numkeys_index];
  if (text.empty() || text.size() > 18) return;
  uint64_t count = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return;
    count = count * 10 + static_cast<uint64_t>(c - '0');
  }
  for (size_t i = first; i < args.size() && count > 0; i++, count--) keys->push_back(args[i]);
}

std::string ArityError(std::string_view full_name) {
  return "ERR wrong number of arguments for '" + std::string(full_name) + "' command";
}

std::string InvalidExpireError(std::string_view name) {
  return "ERR invalid expire time in '" + std::string(name) + "' command";
}

CommandTable::CommandTable() {
  RegisterConnectionCommands(&specs_);
  RegisterStringCommands(&specs_);
  RegisterBitCommands(&specs_);
  RegisterSortCommands(&specs_);
  RegisterHashCommands(&specs_);
  RegisterListCommands(&specs_);
  RegisterSetCommands(&specs_);
  RegisterZSetCommands(&specs_);
  RegisterStreamCommands(&specs_);
  RegisterKeyCommands(&specs_);
  RegisterExpireCommands(&specs_);
  RegisterServerCommands(&specs_);
  RegisterClusterCommands(&specs_);
  RegisterTransactionCommands(&specs_);
  RegisterPubSubCommands(&specs_);
  RegisterScriptingCommands(&specs_);
  for (const auto& spec : specs_) {
    DCHECK((spec->flags & (kCmdWhileBusy | kCmdWhileBusySubcommand)) == 0);  // not Add's to set
    spec->flags |= WhileBusyFlags(spec->name);
    by_name_[spec->name] = spec.get();
  }
}

std::string CommandTable::Rename(std::string_view name, std::string_view new_name) {
  std::string from(name), to(new_name);
  for (char& c : from) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (char& c : to) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = by_name_.find(from);
  if (it == by_name_.end()) return "rename-command: no command '" + from + "'";
  if (!to.empty() && by_name_.count(to) != 0) {
    return "rename-command: '" + to + "' is already a command name";
  }
  if (to.size() >= 32) return "rename-command: '" + to + "' is too long (at most 31 bytes)";
  const CommandSpec* spec = it->second;
  by_name_.erase(it);
  if (!to.empty()) by_name_[to] = spec;
  return "";
}

const CommandSpec* CommandTable::Find(std::string_view name) const {
  char lower[32];
  if (name.empty() || name.size() >= sizeof(lower)) return nullptr;
  for (size_t i = 0; i < name.size(); i++) {
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  }
  auto it = by_name_.find(std::string_view(lower, name.size()));
  return it == by_name_.end() ? nullptr : it->second;
}

}  // namespace lsmkv::server
