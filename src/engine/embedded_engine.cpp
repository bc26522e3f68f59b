#include "engine/embedded_engine.hpp"

#include <algorithm>

#include "protocol/pusher_messages.hpp"

namespace greendot::engine {

namespace pusher = protocol::pusher;

namespace {

// Statuses are kept per session: a connection ("c" and its number) or a heartbeat tab ("t" and
// the page's tab id), so that a connection and a tab can never be taken for each other.
std::string connection_key(core::SessionId session) {
  std::string key = "c";  // appended: GCC 12 at -O3 reports a false -Wrestrict for "c" + ...
  key.append(std::to_string(session));
  return key;
}
std::string tab_key(std::string_view tab) {
  std::string key = "t";
  key.append(tab);
  return key;
}

}  // namespace

void EmbeddedEngine::join(JoinRequest request, JoinCallback done) {
  std::lock_guard lock(mutex_);
  if (shut_down_) return done(JoinOutcome{JoinStatus::Unavailable, {}, 0});
  const bool was_online = online(request.app, request.user_id);
  auto result = book_.join(request.app, request.channel, request.user_id, request.user_info,
                           request.session, request.max_members);
  if (result.status != core::PresenceBook::JoinStatus::Joined) {
    done(JoinOutcome{JoinStatus::ChannelFull, {}, 0});
    return;
  }
  if (occupancy_.add(request.app, request.channel)) occupied(request.app, request.channel);
  const auto& presence =
      snapshot(request.app, request.channel, result.member_added ? &request.user_id : nullptr,
               &request.user_info);
  // An invisible user is in no one's member list but their own.
  std::string presence_data;
  if (visible(request.app, request.user_id)) {
    presence_data = presence.str();
  } else {
    pusher::PresenceSnapshot with_self = presence;
    with_self.add(request.user_id, request.user_info);
    presence_data = with_self.str();
  }
  // The joiner's answer is handed over before member_added is published, both under the
  // lock, so every thread sees a channel's events in the order the book decided them.
  done(JoinOutcome{JoinStatus::Joined, std::move(presence_data), result.join_number});
  if (result.member_added) {
    publish_addition(request.app, request.channel, request.user_id, request.user_info,
                     request.socket);
  } else if (result.returned) {
    publish_return(request.app, request.channel, request.user_id, request.user_info, request.socket,
                   result.unseen_after);
  }
  if (!was_online) came_online(request.app, request.user_id);
  refresh_status(request.app, request.user_id);
}

void EmbeddedEngine::publish_addition(core::AppIndex app, const std::string& channel,
                                      const std::string& user_id, const std::string& user_info,
                                      protocol::SocketId except) {
  // Webhooks tell the application the truth; only other users are kept from invisible ones.
  webhooks::emit_member_event(webhooks_, app, webhooks::EventType::MemberAdded, channel, user_id);
  if (!visible(app, user_id)) return;
  broker_.publish(ChannelMessage{app,
                                 channel,
                                 make_text_frame(pusher::member_added(channel, user_id, user_info)),
                                 except,
                                 {}});
}

void EmbeddedEngine::publish_return(core::AppIndex app, const std::string& channel,
                                    const std::string& user_id, const std::string& user_info,
                                    protocol::SocketId except, std::uint64_t unseen_after) {
  if (!visible(app, user_id)) return;
  ChannelMessage message{
      app, channel, make_text_frame(pusher::member_added(channel, user_id, user_info)), except, {}};
  message.joined_after = unseen_after;
  broker_.publish(std::move(message));
}

bool EmbeddedEngine::visible(core::AppIndex app, const std::string& user_id) const {
  return users_.get(app_ids_[app], user_id).privacy.visibility == storage::Visibility::Everyone;
}

void EmbeddedEngine::heartbeat(HeartbeatRequest request, HeartbeatCallback done) {
  std::lock_guard lock(mutex_);
  const core::Millis now = clock_();
  std::vector<HeartbeatAnswer> answers;
  answers.reserve(request.channels.size());
  if (shut_down_) {
    answers.assign(request.channels.size(), HeartbeatAnswer::Unavailable);
    return done(std::move(answers));
  }
  const bool was_online = online(request.app, request.user_id);
  bool any_added = false;
  bool any_present = false;
  for (const auto& channel : request.channels) {
    // A ping sent before the tab's offline but delivered after it must not bring it back.
    if (!request.tab.empty() &&
        ended_tabs_.ended(request.app, request.user_id, request.tab, channel, now)) {
      answers.push_back(HeartbeatAnswer::TabEnded);
      continue;
    }
    auto result =
        book_.heartbeat(request.app, channel, request.user_id, request.user_info, request.tab, now,
                        request.ttl_ms, request.grace_ms, request.max_members);
    const bool joined = result.status == core::PresenceBook::JoinStatus::Joined;
    answers.push_back(joined ? HeartbeatAnswer::Present : HeartbeatAnswer::Full);
    any_present = any_present || joined;
    if (result.returned) {
      publish_return(request.app, channel, request.user_id, request.user_info, {},
                     result.unseen_after);
    }
    if (!result.member_added) continue;
    any_added = true;
    // Heartbeats are members but not subscriptions: subscription counts and channel_occupied /
    // channel_vacated stay about connections, while user counts and listings include them.
    snapshot(request.app, channel, &request.user_id, &request.user_info);
    publish_addition(request.app, channel, request.user_id, request.user_info, {});
  }
  // Only a new membership can bring the user online; a renewal (the common ping) cannot.
  if (any_added && !was_online && online(request.app, request.user_id)) {
    came_online(request.app, request.user_id);
  }
  if (any_present) {
    if (request.status) {
      set_session_status(request.app, request.user_id, tab_key(request.tab), *request.status);
    }
    refresh_status(request.app, request.user_id);
  }
  done(std::move(answers));
}

void EmbeddedEngine::heartbeat_offline(HeartbeatOffline offline, std::function<void()> done) {
  std::lock_guard lock(mutex_);
  if (shut_down_) return done();
  const core::Millis now = clock_();
  if (offline.tab && !offline.tab->empty()) {
    ended_tabs_.remember(offline.app, offline.user_id, *offline.tab, offline.channel,
                         now + offline.ttl_ms);
  }
  std::vector<std::string> channels;
  if (!offline.channel.empty()) {
    channels.push_back(std::move(offline.channel));
  } else if (const auto* all = book_.channels_of(offline.app, offline.user_id)) {
    channels = *all;  // a copy: removals change the index
  }
  const std::string* tab = offline.tab ? &*offline.tab : nullptr;
  for (const auto& c : channels) {
    if (auto removed =
            book_.end_heartbeat(offline.app, c, offline.user_id, tab, now, offline.grace_ms)) {
      publish_removal(*removed);
    }
  }
  refresh_status(offline.app, offline.user_id);
  done();
}

void EmbeddedEngine::users_presence(core::AppIndex app, std::vector<std::string> user_ids,
                                    UserPresenceCallback done) {
  std::lock_guard lock(mutex_);
  const std::int64_t wall_now = wall_clock_();
  std::vector<UserPresence> answer;
  answer.reserve(user_ids.size());
  for (const auto& user : user_ids) {
    storage::UserRecord record = users_.get(app_ids_[app], user);
    UserPresence presence;
    presence.online = online(app, user);
    if (auto it = statuses_.find(core::app_key(app, user)); it != statuses_.end()) {
      presence.status = it->second.away ? UserStatus::Away : UserStatus::Online;
    }
    presence.last_seen_ms =
        presence.online ? std::optional<std::int64_t>(wall_now) : record.last_seen_ms;
    presence.recorded_last_seen_ms = record.last_seen_ms;
    presence.privacy = record.privacy;
    answer.push_back(presence);
  }
  done(std::move(answer));
}

void EmbeddedEngine::update_privacy(core::AppIndex app, std::string user_id, PrivacyChange change,
                                    std::function<void(Answer<storage::Privacy>)> done) {
  std::lock_guard lock(mutex_);
  storage::Privacy privacy = users_.get(app_ids_[app], user_id).privacy;
  if (shut_down_) return done(privacy);
  if (change.visibility) privacy.visibility = *change.visibility;
  if (change.last_seen) privacy.last_seen = *change.last_seen;
  done(privacy);
  const bool was_visible = visible(app, user_id);
  const bool now_visible = privacy.visibility == storage::Visibility::Everyone;
  const bool is_online = online(app, user_id);
  // Going invisible looks exactly like leaving at this moment: last seen is now, as if the
  // user's last session had just ended (and the time they spend invisible is never recorded).
  if (was_visible && !now_visible && is_online) {
    users_.record_last_seen(app_ids_[app], user_id, wall_clock_());
  }
  users_.set_privacy(app_ids_[app], user_id, privacy);
  if (was_visible == now_visible || !is_online) return;
  if (now_visible) users_.mark_online(app_ids_[app], user_id);
  // To watchers an invisible user goes offline, and comes back online when visible again.
  tell_watchers(app, user_id, now_visible ? "online" : "offline");
  const auto* channels = book_.channels_of(app, user_id);
  if (!channels) return;
  for (const auto& channel : *channels) {
    snapshots_.erase(core::app_key(app, channel));
    std::string text;
    if (now_visible) {
      std::string info;
      book_.for_each_member(app, channel, [&](const std::string& id, const std::string& i) {
        if (id == user_id) info = i;
      });
      text = pusher::member_added(channel, user_id, info);
    } else {
      text = pusher::member_removed(channel, user_id);
    }
    broker_.publish(ChannelMessage{app, channel, make_text_frame(text), {}, user_id});
  }
}

bool EmbeddedEngine::online(core::AppIndex app, const std::string& user_id) const {
  return book_.channels_of(app, user_id) != nullptr || signins_.signed_in(app, user_id);
}

void EmbeddedEngine::came_online(core::AppIndex app, const std::string& user_id) {
  if (!visible(app, user_id)) return;
  // Stored, so that after a crash the user's last seen is the last moment the store was
  // known to be alive rather than the end of an earlier session.
  users_.mark_online(app_ids_[app], user_id);
  tell_watchers(app, user_id, "online");
}

void EmbeddedEngine::went_offline(core::AppIndex app, const std::string& user_id,
                                  std::int64_t at_wall_ms) {
  // An invisible user's sessions are not recorded: their last seen stays what others last
  // could see, or it would tell when they were secretly online.
  if (visible(app, user_id)) users_.record_last_seen(app_ids_[app], user_id, at_wall_ms);
  statuses_.erase(core::app_key(app, user_id));
  // Invisible users were never reported online, so their going is not reported either.
  if (visible(app, user_id)) tell_watchers(app, user_id, "offline");
}

void EmbeddedEngine::tell_watchers(core::AppIndex app, const std::string& user_id,
                                   std::string_view event) {
  auto it = watchers_.find(core::app_key(app, user_id));
  if (it == watchers_.end()) return;
  const auto frame = make_text_frame(pusher::watchlist_event(event, {user_id}));
  for (const auto& [watcher, count] : it->second) {
    broker_.publish(ChannelMessage{app, watchlist_channel(watcher), frame, {}, {}});
  }
}

void EmbeddedEngine::signed_in(core::AppIndex app, std::string user_id, core::SessionId session) {
  std::lock_guard lock(mutex_);
  if (shut_down_) return;
  const bool was_online = online(app, user_id);
  signins_.sign_in(app, user_id, session);
  if (!was_online) came_online(app, user_id);
  refresh_status(app, user_id);
}

void EmbeddedEngine::signed_out(core::AppIndex app, std::string user_id, core::SessionId session,
                                core::Millis grace_ms) {
  std::lock_guard lock(mutex_);
  if (shut_down_) return;
  if (auto out = signins_.sign_out(app, user_id, session, clock_(), grace_ms)) {
    signed_out_for_good(*out);
  }
  refresh_status(app, user_id);
}

void EmbeddedEngine::signed_out_for_good(const core::SignedOut& out) {
  if (online(out.app, out.user_id)) return;  // still a member somewhere
  went_offline(out.app, out.user_id, wall_clock_() - (clock_() - out.left_at));
}

void EmbeddedEngine::watch(core::AppIndex app, std::string watcher,
                           std::vector<std::string> watched, OnlineCallback done) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> online_now;
  for (const auto& user : watched) {
    ++watchers_[core::app_key(app, user)][watcher];
    if (online(app, user) && visible(app, user)) online_now.push_back(user);
  }
  done(std::move(online_now));
}

