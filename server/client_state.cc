#include "server/client_state.h"

namespace lsmkv::server {

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

}  // namespace lsmkv::server
