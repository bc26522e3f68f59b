#include "core/ended_tabs.hpp"

#include <algorithm>

namespace greendot::core {

void EndedTabs::remember(AppIndex app, std::string_view user_id, std::string_view tab,
                         std::string_view channel, Millis until) {
  auto& ended = users_[app_key(app, user_id)];
  std::erase_if(ended, [&](const Ended& e) { return e.tab == tab && e.channel == channel; });
  // The oldest goes first: it is the least likely to still have a ping in flight.
  if (ended.size() >= kMaxPerUser) ended.erase(ended.begin());
  ended.push_back(Ended{std::string(tab), std::string(channel), until});
  purges_.schedule(until, app_key(app, user_id), 0);
}

bool EndedTabs::ended(AppIndex app, std::string_view user_id, std::string_view tab,
                      std::string_view channel, Millis now) const {
  auto it = users_.find(app_key(app, user_id));
  if (it == users_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(), [&](const Ended& e) {
    return e.until > now && e.tab == tab && (e.channel.empty() || e.channel == channel);
  });
}

void EndedTabs::advance(Millis now) {
  purges_.pop_due(now, [&](const std::string& user, std::uint64_t) {
    auto it = users_.find(user);
    if (it == users_.end()) return;
    std::erase_if(it->second, [&](const Ended& e) { return e.until <= now; });
    if (it->second.empty()) users_.erase(it);
  });
}

}  // namespace greendot::core
