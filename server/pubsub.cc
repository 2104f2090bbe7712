#include "server/pubsub.h"

#include <algorithm>

#include "server/glob.h"

namespace lsmkv::server {

namespace {

void AppendBulk(std::string* out, std::string_view s) {
  out->push_back('$');
  out->append(std::to_string(s.size()));
  out->append("\r\n");
  out->append(s);
  out->append("\r\n");
}

}  // namespace

void Subscriber::Deliver(std::string_view frame, uint64_t limit) {
  bool notify = false;
  {
    MutexLock lock(&mu_);
    if (overflowed_) return;
    if (limit > 0 &&
        pending_.size() + frame.size() + unsent_.load(std::memory_order_relaxed) > limit) {
      overflowed_ = true;
      std::string().swap(pending_);  // the memory, not just the size
    } else {
      const size_t start = pending_.size();
      pending_.append(frame);
      if (protocol_.load(std::memory_order_relaxed) >= 3) pending_[start] = '>';
    }
    if (!notified_) {
      notified_ = true;
      notify = true;
    }
  }
  if (notify && notify_) notify_();
}

bool Subscriber::Drain(std::string* out) {
  MutexLock lock(&mu_);
  notified_ = false;
  if (overflowed_) return false;
  if (out->empty()) {
    out->swap(pending_);
  } else {
    out->append(pending_);
  }
  pending_.clear();
  return true;
}

bool PubSub::Add(Table* table, const std::shared_ptr<Subscriber>& sub, std::string_view name) {
  auto it = table->find(std::string(name));
  if (it == table->end()) it = table->emplace(std::string(name), Subscribers()).first;
  return it->second.emplace(sub->client_id(), sub).second;
}

bool PubSub::Remove(Table* table, uint64_t id, std::string_view name) {
  auto it = table->find(std::string(name));
  if (it == table->end()) return false;
  const bool erased = it->second.erase(id) > 0;
  if (it->second.empty()) table->erase(it);  // no empty channel lingers
  return erased;
}

bool PubSub::Subscribe(Kind kind, const std::shared_ptr<Subscriber>& sub,
                       std::string_view channel) {
  MutexLock lock(&mu_);
  return Add(&TableFor(kind), sub, channel);
}

bool PubSub::Unsubscribe(Kind kind, const Subscriber& sub, std::string_view channel) {
  MutexLock lock(&mu_);
  return Remove(&TableFor(kind), sub.client_id(), channel);
}

bool PubSub::PSubscribe(const std::shared_ptr<Subscriber>& sub, std::string_view pattern) {
  MutexLock lock(&mu_);
  return Add(&patterns_, sub, pattern);
}

bool PubSub::PUnsubscribe(const Subscriber& sub, std::string_view pattern) {
  MutexLock lock(&mu_);
  return Remove(&patterns_, sub.client_id(), pattern);
}

void PubSub::RemoveAll(Subscriber* sub) {
  {
    MutexLock lock(&mu_);
    for (const std::string& c : sub->channels) Remove(&channels_, sub->client_id(), c);
    for (const std::string& c : sub->shard_channels) Remove(&shard_, sub->client_id(), c);
    for (const std::string& p : sub->patterns) Remove(&patterns_, sub->client_id(), p);
  }
  sub->channels.clear();
  sub->shard_channels.clear();
  sub->patterns.clear();
}

int64_t PubSub::Publish(Kind kind, std::string_view channel, std::string_view message,
                        uint64_t limit) {
  // Encoded once, outside the lock; each subscriber copies it.
  const bool shard = kind == Kind::kShard;
  std::string frame = "*3\r\n";
  AppendBulk(&frame, shard ? "smessage" : "message");
  AppendBulk(&frame, channel);
  AppendBulk(&frame, message);
  std::string pframe;  // "pmessage" frames differ only in the pattern
  int64_t receivers = 0;
  MutexLock lock(&mu_);
  const Table& table = TableFor(kind);
  if (auto it = table.find(std::string(channel)); it != table.end()) {
    for (const auto& [id, sub] : it->second) {
      sub->Deliver(frame, limit);
      receivers++;
    }
  }
  if (shard) return receivers;
  for (const auto& [pattern, subs] : patterns_) {
    if (!GlobMatch(pattern, channel)) continue;
    pframe = "*4\r\n";
    AppendBulk(&pframe, "pmessage");
    AppendBulk(&pframe, pattern);
    AppendBulk(&pframe, channel);
    AppendBulk(&pframe, message);
    for (const auto& [id, sub] : subs) {
      sub->Deliver(pframe, limit);
      receivers++;
    }
  }
  return receivers;
}

std::vector<std::string> PubSub::Channels(Kind kind, std::string_view pattern, bool all) const {
  std::vector<std::string> names;
  {
    MutexLock lock(&mu_);
    for (const auto& [name, subs] : TableFor(kind)) {
      if (all || GlobMatch(pattern, name)) names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

int64_t PubSub::NumSub(Kind kind, std::string_view channel) const {
  MutexLock lock(&mu_);
  const Table& table = TableFor(kind);
  auto it = table.find(std::string(channel));
  return it == table.end() ? 0 : static_cast<int64_t>(it->second.size());
}

int64_t PubSub::NumChannels(Kind kind) const {
  MutexLock lock(&mu_);
  return static_cast<int64_t>(TableFor(kind).size());
}

int64_t PubSub::NumPat() const {
  MutexLock lock(&mu_);
  return static_cast<int64_t>(patterns_.size());
}

}  // namespace lsmkv::server