void EmbeddedEngine::unwatch(core::AppIndex app, std::string watcher,
                             std::vector<std::string> watched) {
  std::lock_guard lock(mutex_);
  for (const auto& user : watched) {
    auto it = watchers_.find(core::app_key(app, user));
    if (it == watchers_.end()) continue;
    auto w = it->second.find(watcher);
    if (w != it->second.end() && --w->second == 0) it->second.erase(w);
    if (it->second.empty()) watchers_.erase(it);
  }
}

void EmbeddedEngine::set_status(core::AppIndex app, std::string user_id, core::SessionId session,
                                UserStatus status) {
  std::lock_guard lock(mutex_);
  if (shut_down_ || !online(app, user_id)) return;  // only online users have a status
  set_session_status(app, user_id, connection_key(session), status);
  refresh_status(app, user_id);
}

void EmbeddedEngine::set_session_status(core::AppIndex app, const std::string& user_id,
                                        const std::string& session, UserStatus status) {
  const std::string key = core::app_key(app, user_id);
  auto it = statuses_.find(key);
  if (status == UserStatus::Online) {
    if (it == statuses_.end()) return;
    std::erase(it->second.away_sessions, session);
    return;
  }
  if (it == statuses_.end()) it = statuses_.try_emplace(key).first;
  auto& away = it->second.away_sessions;
  if (std::find(away.begin(), away.end(), session) == away.end()) away.push_back(session);
}

