// The configured apps, found by key (WebSocket path) or id (REST path). Immutable after start.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/settings.hpp"
#include "core/presence_book.hpp"

namespace greendot::server {

class AppRegistry {
 public:
  explicit AppRegistry(std::vector<config::AppConfig> apps);

  const config::AppConfig* find_by_key(std::string_view key, core::AppIndex* index) const;
  const config::AppConfig* find_by_id(std::string_view id, core::AppIndex* index) const;
  const config::AppConfig& app(core::AppIndex index) const { return apps_[index]; }
  std::size_t size() const { return apps_.size(); }

  // Connections each app holds on this node, for its max_connections limit.
  std::atomic<std::uint32_t>& connections(core::AppIndex index) { return connections_[index]; }

 private:
  std::vector<config::AppConfig> apps_;
  std::unordered_map<std::string, core::AppIndex> by_key_;
  std::unordered_map<std::string, core::AppIndex> by_id_;
  std::unique_ptr<std::atomic<std::uint32_t>[]> connections_;
};

}  // namespace greendot::server
