// Online / away across nodes. Status belongs to each session; a user is away when every live
// session on every node is. Each node writes its part of a user's status (how many of the
// user's sessions it has, and how many of them are away) into the user's record when that
// changes, a heartbeat tab writes its own, and the record's script says when the user's status
// changed, with the channels to tell (greendot:member_updated, to everyone but the user).
// A node's part goes with the node: whoever sweeps it removes it.
#include <spdlog/spdlog.h>
#include <algorithm>
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

namespace {

template <class Sessions>
auto find_session(Sessions& sessions, core::SessionId id) {
  return std::find_if(sessions.begin(), sessions.end(), [id](const auto& s) { return s.id == id; });
}

}  // namespace

void RedisEngine::local_session_added(core::AppIndex app, const std::string& user,
                                      core::SessionId session) {
  const std::string key = core::app_key(app, user);
  auto [it, added] = local_users_.try_emplace(key);
  if (added) {
    it->second.app = app;
    it->second.user = user;
  }
  auto& sessions = it->second.sessions;
  auto s = find_session(sessions, session);
  if (s == sessions.end()) s = sessions.insert(sessions.end(), LocalUser::Session{session});
  ++s->channels;
  report_status(key);
}

std::string RedisEngine::local_session_ended(core::AppIndex app, const std::string& user,
                                             core::SessionId session) {
  std::string key = core::app_key(app, user);
  auto it = local_users_.find(key);
  if (it == local_users_.end()) return {};
  auto& sessions = it->second.sessions;
  if (auto s = find_session(sessions, session); s != sessions.end() && --s->channels == 0) {
    *s = sessions.back();
    sessions.pop_back();
  }
  ++it->second.leaves_in_flight;  // until release_status()
  report_status(key);
  return key;
}

void RedisEngine::set_status(core::AppIndex app, std::string user_id, core::SessionId session,
                             UserStatus status) {
  asio::post(io_, [this, key = core::app_key(app, user_id), session, status] {
    auto it = local_users_.find(key);
    if (stopping_ || it == local_users_.end()) return;  // only online users have a status
    auto& sessions = it->second.sessions;
    auto s = find_session(sessions, session);
    if (s == sessions.end()) return;
    s->away = status == UserStatus::Away;
    report_status(key);
  });
}

namespace {

std::pair<int, int> counts(const auto& user) {
  int away = 0;
  for (const auto& session : user.sessions) away += session.away ? 1 : 0;
  return {static_cast<int>(user.sessions.size()), away};
}

}  // namespace

// One write per user in flight; a change meanwhile is written when it is answered. The write
// waits for the end of the current step, so that a membership change made in the same step
// (a join) carries it in its own script (take_status_write).
void RedisEngine::report_status(const std::string& key) {
  auto it = local_users_.find(key);
  if (it == local_users_.end()) return;
  LocalUser& user = it->second;
  if (user.writing) return;
  const auto now = counts(user);
  if (now == user.written) {
    if (now.first == 0) local_users_.erase(it);
    return;
  }
  if (!ready() || user.flush_posted) return;  // not ready: written when Redis is back
  if (user.leaves_in_flight > 0) return;      // release_status() reports it
  user.flush_posted = true;
  asio::post(io_, [this, key] {
    auto it = local_users_.find(key);
    if (it == local_users_.end()) return;
    it->second.flush_posted = false;
    if (it->second.leaves_in_flight > 0) return;  // release_status() reports it
    const core::AppIndex app = it->second.app;
    const std::string user = it->second.user;
    if (auto part = take_status_write(key)) {
      write_status(app, user, node_status_field(node_), part->first, part->second,
                   [this, key, part = *part](bool ok) { status_written(key, part, ok); });
    }
  });
}

void RedisEngine::release_status(const std::string& key) {
  if (key.empty()) return;
  auto it = local_users_.find(key);
  if (it == local_users_.end()) return;
  if (it->second.leaves_in_flight > 0) --it->second.leaves_in_flight;
  report_status(key);
}

std::optional<std::pair<int, int>> RedisEngine::take_status_write(const std::string& key) {
  auto it = local_users_.find(key);
  if (it == local_users_.end() || it->second.writing || !ready()) return std::nullopt;
  const auto now = counts(it->second);
  if (now == it->second.written) {
    if (now.first == 0) local_users_.erase(it);
    return std::nullopt;
  }
  it->second.writing = true;
  return now;
}

void RedisEngine::status_written(const std::string& key, std::pair<int, int> part, bool ok) {
  auto it = local_users_.find(key);
  if (it == local_users_.end()) return;
  it->second.writing = false;
  if (!ok) {
    // This node is the part's only writer, one write at a time: written again at once while
    // connected, else at the next lease refresh.
    const int attempts_left = kAttempts - it->second.failed_writes++;
    if (retry_at_once(attempts_left)) {
      return report_status(key);
    }
    it->second.failed_writes = 0;
    statuses_to_retry_.insert(key);
    return;
  }
  it->second.failed_writes = 0;
  it->second.written = part;
  report_status(key);
}

void RedisEngine::write_status(core::AppIndex app, const std::string& user, std::string field,
                               int live, int away, std::function<void(bool ok)> then) {
  const UserKeys keys = keys_.user(app_ids_[app], user);
  std::vector<std::string> args{std::move(field), std::to_string(live),
                                away < 0 ? std::string("-") : std::to_string(away)};
  run_script(user_status_script(), {keys.record, keys.memberships}, std::move(args),
             [this, app, user, then = std::move(then)](Result result) {
               const Reply* reply = std::get_if<Reply>(&result);
               const bool ok = reply && !reply->is_error();
               if (ok) tell_status(app, user, *reply, 0);
               if (then) then(ok);
             });
}

// A status script's answer from element `first` on: "" (unchanged), or the new status and the
// channels of the user, told to everyone there but the user (whose pages know what they said).
void RedisEngine::tell_status(core::AppIndex app, const std::string& user, const Reply& reply,
                              std::size_t first) {
  if (reply.elements.size() <= first || reply.elements[first].text.empty()) return;
  if (invisible(app, user)) return;  // nobody sees them, nor how they are
  const std::string& status = reply.elements[first].text;
  std::string_view app_id, channel;
  for (std::size_t i = first + 1; i < reply.elements.size(); ++i) {
    if (!split_tag(reply.elements[i].text, app_id, channel) || app_id != app_ids_[app] ||
        channel.starts_with('#')) {
      continue;
    }
    publish(ChannelMessage{app,
                           std::string(channel),
                           make_text_frame(pusher::member_updated(channel, user, status)),
                           {},
                           user});
  }
}

// The parts whose last write failed, written again (as they are now).
void RedisEngine::retry_statuses() {
  auto keys = std::move(statuses_to_retry_);
  statuses_to_retry_.clear();
  for (const auto& key : keys) report_status(key);
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