std::vector<std::string> EmbeddedEngine::live_sessions(core::AppIndex app,
                                                       const std::string& user_id) const {
  std::vector<std::string> live;
  auto add = [&](std::string key) {
    if (std::find(live.begin(), live.end(), key) == live.end()) live.push_back(std::move(key));
  };
  if (const auto* channels = book_.channels_of(app, user_id)) {
    for (const auto& channel : *channels) {
      book_.for_each_session(
          app, channel, user_id, [&](core::SessionId s) { add(connection_key(s)); },
          [&](const std::string& tab) { add(tab_key(tab)); });
    }
  }
  signins_.for_each_session(app, user_id, [&](core::SessionId s) { add(connection_key(s)); });
  return live;
}

void EmbeddedEngine::refresh_status(core::AppIndex app, const std::string& user_id) {
  // The common case costs one lookup: nobody with a session away, nobody told the user is away.
  auto it = statuses_.find(core::app_key(app, user_id));
  if (it == statuses_.end()) return;
  StatusBook& book = it->second;
  const std::vector<std::string> live = live_sessions(app, user_id);
  std::erase_if(book.away_sessions, [&](const std::string& session) {
    return std::find(live.begin(), live.end(), session) == live.end();
  });
  // With no live session (in the grace after the last one) the status stays what it was: a
  // return inside the grace, or the removal after it, decides.
  if (!live.empty()) {
    const bool away = book.away_sessions.size() == live.size();
    if (away != book.away) {
      book.away = away;
      if (visible(app, user_id)) {
        if (const auto* channels = book_.channels_of(app, user_id)) {
          for (const auto& channel : *channels) {
            // To the others only: the user's own pages know what they reported.
            broker_.publish(ChannelMessage{
                app,
                channel,
                make_text_frame(pusher::member_updated(channel, user_id, away ? "away" : "online")),
                {},
                user_id});
          }
        }
      }
    }
  }
  if (book.away_sessions.empty() && !book.away) statuses_.erase(it);
}

