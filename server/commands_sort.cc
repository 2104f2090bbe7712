// SORT and SORT_RO (Redis 7.0): the elements of a list, set or sorted set,
// sorted numerically (or ALPHA, byte order), optionally by weights read
// from other keys (BY pattern, "nosort" to keep the natural order), with
// LIMIT, GET patterns, ASC/DESC and (SORT) STORE into a list.
//
// Bounds: the source is read whole, so SORT refuses a source of more than
// kMaxSortElements elements or kMaxSortBytes bytes; STORE writes one list
// of at most that many. Keys read through BY and GET patterns are not
// locked (as in Redis Cluster, where such patterns are refused, their
// values are a best-effort read); the source and the destination are.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "server/collection.h"
#include "server/command_util.h"
#include "server/notify.h"

namespace lsmkv::server {

namespace {

constexpr uint64_t kMaxSortElements = 1000000;
constexpr uint64_t kMaxSortBytes = 64u << 20;

struct Item {
  std::string value;
  double score = 0;    // numeric sort key
  std::string weight;  // ALPHA sort key (BY pattern), else value
  bool has_weight = false;
};

// Reads the elements of key (list: in order; set: byte order; sorted set:
// by score) into *out. *found false if the key is absent. Returns false
// after replying with an error (WRONGTYPE for a string or hash, limits,
// engine failure).
bool ReadSource(CommandContext& ctx, std::string_view key, std::vector<std::string>* out) {
  Entry entry;
  bool found = false;
  if (!ReadKey(ctx, key, &entry, &found)) return false;
  if (!found) return true;
  if (entry.type != ValueType::kList && entry.type != ValueType::kSet &&
      entry.type != ValueType::kZSet) {
    ctx.reply.Error(errors::kWrongType);
    return false;
  }
  CollectionMeta meta;
  if (!DecodeCollectionMeta(entry.type, entry.payload, &meta)) {
    ctx.reply.Error("ERR Corruption: lsmkv-server: undecodable collection metadata");
    return false;
  }
  if (meta.count > kMaxSortElements) {
    ctx.reply.Error("ERR lsmkv-server sorts at most " + std::to_string(kMaxSortElements) +
                    " elements");
    return false;
  }
  // A sorted set in score order (its index), the others by element key.
  const char prefix =
      entry.type == ValueType::kZSet ? kZSetScorePrefix : ElementPrefixes(entry.type)[0];
  std::string lower;
  AppendElementPrefix(prefix, ctx.txn.db(), key, meta.version, &lower);
  const std::string upper = PrefixSuccessor(lower);
  uint64_t bytes = 0;
  bool over = false;
  Status s = ctx.txn.ScanElements(lower, upper, [&](std::string_view k, std::string_view v) {
    std::string_view element;
    if (entry.type == ValueType::kList) {
      element = v;
    } else if (entry.type == ValueType::kSet) {
      element = k.substr(lower.size());
    } else {
      element = k.substr(lower.size() + 8);  // after the ordered score
    }
    bytes += element.size();
    if (bytes > kMaxSortBytes) {
      over = true;
      return false;
    }
    out->emplace_back(element);
    return true;
  });
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return false;
  }
  if (over) {
    ctx.reply.Error("ERR lsmkv-server sorts at most " + std::to_string(kMaxSortBytes >> 20) +
                    " MiB of elements");
    return false;
  }
  return true;
}

// Looks up pattern for element: the first '*' replaced by element; a
// "->field" suffix reads that hash field, else the key's string value.
// "#" is the element itself. *found false if absent (or another type).
bool Lookup(CommandContext& ctx, const std::string& pattern, const std::string& element,
            std::string* value, bool* found) {
  *found = false;
  if (pattern == "#") {
    *value = element;
    *found = true;
    return true;
  }
  const size_t star = pattern.find('*');
  if (star == std::string::npos) return true;  // constant pattern: nothing (Redis: nosort-like)
  std::string key = pattern.substr(0, star) + element + pattern.substr(star + 1);
  std::string field;
  const size_t arrow = key.find("->", star + element.size());
  const bool hash = arrow != std::string::npos && arrow + 2 < key.size();
  if (hash) {
    field = key.substr(arrow + 2);
    key.resize(arrow);
  }
  Entry entry;
  bool exists = false;
  Status s = ctx.txn.Peek(key, &entry, &exists);
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return false;
  }
  if (!exists) return true;
  if (!hash) {
    if (entry.type != ValueType::kString) return true;
    *value = std::move(entry.payload);
    *found = true;
    return true;
  }
  if (entry.type != ValueType::kHash || field.size() > kMaxFieldBytes) return true;
  CollectionMeta meta;
  if (!DecodeCollectionMeta(ValueType::kHash, entry.payload, &meta)) return true;
  std::string element_key;
  AppendElementPrefix(kHashFieldPrefix, ctx.txn.db(), key, meta.version, &element_key);
  element_key.append(field);
  s = ctx.txn.GetElement(element_key, value, found);
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return false;
  }
  return true;
}

// Redis reads a numeric sort key with strtod: the whole text, no NaN.
bool ParseSortScore(const std::string& text, double* score) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || std::isnan(v) || errno == ERANGE) return false;
  *score = v;
  return true;
}

