#include "server/client_state.h"

namespace lsmkv::server {

void ClientRegistry::Add(ClientState* client) {
  std::lock_guard<std::mutex> lock(mu_);
  clients_[client->id] = client;
  size_.store(clients_.size(), std::memory_order_release);
}

void ClientRegistry::Remove(ClientState* client) {
  std::lock_guard<std::mutex> lock(mu_);
  clients_.erase(client->id);
  size_.store(clients_.size(), std::memory_order_release);
}

void ClientRegistry::ForEach(const std::function<void(const ClientState&)>& fn) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, client] : clients_) fn(*client);
}

}  // namespace lsmkv::server