void EmbeddedEngine::leave(core::AppIndex app, std::string_view channel, std::string_view user_id,
                           core::SessionId session, core::Millis grace_ms) {
  std::lock_guard lock(mutex_);
  if (shut_down_) return;
  const core::Millis now = clock_();
  if (auto removed = book_.leave(app, channel, user_id, session, now, grace_ms)) {
    publish_removal(*removed);
  }
  if (occupancy_.remove(app, channel, now, grace_ms)) vacated(app, channel);
  refresh_status(app, std::string(user_id));
}

// One node: every message published reaches this one from the start.
void EmbeddedEngine::subscribed(core::AppIndex app, std::string_view channel, core::SessionId,
                                std::function<void()> in_place) {
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
    if (occupancy_.add(app, channel)) occupied(app, channel);
  }
  if (in_place) in_place();
}

void EmbeddedEngine::unsubscribed(core::AppIndex app, std::string_view channel, core::SessionId,
                                  core::Millis grace_ms) {
  std::lock_guard lock(mutex_);
  if (shut_down_) return;
  if (occupancy_.remove(app, channel, clock_(), grace_ms)) vacated(app, channel);
}

ChannelStats EmbeddedEngine::stats_locked(core::AppIndex app, std::string_view channel) const {
  // Invisible members are not counted: the count reaches users too. Proportional to the
  // channel's members, which is fine for the REST queries that ask.
  std::uint32_t members = 0;
  bool anyone = false;
  book_.for_each_member(app, channel, [&](const std::string& id, const std::string&) {
    anyone = true;
    if (visible(app, id)) ++members;
  });
  return ChannelStats{occupancy_.occupied(app, channel) || anyone,
                      occupancy_.subscriptions(app, channel), members};
}

