// Online / away across nodes. Status belongs to each session; a user is away when every live
// session on every node is. Each node writes its part of a user's status (how many of the
// user's sessions it has, and how many of them are away) into the user's record when that
// changes, a heartbeat tab writes its own, and the record's script says when the user's status
// changed, with the channels to tell (greendot:member_updated, to everyone but the user).
// A node's part goes with the node: whoever sweeps it removes it.
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "core/app_key.hpp"
#include "engine/redis/redis_engine.hpp"
#include "engine/redis/user_scripts.hpp"
#include "protocol/pusher_messages.hpp"

namespace greendot::engine::redis_engine {

namespace asio = boost::asio;
namespace pusher = protocol::pusher;
using redis::Reply;
using redis::Result;

std::string RedisEngine::node_status_field(std::string_view node) const {
  std::string field = "s:n:";
  field.append(node);
  return field;
}

void RedisEngine::local_session_added(core::AppIndex app, const std::string& user,
                                      core::SessionId session, const std::string& tag) {
  const std::string key = core::app_key(app, user);
  auto [it, added] = local_users_.try_emplace(key);
  if (added) {
    it->second.app = app;
    it->second.user = user;
  }
  it->second.sessions[session].tags.insert(tag);
  report_status(key);
}

void RedisEngine::local_session_ended(core::AppIndex app, const std::string& user,
                                      core::SessionId session, const std::string& tag) {
  const std::string key = core::app_key(app, user);
  auto it = local_users_.find(key);
  if (it == local_users_.end()) return;
  auto s = it->second.sessions.find(session);
  if (s != it->second.sessions.end()) {
    s->second.tags.erase(tag);
    if (s->second.tags.empty()) it->second.sessions.erase(s);
  }
  report_status(key);
}

void RedisEngine::set_status(core::AppIndex app, std::string user_id, core::SessionId session,
                             UserStatus status) {
  asio::post(io_, [this, key = core::app_key(app, user_id), session, status] {
    auto it = local_users_.find(key);
    if (stopping_ || it == local_users_.end()) return;  // only online users have a status
    auto s = it->second.sessions.find(session);
    if (s == it->second.sessions.end()) return;
    s->second.away = status == UserStatus::Away;
    report_status(key);
  });
}

// One write per user in flight; a change meanwhile is written when it is answered.
void RedisEngine::report_status(const std::string& key) {
  auto it = local_users_.find(key);
  if (it == local_users_.end()) return;
  LocalUser& user = it->second;
  const int live = static_cast<int>(user.sessions.size());
  int away = 0;
  for (const auto& [id, session] : user.sessions) away += session.away ? 1 : 0;
  if (user.writing) return;
  if (std::pair{live, away} == user.written) {
    if (live == 0) local_users_.erase(it);
    return;
  }
  if (!ready()) return;  // written with everything else when Redis is back (reassert)
  user.writing = true;
  write_status(user.app, user.user, node_status_field(node_), live, away,
               [this, key, live, away](bool ok) {
                 auto it = local_users_.find(key);
                 if (it == local_users_.end()) return;
                 it->second.writing = false;
                 if (!ok) return;  // written again at the next re-assertion
                 it->second.written = {live, away};
                 report_status(key);
               });
}

void RedisEngine::write_status(core::AppIndex app, const std::string& user, std::string field,
                               int live, int away, std::function<void(bool ok)> then) {
  const UserKeys keys = keys_.user(app_ids_[app], user);
  std::vector<std::string> args{std::move(field), std::to_string(live),
                                away < 0 ? std::string("-") : std::to_string(away)};
  run_script(
      user_status_script(), {keys.record, keys.memberships}, std::move(args),
      [this, app, user, then = std::move(then)](Result result) {
        const Reply* reply = std::get_if<Reply>(&result);
        const bool ok = reply && !reply->is_error();
        if (ok && !reply->elements.empty() && !reply->elements[0].text.empty()) {
          const std::string& status = reply->elements[0].text;
          std::string_view app_id, channel;
          for (std::size_t i = 1; i < reply->elements.size(); ++i) {
            if (!split_tag(reply->elements[i].text, app_id, channel) || app_id != app_ids_[app] ||
                channel.starts_with('#')) {
              continue;
            }
            // To the others only: the user's own pages know what they reported.
            publish(ChannelMessage{app,
                                   std::string(channel),
                                   make_text_frame(pusher::member_updated(channel, user, status)),
                                   {},
                                   user});
          }
        }
        if (then) then(ok);
      });
}

// After a reconnect or under a new identity: every part this node has is written again.
void RedisEngine::reassert_statuses() {
  std::vector<std::string> keys;
  keys.reserve(local_users_.size());
  for (auto& [key, user] : local_users_) {
    user.written = {-1, -1};
    keys.push_back(key);
  }
  for (const auto& key : keys) report_status(key);
}

}  // namespace greendot::engine::redis_engine
