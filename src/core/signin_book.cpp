#include "core/signin_book.hpp"

#include <algorithm>

namespace greendot::core {

bool SigninBook::sign_in(AppIndex app, std::string_view user_id, SessionId session) {
  auto [it, created] = users_.try_emplace(app_key(app, user_id));
  User& user = it->second;
  if (created) {
    user.app = app;
    user.user_id = std::string(user_id);
  }
  // A return inside the grace cancels the pending sign-out; the stale deadline is skipped.
  user.in_grace = false;
  if (std::find(user.sessions.begin(), user.sessions.end(), session) == user.sessions.end()) {
    user.sessions.push_back(session);
  }
  return created;
}

std::optional<SignedOut> SigninBook::sign_out(AppIndex app, std::string_view user_id,
                                              SessionId session, Millis now, Millis grace) {
  auto it = users_.find(app_key(app, user_id));
  if (it == users_.end()) return std::nullopt;
  User& user = it->second;
  auto session_it = std::find(user.sessions.begin(), user.sessions.end(), session);
  if (session_it == user.sessions.end()) return std::nullopt;
  user.sessions.erase(session_it);
  if (!user.sessions.empty()) return std::nullopt;
  user.left_at = now;
  if (grace <= 0) {
    SignedOut out{app, std::move(user.user_id), now};
    users_.erase(it);
    return out;
  }
  user.in_grace = true;
  graces_.schedule(now + grace, it->first, ++user.generation);
  return std::nullopt;
}

void SigninBook::advance(Millis now, std::vector<SignedOut>& signed_out) {
  graces_.pop_due(now, [&](const std::string& due, std::uint64_t generation) {
    auto it = users_.find(due);
    if (it == users_.end() || !it->second.in_grace || it->second.generation != generation) return;
    signed_out.push_back(
        SignedOut{it->second.app, std::move(it->second.user_id), it->second.left_at});
    users_.erase(it);
  });
}

bool SigninBook::signed_in(AppIndex app, std::string_view user_id) const {
  return users_.contains(app_key(app, user_id));
}

}  // namespace greendot::core
