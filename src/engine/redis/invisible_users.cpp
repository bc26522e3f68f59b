#include "engine/redis/invisible_users.hpp"

namespace greendot::engine::redis_engine {

void InvisibleUsers::changed(const std::string& user, bool invisible) {
  if (invisible) {
    users_.insert(user);
  } else {
    users_.erase(user);
  }
  if (loads_ > 0) told_.emplace_back(user, invisible);
}

void InvisibleUsers::loaded(std::unordered_set<std::string> users) {
  users_ = std::move(users);
  for (const auto& [user, invisible] : told_) {
    if (invisible) {
      users_.insert(user);
    } else {
      users_.erase(user);
    }
  }
  end_load();
}

void InvisibleUsers::load_failed() {
  end_load();
}

void InvisibleUsers::end_load() {
  if (loads_ > 0) --loads_;
  if (loads_ == 0) told_.clear();
}

}  // namespace greendot::engine::redis_engine
