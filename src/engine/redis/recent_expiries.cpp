#include "engine/redis/recent_expiries.hpp"

#include <functional>

namespace greendot::engine::redis_engine {

RecentExpiries::RecentExpiries(std::int64_t generation_ms) : generation_ms_(generation_ms) {}

void RecentExpiries::rotate(std::int64_t now_ms) {
  if (rotated_ms_ == 0) rotated_ms_ = now_ms;
  if (now_ms - rotated_ms_ < generation_ms_) return;
  // Two generations old or more: forgotten at once.
  if (now_ms - rotated_ms_ >= 2 * generation_ms_) {
    previous_.clear();
    current_.clear();
  } else {
    previous_ = std::move(current_);
    current_.clear();
  }
  rotated_ms_ = now_ms;
}

bool RecentExpiries::fresh(std::string_view entry, std::int64_t now_ms, std::int64_t ahead_ms) {
  rotate(now_ms);
  const std::uint64_t key = std::hash<std::string_view>{}(entry);
  std::int64_t due = 0;
  if (const auto it = current_.find(key); it != current_.end()) {
    due = it->second;
  } else if (const auto old = previous_.find(key); old != previous_.end()) {
    due = old->second;
    current_.emplace(key, due);  // kept while the tab pings
    previous_.erase(old);
  } else {
    return false;
  }
  return due - now_ms >= ahead_ms;
}

void RecentExpiries::wrote(std::string_view entry, std::int64_t due_ms, std::int64_t now_ms) {
  rotate(now_ms);
  const std::uint64_t key = std::hash<std::string_view>{}(entry);
  previous_.erase(key);
  auto& due = current_[key];
  if (due_ms > due) due = due_ms;  // as ZADD GT keeps the later
}

void RecentExpiries::forget(std::string_view entry) {
  const std::uint64_t key = std::hash<std::string_view>{}(entry);
  current_.erase(key);
  previous_.erase(key);
}

void RecentExpiries::forget_all() {
  current_.clear();
  previous_.clear();
}

}  // namespace greendot::engine::redis_engine
