#include "server/app_registry.hpp"

namespace greendot::server {

AppRegistry::AppRegistry(std::vector<config::AppConfig> apps)
    : apps_(std::move(apps)),
      connections_(std::make_unique<std::atomic<std::uint32_t>[]>(apps_.size())) {
  for (core::AppIndex i = 0; i < apps_.size(); ++i) {
    by_key_.emplace(apps_[i].key, i);
    by_id_.emplace(apps_[i].id, i);
  }
}

namespace {

const config::AppConfig* lookup(const std::unordered_map<std::string, core::AppIndex>& map,
                                const std::vector<config::AppConfig>& apps, std::string_view name,
                                core::AppIndex* index) {
  auto it = map.find(std::string(name));
  if (it == map.end()) return nullptr;
  if (index) *index = it->second;
  return &apps[it->second];
}

}  // namespace

const config::AppConfig* AppRegistry::find_by_key(std::string_view key,
                                                  core::AppIndex* index) const {
  return lookup(by_key_, apps_, key, index);
}

const config::AppConfig* AppRegistry::find_by_id(std::string_view id, core::AppIndex* index) const {
  return lookup(by_id_, apps_, id, index);
}

}  // namespace greendot::server