void EmbeddedEngine::channel_stats(core::AppIndex app, std::vector<std::string> channels,
                                   StatsCallback done) {
  std::lock_guard lock(mutex_);
  std::vector<ChannelStats> stats;
  stats.reserve(channels.size());
  for (const auto& channel : channels) stats.push_back(stats_locked(app, channel));
  done(std::move(stats));
}

void EmbeddedEngine::list_channels(core::AppIndex app, std::string prefix, ListingCallback done) {
  std::lock_guard lock(mutex_);
  std::vector<ChannelListing> listing;
  occupancy_.for_each_occupied(app, prefix, [&](const std::string& name, std::uint32_t) {
    listing.push_back(ChannelListing{name, stats_locked(app, name)});
  });
  // Presence channels held only by heartbeats have members but no subscription.
  book_.for_each_channel(app, prefix, [&](const std::string& name) {
    if (!occupancy_.occupied(app, name)) {
      listing.push_back(ChannelListing{name, stats_locked(app, name)});
    }
  });
  done(std::move(listing));
}

void EmbeddedEngine::channel_users(core::AppIndex app, std::string channel, UsersCallback done) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> users;
  users.reserve(book_.member_count(app, channel));
  book_.for_each_member(app, channel, [&](const std::string& id, const std::string&) {
    if (visible(app, id)) users.push_back(id);
  });
  done(std::move(users));
}

void EmbeddedEngine::tick(core::Millis now) {
  std::lock_guard lock(mutex_);
  if (shut_down_) return;
  std::vector<core::PresenceEvent> removed;
  std::vector<core::PresenceBook::UserRef> expired;
  book_.advance(now, removed, &expired);
  for (const auto& event : removed) publish_removal(event);
  // A tab that expired may have been the user's last one online.
  for (const auto& [app, user] : expired) refresh_status(app, user);
  std::vector<core::SignedOut> signed_out;
  signins_.advance(now, signed_out);
  for (const auto& out : signed_out) signed_out_for_good(out);
  ended_tabs_.advance(now);
  std::vector<std::pair<core::AppIndex, std::string>> vacated_channels;
  occupancy_.advance(now, vacated_channels);
  for (const auto& [app, channel] : vacated_channels) vacated(app, channel);
}

