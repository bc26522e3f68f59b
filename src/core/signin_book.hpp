// SigninBook: which users are signed in (pusher:signin) on which connections, with the same
// offline grace as presence channels: when a user's last signed-in connection ends they stay
// signed in for the grace, so that a reload (close, then a new connection a moment later)
// shows nothing to their watchers. Pure bookkeeping, time passed in by the caller.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/app_key.hpp"
#include "core/deadline_queue.hpp"
#include "core/presence_book.hpp"
#include "core/time.hpp"

namespace greendot::core {

struct SignedOut {
  AppIndex app;
  std::string user_id;
  Millis left_at;  // when the last signed-in connection ended
};

class SigninBook {
 public:
  // Adds a signed-in connection; true when the user was not signed in (nor in grace) before.
  bool sign_in(AppIndex app, std::string_view user_id, SessionId session);
  // Ends one; when it was the user's last, the user is signed out at once if `grace` is 0
  // (returned), otherwise at `now + grace` by advance() unless a sign-in comes back.
  std::optional<SignedOut> sign_out(AppIndex app, std::string_view user_id, SessionId session,
                                    Millis now, Millis grace);
  void advance(Millis now, std::vector<SignedOut>& signed_out);

  // Signed in on some connection, or in the grace after the last one.
  bool signed_in(AppIndex app, std::string_view user_id) const;
  // Calls visit(session) for each live signed-in connection of the user.
  template <class Visit>
  void for_each_session(AppIndex app, std::string_view user_id, Visit&& visit) const {
    auto it = users_.find(app_key(app, user_id));
    if (it == users_.end()) return;
    for (SessionId s : it->second.sessions) visit(s);
  }
  // Every signed-in user (in grace included), for shutdown.
  template <class Visit>
  void for_each_user(Visit&& visit) const {
    for (const auto& [k, user] : users_) visit(user.app, user.user_id);
  }

 private:
  struct User {
    AppIndex app = 0;
    std::string user_id;
    std::vector<SessionId> sessions;
    std::uint64_t generation = 0;  // bumped on every grace start, to spot stale deadlines
    Millis left_at = 0;
    bool in_grace = false;
  };

  std::unordered_map<std::string, User> users_;
  DeadlineQueue<std::string> graces_;
};

}  // namespace greendot::core
