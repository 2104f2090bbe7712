#include "server/client_state.h"

#include "server/pubsub.h"

namespace lsmkv::server {

bool ClientState::subscribed() const { return subscriber != nullptr && subscriber->total() > 0; }

void ClientRegistry::Add(ClientState* client) {
  MutexLock lock(&mu_);
  clients_[client->id] = client;
  size_.store(clients_.size(), std::memory_order_release);
}

void ClientRegistry::Remove(ClientState* client) {
  MutexLock lock(&mu_);
  clients_.erase(client->id);
  size_.store(clients_.size(), std::memory_order_release);
}

void ClientRegistry::ForEach(const std::function<void(const ClientState&)>& fn) const {
  MutexLock lock(&mu_);
  for (const auto& [id, client] : clients_) fn(*client);
}

bool ClientRegistry::Unblock(uint64_t id, bool error) const {
  MutexLock lock(&mu_);
  auto it = clients_.find(id);
  if (it == clients_.end()) return false;
  ClientState* client = it->second;
  if (!client->blocked_now.load(std::memory_order_acquire) || !client->unblock) return false;
  client->unblock(error);  // posts only
  return true;
}

}  // namespace lsmkv::server