void SortGeneric(CommandContext& ctx, bool read_only) {
  const auto& args = ctx.args;
  bool desc = false, alpha = false, nosort = false, has_limit = false;
  int64_t offset = 0, count = -1;
  std::string by;
  std::vector<std::string> gets;
  std::string store;
  bool has_store = false;
  for (size_t i = 2; i < args.size(); i++) {
    const std::string& a = args[i];
    const size_t left = args.size() - i - 1;
    if (EqualsIgnoreCase(a, "asc")) {
      desc = false;
    } else if (EqualsIgnoreCase(a, "desc")) {
      desc = true;
    } else if (EqualsIgnoreCase(a, "alpha")) {
      alpha = true;
    } else if (EqualsIgnoreCase(a, "limit") && left >= 2) {
      if (!ParseIntArg(ctx, args[i + 1], &offset) || !ParseIntArg(ctx, args[i + 2], &count)) {
        return;
      }
      has_limit = true;
      i += 2;
    } else if (EqualsIgnoreCase(a, "store") && left >= 1 && !read_only) {
      store = args[++i];
      has_store = true;
    } else if (EqualsIgnoreCase(a, "by") && left >= 1) {
      by = args[++i];
      if (by.find('*') == std::string::npos) nosort = true;  // a constant: no sorting
    } else if (EqualsIgnoreCase(a, "get") && left >= 1) {
      gets.push_back(args[++i]);
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  std::vector<std::string> elements;
  if (!ReadSource(ctx, args[1], &elements)) return;

  std::vector<Item> items(elements.size());
  for (size_t i = 0; i < elements.size(); i++) items[i].value = std::move(elements[i]);
  if (!nosort) {
    for (Item& item : items) {
      std::string key_text = item.value;
      if (!by.empty()) {
        bool found = false;
        if (!Lookup(ctx, by, item.value, &key_text, &found)) return;
        if (!found) key_text.clear();
      }
      if (alpha) {
        item.weight = std::move(key_text);
      } else if (!by.empty() && key_text.empty()) {
        item.score = 0;  // a missing weight counts as 0
      } else if (!ParseSortScore(key_text, &item.score)) {
        ctx.reply.Error("ERR One or more scores can't be converted into double");
        return;
      }
    }
    std::stable_sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
      int order = 0;
      if (alpha) {
        order = a.weight.compare(b.weight);
      } else {
        order = a.score < b.score ? -1 : (a.score > b.score ? 1 : 0);
      }
      // Equal keys: by the element's bytes, as Redis does.
      if (order == 0) order = a.value.compare(b.value);
      return desc ? order > 0 : order < 0;
    });
  } else if (desc) {
    std::reverse(items.begin(), items.end());
  }
  // LIMIT: Redis clamps a negative offset to 0 and a negative count to all.
  size_t first = 0, last = items.size();
  if (has_limit) {
    const int64_t n = static_cast<int64_t>(items.size());
    const int64_t start = std::clamp<int64_t>(offset, 0, n);
    const int64_t end = count < 0 ? n : std::min<int64_t>(n, start + count);
    first = static_cast<size_t>(start);
    last = static_cast<size_t>(std::max(start, end));
  }
  // The output: each element, or its GET lookups (absent = null).
  std::vector<std::optional<std::string>> out;
  for (size_t i = first; i < last; i++) {
    if (gets.empty()) {
      out.emplace_back(items[i].value);
      continue;
    }
    for (const std::string& pattern : gets) {
      std::string value;
      bool found = false;
      if (!Lookup(ctx, pattern, items[i].value, &value, &found)) return;
      if (found) {
        out.emplace_back(std::move(value));
      } else {
        out.emplace_back(std::nullopt);
      }
    }
  }
  if (out.size() > kMaxSortElements) {
    ctx.reply.Error("ERR lsmkv-server's SORT returns at most " + std::to_string(kMaxSortElements) +
                    " values");
    return;
  }
  if (!has_store) {
    ctx.reply.Array(out.size());
    for (const auto& v : out) {
      if (v) {
        ctx.reply.Bulk(*v);
      } else {
        ctx.reply.Null();
      }
    }
    return;
  }
  // STORE: a new list under the destination (whatever it held ends; an
  // empty result deletes it).
  bool store_existed = false;  // for "del" when an empty result deletes it
  if (out.empty() && ctx.txn.events().Wants(kNotifyGeneric)) {
    Entry old;
    if (!ctx.txn.Peek(store, &old, &store_existed).ok()) store_existed = false;
  }
  Collection list;  // not found: a new version
  if (!out.empty()) {
    if (!CreateCollectionIfAbsent(ctx, store, ValueType::kList, &list)) return;
    for (const auto& v : out) {
      ctx.txn.PutElement(
          ListElementKey(ctx.txn.db(), store, list.meta.version, list.meta.head + list.meta.count),
          v ? *v : std::string());
      list.meta.count++;
    }
  }
  StoreCollection(ctx, store, ValueType::kList, list);
  if (!out.empty()) {
    NotifyKeyspaceEvent(ctx, kNotifyList, "sortstore", store);
  } else if (store_existed) {
    NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", store);
  }
  ctx.reply.Integer(static_cast<int64_t>(out.size()));
}

void Sort(CommandContext& ctx) { SortGeneric(ctx, /*read_only=*/false); }
void SortRo(CommandContext& ctx) { SortGeneric(ctx, /*read_only=*/true); }

// The source, and the STORE destination when there is one.
void FindSortKeys(const std::vector<std::string>& args, std::vector<std::string_view>* keys) {
  if (args.size() < 2) return;
  keys->push_back(args[1]);
  for (size_t i = 2; i + 1 < args.size(); i++) {
    if (EqualsIgnoreCase(args[i], "store")) {
      keys->push_back(args[i + 1]);
      return;
    }
  }
}

}  // namespace

void RegisterSortCommands(CommandList* list) {
  list->push_back(std::unique_ptr<CommandSpec>(
      new CommandSpec{"sort", -2, kCmdWrite, 0, 0, 0, "sort", Sort, {}, FindSortKeys}));
  list->push_back(std::unique_ptr<CommandSpec>(
      new CommandSpec{"sort_ro", -2, kCmdReadOnly, 1, 1, 1, "sort", SortRo, {}}));
}

}  // namespace lsmkv::server