void EmbeddedEngine::shut_down() {
  std::lock_guard lock(mutex_);
  if (shut_down_) return;
  shut_down_ = true;
  const std::int64_t wall_now = wall_clock_();
  for (core::AppIndex app = 0; app < app_ids_.size(); ++app) {
    std::vector<std::string> channels;
    book_.for_each_channel(app, "", [&](const std::string& name) { channels.push_back(name); });
    for (const auto& channel : channels) {
      book_.for_each_member(app, channel, [&](const std::string& user, const std::string&) {
        webhooks::emit_member_event(webhooks_, app, webhooks::EventType::MemberRemoved, channel,
                                    user);
        // Invisible users' time online is never recorded (see went_offline).
        if (visible(app, user)) users_.record_last_seen(app_ids_[app], user, wall_now);
      });
    }
    occupancy_.for_each_occupied(
        app, "", [&](const std::string& name, std::uint32_t) { vacated(app, name); });
  }
  signins_.for_each_user([&](core::AppIndex app, const std::string& user) {
    if (visible(app, user)) users_.record_last_seen(app_ids_[app], user, wall_now);
  });
}

const pusher::PresenceSnapshot& EmbeddedEngine::snapshot(core::AppIndex app,
                                                         const std::string& channel,
                                                         const std::string* new_member,
                                                         const std::string* new_info) {
  auto [it, created] = snapshots_.try_emplace(core::app_key(app, channel));
  CachedList& cached = it->second;
  const std::uint64_t list_changes = book_.list_changes(app, channel);
  if (!created && cached.list_changes != list_changes) {
    cached = CachedList{};
    created = true;
  }
  // Invisible members are left out; each gets themself added to their own copy.
  if (created) {
    cached.list_changes = list_changes;
    book_.for_each_listed_member(app, channel, [&](const std::string& id, const std::string& info) {
      if (visible(app, id)) cached.list.add(id, info);
    });
  } else if (new_member && visible(app, *new_member)) {
    cached.list.add(*new_member, *new_info);
  }
  return cached.list;
}

void EmbeddedEngine::occupied(core::AppIndex app, std::string_view channel) {
  webhooks::emit_channel_event(webhooks_, app, webhooks::EventType::ChannelOccupied, channel);
}

void EmbeddedEngine::vacated(core::AppIndex app, std::string_view channel) {
  webhooks::emit_channel_event(webhooks_, app, webhooks::EventType::ChannelVacated, channel);
}

// The event JSON is only built when a target of the app wants it.
void EmbeddedEngine::publish_removal(const core::PresenceEvent& event) {
  // The book counts what changes a list; only a channel that is gone takes its list along
  // (a channel made again starts counting from zero).
  if (book_.member_count(event.app, event.channel) == 0) {
    snapshots_.erase(core::app_key(event.app, event.channel));
  }
  if (!online(event.app, event.user_id)) {
    // The user's last membership anywhere ended when their last session did: that is when
    // they were last seen, on the wall clock.
    went_offline(event.app, event.user_id, wall_clock_() - (clock_() - event.left_at));
  }
  webhooks::emit_member_event(webhooks_, event.app, webhooks::EventType::MemberRemoved,
                              event.channel, event.user_id);
  // Others never saw an invisible member arrive, so they are not told it left.
  if (!visible(event.app, event.user_id)) return;
  broker_.publish(
      ChannelMessage{event.app,
                     event.channel,
                     make_text_frame(pusher::member_removed(event.channel, event.user_id)),
                     {},
                     {}});
}

}  // namespace greendot::engine
