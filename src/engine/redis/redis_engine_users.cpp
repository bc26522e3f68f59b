// Users across nodes: in which channels each user is a member, recorded in the user's own keys
// after each channel script that changed it (see user_scripts.hpp); sign-ins as sessions of a
// hidden channel of the user; last seen and privacy in the user's record; watchlists over the
// user's events channel, which a node subscribes to while a connection on it watches the user.
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>

#include "core/app_key.hpp"
#include "engine/redis/redis_engine.hpp"
#include "engine/redis/reply_fields.hpp"
#include "engine/redis/user_scripts.hpp"
#include "protocol/pusher_messages.hpp"
#include "storage/privacy_names.hpp"

namespace greendot::engine::redis_engine {

namespace asio = boost::asio;
namespace pusher = protocol::pusher;
using redis::Reply;
using redis::Result;
using Clock = std::chrono::steady_clock;

namespace {

// A watch's reading that failed is made again this much later.
constexpr std::chrono::milliseconds kRetryReading{500};

std::string signin_channel(std::string_view user) {
  std::string channel = "#signin:";
  channel.append(user);
  return channel;
}

std::int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// As the record stores them: a field left out is the default.
storage::Privacy privacy_of(std::string_view visibility, std::string_view last_seen) {
  storage::Privacy privacy;
  privacy.visibility = storage::visibility_named(visibility).value_or(privacy.visibility);
  privacy.last_seen = storage::last_seen_named(last_seen).value_or(privacy.last_seen);
  return privacy;
}

// A membership that is not a tombstone ("epoch version", not "epoch version - at").
bool present(std::string_view value) {
  return value.find(" - ") == std::string_view::npos;
}

}  // namespace

// ---- the second step: a user's record learns of a channel's change ----------------------

void RedisEngine::membership_changed(MembershipChange change, int attempts) {
  const UserKeys keys = keys_.user(app_ids_[change.app], change.user);
  std::vector<std::string> args{change.tag,
                                change.epoch,
                                std::to_string(change.version),
                                change.present ? "1" : "0",
                                std::to_string(change.left_at),
                                std::string(publish_command()),
                                keys.events};
  // A tab's part in the user's status, or this node's when it changed in the same step, goes
  // along.
  const std::string key = core::app_key(change.app, change.user);
  const auto part = change.tab_status ? std::nullopt : take_status_write(key);
  if (const auto& tab = change.tab_status) {
    args.push_back(tab->field);
    args.push_back(std::to_string(tab->live));
    args.push_back(tab->away < 0 ? std::string("-") : std::to_string(tab->away));
  } else if (part) {
    args.push_back(node_status_field(node_));
    args.push_back(std::to_string(part->first));
    args.push_back(std::to_string(part->second));
  }
  const bool with_status = part || change.tab_status;
  run_script(
      with_status ? user_update_script() : user_membership_script(),
      {keys.record, keys.memberships}, std::move(args),
      [this, key, part, with_status, attempts, change = std::move(change)](Result result) mutable {
        const Reply* reply = reply_of(result);
        if (with_status && reply) tell_status(change.app, change.user, *reply, 2);
        if (part) status_written(key, *part, reply != nullptr);
        if (reply) {
          // Joined as this node knew the user then; the record knows better.
          const bool hidden_now = integer_at(*reply, 1) == 1;
          if (change.present && hidden_now != change.hidden) {
            set_visibility(change.app, change.tag, change.user, hidden_now);
          }
          return;
        }
        // Versioned, so sending it again is safe whatever happened meanwhile: at once
        // while connected, else at the next lease refresh.
        if (retry_at_once(attempts)) {
          return membership_changed(std::move(change), attempts - 1);
        }
        // A tab's part is not written that late: the tab may have changed since, and
        // only the membership is versioned.
        change.tab_status.reset();
        memberships_to_retry_.push_back(std::move(change));
      });
}

void RedisEngine::retry_memberships() {
  auto changes = std::move(memberships_to_retry_);
  memberships_to_retry_.clear();
  for (auto& change : changes) membership_changed(std::move(change));
}

// ---- reading users ------------------------------------------------------------------------

// Each user's record and memberships, then (second round trip) each claimed membership checked
// against the channel itself: a node that died between a channel script and the second step
// leaves a membership behind, which must not keep its user online.
// A reading changes nothing, so one that a lost command spoiled is made again at once.
void RedisEngine::read_users(core::AppIndex app, std::vector<std::string> users,
                             UserStatesCallback done, int attempts) {
  read_users_once(app, users,
                  [this, app, users, done = std::move(done),
                   attempts](Answer<std::vector<UserState>> states) mutable {
                    if (states || attempts <= 1 || !ready()) return done(std::move(states));
                    read_users(app, std::move(users), std::move(done), attempts - 1);
                  });
}

void RedisEngine::read_users_once(core::AppIndex app, std::vector<std::string> users,
                                  UserStatesCallback done) {
  if (!ready()) return done(std::nullopt);
  if (users.empty()) return done(std::vector<UserState>{});
  auto states = std::make_shared<std::vector<UserState>>(users.size());
  auto claimed = std::make_shared<std::vector<std::vector<std::string>>>(users.size());
  auto left = std::make_shared<std::size_t>(users.size() * 2);
  auto failed = std::make_shared<bool>(false);
  auto finished = [this, users, states, claimed, left, failed, done]() {
    if (--*left != 0) return;
    if (*failed) return done(std::nullopt);
    verify_memberships(users, states, std::move(*claimed), done);
  };
  for (std::size_t i = 0; i < users.size(); ++i) {
    const UserKeys keys = keys_.user(app_ids_[app], users[i]);
    const std::string_view record[] = {"HGETALL", keys.record};
    client_->command(keys.record, record, [states, failed, finished, i](Result result) {
      const Reply* reply = reply_of(result);
      if (!reply) {
        *failed = true;
      } else {
        std::string_view visibility, last_seen;
        auto& state = (*states)[i];
        for (std::size_t f = 0; f + 1 < reply->elements.size(); f += 2) {
          const std::string& field = reply->elements[f].text;
          const std::string& value = reply->elements[f + 1].text;
          if (field == "ls") state.last_seen_ms = std::atoll(value.c_str());
          if (field == "vis") visibility = value;
          if (field == "lsp") last_seen = value;
          if (field == "st" && value == "away") state.away = true;
        }
        state.privacy = privacy_of(visibility, last_seen);
      }
      finished();
    });
    const std::string_view memberships[] = {"HGETALL", keys.memberships};
    client_->command(keys.memberships, memberships, [claimed, failed, finished, i](Result result) {
      const Reply* reply = reply_of(result);
      if (!reply) {
        *failed = true;
      } else {
        for (std::size_t f = 0; f + 1 < reply->elements.size(); f += 2) {
          if (present(reply->elements[f + 1].text)) {
            (*claimed)[i].push_back(reply->elements[f].text);
          }
        }
      }
      finished();
    });
  }
}

void RedisEngine::verify_memberships(std::vector<std::string> users,
                                     std::shared_ptr<std::vector<UserState>> states,
                                     std::vector<std::vector<std::string>> claimed,
                                     UserStatesCallback done) {
  std::size_t checks = 0;
  for (const auto& tags : claimed) checks += tags.size();
  if (checks == 0) return done(std::move(*states));
  auto left = std::make_shared<std::size_t>(checks);
  auto failed = std::make_shared<bool>(false);
  for (std::size_t i = 0; i < users.size(); ++i) {
    for (const auto& tag : claimed[i]) {
      const std::string members = keys_.channel_of_tag(tag, node_).keys[0];
      const std::string_view args[] = {"HEXISTS", members, users[i]};
      client_->command(members, args, [states, left, failed, done, i](Result result) {
        const Reply* reply = reply_of(result);
        if (!reply) *failed = true;
        if (reply && reply->integer == 1) (*states)[i].online = true;
        if (--*left != 0) return;
        if (*failed) return done(std::nullopt);
        done(std::move(*states));
      });
    }
  }
}

void RedisEngine::users_presence(core::AppIndex app, std::vector<std::string> user_ids,
                                 UserPresenceCallback done) {
  asio::post(io_, [this, app, user_ids = std::move(user_ids), done = std::move(done)]() mutable {
    read_users(app, std::move(user_ids), [done](Answer<std::vector<UserState>> states) {
      if (!states) return done(std::nullopt);
      const std::int64_t now = wall_now_ms();
      std::vector<UserPresence> answer;
      answer.reserve(states->size());
      for (const auto& state : *states) {
        UserPresence presence;
        presence.online = state.online;
        if (state.online && state.away) presence.status = UserStatus::Away;
        presence.last_seen_ms =
            state.online ? std::optional<std::int64_t>(now) : state.last_seen_ms;
        presence.recorded_last_seen_ms = state.last_seen_ms;
        presence.privacy = state.privacy;
        answer.push_back(presence);
      }
      done(std::move(answer));
    });
  });
}

void RedisEngine::update_privacy(core::AppIndex app, std::string user_id, PrivacyChange change,
                                 std::function<void(Answer<storage::Privacy>)> done) {
  asio::post(io_, [this, app, user_id = std::move(user_id), change, done = std::move(done)] {
    if (!ready()) return done(std::nullopt);
    const std::string visibility =
        change.visibility ? storage::visibility_name(*change.visibility) : "";
    const std::string last_seen =
        change.last_seen ? storage::last_seen_name(*change.last_seen) : "";
    const UserKeys keys = keys_.user(app_ids_[app], user_id);
    run_script(user_privacy_script(), {keys.record, keys.memberships},
               {visibility, last_seen, std::string(publish_command()), keys.events},
               [this, app, user_id, done](Result result) {
                 const Reply* reply = reply_of(result);
                 if (!reply || reply->elements.size() < 3) return done(std::nullopt);
                 const storage::Privacy privacy =
                     privacy_of(reply->elements[0].text, reply->elements[1].text);
                 if (integer_at(*reply, 2) == 1) {
                   std::vector<std::string> tags;
                   for (std::size_t i = 3; i < reply->elements.size(); ++i) {
                     tags.push_back(reply->elements[i].text);
                   }
                   visibility_changed(app, user_id,
                                      privacy.visibility == storage::Visibility::Nobody,
                                      std::move(tags));
                 }
                 done(privacy);
               });
  });
}

// ---- sign-ins and watchlists --------------------------------------------------------------

void RedisEngine::signed_in(core::AppIndex app, std::string user_id, core::SessionId session) {
  asio::post(io_, [this, app, user_id = std::move(user_id), session]() mutable {
    if (stopping_) return;
    LocalChannel& channel = local(app, signin_channel(user_id));
    // Held here from now on, so that a sign-in not written (Redis out of reach, or the write
    // lost) is re-asserted with the other sessions.
    channel.sessions.try_emplace(session, user_id, "{}");
    if (!ready()) {
      reassert_pending_ = true;
      return held_unwritten(channel, session);
    }
    begin_session(channel, session, user_id, "{}", 0, {}, nullptr);
  });
}

void RedisEngine::signed_out(core::AppIndex app, std::string user_id, core::SessionId session,
                             core::Millis grace_ms) {
  asio::post(
      io_, [this, tag = RedisKeys::tag(app_ids_[app], signin_channel(user_id)), session, grace_ms] {
        if (!stopping_) end_session(tag, session, grace_ms);
      });
}

void RedisEngine::watch(core::AppIndex app, std::string watcher, std::vector<std::string> watched,
                        OnlineCallback done) {
  asio::post(io_, [this, app, watcher = std::move(watcher), watched = std::move(watched),
                   done = std::move(done)]() mutable {
    for (const auto& user : watched) {
      const std::string events = keys_.user(app_ids_[app], user).events;
      auto [it, added] = watched_.try_emplace(events);
      if (added) {
        it->second.app = app;
        it->second.user = user;
        client_->subscribe(events);
      }
      ++it->second.watchers[watcher];
    }
    auto reading = std::make_shared<WatchReading>();
    reading->app = app;
    reading->watcher = std::move(watcher);
    reading->users = std::move(watched);
    reading->done = std::move(done);
    reading->since = reading->not_before = Clock::now();
    watch_readings_.push_back(reading);
    read_watch(reading);
  });
}

bool RedisEngine::still_watching(const WatchReading& reading) const {
  for (const auto& user : reading.users) {
    auto it = watched_.find(keys_.user(app_ids_[reading.app], user).events);
    if (it != watched_.end() && it->second.watchers.contains(reading.watcher)) return true;
  }
  return false;
}

// From the grace timer and whenever a subscription is confirmed: the readings due.
void RedisEngine::read_watches() {
  if (watch_readings_.empty()) return;
  auto due = watch_readings_;  // a reading may end (and leave the list) as it is read
  for (const auto& reading : due) read_watch(reading);
}

void RedisEngine::read_watch(const std::shared_ptr<WatchReading>& reading) {
  const auto now = Clock::now();
  if (reading->in_flight || now < reading->not_before) return;
  const auto finish = [this, reading](std::vector<std::string> online) {
    std::erase(watch_readings_, reading);
    reading->done(std::move(online));
  };
  if (stopping_ || !still_watching(*reading)) return finish({});  // nobody to tell any more
  // Subscribed first: a change from the reading on is told. Not waited for without end: a
  // subscription Redis does not confirm costs the changes, not the reading.
  const bool heard = std::all_of(reading->users.begin(), reading->users.end(), [&](auto& user) {
    return client_->listening(keys_.user(app_ids_[reading->app], user).events);
  });
  if (!heard && now - reading->since < options_.copy_wait) return;
  reading->in_flight = true;
  read_users(
      reading->app, reading->users, [this, reading, finish](Answer<std::vector<UserState>> states) {
        reading->in_flight = false;
        if (!states) {
          reading->not_before = Clock::now() + kRetryReading;
          return;
        }
        std::vector<std::string> online;
        for (std::size_t i = 0; i < reading->users.size(); ++i) {
          // Invisible users are offline to everyone else.
          const auto& state = (*states)[i];
          const bool seen = state.online && state.privacy.visibility != storage::Visibility::Nobody;
          if (seen) online.push_back(reading->users[i]);
          // An event heard since the subscription is newer than the reading.
          auto it = watched_.find(keys_.user(app_ids_[reading->app], reading->users[i]).events);
          if (it != watched_.end() && !it->second.online) it->second.online = seen;
        }
        finish(std::move(online));
      });
}

void RedisEngine::unwatch(core::AppIndex app, std::string watcher,
                          std::vector<std::string> watched) {
  asio::post(io_, [this, app, watcher = std::move(watcher), watched = std::move(watched)] {
    for (const auto& user : watched) {
      const std::string events = keys_.user(app_ids_[app], user).events;
      auto it = watched_.find(events);
      if (it == watched_.end()) continue;
      auto w = it->second.watchers.find(watcher);
      if (w != it->second.watchers.end() && --w->second == 0) it->second.watchers.erase(w);
      if (!it->second.watchers.empty()) continue;
      client_->unsubscribe(events);
      watched_.erase(it);
    }
  });
}

// Every node hears a user's change; each tells only its own watchers.
void RedisEngine::on_user_event(Watched& watched, std::string_view event) {
  if (event != "online" && event != "offline") return;
  const bool online = event == "online";
  if (watched.online == online) return;
  watched.online = online;
  const auto frame = make_text_frame(pusher::watchlist_event(event, {watched.user}));
  for (const auto& [watcher, count] : watched.watchers) {
    auto message = std::make_shared<const ChannelMessage>(
        ChannelMessage{watched.app, watchlist_channel(watcher), frame, {}, {}});
    for (MessageSink* sink : sinks_) sink->deliver(message);
  }
}

}  // namespace greendot::engine::redis_engine
